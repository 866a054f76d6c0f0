/* The per-connection timer.
 *
 * One heap timer per control block, armed at the earliest of three slots:
 *   send slot   a tagged union (tkind): idle / retransmit / persist / TIME_WAIT /
 *               orphaned FIN_WAIT_2 / RACK reorder / tail loss probe (RFC 8985,
 *               in place of the retransmit timer), deadline t_send (µs);
 *   delayed ACK TF_DELACK with deadline t_delack (µs);
 *   keepalive   TF_KEEPALIVE with deadline t_keep (ms).
 * tcp_timers_update enforces STALL.md S2 after every step: data in flight ⇒ the
 * retransmission timer runs; otherwise data or a FIN that the send predicate
 * holds back (tcp_send_held: its reason, not the byte count) ⇒ the persist
 * timer runs. tcp_check_s2 asserts it at the end of every step — segment
 * input, timer expiry, and every user call, which all end here — in checked
 * builds. tcp_timer_restart (tcp_int.h) is the one way to restart the slot. */
#include <stdio.h>
#include <stdlib.h>
#include "tcp_int.h"

static bool due_us(uint32_t d, us_time_t now) { return (int32_t)(d - t_us(now)) <= 0; }
static bool due_ms(uint32_t d, us_time_t now) { return (int32_t)(d - t_ms(now)) <= 0; }

static uint32_t rto_max_us(const struct us_stack *st) { return (uint32_t)(st->cfg.tcp_rto_max / 1000u); }
static uint32_t rto_min_us(const struct us_stack *st) { return (uint32_t)(st->cfg.tcp_rto_min / 1000u); }

uint32_t tcp_rto_backed_off(const struct us_stack *st, const struct us_tcb *tcb)
{
    uint64_t r = (uint64_t)tcb->rto << (tcb->backoff > 20 ? 20 : tcb->backoff);
    uint64_t mx = rto_max_us(st);
    return (uint32_t)(r > mx ? mx : r);
}

/* STALL.md: T0 = max(RTO, 200 ms), doubling per probe up to PMAX = 60 s. */
uint32_t tcp_persist_t0(const struct us_stack *st, const struct us_tcb *tcb)
{
    (void)st;
    return tcb->rto > TCP_PMIN_US ? tcb->rto : TCP_PMIN_US;
}

static uint32_t persist_interval(const struct us_stack *st, const struct us_tcb *tcb)
{
    uint64_t v = (uint64_t)tcp_persist_t0(st, tcb) << (tcb->pshift > 20 ? 20 : tcb->pshift);
    return (uint32_t)(v > TCP_PMAX_US ? TCP_PMAX_US : v);
}

void tcp_timer_set(struct us_tcb *tcb, uint8_t kind, uint32_t after_us, us_time_t now)
{
    tcb->tkind = kind;
    tcb->t_send = t_us(now) + after_us;
}

static bool keepalive_active(const struct us_tcb *tcb)
{
    return (tcb->flags & TF_KEEPALIVE) &&
           (tcb->state == US_TCP_ESTABLISHED || tcb->state == US_TCP_CLOSE_WAIT ||
            tcb->state == US_TCP_FIN_WAIT_2);
}

void tcp_keepalive_reset(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    (void)st;
    uint32_t idle = tcb->ext && tcb->ext->keepidle ? tcb->ext->keepidle : TCP_KEEPIDLE_DEF;
    tcb->keep_probes = 0;
    tcb->t_keep = t_ms(now) + idle * 1000u;
}

void tcp_rearm(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    us_time_t when = US_TIME_NEVER;
    if (!tcp_timer_idle(tcb))
        when = t_us_abs(tcb->t_send, now);
    if (tcb->flags & TF_DELACK) {
        us_time_t d = t_us_abs(tcb->t_delack, now);
        if (d < when)
            when = d;
    }
    if (keepalive_active(tcb)) {
        us_time_t k = t_ms_abs(tcb->t_keep, now);
        if (k < when)
            when = k;
    }
    if ((tcb->flags & TF_LINGER) && tcb->ext) {
        us_time_t l = t_ms_abs(tcb->ext->linger_end, now);
        if (l < when)
            when = l;
    }
    if (tcb->ext && tcb->ext->pace_wait && tcb->ext->pace_next < when)
        when = tcb->ext->pace_next;         /* pacing: the next segment's send time (tcp_out.c) */
    if (when == US_TIME_NEVER)
        us_timer_cancel(&st->timers, &tcb->timer);
    else if (!us_timer_armed(&tcb->timer) || tcb->timer.when != when)
        us_timer_arm(&st->timers, &tcb->timer, when);
}

void tcp_timers_update(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    switch (tcb->state) {
    case US_TCP_CLOSED:
    case US_TCP_LISTEN:
    case US_TCP_TIME_WAIT:
        break;
    default: {
        bool inflight = tcb->snd_max != tcb->snd_una;
        if (inflight) {
            if (tcb->flags & TF_RACK)
                tcp_rack_arm(st, tcb, now);         /* RTO, or the reorder timer / PTO before it */
            else if (tcb->tkind != TK_REXMT)
                tcp_timer_set(tcb, TK_REXMT, tcp_rto_backed_off(st, tcb), now);
        } else if (tcp_send_held(tcb)) {            /* the predicate's reason decides (S1, S2) */
            if (tcb->tkind != TK_PERSIST)
                tcp_timer_set(tcb, TK_PERSIST, persist_interval(st, tcb), now);
        } else if (tcb->tkind == TK_REXMT || tcb->tkind == TK_PERSIST || tcb->tkind == TK_RACK ||
                   tcb->tkind == TK_TLP) {
            tcp_timer_restart(tcb);                 /* nothing left to cover */
        }
        if (tcb->state == US_TCP_FIN_WAIT_2 && (tcb->flags & TF_ORPHAN) && tcp_timer_idle(tcb))
            tcp_timer_set(tcb, TK_FW2, (uint32_t)(TCP_FW2_TIMEOUT / 1000u), now);
        break;
    }
    }
    tcp_rearm(st, tcb, now);
    tcp_check_s2(tcb, now, "timer update");
}

/* RFC 6298 2.2–2.4 (G = 1 µs with the send times of RACK's records, 1 ms
 * with timestamps alone). */
void tcp_rtt_sample(struct us_stack *st, struct us_tcb *tcb, uint32_t r)
{
    tcp_rtt_sample_cc(st, tcb, r, r);
}

void tcp_rtt_sample_cc(struct us_stack *st, struct us_tcb *tcb, uint32_t r, uint32_t ca)
{
    if (r == 0)
        r = 1;
    if (tcb->srtt == 0) {
        tcb->srtt = r;
        tcb->rttvar = r / 2;
    } else {
        uint32_t diff = tcb->srtt > r ? tcb->srtt - r : r - tcb->srtt;
        tcb->rttvar = (3 * tcb->rttvar + diff) / 4;
        tcb->srtt = (7 * tcb->srtt + r) / 8;
        if (tcb->srtt == 0)
            tcb->srtt = 1;
    }
    uint64_t var4 = 4ull * tcb->rttvar;
    uint64_t rto = tcb->srtt + (var4 > 1000 ? var4 : 1000);
    if (rto < rto_min_us(st))
        rto = rto_min_us(st);
    if (rto > rto_max_us(st))
        rto = rto_max_us(st);
    tcb->rto = (uint32_t)rto;
    tcp_cc_rtt(st, tcb, ca ? ca : 1);
}

static void time_out(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    US_COUNT(st, TCP_TIMEOUTS);
    tcp_drop(st, tcb, ETIMEDOUT, now);
}

/* RFC 6298 5.4–5.7 and RFC 5681 3.1 on expiry; returns false if tcb is gone. */
static bool on_rexmt(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    bool syn = tcb->state == US_TCP_SYN_SENT || tcb->state == US_TCP_SYN_RECEIVED;
    uint32_t limit = syn ? st->cfg.tcp_syn_retries : st->cfg.tcp_retries;
    if (tcb->backoff >= limit || tcp_synack_give_up(st, tcb)) {
        time_out(st, tcb, now);
        return false;
    }
    tcb->backoff++;
    US_COUNT(st, TCP_RTO_EXPIRED);
    if (tcp_ext(tcb))
        tcb->ext->rto_expirations++;
    if (syn) {
        tcp_rexmit_head(st, tcb, now);
    } else {
        tcp_undo_start(tcb, true);
        tcp_cc_rto(st, tcb, now);
        tcb->flags &= ~(TF_RECOVERY | TF_PARTIAL | TF_SACK_RCV);
        /* RFC 6675 5.1 (and RFC 2018 erratum 1610): keep the scoreboard, so
         * that go-back-N from SND.UNA skips what the receiver SACKed; a
         * receiver that reneged is caught when the cumulative ACK lands on
         * SACKed data (tcp_sack_update), which clears it. */
        struct tcp_sb *sb = tcp_sack_sb(tcb);
        if (sb)
            sb->high_rxt = sb->rescue_rxt = tcb->snd_una;
        tcp_rack_on_rto(tcb);
        tcb->dupacks = 0;
        tcb->recover = tcb->snd_max;     /* RFC 6582 4: no fast retransmit for old duplicates */
        tcp_send_head_rto(st, tcb, now);
    }
    tcp_timer_set(tcb, TK_REXMT, tcp_rto_backed_off(st, tcb), now);
    return true;
}

/* S3, S4: persist expiry. The send predicate, with the timer's override
 * (TF_FORCE: SWS avoidance, Nagle and cwnd do not hold), decides: U > 0 sends
 * min(U, D, MSS) bytes of new data (or the FIN), U = 0 a probe that forces an
 * ACK. The next interval is twice this one (up to PMAX); tcp_timers_update
 * arms it if something is still held back. */
static void on_persist(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    uint32_t len;
    bool fin;
    tcp_timer_restart(tcb);
    if (persist_interval(st, tcb) < TCP_PMAX_US)
        tcb->pshift++;
    tcb->flags |= TF_FORCE;
    int r = tcp_should_send(tcb, &len, &fin);
    if (r > 0)
        tcp_output(st, tcb, now);
    else if (r == TS_HOLD_WINDOW)
        tcp_send_zwp(st, tcb, now);
    tcb->flags &= ~TF_FORCE;
}

static bool on_keepalive(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    struct tcp_ext *e = tcb->ext;
    uint32_t intvl = e && e->keepintvl ? e->keepintvl : TCP_KEEPINTVL_DEF;
    uint32_t cnt = e && e->keepcnt ? e->keepcnt : TCP_KEEPCNT_DEF;
    if (tcb->snd_max != tcb->snd_una || tcp_send_held(tcb)) {
        tcp_keepalive_reset(st, tcb, now);   /* the retransmission or persist timer watches the peer */
        return true;
    }
    if (tcb->keep_probes >= cnt) {
        time_out(st, tcb, now);
        return false;
    }
    tcb->keep_probes++;
    tcp_send_keepalive(st, tcb, now);
    tcb->t_keep = t_ms(now) + intvl * 1000u;
    return true;
}

static bool on_send_slot(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    switch (tcb->tkind) {
    case TK_REXMT:
        return on_rexmt(st, tcb, now);
    case TK_PERSIST:
        on_persist(st, tcb, now);
        return true;
    case TK_RACK:
        tcp_timer_restart(tcb);
        tcp_rack_reo_timeout(st, tcb, now);
        return true;
    case TK_TLP:
        tcp_timer_restart(tcb);
        tcp_rack_pto(st, tcb, now);
        return true;
    case TK_TIMEWAIT:
    case TK_FW2:
        tcp_drop(st, tcb, 0, now);
        return false;
    default:
        return true;
    }
}

/* SO_LINGER time over: if our FIN is still unacknowledged the data was not
 * delivered in time — abort with RST. Returns false if the tcb is gone. */
static bool on_linger(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcb->flags &= ~TF_LINGER;
    if (tcb->state != US_TCP_FIN_WAIT_1 && tcb->state != US_TCP_CLOSING && tcb->state != US_TCP_LAST_ACK)
        return true;
    US_COUNT(st, TCP_LINGER_RST);
    tcp_send_rst_tcb(st, tcb, now);
    tcp_drop(st, tcb, 0, now);
    return false;
}

/* Returns false if the control block is gone. */
static bool timer_fire(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if ((tcb->flags & TF_LINGER) && tcb->ext && due_ms(tcb->ext->linger_end, now) && !on_linger(st, tcb, now))
        return false;
    if (!tcp_timer_idle(tcb) && due_us(tcb->t_send, now)) {
        if (!on_send_slot(st, tcb, now))
            return false;
    }
    if ((tcb->flags & TF_DELACK) && due_us(tcb->t_delack, now)) {
        tcb->flags &= ~TF_DELACK;
        tcb->flags |= TF_ACK_NOW;
    }
    if (keepalive_active(tcb) && due_ms(tcb->t_keep, now)) {
        if (!on_keepalive(st, tcb, now))
            return false;
    }
    if (tcb->state == US_TCP_TIME_WAIT) {
        if (tcb->flags & TF_ACK_NOW)
            tcp_send_ack(st, tcb, now);
        tcp_rearm(st, tcb, now);
        return true;
    }
    tcp_output(st, tcb, now);
    return true;
}

void tcp_timer_fire(struct us_stack *st, struct us_timer *t, us_time_t now)
{
    struct us_tcb *tcb = us_container_of(t, struct us_tcb, timer);
    if (timer_fire(st, tcb, now))
        tcp_check_s2(tcb, now, "timer");
}

#ifdef TCP_CHECK_INVARIANTS
static bool kind_covers_flight(uint8_t k) { return k == TK_REXMT || k == TK_RACK || k == TK_TLP; }

void tcp_check_s2(const struct us_tcb *tcb, us_time_t now, const char *step)
{
    if (tcb->state == US_TCP_CLOSED || tcb->state == US_TCP_LISTEN || tcb->state == US_TCP_TIME_WAIT)
        return;
    /* O(1) while data is in flight: the predicate (whose pipe walks the
     * RACK records and the scoreboard) is asked only when nothing is, and
     * then both are empty. */
    bool inflight = tcb->snd_max != tcb->snd_una;
    const char *want;
    if (inflight && !kind_covers_flight(tcb->tkind))
        want = "the retransmission timer (data in flight)";
    else if (!inflight && tcp_send_held(tcb) && tcb->tkind != TK_PERSIST)
        want = "the persist timer (data or FIN held back)";
    else if (!tcp_timer_idle(tcb) && (!us_timer_armed(&tcb->timer) || tcb->timer.when > t_us_abs(tcb->t_send, now)))
        want = "the heap timer at the send slot's deadline";
    else
        return;
    uint32_t len;
    bool fin;
    int r = tcp_should_send(tcb, &len, &fin);
    fprintf(stderr,
            "ustack: STALL.md S2 broken after %s at %llu ns: " TCP_CONN_FMT " %s wants %s\n"
            "  snd_una %u snd_nxt %u snd_max %u snd_wnd %u cwnd %u queued %u unsent %u fin_q %d flags 0x%x\n"
            "  send reason %d (%s) len %u; send timer kind %u deadline %u us (now %u us), heap timer %s\n",
            step, (unsigned long long)now, TCP_CONN_ARGS(tcb), us_tcp_state_name(tcb->state), want,
            tcb->snd_una, tcb->snd_nxt, tcb->snd_max, tcb->snd_wnd, tcb->cwnd, tcb->sndq.len, tcp_unsent(tcb),
            !!(tcb->flags & TF_FIN_Q), tcb->flags, r, tcp_send_reason_name(r), len, tcb->tkind, tcb->t_send,
            t_us(now), us_timer_armed(&tcb->timer) ? "armed" : "not armed");
    abort();
}
#endif
