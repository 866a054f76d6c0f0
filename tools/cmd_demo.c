/* ustack demo: two ustack hosts in one process over an impaired pipe link in
 * virtual time, A (198.18.0.1) and B (198.18.0.2). Parts (--part):
 *   page  (the default) A loads a page with twenty resources from B's HTTP
 *         server by the four strategies (serial, parallel, persistent,
 *         pipelined; scen_page.c) over 80 ms, 10 Mbit/s, 1 % loss: the
 *         comparison table, the waterfall and cwnd plots, and per strategy
 *         which of the seeds' costs it avoided and which it still pays;
 *   ping  A and B ping each other with unfragmented and fragmented requests;
 *   bulk  A sends 2 MB to B over TCP through the lossy link: handshake, slow
 *         start, loss recovery, close and TIME_WAIT;
 *   all   the three.
 * Pcaps of A's side show what happened. Same seed, same output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/sim.h>
#include "cli.h"
#include "pageview.h"
#include "simnet.h"
#include "xfer.h"

struct ping_run {
    struct us_sim *sim;
    struct sim_host *from, *to;
    uint16_t id;
    uint32_t sent, received;
};

static void ping_series(struct ping_run *p, uint32_t size, int count)
{
    char a[16], b[16];
    printf("\n%s -> %s: %d echo requests of %u bytes%s\n", p->from->name, p->to->name, count, size,
           size + 28 > 1500 ? " (fragmented)" : "");
    for (int i = 0; i < count; i++) {
        uint16_t seq = (uint16_t)(p->sent + 1);
        us_time_t t0 = us_sim_now(p->sim);
        int rc = us_ping_send(p->from->st, p->to->ip, p->id, seq, size, t0);
        p->sent++;
        if (rc < 0)
            printf("  [%8.3f ms] seq %u: send failed: %s\n", (double)t0 / 1e6, seq, strerror(-rc));
        us_sim_run_until(p->sim, t0 + US_SEC(1));
        struct us_ping_reply r;
        bool got = false;
        while (us_ping_recv(p->from->st, p->id, &r) == 1) {
            got = true;
            p->received++;
            printf("  [%8.3f ms] %u bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms%s\n", (double)r.received / 1e6,
                   r.len + 8, cli_ipstr(r.from, a), r.seq, r.ttl, (double)(r.received - r.sent) / 1e6,
                   r.data_ok ? "" : " BAD DATA");
        }
        if (!got)
            printf("  [%8.3f ms] icmp_seq=%u to %s: no reply (lost on the impaired link)\n",
                   (double)us_sim_now(p->sim) / 1e6, seq, cli_ipstr(p->to->ip, b));
    }
}

/* ---- TCP transfer (tools/xfer.h), a line at each milestone ---- */
struct demo_xfer {
    struct xfer x;
    us_time_t t_start;
    uint64_t next_report;
    bool said_accepted, said_fin;
};

static void report(const struct xfer *x, const char *what)
{
    struct us_tcp_info ti;
    us_time_t now = us_sim_now(x->sim);
    if (us_tcp_info(x->ss, x->sfd, &ti) < 0)
        return;
    printf("  [%8.3f ms] %-24s %s cwnd %6u ssthresh %10u srtt %6.1f ms rto %6.0f ms in flight %6u retx %llu\n",
           (double)now / 1e6, what, us_tcp_state_name(ti.state), ti.cwnd, ti.ssthresh, (double)ti.srtt / 1e6,
           (double)ti.rto / 1e6, ti.bytes_in_flight, (unsigned long long)ti.retransmits);
}

static bool demo_step(void *arg)
{
    struct demo_xfer *d = arg;
    struct xfer *x = &d->x;
    bool more = xfer_step(x);
    if (x->dfd >= 0 && !d->said_accepted) {
        d->said_accepted = true;
        report(x, "connection accepted");
    }
    if (x->closed && !d->said_fin) {
        d->said_fin = true;
        report(x, "all data queued, FIN");
    }
    if (x->got >= d->next_report) {
        char what[48];
        snprintf(what, sizeof(what), "B has read %3llu%%", (unsigned long long)(x->got * 100 / x->total));
        report(x, what);
        while (d->next_report <= x->got)
            d->next_report += x->total / 5;
    }
    return more;
}

static int tcp_demo(struct us_sim *sim, struct sim_host *a, struct sim_host *b, uint64_t total)
{
    struct demo_xfer d = {.x = {.sim = sim, .ss = a->st, .ds = b->st, .total = total, .seed = 1, .close_after = true,
                                .read_chunk = 16384},
                          .t_start = us_sim_now(sim), .next_report = total / 5};
    struct xfer *x = &d.x;
    printf("\n%s -> %s: TCP transfer of %llu bytes (newreno, initial window 10 segments)\n", a->name, b->name,
           (unsigned long long)total);
    int rc = xfer_connect(x, b->ip, 5001);
    if (rc < 0)
        return cli_error("demo: connect: %s", strerror(-rc));
    rc = us_sim_run_while(sim, demo_step, &d, d.t_start + US_SEC(600));
    if (rc < 0 || x->err || x->bad || x->got != total) {
        printf("  transfer FAILED: %s%s%s, %llu of %llu bytes\n", rc ? strerror(-rc) : "", x->err ? strerror(-x->err) : "",
               x->bad ? "data corrupted" : "", (unsigned long long)x->got, (unsigned long long)total);
        return 1;
    }
    report(x, "B read everything + FIN");
    us_time_t dur = x->t_eof - d.t_start;
    printf("  %llu bytes intact in %.3f s virtual: goodput %.2f Mbit/s, %llu retransmits (%llu fast, %llu timeouts)\n",
           (unsigned long long)x->got, (double)dur / 1e9, (double)x->got * 8 / ((double)dur / 1e9) / 1e6,
           (unsigned long long)cli_counter(a->st, "tcp.retransmits"),
           (unsigned long long)cli_counter(a->st, "tcp.fast_retransmits"),
           (unsigned long long)cli_counter(a->st, "tcp.rto_expirations"));
    us_close(b->st, x->dfd, us_sim_now(sim));
    us_close(b->st, x->lfd, us_sim_now(sim));
    us_close(a->st, x->sfd, us_sim_now(sim));
    us_sim_run_until(sim, us_sim_now(sim) + US_SEC(1));
    printf("  closed; A's side waits in TIME_WAIT for 2*MSL before the 4-tuple can be reused\n");
    return 0;
}

static const char *pcap_opt, *part_opt = "page", *plot_opt;
static const char *const parts[] = {"page", "ping", "bulk", "all", NULL};
static const struct cli_opt opts[] = {
    CLI_CHOICE("--part", "PART", "page, ping, bulk or all (default page)", &part_opt, parts),
    CLI_STR("--pcap", "FILE", "capture of A's side (default ustack-demo.pcap; page: FILE-STRATEGY.pcap)", &pcap_opt),
    CLI_STR("--plot", "FILE", "page: the plots, FILE-STRATEGY.png and FILE-STRATEGY-cwnd.png (default ustack-demo.png)",
            &plot_opt),
    CLI_END,
};

/* ping and bulk: the link's impairments are the global options (default 5 % loss, 10 ms each way) */
static int ping_bulk(struct cli *c, const char *pcap, bool ping, bool bulk)
{
    struct us_impair_config imp = c->imp;
    if (!c->impaired) {
        imp.tx.loss = 0.05;
        imp.tx.delay = US_MS(10);
    }
    uint64_t seed = c->seed_set ? c->seed : 42;
    imp.seed = seed;

    struct simnet net;
    char err[256];
    struct simnet_opts so = {.a_tx = imp.tx, .b_tx = imp.tx, .seed = seed, .pcap_a = pcap};
    if (simnet_open(&net, &so, err, sizeof(err)) < 0)
        return cli_error("demo: %s", err);
    struct us_sim *sim = net.sim;
    struct sim_host *A = &net.a, *B = &net.b;
    printf("ustack demo: hosts A 198.18.0.1 and B 198.18.0.2 on a pipe link in virtual time\n"
           "link: loss %.0f%%, delay %.1f ms each way (seed %llu); pcap of A's side: %s\n",
           imp.tx.loss * 100, (double)imp.tx.delay / 1e6, (unsigned long long)seed, pcap);
    struct ping_run ab = {.sim = sim, .from = A, .to = B, .id = 0x1234};
    struct ping_run ba = {.sim = sim, .from = B, .to = A, .id = 0x4321};
    if (ping) {
        ping_series(&ab, 56, 5);
        ping_series(&ab, 3000, 5);
        ping_series(&ba, 1472, 3);
        ping_series(&ba, 8000, 3);
        us_sim_run_until(sim, us_sim_now(sim) + US_SEC(1));
    }
    int tcp_rc = bulk ? tcp_demo(sim, A, B, 2 * 1000 * 1000) : 0;

    printf("\nsummary:");
    if (ping)
        printf(" A->B %u/%u replies, B->A %u/%u replies,", ab.received, ab.sent, ba.received, ba.sent);
    if (bulk)
        printf(" TCP transfer %s,", tcp_rc ? "FAILED" : "intact");
    printf(" %llu events, virtual time %.3f s\n", (unsigned long long)us_sim_events(sim), (double)us_sim_now(sim) / 1e9);
    printf("counters (non-zero):\n");
    simnet_print_counters(A);
    simnet_print_counters(B);
    printf("open the capture with: tshark -r %s\n", pcap);

    simnet_close(&net);
    return (!ping || (ab.received && ba.received)) && tcp_rc == 0 ? 0 : 1;
}

/* page: the four strategies over a realistic link (global options override it) */
static int page_part(struct cli *c, const char *pcap)
{
    struct scen_page_opts o = {.parallel = 6, .pipeline = 8, .rtt = US_MS(80), .rate = 10000000, .loss = 0.01,
                               .resources = 20, .seed = c->seed_set ? c->seed : 42};
    if (c->impaired) {
        o.rtt = 2 * c->imp.tx.delay;
        o.rate = c->imp.tx.rate_bps;
        o.loss = c->imp.tx.loss;
    }
    const char *plot = plot_opt ? plot_opt : "ustack-demo.png";
    printf("ustack demo: A (198.18.0.1) loads a page from B (198.18.0.2) in virtual time, by four strategies.\n"
           "B runs the HTTP server on a generated site (index.html and %u resources, 2 kB to 140 kB) and answers\n"
           "DNS for page.test; A runs the resolver and the HTTP client. Link: %.0f ms round trip, ", o.resources,
           (double)o.rtt / 1e6);
    if (o.rate)
        printf("%.3g Mbit/s", (double)o.rate / 1e6);
    else
        printf("unlimited rate");
    printf(", %g%% loss each way (seed %llu).\n", o.loss * 100, (unsigned long long)o.seed);
    static struct scen_page_result res[PAGE_STRATEGIES];
    const struct page_result *rs[PAGE_STRATEGIES];
    int status = 0;
    for (int s = 0; s < PAGE_STRATEGIES; s++) {
        char err[256], file[512];
        page_plot_name(pcap, page_strategy_name(s), file, sizeof(file));
        o.strategy = s;
        o.pcap = file;
        if (scen_page_run(&o, &res[s], err, sizeof(err)) < 0)
            return cli_error("demo: %s: %s", page_strategy_name(s), err);
        rs[s] = &res[s].load;
        printf("\n%s (pcap %s): %s\n", page_strategy_name(s), file,
               res[s].mismatched ? "SOME BODIES DIFFER FROM THE FILES" : "every body byte-exact");
        page_print_waterfall(&res[s].load, true);
        page_print_totals(&res[s].load, true);
        if (res[s].mismatched || res[s].load.failed)
            status = 1;
    }
    printf("\ncomparison (wall: from the first DNS lookup to the last byte):\n");
    page_print_table(rs, PAGE_STRATEGIES, true);
    printf("\nthe costs a page load pays: a DNS lookup, a handshake per new connection, a slow start per new\n"
           "connection, a round trip per request. Per strategy:\n");
    page_print_lessons(rs, PAGE_STRATEGIES);
    printf("\n");
    for (int s = 0; s < PAGE_STRATEGIES; s++)
        (void)page_plot(&res[s].load, plot, true, true);   /* without gnuplot the demo still stands */
    for (int s = 0; s < PAGE_STRATEGIES; s++)
        page_result_free(&res[s].load);
    return status;
}

static int run(struct cli *c)
{
    const char *pcap = pcap_opt ? pcap_opt : c->pcap ? c->pcap : "ustack-demo.pcap";
    bool all = !strcmp(part_opt, "all");
    int rc = 0;
    if (all || !strcmp(part_opt, "ping") || !strcmp(part_opt, "bulk"))
        rc = ping_bulk(c, pcap, all || !strcmp(part_opt, "ping"), all || !strcmp(part_opt, "bulk"));
    if (all)
        printf("\n");
    if (all || !strcmp(part_opt, "page"))
        rc |= page_part(c, pcap);
    return rc;
}

const struct cli_cmd cmd_demo = {
    .name = "demo",
    .summary = "two hosts in virtual time: a page load by four strategies (--part ping, bulk, all)",
    .description = "page (the default): A loads a page with twenty resources from B by serial, parallel,\n"
                   "persistent and pipelined connections over 80 ms, 10 Mbit/s, 1% loss, compares them and\n"
                   "plots the waterfalls and congestion windows. ping: A pings B and B pings A; bulk: A\n"
                   "sends 2 MB to B over TCP (default link for both: 5% loss, 10 ms each way). The global\n"
                   "impairments (--delay each way, --rate, --loss) replace the link's; --seed makes a run\n"
                   "repeatable.\n",
    .globals = true,
    .opts = opts,
    .run = run,
};
