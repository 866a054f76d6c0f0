/* ICMP errors about TCP segments: IP parses the quote once and hands TCP a
 * struct with `now`; every outcome in TCP is counted under its own name.
 * Each test injects a hand-made ICMP error into host A quoting a segment A
 * really sent (captured by the wire tap). */
#include "test_tcp_helpers.h"
#include "ip/ip.h"

/* The last frame A sent, kept by the tap rule. */
static uint8_t last_a[2048];
static uint32_t last_a_len;
static bool drop_a_syn;

static bool keep_a(struct trace *tr, const struct seg *s, uint8_t *frame, uint32_t len)
{
    (void)tr;
    if (s->host == 0 && len <= sizeof(last_a)) {
        memcpy(last_a, frame, len);
        last_a_len = len;
    }
    return drop_a_syn && s->host == 0 && (s->flags & F_SYN);
}

/* An ICMP error from B (or a router at B's address) to A quoting A's last
 * frame (its IP header + 8 bytes); seq_delta shifts the quoted TCP sequence
 * number, dport_delta the quoted destination port. */
static void inject(struct tu_net *n, uint8_t type, uint8_t code, uint16_t mtu, uint32_t seq_delta,
                   uint16_t dport_delta)
{
    assert_true(last_a_len >= US_ETH_HLEN + 20 + 8);
    uint8_t quote[28];
    memcpy(quote, last_a + US_ETH_HLEN, sizeof(quote));
    us_put32(quote + 24, us_get32(quote + 24) + seq_delta);
    us_put16(quote + 22, (uint16_t)(us_get16(quote + 22) + dport_delta));

    uint8_t f[US_ETH_HLEN + 20 + 8 + sizeof(quote)];
    uint32_t len = sizeof(f);
    struct us_eth_repr e = { .type = US_ETHERTYPE_IPV4 };
    memcpy(e.dst, n->a.mac, 6);
    memcpy(e.src, n->b.mac, 6);
    us_eth_emit(f, &e);
    struct us_ip_hdr ip = { .version = 4, .ihl = 5, .ttl = 64, .proto = US_IP_PROTO_ICMP,
                            .total_len = (uint16_t)(len - US_ETH_HLEN), .src = TU_IP_B, .dst = TU_IP_A };
    us_ip_hdr_write(f + US_ETH_HLEN, &ip);
    uint8_t *icmp = f + US_ETH_HLEN + 20;
    memset(icmp, 0, 8);
    icmp[0] = type;
    icmp[1] = code;
    us_put16(icmp + 6, mtu);
    memcpy(icmp + 8, quote, sizeof(quote));
    us_put16(icmp + 2, us_csum(icmp, 8 + sizeof(quote)));
    struct us_pkt *p = us_pkt_alloc(n->a.pool);
    assert_non_null(p);
    uint8_t *d = us_pkt_put(p, len);
    assert_non_null(d);
    memcpy(d, f, len);
    us_stack_input(n->a.st, p, tt_now(n));
}

static void setup_net(struct tu_net *n, struct trace *tr)
{
    struct tu_opts o = {0};
    tt_net(n, tr, &o);
    tr->rule = keep_a;
    last_a_len = 0;
    drop_a_syn = false;
}

/* setup_net, A connected to B:5001 and len bytes sent: A's last frame is
 * that data segment. */
static void connected(struct tu_net *n, struct trace *tr, int *a, int *b, const uint8_t *data, size_t len)
{
    setup_net(n, tr);
    int lfd = tt_listen(n->b.st, 5001, 4, us_sim_now(n->sim));
    tt_pair(n, lfd, 5001, a, b);
    assert_int_equal(us_send(n->a.st, *a, data, len, 0, tt_now(n)), (ssize_t)len);
    tt_run(n, US_MS(1));
}

static void port_unreachable_refuses_a_connect_in_syn_sent(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    setup_net(&n, &tr);
    drop_a_syn = true;
    int a = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, 7777};
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    /* a quote of a sequence number not in flight is not believed */
    inject(&n, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, 0, 1000, 0);
    assert_int_equal(tu_counter(n.a.st, "tcp.icmp_drop_seq_not_in_flight"), 1);
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EALREADY);
    /* nor one for a connection that does not exist */
    inject(&n, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, 0, 0, 1);
    assert_int_equal(tu_counter(n.a.st, "tcp.icmp_drop_no_connection"), 1);
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EALREADY);
    /* the real quote refuses the connection at once */
    inject(&n, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, 0, 0, 0);
    assert_int_equal(tu_counter(n.a.st, "tcp.icmp_connection_refused"), 1);
    assert_int_equal(tu_counter(n.a.st, "icmp.unreachable_received"), 3);
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -ECONNREFUSED);
    tt_free(&n, &tr);
}

static void frag_needed_lowers_the_mss_to_the_next_hop_mtu(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int a, b;
    static uint8_t buf[20000];
    connected(&n, &tr, &a, &b, buf, 1000);
    inject(&n, US_ICMP_UNREACH, US_ICMP_UNREACH_NEEDFRAG, 1000, 0, 0);
    assert_int_equal(tu_counter(n.a.st, "tcp.icmp_mss_reduced"), 1);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(n.a.st, a, &ti), 0);
    assert_int_equal(ti.mss_send, 1000 - 40 - (ti.ts_ok ? 12 : 0));
    tt_run(&n, US_SEC(1));
    tt_clear(&tr);
    assert_int_equal(us_send(n.a.st, a, buf, sizeof(buf), 0, tt_now(&n)), (ssize_t)sizeof(buf));
    tt_run(&n, US_SEC(1));
    size_t data = 0;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 0 && tr.v[i].len) {
            assert_true(tr.v[i].len <= ti.mss_send);
            data++;
        }
    assert_true(data >= sizeof(buf) / ti.mss_send);
    /* a second error with a larger MTU changes nothing; a forged tiny MTU is
     * floored at 552 bytes (quoting A's last segment moved to snd_una) */
    uint32_t last_len = 0;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 0)
            last_len = tr.v[i].len;
    uint32_t mss = ti.mss_send;
    inject(&n, US_ICMP_UNREACH, US_ICMP_UNREACH_NEEDFRAG, 1400, last_len, 0);
    assert_int_equal(tu_counter(n.a.st, "tcp.icmp_soft_error_ignored"), 1);
    assert_int_equal(us_tcp_info(n.a.st, a, &ti), 0);
    assert_int_equal(ti.mss_send, mss);
    assert_int_equal(tu_counter(n.a.st, "tcp.icmp_mss_reduced"), 1);
    inject(&n, US_ICMP_UNREACH, US_ICMP_UNREACH_NEEDFRAG, 68, last_len, 0);
    assert_int_equal(us_tcp_info(n.a.st, a, &ti), 0);
    assert_int_equal(ti.mss_send, 552 - 40 - (ti.ts_ok ? 12 : 0));
    tt_free(&n, &tr);
}

static void soft_errors_do_not_abort_an_established_connection(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int a, b;
    uint8_t x[100] = {0};
    connected(&n, &tr, &a, &b, x, sizeof(x));
    /* RFC 1122 4.2.3.9: host unreachable, time exceeded and even port
     * unreachable are soft errors once synchronized */
    inject(&n, US_ICMP_UNREACH, 1, 0, 0, 0);
    inject(&n, US_ICMP_TIME_EXCEEDED, 0, 0, 0, 0);
    inject(&n, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, 0, 0, 0);
    assert_int_equal(tu_counter(n.a.st, "tcp.icmp_soft_error_ignored"), 3);
    assert_int_equal(tt_state(n.a.st, a), US_TCP_ESTABLISHED);
    tt_run(&n, US_SEC(1));
    uint8_t y[200];
    assert_int_equal(us_recv(n.b.st, b, y, sizeof(y), 0, tt_now(&n)), (ssize_t)sizeof(x));
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_unreachable_refuses_a_connect_in_syn_sent),
        cmocka_unit_test(frag_needed_lowers_the_mss_to_the_next_hop_mtu),
        cmocka_unit_test(soft_errors_do_not_abort_an_established_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
