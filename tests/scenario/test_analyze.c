/* The trace analyzer (include/ustack/analyze.h) on captures of ustack runs in
 * virtual time and on hand-built broken traces: a clean transfer has no
 * findings, a stripped window-scale option, a zero-window episode with probes,
 * a stall after a window update and a shrinking window are each found. */
#include "test_tcp_helpers.h"
#include <ustack/analyze.h>

static struct us_an *analyze_file(const char *prefix, char host)
{
    char path[512], err[600];
    snprintf(path, sizeof(path), "%s/%s-%c.pcap", tu_tmpdir(), prefix, host);
    struct us_an *an = us_an_new();
    assert_non_null(an);
    int rc = us_an_read_pcap(an, path, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    us_an_finish(an);
    return an;
}

/* The capture's one connection; fails the test when it holds none or more,
 * so a check that a finding is absent cannot pass on an empty capture. */
static const struct us_an_conn *the_conn(const struct us_an *an)
{
    assert_int_equal(us_an_conn_count(an), 1);
    const struct us_an_conn *c = us_an_conn_get(an, 0);
    assert_non_null(c);
    return c;
}

static void dump(const struct us_an *an)
{
    for (size_t i = 0; i < us_an_conn_count(an); i++) {
        const struct us_an_conn *c = us_an_conn_get(an, i);
        for (size_t k = 0; k < c->nfindings; k++)
            fprintf(stderr, "  conn %u [%s] %s: %s\n", c->id, us_an_severity_name(c->findings[k].severity),
                    us_an_kind_name(c->findings[k].kind), c->findings[k].text);
    }
}

/* ---- (1) clean bulk transfer ---------------------------------------------- */

static void clean_bulk_transfer_has_no_findings(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 11, .pcap_prefix = "analyze-clean"};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    int a, b;
    tt_setup(&n, &tr, &o, 5001, &a, &b);
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 500000, .seed = 3,
                     .close_after = true};
    assert_int_equal(xfer_run(&x, tt_now(&n) + US_SEC(60)), 0);
    tt_run(&n, US_MS(200));
    tt_free(&n, &tr);
    for (char h = 'a'; h <= 'b'; h++) {
        struct us_an *an = analyze_file("analyze-clean", h);
        dump(an);
        const struct us_an_conn *c = the_conn(an);
        assert_true(c->established);
        assert_int_equal(c->side[0].bytes, 500000);
        assert_int_equal(c->side[0].retransmits, 0);
        assert_true(c->side[0].fin);
        assert_int_equal(c->rtt_handshake, US_MS(20));
        assert_int_equal(c->nfindings, 0);
        us_an_free(an);
    }
}

/* ---- (2) window scale stripped from the SYN-ACK -------------------------- */

static void stripped_window_scale_is_flagged_as_a_mismatch(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 5, .pcap_prefix = "analyze-wscale"};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(&n, &tr, &o);
    us_impair_set_mangle(n.b.imp, tt_strip_wscale, NULL);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 200000, .seed = 9};
    assert_int_equal(xfer_run(&x, tt_now(&n) + US_SEC(60)), 0);
    struct xfer back = {.sim = n.sim, .ss = n.b.st, .ds = n.a.st, .sfd = b, .dfd = a, .total = 300000, .seed = 10};
    assert_int_equal(xfer_run(&back, tt_now(&n) + US_SEC(600)), 0);
    tt_free(&n, &tr);
    /* A's capture: its SYN carried wscale, the SYN-ACK it received none */
    struct us_an *an = analyze_file("analyze-wscale", 'a');
    dump(an);
    const struct us_an_conn *c = the_conn(an);
    assert_true(c->side[0].wscale >= 0);
    assert_int_equal(c->side[1].wscale, -1);
    assert_int_equal(c->side[0].shift, 0);    /* S8 */
    const struct us_an_finding *f = us_an_find(c, US_AN_WSCALE_MISMATCH);
    assert_non_null(f);
    assert_int_equal(f->side, 0);
    assert_non_null(strstr(f->text, "SYN-ACK"));
    assert_non_null(strstr(f->text, "STALL way 6"));
    us_an_free(an);
    /* B's capture shows both options: nothing to flag there about the handshake */
    an = analyze_file("analyze-wscale", 'b');
    c = the_conn(an);
    assert_true(c->side[0].wscale >= 0 && c->side[1].wscale >= 0);
    assert_null(us_an_find(c, US_AN_WSCALE_MISMATCH));
    us_an_free(an);
}

/* ---- (3) slow reader: STALL.md reference scenario 1 ---------------------- */

static void no_timestamps(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_timestamps = false;
}

static void slow_reader_zero_window_probes_double_and_are_answered_without_stall(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 1, .mtu = 1040, .cfg_hook = no_timestamps, .pcap_prefix = "analyze-slow"};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(&n, &tr, &o);
    int l = us_socket(n.b.st, US_SOCK_STREAM);
    tt_setint(n.b.st, l, US_SOL_SOCKET, US_SO_RCVBUF, 8081, us_sim_now(n.sim));
    struct us_sockaddr p = {0, 80};
    assert_int_equal(us_bind(n.b.st, l, &p, us_sim_now(n.sim)), 0);
    assert_int_equal(us_listen(n.b.st, l, 4, us_sim_now(n.sim)), 0);
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 100000, .seed = 4};
    xfer_send(&x, tt_now(&n));
    tt_run(&n, US_SEC(8));                 /* B's application does not read */
    assert_int_equal(xfer_recv(&x, 4000, tt_now(&n)), 4000);
    assert_int_equal(xfer_run(&x, tt_now(&n) + US_SEC(600)), 0);
    assert_false(x.bad);
    assert_int_equal(us_shutdown(n.a.st, a, US_SHUT_WR, tt_now(&n)), 0);
    tt_run(&n, US_MS(200));
    tt_free(&n, &tr);
    for (char h = 'a'; h <= 'b'; h++) {
        struct us_an *an = analyze_file("analyze-slow", h);
        dump(an);
        const struct us_an_conn *c = the_conn(an);
        assert_int_equal(c->side[0].bytes, 100000);
        assert_true(c->nzwin >= 1);
        const struct us_an_zwin *z = &c->zwin[0];
        assert_int_equal(z->side, 1);        /* B advertised it, A probed */
        assert_true(z->nprobes >= 5);
        assert_int_equal(z->nanswered, z->nprobes);
        /* gaps T0, 2·T0, 4·T0 … from the zero window as A received it */
        for (uint32_t k = 1; k + 1 < z->nprobes && k < US_AN_MAX_PROBES; k++)
            assert_int_equal(z->probe_t[k + 1] - z->probe_t[k], 2 * (z->probe_t[k] - z->probe_t[k - 1]));
        const struct us_an_finding *f = us_an_find(c, US_AN_ZERO_WINDOW);
        assert_non_null(f);
        assert_non_null(strstr(f->text, "(doubling)"));
        assert_null(us_an_find(c, US_AN_STALL));
        assert_null(us_an_find(c, US_AN_LONG_SILENCE));
        assert_null(us_an_find(c, US_AN_PROBE_UNANSWERED));
        assert_null(us_an_find(c, US_AN_PROBE_BACKOFF));
        assert_null(us_an_find(c, US_AN_SHORT_SEGMENT));
        assert_null(us_an_find(c, US_AN_EDGE_LEFT));
        assert_null(us_an_find(c, US_AN_SWS_REOPEN));
        assert_int_equal(us_an_count_severity(an, US_AN_WARNING), 0);
        us_an_free(an);
    }
}

/* ---- hand-built traces ----------------------------------------------------- */

#define IP_A 0xC6120001u
#define IP_B 0xC6120002u

struct hseg {
    us_time_t t;
    bool from_b;
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t wnd;
    uint32_t len;
    int ws;          /* -1: no option */
};

/* An Ethernet frame with IPv4 and TCP (MSS 1000 and wscale on SYNs). */
static uint32_t build(uint8_t *f, const struct hseg *h)
{
    memset(f, 0, 14 + 20 + 32 + h->len);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *t = ip + 20;
    uint32_t opt = 0;
    if (h->flags & F_SYN) {
        t[20] = 2, t[21] = 4, t[22] = 1000 >> 8, t[23] = 1000 & 255;
        opt = 4;
        if (h->ws >= 0)
            t[24] = 1, t[25] = 3, t[26] = 3, t[27] = (uint8_t)h->ws, opt = 8;
    }
    uint32_t tot = 20 + 20 + opt + h->len;
    ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot, ip[8] = 64, ip[9] = 6;
    uint32_t src = h->from_b ? IP_B : IP_A, dst = h->from_b ? IP_A : IP_B;
    for (int k = 0; k < 4; k++)
        ip[12 + k] = (uint8_t)(src >> (24 - 8 * k)), ip[16 + k] = (uint8_t)(dst >> (24 - 8 * k));
    uint16_t sp = h->from_b ? 80 : 40000, dp = h->from_b ? 40000 : 80;
    t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
    for (int k = 0; k < 4; k++)
        t[4 + k] = (uint8_t)(h->seq >> (24 - 8 * k)), t[8 + k] = (uint8_t)(h->ack >> (24 - 8 * k));
    t[12] = (uint8_t)(((20 + opt) / 4) << 4);
    t[13] = h->flags;
    t[14] = (uint8_t)(h->wnd >> 8), t[15] = (uint8_t)h->wnd;
    return 14 + tot;
}

static struct us_an *feed(const struct hseg *v, size_t n)
{
    struct us_an *an = us_an_new();
    assert_non_null(an);
    static uint8_t f[14 + 20 + 32 + 2000];
    for (size_t i = 0; i < n; i++) {
        uint32_t len = build(f, &v[i]);
        us_an_frame(an, US_AN_LINK_ETH, US_SEC(100) + v[i].t, f, len, len);
    }
    us_an_finish(an);
    dump(an);
    return an;
}

#define A_ISN 1000u
#define B_ISN 5000u
#define HANDSHAKE                                                                 \
    {US_MS(0), false, F_SYN, A_ISN, 0, 65535, 0, -1},                             \
    {US_MS(10), true, F_SYN | F_ACK, B_ISN, A_ISN + 1, 8000, 0, -1},              \
    {US_MS(20), false, F_ACK, A_ISN + 1, B_ISN + 1, 65535, 0, -1}
#define DATA(ms, k) {US_MS(ms), false, F_ACK, A_ISN + 1 + (k) * 1000u, B_ISN + 1, 65535, 1000, -1}
#define BACK(ms, acked, w) {US_MS(ms), true, F_ACK, B_ISN + 1, A_ISN + 1 + (acked), w, 0, -1}

/* (4) The receiver's window update is lost on the way (this capture is at
 * the receiver) and the sender never probes: the transfer hangs until the
 * receiver gives up — "the download that stalls at 99%". */
static void lost_window_update_without_probe_is_a_stall(void **s)
{
    (void)s;
    const struct hseg v[] = {
        HANDSHAKE,
        DATA(30, 0), DATA(30, 1), DATA(30, 2), DATA(30, 3), DATA(31, 4), DATA(31, 5), DATA(31, 6), DATA(31, 7),
        BACK(41, 4000, 4000),
        BACK(42, 8000, 0),            /* the buffer is full: zero window */
        BACK(1500, 8000, 4000),       /* the application read: window update, never answered */
        {US_SEC(61), true, F_RST | F_ACK, B_ISN + 1, A_ISN + 8001, 0, 0, -1},
    };
    struct us_an *an = feed(v, sizeof(v) / sizeof(v[0]));
    const struct us_an_conn *c = the_conn(an);
    assert_int_equal(c->side[0].bytes, 8000);
    assert_int_equal(c->nzwin, 1);
    assert_int_equal(c->zwin[0].nprobes, 0);
    const struct us_an_finding *f = us_an_find(c, US_AN_STALL);
    assert_non_null(f);
    assert_int_equal(f->severity, US_AN_ERROR);
    assert_int_equal(f->side, 0);
    assert_int_equal(f->t, US_SEC(100) + US_MS(1500));   /* the silence began with the update */
    assert_non_null(strstr(f->text, "window was open (4000 bytes usable)"));
    assert_non_null(strstr(f->text, "until the connection was reset"));
    /* the zero window before the update already went unprobed for 1.458 s */
    f = us_an_find(c, US_AN_LONG_SILENCE);
    assert_non_null(f);
    assert_int_equal(f->t, US_SEC(100) + US_MS(42));
    assert_non_null(strstr(f->text, "advertised a zero window"));
    assert_true(us_an_count_severity(an, US_AN_ERROR) >= 1);
    us_an_free(an);
    /* captured at the sender, the lost update is not in the trace: the zero
     * window itself goes unprobed until the reset */
    struct hseg w[sizeof(v) / sizeof(v[0]) - 1];
    memcpy(w, v, sizeof(w) - sizeof(w[0]));
    w[sizeof(w) / sizeof(w[0]) - 1] = v[sizeof(v) / sizeof(v[0]) - 1];
    an = feed(w, sizeof(w) / sizeof(w[0]));
    f = us_an_find(the_conn(an), US_AN_STALL);
    assert_non_null(f);
    assert_int_equal(f->t, US_SEC(100) + US_MS(42));
    assert_non_null(strstr(f->text, "zero window"));
    assert_non_null(strstr(f->text, "STALL way 2"));
    us_an_free(an);
}

/* The same start, but the sender probes the zero window and the update
 * arrives: a zero-window episode, no stall. */
static void answered_probes_and_update_are_not_a_stall(void **s)
{
    (void)s;
    const struct hseg v[] = {
        HANDSHAKE,
        DATA(30, 0), DATA(30, 1), DATA(30, 2), DATA(30, 3), DATA(31, 4), DATA(31, 5), DATA(31, 6), DATA(31, 7),
        BACK(41, 4000, 4000),
        BACK(42, 8000, 0),
        {US_MS(242), false, F_ACK, A_ISN + 8000, B_ISN + 1, 65535, 0, -1},   /* SEQ = SND.UNA - 1 */
        BACK(243, 8000, 0),
        {US_MS(642), false, F_ACK, A_ISN + 8000, B_ISN + 1, 65535, 0, -1},
        BACK(643, 8000, 0),
        BACK(900, 8000, 4000),
        DATA(901, 8), DATA(901, 9), DATA(901, 10), DATA(901, 11),
        {US_MS(902), false, F_ACK | F_FIN, A_ISN + 12001, B_ISN + 1, 65535, 0, -1},
        BACK(911, 12001, 8000),
        BACK(912, 12002, 8000),
    };
    struct us_an *an = feed(v, sizeof(v) / sizeof(v[0]));
    const struct us_an_conn *c = the_conn(an);
    assert_int_equal(c->nzwin, 1);
    assert_int_equal(c->zwin[0].nprobes, 2);
    assert_int_equal(c->zwin[0].nanswered, 2);
    assert_int_equal(c->zwin[0].probe_kind[0], US_AN_PROBE_OLD);
    assert_int_equal(c->zwin[0].end, US_SEC(100) + US_MS(900));
    assert_non_null(strstr(us_an_find(c, US_AN_ZERO_WINDOW)->text, "(doubling)"));
    assert_int_equal(us_an_count_severity(an, US_AN_WARNING), 0);
    us_an_free(an);
}

/* (5) The receiver takes back window it offered: its right edge moves left. */
static void right_edge_moving_left_is_flagged(void **s)
{
    (void)s;
    const struct hseg v[] = {
        HANDSHAKE,
        DATA(30, 0), DATA(30, 1), DATA(30, 2),
        BACK(40, 2000, 6001),         /* right edge 8002 (the SYN-ACK offered 8001) */
        BACK(41, 3000, 2000),         /* right edge 5001: moved left by 3001 */
        BACK(300, 3000, 6000),
        {US_MS(301), false, F_ACK | F_FIN, A_ISN + 3001, B_ISN + 1, 65535, 0, -1},
        BACK(311, 3001, 6000),
    };
    struct us_an *an = feed(v, sizeof(v) / sizeof(v[0]));
    const struct us_an_conn *c = the_conn(an);
    const struct us_an_finding *f = us_an_find(c, US_AN_EDGE_LEFT);
    assert_non_null(f);
    assert_int_equal(f->side, 1);
    assert_int_equal(f->severity, US_AN_ERROR);
    assert_int_equal(f->t, US_SEC(100) + US_MS(41));
    assert_non_null(strstr(f->text, "left 1 time, by up to 3001 bytes"));
    us_an_free(an);
}

/* A SYN-ACK with window scale answering a SYN without it (RFC 7323 1.3). */
static void syn_ack_scale_without_syn_scale_is_an_error(void **s)
{
    (void)s;
    const struct hseg v[] = {
        {US_MS(0), false, F_SYN, A_ISN, 0, 65535, 0, -1},
        {US_MS(10), true, F_SYN | F_ACK, B_ISN, A_ISN + 1, 8000, 0, 7},
        {US_MS(20), false, F_ACK, A_ISN + 1, B_ISN + 1, 65535, 0, -1},
    };
    struct us_an *an = feed(v, sizeof(v) / sizeof(v[0]));
    const struct us_an_finding *f = us_an_find(the_conn(an), US_AN_WSCALE_MISMATCH);
    assert_non_null(f);
    assert_int_equal(f->severity, US_AN_ERROR);
    assert_int_equal(the_conn(an)->side[1].shift, 0);
    us_an_free(an);
}

/* Truncated frames, garbage options and random bytes are counted, never
 * crash (run under ASan in CI). */
static void garbage_and_truncated_frames_are_counted_not_fatal(void **s)
{
    (void)s;
    struct us_an *an = us_an_new();
    uint8_t f[200];
    struct hseg h = {0, false, F_SYN | F_ACK, 1, 2, 100, 40, 7};
    uint32_t len = build(f, &h);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        uint8_t g[200];
        memcpy(g, f, len);
        for (int k = 0; k < 1 + i % 8; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            g[14 + x % (len - 14)] = (uint8_t)(x >> 32);
        }
        uint32_t cut = (uint32_t)(x >> 40) % (len + 1);
        us_an_frame(an, (enum us_an_link)(i % 4), (us_time_t)i * 1000, g, i & 1 ? cut : len, len);
    }
    us_an_frame(an, US_AN_LINK_ETH, 0, f, 0, 0);
    us_an_finish(an);
    const struct us_an_stats *st = us_an_stats(an);
    assert_int_equal(st->frames, 20001);
    assert_true(st->malformed > 0);
    assert_true(st->tcp > 0);
    us_an_free(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_bulk_transfer_has_no_findings),
        cmocka_unit_test(stripped_window_scale_is_flagged_as_a_mismatch),
        cmocka_unit_test(slow_reader_zero_window_probes_double_and_are_answered_without_stall),
        cmocka_unit_test(lost_window_update_without_probe_is_a_stall),
        cmocka_unit_test(answered_probes_and_update_are_not_a_stall),
        cmocka_unit_test(right_edge_moving_left_is_flagged),
        cmocka_unit_test(syn_ack_scale_without_syn_scale_is_an_error),
        cmocka_unit_test(garbage_and_truncated_frames_are_counted_not_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
