/* ICMP for a host (RFC 792, RFC 1122 3.2.2).
 *
 * Paths through us_icmp_input (length and checksum over the whole message first):
 *   echo request  → echo reply, same id/seq/payload (not for broadcasts, not rate
 *                   limited; a large reassembled request gets a fragmented reply)
 *   echo reply    → queued for us_ping_recv (bounded)
 *   unreachable, time exceeded, parameter problem → quote parsed once into a
 *                   struct us_icmp_err, handed to the transport registered for the
 *                   quoted protocol (with `now`), queued for us_icmp_error_recv
 *   anything else → silently discarded (RFC 1122 3.2.2), counted
 * us_icmp_send_error applies RFC 1122 3.2.2 / RFC 1812 4.3.2.7 suppression rules,
 * then a token bucket (RFC 1812 4.3.2.8), then quotes up to 548 bytes.
 *
 * Ping payload format (us_ping_send): if size >= 8, bytes 0..7 carry the send
 * time (ns, big endian) and byte i >= 8 is ping_pattern(i); smaller payloads are
 * all pattern. us_ping_recv reports data_ok when every pattern byte matches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ip_priv.h"

#define ICMP_HLEN 8u
#define ICMP_PARAMPROB 12
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define TOKEN 1000000000ull          /* one token, scaled (see us_ip_state) */
#define PING_MAX (US_IP_MAXLEN - US_IP_HLEN - ICMP_HLEN)

static uint8_t ping_pattern(uint32_t i)
{
    /* mixes high offset bits in, so a misplaced fragment shows as corruption */
    return (uint8_t)((i * 131u) ^ (i >> 8) ^ 0xA5u);
}

/* Build hdr (8 bytes, checksum filled here) + body and send it to dst. */
static int icmp_send(struct us_stack *st, us_ip4_t src, us_ip4_t dst, uint8_t tos, uint8_t hdr[ICMP_HLEN],
                     const uint8_t *body, uint32_t blen, us_time_t now)
{
    us_put16(hdr + 2, 0);
    us_put16(hdr + 2, us_csum_fold(us_csum_partial(body, blen, us_csum_partial(hdr, ICMP_HLEN, 0))));
    struct us_ip_out o = { .src = src, .dst = dst, .proto = US_IPPROTO_ICMP, .tos = tos };
    uint32_t len = ICMP_HLEN + blen;
    int rc;
    struct us_pkt *p = us_pkt_alloc(st->pool);
    uint8_t *b = p ? us_pkt_put(p, len) : NULL;
    if (b) {
        memcpy(b, hdr, ICMP_HLEN);
        memcpy(b + ICMP_HLEN, body, blen);
        rc = us_ip_output(st, p, &o, now);
    } else {
        /* Larger than one pool buffer (big echo): assemble flat; ip fragments it. */
        if (p)
            us_pkt_free(p);
        uint8_t *flat = malloc(len);
        if (!flat) {
            US_COUNT(st, ICMP_DROP_NOMEM);
            return -ENOBUFS;
        }
        memcpy(flat, hdr, ICMP_HLEN);
        memcpy(flat + ICMP_HLEN, body, blen);
        rc = us_ip_output_flat(st, flat, len, &o, now);
        free(flat);
    }
    if (rc == 0)
        US_COUNT(st, ICMP_TX);
    return rc;
}

/* ---- sending errors ------------------------------------------------------ */

static bool is_icmp_error_type(uint8_t type)
{
    return type == US_ICMP_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
           type == US_ICMP_TIME_EXCEEDED || type == ICMP_PARAMPROB;
}

/* RFC 1122 3.2.2 (and RFC 1812 4.3.2.7): an ICMP error MUST NOT be sent about an
 * ICMP error, a datagram to a broadcast or multicast address, a non-initial
 * fragment, or a datagram whose source does not name a single host. */
static bool icmp_error_allowed(const struct us_stack *st, const struct us_ip_info *ip)
{
    if (ip->dgram_len < ip->hdr_len || ip->hdr_len < US_IP_HLEN)
        return false;
    if (ip->broadcast || us_ip_is_bcast(st, ip->dst) || us_ip_is_multicast(ip->dst))
        return false;
    us_ip4_t s = ip->src;
    if (s == 0 || us_ip_is_bcast(st, s) || us_ip_is_multicast(s) || us_ip_is_class_e(s) ||
        us_ip_is_loopback(s))
        return false;
    if ((us_get16(ip->dgram + 6) & US_IP_OFFMASK) != 0)
        return false;
    if (ip->proto == US_IPPROTO_ICMP) {
        /* an ICMP message too short to show its type is treated as an error */
        if (ip->dgram_len == ip->hdr_len || is_icmp_error_type(ip->dgram[ip->hdr_len]))
            return false;
    }
    return true;
}

/* Token bucket refilled from `now`: rate tokens per second, at most burst.
 * rate 0 disables the limit. */
static bool icmp_rate_ok(struct us_stack *st, us_time_t now)
{
    struct us_ip_state *ip = ip_state(st);
    uint64_t rate = st->cfg.icmp_rate_per_sec;
    if (rate == 0)
        return true;
    uint64_t cap = (uint64_t)(st->cfg.icmp_rate_burst ? st->cfg.icmp_rate_burst : 1) * TOKEN;
    if (!ip->icmp_bucket_started) {
        ip->icmp_tokens = cap;
        ip->icmp_last = now;
        ip->icmp_bucket_started = true;
    } else if (now > ip->icmp_last) {
        uint64_t elapsed = now - ip->icmp_last;
        if (elapsed >= cap / rate)
            ip->icmp_tokens = cap;   /* also keeps elapsed * rate from overflowing */
        else if ((ip->icmp_tokens += elapsed * rate) > cap)
            ip->icmp_tokens = cap;
        ip->icmp_last = now;
    }
    if (ip->icmp_tokens < TOKEN)
        return false;
    ip->icmp_tokens -= TOKEN;
    return true;
}

void us_icmp_send_error(struct us_stack *st, uint8_t type, uint8_t code, const struct us_ip_info *ip, us_time_t now)
{
    if (!icmp_error_allowed(st, ip)) {
        US_COUNT(st, ICMP_ERR_SUPPRESSED);
        return;
    }
    if (!icmp_rate_ok(st, now)) {
        US_COUNT(st, ICMP_ERR_RATE_LIMITED);
        return;
    }
    uint8_t hdr[ICMP_HLEN] = { type, code, 0, 0, 0, 0, 0, 0 };
    if (type == US_ICMP_UNREACH && code == US_ICMP_UNREACH_NEEDFRAG)
        us_put16(hdr + 6, (uint16_t)st->dev->mtu); /* RFC 1191 next-hop MTU */
    /* RFC 1812 4.3.2.3: quote as much as fits a 576-byte ICMP datagram (RFC 792
     * requires the header + 64 bits; more helps the sender identify the flow). */
    uint32_t qlen = ip->dgram_len < US_ICMP_QUOTE_MAX ? ip->dgram_len : US_ICMP_QUOTE_MAX;
    us_ip4_t src = us_ip_is_local(st, ip->dst) ? ip->dst : st->cfg.ip;
    if (icmp_send(st, src, ip->src, 0, hdr, ip->dgram, qlen, now) == 0)
        US_COUNT(st, ICMP_ERR_TX);
}

/* ---- receiving ----------------------------------------------------------- */

static void icmp_echo(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data,
                      uint32_t len, us_time_t now)
{
    if (ip->broadcast) {
        /* RFC 1122 3.2.2.6 allows silently discarding broadcast echo; answering
         * would make us a smurf amplifier. */
        US_COUNT(st, ICMP_DROP_BCAST_ECHO);
        return;
    }
    uint8_t hdr[ICMP_HLEN];
    memcpy(hdr, data, ICMP_HLEN);
    hdr[0] = US_ICMP_ECHO_REPLY;
    hdr[1] = 0;
    /* RFC 1122 3.2.2.6: same identifier, sequence and data; TOS echoed (RFC 1812 4.3.2.5). */
    if (icmp_send(st, ip->dst, ip->src, ip->tos, hdr, data + ICMP_HLEN, len - ICMP_HLEN, now) == 0)
        US_COUNT(st, ICMP_ECHO_REPLIED);
}

static bool ping_data_ok(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = n >= 8 ? 8 : 0; i < n; i++)
        if (p[i] != ping_pattern(i))
            return false;
    return true;
}

static void icmp_echo_reply(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data,
                            uint32_t len, us_time_t now)
{
    struct us_ip_state *ips = ip_state(st);
    US_COUNT(st, ICMP_ECHO_REPLY_RX);
    if (ips->nping == US_PING_QUEUE) {
        US_COUNT(st, ICMP_DROP_QUEUE_FULL);
        return;
    }
    const uint8_t *pl = data + ICMP_HLEN;
    uint32_t n = len - ICMP_HLEN;
    struct us_ping_reply *r = &ips->pings[ips->nping++];
    *r = (struct us_ping_reply){
        .from = ip->src, .id = us_get16(data + 4), .seq = us_get16(data + 6), .ttl = ip->ttl,
        .len = n, .received = now, .data_ok = ping_data_ok(pl, n),
        .sent = n >= 8 ? ((us_time_t)us_get32(pl) << 32) | us_get32(pl + 4) : 0,
    };
}

static void errq_push(struct us_stack *st, const struct us_icmp_error *e)
{
    struct us_ip_state *ip = ip_state(st);
    if (ip->nerr == US_ICMP_ERRQ) {
        /* keep the newest: drop the oldest */
        US_COUNT(st, ICMP_DROP_ERRQ_FULL);
        ip->errq_head = (ip->errq_head + 1) % US_ICMP_ERRQ;
        ip->nerr--;
    }
    ip->errq[(ip->errq_head + ip->nerr) % US_ICMP_ERRQ] = *e;
    ip->nerr++;
}

/* Parse the quote of an ICMP error (RFC 792: IP header + 64 bits) into *e.
 * False when the quote is short, not IPv4, or not about a datagram of ours. */
static bool icmp_quote_parse(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len,
                             struct us_icmp_err *e)
{
    const uint8_t *q = data + ICMP_HLEN;
    uint32_t qlen = len - ICMP_HLEN;
    struct us_ip_hdr qh;
    if (qlen < US_IP_HLEN)
        return false;
    us_ip_hdr_parse(q, &qh);
    uint32_t qhlen = (uint32_t)qh.ihl * 4u;
    if (qh.version != 4 || qh.ihl < 5 || qlen < qhlen + 8 || !us_ip_is_local(st, qh.src))
        return false;
    const uint8_t *l4 = q + qhlen;
    *e = (struct us_icmp_err){
        .type = data[0], .code = data[1], .from = ip->src,
        .src = qh.src, .dst = qh.dst, .proto = qh.proto,
        .sport = us_get16(l4), .dport = us_get16(l4 + 2),
        .tcp_seq = qh.proto == US_IPPROTO_TCP ? us_get32(l4 + 4) : 0,
        .echo_id = qh.proto == US_IPPROTO_ICMP ? us_get16(l4 + 4) : 0,
        /* RFC 1191 4: next-hop MTU in the low 16 bits of the unused field */
        .mtu = data[0] == US_ICMP_UNREACH && data[1] == US_ICMP_UNREACH_NEEDFRAG ? us_get16(data + 6) : 0,
    };
    return true;
}

/* Destination unreachable / time exceeded / parameter problem about a datagram
 * we sent: parse the quote once and tell the transport that sent it. */
static void icmp_error_in(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len,
                          us_time_t now)
{
    uint8_t type = data[0];
    if (type == US_ICMP_UNREACH)
        US_COUNT(st, ICMP_UNREACH_RX);
    else if (type == US_ICMP_TIME_EXCEEDED)
        US_COUNT(st, ICMP_TIME_EXCEEDED_RX);
    else
        US_COUNT(st, ICMP_PARAMPROB_RX);
    struct us_icmp_err e;
    if (!icmp_quote_parse(st, ip, data, len, &e)) {
        US_COUNT(st, ICMP_DROP_BAD_QUOTE);
        return;
    }
    const struct us_ip_upper *up = ip_state(st)->upper[e.proto];
    if (up && up->icmp_error)
        up->icmp_error(st, &e, now);
    errq_push(st, &(struct us_icmp_error){
        .from = e.from, .type = e.type, .code = e.code, .orig_dst = e.dst, .orig_proto = e.proto,
        /* UDP/TCP: destination port; ICMP: the echo identifier */
        .orig_dport = e.proto == US_IPPROTO_ICMP ? e.echo_id : e.dport,
    });
}

void us_icmp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now)
{
    US_COUNT(st, ICMP_RX);
    if (len < ICMP_HLEN) {
        US_COUNT(st, ICMP_DROP_SHORT);
        return;
    }
    if (us_csum(data, len) != 0) {
        US_COUNT(st, ICMP_DROP_BAD_CSUM);
        return;
    }
    switch (data[0]) {
    case US_ICMP_ECHO:
        icmp_echo(st, ip, data, len, now);
        break;
    case US_ICMP_ECHO_REPLY:
        icmp_echo_reply(st, ip, data, len, now);
        break;
    case US_ICMP_UNREACH:
    case US_ICMP_TIME_EXCEEDED:
    case ICMP_PARAMPROB:
        icmp_error_in(st, ip, data, len, now);
        break;
    default:
        /* source quench (deprecated, RFC 6633), redirects (we have one router),
         * timestamps and unknown types: silently discarded. */
        US_COUNT(st, ICMP_DROP_UNKNOWN_TYPE);
        break;
    }
}

/* ---- public API ---------------------------------------------------------- */

int us_ping_send(struct us_stack *st, us_ip4_t dst, uint16_t id, uint16_t seq, uint32_t size, us_time_t now)
{
    if (size > PING_MAX)
        return -EMSGSIZE;
    uint8_t *body = malloc(size ? size : 1); /* not a hot path; up to 64 KiB */
    if (!body) {
        US_COUNT(st, ICMP_DROP_NOMEM);
        return -ENOBUFS;
    }
    for (uint32_t i = 0; i < size; i++)
        body[i] = ping_pattern(i);
    if (size >= 8) {
        us_put32(body, (uint32_t)(now >> 32));
        us_put32(body + 4, (uint32_t)now);
    }
    uint8_t hdr[ICMP_HLEN] = { US_ICMP_ECHO, 0, 0, 0 };
    us_put16(hdr + 4, id);
    us_put16(hdr + 6, seq);
    int rc = icmp_send(st, 0, dst, 0, hdr, body, size, now);
    free(body);
    if (rc == 0)
        US_COUNT(st, ICMP_ECHO_TX);
    return rc;
}

int us_ping_recv(struct us_stack *st, uint16_t id, struct us_ping_reply *r)
{
    struct us_ip_state *ip = ip_state(st);
    for (uint32_t i = 0; i < ip->nping; i++) {
        if (ip->pings[i].id != id)
            continue;
        *r = ip->pings[i];
        memmove(&ip->pings[i], &ip->pings[i + 1], (ip->nping - i - 1) * sizeof(ip->pings[0]));
        ip->nping--;
        return 1;
    }
    return 0;
}

int us_icmp_error_recv(struct us_stack *st, struct us_icmp_error *e)
{
    struct us_ip_state *ip = ip_state(st);
    if (ip->nerr == 0)
        return 0;
    *e = ip->errq[ip->errq_head];
    ip->errq_head = (ip->errq_head + 1) % US_ICMP_ERRQ;
    ip->nerr--;
    return 1;
}
