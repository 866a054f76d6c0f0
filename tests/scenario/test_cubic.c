/* CUBIC (RFC 9438) in the simulator: the window after a loss follows the
 * cubic curve (concave up to W_max at t = K, convex beyond), CUBIC fills a
 * long fat pipe better than NewReno, the algorithm is chosen per socket, and
 * bulk transfers over lossy links arrive intact. */
#include <math.h>
#include "test_tcp_helpers.h"

#define MSS_TOL 3u

/* ---- an endless bulk flow A -> B (tools/xfer.h) ------------------------------ */

static struct xfer flow_of(struct tu_net *n)
{
    return (struct xfer){.sim = n->sim, .ss = n->a.st, .ds = n->b.st, .total = XFER_ENDLESS, .seed = 3};
}

/* Runs the flow for dt of virtual time. */
static void flow_run(struct xfer *f, us_time_t dt)
{
    us_time_t end = us_sim_now(f->sim) + dt;
    assert_int_equal(xfer_run(f, end), -ETIMEDOUT);
    if (us_sim_now(f->sim) < end)
        us_sim_run_until(f->sim, end);
}

struct cfg_arg { const char *cc; uint32_t buf; bool no_hystart; };

static void cfg_hook(struct us_config *cfg, int host, void *arg)
{
    (void)host;
    const struct cfg_arg *c = arg;
    snprintf(cfg->tcp_cc, sizeof(cfg->tcp_cc), "%s", c->cc);
    cfg->tcp_hystart = !c->no_hystart;
    if (c->buf) {
        cfg->tcp_sndbuf = c->buf;
        cfg->tcp_rcvbuf = c->buf;
    }
}

static struct us_tcp_info info_of(struct us_stack *st, int fd)
{
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(st, fd, &ti), 0);
    return ti;
}

/* ---- (1) the cubic curve after one loss ------------------------------------- */

/* Drops A's N-th data segment once; watches A's cwnd just before each frame A
 * receives, so the window at the moment of the loss is known exactly. */
struct one_loss {
    struct tu_net *n;
    int afd;
    uint32_t data_segs, drop_at;
    bool dropped, have_loss;
    uint32_t prev_cwnd;          /* A's cwnd after the previous received frame */
    uint32_t w_max, ssthresh;    /* cwnd before the reduction, ssthresh after */
    us_time_t t_loss;
};

static bool one_loss_filter(void *arg, int dir, const uint8_t *frame, uint32_t len, us_time_t now)
{
    struct one_loss *o = arg;
    struct seg s;
    if (!tt_parse(frame, len, &s))
        return false;
    bool drop = false;
    if (dir == 0 && s.len > 0 && !o->dropped && ++o->data_segs == o->drop_at) {
        o->dropped = true;
        drop = true;
    }
    if (o->afd < 0 || o->have_loss)
        return drop;
    struct us_tcp_info ti = info_of(o->n->a.st, o->afd);
    if (ti.state != US_TCP_ESTABLISHED)
        return drop;
    if (ti.ssthresh != 0x7fffffffu) {
        o->have_loss = true;
        o->w_max = o->prev_cwnd;
        o->ssthresh = ti.ssthresh;
        o->t_loss = now;
    }
    o->prev_cwnd = ti.cwnd;
    return drop;
}

/* RFC 9438 4.2 Figure 1, bytes; t and K in seconds. */
static double w_cubic_bytes(double t, double k, double w_max, double mss)
{
    return 0.4 * (t - k) * (t - k) * (t - k) * mss + w_max;
}

#define SAMPLE_MS 10
#define NSAMPLES 1300                /* 13 s */

static void cwnd_after_one_loss_drops_to_0_7_and_follows_the_cubic_curve(void **state)
{
    (void)state;
    struct cfg_arg ca = {"cubic", 16u << 20, false};
    struct tu_opts o = {.seed = 1, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    o.imp_a.tx.delay = US_MS(50);
    o.imp_b.tx.delay = US_MS(50);    /* RTT 100 ms: the cubic region dominates W_est */
    struct tu_net n;
    tu_net_init(&n, &o);
    struct one_loss ol = {.n = &n, .afd = -1, .drop_at = 100};
    us_impair_set_filter(n.a.imp, one_loss_filter, &ol);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    struct xfer f = flow_of(&n);
    tt_pair(&n, l, 80, &f.sfd, &f.dfd);
    ol.afd = f.sfd;

    static uint32_t cwnd[NSAMPLES], ssth[NSAMPLES];
    us_time_t t_start = tt_now(&n);
    for (int i = 0; i < NSAMPLES; i++) {
        flow_run(&f, US_MS(SAMPLE_MS));
        struct us_tcp_info ti = info_of(n.a.st, f.sfd);
        cwnd[i] = ti.cwnd;
        ssth[i] = ti.ssthresh;
    }
    struct us_tcp_info ti = info_of(n.a.st, f.sfd);
    double mss = ti.mss_send;
    assert_true(ol.dropped && ol.have_loss);

    /* RFC 9438 4.6: ssthresh = FlightSize * 0.7 (FlightSize ~ cwnd in bulk
     * transfer; limited transmit may add two segments). */
    double w_max = ol.w_max;
    print_message("W_max %.0f segs, ssthresh %u segs (%.3f x)\n", w_max / mss, ol.ssthresh / ti.mss_send,
                  ol.ssthresh / w_max);
    assert_true(ol.ssthresh >= 0.7 * w_max - MSS_TOL * mss);
    assert_true(ol.ssthresh <= 0.7 * w_max + MSS_TOL * mss);

    /* The epoch starts when recovery ends: the first sample above ssthresh. */
    int i0 = -1;
    for (int i = 0; i < NSAMPLES && i0 < 0; i++)
        if (ssth[i] == ol.ssthresh && cwnd[i] > ol.ssthresh)
            i0 = i;
    assert_true(i0 > 0);
    assert_true(cwnd[i0 - 1] <= ol.ssthresh);
    us_time_t t0 = t_start + (us_time_t)(i0 - 1) * US_MS(SAMPLE_MS);
    assert_true(t0 >= ol.t_loss && t0 - ol.t_loss < US_MS(300));   /* about one RTT of recovery */

    /* K = cbrt(W_max (1 - beta) / C) with cwnd_epoch = W_max * beta. */
    double k = cbrt((w_max - ol.ssthresh) / mss / 0.4);
    int ik = i0 - 1 + (int)(k * 1000 / SAMPLE_MS);
    assert_true(ik + 300 < NSAMPLES);
    print_message("K %.2f s; cwnd at t: ", k);
    for (int i = i0 + 50; i < ik + 300; i += 50) {
        double t = (double)(i - i0 + 1) * SAMPLE_MS / 1000.0;
        double want = w_cubic_bytes(t, k, w_max, mss);
        print_message("%.1fs %u/%.0f ", t, cwnd[i] / ti.mss_send, want / mss);
        /* cwnd tracks W_cubic(t + RTT) one RTT late: within 4% of W_max */
        assert_true(fabs((double)cwnd[i] - want) <= 0.04 * w_max + MSS_TOL * mss);
        assert_int_equal(ssth[i], ol.ssthresh);                       /* no other loss */
    }
    print_message("\n");
    /* back at W_max around t = K */
    assert_true(fabs((double)cwnd[ik] - w_max) <= 0.02 * w_max + MSS_TOL * mss);
    /* concave before K: the first half grows faster than the second ... */
    int ih = (i0 + ik) / 2;
    uint32_t g1 = cwnd[ih] - cwnd[i0], g2 = cwnd[ik] - cwnd[ih];
    assert_true(g1 > 2 * g2);
    /* ... and convex beyond: growth accelerates over equal intervals */
    uint32_t g3 = cwnd[ik + 150] - cwnd[ik], g4 = cwnd[ik + 300] - cwnd[ik + 150];
    print_message("growth over equal intervals: %u %u | %u %u segs\n", g1 / ti.mss_send, g2 / ti.mss_send,
                  g3 / ti.mss_send, g4 / ti.mss_send);
    assert_true(g4 > 2 * g3);
    tu_net_free(&n);
}

/* ---- (2) goodput on a long fat pipe ------------------------------------------ */

/* RTT 100 ms, 20 Mbit/s, a bottleneck queue of a quarter BDP: after a loss
 * NewReno restarts at (BDP + queue) / 2 = 0.63 BDP and needs ~65 RTTs of
 * +1 MSS to fill the pipe again; CUBIC restarts at 0.7 (BDP + queue) = 0.88
 * BDP and its concave curve climbs back within a few RTTs (RFC 9438 1, 5.1).
 * Why not 100 Mbit/s with a queue of one BDP: there the windows (860–1700
 * segments) exceed the receiver's out-of-order limit (TCP_OOO_MAX_SEGS, 256),
 * so every loss event becomes a retransmission timeout, and with one BDP of
 * queue NewReno's halving still keeps the link busy — that run measures the
 * receiver limit, not the algorithm (30 s: CUBIC 77.9, NewReno 86.2 Mbit/s). */

#define LFN_RATE 20000000ull         /* 20 Mbit/s: BDP 250 kB, 172 segments */
#define LFN_RTT_MS 100
#define LFN_SECS 30

/* Runs the flow for LFN_SECS; with CUBIC_TRACE set in the environment,
 * prints the sender's state every 250 ms on stderr (for diagnosis). */
static void lfn_run(struct xfer *f, int fd)
{
    if (!getenv("CUBIC_TRACE")) {
        flow_run(f, US_SEC(LFN_SECS));
        return;
    }
    for (int i = 1; i <= LFN_SECS * 4; i++) {
        flow_run(f, US_MS(250));
        struct us_tcp_info t = info_of(f->ss, fd);
        fprintf(stderr, "%5.2f s cwnd %9u ssthresh %10u flight %9u retransmits %5llu RTOs %llu received %llu\n",
                i / 4.0, t.cwnd, t.ssthresh, t.bytes_in_flight, (unsigned long long)t.retransmits,
                (unsigned long long)t.rto_expirations, (unsigned long long)f->got);
    }
}

static uint64_t lfn_goodput_at(const char *cc, uint64_t rate, uint32_t queue, uint64_t seed, bool hystart)
{
    struct cfg_arg ca = {cc, 16u << 20, !hystart};
    struct tu_opts o = {.seed = seed, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    o.imp_a.tx.delay = US_MS(LFN_RTT_MS / 2);
    o.imp_a.tx.rate_bps = rate;
    o.imp_a.tx.queue_bytes = queue;
    o.imp_b.tx.delay = US_MS(LFN_RTT_MS / 2);
    struct tu_net n;
    tu_net_init(&n, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    struct xfer f = flow_of(&n);
    tt_pair(&n, l, 80, &f.sfd, &f.dfd);
    lfn_run(&f, f.sfd);
    struct us_tcp_info ti = info_of(n.a.st, f.sfd);
    assert_string_equal(ti.cc, cc);
    assert_false(f.bad);
    uint64_t bps = f.got * 8 / LFN_SECS;
    print_message("%-8s %3llu Mbit/s link, queue %7u B: %6.2f Mbit/s, %llu retransmits, %llu RTOs, cwnd %u ssthresh %u\n",
                  cc, (unsigned long long)(rate / 1000000), queue, bps / 1e6, (unsigned long long)ti.retransmits,
                  (unsigned long long)ti.rto_expirations, ti.cwnd, ti.ssthresh);
    tu_net_free(&n);
    return bps;
}

static uint64_t lfn_goodput(const char *cc, uint32_t queue, uint64_t seed)
{
    return lfn_goodput_at(cc, LFN_RATE, queue, seed, true);
}

/* 100 Mbit/s, RTT 100 ms, one BDP of queue: slow start overshoots to a
 * flight of ~3,300 segments with ~1,000 holes. The sender's scoreboard and
 * RACK records grow with the window and PRR's bounds keep recovery from
 * refilling a dropping queue, so every hole is repaired without a timeout
 * (before: records capped at 1,024 → RTO → NewReno-style recovery on
 * SACK-less duplicate ACKs, one hole per RTT: CUBIC 3.0 Mbit/s). HyStart++
 * is off: it is the overshoot of plain slow start that this run repairs. */
static void cubic_keeps_up_with_newreno_at_100_mbit_with_a_bdp_queue(void **state)
{
    (void)state;
    uint64_t rate = 100000000ull;
    uint32_t bdp = (uint32_t)(rate / 8 * LFN_RTT_MS / 1000);
    uint64_t cubic = lfn_goodput_at("cubic", rate, bdp, 1, false);
    uint64_t reno = lfn_goodput_at("newreno", rate, bdp, 1, false);
    assert_true(cubic >= reno);
}

static void cubic_reaches_higher_goodput_than_newreno_on_a_long_fat_pipe(void **state)
{
    (void)state;
    uint32_t bdp = (uint32_t)(LFN_RATE / 8 * LFN_RTT_MS / 1000);
    uint64_t cubic = lfn_goodput("cubic", bdp / 4, 1);
    uint64_t reno = lfn_goodput("newreno", bdp / 4, 1);
    assert_true(cubic >= reno);
    assert_true(cubic >= LFN_RATE * 85 / 100);
}

/* ---- slow start held back by the receive window --------------------------------- */

/* A 64 KiB receive buffer on a clean 10 ms link: the flight stays at the
 * receive window, and slow start (CUBIC's and NewReno's, HyStart++ on: no
 * delay increase here) stops growing cwnd at twice that flight (RFC 7661,
 * Linux's tcp_is_cwnd_limited) — without the bound, cwnd grew by the bytes
 * acknowledged on every ACK, the whole flight per round trip, for as long as the
 * transfer lasted (6.5 MB after 2 s: all it sent). */
static void slow_start_stops_at_twice_a_receive_window_limited_flight(void **state)
{
    (void)state;
    const char *ccs[] = {"cubic", "newreno"};
    for (int i = 0; i < 2; i++) {
        struct cfg_arg ca = {ccs[i], 65536, false};
        struct tu_opts o = {.seed = 5, .cfg_hook = cfg_hook, .cfg_arg = &ca};
        o.imp_a.tx.delay = US_MS(5);
        o.imp_b.tx.delay = US_MS(5);
        struct tu_net n;
        tu_net_init(&n, &o);
        int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
        struct xfer f = flow_of(&n);
        tt_pair(&n, l, 80, &f.sfd, &f.dfd);
        flow_run(&f, US_SEC(2));
        struct us_tcp_info ti = info_of(n.a.st, f.sfd);
        print_message("%-8s cwnd %u ssthresh %u after %.1f MB (receive buffer 64 KiB)\n", ccs[i], ti.cwnd,
                      ti.ssthresh, f.got / 1e6);
        assert_false(f.bad);
        assert_true(f.got > 4000000);              /* most of 64 KiB per 10 ms round trip */
        assert_true(ti.cwnd < ti.ssthresh);        /* still in slow start: no loss, no HyStart++ exit */
        assert_true(ti.cwnd <= 2u * 65536u + 2u * ti.mss_send);
        tu_net_free(&n);
    }
}

/* ---- timeout ------------------------------------------------------------------ */

/* RFC 9438 4.8: on a retransmission timeout ssthresh = FlightSize * 0.7 and
 * cwnd = 1 SMSS; the flow recovers once the path returns. */
static void rto_sets_ssthresh_to_0_7_flight_and_cwnd_to_one_segment(void **state)
{
    (void)state;
    struct cfg_arg ca = {"cubic", 0, false};
    struct tu_opts o = {.seed = 5, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    o.imp_a.tx.delay = US_MS(10);
    o.imp_b.tx.delay = US_MS(10);
    struct tu_net n;
    tu_net_init(&n, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    struct xfer f = flow_of(&n);
    tt_pair(&n, l, 80, &f.sfd, &f.dfd);
    flow_run(&f, US_SEC(1));
    struct us_impair_config dead = o.imp_a;
    dead.tx.loss = 1.0;
    us_impair_set(n.a.imp, &dead);
    flow_run(&f, US_MS(40));                       /* the last ACKs come home */
    struct us_tcp_info before = info_of(n.a.st, f.sfd);
    assert_int_equal(before.rto_expirations, 0);
    assert_true(before.bytes_in_flight > 20 * before.mss_send);
    flow_run(&f, US_SEC(1));
    struct us_tcp_info ti = info_of(n.a.st, f.sfd);
    assert_true(ti.rto_expirations >= 1);
    uint32_t want = before.bytes_in_flight * 7 / 10;
    want -= want % ti.mss_send;
    assert_int_equal(ti.ssthresh, want);
    assert_int_equal(ti.cwnd, ti.mss_send);
    us_impair_set(n.a.imp, &o.imp_a);
    uint64_t got = f.got;
    flow_run(&f, US_SEC(5));
    ti = info_of(n.a.st, f.sfd);
    assert_true(f.got > got + 1000000);
    assert_true(ti.cwnd > ti.ssthresh);            /* back in congestion avoidance */
    assert_false(f.bad);
    tu_net_free(&n);
}

/* Every copy of two segments ten apart is dropped until `until`: the holes
 * outlive fast recovery and the RTO fires while the receiver holds (and has
 * SACKed) everything around them. */
struct hole { uint32_t x, y; us_time_t until; };

static bool drop_one_segment(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct hole *h = tr->arg;
    if (s->host != 0 || !s->len)
        return false;
    if (!h->x)
        h->x = s->seq;
    else if (!h->y && (int32_t)(s->seq - h->x) >= 10 * (int32_t)s->len)
        h->y = s->seq;
    return (s->seq == h->x || s->seq == h->y) && s->t < h->until;
}

/* After the RTO the flight above the holes is not sent again: only the two
 * lost segments are retransmitted (RFC 6675 5.1; SND.NXT skips SACKed data). */
static void rto_with_two_holes_retransmits_only_the_lost_segments(void **state)
{
    (void)state;
    struct cfg_arg ca = {"cubic", 0, false};
    struct tu_opts o = {.seed = 7, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    o.imp_a.tx.delay = US_MS(10);
    o.imp_b.tx.delay = US_MS(10);
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    struct xfer f = flow_of(&n);
    tt_pair(&n, l, 80, &f.sfd, &f.dfd);
    flow_run(&f, US_SEC(1));
    struct hole h = {.until = tt_now(&n) + US_MS(1500)};
    tr.rule = drop_one_segment;
    tr.arg = &h;
    struct us_tcp_info before = info_of(n.a.st, f.sfd);
    flow_run(&f, US_SEC(3));
    struct us_tcp_info ti = info_of(n.a.st, f.sfd);
    uint32_t copies = 0;
    for (size_t i = 0; i < tr.n; i++)
        copies += tr.v[i].host == 0 && tr.v[i].len && (tr.v[i].seq == h.x || tr.v[i].seq == h.y);
    print_message("flight %u B, %llu RTOs, %llu retransmits, %u copies of the lost segments\n", before.bytes_in_flight,
                  (unsigned long long)(ti.rto_expirations - before.rto_expirations),
                  (unsigned long long)(ti.retransmits - before.retransmits), copies);
    assert_true(before.bytes_in_flight > 20 * before.mss_send);
    assert_true(ti.rto_expirations > before.rto_expirations);
    /* only the lost segments went out again */
    assert_true(h.y != 0);
    assert_int_equal(ti.retransmits - before.retransmits, copies - 2);
    assert_true(f.got > 2000000);
    assert_false(f.bad);
    tt_free(&n, &tr);
}

/* ---- (3) choosing the algorithm ------------------------------------------- */

static void setsockopt_selects_cubic_and_unknown_names_are_enoent(void **state)
{
    (void)state;
    struct cfg_arg ca = {"newreno", 0, false};   /* a stack default other than the one chosen */
    struct tu_opts o = {.seed = 3, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    struct tu_net n;
    tu_net_init(&n, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    int a = us_socket(n.a.st, US_SOCK_STREAM);
    assert_true(a >= 0);
    char name[16] = "cubic";
    assert_int_equal(us_setsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_CONGESTION, name, 16, us_sim_now(n.sim)), 0);
    char got[16] = {0};
    size_t len = sizeof(got);
    assert_int_equal(us_getsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_CONGESTION, got, &len), 0);
    assert_string_equal(got, "cubic");
    char bad[16] = "bogus";
    assert_int_equal(us_setsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_CONGESTION, bad, 16, us_sim_now(n.sim)), -ENOENT);
    len = sizeof(got);
    assert_int_equal(us_getsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_CONGESTION, got, &len), 0);
    assert_string_equal(got, "cubic");                    /* a failed set changes nothing */

    struct us_sockaddr to = {TU_IP_B, 80};
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EINPROGRESS);
    int b = -EAGAIN;
    for (int i = 0; i < 10000 && b == -EAGAIN; i++) {
        us_sim_step(n.sim);
        b = us_accept(n.b.st, l, NULL, tt_now(&n));
    }
    assert_true(b >= 0);
    tt_run(&n, US_MS(10));
    struct us_tcp_info ta = info_of(n.a.st, a), tb = info_of(n.b.st, b);
    assert_int_equal(ta.state, US_TCP_ESTABLISHED);
    assert_string_equal(ta.cc, "cubic");
    assert_string_equal(tb.cc, "newreno");                /* the stack default is untouched */
    /* RFC 9438 4.10 / RFC 6928: CUBIC starts like Reno, IW and no ssthresh */
    uint32_t iw = 10 * ta.mss_send < 14600 ? 10 * ta.mss_send : (2 * ta.mss_send > 14600 ? 2 * ta.mss_send : 14600);
    assert_int_equal(ta.cwnd, iw);
    assert_int_equal(ta.ssthresh, 0x7fffffffu);
    tu_net_free(&n);
}

/* ---- (4) lossy links ---------------------------------------------------------- */

static void run_lossy(uint64_t seed, double loss, uint64_t total)
{
    struct cfg_arg ca = {"cubic", 0, false};
    struct tu_opts o = {.seed = seed, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    struct us_impair_dir d = {.delay = US_MS(10), .loss = loss, .rate_bps = 50000000};
    o.imp_a.tx = d;
    o.imp_b.tx = d;
    struct tu_net n;
    tu_net_init(&n, &o);
    struct xfer b = {.total = total, .seed = seed};
    int rc = tu_bulk_run(&n, &b, US_SEC(3600));
    struct us_tcp_info ti = info_of(n.a.st, b.sfd);
    if (rc != 0 || b.bad || b.got != total || !b.eof || b.err)
        fail_msg("seed %llu loss %.2f: rc %d received %llu of %llu ok %d eof %d err %d",
                 (unsigned long long)seed, loss, rc, (unsigned long long)b.got,
                 (unsigned long long)total, !b.bad, b.eof, b.err);
    assert_string_equal(ti.cc, "cubic");
    assert_true(ti.retransmits > 0);
    tu_net_free(&n);
}

static void cubic_bulk_with_1_percent_loss_delivers_every_byte(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++)
        run_lossy(seed, 0.01, 1000000);
}

static void cubic_bulk_with_5_percent_loss_delivers_every_byte(void **state)
{
    (void)state;
    for (uint64_t seed = 11; seed <= 15; seed++)
        run_lossy(seed, 0.05, 500000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cwnd_after_one_loss_drops_to_0_7_and_follows_the_cubic_curve),
        cmocka_unit_test(cubic_reaches_higher_goodput_than_newreno_on_a_long_fat_pipe),
        cmocka_unit_test(cubic_keeps_up_with_newreno_at_100_mbit_with_a_bdp_queue),
        cmocka_unit_test(slow_start_stops_at_twice_a_receive_window_limited_flight),
        cmocka_unit_test(rto_sets_ssthresh_to_0_7_flight_and_cwnd_to_one_segment),
        cmocka_unit_test(rto_with_two_holes_retransmits_only_the_lost_segments),
        cmocka_unit_test(setsockopt_selects_cubic_and_unknown_names_are_enoent),
        cmocka_unit_test(cubic_bulk_with_1_percent_loss_delivers_every_byte),
        cmocka_unit_test(cubic_bulk_with_5_percent_loss_delivers_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
