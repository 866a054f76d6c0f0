/* The send predicate's reason at work (STALL.md S1, S2, S3, S11): each test
 * makes A hold data for one reason, reads the reason back from us_tcp_info
 * and from A's debug log (the per-connection trace), checks which timer
 * covers the held data, and asserts on the wire when the data leaves.
 * Net: RTT 20 ms, MSS 1000 (MTU 1040, no timestamps). */
#include "test_tcp_helpers.h"
#include "tcp/tcp_int.h"

static void no_timestamps(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_timestamps = false;   /* segments carry exactly MSS = 1000 bytes */
}

#define LOG_MAX 4096
struct logbuf {
    size_t n;
    us_time_t t[LOG_MAX];
    char line[LOG_MAX][192];
};

static void log_fn(void *arg, int level, us_time_t now, const char *msg)
{
    struct logbuf *lb = arg;
    (void)level;
    if (lb->n < LOG_MAX) {
        lb->t[lb->n] = now;
        snprintf(lb->line[lb->n], sizeof(lb->line[0]), "%s", msg);
        lb->n++;
    }
}

/* Time of the first log line at or after `from` that contains `what`; fails if none. */
static us_time_t logged(const struct logbuf *lb, us_time_t from, const char *what)
{
    for (size_t i = 0; i < lb->n; i++)
        if (lb->t[i] >= from && strstr(lb->line[i], what))
            return lb->t[i];
    fail_msg("no log line with \"%s\" from %llu ns", what, (unsigned long long)from);
    return 0;
}

struct fx {
    struct tu_net n;
    struct trace tr;
    int a, b;
    struct us_tcb *ta;           /* A's control block: which timer covers the data */
    struct logbuf log;
    uint8_t buf[16384];
};

/* A connected to B:80; B's receive buffer `rcvbuf` (0 = default), B reads
 * only when told; A's debug log captured; trace cleared. */
static struct fx *setup(int rcvbuf)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    struct tu_opts o = {.mtu = 1040, .cfg_hook = no_timestamps};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(&x->n, &x->tr, &o);
    int l = us_socket(x->n.b.st, US_SOCK_STREAM);
    if (rcvbuf)
        tt_setint(x->n.b.st, l, US_SOL_SOCKET, US_SO_RCVBUF, rcvbuf, us_sim_now(x->n.sim));
    struct us_sockaddr p = {0, 80};
    assert_int_equal(us_bind(x->n.b.st, l, &p, us_sim_now(x->n.sim)), 0);
    assert_int_equal(us_listen(x->n.b.st, l, 4, us_sim_now(x->n.sim)), 0);
    tt_pair(&x->n, l, 80, &x->a, &x->b);
    tt_run(&x->n, US_MS(100));
    struct us_sockaddr la;
    assert_int_equal(us_getsockname(x->n.a.st, x->a, &la), 0);
    x->ta = tcp_lookup(x->n.a.st, TU_IP_A, la.port, TU_IP_B, 80);
    assert_non_null(x->ta);
    us_stack_set_log(x->n.a.st, US_LOG_DEBUG, log_fn, &x->log);
    tt_clear(&x->tr);
    return x;
}

static void teardown(struct fx *x)
{
    tt_free(&x->n, &x->tr);
    free(x);
}

static const char *reason_now(struct fx *x)
{
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(x->n.a.st, x->a, &ti), 0);
    assert_non_null(ti.send_reason);
    return ti.send_reason;
}

/* STALL.md T0 = max(RTO, 200 ms): the first persist interval. */
static us_time_t persist_t0(struct fx *x)
{
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(x->n.a.st, x->a, &ti), 0);
    return ti.rto > US_MS(200) ? ti.rto : US_MS(200);
}

static void send_n(struct fx *x, size_t len)
{
    memset(x->buf, 'x', len);
    assert_int_equal(us_send(x->n.a.st, x->a, x->buf, len, 0, tt_now(&x->n)), (ssize_t)len);
}

/* Data segments A sent. */
static size_t a_count(const struct trace *tr)
{
    size_t c = 0;
    for (size_t i = 0; i < tr->n; i++)
        c += tr->v[i].host == 0 && tr->v[i].len > 0;
    return c;
}

/* Trace index of A's k-th data segment (0-based); fails if there is none. */
static size_t a_nth(const struct trace *tr, size_t k)
{
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == 0 && tr->v[i].len > 0 && k-- == 0)
            return i;
    fail_msg("A sent no data segment #%zu", k);
    return 0;
}

/* The last ACK B sent up to trace index `before`. */
static const struct seg *b_last_ack(const struct trace *tr, size_t before)
{
    const struct seg *s = NULL;
    for (size_t i = 0; i < before && i < tr->n; i++)
        if (tr->v[i].host == 1 && (tr->v[i].flags & F_ACK))
            s = &tr->v[i];
    assert_non_null(s);
    return s;
}

static bool covers_flight(const struct us_tcb *t) { return t->tkind == TK_REXMT || t->tkind == TK_RACK || t->tkind == TK_TLP; }

/* A writes `total` bytes; after one flight of `segs` segments and its ACKs
 * A holds for `reason` with nothing in flight, under the persist timer. */
static us_time_t held_after_flight(struct fx *x, size_t total, size_t segs, int reason, const char *logline)
{
    us_time_t t0 = tt_now(&x->n);
    send_n(x, total);
    tt_run(&x->n, US_MS(100));
    assert_int_equal(a_count(&x->tr), segs);
    assert_string_equal(reason_now(x), tcp_send_reason_name(reason));
    logged(&x->log, t0, logline);
    assert_int_equal(x->ta->snd_max, x->ta->snd_una);   /* nothing in flight ... */
    assert_int_equal(x->ta->tkind, TK_PERSIST);         /* ... and the persist timer covers the hold */
    return t0;
}

/* S11: a small write while data is in flight waits (Nagle), under the
 * retransmission timer, and leaves in the step that processes the ACK. */
static void test_nagle_holds_small_segment_until_ack(void **state)
{
    (void)state;
    struct fx *x = setup(0);
    us_time_t t0 = tt_now(&x->n);
    send_n(x, 100);
    assert_string_equal(reason_now(x), tcp_send_reason_name(TS_HOLD_NOTHING));
    logged(&x->log, t0, "send: all queued data, nothing in flight or nodelay (len 100");
    send_n(x, 100);
    assert_string_equal(reason_now(x), tcp_send_reason_name(TS_HOLD_NAGLE));
    logged(&x->log, t0, "hold: Nagle: small segment while data in flight (len 100, unsent 100, in flight 100");
    assert_true(covers_flight(x->ta));
    assert_int_equal(a_count(&x->tr), 1);       /* only the first 100 bytes crossed */
    tt_run(&x->n, US_MS(200));
    assert_int_equal(a_count(&x->tr), 2);
    size_t i = a_nth(&x->tr, 1);
    const struct seg *ack = b_last_ack(&x->tr, i);
    assert_int_equal(ack->ack, x->tr.v[i].seq);          /* the ACK of the first write ... */
    assert_int_equal(x->tr.v[i].t, ack->t + US_MS(10));  /* ... released the second on arrival */
    assert_int_equal(x->tr.v[i].len, 100);
    assert_string_equal(reason_now(x), tcp_send_reason_name(TS_HOLD_NOTHING));
    teardown(x);
}

/* S1, S2, S3 (STALL.md scenario 1): after one flight B's window is 81 bytes.
 * A holds for SWS avoidance with nothing in flight, under the persist timer
 * — the window is small, not zero — and after T0 = max(RTO, 200 ms) sends
 * exactly the 81 bytes, forced. */
static void test_sws_hold_is_covered_by_persist_and_forced_after_t0(void **state)
{
    (void)state;
    struct fx *x = setup(8081);
    us_time_t t0 = held_after_flight(x, 9000, 8, TS_HOLD_SWS, "hold: sender SWS avoidance (len 81");
    us_time_t t_zero = persist_t0(x);
    size_t last = a_nth(&x->tr, 7);
    const struct seg *ack = b_last_ack(&x->tr, x->tr.n);
    assert_int_equal(ack->ack, x->tr.v[last].seq + 1000);
    assert_int_equal(ack->wnd, 81);
    tt_run(&x->n, US_SEC(1));
    size_t i = a_nth(&x->tr, 8);
    assert_int_equal(x->tr.v[i].len, 81);
    assert_int_equal(x->tr.v[i].t, ack->t + US_MS(10) + t_zero);
    assert_int_equal(logged(&x->log, t0, "send: forced by the persist timer (len 81"), x->tr.v[i].t);
    teardown(x);
}

/* S2, S3: a full window holds with the window reason and nothing in flight;
 * the persist timer then sends a probe that forces an ACK (SEQ = SND.UNA - 1). */
static void test_window_full_holds_and_persist_probes(void **state)
{
    (void)state;
    struct fx *x = setup(4000);
    held_after_flight(x, 9000, 4, TS_HOLD_WINDOW, "hold: peer window closed or shrunk (len 0, unsent 5000");
    assert_int_equal(tu_counter(x->n.a.st, "tcp.persist_probes"), 0);
    const struct seg *ack = b_last_ack(&x->tr, x->tr.n);
    assert_int_equal(ack->wnd, 0);
    us_time_t t_zero = persist_t0(x);
    uint32_t una = ack->ack;
    size_t before = x->tr.n;
    tt_run(&x->n, t_zero);
    assert_int_equal(tu_counter(x->n.a.st, "tcp.persist_probes"), 1);
    assert_true(x->tr.n > before);
    const struct seg *probe = &x->tr.v[before];
    assert_int_equal(probe->host, 0);
    assert_int_equal(probe->len, 0);
    assert_int_equal(probe->seq, una - 1);
    assert_int_equal(probe->t, ack->t + US_MS(10) + t_zero);
    assert_int_equal(x->ta->tkind, TK_PERSIST);          /* still held: the next probe is due */
    teardown(x);
}

/* A corked partial segment is held with the cork reason, under the persist
 * timer, and leaves when it fires (at most T0 after the write). */
static void test_cork_holds_partial_segment_until_persist(void **state)
{
    (void)state;
    struct fx *x = setup(0);
    tt_setint(x->n.a.st, x->a, US_IPPROTO_TCP, US_TCP_CORK, 1, us_sim_now(x->n.sim));
    us_time_t t0 = tt_now(&x->n);
    send_n(x, 300);
    assert_string_equal(reason_now(x), tcp_send_reason_name(TS_HOLD_CORK));
    logged(&x->log, t0, "hold: corked (len 300");
    assert_int_equal(x->ta->tkind, TK_PERSIST);
    us_time_t t_zero = persist_t0(x);
    tt_run(&x->n, t_zero + US_MS(50));
    assert_int_equal(a_count(&x->tr), 1);
    size_t i = a_nth(&x->tr, 0);
    assert_int_equal(x->tr.v[i].len, 300);
    assert_int_equal(x->tr.v[i].t, t0 + t_zero);
    teardown(x);
}

/* A window larger than the congestion window: after the initial window A
 * holds for cwnd with data in flight, under the retransmission timer (S2). */
static void test_cwnd_full_holds_under_retransmission_timer(void **state)
{
    (void)state;
    struct fx *x = setup(0);
    us_time_t t0 = tt_now(&x->n);
    send_n(x, 16000);
    assert_string_equal(reason_now(x), tcp_send_reason_name(TS_HOLD_CWND));
    logged(&x->log, t0, "hold: congestion window full (len 0, unsent 6000, in flight 10000");
    assert_int_equal(a_count(&x->tr), 10);      /* RFC 6928: IW = 10 segments */
    assert_true(covers_flight(x->ta));
    teardown(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nagle_holds_small_segment_until_ack),
        cmocka_unit_test(test_sws_hold_is_covered_by_persist_and_forced_after_t0),
        cmocka_unit_test(test_window_full_holds_and_persist_probes),
        cmocka_unit_test(test_cork_holds_partial_segment_until_persist),
        cmocka_unit_test(test_cwnd_full_holds_under_retransmission_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
