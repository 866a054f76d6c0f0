/* The transport interface's ustack backend between two simulated hosts
 * (198.18.0.1 client, 198.18.0.2 server), both transports on the one
 * simulator driver: the checks every backend passes (test_http_transport.h),
 * and what only virtual time can show exactly — that `now` reaches the stack
 * and a wait ends at its deadline to the nanosecond. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "testutil.h"
#include "unit/test_http_transport.h"

struct sim_pair {
    struct tu_net n;
    struct tp_pair p;
};

static void sim_pair(struct sim_pair *s, us_time_t one_way)
{
    struct tu_opts o = {.seed = 7};
    o.imp_a.tx.delay = o.imp_b.tx.delay = one_way;
    tu_net_init(&s->n, &o);
    char err[128];
    struct us_driver *d = us_sim_driver(s->n.sim);
    struct us_tp *srv = us_tp_ustack_new(s->n.b.st, d, err, sizeof(err));
    struct us_tp *cli = us_tp_ustack_new(s->n.a.st, d, err, sizeof(err));
    if (!srv || !cli)
        fail_msg("%s", err);
    assert_string_equal(us_tp_name(srv), "ustack");
    s->p = (struct tp_pair){srv, cli, TU_IP_B, US_SEC(30)};
}

static void sim_pair_free(struct sim_pair *s)
{
    us_tp_free(s->p.srv);
    us_tp_free(s->p.cli);
    tu_net_free(&s->n);
}

static void ustack_stream_carries_writev_and_200kB_and_half_closes(void **st)
{
    (void)st;
    struct sim_pair s;
    sim_pair(&s, US_MS(5));
    tp_check_stream(&s.p);
    sim_pair_free(&s);
}

static void ustack_connect_to_a_closed_port_is_refused(void **st)
{
    (void)st;
    struct sim_pair s;
    sim_pair(&s, US_MS(5));
    tp_check_refused(&s.p);
    sim_pair_free(&s);
}

static void ustack_readiness_follows_interest_and_serves_every_ready_descriptor(void **st)
{
    (void)st;
    struct sim_pair s;
    sim_pair(&s, US_MS(5));
    tp_check_watch(&s.p);
    sim_pair_free(&s);
}

static void ustack_wait_ends_exactly_at_its_deadline_in_virtual_time(void **st)
{
    (void)st;
    struct sim_pair s;
    sim_pair(&s, US_MS(5));
    us_time_t t0 = us_tp_now(s.p.srv);
    us_time_t until;
    tp_check_time(&s.p, &until);
    assert_int_equal(until, t0 + US_MS(30));
    sim_pair_free(&s);
}

/* The connect completes one round trip after it was made (SYN out, SYN-ACK
 * back over 2 × 20 ms), and the listener is readable when the ACK arrives,
 * 20 ms later: the transport adds no time of its own. (A first connection
 * resolves the addresses by ARP, which would add a round trip.) */
static void ustack_connect_is_writable_one_round_trip_later(void **st)
{
    (void)st;
    struct sim_pair s;
    sim_pair(&s, US_MS(20));
    struct tp_pair *p = &s.p;
    uint16_t port;
    int l = tp_listener(p, &port);
    struct us_tp_addr to = {TU_IP_B, port};
    int c = us_tp_connect(p->cli, &to, us_tp_now(p->cli));
    assert_int_equal(us_tp_watch(p->cli, c, US_TP_WRITE, NULL), 0);
    tp_wait_for(p, p->cli, c, US_TP_WRITE, NULL);
    us_tp_close(p->cli, c, us_tp_now(p->cli));
    us_sim_run_until(s.n.sim, US_SEC(1));
    int w = us_tp_accept(p->srv, l, NULL, us_tp_now(p->srv));
    assert_true(w >= 0);
    us_tp_close(p->srv, w, us_tp_now(p->srv));
    us_sim_run_until(s.n.sim, US_SEC(2));

    assert_int_equal(us_tp_watch(p->srv, l, US_TP_READ, NULL), 0);
    us_time_t t0 = us_tp_now(p->cli);
    assert_int_equal(t0, US_SEC(2));
    c = us_tp_connect(p->cli, &to, t0);
    assert_true(c >= 0);
    assert_int_equal(us_tp_error(p->cli, c), -EINPROGRESS);
    assert_int_equal(us_tp_watch(p->cli, c, US_TP_WRITE, NULL), 0);
    tp_wait_for(p, p->cli, c, US_TP_WRITE, NULL);
    assert_int_equal(us_tp_now(p->cli), t0 + US_MS(40));
    assert_int_equal(us_tp_error(p->cli, c), 0);
    tp_wait_for(p, p->srv, l, US_TP_READ, NULL);
    assert_int_equal(us_tp_now(p->srv), t0 + US_MS(60));
    sim_pair_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ustack_stream_carries_writev_and_200kB_and_half_closes),
        cmocka_unit_test(ustack_connect_to_a_closed_port_is_refused),
        cmocka_unit_test(ustack_readiness_follows_interest_and_serves_every_ready_descriptor),
        cmocka_unit_test(ustack_wait_ends_exactly_at_its_deadline_in_virtual_time),
        cmocka_unit_test(ustack_connect_is_writable_one_round_trip_later),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
