/* TCP header and options (RFC 9293 3.1, 3.2; RFC 7323; RFC 2018).
 *
 *   us_tcp_parse       length, data offset, then the options with
 *                      us_tcp_opt_next — the one option walker of ustack;
 *   us_tcp_emit        header with options padded to 32 bits, in the layout
 *                      Linux uses (MSS, NOP+WS, SACK-permitted+TS, NOP+NOP+SACK);
 *   us_tcp_csum_*      the checksum over the IPv4 pseudo-header (RFC 9293 3.1);
 *   us_tcp_opt_strip   a middlebox's edit: an option becomes NOPs, the checksum
 *                      is updated (RFC 1624). */
#include <string.h>
#include "wire.h"

int us_tcp_opt_next(const uint8_t *tcp, uint32_t hlen, uint32_t *pos, struct us_tcp_opt *o)
{
    uint32_t i = *pos;
    while (i < hlen && tcp[i] == US_TCPOPT_NOP)
        i++;
    if (i >= hlen || tcp[i] == US_TCPOPT_EOL) {
        *pos = hlen;
        return 0;
    }
    if (i + 1 >= hlen || tcp[i + 1] < 2 || i + tcp[i + 1] > hlen) {
        *pos = hlen;
        return -1;                       /* length byte past the header, or 0, 1, too long */
    }
    o->kind = tcp[i];
    o->len = tcp[i + 1];
    o->val = tcp + i + 2;
    o->off = i;
    *pos = i + o->len;
    return 1;
}

/* One option with its length validated by the walker. Unknown kinds are
 * skipped; a known kind with a wrong length is ignored, as RFC 9293 3.1 allows. */
static void parse_one(struct us_tcp_repr *r, const struct us_tcp_opt *o)
{
    switch (o->kind) {
    case US_TCPOPT_MSS:
        if (o->len == 4)
            r->mss = us_get16(o->val);
        break;
    case US_TCPOPT_WSCALE:
        if (o->len == 3)
            r->wscale = (int8_t)(o->val[0] > 14 ? 14 : o->val[0]);   /* RFC 7323 2.3 */
        break;
    case US_TCPOPT_SACK_PERM:
        if (o->len == 2)
            r->sack_perm = true;
        break;
    case US_TCPOPT_TS:
        if (o->len == 10) {
            r->ts = true;
            r->tsval = us_get32(o->val);
            r->tsecr = us_get32(o->val + 4);
        }
        break;
    case US_TCPOPT_SACK:
        if (o->len >= 10 && (o->len - 2) % 8 == 0) {
            uint8_t n = (uint8_t)((o->len - 2) / 8);
            for (uint8_t i = 0; i < n && r->nsack < US_TCP_MAX_SACK; i++, r->nsack++) {
                r->sack[r->nsack][0] = us_get32(o->val + 8 * i);
                r->sack[r->nsack][1] = us_get32(o->val + 8 * i + 4);
            }
        }
        break;
    default:
        break;
    }
}

enum us_tcp_parse_rc us_tcp_parse_trunc(const uint8_t *p, uint32_t avail, uint32_t seglen,
                                        struct us_tcp_repr *r)
{
    memset(r, 0, sizeof(*r));
    r->wscale = -1;
    if (avail > seglen)
        avail = seglen;
    if (avail < US_TCP_HLEN)
        return US_TCP_SHORT;
    uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
    if (doff < US_TCP_HLEN || doff > seglen)
        return US_TCP_BAD_OFFSET;
    r->sport = us_get16(p);
    r->dport = us_get16(p + 2);
    r->seq = us_get32(p + 4);
    r->ack = us_get32(p + 8);
    r->flags = p[13];
    r->wnd = us_get16(p + 14);
    r->csum = us_get16(p + 16);
    r->hlen = doff;
    r->data = p + doff;
    r->len = seglen - doff;
    uint32_t end = doff < avail ? doff : avail, pos = US_TCP_HLEN;
    struct us_tcp_opt o;
    int rc;
    while ((rc = us_tcp_opt_next(p, end, &pos, &o)) > 0)
        parse_one(r, &o);
    /* an option cut off by the end of a capture is not malformed */
    return rc < 0 && end == doff ? US_TCP_BAD_OPTIONS : US_TCP_OK;
}

enum us_tcp_parse_rc us_tcp_parse(const uint8_t *p, uint32_t len, struct us_tcp_repr *r)
{
    return us_tcp_parse_trunc(p, len, len, r);
}

void us_tcp_opt_strip(uint8_t *tcp, uint32_t hlen, const struct us_tcp_opt *o)
{
    uint16_t csum = us_get16(tcp + 16);
    /* the 16-bit words that hold the option's bytes, before and after */
    for (uint32_t k = o->off & ~1u; k < o->off + o->len && k + 1 < hlen; k += 2) {
        uint16_t old = us_get16(tcp + k);
        for (uint32_t j = k; j < k + 2; j++)
            if (j >= o->off && j < o->off + o->len)
                tcp[j] = US_TCPOPT_NOP;
        csum = us_csum_update16(csum, old, us_get16(tcp + k));
    }
    us_put16(tcp + 16, csum);
}

uint32_t us_tcp_header_len(const struct us_tcp_repr *r)
{
    uint32_t n;
    if (r->raw_opts_len)
        n = r->raw_opts_len > 40 ? 40u : (r->raw_opts_len + 3u) & ~3u;
    else
        n = (r->mss ? 4u : 0u) + (r->wscale >= 0 ? 4u : 0u) + (r->sack_perm && !r->ts ? 4u : 0u) +
            (r->ts ? 12u : 0u) + (r->nsack ? 4u + 8u * r->nsack : 0u);
    return US_TCP_HLEN + n;
}

static uint8_t *emit_opts(uint8_t *q, const struct us_tcp_repr *r)
{
    if (r->raw_opts_len) {
        uint32_t n = r->raw_opts_len > 40 ? 40u : r->raw_opts_len;
        memcpy(q, r->raw_opts, n);
        q += n;
        while (n++ & 3)
            *q++ = US_TCPOPT_EOL;
        return q;
    }
    if (r->mss) {
        *q++ = US_TCPOPT_MSS; *q++ = 4;
        us_put16(q, r->mss); q += 2;
    }
    if (r->wscale >= 0) {
        *q++ = US_TCPOPT_NOP; *q++ = US_TCPOPT_WSCALE; *q++ = 3; *q++ = (uint8_t)r->wscale;
    }
    if (r->sack_perm && !r->ts) {
        *q++ = US_TCPOPT_NOP; *q++ = US_TCPOPT_NOP; *q++ = US_TCPOPT_SACK_PERM; *q++ = 2;
    }
    if (r->ts) {
        if (r->sack_perm) {
            *q++ = US_TCPOPT_SACK_PERM; *q++ = 2;     /* the Linux layout: SACK-perm + TS in 12 bytes */
        } else {
            *q++ = US_TCPOPT_NOP; *q++ = US_TCPOPT_NOP;
        }
        *q++ = US_TCPOPT_TS; *q++ = 10;
        us_put32(q, r->tsval); us_put32(q + 4, r->tsecr); q += 8;
    }
    if (r->nsack) {
        uint8_t n = r->nsack > US_TCP_MAX_SACK ? US_TCP_MAX_SACK : r->nsack;
        *q++ = US_TCPOPT_NOP; *q++ = US_TCPOPT_NOP; *q++ = US_TCPOPT_SACK; *q++ = (uint8_t)(2 + 8 * n);
        for (uint8_t i = 0; i < n; i++) {
            us_put32(q, r->sack[i][0]); us_put32(q + 4, r->sack[i][1]); q += 8;
        }
    }
    return q;
}

uint32_t us_tcp_emit(uint8_t *p, const struct us_tcp_repr *r)
{
    uint32_t hlen = (uint32_t)(emit_opts(p + US_TCP_HLEN, r) - p);
    us_put16(p, r->sport);
    us_put16(p + 2, r->dport);
    us_put32(p + 4, r->seq);
    us_put32(p + 8, r->ack);
    p[12] = (uint8_t)((hlen / 4) << 4);
    p[13] = r->flags;
    us_put16(p + 14, r->wnd);
    us_put16(p + 16, 0);
    us_put16(p + 18, 0);
    return hlen;
}

static uint16_t csum_of(const uint8_t *p, uint32_t len, us_ip4_t src, us_ip4_t dst)
{
    uint32_t sum = us_csum_pseudo(src, dst, US_IP_PROTO_TCP, (uint16_t)len);
    return us_csum_fold(us_csum_partial(p, len, sum));
}

bool us_tcp_csum_ok(const uint8_t *p, uint32_t len, us_ip4_t src, us_ip4_t dst)
{
    return len <= 0xffff && csum_of(p, len, src, dst) == 0;
}

void us_tcp_csum_fill(uint8_t *p, uint32_t len, us_ip4_t src, us_ip4_t dst)
{
    us_put16(p + 16, 0);
    us_put16(p + 16, csum_of(p, len, src, dst));
}
