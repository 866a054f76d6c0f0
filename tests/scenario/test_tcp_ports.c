/* Ephemeral ports (RFC 6056), their exhaustion and recovery after 2·MSL;
 * RFC 5961 checks; malformed options. */
#include "test_tcp_helpers.h"

static void small_port_range(struct us_config *c, int host, void *arg)
{
    (void)arg;
    if (host == 0) {
        c->port_lo = 50000;
        c->port_hi = 50009;     /* ten ephemeral ports */
    }
    c->tcp_msl = US_SEC(5);
}

static void port_exhaustion_fails_with_eaddrnotavail_and_recovers_after_2msl(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 1, .cfg_hook = small_port_range};
    tt_net(&n, &tr, &o);
    int l = tt_listen(n.b.st, 80, 16, us_sim_now(n.sim));
    int a[10], b[10];
    for (int i = 0; i < 10; i++) {
        tt_pair(&n, l, 80, &a[i], &b[i]);
        struct us_sockaddr me;
        us_getsockname(n.a.st, a[i], &me);
        assert_true(me.port >= 50000 && me.port <= 50009);
    }
    int x = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, 80};
    assert_int_equal(us_connect(n.a.st, x, &to, tt_now(&n)), -EADDRNOTAVAIL);
    assert_int_equal(tu_counter(n.a.st, "tcp.ephemeral_ports_exhausted"), 1);
    /* A closes first: its ports sit in TIME_WAIT for 2·MSL = 10 s */
    for (int i = 0; i < 10; i++)
        us_close(n.a.st, a[i], tt_now(&n));
    tt_run(&n, US_MS(100));
    for (int i = 0; i < 10; i++)
        us_close(n.b.st, b[i], tt_now(&n));
    tt_run(&n, US_MS(100));
    assert_int_equal(tt_conns(n.a.st), 11);   /* 10 in TIME_WAIT + x */
    assert_int_equal(us_connect(n.a.st, x, &to, tt_now(&n)), -EADDRNOTAVAIL);
    tt_run(&n, US_SEC(10));
    assert_int_equal(tt_conns(n.a.st), 1);
    assert_int_equal(us_connect(n.a.st, x, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    assert_int_equal(tt_state(n.a.st, x), US_TCP_ESTABLISHED);
    tt_free(&n, &tr);
}

/* Builds a TCP segment from A to B's connection and hands it to B's stack. */
static void inject(struct tu_net *n, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                   const uint8_t *opts, uint32_t olen, uint32_t dlen)
{
    uint8_t f[14 + 20 + 60 + 100];
    memset(f, 0, sizeof(f));
    memcpy(f, n->b.mac, 6);
    memcpy(f + 6, n->a.mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *t = ip + 20;
    uint32_t tl = 20 + olen + dlen;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + tl) >> 8);
    ip[3] = (uint8_t)(20 + tl);
    ip[8] = 64;
    ip[9] = 6;
    uint32_t src = TU_IP_A, dst = TU_IP_B;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = (uint8_t)(~sum >> 8);
    ip[11] = (uint8_t)~sum;
    t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
    for (int i = 0; i < 4; i++) {
        t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    t[12] = (uint8_t)(((20 + olen + 3) / 4) << 4);
    t[13] = flags;
    t[14] = 0xff; t[15] = 0xff;
    if (olen)
        memcpy(t + 20, opts, olen);
    for (uint32_t i = 0; i < dlen; i++)
        t[20 + olen + i] = 'x';
    sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + tl;
    for (uint32_t i = 0; i < tl; i += 2)
        sum += (uint32_t)(t[i] << 8 | (i + 1 < tl ? t[i + 1] : 0));
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    t[16] = (uint8_t)(~sum >> 8);
    t[17] = (uint8_t)~sum;
    struct us_pkt *p = us_pkt_from(n->b.pool, f, 14 + 20 + tl);
    assert_non_null(p);
    us_stack_input(n->b.st, p, tt_now(n));
}

static void rfc5961_challenge_acks_and_malformed_options_are_counted(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, NULL, 80, &a, &b);
    tt_run(&n, US_MS(10));
    struct us_sockaddr me;
    us_getsockname(n.a.st, a, &me);
    /* B's view: the next sequence it expects from A, and what it sent */
    uint32_t rcv_nxt = 0, snd_nxt = 0;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 1) {
            rcv_nxt = tr.v[i].ack;
            snd_nxt = tr.v[i].seq + ((tr.v[i].flags & F_SYN) ? 1 : 0);
        }
    tr.rule = NULL;
    tt_clear(&tr);
    /* in-window RST that is not exactly RCV.NXT: challenge ACK, connection lives */
    inject(&n, me.port, 80, rcv_nxt + 100, 0, F_RST, NULL, 0, 0);
    assert_int_equal(tr.n, 1);
    assert_int_equal(tr.v[0].flags, F_ACK);
    assert_int_equal(tr.v[0].ack, rcv_nxt);
    assert_int_equal(tu_counter(n.b.st, "tcp.challenge_ack_sent"), 1);
    /* out-of-window RST: ignored silently */
    inject(&n, me.port, 80, rcv_nxt + 10000000, 0, F_RST, NULL, 0, 0);
    assert_int_equal(tr.n, 1);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_rst_out_of_window"), 1);
    /* SYN on an established connection: challenge ACK */
    inject(&n, me.port, 80, rcv_nxt + 5, 0, F_SYN, NULL, 0, 0);
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.v[1].host, 1);
    assert_int_equal(tr.v[1].flags, F_ACK);
    assert_int_equal(tr.v[1].ack, rcv_nxt);
    assert_int_equal(tu_counter(n.b.st, "tcp.challenge_ack_sent"), 2);
    /* data with an ACK for something never sent: dropped (the ACK still asks
     * for rcv_nxt: the 10 bytes were not taken), answered with an ACK */
    inject(&n, me.port, 80, rcv_nxt, snd_nxt + 100000, F_ACK, NULL, 0, 10);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_unacceptable_ack"), 1);
    assert_int_equal(tr.n, 3);
    assert_int_equal(tr.v[2].host, 1);
    assert_int_equal(tr.v[2].flags, F_ACK);
    assert_int_equal(tr.v[2].len, 0);
    assert_int_equal(tr.v[2].seq, snd_nxt);
    assert_int_equal(tr.v[2].ack, rcv_nxt);
    char buf[16];
    assert_int_equal(us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), -EAGAIN);
    /* malformed options: length 0, length 1, running past the header */
    static const uint8_t bad0[4] = {8, 0, 1, 1}, bad1[4] = {1, 1, 5, 1}, past[4] = {1, 1, 8, 10};
    inject(&n, me.port, 80, rcv_nxt, snd_nxt, F_ACK, bad0, 4, 5);
    inject(&n, me.port, 80, rcv_nxt, snd_nxt, F_ACK, bad1, 4, 5);
    inject(&n, me.port, 80, rcv_nxt, snd_nxt, F_ACK, past, 4, 5);
    assert_int_equal(tu_counter(n.b.st, "tcp.drop_bad_options"), 3);
    /* an unknown option is skipped and the data accepted */
    static const uint8_t unk[4] = {99, 4, 0, 0};
    inject(&n, me.port, 80, rcv_nxt, snd_nxt, F_ACK, unk, 4, 5);
    assert_int_equal(us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), 5);
    assert_int_equal(tt_state(n.b.st, b), US_TCP_ESTABLISHED);
    /* a RST exactly at RCV.NXT resets */
    inject(&n, me.port, 80, rcv_nxt + 5, 0, F_RST, NULL, 0, 0);
    assert_int_equal(us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n)), -ECONNRESET);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_exhaustion_fails_with_eaddrnotavail_and_recovers_after_2msl),
        cmocka_unit_test(rfc5961_challenge_acks_and_malformed_options_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
