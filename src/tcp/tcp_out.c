/* Segment output.
 *
 * Paths through this file:
 *   tcp_output         after every event: while tcp_should_send() says so, send
 *                      data (S1, S9, S11), then a pending ACK, then the timers (S2);
 *                      each new answer of the predicate (the reason it sends or
 *                      holds) goes to the connection's debug log (decide);
 *   tcp_send_syn       SYN or SYN-ACK with our options;
 *   tcp_send_ack       pure ACK / window update (R3, R4);
 *   tcp_send_zwp       zero-window probe SEQ = SND.UNA − 1 (S3, forces an ACK);
 *   tcp_rexmit_head    the segment at SND.UNA again (fast retransmit, S10);
 *   tcp_rexmit_range   a chosen range again (SACK recovery, RFC 6675 NextSeg);
 *   sack_output        RFC 6675 5 step (C): while cwnd - pipe >= SMSS, send
 *                      what NextSeg() picks (lost hole, new data, any hole,
 *                      rescue);
 *   tcp_send_rst_*     RST for a segment without a connection (RFC 9293 3.10.7.1)
 *                      or to abort one; tcp_send_challenge_ack (RFC 5961).
 * Every segment leaves through tcp_emit, which also records the window it
 * advertised (R1, R2, R5). */
#include <string.h>
#include "tcp_int.h"

enum { XF_ZERO_WND = 1 };

uint32_t tcp_mss_for(struct us_stack *st, us_ip4_t dst)
{
    uint32_t mtu = us_ip_mtu(st, dst);
    uint32_t mss = mtu > US_TCP_HLEN + 64 ? mtu - US_TCP_HLEN : 536;
    return mss > 65495 ? 65495 : mss;
}

/* The MSS we announce and may use: the route's, clamped by TCP_MAXSEG. */
uint32_t tcp_mss_ours(struct us_stack *st, const struct us_tcb *tcb)
{
    uint32_t m = tcp_mss_for(st, tcb->rip);
    if (tcb->ext && tcb->ext->maxseg && tcb->ext->maxseg < m)
        m = tcb->ext->maxseg;
    return m;
}

uint32_t tcp_unsent(const struct us_tcb *tcb)
{
    uint32_t off = tcb->snd_nxt - tcb->snd_una;
    return off >= tcb->sndq.len ? 0 : tcb->sndq.len - off;
}

/* R2: min(MSS, buffer/2). */
uint32_t tcp_sws_threshold(const struct us_tcb *tcb)
{
    uint32_t half = tcb->rcvbuf / 2;
    uint32_t mss = tcb->mss_recv ? tcb->mss_recv : 536;
    return mss < half ? mss : half;
}

/* Receive window to advertise (RFC 9293 3.8.6.2.2, STALL.md R1, R2, R5):
 * the right edge already promised never moves left (R1); it moves right only
 * when the free buffer space lets it move by at least min(MSS, buffer/2) (R2);
 * the buffer can always hold what is advertised (R5) — only in-order bytes
 * waiting for the application use buffer space, and each of them also moved
 * RCV.NXT, so the promised part never exceeds the free space. */
uint32_t tcp_rcv_window(const struct us_tcb *tcb)
{
    uint32_t space = tcb->rcvbuf > tcb->rcvq.len ? tcb->rcvbuf - tcb->rcvq.len : 0;
    uint32_t cur = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    uint32_t wnd = cur;
    if (space > cur && space - cur >= tcp_sws_threshold(tcb))
        wnd = space;
    uint32_t s = tcb->rcv_wscale;
    uint32_t maxw = 65535u << s;
    if (wnd > maxw)
        wnd = maxw;
    /* Scaled windows are multiples of 2^s: round down, but never below the
     * promised edge (rounding up there stays within the promise). */
    uint32_t r = wnd & ~((1u << s) - 1);
    if (r < cur)
        r = (cur + (1u << s) - 1) & ~((1u << s) - 1);
    return r > maxw ? maxw : r;
}

/* Options of an outgoing segment, into the header description. */
static void fill_opts(struct us_stack *st, struct us_tcb *tcb, struct us_tcp_repr *o, us_time_t now)
{
    uint8_t flags = o->flags;
    o->wscale = -1;
    if (flags & US_TH_SYN) {
        const struct us_config *c = &st->cfg;
        bool active = !(flags & US_TH_ACK);
        o->mss = tcb->mss_recv;
        /* Offer an option on a SYN when configured; answer on a SYN-ACK only if offered. */
        if (c->tcp_wscale && (active || (tcb->flags & TF_WS_OFFER)))
            o->wscale = (int8_t)tcb->rcv_wscale;
        o->sack_perm = c->tcp_sack && (active || (tcb->flags & TF_SACK_OFFER));
        o->ts = c->tcp_timestamps && (active || (tcb->flags & TF_TS_OFFER));
    } else {
        o->ts = (tcb->flags & TF_TS) != 0;
        if ((tcb->flags & TF_SACK) && (flags & US_TH_ACK) && !(flags & US_TH_RST)) {
            uint8_t max = o->ts ? 3 : 4, n = 0;
            if (tcb->ext && tcb->ext->dsack_pending) {
                o->sack[0][0] = tcb->ext->dsack[0];   /* RFC 2883 4: the D-SACK block comes first */
                o->sack[0][1] = tcb->ext->dsack[1];
                n = 1;
            }
            o->nsack = (uint8_t)(n + tcp_sack_blocks(tcb, o->sack + n, (uint8_t)(max - n)));
        }
    }
    if (o->ts) {
        o->tsval = t_ms(now);
        o->tsecr = (flags & US_TH_ACK) ? tcb->ts_recent : 0;
    }
}

static uint16_t window_field(struct us_tcb *tcb, uint8_t flags, unsigned xf)
{
    uint32_t wnd, field;
    if (xf & XF_ZERO_WND) {
        /* R5: a segment was dropped for memory; the promise (rcv_adv) stands. */
        tcb->flags |= TF_ADV_SMALL;
        return 0;
    }
    wnd = tcp_rcv_window(tcb);
    if (flags & US_TH_SYN) {
        field = wnd > 65535 ? 65535 : wnd;    /* RFC 7323 2.2: never scaled in a SYN */
        wnd = field;
    } else {
        field = wnd >> tcb->rcv_wscale;
    }
    if (seq_gt(tcb->rcv_nxt + wnd, tcb->rcv_adv))
        tcb->rcv_adv = tcb->rcv_nxt + wnd;
    if (wnd < tcp_sws_threshold(tcb))
        tcb->flags |= TF_ADV_SMALL;
    else
        tcb->flags &= ~TF_ADV_SMALL;
    return (uint16_t)field;
}

/* ---- pacing ------------------------------------------------------------------ */

/* Pacing for an algorithm that asks for it (tcp_cc_ops.pacing_rate), in
 * TSO-like bursts as Linux paces: a burst of one quantum — 1 ms of data at
 * the rate, at least 2 segments and at most 64 KiB — leaves back to back,
 * and the next one may start once the bytes sent (with their TCP/IP
 * headers) would have taken their time at the pacing rate. A sender that
 * was idle starts from now: no credit for the time it did not send. The
 * wait is a deadline of the connection's timer (tcp_rearm), so the stack's
 * next deadline includes it; the core never sleeps. */
static uint64_t pacing_rate(const struct us_tcb *tcb)
{
    const struct tcp_cc_ops *cc = tcp_cc_get(tcb->cc_idx);
    return cc->pacing_rate && tcb->ext ? cc->pacing_rate(tcb) : 0;
}

#define PACE_CATCH_UP 4u

static uint32_t pace_quantum(const struct us_tcb *tcb, uint64_t rate)
{
    uint64_t q = rate / 1000u, lo = 2u * tcb->mss_send, hi = 65536u > lo ? 65536u : lo;
    return (uint32_t)(q < lo ? lo : q > hi ? hi : q);
}

static void pace_sent(struct us_tcb *tcb, uint32_t len, us_time_t now)
{
    uint64_t rate = pacing_rate(tcb);
    if (!rate)
        return;
    struct tcp_ext *e = tcb->ext;
    uint32_t wire = len + US_TCP_HLEN + 20u;
    (void)now;
    e->pace_credit = e->pace_credit > wire ? e->pace_credit - wire : 0;
    e->pace_next += (us_time_t)((uint64_t)wire * 1000000000ull / rate);
}

/* May a segment leave now? When not, the connection waits for pace_next. */
static bool pace_hold(struct us_tcb *tcb, us_time_t now)
{
    uint64_t rate = pacing_rate(tcb);
    if (!rate)
        return false;
    struct tcp_ext *e = tcb->ext;
    if (e->pace_credit)
        return false;                        /* the current burst goes on */
    if (e->pace_next <= now) {
        /* A burst that starts late (the wake-up came after pace_next: a
         * real-time loop's timer latency) is charged from pace_next, so the
         * next ones follow sooner and the rate holds; later than
         * PACE_CATCH_UP quanta's time, the sender was idle (or ACK-clocked)
         * and starts from now. */
        uint32_t q = pace_quantum(tcb, rate);
        if (now - e->pace_next > (us_time_t)((uint64_t)PACE_CATCH_UP * q * 1000000000ull / rate))
            e->pace_next = now;
        e->pace_credit = q;
        return false;
    }
    e->pace_wait = true;
    return true;
}

/* A burst leaves in chunks of at most half of cwnd, at least 2 segments:
 * the last segment of each is marked US_PKT_F_END, and a device
 * that joins segments into super-frames (the TAP device's GSO) ends one
 * there. A receiver that takes a super-frame as one packet acknowledges it
 * with one ACK (Linux: one per GRO'd skb), so a flight joined whole has one
 * ACK, and when that one is lost the sender waits for a probe: at 2% loss
 * each way, with cwnd at 5-10 segments, that was a PTO every ~60 ACKs and an
 * RTO in one transfer of four (both probes' ACKs lost too). With two chunks
 * per flight or more, the next ACK covers a lost one; more did not help
 * there (the Linux receiver coalesces its ACKs anyway: ~20 probes per 30 MB
 * with a quarter, a third or half of cwnd) and cost a system call each:
 * half of cwnd, ten runs each, 2% loss: median 1,399 Mbit/s, a quarter
 * 1,301. (Linux's TSO autosizing bounds its chunks by ~1 ms at the pacing
 * rate instead, and its peer here ACKs every second segment.) A new burst
 * (another `now`) starts a new count. */
static void chunk_mark(struct us_tcb *tcb, struct us_pkt *pkt, us_time_t now)
{
    struct tcp_ext *e = tcb->ext;
    if (e->chunk_at != now) {
        e->chunk_at = now;
        e->chunk_segs = 0;
    }
    uint32_t k = tcb->mss_send ? tcb->cwnd / (2u * tcb->mss_send) : 0;
    if (++e->chunk_segs >= (k < 2 ? 2 : k)) {
        pkt->flags |= US_PKT_F_END;
        e->chunk_segs = 0;
    }
}

/* Build and send one segment; payload = `len` bytes of the send queue at `seq`. */
static int tcp_emit(struct us_stack *st, struct us_tcb *tcb, uint32_t seq, uint8_t flags, uint32_t len,
                    unsigned xf, us_time_t now)
{
    struct us_pkt *pkt = us_pkt_alloc(st->pool);
    if (!pkt) {
        US_COUNT(st, TCP_DROP_TX_NOMEM);
        return -ENOBUFS;
    }
    struct us_tcp_repr h = {
        .sport = tcb->lport, .dport = tcb->rport, .seq = seq, .flags = flags,
        .ack = (flags & US_TH_ACK) ? tcb->rcv_nxt : 0,
    };
    fill_opts(st, tcb, &h, now);
    /* SACK blocks must not push a full data segment past the path MTU
     * (RFC 6691: the MSS excludes options): send fewer blocks then. */
    uint32_t room = tcp_mss_for(st, tcb->rip) + US_TCP_HLEN;
    while (h.nsack && us_tcp_header_len(&h) + len > room)
        h.nsack--;
    if (h.nsack && tcb->ext && tcb->ext->dsack_pending) {
        tcb->ext->dsack_pending = false;           /* RFC 2883 4: reported once */
        US_COUNT(st, TCP_DSACK_SENT);
    }
    h.wnd = window_field(tcb, flags, xf);
    uint32_t hlen = us_tcp_header_len(&h);
    uint8_t *p = us_pkt_put(pkt, hlen + len);
    if (!p) {
        us_pkt_free(pkt);
        US_COUNT(st, TCP_DROP_TX_TOO_BIG);         /* larger than a packet buffer */
        return -EMSGSIZE;
    }
    us_tcp_emit(p, &h);
    if (len)
        tcp_buf_copy(&tcb->sndq, seq - tcb->snd_una, p + hlen, len);
    us_tcp_csum_fill(p, hlen + len, tcb->lip, tcb->rip);
    if (flags & US_TH_ACK) {
        tcb->flags &= ~(TF_ACK_NOW | TF_DELACK);
        tcb->rcv_full_segs = 0;
    }
    if ((len || (flags & US_TH_FIN)) && !(flags & US_TH_SYN)) {
        tcp_rack_sent(tcb, seq, seq + len + ((flags & US_TH_FIN) ? 1u : 0u), now);   /* RFC 8985 6.1 */
        if ((tcb->flags & TF_SACK_RCV) && tcb->ext)
            tcb->ext->prr.out += len + ((flags & US_TH_FIN) ? 1u : 0u);            /* RFC 6937 prr_out */
        pace_sent(tcb, len, now);
        if (len && tcb->ext)
            chunk_mark(tcb, pkt, now);
    }
    US_COUNT(st, TCP_TX);
    struct us_ip_out io = { .src = tcb->lip, .dst = tcb->rip, .proto = US_IPPROTO_TCP, .df = true };
    return us_ip_output(st, pkt, &io, now);
}

int tcp_send_syn(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    uint8_t flags = US_TH_SYN | (tcb->state == US_TCP_SYN_RECEIVED ? US_TH_ACK : 0);
    tcb->snd_nxt = tcb->iss + 1;
    tcb->snd_max = seq_max(tcb->snd_max, tcb->snd_nxt);
    return tcp_emit(st, tcb, tcb->iss, flags, 0, 0, now);
}

void tcp_send_ack(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcp_emit(st, tcb, tcb->snd_nxt, US_TH_ACK, 0, 0, now);
}

/* R5: advertise a zero window at once after dropping an in-window segment. */
static void tcp_send_zero_window(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcp_emit(st, tcb, tcb->snd_nxt, US_TH_ACK, 0, XF_ZERO_WND, now);
}

void tcp_send_zwp(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    /* S3: an old sequence number is outside the peer's window, so the peer
     * must answer with an ACK (RFC 9293 3.10.7.4) — even at zero window. */
    tcp_emit(st, tcb, tcb->snd_una - 1, US_TH_ACK, 0, 0, now);
    US_COUNT(st, TCP_PERSIST_PROBES);
    if (tcp_ext(tcb))
        tcb->ext->probes_sent++;
}

void tcp_send_keepalive(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcp_emit(st, tcb, tcb->snd_una - 1, US_TH_ACK, 0, 0, now);
    US_COUNT(st, TCP_KEEPALIVE_PROBES);
}

static void count_rexmit(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    US_COUNT(st, TCP_RETRANSMITS);
    if (tcp_ext(tcb))
        tcb->ext->retransmits++;
    tcp_undo_rexmit(tcb, now);
    tcb->flags &= ~TF_RTT;   /* Karn: never time a retransmitted segment */
}

void tcp_rexmit_head(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if (tcb->state == US_TCP_SYN_SENT || tcb->state == US_TCP_SYN_RECEIVED) {
        count_rexmit(st, tcb, now);
        tcp_send_syn(st, tcb, now);
        return;
    }
    uint32_t out = tcb->snd_max - tcb->snd_una;
    if (out == 0)
        return;
    uint32_t len = tcb->sndq.len < tcb->mss_send ? tcb->sndq.len : tcb->mss_send;
    if (len > out)
        len = out;
    bool fin = (tcb->flags & TF_FIN_Q) && len == tcb->sndq.len && out > len;
    uint8_t flags = US_TH_ACK | (fin ? US_TH_FIN : 0) | (len && len == tcb->sndq.len ? US_TH_PSH : 0);
    count_rexmit(st, tcb, now);
    tcp_emit(st, tcb, tcb->snd_una, flags, len, 0, now);
}

uint32_t tcp_rexmit_range(struct us_stack *st, struct us_tcb *tcb, uint32_t seq, uint32_t len, us_time_t now)
{
    uint32_t off = seq - tcb->snd_una, qlen = tcb->sndq.len;
    if (!seq_lt(seq, tcb->snd_max) || off > qlen)
        return 0;
    uint32_t dlen = qlen - off < len ? qlen - off : len;
    if (dlen > tcb->mss_send)
        dlen = tcb->mss_send;
    /* the FIN (one past the data) was sent and the range reaches it */
    bool fin = (tcb->flags & TF_FIN_Q) && off + dlen == qlen && tcb->snd_max == tcb->snd_una + qlen + 1 &&
               dlen < len;
    if (dlen == 0 && !fin)
        return 0;
    uint8_t flags = US_TH_ACK | (fin ? US_TH_FIN : 0) | (dlen && off + dlen == qlen ? US_TH_PSH : 0);
    if (tcp_emit(st, tcb, seq, flags, dlen, 0, now) == -ENOBUFS)
        return 0;
    count_rexmit(st, tcb, now);
    return dlen + (fin ? 1u : 0u);
}

/* ---- the send predicate --------------------------------------------------- */

const char *tcp_send_reason_name(int r)
{
    switch (r) {
    case TS_SEND_FULL: return "full segment";
    case TS_SEND_ALL: return "all queued data, nothing in flight or nodelay";
    case TS_SEND_HALF_WINDOW: return "half the peer's largest window";
    case TS_SEND_FORCED: return "forced by the persist timer";
    case TS_SEND_REXMT: return "retransmission";
    case TS_SEND_FIN: return "FIN";
    case TS_SEND_TAIL_FIN: return "tail with FIN";
    case TS_HOLD_NOTHING: return "nothing to send";
    case TS_HOLD_STATE: return "state does not send data";
    case TS_HOLD_WINDOW: return "peer window closed or shrunk";
    case TS_HOLD_NAGLE: return "Nagle: small segment while data in flight";
    case TS_HOLD_SWS: return "sender SWS avoidance";
    case TS_HOLD_CORK: return "corked";
    case TS_HOLD_CWND: return "congestion window full";
    default: return "?";
    }
}

static bool state_sends_data(uint8_t s)
{
    return s == US_TCP_ESTABLISHED || s == US_TCP_CLOSE_WAIT || s == US_TCP_FIN_WAIT_1 ||
           s == US_TCP_CLOSING || s == US_TCP_LAST_ACK;
}

/* RFC 9293 3.8.6.2.1 with STALL.md S1, S9, S11: may a segment leave now? */
int tcp_should_send(const struct us_tcb *tcb, uint32_t *lenp, bool *finp)
{
    *lenp = 0;
    *finp = false;
    if (!state_sends_data(tcb->state))
        return TS_HOLD_STATE;
    uint32_t qlen = tcb->sndq.len;
    uint32_t off = tcb->snd_nxt - tcb->snd_una;
    bool fin_q = (tcb->flags & TF_FIN_Q) != 0;
    if (off > qlen)
        return TS_HOLD_NOTHING;              /* the FIN is already out */
    uint32_t d = qlen - off;
    if (d == 0) {
        if (fin_q) {
            *finp = true;
            return TS_SEND_FIN;              /* S11: a FIN bypasses Nagle */
        }
        return TS_HOLD_NOTHING;
    }
    bool force = (tcb->flags & TF_FORCE) != 0;
    int32_t u_peer = (int32_t)(tcb->snd_una + tcb->snd_wnd - tcb->snd_nxt);
    /* RFC 6675 5 (C): during SACK recovery the estimate of what is in the
     * network is pipe, not SND.NXT - SND.UNA, and RFC 6937 PRR meters what
     * may leave; go-back-N after an RTO does not count SACKed bytes
     * (RFC 6675 5.1). */
    int32_t u_cwnd;
    if (tcb->flags & TF_SACK_RCV)
        u_cwnd = (int32_t)tcp_prr_sndcnt(tcb);
    else
        u_cwnd = (int32_t)(tcb->cwnd - (tcb->snd_nxt - tcb->snd_una -
                                        (seq_lt(tcb->snd_nxt, tcb->snd_max) ? tcp_sack_bytes_below(tcb, tcb->snd_nxt) : 0)));
    int32_t u = u_peer;
    if (!force && u_cwnd < u)
        u = u_cwnd;                          /* S3: probes ignore cwnd */
    if (u <= 0)
        return u_peer <= 0 ? TS_HOLD_WINDOW : TS_HOLD_CWND;  /* S9 */
    uint32_t len = d;
    if (len > (uint32_t)u)
        len = (uint32_t)u;
    if (len > tcb->mss_send)
        len = tcb->mss_send;
    bool all = len == d;
    *lenp = len;
    *finp = all && fin_q;
    bool idle = tcb->snd_max == tcb->snd_una;
    if (force)
        return TS_SEND_FORCED;
    if (len == tcb->mss_send)
        return TS_SEND_FULL;
    if (seq_lt(tcb->snd_nxt, tcb->snd_max))
        return TS_SEND_REXMT;
    if (all && fin_q)
        return TS_SEND_TAIL_FIN;
    if (all && !(tcb->flags & TF_CORK) && (idle || (tcb->flags & TF_NODELAY)))
        return TS_SEND_ALL;                  /* S11: Nagle only while data in flight */
    if (idle && tcb->max_sndwnd && len >= tcb->max_sndwnd / 2)
        return TS_SEND_HALF_WINDOW;
    *finp = false;
    if (tcb->flags & TF_CORK)
        return TS_HOLD_CORK;
    return all ? TS_HOLD_NAGLE : TS_HOLD_SWS;
}

bool tcp_send_held(const struct us_tcb *tcb)
{
    uint32_t len;
    bool fin;
    int r = tcp_should_send(tcb, &len, &fin);
    return r != TS_HOLD_NOTHING && r != TS_HOLD_STATE;
}

/* The predicate as the output paths ask it: the answer is kept in the
 * control block, and a new answer goes to the per-connection trace (debug
 * log) with the numbers behind it. */
static int decide(struct us_stack *st, struct us_tcb *tcb, uint32_t *len, bool *fin)
{
    int r = tcp_should_send(tcb, len, fin);
    if (r != tcb->send_reason) {
        tcb->send_reason = (int8_t)r;
        US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " %s: %s (len %u, unsent %u, in flight %u, window %u, cwnd %u)",
               TCP_CONN_ARGS(tcb), r > 0 ? "send" : "hold", tcp_send_reason_name(r), *len,
               tcp_unsent(tcb), tcb->snd_max - tcb->snd_una, tcb->snd_wnd, tcb->cwnd);
    }
    return r;
}

static int send_data(struct us_stack *st, struct us_tcb *tcb, uint32_t len, bool fin, us_time_t now)
{
    uint32_t seq = tcb->snd_nxt;
    bool rexmt = seq_lt(seq, tcb->snd_max);
    uint8_t flags = US_TH_ACK;
    if (fin)
        flags |= US_TH_FIN;
    if (len && seq + len == tcb->snd_una + tcb->sndq.len)
        flags |= US_TH_PSH;                     /* last segment of what was written */
    /* RFC 5681 4.1: restart from the initial window after an idle RTO. */
    if (tcb->snd_max == tcb->snd_una && len &&
        (uint64_t)(t_ms(now) - tcb->t_lastsnd) * 1000u > tcb->rto && tcb->t_lastsnd)
        tcp_cc_after_idle(st, tcb, now);
    int rc = tcp_emit(st, tcb, seq, flags, len, 0, now);
    if (rc == -ENOBUFS)
        return rc;
    if (rexmt)
        count_rexmit(st, tcb, now);
    else if (len && !(tcb->flags & TF_RTT)) {
        tcb->flags |= TF_RTT;
        tcb->rtt_seq = seq;
        tcb->rtt_start = t_us(now);
    }
    tcb->snd_nxt = seq + len + (fin ? 1 : 0);
    if (seq_gt(tcb->snd_nxt, tcb->snd_max))
        tcp_count_wrap(tcb, TW_SENT, tcb->snd_max - tcb->iss - 1, tcb->snd_nxt - tcb->iss - 1);
    tcb->snd_max = seq_max(tcb->snd_max, tcb->snd_nxt);
    tcb->t_lastsnd = t_ms(now) | 1;
    return 0;
}

/* One step of RFC 6675 NextSeg(): returns the sequence space sent, 0 if
 * nothing was eligible. Rule 2 (new data) goes through the send predicate so
 * the peer's window, SWS avoidance and Nagle still apply. */
static uint32_t sack_next(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    struct tcp_sb *sb = tcp_sack_sb(tcb);
    uint32_t seq, len, n;
    bool fin;
    if (tcp_sack_next_hole(tcb, true, &seq, &len) ||                     /* rule 1 */
        (decide(st, tcb, &len, &fin) <= 0 && tcp_sack_next_hole(tcb, false, &seq, &len))) { /* rule 3 */
        n = tcp_rexmit_range(st, tcb, seq, len, now);
        if (n) {
            sb->high_rxt = seq + n;
            US_COUNT(st, TCP_SACK_RETRANSMITS);
            if (tcb->ext)
                tcb->ext->fast_retransmits++;
        }
        return n;
    }
    if (decide(st, tcb, &len, &fin) > 0) {                                /* rule 2 */
        uint32_t before = tcb->snd_max;
        if (send_data(st, tcb, len, fin, now) < 0)
            return 0;
        return tcb->snd_max - before;
    }
    if (tcp_sack_rescue(tcb, &seq, &len)) {                                /* rule 4 */
        sb->rescue_rxt = tcb->recover;
        n = tcp_rexmit_range(st, tcb, seq, len, now);
        if (n)
            US_COUNT(st, TCP_SACK_RESCUE);
        return n;
    }
    return 0;
}

/* Recovery clocked by RACK (RFC 8985 9.3 with RFC 6675 5 (C)): while
 * cwnd - pipe >= SMSS, retransmit what RACK marked lost (oldest first), else
 * send new data. Holes not (yet) marked lost wait for RACK or the TLP. */
int tcp_rack_rexmit_lost(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    uint32_t seq, len;
    if (!tcp_rack_next_lost(tcb, &seq, &len))
        return -1;
    if (tcp_rexmit_range(st, tcb, seq, len, now) == 0)
        return 0;
    US_COUNT(st, TCP_RACK_RETRANSMITS);
    if (tcb->ext)
        tcb->ext->fast_retransmits++;
    return 1;
}

static void rack_output(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    uint32_t len;
    bool fin;
    while (tcp_prr_sndcnt(tcb) >= tcb->mss_send && !pace_hold(tcb, now)) {
        int r = tcp_rack_rexmit_lost(st, tcb, now);
        if (r > 0)
            continue;
        if (r == 0 || decide(st, tcb, &len, &fin) <= 0 || send_data(st, tcb, len, fin, now) < 0)
            break;
    }
}

static void sack_output(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if (tcp_rack_tracking(tcb)) {
        rack_output(st, tcb, now);
        return;
    }
    while (tcp_sack_sb(tcb) && tcp_prr_sndcnt(tcb) >= tcb->mss_send && !pace_hold(tcb, now)) {
        if (sack_next(st, tcb, now) == 0)
            break;
    }
}

/* Go-back-N after an RTO (RFC 6675 5.1, RFC 8985 6.3): SACKed data is not
 * sent again — SND.NXT jumps over SACKed ranges. */
static void gbn_skip(struct us_tcb *tcb)
{
    uint32_t limit;
    if (seq_lt(tcb->snd_nxt, tcb->snd_max) && tcp_sack_sb(tcb))
        tcb->snd_nxt = tcp_sack_skip(tcb, tcb->snd_nxt, &limit);
}

/* ... and a resent segment stops where the next SACKed range begins. */
static void gbn_clip(const struct us_tcb *tcb, uint32_t *len, bool *fin)
{
    uint32_t limit;
    if (!seq_lt(tcb->snd_nxt, tcb->snd_max) || !tcp_sack_sb(tcb))
        return;
    tcp_sack_skip(tcb, tcb->snd_nxt, &limit);
    if (*len > limit - tcb->snd_nxt) {
        *len = limit - tcb->snd_nxt;
        *fin = false;
    }
}

/* After an RTO (RFC 8985 6.2, 6.3): a retransmission of the go-back-N that
 * RACK marks lost — segments sent after it were delivered — goes again now,
 * as cwnd allows, instead of waiting for a second, backed-off RTO (the
 * recovery point of the timeout keeps fast recovery out until SND.UNA
 * passes it, and go-back-N never looks back below SND.NXT). */
static void gbn_repair(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    uint32_t seq, len;
    if (!tcp_rack_tracking(tcb) || seq_ge(tcb->snd_una, tcb->recover))
        return;
    while (tcp_rack_next_lost(tcb, &seq, &len) && seq_lt(seq, tcb->snd_nxt) &&
           tcp_rack_pipe(tcb) + tcb->mss_send <= tcb->cwnd && !pace_hold(tcb, now)) {
        if (tcp_rack_rexmit_lost(st, tcb, now) <= 0)
            break;
        US_COUNT(st, TCP_RTO_REXMIT_LOST);
    }
}

void tcp_output(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    uint32_t len;
    bool fin;
    int r;
    if (tcb->ext)
        tcb->ext->pace_wait = false;
    if (tcb->flags & TF_SACK_RCV) {
        sack_output(st, tcb, now);
        if (tcb->flags & TF_ACK_NOW)
            tcp_send_ack(st, tcb, now);
        tcp_timers_update(st, tcb, now);
        return;
    }
    gbn_skip(tcb);
    gbn_repair(st, tcb, now);
    while ((r = decide(st, tcb, &len, &fin)) > 0 && !pace_hold(tcb, now)) {
        gbn_clip(tcb, &len, &fin);
        if (send_data(st, tcb, len, fin, now) < 0)
            break;
        tcb->flags &= ~TF_FORCE;
        gbn_skip(tcb);
    }
    if (r <= 0)
        tcp_rate_check_app_limited(tcb);    /* the application, not the network, stops us? */
    if (tcb->flags & TF_ACK_NOW)
        tcp_send_ack(st, tcb, now);
    tcp_timers_update(st, tcb, now);
}

/* RFC 6298 5.4: on expiry the head segment leaves again whatever the windows
 * say (S9: outstanding data stays under this timer); the rest follows as ACKs
 * return (go-back-N from SND.UNA). */
void tcp_send_head_rto(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcb->snd_nxt = tcb->snd_una;
    uint32_t len = tcb->sndq.len < tcb->mss_send ? tcb->sndq.len : tcb->mss_send;
    bool fin = (tcb->flags & TF_FIN_Q) && len == tcb->sndq.len;
    if (len || fin)
        send_data(st, tcb, len, fin, now);
}

/* RFC 8985 7.3: the probe is one segment of new data if the peer's window
 * allows and new_data (cwnd does not apply, as for S3 probes), else the last
 * segment sent again — in loss recovery the first unacknowledged one (see
 * tcp_rack_pto). Returns true for a retransmission, whose range [*lo, *hi)
 * it sets. */
bool tcp_send_tlp(struct us_stack *st, struct us_tcb *tcb, bool new_data, uint32_t *lo, uint32_t *hi,
                  us_time_t now)
{
    uint32_t len;
    bool fin;
    tcb->flags |= TF_FORCE;
    int r = new_data ? tcp_should_send(tcb, &len, &fin) : 0;
    tcb->flags &= ~TF_FORCE;
    if (r > 0 && tcb->snd_nxt == tcb->snd_max && send_data(st, tcb, len, fin, now) == 0)
        return false;
    if (tcb->flags & TF_RECOVERY) {
        uint32_t ul = tcb->snd_max - tcb->snd_una;
        *lo = tcb->snd_una;
        *hi = *lo + (ul < tcb->mss_send ? ul : tcb->mss_send);
    } else {
        bool fin_out = (tcb->flags & TF_FIN_Q) && tcb->snd_max == tcb->snd_una + tcb->sndq.len + 1;
        uint32_t dend = fin_out ? tcb->snd_max - 1 : tcb->snd_max;
        uint32_t dl = dend - tcb->snd_una;
        *lo = dend - (dl > tcb->mss_send ? tcb->mss_send : dl);
        *hi = tcb->snd_max;
    }
    tcp_rexmit_range(st, tcb, *lo, *hi - *lo, now);
    return true;
}

/* R5: the memory-drop path of tcp_in.c. */
void tcp_send_zero_window_now(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcp_send_zero_window(st, tcb, now);
}

/* ---- RST and challenge ACK ------------------------------------------------ */

int tcp_send_stateless(struct us_stack *st, us_ip4_t src, us_ip4_t dst, const struct us_tcp_repr *h, us_time_t now)
{
    struct us_pkt *pkt = us_pkt_alloc(st->pool);
    if (!pkt) {
        US_COUNT(st, TCP_DROP_TX_NOMEM);
        return -ENOMEM;
    }
    uint32_t hlen = us_tcp_header_len(h);
    uint8_t *p = us_pkt_put(pkt, hlen);
    us_tcp_emit(p, h);
    us_tcp_csum_fill(p, hlen, src, dst);
    US_COUNT(st, TCP_TX);
    struct us_ip_out io = { .src = src, .dst = dst, .proto = US_IPPROTO_TCP, .df = true };
    us_ip_output(st, pkt, &io, now);
    return 0;
}

static void send_raw(struct us_stack *st, us_ip4_t src, us_ip4_t dst, uint16_t sport, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, us_time_t now)
{
    struct us_tcp_repr h = { .sport = sport, .dport = dport, .seq = seq, .ack = ack, .flags = flags, .wscale = -1 };
    if (tcp_send_stateless(st, src, dst, &h, now) == 0)
        US_COUNT(st, TCP_RST_SENT);
}

/* RFC 9293 3.10.7.1: a segment for no connection gets a RST (never a RST). */
void tcp_send_rst_for(struct us_stack *st, const struct us_ip_info *ip, const struct us_tcp_repr *s, us_time_t now)
{
    if (s->flags & US_TH_RST)
        return;
    if (ip->broadcast)
        return;
    if (s->flags & US_TH_ACK)
        send_raw(st, ip->dst, ip->src, s->dport, s->sport, s->ack, 0, US_TH_RST, now);
    else
        send_raw(st, ip->dst, ip->src, s->dport, s->sport, 0, s->seq + seg_seqlen(s), US_TH_RST | US_TH_ACK, now);
}

void tcp_send_rst_tcb(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    send_raw(st, tcb->lip, tcb->rip, tcb->lport, tcb->rport, tcb->snd_nxt, tcb->rcv_nxt, US_TH_RST | US_TH_ACK, now);
}

/* RFC 5961 7: challenge ACKs are rate limited per stack. R4's out-of-window
 * ACKs do not pass through here, so the limit never suppresses them. */
void tcp_send_challenge_ack(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    struct us_tcp_state *t = tcp_state(st);
    uint32_t sec = (uint32_t)(now / US_SEC(1));
    if (sec != t->chal_sec) {
        t->chal_sec = sec;
        t->chal_count = 0;
    }
    if (t->chal_count >= TCP_CHALLENGE_PER_SEC) {
        US_COUNT(st, TCP_CHALLENGE_ACK_LIMITED);
        return;
    }
    t->chal_count++;
    US_COUNT(st, TCP_CHALLENGE_ACK);
    tcp_send_ack(st, tcb, now);
}
