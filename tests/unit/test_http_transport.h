/* Checks of the transport interface (include/ustack/transport.h) that every
 * backend must pass, written once: the kernel backend runs them over loopback
 * (tests/unit/test_http_transport.c), the ustack backend between two
 * simulated hosts (tests/scenario/test_transport.c). */
#ifndef TEST_HTTP_TRANSPORT_H
#define TEST_HTTP_TRANSPORT_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/transport.h>

struct tp_pair {
    struct us_tp *srv, *cli;   /* the same transport, or two on one driver */
    us_ip4_t srv_ip;           /* the server's address as the client reaches it */
    us_time_t patience;        /* how long a check waits for one event */
};

static inline uint8_t tp_pattern(size_t i) { return (uint8_t)(i * 7 + (i >> 8)); }

/* The next event of `fd` on `t` that has any of `mask`; other events are
 * dropped (readiness is level-triggered: they come back). Fails after
 * p->patience. */
static unsigned tp_wait_for(const struct tp_pair *p, struct us_tp *t, int fd, unsigned mask, void **ctx)
{
    us_time_t limit = us_tp_now(t) + p->patience;
    for (;;) {
        struct us_tp_event ev[16];
        us_time_t now = us_tp_now(t);
        int n = us_tp_poll(t, ev, 16, now);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++)
            if (ev[i].fd == fd && (ev[i].events & mask)) {
                if (ctx)
                    *ctx = ev[i].ctx;
                return ev[i].events;
            }
        if (now >= limit)
            fail_msg("%s: no event 0x%x on descriptor %d", us_tp_name(t), mask, fd);
        us_time_t d = now + US_MS(10);
        assert_int_equal(us_tp_wait(t, d < limit ? d : limit), 0);
    }
}

/* Reads exactly len bytes (or until EOF when len is SIZE_MAX); returns the count. */
static size_t tp_read_all(const struct tp_pair *p, struct us_tp *t, int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = us_tp_read(t, fd, buf + got, len - got, us_tp_now(t));
        if (n == 0)
            break;
        if (n == -EAGAIN) {
            tp_wait_for(p, t, fd, US_TP_READ | US_TP_HUP | US_TP_ERR, NULL);
            continue;
        }
        assert_true(n > 0);
        got += (size_t)n;
    }
    return got;
}

static void tp_write_all(const struct tp_pair *p, struct us_tp *t, int fd, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = us_tp_write(t, fd, buf + off, len - off, us_tp_now(t));
        if (n == -EAGAIN) {
            tp_wait_for(p, t, fd, US_TP_WRITE, NULL);
            continue;
        }
        assert_true(n > 0);
        off += (size_t)n;
    }
}

/* A listener on an ephemeral port of the server's address. */
static int tp_listener(const struct tp_pair *p, uint16_t *port)
{
    struct us_tp_addr any = {0, 0};
    int l = us_tp_listen(p->srv, &any, 16, us_tp_now(p->srv));
    assert_true(l >= 0);
    struct us_tp_addr la;
    assert_int_equal(us_tp_local_addr(p->srv, l, &la), 0);
    assert_true(la.port != 0);
    *port = la.port;
    return l;
}

/* Connect, accept, writev, a 200 kB reply, half-close both ways, EOF. */
static void tp_check_stream(const struct tp_pair *p)
{
    static int lctx, cctx;
    uint16_t port;
    int l = tp_listener(p, &port);
    assert_int_equal(us_tp_watch(p->srv, l, US_TP_READ, &lctx), 0);
    struct us_tp_addr to = {p->srv_ip, port};
    int c = us_tp_connect(p->cli, &to, us_tp_now(p->cli));
    assert_true(c >= 0);
    assert_int_equal(us_tp_watch(p->cli, c, US_TP_WRITE, &cctx), 0);
    void *ctx = NULL;
    assert_true(tp_wait_for(p, p->cli, c, US_TP_WRITE, &ctx) & US_TP_WRITE);
    assert_ptr_equal(ctx, &cctx);
    assert_int_equal(us_tp_error(p->cli, c), 0);
    tp_wait_for(p, p->srv, l, US_TP_READ, &ctx);
    assert_ptr_equal(ctx, &lctx);
    struct us_tp_addr peer, cl;
    int s = us_tp_accept(p->srv, l, &peer, us_tp_now(p->srv));
    assert_true(s >= 0);
    assert_int_equal(us_tp_accept(p->srv, l, NULL, us_tp_now(p->srv)), -EAGAIN);
    assert_int_equal(us_tp_local_addr(p->cli, c, &cl), 0);
    assert_int_equal(peer.ip, cl.ip);
    assert_int_equal(peer.port, cl.port);
    assert_int_equal(us_tp_setopt(p->srv, s, US_TP_NODELAY, 1, us_tp_now(p->srv)), 0);
    assert_int_equal(us_tp_setopt(p->srv, s, 999, 1, us_tp_now(p->srv)), -ENOPROTOOPT);

    /* nothing to read yet */
    uint8_t buf[64];
    assert_int_equal(us_tp_read(p->srv, s, buf, sizeof(buf), us_tp_now(p->srv)), -EAGAIN);
    struct iovec iov[3] = {{"GET ", 4}, {"", 0}, {"/ HTTP/1.1\r\n", 12}};
    assert_int_equal(us_tp_writev(p->cli, c, iov, 3, us_tp_now(p->cli)), 16);
    assert_int_equal(us_tp_watch(p->srv, s, US_TP_READ, NULL), 0);
    assert_int_equal(tp_read_all(p, p->srv, s, buf, 16), 16);
    assert_memory_equal(buf, "GET / HTTP/1.1\r\n", 16);

    size_t big = 200000;
    uint8_t *out = malloc(big), *in = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        out[i] = tp_pattern(i);
    assert_int_equal(us_tp_watch(p->srv, s, US_TP_READ | US_TP_WRITE, NULL), 0);
    assert_int_equal(us_tp_watch(p->cli, c, US_TP_READ, &cctx), 0);
    /* the client reads while the server writes: neither buffer holds it all */
    size_t sent = 0, got = 0;
    us_time_t limit = us_tp_now(p->cli) + p->patience;
    while (got < big) {
        if (sent < big) {
            ssize_t n = us_tp_write(p->srv, s, out + sent, big - sent, us_tp_now(p->srv));
            assert_true(n > 0 || n == -EAGAIN);
            if (n > 0)
                sent += (size_t)n;
        }
        ssize_t n = us_tp_read(p->cli, c, in + got, big + 1 - got, us_tp_now(p->cli));
        assert_true(n > 0 || n == -EAGAIN);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        assert_true(us_tp_now(p->cli) < limit);
        assert_int_equal(us_tp_wait(p->cli, us_tp_now(p->cli) + US_MS(10)), 0);
    }
    assert_int_equal(got, big);
    assert_memory_equal(in, out, big);

    /* the client ends its side: the server reads EOF, and can still answer */
    assert_int_equal(us_tp_shutdown(p->cli, c, us_tp_now(p->cli)), 0);
    assert_int_equal(tp_read_all(p, p->srv, s, buf, sizeof(buf)), 0);
    tp_write_all(p, p->srv, s, (const uint8_t *)"bye", 3);
    assert_int_equal(us_tp_close(p->srv, s, us_tp_now(p->srv)), 0);
    assert_int_equal(tp_read_all(p, p->cli, c, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "bye", 3);
    assert_int_equal(us_tp_close(p->cli, c, us_tp_now(p->cli)), 0);
    assert_int_equal(us_tp_close(p->srv, l, us_tp_now(p->srv)), 0);
    free(out);
    free(in);
}

/* A connect to a port nobody listens on ends in ECONNREFUSED, reported as
 * readiness (not by the connect call) and by us_tp_error. */
static void tp_check_refused(const struct tp_pair *p)
{
    uint16_t port;
    int l = tp_listener(p, &port);
    us_tp_close(p->srv, l, us_tp_now(p->srv));
    struct us_tp_addr to = {p->srv_ip, port};
    int c = us_tp_connect(p->cli, &to, us_tp_now(p->cli));
    assert_true(c >= 0);
    assert_int_equal(us_tp_watch(p->cli, c, US_TP_WRITE, NULL), 0);
    assert_true(tp_wait_for(p, p->cli, c, US_TP_WRITE | US_TP_ERR | US_TP_HUP, NULL) & (US_TP_ERR | US_TP_HUP));
    assert_int_equal(us_tp_error(p->cli, c), -ECONNREFUSED);
    assert_int_equal(us_tp_close(p->cli, c, us_tp_now(p->cli)), 0);
}

/* Interest: no events without it, each context with its descriptor, every
 * ready descriptor served when fewer fit in one poll, nothing from a closed
 * one. */
static void tp_check_watch(const struct tp_pair *p)
{
    static int ctx_a, ctx_b;
    uint16_t port;
    int l = tp_listener(p, &port);
    struct us_tp_addr to = {p->srv_ip, port};
    int c1 = us_tp_connect(p->cli, &to, us_tp_now(p->cli));
    int c2 = us_tp_connect(p->cli, &to, us_tp_now(p->cli));
    assert_int_equal(us_tp_watch(p->srv, l, US_TP_READ, NULL), 0);
    assert_int_equal(us_tp_watch(p->cli, c1, US_TP_WRITE, NULL), 0);
    assert_int_equal(us_tp_watch(p->cli, c2, US_TP_WRITE, NULL), 0);
    tp_wait_for(p, p->cli, c1, US_TP_WRITE, NULL);
    tp_wait_for(p, p->cli, c2, US_TP_WRITE, NULL);
    int s[2];
    for (int i = 0; i < 2; i++) {
        while ((s[i] = us_tp_accept(p->srv, l, NULL, us_tp_now(p->srv))) == -EAGAIN)
            tp_wait_for(p, p->srv, l, US_TP_READ, NULL);
        assert_true(s[i] >= 0);
    }
    /* both server sides readable, one event per poll: both come up in two polls */
    tp_write_all(p, p->cli, c1, (const uint8_t *)"a", 1);
    tp_write_all(p, p->cli, c2, (const uint8_t *)"b", 1);
    /* from here on only the two server sides are watched (the transports may
     * be one) */
    assert_int_equal(us_tp_watch(p->srv, l, 0, NULL), 0);
    assert_int_equal(us_tp_watch(p->cli, c1, 0, NULL), 0);
    assert_int_equal(us_tp_watch(p->cli, c2, 0, NULL), 0);
    assert_int_equal(us_tp_watch(p->srv, s[0], US_TP_READ, &ctx_a), 0);
    assert_int_equal(us_tp_watch(p->srv, s[1], US_TP_READ, &ctx_b), 0);
    tp_wait_for(p, p->srv, s[0], US_TP_READ, NULL);
    tp_wait_for(p, p->srv, s[1], US_TP_READ, NULL);
    bool seen[2] = {false, false};
    for (int k = 0; k < 2; k++) {
        struct us_tp_event ev;
        assert_int_equal(us_tp_poll(p->srv, &ev, 1, us_tp_now(p->srv)), 1);
        int i = ev.fd == s[0] ? 0 : 1;
        assert_int_equal(ev.fd, s[i]);
        assert_ptr_equal(ev.ctx, i ? (void *)&ctx_b : (void *)&ctx_a);
        assert_true(ev.events & US_TP_READ);
        seen[i] = true;
    }
    assert_true(seen[0] && seen[1]);
    /* without interest, a readable descriptor is not reported */
    assert_int_equal(us_tp_watch(p->srv, s[0], 0, NULL), 0);
    struct us_tp_event ev[4];
    int n = us_tp_poll(p->srv, ev, 4, us_tp_now(p->srv));
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].fd, s[1]);
    /* a closed descriptor is gone from the watch set */
    us_tp_close(p->srv, s[1], us_tp_now(p->srv));
    assert_int_equal(us_tp_poll(p->srv, ev, 4, us_tp_now(p->srv)), 0);
    us_tp_close(p->srv, s[0], us_tp_now(p->srv));
    us_tp_close(p->cli, c1, us_tp_now(p->cli));
    us_tp_close(p->cli, c2, us_tp_now(p->cli));
    us_tp_close(p->srv, l, us_tp_now(p->srv));
}

/* A wait with nothing ready lasts until its deadline (never returns early);
 * us_tp_run calls the step until `until` and stops when asked. */
struct tp_run_arg { int calls; us_time_t first, last, every; bool stop_at_3; volatile bool stop; };

static us_time_t tp_run_step(void *arg, us_time_t now)
{
    struct tp_run_arg *a = arg;
    if (!a->calls++)
        a->first = now;
    a->last = now;
    if (a->stop_at_3 && a->calls == 3)
        a->stop = true;
    return now + a->every;
}

static void tp_check_time(const struct tp_pair *p, us_time_t *waited_until)
{
    uint16_t port;
    int l = tp_listener(p, &port);
    assert_int_equal(us_tp_watch(p->srv, l, US_TP_READ, NULL), 0);
    us_time_t d = us_tp_now(p->srv) + US_MS(30);
    while (us_tp_now(p->srv) < d) {
        assert_int_equal(us_tp_wait(p->srv, d), 0);
        struct us_tp_event ev;
        assert_int_equal(us_tp_poll(p->srv, &ev, 1, us_tp_now(p->srv)), 0);
    }
    *waited_until = us_tp_now(p->srv);
    assert_true(*waited_until >= d);

    struct tp_run_arg a = {.every = US_MS(10)};
    us_time_t until = us_tp_now(p->srv) + US_MS(45);
    assert_int_equal(us_tp_run(p->srv, tp_run_step, &a, &a.stop, until), 0);
    assert_true(a.last >= until);
    assert_true(a.calls >= 2);
    struct tp_run_arg b = {.every = US_MS(1), .stop_at_3 = true};
    assert_int_equal(us_tp_run(p->srv, tp_run_step, &b, &b.stop, US_TIME_NEVER), 0);
    assert_int_equal(b.calls, 3);
    us_tp_close(p->srv, l, us_tp_now(p->srv));
}

#endif
