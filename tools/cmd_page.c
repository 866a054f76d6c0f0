/* ustack page URL: a page and its embedded resources fetched by strategy
 * (serial, parallel, persistent, pipelined, or all four one after the
 * other), in real time on ustack (--tap) or the kernel's sockets (--stack
 * kernel), with the loader the simulator runs (scen_page_load.c). Names go
 * through the DNS resolver (the global --dns); numeric hosts need none.
 *
 * Also the printing and the plots of a page load (pageview.h), shared with
 * `ustack sim page` and `ustack demo`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dns.h>
#include "cli.h"
#include "pageview.h"
#include "plot.h"

static double ms(us_time_t t) { return (double)t / 1e6; }
static double rel(const struct page_result *r, us_time_t t) { return t ? ms(t - r->t_start) : 0; }

/* The phases of a request (0 when it had none). */
struct phases { us_time_t dns, connect, wait, receive; };

static struct phases phases_of(const struct page_req *q)
{
    struct phases p = {q->dns_end - q->dns_start, 0, 0, 0};
    if (q->connect_start && q->connect_end)
        p.connect = q->connect_end - q->connect_start;
    us_time_t from = q->sent > q->connect_end ? q->sent : q->connect_end;
    if (q->first_byte && from && q->first_byte > from)
        p.wait = q->first_byte - from;
    if (q->first_byte && q->end > q->first_byte)
        p.receive = q->end - q->first_byte;
    return p;
}

void page_print_waterfall(const struct page_result *r, bool server_cwnd)
{
    printf("   #  %-22s  conn       start    dns  connect    wait  receive       end  %8s  %s\n", "resource", "bytes",
           server_cwnd ? "server cwnd" : "bytes in 1st RTT");
    for (size_t i = 0; i < r->nreq; i++) {
        const struct page_req *q = &r->req[i];
        struct phases p = phases_of(q);
        char conn[24] = "-";
        if (q->conn_id)
            snprintf(conn, sizeof(conn), "%3u %s", q->conn_id, q->reused ? "reuse" : "new");
        us_time_t begin = q->connect_start ? q->connect_start : q->sent ? q->sent : q->dns_start;
        printf("  %2zu  %-22.22s  %-9s %7.1f %6.1f %8.1f %7.1f %8.1f %9.1f  %8llu  %llu", i, q->path, conn,
               rel(r, begin), ms(p.dns), ms(p.connect), ms(p.wait), ms(p.receive), rel(r, q->end),
               (unsigned long long)q->body_bytes,
               (unsigned long long)(server_cwnd ? q->cwnd : q->first_rtt_bytes));
        if (q->error || q->status != 200)
            printf("  FAILED %u %s", q->status, q->msg);
        printf("\n");
    }
    printf("  (ms from the first DNS lookup; start: its connect, or its request on a reused connection;\n"
           "  dns 0.0: from the cache; wait: request sent to first byte)\n");
}

void page_print_totals(const struct page_result *r, bool server_cwnd)
{
    printf("  total: %.1f ms, %zu requests (%u failed), %llu body bytes; DNS %llu quer%s on the wire, %llu from the "
           "cache; %u handshake%s",
           ms(r->t_end - r->t_start), r->nreq, r->failed, (unsigned long long)r->body_bytes,
           (unsigned long long)r->dns_queries, r->dns_queries == 1 ? "y" : "ies",
           (unsigned long long)r->dns_cache_hits, r->connections, r->connections == 1 ? "" : "s");
    if (r->tw_client >= 0 && r->tw_server >= 0)
        printf("; TIME_WAIT: %d client, %d server", r->tw_client, r->tw_server);
    else if (r->tw_client >= 0)
        printf("; TIME_WAIT on the client: %d", r->tw_client);
    printf("\n");
    if (server_cwnd && r->req_segments)
        printf("  wire: %u SYNs from the client, %u segments carried requests, %u of them several (at most %u)\n",
               r->syns, r->req_segments, r->multi_req_segments, r->max_reqs_per_segment);
    if (r->other_origin)
        printf("  %zu reference%s to another origin or scheme not fetched\n", r->other_origin,
               r->other_origin == 1 ? "" : "s");
}

static const char *label(const struct page_result *r)
{
    static char b[48];
    if (r->strategy == PAGE_PARALLEL || r->strategy == PAGE_PERSISTENT)
        snprintf(b, sizeof(b), "%s (%u)", page_strategy_name(r->strategy), r->parallel);
    else if (r->strategy == PAGE_PIPELINED)
        snprintf(b, sizeof(b), "%s (%u deep)", page_strategy_name(r->strategy), r->pipeline);
    else
        snprintf(b, sizeof(b), "%s", page_strategy_name(r->strategy));
    return b;
}

void page_print_table(const struct page_result *const *rs, int n, bool server_cwnd)
{
    printf("  %-20s %9s %5s %6s %8s %10s %8s %9s  %s\n", "strategy", "wall ms", "conns", "reused", "dns wire",
           "dns cache", "TW c/s", "bytes", server_cwnd ? "server cwnd at 1st byte: min..max" : "1st-RTT bytes");
    for (int k = 0; k < n; k++) {
        const struct page_result *r = rs[k];
        int reused = 0;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < r->nreq; i++) {
            reused += r->req[i].reused;
            uint64_t v = server_cwnd ? r->req[i].cwnd : r->req[i].first_rtt_bytes;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        char tw[24] = "-";
        if (r->tw_client >= 0 && r->tw_server >= 0)
            snprintf(tw, sizeof(tw), "%d/%d", r->tw_client, r->tw_server);
        else if (r->tw_client >= 0)
            snprintf(tw, sizeof(tw), "%d/-", r->tw_client);
        printf("  %-20s %9.1f %5u %6d %8llu %10llu %8s %9llu  %llu..%llu%s\n", label(r), ms(r->t_end - r->t_start),
               r->connections, reused, (unsigned long long)r->dns_queries, (unsigned long long)r->dns_cache_hits, tw,
               (unsigned long long)r->body_bytes, (unsigned long long)lo, (unsigned long long)hi,
               r->failed ? "  FAILED" : "");
    }
}

/* Requests sent only once the response before them on their connection had
 * ended: each paid a full round trip of its own. */
static size_t turnarounds(const struct page_result *r, size_t *overlapped)
{
    size_t n = 0;
    *overlapped = 0;
    for (size_t i = 0; i < r->nreq; i++) {
        const struct page_req *q = &r->req[i];
        if (!q->reused)
            continue;
        us_time_t prev_end = 0;
        for (size_t k = 0; k < i; k++)
            if (r->req[k].conn_id == q->conn_id && r->req[k].end > prev_end)
                prev_end = r->req[k].end;
        if (q->sent >= prev_end)
            n++;
        else
            (*overlapped)++;
    }
    return n;
}

void page_print_lessons(const struct page_result *const *rs, int n)
{
    for (int k = 0; k < n; k++) {
        const struct page_result *r = rs[k];
        us_time_t hs = 0;
        uint32_t cmax = 0;
        for (size_t i = 0; i < r->nreq; i++)
            if (r->req[i].connect_end)
                hs += r->req[i].connect_end - r->req[i].connect_start;
        for (size_t i = 0; i < r->ncwnd; i++)
            cmax = r->cwnd[i].cwnd > cmax ? r->cwnd[i].cwnd : cmax;
        size_t over, turns = turnarounds(r, &over);
        size_t per_req = r->nreq - r->connections;   /* requests that found a connection open */
        printf("  %-11s avoided: DNS per request (%zu lookups, %llu on the wire)", page_strategy_name(r->strategy),
               r->nreq, (unsigned long long)r->dns_queries);
        if (per_req)
            printf(", %zu handshakes and %zu slow starts (%zu requests on open connections)", per_req, per_req,
                   per_req);
        if (over)
            printf(", %zu round trips (%zu requests sent before the response ahead of them ended)", over, over);
        if (r->strategy == PAGE_PARALLEL)
            printf(", waiting in series (%u at a time)", r->parallel);
        printf(".\n  %-11s pays:    %u handshake%s (%.0f ms of connecting in all), %u slow start%s from %.1f kB"
               " (the largest cwnd %.0f kB)",
               "", r->connections, r->connections == 1 ? "" : "s", ms(hs), r->connections,
               r->connections == 1 ? "" : "s", r->req[0].cwnd / 1e3, cmax / 1e3);
        printf(", %zu request round trip%s%s: %.0f ms.\n", turns + r->connections,
               turns + r->connections == 1 ? "" : "s",
               r->strategy == PAGE_PIPELINED ? " (the first, and each time the pipeline ran dry)" : "",
               ms(r->t_end - r->t_start));
    }
}

void page_plot_name(const char *file, const char *name, char *out, size_t len)
{
    const char *dot = strrchr(file, '.');
    const char *slash = strrchr(file, '/');
    if (!dot || (slash && dot < slash))
        dot = file + strlen(file);
    snprintf(out, len, "%.*s-%s%s", (int)(dot - file), file, name, dot);
}

/* The waterfall: a row per request, a rectangle per phase. */
static int plot_waterfall(const struct page_result *r, const char *file, char *err, size_t errlen)
{
    size_t cap = 512 + r->nreq * 600;
    char *ex = malloc(cap);
    if (!ex) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    static const char *const color[4] = {"#9467bd", "#ff7f0e", "#bbbbbb", "#1f77b4"};
    size_t l = (size_t)snprintf(ex, cap, "set yrange [%zu.5:-0.5]\nset xrange [0:%.1f]\nset grid noytics\n"
                                         "set key outside top center horizontal\nset ytics font ',8'\nset ytics (",
                                (r->nreq ? r->nreq - 1 : 0), rel(r, r->t_end) * 1.02 + 1);
    for (size_t i = 0; i < r->nreq; i++)
        l += (size_t)snprintf(ex + l, cap - l, "%s\"c%u%s %.24s\" %zu", i ? ", " : "", r->req[i].conn_id,
                              r->req[i].reused ? "" : "+", r->req[i].path, i);
    l += (size_t)snprintf(ex + l, cap - l, ")\n");
    int obj = 1;
    for (size_t i = 0; i < r->nreq; i++) {
        const struct page_req *q = &r->req[i];
        struct phases p = phases_of(q);
        us_time_t recv0 = q->first_byte ? q->first_byte : q->end;
        us_time_t t[5] = {q->dns_start, q->dns_end, q->connect_end, recv0, q->end};
        us_time_t seg[4][2] = {{t[0], t[1]},
                               {q->connect_start, q->connect_start + p.connect},
                               {recv0 - p.wait, recv0},
                               {recv0, q->end}};
        for (int k = 0; k < 4; k++)
            if (seg[k][1] > seg[k][0] && seg[k][0])
                l += (size_t)snprintf(ex + l, cap - l,
                                      "set object %d rect from %.3f,%.2f to %.3f,%.2f fc rgb '%s' fs solid noborder\n",
                                      obj++, rel(r, seg[k][0]), (double)i - 0.35, rel(r, seg[k][1]), (double)i + 0.35,
                                      color[k]);
    }
    static const double zx[1] = {0}, zy[1] = {-100};
    const struct plot_series s[4] = {
        {"dns", zx, zy, 1, "boxes fs solid lc rgb '#9467bd'"},
        {"connect", zx, zy, 1, "boxes fs solid lc rgb '#ff7f0e'"},
        {"wait (sent to first byte)", zx, zy, 1, "boxes fs solid lc rgb '#bbbbbb'"},
        {"receive", zx, zy, 1, "boxes fs solid lc rgb '#1f77b4'"},
    };
    char title[160];
    snprintf(title, sizeof(title), "page load, %s: %.0f ms, %u connection%s (c = connection, + = new)", label(r),
             ms(r->t_end - r->t_start), r->connections, r->connections == 1 ? "" : "s");
    struct plot pl = {.path = file, .title = title, .xlabel = "time (ms)", .ylabel = "", .series = s, .nseries = 4,
                      .extra = ex};
    int rc = plot_write(&pl, err, errlen);
    free(ex);
    return rc;
}

/* The congestion window of each server connection over time (the simulator). */
static int plot_cwnd(const struct page_result *r, const char *file, char *err, size_t errlen)
{
    uint32_t nconn = 0;
    for (size_t k = 0; k < r->ncwnd; k++)
        nconn = r->cwnd[k].conn_id > nconn ? r->cwnd[k].conn_id : nconn;
    if (!nconn) {
        snprintf(err, errlen, "no cwnd samples");
        return -1;
    }
    double *v = malloc(2 * (r->ncwnd + 2) * sizeof(double) * nconn);
    struct plot_series *s = calloc(nconn, sizeof(*s));
    char(*titles)[32] = calloc(nconn, sizeof(*titles));
    if (!v || !s || !titles) {
        free(v);
        free(s);
        free(titles);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t per = r->ncwnd + 2;
    for (uint32_t c = 0; c < nconn; c++) {
        double *x = v + 2 * per * c, *y = x + per;
        size_t n = 0;
        for (size_t k = 0; k < r->ncwnd; k++)
            if (r->cwnd[k].conn_id == c + 1) {
                if (n) {   /* steps: hold the previous value until the change */
                    x[n] = rel(r, r->cwnd[k].t);
                    y[n] = y[n - 1];
                    n++;
                }
                x[n] = rel(r, r->cwnd[k].t);
                y[n++] = r->cwnd[k].cwnd / 1000.0;
                if (n + 2 > per)
                    break;
            }
        snprintf(titles[c], sizeof(titles[c]), "conn %u", c + 1);
        s[c] = (struct plot_series){titles[c], x, y, n, "lines lw 2"};
    }
    char title[160];
    snprintf(title, sizeof(title), "the server's congestion window per connection, %s", label(r));
    struct plot pl = {.path = file, .title = title, .xlabel = "time (ms)", .ylabel = "cwnd (kB)",
                      .series = s, .nseries = nconn, .extra = nconn > 8 ? "set key off" : NULL};
    int rc = plot_write(&pl, err, errlen);
    free(v);
    free(s);
    free(titles);
    return rc;
}

int page_plot(const struct page_result *r, const char *file, bool several, bool server_cwnd)
{
    char f[1024], cw[1024], err[512];
    if (several)
        page_plot_name(file, page_strategy_name(r->strategy), f, sizeof(f));
    else
        snprintf(f, sizeof(f), "%s", file);
    page_plot_name(f, "cwnd", cw, sizeof(cw));
    if (plot_waterfall(r, f, err, sizeof(err)) < 0 || (server_cwnd && plot_cwnd(r, cw, err, sizeof(err)) < 0))
        return cli_error("--plot: %s", err);
    printf("  plot: %s (waterfall)%s%s%s\n", f, server_cwnd ? ", " : "", server_cwnd ? cw : "",
           server_cwnd ? " (server cwnd)" : "");
    return 0;
}

/* ---- the command ---- */
static const char *page_url, *page_strategy = "all", *page_plot_opt, *page_save;
static uint32_t page_parallel = 6, page_pipeline = 8;
static double page_timeout = 120;
static const char *const strategies[] = {"serial", "parallel", "persistent", "pipelined", "all", NULL};

static const struct cli_opt opts[] = {
    CLI_ARG("URL", "URL of the page, http://host[:port]/path", &page_url),
    CLI_CHOICE("--strategy", "S", "serial, parallel, persistent, pipelined or all (default all)", &page_strategy,
               strategies),
    CLI_UINT("--parallel", "N", "parallel, persistent: connections at a time, 1..64 (default 6)", &page_parallel, 1, 64),
    CLI_UINT("--pipeline", "D", "pipelined: requests outstanding, 1..64 (default 8)", &page_pipeline, 1, 64),
    CLI_STR("--plot", "FILE", "the waterfall as PNG (or .svg); with all, FILE-STRATEGY.png", &page_plot_opt),
    CLI_STR("--save", "DIR", "write each body to DIR/path ('/' -> '_'); with all, the last strategy's", &page_save),
    CLI_REAL("--timeout", "S", "give up a strategy after S seconds (default 120)", &page_timeout, 0.1, 3600),
    CLI_END,
};

struct rt_page {
    struct cli *c;
};

static void count_tw(void *arg, const struct us_conn_info *ci)
{
    if (ci->info.state == US_TCP_TIME_WAIT)
        (*(int *)arg)++;
}

static void rt_time_wait(void *arg, int *client, int *server)
{
    struct rt_page *p = arg;
    *server = *client = -1;
    if (!p->c->st)
        return;   /* the kernel's sockets: not visible here */
    *client = 0;
    us_tcp_foreach(p->c->st, count_tw, client);
}

/* Lets the connections the last load closed finish their FIN exchange, so
 * the next strategy's TIME_WAIT count is its own. */
static void settle(struct us_tp *tp, us_time_t dt)
{
    us_time_t end = us_tp_now(tp) + dt;
    for (int k = 0; k < 1000 && us_tp_now(tp) < end && !cli_stopping(); k++)
        if (us_tp_wait(tp, end) == -EDEADLK)
            break;
}

static int run(struct cli *c)
{
    int rc = cli_transport(c);
    if (rc)
        return rc;
    char err[256];
    struct us_tp *dtp = c->st ? us_tp_ustack_new(c->st, c->drv, err, sizeof(err)) : us_tp_kernel_new(err, sizeof(err));
    if (!dtp) {
        cli_transport_teardown(c);
        return cli_error("page: %s", err);
    }
    struct us_dns_config dc;
    us_dns_config_default(&dc);
    rc = cli_dns_servers(c, &dc);
    if (rc) {
        us_tp_free(dtp);
        cli_transport_teardown(c);
        return rc;
    }
    int first = 0, last = PAGE_STRATEGIES - 1, one = page_strategy_parse(page_strategy);
    if (one >= 0)
        first = last = one;
    static struct page_result res[PAGE_STRATEGIES];
    const struct page_result *done[PAGE_STRATEGIES];
    int ndone = 0, status = 0;
    struct rt_page rp = {c};
    printf("ustack page %s on %s sockets%s\n", page_url, us_tp_name(c->tp),
           " (the server's cwnd is not visible from a client: the bytes of each response's first round trip instead)");
    for (int s = first; s <= last && !cli_stopping(); s++) {
        struct us_dns *dns = us_dns_new(dtp, &dc, err, sizeof(err));   /* a cold cache for each strategy */
        if (!dns) {
            status = cli_error("page: %s", err);
            break;
        }
        struct page_load_opts o = {.strategy = s, .parallel = page_parallel, .pipeline = page_pipeline,
                                   .url = page_url, .tp = c->tp, .dns = dns, .dns_tp = dtp,
                                   .timeout = (us_time_t)(page_timeout * 1e9), .save_dir = page_save,
                                   .time_wait = rt_time_wait, .arg = &rp};
        printf("\n%s:\n", label(&(struct page_result){.strategy = s, .parallel = page_parallel,
                                                       .pipeline = page_pipeline}));
        if (page_load(&o, &res[s], err, sizeof(err)) < 0) {
            status = cli_error("page: %s", err);
            us_dns_free(dns, us_tp_now(dtp));
            break;
        }
        us_dns_free(dns, us_tp_now(dtp));
        settle(c->tp, US_MS(100));
        page_print_waterfall(&res[s], false);
        page_print_totals(&res[s], false);
        if (res[s].failed)
            status = 1;
        if (page_plot_opt && page_plot(&res[s], page_plot_opt, first != last, false))
            status = 1;
        done[ndone++] = &res[s];
    }
    if (ndone > 1) {
        printf("\ncomparison:\n");
        page_print_table(done, ndone, false);
    }
    us_tp_free(dtp);
    cli_transport_teardown(c);
    return status;
}

const struct cli_cmd cmd_page = {
    .name = "page",
    .summary = "a page and its embedded resources by strategy (serial, parallel, persistent, pipelined)",
    .description = "Fetches the page, finds its embedded resources (img/script/source src, link href of\n"
                   "stylesheets and icons; same origin) and fetches them:\n"
                   "  serial      a new connection per request, one at a time (Connection: close)\n"
                   "  parallel    --parallel N new connections at a time (Connection: close)\n"
                   "  persistent  keep-alive over up to --parallel N connections\n"
                   "  pipelined   keep-alive on one connection, --pipeline D requests outstanding\n"
                   "Prints a waterfall per strategy (DNS, connect, wait, receive, connection, new or\n"
                   "reused) and the totals; `all` runs the four and compares them. The server's congestion\n"
                   "window is not visible from a client: the bytes of each response's first round trip\n"
                   "(one handshake RTT from its first byte) show the slow start instead; `ustack sim page`\n"
                   "shows the server's cwnd itself. Host names are resolved through the global --dns servers.\n",
    .globals = true,
    .opts = opts,
    .run = run,
};
