/* Proportional Rate Reduction (RFC 6937, as RFC 6937bis states it) on a
 * RACK recovery: after one loss in a cwnd-limited flight, every SACK that
 * returns lets A send exactly what PRR allows —
 *     sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
 * while pipe is above ssthresh — no more (no burst), no less (no stall while
 * the reduction runs, as RFC 6675 alone would). Asserted per ACK, on what A
 * sent between the ACKs it received, in virtual time. */
#include "test_tcp_helpers.h"

#define RTT US_MS(20)
#define US_USEC_TEST(x) ((us_time_t)(x) * 1000ull)

/* The first copy of A's segment at drop_seq is lost; B's own ACKs are
 * dropped while `mute` (the test hands A its ACKs itself, one at a time). */
struct rules { uint32_t drop_seq; bool dropped, mute; uint32_t b_seq; uint16_t b_wnd; };

static bool rule(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct rules *r = tr->arg;
    if (s->host == 1) {
        if (!r->mute) {
            r->b_seq = s->seq;
            r->b_wnd = s->wnd;
        }
        return r->mute;
    }
    if (!s->len || s->seq != r->drop_seq || r->dropped)
        return false;
    r->dropped = true;
    return true;
}

/* B's ACK of everything below `ack` with one SACK block [l, r), handed to A. */
static void ack_to_a(struct tu_net *n, uint16_t aport, uint32_t seq, uint16_t wnd, uint32_t ack, uint32_t l, uint32_t r)
{
    uint8_t f[US_ETH_HLEN + US_IP_HLEN + 60];
    struct us_eth_repr e = {.type = US_ETHERTYPE_IPV4};
    memcpy(e.dst, n->a.mac, 6);
    memcpy(e.src, n->b.mac, 6);
    us_eth_emit(f, &e);
    struct us_tcp_repr h = {.sport = 80, .dport = aport, .seq = seq, .ack = ack, .flags = US_TH_ACK, .wnd = wnd,
                            .wscale = -1, .nsack = 1, .sack = {{l, r}}};
    uint8_t *t = f + US_ETH_HLEN + US_IP_HLEN;
    uint32_t hlen = us_tcp_emit(t, &h);
    us_tcp_csum_fill(t, hlen, TU_IP_B, TU_IP_A);
    struct us_ip_hdr ip = {.total_len = (uint16_t)(US_IP_HLEN + hlen), .df = true, .ttl = 64,
                           .proto = US_IP_PROTO_TCP, .src = TU_IP_B, .dst = TU_IP_A};
    us_ip_hdr_write(f + US_ETH_HLEN, &ip);
    struct us_pkt *p = us_pkt_from(n->a.pool, f, US_ETH_HLEN + US_IP_HLEN + hlen);
    assert_non_null(p);
    us_stack_input(n->a.st, p, us_sim_now(n->sim));
}

static void cfg(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    snprintf(c->tcp_cc, sizeof(c->tcp_cc), "newreno");   /* ssthresh = FlightSize / 2 */
}

static void each_sack_releases_exactly_what_prr_allows(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 51, .cfg_hook = cfg};
    o.imp_a.tx.delay = o.imp_b.tx.delay = RTT / 2;
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_net(&n, &tr, &o);
    int lfd = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
    tt_pair(&n, lfd, 80, &a, &b);
    struct us_tcp_info ti;
    struct rules ru = {.dropped = true};           /* B's sequence number and window kept from here */
    tr.rule = rule;
    tr.arg = &ru;
    /* warm up, then send again before an RTO of idleness (no restart from IW) */
    uint32_t base = tt_warm_up(&n, &tr, a, b, 100000, US_SEC(20), US_MS(50), &ti);
    uint32_t mss = ti.mss_send;
    struct us_sockaddr la;
    assert_int_equal(us_getsockname(n.a.st, a, &la), 0);
    ru.drop_seq = base;
    ru.dropped = false;
    ru.mute = true;
    static uint8_t buf[1 << 18];
    assert_true(us_send(n.a.st, a, buf, sizeof(buf), 0, tt_now(&n)) > 0);
    tt_run(&n, RTT / 2 + US_MS(1));                /* the flight reached B; its ACKs are held */
    assert_true(ru.dropped);
    uint64_t flight = 0;
    for (size_t k = 0; k < tr.n; k++)
        flight += tr.v[k].host == 0 && tr.v[k].len;
    assert_true(flight >= 20);
    uint32_t bseq = ru.b_seq;
    /* SACK k covers k segments above the hole; released[k] = what A sent on it */
    uint64_t released[512] = {0};
    size_t acks = flight - 1 < 511 ? flight - 1 : 511;
    for (size_t k = 1; k <= acks; k++) {
        uint64_t tx = tu_counter(n.a.st, "tcp.tx_segments");
        ack_to_a(&n, la.port, bseq, ru.b_wnd, base, base + mss, base + (uint32_t)(k + 1) * mss);
        released[k] = tu_counter(n.a.st, "tcp.tx_segments") - tx;
    }
    /* SACKs 1 and 2 (fewer than DupThresh) release one new segment each
     * (limited transmit, RFC 3042); the third marks the hole lost: recovery
     * begins and its retransmission leaves at once, alone */
    assert_int_equal(released[1], 1);
    assert_int_equal(released[2], 1);
    assert_int_equal(released[3], 1);
    assert_int_equal(tu_counter(n.a.st, "tcp.rack_recoveries"), 1);
    flight += 2;
    uint64_t ssthresh = flight * mss / 2, recover_fs = (flight - 4) * mss;   /* pipe: less 3 SACKed, 1 lost */
    uint64_t delivered = mss, out = mss;        /* the entering ACK's segment; the retransmission */
    printf("# flight %llu segments: ssthresh %llu, RecoverFS %llu bytes\n", (unsigned long long)flight,
           (unsigned long long)ssthresh, (unsigned long long)recover_fs);
    /* while pipe > ssthresh: on each SACK of one more segment, exactly
     * floor(sndcnt / MSS) new segments */
    uint64_t pipe = recover_fs + mss;
    size_t k = 4;
    for (; k <= acks && pipe > ssthresh + 2 * mss; k++) {
        delivered += mss;
        pipe -= mss;
        uint64_t target = (delivered * ssthresh + recover_fs - 1) / recover_fs;
        uint64_t want = target > out ? (target - out) / mss : 0;
        assert_int_equal(released[k], want);
        out += released[k] * mss;
        pipe += released[k] * mss;
    }
    printf("# %zu ACKs checked: %llu bytes sent for %llu delivered\n", k - 4, (unsigned long long)out,
           (unsigned long long)delivered);
    assert_true(k - 4 >= flight / 3);
    /* that is, ssthresh / RecoverFS of what was delivered, to a segment */
    assert_true(out * recover_fs + recover_fs * mss >= delivered * ssthresh);
    assert_true(out * recover_fs <= delivered * ssthresh + recover_fs);
    tt_free(&n, &tr);
}

/* ---- PRR never leaves a lost segment to the RTO ------------------------------- */

static void lan_cfg(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_sndbuf = c->tcp_rcvbuf = 1u << 20;
}

/* RFC 6937's conservative bound (an ACK that marks a new loss sends no more
 * than prr_delivered - prr_out) is 0 once the recovery sent more than was
 * delivered, which its slow-start bound allows. When that ACK leaves little
 * or nothing in flight but a segment it marked lost, no ACK may come to clock
 * the retransmission, and no probe is armed while a loss is pending: the RTO
 * sent it. As Linux, the bound lets out what the ACK delivered, and one
 * segment when nothing is in flight. Over TAP at 2% loss and 5% reordering each way, 4 RTOs per 30 MB,
 * each 200 ms after a recovery had one segment left. A LAN path in virtual
 * time with the same impairments, several seeds. */
static void lost_segment_with_nothing_in_flight_is_resent_at_once(void **s)
{
    (void)s;
    uint64_t rtos = 0, rexmit = 0, bytes = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct tu_opts o = {.seed = seed, .cfg_hook = lan_cfg};
        struct us_impair_dir d = {.delay = US_USEC_TEST(40), .loss = 0.02, .reorder = 0.05,
                                  .reorder_gap = US_USEC_TEST(60)};
        o.imp_a.tx = o.imp_b.tx = d;
        struct tu_net n;
        tu_net_init(&n, &o);
        int l = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
        int a, b;
        tt_pair(&n, l, 80, &a, &b);
        struct xfer f = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 20000000, .seed = 4};
        assert_int_equal(xfer_run(&f, tt_now(&n) + US_SEC(300)), 0);
        assert_false(f.bad);
        struct us_tcp_info ti;
        assert_int_equal(us_tcp_info(n.a.st, a, &ti), 0);
        printf("# seed %llu: %llu retransmissions, %llu RTOs, %llu TLPs\n", (unsigned long long)seed,
               (unsigned long long)ti.retransmits, (unsigned long long)ti.rto_expirations,
               (unsigned long long)ti.tlp_probes);
        rtos += ti.rto_expirations;
        rexmit += ti.retransmits;
        bytes += f.got;
        tu_net_free(&n);
    }
    assert_true(rexmit > 1000);
    assert_int_equal(bytes, 6 * 20000000ull);
    assert_true(rtos <= 2);   /* 1 measured (a tail of one segment: WCDelAckT); 10 before */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_sack_releases_exactly_what_prr_allows),
        cmocka_unit_test(lost_segment_with_nothing_in_flight_is_resent_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
