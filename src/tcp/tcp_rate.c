/* Delivery-rate sampling (draft-cheng-iccrg-delivery-rate-estimation).
 *
 * Every segment that leaves carries a snapshot of the connection's delivery
 * state in its RACK record (struct tcp_rate_tx: P.delivered,
 * P.delivered_time, P.first_sent_time, P.is_app_limited, and for BBR v3 the
 * bytes in flight and lost at that moment). When a record is delivered —
 * cumulatively ACKed or newly SACKed — C.delivered grows and the most
 * recently sent delivered record becomes the sample's reference; at the end
 * of the ACK the sample is
 *
 *     rs.delivered = C.delivered - P.delivered
 *     rs.interval  = max(send_elapsed, ack_elapsed)
 *     delivery_rate = rs.delivered / rs.interval
 *
 * with send_elapsed = P.sent_time - P.first_sent_time (the send rate of the
 * flight that segment ended) and ack_elapsed = now - P.delivered_time (the
 * ACK rate), so neither an ACK burst nor a send burst overstates the rate.
 * An interval below the minimum RTT is implausible (ACK compression) and the
 * sample is not used, as in the draft and Linux. C.app_limited marks the
 * delivered count up to which samples may be limited by the application,
 * not the network (tcp_rate_check_app_limited from tcp_output).
 *
 * The records exist on connections with RACK (SACK negotiated); without
 * them no samples are made. Times are the core's 32-bit µs (t_us). */
#include "tcp_int.h"

static struct tcp_rate *rate_of(struct us_tcb *tcb)
{
    return (tcb->flags & TF_RACK) && tcb->ext ? &tcb->ext->rate : NULL;
}

uint64_t tcp_rate_delivered_total(const struct us_tcb *tcb)
{
    return tcb->ext ? tcb->ext->rate.delivered : 0;
}

/* The draft's "upon each packet transmission". */
void tcp_rate_sent(struct us_tcb *tcb, struct tcp_rseg *g, uint32_t tx_in_flight, uint32_t t)
{
    struct tcp_rate *c = rate_of(tcb);
    if (!c)
        return;
    if (tcb->snd_max == tcb->snd_una)
        c->first_tx_us = c->delivered_us = t;     /* nothing in flight: a new flight starts */
    g->rt.delivered = (uint32_t)c->delivered;
    g->rt.delivered_us = c->delivered_us;
    g->rt.first_tx_us = c->first_tx_us;
    g->rt.tx_in_flight = tx_in_flight;
    g->rt.lost = (uint32_t)c->lost;
    if (c->app_limited)
        g->fl |= RS_APP_LIMITED;
    else
        g->fl &= ~(uint32_t)RS_APP_LIMITED;
}

/* The draft's "UpdateRateSample" for one delivered record. The reference is
 * the most recently sent one: the largest P.delivered, then the latest send. */
void tcp_rate_delivered(struct us_tcb *tcb, const struct tcp_rseg *g, uint32_t t)
{
    struct tcp_rate *c = rate_of(tcb);
    if (!c)
        return;
    c->delivered += g->end - g->seq;
    c->delivered_us = t;
    int32_t d = (int32_t)(g->rt.delivered - c->prior_delivered);
    if (c->have && (d < 0 || (d == 0 && (int32_t)(g->xmit_us - c->first_tx_us) <= 0)))
        return;
    c->have = true;
    c->prior_delivered = g->rt.delivered;
    c->prior_us = g->rt.delivered_us;
    c->app = (g->fl & RS_APP_LIMITED) != 0;
    c->send_elapsed = g->xmit_us - g->rt.first_tx_us;
    c->ack_elapsed = t - g->rt.delivered_us;
    c->tx_in_flight = g->rt.tx_in_flight;
    c->prior_lost = g->rt.lost;
    c->rtt_us = (g->fl & RS_RETRANS) ? 0 : (t - g->xmit_us ? t - g->xmit_us : 1);
    c->first_tx_us = g->xmit_us;                  /* the next flight's send interval starts here */
}

void tcp_rate_lost(struct us_tcb *tcb, uint32_t bytes)
{
    struct tcp_rate *c = rate_of(tcb);
    if (c)
        c->lost += bytes;
}

/* The draft's "GenerateRateSample", then the algorithm's on_rate. */
void tcp_rate_ack(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    struct tcp_rate *c = rate_of(tcb);
    if (!c)
        return;
    struct tcp_rate_sample *rs = &c->rs;
    *rs = (struct tcp_rate_sample){0};
    if (c->app_limited && c->delivered > c->app_limited)
        c->app_limited = 0;                       /* the app-limited flight was delivered */
    rs->newly_acked = (uint32_t)(c->delivered - c->delivered_gen);
    rs->newly_lost = (uint32_t)(c->lost - c->lost_gen);
    c->delivered_gen = c->delivered;
    c->lost_gen = c->lost;
    if (c->have) {
        rs->delivered = (uint32_t)c->delivered - c->prior_delivered;
        rs->prior_delivered = c->delivered - rs->delivered;
        rs->interval_us = c->send_elapsed > c->ack_elapsed ? c->send_elapsed : c->ack_elapsed;
        rs->is_app_limited = c->app;
        rs->rtt_us = c->rtt_us;
        rs->tx_in_flight = c->tx_in_flight;
        rs->lost = (uint32_t)c->lost - c->prior_lost;
        if (rs->rtt_us && (!c->min_rtt_us || rs->rtt_us < c->min_rtt_us))
            c->min_rtt_us = rs->rtt_us;
        if (rs->interval_us && rs->interval_us >= c->min_rtt_us && rs->delivered) {
            rs->valid = true;
            rs->delivery_rate = (uint64_t)rs->delivered * 1000000u / rs->interval_us;
            c->last_rate = rs->delivery_rate;
            c->last_app_limited = rs->is_app_limited;
        }
        c->have = false;
    }
    tcp_cc_rate(st, tcb, rs, now);
}

/* The draft's CheckIfApplicationLimited, when the sender stops: less than a
 * segment left to send, nothing marked lost waiting, room in cwnd. */
void tcp_rate_check_app_limited(struct us_tcb *tcb)
{
    struct tcp_rate *c = rate_of(tcb);
    if (!c || tcp_unsent(tcb) >= tcb->mss_send || tcp_flight(tcb) >= tcb->cwnd || tcp_rack_lost_pending(tcb))
        return;
    uint64_t m = c->delivered + tcp_flight(tcb);
    c->app_limited = m ? m : 1;
}
