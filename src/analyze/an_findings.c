/* The analyzer's findings: the silence check (is the sender's silence longer
 * than the timer that should end it?), zero-window episode summaries, and the
 * per-connection findings emitted when the capture ends. Each text is one line
 * that says what the trace shows and, marked "likely"/"presumably", what it
 * suggests; STALL.md numbers ("way N", Rn, Sn) point to the mechanism. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "an_internal.h"

static const char *const kind_names[US_AN_KIND_COUNT] = {
    [US_AN_NO_HANDSHAKE] = "no-handshake",
    [US_AN_NOT_ESTABLISHED] = "not-established",
    [US_AN_WSCALE_MISMATCH] = "wscale-mismatch",
    [US_AN_BEYOND_WINDOW] = "beyond-window",
    [US_AN_EDGE_LEFT] = "right-edge-left",
    [US_AN_SWS_REOPEN] = "small-reopening",
    [US_AN_ZERO_WINDOW] = "zero-window",
    [US_AN_PROBE_BACKOFF] = "probe-backoff",
    [US_AN_PROBE_UNANSWERED] = "probe-unanswered",
    [US_AN_STALL] = "stall",
    [US_AN_LONG_SILENCE] = "long-silence",
    [US_AN_UPDATE_FAST_RETX] = "update-fast-retransmit",
    [US_AN_SHORT_SEGMENT] = "short-segment",
    [US_AN_NAGLE_DELACK] = "nagle-delayed-ack",
};

const char *us_an_kind_name(enum us_an_kind k) { return (unsigned)k < US_AN_KIND_COUNT ? kind_names[k] : "?"; }

const char *us_an_severity_name(enum us_an_severity s)
{
    return s == US_AN_ERROR ? "error" : s == US_AN_WARNING ? "warning" : "info";
}

const struct us_an_finding *us_an_find(const struct us_an_conn *c, enum us_an_kind kind)
{
    for (size_t i = 0; c && i < c->nfindings; i++)
        if (c->findings[i].kind == kind)
            return &c->findings[i];
    return NULL;
}

size_t us_an_count_severity(const struct us_an *an, enum us_an_severity min)
{
    size_t n = 0;
    for (size_t i = 0; i < an->nconns; i++)
        for (size_t k = 0; k < an->conns[i]->pub.nfindings; k++)
            n += an->conns[i]->pub.findings[k].severity >= min;
    return n;
}

void an_finding(struct an_conn *c, enum us_an_severity sev, enum us_an_kind kind, int side, us_time_t t,
                const char *fmt, ...)
{
    if (c->pub.nfindings >= AN_MAX_FINDINGS) {
        c->pub.findings_dropped++;
        return;
    }
    if (c->pub.nfindings == c->cap_findings) {
        size_t cap = c->cap_findings ? c->cap_findings * 2 : 8;
        struct us_an_finding *v = realloc(c->pub.findings, cap * sizeof(*v));
        if (!v) {
            c->pub.findings_dropped++;
            return;
        }
        c->pub.findings = v;
        c->cap_findings = cap;
    }
    struct us_an_finding *f = &c->pub.findings[c->pub.nfindings++];
    f->severity = sev;
    f->kind = kind;
    f->side = side;
    f->t = t;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof(f->text), fmt, ap);
    va_end(ap);
}

const char *an_side_name(const struct an_conn *c, int side, char buf[32])
{
    us_ip4_t ip = c->pub.side[side].ip;
    snprintf(buf, 32, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
             c->pub.side[side].port);
    return buf;
}

static double rel_s(const struct an_conn *c, us_time_t t) { return t > c->t_base ? (double)(t - c->t_base) / 1e9 : 0; }
static double sec(us_time_t d) { return (double)d / 1e9; }

/* T0 = max(RTO, 200 ms) with the RTO estimated from what the capture shows
 * (RFC 6298: SRTT + 4·RTTVAR; 1 s before any sample). */
us_time_t an_t0(const struct an_conn *c, int side)
{
    const struct an_dir *S = &c->d[side];
    us_time_t rto = US_SEC(1);
    if (S->srtt)
        rto = S->srtt + 4 * S->rttvar;
    else if (c->pub.rtt_handshake)
        rto = 3 * c->pub.rtt_handshake;
    return rto > US_MS(200) ? rto : US_MS(200);
}

static void describe_last(const struct an_conn *c, int side, char *buf, size_t n)
{
    const struct an_last *l = &c->d[side].last;
    if (!l->set) {
        snprintf(buf, n, "nothing");
        return;
    }
    char fl[24] = "";
    static const char *const names[] = {"FIN", "SYN", "RST", "PSH", "ACK"};
    for (int k = 0; k < 5; k++)
        if (l->flags & (1 << k))
            snprintf(fl + strlen(fl), sizeof(fl) - strlen(fl), "%s%s", fl[0] ? "," : "", names[k]);
    snprintf(buf, n, "[%s] seq %lld len %u win %u at %.3f s", fl, (long long)l->seq, l->len,
             l->wnd << c->pub.side[side].shift, rel_s(c, l->t));
}

static void owe_text(const struct an_conn *c, int s, char *why, size_t wn, char *hint, size_t hn)
{
    const struct an_dir *S = &c->d[s], *R = &c->d[!s];
    char a[32], b[32];
    an_side_name(c, s, a);
    an_side_name(c, !s, b);
    int64_t usable = R->ack + (int64_t)R->wnd - S->snd_max;
    switch (S->owe) {
    case OWE_OUTSTANDING:
        snprintf(why, wn, "%lld bytes were unacknowledged", (long long)(S->snd_max - R->ack));
        snprintf(hint, hn, "%s",
                 R->upd_open_t == S->owe_since && R->upd_open_t
                     ? "a window-opening ACK likely did not restart the backed-off sender (STALL way 4)"
                     : "its retransmission timer should have fired (S2)");
        break;
    case OWE_ZERO:
        snprintf(why, wn, "%s advertised a zero window and %s presumably had data pending", b, a);
        snprintf(hint, hn, "no probe: the persist timer was likely not armed (STALL way 2) or backed off to minutes (way 3)");
        break;
    case OWE_SMALL:
        snprintf(why, wn, "%s's window left only %lld bytes, less than a segment (%u), and %s presumably had data pending",
                 b, (long long)(usable > 0 ? usable : 0), c->d[s].seg_max, a);
        snprintf(hint, hn, "likely SWS avoidance with no override timer (STALL way 1), or a long probe back-off not reset by a small update (way 3)");
        break;
    case OWE_OPEN:
        snprintf(why, wn, "%s's window was open (%lld bytes usable) and %s presumably had data pending", b,
                 (long long)usable, a);
        snprintf(hint, hn, "likely a lost window update with no persist timer (STALL way 2), or an update not reported (way 5) or rejected by SND.UNA < SEG.ACK (way 7)");
        break;
    case OWE_NONE:
        why[0] = hint[0] = 0;
        break;
    }
}

void an_check_silence(struct an_conn *c, int s, us_time_t t, int how)
{
    struct an_dir *S = &c->d[s];
    if (S->owe == OWE_NONE)
        return;
    us_time_t silent = t > S->owe_since ? t - S->owe_since : 0;
    us_time_t e = an_t0(c, s);
    if (2 * S->episode_gap > e)
        e = 2 * S->episode_gap;
    if (S->rto_floor > e)
        e = S->rto_floor;
    if (e > US_SEC(120))
        e = US_SEC(120);
    us_time_t bound = 3 * e > US_SEC(1) ? 3 * e : US_SEC(1);
    if (silent <= bound)
        return;
    char a[32], why[200], hint[300], la[100], lb[100];
    an_side_name(c, s, a);
    owe_text(c, s, why, sizeof(why), hint, sizeof(hint));
    describe_last(c, s, la, sizeof(la));
    describe_last(c, !s, lb, sizeof(lb));
    static const char *const ends[] = {"before it sent again", "until the connection was reset",
                                       "until the capture ended", "until the peer's window changed"};
    bool stall = how == 1 || how == 2;
    an_finding(c, stall || silent > US_SEC(60) ? US_AN_ERROR : US_AN_WARNING, stall ? US_AN_STALL : US_AN_LONG_SILENCE,
               s, S->owe_since, "%s was silent for %.3f s from %.3f s %s, although %s; its timer is ~%.3f s. Last sent %s; last received %s. %s",
               a, sec(silent), rel_s(c, S->owe_since), ends[how >= 0 && how < 4 ? how : 2], why, sec(e),
               la, lb, hint);
    S->owe_since = t;   /* report each silence once */
}

/* ---- zero-window episodes -------------------------------------------------- */

static bool gaps_double(const us_time_t *g, size_t n)
{
    for (size_t k = 1; k < n; k++) {
        double r = (double)g[k] / (double)(g[k - 1] ? g[k - 1] : 1);
        bool capped = g[k - 1] >= US_SEC(50) && r >= 0.7 && r <= 1.3;
        if (!capped && (r < 1.5 || r > 2.7))
            return false;
    }
    return true;
}

static void zwin_report(struct an_conn *c, const struct us_an_zwin *z, us_time_t end, us_time_t capture_end)
{
    int r = z->side, s = !r;
    char rn[32], sn[32], gl[200] = "";
    an_side_name(c, r, rn);
    an_side_name(c, s, sn);
    size_t n = z->nprobes < US_AN_MAX_PROBES ? z->nprobes : US_AN_MAX_PROBES;
    us_time_t g[US_AN_MAX_PROBES], maxgap = 0;
    size_t unans = 0, unans_empty = 0, pending = 0;
    for (size_t k = 0; k < n; k++) {
        g[k] = z->probe_t[k] - (k ? z->probe_t[k - 1] : z->start);
        if (g[k] > maxgap)
            maxgap = g[k];
        if (k < 8)
            snprintf(gl + strlen(gl), sizeof(gl) - strlen(gl), "%s%.3f", k ? " " : "", sec(g[k]));
        if (!z->answered[k]) {
            /* the last probe, near the end of the capture, may have been answered later */
            if (k == n - 1 && !z->end && capture_end - z->probe_t[k] < US_SEC(1)) {
                pending++;
                continue;
            }
            unans++;
            unans_empty += z->probe_kind[k] == US_AN_PROBE_EMPTY;
        }
    }
    bool dbl = n >= 2 && gaps_double(g, n);
    an_finding(c, US_AN_INFO, US_AN_ZERO_WINDOW, r, z->start,
               "zero window from %s for %.3f s from %.3f s%s; %s sent %u probe%s%s%s%s%s, %u of %u answered",
               rn, sec(end - z->start), rel_s(c, z->start), z->end ? "" : " (still closed when the capture ended)", sn,
               z->nprobes, z->nprobes == 1 ? "" : "s", n ? ", gaps " : "", gl, n > 8 ? " …" : "",
               n ? (n < 2 ? " s" : dbl ? " s (doubling)" : " s (not doubling)") : "", z->nanswered,
               z->nprobes - (unsigned)pending);
    if (n >= 3 && !dbl)
        an_finding(c, US_AN_WARNING, US_AN_PROBE_BACKOFF, s, z->start,
                   "%s's zero-window probe gaps do not double (%s s): expected T0, 2·T0, 4·T0 … (S4)", sn, gl);
    if (maxgap > US_SEC(60))
        an_finding(c, US_AN_WARNING, US_AN_PROBE_BACKOFF, s, z->start,
                   "%s's probe interval reached %.1f s (> 60 s): a window update that opens less than a segment, or is lost, waits that long (STALL way 3)",
                   sn, sec(maxgap));
    if (unans_empty)
        an_finding(c, US_AN_WARNING, US_AN_PROBE_UNANSWERED, r, z->start,
                   "%zu of %s's zero-window probes were zero-length with SEQ = RCV.NXT, which %s may accept without answering (RFC 9293 3.10.7.4), and went unanswered (STALL way 8)",
                   unans_empty, sn, rn);
    if (unans > unans_empty)
        an_finding(c, US_AN_WARNING, US_AN_PROBE_UNANSWERED, r, z->start,
                   "%zu of %s's zero-window probes were not answered by %s in this capture (lost, or %s broke R4: every probe gets an ACK)",
                   unans - unans_empty, sn, rn, rn);
}

void an_zwin_close(struct an_conn *c, int side, us_time_t t)
{
    struct an_dir *D = &c->d[side];
    if (D->zw < 0)
        return;
    struct us_an_zwin *z = &c->pub.zwin[D->zw];
    z->end = t;
    D->zw = -1;
    zwin_report(c, z, t, t);
}

/* An episode still open when the capture ended. */
void an_zwin_close_open(struct an_conn *c, struct us_an_zwin *z, us_time_t capture_end)
{
    zwin_report(c, z, capture_end, capture_end);
}
