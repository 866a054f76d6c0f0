/* SYN cookies (RFC 4987 3.6, src/tcp/tcp_cookie.c). B listens with a SYN
 * queue bound of 1 (US_TCP_SYNQ_MAX); a handshake that never completes (its SYN-ACK is lost on the way to A)
 * fills the SYN queue, so the next SYN draws a cookie SYN-ACK. The tests check
 * what crossed the wire, the options the cookie connection ends up with, that
 * forged and stale ACKs create nothing and are counted, and that a cookie
 * connection survives losing its first segments. */
#include "test_tcp_helpers.h"

#define PORT 80
#define FILL_SEQ 100u                    /* the SYN that fills B's SYN queue */

/* A segment from src (port r.sport) straight into B's stack. */
static void inject_from(struct tu_net *n, us_ip4_t src, struct us_tcp_repr r)
{
    r.dport = PORT;
    if (!(r.flags & US_TH_SYN))
        r.wscale = -1;
    tt_inject(n, src, TU_IP_B, &r, 0);
}

static void inject(struct tu_net *n, struct us_tcp_repr r) { inject_from(n, TU_IP_A, r); }

struct rules { int drop_hs_ack, drop_data; size_t first_len; };

/* Drops B's SYN-ACK for the filler SYN (A never answers it) and, when asked,
 * A's first pure ACK after the handshake and/or its first data segment. */
static bool rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f, (void)len;
    struct rules *r = tr->arg;
    if (s->host == 1 && s->flags == (F_SYN | F_ACK) && s->ack > FILL_SEQ && s->ack <= FILL_SEQ + 100)
        return true;                         /* hand-made SYNs with SEQ 100..199 */
    if (r && s->host == 0 && s->flags == F_ACK && s->len == 0 && r->drop_hs_ack) {
        r->drop_hs_ack = 0;
        return true;
    }
    if (r && s->host == 0 && s->len > 0 && r->drop_data) {
        r->drop_data = 0;
        return true;
    }
    return false;
}

static void cfg_no_ts(struct us_config *c, int host, void *arg)
{
    (void)host, (void)arg;
    c->tcp_timestamps = false;
}

static void cfg_always(struct us_config *c, int host, void *arg)
{
    (void)arg;
    if (host == 1)
        c->tcp_syncookies = 2;
}

/* B listening (backlog 1) with its SYN queue full. */
static int setup_full(struct tu_net *n, struct trace *tr, const struct tu_opts *o, struct rules *r)
{
    tt_net(n, tr, o);
    tr->rule = rule;
    tr->arg = r;
    int l = tt_listen(n->b.st, PORT, 1, tt_now(n));
    tt_setint(n->b.st, l, US_IPPROTO_TCP, US_TCP_SYNQ_MAX, 1, tt_now(n));
    inject(n, (struct us_tcp_repr){.sport = 40000, .seq = FILL_SEQ, .flags = US_TH_SYN, .mss = 1460, .wscale = -1});
    tt_run(n, US_MS(10));
    assert_int_equal(tu_counter(n->b.st, "tcp.passive_opens"), 1);
    assert_int_equal(tu_counter(n->b.st, "tcp.syncookies_sent"), 0);
    tt_clear(tr);
    return l;
}

static const struct seg *b_synack(const struct trace *tr)
{
    const struct seg *f = NULL;
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == 1 && tr->v[i].flags == (F_SYN | F_ACK)) {
            assert_null(f);                  /* exactly one */
            f = &tr->v[i];
        }
    assert_non_null(f);
    return f;
}

/* len pattern bytes from (sx, fx) to (sy, fy), all read back in order. */
static void carry(struct tu_net *n, struct us_stack *sx, int fx, struct us_stack *sy, int fy, size_t len)
{
    uint8_t *out = malloc(len), *in = malloc(len);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(i * 7 + (size_t)fx);
    size_t sent = 0, got = 0;
    for (int step = 0; step < 200000 && got < len; step++) {
        if (sent < len) {
            ssize_t k = us_send(sx, fx, out + sent, len - sent, 0, tt_now(n));
            if (k > 0)
                sent += (size_t)k;
        }
        ssize_t k = us_recv(sy, fy, in + got, len - got, 0, tt_now(n));
        if (k > 0)
            got += (size_t)k;
        else
            tt_run(n, US_MS(1));
    }
    assert_int_equal(got, len);
    assert_memory_equal(in, out, len);
    free(out);
    free(in);
}

static int accept_one(struct tu_net *n, int l)
{
    int b = -EAGAIN;
    for (int i = 0; i < 10000 && b == -EAGAIN; i++) {
        b = us_accept(n->b.st, l, NULL, tt_now(n));
        if (b == -EAGAIN)
            us_sim_step(n->sim);
    }
    assert_true(b >= 0);
    return b;
}

/* A connects with TCP_MAXSEG 1400: the cookie keeps the table's 1300. */
static void cookie_connection(bool ts, struct rules *r)
{
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.cfg_hook = ts ? NULL : cfg_no_ts};
    int l = setup_full(&n, &tr, &o, r);
    bool hs_lost = r && r->drop_hs_ack;
    int a = us_socket(n.a.st, US_SOCK_STREAM);
    tt_setint(n.a.st, a, US_IPPROTO_TCP, US_TCP_MAXSEG, 1400, tt_now(&n));
    struct us_sockaddr to = {TU_IP_B, PORT};
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_ESTABLISHED);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_sent"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_syn_queue_full"), 0);
    const struct seg *sa = b_synack(&tr);
    assert_int_equal(sa->mss, 1460);
    assert_int_equal(sa->ts, ts);
    assert_int_equal(sa->sack_perm, ts);      /* without timestamps nothing would bring them back */
    assert_int_equal(sa->ws >= 0, ts);
    /* no state for the cookie SYN: the filler, and the connection once the cookie came back */
    assert_int_equal(tu_counter(n.b.st, "tcp.passive_opens"), hs_lost ? 1 : 2);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookie_connections"), hs_lost ? 0 : 1);
    uint8_t first[3000];
    for (size_t i = 0; i < sizeof(first); i++)
        first[i] = (uint8_t)(i ^ 0x5a);
    size_t flen = r && r->first_len ? r->first_len : sizeof(first);
    if (r)                                    /* A sends first; its first segments are lost */
        assert_int_equal(us_send(n.a.st, a, first, flen, 0, tt_now(&n)), (ssize_t)flen);
    int b = accept_one(&n, l);
    if (r) {
        uint8_t in[sizeof(first)];
        size_t got = 0;
        for (int i = 0; i < 100000 && got < flen; i++) {
            ssize_t k = us_recv(n.b.st, b, in + got, flen - got, 0, tt_now(&n));
            if (k > 0)
                got += (size_t)k;
            else
                tt_run(&n, US_MS(1));
        }
        assert_int_equal(got, flen);
        assert_memory_equal(in, first, flen);
        assert_int_equal(r->drop_hs_ack + r->drop_data, 0);   /* what was to be lost was lost */
    }
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookie_connections"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_valid"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_invalid"), 0);
    struct us_tcp_info bi, ai;
    assert_int_equal(us_tcp_info(n.b.st, b, &bi), 0);
    assert_int_equal(us_tcp_info(n.a.st, a, &ai), 0);
    assert_int_equal(bi.state, US_TCP_ESTABLISHED);
    assert_int_equal(bi.mss_send, ts ? 1300 - 12 : 1300);
    assert_int_equal(bi.ts_ok, ts);
    assert_int_equal(bi.sack_ok, ts);
    assert_int_equal(ai.sack_ok, ts);
    assert_int_equal(bi.snd_wscale, ts ? ai.rcv_wscale : 0);
    assert_int_equal(ai.snd_wscale, ts ? bi.rcv_wscale : 0);
    if (ts)
        assert_true(ai.rcv_wscale > 0);
    tt_clear(&tr);
    carry(&n, n.b.st, b, n.a.st, a, 100000);
    carry(&n, n.a.st, a, n.b.st, b, 100000);
    uint32_t maxlen = 0;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 1 && tr.v[i].len > maxlen)
            maxlen = tr.v[i].len;
    assert_int_equal(maxlen, bi.mss_send);    /* full segments of exactly the cookie's MSS */
    tt_free(&n, &tr);
}

static void test_cookie_with_timestamps_keeps_mss_wscale_sack(void **state)
{
    (void)state;
    cookie_connection(true, NULL);
}

static void test_cookie_without_timestamps_keeps_mss(void **state)
{
    (void)state;
    cookie_connection(false, NULL);
}

/* The handshake's ACK is lost: A's first data segment carries the cookie and
 * makes the connection. */
static void test_cookie_handshake_ack_lost(void **state)
{
    (void)state;
    struct rules r = {.drop_hs_ack = 1};
    cookie_connection(true, &r);
}

/* The connection is made, the first data segment lost: retransmitted. */
static void test_cookie_first_data_lost(void **state)
{
    (void)state;
    struct rules r = {.drop_data = 1};
    cookie_connection(true, &r);
}

/* Both lost (one data segment, no timestamps): its retransmission carries
 * the cookie. (A later segment would not: the cookie binds the peer's ISN,
 * so SEQ - 1 must be it; such a segment is refused with a RST, as Linux does.) */
static void test_cookie_ack_and_first_data_lost(void **state)
{
    (void)state;
    struct rules r = {.drop_hs_ack = 1, .drop_data = 1, .first_len = 1000};
    cookie_connection(false, &r);
}

/* The cookie B answers a hand-made SYN from port sport with. */
static uint32_t cookie_for(struct tu_net *n, struct trace *tr, uint16_t sport, uint32_t seq)
{
    tt_clear(tr);
    inject(n, (struct us_tcp_repr){.sport = sport, .seq = seq, .flags = US_TH_SYN, .mss = 1460, .wscale = -1});
    tt_run(n, US_MS(10));
    const struct seg *sa = b_synack(tr);
    assert_int_equal(sa->ack, seq + 1);
    return sa->seq;
}

static void expect_refused(struct tu_net *n, struct trace *tr, int l, uint16_t sport, uint32_t seq, uint32_t ack,
                           uint64_t invalid)
{
    int conns = tt_conns(n->b.st);
    uint64_t made = tu_counter(n->b.st, "tcp.syncookie_connections");
    tt_clear(tr);
    inject(n, (struct us_tcp_repr){.sport = sport, .seq = seq, .ack = ack, .flags = US_TH_ACK, .wnd = 1000});
    tt_run(n, US_MS(10));
    assert_int_equal(tu_counter(n->b.st, "tcp.syncookies_invalid"), invalid);
    assert_int_equal(tu_counter(n->b.st, "tcp.syncookie_connections"), made);
    assert_int_equal(tt_conns(n->b.st), conns);
    assert_int_equal(us_accept(n->b.st, l, NULL, tt_now(n)), -EAGAIN);
    assert_int_equal(tr->n, 1);                  /* answered with a RST only */
    assert_int_equal(tr->v[0].flags, F_RST);
    assert_int_equal(tr->v[0].seq, ack);
}

/* Wrong MAC, wrong counter, wrong 4-tuple, wrong sequence number: nothing
 * made, each counted; then the genuine ACK makes the connection. */
static void test_forged_acks_create_nothing(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    int l = setup_full(&n, &tr, NULL, NULL);
    uint32_t c = cookie_for(&n, &tr, 40001, 5000);
    expect_refused(&n, &tr, l, 40001, 5001, c + 1 + 0x1000, 1);      /* MAC */
    expect_refused(&n, &tr, l, 40001, 5001, c + 1 + (1u << 24), 2);  /* counter from the future */
    expect_refused(&n, &tr, l, 40001, 5001, c + 1 - (1u << 24), 3);  /* previous counter, MAC of this one */
    expect_refused(&n, &tr, l, 40002, 5001, c + 1, 4);               /* another port */
    expect_refused(&n, &tr, l, 40001, 6001, c + 1, 5);               /* another ISN of the peer */
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_valid"), 0);
    inject(&n, (struct us_tcp_repr){.sport = 40001, .seq = 5001, .ack = c + 1, .flags = US_TH_ACK, .wnd = 1000});
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_valid"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookie_connections"), 1);
    assert_true(us_accept(n.b.st, l, NULL, tt_now(&n)) >= 0);
    tt_free(&n, &tr);
}

/* Cookies always (tcp_syncookies = 2): valid for 64..128 s (counter periods of
 * 64 s, TCP_COOKIE_MAX_AGE 2): one period later still accepted, two periods
 * later refused. */
static void test_old_cookie_refused(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &(struct tu_opts){.cfg_hook = cfg_always});
    int l = tt_listen(n.b.st, PORT, 8, tt_now(&n));
    assert_true(tt_now(&n) < US_SEC(64));
    uint32_t c1 = cookie_for(&n, &tr, 40001, 1000);
    uint32_t c2 = cookie_for(&n, &tr, 40002, 2000);
    assert_int_equal(tu_counter(n.b.st, "tcp.passive_opens"), 0);
    us_sim_run_until(n.sim, US_SEC(64) + US_SEC(60));    /* next period */
    inject(&n, (struct us_tcp_repr){.sport = 40001, .seq = 1001, .ack = c1 + 1, .flags = US_TH_ACK, .wnd = 1000});
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookie_connections"), 1);
    assert_true(us_accept(n.b.st, l, NULL, tt_now(&n)) >= 0);
    us_sim_run_until(n.sim, 2 * US_SEC(64) + US_SEC(1));  /* two periods on */
    expect_refused(&n, &tr, l, 40002, 2001, c2 + 1, 1);
    tt_free(&n, &tr);
}

/* The key rotates: a cookie made just before a rotation is still valid after it. */
static void test_cookie_valid_across_key_rotation(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &(struct tu_opts){.cfg_hook = cfg_always});
    int l = tt_listen(n.b.st, PORT, 8, tt_now(&n));
    cookie_for(&n, &tr, 40009, 9000);                     /* keys drawn in period 0 */
    us_sim_run_until(n.sim, 3 * US_SEC(64) + US_SEC(30)); /* period 3: still the first key */
    uint32_t c = cookie_for(&n, &tr, 40001, 1000);
    us_sim_run_until(n.sim, 4 * US_SEC(64) + US_SEC(30)); /* period 4: keys rotated */
    uint32_t c_new = cookie_for(&n, &tr, 40001, 1000);
    assert_int_not_equal(c, c_new);
    inject(&n, (struct us_tcp_repr){.sport = 40001, .seq = 1001, .ack = c + 1, .flags = US_TH_ACK, .wnd = 1000});
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_valid"), 1);
    assert_true(us_accept(n.b.st, l, NULL, tt_now(&n)) >= 0);
    tt_free(&n, &tr);
}

/* ---- queues a flood cannot hold shut ---------------------------------------- */

static void cfg_no_cookies(struct us_config *c, int host, void *arg)
{
    (void)host, (void)arg;
    c->tcp_syncookies = 0;
}

struct find { uint16_t port; int n; };
static void find_cb(void *arg, const struct us_conn_info *c)
{
    struct find *f = arg;
    if (c->info.state == US_TCP_SYN_RECEIVED && c->remote.port == f->port)
        f->n++;
}
static int half_open(struct us_stack *st, uint16_t port)
{
    struct find f = {port, 0};
    us_tcp_foreach(st, find_cb, &f);
    return f.n;
}

/* Cookies off, SYN queue bound 2. A third SYN while both entries are fresh is
 * dropped (counted); once the oldest has gone a retransmission timeout
 * unanswered, a new SYN takes its place, oldest first, and completes. */
static void test_oldest_half_open_gives_way(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &(struct tu_opts){.cfg_hook = cfg_no_cookies});
    tr.rule = rule;
    int l = tt_listen(n.b.st, PORT, 8, tt_now(&n));
    tt_setint(n.b.st, l, US_IPPROTO_TCP, US_TCP_SYNQ_MAX, 2, tt_now(&n));
    inject(&n, (struct us_tcp_repr){.sport = 40000, .seq = FILL_SEQ, .flags = US_TH_SYN, .wscale = -1});
    tt_run(&n, US_MS(100));
    inject(&n, (struct us_tcp_repr){.sport = 40001, .seq = FILL_SEQ + 1, .flags = US_TH_SYN, .wscale = -1});
    tt_run(&n, US_MS(10));
    inject(&n, (struct us_tcp_repr){.sport = 40002, .seq = FILL_SEQ + 2, .flags = US_TH_SYN, .wscale = -1});
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_syn_queue_full"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.syn_queue_evicted"), 0);
    assert_int_equal(half_open(n.b.st, 40002), 0);
    tt_run(&n, US_MS(1000));                 /* 40000's first SYN-ACK retransmission is past, not 40001's */
    int a = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, PORT};
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.syn_queue_evicted"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_syn_queue_full"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_sent"), 0);
    assert_int_equal(half_open(n.b.st, 40000), 0);   /* the oldest went */
    assert_int_equal(half_open(n.b.st, 40001), 1);
    assert_int_equal(tt_state(n.a.st, a), US_TCP_ESTABLISHED);
    int b = accept_one(&n, l);
    carry(&n, n.a.st, a, n.b.st, b, 5000);
    tt_free(&n, &tr);
}

/* A SYN from an address that never answers ARP (a spoofed source inside the
 * subnet): the SYN-ACK retries stop at the second timeout (1 s + 2 s), not
 * after tcp_syn_retries (127 s); a peer that resolves keeps its retries. */
static void test_synack_to_unresolved_peer_stops_early(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, &(struct tu_opts){.cfg_hook = cfg_no_cookies});
    tr.rule = rule;
    tt_listen(n.b.st, PORT, 8, tt_now(&n));
    us_time_t t0 = tt_now(&n);
    inject_from(&n, 0xC612004Du /* 198.18.0.77 */, (struct us_tcp_repr){.sport = 40077, .seq = 5000,
                                                                      .flags = US_TH_SYN, .wscale = -1});
    inject(&n, (struct us_tcp_repr){.sport = 40000, .seq = FILL_SEQ, .flags = US_TH_SYN, .wscale = -1});
    us_sim_run_until(n.sim, t0 + US_MS(2990));
    assert_int_equal(half_open(n.b.st, 40077), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.synack_peer_unresolved"), 0);
    us_sim_run_until(n.sim, t0 + US_MS(3010));
    assert_int_equal(half_open(n.b.st, 40077), 0);
    assert_int_equal(tu_counter(n.b.st, "tcp.synack_peer_unresolved"), 1);
    us_sim_run_until(n.sim, t0 + US_SEC(60));
    assert_int_equal(half_open(n.b.st, 40000), 1);   /* resolved peer: still retrying */
    assert_int_equal(tu_counter(n.b.st, "tcp.synack_peer_unresolved"), 1);
    tt_free(&n, &tr);
}

/* The accept queue full (backlog 1, nobody accepts): a SYN is dropped without
 * state and without a cookie, counted as such; the SYN queue is not involved. */
static void test_accept_queue_full_drops_syn_without_state(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    int l = tt_listen(n.b.st, PORT, 1, tt_now(&n));
    int a1 = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, PORT};
    assert_int_equal(us_connect(n.a.st, a1, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    int conns = tt_conns(n.b.st);
    tt_clear(&tr);
    inject(&n, (struct us_tcp_repr){.sport = 40005, .seq = FILL_SEQ, .flags = US_TH_SYN, .wscale = -1});
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_accept_queue_full"), 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_syn_queue_full"), 0);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_sent"), 0);
    assert_int_equal(tt_conns(n.b.st), conns);
    assert_int_equal(tr.n, 0);               /* not answered */
    assert_true(us_accept(n.b.st, l, NULL, tt_now(&n)) >= 0);
    tt_free(&n, &tr);
}

/* Backlog and SYN queue bound are separate: backlog 1 holds 5 handshakes in
 * progress under the default SYN queue bound (us_config.tcp_synq_max 1024). */
static void test_backlog_and_synq_bound_separate(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    tt_net(&n, &tr, NULL);
    tr.rule = rule;
    int l = tt_listen(n.b.st, PORT, 1, tt_now(&n));
    assert_int_equal(us_stack_config(n.b.st)->tcp_synq_max, 1024);
    int v = 0;
    size_t len = sizeof(v);
    assert_int_equal(us_getsockopt(n.b.st, l, US_IPPROTO_TCP, US_TCP_SYNQ_MAX, &v, &len), 0);
    assert_int_equal(v, 1024);
    for (uint16_t i = 0; i < 5; i++)
        inject(&n, (struct us_tcp_repr){.sport = (uint16_t)(41000 + i), .seq = FILL_SEQ + i, .flags = US_TH_SYN,
                                        .wscale = -1});
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.passive_opens"), 5);
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_sent"), 0);
    tt_setint(n.b.st, l, US_IPPROTO_TCP, US_TCP_SYNQ_MAX, 5, tt_now(&n));
    assert_int_equal(us_getsockopt(n.b.st, l, US_IPPROTO_TCP, US_TCP_SYNQ_MAX, &v, &len), 0);
    assert_int_equal(v, 5);
    inject(&n, (struct us_tcp_repr){.sport = 41005, .seq = FILL_SEQ + 5, .flags = US_TH_SYN, .wscale = -1});
    tt_run(&n, US_MS(10));
    assert_int_equal(tu_counter(n.b.st, "tcp.syncookies_sent"), 1);   /* the 6th: queue full, a cookie */
    assert_int_equal(tu_counter(n.b.st, "tcp.passive_opens"), 5);
    assert_int_equal(us_setsockopt(n.b.st, l, US_IPPROTO_TCP, US_TCP_SYNQ_MAX, &(int){0}, sizeof(int), tt_now(&n)), -EINVAL);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_with_timestamps_keeps_mss_wscale_sack),
        cmocka_unit_test(test_cookie_without_timestamps_keeps_mss),
        cmocka_unit_test(test_cookie_handshake_ack_lost),
        cmocka_unit_test(test_cookie_first_data_lost),
        cmocka_unit_test(test_cookie_ack_and_first_data_lost),
        cmocka_unit_test(test_forged_acks_create_nothing),
        cmocka_unit_test(test_old_cookie_refused),
        cmocka_unit_test(test_cookie_valid_across_key_rotation),
        cmocka_unit_test(test_oldest_half_open_gives_way),
        cmocka_unit_test(test_synack_to_unresolved_peer_stops_early),
        cmocka_unit_test(test_accept_queue_full_drops_syn_without_state),
        cmocka_unit_test(test_backlog_and_synq_bound_separate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
