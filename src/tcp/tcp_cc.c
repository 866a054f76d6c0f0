/* Congestion control: the registry of ops tables, NewReno, and HyStart++
 * (RFC 9406) for the initial slow start of NewReno and CUBIC.
 *
 * The core (tcp_in.c) counts duplicate ACKs, keeps the SACK scoreboard, runs
 * fast retransmit and the loss recovery — RFC 6675 with SACK, NewReno
 * (RFC 6582) without — and calls the hooks; an algorithm only decides the
 * window: init, on_ack (slow start / congestion avoidance), on_congestion
 * (ssthresh and cwnd when loss is detected), on_rto, after_idle,
 * post_recovery. NewReno's temporary window inflation during recovery is
 * part of the RFC 6582 algorithm and stays in the core.
 * Private per-connection state lives in tcb->cc_priv, US_TCP_CC_PRIV bytes,
 * checked at compile time. To add an algorithm: write the table in its own
 * file and list it in `algorithms` below; the stack default is CUBIC
 * (us_config.tcp_cc). */
#include <string.h>
#include "tcp_int.h"

uint32_t tcp_flight(const struct us_tcb *tcb)
{
    return tcb->snd_max - tcb->snd_una;
}

/* RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)). */
uint32_t tcp_iw(const struct us_tcb *tcb)
{
    uint32_t mss = tcb->mss_send;
    uint32_t b = 2 * mss > 14600 ? 2 * mss : 14600;
    return 10 * mss < b ? 10 * mss : b;
}

/* Slow start's increase for an ACK of `acked` bytes: RFC 3465's byte
 * counting with L = 2*SMSS (so that slow start still doubles per RTT when the
 * receiver delays ACKs), and none once cwnd is twice the FlightSize before
 * this ACK: a sender held back by the receive window or the application
 * does not test the path with the window it does not use (RFC 7661; Linux's
 * tcp_is_cwnd_limited in slow start). Without that bound an rwnd-limited
 * transfer's cwnd grew to 7.8 MB in 8 MB on a clean link — a burst of that
 * size once the window opens. */
static uint32_t ss_inc(const struct us_tcb *tcb, uint32_t acked)
{
    uint32_t mss = tcb->mss_send;
    if ((uint64_t)tcb->cwnd >= 2ull * ((uint64_t)tcp_flight(tcb) + acked))
        return 0;
    return acked < 2 * mss ? acked : 2 * mss;
}

bool tcp_cc_ca_limited(const struct us_tcb *tcb, uint32_t acked)
{
    return tcp_flight(tcb) + acked + tcb->mss_send >= tcb->cwnd;
}

/* RFC 5681 3.1 (slow start: ss_inc) and 3.1 congestion avoidance, one SMSS
 * per cwnd acknowledged, while cwnd is the limit (tcp_cc_ca_limited). */
void tcp_cc_slow_start_or_ca(struct us_tcb *tcb, uint32_t acked, uint32_t *ca_acc)
{
    uint32_t mss = tcb->mss_send;
    if (tcb->cwnd < tcb->ssthresh) {
        tcb->cwnd += ss_inc(tcb, acked);
        return;
    }
    if (!tcp_cc_ca_limited(tcb, acked))
        return;
    *ca_acc += acked;
    if (*ca_acc >= tcb->cwnd) {
        *ca_acc -= tcb->cwnd;
        tcb->cwnd += mss;
    }
}

/* ---- HyStart++ (RFC 9406) ------------------------------------------------------ */

/* RFC 9406 4.3 constants (RTTs in µs). L (the per-ACK increase limit) stays
 * RFC 3465's 2 SMSS of tcp_cc_slow_start_or_ca: the sender does not pace. */
#define HS_MIN_RTT_THRESH 4000u
#define HS_MAX_RTT_THRESH 16000u
#define HS_MIN_RTT_DIVISOR 8u
#define HS_N_RTT_SAMPLE 8u
#define HS_CSS_GROWTH_DIVISOR 4u
#define HS_CSS_ROUNDS 5u
#define HS_NONE UINT32_MAX

/* RFC 9406 4.2: HyStart++ runs in the initial slow start only (ssthresh at
 * its arbitrarily high initial value); later slow starts end at the
 * ssthresh a loss found. */
void tcp_hystart_init(struct tcp_hystart *h, const struct us_tcb *tcb, const struct us_config *cfg)
{
    h->window_end = tcb->snd_nxt;
    h->last_min = h->cur_min = h->css_base = HS_NONE;
    h->samples = 0;
    h->css_rounds = 0;
    h->phase = cfg->tcp_hystart ? HS_SS : HS_DONE;
}

/* RFC 9406 4.3: currentRoundMinRTT = min(currentRoundMinRTT, currRTT). The
 * sample of the ACK that ends a round belongs to that round (it times data
 * the round sent); tcp_hystart_ack then starts the next one. */
void tcp_hystart_rtt(struct tcp_hystart *h, uint32_t rtt_us)
{
    if (h->phase == HS_DONE)
        return;
    if (rtt_us < h->cur_min)
        h->cur_min = rtt_us;
    if (h->samples < 255)
        h->samples++;
}

static bool hs_enough(const struct tcp_hystart *h)
{
    return h->samples >= HS_N_RTT_SAMPLE && h->cur_min != HS_NONE && h->last_min != HS_NONE;
}

/* What tcp_cc_ack logs: the phase HyStart++ moved to and the figures behind it. */
static void hs_note(struct us_tcb *tcb, const struct tcp_hystart *h, uint32_t thresh)
{
    if (tcb->ext)
        tcb->ext->hs_note = (struct tcp_hs_note){ .last_min = h->last_min, .cur_min = h->cur_min,
                                                  .thresh = thresh, .base = h->css_base, .to = h->phase, .set = true };
}

bool tcp_hystart_ack(struct tcp_hystart *h, struct us_tcb *tcb, uint32_t acked)
{
    if (h->phase == HS_DONE)
        return false;
    if (seq_ge(tcb->snd_una, h->window_end)) {           /* a new round */
        h->last_min = h->cur_min;
        h->cur_min = HS_NONE;
        h->samples = 0;
        h->window_end = tcb->snd_nxt;
        if (h->phase == HS_CSS && ++h->css_rounds >= HS_CSS_ROUNDS) {
            tcb->ssthresh = tcb->cwnd;                   /* into congestion avoidance */
            h->phase = HS_DONE;
            hs_note(tcb, h, 0);
            return true;
        }
    }
    uint32_t inc = ss_inc(tcb, acked);
    if (h->phase == HS_SS) {
        tcb->cwnd += inc;
        if (hs_enough(h)) {
            uint32_t thresh = h->last_min / HS_MIN_RTT_DIVISOR;
            thresh = thresh < HS_MIN_RTT_THRESH ? HS_MIN_RTT_THRESH
                     : thresh > HS_MAX_RTT_THRESH ? HS_MAX_RTT_THRESH : thresh;
            if (h->cur_min >= h->last_min + thresh) {    /* delay increase: leave slow start */
                h->css_base = h->cur_min;
                h->css_rounds = 0;
                h->phase = HS_CSS;
                hs_note(tcb, h, thresh);
            }
        }
        return true;
    }
    tcb->cwnd += inc / HS_CSS_GROWTH_DIVISOR;
    if (hs_enough(h) && h->cur_min < h->css_base) {      /* a false exit: back to slow start */
        h->phase = HS_SS;
        hs_note(tcb, h, 0);
        h->css_base = HS_NONE;
    }
    return true;
}

/* ---- optional pacing of the window-based algorithms ---------------------------- */

void tcp_cc_pacing_init(struct us_tcb *tcb, const struct us_config *cfg)
{
    if (cfg->tcp_pacing && tcp_ext(tcb))
        tcb->ext->pace_on = true;
    else if (tcb->ext)
        tcb->ext->pace_on = false;
}

uint64_t tcp_cc_window_pacing_rate(const struct us_tcb *tcb)
{
    if (!tcb->ext || !tcb->ext->pace_on || !tcb->srtt)
        return 0;                        /* no RTT yet: nothing to pace by */
    uint32_t w = tcb->cwnd > tcp_flight(tcb) ? tcb->cwnd : tcp_flight(tcb);
    uint64_t rate = (uint64_t)w * 1000000u / tcb->srtt;
    return tcb->cwnd < tcb->ssthresh / 2 ? rate * 2 : rate * 12 / 10;
}

static uint32_t half_flight(const struct us_tcb *tcb)
{
    uint32_t h = tcp_flight(tcb) / 2;
    return h > 2u * tcb->mss_send ? h : 2u * tcb->mss_send;   /* RFC 5681 eq. (4) */
}

/* ---- NewReno --------------------------------------------------------------- */

struct newreno { struct tcp_hystart hs; uint32_t ca_acc; };
_Static_assert(sizeof(struct newreno) <= US_TCP_CC_PRIV, "newreno private state too large");

static struct newreno *nr(struct us_tcb *tcb) { return (struct newreno *)(void *)tcb->cc_priv; }

static void nr_init(struct us_tcb *tcb, const struct us_config *cfg)
{
    nr(tcb)->ca_acc = 0;
    tcb->cwnd = tcp_iw(tcb);
    tcb->ssthresh = 0x7fffffff;          /* RFC 5681 3.1: arbitrarily high */
    tcp_hystart_init(&nr(tcb)->hs, tcb, cfg);
    tcp_cc_pacing_init(tcb, cfg);
}

static void nr_on_ack(struct us_tcb *tcb, uint32_t acked, us_time_t now)
{
    (void)now;
    if (tcb->cwnd < tcb->ssthresh && tcp_hystart_ack(&nr(tcb)->hs, tcb, acked))
        return;
    tcp_cc_slow_start_or_ca(tcb, acked, &nr(tcb)->ca_acc);
}

static void nr_on_rtt(struct us_tcb *tcb, uint32_t rtt_us) { tcp_hystart_rtt(&nr(tcb)->hs, rtt_us); }

/* RFC 5681 3.2 step 2 / RFC 6675 5 step 4.2: ssthresh = cwnd = FlightSize/2. */
static void nr_on_congestion(struct us_tcb *tcb, us_time_t now)
{
    (void)now;
    nr(tcb)->hs.phase = HS_DONE;           /* RFC 9406 4.3: a loss ends HyStart++ */
    tcb->ssthresh = half_flight(tcb);
    tcb->cwnd = tcb->ssthresh;
    nr(tcb)->ca_acc = 0;
}

static void nr_on_rto(struct us_tcb *tcb, us_time_t now)
{
    (void)now;
    nr(tcb)->hs.phase = HS_DONE;           /* RFC 9406 4.3: a loss ends HyStart++ */
    tcb->ssthresh = half_flight(tcb);
    tcb->cwnd = tcb->mss_send;           /* RFC 5681 3.1: loss window = 1 SMSS */
    nr(tcb)->ca_acc = 0;
}

static void nr_after_idle(struct us_tcb *tcb, us_time_t now)
{
    (void)now;
    uint32_t iw = tcp_iw(tcb);
    if (tcb->cwnd > iw)
        tcb->cwnd = iw;                  /* RFC 5681 4.1: RW = min(IW, cwnd) */
}

/* The window a loss-based control leaves recovery with. After a SACK
 * recovery paced by PRR, ssthresh (RFC 6937 3: "cwnd = ssthresh" on exit): PRR
 * already held the flight near ssthresh. Option (1) of RFC 6582 3.2 step 3,
 * min(ssthresh, FlightSize + MSS), is for NewReno's inflated window only: after
 * PRR it threw the window away whenever the full ACK acknowledged the whole
 * flight — the usual case against Linux, whose receivers coalesce ACKs — and
 * every recovery ended at 2 MSS, then slow start against the receiver's 40 ms
 * delayed ACK (a 1% loss transfer to Linux: cwnd 2,896 after each recovery). */
uint32_t tcp_cc_exit_cwnd(const struct us_tcb *tcb)
{
    if (tcb->flags & TF_SACK_RCV)
        return tcb->ssthresh;
    uint32_t fl = tcp_flight(tcb);
    uint32_t m = (fl > tcb->mss_send ? fl : tcb->mss_send) + tcb->mss_send;
    return m < tcb->ssthresh ? m : tcb->ssthresh;
}

static void nr_post_recovery(struct us_tcb *tcb, us_time_t now)
{
    (void)now;
    tcb->cwnd = tcp_cc_exit_cwnd(tcb);
}

/* Undo of a spurious episode for an algorithm whose whole state is cc_priv:
 * as it was before the reduction (the epoch, W_max, the CA byte counter), as
 * if the episode never happened — RFC 4015 3.2 restores "the congestion
 * control state", not only cwnd. HyStart++ ended by the loss resumes. */
void tcp_cc_undo_restore(struct us_tcb *tcb, const uint8_t *saved)
{
    memcpy(tcb->cc_priv, saved, sizeof(tcb->cc_priv));
}

static const struct tcp_cc_ops tcp_newreno = {
    .name = "newreno",
    .init = nr_init,
    .on_ack = nr_on_ack,
    .on_congestion = nr_on_congestion,
    .on_rto = nr_on_rto,
    .after_idle = nr_after_idle,
    .post_recovery = nr_post_recovery,
    .on_rtt = nr_on_rtt,
    .pacing_rate = tcp_cc_window_pacing_rate,
    .undo = tcp_cc_undo_restore,
};

/* ---- registry -------------------------------------------------------------- */

extern const struct tcp_cc_ops tcp_cubic;   /* tcp_cubic.c */
extern const struct tcp_cc_ops tcp_bbr;     /* tcp_bbr.c */

static const struct tcp_cc_ops *const algorithms[] = {
    &tcp_newreno,
    &tcp_cubic,
    &tcp_bbr,
};
#define N_ALGOS (sizeof(algorithms) / sizeof(algorithms[0]))

static bool complete(const struct tcp_cc_ops *o)
{
    return o->name && o->init && o->on_ack && o->on_congestion && o->on_rto && o->after_idle &&
           o->post_recovery;
}

const struct tcp_cc_ops *tcp_cc_get(uint8_t idx)
{
    return idx < N_ALGOS ? algorithms[idx] : algorithms[0];
}

int tcp_cc_find(const char *name)
{
    for (size_t i = 0; i < N_ALGOS; i++)
        if (complete(algorithms[i]) && strncmp(algorithms[i]->name, name, 16) == 0)
            return (int)i;
    return -ENOENT;
}

/* ---- the hooks as the core calls them, and their trace ------------------------ */

/* The per-connection trace (debug log) of congestion events: one line per
 * event with its cause, in the TCP_CONN_FMT style of the send reasons
 * (tcp_out.c) and the undo (tcp_in.c). The algorithm's state is compared
 * before and after every hook, so that an algorithm with a state_name (BBR)
 * has its every change traced without logging anything itself. */
static bool tracing(const struct us_stack *st) { return st->log_fn && st->log_level >= US_LOG_DEBUG; }

static const char *state_now(const struct us_tcb *tcb)
{
    const struct tcp_cc_ops *cc = tcp_cc_get(tcb->cc_idx);
    return cc->state_name ? cc->state_name(tcb) : NULL;
}

/* The state before a hook; only asked while the trace is on. */
static const char *cc_state(const struct us_stack *st, const struct us_tcb *tcb)
{
    return tracing(st) ? state_now(tcb) : NULL;
}

static void state_trace(struct us_stack *st, const struct us_tcb *tcb, const char *before, const char *hook)
{
    if (!tracing(st))
        return;
    const char *after = state_now(tcb);
    if (after == before || (after && before && strcmp(after, before) == 0))
        return;
    US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " cc %s: %s -> %s (%s), cwnd %u, in flight %u", TCP_CONN_ARGS(tcb),
           tcp_cc_get(tcb->cc_idx)->name, before ? before : "-", after ? after : "-", hook, tcb->cwnd,
           tcp_flight(tcb));
}

/* RFC 9406 4.3 in the trace: leaving slow start on a delay increase (the
 * round's minimum RTT against the last round's plus the threshold), back on
 * a false exit, into congestion avoidance after CSS_ROUNDS rounds. */
static void hystart_trace(struct us_stack *st, struct us_tcb *tcb)
{
    struct tcp_hs_note *n = tcb->ext ? &tcb->ext->hs_note : NULL;
    if (!n || !n->set)
        return;
    n->set = false;
    if (n->to == HS_CSS)
        US_LOG(st, US_LOG_DEBUG,
               TCP_CONN_FMT " hystart: slow start -> CSS on a delay increase (round min RTT %u us >= last round's "
               "%u us + %u us), cwnd %u",
               TCP_CONN_ARGS(tcb), n->cur_min, n->last_min, n->thresh, tcb->cwnd);
    else if (n->to == HS_SS)
        US_LOG(st, US_LOG_DEBUG,
               TCP_CONN_FMT " hystart: CSS -> slow start, a false exit (round min RTT %u us < CSS baseline %u us), "
               "cwnd %u",
               TCP_CONN_ARGS(tcb), n->cur_min, n->base, tcb->cwnd);
    else
        US_LOG(st, US_LOG_DEBUG,
               TCP_CONN_FMT " hystart: CSS -> congestion avoidance after %u rounds (CSS baseline %u us), "
               "ssthresh = cwnd = %u",
               TCP_CONN_ARGS(tcb), HS_CSS_ROUNDS, n->base, tcb->cwnd);
}

void tcp_cc_init(struct us_stack *st, struct us_tcb *tcb)
{
    if (tcb->ext)
        tcb->ext->hs_note.set = false;
    tcp_cc_get(tcb->cc_idx)->init(tcb, &st->cfg);
    const char *s = cc_state(st, tcb);
    if (s)
        US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " cc %s: %s (init), cwnd %u", TCP_CONN_ARGS(tcb),
               tcp_cc_get(tcb->cc_idx)->name, s, tcb->cwnd);
}

void tcp_cc_ack(struct us_stack *st, struct us_tcb *tcb, uint32_t acked, us_time_t now)
{
    const char *s0 = cc_state(st, tcb);
    tcp_cc_get(tcb->cc_idx)->on_ack(tcb, acked, now);
    hystart_trace(st, tcb);
    state_trace(st, tcb, s0, "ack");
}

/* cause: what detected the loss, e.g. "recovery: enter on 3 duplicate ACKs (RFC 5681 3.2)". */
void tcp_cc_congestion(struct us_stack *st, struct us_tcb *tcb, const char *cause, us_time_t now)
{
    const char *s0 = cc_state(st, tcb);
    uint32_t cwnd = tcb->cwnd, ssthresh = tcb->ssthresh;
    tcp_cc_get(tcb->cc_idx)->on_congestion(tcb, now);
    US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " %s: cwnd %u -> %u, ssthresh %u -> %u, in flight %u, srtt %u us",
           TCP_CONN_ARGS(tcb), cause, cwnd, tcb->cwnd, ssthresh, tcb->ssthresh, tcp_flight(tcb), tcb->srtt);
    state_trace(st, tcb, s0, "congestion");
}

/* After the expiry's back-off (tcp_timer.c on_rexmt): the timeout that
 * expired was RTO << (backoff - 1); the next one waits twice that. */
void tcp_cc_rto(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    const char *s0 = cc_state(st, tcb);
    uint32_t cwnd = tcb->cwnd, ssthresh = tcb->ssthresh;
    tcp_cc_get(tcb->cc_idx)->on_rto(tcb, now);
    US_LOG(st, US_LOG_DEBUG,
           TCP_CONN_FMT " rto: expired (backoff %u, rto %u us, next timeout %u us), cwnd %u -> %u, ssthresh %u -> %u, "
           "in flight %u",
           TCP_CONN_ARGS(tcb), tcb->backoff, tcb->rto, tcp_rto_backed_off(st, tcb), cwnd, tcb->cwnd, ssthresh,
           tcb->ssthresh, tcp_flight(tcb));
    state_trace(st, tcb, s0, "rto");
}

void tcp_cc_after_idle(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    const char *s0 = cc_state(st, tcb);
    uint32_t cwnd = tcb->cwnd;
    tcp_cc_get(tcb->cc_idx)->after_idle(tcb, now);
    if (tcb->cwnd != cwnd)
        US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " idle restart (RFC 5681 4.1): cwnd %u -> %u", TCP_CONN_ARGS(tcb), cwnd,
               tcb->cwnd);
    state_trace(st, tcb, s0, "after idle");
}

/* Called with TF_SACK_RCV still telling whose recovery it was. */
void tcp_cc_post_recovery(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    const char *s0 = cc_state(st, tcb);
    uint32_t cwnd = tcb->cwnd;
    tcp_cc_get(tcb->cc_idx)->post_recovery(tcb, now);
    US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " recovery: exit (%s), cwnd %u -> %u, ssthresh %u, in flight %u",
           TCP_CONN_ARGS(tcb), (tcb->flags & TF_SACK_RCV) ? "SACK, PRR" : "NewReno", cwnd, tcb->cwnd, tcb->ssthresh,
           tcp_flight(tcb));
    state_trace(st, tcb, s0, "post recovery");
}

void tcp_cc_rtt(struct us_stack *st, struct us_tcb *tcb, uint32_t rtt_us)
{
    const struct tcp_cc_ops *cc = tcp_cc_get(tcb->cc_idx);
    if (!cc->on_rtt)
        return;
    const char *s0 = cc_state(st, tcb);
    cc->on_rtt(tcb, rtt_us);
    state_trace(st, tcb, s0, "rtt");
}

void tcp_cc_rate(struct us_stack *st, struct us_tcb *tcb, const struct tcp_rate_sample *rs, us_time_t now)
{
    const struct tcp_cc_ops *cc = tcp_cc_get(tcb->cc_idx);
    if (!cc->on_rate)
        return;
    const char *s0 = cc_state(st, tcb);
    cc->on_rate(tcb, rs, now);
    state_trace(st, tcb, s0, "rate sample");
}

/* ---- public: the registry's names (ustack.h) ---------------------------------- */

size_t us_cc_count(void) { return N_ALGOS; }

const char *us_cc_name(size_t i)
{
    return i < N_ALGOS && complete(algorithms[i]) ? algorithms[i]->name : NULL;
}
