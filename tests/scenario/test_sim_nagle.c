/* `ustack sim nagle` (tools/scen_nagle.c): Nagle x delayed ACK in virtual
 * time, asserted to the nanosecond, and the trace analyzer naming it on A's
 * side of the wire — only when it happened. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "scen.h"

static void run(int mode, us_time_t rtt, us_time_t delack, int requests, struct scen_nagle_result *r)
{
    struct scen_nagle_opts o = {.mode = mode, .one_way = rtt / 2, .delack = delack, .body_len = 100,
                                .requests = requests};
    char err[256] = "";
    if (scen_nagle_run(&o, r, err, sizeof(err)) < 0)
        fail_msg("scenario failed: %s", err);
    assert_int_equal(r->done, requests);
}

static void nagle_holds_the_body_for_the_delayed_ack_of_the_head(void **st)
{
    (void)st;
    struct scen_nagle_result r;
    us_time_t rtt = US_MS(20), delack = US_MS(40);
    run(NAGLE_ON, rtt, delack, 3, &r);
    for (int i = 0; i < 3; i++) {
        const struct scen_nagle_req *q = &r.req[i];
        assert_int_equal(q->t_head - q->t_write, rtt / 2);          /* the head goes at once */
        assert_int_equal(q->t_body - q->t_head, rtt + delack);      /* the body waits for the delayed ACK */
        assert_int_equal(q->t_done - q->t_write, 2 * rtt + delack); /* two round trips plus the ACK delay */
        if (i)
            assert_int_equal(q->t_write, r.req[i - 1].t_done);      /* every request pays it again */
    }
    assert_true(r.found);
    assert_non_null(strstr(r.finding, "held 40.0 ms beyond a round trip"));
    assert_non_null(strstr(r.finding, "3 times, 120.0 ms lost"));
}

static void the_stall_is_the_receivers_delayed_ack_time(void **st)
{
    (void)st;
    struct scen_nagle_result r;
    run(NAGLE_ON, US_MS(50), US_MS(200), 1, &r);
    assert_int_equal(r.req[0].t_body - r.req[0].t_head, US_MS(50) + US_MS(200));
    assert_non_null(strstr(r.finding, "held 200.0 ms"));
}

static void nodelay_and_one_write_answer_in_one_round_trip(void **st)
{
    (void)st;
    us_time_t rtt = US_MS(20);
    for (int mode = NAGLE_NODELAY; mode <= NAGLE_ONE_WRITE; mode++) {
        struct scen_nagle_result r;
        run(mode, rtt, US_MS(40), 3, &r);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(r.req[i].t_body, r.req[i].t_head);        /* head and body arrive together */
            assert_int_equal(r.req[i].t_done - r.req[i].t_write, rtt);
        }
        assert_false(r.found);   /* the analyzer does not see a stall that did not happen */
    }
}

static void options_out_of_range_are_refused(void **st)
{
    (void)st;
    struct scen_nagle_opts o = {.mode = NAGLE_ON, .one_way = US_MS(1), .delack = US_MS(40), .body_len = 100,
                                .requests = NAGLE_MAX_REQUESTS + 1};
    struct scen_nagle_result r;
    char err[128];
    assert_int_equal(scen_nagle_run(&o, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "out of range"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nagle_holds_the_body_for_the_delayed_ack_of_the_head),
        cmocka_unit_test(the_stall_is_the_receivers_delayed_ack_time),
        cmocka_unit_test(nodelay_and_one_write_answer_in_one_round_trip),
        cmocka_unit_test(options_out_of_range_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
