/* Socket options with an effect on the wire: TCP_MAXSEG before connect and
 * SO_LINGER with a time (deliver for up to that long, then RST); and the
 * 64-bit byte counts of the TCP_INFO snapshot. */
#include "test_tcp_helpers.h"
#include "tcp/tcp_int.h"

static void maxseg_before_connect_clamps_the_announced_and_used_mss(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    int l = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
    int a = us_socket(n.a.st, US_SOCK_STREAM);
    int v = 50;
    assert_int_equal(us_setsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_MAXSEG, &v, sizeof(v), us_sim_now(n.sim)), -EINVAL);
    tt_setint(n.a.st, a, US_IPPROTO_TCP, US_TCP_MAXSEG, 536, us_sim_now(n.sim));
    struct us_sockaddr to = {TU_IP_B, 80};
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    int b = us_accept(n.b.st, l, NULL, tt_now(&n));
    assert_true(b >= 0);
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), 0);
    /* only before the handshake */
    v = 1000;
    assert_int_equal(us_setsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_MAXSEG, &v, sizeof(v), us_sim_now(n.sim)), -EISCONN);
    assert_int_equal(tr.v[0].flags, F_SYN);
    assert_int_equal(tr.v[0].mss, 536);
    assert_int_equal(tr.v[1].mss, 1460);            /* B announces its own */
    /* both directions then use 536 minus the 12 bytes of timestamps */
    static uint8_t buf[20000];
    assert_int_equal(us_send(n.a.st, a, buf, sizeof(buf), 0, tt_now(&n)), (ssize_t)sizeof(buf));
    assert_int_equal(us_send(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), (ssize_t)sizeof(buf));
    for (int i = 0; i < 50; i++) {
        tt_run(&n, US_MS(10));
        while (us_recv(n.a.st, a, buf, sizeof(buf), 0, tt_now(&n)) > 0)
            ;
        while (us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)) > 0)
            ;
    }
    uint32_t maxlen[2] = {0, 0};
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].len > maxlen[tr.v[i].host])
            maxlen[tr.v[i].host] = tr.v[i].len;
    assert_int_equal(maxlen[0], 524);
    assert_int_equal(maxlen[1], 524);
    int got = 0;
    size_t len = sizeof(got);
    assert_int_equal(us_getsockopt(n.a.st, a, US_IPPROTO_TCP, US_TCP_MAXSEG, &got, &len), 0);
    assert_int_equal(got, 524);
    tt_free(&n, &tr);
}

static void small_rcvbuf(struct us_config *c, int host, void *arg)
{
    (void)arg;
    if (host == 1)
        c->tcp_rcvbuf = 8192;
}

/* A writes 50 kB to a B that does not read, sets SO_LINGER {1, 2 s} and closes. */
static void linger_setup(struct tu_net *n, struct trace *tr, int *a, int *b, us_time_t *t0)
{
    struct tu_opts o = {.seed = 11, .cfg_hook = small_rcvbuf};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(n, tr, &o);
    int l = tt_listen(n->b.st, 80, 8, us_sim_now(n->sim));
    tt_pair(n, l, 80, a, b);
    static uint8_t buf[50000];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(us_send(n->a.st, *a, buf, sizeof(buf), 0, tt_now(n)), (ssize_t)sizeof(buf));
    tt_run(n, US_MS(300));
    struct us_linger lg = {1, 2};
    assert_int_equal(us_setsockopt(n->a.st, *a, US_SOL_SOCKET, US_SO_LINGER, &lg, sizeof(lg), us_sim_now(n->sim)), 0);
    tt_clear(tr);
    *t0 = tt_now(n);
    /* never blocks: the descriptor is released at once */
    assert_int_equal(us_close(n->a.st, *a, *t0), 0);
    assert_true(us_send(n->a.st, *a, buf, 1, 0, *t0) < 0);
}

static void linger_with_a_time_keeps_delivering_then_resets_when_the_peer_never_reads(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    us_time_t t0;
    linger_setup(&n, &tr, &a, &b, &t0);
    tt_run(&n, US_SEC(5));
    /* A kept probing the zero window, then sent RST exactly 2 s after close */
    size_t rst = tr.n, probes = 0;
    for (size_t i = 0; i < tr.n; i++) {
        if (tr.v[i].host != 0)
            continue;
        if (tr.v[i].flags & F_RST) {
            rst = i;
            break;
        }
        probes++;
    }
    assert_true(rst < tr.n);
    assert_int_equal(tr.v[rst].t, t0 + US_SEC(2));
    assert_true(probes >= 2);
    assert_int_equal(tu_counter(n.a.st, "tcp.linger_timeout_rst"), 1);
    assert_int_equal(tt_conns(n.a.st), 0);
    /* B gets what arrived, then the reset */
    uint8_t buf[65536];
    ssize_t r;
    while ((r = us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n))) > 0)
        ;
    assert_int_equal(r, -ECONNRESET);
    tt_free(&n, &tr);
}

static void linger_with_a_time_closes_with_fin_when_the_data_is_delivered_in_time(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    us_time_t t0;
    linger_setup(&n, &tr, &a, &b, &t0);
    uint64_t got = 0;
    bool eof = false;
    uint8_t buf[65536];
    for (int i = 0; i < 500 && !eof; i++) {
        tt_run(&n, US_MS(2));
        ssize_t r;
        while ((r = us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n))) > 0)
            got += (uint64_t)r;
        eof = r == 0;
    }
    assert_true(eof);
    assert_int_equal(got, 50000);
    assert_true(tt_now(&n) < t0 + US_SEC(2));
    us_close(n.b.st, b, tt_now(&n));
    tt_run(&n, US_SEC(5));
    for (size_t i = 0; i < tr.n; i++)
        assert_false(tr.v[i].flags & F_RST);
    assert_int_equal(tu_counter(n.a.st, "tcp.linger_timeout_rst"), 0);
    tt_free(&n, &tr);
}

/* The byte counts are sequence distances from the ISN extended by 4 GiB
 * wraps. Moving 4 GiB through the simulator takes minutes, so this test moves
 * both ends' reference points (ISS at A, IRS at B; white box, nothing else
 * reads them once established) back by 4 GiB - 10 kB: the next 20 kB cross
 * the 32-bit boundary through the ordinary send, receive and ACK paths. */
static void byte_counts_of_tcp_info_go_past_4_gib(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, NULL, 80, &a, &b);
    struct us_sockaddr la;
    assert_int_equal(us_getsockname(n.a.st, a, &la), 0);
    struct us_tcb *ta = tcp_lookup(n.a.st, TU_IP_A, la.port, TU_IP_B, 80);
    struct us_tcb *tb = tcp_lookup(n.b.st, TU_IP_B, 80, TU_IP_A, la.port);
    assert_non_null(ta);
    assert_non_null(tb);
    const uint32_t shift = 0xffffffffu - 10000u + 1u;
    ta->iss -= shift;
    tb->irs -= shift;
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 20000, .seed = 3};
    assert_int_equal(xfer_run(&x, tt_now(&n) + US_SEC(10)), 0);
    tt_run(&n, US_MS(200));
    struct us_tcp_info ia, ib;
    assert_int_equal(us_tcp_info(n.a.st, a, &ia), 0);
    assert_int_equal(us_tcp_info(n.b.st, b, &ib), 0);
    uint64_t expect = (uint64_t)shift + 20000u;
    assert_true(expect > 0xffffffffull);
    assert_int_equal(ia.bytes_sent, expect);
    assert_int_equal(ia.bytes_acked, expect);
    assert_int_equal(ib.bytes_received, expect);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maxseg_before_connect_clamps_the_announced_and_used_mss),
        cmocka_unit_test(byte_counts_of_tcp_info_go_past_4_gib),
        cmocka_unit_test(linger_with_a_time_keeps_delivering_then_resets_when_the_peer_never_reads),
        cmocka_unit_test(linger_with_a_time_closes_with_fin_when_the_data_is_delivered_in_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
