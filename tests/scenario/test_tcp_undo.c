/* Undo of spurious retransmissions, ustack as the sender:
 *  - a fast retransmission caused by reordering (the original arrives late,
 *    after RACK marked it lost) is undone when the receiver's D-SACK reports
 *    the duplicate (RFC 3708): cwnd and ssthresh as before the recovery;
 *  - a spurious RTO (the ACKs are only delayed) is found by timestamps: the
 *    first ACK after the retransmission echoes the original's TSval (Eifel
 *    detection, RFC 3522), and the response (RFC 4015) restores the window
 *    and sends nothing again: no go-back-N.
 *  - an undone recovery leaves CUBIC where it was: its curve (W_max, K, the
 *    epoch) as before the episode, not a new epoch started from the restored
 *    cwnd — a few seconds later the window is the one a run without the
 *    reordering has.
 * Each asserts what crossed the wire, in virtual time. */
#include "test_tcp_helpers.h"

#define RTT US_MS(20)

struct conn {
    struct tu_net n;
    struct trace tr;
    int a, b;
    uint32_t base, mss;
    struct us_tcp_info before;
};

struct cfgarg { bool ts; };

static void cfg(struct us_config *c, int host, void *arg)
{
    (void)host;
    c->tcp_timestamps = ((struct cfgarg *)arg)->ts;
}

static void conn_setup(struct conn *x, struct cfgarg *ca, uint64_t seed)
{
    struct tu_opts o = {.seed = seed, .cfg_hook = cfg, .cfg_arg = ca};
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    tt_net(&x->n, &x->tr, &o);
    int l = tt_listen(x->n.b.st, 80, 8, us_sim_now(x->n.sim));
    tt_pair(&x->n, l, 80, &x->a, &x->b);
    x->base = tt_warm_up(&x->n, &x->tr, x->a, x->b, 200000, US_SEC(20), US_MS(300), &x->before);
    assert_true(x->before.sack_ok);
    assert_int_equal(x->before.ts_ok, ca->ts);
    x->mss = x->before.mss_send;
}

static void drain_b(struct conn *x)
{
    uint8_t buf[65536];
    while (us_recv(x->n.b.st, x->b, buf, sizeof(buf), 0, tt_now(&x->n)) > 0)
        ;
}

static int copies(const struct trace *tr, uint32_t seq)
{
    int k = 0;
    for (size_t i = 0; i < tr->n; i++)
        k += tr->v[i].host == 0 && tr->v[i].seq == seq && tr->v[i].len;
    return k;
}

/* ---- D-SACK undo of a fast retransmission ------------------------------------- */

/* The first copy of A's segment at seq is taken off the wire and handed to B
 * `late` after it left: reordering. */
struct hold {
    uint32_t seq;
    bool taken;
    us_time_t at;
    uint8_t frame[2048];
    uint32_t len;
};

static bool hold_rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    struct hold *h = tr->arg;
    if (s->host != 0 || !s->len || s->seq != h->seq || h->taken || len > sizeof(h->frame))
        return false;
    h->taken = true;
    h->at = s->t;
    memcpy(h->frame, f, len);
    h->len = len;
    return true;
}

static void deliver(struct conn *x, const struct hold *h)
{
    struct us_pkt *p = us_pkt_from(x->n.b.pool, h->frame, h->len);
    assert_non_null(p);
    us_stack_input(x->n.b.st, p, tt_now(&x->n));
}

static void spurious_fast_retransmit_from_reordering_is_undone_by_the_dsack(void **s)
{
    (void)s;
    struct cfgarg ca = {.ts = false};   /* no Eifel: the D-SACK alone must find it */
    struct conn x;
    conn_setup(&x, &ca, 41);
    struct hold h = {.seq = x.base};
    x.tr.rule = hold_rule;
    x.tr.arg = &h;
    uint32_t m = x.mss;
    static uint8_t buf[10 * 1500];
    assert_int_equal(us_send(x.n.a.st, x.a, buf, 10 * m, 0, tt_now(&x.n)), (ssize_t)(10 * m));
    assert_int_equal(us_tcp_info(x.n.a.st, x.a, &x.before), 0);   /* the window this flight left with */
    /* the SACKs for the nine others return after RTT and RACK resends the
     * head at once; the original reaches B 15 ms late, before the copy */
    us_time_t late = RTT / 2 + US_MS(15);
    bool delivered = false;
    for (int i = 0; i < 400; i++) {
        tt_run(&x.n, US_MS(1));
        if (h.taken && !delivered && tt_now(&x.n) >= h.at + late) {
            deliver(&x, &h);
            delivered = true;
        }
        drain_b(&x);
    }
    assert_true(delivered);
    assert_int_equal(copies(&x.tr, x.base), 2);
    /* B reported the copy as a duplicate: first SACK block [base, base + MSS) */
    int dsacks = 0;
    for (size_t i = 0; i < x.tr.n; i++)
        dsacks += x.tr.v[i].host == 1 && x.tr.v[i].nsack && x.tr.v[i].sack0_l == x.base &&
                  x.tr.v[i].sack0_r == x.base + m && x.tr.v[i].ack == x.base + 10 * m;
    assert_int_equal(dsacks, 1);
    assert_int_equal(tu_counter(x.n.a.st, "tcp.rack_recoveries"), 1);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(x.n.a.st, x.a, &ti), 0);
    printf("# cwnd %u -> %u, ssthresh %u -> %u\n", x.before.cwnd, ti.cwnd, x.before.ssthresh, ti.ssthresh);
    /* the window from before the recovery */
    assert_int_equal(ti.ssthresh, x.before.ssthresh);
    assert_true(ti.cwnd >= x.before.cwnd);
    assert_int_equal(ti.dsacks_received, 1);
    assert_int_equal(ti.undo_dsack, 1);
    assert_int_equal(ti.undo_eifel, 0);
    assert_int_equal(tu_counter(x.n.a.st, "tcp.undo_recovery_dsack"), 1);
    tt_free(&x.n, &x.tr);
}

/* ---- Eifel: a spurious RTO ------------------------------------------------------- */

static void set_b_delay(struct conn *x, us_time_t d)
{
    struct us_impair_config c = {.tx = {.delay = d}, .seed = 1};
    us_impair_set(x->n.b.imp, &c);
}

static void spurious_rto_is_detected_by_timestamps_and_nothing_is_sent_again(void **s)
{
    (void)s;
    struct cfgarg ca = {.ts = true};
    struct conn x;
    conn_setup(&x, &ca, 42);
    uint32_t m = x.mss;
    static uint8_t buf[10 * 1500];
    uint64_t rto0 = tu_counter(x.n.a.st, "tcp.rto_expirations");
    /* B's ACKs for this flight take 400 ms: longer than the 200 ms RTO */
    set_b_delay(&x, US_MS(400));
    assert_int_equal(us_send(x.n.a.st, x.a, buf, 10 * m, 0, tt_now(&x.n)), (ssize_t)(10 * m));
    assert_int_equal(us_tcp_info(x.n.a.st, x.a, &x.before), 0);   /* the window this flight left with */
    for (int i = 0; i < 300; i++) {
        tt_run(&x.n, US_MS(1));
        drain_b(&x);
    }
    set_b_delay(&x, RTT / 2);
    for (int i = 0; i < 700; i++) {
        tt_run(&x.n, US_MS(1));
        drain_b(&x);
    }
    assert_int_equal(tu_counter(x.n.a.st, "tcp.rto_expirations") - rto0, 1);
    /* the head went twice (the RTO), the last segment three times (the two
     * tail loss probes before the RTO); every other segment once: no go-back-N */
    assert_int_equal(copies(&x.tr, x.base), 2);
    for (uint32_t k = 1; k < 9; k++)
        assert_int_equal(copies(&x.tr, x.base + k * m), 1);
    assert_int_equal(copies(&x.tr, x.base + 9 * m), 3);
    assert_int_equal(tu_counter(x.n.a.st, "tcp.undo_rto_eifel"), 1);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(x.n.a.st, x.a, &ti), 0);
    printf("# cwnd %u -> %u, ssthresh %u -> %u\n", x.before.cwnd, ti.cwnd, x.before.ssthresh, ti.ssthresh);
    assert_int_equal(ti.bytes_in_flight, 0);
    assert_int_equal(ti.undo_eifel, 1);
    assert_int_equal(ti.ssthresh, x.before.ssthresh);
    assert_true(ti.cwnd >= x.before.cwnd);
    tt_free(&x.n, &x.tr);
}

/* ---- CUBIC's own state on undo ------------------------------------------------ */

/* Holds A's first data segment after `arm` until B has taken `overtake`
 * later segments out of order: reordering by that many, no loss. */
struct late_hold {
    us_time_t arm;
    bool taken, delivered;
    uint32_t seq;
    uint8_t frame[2048];
    uint32_t len;
};

static bool late_rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    struct late_hold *h = tr->arg;
    if (!h || s->host != 0 || !s->len || h->taken || s->t < h->arm || len > sizeof(h->frame))
        return false;
    h->taken = true;
    h->seq = s->seq;
    memcpy(h->frame, f, len);
    h->len = len;
    return true;
}

static void cubic_cfg(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    snprintf(c->tcp_cc, sizeof(c->tcp_cc), "cubic");
    c->tcp_timestamps = true;        /* HyStart++ needs a sample per ACK: without them one per RTT */
    c->tcp_sndbuf = c->tcp_rcvbuf = 4u << 20;
}

struct cubic_run { uint32_t cwnd_at_hold, cwnd_end, ssthresh_end; uint64_t undo, rexmits; };

/* 10 Mbit/s, 20 ms, a deep queue: CUBIC leaves slow start by HyStart++ and
 * grows along its curve; with `reorder`, one segment 3 s in is overtaken by
 * 10 others. The window 3 s after that. */
static void cubic_reorder_run(bool reorder, struct cubic_run *r)
{
    struct tu_opts o = {.seed = 5, .cfg_hook = cubic_cfg};
    o.imp_a.tx = (struct us_impair_dir){.delay = RTT / 2, .rate_bps = 10000000, .queue_bytes = 4u << 20};
    o.imp_b.tx.delay = RTT / 2;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &o);
    int l = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    struct late_hold h = {.arm = tt_now(&n) + US_SEC(3)};
    tr.rule = late_rule;
    tr.arg = reorder ? &h : NULL;
    struct xfer f = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = XFER_ENDLESS, .seed = 3};
    uint64_t ooo0 = 0;
    us_time_t t0 = tt_now(&n);
    for (int i = 0; i < 6000; i++) {
        us_time_t end = t0 + (us_time_t)(i + 1) * US_MS(1);
        assert_int_equal(xfer_run(&f, end), -ETIMEDOUT);
        if (tt_now(&n) < end)
            us_sim_run_until(n.sim, end);
        if (i == 2999) {
            struct us_tcp_info ti;
            assert_int_equal(us_tcp_info(n.a.st, a, &ti), 0);
            r->cwnd_at_hold = ti.cwnd;
            ooo0 = tu_counter(n.b.st, "tcp.out_of_order_segments");
        }
        if (h.taken && !h.delivered && tu_counter(n.b.st, "tcp.out_of_order_segments") >= ooo0 + 10) {
            struct us_pkt *p = us_pkt_from(n.b.pool, h.frame, h.len);
            assert_non_null(p);
            us_stack_input(n.b.st, p, tt_now(&n));
            h.delivered = true;
        }
    }
    assert_false(f.bad);
    assert_int_equal(h.delivered, reorder);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(n.a.st, a, &ti), 0);
    assert_string_equal(ti.cc, "cubic");
    r->cwnd_end = ti.cwnd;
    r->ssthresh_end = ti.ssthresh;
    r->undo = ti.undo_dsack + ti.undo_eifel;
    r->rexmits = ti.retransmits;
    assert_int_equal(n.a.imp->stats.impair_queue_drop, 0);
    tt_free(&n, &tr);
}

static void undone_recovery_restores_cubics_curve_not_only_cwnd(void **s)
{
    (void)s;
    struct cubic_run plain = {0}, reo = {0};
    cubic_reorder_run(false, &plain);
    cubic_reorder_run(true, &reo);
    printf("# cwnd at 3 s %u / %u, at 6 s without reordering %u, with the undone recovery %u (%llu retransmissions, "
           "%llu undone)\n", plain.cwnd_at_hold, reo.cwnd_at_hold, plain.cwnd_end, reo.cwnd_end,
           (unsigned long long)reo.rexmits, (unsigned long long)reo.undo);
    assert_int_equal(plain.rexmits, 0);
    assert_int_equal(reo.rexmits, 1);                 /* the one spurious fast retransmission */
    assert_int_equal(reo.undo, 1);
    assert_int_equal(reo.ssthresh_end, plain.ssthresh_end);   /* HyStart++'s exit, not the episode's */
    /* the same curve: within a few segments of the undisturbed run (a new
     * epoch from the restored cwnd would restart the cubic clock at t = 0) */
    uint32_t tol = 4 * 1448;
    assert_true(reo.cwnd_end + tol >= plain.cwnd_end && reo.cwnd_end <= plain.cwnd_end + tol);
}

/* ---- no undo where every loss was real ----------------------------------------- */

struct cc_arg { const char *cc; };

static void lossy_cfg(struct us_config *c, int host, void *arg)
{
    (void)host;
    snprintf(c->tcp_cc, sizeof(c->tcp_cc), "%s", ((const struct cc_arg *)arg)->cc);
    c->tcp_timestamps = true;
    c->tcp_sndbuf = c->tcp_rcvbuf = 2u << 20;
}

/* Random loss of A's data, nothing reordered or duplicated: no retransmission
 * is spurious, so neither the D-SACK nor the timestamp test may undo one. A
 * recovery that starts while the previous one's retransmissions are still
 * unacknowledged gets ACKs echoing those — older than its own first
 * retransmission, but not originals (Eifel needs the time of the first
 * retransmission still outstanding, as Linux's retrans_stamp). */
static void random_loss_alone_is_never_undone(void **s)
{
    (void)s;
    const char *ccs[] = {"cubic", "newreno", "bbr"};
    for (size_t c = 0; c < 3; c++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            struct cc_arg ca = {ccs[c]};
            struct tu_opts o = {.seed = seed, .cfg_hook = lossy_cfg, .cfg_arg = &ca};
            o.imp_a.tx = (struct us_impair_dir){.delay = RTT / 2, .rate_bps = 20000000, .queue_bytes = 100000,
                                                .loss = 0.03};
            o.imp_b.tx.delay = RTT / 2;
            struct tu_net n;
            tu_net_init(&n, &o);
            int l = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
            int a, b;
            tt_pair(&n, l, 80, &a, &b);
            struct xfer f = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 3000000,
                             .seed = 9};
            assert_int_equal(xfer_run(&f, tt_now(&n) + US_SEC(120)), 0);
            assert_false(f.bad);
            struct us_tcp_info ti;
            assert_int_equal(us_tcp_info(n.a.st, a, &ti), 0);
            printf("# %-7s seed %llu: %llu retransmissions, %llu D-SACKs, undone %llu by D-SACK, %llu by timestamps\n",
                   ccs[c], (unsigned long long)seed, (unsigned long long)ti.retransmits,
                   (unsigned long long)ti.dsacks_received, (unsigned long long)ti.undo_dsack,
                   (unsigned long long)ti.undo_eifel);
            assert_true(ti.retransmits > 30);
            assert_int_equal(ti.undo_eifel, 0);
            assert_int_equal(ti.undo_dsack, 0);
            tu_net_free(&n);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spurious_fast_retransmit_from_reordering_is_undone_by_the_dsack),
        cmocka_unit_test(spurious_rto_is_detected_by_timestamps_and_nothing_is_sent_again),
        cmocka_unit_test(undone_recovery_restores_cubics_curve_not_only_cwnd),
        cmocka_unit_test(random_loss_alone_is_never_undone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
