/* IPv4 input validation, routing and output (fragmentation) — hand-made frames
 * into one stack over a pipe; assertions on the counters and on what crossed the
 * wire. ICMP echo is the probe: a datagram that passes IP validation gets a reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include "ip_testkit.h"

/* An echo request from the peer, 8 payload bytes: 36 bytes of IP. */
static uint32_t echo_dgram(uint8_t *b, us_ip4_t src, us_ip4_t dst)
{
    uint32_t n = ipt_echo(b + 20, US_ICMP_ECHO, 0x1234, 1, 8);
    return ipt_hdr(b, src, dst, US_IPPROTO_ICMP, 77, 0, n);
}

static void fix_csum(uint8_t *b)
{
    uint32_t hl = (b[0] & 15u) * 4u;
    us_put16(b + 10, 0);
    us_put16(b + 10, us_csum(b, hl));
}

/* Feed b[0..len), expect no answer and exactly one count of `counter`. */
static void expect_drop(const uint8_t *b, uint32_t len, const char *counter)
{
    struct ipt t;
    ipt_init(&t);
    ipt_input(&t, b, len);
    uint8_t out[2048];
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    assert_int_equal(ipt_count(&t, counter), 1);
    assert_int_equal(ipt_count(&t, "ip.delivered"), 0);
    ipt_free(&t);
}

static void valid_echo_is_delivered_and_answered(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[64], out[2048];
    uint32_t n = echo_dgram(b, IPT_PEER, IPT_ME);
    ipt_input(&t, b, n);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 36);
    assert_int_equal(us_get32(out + 12), IPT_ME);
    assert_int_equal(us_get32(out + 16), IPT_PEER);
    assert_int_equal(out[20], US_ICMP_ECHO_REPLY);
    assert_int_equal(ipt_count(&t, "ip.delivered"), 1);
    assert_int_equal(ipt_count(&t, "ip.rx_datagrams"), 1);
    ipt_free(&t);
}

static void header_shorter_than_20_bytes_is_dropped_as_short(void **state)
{
    (void)state;
    uint8_t b[64];
    echo_dgram(b, IPT_PEER, IPT_ME);
    expect_drop(b, 19, "ip.drop_short");
}

static void version_6_is_dropped_as_bad_version(void **state)
{
    (void)state;
    uint8_t b[64];
    uint32_t n = echo_dgram(b, IPT_PEER, IPT_ME);
    b[0] = 0x65;
    fix_csum(b);
    expect_drop(b, n, "ip.drop_bad_version");
}

static void ihl_below_5_is_dropped_as_bad_header_length(void **state)
{
    (void)state;
    uint8_t b[64];
    uint32_t n = echo_dgram(b, IPT_PEER, IPT_ME);
    b[0] = 0x44;
    expect_drop(b, n, "ip.drop_bad_header_length");
}

static void ihl_beyond_the_frame_is_dropped_as_bad_header_length(void **state)
{
    (void)state;
    uint8_t b[64];
    uint32_t n = echo_dgram(b, IPT_PEER, IPT_ME);
    b[0] = 0x4F; /* 60-byte header in a 36-byte datagram (frame padding reaches 46) */
    expect_drop(b, n, "ip.drop_bad_header_length");
}

static void total_length_beyond_the_frame_is_dropped(void **state)
{
    (void)state;
    uint8_t b[128];
    uint32_t n = echo_dgram(b, IPT_PEER, IPT_ME);
    us_put16(b + 2, 100); /* the frame carries 46 bytes of IP (36 + padding) */
    fix_csum(b);
    expect_drop(b, n, "ip.drop_bad_total_length");
}

static void total_length_below_the_header_is_dropped(void **state)
{
    (void)state;
    uint8_t b[64];
    uint32_t n = echo_dgram(b, IPT_PEER, IPT_ME);
    us_put16(b + 2, 19);
    fix_csum(b);
    expect_drop(b, n, "ip.drop_bad_total_length");
}

static void bad_header_checksum_is_dropped(void **state)
{
    (void)state;
    uint8_t b[64];
    uint32_t n = echo_dgram(b, IPT_PEER, IPT_ME);
    b[10] ^= 0x01;
    expect_drop(b, n, "ip.drop_bad_checksum");
}

static void broadcast_multicast_and_own_sources_are_dropped(void **state)
{
    (void)state;
    const us_ip4_t bad[] = { 0xFFFFFFFFu, IPT_BCAST, 0xE0000001u, IPT_ME, 0x7F000001u };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t b[64];
        uint32_t n = echo_dgram(b, bad[i], IPT_ME);
        expect_drop(b, n, "ip.drop_bad_source");
    }
}

static void datagram_for_another_host_is_dropped(void **state)
{
    (void)state;
    uint8_t b[64];
    uint32_t n = echo_dgram(b, IPT_PEER, 0xC6120009u);
    expect_drop(b, n, "ip.drop_not_for_us");
}

static void broadcast_destinations_are_accepted_and_flagged(void **state)
{
    (void)state;
    const us_ip4_t dst[] = { 0xFFFFFFFFu, IPT_BCAST };
    for (size_t i = 0; i < 2; i++) {
        struct ipt t;
        ipt_init(&t);
        uint8_t b[64], out[2048];
        ipt_input(&t, b, echo_dgram(b, IPT_PEER, dst[i]));
        /* delivered to ICMP, which sees info.broadcast and does not answer */
        assert_int_equal(ipt_count(&t, "ip.delivered"), 1);
        assert_int_equal(ipt_count(&t, "icmp.drop_broadcast_echo"), 1);
        assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
        ipt_free(&t);
    }
}

static void options_are_skipped_and_the_datagram_accepted(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[64], out[2048];
    /* IHL 7: a record-route-like option area of 8 bytes (NOPs + EOL), not interpreted */
    uint32_t icmp = ipt_echo(b + 28, US_ICMP_ECHO, 9, 9, 8);
    ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, 5, 0, 0);
    b[0] = 0x47;
    memset(b + 20, 1, 7);
    b[27] = 0;
    us_put16(b + 2, (uint16_t)(28 + icmp));
    fix_csum(b);
    ipt_input(&t, b, 28 + icmp);
    uint32_t n = ipt_recv(&t, out, sizeof(out));
    assert_int_equal(n, 20 + icmp);  /* reply without options */
    assert_int_equal(out[20], US_ICMP_ECHO_REPLY);
    assert_int_equal(us_get16(out + 24), 9);
    ipt_free(&t);
}

static void ethernet_padding_is_trimmed_to_the_total_length(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    /* 21 bytes of ICMP (odd, so padding would change the checksum), 41 bytes
     * of IP, followed by garbage that a link may leave */
    uint8_t b[64], out[2048];
    uint32_t icmp = ipt_echo(b + 20, US_ICMP_ECHO, 1, 2, 13);
    uint32_t n = ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, 1, 0, icmp);
    memset(b + n, 0xEE, sizeof(b) - n);
    ipt_input(&t, b, sizeof(b));
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), n);
    assert_int_equal(ipt_count(&t, "icmp.drop_bad_checksum"), 0);
    assert_memory_equal(out + 28, b + 28, 13);
    ipt_free(&t);
}

static void unknown_protocol_gets_protocol_unreachable(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t b[64], out[2048];
    memset(b + 20, 0x5A, 12);
    uint32_t n = ipt_hdr(b, IPT_PEER, IPT_ME, 253, 42, 0, 12);
    ipt_input(&t, b, n);
    uint32_t m = ipt_recv(&t, out, sizeof(out));
    assert_int_equal(m, 20 + 8 + n); /* whole offending datagram quoted */
    assert_int_equal(out[9], US_IPPROTO_ICMP);
    assert_int_equal(out[20], US_ICMP_UNREACH);
    assert_int_equal(out[21], US_ICMP_UNREACH_PROTO);
    assert_int_equal(us_csum(out + 20, m - 20), 0);
    assert_memory_equal(out + 28, b, n);
    assert_int_equal(ipt_count(&t, "ip.drop_unknown_protocol"), 1);
    ipt_free(&t);
}

static void routes_use_the_longest_matching_prefix(void **state)
{
    (void)state;
    struct us_config c;
    ipt_config(&c);
    c.gw = 0xC61200FEu; /* 198.18.0.254 */
    struct ipt t;
    ipt_init_cfg(&t, &c, 1500);
    us_ip4_t nh;
    assert_int_equal(us_ip_route(t.st, 0x08080808u, &nh), 0);
    assert_int_equal(nh, 0xC61200FEu);
    assert_int_equal(us_ip_route(t.st, IPT_PEER, &nh), 0);
    assert_int_equal(nh, IPT_PEER);
    assert_int_equal(us_route_add(t.st, 0x0A000000u, 8, 0xC6120003u), 0);
    assert_int_equal(us_route_add(t.st, 0x0A010000u, 16, 0xC6120004u), 0);
    assert_int_equal(us_ip_route(t.st, 0x0A010203u, &nh), 0);
    assert_int_equal(nh, 0xC6120004u);
    assert_int_equal(us_ip_route(t.st, 0x0A020203u, &nh), 0);
    assert_int_equal(nh, 0xC6120003u);
    /* a gateway that is not on-link is refused */
    assert_int_equal(us_route_add(t.st, 0x0B000000u, 8, 0x0A000001u), -ENETUNREACH);
    assert_int_equal(us_route_add(t.st, 0, 33, 0), -EINVAL);
    assert_int_equal(us_ip_mtu(t.st, IPT_PEER), 1480);
    assert_true(us_ip_is_local(t.st, IPT_ME));
    assert_false(us_ip_is_local(t.st, IPT_PEER));
    ipt_free(&t);
}

static void no_route_is_enetunreach_and_counted(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    us_ip4_t nh;
    assert_int_equal(us_ip_route(t.st, 0x08080808u, &nh), -ENETUNREACH);
    struct us_pkt *p = us_pkt_alloc(t.pool);
    us_pkt_put(p, 10);
    struct us_ip_out o = { .dst = 0x08080808u, .proto = 253 };
    assert_int_equal(us_ip_output(t.st, p, &o, t.now), -ENETUNREACH);
    assert_int_equal(ipt_count(&t, "ip.drop_no_route"), 1);
    ipt_free(&t);
}

static void output_header_carries_ttl_df_tos_and_a_valid_checksum(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t out[2048];
    for (int i = 0; i < 2; i++) {
        struct us_pkt *p = us_pkt_alloc(t.pool);
        memset(us_pkt_put(p, 100), 0x11, 100);
        struct us_ip_out o = { .dst = IPT_PEER, .proto = 253, .ttl = (uint8_t)(i ? 0 : 9),
                               .tos = 0x10, .df = i == 0 };
        assert_int_equal(us_ip_output(t.st, p, &o, t.now), 0);
        assert_int_equal(ipt_recv(&t, out, sizeof(out)), 120);
        assert_int_equal(out[0], 0x45);
        assert_int_equal(out[1], 0x10);
        assert_int_equal(out[8], i ? 64 : 9);
        assert_int_equal(us_get16(out + 6), i ? 0 : 0x4000);
        assert_int_equal(us_get32(out + 12), IPT_ME);
        assert_int_equal(us_csum(out, 20), 0);
    }
    assert_int_equal(ipt_count(&t, "ip.tx_datagrams"), 2);
    ipt_free(&t);
}

static void datagram_ids_increase_per_datagram(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    uint8_t out[2048];
    uint16_t ids[3];
    for (int i = 0; i < 3; i++) {
        struct us_pkt *p = us_pkt_alloc(t.pool);
        us_pkt_put(p, 8);
        struct us_ip_out o = { .dst = IPT_PEER, .proto = 253 };
        assert_int_equal(us_ip_output(t.st, p, &o, t.now), 0);
        assert_int_equal(ipt_recv(&t, out, sizeof(out)), 28);
        ids[i] = us_get16(out + 4);
    }
    assert_int_equal((uint16_t)(ids[1] - ids[0]), 1);
    assert_int_equal((uint16_t)(ids[2] - ids[1]), 1);
    ipt_free(&t);
}

static void df_datagram_larger_than_mtu_is_emsgsize(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    struct us_pkt *p = us_pkt_alloc(t.pool);
    us_pkt_put(p, 1481);
    struct us_ip_out o = { .dst = IPT_PEER, .proto = 253, .df = true };
    assert_int_equal(us_ip_output(t.st, p, &o, t.now), -EMSGSIZE);
    assert_int_equal(ipt_count(&t, "ip.drop_df_too_big"), 1);
    uint8_t out[2048];
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    ipt_free(&t);
}

/* Fragments of a datagram we sent, turned around (src/dst swapped) and fed back. */
static void feed_back(struct ipt *t, uint8_t frags[][2048], const uint32_t *lens, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        us_put32(frags[i] + 12, IPT_PEER);
        us_put32(frags[i] + 16, IPT_ME);
        fix_csum(frags[i]);
        ipt_input(t, frags[i], lens[i]);
    }
}

static void large_output_is_fragmented_and_reassembles_to_the_original(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    static uint8_t data[4000], frags[4][2048];
    for (uint32_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + (i >> 8));
    struct us_ip_out o = { .dst = IPT_PEER, .proto = 253 };
    assert_int_equal(us_ip_output_flat(t.st, data, sizeof(data), &o, t.now), 0);
    uint32_t lens[4], n = 0, len;
    while (n < 4 && (len = ipt_recv(&t, frags[n], sizeof(frags[n]))) > 0)
        lens[n++] = len;
    assert_int_equal(n, 3);
    const uint32_t want_len[3] = { 1500, 1500, 20 + 4000 - 2960 };
    const uint16_t want_frag[3] = { 0x2000 | 0, 0x2000 | (1480 / 8), 2960 / 8 };
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(lens[i], want_len[i]);
        assert_int_equal(us_get16(frags[i] + 6), want_frag[i]);
        assert_int_equal(us_get16(frags[i] + 4), us_get16(frags[0] + 4));
        assert_int_equal(us_csum(frags[i], 20), 0);
        assert_memory_equal(frags[i] + 20, data + i * 1480, lens[i] - 20);
    }
    assert_int_equal(ipt_count(&t, "ip.fragments_created"), 3);
    /* back into the stack: reassembled, then protocol 253 is unreachable and the
     * error quotes the reassembled header (total length 4020, no MF) */
    feed_back(&t, frags, lens, 3);
    assert_int_equal(ipt_count(&t, "ip.reassembled"), 1);
    uint8_t err[2048];
    uint32_t m = ipt_recv(&t, err, sizeof(err));
    assert_int_equal(m, 576);
    assert_int_equal(err[20], US_ICMP_UNREACH);
    assert_int_equal(us_get16(err + 28 + 2), 4020);
    assert_int_equal(us_get16(err + 28 + 6), 0);
    assert_memory_equal(err + 48, data, 576 - 48);
    ipt_free(&t);
}

static void packet_output_larger_than_mtu_is_fragmented(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    struct us_pkt *p = us_pkt_alloc(t.pool);
    uint8_t *d = us_pkt_put(p, 1800);
    for (uint32_t i = 0; i < 1800; i++)
        d[i] = (uint8_t)i;
    struct us_ip_out o = { .dst = IPT_PEER, .proto = 253 };
    assert_int_equal(us_ip_output(t.st, p, &o, t.now), 0);
    static uint8_t payload[4096];
    uint8_t hdr[20];
    uint32_t pieces;
    assert_int_equal(ipt_collect(&t, payload, sizeof(payload), hdr, &pieces), 1800);
    assert_int_equal(pieces, 2);
    for (uint32_t i = 0; i < 1800; i++)
        assert_int_equal(payload[i], (uint8_t)i);
    ipt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_echo_is_delivered_and_answered),
        cmocka_unit_test(header_shorter_than_20_bytes_is_dropped_as_short),
        cmocka_unit_test(version_6_is_dropped_as_bad_version),
        cmocka_unit_test(ihl_below_5_is_dropped_as_bad_header_length),
        cmocka_unit_test(ihl_beyond_the_frame_is_dropped_as_bad_header_length),
        cmocka_unit_test(total_length_beyond_the_frame_is_dropped),
        cmocka_unit_test(total_length_below_the_header_is_dropped),
        cmocka_unit_test(bad_header_checksum_is_dropped),
        cmocka_unit_test(broadcast_multicast_and_own_sources_are_dropped),
        cmocka_unit_test(datagram_for_another_host_is_dropped),
        cmocka_unit_test(broadcast_destinations_are_accepted_and_flagged),
        cmocka_unit_test(options_are_skipped_and_the_datagram_accepted),
        cmocka_unit_test(ethernet_padding_is_trimmed_to_the_total_length),
        cmocka_unit_test(unknown_protocol_gets_protocol_unreachable),
        cmocka_unit_test(routes_use_the_longest_matching_prefix),
        cmocka_unit_test(no_route_is_enetunreach_and_counted),
        cmocka_unit_test(output_header_carries_ttl_df_tos_and_a_valid_checksum),
        cmocka_unit_test(datagram_ids_increase_per_datagram),
        cmocka_unit_test(df_datagram_larger_than_mtu_is_emsgsize),
        cmocka_unit_test(large_output_is_fragmented_and_reassembles_to_the_original),
        cmocka_unit_test(packet_output_larger_than_mtu_is_fragmented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
