/* RACK-TLP loss detection (RFC 8985) for connections that negotiated SACK.
 *
 * Paths through this file:
 *   tcp_rack_sent         every data/FIN segment that leaves (tcp_emit): append
 *                         a record for new sequence space, or stamp the records a
 *                         retransmission covers with the new send time;
 *   tcp_rack_tlp_ack      TLP_process_ack (7.4): did the probe repair a loss?
 *   tcp_rack_ack          every acceptable ACK: mark (S)ACKed records and run
 *                         RACK_update (6.2 steps 1–3), the reordering window
 *                         (step 4) and RACK_detect_loss (step 5); drop the
 *                         cumulatively acknowledged records;
 *   tcp_rack_arm          S2 for data in flight: reorder timer, PTO (7.2) or RTO;
 *   tcp_rack_reo_timeout  the reorder timer fired: detect again (6.3);
 *   tcp_rack_pto          the probe timeout fired: one probe per tail (7.3),
 *                         then the RTO takes over;
 *   tcp_rack_next_lost / tcp_rack_pipe   what recovery retransmits and the
 *                         in-flight estimate it is clocked by (tcp_out.c).
 *
 * Records: one per transmitted segment from SND.UNA to SND.MAX, sorted by
 * sequence number, with the time of the last (re)transmission. They live in
 * one array allocated with the first segment of a flight and freed when
 * nothing is in flight. The array grows up to what the send buffer can hold
 * in flight (rack_limit: two records per full segment of it, so that
 * per-segment detection and the pipe stay exact for any window the
 * connection can fill); past that the last record grows instead (coarser,
 * still correct: it only delays detection for the merged bytes).
 * Without memory there are no records: the RFC 6675 paths and the RTO stay
 * in charge. Congestion response and the recovery state machine stay in
 * tcp_in.c (tcp_rack_recover): RACK only decides what is lost and when. */
#include <stdlib.h>
#include <string.h>
#include "tcp_int.h"

#define TLP_WCDELACK_US 200000u     /* RFC 8985 7.2: worst-case delayed-ACK time */
#define TLP_NO_SRTT_US 1000000u     /* RFC 8985 7.2: PTO without an RTT sample */
/* The PTO's margin over 2·SRTT, as Linux since 4.13 has it (2·SRTT + 2
 * jiffies, TCP_TIMEOUT_MIN; 2 ms at HZ 1000). The original draft's floor,
 * max(2·SRTT, 10 ms) (Linux 3.10–4.12), was kept here first: 2·SRTT alone at
 * a LAN round trip of ~100 µs is shorter than a coalescing receiver takes to
 * ACK a burst (the capture in issue 8 showed a probe 54 µs after the
 * original). But with the probe a repeat of the last segment (tcp_rack_pto),
 * a probe that was not needed costs one MSS and a D-SACK, while every lost
 * ACK of a flight cost the whole floor: over TAP at 2% loss each way, 13-42
 * probes per 30 MB, and 320-600 Mbit/s with 10 ms against 670-920 with
 * 2 ms, four seeds each in one run. */
#define TLP_MIN_US 2000u
/* Below it, the margin is what the RTT samples (which include the
 * receiver's ACK delay) vary by, 4·RTTVAR, at least 0.5 ms: with Linux's
 * reader-driven ACKs over TAP the variance is well under 2 ms, and at 2%
 * loss each way this took 30 MB transfers from 476-1295 Mbit/s (2 ms, seven
 * runs) to 586-1663 (seven runs, one run each at a time). */
#define TLP_MARGIN_LO_US 500u
#define REO_PERSIST 16u             /* RFC 8985 6.2 step 4: recoveries a grown window persists */

static struct tcp_rack *rk(const struct us_tcb *tcb)
{
    return (tcb->flags & TF_RACK) && tcb->ext ? &tcb->ext->rack : NULL;
}

bool tcp_rack_tracking(const struct us_tcb *tcb)
{
    const struct tcp_rack *r = rk(tcb);
    return r && r->seg;
}

void tcp_rack_free(struct tcp_ext *e)
{
    free(e->rack.seg);
    e->rack.seg = NULL;
    e->rack.first = e->rack.n = e->rack.cap = 0;
    e->rack.rexmit_any = false;
}

/* RACK_sent_after (6.2): was (t1, o1) sent after (t2, o2)? The draft breaks
 * a tie of transmission times by sequence number; a burst leaves at one `now`
 * here (one µs for all of it, in real time as in virtual time), and a
 * retransmission sent amid new data would then count as sent before every
 * higher segment of its instant: the SACK of a segment that left just before
 * it marked it lost again at once (reo_wnd is 0 in recovery) — a spurious
 * retransmission per recovery. Ties go by the order of transmission. */
static bool sent_after(uint32_t t1, uint32_t o1, uint32_t t2, uint32_t o2)
{
    return (int32_t)(t1 - t2) > 0 || (t1 == t2 && (int32_t)(o1 - o2) > 0);
}

/* Records the flight may need: the send queue holds everything from SND.UNA,
 * so sndbuf / MSS full segments; twice that leaves room for short ones. */
static uint32_t rack_limit(const struct us_tcb *tcb)
{
    uint32_t lim = tcb->sndbuf / (tcb->mss_send ? tcb->mss_send : 536u) * 2u + 16u;
    if (lim < 1024u)
        lim = 1024u;
    return lim > TCP_RACK_SEGS_MAX ? TCP_RACK_SEGS_MAX : lim;
}

/* Room for one more record: compact, then grow up to the bound. */
static bool make_room(struct tcp_rack *r, uint32_t limit)
{
    if (r->n < r->cap)
        return true;
    if (r->first > 0) {
        memmove(r->seg, r->seg + r->first, (size_t)(r->n - r->first) * sizeof(*r->seg));
        r->n = (uint16_t)(r->n - r->first);
        r->first = 0;
        return true;
    }
    if (r->cap >= limit)
        return false;
    uint32_t cap = r->cap ? 2u * r->cap : TCP_RACK_SEGS_MIN;
    if (cap > limit)
        cap = limit;
    struct tcp_rseg *p = realloc(r->seg, cap * sizeof(*p));
    if (!p)
        return false;
    r->seg = p;
    r->cap = (uint16_t)cap;
    return true;
}

static struct tcp_rseg *append(struct tcp_rack *r, uint32_t limit, uint32_t seq, uint32_t end, uint32_t t)
{
    if (!make_room(r, limit)) {
        if (r->n <= r->first)
            return NULL;
        struct tcp_rseg *g = &r->seg[r->n - 1];   /* full: the last record grows */
        g->end = end;
        g->xmit_us = t;
        g->order = ++r->tx_order;
        g->fl &= ~(uint32_t)RS_LOST;
        return g;
    }
    r->seg[r->n] = (struct tcp_rseg){ .seq = seq, .end = end, .xmit_us = t, .order = ++r->tx_order };
    return &r->seg[r->n++];
}

void tcp_rack_sent(struct us_tcb *tcb, uint32_t seq, uint32_t end, us_time_t now)
{
    if (!(tcb->flags & TF_RACK) || !tcp_ext(tcb))
        return;
    struct tcp_rack *r = &tcb->ext->rack;
    uint32_t t = t_us(now);
    uint32_t old_end = seq_min(end, tcb->snd_max);
    uint32_t in_flight = tcp_flight(tcb) + (seq_gt(end, tcb->snd_max) ? end - tcb->snd_max : 0);
    for (uint16_t i = r->first; i < r->n && seq_lt(seq, old_end); i++) {
        struct tcp_rseg *g = &r->seg[i];
        if (seq_lt(g->seq, old_end) && seq_gt(g->end, seq)) {
            g->xmit_us = t;                       /* 6.1: the retransmission's time */
            g->order = ++r->tx_order;
            g->fl = (g->fl & ~(uint32_t)RS_LOST) | RS_RETRANS;
            tcp_rate_sent(tcb, g, in_flight, t);
            r->rexmit_high = r->rexmit_any ? seq_max(r->rexmit_high, g->end) : g->end;
            r->rexmit_any = true;
        }
    }
    if (seq_gt(end, tcb->snd_max)) {
        struct tcp_rseg *g = append(r, rack_limit(tcb), seq_max(seq, tcb->snd_max), end, t);
        if (g)
            tcp_rate_sent(tcb, g, in_flight, t);
        if (tcb->tkind == TK_TLP)
            tcp_timer_restart(tcb);               /* 7.2: new data re-schedules the PTO */
    }
}

/* ---- ACK processing ---------------------------------------------------------- */

/* 6.2 step 4: a D-SACK means we retransmitted too early — widen the window
 * by min_RTT/4, once per round trip (until SND.UNA passes the SND.MAX of the
 * last widening), for the next 16 recoveries. It also means reordering:
 * the segment RACK gave up on was delivered after all. Step 3 cannot see
 * that when the late segment was the one retransmitted (its record is a
 * retransmission), and without reordering_seen the window stays 0 once
 * DupThresh segments are SACKed — every reordering beyond the first
 * min_RTT / 4 was a spurious retransmission however often D-SACKs came
 * (Linux counts a D-SACK of a retransmission as reordering too). */
static void dsack_seen(struct us_tcb *tcb, struct tcp_rack *r)
{
    r->reordering_seen = true;
    if (r->dsack_round_on && !seq_ge(tcb->snd_una, r->dsack_round))
        return;
    uint8_t m = r->reo_mult ? r->reo_mult : 1;
    r->reo_mult = m < 255 ? (uint8_t)(m + 1) : m;
    r->dsack_round = tcb->snd_max;
    r->dsack_round_on = true;
    r->reo_persist = REO_PERSIST;
}

void tcp_rack_post_recovery(struct us_tcb *tcb)
{
    struct tcp_rack *r = rk(tcb);
    if (r && r->reo_persist && --r->reo_persist == 0) {
        r->reo_mult = 1;
        r->dsack_round_on = false;
    }
}

void tcp_rack_tlp_ack(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    struct tcp_rack *r = rk(tcb);
    if (!r)
        return;
    bool dsack = tcp_sack_is_dsack(s);
    /* A D-SACK for a probe's repeat says the PTO came before the ACK, not
     * that the path reorders: it does not widen the reordering window. */
    bool probe_dup = dsack && r->tlp_active && r->tlp_retrans && seq_ge(s->sack[0][0], r->tlp_lo) &&
                     seq_le(s->sack[0][1], r->tlp_hi);
    if (dsack && !probe_dup)
        dsack_seen(tcb, r);
    if (!r->tlp_active || seq_lt(s->ack, r->tlp_end_seq))
        return;
    if (dsack) {
        r->tlp_active = false;                    /* original and probe both arrived: no loss */
        return;
    }
    if (seq_gt(s->ack, r->tlp_end_seq)) {
        /* 7.4.2: the episode ended without a D-SACK for the probe: it repaired
         * a loss, which needs the congestion response of a fast recovery. */
        r->tlp_active = false;
        if (r->tlp_retrans && !(tcb->flags & TF_RECOVERY)) {
            US_COUNT(st, TCP_TLP_LOSS_REPAIRED);
            tcp_cc_congestion(st, tcb, "congestion: a TLP repaired a loss (RFC 8985 7.4.2)", now);
        }
        return;
    }
    if (s->ack == tcb->snd_una && !s->nsack && !s->len)
        r->tlp_active = false;                    /* a plain duplicate for the probe */
}

/* 6.2 step 2: a cumulative ACK echoes a timestamp older than the record's
 * last (re)transmission (by more than the 1 ms timestamp clock), so it was
 * sent for an earlier copy — after a spurious RTO, for the original. Only a
 * cumulative ACK tells: an ACK for an out-of-order arrival echoes the last
 * in-order segment's timestamp (RFC 7323 4.3), older in any case. */
static bool echo_older(const struct us_tcb *tcb, const struct us_tcp_repr *s, const struct tcp_rseg *g, us_time_t now)
{
    if (!(tcb->flags & TF_TS) || !s->ts || !s->tsecr)
        return false;
    uint64_t echo_age = (uint64_t)(uint32_t)(t_ms(now) - s->tsecr) * 1000u;
    return echo_age > (uint64_t)(t_us(now) - g->xmit_us) + 1000u;
}

/* RACK.min_RTT over the last TCP_RACK_MIN_RTT_WIN_MS (RFC 8985 6.2 allows
 * the connection's minimum; a window follows a path whose delay grew, as
 * Linux's tcp_min_rtt_wlen does): Kathleen Nichols' running minimum with
 * three samples, the best of the window and the best of its later quarters
 * (Linux lib/win_minmax.c), O(1) per sample. Times in ms. */
static uint32_t min_rtt_update(struct tcp_rack *r, uint32_t t, uint32_t v)
{
    struct tcp_rtt_sample *m = r->mrtt, x = { t, v };
    uint32_t win = TCP_RACK_MIN_RTT_WIN_MS;
    if (!r->min_rtt_us || v <= m[0].v || t - m[2].t > win) {
        m[0] = m[1] = m[2] = x;                   /* a new minimum, or the window is empty */
        return v;
    }
    if (v <= m[1].v)
        m[1] = m[2] = x;
    else if (v <= m[2].v)
        m[2] = x;
    uint32_t dt = t - m[0].t;
    if (dt > win) {                               /* the best left the window: promote */
        m[0] = m[1];
        m[1] = m[2];
        m[2] = x;
        if (t - m[0].t > win) {
            m[0] = m[1];
            m[1] = m[2];
            m[2] = x;
        }
    } else if (m[1].t == m[0].t && dt > win / 4) {
        m[1] = m[2] = x;                          /* a second choice from the second quarter */
    } else if (m[2].t == m[1].t && dt > win / 2) {
        m[2] = x;                                 /* a third choice from the second half */
    }
    return m[0].v;
}

/* 6.2 step 2 (RACK_update) and step 3 (reordering) for one delivered record. */
static void rack_update(const struct us_tcb *tcb, struct tcp_rack *r, const struct tcp_rseg *g,
                        const struct us_tcp_repr *s, bool cum, us_time_t now)
{
    uint32_t t = t_us(now), rtt = t - g->xmit_us;
    if (!r->have)
        r->fack = g->end;                         /* RACK.fack starts at the first delivery, not at 0 */
    if (g->fl & RS_RETRANS) {
        /* ambiguous: an ACK for an earlier copy, or an RTT below the
         * minimum, belongs to the original */
        if ((cum && echo_older(tcb, s, g, now)) || (r->min_rtt_us && rtt < r->min_rtt_us))
            return;
    } else {
        r->min_rtt_us = min_rtt_update(r, t_ms(now), rtt ? rtt : 1);
    }
    /* RACK.rtt ends as the RTT of the most recently sent delivered segment */
    if (!r->have || sent_after(g->xmit_us, g->order, r->xmit_us, r->order)) {
        r->have = true;
        r->rtt_us = rtt;
        r->xmit_us = g->xmit_us;
        r->order = g->order;
        r->end_seq = g->end;
    }
    if (!(g->fl & RS_RETRANS) && seq_lt(g->end, r->fack))
        r->reordering_seen = true;
    else if (seq_gt(g->end, r->fack))
        r->fack = g->end;
}

static uint32_t reo_wnd_seen(const struct us_tcb *tcb, const struct tcp_rack *r)
{
    uint64_t w = (uint64_t)(r->reo_mult ? r->reo_mult : 1) * r->min_rtt_us / 4;
    return w < tcb->srtt || !tcb->srtt ? (uint32_t)w : tcb->srtt;
}

uint32_t tcp_rack_reo_wnd(const struct us_tcb *tcb)
{
    return tcb->ext ? reo_wnd_seen(tcb, &tcb->ext->rack) : 0;
}

/* 6.2 step 4 (RACK_update_reo_wnd). */
static uint32_t reo_wnd(const struct us_tcb *tcb, const struct tcp_rack *r, uint32_t sacked)
{
    if (!r->reordering_seen && ((tcb->flags & TF_RECOVERY) || sacked >= TCP_DUPTHRESH))
        return 0;
    return reo_wnd_seen(tcb, r);
}

/* 6.2 step 5 (RACK_detect_loss): mark lost every record sent before the most
 * recently delivered one by more than RACK.rtt + reo_wnd; the rest of those
 * set the reorder timer. */
static void detect_loss(struct us_stack *st, struct us_tcb *tcb, struct tcp_rack *r, uint32_t t)
{
    r->reo_timeout_us = 0;
    if (!r->have || !r->seg)
        return;
    uint32_t sacked = 0;                          /* only compared with DupThresh */
    for (uint16_t i = r->first; i < r->n && sacked < TCP_DUPTHRESH; i++)
        sacked += (r->seg[i].fl & RS_SACKED) != 0;
    uint32_t w = reo_wnd(tcb, r, sacked);
    for (uint16_t i = r->first; i < r->n; i++) {
        struct tcp_rseg *g = &r->seg[i];
        bool after = !sent_after(r->xmit_us, r->order, g->xmit_us, g->order);
        /* First transmissions leave in sequence order, so past the highest
         * retransmitted record one sent after RACK.xmit_ts means all the
         * rest were too: the scan ends there (O(losses), not O(window)). */
        if (after && !(g->fl & RS_RETRANS) && (!r->rexmit_any || seq_ge(g->seq, r->rexmit_high)))
            break;
        if ((g->fl & (RS_SACKED | RS_LOST)) || after)
            continue;
        int32_t left = (int32_t)(g->xmit_us + r->rtt_us + w - t);
        if (left <= 0) {
            g->fl = (g->fl & ~(uint32_t)RS_RETRANS) | RS_LOST;
            tcp_rate_lost(tcb, g->end - g->seq);
            US_COUNT(st, TCP_RACK_LOST);
            tcb->ext->rack_lost_marks++;
        } else if ((uint32_t)left > r->reo_timeout_us) {
            r->reo_timeout_us = (uint32_t)left;
        }
    }
    if (r->reo_timeout_us && (tcb->tkind == TK_REXMT || tcb->tkind == TK_TLP))
        tcp_timer_restart(tcb);                   /* the reorder timer takes the slot */
}

/* Mark records the scoreboard covers; feed every newly delivered one to RACK. */
static void mark_delivered(struct us_tcb *tcb, struct tcp_rack *r, const struct us_tcp_repr *s, uint32_t una,
                           bool reneged, us_time_t now)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    uint32_t b = 0, t = t_us(now);
    r->ack_rtt_us = r->sack_rtt_us = r->ca_rtt_us = 0;
    for (uint16_t i = r->first; i < r->n; i++) {
        struct tcp_rseg *g = &r->seg[i];
        if (reneged)
            g->fl &= ~(uint32_t)RS_SACKED;        /* RFC 2018 8: SACKs are only advisory */
        bool was = (g->fl & RS_SACKED) != 0, now_acked = seq_le(g->end, una);
        if (!was && !now_acked && sb) {
            while (b < sb->n && seq_le(sb->blk[b][1], g->seq))
                b++;
            if (b < sb->n && seq_le(sb->blk[b][0], g->seq) && seq_ge(sb->blk[b][1], g->end))
                g->fl |= RS_SACKED;
        }
        if (!was && (now_acked || (g->fl & RS_SACKED))) {
            if (!(g->fl & RS_RETRANS)) {          /* Karn: only what was sent once times the path */
                uint32_t v = t - g->xmit_us ? t - g->xmit_us : 1;
                if (now_acked && !r->ack_rtt_us)
                    r->ack_rtt_us = v;            /* records go in sending order: the earliest */
                else if (!now_acked && !r->sack_rtt_us)
                    r->sack_rtt_us = v;
                r->ca_rtt_us = v;                 /* the latest so far */
            }
            rack_update(tcb, r, g, s, now_acked, now);
            tcp_rate_delivered(tcb, g, t);
        }
        /* above the cumulative point and the highest SACKed byte nothing
         * can change */
        if (!reneged && !now_acked && (!sb || !sb->n || seq_ge(g->end, sb->blk[sb->n - 1][1])))
            break;
    }
}

void tcp_rack_ack(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, uint32_t una, bool reneged,
                  us_time_t now)
{
    struct tcp_rack *r = rk(tcb);
    if (!r || !r->seg)
        return;
    uint32_t t = t_us(now);
    mark_delivered(tcb, r, s, una, reneged, now);
    while (r->first < r->n && seq_le(r->seg[r->first].end, una))
        r->first++;
    if (r->first < r->n && seq_lt(r->seg[r->first].seq, una))
        r->seg[r->first].seq = una;               /* partly acknowledged */
    if (r->first == r->n && una == tcb->snd_max) {
        tcp_rack_free(tcb->ext);                  /* nothing in flight: no memory kept */
        r->reo_timeout_us = 0;
        return;
    }
    detect_loss(st, tcb, r, t);
}

bool tcp_rack_lost_pending(const struct us_tcb *tcb)
{
    uint32_t seq, len;
    return tcp_rack_next_lost(tcb, &seq, &len);
}

bool tcp_rack_next_lost(const struct us_tcb *tcb, uint32_t *seq, uint32_t *len)
{
    const struct tcp_rack *r = rk(tcb);
    if (!r || !r->seg)
        return false;
    for (uint16_t i = r->first; i < r->n; i++) {
        const struct tcp_rseg *g = &r->seg[i];
        if ((g->fl & (RS_LOST | RS_SACKED)) == RS_LOST) {
            uint32_t from = seq_max(g->seq, tcb->snd_una);
            if (!seq_lt(from, g->end))
                continue;
            *seq = from;
            *len = g->end - from < tcb->mss_send ? g->end - from : tcb->mss_send;
            return true;
        }
    }
    return false;
}

uint32_t tcp_rack_pipe(const struct us_tcb *tcb)
{
    uint32_t flight = tcp_flight(tcb), out = 0;
    const struct tcp_rack *r = rk(tcb);
    if (!r || !r->seg)
        return flight;
    for (uint16_t i = r->first; i < r->n; i++) {
        const struct tcp_rseg *g = &r->seg[i];
        if (g->fl & (RS_SACKED | RS_LOST))
            out += g->end - seq_max(g->seq, tcb->snd_una);
    }
    return out < flight ? flight - out : 0;
}

void tcp_rack_on_rto(struct us_tcb *tcb)
{
    struct tcp_rack *r = rk(tcb);
    if (!r)
        return;
    /* RFC 6675 5.1: SACKed records stay SACKed (the scoreboard is kept;
     * reneging clears both); go-back-N resends the rest from SND.UNA and
     * stamps each record again. */
    for (uint16_t i = r->first; r->seg && i < r->n; i++)
        r->seg[i].fl &= ~(uint32_t)RS_LOST;
    r->tlp_active = false;
    r->reo_timeout_us = 0;
}

/* A spurious RTO undone (RFC 4015): what was marked lost since is not. */
void tcp_rack_undo(struct us_tcb *tcb)
{
    struct tcp_rack *r = rk(tcb);
    for (uint16_t i = r ? r->first : 0; r && r->seg && i < r->n; i++)
        r->seg[i].fl &= ~(uint32_t)RS_LOST;
}

/* ---- timers -------------------------------------------------------------------- */

static bool state_probes(uint8_t s)
{
    return s == US_TCP_ESTABLISHED || s == US_TCP_CLOSE_WAIT || s == US_TCP_FIN_WAIT_1 || s == US_TCP_CLOSING ||
           s == US_TCP_LAST_ACK;
}

/* 7.2: a PTO is armed outside RTO back-off, once per tail (TLP.end_seq
 * unset), and never against a zero window: there STALL.md's persist rules own
 * the connection. Departure from 7.2 (and from Linux): a PTO is armed in loss
 * recovery too (RACK's recovery: RFC 6675's alone keeps 7.2), also while
 * segments marked lost wait for PRR (the probe is then those: tcp_rack_pto),
 * since nothing but an ACK would move the connection. Linux's receivers coalesce their
 * ACKs (backlog coalescing, SACK compression): a whole flight, the hole's
 * retransmission with it, is often acknowledged by one ACK, and when that ACK
 * was lost the sender waited out the 200 ms RTO (the capture of a 1% loss
 * transfer to Linux: one ACK for 27 segments and the retransmission, lost; 1 to
 * 3 RTOs per 30 MB, 40-70% of the transfer's time). A probe at the PTO draws a
 * new ACK instead. */
static bool tlp_allowed(const struct us_tcb *tcb, const struct tcp_rack *r)
{
    return state_probes(tcb->state) && tcb->backoff == 0 && !(r && r->tlp_active) && tcb->snd_wnd > 0 &&
           tcb->snd_nxt == tcb->snd_max && (r || !(tcb->flags & TF_RECOVERY));
}

/* A segment at most, perhaps with the FIN (its sequence number). */
static bool one_segment_in_flight(const struct us_tcb *tcb)
{
    return tcp_flight(tcb) <= tcb->mss_send + 1u;
}

/* 7.2: PTO = 2·SRTT + min(max(4·RTTVAR, 0.5 ms), 2 ms), plus WCDelAckT when
 * one segment is in flight (its ACK may be delayed). */
static uint32_t pto_us(const struct us_tcb *tcb)
{
    if (!tcb->srtt)
        return TLP_NO_SRTT_US;
    uint32_t var = 4 * tcb->rttvar, margin = var < TLP_MARGIN_LO_US ? TLP_MARGIN_LO_US : var;
    uint32_t p = 2 * tcb->srtt + (margin < TLP_MIN_US ? margin : TLP_MIN_US);
    if (one_segment_in_flight(tcb))
        p += TLP_WCDELACK_US;
    return p;
}

void tcp_rack_arm(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if (tcb->tkind == TK_REXMT || tcb->tkind == TK_TLP || tcb->tkind == TK_RACK)
        return;                                   /* running; restarts empty the slot first */
    struct tcp_rack *r = rk(tcb);
    uint32_t rto = tcp_rto_backed_off(st, tcb);
    uint32_t reo = r ? r->reo_timeout_us : 0;
    if (r)
        r->reo_timeout_us = 0;                    /* computed in this step; used once */
    if (reo && reo < rto) {
        tcp_timer_set(tcb, TK_RACK, reo, now);
        return;
    }
    if (tlp_allowed(tcb, r)) {
        uint32_t p = pto_us(tcb);
        if (p < rto) {                            /* 7.2: else the RTO comes first anyway */
            if (r)
                r->tlp_n = 0;                     /* a new tail */
            tcp_timer_set(tcb, TK_TLP, p, now);
            return;
        }
    }
    tcp_timer_set(tcb, TK_REXMT, rto, now);
}

/* A timer, not an ACK, sends what is marked lost: PRR, which sends in
 * proportion to what ACKs deliver, has nothing to send it with, and the
 * reorder timer and the PTO only fire when the ACKs expected by now have not
 * come — with the data sent since the last one delivered and its ACK lost (a
 * receiver that coalesces a flight into one ACK), none will. Left to PRR, a
 * hole marked lost in a recovery waited for the RTO (over TAP at 2% loss each
 * way: one transfer of ten, 200 ms of 170; and twice per 100 MB a second
 * hole the entering ACK marked, with the flight's last ACK lost). So it
 * leaves now, as far as cwnd after the reduction (ssthresh; BBR's cwnd)
 * leaves room beside pipe, and one segment in any case (besides the fast
 * retransmission of a recovery the reorder timer began). */
static void lost_on_timer(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    uint64_t rx0 = tcb->ext->retransmits;
    uint32_t lim = tcp_cc_get(tcb->cc_idx)->on_rate ? tcb->cwnd : tcb->ssthresh;
    while (tcp_rack_lost_pending(tcb)) {
        if (tcb->ext->retransmits != rx0 && tcp_sack_pipe(tcb) + tcb->mss_send > lim)
            break;
        if (tcp_rack_rexmit_lost(st, tcb, now) <= 0)
            break;
    }
}

void tcp_rack_reo_timeout(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    struct tcp_rack *r = rk(tcb);
    US_COUNT(st, TCP_RACK_REO_TIMEOUTS);
    if (!r)
        return;
    detect_loss(st, tcb, r, t_us(now));
    tcb->ext->prr.last = 0;                       /* no ACK: nothing delivered */
    if (!tcp_rack_lost_pending(tcb))
        return;
    tcp_rack_recover(st, tcb, now);               /* entering: its fast retransmission */
    lost_on_timer(st, tcb, now);
}

void tcp_rack_pto(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if (tcb->snd_max == tcb->snd_una || !tcp_ext(tcb))
        return;
    struct tcp_rack *r = &tcb->ext->rack;
    US_COUNT(st, TCP_TLP_PROBES);
    /* 7.3 sends new data when it can. With more than a segment in flight, and
     * in loss recovery, the probe repeats a segment already sent instead (the
     * last; in recovery the first unacknowledged): if only the ACKs were lost,
     * the receiver answers the duplicate at once (a D-SACK, RFC 5681 4.2,
     * RFC 9293 3.10.7.4), where one segment of new data in order waits for
     * its delayed ACK — 40 ms at a Linux receiver, hundreds of LAN round
     * trips. A receiver that coalesces a whole flight into one ACK (GRO) makes
     * that ACK's loss common: over TAP at 1% loss each way, a 30 MB transfer
     * spent 40 such 10 ms + 40 ms waits (issue 8). If the tail was lost
     * instead, the repeat either repairs it or, SACKed, lets RACK mark what
     * is missing — both answered at once, as new data beyond a hole would be.
     * The price is one MSS sent twice when the ACK was only late. With one
     * segment in flight the PTO already waited out a delayed ACK, and new
     * data makes two full segments, which the receiver ACKs at once. */
    uint32_t pto = pto_us(tcb);                   /* the timeout that fired, for the trace */
    uint32_t seq, len;
    bool held = (tcb->flags & TF_RECOVERY) && tcp_rack_next_lost(tcb, &seq, &len);
    if (held) {
        /* A recovery whose ACKs stopped with segments marked lost that PRR
         * held back: the probe is those (lost_on_timer). The PTO is armed in
         * a recovery for this (tlp_allowed); once the ACKs come again the
         * retransmissions take their course. */
        r->tlp_retrans = true;
        r->tlp_lo = seq;
        r->tlp_hi = seq + len;
        lost_on_timer(st, tcb, now);
    } else {
        bool new_data = !(tcb->flags & TF_RECOVERY) && one_segment_in_flight(tcb);
        r->tlp_retrans = tcp_send_tlp(st, tcb, new_data, &r->tlp_lo, &r->tlp_hi, now);
        if (!r->tlp_retrans)
            US_COUNT(st, TCP_TLP_NEW_DATA);
    }
    tcb->ext->tlp_probes++;
    US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " tlp: probe with %s at PTO %u us (srtt %u us), in flight %u",
           TCP_CONN_ARGS(tcb), held ? "what was marked lost" : r->tlp_retrans ? "a retransmission" : "new data", pto,
           tcb->srtt, tcp_flight(tcb));
    r->tlp_active = true;
    r->tlp_end_seq = tcb->snd_max;
    /* 7.3: after the probe the RTO guards the flight. Departure: more probes
     * first, at 2, 4, 8 ... PTOs after the one before, while their waits add
     * up to less than an RTO; then the RTO. The RTO is 200 ms at least, two
     * thousand LAN round trips; against a receiver that answers a flight
     * with one ACK, the loss of that ACK and then of the probe's answer (or
     * of the probe) stalled a transfer for it: at 2% loss each way over TAP,
     * 1-2 RTOs per 30 MB with one probe, a quarter of its time (issue 8),
     * and still two per 100 MB with two (both probes' answers lost too).
     * Each probe is a repeat, answered at once; on a path that answers
     * nothing they cost a segment each (7 at a 1 ms PTO) and the first RTO
     * comes less than one RTO later than it would have. */
    uint32_t rto = tcp_rto_backed_off(st, tcb);
    if (r->tlp_n == 0)
        r->tlp_spent_us = 0;
    if (r->tlp_n < 255)
        r->tlp_n++;
    uint64_t next = r->tlp_n < 32 ? (uint64_t)pto << r->tlp_n : UINT64_MAX;
    if (next < rto && r->tlp_spent_us + next < rto) {
        r->tlp_spent_us += (uint32_t)next;
        tcp_timer_set(tcb, TK_TLP, (uint32_t)next, now);
    } else {
        tcp_timer_set(tcb, TK_REXMT, rto, now);
    }
}
