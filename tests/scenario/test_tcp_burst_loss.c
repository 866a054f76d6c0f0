/* The real-time collapse of ustack as a sender under loss (issue 8), in
 * virtual time. Over TAP a whole burst leaves at one `now` (one µs send time
 * for every segment) and Linux, coalescing the arriving segments (GRO),
 * answers a hole with a handful of duplicate ACKs whose SACK blocks grow by
 * several segments each, processed by ustack in one batch at one `now`. The
 * capture showed 4 dup ACKs and 16 SACKed segments above the hole and no
 * retransmission until the 200 ms RTO.
 *
 * Here: a link without a rate limit (a burst arrives at one instant, its ACKs
 * come back at one instant), and an ACK path that keeps only the duplicate
 * ACKs with 1, 3 and 4 SACKed segments above the hole and the one covering
 * the whole burst — the capture's pattern. RACK marks the hole lost at the
 * third SACKed segment; the fast retransmission must leave then, not wait for
 * an ACK that never comes. Each test asserts what crossed the wire. */
#include "test_tcp_helpers.h"

#define RTT US_MS(1)
#define BURST 20 /* segments written at once */

struct conn {
    struct tu_net n;
    struct trace tr;
    int a, b;
    uint32_t base, mss;
};

struct gro {
    uint32_t hole, mss, nsegs;
    int keep[4];
    int dropped;
};

static void cfg_hook(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_rack = true;
}

static void conn_setup(struct conn *x, uint64_t seed)
{
    struct tu_opts o = {.seed = seed, .cfg_hook = cfg_hook};
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    tt_net(&x->n, &x->tr, &o);
    int l = tt_listen(x->n.b.st, 80, 8, us_sim_now(x->n.sim));
    tt_pair(&x->n, l, 80, &x->a, &x->b);
    /* warm up: cwnd well above the burst */
    struct us_tcp_info ti;
    x->base = tt_warm_up(&x->n, &x->tr, x->a, x->b, 400000, US_SEC(20), US_MS(300), &ti);
    assert_true(ti.sack_ok);
    assert_true(ti.cwnd >= 2u * BURST * ti.mss_send);
    x->mss = ti.mss_send;
}

/* Drop the first copy of the hole; of B's ACKs for the hole keep only those
 * whose first SACK block covers keep[] segments, or more than the burst. */
static bool gro_rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct gro *g = tr->arg;
    if (s->host == 0) {
        if (s->len && s->seq == g->hole && g->dropped == 0) {
            g->dropped = 1;
            return true;
        }
        return false;
    }
    if (s->len || s->ack != g->hole || !s->nsack || !g->dropped)
        return false;
    uint32_t k = (s->sack0_r - s->sack0_l) / g->mss;
    if (k >= g->nsegs)
        return false;
    for (int i = 0; i < 4; i++)
        if (g->keep[i] == (int)k)
            return false;
    return true;
}

static us_time_t copy_time(const struct trace *tr, uint32_t seq, int k)
{
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == 0 && tr->v[i].seq == seq && tr->v[i].len && k-- == 0)
            return tr->v[i].t;
    return 0;
}

static void dump(const struct conn *x)
{
    if (!getenv("TT_DUMP"))
        return;
    for (size_t i = 0; i < x->tr.n; i++)
        printf("%.6f %c seq %u ack %u len %u sack %d [%u,%u)%s\n", (double)x->tr.v[i].t / 1e9, 'A' + x->tr.v[i].host,
               x->tr.v[i].seq - x->base, x->tr.v[i].ack - x->base, x->tr.v[i].len, x->tr.v[i].nsack,
               x->tr.v[i].sack0_l - x->base, x->tr.v[i].sack0_r - x->base, x->tr.dropped[i] ? " DROP" : "");
}

/* Returns whether the connection's sequence numbers lay in the upper half. */
static bool burst_once(uint64_t seed)
{
    struct conn x;
    conn_setup(&x, seed);
    struct gro g = {.hole = x.base + x.mss, .mss = x.mss, .nsegs = BURST - 2, .keep = {1, 3, 4, -1}};
    x.tr.rule = gro_rule;
    x.tr.arg = &g;
    struct us_tcp_info ti;
    us_tcp_info(x.n.a.st, x.a, &ti);
    uint64_t rto0 = ti.rto_expirations, tlp0 = tu_counter(x.n.a.st, "tcp.tlp_probes");
    struct xfer y = {.sim = x.n.sim, .ss = x.n.a.st, .ds = x.n.b.st, .sfd = x.a, .dfd = x.b,
                     .total = BURST * x.mss, .seed = 7};
    assert_int_equal(xfer_run(&y, tt_now(&x.n) + US_SEC(30)), 0);
    assert_false(y.bad);
    assert_int_equal(y.got, BURST * x.mss);
    dump(&x);
    /* the first flight (ten segments, the hole the second) left at one instant */
    us_time_t t0 = copy_time(&x.tr, x.base, 0);
    assert_true(t0 > 0);
    assert_int_equal(copy_time(&x.tr, x.base + 9 * x.mss, 0), t0);
    assert_int_equal(g.dropped, 1);
    us_tcp_info(x.n.a.st, x.a, &ti);
    us_time_t rxt = copy_time(&x.tr, g.hole, 1);
    printf("# seed %llu ISS %s half: hole resent %.3f ms after the burst (RTT %.3f ms), %llu RTOs, %llu TLPs\n",
           (unsigned long long)seed, x.base >= 0x80000000u ? "upper" : "lower", (double)(rxt - t0) / 1e6, (double)RTT / 1e6, (unsigned long long)(ti.rto_expirations - rto0),
           (unsigned long long)(tu_counter(x.n.a.st, "tcp.tlp_probes") - tlp0));
    /* the dup ACKs arrive one RTT after the burst; the hole leaves on the
     * batch itself: with three segments SACKed above it and no reordering
     * seen the reordering window is zero (RFC 8985 6.2 step 4) — whatever
     * half of the sequence space the connection started in */
    assert_int_equal(rxt - t0, RTT);
    assert_int_equal(ti.rto_expirations - rto0, 0);
    assert_int_equal(tu_counter(x.n.a.st, "tcp.tlp_probes") - tlp0, 0);
    assert_int_equal(copy_time(&x.tr, g.hole, 2), 0);
    bool upper = x.base >= 0x80000000u;
    tt_free(&x.n, &x.tr);
    return upper;
}

static void burst_loss_with_coalesced_dup_acks_is_fast_retransmitted_not_timed_out(void **s)
{
    (void)s;
    /* seeds 18-20 start in the lower half, 21-26 in the upper: both are run */
    int upper = 0, lower = 0;
    for (uint64_t seed = 18; seed <= 26; seed++)
        if (burst_once(seed))
            upper++;
        else
            lower++;
    assert_true(upper > 0);
    assert_true(lower > 0);
}

/* Drop the first copy of each listed data segment. */
struct drops { uint32_t seq[2]; bool done[2]; };

static bool drop_tail(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct drops *d = tr->arg;
    if (s->host != 0 || !s->len)
        return false;
    for (int i = 0; i < 2; i++)
        if (s->seq == d->seq[i] && !d->done[i]) {
            d->done[i] = true;
            return true;
        }
    return false;
}

/* RFC 8985 7.2 with a margin: the probe for a lost tail waits 2·SRTT plus
 * 4·RTTVAR (0.5 ms to Linux's 2 ms) after the last ACK, never 2·SRTT alone
 * (at a LAN round trip that is shorter than a receiver takes to ACK a
 * burst), and still comes long before the 200 ms RTO. */
static void tail_loss_probe_is_never_sent_earlier_than_the_pto_floor(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 31);
    struct drops d = {.seq = {x.base + 8 * x.mss, x.base + 9 * x.mss}};
    x.tr.rule = drop_tail;
    x.tr.arg = &d;
    struct us_tcp_info ti;
    us_tcp_info(x.n.a.st, x.a, &ti);
    uint64_t rto0 = ti.rto_expirations, tlp0 = tu_counter(x.n.a.st, "tcp.tlp_probes");
    struct xfer y = {.sim = x.n.sim, .ss = x.n.a.st, .ds = x.n.b.st, .sfd = x.a, .dfd = x.b, .total = 10 * x.mss,
                     .seed = 8};
    assert_int_equal(xfer_run(&y, tt_now(&x.n) + US_SEC(30)), 0);
    assert_false(y.bad);
    dump(&x);
    us_time_t probe = copy_time(&x.tr, d.seq[1], 1);
    assert_true(probe > 0);
    us_time_t ack = 0;                            /* arrival of B's last ACK before the probe */
    for (size_t i = 0; i < x.tr.n; i++)
        if (x.tr.v[i].host == 1 && x.tr.v[i].t + RTT / 2 <= probe)
            ack = x.tr.v[i].t + RTT / 2;
    us_tcp_info(x.n.a.st, x.a, &ti);
    us_time_t srtt = ti.srtt;
    printf("# SRTT %.3f ms: probe %.3f ms after the last ACK, %llu TLPs, %llu RTOs\n", (double)srtt / 1e6,
           (double)(probe - ack) / 1e6, (unsigned long long)(tu_counter(x.n.a.st, "tcp.tlp_probes") - tlp0),
           (unsigned long long)(ti.rto_expirations - rto0));
    assert_true(probe - ack >= 2 * srtt + US_MS(1) / 2 - 10000);   /* the margin: 4·RTTVAR, 0.5..2 ms */
    assert_true(probe - ack <= 2 * srtt + US_MS(2) + US_MS(1));
    assert_true(probe - ack < US_MS(50));
    assert_int_equal(tu_counter(x.n.a.st, "tcp.tlp_probes") - tlp0, 1);
    assert_int_equal(ti.rto_expirations - rto0, 0);
    tt_free(&x.n, &x.tr);
}

/* Two holes in the first flight (ten segments at one instant: the idle
 * restart), and the flight's last ACKs lost: the ACK path keeps B's ACKs up
 * to the first whose SACK block starts right after hole 2, then drops every
 * ACK until A sends hole 2 again — a receiver that coalesces the end of a
 * flight (and hole 1's fast retransmission) into one ACK, and that one lost,
 * as in the 2% captures. Segments sent after hole 2 stay unacknowledged, so
 * PRR, with nothing more delivered, has nothing to send hole 2 with; only a
 * timer can. Without one, the RTO resends hole 1 into the dropped ACK path
 * and the transfer does not end. */
struct holes { uint32_t h1, h2, mss; int state, dropped_acks; bool lost1, lost2; };

static bool holes_rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct holes *h = tr->arg;
    if (s->host == 0) {
        if (s->len && s->seq == h->h1 && !h->lost1)
            return h->lost1 = true;
        if (s->len && s->seq == h->h2 && !h->lost2)
            return h->lost2 = true;
        if (s->len && s->seq == h->h2 && h->state == 1)
            h->state = 2;                            /* hole 2 resent: the ACK path opens again */
        return false;
    }
    if (h->state == 0 && s->nsack && s->sack0_l == h->h2 + h->mss) {
        h->state = 1;
        return false;
    }
    if (h->state == 1) {
        h->dropped_acks++;
        return true;
    }
    return false;
}

struct holes_out { us_time_t t0, r1, r2; uint64_t reo_timeouts; struct us_tcp_info ti; };

/* Runs the pattern of BURST segments through holes_rule on a set-up
 * connection; every byte must arrive, the ACK path must have been cut and
 * reopened, and no RTO may have fired. */
static void holes_run(struct conn *x, uint64_t seed, struct holes_out *o)
{
    struct holes h = {.h1 = x->base + 2 * x->mss, .h2 = x->base + 6 * x->mss, .mss = x->mss};
    x->tr.rule = holes_rule;
    x->tr.arg = &h;
    us_tcp_info(x->n.a.st, x->a, &o->ti);
    uint64_t rto0 = o->ti.rto_expirations, reo0 = tu_counter(x->n.a.st, "tcp.rack_reorder_timeouts");
    struct xfer y = {.sim = x->n.sim, .ss = x->n.a.st, .ds = x->n.b.st, .sfd = x->a, .dfd = x->b,
                     .total = BURST * x->mss, .seed = seed};
    assert_int_equal(xfer_run(&y, tt_now(&x->n) + US_SEC(30)), 0);
    assert_false(y.bad);
    assert_int_equal(y.got, BURST * x->mss);
    dump(x);
    us_tcp_info(x->n.a.st, x->a, &o->ti);
    o->t0 = copy_time(&x->tr, x->base, 0);
    o->r1 = copy_time(&x->tr, h.h1, 1);
    o->r2 = copy_time(&x->tr, h.h2, 1);
    o->reo_timeouts = tu_counter(x->n.a.st, "tcp.rack_reorder_timeouts") - reo0;
    printf("# reordering window %.3f ms: holes resent %.3f and %.3f ms after the burst (SRTT %.3f ms), %d ACKs "
           "dropped, %llu reorder timeouts, %llu RTOs\n",
           (double)o->ti.reo_wnd / 1e6, (double)(o->r1 - o->t0) / 1e6, (double)(o->r2 - o->t0) / 1e6,
           (double)o->ti.srtt / 1e6, h.dropped_acks, (unsigned long long)o->reo_timeouts,
           (unsigned long long)(o->ti.rto_expirations - rto0));
    assert_int_equal(h.state, 2);
    assert_true(h.dropped_acks > 0);
    assert_int_equal(o->ti.rto_expirations - rto0, 0);
    assert_true(o->r1 > o->t0 && o->r2 > o->t0);
}

/* With reordering seen earlier the reordering window is not zero, so both
 * holes wait for the reorder timer, which marks them lost: it sends both,
 * not only the fast retransmission of the recovery it begins (before: hole
 * 2 waited for the RTO, then the transfer stalled). */
static void holes_the_reorder_timer_marks_in_recovery_leave_on_the_timer_not_the_rto(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 41);
    /* reordering seen: a transfer with 10% of A's segments held back 300 µs */
    struct us_impair_config ic = {0};
    ic.tx.delay = RTT / 2;
    ic.tx.reorder = 0.1;
    ic.tx.reorder_gap = US_US(300);
    ic.seed = 5;
    us_impair_set(x.n.a.imp, &ic);
    struct us_tcp_info ti;
    x.base = tt_warm_up(&x.n, &x.tr, x.a, x.b, 200000, US_SEC(20), US_MS(300), &ti);
    ic.tx.reorder = 0;
    us_impair_set(x.n.a.imp, &ic);
    assert_true(ti.cwnd >= 2u * BURST * x.mss);
    struct holes_out o;
    holes_run(&x, 9, &o);
    assert_true(o.ti.reo_wnd > 0);
    assert_true(o.reo_timeouts >= 1);
    /* both on the reorder timer: RTT + the window after the burst */
    assert_true(o.r1 - o.t0 <= 2 * RTT);
    assert_true(o.r2 - o.t0 <= 2 * RTT);
    tt_free(&x.n, &x.tr);
}

/* No reordering seen: the ACK that enters the recovery marks both holes lost
 * (a zero window). The fast retransmission takes hole 1; PRR holds hole 2
 * back, and no ACK comes to release it (at 2% loss each way over TAP, twice
 * per 100 MB). The PTO, armed in the recovery too, sends it: within a few
 * round trips, not after the RTO. */
static void hole_prr_holds_back_with_the_acks_lost_leaves_on_the_pto_not_the_rto(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 43);
    struct holes_out o;
    holes_run(&x, 10, &o);
    assert_int_equal(o.r1 - o.t0, RTT);                   /* the fast retransmission, on the entering ACK */
    assert_int_equal(o.reo_timeouts, 0);
    /* one PTO after the fast retransmission (2·SRTT + up to 2 ms), long before the RTO (200 ms) */
    assert_true(o.r2 > o.r1 && o.r2 - o.r1 <= 2 * o.ti.srtt + US_MS(3));
    assert_true(o.r2 - o.r1 < US_MS(50));
    tt_free(&x.n, &x.tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_loss_with_coalesced_dup_acks_is_fast_retransmitted_not_timed_out),
        cmocka_unit_test(tail_loss_probe_is_never_sent_earlier_than_the_pto_floor),
        cmocka_unit_test(holes_the_reorder_timer_marks_in_recovery_leave_on_the_timer_not_the_rto),
        cmocka_unit_test(hole_prr_holds_back_with_the_acks_lost_leaves_on_the_pto_not_the_rto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
