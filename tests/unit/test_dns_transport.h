/* Checks of the transport interface's datagrams and random source
 * (include/ustack/transport.h) that every backend must pass, written once
 * like test_http_transport.h: the kernel backend runs them over loopback
 * (tests/unit/test_dns_resolver.c), the ustack backend between two
 * simulated hosts (tests/scenario/test_dns.c). */
#ifndef TEST_DNS_TRANSPORT_H
#define TEST_DNS_TRANSPORT_H

/* tp_pair and tp_wait_for; the stream checks it also holds go unused here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test_http_transport.h"
#pragma GCC diagnostic pop

/* A datagram each way between two sockets on ephemeral ports, the sender
 * named by recvfrom, one datagram per read (the excess of a long one
 * discarded), a bound port refused to a second socket, readiness only while
 * a datagram is queued. */
static void tp_check_datagram(const struct tp_pair *p)
{
    static int sctx;
    struct us_tp_addr any = {0, 0}, sa, ca, from;
    int s = us_tp_udp_open(p->srv, &any, us_tp_now(p->srv));
    int c = us_tp_udp_open(p->cli, &any, us_tp_now(p->cli));
    assert_true(s >= 0 && c >= 0);
    assert_int_equal(us_tp_local_addr(p->srv, s, &sa), 0);
    assert_int_equal(us_tp_local_addr(p->cli, c, &ca), 0);
    assert_true(sa.port != 0 && ca.port != 0);
    struct us_tp_addr again = {0, sa.port};
    assert_int_equal(us_tp_udp_open(p->srv, &again, us_tp_now(p->srv)), -EADDRINUSE);
    uint8_t buf[256];
    assert_int_equal(us_tp_recvfrom(p->srv, s, buf, sizeof(buf), &from, us_tp_now(p->srv)), -EAGAIN);

    struct us_tp_addr to = {p->srv_ip, sa.port};
    uint8_t big[200];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = tp_pattern(i);
    assert_int_equal(us_tp_sendto(p->cli, c, "query", 5, &to, us_tp_now(p->cli)), 5);
    assert_int_equal(us_tp_sendto(p->cli, c, big, sizeof(big), &to, us_tp_now(p->cli)), (ssize_t)sizeof(big));
    assert_int_equal(us_tp_watch(p->srv, s, US_TP_READ, &sctx), 0);
    void *ctx = NULL;
    tp_wait_for(p, p->srv, s, US_TP_READ, &ctx);
    assert_ptr_equal(ctx, &sctx);
    assert_int_equal(us_tp_recvfrom(p->srv, s, buf, sizeof(buf), &from, us_tp_now(p->srv)), 5);
    assert_memory_equal(buf, "query", 5);
    assert_int_equal(from.port, ca.port);
    /* the second, read 10 bytes at a time: one read takes the datagram */
    while (us_tp_recvfrom(p->srv, s, buf, 10, NULL, us_tp_now(p->srv)) == -EAGAIN)
        tp_wait_for(p, p->srv, s, US_TP_READ, NULL);
    assert_memory_equal(buf, big, 10);
    assert_int_equal(us_tp_recvfrom(p->srv, s, buf, sizeof(buf), NULL, us_tp_now(p->srv)), -EAGAIN);
    struct us_tp_event ev[4];
    int n = us_tp_poll(p->srv, ev, 4, us_tp_now(p->srv));
    for (int i = 0; i < n; i++)
        assert_false(ev[i].fd == s && (ev[i].events & US_TP_READ));

    /* the answer goes back to where the query came from */
    assert_int_equal(us_tp_sendto(p->srv, s, "answer", 6, &from, us_tp_now(p->srv)), 6);
    assert_int_equal(us_tp_watch(p->cli, c, US_TP_READ, NULL), 0);
    tp_wait_for(p, p->cli, c, US_TP_READ, NULL);
    assert_int_equal(us_tp_recvfrom(p->cli, c, buf, sizeof(buf), &from, us_tp_now(p->cli)), 6);
    assert_memory_equal(buf, "answer", 6);
    assert_int_equal(from.ip, p->srv_ip);
    assert_int_equal(from.port, sa.port);
    assert_int_equal(us_tp_close(p->srv, s, us_tp_now(p->srv)), 0);
    assert_int_equal(us_tp_close(p->cli, c, us_tp_now(p->cli)), 0);
}

/* Two draws of 16 random bytes differ (a fixed or zero source would not). */
static void tp_check_random(const struct tp_pair *p)
{
    uint8_t a[16], b[16], zero[16] = {0};
    assert_int_equal(us_tp_random(p->cli, a, sizeof(a)), 0);
    assert_int_equal(us_tp_random(p->cli, b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
}

#endif
