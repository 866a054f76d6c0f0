/* CUBIC congestion control (RFC 9438) as a tcp_cc_ops table.
 *
 * Slow start is NewReno's (tcp_cc_slow_start_or_ca, RFC 5681 3.1 with ABC),
 * the initial one with HyStart++ (RFC 9406, tcp_hystart_*; RFC 9438 4.10
 * allows it). In congestion avoidance the window
 * follows the cubic curve of RFC 9438 4.2
 *
 *     W_cubic(t) = C * (t - K)^3 + W_max,   C = 0.4,  K = cbrt((W_max - cwnd_epoch) / C)
 *
 * (segments, seconds), concave below W_max (4.4) and convex above it (4.5),
 * never slower than the Reno estimate W_est (the Reno-friendly region, 4.3).
 * On loss the window drops by beta_cubic = 0.7 (4.6) with fast convergence
 * (4.7); a timeout restarts from one segment (4.8).
 *
 * Units: windows in bytes (W_cubic(t) in segments times mss_send), times in
 * ms since the epoch (the start of the current congestion-avoidance stage).
 * Everything is integer arithmetic, so a simulated run is bit-for-bit
 * deterministic on every platform. The 24-byte private area holds, once
 * the initial slow start is over (until then the same bytes hold HyStart++'s
 * state, and none of the fields below has a value yet):
 *
 *     w_max       bytes, the window at the last reduction (after fast convergence)
 *     cwnd_prior  bytes, cwnd just before the last reduction (4.3 alpha switch)
 *     epoch_ms    start of the congestion-avoidance stage (valid with CF_EPOCH)
 *     w_est       bytes, the Reno-friendly estimate (4.3)
 *     k_ms        K in ms (saturated at 65.5 s, i.e. W_max > 500 MB at 1460 B)
 *     acc         cubic increase in bytes not yet a whole segment
 *     est_frac    fraction of a byte of W_est, 1/65536 units
 *
 * Deviations worth knowing: cwnd stays a multiple of the MSS (increments are
 * accumulated and applied a whole segment at a time), and cwnd does not grow
 * while the sender is not cwnd-limited (RFC 9438 5.8, RFC 7661). */
#include <stddef.h>
#include <string.h>
#include "tcp_int.h"

/* beta_cubic = 7/10; C = 4/10; alpha_cubic = 3 (1 - beta) / (1 + beta) = 9/17. */
#define BETA_NUM 7u
#define BETA_DEN 10u
#define ALPHA_NUM 9u
#define ALPHA_DEN 17u
#define CWND_MAX (1u << 30)          /* saturate: the window never needs more */

enum { CF_EPOCH = 1, CF_AFTER_RTO = 2 };

struct cubic {
    union {
        struct {
            uint32_t w_max, cwnd_prior, epoch_ms, w_est;
            uint16_t k_ms, acc, est_frac;
            uint8_t flags, hs_on;    /* beyond hs: valid throughout */
        };
        struct tcp_hystart hs;       /* while hs_on: the initial slow start */
    };
};
_Static_assert(offsetof(struct cubic, flags) >= sizeof(struct tcp_hystart), "hystart overlaps flags");
_Static_assert(sizeof(struct cubic) <= US_TCP_CC_PRIV, "cubic private state too large");

static struct cubic *cb(struct us_tcb *tcb) { return (struct cubic *)(void *)tcb->cc_priv; }

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* Largest k with k^3 <= x (x < 2^63). */
static uint64_t icbrt(uint64_t x)
{
    uint64_t lo = 0, hi = 2097152;   /* 2^21: (2^21)^3 = 2^63 */
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (mid * mid * mid <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* RFC 9438 4.2 Figure 2 in ms: K = cbrt((W_max - cwnd_epoch) / (C * MSS)) s,
 * so K_ms^3 = diff_bytes * 1e9 / (0.4 * MSS) = diff_bytes * 2.5e9 / MSS. */
static uint16_t cubic_k_ms(uint32_t diff_bytes, uint32_t mss)
{
    uint64_t k3 = (uint64_t)diff_bytes * 2500000000ull / mss;
    uint64_t k = icbrt(k3);
    return (uint16_t)(k > 0xffff ? 0xffff : k);
}

/* RFC 9438 4.2 Figure 1 in bytes: W_cubic(t) = C (t - K)^3 + W_max, with
 * t - K in ms: C (d/1000)^3 segments = 4 d^3 / 1e10 segments. */
static uint64_t w_cubic(const struct cubic *c, int64_t t_ms, uint32_t mss)
{
    int64_t d = t_ms - (int64_t)c->k_ms;
    if (d > (1 << 20))
        d = 1 << 20;                 /* ~17 min past K: far beyond any clamp */
    if (d < -(1 << 20))
        d = -(1 << 20);
    int64_t off = d * d * d / 1000000;                    /* |d|^3 <= 2^60 */
    int64_t bytes = off * (int64_t)mss * 4 / 10000;
    int64_t w = (int64_t)c->w_max + bytes;
    return w < 0 ? 0 : (uint64_t)w;
}

/* ---- the congestion-avoidance stage ------------------------------------------ */

/* First ACK of a congestion-avoidance stage: RFC 9438 4.2 (t starts now,
 * K from W_max and cwnd_epoch), 4.3 (W_est = cwnd_epoch), 4.8 (after a
 * timeout W_max = cwnd_epoch, hence K = 0). A cwnd already at or above W_max
 * (possible when FlightSize exceeded cwnd at the loss) also gives K = 0 with
 * the curve's origin at cwnd, as Linux does. */
static void start_epoch(struct us_tcb *tcb, uint32_t now_ms)
{
    struct cubic *c = cb(tcb);
    uint32_t epoch = tcb->cwnd;
    if ((c->flags & CF_AFTER_RTO) || c->w_max <= epoch)
        c->w_max = epoch;
    c->k_ms = cubic_k_ms(c->w_max - epoch, tcb->mss_send);
    c->epoch_ms = now_ms;
    c->w_est = epoch;
    c->est_frac = 0;
    c->acc = 0;
    c->flags = (uint8_t)((c->flags | CF_EPOCH) & ~CF_AFTER_RTO);
}

/* RFC 9438 4.3: W_est += alpha_cubic * segments_acked / cwnd (segments),
 * alpha_cubic = 9/17 until W_est reaches cwnd_prior, then 1 (Reno's rate). */
static void grow_w_est(struct us_tcb *tcb, uint32_t acked)
{
    struct cubic *c = cb(tcb);
    uint64_t num = c->w_est >= c->cwnd_prior ? 1 : ALPHA_NUM;
    uint64_t den = c->w_est >= c->cwnd_prior ? 1 : ALPHA_DEN;
    uint64_t a = min_u32(acked, 1u << 24);
    /* (acked * mss) <= 2^40, << 16 and * 9 stays below 2^60 */
    uint64_t q16 = ((a * tcb->mss_send) << 16) * num / (den * tcb->cwnd) + c->est_frac;
    uint64_t w = c->w_est + (q16 >> 16);
    c->w_est = (uint32_t)(w > CWND_MAX ? CWND_MAX : w);
    c->est_frac = (uint16_t)(q16 & 0xffff);
}

/* RFC 9438 4.4 / 4.5: target = W_cubic(t + RTT) bounded to [cwnd, 1.5 cwnd];
 * cwnd grows by (target - cwnd) / cwnd per segment acknowledged. */
static void grow_cubic(struct us_tcb *tcb, uint32_t acked, int64_t t_ms)
{
    struct cubic *c = cb(tcb);
    uint32_t mss = tcb->mss_send;
    uint64_t target = w_cubic(c, t_ms + tcb->srtt / 1000, mss);
    uint64_t hi = (uint64_t)tcb->cwnd + tcb->cwnd / 2;
    if (target > hi)
        target = hi;
    if (target <= tcb->cwnd)
        return;
    uint64_t inc = (target - tcb->cwnd) * min_u32(acked, 1u << 24) / tcb->cwnd + c->acc;
    uint64_t segs = inc / mss;
    c->acc = (uint16_t)(inc % mss);
    uint64_t w = tcb->cwnd + segs * mss;
    tcb->cwnd = (uint32_t)(w > CWND_MAX ? CWND_MAX : w);
}

static void congestion_avoidance(struct us_tcb *tcb, uint32_t acked, us_time_t now)
{
    struct cubic *c = cb(tcb);
    uint32_t now_ms = t_ms(now);
    if (!(c->flags & CF_EPOCH))
        start_epoch(tcb, now_ms);
    int64_t t = (int64_t)(uint32_t)(now_ms - c->epoch_ms);
    grow_w_est(tcb, acked);
    /* RFC 9438 4.3: W_cubic(t) below W_est — the Reno-friendly region. */
    if (w_cubic(c, t, tcb->mss_send) < c->w_est) {
        uint32_t w = c->w_est - c->w_est % tcb->mss_send;
        if (w > tcb->cwnd)
            tcb->cwnd = w;
        return;
    }
    grow_cubic(tcb, acked, t);
}

/* ---- hooks ------------------------------------------------------------------ */

static void cubic_init(struct us_tcb *tcb, const struct us_config *cfg)
{
    struct cubic *c = cb(tcb);
    memset(c, 0, sizeof(struct cubic));
    tcb->cwnd = tcp_iw(tcb);
    tcb->ssthresh = 0x7fffffff;      /* RFC 5681 3.1: arbitrarily high */
    tcp_hystart_init(&c->hs, tcb, cfg);
    c->hs_on = c->hs.phase != HS_DONE;
    if (!c->hs_on)
        memset(c, 0, offsetof(struct cubic, flags));
    tcp_cc_pacing_init(tcb, cfg);
}

/* HyStart++ is over (a loss, a timeout, or CSS done): the shared bytes
 * become CUBIC's, which start from zero as after init. */
static void hystart_end(struct cubic *c)
{
    if (!c->hs_on)
        return;
    c->hs_on = 0;
    memset(c, 0, offsetof(struct cubic, flags));
}

static void cubic_on_rtt(struct us_tcb *tcb, uint32_t rtt_us)
{
    struct cubic *c = cb(tcb);
    if (c->hs_on)
        tcp_hystart_rtt(&c->hs, rtt_us);
}

static void cubic_on_ack(struct us_tcb *tcb, uint32_t acked, us_time_t now)
{
    struct cubic *c = cb(tcb);
    if (c->hs_on && tcb->cwnd < tcb->ssthresh && tcp_hystart_ack(&c->hs, tcb, acked)) {
        if (c->hs.phase == HS_DONE)
            hystart_end(c);
        return;
    }
    hystart_end(c);
    if (tcb->cwnd < tcb->ssthresh) {
        uint32_t unused = 0;
        tcp_cc_slow_start_or_ca(tcb, acked, &unused);   /* RFC 9438 4.10 */
        return;
    }
    /* RFC 9438 5.8 / RFC 7661: no growth while the window was not the limit
     * (application- or receiver-limited). */
    if (!tcp_cc_ca_limited(tcb, acked))
        return;
    congestion_avoidance(tcb, acked, now);
}

/* RFC 9438 4.6: ssthresh = max(FlightSize * beta_cubic, 2 MSS), where
 * implementations that use cwnd instead "MUST use other measures to prevent
 * cwnd from growing when the volume of bytes in flight is smaller than cwnd".
 * A fast recovery reduces cwnd (as Linux's cubictcp_recalc_ssthresh does):
 * cwnd does not grow unless it is the limit (slow start: below twice the
 * FlightSize, tcp_cc.c; congestion avoidance: within a segment of it, below),
 * and FlightSize is what is left in flight after the ACK that found the loss
 * — against a receiver that coalesces a flight's ACKs (Linux over TAP), that
 * ACK has often acknowledged most of it: at 2% loss cwnd fell from 12 to 2
 * segments, and a flight of two segments waited out Linux's 40 ms delayed
 * ACK. An RTO reduces FlightSize (everything outstanding then: 4.8). */
static uint32_t reduced(const struct us_tcb *tcb, uint32_t base)
{
    uint64_t w = (uint64_t)base * BETA_NUM / BETA_DEN;
    w -= w % tcb->mss_send;
    return max_u32((uint32_t)w, 2u * tcb->mss_send);
}

/* RFC 9438 4.7 fast convergence: a loss below the previous W_max means a new
 * flow is competing; release bandwidth by remembering W_max * (1 + beta) / 2. */
static void remember_w_max(struct us_tcb *tcb)
{
    struct cubic *c = cb(tcb);
    if (tcb->cwnd < c->w_max)
        c->w_max = (uint32_t)((uint64_t)tcb->cwnd * (BETA_DEN + BETA_NUM) / (2 * BETA_DEN));
    else
        c->w_max = tcb->cwnd;
    c->cwnd_prior = tcb->cwnd;
}

static void cubic_on_congestion(struct us_tcb *tcb, us_time_t now)
{
    (void)now;
    struct cubic *c = cb(tcb);
    hystart_end(c);                  /* RFC 9406 4.3: a loss ends HyStart++ */
    remember_w_max(tcb);
    tcb->ssthresh = reduced(tcb, tcb->cwnd);
    tcb->cwnd = tcb->ssthresh;       /* RFC 9438 4.6: cwnd = max(ssthresh, 2) on loss */
    c->flags &= (uint8_t)~(CF_EPOCH | CF_AFTER_RTO);
}

/* RFC 9438 4.8: ssthresh as in 4.6, cwnd = 1 SMSS (RFC 5681 3.1); in the next
 * congestion-avoidance stage W_max and W_est start at cwnd_epoch (K = 0). */
static void cubic_on_rto(struct us_tcb *tcb, us_time_t now)
{
    (void)now;
    struct cubic *c = cb(tcb);
    hystart_end(c);
    c->cwnd_prior = tcb->cwnd;
    tcb->ssthresh = reduced(tcb, tcp_flight(tcb));
    tcb->cwnd = tcb->mss_send;
    c->flags = (uint8_t)((c->flags & ~CF_EPOCH) | CF_AFTER_RTO);
}

/* RFC 5681 4.1 restart window, as NewReno. The cubic clock must not count
 * the idle period (RFC 9438 5.8: t would otherwise jump and the window with
 * it): shift the epoch start by the time since the last data was sent, as
 * Linux does on CA_EVENT_TX_START. */
static void cubic_after_idle(struct us_tcb *tcb, us_time_t now)
{
    struct cubic *c = cb(tcb);
    if ((c->flags & CF_EPOCH) && tcb->t_lastsnd) {
        uint32_t idle = t_ms(now) - tcb->t_lastsnd;
        uint32_t since = t_ms(now) - c->epoch_ms;
        c->epoch_ms += min_u32(idle, since);   /* never into the future */
    }
    tcb->cwnd = min_u32(tcb->cwnd, tcp_iw(tcb));
}

/* Leaving recovery: as NewReno (tcp_cc_exit_cwnd) — ssthresh after PRR, else
 * min(ssthresh, FlightSize + MSS). The epoch starts with the first ACK of
 * congestion avoidance. */
static void cubic_post_recovery(struct us_tcb *tcb, us_time_t now)
{
    (void)now;
    tcb->cwnd = tcp_cc_exit_cwnd(tcb);
}

extern const struct tcp_cc_ops tcp_cubic;   /* listed in tcp_cc.c's registry */
const struct tcp_cc_ops tcp_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .on_congestion = cubic_on_congestion,
    .on_rto = cubic_on_rto,
    .after_idle = cubic_after_idle,
    .post_recovery = cubic_post_recovery,
    .on_rtt = cubic_on_rtt,
    .pacing_rate = tcp_cc_window_pacing_rate,
    .undo = tcp_cc_undo_restore,     /* W_max, K and the epoch as before the episode */
};
