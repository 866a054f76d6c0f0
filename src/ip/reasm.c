/* IPv4 reassembly (RFC 791 3.2, RFC 815, RFC 1122 3.3.2).
 *
 * A pending datagram is keyed by (src, dst, id, proto). Received data is tracked
 * in a bitmap of 8-byte blocks (fragment offsets are multiples of 8 and every
 * fragment but the last carries a multiple of 8 bytes, so a block is always
 * wholly received or not at all — equivalent to RFC 815's hole list, with no
 * allocation per hole and no pathological hole growth).
 *
 * Overlap policy: first come wins. Bytes already received are never
 * overwritten; the overlapping part of a later fragment is discarded and counted
 * in ip.reasm_duplicate_bytes. (A later fragment cannot rewrite the transport
 * header that an earlier one delivered — the RFC 1858 overlap attack.)
 *
 * Paths through us_reasm_input:
 *   bad fragment (MF with size not a multiple of 8 / empty, end beyond 65535) → drop
 *   new key → entry created (memory charged, timer armed), oldest evicted if over bound
 *   inconsistent end (two different last fragments, data beyond the last) → entry dropped
 *   buffer growth over the memory bound → oldest others evicted, else this entry dropped
 *   all blocks present → header rebuilt in front of the payload, dispatched, freed
 * Timer expiry → entry freed; ICMP time exceeded (code 1) if fragment 0 was here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ip_priv.h"

#define REASM_BLOCKS ((US_IP_MAXLEN + 7u) / 8u)
#define REASM_GROW 2048u                /* buffer growth step while the end is unknown */

struct us_reasm {
    struct us_reasm *prev, *next;       /* list, oldest first */
    us_ip4_t src, dst;
    uint16_t id;
    uint8_t proto;
    bool broadcast;
    bool have_first, have_last;
    uint8_t first_hdr[US_IP_MAX_HLEN];  /* header of the offset-0 fragment */
    uint32_t first_hlen;
    uint32_t total;                     /* payload length, known once the last fragment came */
    uint32_t max_end;                   /* highest payload end seen */
    uint32_t received;                  /* distinct payload bytes held */
    uint8_t *buf;                       /* US_IP_MAX_HLEN reserved + cap payload bytes */
    uint32_t cap;
    uint64_t charge;                    /* bytes charged against cfg.reasm_max_bytes */
    struct us_timer timer;
    uint8_t have[(REASM_BLOCKS + 7u) / 8u];
};

static bool block_has(const struct us_reasm *r, uint32_t b) { return (r->have[b >> 3] >> (b & 7)) & 1u; }
static void block_set(struct us_reasm *r, uint32_t b) { r->have[b >> 3] |= (uint8_t)(1u << (b & 7)); }

static void reasm_unlink(struct us_ip_state *ip, struct us_reasm *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        ip->reasm_head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        ip->reasm_tail = r->prev;
    ip->reasm_count--;
}

static void reasm_free(struct us_stack *st, struct us_reasm *r)
{
    reasm_unlink(ip_state(st), r);
    us_timer_cancel(&st->timers, &r->timer);
    ip_state(st)->reasm_bytes -= r->charge;
    free(r->buf);
    free(r);
}

/* Make room for `extra` more bytes by evicting the oldest datagrams other than
 * `keep`. Returns false if the bound cannot be met. */
static bool reasm_reserve(struct us_stack *st, const struct us_reasm *keep, uint64_t extra)
{
    struct us_ip_state *ip = ip_state(st);
    while (ip->reasm_bytes + extra > st->cfg.reasm_max_bytes) {
        struct us_reasm *victim = ip->reasm_head;
        if (victim && victim == keep)
            victim = victim->next;
        if (!victim)
            return false;
        US_COUNT(st, IP_REASM_DROP_MEMORY);
        reasm_free(st, victim);
    }
    return true;
}

static void reasm_expire(struct us_stack *st, struct us_timer *t, us_time_t now)
{
    struct us_reasm *r = us_container_of(t, struct us_reasm, timer);
    US_COUNT(st, IP_REASM_DROP_TIMEOUT);
    if (r->have_first) {
        /* RFC 1122 3.3.2 / RFC 792: time exceeded, code 1, only when fragment zero
         * is available — quote its header and its first 8 data bytes. */
        uint8_t q[US_IP_MAX_HLEN + 8];
        memcpy(q, r->first_hdr, r->first_hlen);
        memcpy(q + r->first_hlen, r->buf + US_IP_MAX_HLEN, 8);
        struct us_ip_info info = {
            .src = r->src, .dst = r->dst, .proto = r->proto, .ttl = q[8], .tos = q[1],
            .id = r->id, .broadcast = r->broadcast, .dgram = q,
            .dgram_len = r->first_hlen + 8, .hdr_len = r->first_hlen,
        };
        us_icmp_send_error(st, US_ICMP_TIME_EXCEEDED, 1, &info, now);
    }
    reasm_free(st, r);
}

static struct us_reasm *reasm_find(struct us_ip_state *ip, const struct us_ip_hdr *h)
{
    for (struct us_reasm *r = ip->reasm_head; r; r = r->next)
        if (r->id == h->id && r->src == h->src && r->dst == h->dst && r->proto == h->proto)
            return r;
    return NULL;
}

static struct us_reasm *reasm_create(struct us_stack *st, const struct us_ip_hdr *h, bool bcast,
                                     us_time_t now)
{
    struct us_ip_state *ip = ip_state(st);
    if (!reasm_reserve(st, NULL, sizeof(struct us_reasm))) {
        US_COUNT(st, IP_REASM_DROP_MEMORY);
        return NULL;
    }
    struct us_reasm *r = calloc(1, sizeof(*r));
    if (!r) {
        US_COUNT(st, IP_REASM_DROP_NOMEM);
        return NULL;
    }
    r->src = h->src;
    r->dst = h->dst;
    r->id = h->id;
    r->proto = h->proto;
    r->broadcast = bcast;
    r->charge = sizeof(*r);
    us_timer_init(&r->timer, reasm_expire);
    us_time_t timeout = st->cfg.reasm_timeout ? st->cfg.reasm_timeout : US_SEC(30);
    if (us_timer_arm(&st->timers, &r->timer, now + timeout) < 0) {
        free(r);
        US_COUNT(st, IP_REASM_DROP_NOMEM);
        return NULL;
    }
    r->prev = ip->reasm_tail;
    if (ip->reasm_tail)
        ip->reasm_tail->next = r;
    else
        ip->reasm_head = r;
    ip->reasm_tail = r;
    ip->reasm_count++;
    ip->reasm_bytes += r->charge;
    return r;
}

/* Grow the payload buffer to hold `end` bytes, within the memory bound. */
static bool reasm_grow(struct us_stack *st, struct us_reasm *r, uint32_t end)
{
    if (end <= r->cap)
        return true;
    uint32_t ncap = r->have_last ? r->total : (end + REASM_GROW - 1) / REASM_GROW * REASM_GROW;
    if (ncap > US_IP_MAXLEN)
        ncap = US_IP_MAXLEN;
    uint64_t extra = (uint64_t)ncap + (r->buf ? 0 : US_IP_MAX_HLEN) - r->cap;
    if (!reasm_reserve(st, r, extra)) {
        US_COUNT(st, IP_REASM_DROP_MEMORY);
        return false;
    }
    uint8_t *nb = realloc(r->buf, US_IP_MAX_HLEN + (size_t)ncap);
    if (!nb) {
        US_COUNT(st, IP_REASM_DROP_NOMEM);
        return false;
    }
    r->buf = nb;
    r->cap = ncap;
    r->charge += extra;
    ip_state(st)->reasm_bytes += extra;
    return true;
}

/* Record where the datagram ends; false if this contradicts what we hold. */
static bool reasm_check_end(struct us_reasm *r, const struct us_ip_hdr *h, uint32_t end)
{
    if (!h->mf) {
        if ((r->have_last && r->total != end) || r->max_end > end)
            return false;
        r->have_last = true;
        r->total = end;
    } else if (r->have_last && end > r->total) {
        return false;
    }
    if (end > r->max_end)
        r->max_end = end;
    return true;
}

/* Copy the blocks not yet held (first come wins); count the rest as duplicates. */
static void reasm_copy(struct us_stack *st, struct us_reasm *r, const uint8_t *data,
                       uint32_t off, uint32_t end)
{
    for (uint32_t b = off / 8u; b * 8u < end; b++) {
        uint32_t bs = b * 8u, be = bs + 8u < end ? bs + 8u : end;
        if (block_has(r, b)) {
            US_COUNT_N(st, IP_REASM_DUP, be - bs);
            continue;
        }
        memcpy(r->buf + US_IP_MAX_HLEN + bs, data + (bs - off), be - bs);
        block_set(r, b);
        r->received += be - bs;
    }
}

/* All data present: rebuild the header in front of the payload and hand it up. */
static void reasm_complete(struct us_stack *st, struct us_reasm *r, us_time_t now)
{
    if (r->first_hlen + r->total > US_IP_MAXLEN) {
        US_COUNT(st, IP_REASM_DROP_BAD); /* options made it longer than 65535 */
        reasm_free(st, r);
        return;
    }
    uint8_t *hdr = r->buf + US_IP_MAX_HLEN - r->first_hlen;
    memcpy(hdr, r->first_hdr, r->first_hlen);
    us_put16(hdr + 2, (uint16_t)(r->first_hlen + r->total));
    us_put16(hdr + 6, us_get16(hdr + 6) & US_IP_FLAG_DF);
    us_put16(hdr + 10, 0);
    us_put16(hdr + 10, us_csum(hdr, r->first_hlen));
    struct us_ip_info info = {
        .src = r->src, .dst = r->dst, .proto = r->proto, .ttl = hdr[8], .tos = hdr[1],
        .id = r->id, .broadcast = r->broadcast, .dgram = hdr,
        .dgram_len = r->first_hlen + r->total, .hdr_len = r->first_hlen,
    };
    /* Unlink before dispatch: the upper layer may send (and even fragment and
     * loop back), which must not find or evict this entry. */
    reasm_unlink(ip_state(st), r);
    us_timer_cancel(&st->timers, &r->timer);
    ip_state(st)->reasm_bytes -= r->charge;
    US_COUNT(st, IP_REASM_OK);
    us_ip_dispatch(st, &info, now);
    free(r->buf);
    free(r);
}

/* RFC 791: fragments other than the last carry a multiple of 8 bytes; nothing
 * may reach past the 65535-byte datagram limit (the "ping of death"). */
static bool frag_sane(const struct us_ip_hdr *h, uint32_t n)
{
    if (h->mf && (n == 0 || n % 8u != 0))
        return false;
    return h->frag_off + n + US_IP_HLEN <= US_IP_MAXLEN;
}

void us_reasm_input(struct us_stack *st, struct us_pkt *pkt, const struct us_ip_hdr *h,
                    bool broadcast, us_time_t now)
{
    uint32_t hlen = (uint32_t)h->ihl * 4u, n = pkt->len - hlen;
    uint32_t off = h->frag_off, end = off + n;
    if (!frag_sane(h, n)) {
        US_COUNT(st, IP_REASM_DROP_BAD);
        goto out;
    }
    struct us_reasm *r = reasm_find(ip_state(st), h);
    if (!r && !(r = reasm_create(st, h, broadcast, now)))
        goto out;
    if (!reasm_check_end(r, h, end)) {
        US_COUNT(st, IP_REASM_DROP_BAD);
        reasm_free(st, r);
        goto out;
    }
    if (!reasm_grow(st, r, end)) {
        reasm_free(st, r);
        goto out;
    }
    if (off == 0 && !r->have_first) {
        memcpy(r->first_hdr, pkt->data, hlen);
        r->first_hlen = hlen;
        r->have_first = true;
    }
    reasm_copy(st, r, pkt->data + hlen, off, end);
    if (r->have_last && r->received == r->total)
        reasm_complete(st, r, now);
out:
    us_pkt_free(pkt);
}

void us_reasm_fini(struct us_stack *st)
{
    while (ip_state(st)->reasm_head)
        reasm_free(st, ip_state(st)->reasm_head);
}
