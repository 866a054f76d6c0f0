/* ustack sending to a receiver that coalesces its ACKs, as Linux does (GRO and
 * backlog coalescing, SACK compression): in the captures of `ustack source`
 * to Linux at 1% loss over TAP, one ACK often acknowledged a whole flight,
 * the hole's retransmission with it. Two ways that cost the sender most of
 * its time, each reproduced here in virtual time:
 *
 *  - the cumulative ACK that answers the retransmission of a hole was lost,
 *    and it was the only ACK for the flight: nothing could move the
 *    connection but the 200 ms RTO (1 to 3 per 30 MB, 40-70% of the
 *    transfer). Now a probe at the PTO, in recovery the first unacknowledged
 *    segment again, draws the ACK at once;
 *  - leaving the recovery on an ACK that acknowledged the whole flight, the
 *    window fell to FlightSize + MSS = 2 MSS (RFC 6582's option for NewReno's
 *    inflated window), and climbed back against the receiver's 40 ms delayed
 *    ACK. After PRR the window is ssthresh (RFC 6937 3);
 *  - a retransmission sent in the same µs as new data counted, by RACK's
 *    sequence-number tie-break, as sent before all of it: the SACK of new
 *    data that left just before it marked it lost again (a spurious
 *    retransmission in most recoveries). Ties go by transmission order.
 *
 *  - nothing lost but the ACKs for a flight (one, when the receiver
 *    coalesces): the probe at the PTO was a segment of new data, which B
 *    (in order, alone) answered only at its delayed-ACK timer — the PTO
 *    and 40 ms of delayed ACK, 40 times per 30 MB over TAP. The probe
 *    repeats the last segment sent: a duplicate, answered at once.
 *
 * The link has no rate limit, so a burst arrives at one instant and B's ACKs
 * for it come back at one instant. Each test asserts what crossed the wire. */
#include "test_tcp_helpers.h"

#define RTT US_MS(1)
#define BURST 10 /* segments written at once after idle (the restart window): the whole transfer */

struct conn {
    struct tu_net n;
    struct trace tr;
    int a, b;
    uint32_t base, mss;
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
    struct us_tcp_info ti;
    x->base = tt_warm_up(&x->n, &x->tr, x->a, x->b, 400000, US_SEC(20), US_MS(300), &ti);
    assert_true(ti.sack_ok);
    assert_true(ti.cwnd >= 2u * BURST * ti.mss_send);   /* cut to the restart window: BURST */
    x->mss = ti.mss_send;
}

/* The first copy of the hole is lost; of B's ACKs, the first that
 * acknowledges past the hole (the answer to its retransmission) is lost too
 * when drop_full_ack. */
struct rule {
    uint32_t hole;
    bool drop_full_ack;
    int dropped_data, dropped_acks;
};

static bool rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct rule *r = tr->arg;
    if (s->host == 0) {
        if (s->len && s->seq == r->hole && r->dropped_data == 0) {
            r->dropped_data = 1;
            return true;
        }
        return false;
    }
    if (r->drop_full_ack && r->dropped_data && !r->dropped_acks && !s->len && (int32_t)(s->ack - r->hole) > 0) {
        r->dropped_acks = 1;
        return true;
    }
    return false;
}

static us_time_t copy_time(const struct trace *tr, uint32_t seq, int k)
{
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == 0 && tr->v[i].seq == seq && tr->v[i].len && k-- == 0)
            return tr->v[i].t;
    return 0;
}

static int copies(const struct trace *tr, uint32_t seq)
{
    int k = 0;
    for (size_t i = 0; i < tr->n; i++)
        k += tr->v[i].host == 0 && tr->v[i].seq == seq && tr->v[i].len;
    return k;
}

struct outcome {
    us_time_t t0, done;                 /* the burst left; the last byte was acknowledged */
    uint64_t rtos, tlps;
    struct us_tcp_info ti;
};

static void burst(struct conn *x, struct rule *r, uint32_t segs, struct outcome *o)
{
    x->tr.rule = rule;
    x->tr.arg = r;
    struct us_tcp_info ti;
    us_tcp_info(x->n.a.st, x->a, &ti);
    uint64_t rto0 = ti.rto_expirations, tlp0 = tu_counter(x->n.a.st, "tcp.tlp_probes");
    struct xfer y = {.sim = x->n.sim, .ss = x->n.a.st, .ds = x->n.b.st, .sfd = x->a, .dfd = x->b,
                     .total = segs * x->mss, .seed = 11};
    assert_int_equal(xfer_run(&y, tt_now(&x->n) + US_SEC(30)), 0);
    assert_false(y.bad);
    assert_int_equal(y.got, segs * x->mss);
    /* until every byte is acknowledged at A */
    for (int i = 0; i < 1000; i++) {
        us_tcp_info(x->n.a.st, x->a, &o->ti);
        if (o->ti.bytes_in_flight == 0)
            break;
        us_sim_run_until(x->n.sim, tt_now(&x->n) + US_MS(1));
    }
    assert_int_equal(o->ti.bytes_in_flight, 0);
    o->t0 = copy_time(&x->tr, x->base, 0);
    o->done = 0;
    for (size_t i = 0; i < x->tr.n; i++)
        if (x->tr.v[i].host == 1 && !x->tr.dropped[i] && (int32_t)(x->tr.v[i].ack - (x->base + segs * x->mss)) >= 0) {
            o->done = x->tr.v[i].t + RTT / 2;
            break;
        }
    if (getenv("TT_DUMP"))
        for (size_t i = 0; i < x->tr.n; i++)
            printf("%.6f %c seq %u ack %u len %u sack %d [%u,%u)%s\n", (double)x->tr.v[i].t / 1e9, 'A' + x->tr.v[i].host,
                   x->tr.v[i].seq - x->base, x->tr.v[i].ack - x->base, x->tr.v[i].len, x->tr.v[i].nsack,
                   x->tr.v[i].sack0_l - x->base, x->tr.v[i].sack0_r - x->base, x->tr.dropped[i] ? " DROP" : "");
    o->rtos = o->ti.rto_expirations - rto0;
    o->tlps = tu_counter(x->n.a.st, "tcp.tlp_probes") - tlp0;
    assert_int_equal(r->dropped_data, 1);
}

/* The hole's retransmission arrives, B answers it with one ACK for the whole
 * burst, and that ACK is lost. A probe goes out at the PTO (2·SRTT + 2 ms)
 * not the RTO: the hole a third time, which B answers
 * with a D-SACK and the cumulative ACK at once. */
static void lost_ack_of_a_hole_retransmission_is_answered_by_a_probe_not_an_rto(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 41);
    struct rule r = {.hole = x.base + x.mss, .drop_full_ack = true};
    struct outcome o;
    burst(&x, &r, BURST, &o);
    us_time_t rxt = copy_time(&x.tr, r.hole, 1), probe = copy_time(&x.tr, r.hole, 2);
    printf("# hole resent %.3f ms after the burst, again %.3f ms after that; all acknowledged at %.3f ms; "
           "%llu RTOs, %llu TLPs; cwnd %u ssthresh %u\n",
           (double)(rxt - o.t0) / 1e6, (double)(probe - rxt) / 1e6, (double)(o.done - o.t0) / 1e6,
           (unsigned long long)o.rtos, (unsigned long long)o.tlps, o.ti.cwnd, o.ti.ssthresh);
    assert_int_equal(r.dropped_acks, 1);
    assert_int_equal(rxt - o.t0, RTT);           /* the fast retransmission, on the dup ACKs */
    assert_int_equal(copies(&x.tr, r.hole), 3);
    assert_true(probe - rxt >= US_MS(2));        /* the PTO (2·SRTT + 2 ms) after the last ACK */
    assert_true(probe - rxt <= US_MS(15));
    assert_int_equal(o.done, probe + RTT);       /* answered at once: no delayed ACK */
    assert_int_equal(o.rtos, 0);
    assert_int_equal(o.tlps, 1);
    tt_free(&x.n, &x.tr);
}

/* One hole, fast retransmitted; B's ACK for the retransmission acknowledges
 * the whole burst, so nothing is in flight when the recovery ends. The window
 * is ssthresh after it, not 2 MSS. */
static void recovery_ending_on_an_ack_for_the_whole_flight_leaves_cwnd_at_ssthresh(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 43);
    struct us_tcp_info before;
    us_tcp_info(x.n.a.st, x.a, &before);
    struct rule r = {.hole = x.base + x.mss};
    struct outcome o;
    burst(&x, &r, BURST, &o);
    printf("# cwnd before %u, after the recovery %u, ssthresh %u (mss %u), %llu RTOs\n", before.cwnd, o.ti.cwnd,
           o.ti.ssthresh, x.mss, (unsigned long long)o.rtos);
    assert_int_equal(copies(&x.tr, r.hole), 2);
    assert_int_equal(o.rtos, 0);
    /* CUBIC: ssthresh = 0.7 of cwnd at the loss (the burst: the restart
     * window), whole MSS — not of what the coalesced dup ACKs left in flight
     * (that gave 6 MSS) */
    assert_int_equal(o.ti.ssthresh, BURST * 7 / 10 * x.mss);
    assert_int_equal(o.ti.cwnd, o.ti.ssthresh);
    tt_free(&x.n, &x.tr);
}

/* Twice the restart window: the fast retransmission leaves on the dup ACKs
 * in the same instant as new data (PRR sends both on one batch), some of it
 * before the retransmission. B's SACK for that new data, processed before the
 * ACK the retransmission draws, must not mark the retransmission lost again:
 * they left at one µs, and the order of transmission, not the sequence
 * number, tells which left first. */
static void retransmission_sent_amid_new_data_in_one_instant_is_not_resent(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 43);
    struct us_tcp_info before;
    us_tcp_info(x.n.a.st, x.a, &before);
    struct rule r = {.hole = x.base + x.mss};
    struct outcome o;
    burst(&x, &r, 2 * BURST, &o);
    us_time_t rxt = copy_time(&x.tr, r.hole, 1);
    int same_instant = 0;
    for (size_t i = 0; i < x.tr.n; i++)
        same_instant += x.tr.v[i].host == 0 && x.tr.v[i].len && x.tr.v[i].t == rxt && x.tr.v[i].seq != r.hole;
    printf("# hole resent %.3f ms after the burst with %d new segments in the same instant; %d copies, "
           "%llu retransmissions, %llu RTOs\n", (double)(rxt - o.t0) / 1e6, same_instant, copies(&x.tr, r.hole),
           (unsigned long long)(o.ti.retransmits - before.retransmits), (unsigned long long)o.rtos);
    assert_true(same_instant >= 2);
    assert_int_equal(copies(&x.tr, r.hole), 2);
    assert_int_equal(o.ti.retransmits - before.retransmits, 1);
    assert_int_equal(o.rtos, 0);
    tt_free(&x.n, &x.tr);
}

/* ---- the ACKs of a whole flight lost -------------------------------------------- */

struct ack_loss { uint32_t mss, base; int a_data, until; int dropped; };

/* Every ACK of B's is lost until A has sent `until` data segments. */
static bool ack_loss_rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct ack_loss *r = tr->arg;
    if (s->host == 0) {
        r->a_data += s->len > 0;
        return false;
    }
    if (r->a_data <= r->until && !s->len) {
        r->dropped++;
        return true;
    }
    return false;
}

/* probes: 1 = the first probe is answered; 2 = its answer is lost too, and
 * a second probe at twice the PTO draws the ACK instead of the RTO; 3 = the
 * second's answer lost as well, and a third at four PTOs draws it. */
static void lost_acks_drawn_by_probes(int probes)
{
    struct conn x;
    conn_setup(&x, 43);
    struct ack_loss r = {.mss = x.mss, .base = x.base, .until = BURST + probes - 1};
    x.tr.rule = ack_loss_rule;
    x.tr.arg = &r;
    struct us_tcp_info before, ti;
    assert_int_equal(us_tcp_info(x.n.a.st, x.a, &before), 0);
    uint64_t tlp0 = tu_counter(x.n.a.st, "tcp.tlp_probes"), rto0 = before.rto_expirations;
    uint32_t segs = 2 * BURST;         /* the restart window sends BURST; the rest waits for ACKs */
    struct xfer y = {.sim = x.n.sim, .ss = x.n.a.st, .ds = x.n.b.st, .sfd = x.a, .dfd = x.b,
                     .total = segs * x.mss, .seed = 12};
    assert_int_equal(xfer_run(&y, tt_now(&x.n) + US_SEC(30)), 0);
    assert_false(y.bad);
    for (int i = 0; i < 1000; i++) {
        us_tcp_info(x.n.a.st, x.a, &ti);
        if (ti.bytes_in_flight == 0)
            break;
        us_sim_run_until(x.n.sim, tt_now(&x.n) + US_MS(1));
    }
    assert_int_equal(ti.bytes_in_flight, 0);
    /* the burst, then A's next data segment: the probe */
    us_time_t t0 = copy_time(&x.tr, x.base, 0), probe = 0, first = 0, answer = 0, done = 0, at[4] = {0};
    uint32_t probe_seq = 0;
    int k = 0;
    for (size_t i = 0; i < x.tr.n; i++) {
        const struct seg *g = &x.tr.v[i];
        if (g->host == 0 && g->len && ++k == BURST + 1)
            first = g->t;
        if (g->host == 0 && g->len && k > BURST && k <= BURST + 4)
            at[k - BURST - 1] = g->t;
        if (g->host == 0 && g->len && k == BURST + probes) {
            probe = g->t;
            probe_seq = g->seq;
        }
        if (probe && !answer && g->host == 1 && !x.tr.dropped[i])
            answer = g->t + RTT / 2;
        if (!done && g->host == 1 && !x.tr.dropped[i] && (int32_t)(g->ack - (x.base + segs * x.mss)) >= 0)
            done = g->t + RTT / 2;
    }
    printf("# %d ACKs lost; probe %.3f ms after the burst (seq +%u), answered %.3f ms after it; all acknowledged "
           "at %.3f ms; cwnd %u -> %u\n", r.dropped, (double)(probe - t0) / 1e6, probe_seq - x.base,
           (double)(answer - probe) / 1e6, (double)(done - t0) / 1e6, before.cwnd, ti.cwnd);
    assert_true(r.dropped >= probes);
    assert_int_equal(probe_seq, x.base + (BURST - 1) * x.mss);   /* the last segment again */
    assert_true(first - t0 >= US_MS(2) && first - t0 <= US_MS(15)); /* the PTO (2·SRTT + 2 ms) */
    /* each probe after the one before: 2, then 4 PTOs (the first's wait) */
    for (int j = 1; j < probes; j++) {
        us_time_t want = ((us_time_t)1 << j) * (first - t0), got = at[j] - at[j - 1];
        assert_true(got >= want - US_MS(2) && got <= want + US_MS(2));
    }
    /* twice the PTO, long before the RTO */
    assert_int_equal(answer, probe + RTT);                     /* a duplicate: no delayed ACK */
    assert_true(done <= probe + 4 * RTT);                      /* the other ten follow at once */
    assert_int_equal(tu_counter(x.n.a.st, "tcp.tlp_probes") - tlp0, (uint64_t)probes);
    assert_int_equal(ti.rto_expirations - rto0, 0);
    assert_int_equal(ti.dsacks_received - before.dsacks_received, 1);   /* B had it: D-SACK */
    assert_int_equal(tu_counter(x.n.a.st, "tcp.tlp_loss_repaired"), 0);  /* no congestion response */
    assert_int_equal(ti.reo_wnd, before.reo_wnd);              /* and no reordering inferred */
    tt_free(&x.n, &x.tr);
}

static void lost_acks_of_a_whole_flight_are_drawn_at_once_by_a_repeat_not_new_data(void **s)
{
    (void)s;
    lost_acks_drawn_by_probes(1);
}

/* RFC 8985 7.3 arms the RTO after one probe: 200 ms, two hundred round trips
 * here. A second probe at twice the PTO comes first. */
static void probe_whose_answer_is_lost_is_followed_by_a_second_not_the_rto(void **s)
{
    (void)s;
    lost_acks_drawn_by_probes(2);
}

/* Two probes' answers lost (at 2% loss each way over TAP, twice per 100 MB):
 * a third probe, four PTOs after the second, still long before the RTO. */
static void probes_go_on_at_doubling_intervals_while_they_come_before_the_rto(void **s)
{
    (void)s;
    lost_acks_drawn_by_probes(3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lost_ack_of_a_hole_retransmission_is_answered_by_a_probe_not_an_rto),
        cmocka_unit_test(recovery_ending_on_an_ack_for_the_whole_flight_leaves_cwnd_at_ssthresh),
        cmocka_unit_test(retransmission_sent_amid_new_data_in_one_instant_is_not_resent),
        cmocka_unit_test(lost_acks_of_a_whole_flight_are_drawn_at_once_by_a_repeat_not_new_data),
        cmocka_unit_test(probe_whose_answer_is_lost_is_followed_by_a_second_not_the_rto),
        cmocka_unit_test(probes_go_on_at_doubling_intervals_while_they_come_before_the_rto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
