/* Findings that need the whole capture: the handshake and its options, and
 * the per-side tallies (right edge, reopenings, short segments, data beyond
 * the window, updates taken as duplicates), emitted once per connection. */
#include <stdio.h>
#include "an_internal.h"

static double rel_s(const struct an_conn *c, us_time_t t) { return t > c->t_base ? (double)(t - c->t_base) / 1e9 : 0; }

static void handshake_findings(struct an_conn *c)
{
    struct us_an_side *x = &c->pub.side[0], *y = &c->pub.side[1];
    char a[32], b[32];
    an_side_name(c, 0, a);
    an_side_name(c, 1, b);
    if (!x->syn_seen && !y->syn_seen) {
        an_finding(c, US_AN_INFO, US_AN_NO_HANDSHAKE, 0, c->pub.t_first,
                   "the handshake is not in the capture: window scale unknown, windows are read unscaled");
        return;
    }
    if (x->syn_seen && !y->syn_seen && !c->d[1].ack_set) {
        an_finding(c, US_AN_WARNING, US_AN_NOT_ESTABLISHED, 0, c->d[0].syn_t,
                   "%u SYN%s from %s to %s went unanswered", c->d[0].syns, c->d[0].syns == 1 ? "" : "s", a, b);
        return;
    }
    if (x->syn_seen && !y->syn_seen && y->rst) {
        an_finding(c, US_AN_INFO, US_AN_NOT_ESTABLISHED, 1, c->pub.t_first, "%s refused the connection (RST)", b);
        return;
    }
    if (!c->ws_note)
        return;
    if (x->wscale >= 0) {
        bool proof = c->d[1].beyond_n > 0;
        an_finding(c, proof ? US_AN_ERROR : US_AN_WARNING, US_AN_WSCALE_MISMATCH, 0, c->synack_t,
                   "window scale mismatch: the SYN from %s carried wscale %d but the SYN-ACK from %s carried none, so %s does not scale (S8); %s (STALL way 6)",
                   a, x->wscale, b, a,
                   proof ? "confirmed by the trace: the peer sent data beyond the unscaled window, so it scales — the option was stripped in transit"
                         : "if a middlebox stripped it, the peer scales and reads the window field 2^N times differently (likely, unless the peer does not implement scaling)");
    } else {
        an_finding(c, US_AN_ERROR, US_AN_WSCALE_MISMATCH, 1, c->synack_t,
                   "window scale mismatch: the SYN-ACK from %s carried wscale %d although the SYN from %s carried none (RFC 7323 1.3 forbids it): likely the option was stripped from the SYN in transit, so %s scales its windows and %s does not (STALL way 6)",
                   b, y->wscale, a, a, b);
    }
}

static void tally_findings(struct an_conn *c, int i)
{
    struct an_dir *D = &c->d[i];
    char a[32], b[32];
    an_side_name(c, i, a);
    an_side_name(c, !i, b);
    if (D->beyond_n)
        an_finding(c, c->ws_note ? US_AN_ERROR : US_AN_WARNING, US_AN_BEYOND_WINDOW, i, D->beyond_t,
                   "%s sent %llu bytes in %llu segments beyond %s's advertised right edge (first at %.3f s)%s", a,
                   (unsigned long long)D->beyond_bytes, (unsigned long long)D->beyond_n, b, rel_s(c, D->beyond_t),
                   c->ws_note ? ": the two ends read the window differently (window scale mismatch)" : "");
    if (D->edge_left_n)
        an_finding(c, US_AN_ERROR, US_AN_EDGE_LEFT, i, D->edge_left_t,
                   "%s moved its right edge (ACK + window) left %llu time%s, by up to %llu bytes (first at %.3f s): a shrinking window (R1; RFC 1122 4.2.2.16)%s",
                   a, (unsigned long long)D->edge_left_n, D->edge_left_n == 1 ? "" : "s",
                   (unsigned long long)D->edge_left_max, rel_s(c, D->edge_left_t),
                   c->ws_note ? ", likely an artifact of the window scale mismatch" : "");
    if (D->sws_n)
        an_finding(c, US_AN_WARNING, US_AN_SWS_REOPEN, i, D->sws_t,
                   "%s reopened a small window in steps below min(MSS, buffer/2) %llu time%s (first at %.3f s: +%llu bytes): receiver SWS avoidance missing (R2; RFC 9293 3.8.6.2.2)",
                   a, (unsigned long long)D->sws_n, D->sws_n == 1 ? "" : "s", rel_s(c, D->sws_t),
                   (unsigned long long)D->sws_step);
    if (D->short_n)
        an_finding(c, US_AN_WARNING, US_AN_SHORT_SEGMENT, i, D->short_t,
                   "%s sent %llu short segment%s while data was in flight and more data followed (first at %.3f s: %u bytes): neither the tail, a retransmission nor forced — sender SWS avoidance/Nagle not applied (S1, S11; likely TCP_NODELAY)",
                   a, (unsigned long long)D->short_n, D->short_n == 1 ? "" : "s", rel_s(c, D->short_t), D->short_len);
    if (D->nd_n)
        an_finding(c, US_AN_WARNING, US_AN_NAGLE_DELACK, i, D->nd_first_t,
                   "Nagle x delayed ACK: %s's %u-byte segment at %.6f s was alone in flight; %s acknowledged it with a pure ACK held %.1f ms beyond a round trip (presumably its delayed-ACK timer), and %s's next data (%u bytes) left only as that ACK arrived: likely held by Nagle's rule (RFC 896) — %llu time%s, %.1f ms lost in all; TCP_NODELAY or writing the message in one call (writev) avoids it",
                   a, D->nd_first_len, rel_s(c, D->nd_first_t), b, (double)D->nd_first_hold / 1e6, a,
                   D->nd_first_next, (unsigned long long)D->nd_n, D->nd_n == 1 ? "" : "s", (double)D->nd_lost / 1e6);
    if (D->upd_retx_n)
        an_finding(c, US_AN_WARNING, US_AN_UPDATE_FAST_RETX, i, D->upd_retx_t,
                   "%s retransmitted its first unacknowledged segment right after window updates, likely counting them as duplicate ACKs (%llu time%s, first at %.3f s): an ACK that changes the window is not a duplicate (RFC 5681 2; S6, STALL way 7)",
                   a, (unsigned long long)D->upd_retx_n, D->upd_retx_n == 1 ? "" : "s", rel_s(c, D->upd_retx_t));
}

void an_conn_finish(struct us_an *an, struct an_conn *c)
{
    us_time_t end = an->stats.t_last;
    handshake_findings(c);
    for (int i = 0; i < 2; i++) {
        struct an_dir *D = &c->d[i];
        if (D->zw >= 0) {
            struct us_an_zwin *z = &c->pub.zwin[D->zw];
            D->zw = -1;
            an_zwin_close_open(c, z, end);
        }
        an_check_silence(c, i, end, 2);
        tally_findings(c, i);
    }
}
