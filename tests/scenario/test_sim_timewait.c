/* `ustack sim timewait` (tools/scen_timewait.c): a connection per request at a
 * fixed rate. The closer keeps TIME_WAIT for exactly 2*MSL; a client that
 * closes first runs out of ephemeral ports at ports/rate, and gets them back
 * as its TIME_WAITs expire; a server that closes first costs the client
 * nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "scen.h"

static void run(int closer, struct scen_tw_result *r)
{
    struct scen_tw_opts o = {.rate = 100, .duration = US_SEC(5), .ports = 200, .msl = US_SEC(1),
                             .one_way = US_MS(5), .closer = closer, .sample = US_MS(100)};
    char err[256] = "";
    if (scen_tw_run(&o, r, err, sizeof(err)) < 0)
        fail_msg("scenario failed: %s", err);
    assert_int_equal(r->attempts, 500);
}

static void a_client_that_closes_first_runs_out_of_ports_at_ports_over_rate(void **st)
{
    (void)st;
    struct scen_tw_result r;
    run(TW_CLIENT_CLOSES, &r);
    us_time_t t0 = r.samples[0].t;
    /* attempt 201 (at 200 x 10 ms) finds all 200 ports in TIME_WAIT */
    assert_int_equal(r.t_first_fail - t0, US_SEC(2));
    assert_in_range(r.tw_max_a, 195, 200);   /* the newest are still closing when the oldest expire */
    assert_int_equal(r.tw_max_b, 0);
    /* each TIME_WAIT ends 2*MSL after it began, and its port serves again */
    assert_true(r.opened > 200);
    assert_true(r.failed > 0);
    assert_int_equal(r.opened + r.failed, r.attempts);
    /* no TIME_WAIT has ended before 2*MSL: until 2 s after the first close
     * the count only grows */
    uint32_t prev = 0;
    for (size_t i = 0; i < r.nsamples && r.samples[i].t - t0 <= US_SEC(2); i++) {
        assert_true(r.samples[i].tw_a >= prev);
        prev = r.samples[i].tw_a;
    }
    /* about ports / (2*MSL) = 100 per second on average after exhaustion,
     * i.e. connections open in bursts as the TIME_WAITs of 2 s before expire */
    assert_in_range(r.opened, 400, 500);
    scen_tw_free(&r);
}

static void a_server_that_closes_first_keeps_the_time_waits(void **st)
{
    (void)st;
    struct scen_tw_result r;
    run(TW_SERVER_CLOSES, &r);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.t_first_fail, 0);
    assert_int_equal(r.tw_max_a, 0);
    assert_true(r.tw_max_b >= 150);
    /* A reuses its 200 ports every 2 s: B reopens tuples it holds in TIME_WAIT */
    assert_true(r.tw_reused_b >= 200);
    assert_true(r.completed >= 495);
    scen_tw_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_client_that_closes_first_runs_out_of_ports_at_ports_over_rate),
        cmocka_unit_test(a_server_that_closes_first_keeps_the_time_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
