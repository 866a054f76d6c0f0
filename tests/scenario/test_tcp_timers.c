/* TCP timers and loss recovery in virtual time: RTO back-off and ETIMEDOUT,
 * SYN retries, keepalive, Nagle vs delayed ACK, fast retransmit with NewReno,
 * slow start. */
#include "test_tcp_helpers.h"

static void few_retries(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_retries = 5;
    c->tcp_syn_retries = 3;
}

static void silence(struct tu_host *h)
{
    struct us_impair_config ic = {0};
    ic.tx.loss = 1.0;
    ic.seed = 9;
    us_impair_set(h->imp, &ic);
}

static void rto_doubles_when_the_link_goes_silent_then_etimedout(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 1, .cfg_hook = few_retries};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    tt_run(&n, US_MS(100));
    silence(&n.a);
    tt_clear(&tr);
    us_time_t t0 = tt_now(&n);
    assert_int_equal(us_send(n.a.st, a, "ping", 4, 0, t0), 4);
    tt_run(&n, US_SEC(30));
    /* RTO after the handshake sample (20 ms) is the 200 ms floor; 1 + 5 tries */
    us_time_t expect = t0;
    us_time_t gap = US_MS(200);
    assert_int_equal(tr.n, 6);
    for (size_t i = 0; i < tr.n; i++) {
        assert_int_equal(tr.v[i].host, 0);
        assert_int_equal(tr.v[i].len, 4);
        assert_int_equal(tr.v[i].t, expect);
        expect += gap;
        gap *= 2;
    }
    /* the sixth expiry (6.4 s after the last try) aborts */
    assert_int_equal(tt_state(n.a.st, a), US_TCP_CLOSED);
    char buf[4];
    assert_int_equal(us_recv(n.a.st, a, buf, 4, 0, tt_now(&n)), -ETIMEDOUT);
    assert_int_equal(tu_counter(n.a.st, "tcp.connection_timeouts"), 1);
    assert_int_equal(tu_counter(n.a.st, "tcp.rto_expirations"), 5);
    tt_free(&n, &tr);
}

static void syn_retransmits_back_off_from_one_second_then_connect_times_out(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 2, .cfg_hook = few_retries};
    tt_net(&n, &tr, &o);
    silence(&n.a);
    int a = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, 80};
    us_time_t t0 = tt_now(&n);
    assert_int_equal(us_connect(n.a.st, a, &to, t0), -EINPROGRESS);
    tt_run(&n, US_SEC(14));
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -EALREADY);
    tt_run(&n, US_SEC(2));
    assert_int_equal(tr.n, 4);
    us_time_t at[] = {0, US_SEC(1), US_SEC(3), US_SEC(7)};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tr.v[i].flags, F_SYN);
        assert_int_equal(tr.v[i].t, t0 + at[i]);
        assert_int_equal(tr.v[i].seq, tr.v[0].seq);
    }
    assert_int_equal(us_connect(n.a.st, a, &to, tt_now(&n)), -ETIMEDOUT);
    tt_free(&n, &tr);
}

static void keepalive_finds_a_dead_peer_after_idle_plus_count_intervals(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, NULL, 80, &a, &b);
    tt_setint(n.a.st, a, US_IPPROTO_TCP, US_TCP_KEEPIDLE, 10, us_sim_now(n.sim));
    tt_setint(n.a.st, a, US_IPPROTO_TCP, US_TCP_KEEPINTVL, 2, us_sim_now(n.sim));
    tt_setint(n.a.st, a, US_IPPROTO_TCP, US_TCP_KEEPCNT, 3, us_sim_now(n.sim));
    tt_setint(n.a.st, a, US_SOL_SOCKET, US_SO_KEEPALIVE, 1, us_sim_now(n.sim));
    us_time_t t0 = tt_now(&n);
    tt_clear(&tr);
    /* a live peer answers: three rounds of idle, probe, answer */
    tt_run(&n, US_SEC(31));
    assert_int_equal(tt_state(n.a.st, a), US_TCP_ESTABLISHED);
    assert_int_equal(tr.n, 6);
    assert_int_equal(tr.v[0].t, t0 + US_SEC(10));
    assert_int_equal(tr.v[0].len, 0);
    assert_int_equal(tr.v[1].host, 1);
    /* now B disappears */
    silence(&n.b);
    tt_clear(&tr);
    struct tt_conn ca = {n.a.st, a};
    assert_int_equal(us_sim_run_while(n.sim, tt_established, &ca, tt_now(&n) + US_SEC(30)), 0);
    us_time_t t_abort = tt_now(&n);
    tt_run(&n, US_SEC(10));
    /* B still answers the first probe on its side, but nothing reaches A:
     * idle 10 s after the last answer (t0 + 30 s), A sends KEEPCNT probes
     * 2 s apart and gives up one interval after the last, sending nothing more */
    us_time_t pt[8];
    int np = 0;
    for (size_t i = 0; i < tr.n && np < 8; i++)
        if (tr.v[i].host == 0)
            pt[np++] = tr.v[i].t;
    assert_int_equal(np, 3);
    assert_int_equal(pt[0], t0 + US_SEC(40));
    assert_int_equal(pt[1], t0 + US_SEC(42));
    assert_int_equal(pt[2], t0 + US_SEC(44));
    assert_int_equal(t_abort, t0 + US_SEC(46));
    char buf[4];
    assert_int_equal(us_recv(n.a.st, a, buf, 4, 0, tt_now(&n)), -ETIMEDOUT);
    tt_free(&n, &tr);
}

/* write-write-read: the second small write waits (Nagle) for the ACK of the
 * first, which the receiver delays: the exchange stalls by the delayed-ACK time. */
static us_time_t write_write_read(bool nodelay, us_time_t *second_sent)
{
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 3};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(1);
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    if (nodelay)
        tt_setint(n.a.st, a, US_IPPROTO_TCP, US_TCP_NODELAY, 1, us_sim_now(n.sim));
    tt_run(&n, US_MS(100));
    tt_clear(&tr);
    char req[100];
    memset(req, 'q', sizeof(req));
    us_time_t t0 = tt_now(&n);
    assert_int_equal(us_send(n.a.st, a, req, 100, 0, t0), 100);
    assert_int_equal(us_send(n.a.st, a, req, 100, 0, t0), 100);
    uint32_t got = 0;
    char buf[256];
    while (got < 200) {
        us_sim_step(n.sim);
        ssize_t r = us_recv(n.b.st, b, buf, sizeof(buf), 0, tt_now(&n));
        if (r > 0)
            got += (uint32_t)r;
        assert_true(tt_now(&n) < t0 + US_SEC(1));
    }
    us_time_t done = tt_now(&n) - t0;
    *second_sent = 0;
    int k = 0;
    for (size_t i = 0; i < tr.n; i++)
        if (tr.v[i].host == 0 && tr.v[i].len && ++k == 2)
            *second_sent = tr.v[i].t - t0;
    tt_free(&n, &tr);
    return done;
}

static void nagle_with_delayed_ack_stalls_write_write_read_and_nodelay_removes_it(void **s)
{
    (void)s;
    us_time_t second;
    us_time_t t = write_write_read(false, &second);
    /* 1 ms there, 40 ms delayed ACK, 1 ms back, 1 ms there */
    assert_int_equal(second, US_MS(42));
    assert_int_equal(t, US_MS(43));
    t = write_write_read(true, &second);
    /* with TCP_NODELAY both writes leave at once (counted in one or two segments) */
    assert_true(second == 0);
    assert_int_equal(t, US_MS(1));
}

static void delack_ms_option_sets_the_stall(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, NULL, 80, &a, &b);
    tt_setint(n.b.st, b, US_IPPROTO_TCP, US_TCP_DELACK_MS, 100, us_sim_now(n.sim));
    tt_run(&n, US_MS(200));
    tt_clear(&tr);
    us_time_t t0 = tt_now(&n);
    us_send(n.a.st, a, "x", 1, 0, t0);
    tt_run(&n, US_MS(300));
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.v[1].host, 1);
    assert_int_equal(tr.v[1].t - t0, US_MS(100));
    tt_free(&n, &tr);
}

/* ---- fast retransmit / NewReno ---- */

struct droplist { uint32_t seq[4]; int n; bool done[4]; };

static bool drop_listed(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct droplist *d = tr->arg;
    if (s->host != 0 || !s->len)
        return false;
    for (int i = 0; i < d->n; i++)
        if (!d->done[i] && s->seq == d->seq[i]) {
            d->done[i] = true;
            return true;
        }
    return false;
}

static void no_sack(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_sack = false;         /* NewReno is the recovery without SACK (RFC 6675 1) */
}

static void fast_retransmit_after_three_dupacks_and_newreno_recovers_three_losses(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 4, .cfg_hook = no_sack};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    /* warm up so cwnd is well above the losses */
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 200000, .seed = 1};
    assert_int_equal(xfer_run(&x, tt_now(&n) + US_SEC(10)), 0);
    tt_run(&n, US_MS(100));
    struct us_tcp_info ti;
    us_tcp_info(n.a.st, a, &ti);
    assert_int_equal(ti.bytes_in_flight, 0);
    uint32_t base = tr.v[tr.n - 1].host == 1 ? tr.v[tr.n - 1].ack : 0;
    for (size_t i = tr.n; i-- > 0;)
        if (tr.v[i].host == 1) {
            base = tr.v[i].ack;
            break;
        }
    uint32_t mss = ti.mss_send;
    struct droplist d = {.n = 3, .seq = {base + 3 * mss, base + 7 * mss, base + 12 * mss}};
    tr.rule = drop_listed;
    tr.arg = &d;
    uint64_t rto0 = ti.rto_expirations;
    struct xfer y = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 60 * mss, .seed = 2};
    assert_int_equal(xfer_run(&y, tt_now(&n) + US_SEC(10)), 0);
    assert_false(y.bad);
    us_tcp_info(n.a.st, a, &ti);
    assert_int_equal(ti.fast_retransmits, 3);   /* 1 on 3 dup ACKs + 2 on partial ACKs */
    assert_int_equal(ti.rto_expirations, rto0);
    assert_int_equal(tu_counter(n.a.st, "tcp.fast_retransmits"), 1);
    /* the first retransmission leaves when the third duplicate ACK arrives
     * (one 10 ms link delay after B sent it) */
    int dups = 0;
    us_time_t third = 0, rxt = 0;
    for (size_t i = 0; i < tr.n; i++) {
        if (tr.v[i].host == 1 && tr.v[i].ack == d.seq[0] && ++dups == 4)
            third = tr.v[i].t;
        if (tr.v[i].host == 0 && tr.v[i].seq == d.seq[0] && tr.v[i].len && !tr.dropped[i]) {
            rxt = tr.v[i].t;
            break;
        }
    }
    assert_true(third > 0);
    assert_int_equal(rxt, third + US_MS(10));
    tt_free(&n, &tr);
}

static void slow_start_doubles_from_ten_segments_per_rtt(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 5};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(50);
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    tt_run(&n, US_MS(200));
    tt_clear(&tr);
    static uint8_t big[400000];
    tt_setint(n.a.st, a, US_SOL_SOCKET, US_SO_SNDBUF, (int)sizeof(big), us_sim_now(n.sim));
    us_time_t t0 = tt_now(&n);
    assert_int_equal(us_send(n.a.st, a, big, sizeof(big), 0, t0), (ssize_t)sizeof(big));
    uint32_t per_rtt[4] = {0};
    uint8_t sink[65536];
    while (tt_now(&n) < t0 + US_MS(400)) {
        us_sim_step(n.sim);
        while (us_recv(n.b.st, b, sink, sizeof(sink), 0, tt_now(&n)) > 0)
            ;
    }
    for (size_t i = 0; i < tr.n; i++) {
        if (tr.v[i].host != 0 || !tr.v[i].len)
            continue;
        us_time_t k = (tr.v[i].t - t0) / US_MS(100);
        if (k < 4)
            per_rtt[k]++;
    }
    assert_int_equal(per_rtt[0], 10);
    assert_int_equal(per_rtt[1], 20);
    assert_int_equal(per_rtt[2], 40);
    assert_int_equal(per_rtt[3], 80);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rto_doubles_when_the_link_goes_silent_then_etimedout),
        cmocka_unit_test(syn_retransmits_back_off_from_one_second_then_connect_times_out),
        cmocka_unit_test(keepalive_finds_a_dead_peer_after_idle_plus_count_intervals),
        cmocka_unit_test(nagle_with_delayed_ack_stalls_write_write_read_and_nodelay_removes_it),
        cmocka_unit_test(delack_ms_option_sets_the_stall),
        cmocka_unit_test(fast_retransmit_after_three_dupacks_and_newreno_recovers_three_losses),
        cmocka_unit_test(slow_start_doubles_from_ten_segments_per_rtt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
