/* Delivery-rate sampling (draft-cheng-iccrg-delivery-rate-estimation) in
 * the simulator: a bulk flow through a bottleneck measures the bottleneck's
 * rate; a sender that writes less than the path carries is flagged
 * application-limited. */
#include "test_tcp_helpers.h"

static struct us_tcp_info info_of(struct us_stack *st, int fd)
{
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(st, fd, &ti), 0);
    return ti;
}

static void big_buffers(struct us_config *cfg, int host, void *arg)
{
    (void)host;
    (void)arg;
    cfg->tcp_sndbuf = 4u << 20;
    cfg->tcp_rcvbuf = 4u << 20;
}

#define RATE 20000000ull            /* bits/s of frames */
#define OWD US_MS(20)
/* payload bytes/s at the bottleneck: 1448 of every 1514-byte frame (timestamps) */
#define PAYLOAD_BPS (RATE / 8 * 1448 / 1514)

static void bulk_flow_measures_the_bottleneck_rate(void **state)
{
    (void)state;
    struct tu_opts o = {.seed = 1, .cfg_hook = big_buffers};
    o.imp_a.tx.delay = OWD;
    o.imp_a.tx.rate_bps = RATE;
    o.imp_a.tx.queue_bytes = 400000;
    o.imp_b.tx.delay = OWD;
    struct tu_net n;
    tu_net_init(&n, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    struct xfer f = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .total = XFER_ENDLESS, .seed = 3};
    tt_pair(&n, l, 80, &f.sfd, &f.dfd);
    struct us_tcp_info ti = info_of(n.a.st, f.sfd);
    assert_true(ti.delivery_rate == 0);            /* nothing delivered yet */
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(xfer_run(&f, US_MS(500) * (us_time_t)i), -ETIMEDOUT);
        ti = info_of(n.a.st, f.sfd);
        print_message("%.1f s: delivery rate %.3f Mbit/s%s, delivered %llu, acked %llu, min rtt %.2f ms, cwnd %u\n",
                      i / 2.0, ti.delivery_rate * 8 / 1e6, ti.delivery_rate_app_limited ? " (app-limited)" : "",
                      (unsigned long long)ti.delivered, (unsigned long long)ti.bytes_acked, ti.min_rtt / 1e6,
                      ti.cwnd);
        if (i < 2)
            continue;
        /* once the pipe is full every sample is the bottleneck's rate */
        assert_true(ti.delivery_rate >= PAYLOAD_BPS * 97 / 100);
        assert_true(ti.delivery_rate <= PAYLOAD_BPS * 103 / 100);
        assert_false(ti.delivery_rate_app_limited);
        /* every acknowledged byte was counted as delivered, SACKed ones ahead of the ACK */
        assert_true(ti.delivered >= ti.bytes_acked && ti.delivered <= ti.bytes_sent);
        assert_true(ti.min_rtt >= 2 * OWD && ti.min_rtt < 2 * OWD + US_MS(2));
    }
    tu_net_free(&n);
}

/* 8 kB every 20 ms (3.2 Mbit/s) on a 20 Mbit/s path: the application
 * limits the flow, and every sample says so. */
static void app_limited_sender_is_flagged_and_below_the_path_rate(void **state)
{
    (void)state;
    struct tu_opts o = {.seed = 2, .cfg_hook = big_buffers};
    o.imp_a.tx.delay = OWD;
    o.imp_a.tx.rate_bps = RATE;
    o.imp_b.tx.delay = OWD;
    struct tu_net n;
    tu_net_init(&n, &o);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    static uint8_t buf[8192], sink[65536];
    for (int i = 0; i < 100; i++) {
        assert_int_equal(us_send(n.a.st, a, buf, sizeof(buf), 0, tt_now(&n)), (ssize_t)sizeof(buf));
        tt_run(&n, US_MS(20));
        while (us_recv(n.b.st, b, sink, sizeof(sink), 0, tt_now(&n)) > 0)
            ;
        struct us_tcp_info t = info_of(n.a.st, a);
        if (i >= 3) {                                /* the first ACKs came back */
            if (t.delivery_rate == 0 || t.delivery_rate >= PAYLOAD_BPS / 2)
                fail_msg("write %d: delivery rate %llu B/s", i, (unsigned long long)t.delivery_rate);
            assert_true(t.delivery_rate_app_limited);
        }
    }
    tt_run(&n, US_MS(200));                          /* the last ACKs come home */
    struct us_tcp_info ti = info_of(n.a.st, a);
    print_message("app-limited: delivery rate %.3f Mbit/s%s, delivered %llu\n", ti.delivery_rate * 8 / 1e6,
                  ti.delivery_rate_app_limited ? " (app-limited)" : "", (unsigned long long)ti.delivered);
    assert_true(ti.delivery_rate_app_limited);
    assert_true(ti.delivery_rate < PAYLOAD_BPS / 2);
    assert_int_equal(ti.delivered, 100u * sizeof(buf));
    tu_net_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bulk_flow_measures_the_bottleneck_rate),
        cmocka_unit_test(app_limited_sender_is_flagged_and_below_the_path_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
