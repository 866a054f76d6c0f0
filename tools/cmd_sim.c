/* ustack sim SCENARIO: the seeds' experiments, run in virtual time between two
 * ustack hosts (tools/scen.h). Each prints what happened with its exact
 * virtual times, then a paragraph saying what it shows, and writes a pcap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "pageview.h"
#include "plot.h"
#include "scen.h"

static const char *name_opt, *pcap_opt, *mode_opt, *closer_opt, *plot_opt;
static double rate_opt = -1, duration_opt = 0, loss_opt = 0;   /* duration 0: the scenario's default */
static uint32_t ports_opt = 1000;
static us_time_t msl_opt = US_SEC(30);
static us_time_t rtt_opt = 0, delack_opt = US_MS(40);   /* rtt 0: the scenario's default */
static uint32_t body_opt = 100, requests_opt = 3, parallel_opt = 6, pipeline_opt = 8, resources_opt = 20;
static const char *strategy_opt;

static const char *const scen_names[] = {"nagle", "timewait", "page", "cc", NULL};
static const char *const page_strategies[] = {"serial", "parallel", "persistent", "pipelined", "all", NULL};
static const char *const closers[] = {"client", "server", NULL};
static const char *const nagle_modes[] = {"all", "nagle", "nodelay", "one-write", NULL};

static const struct cli_opt opts[] = {
    {.metavar = "SCENARIO", .help = "the scenario: nagle, timewait, page, cc", .parse = cli_opt_choice, .out = &name_opt,
     .choices = scen_names},
    {.name = "--rtt", .metavar = "MS", .help = "round-trip time of the link (default 20; page 80; cc 1..1000)", .parse = cli_opt_ms,
     .out = &rtt_opt, .dlo = 0.002, .dhi = 10000},
    {.name = "--delack", .metavar = "MS", .help = "nagle: B's delayed-ACK time, 1..500 (default 40)",
     .parse = cli_opt_ms, .out = &delack_opt, .dlo = 1, .dhi = 500},
    CLI_UINT("--body", "BYTES", "nagle: bytes of the POST body, 1..1024 (default 100)", &body_opt, 1, 1024),
    CLI_UINT("--requests", "N", "nagle: requests on the connection, 1..16 (default 3)", &requests_opt, 1, 16),
    CLI_CHOICE("--mode", "MODE", "nagle: which sender to run (default all)", &mode_opt, nagle_modes),
    CLI_REAL("--rate", "R", "timewait: connections per second (default 100); page: link bits/s (default 10000000, 0 = unlimited); "
             "cc: bottleneck bits/s, 1000000..1000000000 (default 100000000)",
             &rate_opt, 0, 1e11),
    CLI_CHOICE("--strategy", "S", "page: serial, parallel, persistent, pipelined or all (default all)", &strategy_opt,
               page_strategies),
    CLI_UINT("--parallel", "N", "page: connections of parallel and persistent, 1..64 (default 6)", &parallel_opt, 1, 64),
    CLI_UINT("--pipeline", "D", "page: requests outstanding when pipelined, 1..64 (default 8)", &pipeline_opt, 1, 64),
    CLI_REAL("--loss", "P", "page: loss probability of each direction; cc: of the data direction, before the queue; 0..0.5 (default 0)",
             &loss_opt, 0, 0.5),
    CLI_UINT("--resources", "N", "page: resources the page embeds, 1..128 (default 20)", &resources_opt, 1, 128),
    CLI_REAL("--duration", "S", "timewait: seconds of virtual time the load runs (default 40); cc: of each run, 1..120, "
             "the first fifth not counted (default 10)", &duration_opt, 0.001, 3600),
    CLI_UINT("--ports", "N", "timewait: A's ephemeral ports, from 49152 (default 1000)", &ports_opt, 1, 16384),
    {.name = "--msl", .metavar = "MS", .help = "timewait: maximum segment lifetime; TIME_WAIT lasts 2*MSL (default 30000)",
     .parse = cli_opt_ms, .out = &msl_opt, .dlo = 1, .dhi = 600000},
    CLI_CHOICE("--closer", "SIDE", "timewait: who closes first (default client)", &closer_opt, closers),
    CLI_STR("--plot", "FILE", "timewait: TIME_WAIT over time; page: waterfall and cwnd (PNG, or .svg)", &plot_opt),
    CLI_STR("--pcap", "FILE", "capture of A's side (nagle default ustack-sim-nagle-MODE.pcap; timewait: none)", &pcap_opt),
    CLI_END,
};

static double ms(us_time_t t) { return (double)t / 1e6; }

static int nagle_one(int mode, bool several)
{
    char pcap[256], err[256];
    if (pcap_opt && !several)
        snprintf(pcap, sizeof(pcap), "%s", pcap_opt);
    else {   /* one capture per mode: FILE.pcap -> FILE-MODE.pcap */
        const char *base = pcap_opt ? pcap_opt : "ustack-sim-nagle";
        size_t bl = strlen(base);
        if (bl > 5 && !strcmp(base + bl - 5, ".pcap"))
            bl -= 5;
        snprintf(pcap, sizeof(pcap), "%.*s-%s.pcap", (int)bl, base, scen_nagle_mode_name(mode));
    }
    struct scen_nagle_opts o = {.mode = mode, .one_way = rtt_opt / 2, .delack = delack_opt, .body_len = body_opt,
                                .requests = (int)requests_opt, .pcap = pcap};
    struct scen_nagle_result r;
    if (scen_nagle_run(&o, &r, err, sizeof(err)) < 0)
        return cli_error("sim nagle: %s", err), 1;
    static const char *const how[NAGLE_MODES] = {
        "Nagle on (the default), head and body in two writes",
        "TCP_NODELAY, head and body in two writes",
        "Nagle on, head and body in one write (writev)",
    };
    printf("\n%s (pcap of A's side: %s)\n", how[mode], pcap);
    for (int i = 0; i < r.done; i++) {
        const struct scen_nagle_req *q = &r.req[i];
        us_time_t t0 = q->t_write;
        printf("  request %d at %8.3f ms: B has the head +%7.3f ms, the body +%7.3f ms; A has the response +%7.3f ms"
               " = %.2f round trips\n",
               i + 1, ms(t0), ms(q->t_head - t0), ms(q->t_body - t0), ms(q->t_done - t0),
               (double)(q->t_done - t0) / (double)rtt_opt);
    }
    if (r.found)
        printf("  analyzer: %s\n", r.finding);
    else
        printf("  analyzer: no Nagle x delayed-ACK episode on the wire\n");
    return 0;
}

static int nagle(void)
{
    int first = 0, last = NAGLE_MODES - 1;
    for (int m = 0; m < NAGLE_MODES && mode_opt && strcmp(mode_opt, "all"); m++)
        if (!strcmp(mode_opt, scen_nagle_mode_name(m)))
            first = last = m;
    printf("ustack sim nagle: A (198.18.0.1) POSTs to B (198.18.0.2) %u time%s on one connection; a %u-byte\n"
           "body after the head. Link: %.3f ms round trip, no loss. B delays ACKs by %.0f ms.\n",
           requests_opt, requests_opt == 1 ? "" : "s", body_opt, ms(rtt_opt), ms(delack_opt));
    for (int m = first; m <= last; m++)
        if (nagle_one(m, first != last))
            return 1;
    printf("\nTimes are virtual, from 0 as in the capture; A connects at 100 ms; its SYN waits 20 ms for ARP.\n");
    printf("\nWhat it shows: with Nagle's algorithm a small segment may not leave while an earlier one is\n"
           "unacknowledged, so the body waits for the ACK of the head. B has nothing to send until the\n"
           "request is complete, so it delays that ACK by its delayed-ACK time (%.0f ms here): each request\n"
           "costs a round trip plus the delayed-ACK time instead of one round trip. TCP_NODELAY lets the body\n"
           "go at once; writing head and body in one call gives Nagle nothing to hold.\n",
           ms(delack_opt));
    return 0;
}

static int tw_plot(const struct scen_tw_result *r, us_time_t t0)
{
    size_t n = r->nsamples;
    double *v = malloc(n * 5 * sizeof(double));
    if (!v)
        return cli_error("sim timewait: out of memory"), 1;
    double *t = v, *a = v + n, *b = v + 2 * n, *ok = v + 3 * n, *bad = v + 4 * n;
    for (size_t i = 0; i < n; i++) {
        t[i] = (double)(r->samples[i].t - t0) / 1e9;
        a[i] = r->samples[i].tw_a;
        b[i] = r->samples[i].tw_b;
        ok[i] = (double)r->samples[i].opened;
        bad[i] = (double)r->samples[i].failed;
    }
    char extra[256] = "";
    if (r->t_first_fail)
        snprintf(extra, sizeof(extra), "set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lc rgb 'red'\n"
                 "set label 'first EADDRNOTAVAIL' at %.3f, graph 0.55 offset 1,0 tc rgb 'red'",
                 (double)(r->t_first_fail - t0) / 1e9, (double)(r->t_first_fail - t0) / 1e9,
                 (double)(r->t_first_fail - t0) / 1e9);
    const struct plot_series s[] = {
        {"A: connections in TIME_WAIT", t, a, n, NULL},
        {"B: connections in TIME_WAIT", t, b, n, NULL},
        {"connections opened (total)", t, ok, n, "lines lw 1"},
        {"connects refused: EADDRNOTAVAIL (total)", t, bad, n, "lines lw 1"},
    };
    char title[160], err[512];
    snprintf(title, sizeof(title), "close per request at %g/s, %u ports, TIME_WAIT %.0f s (%s closes first)", rate_opt,
             ports_opt, (double)(2 * msl_opt) / 1e9, closer_opt ? closer_opt : "client");
    struct plot p = {.path = plot_opt, .title = title, .xlabel = "time (s, virtual)", .ylabel = "connections",
                     .series = s, .nseries = 4, .extra = extra[0] ? extra : NULL};
    int rc = plot_write(&p, err, sizeof(err));
    free(v);
    if (rc < 0)
        return cli_error("--plot: %s", err), 1;
    printf("plot: %s (script %s.gp)\n", plot_opt, plot_opt);
    return 0;
}

static int timewait(void)
{
    bool server_closes = closer_opt && !strcmp(closer_opt, "server");
    struct scen_tw_opts o = {.rate = rate_opt, .duration = (us_time_t)(duration_opt * 1e9), .ports = ports_opt,
                             .msl = msl_opt, .one_way = rtt_opt / 2,
                             .closer = server_closes ? TW_SERVER_CLOSES : TW_CLIENT_CLOSES, .pcap = pcap_opt};
    double tw = (double)(2 * msl_opt) / 1e9;
    printf("ustack sim timewait: A opens one connection per request to B:80 at %g/s for %g s (request,\n"
           "response, close: HTTP/1.0 style); %s closes first. Link: %.3f ms round trip.\n"
           "A has %u ephemeral ports (49152..%u); TIME_WAIT lasts 2*MSL = %g s.\n",
           rate_opt, duration_opt, server_closes ? "B (the server)" : "A (the client)", ms(rtt_opt), ports_opt,
           49152 + ports_opt - 1, tw);
    double need = rate_opt * tw;
    if (server_closes)
        printf("prediction: B holds the TIME_WAITs (up to %g/s x %g s = %.0f); A's ports are free again as soon as\n"
               "each connection closes, so connect never fails.\n",
               rate_opt, tw, need);
    else if (need > ports_opt)
        printf("prediction: each request keeps one of A's ports in TIME_WAIT for %g s; %g/s x %g s = %.0f > %u ports,\n"
               "so connect fails with EADDRNOTAVAIL from %u / %g/s = %.2f s on; from then on only as many\n"
               "connections open as TIME_WAITs expire: %u ports / %g s = %.1f per second on average.\n",
               tw, rate_opt, tw, need, ports_opt, ports_opt, rate_opt, ports_opt / rate_opt, ports_opt, tw,
               ports_opt / tw);
    else
        printf("prediction: %g/s x %g s = %.0f TIME_WAITs at most, within %u ports: connect never fails.\n", rate_opt,
               tw, need, ports_opt);
    struct scen_tw_result r;
    char err[256];
    if (scen_tw_run(&o, &r, err, sizeof(err)) < 0)
        return cli_error("sim timewait: %s", err), 1;
    us_time_t t0 = r.samples[0].t;
    printf("\n  time (s)  TIME_WAIT on A  TIME_WAIT on B  opened  EADDRNOTAVAIL\n");
    size_t every = r.nsamples > 25 ? (r.nsamples + 24) / 25 : 1;
    for (size_t i = 0; i < r.nsamples; i++)
        if (i % every == 0 || i + 1 == r.nsamples)
            printf("  %8.2f  %14u  %14u  %6llu  %13llu\n", (double)(r.samples[i].t - t0) / 1e9, r.samples[i].tw_a,
                   r.samples[i].tw_b, (unsigned long long)r.samples[i].opened,
                   (unsigned long long)r.samples[i].failed);
    printf("\nresult: %llu attempts, %llu connections opened, %llu answered, %llu connects failed with EADDRNOTAVAIL",
           (unsigned long long)r.attempts, (unsigned long long)r.opened, (unsigned long long)r.completed,
           (unsigned long long)r.failed);
    if (r.t_first_fail)
        printf(", the first at %.3f s (predicted %.2f s)", (double)(r.t_first_fail - t0) / 1e9, ports_opt / rate_opt);
    printf(".\nTIME_WAIT at most: %u on A, %u on B; B reopened %llu tuples it held in TIME_WAIT (a new SYN\n"
           "above the old connection's sequence or timestamps, RFC 6191).\n",
           r.tw_max_a, r.tw_max_b, (unsigned long long)r.tw_reused_b);
    printf("\nWhat it shows: the side that closes first keeps the connection's 4-tuple for 2*MSL so that\n"
           "delayed segments of the old connection cannot be taken for the new one. A client that opens a\n"
           "connection per request and closes first spends one ephemeral port per request for that long, so\n"
           "its request rate is bounded by ports / (2*MSL) however fast the network is. Keep-alive (one\n"
           "connection for many requests) or letting the server close first avoids it.\n");
    int rc = plot_opt ? tw_plot(&r, t0) : 0;
    scen_tw_free(&r);
    return rc;
}

/* ---- page ---- */
static int page(void)
{
    int first = 0, last = PAGE_STRATEGIES - 1, one = page_strategy_parse(strategy_opt);
    if (one >= 0)
        first = last = one;
    struct scen_page_opts o = {.parallel = parallel_opt, .pipeline = pipeline_opt, .rtt = rtt_opt,
                               .rate = rate_opt < 0 ? 10000000 : (uint64_t)rate_opt, .loss = loss_opt,
                               .resources = resources_opt, .seed = 1, .pcap = pcap_opt};
    printf("ustack sim page: A (198.18.0.1) loads http://page.test/ from B (198.18.0.2): a page with %u resources.\n"
           "B runs the HTTP server and answers DNS; A the resolver and client. Link: %.1f ms round trip, ",
           resources_opt, ms(rtt_opt));
    if (o.rate)
        printf("%.3g Mbit/s", (double)o.rate / 1e6);
    else
        printf("unlimited rate");
    printf(", loss %g%% each way.\n", loss_opt * 100);
    static struct scen_page_result res[PAGE_STRATEGIES];
    const struct page_result *done[PAGE_STRATEGIES];
    int n = 0, status = 0;
    for (int s = first; s <= last; s++) {
        char err[256], pcap[512];
        o.strategy = s;
        if (pcap_opt && first != last) {
            page_plot_name(pcap_opt, page_strategy_name(s), pcap, sizeof(pcap));
            o.pcap = pcap;
        }
        if (scen_page_run(&o, &res[s], err, sizeof(err)) < 0)
            return cli_error("sim page: %s", err), 1;
        printf("\n%s: %u bodies, %llu bytes, %s\n", page_strategy_name(s), res[s].resources + 1,
               (unsigned long long)res[s].site_bytes,
               res[s].mismatched ? "SOME DIFFER FROM THE FILES" : "every one byte-exact");
        page_print_waterfall(&res[s].load, true);
        page_print_totals(&res[s].load, true);
        if (plot_opt && page_plot(&res[s].load, plot_opt, first != last, true))
            status = 1;
        if (res[s].mismatched || res[s].load.failed)
            status = 1;
        done[n++] = &res[s].load;
    }
    if (n > 1) {
        printf("\ncomparison:\n");
        page_print_table(done, n, true);
    }
    printf("\nWhat it shows: every new connection costs a handshake (a round trip) and starts its congestion\n"
           "window at 10 segments (slow start); every request on it costs at least a round trip more. Serial\n"
           "pays all of it per resource; parallel overlaps it; persistent pays the handshakes and slow starts\n"
           "once per connection; pipelined once in all, and sends requests without waiting for responses.\n"
           "The name is looked up once on the wire; the cache answers the rest.\n");
    for (int s = first; s <= last; s++)
        page_result_free(&res[s].load);
    return status;
}

/* ---- cc ---- */
static int cc(void)
{
    if (rate_opt < 1e6 || rate_opt > 1e9)
        return cli_error("sim cc: --rate must be 1000000..1000000000 bits/s (got %g)", rate_opt);
    if (rtt_opt < US_MS(1) || rtt_opt > US_SEC(1))
        return cli_error("sim cc: --rtt must be 1..1000 ms (got %g)", ms(rtt_opt));
    if (duration_opt < 1 || duration_opt > 120)
        return cli_error("sim cc: --duration must be 1..120 s (got %g)", duration_opt);
    static const char *const ccs[] = {"bbr", "cubic", "newreno"};
    static const double buffers[] = {0.25, 10};
    us_time_t duration = (us_time_t)(duration_opt * 1e9);
    struct scen_cc_opts o = {.rate = (uint64_t)rate_opt, .rtt = rtt_opt, .loss = loss_opt, .duration = duration,
                             .warmup = duration / 5, .seed = 1};
    uint32_t bdp = scen_cc_bdp(&o);
    printf("ustack sim cc: A (198.18.0.1) sends B (198.18.0.2) an endless stream through one bottleneck:\n"
           "%.4g Mbit/s (at most %.2f Mbit/s of payload: 1448 bytes of each 1514-byte frame), %.3g ms round trip,\n"
           "BDP %u bytes, random loss %g%% before the queue. Each run %g s; the first %g s (startup) are not\n"
           "counted. Queueing delay: each data packet's wait in the bottleneck queue, taken at the queue.\n\n",
           rate_opt / 1e6, rate_opt / 1e6 * 1448 / 1514, ms(rtt_opt), bdp, loss_opt * 100, duration_opt,
           (double)o.warmup / 1e9);
    printf("  cc       buffer                   goodput  queue delay (ms)  retransmits  queue drops\n"
           "                                     Mbit/s     p50      p99\n");
    for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); i++) {
        for (size_t j = 0; j < sizeof(ccs) / sizeof(ccs[0]); j++) {
            struct scen_cc_result r;
            char err[256], buf[40];
            o.cc = ccs[j];
            o.buffer_bdp = buffers[i];
            if (scen_cc_run(&o, &r, err, sizeof(err)) < 0)
                return cli_error("sim cc: %s", err), 1;
            snprintf(buf, sizeof(buf), "%g BDP (%u B)", buffers[i], r.queue_bytes);
            printf("  %-8s %-22s %9.2f %7.2f  %7.2f  %11llu  %11llu\n", r.cc, buf, r.goodput_bps / 1e6, ms(r.q50),
                   ms(r.q99), (unsigned long long)r.retransmits, (unsigned long long)r.queue_drops);
        }
    }
    printf("\nWhat it shows: CUBIC and NewReno grow their windows until the queue overflows, so a deep buffer\n"
           "stays full and every packet waits in it for most of its length (bufferbloat); random loss halves\n"
           "their windows each time. BBR paces at its estimate of the bottleneck rate and keeps about one BDP\n"
           "in flight, so the queue stays near empty whatever its depth, and it does not take random loss for\n"
           "congestion (draft-ietf-ccwg-bbr; tcp_bbr.c says where it follows Linux instead). A queue shallower\n"
           "than a BDP costs BBR more drops than CUBIC: its probes for more bandwidth overflow it.\n");
    return 0;
}

static int run(struct cli *c)
{
    (void)c;
    bool pg = !strcmp(name_opt, "page");
    if (!rtt_opt)
        rtt_opt = pg ? US_MS(80) : US_MS(20);
    if (!strcmp(name_opt, "cc")) {
        if (rate_opt < 0)
            rate_opt = 1e8;
        if (!duration_opt)
            duration_opt = 10;
        return cc();
    }
    if (!duration_opt)
        duration_opt = 40;
    if (rate_opt < 0 && !pg)
        rate_opt = 100;
    if (!pg && rate_opt <= 0)
        return cli_error("sim %s: --rate must be above 0", name_opt);
    if (pg)
        return page();
    if (!strcmp(name_opt, "nagle"))
        return nagle();
    if (!strcmp(name_opt, "timewait"))
        return timewait();
    return cli_error("sim: unknown scenario '%s'", name_opt);
}

const struct cli_cmd cmd_sim = {
    .name = "sim",
    .summary = "a scenario in virtual time between two ustack hosts (nagle, timewait, page, cc)",
    .description = "Scenarios:\n"
                   "  nagle   a POST written as head + body: Nagle x delayed ACK, and TCP_NODELAY or one\n"
                   "          write removing the stall; the trace analyzer names it on the capture\n"
                   "  timewait  a connection per request at --rate: TIME_WAIT piling up and the ephemeral\n"
                   "          ports running out (EADDRNOTAVAIL) when the client closes first\n"
                   "  page    a page and its resources loaded by --strategy serial, parallel, persistent,\n"
                   "          pipelined or all: DNS, handshakes, slow starts and round trips per request\n"
                   "  cc      BBR, CUBIC and NewReno through one bottleneck with a shallow (0.25 BDP) and a\n"
                   "          deep (10 BDP) queue: goodput, queueing delay p50/p99 at the queue,\n"
                   "          retransmissions and queue drops (--rate, --rtt, --loss, --duration)\n",
    .globals = false,
    .opts = opts,
    .run = run,
};
