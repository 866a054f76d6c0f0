/* send/recv flags: unknown bits are -EINVAL (and change nothing), MSG_PEEK
 * leaves the data queued (TCP: the receive window does not move, no window
 * update leaves), MSG_DONTWAIT is accepted by every call and makes the
 * blocking wrappers return at once instead of stepping the driver. */
#include "test_tcp_helpers.h"

static void small_buffers(struct us_config *cfg, int host, void *arg)
{
    (void)arg;
    if (host == 0)
        cfg->tcp_sndbuf = 4096;
    else
        cfg->tcp_rcvbuf = 8192;
}

static void tcp_pair(struct tu_net *n, struct trace *tr, int *a, int *b)
{
    struct tu_opts o = {.cfg_hook = small_buffers};
    tt_net(n, tr, &o);
    int lfd = tt_listen(n->b.st, 5001, 4, tt_now(n));
    tt_pair(n, lfd, 5001, a, b);
}

static int udp_bound(struct us_stack *st, uint16_t port, us_time_t now)
{
    int fd = us_socket(st, US_SOCK_DGRAM);
    assert_true(fd >= 0);
    struct us_sockaddr at = {0, port};
    assert_int_equal(us_bind(st, fd, &at, now), 0);
    return fd;
}

static void unknown_flags_are_einval_and_change_nothing(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tcp_pair(&n, &tr, &a, &b);
    uint8_t x[100], y[200];
    memset(x, 7, sizeof(x));
    static const int bad[] = {0x01 /* MSG_OOB */, 0x100 /* MSG_WAITALL */, 0x8000, US_MSG_PEEK | 0x04};
    tt_clear(&tr);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(us_send(n.a.st, a, x, sizeof(x), bad[i], tt_now(&n)), -EINVAL);
        assert_int_equal(us_sendto(n.a.st, a, x, sizeof(x), bad[i], NULL, tt_now(&n)), -EINVAL);
    }
    /* PEEK means nothing to a sender */
    assert_int_equal(us_send(n.a.st, a, x, sizeof(x), US_MSG_PEEK, tt_now(&n)), -EINVAL);
    tt_run(&n, US_SEC(1));
    assert_int_equal(tr.n, 0); /* nothing was sent */

    assert_int_equal(us_send(n.a.st, a, x, sizeof(x), US_MSG_DONTWAIT, tt_now(&n)), (ssize_t)sizeof(x));
    tt_run(&n, US_MS(10));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(us_recv(n.b.st, b, y, sizeof(y), bad[i], tt_now(&n)), -EINVAL);
        assert_int_equal(us_recvfrom(n.b.st, b, y, sizeof(y), bad[i], NULL, tt_now(&n)), -EINVAL);
    }
    assert_int_equal(us_recv(n.b.st, b, y, sizeof(y), US_MSG_DONTWAIT, tt_now(&n)), (ssize_t)sizeof(x));
    assert_memory_equal(y, x, sizeof(x));

    /* the same for UDP */
    int u = udp_bound(n.b.st, 7000, tt_now(&n)), v = us_socket(n.a.st, US_SOCK_DGRAM);
    struct us_sockaddr to = {TU_IP_B, 7000};
    assert_int_equal(us_sendto(n.a.st, v, x, 10, 0x01, &to, tt_now(&n)), -EINVAL);
    assert_int_equal(us_sendto(n.a.st, v, x, 10, US_MSG_DONTWAIT, &to, tt_now(&n)), 10);
    tt_run(&n, US_MS(10));
    assert_int_equal(us_recvfrom(n.b.st, u, y, sizeof(y), 0x100, NULL, tt_now(&n)), -EINVAL);
    assert_int_equal(us_recv(n.b.st, u, y, sizeof(y), 0x01, tt_now(&n)), -EINVAL);
    assert_int_equal(us_recv(n.b.st, u, y, sizeof(y), US_MSG_DONTWAIT, tt_now(&n)), 10);
    tt_free(&n, &tr);
}

static void tcp_peek_leaves_data_queued_and_the_window_shut(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tcp_pair(&n, &tr, &a, &b);
    static uint8_t out[8192], in[8192], again[8192];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = xfer_pattern(3, i);
    /* fill B's 8 KiB receive buffer: B advertises a zero window */
    size_t sent = 0;
    while (sent < sizeof(out)) {
        ssize_t w = us_send(n.a.st, a, out + sent, sizeof(out) - sent, 0, tt_now(&n));
        if (w > 0)
            sent += (size_t)w;
        tt_run(&n, US_MS(5));
    }
    tt_run(&n, US_MS(50));
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(n.b.st, b, &ti), 0);
    assert_int_equal(ti.recv_queue, sizeof(out));
    assert_int_equal(ti.rcv_wnd, 0);

    tt_clear(&tr);
    assert_int_equal(us_recv(n.b.st, b, in, 1000, US_MSG_PEEK, tt_now(&n)), 1000);
    assert_memory_equal(in, out, 1000);
    assert_int_equal(us_recv(n.b.st, b, again, sizeof(again), US_MSG_PEEK | US_MSG_DONTWAIT, tt_now(&n)),
                     (ssize_t)sizeof(out));
    assert_memory_equal(again, out, sizeof(out));
    assert_int_equal(us_tcp_info(n.b.st, b, &ti), 0);
    assert_int_equal(ti.recv_queue, sizeof(out));
    assert_int_equal(ti.rcv_wnd, 0);
    tt_run(&n, US_MS(1));
    for (size_t i = 0; i < tr.n; i++)
        assert_int_not_equal(tr.v[i].host, 1); /* no window update from B */

    /* a real read opens the window at once */
    us_time_t t_read = tt_now(&n);
    assert_int_equal(us_recv(n.b.st, b, in, sizeof(in), 0, t_read), (ssize_t)sizeof(out));
    assert_memory_equal(in, out, sizeof(out));
    tt_run(&n, US_MS(1));
    bool update = false;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 1 && tr.v[i].t == t_read && tr.v[i].wnd > 0)
            update = true;
    assert_true(update);
    assert_int_equal(us_recv(n.b.st, b, in, sizeof(in), US_MSG_PEEK, tt_now(&n)), -EAGAIN);
    tt_free(&n, &tr);
}

static void udp_peek_leaves_the_datagram_queued(void **state)
{
    (void)state;
    struct tu_net n;
    tu_net_init(&n, NULL);
    int u = udp_bound(n.b.st, 7000, us_sim_now(n.sim)), v = us_socket(n.a.st, US_SOCK_DGRAM);
    struct us_sockaddr to = {TU_IP_B, 7000}, from = {0, 0};
    assert_int_equal(us_sendto(n.a.st, v, "first-one!", 10, 0, &to, us_sim_now(n.sim)), 10);
    assert_int_equal(us_sendto(n.a.st, v, "second", 6, 0, &to, us_sim_now(n.sim)), 6);
    us_sim_run_until(n.sim, us_sim_now(n.sim) + US_MS(10));
    char buf[64];
    /* a short peek truncates what it copies, not the datagram */
    assert_int_equal(us_recvfrom(n.b.st, u, buf, 3, US_MSG_PEEK, &from, us_sim_now(n.sim)), 3);
    assert_memory_equal(buf, "fir", 3);
    assert_int_equal(from.addr, TU_IP_A);
    assert_int_equal(us_recv(n.b.st, u, buf, sizeof(buf), US_MSG_PEEK, us_sim_now(n.sim)), 10);
    assert_memory_equal(buf, "first-one!", 10);
    struct us_pollfd p = {.fd = u, .events = US_POLLIN};
    assert_int_equal(us_poll(n.b.st, &p, 1, us_sim_now(n.sim)), 1);
    assert_int_equal(us_recv(n.b.st, u, buf, sizeof(buf), 0, us_sim_now(n.sim)), 10);
    assert_memory_equal(buf, "first-one!", 10);
    assert_int_equal(us_recv(n.b.st, u, buf, sizeof(buf), US_MSG_PEEK, us_sim_now(n.sim)), 6);
    assert_int_equal(us_recv(n.b.st, u, buf, sizeof(buf), 0, us_sim_now(n.sim)), 6);
    assert_memory_equal(buf, "second", 6);
    assert_int_equal(us_recv(n.b.st, u, buf, sizeof(buf), US_MSG_PEEK, us_sim_now(n.sim)), -EAGAIN);
    tu_net_free(&n);
}

static void dontwait_makes_the_blocking_wrappers_return_at_once(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tcp_pair(&n, &tr, &a, &b);
    struct us_driver *d = us_sim_driver(n.sim);
    uint8_t buf[64];

    /* recv: nothing queued → -EAGAIN without advancing virtual time */
    us_time_t t0 = tt_now(&n);
    assert_int_equal(us_blk_recv(d, n.b.st, b, buf, sizeof(buf), US_MSG_DONTWAIT, US_SEC(5)), -EAGAIN);
    assert_int_equal(tt_now(&n), t0);
    struct us_sockaddr from;
    assert_int_equal(us_blk_recvfrom(d, n.b.st, b, buf, sizeof(buf), US_MSG_DONTWAIT, &from, US_SEC(5)), -EAGAIN);
    assert_int_equal(tt_now(&n), t0);
    /* without it the wrapper waits (and here times out) */
    assert_int_equal(us_blk_recv(d, n.b.st, b, buf, sizeof(buf), 0, US_SEC(1)), -ETIMEDOUT);
    assert_true(tt_now(&n) >= t0 + US_SEC(1));

    /* send: one try; with a 4 KiB send buffer and a peer that never reads, the
     * first try takes what fits, the next finds no room */
    static uint8_t big[100000];
    t0 = tt_now(&n);
    ssize_t w = us_blk_send(d, n.a.st, a, big, sizeof(big), US_MSG_DONTWAIT, US_SEC(5));
    assert_true(w > 0 && w <= 4096);
    assert_int_equal(us_blk_send(d, n.a.st, a, big, sizeof(big), US_MSG_DONTWAIT, US_SEC(5)), -EAGAIN);
    assert_int_equal(tt_now(&n), t0);
    /* with data queued, a DONTWAIT recv through the wrapper returns it */
    tt_run(&n, US_MS(50));
    assert_int_equal(us_blk_recv(d, n.b.st, b, buf, sizeof(buf), US_MSG_DONTWAIT | US_MSG_PEEK, US_SEC(5)),
                     (ssize_t)sizeof(buf));
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_flags_are_einval_and_change_nothing),
        cmocka_unit_test(tcp_peek_leaves_data_queued_and_the_window_shut),
        cmocka_unit_test(udp_peek_leaves_the_datagram_queued),
        cmocka_unit_test(dontwait_makes_the_blocking_wrappers_return_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
