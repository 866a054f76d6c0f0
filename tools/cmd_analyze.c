/* ustack analyze: reads a capture (any stack's), rebuilds the TCP connections
 * and prints per connection a summary and the findings of the trace analyzer
 * (include/ustack/analyze.h). Exit status: 0 without findings of severity
 * error, 1 with, 2 for usage errors and unreadable files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/analyze.h>
#include "cli.h"

static double rel(const struct us_an_stats *st, us_time_t t) { return t > st->t_first ? (double)(t - st->t_first) / 1e9 : 0; }

static void side_opts(const struct us_an_side *s, char *buf, size_t n)
{
    if (!s->syn_seen) {
        snprintf(buf, n, "options not seen");
        return;
    }
    char ws[16] = "none";
    if (s->wscale >= 0)
        snprintf(ws, sizeof(ws), "%d", s->wscale);
    snprintf(buf, n, "mss %u, wscale %s%s%s", s->mss, ws, s->sack_perm ? ", sack" : "", s->ts ? ", timestamps" : "");
}

static void print_text_conn(const struct us_an_conn *c, const struct us_an_stats *st)
{
    char a[16], b[16], o[64];
    printf("connection %u: %s:%u -> %s:%u, %.3f s .. %.3f s (%.3f s)%s\n", c->id, cli_ipstr(c->side[0].ip, a),
           c->side[0].port, cli_ipstr(c->side[1].ip, b), c->side[1].port, rel(st, c->t_first), rel(st, c->t_last),
           (double)(c->t_last - c->t_first) / 1e9, c->established ? "" : " (handshake not completed in the capture)");
    for (int i = 0; i < 2; i++) {
        const struct us_an_side *s = &c->side[i];
        side_opts(s, o, sizeof(o));
        printf("  %s:%u sent %llu bytes in %llu segments (%llu with data), %llu retransmitted; %s; window scaled by "
               "%u, max %u; %llu dup ACKs, %llu window updates, %llu zero windows, %llu probes%s%s\n",
               cli_ipstr(s->ip, a), s->port, (unsigned long long)s->bytes, (unsigned long long)s->segments,
               (unsigned long long)s->data_segments, (unsigned long long)s->retransmits, o, 1u << s->shift,
               s->max_window, (unsigned long long)s->dupacks, (unsigned long long)s->window_updates,
               (unsigned long long)s->zero_windows, (unsigned long long)s->probes, s->fin ? ", FIN" : "",
               s->rst ? ", RST" : "");
        if (s->srtt)
            printf("    RTT of its data at the capture point: min %.3f ms, smoothed %.3f ms\n", (double)s->rtt_min / 1e6,
                   (double)s->srtt / 1e6);
    }
    if (c->rtt_handshake)
        printf("  handshake RTT %.3f ms\n", (double)c->rtt_handshake / 1e6);
    if (!c->nfindings)
        printf("  no findings\n");
    for (size_t k = 0; k < c->nfindings; k++) {
        const struct us_an_finding *f = &c->findings[k];
        printf("  [%s] %.3f s %s: %s\n", us_an_severity_name(f->severity), rel(st, f->t), us_an_kind_name(f->kind),
               f->text);
    }
    if (c->findings_dropped)
        printf("  (%zu more findings not shown)\n", c->findings_dropped);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_json_conn(const struct us_an_conn *c, const struct us_an_stats *st, bool first)
{
    char a[16];
    printf("%s{\"id\":%u,\"start\":%.9f,\"end\":%.9f,\"established\":%s,\"rtt_handshake_ms\":%.3f,\"sides\":[", first ? "" : ",",
           c->id, rel(st, c->t_first), rel(st, c->t_last), c->established ? "true" : "false",
           (double)c->rtt_handshake / 1e6);
    for (int i = 0; i < 2; i++) {
        const struct us_an_side *s = &c->side[i];
        printf("%s{\"addr\":\"%s\",\"port\":%u,\"syn_seen\":%s,\"mss\":%u,\"wscale\":%d,\"sack_perm\":%s,"
               "\"timestamps\":%s,\"window_shift\":%u,\"bytes\":%llu,\"segments\":%llu,\"data_segments\":%llu,"
               "\"retransmits\":%llu,\"dupacks\":%llu,\"window_updates\":%llu,\"zero_windows\":%llu,\"probes\":%llu,"
               "\"max_window\":%u,\"rtt_min_ms\":%.3f,\"srtt_ms\":%.3f,\"fin\":%s,\"rst\":%s}",
               i ? "," : "", cli_ipstr(s->ip, a), s->port, s->syn_seen ? "true" : "false", s->mss, s->wscale,
               s->sack_perm ? "true" : "false", s->ts ? "true" : "false", s->shift, (unsigned long long)s->bytes,
               (unsigned long long)s->segments, (unsigned long long)s->data_segments,
               (unsigned long long)s->retransmits, (unsigned long long)s->dupacks,
               (unsigned long long)s->window_updates, (unsigned long long)s->zero_windows,
               (unsigned long long)s->probes, s->max_window, (double)s->rtt_min / 1e6, (double)s->srtt / 1e6,
               s->fin ? "true" : "false", s->rst ? "true" : "false");
    }
    printf("],\"findings\":[");
    for (size_t k = 0; k < c->nfindings; k++) {
        const struct us_an_finding *f = &c->findings[k];
        printf("%s{\"severity\":\"%s\",\"kind\":\"%s\",\"side\":%d,\"time\":%.9f,\"text\":", k ? "," : "",
               us_an_severity_name(f->severity), us_an_kind_name(f->kind), f->side, rel(st, f->t));
        json_str(f->text);
        putchar('}');
    }
    printf("],\"findings_dropped\":%zu}", c->findings_dropped);
}

static const char *file;
static uint64_t conn;
static bool json;
static const struct cli_opt opts[] = {
    CLI_ARG("FILE.pcap", "capture file", &file),
    CLI_UINT("--conn", "N", "only connection N (numbered in order of appearance)", &conn, 1, 1000000),
    CLI_FLAG("--json", "machine-readable output", &json),
    CLI_END,
};

static int run(struct cli *c)
{
    (void)c;
    struct us_an *an = us_an_new();
    if (!an)
        return cli_error("analyze: out of memory");
    char err[512];
    int r = us_an_read_pcap(an, file, err, sizeof(err));
    if (r < 0) {
        us_an_free(an);
        return cli_error("analyze: %s", err);
    }
    if (r > 0)
        fprintf(stderr, "ustack: analyze: %s (analyzing what was read)\n", err);
    us_an_finish(an);
    const struct us_an_stats *st = us_an_stats(an);
    size_t n = us_an_conn_count(an);
    if (conn > n) {
        us_an_free(an);
        return cli_error("analyze: --conn %llu: the capture has %zu TCP connection%s", (unsigned long long)conn, n,
                         n == 1 ? "" : "s");
    }
    size_t errors = 0;
    if (json) {
        printf("{\"file\":");
        json_str(file);
        printf(",\"frames\":%llu,\"tcp\":%llu,\"ignored\":%llu,\"malformed\":%llu,\"connections\":[",
               (unsigned long long)st->frames, (unsigned long long)st->tcp, (unsigned long long)st->ignored,
               (unsigned long long)st->malformed);
    } else
        printf("%s: %llu frames, %llu TCP, %llu other, %llu malformed; %zu TCP connection%s, %.3f s\n", file,
               (unsigned long long)st->frames, (unsigned long long)st->tcp, (unsigned long long)st->ignored,
               (unsigned long long)st->malformed, n, n == 1 ? "" : "s", rel(st, st->t_last));
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const struct us_an_conn *k = us_an_conn_get(an, i);
        if (conn && k->id != conn)
            continue;
        for (size_t f = 0; f < k->nfindings; f++)
            errors += k->findings[f].severity == US_AN_ERROR;
        if (json)
            print_json_conn(k, st, first);
        else
            print_text_conn(k, st);
        first = false;
    }
    if (json)
        printf("],\"errors\":%zu}\n", errors);
    else
        printf("%zu finding%s of severity error\n", errors, errors == 1 ? "" : "s");
    us_an_free(an);
    return errors ? 1 : 0;
}

const struct cli_cmd cmd_analyze = {
    .name = "analyze",
    .summary = "rebuild the TCP connections of a capture and explain stalls",
    .description = "Rebuilds the TCP connections in a capture (Ethernet, Linux cooked v1/v2 or raw\n"
                   "IPv4; pcap or pcapng) and explains what held transfers up: window-scale\n"
                   "mismatches, shrinking or slowly reopened windows, zero-window episodes and\n"
                   "their probes, sender silences longer than the timer that should end them\n"
                   "(stalls), window updates taken for duplicate ACKs, short segments.\n"
                   "Exit status: 0 no finding of severity error, 1 at least one, 2 usage error.\n",
    .opts = opts,
    .run = run,
};
