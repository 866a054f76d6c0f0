/* Segment arrival, RFC 9293 3.10.7.
 *
 * Paths through this file:
 *   us_tcp_input     parse; find the connection (4-tuple), else a listener,
 *                    else answer with RST (3.10.7.1);
 *   tw_syn           a SYN for a TIME_WAIT connection (RFC 6191);
 *   listen_input     LISTEN (3.10.7.2): SYN → child in SYN_RECEIVED;
 *   syn_sent_input   SYN_SENT (3.10.7.3): SYN-ACK, simultaneous open, RST;
 *   sync_input       every synchronized state (3.10.7.4) in the RFC's order:
 *                    PAWS, sequence check, RST, SYN, ACK, data, FIN; then
 *                    tcp_output sends what the segment made possible (S7);
 *   us_tcp_icmp_error  an ICMP error IP parsed: refused (SYN_SENT), MSS from a
 *                    frag-needed MTU, else a soft error; each outcome counted. */
#include <string.h>
#include "tcp_int.h"

/* Options seen in the peer's SYN (RFC 9293 3.7.1, RFC 7323, RFC 2018). */
static void note_syn_opts(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    tcb->flags &= ~(TF_WS_OFFER | TF_SACK_OFFER | TF_TS_OFFER);
    if (s->wscale >= 0)
        tcb->flags |= TF_WS_OFFER;
    if (s->sack_perm)
        tcb->flags |= TF_SACK_OFFER;
    if (s->ts) {
        tcb->flags |= TF_TS_OFFER;
        tcb->ts_recent = s->tsval;
        tcb->ts_recent_age = t_ms(now);
    }
    uint32_t ours = tcp_mss_ours(st, tcb);
    tcb->mss_recv = (uint16_t)ours;
    uint32_t theirs = s->mss ? s->mss : 536;      /* RFC 9293 3.7.1 default */
    tcb->mss_send = (uint16_t)(theirs < ours ? theirs : ours);
    if (tcb->mss_send < 64)
        tcb->mss_send = 64;
}

/* Both SYNs seen: decide which options are in use. S8: the peer's window is
 * scaled only if both SYN and SYN-ACK carried window scale. */
static void settle_opts(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s)
{
    const struct us_config *c = &st->cfg;
    tcb->flags &= ~(TF_WSCALE | TF_TS | TF_SACK | TF_RACK);
    if (c->tcp_wscale && s->wscale >= 0) {
        tcb->flags |= TF_WSCALE;
        tcb->snd_wscale = (uint8_t)s->wscale;
    } else {
        tcb->snd_wscale = 0;
        tcb->rcv_wscale = 0;
    }
    if (c->tcp_timestamps && (tcb->flags & TF_TS_OFFER))
        tcb->flags |= TF_TS;
    if (c->tcp_sack && (tcb->flags & TF_SACK_OFFER))
        tcb->flags |= TF_SACK;
    if ((tcb->flags & TF_SACK) && c->tcp_rack)
        tcb->flags |= TF_RACK;                      /* RFC 8985 9: RACK-TLP needs SACK */
    if ((tcb->flags & TF_TS) && tcb->mss_send > 12 + 64)
        tcb->mss_send -= 12;                        /* RFC 6691: options come out of the MSS */
}

static void establish(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    tcb->snd_wnd = s->wnd;                          /* a SYN's window is never scaled */
    if (!(s->flags & US_TH_SYN))
        tcb->snd_wnd = (uint32_t)s->wnd << tcb->snd_wscale;
    tcb->max_sndwnd = tcb->snd_wnd;
    tcb->snd_wl1 = s->seq;
    tcb->snd_wl2 = s->ack;
    tcb->recover = tcb->iss;
    tcp_cc_init(st, tcb);
    /* RFC 6298 2.2 / Karn: the handshake gives the first RTT sample unless the SYN was retransmitted. */
    if (tcb->backoff == 0)
        tcp_rtt_sample(st, tcb, t_us(now) - tcb->rtt_start);
    tcb->backoff = 0;
    tcp_timer_restart(tcb);
    tcp_set_state(st, tcb, US_TCP_ESTABLISHED, now);
    tcp_keepalive_reset(st, tcb, now);
    if (tcb->flags & TF_FIN_Q)
        tcp_set_state(st, tcb, US_TCP_FIN_WAIT_1, now);   /* shutdown() during the handshake */
}

/* ---- LISTEN ------------------------------------------------------------------ */

static void copy_listener_opts(struct us_tcb *c, const struct us_tcb *l)
{
    c->flags |= l->flags & (TF_NODELAY | TF_CORK | TF_KEEPALIVE);
    c->sndbuf = l->sndbuf;
    c->rcvbuf = l->rcvbuf;
    c->cc_idx = l->cc_idx;
    if (l->ext && (l->ext->linger >= 0 || l->ext->maxseg || l->ext->keepidle || l->ext->keepintvl || l->ext->keepcnt ||
                   l->ext->delack_us)) {
        struct tcp_ext *e = tcp_ext(c);
        if (e) {
            e->maxseg = l->ext->maxseg;
            e->linger = l->ext->linger;
            e->keepidle = l->ext->keepidle;
            e->keepintvl = l->ext->keepintvl;
            e->keepcnt = l->ext->keepcnt;
            e->delack_us = l->ext->delack_us;
        }
    }
    if (l->flags & TF_LINGER0)
        c->flags |= TF_LINGER0;
}

/* A child of listener l for the SYN syn (real, or as a cookie gave it back),
 * in SYN_RECEIVED on the listener's SYN queue with ISS iss. */
static struct us_tcb *new_child(struct us_stack *st, struct us_tcb *l, const struct us_ip_info *ip,
                                const struct us_tcp_repr *s, uint32_t iss, us_time_t now)
{
    struct tcp_ext *le = l->ext;
    int err;
    struct us_tcb *c = tcp_tcb_new(st, &err);
    if (!c) {
        US_COUNT(st, TCP_DROP_NOMEM);
        return NULL;
    }
    c->lip = ip->dst;
    c->lport = s->dport;
    c->rip = ip->src;
    c->rport = s->sport;
    copy_listener_opts(c, l);
    note_syn_opts(st, c, s, now);
    c->rcv_wscale = st->cfg.tcp_wscale && s->wscale >= 0 ? tcp_wscale_for(c->rcvbuf) : 0;
    settle_opts(st, c, s);
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->iss = iss;
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_wnd = s->wnd;
    c->rtt_start = t_us(now);
    c->flags |= TF_BOUND;
    tcp_set_state(st, c, US_TCP_SYN_RECEIVED, now);
    tcp_hash_insert(st, c);
    c->parent = l;
    tcp_queue_append(&le->synq, &le->synq_tail, c);
    le->synq_len++;
    US_COUNT(st, TCP_PASSIVE_OPENS);
    return c;
}

static void sync_input(struct us_stack *st, struct us_tcb *tcb, const struct us_ip_info *ip,
                       const struct us_tcp_repr *s, us_time_t now);

/* Cookies are checked on ACKs to a listener that sends them always, or that
 * sent one within the cookies' lifetime (Linux: tcp_synq_no_recent_overflow). */
static bool cookie_ack_expected(const struct us_stack *st, const struct us_tcb *l, us_time_t now)
{
    if (st->cfg.tcp_syncookies == 2)
        return true;
    uint32_t last = l->ext->cookie_last;
    return last && tcp_cookie_count(now) - (last - 1) < TCP_COOKIE_MAX_AGE;
}

/* The ACK of a cookie SYN-ACK: the connection is made now, straight into the
 * accept queue, and the segment (data, FIN) is then processed on it. Returns
 * false when the ACK carries no valid cookie. */
static bool cookie_ack(struct us_stack *st, struct us_tcb *l, const struct us_ip_info *ip,
                       const struct us_tcp_repr *s, us_time_t now)
{
    struct us_tcp_repr syn;
    if (!tcp_cookie_check(st, l, ip, s, &syn, now))
        return false;
    if (l->ext->acc_len >= l->ext->backlog) {
        US_COUNT(st, TCP_DROP_ACCEPTQ_FULL);        /* no state; the peer retransmits */
        return true;
    }
    struct us_tcb *c = new_child(st, l, ip, &syn, s->ack - 1, now);
    if (!c)
        return true;
    US_COUNT(st, TCP_COOKIE_CONNS);
    c->snd_nxt = c->snd_max = c->iss + 1;
    /* the window the cookie SYN-ACK advertised (R1) */
    c->rcv_adv = c->rcv_nxt + (c->rcvbuf > 65535 ? 65535 : c->rcvbuf);
    c->backoff = 1;                                 /* no handshake RTT sample: the SYN-ACK time is unknown */
    sync_input(st, c, ip, s, now);
    return true;
}

static void listen_input(struct us_stack *st, struct us_tcb *l, const struct us_ip_info *ip,
                         const struct us_tcp_repr *s, us_time_t now)
{
    /* RFC 9293 3.10.7.2: a RST is ignored, an ACK answered with RST (unless
     * it returns a SYN cookie), and anything but a SYN dropped. */
    if (s->flags & US_TH_RST) {
        US_COUNT(st, TCP_DROP_LISTEN_RST);
        return;
    }
    if (s->flags & US_TH_ACK) {
        if (!(s->flags & US_TH_SYN) && !ip->broadcast && cookie_ack_expected(st, l, now) &&
            cookie_ack(st, l, ip, s, now))
            return;
        US_COUNT(st, TCP_DROP_LISTEN_ACK);
        tcp_send_rst_for(st, ip, s, now);
        return;
    }
    if (!(s->flags & US_TH_SYN)) {
        US_COUNT(st, TCP_DROP_LISTEN_NO_SYN);
        return;
    }
    if (ip->broadcast) {
        US_COUNT(st, TCP_DROP_BROADCAST);
        return;
    }
    struct tcp_ext *le = l->ext;
    if (le->acc_len >= le->backlog) {
        US_COUNT(st, TCP_DROP_ACCEPTQ_FULL);        /* the application does not accept */
        return;
    }
    bool full = le->synq_len >= tcp_synq_max(st, l);
    if (st->cfg.tcp_syncookies == 2 || (st->cfg.tcp_syncookies && full)) {
        tcp_cookie_send(st, l, ip, s, now);         /* RFC 4987 3.6: no state for this SYN */
        return;
    }
    if (full) {
        struct us_tcb *old = tcp_synq_victim(l);
        if (!old) {
            US_COUNT(st, TCP_DROP_SYNQ_FULL);       /* handshakes that do not complete */
            return;
        }
        US_COUNT(st, TCP_SYNQ_EVICTED);             /* the oldest half-open entry gives way */
        tcp_drop(st, old, 0, now);
    }
    struct us_tcb *c = new_child(st, l, ip, s, tcp_isn(st, ip->dst, s->dport, ip->src, s->sport, now), now);
    if (!c)
        return;
    tcp_send_syn(st, c, now);
    tcp_timers_update(st, c, now);
}

/* RFC 6191: a SYN may reopen a TIME_WAIT connection when its timestamp (or,
 * without timestamps, its sequence number) shows it is a new incarnation. */
static bool tw_syn(struct us_stack *st, struct us_tcb *tw, const struct us_ip_info *ip,
                   const struct us_tcp_repr *s, us_time_t now)
{
    bool newer;
    if ((tw->flags & TF_TS) && s->ts)
        newer = seq_gt(s->tsval, tw->ts_recent);
    else
        newer = seq_gt(s->seq, tw->rcv_nxt);
    struct us_tcb *l = tcp_lookup_listener(st, ip->dst, s->dport);
    if (!newer || !l)
        return false;
    US_COUNT(st, TCP_TW_REUSE);
    tcp_drop(st, tw, 0, now);
    listen_input(st, l, ip, s, now);
    return true;
}

/* ---- SYN_SENT ------------------------------------------------------------------ */

static void syn_sent_input(struct us_stack *st, struct us_tcb *tcb, const struct us_ip_info *ip,
                           const struct us_tcp_repr *s, us_time_t now)
{
    bool ack_ok = false;
    if (s->flags & US_TH_ACK) {
        if (seq_le(s->ack, tcb->iss) || seq_gt(s->ack, tcb->snd_max)) {
            US_COUNT(st, TCP_DROP_SYN_SENT_BAD);
            tcp_send_rst_for(st, ip, s, now);
            return;
        }
        ack_ok = true;
    }
    if (s->flags & US_TH_RST) {
        US_COUNT(st, TCP_RST_RCVD);
        if (ack_ok)
            tcp_drop(st, tcb, ECONNREFUSED, now);
        return;
    }
    if (!(s->flags & US_TH_SYN)) {
        US_COUNT(st, TCP_DROP_SYN_SENT_BAD);
        return;
    }
    tcb->irs = s->seq;
    tcb->rcv_nxt = s->seq + 1;
    tcb->rcv_adv = tcb->rcv_nxt;
    note_syn_opts(st, tcb, s, now);
    settle_opts(st, tcb, s);
    if (ack_ok) {
        tcb->snd_una = s->ack;
        establish(st, tcb, s, now);
        tcb->flags |= TF_ACK_NOW;
        tcp_output(st, tcb, now);
        return;
    }
    /* Simultaneous open (RFC 9293 3.5 figure 8): answer with SYN-ACK. */
    tcp_set_state(st, tcb, US_TCP_SYN_RECEIVED, now);
    tcb->backoff = 0;
    tcp_send_syn(st, tcb, now);
    tcp_timer_set(tcb, TK_REXMT, tcb->rto, now);
    tcp_timers_update(st, tcb, now);
}

/* ---- synchronized states: checks ------------------------------------------------ */

/* RFC 9293 3.10.7.4 first check, against the window we advertised. */
static bool seq_acceptable(const struct us_tcb *tcb, const struct us_tcp_repr *s)
{
    uint32_t wnd = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    uint32_t len = seg_seqlen(s);
    bool start_in = seq_ge(s->seq, tcb->rcv_nxt) && seq_lt(s->seq, tcb->rcv_nxt + wnd);
    if (len == 0)
        return wnd == 0 ? s->seq == tcb->rcv_nxt : start_in;
    if (wnd == 0)
        return false;
    uint32_t last = s->seq + len - 1;
    return start_in || (seq_ge(last, tcb->rcv_nxt) && seq_lt(last, tcb->rcv_nxt + wnd));
}

/* RFC 7323 5.3 (PAWS). Returns false to drop. */
static bool paws_ok(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    if (!(tcb->flags & TF_TS) || !s->ts || (s->flags & US_TH_RST))
        return true;
    if (seq_ge(s->tsval, tcb->ts_recent))
        return true;
    if ((uint32_t)(t_ms(now) - tcb->ts_recent_age) > 24u * 24 * 3600 * 1000) {
        tcb->ts_recent = s->tsval;                 /* 5.5: idle for 24 days */
        return true;
    }
    US_COUNT(st, TCP_DROP_PAWS);
    tcb->flags |= TF_ACK_NOW;
    return false;
}

static void enter_time_wait(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcp_set_state(st, tcb, US_TCP_TIME_WAIT, now);
    tcb->flags &= ~TF_DELACK;
    tcp_buf_free(&tcb->sndq);
    tcp_timer_set(tcb, TK_TIMEWAIT, (uint32_t)(2 * st->cfg.tcp_msl / 1000u), now);
}

/* RFC 5961 3.2. Returns true when the connection is gone. */
static bool on_rst(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    US_COUNT(st, TCP_RST_RCVD);
    if (s->seq != tcb->rcv_nxt) {
        tcp_send_challenge_ack(st, tcb, now);
        return false;
    }
    int err = ECONNRESET;
    if (tcb->state == US_TCP_SYN_RECEIVED)
        err = tcb->parent ? 0 : ECONNREFUSED;
    else if (tcb->state == US_TCP_CLOSING || tcb->state == US_TCP_LAST_ACK || tcb->state == US_TCP_TIME_WAIT)
        err = 0;
    tcp_drop(st, tcb, err, now);
    return true;
}

/* SYN_RECEIVED → ESTABLISHED on an acceptable ACK; a passive child joins the accept queue. */
static bool syn_rcvd_ack(struct us_stack *st, struct us_tcb *tcb, const struct us_ip_info *ip,
                         const struct us_tcp_repr *s, us_time_t now)
{
    if (!seq_gt(s->ack, tcb->snd_una) || seq_gt(s->ack, tcb->snd_max)) {
        US_COUNT(st, TCP_DROP_BAD_ACK);
        tcp_send_rst_for(st, ip, s, now);
        return false;
    }
    struct us_tcb *l = tcb->parent;
    if (l && l->ext->acc_len >= l->ext->backlog) {
        US_COUNT(st, TCP_DROP_ACCEPTQ_FULL);       /* stay in SYN_RECEIVED; the peer retries */
        return false;
    }
    tcb->snd_una = s->ack;
    establish(st, tcb, s, now);
    if (l) {
        tcp_listener_unlink(st, tcb);
        struct tcp_ext *e = l->ext;
        tcb->parent = l;
        tcb->flags |= TF_ACCEPTQ;
        tcp_queue_append(&e->acc_head, &e->acc_tail, tcb);
        e->acc_len++;
    }
    return true;
}

/* ---- ACK processing ---------------------------------------------------------- */

/* RTT samples, as Linux takes them (tcp_ack_update_rtt): from the send time of
 * what this ACK delivered, µs, when RACK keeps the records and one of them
 * was sent only once; else from the echoed timestamp (RFC 7323 4.1, 1 ms);
 * else the one segment timed per round trip (RFC 6298, Karn). With the
 * timestamp alone a LAN's round trip reads 0 or 1 ms, and without it a
 * sample comes once a round — too few for HyStart++ (RFC 9406 needs 8 a
 * round), so slow start ran into the first loss. */
static void sample_rtt(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    const struct tcp_rack *rk = (tcb->flags & TF_RACK) && tcb->ext ? &tcb->ext->rack : NULL;
    uint32_t rec = rk ? (rk->ack_rtt_us ? rk->ack_rtt_us : rk->sack_rtt_us) : 0;
    if (rec) {
        tcp_rtt_sample_cc(st, tcb, rec, rk->ca_rtt_us);
        tcb->flags &= ~TF_RTT;
        return;
    }
    if ((tcb->flags & TF_TS) && s->ts && s->tsecr) {
        uint32_t ms = t_ms(now) - s->tsecr;          /* RFC 7323 4.1 */
        if (ms < 3600u * 1000u)
            tcp_rtt_sample(st, tcb, ms * 1000u);
        tcb->flags &= ~TF_RTT;
        return;
    }
    if ((tcb->flags & TF_RTT) && seq_gt(s->ack, tcb->rtt_seq)) {
        tcb->flags &= ~TF_RTT;
        tcp_rtt_sample(st, tcb, t_us(now) - tcb->rtt_start);
    }
}

static void leave_recovery(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcb->flags &= ~(TF_RECOVERY | TF_PARTIAL);
    tcb->dupacks = 0;
    tcp_cc_post_recovery(st, tcb, now);              /* sees TF_SACK_RCV: was it PRR's? */
    tcb->flags &= ~TF_SACK_RCV;
    tcp_rack_post_recovery(tcb);
    struct tcp_sb *sb = tcp_sack_sb(tcb);
    if (sb && sb->n == 0)
        tcp_sack_clear(tcb);
}

/* ---- undo of spurious retransmissions (RFC 3708, RFC 3522, RFC 4015) ------------ */

static bool undo_in_episode(const struct us_tcb *tcb, const struct tcp_undo *u)
{
    return u->armed && ((tcb->flags & TF_RECOVERY) || (u->rto && seq_lt(tcb->snd_una, u->high)));
}

/* Linux tcp_init_undo: an RTO inside an episode (or a second RTO) continues
 * it, with the window from before the first reduction. */
void tcp_undo_start(struct us_tcb *tcb, bool rto)
{
    if (!tcp_ext(tcb))
        return;
    struct tcp_undo *u = &tcb->ext->undo;
    if (!undo_in_episode(tcb, u)) {
        *u = (struct tcp_undo){ .armed = true, .marker = tcb->snd_una, .high = tcb->snd_max, .cwnd = tcb->cwnd,
                                .ssthresh = tcb->ssthresh };
        memcpy(u->cc_priv, tcb->cc_priv, sizeof(u->cc_priv));
    }
    u->high = seq_max(u->high, tcb->snd_max);
    u->rto |= rto;
}

/* Every retransmission. The episode's Eifel stamp is the first retransmission
 * still outstanding, which may be an earlier episode's: a recovery that began
 * before the previous one's retransmissions were acknowledged gets ACKs
 * echoing those, older than its own first retransmission but not originals
 * (RFC 3522 3.2 compares with the first retransmission of the segment; a
 * false undo per such ACK at 5% loss, issue 8). */
void tcp_undo_rexmit(struct us_tcb *tcb, us_time_t now)
{
    struct tcp_ext *e = tcb->ext;
    if (!e)
        return;
    if (!e->rx_on || seq_ge(tcb->snd_una, e->rx_high)) {
        e->rx_on = true;
        e->rx_stamp_ms = t_ms(now);                 /* the TSval it carried (fill_opts) */
    }
    e->rx_high = tcb->snd_max;                      /* every retransmission lies below it */
    struct tcp_undo *u = &e->undo;
    if (!undo_in_episode(tcb, u))
        return;
    if (!u->stamped) {
        u->stamped = true;
        u->stamp_ms = e->rx_stamp_ms;
    }
    u->retrans++;
}

/* The episode was spurious: the window from before it (Linux
 * tcp_undo_cwnd_reduction: cwnd and ssthresh no lower than then), out of
 * recovery without the post-recovery reduction, and after an RTO no
 * go-back-N: SND.NXT = SND.MAX (RFC 4015 3.2 step 3). A real loss later in
 * the window starts a recovery of its own. */
static void undo(struct us_stack *st, struct us_tcb *tcb, bool eifel, us_time_t now)
{
    struct tcp_ext *e = tcb->ext;
    struct tcp_undo *u = &e->undo;
    bool rto = u->rto && seq_lt(tcb->snd_una, u->high) && !(tcb->flags & TF_RECOVERY);
    uint32_t cwnd = tcb->cwnd;
    const struct tcp_cc_ops *cc = tcp_cc_get(tcb->cc_idx);
    if (cc->undo)
        cc->undo(tcb, u->cc_priv);                  /* its own state (CUBIC: W_max, epoch, K) */
    if (tcb->cwnd < u->cwnd)
        tcb->cwnd = u->cwnd;
    if (tcb->ssthresh < u->ssthresh)
        tcb->ssthresh = u->ssthresh;
    if (eifel) {
        e->undo_eifel++;
        if (u->rto)
            US_COUNT(st, TCP_UNDO_RTO_EIFEL);
        else
            US_COUNT(st, TCP_UNDO_RECOVERY_EIFEL);
    } else {
        e->undo_dsack++;
        if (u->rto)
            US_COUNT(st, TCP_UNDO_RTO_DSACK);
        else
            US_COUNT(st, TCP_UNDO_RECOVERY_DSACK);
    }
    US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " undo: spurious %s (%s), cwnd %u -> %u, ssthresh %u", TCP_CONN_ARGS(tcb),
           u->rto ? "timeout" : "recovery", eifel ? "timestamp older than the retransmission" : "D-SACKs for all of it",
           cwnd, tcb->cwnd, tcb->ssthresh);
    (void)now;
    if (rto) {
        tcb->snd_nxt = tcb->snd_max;
        tcp_rack_undo(tcb);
    }
    if (tcb->flags & TF_RECOVERY) {
        tcb->flags &= ~(TF_RECOVERY | TF_PARTIAL | TF_SACK_RCV);
        tcb->dupacks = 0;
        tcp_rack_post_recovery(tcb);
    }
    tcb->recover = tcb->snd_una;
    u->armed = false;
}

/* Every acceptable ACK: D-SACKs that report the episode's retransmissions
 * (RFC 3708: when they account for all of them, none was needed), and the
 * Eifel detection (RFC 3522: an ACK of new data whose echoed timestamp is
 * older than the first retransmission was sent for an original). */
static void undo_ack(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    struct tcp_ext *e = tcb->ext;
    if (!e)
        return;
    struct tcp_undo *u = &e->undo;
    bool dsack = (tcb->flags & TF_SACK) && tcp_sack_is_dsack(s);
    if (dsack) {
        US_COUNT(st, TCP_DSACK_RCVD);
        e->dsacks_rcvd++;
    }
    if (!u->armed || !u->stamped)
        return;
    uint32_t l = s->sack[0][0], r = s->sack[0][1];
    if (dsack && seq_lt(l, r) && seq_ge(l, u->marker) && seq_le(r, u->high)) {
        uint32_t mss = tcb->mss_send ? tcb->mss_send : 536u;
        u->retrans -= (int32_t)((r - l + mss - 1) / mss);
        if (u->retrans <= 0) {
            undo(st, tcb, false, now);
            return;
        }
    }
    if ((tcb->flags & TF_TS) && s->ts && s->tsecr && seq_gt(s->ack, tcb->snd_una) && seq_gt(s->ack, u->marker) &&
        undo_in_episode(tcb, u) && seq_lt(s->tsecr, u->stamp_ms))
        undo(st, tcb, true, now);
}

/* A partial ACK during recovery. RFC 6582 3.2 steps 3–5 without SACK; with
 * SACK (RFC 6675 5 (B)) the scoreboard and pipe already reflect the ACK and
 * tcp_output sends what NextSeg() picks — only the timer restarts (RFC 6298 5.3). */
static void recovery_ack(struct us_stack *st, struct us_tcb *tcb, uint32_t acked, us_time_t now)
{
    if (seq_ge(tcb->snd_una, tcb->recover)) {
        leave_recovery(st, tcb, now);
        return;
    }
    if (tcb->flags & TF_SACK_RCV) {
        tcp_timer_restart(tcb);
        return;
    }
    /* partial ACK: retransmit the next hole, deflate by what was acked */
    tcp_rexmit_head(st, tcb, now);
    if (tcp_state(st) && tcb->ext)
        tcb->ext->fast_retransmits++;
    tcb->cwnd = tcb->cwnd > acked ? tcb->cwnd - acked : 0;
    if (acked >= tcb->mss_send)
        tcb->cwnd += tcb->mss_send;
    if (tcb->cwnd < tcb->mss_send)
        tcb->cwnd = tcb->mss_send;
    if (!(tcb->flags & TF_PARTIAL)) {
        tcb->flags |= TF_PARTIAL;
        tcp_timer_restart(tcb);                     /* reset the timer on the first partial ACK */
    }
}

/* RFC 6675 5 step 4.3 (and the reneging repair): retransmit the segment at
 * SND.UNA, bounded by the first SACKed byte, and move HighRxt past it. */
static void sack_rexmit_head(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    struct tcp_sb *sb = tcp_sack_sb(tcb);
    uint32_t hole = tcp_sack_head_hole(tcb);
    uint32_t n = tcp_rexmit_range(st, tcb, tcb->snd_una, hole < tcb->mss_send ? hole : tcb->mss_send, now);
    if (n && sb) {
        sb->high_rxt = seq_max(sb->high_rxt, tcb->snd_una + n);
        US_COUNT(st, TCP_SACK_RETRANSMITS);
    }
    if (n && tcp_ext(tcb))
        tcb->ext->fast_retransmits++;
}

/* RACK marked a segment lost (RFC 8985 6.2, 6.3). RFC 8985 9.3: enter the
 * existing recovery, with one congestion response per recovery — the
 * recovery point (RFC 6582 / RFC 6675 "RecoveryPoint") makes that once per
 * round. The first retransmission leaves here, the others from tcp_output
 * (rack_output): every segment marked lost, as cwnd - pipe and the PRR bounds allow
 * (tcp_prr_sndcnt). Recovery also takes over from an RTO's go-back-N. */
void tcp_rack_recover(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if ((tcb->flags & TF_RECOVERY) || !seq_ge(tcb->snd_una, tcb->recover))
        return;
    tcp_undo_start(tcb, false);
    tcp_cc_congestion(st, tcb, "recovery: enter on RACK loss marking (RFC 8985 6.2)", now);
    tcb->recover = tcb->snd_max;
    tcb->flags |= TF_RECOVERY | TF_SACK_RCV;
    tcb->flags &= ~TF_PARTIAL;
    tcb->snd_nxt = tcb->snd_max;                    /* holes, not go-back-N, from here on */
    tcp_prr_start(tcb);
    US_COUNT(st, TCP_FAST_RETRANSMITS);
    US_COUNT(st, TCP_RACK_RECOVERIES);
    tcp_timer_restart(tcb);                         /* re-armed for the recovery (tlp_allowed) */
    /* RFC 6937bis 7 (RFC 6675 5 step 4.3, RFC 8985 9.3): the fast
     * retransmission leaves on entering recovery whatever pipe says, as
     * enter_recovery sends it for RFC 6675. Left to pipe, a burst whose ACKs
     * come coalesced (GRO: a few dup ACKs, each SACKing several segments, the
     * last covering the whole flight) keeps pipe above cwnd until no ACK is
     * left to clock anything out, and the hole waits for the RTO (issue 8). */
    tcp_rack_rexmit_lost(st, tcb, now);
}

/* Loss detected by duplicate ACKs (RFC 5681 3.2) or by the scoreboard
 * (RFC 6675 5 step 2). With SACK in use and a scoreboard, RFC 6675; else
 * NewReno (RFC 6582), as RFC 6675 asks when the peer does not SACK. */
static void enter_recovery(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcp_undo_start(tcb, false);
    tcp_cc_congestion(st, tcb, tcb->dupacks >= TCP_DUPTHRESH ? "recovery: enter on 3 duplicate ACKs (RFC 5681 3.2)"
                               : "recovery: enter on the SACK threshold (RFC 6675 IsLost)", now);
    tcb->recover = tcb->snd_max;
    tcb->flags |= TF_RECOVERY;
    tcb->flags &= ~(TF_PARTIAL | TF_SACK_RCV);
    US_COUNT(st, TCP_FAST_RETRANSMITS);
    struct tcp_sb *sb = (tcb->flags & TF_SACK) ? tcp_sack_sb(tcb) : NULL;
    if (sb) {
        /* SACK in use: RFC 6675 repairs every hole the scoreboard shows,
         * also after an RTO's go-back-N (which the holes now replace) */
        tcb->snd_nxt = tcb->snd_max;
        tcb->flags |= TF_SACK_RCV;
        tcp_prr_start(tcb);
        US_COUNT(st, TCP_SACK_RECOVERIES);
        sb->high_rxt = tcb->snd_una;
        sack_rexmit_head(st, tcb, now);
        sb->rescue_rxt = sb->high_rxt;
        return;                                     /* step (C) runs in tcp_output */
    }
    if (tcp_ext(tcb))
        tcb->ext->fast_retransmits++;
    tcp_rexmit_head(st, tcb, now);
    tcb->cwnd += TCP_DUPTHRESH * tcb->mss_send;     /* RFC 6582 3.2 step 2: inflate by the dup ACKs */
}

static void new_data_acked(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    uint32_t acked = s->ack - tcb->snd_una;
    uint32_t qlen = tcb->sndq.len;
    if (tcb->flags & TF_RACK)
        tcp_timer_restart(tcb);                     /* RFC 6298 5.3 / RFC 8985 7.2: re-arm RTO or PTO */
    tcp_count_wrap(tcb, TW_ACKED, tcb->snd_una - tcb->iss - 1, s->ack - tcb->iss - 1);
    sample_rtt(st, tcb, s, now);
    tcp_buf_consume(&tcb->sndq, acked < qlen ? acked : qlen);
    tcb->snd_una = s->ack;
    if (seq_lt(tcb->snd_nxt, tcb->snd_una))
        tcb->snd_nxt = tcb->snd_una;
    tcb->backoff = 0;
    if (tcb->flags & TF_RECOVERY) {
        recovery_ack(st, tcb, acked, now);
    } else {
        tcb->dupacks = 0;
        tcp_timer_restart(tcb);                     /* RFC 6298 5.3: restart the timer */
        tcp_cc_ack(st, tcb, acked, now);
    }
    if ((tcb->flags & TF_FIN_Q) && acked > qlen) {
        /* our FIN is acknowledged */
        if (tcb->state == US_TCP_FIN_WAIT_1)
            tcp_set_state(st, tcb, US_TCP_FIN_WAIT_2, now);
        else if (tcb->state == US_TCP_CLOSING)
            enter_time_wait(st, tcb, now);
        else if (tcb->state == US_TCP_LAST_ACK)
            tcb->state = US_TCP_CLOSED;             /* finished below */
    }
}

/* RFC 5681 3.2, RFC 6675 5 and RFC 3042 on a duplicate ACK. */
static void dup_ack(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if (tcb->dupacks < 255)
        tcb->dupacks++;
    uint32_t mss = tcb->mss_send;
    if (tcb->flags & TF_RECOVERY) {
        if (!(tcb->flags & TF_SACK_RCV))
            tcb->cwnd += mss;                       /* NewReno window inflation */
        return;
    }
    /* RFC 6582 3.2 step 1 / 4: only when the cumulative ACK covers more than
     * the previous recovery point (recover is one past its highest byte). */
    /* With RACK the time-based detection in tcp_rack.c decides (RFC 8985 6.2);
     * a peer that negotiated SACK but sends no blocks still gets DupThresh. */
    bool lost = !(tcp_rack_tracking(tcb) && tcp_sack_sb(tcb)) &&
                (tcb->dupacks >= TCP_DUPTHRESH || ((tcb->flags & TF_SACK) && tcp_sack_una_lost(tcb)));
    if (lost && seq_ge(tcb->snd_una, tcb->recover)) {
        enter_recovery(st, tcb, now);
        return;
    }
    if (tcb->dupacks < TCP_DUPTHRESH) {
        /* limited transmit: new data while FlightSize <= cwnd + 2*SMSS */
        uint32_t saved = tcb->cwnd;
        tcb->cwnd = saved + tcb->dupacks * mss;
        uint32_t len;
        bool fin;
        if (tcp_should_send(tcb, &len, &fin) > 0 && !seq_lt(tcb->snd_nxt, tcb->snd_max))
            tcp_output(st, tcb, now);
        tcb->cwnd = saved;
    }
}

/* S5, S6, S10: window update. Returns true when the window changed. */
static bool window_update(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    if (!(seq_lt(tcb->snd_wl1, s->seq) || (tcb->snd_wl1 == s->seq && seq_le(tcb->snd_wl2, s->ack))))
        return false;
    uint32_t wnd = (uint32_t)s->wnd << tcb->snd_wscale;
    uint32_t old = tcb->snd_wnd;
    bool was_closed = seq_le(tcb->snd_una + old, tcb->snd_nxt);
    tcb->snd_wnd = wnd;
    tcb->snd_wl1 = s->seq;
    tcb->snd_wl2 = s->ack;
    if (wnd > tcb->max_sndwnd)
        tcb->max_sndwnd = wnd;
    if (wnd == old)
        return false;
    tcb->pshift = 0;                                /* S5 */
    if (tcb->tkind == TK_PERSIST)
        tcp_timer_restart(tcb);                     /* re-armed from T0 if still needed */
    if (was_closed && wnd > old && tcb->tkind == TK_REXMT && tcb->backoff > 0) {
        tcb->backoff = 0;                           /* S10 */
        tcp_rexmit_head(st, tcb, now);
        tcp_timer_restart(tcb);
    }
    return true;
}

enum { ACK_OK, ACK_DROP, ACK_GONE };

/* ACK_DROP: drop the rest of the segment; ACK_GONE: the control block is freed. */
static int ack_input(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now)
{
    if (seq_gt(s->ack, tcb->snd_max)) {
        US_COUNT(st, TCP_DROP_BAD_ACK);             /* RFC 9293: ACK something not yet sent */
        tcb->flags |= TF_ACK_NOW;
        return ACK_DROP;
    }
    uint32_t maxw = tcb->max_sndwnd > 65535 ? tcb->max_sndwnd : 65535;
    if (seq_lt(s->ack, tcb->snd_una - maxw)) {
        US_COUNT(st, TCP_DROP_BAD_ACK);             /* RFC 5961 5.2 */
        tcp_send_challenge_ack(st, tcb, now);
        return ACK_DROP;
    }
    uint32_t old_wnd = tcb->snd_wnd;
    bool reneged = false;
    uint32_t una = seq_gt(s->ack, tcb->snd_una) ? s->ack : tcb->snd_una;
    bool in_sack_rcv = (tcb->flags & TF_SACK_RCV) && tcb->ext;
    bool count_delivered = (tcb->flags & TF_SACK) && tcb->ext;
    uint32_t sacked0 = count_delivered ? tcp_sack_bytes(tcb) : 0;
    uint32_t lost0 = in_sack_rcv ? tcb->ext->rack_lost_marks : 0;
    if (tcb->flags & TF_RACK)
        tcp_rack_tlp_ack(st, tcb, s, now);
    if ((tcb->flags & TF_SACK) && (s->nsack || tcp_sack_sb(tcb)))
        reneged = tcp_sack_update(st, tcb, s, una);
    if (tcb->flags & TF_RACK)
        tcp_rack_ack(st, tcb, s, una, reneged, now);
    if (count_delivered && tcb->ext) {
        /* RFC 6937 DeliveredData = change in SND.UNA + change in SACKed bytes;
         * kept outside recovery too: the ACK that starts one counts */
        int64_t d = (int64_t)(una - tcb->snd_una) + (int64_t)tcp_sack_bytes(tcb) - (int64_t)sacked0;
        bool safe = una != tcb->snd_una && !reneged && tcb->ext->rack_lost_marks == lost0;
        if (in_sack_rcv)
            tcp_prr_ack(tcb, d > 0 ? (uint32_t)d : 0, safe);
        else
            tcb->ext->prr.last = d > 0 ? (uint32_t)d : 0;
    }
    undo_ack(st, tcb, s, now);
    if (seq_gt(s->ack, tcb->snd_una)) {
        new_data_acked(st, tcb, s, now);
        if (tcp_rack_lost_pending(tcb))
            tcp_rack_recover(st, tcb, now);         /* after a recovery ended on this ACK, too */
        if (reneged && (tcb->flags & TF_SACK_RCV))
            sack_rexmit_head(st, tcb, now);         /* RFC 2018 8: the receiver dropped it */
        window_update(st, tcb, s, now);
        tcp_rate_ack(st, tcb, now);                 /* the rate sample, the algorithm's on_rate */
        if (tcb->state == US_TCP_CLOSED) {          /* LAST_ACK finished */
            tcb->state = US_TCP_LAST_ACK;
            tcp_drop(st, tcb, 0, now);
            return ACK_GONE;
        }
        return ACK_OK;
    }
    bool changed = window_update(st, tcb, s, now);
    bool dup = s->ack == tcb->snd_una && s->len == 0 && !(s->flags & (US_TH_SYN | US_TH_FIN)) &&
               !changed && ((uint32_t)s->wnd << tcb->snd_wscale) == old_wnd && s->wnd != 0 &&
               tcb->snd_max != tcb->snd_una;
    /* S6: a window update never counts as a duplicate; nor does a zero
     * window, which says "no room", not "a segment is missing". */
    /* RFC 6675 2 (DupAck): once the peer is known to send SACK blocks, an
     * ACK without new SACK information (e.g. for a duplicate segment after
     * go-back-N) is no loss signal — nor a reason for NewReno inflation. */
    if (dup && (tcb->flags & TF_SACK) && tcb->ext && tcb->ext->sack_seen && s->nsack <= (tcp_sack_is_dsack(s) ? 1 : 0))
        dup = false;                                /* nor one that only reports a duplicate (RFC 2883) */
    if (dup)
        dup_ack(st, tcb, now);
    else if (s->ack == tcb->snd_una && !(tcb->flags & TF_RECOVERY))
        tcb->dupacks = 0;
    if (tcp_rack_lost_pending(tcb))
        tcp_rack_recover(st, tcb, now);
    tcp_rate_ack(st, tcb, now);
    return ACK_OK;
}

/* ---- data and FIN -------------------------------------------------------------- */

/* RFC 2883: data [l, r) arrived that we already hold; the next ACK reports it
 * in its first SACK block. A second duplicate before that ACK extends the
 * range when the two touch, else replaces it (the newest one is reported). */
static void note_dsack(struct us_tcb *tcb, uint32_t l, uint32_t r)
{
    if (!(tcb->flags & TF_SACK) || !seq_lt(l, r) || !tcp_ext(tcb))
        return;
    struct tcp_ext *e = tcb->ext;
    if (e->dsack_pending && seq_le(l, e->dsack[1]) && seq_ge(r, e->dsack[0])) {
        e->dsack[0] = seq_min(l, e->dsack[0]);
        e->dsack[1] = seq_max(r, e->dsack[1]);
    } else {
        e->dsack[0] = l;
        e->dsack[1] = r;
    }
    e->dsack_pending = true;
    tcb->flags |= TF_ACK_NOW;
}

/* The first part of [seq, seq + len) the out-of-order queue already holds,
 * as [*l, *r); false when none. An arrival beyond the last range (the usual
 * one while a hole is open) costs O(1). */
static bool ooo_held(const struct us_tcb *tcb, uint32_t seq, uint32_t len, uint32_t *l, uint32_t *r)
{
    const struct tcp_ext *e = tcb->ext;
    if (!e || !e->ooo || seq_ge(seq, e->ooo_tail->seq + e->ooo_tail->len))
        return false;
    for (const struct tcp_ooo *o = e->ooo; o && seq_lt(o->seq, seq + len); o = o->next) {
        uint32_t a = seq_max(o->seq, seq), b = seq_min(o->seq + o->len, seq + len);
        if (seq_lt(a, b)) {
            *l = a;
            *r = b;
            /* adjacent held ranges extend the duplicate */
            for (o = o->next; o && o->seq == *r && seq_lt(*r, seq + len); o = o->next)
                *r = seq_min(o->seq + o->len, seq + len);
            return true;
        }
    }
    return false;
}

static void schedule_ack(struct us_stack *st, struct us_tcb *tcb, uint32_t len, us_time_t now)
{
    uint32_t full = tcb->mss_recv - ((tcb->flags & TF_TS) ? 12u : 0u);
    if (len >= full && ++tcb->rcv_full_segs >= 2) {
        tcb->flags |= TF_ACK_NOW;                   /* RFC 5681 4.2: every second full segment */
        return;
    }
    if (tcb->rcv_adv == tcb->rcv_nxt) {
        tcb->flags |= TF_ACK_NOW;                   /* window used up: tell the sender now */
        return;
    }
    if (!(tcb->flags & TF_DELACK)) {
        tcb->flags |= TF_DELACK;
        tcb->t_delack = t_us(now) + tcp_delack_us(st, tcb);
    }
}

/* R5: the bytes at [seq, …) fit the window but not in memory. */
static void drop_for_memory(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    US_COUNT(st, TCP_DROP_NOMEM);
    tcp_send_zero_window_now(st, tcb, now);
}

/* RFC 9293 3.10.7.4 lets a receiver keep out-of-order segments; a FIN among
 * them is kept too, so that filling the gap also completes the stream —
 * instead of making the sender time out and send its FIN again. */
static void hold_fin(struct us_tcb *tcb, uint32_t fin_seq)
{
    if (!tcb->ext)
        return;
    tcb->ext->ooo_fin = fin_seq;
    tcb->flags |= TF_OOO_FIN;
}

/* A held FIN is processed once RCV.NXT reaches it. */
static bool held_fin_due(struct us_tcb *tcb)
{
    if (!(tcb->flags & TF_OOO_FIN))
        return false;
    if (!tcb->ext || seq_gt(tcb->rcv_nxt, tcb->ext->ooo_fin)) {
        tcb->flags &= ~TF_OOO_FIN;                  /* data overran it: not a real end */
        return false;
    }
    if (tcb->rcv_nxt != tcb->ext->ooo_fin)
        return false;
    tcb->flags &= ~TF_OOO_FIN;
    return true;
}

static void data_input(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, bool *fin, us_time_t now)
{
    uint32_t seq = s->seq;
    const uint8_t *data = s->data;
    uint32_t len = s->len;
    if (seq_lt(seq, tcb->rcv_nxt)) {
        uint32_t skip = tcb->rcv_nxt - seq;
        if (skip > len) {
            *fin = false;
            skip = len;
        }
        note_dsack(tcb, seq, seq + skip);
        seq += skip;
        data += skip;
        len -= skip;
        US_COUNT(st, TCP_DUP_SEGMENTS);
        tcb->flags |= TF_ACK_NOW;                   /* duplicate: ACK at once (RFC 5681 4.2) */
    }
    if (seq_gt(seq + len, tcb->rcv_adv)) {
        uint32_t room = seq_gt(tcb->rcv_adv, seq) ? tcb->rcv_adv - seq : 0;
        US_COUNT_N(st, TCP_RX_BEYOND_WINDOW, len - room); /* RFC 9293 3.10.7.4: trimmed off */
        len = room;
        *fin = false;
        tcb->flags |= TF_ACK_NOW;
    }
    if (len == 0)
        return;
    if (tcp_state(st)->fault_rx_nomem) {
        tcp_state(st)->fault_rx_nomem--;
        US_COUNT(st, TCP_DROP_FAULT_NOMEM);
        *fin = false;
        drop_for_memory(st, tcb, now);
        return;
    }
    if (seq != tcb->rcv_nxt) {
        US_COUNT(st, TCP_OOO_SEGMENTS);
        bool with_fin = *fin;
        *fin = false;
        uint32_t dl, dr;
        if (ooo_held(tcb, seq, len, &dl, &dr))
            note_dsack(tcb, dl, dr);
        if (!tcp_ooo_insert(st, tcb, seq, data, len)) {
            US_COUNT(st, TCP_DROP_OOO_FULL);
            drop_for_memory(st, tcb, now);
            return;
        }
        if (with_fin)
            hold_fin(tcb, seq + len);
        tcb->flags |= TF_ACK_NOW;                   /* out of order: immediate (dup) ACK with SACK */
        return;
    }
    uint32_t n = tcp_buf_append(&tcb->rcvq, data, len);
    tcb->rcv_nxt += n;
    if (n < len) {
        *fin = false;
        drop_for_memory(st, tcb, now);
        return;
    }
    if (tcb->ext && tcb->ext->ooo) {
        tcp_ooo_drain(st, tcb);
        tcb->flags |= TF_ACK_NOW;                   /* filled (part of) a gap */
        *fin = false;                               /* a FIN beyond the queue is retransmitted */
        return;
    }
    schedule_ack(st, tcb, len, now);
}

/* RFC 9293 3.10.7.4 eighth check. Returns false if the tcb is gone. */
static void fin_input(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcb->rcv_nxt++;
    tcb->flags |= TF_FIN_RCVD | TF_ACK_NOW;
    switch (tcb->state) {
    case US_TCP_SYN_RECEIVED:
    case US_TCP_ESTABLISHED:
        tcp_set_state(st, tcb, US_TCP_CLOSE_WAIT, now);
        break;
    case US_TCP_FIN_WAIT_1:
        if (tcb->snd_una == tcb->snd_max)
            enter_time_wait(st, tcb, now);
        else
            tcp_set_state(st, tcb, US_TCP_CLOSING, now);
        break;
    case US_TCP_FIN_WAIT_2:
        enter_time_wait(st, tcb, now);
        break;
    default:
        break;
    }
}

static bool state_receives(uint8_t s)
{
    return s == US_TCP_ESTABLISHED || s == US_TCP_FIN_WAIT_1 || s == US_TCP_FIN_WAIT_2 ||
           s == US_TCP_SYN_RECEIVED;
}

/* A segment at RCV.NXT refused only because the window we advertised is
 * zero: an ACK without a SYN or RST, in a state past the handshake. */
static bool zero_window_ack(const struct us_tcb *tcb, const struct us_tcp_repr *s)
{
    return !seq_gt(tcb->rcv_adv, tcb->rcv_nxt) && s->seq == tcb->rcv_nxt && seg_seqlen(s) > 0 &&
           (s->flags & (US_TH_ACK | US_TH_SYN | US_TH_RST)) == US_TH_ACK && tcb->state != US_TCP_SYN_RECEIVED &&
           tcb->state != US_TCP_TIME_WAIT;
}

static void sync_input(struct us_stack *st, struct us_tcb *tcb, const struct us_ip_info *ip,
                       const struct us_tcp_repr *s, us_time_t now)
{
    if (!paws_ok(st, tcb, s, now)) {
        if (s->len && seq_lt(s->seq, tcb->rcv_nxt))
            note_dsack(tcb, s->seq, seq_min(s->seq + s->len, tcb->rcv_nxt));   /* as Linux does */
        tcp_output(st, tcb, now);
        return;
    }
    if (!seq_acceptable(tcb, s)) {
        if (s->flags & US_TH_RST) {
            US_COUNT(st, TCP_DROP_RST_OUT_OF_WINDOW);   /* RFC 5961 3.2: ignore */
            return;
        }
        if (zero_window_ack(tcb, s)) {
            /* RFC 9293 3.10.7.4: with RCV.WND zero no segment is
             * acceptable, "but special allowance should be made to accept
             * valid ACKs": the acknowledgment and window are taken, the
             * data is not (trimmed off as beyond the window) */
            US_COUNT(st, TCP_RX_ZERO_WINDOW_ACK);
            US_COUNT_N(st, TCP_RX_BEYOND_WINDOW, s->len);
            tcb->flags |= TF_ACK_NOW;
            if (ack_input(st, tcb, s, now) != ACK_GONE)
                tcp_output(st, tcb, now);
            return;
        }
        US_COUNT(st, TCP_DROP_OUT_OF_WINDOW);
        if (s->len && seq_le(s->seq + s->len, tcb->rcv_nxt))
            note_dsack(tcb, s->seq, s->seq + s->len);   /* a whole duplicate (RFC 2883 4.1.1) */
        if (tcb->state == US_TCP_TIME_WAIT && (s->flags & US_TH_FIN))
            tcp_timer_set(tcb, TK_TIMEWAIT, (uint32_t)(2 * st->cfg.tcp_msl / 1000u), now);
        tcb->flags |= TF_ACK_NOW;                   /* R4: answer with RCV.NXT and the window */
        tcp_output(st, tcb, now);
        return;
    }
    if (s->flags & US_TH_RST) {
        if (!on_rst(st, tcb, s, now))
            tcp_output(st, tcb, now);
        return;
    }
    if (s->flags & US_TH_SYN) {
        tcp_send_challenge_ack(st, tcb, now);       /* RFC 5961 4.2 */
        return;
    }
    if (!(s->flags & US_TH_ACK)) {
        US_COUNT(st, TCP_DROP_NO_ACK);
        return;
    }
    if ((tcb->flags & TF_TS) && s->ts && seq_le(s->seq, tcb->rcv_nxt)) {
        tcb->ts_recent = s->tsval;                  /* RFC 7323 4.3 */
        tcb->ts_recent_age = t_ms(now);
    }
    if (tcb->state == US_TCP_SYN_RECEIVED && !syn_rcvd_ack(st, tcb, ip, s, now))
        return;
    int ar = ack_input(st, tcb, s, now);
    if (ar == ACK_GONE)
        return;
    if (ar == ACK_DROP) {
        tcp_output(st, tcb, now);
        return;
    }
    bool fin = (s->flags & US_TH_FIN) != 0;
    uint32_t rcv_before = tcb->rcv_nxt;
    if (s->len && (tcb->flags & TF_ORPHAN) && state_receives(tcb->state)) {
        /* Nobody will ever read this (RFC 9293 3.10.4; Linux does the same). */
        US_COUNT(st, TCP_DROP_ORPHAN_DATA);
        tcp_send_rst_tcb(st, tcb, now);
        tcp_drop(st, tcb, 0, now);
        return;
    }
    if (s->len) {
        if (state_receives(tcb->state))
            data_input(st, tcb, s, &fin, now);
        else {
            US_COUNT(st, TCP_DROP_AFTER_FIN);
            fin = false;
            tcb->flags |= TF_ACK_NOW;
        }
    }
    if (fin && s->len == 0 && seq_gt(s->seq, tcb->rcv_nxt) && seq_lt(s->seq, tcb->rcv_adv) &&
        state_receives(tcb->state) && tcp_ext(tcb)) {
        hold_fin(tcb, s->seq);                      /* a bare FIN beyond a gap */
        tcb->flags |= TF_ACK_NOW;
    }
    if (!(tcb->flags & TF_FIN_RCVD) &&
        ((fin && s->seq + s->len == tcb->rcv_nxt) || (state_receives(tcb->state) && held_fin_due(tcb))))
        fin_input(st, tcb, now);
    tcp_count_wrap(tcb, TW_RCVD, rcv_before - tcb->irs - 1, tcb->rcv_nxt - tcb->irs - 1);
    if (tcb->flags & TF_KEEPALIVE)
        tcp_keepalive_reset(st, tcb, now);
    if (tcb->state == US_TCP_TIME_WAIT) {
        if (tcb->flags & TF_ACK_NOW)
            tcp_send_ack(st, tcb, now);
        tcp_rearm(st, tcb, now);
        return;
    }
    tcp_output(st, tcb, now);
}

static void seg_input(struct us_stack *st, const struct us_ip_info *ip, const struct us_tcp_repr *s, us_time_t now)
{
    struct us_tcb *tcb = tcp_lookup(st, ip->dst, s->dport, ip->src, s->sport);
    if (tcb && tcb->state == US_TCP_TIME_WAIT && (s->flags & (US_TH_SYN | US_TH_ACK | US_TH_RST)) == US_TH_SYN &&
        tw_syn(st, tcb, ip, s, now))
        return;
    if (tcb) {
        if (tcb->state == US_TCP_SYN_SENT)
            syn_sent_input(st, tcb, ip, s, now);
        else
            sync_input(st, tcb, ip, s, now);
        return;
    }
    struct us_tcb *l = tcp_lookup_listener(st, ip->dst, s->dport);
    if (l) {
        listen_input(st, l, ip, s, now);
        return;
    }
    US_COUNT(st, TCP_DROP_NO_LISTENER);
    tcp_send_rst_for(st, ip, s, now);
}

void us_tcp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now)
{
    struct us_tcp_repr s;
    US_COUNT(st, TCP_RX);
    if (tcp_seg_parse(st, ip, data, len, &s) < 0)
        return;
    if (ip->broadcast) {
        US_COUNT(st, TCP_DROP_BROADCAST);           /* RFC 1122 4.2.3.10: never answered */
        return;
    }
    seg_input(st, ip, &s, now);
#ifdef TCP_CHECK_INVARIANTS
    struct us_tcb *tcb = tcp_lookup(st, ip->dst, s.dport, ip->src, s.sport);   /* S2 after the step */
    if (tcb)
        tcp_check_s2(tcb, now, "input");
#endif
}

/* ICMP errors: RFC 5927 suggests treating soft errors as hints only; a port or
 * protocol unreachable during SYN_SENT aborts the attempt (RFC 1122 4.2.3.9). */
#define TCP_PMTU_MIN 552u /* smallest path MTU believed from a frag-needed error */

void us_tcp_icmp_error(struct us_stack *st, const struct us_icmp_err *e, us_time_t now)
{
    struct us_tcb *tcb = tcp_lookup(st, e->src, e->sport, e->dst, e->dport);
    if (!tcb) {
        US_COUNT(st, TCP_ICMP_DROP_NO_CONN);
        return;
    }
    /* RFC 5927 4.1: only a quote of a sequence number in flight is believable. */
    if (seq_lt(e->tcp_seq, tcb->snd_una) || seq_gt(e->tcp_seq, tcb->snd_max)) {
        US_COUNT(st, TCP_ICMP_DROP_BAD_SEQ);
        return;
    }
    if (e->type == US_ICMP_UNREACH && tcb->state == US_TCP_SYN_SENT &&
        (e->code == US_ICMP_UNREACH_PORT || e->code == US_ICMP_UNREACH_PROTO)) {
        US_COUNT(st, TCP_ICMP_REFUSED);
        tcp_drop(st, tcb, ECONNREFUSED, now);
    } else if (e->type == US_ICMP_UNREACH && e->code == US_ICMP_UNREACH_NEEDFRAG) {
        /* RFC 1191 6.3: the next-hop MTU, when the router gives one, bounds the
         * MSS (never below TCP_PMTU_MIN, RFC 1191 3 / Linux min_pmtu: a forged
         * tiny MTU must not make us send 8-byte segments). */
        uint32_t mss = tcp_mss_for(st, e->dst);
        if (e->mtu) {
            uint32_t pmtu = e->mtu < TCP_PMTU_MIN ? TCP_PMTU_MIN : e->mtu;
            if (pmtu - US_IP_HLEN - US_TCP_HLEN < mss)
                mss = pmtu - US_IP_HLEN - US_TCP_HLEN;
        }
        mss -= (tcb->flags & TF_TS) ? 12u : 0u;
        if (mss < tcb->mss_send) {
            US_COUNT(st, TCP_ICMP_MSS_REDUCED);
            tcb->mss_send = (uint16_t)mss;
        } else {
            US_COUNT(st, TCP_ICMP_IGNORED);
        }
    } else {
        /* RFC 1122 4.2.3.9: soft errors (host/net unreachable, time exceeded,
         * parameter problem, port unreachable once synchronized) do not abort. */
        US_COUNT(st, TCP_ICMP_IGNORED);
    }
}
