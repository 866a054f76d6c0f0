/* RACK-TLP loss detection (RFC 8985) on SACK connections: a tail loss repaired
 * by a probe at 2·SRTT, a loss with too few segments after it for three
 * duplicate ACKs repaired after the reordering window, a lost retransmission
 * found by RACK, reordering inside the window left alone — each without an
 * RTO — and a lossy bulk comparison with RACK-TLP switched off. Each asserts
 * what crossed the wire, in virtual time. */
#include "test_tcp_helpers.h"

#define RTT US_MS(20)

struct conn {
    struct tu_net n;
    struct trace tr;
    int a, b;
    uint32_t base, mss;
    us_time_t srtt;
};

struct cfgarg { bool rack; };

static void cfg_rack(struct us_config *c, int host, void *arg)
{
    (void)host;
    c->tcp_rack = ((struct cfgarg *)arg)->rack;
}

/* RTT 20 ms, warmed up by 200 kB so cwnd is well above what a test sends;
 * base = the next sequence number A sends. */
static void conn_setup(struct conn *x, struct cfgarg *ca, const struct us_impair_dir *a_tx, uint64_t seed)
{
    struct tu_opts o = {.seed = seed, .cfg_hook = cfg_rack, .cfg_arg = ca};
    if (a_tx)
        o.imp_a.tx = *a_tx;
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    tt_net(&x->n, &x->tr, &o);
    int l = tt_listen(x->n.b.st, 80, 8, us_sim_now(x->n.sim));
    tt_pair(&x->n, l, 80, &x->a, &x->b);
    struct us_tcp_info ti;
    x->base = tt_warm_up(&x->n, &x->tr, x->a, x->b, 200000, US_SEC(20), US_MS(300), &ti);
    assert_true(ti.sack_ok);
    x->mss = ti.mss_send;
    x->srtt = ti.srtt;
}

static void send_pattern(struct conn *x, uint32_t bytes, uint64_t seed)
{
    struct xfer y = {.sim = x->n.sim, .ss = x->n.a.st, .ds = x->n.b.st, .sfd = x->a, .dfd = x->b, .total = bytes,
                     .seed = seed};
    assert_int_equal(xfer_run(&y, tt_now(&x->n) + US_SEC(30)), 0);
    assert_false(y.bad);
    assert_int_equal(y.got, bytes);
}

static uint64_t rtos(struct conn *x)
{
    struct us_tcp_info ti;
    us_tcp_info(x->n.a.st, x->a, &ti);
    return ti.rto_expirations;
}

static uint64_t ctr(struct conn *x, const char *name) { return tu_counter(x->n.a.st, name); }

/* Drop the first `times[i]` copies of the data segment starting at seq[i]. */
struct droplist { uint32_t seq[4]; int times[4]; int n; };

static bool drop_listed(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct droplist *d = tr->arg;
    if (s->host != 0 || !s->len)
        return false;
    for (int i = 0; i < d->n; i++)
        if (s->seq == d->seq[i] && d->times[i] > 0) {
            d->times[i]--;
            return true;
        }
    return false;
}

/* Time of the k-th copy (0-based) A sent of the segment at seq, or 0. */
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

/* Arrival at A of the last segment B sent before time t. */
static us_time_t last_b_arrival_before(const struct trace *tr, us_time_t t)
{
    us_time_t last = 0;
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == 1 && tr->v[i].t + RTT / 2 <= t)
            last = tr->v[i].t + RTT / 2;
    return last;
}

static void dump(const struct conn *x)
{
    if (!getenv("TT_DUMP"))
        return;
    for (size_t i = 0; i < x->tr.n; i++)
        printf("%.3f %c seq %u ack %u len %u sack %d [%u,%u)%s\n", (double)x->tr.v[i].t / 1e6, 'A' + x->tr.v[i].host,
               x->tr.v[i].seq - x->base, x->tr.v[i].ack - x->base, x->tr.v[i].len, x->tr.v[i].nsack,
               x->tr.v[i].sack0_l - x->base, x->tr.v[i].sack0_r - x->base, x->tr.dropped[i] ? " DROP" : "");
}

/* ---- tail loss ---------------------------------------------------------------- */

static void tail_loss_of_the_last_two_segments_is_repaired_by_a_probe_at_2_srtt_not_an_rto(void **s)
{
    (void)s;
    struct cfgarg ca = {true};
    struct conn x;
    conn_setup(&x, &ca, NULL, 11);
    struct droplist d = {.n = 2, .seq = {x.base + 8 * x.mss, x.base + 9 * x.mss}, .times = {1, 1}};
    x.tr.rule = drop_listed;
    x.tr.arg = &d;
    uint64_t rto0 = rtos(&x), tlp0 = ctr(&x, "tcp.tlp_probes");
    send_pattern(&x, 10 * x.mss, 2);
    dump(&x);
    assert_int_equal(rtos(&x) - rto0, 0);
    assert_int_equal(ctr(&x, "tcp.tlp_probes") - tlp0, 1);
    /* the probe is the last segment again, 2·SRTT after the ACK that left the
     * two lost segments as the whole flight */
    us_time_t probe = copy_time(&x.tr, d.seq[1], 1);
    assert_true(probe > 0);
    us_time_t ack = last_b_arrival_before(&x.tr, probe);
    printf("# probe %.3f ms after the last ACK, 2*SRTT = %.3f ms\n", (double)(probe - ack) / 1e6,
           (double)(2 * x.srtt) / 1e6);
    /* SRTT moves a little with this flight's samples: between 2·RTT and 2·SRTT
     * as it was before the flight, and far below the 200 ms minimum RTO */
    assert_true(probe - ack >= 2 * RTT - US_MS(1) && probe - ack <= 2 * x.srtt + US_MS(1));
    /* the probe's SACK shows the segment before it lost: resent one RTT later,
     * long before an RTO (>= 200 ms) could have fired */
    us_time_t other = copy_time(&x.tr, d.seq[0], 1);
    assert_true(other > probe);
    assert_true(other - probe <= RTT + US_MS(2));
    assert_int_equal(copies(&x.tr, d.seq[0]), 2);
    assert_int_equal(copies(&x.tr, d.seq[1]), 2);
    tt_free(&x.n, &x.tr);
}

/* ---- too few duplicate ACKs ------------------------------------------------------- */

static void single_loss_with_two_segments_after_it_is_resent_after_the_reorder_window_without_rto(void **s)
{
    (void)s;
    struct cfgarg ca = {true};
    struct conn x;
    conn_setup(&x, &ca, NULL, 12);
    struct droplist d = {.n = 1, .seq = {x.base}, .times = {1}};
    x.tr.rule = drop_listed;
    x.tr.arg = &d;
    uint64_t rto0 = rtos(&x), reo0 = ctr(&x, "tcp.rack_reorder_timeouts");
    send_pattern(&x, 3 * x.mss, 3);
    dump(&x);
    assert_int_equal(rtos(&x) - rto0, 0);
    assert_int_equal(ctr(&x, "tcp.tlp_probes"), 0);
    assert_int_equal(ctr(&x, "tcp.rack_reorder_timeouts") - reo0, 1);
    /* two SACKs arrive (two duplicate ACKs, fewer than DupThresh); the
     * retransmission leaves a reordering window (min_RTT / 4) after the
     * second one */
    us_time_t rxt = copy_time(&x.tr, d.seq[0], 1);
    us_time_t sack2 = last_b_arrival_before(&x.tr, rxt);
    printf("# retransmitted %.3f ms after the second SACK (min_RTT/4 ~ %.3f ms)\n", (double)(rxt - sack2) / 1e6,
           (double)RTT / 4 / 1e6);
    assert_true(rxt - sack2 >= RTT / 4 - US_MS(1) && rxt - sack2 <= RTT / 4 + US_MS(1));
    assert_int_equal(copies(&x.tr, d.seq[0]), 2);
    tt_free(&x.n, &x.tr);
}

/* ---- a lost retransmission ------------------------------------------------------- */

static void lost_retransmission_is_detected_by_rack_and_resent_without_rto(void **s)
{
    (void)s;
    struct cfgarg ca = {true};
    struct conn x;
    conn_setup(&x, &ca, NULL, 13);
    struct droplist d = {.n = 1, .seq = {x.base + 5 * x.mss}, .times = {2}};
    x.tr.rule = drop_listed;
    x.tr.arg = &d;
    uint64_t rto0 = rtos(&x);
    send_pattern(&x, 300 * x.mss, 4);
    dump(&x);
    assert_int_equal(d.times[0], 0);
    assert_int_equal(rtos(&x) - rto0, 0);
    assert_int_equal(copies(&x.tr, d.seq[0]), 3);
    /* the third copy follows the second by about one RTT: as soon as segments
     * sent after the retransmission are SACKed */
    us_time_t second = copy_time(&x.tr, d.seq[0], 1), third = copy_time(&x.tr, d.seq[0], 2);
    printf("# retransmission lost at %.3f ms, resent %.3f ms later\n", (double)second / 1e6,
           (double)(third - second) / 1e6);
    assert_true(third - second >= RTT && third - second <= 2 * RTT);
    tt_free(&x.n, &x.tr);
}

/* ---- reordering -------------------------------------------------------------------- */

static void reordering_within_the_window_causes_no_spurious_retransmission(void **s)
{
    (void)s;
    struct cfgarg ca = {true};
    struct conn x;
    /* paced at 10 Mbit/s (1.2 ms per segment); 5% of the segments arrive
     * 2 ms late, overtaken by one or two others — inside min_RTT / 4 = 5 ms */
    struct us_impair_dir dir = {.rate_bps = 10000000, .queue_bytes = 1 << 20, .reorder = 0.05,
                                .reorder_gap = US_MS(2)};
    conn_setup(&x, &ca, &dir, 14);
    struct us_tcp_info ti;
    us_tcp_info(x.n.a.st, x.a, &ti);
    uint64_t rx0 = ti.retransmits, ooo0 = tu_counter(x.n.b.st, "tcp.out_of_order_segments");
    send_pattern(&x, 1000000, 5);
    uint64_t ooo = tu_counter(x.n.b.st, "tcp.out_of_order_segments") - ooo0;
    us_tcp_info(x.n.a.st, x.a, &ti);
    printf("# %llu segments arrived out of order, %llu retransmissions\n", (unsigned long long)ooo,
           (unsigned long long)(ti.retransmits - rx0));
    assert_true(ooo >= 10);
    assert_int_equal(ti.retransmits - rx0, 0);
    assert_int_equal(ctr(&x, "tcp.rack_segments_marked_lost"), 0);
    tt_free(&x.n, &x.tr);
}

/* ---- lossy bulk: with and without RACK-TLP ------------------------------------------ */

struct run_result { us_time_t dur; uint64_t rtos, rexmits; };

static struct run_result bulk_2_percent(bool rack, uint64_t seed, uint64_t bytes)
{
    struct cfgarg ca = {rack};
    struct tu_opts o = {.seed = seed, .cfg_hook = cfg_rack, .cfg_arg = &ca};
    struct us_impair_dir d = {.delay = US_US(500), .loss = 0.02};
    o.imp_a.tx = d;
    o.imp_b.tx = d;
    struct tu_net n;
    tu_net_init(&n, &o);
    struct xfer b = {.total = bytes, .seed = seed};
    assert_int_equal(tu_bulk_run(&n, &b, US_SEC(3600)), 0);
    assert_false(b.bad);
    assert_int_equal(b.got, bytes);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(n.a.st, b.sfd, &ti), 0);
    assert_true(ti.sack_ok);
    struct run_result r = {b.t_eof - b.t_accepted, ti.rto_expirations, ti.retransmits};
    tu_net_free(&n);
    return r;
}

/* Twenty seeds: with PRR's exit at ssthresh both recoveries are quick, and a
 * handful of runs differ by one RTO either way (a lone tail segment's probe
 * waits WCDelAckT, past the RTO, in both). */
#define SEEDS 20

static void rack_tlp_at_2_percent_loss_needs_fewer_timeouts_and_less_time(void **s)
{
    (void)s;
    const uint64_t bytes = 2000000;
    struct run_result tr = {0, 0, 0}, tn = {0, 0, 0};
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct run_result a = bulk_2_percent(true, seed, bytes);
        struct run_result b = bulk_2_percent(false, seed, bytes);
        printf("# seed %llu: RACK-TLP %.3f s %llu RTOs %llu rexmits | RFC 6675 only %.3f s %llu RTOs %llu rexmits\n",
               (unsigned long long)seed, (double)a.dur / 1e9, (unsigned long long)a.rtos,
               (unsigned long long)a.rexmits, (double)b.dur / 1e9, (unsigned long long)b.rtos,
               (unsigned long long)b.rexmits);
        tr.dur += a.dur;
        tr.rtos += a.rtos;
        tn.dur += b.dur;
        tn.rtos += b.rtos;
    }
    printf("# total (2 MB, 2%% loss both ways, RTT 1 ms, seeds 1..%d): RACK-TLP %.3f s %llu RTOs, "
           "RFC 6675 only %.3f s %llu RTOs (goodput %.2f vs %.2f Mbit/s)\n",
           SEEDS, (double)tr.dur / 1e9, (unsigned long long)tr.rtos, (double)tn.dur / 1e9, (unsigned long long)tn.rtos,
           SEEDS * (double)bytes * 8 / ((double)tr.dur / 1e9) / 1e6, SEEDS * (double)bytes * 8 / ((double)tn.dur / 1e9) / 1e6);
    assert_true(tr.rtos < tn.rtos);
    assert_true(tr.dur < tn.dur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tail_loss_of_the_last_two_segments_is_repaired_by_a_probe_at_2_srtt_not_an_rto),
        cmocka_unit_test(single_loss_with_two_segments_after_it_is_resent_after_the_reorder_window_without_rto),
        cmocka_unit_test(lost_retransmission_is_detected_by_rack_and_resent_without_rto),
        cmocka_unit_test(reordering_within_the_window_causes_no_spurious_retransmission),
        cmocka_unit_test(rack_tlp_at_2_percent_loss_needs_fewer_timeouts_and_less_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
