/* Receive-window updates driven by the application's reads. */
#include "test_tcp_helpers.h"

static void set_rcvbuf_64k(struct us_config *cfg, int host, void *arg)
{
    (void)arg;
    if (host == 1)
        cfg->tcp_rcvbuf = 65536;
}

/* B's 64 KiB buffer fills in slow start: 45 full segments (1448 bytes) leave
 * 376 bytes, the last ACK advertised 1824 (more than one MSS, so R3 does not
 * apply) and the 45th segment waits for a delayed ACK. One read of everything
 * opens the window from 376 bytes to 64 KiB: the update leaves in the same step
 * as the read, not when the delayed-ACK timer fires, and A's data follows one
 * link delay after that. */
static void read_that_doubles_a_small_open_window_sends_the_update_at_once(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 4, .cfg_hook = set_rcvbuf_64k};
    o.imp_a.tx.delay = US_MS(5);
    o.imp_b.tx.delay = US_MS(5);
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &o);
    int lfd = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim)), a, b;
    tt_pair(&n, lfd, 80, &a, &b);
    static uint8_t buf[1 << 20];
    memset(buf, 7, sizeof(buf));
    assert_true(us_send(n.a.st, a, buf, 200000, 0, tt_now(&n)) > 0);
    tt_run(&n, US_MS(30)); /* three round trips of slow start fill B's buffer; B does not read */
    struct us_tcp_info ti;
    us_tcp_info(n.b.st, b, &ti);
    assert_int_equal(ti.recv_queue, 45 * 1448);
    /* read everything: the open window grows from < 32 KiB to 64 KiB */
    us_time_t t_read = tt_now(&n);
    size_t before = tr.n;
    ssize_t got = us_recv(n.b.st, b, buf, sizeof(buf), 0, t_read);
    assert_true(got > 32768);
    tt_run(&n, US_MS(100));
    bool update = false, data = false;
    for (size_t i = before; i < tr.n; i++) {
        const struct seg *g = &tr.v[i];
        if (g->host == 1 && g->len == 0 && !update) {
            assert_int_equal(g->t, t_read); /* same step as the read */
            update = true;
        }
        if (g->host == 0 && g->len > 0 && !data) {
            assert_true(update);
            assert_int_equal(g->t, t_read + US_MS(5)); /* A sends as soon as it arrives */
            data = true;
        }
    }
    assert_true(update);
    assert_true(data);
    tt_free(&n, &tr);
}

/* A reader that drains B's 64 KiB buffer every 10 ms (an application that
 * reads in batches) is never paced by the delayed-ACK timer: each drain sends
 * the window update at once, so 4 MB take about 64 x 10 ms, not 64 x 40 ms. */
static void batch_reader_is_not_paced_by_delayed_acks(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 5, .cfg_hook = set_rcvbuf_64k};
    struct us_impair_dir d = {.delay = US_US(50), .rate_bps = 1000000000ull, .queue_bytes = 1 << 20};
    o.imp_a.tx = d;
    o.imp_b.tx = d;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &o);
    tr.on = false;
    int lfd = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim)), a, b;
    tt_pair(&n, lfd, 80, &a, &b);
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 4 << 20, .seed = 5};
    us_time_t t0 = tt_now(&n);
    while (x.got < x.total && tt_now(&n) < t0 + US_SEC(30)) {
        xfer_send(&x, tt_now(&n));
        tt_run(&n, US_MS(10));
        xfer_recv(&x, UINT64_MAX, tt_now(&n));   /* B drains what arrived */
    }
    us_time_t took = tt_now(&n) - t0;
    printf("4 MB, B drains its 64 KiB buffer every 10 ms: %.0f ms virtual\n", (double)took / 1e6);
    assert_int_equal(x.got, x.total);
    assert_false(x.bad);
    assert_int_equal(x.err, 0);
    assert_true(took <= US_MS(64 * 10 + 100));
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_that_doubles_a_small_open_window_sends_the_update_at_once),
        cmocka_unit_test(batch_reader_is_not_paced_by_delayed_acks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
