/* ustack load URL: an open-loop HTTP load at a fixed request rate, bounded
 * in time and count, on ustack (--tap) or the kernel (--stack kernel), with
 * the seeds' arithmetic of TIME_WAIT beside what happens: without
 * --keepalive every request gets a new connection that the client closes
 * first after its response, so each holds one ephemeral port for 2*MSL and
 * connect fails (EADDRNOTAVAIL) once rate x 2*MSL exceeds the ports; with
 * --keepalive the same load runs over a few reused connections.
 *
 * stdout: the prediction, one line per second (sent, answered, failed,
 * connections opened, TIME_WAIT, latency percentiles of that second), then
 * the totals. Exit status: 0 when every request was answered, 1 when some
 * failed, 2 usage, 130 stopped by a signal. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dns.h>
#include <ustack/http_client.h>
#include "cli.h"

static struct cli_strv load_url;
static double load_rate = 100, load_duration = 10, load_grace = 5;
static bool load_keepalive;
static uint32_t load_max_outstanding = 10000;
static const char *load_ports;

#define LOAD_MAX_REQUESTS 2000000u

struct sec {                  /* one second of the run */
    uint64_t sent, ok, failed, eaddr, opened;
    uint32_t time_wait;
    size_t lat_from, lat_to;  /* latencies of the requests answered in it */
};

struct load {
    struct cli *c;
    struct us_hc *hc;
    char url[1024];
    us_ip4_t ip;              /* the target (numeric or looked up) */
    uint16_t port;
    us_time_t start, end, hard_end, next_send, interval, next_sample;
    uint64_t total, sent, ok, failed, eaddr, other_errors, status_err;
    us_time_t first_eaddr;
    char first_error[192];
    double *lat;              /* ms, in completion order */
    size_t nlat;
    struct sec *secs;
    size_t nsecs;
    uint32_t tw_max;
    bool stop;
    const char *interrupted;
};


/* ---- TIME_WAIT towards the target: ustack's table or the kernel's ---- */
struct tw_count { us_ip4_t ip; uint16_t port; uint32_t n; };

static void tw_ustack(void *arg, const struct us_conn_info *ci)
{
    struct tw_count *t = arg;
    t->n += ci->info.state == US_TCP_TIME_WAIT && ci->remote.addr == t->ip && ci->remote.port == t->port;
}

static uint32_t time_wait_count(const struct load *L)
{
    struct tw_count t = {L->ip, L->port, 0};
    if (L->c->st) {
        us_tcp_foreach(L->c->st, tw_ustack, &t);
        return t.n;
    }
    FILE *f = fopen("/proc/net/tcp", "r");   /* sl local rem st ...: addresses in hex, network order */
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        unsigned rip, rport, st;
        if (sscanf(line, " %*d: %*x:%*x %x:%x %x", &rip, &rport, &st) == 3 && st == 0x06 && rport == t.port &&
            __builtin_bswap32(rip) == t.ip)
            t.n++;
    }
    if (f)
        fclose(f);
    return t.n;
}

/* The ephemeral range and the TIME_WAIT time of the stack in use. */
static void port_arith(const struct load *L, uint32_t *lo, uint32_t *hi, double *tw_s)
{
    if (L->c->st) {
        const struct us_config *cfg = us_stack_config(L->c->st);
        *lo = cfg->port_lo, *hi = cfg->port_hi;
        *tw_s = 2 * (double)cfg->tcp_msl / 1e9;
        return;
    }
    *lo = 32768, *hi = 60999;   /* Linux's defaults, unless the file says otherwise */
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u %u", lo, hi) != 2)
            *lo = 32768, *hi = 60999;
        fclose(f);
    }
    *tw_s = 60;   /* TCP_TIMEWAIT_LEN: fixed in Linux */
}

static struct sec *sec_at(struct load *L, us_time_t now)
{
    size_t i = now > L->start ? (size_t)((now - L->start) / US_SEC(1)) : 0;
    if (i >= L->nsecs)
        i = L->nsecs - 1;
    return &L->secs[i];
}

static void on_event(const struct us_hc_event *ev)
{
    struct load *L = ev->arg;
    if (ev->kind == US_HC_CONNECT_START)
        sec_at(L, ev->now)->opened++;
    if (ev->kind != US_HC_DONE)
        return;
    const struct us_hc_timing *t = us_hc_req_timing(ev->req);
    struct sec *s = sec_at(L, ev->now);
    if (ev->error) {
        L->failed++;
        s->failed++;
        if (ev->error == -EADDRNOTAVAIL) {
            if (!L->eaddr++)
                L->first_eaddr = ev->now;
            s->eaddr++;
        } else if (!L->other_errors++) {
            snprintf(L->first_error, sizeof(L->first_error), "%.*s", (int)ev->len, ev->data);
        }
        return;
    }
    if (t->status >= 400)
        L->status_err++;
    L->ok++;
    s->ok++;
    if (L->nlat < L->total)
        L->lat[L->nlat++] = (double)(t->end - t->queued) / 1e6;
}

static void sample(struct load *L, us_time_t now)
{
    struct sec *s = &L->secs[(size_t)((L->next_sample - L->start) / US_SEC(1)) - 1];
    s->time_wait = time_wait_count(L);
    if (s->time_wait > L->tw_max)
        L->tw_max = s->time_wait;
    s->lat_to = L->nlat;
    (void)now;
}

static us_time_t step(void *arg, us_time_t now)
{
    struct load *L = arg;
    if ((L->interrupted = cli_stopping() ? cli_stop_signal() : cli_signal_pending())) {
        L->stop = true;
        return now;
    }
    while (now >= L->next_send && L->sent < L->total && us_hc_pending(L->hc) < load_max_outstanding) {
        char err[256];
        struct us_hc_request q = {.url = L->url, .cb = on_event, .arg = L};
        int rc = us_hc_submit(L->hc, &q, L->next_send, NULL, err, sizeof(err));
        if (rc < 0) {
            cli_error("load: %s", err);
            L->stop = true;
            return now;
        }
        sec_at(L, L->next_send)->sent++;
        L->sent++;
        L->next_send += L->interval;
    }
    if (now >= L->next_send && L->sent < L->total)
        L->next_send = now + L->interval;   /* at the outstanding bound: this request is skipped */
    us_time_t d = us_hc_step(L->hc, now);
    while (now >= L->next_sample && L->next_sample <= L->start + (us_time_t)L->nsecs * US_SEC(1)) {
        sample(L, now);
        L->next_sample += US_SEC(1);
    }
    bool sending = L->sent < L->total && now < L->end;
    if (!sending && (!us_hc_pending(L->hc) || now >= L->hard_end))
        L->stop = true;
    if (sending && L->next_send < d)
        d = L->next_send;
    if (L->next_sample < d)
        d = L->next_sample;
    if (L->hard_end < d)
        d = L->hard_end;
    return d;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (!n)
        return NAN;
    size_t i = (size_t)(p / 100 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void second_line(const struct load *L, size_t i, uint64_t *opened)
{
    const struct sec *s = &L->secs[i];
    *opened += s->opened;
    size_t from = i ? L->secs[i - 1].lat_to : 0, n = s->lat_to > from ? s->lat_to - from : 0;
    double *v = L->lat + from;
    qsort(v, n, sizeof(*v), cmp_double);
    printf("  %5zu  %7llu  %8llu  %7llu  %13llu  %9llu  %9u  %8.2f  %8.2f\n", i + 1, (unsigned long long)s->sent,
           (unsigned long long)s->ok, (unsigned long long)s->failed, (unsigned long long)s->eaddr,
           (unsigned long long)*opened, s->time_wait, pct(v, n, 50), pct(v, n, 99));
}

static int parse_ports(struct cli *c)
{
    unsigned lo, hi;
    char tail;
    if (sscanf(load_ports, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1024 || hi > 65535 || lo > hi)
        return cli_error("--local-ports: '%s' is not allowed (expected LO-HI within 1024-65535, e.g. 50000-50199)",
                         load_ports);
    if (cli_on_kernel(c))
        return cli_error("--local-ports sets ustack's ephemeral range; on --stack kernel set "
                         "net.ipv4.ip_local_port_range (per network namespace)");
    c->port_lo = (uint16_t)lo, c->port_hi = (uint16_t)hi;
    return 0;
}

static int load_run(struct cli *c)
{
    struct load L = {.c = c};
    struct us_url u;
    char err[256];
    if (us_url_parse(load_url.v[0], &u, err, sizeof(err)))
        return cli_error("load: %s: %s", load_url.v[0], err), 1;
    us_url_str(&u, L.url, sizeof(L.url));
    L.port = u.port;
    int rc = us_url_host_ip(&u, &L.ip, err, sizeof(err));
    us_url_free(&u);
    if (rc)
        return cli_error("load: %s (load takes a numeric host, so that DNS is not part of the load)", err), 1;
    if (load_ports && (rc = parse_ports(c)))
        return rc;
    L.total = (uint64_t)(load_rate * load_duration + 0.5);
    if (L.total < 1 || L.total > LOAD_MAX_REQUESTS)
        return cli_error("load: --rate x --duration = %.0f requests: allowed 1..%u", load_rate * load_duration,
                         LOAD_MAX_REQUESTS);
    L.nsecs = (size_t)ceil(load_duration + load_grace) + 1;
    L.lat = malloc(L.total * sizeof(*L.lat));
    L.secs = calloc(L.nsecs, sizeof(*L.secs));
    if (!L.lat || !L.secs) {
        free(L.lat);
        free(L.secs);
        return cli_error("load: out of memory"), 1;
    }
    if ((rc = cli_transport(c))) {
        free(L.lat);
        free(L.secs);
        return rc;
    }
    struct us_hc_config cfg;
    us_hc_config_default(&cfg);
    cfg.max_per_host = load_keepalive ? 64 : load_max_outstanding;
    cfg.close_after_response = !load_keepalive;
    cfg.connect_timeout = US_SEC(10);
    cfg.timeout = (us_time_t)(load_grace * 1e9) + US_SEC(10);
    L.hc = us_hc_new(c->tp, &cfg);

    uint32_t lo, hi;
    double tw;
    port_arith(&L, &lo, &hi, &tw);
    uint32_t ports = hi - lo + 1;
    printf("ustack load: %s on %s, %g requests/s for %g s (%llu requests), %s\n", L.url, us_tp_name(c->tp), load_rate,
           load_duration, (unsigned long long)L.total,
           load_keepalive ? "over kept-alive connections (at most 64)"
                          : "a new connection per request, closed by the client first after its response");
    if (!load_keepalive) {
        double need = load_rate * tw;
        printf("ports %u..%u (%u); TIME_WAIT lasts 2*MSL = %g s: %g/s x %g s = %.0f TIME_WAITs needed", lo, hi, ports,
               tw, load_rate, tw, need);
        if (need > ports)
            printf(" > %u ports:\nprediction: connect fails with EADDRNOTAVAIL from %u / %g/s = %.2f s on, then about "
                   "%u / %g s = %.1f connections/s\n",
                   ports, ports, load_rate, ports / load_rate, ports, tw, ports / tw);
        else
            printf(" <= %u ports:\nprediction: no exhaustion\n", ports);
    }
    uint32_t tw0 = time_wait_count(&L);
    if (tw0)
        printf("(%u connections to the target already in TIME_WAIT: counted in the table below)\n", tw0);
    printf("\n  %5s  %7s  %8s  %7s  %13s  %9s  %9s  %8s  %8s\n", "t (s)", "sent", "answered", "failed",
           "EADDRNOTAVAIL", "conns", "TIME_WAIT", "p50 ms", "p99 ms");
    L.start = us_tp_now(c->tp);
    L.next_send = L.start;
    L.interval = (us_time_t)(1e9 / load_rate);
    if (!L.interval)
        L.interval = 1;
    L.end = L.start + (us_time_t)(load_duration * 1e9);
    L.hard_end = L.end + (us_time_t)(load_grace * 1e9);
    L.next_sample = L.start + US_SEC(1);
    rc = us_tp_run(c->tp, step, &L, &L.stop, US_TIME_NEVER);
    us_time_t stopped = us_tp_now(c->tp);
    if (L.next_sample <= stopped + US_SEC(1) && L.next_sample <= L.start + (us_time_t)L.nsecs * US_SEC(1))
    {
        sample(&L, stopped);   /* the last, partial second */
        L.next_sample += US_SEC(1);
    }
    size_t shown = (size_t)((L.next_sample - L.start) / US_SEC(1)) - 1;
    uint64_t opened = 0;
    for (size_t i = 0; i < shown && i < L.nsecs; i++)
        second_line(&L, i, &opened);
    qsort(L.lat, L.nlat, sizeof(*L.lat), cmp_double);
    double secs = (double)(stopped - L.start) / 1e9;
    printf("\nresult: %llu sent, %llu answered (%llu with status >= 400), %llu failed", (unsigned long long)L.sent,
           (unsigned long long)L.ok, (unsigned long long)L.status_err, (unsigned long long)L.failed);
    if (L.eaddr)
        printf(" (%llu EADDRNOTAVAIL, the first at %.3f s)", (unsigned long long)L.eaddr,
               (double)(L.first_eaddr - L.start) / 1e9);
    printf("; %.1f answered/s over %.2f s\n", secs > 0 ? (double)L.ok / secs : 0, secs);
    if (L.other_errors)
        printf("other errors: %llu, the first: %s\n", (unsigned long long)L.other_errors, L.first_error);
    printf("latency ms: p50 %.2f, p90 %.2f, p99 %.2f, max %.2f; connections opened %u; TIME_WAIT at most %u\n",
           pct(L.lat, L.nlat, 50), pct(L.lat, L.nlat, 90), pct(L.lat, L.nlat, 99), pct(L.lat, L.nlat, 100),
           us_hc_connections_opened(L.hc), L.tw_max);
    int status = L.failed || L.sent < L.total ? 1 : 0;
    if (rc == -EINTR || L.interrupted || cli_stopping()) {
        printf("load: interrupted by %s\n", L.interrupted ? L.interrupted : cli_stop_signal() ? cli_stop_signal() : "a signal");
        status = 130;
    }
    us_hc_free(L.hc);
    cli_transport_teardown(c);
    free(L.lat);
    free(L.secs);
    free(load_url.v);
    return status;
}

static const struct cli_opt load_opts[] = {
    CLI_ARGV("URL", "the URL to request (numeric host: DNS is not part of the load)", &load_url),
    CLI_REAL("--rate", "R", "requests per second, open loop (default 100)", &load_rate, 0.01, 1e6),
    CLI_REAL("--duration", "S", "seconds of sending, 0.001..600 (default 10)", &load_duration, 0.001, 600),
    CLI_REAL("--grace", "S", "seconds to wait for answers after the last request (default 5)", &load_grace, 0, 600),
    CLI_FLAG("--keepalive", "reuse connections instead of a new one per request", &load_keepalive),
    CLI_UINT("--max-outstanding", "N", "requests in flight at most; more are skipped (default 10000)",
             &load_max_outstanding, 1, 1000000),
    CLI_STR("--local-ports", "LO-HI", "ustack's ephemeral port range for this run (e.g. 50000-50199)", &load_ports),
    CLI_END,
};

const struct cli_cmd cmd_load = {
    .name = "load",
    .summary = "HTTP load at a fixed rate: requests/s, latency, connections, TIME_WAIT and port exhaustion",
    .description = "Without --keepalive each request opens a connection that the client closes first after\n"
                   "the response, so every request holds an ephemeral port in TIME_WAIT for 2*MSL: the\n"
                   "printed arithmetic predicts when connect fails (EADDRNOTAVAIL) and the per-second table\n"
                   "shows it happen. --keepalive runs the same load over reused connections. Bounded by\n"
                   "--rate x --duration requests and --duration + --grace seconds.\n",
    .globals = true,
    .opts = load_opts,
    .run = load_run,
};
