/* SYN cookies (RFC 4987 3.6; the design follows Linux's syncookies.c).
 *
 * When a listener's SYN queue is full (us_config.tcp_syncookies = 1) or for
 * every SYN (= 2), the SYN-ACK's ISN is the cookie and nothing is kept:
 *
 *   ISN = H1(key; 4-tuple) + SEQ(SYN) + (count << 24)
 *         + ((H2(key; 4-tuple, count) + mss_index) mod 2^24)
 *
 * with count = now / 64 s (TCP_COOKIE_PERIOD; never a clock read) and
 * mss_index the largest entry of mss_tab not above the MSS the peer offered.
 * H1 and H2 are SipHash-2-4 under a key drawn from the stack's random source;
 * keys rotate every TCP_COOKIE_ROTATE periods and the previous key is still
 * tried, so a cookie is checked against the key it was made with. The ACK
 * that completes the handshake (ACK = ISN + 1, SEQ = SEQ(SYN) + 1) is valid
 * when the counter it carries is less than TCP_COOKIE_MAX_AGE periods old and
 * the 24-bit MAC gives back an index of the table.
 *
 * Options that do not fit in the ISN ride in our timestamp (Linux's
 * cookie_init_timestamp): with timestamps, TSval's low 6 bits are the peer's
 * window scale (0..14, 15 = none) and SACK-permitted (bit 4); the peer echoes
 * them in TSecr. Without timestamps the cookie SYN-ACK offers neither window
 * scaling nor SACK (the ACK could not tell whether the peer offered them). */
#include <string.h>
#include "tcp_int.h"

static const uint16_t mss_tab[] = { 536, 1300, 1440, 1460, 8960 };
#define MSS_N (sizeof(mss_tab) / sizeof(mss_tab[0]))
#define TS_WS_NONE 0xfu
#define TS_SACK 0x10u
#define TS_BITS 0x3fu

uint32_t tcp_cookie_count(us_time_t now) { return (uint32_t)(now / TCP_COOKIE_PERIOD); }

/* Draw the keys on first use; rotate them every TCP_COOKIE_ROTATE periods. */
static void cookie_keys(struct us_stack *st, uint32_t count)
{
    struct us_tcp_state *t = tcp_state(st);
    if (!t->cookie_keyed) {
        us_rng_bytes(&st->rng, t->cookie_key[0], 16);
        us_rng_bytes(&st->rng, t->cookie_key[1], 16);
        t->cookie_epoch = count;
        t->cookie_keyed = true;
    } else if (count - t->cookie_epoch >= TCP_COOKIE_ROTATE) {
        memcpy(t->cookie_key[1], t->cookie_key[0], 16);
        us_rng_bytes(&st->rng, t->cookie_key[0], 16);
        t->cookie_epoch = count;
    }
}

static uint32_t mac(const uint8_t key[16], us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport,
                    uint32_t count, bool with_count)
{
    uint32_t k[5] = { lip, rip, ((uint32_t)lport << 16) | rport, count, with_count ? 2u : 1u };
    return (uint32_t)us_siphash24(key, k, sizeof(k));
}

static uint32_t cookie_make(const uint8_t key[16], us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport,
                            uint32_t cseq, uint32_t count, uint32_t idx)
{
    uint32_t h1 = mac(key, lip, lport, rip, rport, 0, false);
    uint32_t h2 = mac(key, lip, lport, rip, rport, count, true);
    return h1 + cseq + (count << 24) + ((h2 + idx) & 0xffffffu);
}

/* The MSS index the cookie carries back, or -1. */
static int cookie_idx(const uint8_t key[16], us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport,
                      uint32_t cseq, uint32_t cookie, uint32_t now_count)
{
    uint32_t c = cookie - mac(key, lip, lport, rip, rport, 0, false) - cseq;
    uint32_t age = (now_count - (c >> 24)) & 0xffu;
    if (age >= TCP_COOKIE_MAX_AGE)
        return -1;
    uint32_t count = now_count - age;
    uint32_t idx = (c - mac(key, lip, lport, rip, rport, count, true)) & 0xffffffu;
    return idx < MSS_N ? (int)idx : -1;
}

/* The MSS we announce to rip from listener l (what the child will compute). */
static uint32_t our_mss(struct us_stack *st, const struct us_tcb *l, us_ip4_t rip)
{
    struct us_tcb tmp = { .rip = rip, .ext = l->ext };
    return tcp_mss_ours(st, &tmp);
}

void tcp_cookie_send(struct us_stack *st, struct us_tcb *l, const struct us_ip_info *ip,
                     const struct us_tcp_repr *s, us_time_t now)
{
    const struct us_config *cf = &st->cfg;
    uint32_t count = tcp_cookie_count(now);
    cookie_keys(st, count);
    uint32_t peer_mss = s->mss ? s->mss : 536, idx = 0;
    while (idx + 1 < MSS_N && mss_tab[idx + 1] <= peer_mss)
        idx++;
    struct us_tcp_repr h = {
        .sport = s->dport, .dport = s->sport, .flags = US_TH_SYN | US_TH_ACK, .ack = s->seq + 1,
        .seq = cookie_make(tcp_state(st)->cookie_key[0], ip->dst, s->dport, ip->src, s->sport, s->seq, count, idx),
        .wnd = (uint16_t)(l->rcvbuf > 65535 ? 65535 : l->rcvbuf), .wscale = -1,
        .mss = (uint16_t)our_mss(st, l, ip->src),
    };
    if (cf->tcp_timestamps && s->ts) {
        uint32_t bits = TS_WS_NONE;
        h.ts = true;
        if (cf->tcp_wscale && s->wscale >= 0) {
            h.wscale = (int8_t)tcp_wscale_for(l->rcvbuf);
            bits = (uint32_t)s->wscale;
        }
        if (cf->tcp_sack && s->sack_perm) {
            h.sack_perm = true;
            bits |= TS_SACK;
        }
        uint32_t ms = t_ms(now);
        h.tsval = (ms & ~TS_BITS) | bits;
        if (seq_gt(h.tsval, ms))
            h.tsval -= TS_BITS + 1;                 /* never ahead of our clock */
        h.tsecr = s->tsval;
    }
    l->ext->cookie_last = count + 1;
    if (tcp_send_stateless(st, ip->dst, ip->src, &h, now) == 0)
        US_COUNT(st, TCP_COOKIES_SENT);
}

bool tcp_cookie_check(struct us_stack *st, const struct us_tcb *l, const struct us_ip_info *ip,
                      const struct us_tcp_repr *s, struct us_tcp_repr *syn, us_time_t now)
{
    const struct us_config *cf = &st->cfg;
    uint32_t count = tcp_cookie_count(now);
    cookie_keys(st, count);
    const struct us_tcp_state *t = tcp_state(st);
    uint32_t cseq = s->seq - 1, cookie = s->ack - 1;
    int idx = -1;
    for (int k = 0; k < 2 && idx < 0; k++)
        idx = cookie_idx(t->cookie_key[k], ip->dst, s->dport, ip->src, s->sport, cseq, cookie, count);
    memset(syn, 0, sizeof(*syn));
    syn->wscale = -1;
    if (idx >= 0 && s->ts && cf->tcp_timestamps) {
        /* The echoed TSval: ours, not ahead of our clock, within the cookie's age. */
        uint32_t ms = t_ms(now), bits = s->tsecr & TS_BITS;
        uint32_t ws = bits & TS_WS_NONE;
        if (seq_gt(s->tsecr, ms) || ms - s->tsecr > (uint32_t)(TCP_COOKIE_MAX_AGE * TCP_COOKIE_PERIOD / US_MS(1)) ||
            (ws != TS_WS_NONE && (ws > 14 || !cf->tcp_wscale)) || (bits & ~(TS_WS_NONE | TS_SACK)) ||
            ((bits & TS_SACK) && !cf->tcp_sack))
            idx = -1;
        else {
            syn->ts = true;
            syn->tsval = s->tsval;
            syn->wscale = ws == TS_WS_NONE ? -1 : (int8_t)ws;
            syn->sack_perm = (bits & TS_SACK) != 0;
        }
    }
    if (idx < 0) {
        US_COUNT(st, TCP_COOKIES_INVALID);
        return false;
    }
    (void)l;
    US_COUNT(st, TCP_COOKIES_VALID);
    syn->sport = s->sport;
    syn->dport = s->dport;
    syn->seq = cseq;
    syn->flags = US_TH_SYN;
    syn->mss = mss_tab[idx];
    syn->wnd = s->wnd;
    return true;
}
