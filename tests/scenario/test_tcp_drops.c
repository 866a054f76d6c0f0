/* Drop counters that name their reason: each drop below is provoked on its own
 * and read back by name (a name the stack does not know fails the test). The
 * test plays A's side with hand-made segments (built with src/wire) where
 * A's stack would not send them, and asserts what B answered on the wire. */
#include "test_tcp_helpers.h"
#include "tcp/tcp_int.h"

/* A segment "from A" (198.18.0.1) to dst, straight into B's stack. */
static void inject(struct tu_net *n, us_ip4_t dst, struct us_tcp_repr r, uint32_t plen)
{
    r.wscale = -1;                       /* no window scale (these tests send no SYN options) */
    tt_inject(n, TU_IP_A, dst, &r, plen);
}

/* Segments B sent since the trace was cleared. */
static size_t b_sent(const struct trace *tr, uint8_t flags)
{
    size_t k = 0;
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == 1 && (tr->v[i].flags & flags) == flags)
            k++;
    return k;
}

/* RFC 9293 3.10.7.2: a RST to a listener is ignored, an ACK answered with a
 * RST, any other segment without SYN dropped; a SYN to the subnet broadcast
 * address is never answered (RFC 1122 4.2.3.10). Four reasons, four counters. */
static void test_listener_drops_counted_per_reason(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));

    inject(&n, TU_IP_B, (struct us_tcp_repr){.sport = 40000, .dport = 80, .seq = 1, .flags = US_TH_RST}, 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_listen_rst"), 1);
    assert_int_equal(tr.n, 0);

    inject(&n, TU_IP_B, (struct us_tcp_repr){.sport = 40000, .dport = 80, .seq = 1, .ack = 777, .flags = US_TH_ACK}, 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_listen_ack"), 1);
    assert_int_equal(tr.n, 1);                      /* answered with <SEQ=SEG.ACK><CTL=RST> */
    assert_int_equal(tr.v[0].flags, F_RST);
    assert_int_equal(tr.v[0].seq, 777);
    tt_clear(&tr);

    inject(&n, TU_IP_B, (struct us_tcp_repr){.sport = 40000, .dport = 80, .seq = 1, .flags = US_TH_FIN}, 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_listen_no_syn"), 1);
    assert_int_equal(tr.n, 0);

    inject(&n, 0xC61200FFu, (struct us_tcp_repr){.sport = 40000, .dport = 80, .seq = 1, .flags = US_TH_SYN}, 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_broadcast"), 1);
    assert_int_equal(tr.n, 0);

    /* each drop under its own name only */
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_listen_rst"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_listen_ack"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_listen_no_syn"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_no_listener"), 0);
    assert_int_equal(tu_counter(n.b.st, "tcp.passive_opens"), 0);
    tt_free(&n, &tr);
}

/* A broadcast segment to a port nobody listens on is a broadcast drop, not
 * "no listener", and gets no RST. */
static void test_broadcast_segment_is_not_answered(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    inject(&n, 0xC61200FFu, (struct us_tcp_repr){.sport = 40000, .dport = 81, .seq = 1, .ack = 5, .flags = US_TH_ACK}, 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_broadcast"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_no_listener"), 0);
    assert_int_equal(tu_counter(n.b.st, "tcp.rst_sent"), 0);
    assert_int_equal(tr.n, 0);
    tt_free(&n, &tr);
}

static bool drop_from_b(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)tr, (void)f, (void)len;
    return s->host == 1;
}

static bool drop_synack(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)tr, (void)f, (void)len;
    return s->host == 1 && s->flags == (F_SYN | F_ACK);
}

/* The SYN after the full queue was dropped under `which` only, unanswered. */
static void expect_queue_drop(struct tu_net *n, struct trace *tr, const char *which, const char *other)
{
    assert_int_equal(tu_counter(n->b.st, which), 1);
    assert_int_equal(tu_counter(n->b.st, other), 0);
    assert_int_equal(b_sent(tr, F_SYN | F_ACK), 1);   /* only the first connection was answered */
    tt_free(n, tr);
}

static void no_cookies(struct us_config *c, int host, void *arg)
{
    (void)host, (void)arg;
    c->tcp_syncookies = 0;
}

/* SYN queue bound 1, SYN cookies off. A handshake that never completes fills the SYN
 * queue: the next SYN is a SYN-queue drop (with cookies it draws a cookie:
 * test_tcp_syncookies.c). */
static void test_syn_queue_full_counted(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &(struct tu_opts){.cfg_hook = no_cookies});
    tt_setint(n.b.st, tt_listen(n.b.st, 80, 1, us_sim_now(n.sim)), US_IPPROTO_TCP, US_TCP_SYNQ_MAX, 1, us_sim_now(n.sim));
    tr.rule = drop_synack;               /* A never sees it, never answers RST */
    inject(&n, TU_IP_B, (struct us_tcp_repr){.sport = 40000, .dport = 80, .seq = 100, .flags = US_TH_SYN}, 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(b_sent(&tr, F_SYN | F_ACK), 1);
    inject(&n, TU_IP_B, (struct us_tcp_repr){.sport = 40001, .dport = 80, .seq = 200, .flags = US_TH_SYN}, 0);
    tt_run(&n, US_MS(10));
    expect_queue_drop(&n, &tr, "tcp.drop_syn_queue_full", "tcp.drop_accept_queue_full");
}

/* Backlog 1. A connection the application never accepts fills the accept
 * queue: the next connection's SYNs are accept-queue drops, not SYN-queue ones. */
static void test_accept_queue_full_counted(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    tt_listen(n.b.st, 80, 1, us_sim_now(n.sim));
    struct us_sockaddr to = {TU_IP_B, 80};
    int a1 = us_socket(n.a.st, US_SOCK_STREAM);
    assert_int_equal(us_connect(n.a.st, a1, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(100));
    assert_int_equal(tt_state(n.a.st, a1), US_TCP_ESTABLISHED);
    int a2 = us_socket(n.a.st, US_SOCK_STREAM);
    assert_int_equal(us_connect(n.a.st, a2, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(100));
    expect_queue_drop(&n, &tr, "tcp.drop_accept_queue_full", "tcp.drop_syn_queue_full");
}

/* Data for a connection whose application closed it (an orphan in FIN_WAIT)
 * resets it: counted as data for an orphan, not as data after a FIN. */
static void test_data_to_orphan_counted_and_reset(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, NULL, 80, &a, &b);
    assert_int_equal(us_close(n.b.st, b, tt_now(&n)), 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_CLOSE_WAIT);
    tt_clear(&tr);
    assert_int_equal(us_send(n.a.st, a, "hello", 5, 0, tt_now(&n)), 5);
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_data_orphaned"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_data_after_fin"), 0);
    assert_int_equal(b_sent(&tr, F_RST), 1);
    assert_int_equal(tt_state(n.a.st, a), US_TCP_CLOSED);
    tt_free(&n, &tr);
}

/* A segment that runs past the advertised window is trimmed to it (RFC 9293
 * 3.10.7.4); the bytes cut off are counted and the ACK covers the window. */
static void test_bytes_beyond_window_counted(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim)), a, b;
    tt_setint(n.b.st, l, US_SOL_SOCKET, US_SO_RCVBUF, 1000, us_sim_now(n.sim));
    tt_pair(&n, l, 80, &a, &b);
    assert_true(tr.n >= 2);
    const struct seg *syn = &tr.v[0], *synack = &tr.v[1];
    assert_int_equal(syn->host, 0);
    assert_int_equal(syn->flags, F_SYN);
    assert_int_equal(synack->host, 1);
    assert_int_equal(synack->flags, F_SYN | F_ACK);
    assert_int_equal(synack->wnd, 1000);
    struct us_sockaddr la;
    assert_int_equal(us_getsockname(n.a.st, a, &la), 0);
    uint32_t seq = syn->seq + 1, ack = synack->seq + 1;
    tt_clear(&tr);
    tr.rule = drop_from_b;               /* A never sent these bytes: it must not see the ACK */
    inject(&n, TU_IP_B, (struct us_tcp_repr){.sport = la.port, .dport = 80, .seq = seq, .ack = ack,
                                             .flags = US_TH_ACK | US_TH_PSH, .wnd = 65535}, 1100);
    assert_int_equal(tu_counter(n.b.st, "tcp.rx_bytes_beyond_window"), 100);
    tt_run(&n, US_MS(1));
    assert_true(tr.n >= 1);
    assert_int_equal(tr.v[0].host, 1);
    assert_int_equal(tr.v[0].ack, seq + 1000);
    uint8_t buf[2000];
    assert_int_equal(us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), 1000);
    tt_free(&n, &tr);
}

/* A segment that does not fit a packet buffer is counted as too big (and the
 * call reports -EMSGSIZE), not as a buffer shortage. The stack never builds
 * one by itself: the MSS is forced past the buffer size here. */
static void test_segment_too_big_counted_apart_from_no_buffer(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, NULL, 80, &a, &b);
    struct us_sockaddr la;
    assert_int_equal(us_getsockname(n.a.st, a, &la), 0);
    struct us_tcb *ta = tcp_lookup(n.a.st, TU_IP_A, la.port, TU_IP_B, 80);
    assert_non_null(ta);
    uint16_t mss = ta->mss_send;
    ta->mss_send = 4000;
    static uint8_t data[4000];
    assert_int_equal(us_send(n.a.st, a, data, sizeof(data), 0, tt_now(&n)), (ssize_t)sizeof(data));
    assert_int_equal(tu_counter(n.a.st, "tcp.tx_segment_too_big"), 1);
    assert_int_equal(tu_counter(n.a.st, "tcp.tx_no_buffer"), 0);
    ta->mss_send = mss;                  /* the retransmission timer repairs the loss */
    size_t got = 0;
    for (int i = 0; i < 100 && got < sizeof(data); i++) {
        tt_run(&n, US_MS(100));
        ssize_t r = us_recv(n.b.st, b, data, sizeof(data), 0, tt_now(&n));
        if (r > 0)
            got += (size_t)r;
    }
    assert_int_equal(got, sizeof(data));
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listener_drops_counted_per_reason),
        cmocka_unit_test(test_broadcast_segment_is_not_answered),
        cmocka_unit_test(test_syn_queue_full_counted),
        cmocka_unit_test(test_accept_queue_full_counted),
        cmocka_unit_test(test_data_to_orphan_counted_and_reset),
        cmocka_unit_test(test_bytes_beyond_window_counted),
        cmocka_unit_test(test_segment_too_big_counted_apart_from_no_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
