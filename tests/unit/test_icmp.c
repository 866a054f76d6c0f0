/* ICMP: echo, ping API, received errors, and the rules and rate limit for
 * errors we generate (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include "ip_testkit.h"

static void fix_icmp_csum(uint8_t *icmp, uint32_t len)
{
    us_put16(icmp + 2, 0);
    us_put16(icmp + 2, us_csum(icmp, len));
}

static void echo_reply_mirrors_the_request(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[256], out[2048];
    uint32_t n = ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, 3, 0, ipt_echo(b + 20, US_ICMP_ECHO, 0xBEEF, 42, 100));
    b[1] = 0x28; /* TOS, echoed back */
    us_put16(b + 10, 0);
    us_put16(b + 10, us_csum(b, 20));
    ipt_input(&t, b, n);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), n);
    assert_int_equal(us_get32(out + 12), IPT_ME);
    assert_int_equal(us_get32(out + 16), IPT_PEER);
    assert_int_equal(out[1], 0x28);
    assert_int_equal(out[8], 64);
    assert_int_equal(out[20], US_ICMP_ECHO_REPLY);
    assert_int_equal(out[21], 0);
    assert_int_equal(us_csum(out + 20, n - 20), 0);
    assert_memory_equal(out + 24, b + 24, n - 24); /* id, seq, payload */
    assert_int_equal(ipt_count(&t, "icmp.echo_replied"), 1);
    ipt_free(&t);
}

static void short_or_corrupt_icmp_is_dropped(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[256], out[2048];
    uint32_t icmp = ipt_echo(b + 20, US_ICMP_ECHO, 1, 1, 16);
    b[30] ^= 0xFF;
    ipt_input(&t, b, ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, 1, 0, icmp));
    ipt_input(&t, b, ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, 2, 0, 7));
    assert_int_equal(ipt_count(&t, "icmp.drop_bad_checksum"), 1);
    assert_int_equal(ipt_count(&t, "icmp.drop_short"), 1);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    ipt_free(&t);
}

static void unknown_icmp_type_is_silently_discarded(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[256], out[2048];
    uint32_t icmp = ipt_echo(b + 20, 13 /* timestamp */, 1, 1, 12);
    ipt_input(&t, b, ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, 1, 0, icmp));
    assert_int_equal(ipt_count(&t, "icmp.drop_unknown_type"), 1);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    ipt_free(&t);
}

/* Turn our echo request around into the peer's reply and feed it back. */
static void answer(struct ipt *t, uint8_t *req, uint32_t len)
{
    us_put32(req + 12, IPT_PEER);
    us_put32(req + 16, IPT_ME);
    req[8] = 55;
    us_put16(req + 10, 0);
    us_put16(req + 10, us_csum(req, 20));
    req[20] = US_ICMP_ECHO_REPLY;
    fix_icmp_csum(req + 20, len - 20);
    ipt_input(t, req, len);
}

static void ping_send_and_recv_round_trip(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    us_time_t sent = t.now;
    assert_int_equal(us_ping_send(t.st, IPT_PEER, 77, 3, 56, t.now), 0);
    uint8_t req[2048];
    uint32_t n = ipt_recv(&t, req, sizeof(req));
    assert_int_equal(n, 20 + 8 + 56);
    assert_int_equal(req[20], US_ICMP_ECHO);
    assert_int_equal(us_get16(req + 24), 77);
    assert_int_equal(us_get16(req + 26), 3);
    assert_int_equal(us_csum(req + 20, n - 20), 0);
    struct us_ping_reply r;
    assert_int_equal(us_ping_recv(t.st, 77, &r), 0);
    t.now += US_MS(12);
    answer(&t, req, n);
    assert_int_equal(us_ping_recv(t.st, 78, &r), 0);
    assert_int_equal(us_ping_recv(t.st, 77, &r), 1);
    assert_int_equal(r.from, IPT_PEER);
    assert_int_equal(r.id, 77);
    assert_int_equal(r.seq, 3);
    assert_int_equal(r.ttl, 55);
    assert_int_equal(r.len, 56);
    assert_int_equal(r.sent, sent);
    assert_int_equal(r.received, sent + US_MS(12));
    assert_true(r.data_ok);
    assert_int_equal(us_ping_recv(t.st, 77, &r), 0);
    ipt_free(&t);
}

static void corrupted_ping_payload_is_reported_not_ok(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    assert_int_equal(us_ping_send(t.st, IPT_PEER, 1, 1, 64, t.now), 0);
    uint8_t req[2048];
    uint32_t n = ipt_recv(&t, req, sizeof(req));
    req[20 + 8 + 40] ^= 0x55; /* checksum is fixed afterwards: only the pattern shows it */
    answer(&t, req, n);
    struct us_ping_reply r;
    assert_int_equal(us_ping_recv(t.st, 1, &r), 1);
    assert_false(r.data_ok);
    ipt_free(&t);
}

static void largest_ping_is_fragmented_and_oversize_refused(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    assert_int_equal(us_ping_send(t.st, IPT_PEER, 5, 1, 65508, t.now), -EMSGSIZE);
    assert_int_equal(us_ping_send(t.st, IPT_PEER, 5, 1, 65507, t.now), 0);
    static uint8_t got[US_IP_MAXLEN];
    uint8_t hdr[20];
    uint32_t pieces;
    assert_int_equal(ipt_collect(&t, got, sizeof(got), hdr, &pieces), 65515);
    assert_int_equal(pieces, (65515 + 1479) / 1480);
    assert_int_equal(us_csum(got, 65515), 0);
    ipt_free(&t);
}

static void ping_reply_queue_is_bounded(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[256];
    for (int i = 0; i < 300; i++) {
        uint32_t icmp = ipt_echo(b + 20, US_ICMP_ECHO_REPLY, 9, (uint16_t)i, 8);
        ipt_input(&t, b, ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, (uint16_t)i, 0, icmp));
    }
    assert_int_equal(ipt_count(&t, "icmp.drop_reply_queue_full"), 300 - US_PING_QUEUE);
    struct us_ping_reply r;
    int got = 0;
    while (us_ping_recv(t.st, 9, &r) == 1) {
        assert_int_equal(r.seq, got);
        got++;
    }
    assert_int_equal(got, US_PING_QUEUE);
    ipt_free(&t);
}

/* An ICMP error from a router about a datagram we sent (quoted protocol `proto`). */
static uint32_t error_msg(uint8_t *b, uint8_t type, uint8_t code, us_ip4_t quoted_src, uint8_t proto)
{
    uint8_t *icmp = b + 20, *q = b + 28;
    memset(icmp, 0, 8);
    icmp[0] = type;
    icmp[1] = code;
    uint8_t t8[8] = { 0xC0, 0x01, 0x00, 0x35, 0, 16, 0, 0 }; /* ports 49153 → 53 */
    memcpy(q + 20, t8, 8);
    ipt_hdr(q, quoted_src, 0x08080808u, proto, 99, 0, 8);
    fix_icmp_csum(icmp, 8 + 28);
    return ipt_hdr(b, 0xC61200FEu, IPT_ME, US_IPPROTO_ICMP, 1, 0, 36);
}

static void received_unreachable_is_queued_with_the_quoted_flow(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[256];
    ipt_input(&t, b, error_msg(b, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, IPT_ME, US_IPPROTO_UDP));
    ipt_input(&t, b, error_msg(b, US_ICMP_TIME_EXCEEDED, 0, IPT_ME, US_IPPROTO_ICMP));
    struct us_icmp_error e;
    assert_int_equal(us_icmp_error_recv(t.st, &e), 1);
    assert_int_equal(e.from, 0xC61200FEu);
    assert_int_equal(e.type, US_ICMP_UNREACH);
    assert_int_equal(e.code, US_ICMP_UNREACH_PORT);
    assert_int_equal(e.orig_dst, 0x08080808u);
    assert_int_equal(e.orig_proto, US_IPPROTO_UDP);
    assert_int_equal(e.orig_dport, 53);
    assert_int_equal(us_icmp_error_recv(t.st, &e), 1);
    assert_int_equal(e.type, US_ICMP_TIME_EXCEEDED);
    assert_int_equal(us_icmp_error_recv(t.st, &e), 0);
    assert_int_equal(ipt_count(&t, "icmp.unreachable_received"), 1);
    assert_int_equal(ipt_count(&t, "icmp.time_exceeded_received"), 1);
    ipt_free(&t);
}

static void error_quoting_someone_elses_datagram_is_dropped(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[256];
    ipt_input(&t, b, error_msg(b, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, 0x01020304u, US_IPPROTO_UDP));
    struct us_icmp_error e;
    assert_int_equal(us_icmp_error_recv(t.st, &e), 0);
    assert_int_equal(ipt_count(&t, "icmp.drop_bad_quote"), 1);
    ipt_free(&t);
}

static void unknown_protocol(struct ipt *t, us_ip4_t src, us_ip4_t dst, uint16_t id)
{
    uint8_t b[64];
    memset(b + 20, 0, 8);
    ipt_input(t, b, ipt_hdr(b, src, dst, 253, id, 0, 8));
}

static void no_error_about_broadcasts_or_non_unicast_sources(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    unknown_protocol(&t, IPT_PEER, IPT_BCAST, 1);
    unknown_protocol(&t, IPT_PEER, 0xFFFFFFFFu, 2);
    unknown_protocol(&t, 0, IPT_ME, 3);
    uint8_t out[2048];
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    assert_int_equal(ipt_count(&t, "ip.drop_unknown_protocol"), 3);
    assert_int_equal(ipt_count(&t, "icmp.errors_suppressed"), 3);
    ipt_free(&t);
}

/* us_ip_info for a datagram from the peer with the given payload. */
static struct us_ip_info info_for(uint8_t *b, uint8_t proto, uint16_t frag, const uint8_t *pl, uint32_t n)
{
    memcpy(b + 20, pl, n);
    ipt_hdr(b, IPT_PEER, IPT_ME, proto, 1, frag, n);
    return (struct us_ip_info){ .src = IPT_PEER, .dst = IPT_ME, .proto = proto, .ttl = 64,
                                .dgram = b, .dgram_len = 20 + n, .hdr_len = 20 };
}

static void no_error_about_icmp_errors_or_later_fragments(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[128], out[2048];
    const uint8_t unreach[8] = { 3, 3 }, echo[8] = { 8, 0 }, udp[8] = { 0, 1, 0, 2, 0, 8 };
    struct us_ip_info i1 = info_for(b, US_IPPROTO_ICMP, 0, unreach, 8);
    us_icmp_send_error(t.st, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, &i1, t.now);
    struct us_ip_info i2 = info_for(b, US_IPPROTO_UDP, 0x2000 | 10, udp, 8); /* offset 80 */
    us_icmp_send_error(t.st, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, &i2, t.now);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    assert_int_equal(ipt_count(&t, "icmp.errors_suppressed"), 2);
    /* an error about an echo request (a query) and about a first fragment is fine */
    struct us_ip_info i3 = info_for(b, US_IPPROTO_ICMP, 0, echo, 8);
    us_icmp_send_error(t.st, US_ICMP_UNREACH, US_ICMP_UNREACH_PROTO, &i3, t.now);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 56);
    struct us_ip_info i4 = info_for(b, US_IPPROTO_UDP, 0x2000, udp, 8);
    us_icmp_send_error(t.st, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, &i4, t.now);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 56);
    assert_int_equal(out[21], US_ICMP_UNREACH_PORT);
    assert_memory_equal(out + 28, b, 28);
    assert_int_equal(ipt_count(&t, "icmp.errors_sent"), 2);
    ipt_free(&t);
}

static void errors_are_rate_limited_but_echo_replies_are_not(void **state)
{
    (void)state;
    struct us_config c;
    ipt_config(&c);
    c.icmp_rate_per_sec = 10;
    c.icmp_rate_burst = 3;
    struct ipt t;
    ipt_init_cfg(&t, &c, 1500);
    uint8_t out[2048], b[128];
    for (uint16_t i = 0; i < 10; i++)
        unknown_protocol(&t, IPT_PEER, IPT_ME, i);
    uint32_t sent = 0;
    while (ipt_recv(&t, out, sizeof(out)) > 0)
        sent++;
    assert_int_equal(sent, 3);
    assert_int_equal(ipt_count(&t, "icmp.errors_rate_limited"), 7);
    /* 10/s: one token back after 100 ms, not before */
    t.now += US_MS(99);
    unknown_protocol(&t, IPT_PEER, IPT_ME, 20);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    t.now += US_MS(1);
    unknown_protocol(&t, IPT_PEER, IPT_ME, 21);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 56);
    /* echo replies ignore the bucket, which is empty now */
    for (uint16_t i = 0; i < 20; i++)
        ipt_input(&t, b, ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, i, 0,
                                 ipt_echo(b + 20, US_ICMP_ECHO, 1, i, 8)));
    sent = 0;
    while (ipt_recv(&t, out, sizeof(out)) > 0)
        sent++;
    assert_int_equal(sent, 20);
    ipt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_reply_mirrors_the_request),
        cmocka_unit_test(short_or_corrupt_icmp_is_dropped),
        cmocka_unit_test(unknown_icmp_type_is_silently_discarded),
        cmocka_unit_test(ping_send_and_recv_round_trip),
        cmocka_unit_test(corrupted_ping_payload_is_reported_not_ok),
        cmocka_unit_test(largest_ping_is_fragmented_and_oversize_refused),
        cmocka_unit_test(ping_reply_queue_is_bounded),
        cmocka_unit_test(received_unreachable_is_queued_with_the_quoted_flow),
        cmocka_unit_test(error_quoting_someone_elses_datagram_is_dropped),
        cmocka_unit_test(no_error_about_broadcasts_or_non_unicast_sources),
        cmocka_unit_test(no_error_about_icmp_errors_or_later_fragments),
        cmocka_unit_test(errors_are_rate_limited_but_echo_replies_are_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
