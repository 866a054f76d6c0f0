/* HyStart++ (RFC 9406) in the simulator, and CUBIC as the stack default.
 *
 * A bulk flow A -> B over a bottleneck with a bounded queue: with HyStart++
 * the initial slow start sees the queueing delay grow, leaves for
 * Conservative Slow Start and then congestion avoidance (ssthresh = cwnd)
 * before the queue overflows; plain slow start doubles into the full queue
 * and loses a burst. A delay spike of one round makes HyStart++ leave slow
 * start and come back to it when the RTT falls again; a lasting delay step
 * ends slow start CSS_ROUNDS rounds later. */
#include "test_tcp_helpers.h"

#define INF_SSTHRESH 0x7fffffffu

struct cfg_arg { const char *cc; bool hystart, no_timestamps; };

static void cfg_hook(struct us_config *cfg, int host, void *arg)
{
    (void)host;
    const struct cfg_arg *c = arg;
    snprintf(cfg->tcp_cc, sizeof(cfg->tcp_cc), "%s", c->cc);
    cfg->tcp_hystart = c->hystart;
    cfg->tcp_timestamps = !c->no_timestamps;   /* both hosts */
    cfg->tcp_sndbuf = 8u << 20;
    cfg->tcp_rcvbuf = 8u << 20;
}

static struct us_tcp_info info_of(struct us_stack *st, int fd)
{
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(st, fd, &ti), 0);
    return ti;
}

/* The sender's state just before each frame it receives (so just after the
 * previous ACK was processed), up to the first sample with a finite
 * ssthresh; and the bottleneck's queue drops at that moment. */
struct watch {
    struct tu_net *n;
    int afd;
    bool exited;
    us_time_t t_exit;
    struct us_tcp_info at_exit;
    uint64_t drops_at_exit;
    us_time_t t_first_drop;
    uint32_t ssthresh_at_first_drop, cwnd_at_first_drop;
    uint32_t max_cwnd_ss;            /* largest cwnd seen with ssthresh still infinite */
};

static bool watch_filter(void *arg, int dir, const uint8_t *frame, uint32_t len, us_time_t now)
{
    (void)frame;
    (void)len;
    struct watch *w = arg;
    if (dir != 1 || w->afd < 0 || w->exited)
        return false;
    struct us_tcp_info ti = info_of(w->n->a.st, w->afd);
    if (ti.state != US_TCP_ESTABLISHED)
        return false;
    uint64_t drops = w->n->a.imp->stats.impair_queue_drop;
    if (drops && !w->t_first_drop) {
        w->t_first_drop = now;
        w->ssthresh_at_first_drop = ti.ssthresh;
        w->cwnd_at_first_drop = ti.cwnd;
    }
    if (ti.ssthresh != INF_SSTHRESH) {
        w->exited = true;
        w->t_exit = now;
        w->at_exit = ti;
        w->drops_at_exit = drops;
    } else if (ti.cwnd > w->max_cwnd_ss) {
        w->max_cwnd_ss = ti.cwnd;
    }
    return false;
}

static void flow_for(struct xfer *f, us_time_t dt)
{
    us_time_t end = us_sim_now(f->sim) + dt;
    assert_int_equal(xfer_run(f, end), -ETIMEDOUT);
    if (us_sim_now(f->sim) < end)
        us_sim_run_until(f->sim, end);
}

/* 20 Mbit/s, RTT 40 ms (BDP 100 kB, 68 segments), a deep queue of 6 BDP
 * (250 ms): room for the five rounds of CSS, each 1.25 times the last. With
 * a queue of one BDP the delay shows in the round after cwnd reached one BDP,
 * but slow start fills that queue within the same round, before the eight
 * RTT samples RFC 9406 asks for have come in. */
#define RATE 20000000ull
#define OWD US_MS(20)
#define BDP 100000u
#define QUEUE (6 * BDP)

struct run {
    struct tu_net n;
    struct xfer f;
    struct watch w;
    struct us_tcp_info end;
    uint64_t drops;
};

static void bottleneck_run(struct run *r, const char *cc, bool hystart, bool no_ts, us_time_t dt)
{
    struct cfg_arg ca = {cc, hystart, no_ts};
    struct tu_opts o = {.seed = 1, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    o.imp_a.tx.delay = OWD;
    o.imp_a.tx.rate_bps = RATE;
    o.imp_a.tx.queue_bytes = QUEUE;
    o.imp_b.tx.delay = OWD;
    tu_net_init(&r->n, &o);
    r->w = (struct watch){.n = &r->n, .afd = -1};
    us_impair_set_filter(r->n.a.imp, watch_filter, &r->w);
    int l = tt_listen(r->n.b.st, 80, 4, us_sim_now(r->n.sim));
    r->f = (struct xfer){.sim = r->n.sim, .ss = r->n.a.st, .ds = r->n.b.st, .total = XFER_ENDLESS, .seed = 3};
    tt_pair(&r->n, l, 80, &r->f.sfd, &r->f.dfd);
    r->w.afd = r->f.sfd;
    flow_for(&r->f, dt);
    r->end = info_of(r->n.a.st, r->f.sfd);
    r->drops = r->n.a.imp->stats.impair_queue_drop;
    assert_false(r->f.bad);
    assert_string_equal(r->end.cc, cc);
    print_message("%-7s hystart %d: slow start ends at %.1f ms, cwnd %u ssthresh %u (srtt %.1f ms), "
                  "queue drops then %llu; first drop at %.1f ms (ssthresh %u); after %.1f s %llu drops, "
                  "%llu retransmits, %.2f Mbit/s\n",
                  cc, hystart, r->w.t_exit / 1e6, r->w.at_exit.cwnd, r->w.at_exit.ssthresh,
                  r->w.at_exit.srtt / 1e6, (unsigned long long)r->w.drops_at_exit, r->w.t_first_drop / 1e6,
                  r->w.ssthresh_at_first_drop, dt / 1e9, (unsigned long long)r->drops,
                  (unsigned long long)r->end.retransmits, r->f.got * 8 / (dt / 1e9) / 1e6);
}

/* With HyStart++ slow start ends on the delay increase: ssthresh = cwnd
 * (RFC 9406 4.3, after CSS) with nothing dropped or retransmitted, the window
 * between one BDP and BDP + queue, the RTT up by at least MIN_RTT_THRESH;
 * without it the first drop happens in slow start and a burst follows. */
static void slow_start_exit(const char *cc, bool no_ts)
{
    struct run h, p;
    bottleneck_run(&h, cc, true, no_ts, US_SEC(3));
    assert_true(h.w.exited);
    assert_int_equal(h.w.drops_at_exit, 0);
    assert_int_equal(h.w.at_exit.retransmits, 0);
    assert_int_equal(h.w.at_exit.ssthresh, h.w.at_exit.cwnd);
    assert_true(h.w.at_exit.cwnd >= BDP && h.w.at_exit.cwnd <= BDP + QUEUE);
    assert_true(h.w.at_exit.srtt >= US_MS(40) + US_MS(4));
    assert_true(h.w.max_cwnd_ss <= BDP + QUEUE);
    assert_int_equal(h.drops, 0);                                /* none in the whole run */

    bottleneck_run(&p, cc, false, no_ts, US_SEC(3));
    assert_true(p.w.t_first_drop > 0);
    assert_int_equal(p.w.ssthresh_at_first_drop, INF_SSTHRESH);   /* the loss ends slow start */
    assert_true(p.drops >= 20);                                  /* a burst of drops */
    assert_true(h.drops * 4 < p.drops);
    assert_true(h.end.retransmits * 4 < p.end.retransmits);
    tu_net_free(&h.n);
    tu_net_free(&p.n);
}

static void cubic_hystart_leaves_slow_start_on_delay_increase_before_loss(void **state)
{
    (void)state;
    slow_start_exit("cubic", false);
}

static void newreno_hystart_leaves_slow_start_on_delay_increase_before_loss(void **state)
{
    (void)state;
    slow_start_exit("newreno", false);
}

/* Without timestamps HyStart++ has its samples from the send times of what
 * each ACK delivers (µs, Karn); with only the one timed segment per round
 * trip it never had the 8 a round RFC 9406 needs, and slow start ran into
 * the queue's drops. */
static void cubic_hystart_without_timestamps_leaves_slow_start_on_delay_increase(void **state)
{
    (void)state;
    slow_start_exit("cubic", true);
}

/* ---- CSS: a false exit is undone, a real one ends in congestion avoidance ---- */

/* No bottleneck; RTT 40 ms. At `t_spike` the ACK path's delay grows by
 * 10 ms (> RttThresh = max(4, 40/8) ms); if `restore`, it falls back 100 ms
 * later (two rounds). */
static void spike_run(bool restore, us_time_t *t_exit, uint32_t *cwnd_at_restore, uint32_t *cwnd_end,
                      uint32_t *ssthresh_end)
{
    struct cfg_arg ca = {"cubic", true, false};
    struct tu_opts o = {.seed = 2, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    o.imp_a.tx.delay = OWD;
    o.imp_b.tx.delay = OWD;
    struct tu_net n;
    tu_net_init(&n, &o);
    struct watch w = {.n = &n, .afd = -1};
    us_impair_set_filter(n.a.imp, watch_filter, &w);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    struct xfer f = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .total = XFER_ENDLESS, .seed = 3};
    tt_pair(&n, l, 80, &f.sfd, &f.dfd);
    w.afd = f.sfd;
    flow_for(&f, US_MS(130));                    /* three rounds of slow start */
    struct us_impair_config slow = o.imp_b;
    slow.tx.delay = OWD + US_MS(10);
    us_impair_set(n.b.imp, &slow);
    flow_for(&f, US_MS(100));
    *cwnd_at_restore = info_of(n.a.st, f.sfd).cwnd;
    if (restore)
        us_impair_set(n.b.imp, &o.imp_b);
    flow_for(&f, US_MS(350));                    /* seven more rounds */
    struct us_tcp_info ti = info_of(n.a.st, f.sfd);
    *t_exit = w.exited ? w.t_exit : 0;
    *cwnd_end = ti.cwnd;
    *ssthresh_end = ti.ssthresh;
    print_message("spike%s: cwnd %u at the restore, exit at %.1f ms, cwnd %u ssthresh %u at %.1f ms\n",
                  restore ? " then restore" : " that stays", *cwnd_at_restore, *t_exit / 1e6, ti.cwnd,
                  ti.ssthresh, tt_now(&n) / 1e6);
    assert_int_equal(ti.retransmits, 0);
    assert_false(f.bad);
    tu_net_free(&n);
}

static void css_returns_to_slow_start_when_the_rtt_falls_and_ends_after_css_rounds(void **state)
{
    (void)state;
    us_time_t t_exit;
    uint32_t at_restore, cwnd, ssth;
    /* the RTT falls back: slow start resumes and doubles on (no exit) */
    spike_run(true, &t_exit, &at_restore, &cwnd, &ssth);
    assert_int_equal(t_exit, 0);
    assert_int_equal(ssth, INF_SSTHRESH);
    assert_true(cwnd >= 16 * at_restore);
    /* the delay stays: CSS, then congestion avoidance CSS_ROUNDS (5) rounds
     * of ~50 ms after the increase was seen, the window growing by a quarter
     * of slow start's pace meanwhile */
    spike_run(false, &t_exit, &at_restore, &cwnd, &ssth);
    assert_true(t_exit >= US_MS(130) + 5 * US_MS(50) && t_exit <= US_MS(130) + 8 * US_MS(50));
    assert_true(ssth < 3 * at_restore && ssth > at_restore * 3 / 2);
}

/* ---- the default ------------------------------------------------------------ */

static void cubic_is_the_default_and_newreno_selectable(void **state)
{
    (void)state;
    struct us_config cfg;
    us_config_default(&cfg);
    assert_string_equal(cfg.tcp_cc, "cubic");
    assert_true(cfg.tcp_hystart);
    struct tu_opts o = {.seed = 3};
    struct tu_net n;
    tu_net_init(&n, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    assert_string_equal(info_of(n.a.st, a).cc, "cubic");
    assert_string_equal(info_of(n.b.st, b).cc, "cubic");
    char name[16] = "newreno";
    assert_int_equal(us_setsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_CONGESTION, name, 16, tt_now(&n)), 0);
    assert_string_equal(info_of(n.a.st, a).cc, "newreno");
    tu_net_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cubic_is_the_default_and_newreno_selectable),
        cmocka_unit_test(cubic_hystart_leaves_slow_start_on_delay_increase_before_loss),
        cmocka_unit_test(newreno_hystart_leaves_slow_start_on_delay_increase_before_loss),
        cmocka_unit_test(cubic_hystart_without_timestamps_leaves_slow_start_on_delay_increase),
        cmocka_unit_test(css_returns_to_slow_start_when_the_rtt_falls_and_ends_after_css_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
