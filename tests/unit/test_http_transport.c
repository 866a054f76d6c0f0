/* The transport interface's kernel backend: non-blocking sockets and epoll
 * over loopback (127.0.0.1, ephemeral ports), the checks every backend
 * passes (test_http_transport.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <cmocka.h>
#include "test_http_transport.h"

#define LOOPBACK 0x7f000001u

static struct tp_pair kernel_pair(void)
{
    char err[128];
    struct us_tp *t = us_tp_kernel_new(err, sizeof(err));
    if (!t)
        fail_msg("%s", err);
    assert_string_equal(us_tp_name(t), "kernel");
    return (struct tp_pair){t, t, LOOPBACK, US_SEC(10)};
}

static void kernel_stream_carries_writev_and_200kB_and_half_closes(void **s)
{
    (void)s;
    struct tp_pair p = kernel_pair();
    tp_check_stream(&p);
    us_tp_free(p.srv);
}

static void kernel_connect_to_a_closed_port_is_refused(void **s)
{
    (void)s;
    struct tp_pair p = kernel_pair();
    tp_check_refused(&p);
    us_tp_free(p.srv);
}

static void kernel_readiness_follows_interest_and_serves_every_ready_descriptor(void **s)
{
    (void)s;
    struct tp_pair p = kernel_pair();
    tp_check_watch(&p);
    us_tp_free(p.srv);
}

static void kernel_wait_lasts_until_its_deadline_and_run_stops_when_asked(void **s)
{
    (void)s;
    struct tp_pair p = kernel_pair();
    us_time_t until;
    tp_check_time(&p, &until);
    /* tp_check_time waits again after an early return (a ustack wait is one
     * driver step); a kernel wait with nothing ready ends at its deadline */
    us_time_t d = us_tp_now(p.srv) + US_MS(20);
    assert_int_equal(us_tp_wait(p.srv, d), 0);
    assert_true(us_tp_now(p.srv) >= d);
    /* with nothing watched and no deadline, nothing could end a wait */
    struct us_tp_event ev;
    assert_int_equal(us_tp_poll(p.srv, &ev, 1, us_tp_now(p.srv)), 0);
    assert_int_equal(us_tp_wait(p.srv, US_TIME_NEVER), -EDEADLK);
    us_tp_free(p.srv);
}

/* Descriptors left open are closed by us_tp_free (no fd leak): the listener's
 * port can be bound again without SO_REUSEADDR games on a live socket. */
static void kernel_free_closes_what_is_left_open(void **s)
{
    (void)s;
    struct tp_pair p = kernel_pair();
    uint16_t port;
    int l = tp_listener(&p, &port);
    struct us_tp_addr to = {LOOPBACK, port};
    assert_true(us_tp_connect(p.cli, &to, us_tp_now(p.cli)) >= 0);
    us_tp_free(p.srv);
    assert_int_equal(fcntl(l, F_GETFD), -1);
    p = kernel_pair();
    struct us_tp_addr again = {LOOPBACK, port};
    int l2 = us_tp_listen(p.srv, &again, 4, us_tp_now(p.srv));
    assert_true(l2 >= 0);
    us_tp_free(p.srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernel_stream_carries_writev_and_200kB_and_half_closes),
        cmocka_unit_test(kernel_connect_to_a_closed_port_is_refused),
        cmocka_unit_test(kernel_readiness_follows_interest_and_serves_every_ready_descriptor),
        cmocka_unit_test(kernel_wait_lasts_until_its_deadline_and_run_stops_when_asked),
        cmocka_unit_test(kernel_free_closes_what_is_left_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
