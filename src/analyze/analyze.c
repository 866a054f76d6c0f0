/* The trace analyzer: TCP connections rebuilt from captured segments.
 *
 * Paths through this file:
 *   us_an_frame → an_parse_frame → conn_lookup (4-tuple, both directions) →
 *   on_segment: on_syn (options, S8 scale) → on_send (new data, retransmission,
 *   probe, short segment, beyond-window) → on_ack (duplicate ACKs, window
 *   updates, RTT, right edge R1/R2, zero-window episodes, probe answers) →
 *   update_owe (which timer should end the sender's next silence).
 * Every view is that of the capture point; the findings (an_findings.c) say
 * "likely" where the capture point matters. */
#include <stdlib.h>
#include <string.h>
#include "an_internal.h"

#define AN_HASH 4096

struct us_an *us_an_new(void)
{
    struct us_an *an = calloc(1, sizeof(*an));
    if (!an)
        return NULL;
    an->hash = calloc(AN_HASH, sizeof(*an->hash));
    if (!an->hash) {
        free(an);
        return NULL;
    }
    return an;
}

void us_an_free(struct us_an *an)
{
    if (!an)
        return;
    for (size_t i = 0; i < an->nconns; i++) {
        free(an->conns[i]->pub.findings);
        free(an->conns[i]->pub.zwin);
        free(an->conns[i]);
    }
    free(an->conns);
    free(an->hash);
    free(an);
}

const struct us_an_stats *us_an_stats(const struct us_an *an) { return &an->stats; }
size_t us_an_conn_count(const struct us_an *an) { return an->nconns; }
const struct us_an_conn *us_an_conn_get(const struct us_an *an, size_t i)
{
    return i < an->nconns ? &an->conns[i]->pub : NULL;
}

static us_time_t dt(us_time_t from, us_time_t to) { return to > from ? to - from : 0; }

/* ---- connections by 4-tuple ---------------------------------------------- */

static unsigned tuple_hash(us_ip4_t a, uint16_t pa, us_ip4_t b, uint16_t pb)
{
    /* symmetric, so both directions land in one bucket */
    uint64_t x = ((uint64_t)a * 0x9E3779B1u) ^ ((uint64_t)b * 0x9E3779B1u) ^ ((uint64_t)(pa ^ pb) << 7) ^
                 (uint64_t)(pa + pb);
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    return (unsigned)(x >> 40) % AN_HASH;
}

/* Returns the connection and the side that sent s (0/1), or NULL. */
static struct an_conn *conn_find(struct us_an *an, const struct an_seg *s, int *side)
{
    for (struct an_conn *c = an->hash[tuple_hash(s->src, s->sport, s->dst, s->dport)]; c; c = c->hnext) {
        const struct us_an_side *x = c->pub.side;
        if (x[0].ip == s->src && x[0].port == s->sport && x[1].ip == s->dst && x[1].port == s->dport) {
            *side = 0;
            return c;
        }
        if (x[1].ip == s->src && x[1].port == s->sport && x[0].ip == s->dst && x[0].port == s->dport) {
            *side = 1;
            return c;
        }
    }
    return NULL;
}

static void conn_unhash(struct us_an *an, struct an_conn *c)
{
    struct an_conn **pp = &an->hash[tuple_hash(c->pub.side[0].ip, c->pub.side[0].port, c->pub.side[1].ip,
                                               c->pub.side[1].port)];
    for (; *pp; pp = &(*pp)->hnext)
        if (*pp == c) {
            *pp = c->hnext;
            return;
        }
}

static struct an_conn *conn_new(struct us_an *an, const struct an_seg *s, int *side)
{
    if (an->nconns >= AN_MAX_CONNS)
        return NULL;
    if (an->nconns == an->cap) {
        size_t cap = an->cap ? an->cap * 2 : 16;
        struct an_conn **v = realloc(an->conns, cap * sizeof(*v));
        if (!v)
            return NULL;
        an->conns = v;
        an->cap = cap;
    }
    struct an_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    /* side 0 opens the connection: the SYN's sender, the SYN-ACK's receiver,
     * or (mid-stream) the first segment's sender */
    bool synack = (s->flags & (AN_SYN | AN_ACK)) == (AN_SYN | AN_ACK);
    *side = synack ? 1 : 0;
    c->pub.side[*side].ip = s->src;
    c->pub.side[*side].port = s->sport;
    c->pub.side[!*side].ip = s->dst;
    c->pub.side[!*side].port = s->dport;
    for (int i = 0; i < 2; i++) {
        c->pub.side[i].wscale = -1;
        c->d[i].zw = -1;
    }
    c->pub.id = (unsigned)an->nconns + 1;
    c->pub.t_first = s->t;
    c->t_base = an->stats.t_first;
    unsigned h = tuple_hash(s->src, s->sport, s->dst, s->dport);
    c->hnext = an->hash[h];
    an->hash[h] = c;
    an->conns[an->nconns++] = c;
    return c;
}

/* A new SYN on a 4-tuple whose connection is over starts a new connection
 * (port reuse after TIME_WAIT). */
static bool is_reuse(const struct an_conn *c, int side, const struct an_seg *s)
{
    if ((s->flags & (AN_SYN | AN_ACK)) != AN_SYN || !c->d[side].syns)
        return false;
    bool over = c->closed || (c->pub.side[0].fin && c->pub.side[1].fin);
    return over && s->seq != c->d[side].ref_raw;
}

/* ---- sequence numbers ---------------------------------------------------- */

/* Unwraps a sequence number of side d's stream to 64 bits. */
static int64_t rel(struct an_dir *d, uint32_t raw)
{
    if (!d->ref_set) {
        d->ref_set = true;
        d->ref_raw = raw;
        d->ref_rel = 0;
    }
    return d->ref_rel + (int32_t)(raw - d->ref_raw);
}

/* ---- the sender's obligation ---------------------------------------------- */

static uint32_t full_seg(const struct an_conn *c, int s)
{
    if (c->d[s].seg_max)
        return c->d[s].seg_max;
    uint16_t m = c->pub.side[!s].mss;
    return m ? m : 536;
}

static enum an_owe owe_reason(const struct an_conn *c, int s)
{
    const struct an_dir *S = &c->d[s], *R = &c->d[!s];
    if (c->closed || !R->ack_set)
        return OWE_NONE;   /* nothing heard from the receiver: a one-way capture proves nothing */
    if (S->snd_max > R->ack)
        return OWE_OUTSTANDING;
    if (S->fin_sent || !S->pending)
        return OWE_NONE;
    if (R->wnd == 0)
        return OWE_ZERO;
    int64_t usable = R->ack + (int64_t)R->wnd - S->snd_max;
    return usable < (int64_t)full_seg(c, s) ? OWE_SMALL : OWE_OPEN;
}

/* After every segment: what does sender s owe now? A changed ACK or window
 * restarts the clock and the back-off (S5, S10); a duplicate does not. */
static void update_owe(struct an_conn *c, int s, us_time_t t, bool restart)
{
    struct an_dir *S = &c->d[s];
    enum an_owe o = owe_reason(c, s);
    /* a window the sender sat on without probing is its silence, even if the
     * receiver's update ends it */
    if ((o != S->owe || restart) && (S->owe == OWE_ZERO || S->owe == OWE_SMALL || S->owe == OWE_OPEN))
        an_check_silence(c, s, t, 3);
    if (o != S->owe || restart) {
        S->owe_since = t;
        S->episode_gap = 0;
    }
    S->owe = o;
}

/* ---- a segment's sending side -------------------------------------------- */

static void on_syn(struct an_conn *c, int i, const struct an_seg *s)
{
    struct us_an_side *x = &c->pub.side[i];
    struct an_dir *D = &c->d[i];
    if (D->syns && s->seq != D->ref_raw) {
        D->ref_set = false;      /* a different ISN: restart this stream's numbering */
        D->snd_max = 0;
    }
    D->syns++;
    D->syn_t = s->t;
    x->syn_seen = true;
    x->mss = s->mss;
    x->wscale = s->ws;
    x->sack_perm = s->sack_perm;
    x->ts = s->ts;
    if (s->flags & AN_ACK)
        c->synack_t = s->t;
    /* S8 / RFC 7323 2.2: scale only when both SYNs carried the option */
    struct us_an_side *y = &c->pub.side[!i];
    bool both = x->wscale >= 0 && y->wscale >= 0 && y->syn_seen;
    x->shift = both ? (uint8_t)x->wscale : 0;
    y->shift = both ? (uint8_t)y->wscale : 0;
    if (x->syn_seen && y->syn_seen)
        c->ws_note = (x->wscale >= 0) != (y->wscale >= 0);
}

static void add_probe(struct an_conn *c, int recv, us_time_t t, enum us_an_probe kind)
{
    struct us_an_zwin *z = &c->pub.zwin[c->d[recv].zw];
    c->d[recv].zw_unans = z->nprobes;   /* a probe is answered before the next one, or not at all */
    if (z->nprobes < US_AN_MAX_PROBES) {
        z->probe_t[z->nprobes] = t;
        z->probe_kind[z->nprobes] = (uint8_t)kind;
    }
    z->nprobes++;
    c->pub.side[!recv].probes++;
}

/* A zero-window probe: sent while the peer's window is zero, carrying at most
 * one byte, acknowledging nothing new (RFC 9293 3.8.6.1). */
static bool classify_probe(struct an_conn *c, int i, const struct an_seg *s, int64_t seq, bool new_ack)
{
    struct an_dir *D = &c->d[i], *P = &c->d[!i];
    if (P->zw < 0 || (s->flags & (AN_SYN | AN_FIN | AN_RST)) || s->len > 1 || new_ack || D->peer_data_since)
        return false;
    if (s->len == 1 && seq >= P->ack) {
        add_probe(c, !i, s->t, US_AN_PROBE_DATA);
        return true;
    }
    if (s->len == 0 && P->ack_set && seq == P->ack - 1) {
        add_probe(c, !i, s->t, US_AN_PROBE_OLD);
        return true;
    }
    if (s->len == 0 && seq == D->snd_max) {
        add_probe(c, !i, s->t, US_AN_PROBE_EMPTY);
        return true;
    }
    return false;
}

/* Way 7: a retransmission of the head right after same-ACK window updates
 * that, with true duplicates, made three — but true duplicates alone did not. */
static void check_update_retx(struct an_conn *c, int i, const struct an_seg *s, int64_t seq)
{
    struct an_dir *D = &c->d[i], *P = &c->d[!i];
    us_time_t quick = D->srtt > US_MS(10) ? D->srtt : US_MS(10);
    if (P->ack_set && seq == P->ack && P->dup_upd > 0 && P->dup_same < 3 && P->dup_same + P->dup_upd >= 3 &&
        dt(P->last_upd_t, s->t) <= quick && dt(D->last_event, s->t) < an_t0(c, i) / 2) {
        if (!D->upd_retx_n++)
            D->upd_retx_t = s->t;
    }
}

/* The round trip the capture shows: the handshake's, else the sender's SRTT. */
static us_time_t conn_rtt(const struct an_conn *c, int i)
{
    return c->pub.rtt_handshake ? c->pub.rtt_handshake : c->d[i].srtt;
}

/* Nagle (RFC 896) x delayed ACK (RFC 1122 4.2.3.2): side i sent a small
 * segment with nothing else in flight, the peer acknowledged it with a pure
 * ACK, and the new data s followed that ACK as soon as it could have reached i.
 * Seen from either end, the ACK's wait plus the gap after it is one round trip
 * plus the time the receiver held the ACK back: when that hold is long (a
 * delayed-ACK timer) and the gap short, i's TCP presumably held s until the
 * ACK came, which only Nagle's rule does. */
static void nagle_check(struct an_conn *c, int i, const struct an_seg *s)
{
    struct an_dir *D = &c->d[i];
    if (!D->nd_acked)
        return;
    us_time_t rtt = conn_rtt(c, i);
    us_time_t gap = dt(D->nd_ack_t, s->t), wait = dt(D->nd_t, D->nd_ack_t);
    if (!rtt || gap > rtt + US_MS(2) || wait + gap < rtt + US_MS(10))
        return;
    us_time_t hold = wait + gap - rtt;
    if (!D->nd_n++) {
        D->nd_first_t = D->nd_t;
        D->nd_first_hold = hold;
        D->nd_first_len = D->nd_len;
        D->nd_first_next = s->len;
    }
    D->nd_lost += hold;
}

static void on_new_data(struct an_conn *c, int i, const struct an_seg *s, int64_t seq, int64_t end)
{
    struct an_dir *D = &c->d[i], *P = &c->d[!i];
    struct us_an_side *x = &c->pub.side[i];
    int64_t new_from = seq > D->snd_max ? seq : D->snd_max;
    x->bytes += (uint64_t)(end - new_from);
    if (!D->timing) {
        D->timing = true;
        D->timed_end = end;
        D->timed_t = s->t;
    }
    int64_t edge = P->ack + (int64_t)P->wnd;
    if (P->edge_set && end > P->edge) {
        if (!D->beyond_n++)
            D->beyond_t = s->t;
        D->beyond_bytes += (uint64_t)(end - (P->edge > new_from ? P->edge : new_from));
    }
    bool in_flight = P->ack_set && D->snd_max > P->ack;
    uint32_t full = full_seg(c, i);
    /* forced: sent by a timer after a silence while the window was too small */
    bool forced = (D->owe == OWE_SMALL || D->owe == OWE_ZERO) && dt(D->owe_since, s->t) >= an_t0(c, i) / 2;
    if (D->short_cand) {          /* more new data followed: that one was not the tail */
        if (!D->short_n++) {
            D->short_t = D->short_cand_t;
            D->short_len = D->short_cand_len;
        }
        D->short_cand = false;
    }
    if (s->len < full && in_flight && !forced) {
        D->short_cand = true;
        D->short_cand_t = s->t;
        D->short_cand_len = s->len;
    }
    nagle_check(c, i, s);
    uint16_t mss = c->pub.side[!i].mss ? c->pub.side[!i].mss : 536;
    D->nd_cand = s->len + 12u < mss && !in_flight;   /* below a full segment with or without timestamps */
    D->nd_acked = false;
    if (D->nd_cand) {
        D->nd_t = s->t;
        D->nd_end = end;
        D->nd_len = s->len;
    }
    D->pending = P->ack_set && end + (int64_t)full > edge;
}

static void on_send(struct an_conn *c, int i, const struct an_seg *s, bool new_ack)
{
    struct an_dir *D = &c->d[i];
    struct us_an_side *x = &c->pub.side[i];
    int64_t seq = rel(D, s->seq);
    int64_t end = seq + s->len + ((s->flags & AN_SYN) ? 1 : 0) + ((s->flags & AN_FIN) ? 1 : 0);
    bool probe = classify_probe(c, i, s, seq, new_ack);
    bool event = probe || s->len || (s->flags & (AN_SYN | AN_FIN));
    if (s->len)
        x->data_segments++;
    if (s->len > D->seg_max && !probe)
        D->seg_max = s->len;
    bool retx = !probe && event && seq < D->snd_max && end > seq;
    if (retx) {
        x->retransmits++;
        check_update_retx(c, i, s, seq);
        D->nd_cand = D->nd_acked = false;   /* an ACK after a retransmission was not delayed */
        if (D->timing && seq < D->timed_end)
            D->timing = false;   /* Karn: no RTT sample from a retransmitted range */
    }
    if (event && D->owe != OWE_NONE) {
        an_check_silence(c, i, s->t, 0);
        us_time_t gap = dt(D->owe_since, s->t);
        bool timer = probe || retx || (s->flags & AN_SYN) || gap >= an_t0(c, i) / 2;
        D->episode_gap = timer ? gap : 0;
        if (retx && D->owe == OWE_OUTSTANDING && gap > D->rto_floor)
            D->rto_floor = gap;    /* a backed-off RTO stays until a new RTT sample (RFC 6298 5.7) */
        D->owe_since = s->t;
    }
    if (s->len && !probe && end > D->snd_max)
        on_new_data(c, i, s, seq, end - ((s->flags & AN_FIN) ? 1 : 0));
    if (s->flags & AN_FIN) {
        D->fin_sent = true;
        D->pending = false;
        D->short_cand = false;
        x->fin = true;
    }
    if (end > D->snd_max && !probe) {
        D->snd_max = end;
        D->ref_raw = s->seq;   /* keep the unwrap reference recent */
        D->ref_rel = seq;
    }
    if (event)
        D->last_event = s->t;
}

/* ---- a segment's acknowledging side --------------------------------------- */

static void answer_probes(struct an_conn *c, int i, us_time_t t)
{
    struct an_dir *D = &c->d[i];
    if (D->zw < 0)
        return;
    struct us_an_zwin *z = &c->pub.zwin[D->zw];
    for (; D->zw_unans < z->nprobes; D->zw_unans++) {
        if (D->zw_unans < US_AN_MAX_PROBES) {
            if (z->probe_t[D->zw_unans] > t)
                break;
            z->answered[D->zw_unans] = true;
        }
        z->nanswered++;
    }
}

static void zwin_open(struct an_conn *c, int i, us_time_t t)
{
    if (c->pub.nzwin == c->cap_zwin) {
        size_t cap = c->cap_zwin ? c->cap_zwin * 2 : 4;
        struct us_an_zwin *v = realloc(c->pub.zwin, cap * sizeof(*v));
        if (!v)
            return;
        c->pub.zwin = v;
        c->cap_zwin = cap;
    }
    struct us_an_zwin *z = &c->pub.zwin[c->pub.nzwin];
    memset(z, 0, sizeof(*z));
    z->side = i;
    z->start = t;
    c->d[i].zw = (int)c->pub.nzwin++;
    c->d[i].zw_unans = 0;
    c->pub.side[i].zero_windows++;
}

/* R1 and R2 on the right edge RCV.NXT + RCV.WND that side i advertised. */
static void check_edge(struct an_conn *c, int i, int64_t edge, uint32_t wnd, us_time_t t)
{
    struct an_dir *D = &c->d[i];
    struct us_an_side *x = &c->pub.side[i];
    if (D->edge_set && edge < D->edge && wnd != 0 && (uint64_t)(D->edge - edge) >= (1ull << x->shift)) {
        /* a zero window that shrinks is the memory-pressure case of R5: not counted */
        if (!D->edge_left_n++)
            D->edge_left_t = t;
        if ((uint64_t)(D->edge - edge) > D->edge_left_max)
            D->edge_left_max = (uint64_t)(D->edge - edge);
    }
    uint64_t mss = x->mss ? x->mss : full_seg(c, !i);
    uint64_t thr = x->max_window / 2 < mss ? x->max_window / 2 : mss;
    if (D->edge_set && edge > D->edge && D->last_small && (uint64_t)(edge - D->edge) < thr &&
        !c->pub.side[!i].fin) {
        if (!D->sws_n++) {
            D->sws_t = t;
            D->sws_step = (uint64_t)(edge - D->edge);
        }
    }
    if (!D->edge_set || edge > D->edge)
        D->edge = edge;
    D->edge_set = true;
    if (wnd > x->max_window)
        x->max_window = wnd;
    thr = x->max_window / 2 < mss ? x->max_window / 2 : mss;
    D->last_small = wnd < thr;
}

/* Side i acknowledges the peer's stream and advertises its window. */
static void on_ack(struct an_conn *c, int i, const struct an_seg *s)
{
    struct an_dir *D = &c->d[i], *P = &c->d[!i];
    struct us_an_side *x = &c->pub.side[i];
    int64_t a = rel(P, s->ack);
    /* RFC 7323 2.2: the window of a SYN is never scaled */
    uint32_t wnd = (s->flags & AN_SYN) ? s->wnd : (uint32_t)s->wnd << x->shift;
    answer_probes(c, i, s->t);
    if (D->ack_set && a < D->ack)
        return;                               /* an old ACK, reordered */
    if (a > P->snd_max)
        P->snd_max = a;                       /* data the capture missed */
    bool newer = !D->ack_set || a > D->ack;
    bool changed = !D->ack_set || wnd != D->wnd;
    bool pure = !s->len && !(s->flags & (AN_SYN | AN_FIN));
    /* a window update is a same-ACK pure ACK that opens the window and reports
     * no loss; one that shrinks it or carries SACK blocks reports arriving data */
    bool update = changed && D->ack_set && wnd > D->wnd && !s->nsack;
    if (!newer && pure && P->snd_max > a) {
        if (update) {
            x->window_updates++;
            D->dup_upd++;
            D->last_upd_t = s->t;
        } else {
            x->dupacks++;
            D->dup_same++;
        }
    } else if (!newer && pure && update) {
        x->window_updates++;
    }
    if (newer)
        D->dup_same = D->dup_upd = 0;
    if (P->nd_cand && !P->nd_acked && a >= P->nd_end) {
        P->nd_acked = pure && a == P->nd_end;  /* an ACK with data is not a delayed one */
        P->nd_ack_t = s->t;
        P->nd_cand = P->nd_acked;
    }
    if (P->timing && a >= P->timed_end) {     /* RFC 6298 2: SRTT and RTTVAR */
        us_time_t r = dt(P->timed_t, s->t);
        struct us_an_side *px = &c->pub.side[!i];
        if (!P->srtt) {
            P->srtt = r;
            P->rttvar = r / 2;
        } else {
            us_time_t err = r > P->srtt ? r - P->srtt : P->srtt - r;
            P->rttvar = (3 * P->rttvar + err) / 4;
            P->srtt = (7 * P->srtt + r) / 8;
        }
        px->srtt = P->srtt;
        if (!px->rtt_min || r < px->rtt_min)
            px->rtt_min = r;
        P->timing = false;
        P->rto_floor = 0;
    }
    if (changed && D->ack_set && D->wnd < full_seg(c, !i) && wnd >= full_seg(c, !i))
        D->upd_open_t = s->t;
    check_edge(c, i, a + (int64_t)wnd, wnd, s->t);
    D->ack = a;
    D->ack_set = true;
    D->wnd = wnd;
    if (wnd == 0 && D->zw < 0 && !(s->flags & AN_SYN))
        zwin_open(c, i, s->t);
    else if (wnd > 0 && D->zw >= 0)
        an_zwin_close(c, i, s->t);
    if (!c->pub.established && i == 0 && c->d[1].syns && a >= 1 && c->d[0].syns) {
        c->pub.established = true;
        c->pub.rtt_handshake = dt(c->d[0].syn_t, s->t);
    }
    update_owe(c, !i, s->t, newer || changed);
}

static void record_last(struct an_dir *D, const struct an_seg *s)
{
    D->last.set = true;
    D->last.t = s->t;
    D->last.flags = s->flags;
    D->last.seq = D->ref_rel + (int32_t)(s->seq - D->ref_raw);
    D->last.len = s->len;
    D->last.wnd = s->wnd;
}

static void on_segment(struct an_conn *c, int i, const struct an_seg *s)
{
    struct an_dir *D = &c->d[i], *P = &c->d[!i];
    c->pub.side[i].segments++;
    c->pub.t_last = s->t;
    if (s->flags & AN_RST) {
        c->pub.side[i].rst = true;
        answer_probes(c, i, s->t);
        for (int k = 0; k < 2; k++)
            if (c->d[k].owe != OWE_NONE)
                an_check_silence(c, k, s->t, 1);
        c->closed = true;
        c->d[0].owe = c->d[1].owe = OWE_NONE;
        record_last(D, s);
        return;
    }
    if (s->flags & AN_SYN)
        on_syn(c, i, s);
    bool new_ack = (s->flags & AN_ACK) && D->ack_set && P->ref_set && rel(P, s->ack) > D->ack;
    on_send(c, i, s, new_ack);
    if (s->flags & AN_ACK)
        on_ack(c, i, s);
    if (s->len)
        D->peer_data_since = false, P->peer_data_since = true;
    else
        D->peer_data_since = false;
    update_owe(c, i, s->t, false);
    record_last(D, s);
    if (D->ack_set)
        D->last.ack = D->ack;
}

void us_an_frame(struct us_an *an, enum us_an_link link, us_time_t t, const uint8_t *frame, uint32_t caplen,
                 uint32_t wirelen)
{
    struct an_seg s;
    if (an->finished)
        return;
    if (!an->stats.frames++)
        an->stats.t_first = t;
    if (t > an->stats.t_last)
        an->stats.t_last = t;
    enum an_parse r = an_parse_frame(link, frame, caplen, wirelen, &s);
    if (r == AN_NOT_TCP) {
        an->stats.ignored++;
        return;
    }
    if (r == AN_MALFORMED) {
        an->stats.malformed++;
        return;
    }
    an->stats.tcp++;
    s.t = t;
    int side;
    struct an_conn *c = conn_find(an, &s, &side);
    if (c && is_reuse(c, side, &s)) {
        conn_unhash(an, c);
        c = NULL;
    }
    if (!c)
        c = conn_new(an, &s, &side);
    if (c)
        on_segment(c, side, &s);
}

void us_an_finish(struct us_an *an)
{
    if (an->finished)
        return;
    an->finished = true;
    for (size_t i = 0; i < an->nconns; i++)
        an_conn_finish(an, an->conns[i]);
}
