/* Virtual time, ICMP echo and UDP sockets between two stacks on a pipe link. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"

static void delay_both(struct tu_opts *o, us_time_t d)
{
    o->imp_a.tx.delay = d;
    o->imp_b.tx.delay = d;
}

static void ping_rtt_is_exactly_twice_the_link_delay(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 1};
    delay_both(&o, US_MS(10));
    struct tu_net n;
    tu_net_init(&n, &o);
    us_sim_run_until(n.sim, US_MS(100)); /* gratuitous ARPs crossed */
    us_time_t t0 = us_sim_now(n.sim);
    assert_int_equal(us_ping_send(n.a.st, TU_IP_B, 7, 1, 56, t0), 0);
    us_sim_run_until(n.sim, t0 + US_SEC(1));
    struct us_ping_reply r;
    assert_int_equal(us_ping_recv(n.a.st, 7, &r), 1);
    /* RFC 826: a gratuitous ARP only updates existing entries, so the first
     * echo waits for one ARP round trip: 2 x 20 ms */
    assert_int_equal(r.received - r.sent, US_MS(40));
    assert_int_equal(r.seq, 1);
    assert_true(r.data_ok);
    assert_int_equal(r.ttl, 64);
    assert_int_equal(us_ping_recv(n.a.st, 7, &r), 0);
    t0 = us_sim_now(n.sim);
    us_ping_send(n.a.st, TU_IP_B, 7, 2, 56, t0);
    us_sim_run_until(n.sim, t0 + US_SEC(1));
    assert_int_equal(us_ping_recv(n.a.st, 7, &r), 1);
    assert_int_equal(r.received - r.sent, US_MS(20));
    /* a fragmented echo takes the same time: fragments leave back to back */
    t0 = us_sim_now(n.sim);
    us_ping_send(n.a.st, TU_IP_B, 7, 3, 5000, t0);
    us_sim_run_until(n.sim, t0 + US_SEC(1));
    assert_int_equal(us_ping_recv(n.a.st, 7, &r), 1);
    assert_int_equal(r.received - r.sent, US_MS(20));
    assert_int_equal(r.len, 5000);
    assert_true(r.data_ok);
    assert_int_equal(tu_counter(n.b.st, "ip.reassembled"), 1);
    assert_int_equal(tu_counter(n.a.st, "ip.reassembled"), 1);
    tu_net_free(&n);
}

static bool always(void *arg)
{
    (void)arg;
    return true;
}

static void simulator_reports_deadlock_when_nothing_is_pending(void **s)
{
    (void)s;
    struct tu_net n;
    tu_net_init(&n, NULL);
    us_sim_run_until(n.sim, US_SEC(1));
    assert_int_equal(us_sim_run_while(n.sim, always, NULL, US_SEC(100)), -EDEADLK);
    /* with a timer pending (a fragment waiting for reassembly) time runs to the limit instead */
    us_ping_send(n.a.st, 0xC6120063u, 1, 1, 56, us_sim_now(n.sim)); /* .99: ARP retries pending */
    assert_int_equal(us_sim_run_while(n.sim, always, NULL, us_sim_now(n.sim) + US_MS(500)), -ETIMEDOUT);
    assert_int_equal(us_sim_now(n.sim), US_SEC(1) + US_MS(500));
    tu_net_free(&n);
}

static int bound_udp(struct us_stack *st, uint16_t port, us_time_t now)
{
    int fd = us_socket(st, US_SOCK_DGRAM);
    assert_true(fd >= 0);
    struct us_sockaddr a = {0, port};
    assert_int_equal(us_bind(st, fd, &a, now), 0);
    return fd;
}

static void udp_datagrams_arrive_byte_exact_including_fragmented_ones(void **s)
{
    (void)s;
    struct tu_net n;
    tu_net_init(&n, NULL);
    int b = bound_udp(n.b.st, 7000, us_sim_now(n.sim));
    int a = us_socket(n.a.st, US_SOCK_DGRAM);
    struct us_sockaddr to = {TU_IP_B, 7000};
    static uint8_t out[20000], in[20000];
    size_t sizes[] = {0, 1, 1472, 1473, 3000, 20000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        for (size_t i = 0; i < sizes[k]; i++)
            out[i] = xfer_pattern(k, i);
        us_time_t now = us_sim_now(n.sim);
        assert_int_equal(us_sendto(n.a.st, a, out, sizes[k], 0, &to, now), (ssize_t)sizes[k]);
        us_sim_run_until(n.sim, now + US_MS(10));
        struct us_pollfd p = {.fd = b, .events = US_POLLIN};
        assert_int_equal(us_poll(n.b.st, &p, 1, us_sim_now(n.sim)), 1);
        struct us_sockaddr from;
        ssize_t got = us_recvfrom(n.b.st, b, in, sizeof(in), 0, &from, us_sim_now(n.sim));
        assert_int_equal(got, (ssize_t)sizes[k]);
        assert_memory_equal(in, out, sizes[k]);
        assert_int_equal(from.addr, TU_IP_A);
        struct us_sockaddr me;
        us_getsockname(n.a.st, a, &me);
        assert_int_equal(from.port, me.port);
        assert_true(me.port >= 49152);
        assert_int_equal(us_recvfrom(n.b.st, b, in, sizeof(in), 0, &from, us_sim_now(n.sim)), -EAGAIN);
    }
    tu_net_free(&n);
}

static void udp_to_closed_port_draws_port_unreachable_and_econnrefused(void **s)
{
    (void)s;
    struct tu_net n;
    tu_net_init(&n, NULL);
    int a = us_socket(n.a.st, US_SOCK_DGRAM);
    struct us_sockaddr to = {TU_IP_B, 9};
    assert_int_equal(us_connect(n.a.st, a, &to, 0), 0);
    assert_int_equal(us_send(n.a.st, a, "x", 1, 0, 0), 1);
    us_sim_run_until(n.sim, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "udp.drop_no_port"), 1);
    struct us_pollfd p = {.fd = a, .events = US_POLLIN};
    us_poll(n.a.st, &p, 1, us_sim_now(n.sim));
    assert_true(p.revents & US_POLLERR);
    char buf[4];
    assert_int_equal(us_recv(n.a.st, a, buf, sizeof(buf), 0, us_sim_now(n.sim)), -ECONNREFUSED);
    assert_int_equal(us_recv(n.a.st, a, buf, sizeof(buf), 0, us_sim_now(n.sim)), -EAGAIN); /* reported once */
    struct us_icmp_error e;
    assert_int_equal(us_icmp_error_recv(n.a.st, &e), 1);
    assert_int_equal(e.type, 3);
    assert_int_equal(e.code, 3);
    assert_int_equal(e.orig_dport, 9);
    tu_net_free(&n);
}

static void udp_bind_conflicts_and_bad_descriptors_are_errors(void **s)
{
    (void)s;
    struct tu_net n;
    tu_net_init(&n, NULL);
    bound_udp(n.a.st, 5000, us_sim_now(n.sim));
    int x = us_socket(n.a.st, US_SOCK_DGRAM);
    struct us_sockaddr a = {0, 5000};
    assert_int_equal(us_bind(n.a.st, x, &a, us_sim_now(n.sim)), -EADDRINUSE);
    struct us_sockaddr foreign = {0x0a000001u, 5001};
    assert_int_equal(us_bind(n.a.st, x, &foreign, us_sim_now(n.sim)), -EADDRNOTAVAIL);
    assert_int_equal(us_send(n.a.st, 999, "x", 1, 0, 0), -EBADF);
    assert_int_equal(us_close(n.a.st, x, 0), 0);
    assert_int_equal(us_close(n.a.st, x, 0), -EBADF);
    assert_int_equal(us_socket(n.a.st, 99), -EPROTONOSUPPORT);
    tu_net_free(&n);
}

static void corrupted_udp_datagrams_are_counted_and_never_delivered(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 3};
    o.imp_a.tx.corrupt = 1.0;
    struct tu_net n;
    tu_net_init(&n, &o);
    int b = bound_udp(n.b.st, 7000, us_sim_now(n.sim));
    int a = us_socket(n.a.st, US_SOCK_DGRAM);
    struct us_sockaddr to = {TU_IP_B, 7000};
    uint8_t msg[200];
    memset(msg, 0x5a, sizeof(msg));
    for (int i = 0; i < 50; i++)
        us_sendto(n.a.st, a, msg, sizeof(msg), 0, &to, us_sim_now(n.sim));
    us_sim_run_until(n.sim, US_MS(100));
    uint8_t in[256];
    struct us_sockaddr from;
    assert_int_equal(us_recvfrom(n.b.st, b, in, sizeof(in), 0, &from, us_sim_now(n.sim)), -EAGAIN);
    assert_int_equal(tu_counter(n.b.st, "udp.drop_bad_checksum"), 50);
    tu_net_free(&n);
}

struct loss_run { uint32_t sent, got; };

static void run_lossy_pings(uint64_t seed, const char *pcap, struct loss_run *lr, struct tu_net *keep)
{
    struct tu_opts o = {.seed = seed, .pcap_prefix = pcap};
    o.imp_a.tx.loss = 0.1;
    o.imp_b.tx.loss = 0.1;
    delay_both(&o, US_MS(5));
    struct tu_net n;
    tu_net_init(&n, &o);
    us_sim_run_until(n.sim, US_MS(100));
    lr->sent = lr->got = 0;
    for (int i = 0; i < 200; i++) {
        us_time_t t = us_sim_now(n.sim);
        us_ping_send(n.a.st, TU_IP_B, 9, (uint16_t)i, 100, t);
        lr->sent++;
        us_sim_run_until(n.sim, t + US_MS(100));
        struct us_ping_reply r;
        while (us_ping_recv(n.a.st, 9, &r) == 1) {
            assert_true(r.data_ok);
            lr->got++;
        }
    }
    if (keep)
        *keep = n;
    else
        tu_net_free(&n);
}

static void lossy_link_loses_pings_reproducibly_and_counters_agree(void **s)
{
    (void)s;
    struct loss_run r1, r2;
    struct tu_net n;
    run_lossy_pings(11, "lossy1", &r1, &n);
    /* about 19% of echoes lose the request or the reply */
    assert_true(r1.got > 140 && r1.got < 190);
    uint64_t lost_ab = us_stack_dev(n.a.st)->stats.impair_loss; /* capture → impair: top is capture */
    (void)lost_ab;
    uint64_t b_replied = tu_counter(n.b.st, "icmp.echo_replied");
    assert_int_equal(b_replied + n.a.imp->stats.impair_loss, 200);           /* requests lost on A's tx */
    assert_int_equal(r1.got + n.b.imp->stats.impair_loss, b_replied);        /* replies lost on B's tx */
    tu_net_free(&n);
    run_lossy_pings(11, "lossy2", &r2, NULL);
    assert_int_equal(r1.got, r2.got);
    /* same seed, same bytes: the two captures are identical */
    char p1[512], p2[512];
    snprintf(p1, sizeof(p1), "%s/lossy1-a.pcap", tu_tmpdir());
    snprintf(p2, sizeof(p2), "%s/lossy2-a.pcap", tu_tmpdir());
    FILE *f1 = fopen(p1, "rb"), *f2 = fopen(p2, "rb");
    assert_non_null(f1);
    assert_non_null(f2);
    static uint8_t b1[1 << 20], b2[1 << 20];
    size_t n1 = fread(b1, 1, sizeof(b1), f1), n2 = fread(b2, 1, sizeof(b2), f2);
    fclose(f1);
    fclose(f2);
    assert_true(n1 > 1000);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_rtt_is_exactly_twice_the_link_delay),
        cmocka_unit_test(simulator_reports_deadlock_when_nothing_is_pending),
        cmocka_unit_test(udp_datagrams_arrive_byte_exact_including_fragmented_ones),
        cmocka_unit_test(udp_to_closed_port_draws_port_unreachable_and_econnrefused),
        cmocka_unit_test(udp_bind_conflicts_and_bad_descriptors_are_errors),
        cmocka_unit_test(corrupted_udp_datagrams_are_counted_and_never_delivered),
        cmocka_unit_test(lossy_link_loses_pings_reproducibly_and_counters_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
