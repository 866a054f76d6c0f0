/* After an RTO, a retransmission of the go-back-N that is lost again is
 * repaired as soon as RACK sees segments sent after it delivered (RFC 8985
 * 6.2: a retransmission is lost when a later-sent segment is SACKed), not by
 * a second, backed-off RTO. Asserted on what crossed the wire, in virtual
 * time. */
#include "test_tcp_helpers.h"

#define RTT US_MS(20)

/* Segment k of the flight (k = (seq - base) / mss, k < 10) loses its first
 * lose[k] copies; sent[k] counts the copies A sent, at[k][c] their times. */
struct flight { uint32_t base, mss; int lose[10], sent[10]; us_time_t at[10][4]; };

static bool rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct flight *fl = tr->arg;
    uint32_t k = (s->seq - fl->base) / fl->mss;
    if (s->host != 0 || !s->len || k >= 10)
        return false;
    if (fl->sent[k] < 4)
        fl->at[k][fl->sent[k]] = s->t;
    fl->sent[k]++;
    return fl->sent[k] <= fl->lose[k];
}

static void lost_retransmission_of_the_go_back_n_is_resent_without_a_second_rto(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 61};
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    struct us_tcp_info ti;
    uint32_t base = tt_warm_up(&n, &tr, a, b, 100000, US_SEC(20), US_MS(300), &ti);
    uint32_t m = ti.mss_send;
    /* the whole flight of 10 is lost, and both tail loss probes (the last
     * segment again, at the PTO and twice it); of the go-back-N after the
     * RTO, the third segment */
    struct flight d = {.base = base, .mss = m, .lose = {1, 1, 2, 1, 1, 1, 1, 1, 1, 3}};
    tr.rule = rule;
    tr.arg = &d;
    uint64_t rto0 = tu_counter(n.a.st, "tcp.rto_expirations");
    struct xfer y = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 10 * m, .seed = 3};
    assert_int_equal(xfer_run(&y, tt_now(&n) + US_SEC(30)), 0);
    assert_false(y.bad);
    assert_int_equal(y.got, 10 * m);
    for (int i = 0; i < 10; i++)
        assert_true(d.sent[i] > d.lose[i]);
    assert_int_equal(d.sent[2], 3);
    us_time_t second = d.at[2][1], third = d.at[2][2];
    printf("# %llu RTOs; the third segment's go-back-N copy at %.3f ms, resent %.3f ms later\n",
           (unsigned long long)(tu_counter(n.a.st, "tcp.rto_expirations") - rto0), (double)second / 1e6,
           (double)(third - second) / 1e6);
    assert_true(second > 0 && third > second);
    /* it left on the arrival of the first SACK for a segment sent after it,
     * long before any RTO (>= 200 ms, backed off 400 ms) */
    us_time_t sack = 0;
    for (size_t i = 0; i < tr.n && !sack; i++)
        if (tr.v[i].host == 1 && tr.v[i].nsack && tr.v[i].t > second)
            sack = tr.v[i].t + RTT / 2;
    assert_int_equal(third, sack);
    assert_true(third - second < US_MS(200));
    assert_int_equal(tu_counter(n.a.st, "tcp.rto_expirations") - rto0, 1);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lost_retransmission_of_the_go_back_n_is_resent_without_a_second_rto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
