/* A segment refused because the receive window is zero still carries an ACK
 * (RFC 9293 3.10.7.4: "special allowance should be made to accept valid
 * ACKs"): B, whose window is closed, takes the acknowledgment and window of
 * A's data segment at RCV.NXT — its own data in flight is acknowledged, no
 * retransmission follows — while the data itself is not queued and B's
 * answer still says RCV.NXT with a zero window. In virtual time, asserted on
 * the wire. */
#include "test_tcp_helpers.h"

#define RTT US_MS(20)

static void cfg(struct us_config *c, int host, void *arg)
{
    (void)arg;
    if (host == 1)
        c->tcp_rcvbuf = 8192;
}

/* A's pure ACKs are lost while `mute`; B's segments are noted. */
struct st { bool mute; uint32_t b_next, b_rcv_nxt; uint16_t b_wnd; int b_acks; };

static bool rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct st *x = tr->arg;
    if (s->host == 1) {
        x->b_next = s->seq + s->len;
        x->b_rcv_nxt = s->ack;
        x->b_wnd = s->wnd;
        x->b_acks++;
        return false;
    }
    return x->mute && s->len == 0;
}

static void ack_on_a_segment_refused_for_a_zero_window_is_processed(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 71, .cfg_hook = cfg};
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    struct st x = {0};
    tr.rule = rule;
    tr.arg = &x;
    static uint8_t buf[20000];
    /* A fills B's 8 kB window; B does not read */
    assert_true(us_send(n.a.st, a, buf, sizeof(buf), 0, tt_now(&n)) > 0);
    tt_run(&n, US_SEC(1));                       /* the persist timer sends the last bytes that fit */
    assert_int_equal(x.b_wnd, 0);
    struct us_tcp_info bi;
    assert_int_equal(us_tcp_info(n.b.st, b, &bi), 0);
    uint32_t queued = bi.recv_queue;
    assert_true(queued > 0);
    /* B sends two segments; A's ACKs for them are lost */
    x.mute = true;
    uint32_t two = 2 * bi.mss_send;
    assert_int_equal(us_send(n.b.st, b, buf, two, 0, tt_now(&n)), (ssize_t)two);
    tt_run(&n, US_MS(30));
    assert_int_equal(us_tcp_info(n.b.st, b, &bi), 0);
    assert_int_equal(bi.bytes_in_flight, two);
    /* A data segment at B's RCV.NXT acknowledging all of it: refused (zero
     * window), but its ACK counts */
    struct us_sockaddr la;
    assert_int_equal(us_getsockname(n.a.st, a, &la), 0);
    struct us_tcp_repr r = {.sport = la.port, .dport = 80, .seq = x.b_rcv_nxt, .ack = x.b_next,
                            .flags = US_TH_ACK, .wnd = 1000, .wscale = -1};
    int acks0 = x.b_acks;
    uint64_t rx0 = tu_counter(n.b.st, "tcp.retransmits");
    tt_inject(&n, TU_IP_A, TU_IP_B, &r, 100);
    assert_int_equal(us_tcp_info(n.b.st, b, &bi), 0);
    assert_int_equal(bi.bytes_in_flight, 0);
    assert_int_equal(bi.recv_queue, queued);      /* the data was not taken */
    tt_run(&n, US_MS(1));
    assert_int_equal(x.b_acks, acks0 + 1);       /* B answered: RCV.NXT unchanged, window still zero */
    assert_int_equal(x.b_rcv_nxt, r.seq);
    assert_int_equal(x.b_wnd, 0);
    tt_run(&n, US_SEC(2));
    assert_int_equal(tu_counter(n.b.st, "tcp.retransmits") - rx0, 0);
    assert_int_equal(tu_counter(n.b.st, "tcp.rx_zero_window_acks"), 1);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ack_on_a_segment_refused_for_a_zero_window_is_processed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
