/* SACK-based loss recovery (RFC 2018, RFC 6675) against NewReno (RFC 6582),
 * the fallback when SACK is not negotiated: several losses in one window, a
 * lossy bulk transfer, a receiver that reneges on SACKed data, and a new loss
 * right at the previous recovery point. Each asserts what crossed the wire. */
#include "test_tcp_helpers.h"

#define RTT US_MS(20)

static void sack_off_at_a(struct us_config *c, int host, void *arg)
{
    (void)arg;
    if (host == 0)
        c->tcp_sack = false;       /* A does not offer SACK: NewReno on both sides */
}

struct lossy {
    struct tu_net n;
    struct trace tr;
    int a, b;
    uint32_t base, mss;
};

/* Connection with RTT 20 ms, warmed up so cwnd is well above the window the
 * test sends; base = next sequence number A sends. */
static void lossy_setup(struct lossy *x, bool sack, uint64_t seed)
{
    struct tu_opts o = {.seed = seed, .cfg_hook = sack ? NULL : sack_off_at_a};
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    tt_net(&x->n, &x->tr, &o);
    int l = tt_listen(x->n.b.st, 80, 8, us_sim_now(x->n.sim));
    tt_pair(&x->n, l, 80, &x->a, &x->b);
    struct us_tcp_info ti;
    x->base = tt_warm_up(&x->n, &x->tr, x->a, x->b, 200000, US_SEC(10), US_MS(100), &ti);
    assert_int_equal(ti.sack_ok, sack);
    x->mss = ti.mss_send;
}

static void send_pattern(struct lossy *x, uint32_t bytes, uint64_t seed)
{
    struct xfer y = {.sim = x->n.sim, .ss = x->n.a.st, .ds = x->n.b.st, .sfd = x->a, .dfd = x->b, .total = bytes,
                     .seed = seed};
    assert_int_equal(xfer_run(&y, tt_now(&x->n) + US_SEC(20)), 0);
    assert_false(y.bad);
    assert_int_equal(y.got, bytes);
}

struct droplist { uint32_t seq[4]; int n; bool done[4]; };

static bool drop_listed(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct droplist *d = tr->arg;
    if (s->host != 0 || !s->len)
        return false;
    for (int i = 0; i < d->n; i++)
        if (!d->done[i] && s->seq == d->seq[i]) {
            d->done[i] = true;
            return true;
        }
    return false;
}

/* Time A retransmitted `seq` (its first copy that crossed the link), or 0. */
static us_time_t rexmit_time(const struct trace *tr, uint32_t seq)
{
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == 0 && tr->v[i].seq == seq && tr->v[i].len && !tr->dropped[i])
            return tr->v[i].t;
    return 0;
}

static void three_losses(bool sack, us_time_t rxt[3], uint64_t *rtos, uint64_t *recoveries)
{
    struct lossy x;
    lossy_setup(&x, sack, 4);
    struct droplist d = {.n = 3, .seq = {x.base + 3 * x.mss, x.base + 7 * x.mss, x.base + 12 * x.mss}};
    x.tr.rule = drop_listed;
    x.tr.arg = &d;
    struct us_tcp_info ti;
    us_tcp_info(x.n.a.st, x.a, &ti);
    uint64_t rto0 = ti.rto_expirations;
    send_pattern(&x, 60 * x.mss, 2);
    for (int i = 0; i < 3; i++) {
        assert_true(d.done[i]);
        rxt[i] = rexmit_time(&x.tr, d.seq[i]);
        assert_true(rxt[i] > 0);
    }
    us_tcp_info(x.n.a.st, x.a, &ti);
    *rtos = ti.rto_expirations - rto0;
    if (getenv("TT_DUMP"))
        for (size_t i = 0; i < x.tr.n; i++)
            printf("%d %.3f %c seq %u ack %u len %u fl %x sack %d [%u,%u)%s\n", x.tr.v[i].host,
                   (double)x.tr.v[i].t / 1e6, 'A' + x.tr.v[i].host, x.tr.v[i].seq - x.base, x.tr.v[i].ack - x.base,
                   x.tr.v[i].len, x.tr.v[i].flags, x.tr.v[i].nsack, x.tr.v[i].sack0_l - x.base,
                   x.tr.v[i].sack0_r - x.base, x.tr.dropped[i] ? " DROP" : "");
    *recoveries = tu_counter(x.n.a.st, "tcp.fast_retransmits");
    tt_free(&x.n, &x.tr);
}

static void sack_retransmits_three_losses_in_one_rtt_newreno_one_per_rtt(void **s)
{
    (void)s;
    us_time_t sk[3], nr[3];
    uint64_t rto_sack, rto_nr, rec_sack, rec_nr;
    three_losses(true, sk, &rto_sack, &rec_sack);
    three_losses(false, nr, &rto_nr, &rec_nr);
    printf("# retransmissions after the first: SACK +%.1f ms +%.1f ms, NewReno +%.1f ms +%.1f ms\n",
           (double)(sk[1] - sk[0]) / 1e6, (double)(sk[2] - sk[0]) / 1e6, (double)(nr[1] - nr[0]) / 1e6,
           (double)(nr[2] - nr[0]) / 1e6);
    /* SACK: every hole leaves within one RTT of the first retransmission
     * (which leaves when the third duplicate ACK arrives). */
    assert_true(sk[1] - sk[0] < RTT);
    assert_true(sk[2] - sk[0] < RTT);
    /* NewReno learns of one hole per partial ACK: one per RTT. */
    assert_true(nr[1] - nr[0] >= RTT);
    assert_true(nr[2] - nr[1] >= RTT);
    /* one recovery each, no timeout */
    assert_int_equal(rto_sack, 0);
    assert_int_equal(rto_nr, 0);
    assert_int_equal(rec_sack, 1);
    assert_int_equal(rec_nr, 1);
}

/* ---- goodput under random loss ------------------------------------------------ */

struct run_result { us_time_t dur; uint64_t rtos, rexmits; };

static struct run_result bulk_5_percent(bool sack, uint64_t seed, uint64_t bytes)
{
    struct tu_opts o = {.seed = seed, .cfg_hook = sack ? NULL : sack_off_at_a};
    struct us_impair_dir d = {.delay = RTT / 2, .loss = 0.05};
    o.imp_a.tx = d;
    o.imp_b.tx = d;
    struct tu_net n;
    tu_net_init(&n, &o);
    struct xfer b = {.total = bytes, .seed = seed};
    int rc = tu_bulk_run(&n, &b, US_SEC(3600));
    assert_int_equal(rc, 0);
    assert_false(b.bad);
    assert_int_equal(b.got, bytes);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(n.a.st, b.sfd, &ti), 0);
    assert_int_equal(ti.sack_ok, sack);
    struct run_result r = {b.t_eof - b.t_accepted, ti.rto_expirations, ti.retransmits};
    tu_net_free(&n);
    return r;
}

static void sack_at_5_percent_loss_needs_fewer_timeouts_and_less_time_than_newreno(void **s)
{
    (void)s;
    const uint64_t bytes = 1000000;
    struct run_result ts = {0, 0, 0}, tn = {0, 0, 0};
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct run_result a = bulk_5_percent(true, seed, bytes);
        struct run_result b = bulk_5_percent(false, seed, bytes);
        printf("# seed %llu: SACK %.3f s %.2f Mbit/s %llu RTOs %llu rexmits | NewReno %.3f s %.2f Mbit/s %llu RTOs "
               "%llu rexmits\n",
               (unsigned long long)seed, (double)a.dur / 1e9, (double)bytes * 8 / ((double)a.dur / 1e9) / 1e6,
               (unsigned long long)a.rtos, (unsigned long long)a.rexmits, (double)b.dur / 1e9,
               (double)bytes * 8 / ((double)b.dur / 1e9) / 1e6, (unsigned long long)b.rtos,
               (unsigned long long)b.rexmits);
        ts.dur += a.dur;
        ts.rtos += a.rtos;
        tn.dur += b.dur;
        tn.rtos += b.rtos;
    }
    printf("# total: SACK %.3f s %llu RTOs, NewReno %.3f s %llu RTOs (goodput %.2f vs %.2f Mbit/s)\n",
           (double)ts.dur / 1e9, (unsigned long long)ts.rtos, (double)tn.dur / 1e9, (unsigned long long)tn.rtos,
           6.0 * bytes * 8 / ((double)ts.dur / 1e9) / 1e6, 6.0 * bytes * 8 / ((double)tn.dur / 1e9) / 1e6);
    assert_true(ts.rtos < tn.rtos);
    assert_true(ts.dur < tn.dur);
}

/* ---- reneging ----------------------------------------------------------------- */

struct renege { uint32_t claim_l, claim_r, ack; int rewritten; };
struct ctx { struct droplist d; struct renege r; };   /* d first: drop_listed reads it */

/* A receives B's ACKs: widen a SACK block that starts at claim_l so that it
 * claims [claim_l, claim_r) — data B never got, as if B had reneged on it. */
static bool claim_more(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    struct renege *r = &((struct ctx *)tr->arg)->r;
    if (s->host != 0 || s->ack != r->ack || !s->nsack)
        return false;
    struct seg p;
    struct tt_frame fr;
    assert_true(tt_parse_frame(f, len, &p, &fr));
    struct us_tcp_opt o;
    uint32_t pos = US_TCP_HLEN;
    while (us_tcp_opt_next(fr.t, fr.tcp.hlen, &pos, &o) > 0) {
        uint8_t *b = fr.t + o.off + 2;   /* the SACK blocks, in place */
        for (uint32_t k = 0; o.kind == US_TCPOPT_SACK && k + 10 <= o.len; k += 8)
            if (us_get32(b + k) == r->claim_l && (int32_t)(us_get32(b + k + 4) - r->claim_r) < 0) {
                us_put32(b + k + 4, r->claim_r);
                r->rewritten++;
            }
    }
    tt_fix_csum(&fr);
    return false;
}

static void reneged_sack_data_is_retransmitted_without_waiting_for_the_rto(void **s)
{
    (void)s;
    struct lossy x;
    lossy_setup(&x, true, 7);
    /* 5 and 10 are lost; B SACKs [6,10) and [11,…) but A is told [6,20):
     * once 5 is repaired B's cumulative ACK stops at 10, inside what A
     * believes was SACKed. */
    struct ctx c = {.d = {.n = 2, .seq = {x.base + 5 * x.mss, x.base + 10 * x.mss}},
                    .r = {x.base + 6 * x.mss, x.base + 20 * x.mss, x.base + 5 * x.mss, 0}};
    x.tr.rule = drop_listed;
    x.tr.rx_rule = claim_more;
    x.tr.arg = &c;
    struct us_tcp_info ti;
    us_tcp_info(x.n.a.st, x.a, &ti);
    uint64_t rto0 = ti.rto_expirations;
    send_pattern(&x, 40 * x.mss, 3);
    assert_true(c.r.rewritten > 0);
    assert_int_equal(tu_counter(x.n.a.st, "tcp.sack_reneging_detected"), 1);
    us_tcp_info(x.n.a.st, x.a, &ti);
    assert_int_equal(ti.rto_expirations, rto0);
    /* 10 leaves again when the ACK for 10 arrives, well before any RTO */
    us_time_t ack10 = 0;
    for (size_t i = 0; i < x.tr.n && !ack10; i++)
        if (x.tr.v[i].host == 1 && x.tr.v[i].ack == c.d.seq[1])
            ack10 = x.tr.v[i].t + RTT / 2;
    us_time_t rxt = rexmit_time(&x.tr, c.d.seq[1]);
    assert_true(ack10 > 0 && rxt >= ack10);
    assert_true(rxt - ack10 < US_MS(2));
    tt_free(&x.n, &x.tr);
}

/* ---- a loss right at the previous recovery point ------------------------------ */

struct at_recover { uint32_t d0, max_end, recover; int seen_d0; bool dropped_recover; };

/* Drop d0's first copy, then the first new segment sent after d0 was
 * retransmitted: it starts exactly at the recovery point (SND.MAX at entry). */
static bool drop_at_recover(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct at_recover *r = tr->arg;
    if (s->host != 0 || !s->len)
        return false;
    bool drop = false;
    if (s->seq == r->d0 && r->seen_d0++ == 0)
        drop = true;
    else if (r->seen_d0 >= 2 && !r->dropped_recover && s->seq == r->max_end) {
        r->dropped_recover = true;
        r->recover = s->seq;
        drop = true;
    }
    if ((int32_t)(s->seq + s->len - r->max_end) > 0)
        r->max_end = s->seq + s->len;
    return drop;
}

static void loss_at_recovery_point(bool sack)
{
    struct lossy x;
    lossy_setup(&x, sack, 8);
    struct at_recover r = {.d0 = x.base + 3 * x.mss, .max_end = x.base};
    x.tr.rule = drop_at_recover;
    x.tr.arg = &r;
    struct us_tcp_info ti;
    us_tcp_info(x.n.a.st, x.a, &ti);
    uint64_t rto0 = ti.rto_expirations;
    uint64_t fr0 = tu_counter(x.n.a.st, "tcp.fast_retransmits");
    send_pattern(&x, 600 * x.mss, 5);   // more than the send buffer: new data follows
    assert_true(r.dropped_recover);
    us_tcp_info(x.n.a.st, x.a, &ti);
    /* two fast recoveries back to back, no timeout */
    assert_int_equal(ti.rto_expirations, rto0);
    assert_int_equal(tu_counter(x.n.a.st, "tcp.fast_retransmits") - fr0, 2);
    /* the segment at the old recovery point leaves again within one RTT of
     * the ACK that ended the first recovery (ACK == recovery point) */
    us_time_t full = 0;
    for (size_t i = 0; i < x.tr.n && !full; i++)
        if (x.tr.v[i].host == 1 && x.tr.v[i].ack == r.recover)
            full = x.tr.v[i].t + RTT / 2;
    size_t k = 0;
    us_time_t rxt = 0;
    for (size_t i = 0; i < x.tr.n; i++)
        if (x.tr.v[i].host == 0 && x.tr.v[i].seq == r.recover && x.tr.v[i].len && k++ == 1)
            rxt = x.tr.v[i].t;
    assert_true(full > 0 && rxt >= full);
    assert_true(rxt - full < RTT);
    tt_free(&x.n, &x.tr);
}

static void loss_at_the_previous_recovery_point_is_fast_retransmitted_with_and_without_sack(void **s)
{
    (void)s;
    loss_at_recovery_point(true);
    loss_at_recovery_point(false);
}

/* ---- a FIN that arrives out of order -------------------------------------------- */

static void fin_run(bool sack)
{
    struct lossy x;
    lossy_setup(&x, sack, 9);
    struct droplist d = {.n = 1, .seq = {x.base + 25 * x.mss}};
    x.tr.rule = drop_listed;
    x.tr.arg = &d;
    struct us_tcp_info ti;
    us_tcp_info(x.n.a.st, x.a, &ti);
    uint64_t rto0 = ti.rto_expirations;
    struct xfer y = {.sim = x.n.sim, .ss = x.n.a.st, .ds = x.n.b.st, .sfd = x.a, .dfd = x.b, .total = 30 * x.mss,
                     .seed = 6, .close_after = true};
    assert_int_equal(xfer_run(&y, tt_now(&x.n) + US_SEC(20)), 0);
    assert_true(y.eof);
    assert_false(y.bad);
    us_tcp_info(x.n.a.st, x.a, &ti);
    assert_int_equal(ti.rto_expirations, rto0);
    /* the FIN rode on the last segment; B kept it while segment 25 was
     * missing and acknowledged it as soon as the retransmission filled the
     * gap: A never sends the FIN again */
    int fins = 0;
    us_time_t rxt = rexmit_time(&x.tr, d.seq[0]), fin_acked = 0;
    for (size_t i = 0; i < x.tr.n; i++) {
        if (x.tr.v[i].host == 0 && (x.tr.v[i].flags & F_FIN))
            fins++;
        if (x.tr.v[i].host == 1 && x.tr.v[i].ack == x.base + 30 * x.mss + 1 && !fin_acked)
            fin_acked = x.tr.v[i].t;
    }
    assert_int_equal(fins, 1);
    assert_int_equal(fin_acked, rxt + RTT / 2);
    tt_free(&x.n, &x.tr);
}

static void fin_that_arrives_out_of_order_is_acked_when_the_gap_fills(void **s)
{
    (void)s;
    fin_run(true);
    fin_run(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sack_retransmits_three_losses_in_one_rtt_newreno_one_per_rtt),
        cmocka_unit_test(sack_at_5_percent_loss_needs_fewer_timeouts_and_less_time_than_newreno),
        cmocka_unit_test(reneged_sack_data_is_retransmitted_without_waiting_for_the_rto),
        cmocka_unit_test(loss_at_the_previous_recovery_point_is_fast_retransmitted_with_and_without_sack),
        cmocka_unit_test(fin_that_arrives_out_of_order_is_acked_when_the_gap_fills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
