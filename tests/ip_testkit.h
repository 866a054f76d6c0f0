/* Test-only helpers for the IP/ICMP unit tests (tests/unit/test_ip.c,
 * test_reasm.c, test_icmp.c): one stack on end A of a pipe, the test plays the
 * peer on end B, feeding hand-made frames and reading exactly what A sent.
 * Not part of the library; header-only so no build rule is needed. */
#ifndef US_IP_TESTKIT_H
#define US_IP_TESTKIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "ip/ip_priv.h"

#define IPT_ME 0xC6120001u    /* 198.18.0.1/24, the stack under test */
#define IPT_PEER 0xC6120002u  /* 198.18.0.2, played by the test */
#define IPT_BCAST 0xC61200FFu /* our subnet broadcast */

struct ipt {
    struct us_pktpool *pool;
    struct us_dev *a, *b;
    struct us_stack *st;
    us_time_t now;
};

static const uint8_t ipt_mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t ipt_mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

static inline uint64_t ipt_count(const struct ipt *t, const char *name)
{
    return tu_counter(t->st, name);
}

/* Hand one Ethernet frame (dst = A, src = B) carrying `type` to the stack. */
static inline void ipt_input_frame(struct ipt *t, const uint8_t dst_mac[6], uint16_t type,
                                   const uint8_t *payload, uint32_t len)
{
    uint8_t *f = malloc(14 + len);
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, ipt_mac_b, 6);
    us_put16(f + 12, type);
    memcpy(f + 14, payload, len);
    struct us_pkt *p = us_pkt_from(t->pool, f, 14 + len);
    free(f);
    if (!p)
        abort();
    us_stack_input(t->st, p, t->now);
}

static inline void ipt_input(struct ipt *t, const uint8_t *ip, uint32_t len)
{
    ipt_input_frame(t, ipt_mac_a, US_ETHERTYPE_IPV4, ip, len);
}

/* ARP request from the peer to us: A learns the peer's MAC (RFC 826) and
 * answers; nothing then waits on ARP in the tests. */
static inline void ipt_arp_from(struct ipt *t, us_ip4_t spa, uint16_t op, us_ip4_t tpa)
{
    uint8_t a[28] = {0, 1, 8, 0, 6, 4, 0, 0};
    us_put16(a + 6, op);
    memcpy(a + 8, ipt_mac_b, 6);
    us_put32(a + 14, spa);
    us_put32(a + 24, tpa);
    ipt_input_frame(t, op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : ipt_mac_a,
                    US_ETHERTYPE_ARP, a, sizeof(a));
}

/* Next IPv4 datagram A sent (trimmed to its total length), answering any ARP
 * request on the way. Returns its length, or 0 if nothing more was sent. */
static inline uint32_t ipt_recv(struct ipt *t, uint8_t *buf, uint32_t cap)
{
    struct us_pkt *p;
    while (us_dev_recv(t->b, &p, 1, t->now) == 1) {
        uint16_t type = us_get16(p->data + 12);
        if (type == US_ETHERTYPE_ARP && p->len >= 14 + 28 && us_get16(p->data + 14 + 6) == 1) {
            us_ip4_t target = us_get32(p->data + 14 + 24);
            us_pkt_free(p);
            ipt_arp_from(t, target, 2, IPT_ME);
            continue;
        }
        if (type != US_ETHERTYPE_IPV4 || p->len < 14 + 20) {
            us_pkt_free(p);
            continue;
        }
        uint32_t len = us_get16(p->data + 14 + 2);
        if (len > p->len - 14 || len > cap)
            abort();
        memcpy(buf, p->data + 14, len);
        us_pkt_free(p);
        return len;
    }
    return 0;
}

/* Write a 20-byte IPv4 header with a correct checksum in front of plen bytes
 * already at buf + 20. frag = the flags/offset field as on the wire. */
static inline uint32_t ipt_hdr(uint8_t *buf, us_ip4_t src, us_ip4_t dst, uint8_t proto, uint16_t id,
                               uint16_t frag, uint32_t plen)
{
    buf[0] = 0x45;
    buf[1] = 0;
    us_put16(buf + 2, (uint16_t)(20 + plen));
    us_put16(buf + 4, id);
    us_put16(buf + 6, frag);
    buf[8] = 64;
    buf[9] = proto;
    us_put16(buf + 10, 0);
    us_put32(buf + 12, src);
    us_put32(buf + 16, dst);
    us_put16(buf + 10, us_csum(buf, 20));
    return 20 + plen;
}

/* ICMP echo request (id, seq, n payload bytes of pattern) at buf (no IP header). */
static inline uint32_t ipt_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq, uint32_t n)
{
    buf[0] = type;
    buf[1] = 0;
    us_put16(buf + 2, 0);
    us_put16(buf + 4, id);
    us_put16(buf + 6, seq);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (uint8_t)(i * 7 + 3);
    us_put16(buf + 2, us_csum(buf, 8 + n));
    return 8 + n;
}

/* Read every datagram A sent and put the fragments back together (test-side
 * reassembly, independent of reasm.c). Returns the payload length (0 if none or
 * incomplete); *hdr gets the first piece's header, *npieces how many came. */
static inline uint32_t ipt_collect(struct ipt *t, uint8_t *payload, uint32_t cap, uint8_t hdr[20],
                                   uint32_t *npieces)
{
    uint8_t f[2048];
    uint32_t len, total = 0, got = 0, n = 0;
    bool last = false;
    while ((len = ipt_recv(t, f, sizeof(f))) > 0) {
        uint32_t hl = (f[0] & 15u) * 4u, off = (us_get16(f + 6) & 0x1FFFu) * 8u, pl = len - hl;
        if (off + pl > cap)
            abort();
        memcpy(payload + off, f + hl, pl);
        if (off == 0)
            memcpy(hdr, f, 20);
        if (!(us_get16(f + 6) & 0x2000u)) {
            total = off + pl;
            last = true;
        }
        got += pl;
        n++;
    }
    *npieces = n;
    return last && got == total ? total : 0;
}

static inline void ipt_config(struct us_config *c)
{
    us_config_default(c);
    c->ip = IPT_ME;
    c->prefix_len = 24;
    c->deterministic = true;
    c->seed = 7;
    c->gratuitous_arp = false;
}

static inline void ipt_init_cfg(struct ipt *t, const struct us_config *c, uint16_t mtu)
{
    memset(t, 0, sizeof(*t));
    t->now = US_SEC(1);
    t->pool = us_pktpool_new(2048, 0);
    if (!t->pool || us_pipe_pair(t->pool, mtu, ipt_mac_a, ipt_mac_b, &t->a, &t->b) < 0)
        abort();
    char err[128];
    t->st = us_stack_new(c, t->a, t->now, err, sizeof(err));
    if (!t->st) {
        fprintf(stderr, "us_stack_new: %s\n", err);
        abort();
    }
    ipt_arp_from(t, IPT_PEER, 1, IPT_ME);
    uint8_t junk[2048];
    while (ipt_recv(t, junk, sizeof(junk)) > 0) {
    }
}

static inline void ipt_init(struct ipt *t)
{
    struct us_config c;
    ipt_config(&c);
    ipt_init_cfg(t, &c, 1500);
}

static inline void ipt_free(struct ipt *t)
{
    us_stack_free(t->st);
    us_dev_destroy(t->a);
    us_dev_destroy(t->b);
    us_pktpool_free(t->pool);
}

/* Advance virtual time and run the stack's timers. */
static inline void ipt_advance(struct ipt *t, us_time_t dt)
{
    t->now += dt;
    us_stack_poll(t->st, t->now);
}

#endif
