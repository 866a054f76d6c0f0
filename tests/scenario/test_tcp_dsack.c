/* D-SACK (RFC 2883) both ways.
 * ustack as a receiver reports duplicate segments: a segment wholly below
 * RCV.NXT, and a segment the out-of-order queue already holds, are each
 * answered at once by an ACK whose first SACK block is the duplicate range
 * (in the second case followed by the block that contains it, RFC 2883
 * 4.1.2); the report is made once. Asserted on the segments B sent.
 * ustack as a sender widens RACK's reordering window on D-SACKs (RFC 8985
 * 6.2 step 4): on a link that delays some segments by more than
 * min_RTT / 4, the first spurious retransmissions are reported by D-SACK
 * and after that the reordered segments are left alone. In virtual time. */
#include "test_tcp_helpers.h"

#define RTT US_MS(20)

struct conn {
    struct tu_net n;
    struct trace tr;
    int a, b;
    uint32_t base, mss, b_seq;
};

/* Every SACK block of B's segments (the trace keeps only the first). */
struct blocks {
    size_t n;
    struct { us_time_t t; uint32_t ack; int nsack; uint32_t sack[4][2]; } v[256];
    uint32_t drop_seq;   /* A's data segment whose first copy is dropped, 0 = none */
    bool dropped;
};

static bool rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    struct blocks *bl = tr->arg;
    if (!bl)
        return false;
    if (s->host == 0)
        return s->len && bl->drop_seq && s->seq == bl->drop_seq && !bl->dropped && (bl->dropped = true);
    struct seg x;
    struct tt_frame fr;
    if (bl->n < 256 && tt_parse_frame(f, len, &x, &fr)) {
        bl->v[bl->n].t = s->t;
        bl->v[bl->n].ack = s->ack;
        bl->v[bl->n].nsack = fr.tcp.nsack;
        memcpy(bl->v[bl->n].sack, fr.tcp.sack, sizeof(bl->v[bl->n].sack));
        bl->n++;
    }
    return false;
}

static void conn_setup(struct conn *x, uint64_t seed)
{
    struct tu_opts o = {.seed = seed};
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    tt_net(&x->n, &x->tr, &o);
    int l = tt_listen(x->n.b.st, 80, 8, us_sim_now(x->n.sim));
    tt_pair(&x->n, l, 80, &x->a, &x->b);
    x->b_seq = 0;
    for (size_t i = 0; i < x->tr.n; i++)
        if (x->tr.v[i].host == 1 && x->tr.v[i].flags == (F_SYN | F_ACK))
            x->b_seq = x->tr.v[i].seq + 1;       /* B sends no data: its SND.NXT from here on */
    assert_true(x->b_seq != 0);
    struct us_tcp_info ti;
    x->base = tt_warm_up(&x->n, &x->tr, x->a, x->b, 100000, US_SEC(20), US_MS(300), &ti);
    assert_true(ti.sack_ok);
    x->mss = ti.mss_send;
}

/* A segment from A's address with `len` bytes at seq, as A would send it. */
static void inject(struct conn *x, uint32_t seq, uint32_t len)
{
    struct us_tcp_repr r = {.sport = 0, .dport = 80, .seq = seq, .ack = x->b_seq, .flags = US_TH_ACK,
                            .wnd = 65535, .wscale = -1};
    struct us_sockaddr la;
    assert_int_equal(us_getsockname(x->n.a.st, x->a, &la), 0);
    r.sport = la.port;
    tt_inject(&x->n, TU_IP_A, TU_IP_B, &r, len);
}

static void drain_b(struct conn *x)
{
    uint8_t buf[65536];
    while (us_recv(x->n.b.st, x->b, buf, sizeof(buf), 0, tt_now(&x->n)) > 0)
        ;
}

static void duplicate_below_rcv_nxt_is_answered_with_a_dsack_block_once(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 31);
    struct blocks bl = {0};
    x.tr.rule = rule;
    x.tr.arg = &bl;
    uint64_t sent0 = tu_counter(x.n.b.st, "tcp.dsack_sent");
    uint32_t l = x.base - 3000, r = x.base - 2000;
    inject(&x, l, r - l);
    tt_run(&x.n, US_MS(1));
    /* B answers at once (no delayed ACK): ACK = RCV.NXT, first block the duplicate */
    assert_int_equal(bl.n, 1);
    assert_int_equal(bl.v[0].ack, x.base);
    assert_true(bl.v[0].nsack >= 1);
    assert_int_equal(bl.v[0].sack[0][0], l);
    assert_int_equal(bl.v[0].sack[0][1], r);
    assert_int_equal(tu_counter(x.n.b.st, "tcp.dsack_sent") - sent0, 1);
    /* the next ACK (for new data) reports nothing: the D-SACK was sent once */
    uint8_t buf[4000] = {0};
    assert_int_equal(us_send(x.n.a.st, x.a, buf, 2 * x.mss, 0, tt_now(&x.n)), (ssize_t)(2 * x.mss));
    tt_run(&x.n, US_MS(100));
    drain_b(&x);
    assert_true(bl.n >= 2);
    for (size_t i = 1; i < bl.n; i++)
        assert_int_equal(bl.v[i].nsack, 0);
    assert_int_equal(tu_counter(x.n.b.st, "tcp.dsack_sent") - sent0, 1);
    tt_free(&x.n, &x.tr);
}

static void duplicate_of_an_out_of_order_segment_is_reported_before_its_block(void **s)
{
    (void)s;
    struct conn x;
    conn_setup(&x, 32);
    struct blocks bl = {.drop_seq = x.base};
    x.tr.rule = rule;
    x.tr.arg = &bl;
    uint8_t buf[8 * 1500] = {0};
    uint32_t m = x.mss;
    assert_int_equal(us_send(x.n.a.st, x.a, buf, 4 * m, 0, tt_now(&x.n)), (ssize_t)(4 * m));
    /* the four segments reach B after RTT/2; the hole is repaired no sooner
     * than the reordering window after the SACKs return (RTT + RTT/4) */
    tt_run(&x.n, RTT / 2 + US_MS(2));
    assert_true(bl.dropped);
    size_t before = bl.n;
    assert_true(before >= 3);
    assert_int_equal(bl.v[before - 1].sack[0][0], x.base + m);
    assert_int_equal(bl.v[before - 1].sack[0][1], x.base + 4 * m);
    /* a second copy of the third segment, held out of order */
    inject(&x, x.base + 2 * m, m);
    tt_run(&x.n, US_MS(1));
    assert_int_equal(bl.n, before + 1);
    assert_int_equal(bl.v[before].ack, x.base);
    assert_true(bl.v[before].nsack >= 2);
    assert_int_equal(bl.v[before].sack[0][0], x.base + 2 * m);
    assert_int_equal(bl.v[before].sack[0][1], x.base + 3 * m);
    assert_int_equal(bl.v[before].sack[1][0], x.base + m);
    assert_int_equal(bl.v[before].sack[1][1], x.base + 4 * m);
    /* the connection completes; no further D-SACK (no other duplicate arrived) */
    tt_run(&x.n, US_MS(500));
    drain_b(&x);
    assert_int_equal(tu_counter(x.n.b.st, "tcp.dsack_sent"), 1);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(x.n.a.st, x.a, &ti), 0);
    assert_int_equal(ti.bytes_in_flight, 0);
    tt_free(&x.n, &x.tr);
}

/* ---- the sender's reordering window grows on D-SACKs ------------------------------ */

static void rack_cfg(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_rack = true;
}

static void reordering_beyond_the_window_stops_causing_retransmissions_after_dsacks(void **s)
{
    (void)s;
    /* 10 Mbit/s (1.2 ms a segment), RTT 20 ms: min_RTT / 4 is about 5 ms;
     * 3% of the segments arrive 8 ms late, overtaken by about six others */
    struct tu_opts o = {.seed = 33, .cfg_hook = rack_cfg};
    struct us_impair_dir d = {.delay = RTT / 2, .rate_bps = 10000000, .queue_bytes = 1 << 20, .reorder = 0.03,
                              .reorder_gap = US_MS(8)};
    o.imp_a.tx = d;
    o.imp_b.tx.delay = RTT / 2;
    struct conn x;
    tt_net(&x.n, &x.tr, &o);
    int l = tt_listen(x.n.b.st, 80, 8, us_sim_now(x.n.sim));
    tt_pair(&x.n, l, 80, &x.a, &x.b);
    uint64_t ooo0 = tu_counter(x.n.b.st, "tcp.out_of_order_segments");
    struct xfer y = {.sim = x.n.sim, .ss = x.n.a.st, .ds = x.n.b.st, .sfd = x.a, .dfd = x.b, .total = 10000000,
                     .seed = 7};
    assert_int_equal(xfer_run(&y, tt_now(&x.n) + US_SEC(60)), 0);
    assert_false(y.bad);
    uint64_t ooo = tu_counter(x.n.b.st, "tcp.out_of_order_segments") - ooo0;
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(x.n.a.st, x.a, &ti), 0);
    /* A's retransmissions on the wire: data below the highest sent so far */
    uint32_t high = 0;
    bool any = false;
    int rexmits = 0;
    us_time_t last = 0, start = x.tr.v[0].t, end = x.tr.v[x.tr.n - 1].t;
    for (size_t i = 0; i < x.tr.n; i++) {
        const struct seg *g = &x.tr.v[i];
        if (g->host != 0 || !g->len)
            continue;
        if (any && (int32_t)(g->seq - high) < 0) {
            rexmits++;
            last = g->t;
        }
        if (!any || (int32_t)(g->seq + g->len - high) > 0)
            high = g->seq + g->len;
        any = true;
    }
    /* every retransmission was spurious (nothing is lost): B reported each */
    printf("# %llu segments arrived out of order; %llu retransmissions (the last %.3f s into %.3f s), %llu D-SACKs, "
           "reordering window %.3f ms (min RTT %.3f ms)\n", (unsigned long long)ooo, (unsigned long long)ti.retransmits,
           (double)(last - start) / 1e9, (double)(end - start) / 1e9, (unsigned long long)ti.dsacks_received,
           (double)ti.reo_wnd / 1e6, (double)ti.rack_min_rtt / 1e6);
    assert_int_equal(rexmits, (int)ti.retransmits);
    assert_true(ooo >= 400);
    assert_true(ti.retransmits <= 6);
    /* and none in the last two thirds of the transfer: the window had grown */
    assert_true(end - start > US_SEC(6));
    assert_true(last - start < (end - start) / 3);
    assert_true(ti.dsacks_received >= 1);
    assert_true(ti.reo_wnd > US_MS(8));
    assert_int_equal(ti.rto_expirations, 0);
    tt_free(&x.n, &x.tr);
}

/* RACK.min_RTT is the minimum of the last 10 s: after the path's delay grew
 * from 2 ms to 40 ms the reordering window follows it (connection-wide it
 * would stay at the old 2 ms, a window of 0.5 ms on a 40 ms path). */
static void reordering_window_follows_the_min_rtt_of_the_last_10_seconds(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 34, .cfg_hook = rack_cfg};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(1);
    struct conn x;
    tt_net(&x.n, &x.tr, &o);
    int l = tt_listen(x.n.b.st, 80, 8, us_sim_now(x.n.sim));
    tt_pair(&x.n, l, 80, &x.a, &x.b);
    static uint8_t buf[20000];
    struct us_tcp_info ti;
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            struct us_impair_config c = {.tx = {.delay = US_MS(20)}, .seed = 1};
            us_impair_set(x.n.a.imp, &c);
            us_impair_set(x.n.b.imp, &c);
        }
        for (int i = 0; i < 30; i++) {                /* 10 kB every 500 ms for 15 s */
            assert_int_equal(us_send(x.n.a.st, x.a, buf, 10000, 0, tt_now(&x.n)), 10000);
            tt_run(&x.n, US_MS(500));
            drain_b(&x);
        }
        assert_int_equal(us_tcp_info(x.n.a.st, x.a, &ti), 0);
        printf("# path RTT %d ms: RACK min RTT %.3f ms, reordering window %.3f ms\n", round ? 40 : 2,
               (double)ti.rack_min_rtt / 1e6, (double)ti.reo_wnd / 1e6);
        assert_int_equal(ti.bytes_in_flight, 0);
        us_time_t rtt = round ? US_MS(40) : US_MS(2);
        assert_true(ti.rack_min_rtt >= rtt && ti.rack_min_rtt <= rtt + US_MS(1));
        assert_true(ti.reo_wnd >= rtt / 4 && ti.reo_wnd <= (rtt + US_MS(1)) / 4);
    }
    tt_free(&x.n, &x.tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_below_rcv_nxt_is_answered_with_a_dsack_block_once),
        cmocka_unit_test(duplicate_of_an_out_of_order_segment_is_reported_before_its_block),
        cmocka_unit_test(reordering_beyond_the_window_stops_causing_retransmissions_after_dsacks),
        cmocka_unit_test(reordering_window_follows_the_min_rtt_of_the_last_10_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
