/* Ethernet framing: what the stack accepts, what it drops (and counts), and
 * the exact frames it sends for broadcast and multicast next hops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include "testutil.h"
#include "link/link.h"

#define IP_US 0xC6120001u   /* 198.18.0.1/24 */
#define IP_PEER 0xC6120002u

static const uint8_t MAC_US[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_PEER[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t MAC_OTHER[6] = {0x02, 0, 0, 0, 0, 0x03};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};

struct fx {
    struct us_pktpool *pool;
    struct us_dev *dev, *peer;
    struct us_stack *st;
};

static int setup(void **state)
{
    static struct fx f;
    char err[256];
    memset(&f, 0, sizeof(f));
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = IP_US;
    cfg.prefix_len = 24;
    cfg.deterministic = true;
    cfg.gratuitous_arp = false;
    f.pool = us_pktpool_new(2048, 0);
    assert_int_equal(us_pipe_pair(f.pool, 1500, MAC_US, MAC_PEER, &f.dev, &f.peer), 0);
    f.st = us_stack_new(&cfg, f.dev, 0, err, sizeof(err));
    if (!f.st)
        fail_msg("us_stack_new: %s", err);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    us_stack_free(f->st);
    us_dev_destroy(f->dev);
    us_dev_destroy(f->peer);
    struct us_pktpool_stats s;
    us_pktpool_stats(f->pool, &s);
    assert_int_equal(s.in_use, 0);
    us_pktpool_free(f->pool);
    return 0;
}

static uint64_t ctr(struct fx *f, const char *name) { return tu_counter(f->st, name); }

static void input(struct fx *f, const uint8_t *bytes, uint32_t len)
{
    struct us_pkt *p = us_pkt_from(f->pool, bytes, len);
    assert_non_null(p);
    us_stack_input(f->st, p, 0);
}

static void frame_hdr(uint8_t *b, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(b, dst, 6);
    memcpy(b + 6, src, 6);
    us_put16(b + 12, type);
}

static void expect_wire_empty(struct fx *f)
{
    struct us_pkt *p;
    if (us_dev_recv(f->peer, &p, 1, 0) == 1) {
        us_pkt_free(p);
        fail_msg("unexpected frame on the wire");
    }
}

static void short_frame_is_counted_and_dropped(void **state)
{
    struct fx *f = *state;
    uint8_t b[13];
    memset(b, 0xff, sizeof(b));
    input(f, b, sizeof(b));
    input(f, b, 0);
    assert_int_equal(ctr(f, "eth.drop_short"), 2);
    assert_int_equal(ctr(f, "eth.rx_frames"), 2);
    expect_wire_empty(f);
}

static void frame_for_another_mac_or_a_multicast_group_is_not_for_us(void **state)
{
    struct fx *f = *state;
    uint8_t b[60] = {0};
    frame_hdr(b, MAC_OTHER, MAC_PEER, US_ETHERTYPE_ARP);
    input(f, b, sizeof(b));
    frame_hdr(b, MCAST, MAC_PEER, US_ETHERTYPE_IPV4);
    input(f, b, sizeof(b));
    assert_int_equal(ctr(f, "eth.drop_not_for_us"), 2);
    assert_int_equal(ctr(f, "arp.rx"), 0);
    assert_int_equal(ctr(f, "ip.rx_datagrams"), 0);
    expect_wire_empty(f);
}

static void unknown_ethertype_is_counted_and_dropped(void **state)
{
    struct fx *f = *state;
    uint8_t b[60] = {0};
    frame_hdr(b, MAC_US, MAC_PEER, 0x86dd); /* IPv6 */
    input(f, b, sizeof(b));
    frame_hdr(b, BCAST, MAC_PEER, 0x8100); /* VLAN tag */
    input(f, b, sizeof(b));
    assert_int_equal(ctr(f, "eth.drop_unknown_ethertype"), 2);
    expect_wire_empty(f);
}

static void multicast_source_address_is_dropped(void **state)
{
    struct fx *f = *state;
    uint8_t b[60] = {0};
    frame_hdr(b, MAC_US, MCAST, US_ETHERTYPE_ARP);
    input(f, b, sizeof(b));
    assert_int_equal(ctr(f, "eth.drop_bad_src"), 1);
    assert_int_equal(ctr(f, "arp.rx"), 0);
}

static void ipv4_frames_to_us_and_to_broadcast_go_up_to_ip(void **state)
{
    struct fx *f = *state;
    uint8_t b[60] = {0};
    frame_hdr(b, MAC_US, MAC_PEER, US_ETHERTYPE_IPV4);
    input(f, b, sizeof(b));
    frame_hdr(b, BCAST, MAC_PEER, US_ETHERTYPE_IPV4);
    input(f, b, sizeof(b));
    assert_int_equal(ctr(f, "ip.rx_datagrams"), 2);
    assert_int_equal(ctr(f, "eth.drop_not_for_us"), 0);
}

static struct us_pkt *ip_stub(struct fx *f, uint32_t len)
{
    struct us_pkt *p = us_pkt_alloc(f->pool);
    uint8_t *d = us_pkt_put(p, len);
    for (uint32_t i = 0; i < len; i++)
        d[i] = (uint8_t)(i + 1);
    return p;
}

static void expect_frame_to(struct fx *f, const uint8_t *dst, uint32_t ip_len, uint32_t wire_len)
{
    struct us_pkt *p;
    assert_int_equal(us_dev_recv(f->peer, &p, 1, 0), 1);
    assert_int_equal(p->len, wire_len);
    assert_memory_equal(p->data, dst, 6);
    assert_memory_equal(p->data + 6, MAC_US, 6);
    assert_int_equal(us_get16(p->data + 12), US_ETHERTYPE_IPV4);
    for (uint32_t i = 0; i < ip_len; i++)
        assert_int_equal(p->data[14 + i], (uint8_t)(i + 1));
    for (uint32_t i = 14 + ip_len; i < wire_len; i++)
        assert_int_equal(p->data[i], 0); /* padding is zeros */
    us_pkt_free(p);
}

static void broadcast_next_hops_use_the_broadcast_mac_without_arp(void **state)
{
    struct fx *f = *state;
    assert_int_equal(us_eth_output_ip(f->st, ip_stub(f, 28), 0xffffffffu, 0), 0);
    expect_frame_to(f, BCAST, 28, 60);
    assert_int_equal(us_eth_output_ip(f->st, ip_stub(f, 28), 0xC61200ffu, 0), 0); /* 198.18.0.255 */
    expect_frame_to(f, BCAST, 28, 60);
    expect_wire_empty(f);
    assert_int_equal(ctr(f, "arp.requests_sent"), 0);
    assert_int_equal(ctr(f, "eth.tx_frames"), 2);
}

static void multicast_next_hop_maps_to_the_rfc1112_group_mac(void **state)
{
    struct fx *f = *state;
    assert_int_equal(us_eth_output_ip(f->st, ip_stub(f, 100), 0xE00000FBu, 0), 0); /* 224.0.0.251 */
    expect_frame_to(f, MCAST, 100, 114);
    expect_wire_empty(f);
}

static void full_size_frames_are_not_padded_and_next_hop_zero_is_refused(void **state)
{
    struct fx *f = *state;
    assert_int_equal(us_eth_output_ip(f->st, ip_stub(f, 1500), 0xffffffffu, 0), 0);
    expect_frame_to(f, BCAST, 1500, 1514);
    assert_int_equal(us_eth_output_ip(f->st, ip_stub(f, 20), 0, 0), -EINVAL);
    assert_int_equal(ctr(f, "eth.drop_bad_nexthop"), 1);
    expect_wire_empty(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(short_frame_is_counted_and_dropped),
        T(frame_for_another_mac_or_a_multicast_group_is_not_for_us),
        T(unknown_ethertype_is_counted_and_dropped),
        T(multicast_source_address_is_dropped),
        T(ipv4_frames_to_us_and_to_broadcast_go_up_to_ip),
        T(broadcast_next_hops_use_the_broadcast_mac_without_arp),
        T(multicast_next_hop_maps_to_the_rfc1112_group_mac),
        T(full_size_frames_are_not_padded_and_next_hop_zero_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
