/* TCP wire format: the one place that reads and writes raw header bytes.
 *
 * tcp_seg_parse  checks length, data offset and checksum, then the options
 *                (RFC 9293 3.2: kinds 0 and 1 are one byte, every other option
 *                carries a length >= 2 that must stay inside the header);
 * tcp_hdr_write  writes a header with options padded to 32 bits. */
#include <string.h>
#include "tcp_int.h"

enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACK_PERM = 4, OPT_SACK = 5, OPT_TS = 8 };

/* One option with its length already validated. Unknown kinds are skipped;
 * a known kind with a wrong length is ignored as RFC 9293 3.1 allows. */
static void parse_one(struct tcp_seg *s, uint8_t kind, const uint8_t *v, uint8_t olen)
{
    switch (kind) {
    case OPT_MSS:
        if (olen == 4 && (s->flags & TH_SYN))
            s->mss = us_get16(v);
        break;
    case OPT_WSCALE:
        if (olen == 3 && (s->flags & TH_SYN))
            s->wscale = (int8_t)(v[0] > 14 ? 14 : v[0]); /* RFC 7323 2.3: clamp to 14 */
        break;
    case OPT_SACK_PERM:
        if (olen == 2 && (s->flags & TH_SYN))
            s->sack_perm = true;
        break;
    case OPT_TS:
        if (olen == 10) {
            s->ts = true;
            s->tsval = us_get32(v);
            s->tsecr = us_get32(v + 4);
        }
        break;
    case OPT_SACK:
        if (olen >= 10 && (olen - 2) % 8 == 0) {
            uint8_t n = (uint8_t)((olen - 2) / 8);
            for (uint8_t i = 0; i < n && s->nsack < TCP_MAX_SACK; i++, s->nsack++) {
                s->sack[s->nsack][0] = us_get32(v + 8 * i);
                s->sack[s->nsack][1] = us_get32(v + 8 * i + 4);
            }
        }
        break;
    default:
        break;
    }
}

static int parse_options(struct tcp_seg *s, const uint8_t *p, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t kind = p[i];
        if (kind == OPT_EOL)
            break;
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= n)
            return -1;                 /* length byte past the header */
        uint8_t olen = p[i + 1];
        if (olen < 2 || i + olen > n)
            return -1;                 /* 0, 1 or past the header: malformed */
        parse_one(s, kind, p + i + 2, olen);
        i += olen;
    }
    return 0;
}

int tcp_seg_parse(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *p, uint32_t len,
                  struct tcp_seg *s)
{
    if (len < TCP_HLEN) {
        US_COUNT(st, TCP_DROP_SHORT);
        return -1;
    }
    uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
    if (doff < TCP_HLEN || doff > len) {
        US_COUNT(st, TCP_DROP_BAD_OFFSET);
        return -1;
    }
    uint32_t sum = us_csum_pseudo(ip->src, ip->dst, US_IPPROTO_TCP, (uint16_t)len);
    if (len > 0xffff || us_csum_fold(us_csum_partial(p, len, sum)) != 0) {
        US_COUNT(st, TCP_DROP_BAD_CSUM);
        return -1;
    }
    memset(s, 0, sizeof(*s));
    s->wscale = -1;
    s->sport = us_get16(p);
    s->dport = us_get16(p + 2);
    s->seq = us_get32(p + 4);
    s->ack = us_get32(p + 8);
    s->flags = p[13];
    s->wnd = us_get16(p + 14);
    s->data = p + doff;
    s->len = len - doff;
    if (parse_options(s, p + TCP_HLEN, doff - TCP_HLEN) < 0) {
        US_COUNT(st, TCP_DROP_BAD_OPTIONS);
        return -1;
    }
    return 0;
}

uint32_t tcp_hdr_write(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                       uint8_t flags, uint16_t wnd, const struct tcp_opts_out *o)
{
    uint8_t *q = p + TCP_HLEN;
    if (o) {
        if (o->mss) {
            *q++ = OPT_MSS; *q++ = 4;
            us_put16(q, o->mss); q += 2;
        }
        if (o->wscale >= 0) {
            *q++ = OPT_NOP; *q++ = OPT_WSCALE; *q++ = 3; *q++ = (uint8_t)o->wscale;
        }
        if (o->sack_perm && !o->ts) {
            *q++ = OPT_NOP; *q++ = OPT_NOP; *q++ = OPT_SACK_PERM; *q++ = 2;
        }
        if (o->ts) {
            if (o->sack_perm) {
                *q++ = OPT_SACK_PERM; *q++ = 2;  /* the Linux layout: SACK-perm + TS in 12 bytes */
            } else {
                *q++ = OPT_NOP; *q++ = OPT_NOP;
            }
            *q++ = OPT_TS; *q++ = 10;
            us_put32(q, o->tsval); us_put32(q + 4, o->tsecr); q += 8;
        }
        if (o->nsack) {
            *q++ = OPT_NOP; *q++ = OPT_NOP; *q++ = OPT_SACK; *q++ = (uint8_t)(2 + 8 * o->nsack);
            for (uint8_t i = 0; i < o->nsack; i++) {
                us_put32(q, o->sack[i][0]); us_put32(q + 4, o->sack[i][1]); q += 8;
            }
        }
    }
    uint32_t hlen = (uint32_t)(q - p);
    us_put16(p, sport);
    us_put16(p + 2, dport);
    us_put32(p + 4, seq);
    us_put32(p + 8, ack);
    p[12] = (uint8_t)((hlen / 4) << 4);
    p[13] = flags;
    us_put16(p + 14, wnd);
    us_put16(p + 16, 0);
    us_put16(p + 18, 0);
    return hlen;
}
