/* ARP (RFC 826, RFC 1122 2.3.2): one stack on a pipe; the test plays the
 * neighbour on the other end, feeding hand-made frames and asserting exactly
 * what the stack put on the wire, at explicit virtual times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include "testutil.h"
#include "link/link.h"

#define IP_US 0xC6120001u    /* 198.18.0.1: the stack */
#define IP_PEER 0xC6120002u  /* 198.18.0.2: the test */
#define IP_OTHER 0xC6120003u /* 198.18.0.3 */

static const uint8_t MAC_US[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_PEER[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t MAC_NEW[6] = {0x02, 0, 0, 0, 0, 0x22};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t ZERO[6] = {0};

struct fx {
    struct us_pktpool *pool;
    struct us_dev *dev, *peer;
    struct us_stack *st;
    struct us_config cfg;
};

static void fx_config(struct fx *f)
{
    us_config_default(&f->cfg);
    f->cfg.ip = IP_US;
    f->cfg.prefix_len = 24;
    f->cfg.deterministic = true;
    f->cfg.gratuitous_arp = false;
}

static void fx_start(struct fx *f)
{
    char err[256];
    f->pool = us_pktpool_new(2048, 0);
    assert_non_null(f->pool);
    assert_int_equal(us_pipe_pair(f->pool, 1500, MAC_US, MAC_PEER, &f->dev, &f->peer), 0);
    f->st = us_stack_new(&f->cfg, f->dev, 0, err, sizeof(err));
    if (!f->st)
        fail_msg("us_stack_new: %s", err);
}

static void fx_stop(struct fx *f)
{
    us_stack_free(f->st);
    us_dev_destroy(f->dev);
    us_dev_destroy(f->peer);
    struct us_pktpool_stats s;
    us_pktpool_stats(f->pool, &s);
    assert_int_equal(s.in_use, 0);
    us_pktpool_free(f->pool);
}

static uint64_t ctr(struct fx *f, const char *name) { return tu_counter(f->st, name); }

/* ---- frames ---- */
struct arp_fields {
    uint16_t op;
    const uint8_t *sha;
    us_ip4_t spa;
    const uint8_t *tha;
    us_ip4_t tpa;
};

static void put_eth(uint8_t *b, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(b, dst, 6);
    memcpy(b + 6, src, 6);
    us_put16(b + 12, type);
}

static struct us_pkt *arp_frame(struct fx *f, const uint8_t *eth_dst, const struct arp_fields *a)
{
    uint8_t b[60] = {0};
    put_eth(b, eth_dst, a->sha, US_ETHERTYPE_ARP);
    us_put16(b + 14, 1);
    us_put16(b + 16, 0x0800);
    b[18] = 6;
    b[19] = 4;
    us_put16(b + 20, a->op);
    memcpy(b + 22, a->sha, 6);
    us_put32(b + 28, a->spa);
    memcpy(b + 32, a->tha, 6);
    us_put32(b + 38, a->tpa);
    struct us_pkt *p = us_pkt_from(f->pool, b, sizeof(b));
    assert_non_null(p);
    return p;
}

static void inject_arp(struct fx *f, us_time_t now, const uint8_t *eth_dst, uint16_t op, const uint8_t *sha,
                       us_ip4_t spa, const uint8_t *tha, us_ip4_t tpa)
{
    struct arp_fields a = {op, sha, spa, tha, tpa};
    us_stack_input(f->st, arp_frame(f, eth_dst, &a), now);
}

/* A stand-in IPv4 datagram (the link layer does not look inside): 20 bytes
 * of header-like bytes and a 4-byte tag. */
static int send_ip(struct fx *f, us_ip4_t nexthop, uint32_t tag, us_time_t now)
{
    uint8_t b[24] = {0x45, 0, 0, 24};
    us_put32(b + 20, tag);
    struct us_pkt *p = us_pkt_alloc(f->pool);
    assert_non_null(p);
    memcpy(us_pkt_put(p, sizeof(b)), b, sizeof(b));
    return us_eth_output_ip(f->st, p, nexthop, now);
}

/* The next frame the stack put on the wire (NULL if none). */
static struct us_pkt *wire_next(struct fx *f, us_time_t now)
{
    struct us_pkt *p = NULL;
    return us_dev_recv(f->peer, &p, 1, now) == 1 ? p : NULL;
}

static void expect_wire_empty(struct fx *f, us_time_t now)
{
    struct us_pkt *p = wire_next(f, now);
    if (p) {
        us_pkt_free(p);
        fail_msg("unexpected frame on the wire");
    }
}

static void expect_arp(struct us_pkt *p, const uint8_t *eth_dst, uint16_t op, const uint8_t *sha, us_ip4_t spa,
                       const uint8_t *tha, us_ip4_t tpa)
{
    assert_non_null(p);
    assert_int_equal(p->len, 60); /* 42 bytes padded to the Ethernet minimum */
    const uint8_t *b = p->data;
    assert_memory_equal(b, eth_dst, 6);
    assert_memory_equal(b + 6, MAC_US, 6);
    assert_int_equal(us_get16(b + 12), US_ETHERTYPE_ARP);
    assert_int_equal(us_get16(b + 14), 1);
    assert_int_equal(us_get16(b + 16), 0x0800);
    assert_int_equal(b[18], 6);
    assert_int_equal(b[19], 4);
    assert_int_equal(us_get16(b + 20), op);
    assert_memory_equal(b + 22, sha, 6);
    assert_int_equal(us_get32(b + 28), spa);
    assert_memory_equal(b + 32, tha, 6);
    assert_int_equal(us_get32(b + 38), tpa);
    for (int i = 42; i < 60; i++)
        assert_int_equal(b[i], 0);
    us_pkt_free(p);
}

static void expect_request_for(struct fx *f, us_time_t now, us_ip4_t target)
{
    expect_arp(wire_next(f, now), BCAST, 1, MAC_US, IP_US, ZERO, target);
}

static void expect_ip(struct fx *f, us_time_t now, const uint8_t *dst, uint32_t tag)
{
    struct us_pkt *p = wire_next(f, now);
    assert_non_null(p);
    assert_int_equal(p->len, 60);
    assert_memory_equal(p->data, dst, 6);
    assert_memory_equal(p->data + 6, MAC_US, 6);
    assert_int_equal(us_get16(p->data + 12), US_ETHERTYPE_IPV4);
    assert_int_equal(us_get32(p->data + 14 + 20), tag);
    us_pkt_free(p);
}

static void peer_answers(struct fx *f, us_time_t now, const uint8_t *mac)
{
    inject_arp(f, now, MAC_US, 2, mac, IP_PEER, MAC_US, IP_US);
}

/* ---- tests ---- */

static void request_for_our_address_is_answered_and_the_sender_learned(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    inject_arp(&f, US_MS(5), BCAST, 1, MAC_PEER, IP_PEER, ZERO, IP_US);
    expect_arp(wire_next(&f, US_MS(5)), MAC_PEER, 2, MAC_US, IP_US, MAC_PEER, IP_PEER);
    expect_wire_empty(&f, US_MS(5));
    uint8_t mac[6];
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 1);
    assert_memory_equal(mac, MAC_PEER, 6);
    assert_int_equal(ctr(&f, "arp.replies_sent"), 1);
    /* learned: IP to the peer now leaves without a request */
    assert_int_equal(send_ip(&f, IP_PEER, 77, US_MS(6)), 0);
    expect_ip(&f, US_MS(6), MAC_PEER, 77);
    expect_wire_empty(&f, US_MS(6));
    fx_stop(&f);
}

static void request_for_another_address_is_neither_answered_nor_learned(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    inject_arp(&f, 0, BCAST, 1, MAC_PEER, IP_PEER, ZERO, IP_OTHER);
    expect_wire_empty(&f, 0);
    uint8_t mac[6];
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 0);
    assert_int_equal(ctr(&f, "arp.drop_not_for_us"), 1);
    fx_stop(&f);
}

static void packets_wait_for_resolution_and_leave_in_order_on_reply(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    for (uint32_t i = 1; i <= 3; i++)
        assert_int_equal(send_ip(&f, IP_PEER, i, US_MS(1)), 0);
    expect_request_for(&f, US_MS(1), IP_PEER); /* one request for three packets */
    expect_wire_empty(&f, US_MS(1));
    assert_int_equal(ctr(&f, "arp.queued"), 3);
    peer_answers(&f, US_MS(2), MAC_PEER);
    for (uint32_t i = 1; i <= 3; i++)
        expect_ip(&f, US_MS(2), MAC_PEER, i);
    expect_wire_empty(&f, US_MS(2));
    /* the retry timer was cancelled by the answer */
    us_stack_poll(f.st, US_SEC(5));
    expect_wire_empty(&f, US_SEC(5));
    assert_int_equal(ctr(&f, "arp.requests_sent"), 1);
    fx_stop(&f);
}

static void queue_bound_keeps_the_latest_packets_and_counts_overflow(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    f.cfg.arp_queue_len = 4;
    fx_start(&f);
    for (uint32_t i = 1; i <= 6; i++)
        assert_int_equal(send_ip(&f, IP_PEER, i, 0), 0);
    expect_request_for(&f, 0, IP_PEER);
    assert_int_equal(ctr(&f, "arp.drop_queue_full"), 2);
    peer_answers(&f, US_MS(1), MAC_PEER);
    for (uint32_t i = 3; i <= 6; i++) /* RFC 1122 2.3.2.2: the latest survive */
        expect_ip(&f, US_MS(1), MAC_PEER, i);
    expect_wire_empty(&f, US_MS(1));
    fx_stop(&f);
}

static void unanswered_requests_retry_then_drop_the_queue_and_count(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    f.cfg.arp_retry = US_SEC(1);
    f.cfg.arp_max_retries = 3;
    fx_start(&f);
    us_time_t t0 = US_MS(100);
    send_ip(&f, IP_PEER, 1, t0);
    send_ip(&f, IP_PEER, 2, t0);
    expect_request_for(&f, t0, IP_PEER);
    us_stack_poll(f.st, t0 + US_SEC(1) - 1);
    expect_wire_empty(&f, t0 + US_SEC(1) - 1);
    us_stack_poll(f.st, t0 + US_SEC(1));
    expect_request_for(&f, t0 + US_SEC(1), IP_PEER);
    us_stack_poll(f.st, t0 + US_SEC(2));
    expect_request_for(&f, t0 + US_SEC(2), IP_PEER);
    assert_int_equal(ctr(&f, "arp.drop_unresolved"), 0);
    us_stack_poll(f.st, t0 + US_SEC(3));
    expect_wire_empty(&f, t0 + US_SEC(3)); /* gave up: no fourth request, no IP */
    assert_int_equal(ctr(&f, "arp.requests_sent"), 3);
    assert_int_equal(ctr(&f, "arp.drop_unresolved"), 2);
    /* the next packet starts a fresh resolution; only it is delivered */
    send_ip(&f, IP_PEER, 3, t0 + US_SEC(5));
    expect_request_for(&f, t0 + US_SEC(5), IP_PEER);
    peer_answers(&f, t0 + US_SEC(5) + US_MS(1), MAC_PEER);
    expect_ip(&f, t0 + US_SEC(5) + US_MS(1), MAC_PEER, 3);
    expect_wire_empty(&f, t0 + US_SEC(5) + US_MS(1));
    fx_stop(&f);
}

/* The request that polls an expired entry: unicast to the address it had. */
static void expect_poll(struct fx *f, us_time_t now, const uint8_t *mac)
{
    expect_arp(wire_next(f, now), mac, 1, MAC_US, IP_US, ZERO, IP_PEER);
}

/* A stack with the given prefix that learned IP_PEER at MAC_PEER at t = 1 s
 * (ttl 10 s: the entry expires at 11 s). */
static void start_knowing_peer(struct fx *f, uint8_t prefix_len)
{
    fx_config(f);
    f->cfg.prefix_len = prefix_len;
    f->cfg.arp_ttl = US_SEC(10);
    fx_start(f);
    send_ip(f, IP_PEER, 1, 0);
    expect_request_for(f, 0, IP_PEER);
    peer_answers(f, US_SEC(1), MAC_PEER);
    expect_ip(f, US_SEC(1), MAC_PEER, 1);
}

/* RFC 1122 2.3.2.1 "unicast poll": an entry used past its lifetime still
 * carries the packet at once, and a unicast request confirms it; the answer
 * renews it (here with a new address) and ends the poll. */
static void expired_entry_is_used_while_a_unicast_poll_confirms_it(void **state)
{
    (void)state;
    struct fx f;
    start_knowing_peer(&f, 24);

    send_ip(&f, IP_PEER, 2, US_SEC(11) - 1); /* still fresh */
    expect_ip(&f, US_SEC(11) - 1, MAC_PEER, 2);
    us_stack_poll(f.st, US_SEC(11) - 1);
    uint8_t mac[6];
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 1);
    expect_wire_empty(&f, US_SEC(11) - 1);

    us_stack_poll(f.st, US_SEC(11));
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 0); /* expired, not in use */
    send_ip(&f, IP_PEER, 3, US_SEC(11)); /* expired: sent at once, and polled */
    expect_ip(&f, US_SEC(11), MAC_PEER, 3);
    expect_poll(&f, US_SEC(11), MAC_PEER);
    expect_wire_empty(&f, US_SEC(11));
    assert_int_equal(ctr(&f, "arp.expired"), 1);
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 1); /* usable while polled */
    send_ip(&f, IP_PEER, 4, US_SEC(11) + US_US(1)); /* one poll at a time */
    expect_ip(&f, US_SEC(11) + US_US(1), MAC_PEER, 4);
    expect_wire_empty(&f, US_SEC(11) + US_US(1));

    peer_answers(&f, US_SEC(11) + US_MS(1), MAC_NEW);
    send_ip(&f, IP_PEER, 5, US_SEC(11) + US_MS(1));
    expect_ip(&f, US_SEC(11) + US_MS(1), MAC_NEW, 5);
    us_stack_poll(f.st, US_SEC(15)); /* renewed: no further poll */
    expect_wire_empty(&f, US_SEC(15));
    assert_int_equal(ctr(&f, "arp.expired"), 1);
    assert_int_equal(ctr(&f, "arp.requests_sent"), 2);
    fx_stop(&f);
}

/* A neighbour that no longer answers: arp_max_retries polls a second apart,
 * packets still leave meanwhile; then the entry is forgotten and the next
 * packet waits for a broadcast request like a new address. */
static void unanswered_polls_forget_the_entry_and_the_next_send_resolves_again(void **state)
{
    (void)state;
    struct fx f;
    start_knowing_peer(&f, 24);
    send_ip(&f, IP_PEER, 2, US_SEC(12));
    expect_ip(&f, US_SEC(12), MAC_PEER, 2);
    expect_poll(&f, US_SEC(12), MAC_PEER);
    us_stack_poll(f.st, US_SEC(13));
    expect_poll(&f, US_SEC(13), MAC_PEER);
    send_ip(&f, IP_PEER, 3, US_SEC(13) + US_MS(500));
    expect_ip(&f, US_SEC(13) + US_MS(500), MAC_PEER, 3);
    us_stack_poll(f.st, US_SEC(14));
    expect_poll(&f, US_SEC(14), MAC_PEER);
    expect_wire_empty(&f, US_SEC(14));
    uint8_t mac[6];
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 1);
    us_stack_poll(f.st, US_SEC(15)); /* the third poll unanswered: forgotten */
    expect_wire_empty(&f, US_SEC(15));
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 0);
    send_ip(&f, IP_PEER, 4, US_SEC(15));
    expect_request_for(&f, US_SEC(15), IP_PEER);
    expect_wire_empty(&f, US_SEC(15));
    peer_answers(&f, US_SEC(15) + US_MS(1), MAC_NEW);
    expect_ip(&f, US_SEC(15) + US_MS(1), MAC_NEW, 4);
    assert_int_equal(ctr(&f, "arp.expired"), 1);
    fx_stop(&f);
}

/* Issue 10: a SYN flood's SYN-ACKs towards spoofed sources fill the pending
 * queues (arp_pending_max packets, the oldest dropped) faster than any answer
 * comes. A known neighbour whose entry expires in the middle of it still gets
 * its packet out at once (resolving it again would have queued the packet
 * there, and 256 SYN-ACKs later it would be gone), and the poll's late answer
 * renews the entry. */
static void known_neighbour_expiring_during_a_flood_still_gets_its_packets_out(void **state)
{
    (void)state;
    struct fx f;
    start_knowing_peer(&f, 15);
    int legit = 0, polls = 0;
    for (uint32_t i = 0; i < 4000; i++) { /* 8,000 packets a second for 0.5 s from 10.9 s */
        us_time_t now = US_MS(10900) + i * US_US(125);
        assert_int_equal(send_ip(&f, 0xC6130000u + i % 1000, 1000 + i, now), 0);
        if (i == 1000) /* at 11.025 s, past the entry's lifetime, amid 3,000 more */
            assert_int_equal(send_ip(&f, IP_PEER, 77, now), 0);
        us_stack_poll(f.st, now);
        struct us_pkt *p;
        while ((p = wire_next(&f, now)) != NULL) {
            bool to_peer = memcmp(p->data, MAC_PEER, 6) == 0;
            uint16_t type = us_get16(p->data + 12);
            if (to_peer && type == US_ETHERTYPE_IPV4 && us_get32(p->data + 14 + 20) == 77)
                legit++;
            else if (to_peer && type == US_ETHERTYPE_ARP && us_get32(p->data + 14 + 24) == IP_PEER)
                polls++;
            else
                assert_memory_equal(p->data, BCAST, 6); /* the requests for the spoofed sources */
            us_pkt_free(p);
        }
    }
    assert_int_equal(legit, 1);
    assert_int_equal(polls, 1);
    assert_int_equal(ctr(&f, "arp.expired"), 1);
    assert_true(ctr(&f, "arp.drop_pending_full") >= 3000);
    peer_answers(&f, US_MS(11400), MAC_PEER); /* the answer, 375 ms late */
    send_ip(&f, IP_PEER, 78, US_MS(11400));
    expect_ip(&f, US_MS(11400), MAC_PEER, 78);
    us_stack_poll(f.st, US_SEC(13));
    struct us_pkt *p;
    while ((p = wire_next(&f, US_SEC(13))) != NULL) { /* retries for the spoofed sources only */
        assert_memory_equal(p->data, BCAST, 6);
        us_pkt_free(p);
    }
    fx_stop(&f);
}

static void malformed_arp_packets_are_counted_and_ignored(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    struct arp_fields a = {1, MAC_PEER, IP_PEER, ZERO, IP_US};
    struct us_pkt *p;

    p = arp_frame(&f, BCAST, &a); /* truncated: 14 + 20 bytes */
    us_pkt_trim(p, 14 + 20);
    us_stack_input(f.st, p, 0);
    p = arp_frame(&f, BCAST, &a); /* hardware type 6 (IEEE 802) */
    p->data[15] = 6;
    us_stack_input(f.st, p, 0);
    p = arp_frame(&f, BCAST, &a); /* protocol address length 16 */
    p->data[19] = 16;
    us_stack_input(f.st, p, 0);
    p = arp_frame(&f, BCAST, &a); /* opcode 9 */
    p->data[21] = 9;
    us_stack_input(f.st, p, 0);

    expect_wire_empty(&f, 0);
    uint8_t mac[6];
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 0);
    assert_int_equal(ctr(&f, "arp.drop_malformed"), 4);
    assert_int_equal(ctr(&f, "arp.rx"), 4);
    fx_stop(&f);
}

static void gratuitous_arp_is_broadcast_at_start(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    f.cfg.gratuitous_arp = true;
    fx_start(&f);
    /* RFC 5227 2.3 announcement: sender and target IP both ours */
    expect_arp(wire_next(&f, 0), BCAST, 1, MAC_US, IP_US, ZERO, IP_US);
    expect_wire_empty(&f, 0);
    fx_stop(&f);
}

static void announcement_from_a_known_neighbour_updates_its_entry(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    inject_arp(&f, 0, BCAST, 1, MAC_PEER, IP_PEER, ZERO, IP_US);
    expect_arp(wire_next(&f, 0), MAC_PEER, 2, MAC_US, IP_US, MAC_PEER, IP_PEER);
    /* RFC 826 merge: the peer moved to a new MAC and announces it */
    inject_arp(&f, US_MS(1), BCAST, 1, MAC_NEW, IP_PEER, ZERO, IP_PEER);
    expect_wire_empty(&f, US_MS(1));
    uint8_t mac[6];
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, mac), 1);
    assert_memory_equal(mac, MAC_NEW, 6);
    /* an announcement from a stranger teaches nothing (not in the table, not for us) */
    inject_arp(&f, US_MS(2), BCAST, 1, MAC_NEW, IP_OTHER, ZERO, IP_OTHER);
    assert_int_equal(us_arp_lookup(f.st, IP_OTHER, mac), 0);
    fx_stop(&f);
}

static void someone_else_claiming_our_address_is_counted_as_a_conflict(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    inject_arp(&f, 0, BCAST, 1, MAC_PEER, IP_US, ZERO, IP_US);
    expect_wire_empty(&f, 0);
    assert_int_equal(ctr(&f, "arp.address_conflict"), 1);
    fx_stop(&f);
}

static void probe_with_zero_sender_is_answered_but_not_learned(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    fx_start(&f);
    /* RFC 5227 2.1.1 probe: sender IP 0.0.0.0 */
    inject_arp(&f, 0, BCAST, 1, MAC_PEER, 0, ZERO, IP_US);
    expect_arp(wire_next(&f, 0), MAC_PEER, 2, MAC_US, IP_US, MAC_PEER, 0);
    uint8_t mac[6];
    assert_int_equal(us_arp_lookup(f.st, 0, mac), 0);
    fx_stop(&f);
}

static void full_cache_evicts_the_least_recently_used_entry(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    f.cfg.prefix_len = 16;
    fx_start(&f);
    /* fill all 1024 entries through requests aimed at us */
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};
    for (uint32_t i = 0; i < 1024; i++) {
        mac[4] = (uint8_t)(i >> 8);
        mac[5] = (uint8_t)i;
        inject_arp(&f, US_MS(i), BCAST, 1, mac, 0xC6130000u + i, ZERO, IP_US);
        us_pkt_free(wire_next(&f, US_MS(i)));
    }
    /* touch the oldest one, so the second oldest becomes least recently used */
    send_ip(&f, 0xC6130000u, 1, US_SEC(2));
    us_pkt_free(wire_next(&f, US_SEC(2)));
    inject_arp(&f, US_SEC(2), BCAST, 1, MAC_PEER, IP_PEER, ZERO, IP_US);
    us_pkt_free(wire_next(&f, US_SEC(2)));
    uint8_t got[6];
    us_stack_poll(f.st, US_SEC(2));
    assert_int_equal(us_arp_lookup(f.st, IP_PEER, got), 1);
    assert_int_equal(us_arp_lookup(f.st, 0xC6130000u, got), 1);
    assert_int_equal(us_arp_lookup(f.st, 0xC6130001u, got), 0);
    assert_int_equal(ctr(&f, "arp.cache_evictions"), 1);
    fx_stop(&f);
}

/* The pending bounds with small values: arp_pending_max packets in all (the
 * oldest pending packet drops), arp_unres_max addresses (the oldest pending
 * entry gives way, its retry timer with it). */
static void pending_state_is_bounded_and_the_oldest_gives_way(void **state)
{
    (void)state;
    const us_ip4_t ip_c = 0xC6120004u;
    struct fx f;
    fx_config(&f);
    f.cfg.arp_unres_max = 2;
    f.cfg.arp_pending_max = 3;
    fx_start(&f);
    send_ip(&f, IP_PEER, 1, 0);
    send_ip(&f, IP_PEER, 2, 0);
    expect_request_for(&f, 0, IP_PEER);
    send_ip(&f, IP_OTHER, 3, 0);
    expect_request_for(&f, 0, IP_OTHER);
    send_ip(&f, IP_OTHER, 4, 0); /* a fourth packet: IP_PEER's tag 1 drops */
    assert_int_equal(ctr(&f, "arp.drop_pending_full"), 1);
    send_ip(&f, ip_c, 5, 0); /* a third address: IP_PEER gives way, tag 2 with it */
    expect_request_for(&f, 0, ip_c);
    expect_wire_empty(&f, 0);
    assert_int_equal(ctr(&f, "arp.unresolved_evicted"), 1);
    assert_int_equal(ctr(&f, "arp.drop_pending_full"), 2);
    assert_int_equal(ctr(&f, "arp.drop_queue_full"), 0);
    assert_int_equal(ctr(&f, "arp.drop_cache_full"), 0);
    inject_arp(&f, US_MS(1), MAC_US, 2, MAC_NEW, IP_OTHER, MAC_US, IP_US);
    expect_ip(&f, US_MS(1), MAC_NEW, 3);
    expect_ip(&f, US_MS(1), MAC_NEW, 4);
    inject_arp(&f, US_MS(2), MAC_US, 2, MAC_PEER, ip_c, MAC_US, IP_US);
    expect_ip(&f, US_MS(2), MAC_PEER, 5);
    expect_wire_empty(&f, US_MS(2));
    /* the evicted entry's timer went with it: no retry for IP_PEER */
    us_stack_poll(f.st, US_SEC(1));
    expect_wire_empty(&f, US_SEC(1));
    /* its late answer finds no queue; a new packet starts afresh */
    inject_arp(&f, US_SEC(1), MAC_US, 2, MAC_PEER, IP_PEER, MAC_US, IP_US);
    expect_wire_empty(&f, US_SEC(1));
    send_ip(&f, IP_PEER, 6, US_SEC(1));
    expect_ip(&f, US_SEC(1), MAC_PEER, 6);
    fx_stop(&f);
}

/* A SYN flood's spoofed sources each draw a cookie SYN-ACK towards an address
 * nobody answers for. With the default bounds, 4,000 such addresses (4 packets
 * each, one address a millisecond, each unresolved for 3 s) never hold more
 * than arp_pending_max packet buffers: the pool's high-water mark stays there.
 * Without the bounds the 1,024-entry cache fills with pending entries holding
 * 4 packets each (and then refuses every new address, legitimate or not). */
static void unresolvable_addresses_hold_at_most_the_pending_bound(void **state)
{
    (void)state;
    struct fx f;
    fx_config(&f);
    f.cfg.prefix_len = 15;
    fx_start(&f);
    uint64_t requests = 0;
    for (uint32_t i = 0; i < 4000; i++) {
        us_time_t now = US_MS(i);
        for (uint32_t k = 0; k < 4; k++)
            assert_int_equal(send_ip(&f, 0xC6130000u + i, k, now), 0);
        us_stack_poll(f.st, now);
        struct us_pkt *p;
        while ((p = wire_next(&f, now)) != NULL) {
            requests++;
            us_pkt_free(p);
        }
        struct us_pktpool_stats s;
        us_pktpool_stats(f.pool, &s);
        assert_true(s.in_use <= f.cfg.arp_pending_max);
    }
    struct us_pktpool_stats s;
    us_pktpool_stats(f.pool, &s);
    assert_true(s.allocated <= f.cfg.arp_pending_max + 2); /* + a request and a packet in hand */
    assert_int_equal(ctr(&f, "arp.drop_cache_full"), 0);
    assert_int_equal(ctr(&f, "arp.queued"), 16000);
    assert_true(ctr(&f, "arp.unresolved_evicted") >= 4000 - f.cfg.arp_unres_max);
    assert_true(ctr(&f, "arp.drop_pending_full") >= 16000 - f.cfg.arp_pending_max);
    assert_int_equal(requests, ctr(&f, "arp.requests_sent"));
    /* a legitimate neighbour still resolves in the middle of it */
    send_ip(&f, IP_PEER, 9, US_SEC(4));
    expect_request_for(&f, US_SEC(4), IP_PEER);
    peer_answers(&f, US_SEC(4), MAC_PEER);
    expect_ip(&f, US_SEC(4), MAC_PEER, 9);
    fx_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_for_our_address_is_answered_and_the_sender_learned),
        cmocka_unit_test(request_for_another_address_is_neither_answered_nor_learned),
        cmocka_unit_test(packets_wait_for_resolution_and_leave_in_order_on_reply),
        cmocka_unit_test(queue_bound_keeps_the_latest_packets_and_counts_overflow),
        cmocka_unit_test(unanswered_requests_retry_then_drop_the_queue_and_count),
        cmocka_unit_test(expired_entry_is_used_while_a_unicast_poll_confirms_it),
        cmocka_unit_test(unanswered_polls_forget_the_entry_and_the_next_send_resolves_again),
        cmocka_unit_test(known_neighbour_expiring_during_a_flood_still_gets_its_packets_out),
        cmocka_unit_test(malformed_arp_packets_are_counted_and_ignored),
        cmocka_unit_test(gratuitous_arp_is_broadcast_at_start),
        cmocka_unit_test(announcement_from_a_known_neighbour_updates_its_entry),
        cmocka_unit_test(someone_else_claiming_our_address_is_counted_as_a_conflict),
        cmocka_unit_test(probe_with_zero_sender_is_answered_but_not_learned),
        cmocka_unit_test(full_cache_evicts_the_least_recently_used_entry),
        cmocka_unit_test(pending_state_is_bounded_and_the_oldest_gives_way),
        cmocka_unit_test(unresolvable_addresses_hold_at_most_the_pending_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
