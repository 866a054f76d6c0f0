/* TCP connection life in virtual time: handshake, data, every close order,
 * simultaneous open and close, TIME_WAIT, RST to a closed port. */
#include "test_tcp_helpers.h"

static void handshake_negotiates_options_and_data_arrives_intact(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 1};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(&n, &tr, &o);
    int l = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
    us_time_t t0 = tt_now(&n);
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    /* SYN at t0, SYN-ACK 10 ms later, ACK 10 ms after that */
    assert_true(tr.n >= 3);
    assert_int_equal(tr.v[0].host, 0);
    assert_int_equal(tr.v[0].flags, F_SYN);
    assert_int_equal(tr.v[0].t, t0);
    assert_int_equal(tr.v[0].mss, 1460);
    assert_true(tr.v[0].ws >= 0 && tr.v[0].sack_perm && tr.v[0].ts);
    assert_int_equal(tr.v[1].host, 1);
    assert_int_equal(tr.v[1].flags, F_SYN | F_ACK);
    assert_int_equal(tr.v[1].ack, tr.v[0].seq + 1);
    assert_int_equal(tr.v[1].t, t0 + US_MS(10));
    assert_true(tr.v[1].ws >= 0 && tr.v[1].sack_perm && tr.v[1].ts && tr.v[1].mss == 1460);
    assert_int_equal(tr.v[2].host, 0);
    assert_int_equal(tr.v[2].flags, F_ACK);
    assert_int_equal(tr.v[2].ack, tr.v[1].seq + 1);
    assert_int_equal(tr.v[2].t, t0 + US_MS(20));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_ESTABLISHED);
    assert_int_equal(tt_state(n.b.st, b), US_TCP_ESTABLISHED);
    struct us_tcp_info ti;
    us_tcp_info(n.a.st, a, &ti);
    assert_true(ti.ts_ok && ti.sack_ok);
    assert_int_equal(ti.mss_send, 1448);   /* 1460 less the timestamp option */
    assert_int_equal(ti.cwnd, 10 * 1448);  /* RFC 6928 */

    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 300000, .seed = 5};
    assert_int_equal(xfer_run(&x, tt_now(&n) + US_SEC(60)), 0);
    assert_false(x.bad);
    assert_int_equal(x.got, 300000);
    /* segments at most MSS, PSH on the last one (every copy of it) */
    uint32_t end = tr.v[0].seq + 1 + 300000;
    int last = 0;
    for (size_t i = 0; i < tr.n; i++) {
        assert_true(tr.v[i].len <= 1448);
        if (tr.v[i].host == 0 && tr.v[i].len && tr.v[i].seq + tr.v[i].len == end) {
            assert_true(tr.v[i].flags & F_PSH);
            last++;
        }
    }
    assert_true(last >= 1);
    tt_free(&n, &tr);
}

/* The client closes first: its FIN is acknowledged at once and the server
 * reads EOF in CLOSE_WAIT. The server then sends data and closes: the data
 * reaches a connection whose application is gone, which answers with RST
 * (RFC 9293 3.10.7.4 allows it), and both control blocks are freed.
 * (TIME_WAIT of exactly 2·MSL is the next test.) */
static void client_close_first_then_data_to_the_closed_client_draws_rst(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 2};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(5);
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    assert_int_equal(us_send(n.a.st, a, "hello", 5, 0, tt_now(&n)), 5);
    tt_run(&n, US_MS(100));
    char buf[16];
    assert_int_equal(us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), 5);
    tt_clear(&tr);
    assert_int_equal(us_close(n.a.st, a, tt_now(&n)), 0);
    us_time_t tclose = tt_now(&n);
    tt_run(&n, US_MS(100));
    assert_int_equal(us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), 0); /* EOF */
    assert_int_equal(tt_state(n.b.st, b), US_TCP_CLOSE_WAIT);
    /* FIN from A, ACK from B (delayed ACK? no: a FIN is acknowledged at once) */
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.v[0].flags & (F_FIN | F_ACK), F_FIN | F_ACK);
    assert_int_equal(tr.v[0].t, tclose);
    assert_int_equal(tr.v[1].host, 1);
    assert_int_equal(tr.v[1].ack, tr.v[0].seq + 1);
    assert_int_equal(us_send(n.b.st, b, "bye", 3, 0, tt_now(&n)), 3);
    us_time_t tb = tt_now(&n);
    assert_int_equal(us_close(n.b.st, b, tb), 0);
    tt_run(&n, US_MS(100));
    /* A answered B's data+FIN with an RST? No: A closed only its descriptor,
     * the data arrives at an orphan — RFC 9293 lets it reset; ustack resets. */
    bool rst = false;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 0 && tr.v[i].t >= tb && (tr.v[i].flags & F_RST))
            rst = true;
    assert_true(rst);
    assert_int_equal(tt_conns(n.b.st), 1);  /* the listener */
    assert_int_equal(tt_conns(n.a.st), 0);
    tt_free(&n, &tr);
}

static void server_close_first_then_client_and_time_wait_lasts_2msl(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 3};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(5);
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    tt_clear(&tr);
    assert_int_equal(us_shutdown(n.b.st, b, US_SHUT_WR, tt_now(&n)), 0);
    tt_run(&n, US_MS(50));
    assert_int_equal(tt_state(n.b.st, b), US_TCP_FIN_WAIT_2);
    assert_int_equal(tt_state(n.a.st, a), US_TCP_CLOSE_WAIT);
    char buf[8];
    assert_int_equal(us_recv(n.a.st, a, buf, sizeof(buf), 0, tt_now(&n)), 0);
    /* half-close: A can still send, B still receives */
    assert_int_equal(us_send(n.a.st, a, "late", 4, 0, tt_now(&n)), 4);
    tt_run(&n, US_MS(50));
    assert_int_equal(us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), 4);
    assert_memory_equal(buf, "late", 4);
    assert_int_equal(us_close(n.a.st, a, tt_now(&n)), 0);
    tt_run(&n, US_MS(50));
    assert_int_equal(tt_state(n.b.st, b), US_TCP_TIME_WAIT);
    /* TIME_WAIT began when B received A's FIN; find B's ACK of that FIN */
    us_time_t tw = 0;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 0 && (tr.v[i].flags & F_FIN))
            tw = tr.v[i].t + US_MS(5);
    assert_true(tw > 0);
    assert_int_equal(tt_conns(n.a.st), 0);  /* LAST_ACK finished and freed */
    us_sim_run_until(n.sim, tw + US_SEC(60) - US_US(1));
    assert_int_equal(tt_state(n.b.st, b), US_TCP_TIME_WAIT);
    us_sim_run_until(n.sim, tw + US_SEC(60) + US_US(1));
    assert_int_equal(tt_state(n.b.st, b), US_TCP_CLOSED);
    assert_int_equal(us_close(n.b.st, b, tt_now(&n)), 0);
    assert_int_equal(tt_conns(n.b.st), 1);  /* the listener only */
    tt_free(&n, &tr);
}

static void simultaneous_close_passes_closing_to_time_wait_on_both_sides(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 4};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    tt_run(&n, US_MS(100));
    us_time_t t = tt_now(&n);
    us_shutdown(n.a.st, a, US_SHUT_WR, t);
    us_shutdown(n.b.st, b, US_SHUT_WR, t);
    assert_int_equal(tt_state(n.a.st, a), US_TCP_FIN_WAIT_1);
    tt_run(&n, US_MS(15));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_CLOSING);
    assert_int_equal(tt_state(n.b.st, b), US_TCP_CLOSING);
    tt_run(&n, US_MS(15));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_TIME_WAIT);
    assert_int_equal(tt_state(n.b.st, b), US_TCP_TIME_WAIT);
    tt_run(&n, US_SEC(61));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_CLOSED);
    assert_int_equal(tt_state(n.b.st, b), US_TCP_CLOSED);
    tt_free(&n, &tr);
}

static void simultaneous_open_connects_both_ends(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 5};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(&n, &tr, &o);
    int a = us_socket(n.a.st, US_SOCK_STREAM), b = us_socket(n.b.st, US_SOCK_STREAM);
    struct us_sockaddr pa = {0, 5000}, pb = {0, 6000};
    assert_int_equal(us_bind(n.a.st, a, &pa, us_sim_now(n.sim)), 0);
    assert_int_equal(us_bind(n.b.st, b, &pb, us_sim_now(n.sim)), 0);
    struct us_sockaddr ta = {TU_IP_B, 6000}, tb = {TU_IP_A, 5000};
    us_time_t t = tt_now(&n);
    assert_int_equal(us_connect(n.a.st, a, &ta, t), -EINPROGRESS);
    assert_int_equal(us_connect(n.b.st, b, &tb, t), -EINPROGRESS);
    tt_run(&n, US_MS(15));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_SYN_RECEIVED);
    assert_int_equal(tt_state(n.b.st, b), US_TCP_SYN_RECEIVED);
    tt_run(&n, US_MS(15));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_ESTABLISHED);
    assert_int_equal(tt_state(n.b.st, b), US_TCP_ESTABLISHED);
    assert_int_equal(us_connect(n.a.st, a, &ta, tt_now(&n)), 0);
    assert_int_equal(us_send(n.a.st, a, "ab", 2, 0, tt_now(&n)), 2);
    assert_int_equal(us_send(n.b.st, b, "cd", 2, 0, tt_now(&n)), 2);
    tt_run(&n, US_MS(50));
    char buf[4];
    assert_int_equal(us_recv(n.a.st, a, buf, 4, 0, tt_now(&n)), 2);
    assert_memory_equal(buf, "cd", 2);
    assert_int_equal(us_recv(n.b.st, b, buf, 4, 0, tt_now(&n)), 2);
    assert_memory_equal(buf, "ab", 2);
    tt_free(&n, &tr);
}

static void syn_to_closed_port_draws_rst_and_econnrefused(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    int a = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, 81};
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.v[1].host, 1);
    assert_int_equal(tr.v[1].flags, F_RST | F_ACK);
    assert_int_equal(tr.v[1].seq, 0);
    assert_int_equal(tr.v[1].ack, tr.v[0].seq + 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_no_listener"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.rst_sent"), 1);
    struct us_pollfd p = {.fd = a, .events = US_POLLOUT};
    us_poll(n.a.st, &p, 1, us_sim_now(n.sim));
    assert_true(p.revents & US_POLLERR);
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -ECONNREFUSED);
    tt_free(&n, &tr);
}

static void linger_zero_close_sends_rst_and_peer_sees_econnreset(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, NULL, 80, &a, &b);
    struct us_linger lg = {1, 0};
    assert_int_equal(us_setsockopt(n.a.st, a, US_SOL_SOCKET, US_SO_LINGER, &lg, sizeof(lg), us_sim_now(n.sim)), 0);
    tt_clear(&tr);
    assert_int_equal(us_close(n.a.st, a, tt_now(&n)), 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(tr.n, 1);
    assert_true(tr.v[0].flags & F_RST);
    char buf[4];
    assert_int_equal(us_recv(n.b.st, b, buf, 4, 0, tt_now(&n)), -ECONNRESET);
    assert_int_equal(us_send(n.b.st, b, "x", 1, 0, tt_now(&n)), -EPIPE);
    assert_int_equal(tt_conns(n.a.st), 0);  /* no TIME_WAIT after an abort */
    tt_free(&n, &tr);
}

static void reuseaddr_allows_bind_while_time_wait_holds_the_port(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    int l = tt_setup(&n, &tr, NULL, 80, &a, &b);
    us_close(n.b.st, b, tt_now(&n));  /* server closes first: TIME_WAIT on B:80 */
    tt_run(&n, US_MS(10));
    us_close(n.a.st, a, tt_now(&n));
    tt_run(&n, US_MS(10));
    us_close(n.b.st, l, tt_now(&n));
    int x = us_socket(n.b.st, US_SOCK_STREAM);
    struct us_sockaddr p = {0, 80};
    assert_int_equal(us_bind(n.b.st, x, &p, us_sim_now(n.sim)), -EADDRINUSE);
    tt_setint(n.b.st, x, US_SOL_SOCKET, US_SO_REUSEADDR, 1, us_sim_now(n.sim));
    assert_int_equal(us_bind(n.b.st, x, &p, us_sim_now(n.sim)), 0);
    assert_int_equal(us_listen(n.b.st, x, 4, us_sim_now(n.sim)), 0);
    int y = us_socket(n.b.st, US_SOCK_STREAM);
    tt_setint(n.b.st, y, US_SOL_SOCKET, US_SO_REUSEADDR, 1, us_sim_now(n.sim));
    assert_int_equal(us_bind(n.b.st, y, &p, us_sim_now(n.sim)), -EADDRINUSE);  /* a listener holds it */
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_negotiates_options_and_data_arrives_intact),
        cmocka_unit_test(client_close_first_then_data_to_the_closed_client_draws_rst),
        cmocka_unit_test(server_close_first_then_client_and_time_wait_lasts_2msl),
        cmocka_unit_test(simultaneous_close_passes_closing_to_time_wait_on_both_sides),
        cmocka_unit_test(simultaneous_open_connects_both_ends),
        cmocka_unit_test(syn_to_closed_port_draws_rst_and_econnrefused),
        cmocka_unit_test(linger_zero_close_sends_rst_and_peer_sees_econnreset),
        cmocka_unit_test(reuseaddr_allows_bind_while_time_wait_holds_the_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
