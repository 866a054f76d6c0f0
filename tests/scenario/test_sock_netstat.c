/* Netstat rows: TCP lists its control blocks without descriptors; the socket
 * layer joins each with the descriptor that names it, or -1 for one no
 * descriptor holds (closed by the application, or not yet accepted). */
#include "test_tcp_helpers.h"

struct rows { int n; struct us_conn_info v[16]; };

static void collect(void *arg, const struct us_conn_info *c)
{
    struct rows *r = arg;
    assert_true(r->n < 16);
    r->v[r->n++] = *c;
}

/* The fd of the row with this local and remote port (remote 0 = any). */
static int row_fd(struct us_stack *st, uint16_t lport, uint16_t rport, int *state)
{
    struct rows r = {0};
    us_tcp_foreach(st, collect, &r);
    for (int i = 0; i < r.n; i++)
        if (r.v[i].local.port == lport && (!rport || r.v[i].remote.port == rport)) {
            *state = r.v[i].info.state;
            return r.v[i].fd;
        }
    fail_msg("no row for port %u", lport);
    return -2;
}

static void rows_carry_the_descriptor_or_minus_one_when_none_holds_the_connection(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {0};
    tt_net(&n, &tr, &o);
    int lfd = tt_listen(n.b.st, 5001, 4, us_sim_now(n.sim)), a, b, st;
    tt_pair(&n, lfd, 5001, &a, &b);
    struct us_sockaddr al;
    assert_int_equal(us_getsockname(n.a.st, a, &al), 0);

    assert_int_equal(row_fd(n.b.st, 5001, 0, &st), lfd);
    assert_int_equal(st, US_TCP_LISTEN);
    assert_int_equal(row_fd(n.b.st, 5001, al.port, &st), b);
    assert_int_equal(st, US_TCP_ESTABLISHED);
    assert_int_equal(row_fd(n.a.st, al.port, 5001, &st), a);

    /* a second connection waits in B's accept queue: no descriptor yet */
    int a2 = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, 5001};
    assert_int_equal(us_connect(n.a.st, a2, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    struct us_sockaddr al2;
    assert_int_equal(us_getsockname(n.a.st, a2, &al2), 0);
    assert_int_equal(row_fd(n.b.st, 5001, al2.port, &st), -1);
    assert_int_equal(st, US_TCP_ESTABLISHED);

    /* A closes: its control block lives on (FIN_WAIT / TIME_WAIT) without one */
    assert_int_equal(us_close(n.a.st, a, tt_now(&n)), 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(row_fd(n.a.st, al.port, 5001, &st), -1);
    assert_true(st == US_TCP_FIN_WAIT_2 || st == US_TCP_TIME_WAIT);
    assert_int_equal(row_fd(n.b.st, 5001, al.port, &st), b);
    assert_int_equal(st, US_TCP_CLOSE_WAIT);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_carry_the_descriptor_or_minus_one_when_none_holds_the_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
