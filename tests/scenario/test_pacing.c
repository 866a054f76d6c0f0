/* Pacing (tcp_out.c) for an algorithm with a pacing rate (BBR): segments
 * leave in bursts of one quantum (here 2 segments) spaced by the bursts'
 * wire bytes at the pacing rate, the wait is the stack's next deadline, and
 * an unpaced algorithm (CUBIC by default) sends the same initial window at
 * one instant; with us_config.tcp_pacing CUBIC is paced too. */
#include "test_tcp_helpers.h"

struct cfg_arg { const char *cc; bool pacing; };

static void cfg_hook(struct us_config *cfg, int host, void *arg)
{
    (void)host;
    const struct cfg_arg *c = arg;
    snprintf(cfg->tcp_cc, sizeof(cfg->tcp_cc), "%s", c->cc);
    cfg->tcp_pacing = c->pacing;
}

static struct us_tcp_info info_of(struct us_stack *st, int fd)
{
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(st, fd, &ti), 0);
    return ti;
}

/* The first 10 data segments A sends after one 100 kB write at time *t_write. */
static void first_flight(const char *cc, bool pacing, us_time_t when[10], struct us_tcp_info *before,
                         us_time_t *t_write, us_time_t *deadline)
{
    struct cfg_arg ca = {cc, pacing};
    struct tu_opts o = {.seed = 4, .cfg_hook = cfg_hook, .cfg_arg = &ca};
    o.imp_a.tx.delay = US_MS(10);
    o.imp_b.tx.delay = US_MS(10);
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    tt_run(&n, US_MS(50));
    *before = info_of(n.a.st, a);
    tt_clear(&tr);
    static uint8_t buf[100000];
    *t_write = tt_now(&n);
    assert_int_equal(us_send(n.a.st, a, buf, sizeof(buf), 0, *t_write), (ssize_t)sizeof(buf));
    *deadline = us_stack_next_deadline(n.a.st, *t_write);
    tt_run(&n, US_MS(15));                                  /* less than an RTT: no ACK yet */
    int k = 0;
    for (size_t i = 0; i < tr.n && k < 10; i++)
        if (tr.v[i].host == 0 && tr.v[i].len)
            when[k++] = tr.v[i].t;
    assert_int_equal(k, 10);
    for (size_t i = 0; i < tr.n; i++)
        assert_false(tr.v[i].host == 0 && tr.v[i].len && tr.v[i].t > when[9]);   /* IW: 10 segments */
    tt_free(&n, &tr);
}

/* A burst of 2 segments, then one every 2 * (payload + 40 header bytes) at
 * the pacing rate; the wait for the second burst is the stack's next deadline. */
static void assert_paced_pairs(const struct us_tcp_info *ti, const us_time_t when[10], us_time_t t_write,
                               us_time_t deadline)
{
    us_time_t seg = (us_time_t)((uint64_t)(ti->mss_send + 40) * 1000000000ull / ti->pacing_rate);
    print_message("pacing rate %llu B/s (srtt %.3f ms): segments at", (unsigned long long)ti->pacing_rate,
                  ti->srtt / 1e6);
    for (int k = 0; k < 10; k++) {
        print_message(" +%.3f", (when[k] - t_write) / 1e6);
        assert_int_equal(when[k], t_write + (us_time_t)(k / 2) * 2 * seg);
    }
    print_message(" ms\n");
    assert_int_equal(deadline, t_write + 2 * seg);
}

static void bbr_paces_the_initial_window_in_bursts_of_two_at_the_pacing_rate(void **state)
{
    (void)state;
    us_time_t when[10], t_write, deadline;
    struct us_tcp_info ti;
    first_flight("bbr", false, when, &ti, &t_write, &deadline);
    assert_string_equal(ti.cc, "bbr");
    assert_string_equal(ti.cc_state, "startup");
    /* BBRInitPacingRate: 2.77 * IW / handshake RTT */
    uint64_t want_rate = (uint64_t)ti.cwnd * 1000000u / (uint32_t)(ti.srtt / 1000) * 2770 / 1000;
    assert_true(ti.pacing_rate == want_rate);
    assert_paced_pairs(&ti, when, t_write, deadline);
}

/* us_config.tcp_pacing: CUBIC paced at 2 * cwnd / SRTT in slow start. */
static void cubic_with_tcp_pacing_paces_slow_start_at_twice_cwnd_per_rtt(void **state)
{
    (void)state;
    us_time_t when[10], t_write, deadline;
    struct us_tcp_info ti;
    first_flight("cubic", true, when, &ti, &t_write, &deadline);
    assert_string_equal(ti.cc, "cubic");
    assert_true(ti.pacing_rate == (uint64_t)ti.cwnd * 1000000u / (uint32_t)(ti.srtt / 1000) * 2);
    assert_paced_pairs(&ti, when, t_write, deadline);
}

static void cubic_sends_the_initial_window_at_once(void **state)
{
    (void)state;
    us_time_t when[10], t_write, deadline;
    struct us_tcp_info ti;
    first_flight("cubic", false, when, &ti, &t_write, &deadline);
    (void)deadline;
    assert_int_equal(ti.pacing_rate, 0);
    for (int k = 0; k < 10; k++)
        assert_int_equal(when[k], t_write);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bbr_paces_the_initial_window_in_bursts_of_two_at_the_pacing_rate),
        cmocka_unit_test(cubic_sends_the_initial_window_at_once),
        cmocka_unit_test(cubic_with_tcp_pacing_paces_slow_start_at_twice_cwnd_per_rtt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
