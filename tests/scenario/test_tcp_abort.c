/* us_tcp_abort_all: what a program that stops does for its connections (as
 * the kernel does for the sockets of an exiting process). Every synchronized
 * connection, orphaned ones included, sends one RST the peer accepts;
 * TIME_WAIT ends silently; nothing is left but what descriptors hold, and
 * those read ECONNABORTED. */
#include "test_tcp_helpers.h"

static int rsts_from(const struct trace *tr, int host, size_t from)
{
    int k = 0;
    for (size_t i = from; i < tr->n; i++)
        if (tr->v[i].host == host && (tr->v[i].flags & F_RST)) {
            assert_true(tr->v[i].flags & F_ACK);
            assert_int_equal(tr->v[i].len, 0);
            k++;
        }
    return k;
}

static void abort_all_resets_synchronized_connections_orphans_included_and_frees_them(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 3};
    tt_net(&n, &tr, &o);
    int l = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
    int a1, b1, a2, b2, a3, b3;
    tt_pair(&n, l, 80, &a1, &b1);   /* stays ESTABLISHED */
    tt_pair(&n, l, 80, &a2, &b2);   /* A closes: an orphan in FIN_WAIT_2 */
    tt_pair(&n, l, 80, &a3, &b3);   /* both close, A first: TIME_WAIT */
    static const char msg[] = "data B has not read";
    assert_int_equal(us_send(n.a.st, a1, msg, sizeof(msg), 0, tt_now(&n)), (ssize_t)sizeof(msg));
    assert_int_equal(us_close(n.a.st, a2, tt_now(&n)), 0);
    assert_int_equal(us_close(n.a.st, a3, tt_now(&n)), 0);
    tt_run(&n, US_MS(100));
    assert_int_equal(us_close(n.b.st, b3, tt_now(&n)), 0);
    tt_run(&n, US_MS(100));
    assert_int_equal(tt_state(n.b.st, b2), US_TCP_CLOSE_WAIT);
    assert_int_equal(tt_conns(n.a.st), 3);   /* a1, the FIN_WAIT_2 orphan, TIME_WAIT */

    size_t mark = tr.n;
    assert_int_equal(us_tcp_abort_all(n.a.st, tt_now(&n)), 2);
    assert_int_equal(tu_counter(n.a.st, "tcp.rst_on_exit"), 2);
    /* handed to the device at once: on the wire before time moves on */
    assert_int_equal(rsts_from(&tr, 0, mark), 2);
    assert_int_equal(tt_conns(n.a.st), 1);   /* a1's control block, held by its descriptor */
    assert_int_equal(tt_state(n.a.st, a1), US_TCP_CLOSED);
    char buf[64];
    assert_int_equal(us_recv(n.a.st, a1, buf, sizeof(buf), 0, tt_now(&n)), -ECONNABORTED);

    /* B accepted both RSTs (exact sequence numbers: no challenge ACK) */
    tt_run(&n, US_MS(100));
    assert_int_equal(tt_state(n.b.st, b1), US_TCP_CLOSED);
    assert_int_equal(tt_state(n.b.st, b2), US_TCP_CLOSED);
    ssize_t r = 0;
    for (int i = 0; i < 4 && (r = us_recv(n.b.st, b1, buf, sizeof(buf), 0, tt_now(&n))) > 0; i++)
        ;   /* what arrived before the RST may still be read */
    assert_int_equal(r, -ECONNRESET);
    assert_int_equal(tu_counter(n.b.st, "tcp.challenge_ack_sent"), 0);
    assert_int_equal(tu_counter(n.b.st, "tcp.rst_received"), 2);
    assert_int_equal(rsts_from(&tr, 1, mark), 0);

    /* nothing left to abort */
    assert_int_equal(us_tcp_abort_all(n.a.st, tt_now(&n)), 0);
    assert_int_equal(tu_counter(n.a.st, "tcp.rst_on_exit"), 2);
    us_close(n.a.st, a1, tt_now(&n));
    us_close(n.b.st, b1, tt_now(&n));
    us_close(n.b.st, b2, tt_now(&n));
    us_close(n.b.st, l, tt_now(&n));
    tt_free(&n, &tr);
}

/* A listener stays (its descriptor owns it) and keeps accepting; a half-open
 * SYN_SENT ends without a RST. */
static void abort_all_keeps_listeners_and_ends_syn_sent_silently(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 4};
    tt_net(&n, &tr, &o);
    int l = tt_listen(n.a.st, 80, 8, us_sim_now(n.sim));
    int x = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr nowhere = {0xC6120063u, 80};   /* 198.18.0.99: no such host, SYN_SENT stays */
    assert_int_equal(us_connect(n.a.st, x, &nowhere, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    size_t mark = tr.n;
    assert_int_equal(us_tcp_abort_all(n.a.st, tt_now(&n)), 0);
    tt_run(&n, US_MS(10));                            /* nor a RST later */
    assert_int_equal(rsts_from(&tr, 0, mark), 0);
    assert_int_equal(tt_state(n.a.st, x), US_TCP_CLOSED);
    assert_int_equal(tt_state(n.a.st, l), US_TCP_LISTEN);
    /* the listener still works */
    int b = us_socket(n.b.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_A, 80};
    assert_int_equal(us_connect(n.b.st, b, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(100));
    int c = us_accept(n.a.st, l, NULL, tt_now(&n));
    assert_true(c >= 0);
    assert_int_equal(tt_state(n.a.st, c), US_TCP_ESTABLISHED);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(abort_all_resets_synchronized_connections_orphans_included_and_frees_them),
        cmocka_unit_test(abort_all_keeps_listeners_and_ends_syn_sent_silently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
