/* ustack demo: two ustack hosts in one process over an impaired pipe link in
 * virtual time. Host A (198.18.0.1) and host B (198.18.0.2) ping each other
 * with unfragmented and fragmented requests, then A sends 2 MB to B over TCP
 * through the lossy link: handshake, slow start, loss recovery, close and
 * TIME_WAIT. The exchange, the counters and a pcap of A's side show what
 * happened. Same seed, same output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/sim.h>
#include "cli.h"

struct host {
    const char *name;
    us_ip4_t ip;
    uint8_t mac[6];
    struct us_pktpool *pool;
    struct us_dev *dev;
    struct us_stack *st;
};

static int host_new(struct host *h, struct us_dev *pipe, const struct us_impair_config *imp, const char *pcap,
                    uint64_t seed)
{
    char err[256];
    h->dev = us_impair_new(pipe, imp);
    if (!h->dev)
        return cli_error("demo: out of memory");
    if (pcap) {
        struct us_dev *cap = us_capture_new(h->dev, pcap, 0, err, sizeof(err));
        if (!cap)
            return cli_error("--pcap: %s", err);
        h->dev = cap;
    }
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = h->ip;
    cfg.prefix_len = 24;
    cfg.deterministic = true;
    cfg.seed = seed;
    h->st = us_stack_new(&cfg, h->dev, 0, err, sizeof(err));
    if (!h->st)
        return cli_error("demo: %s", err);
    return 0;
}

static void print_counters(const struct host *h)
{
    printf("  %s:", h->name);
    int n = 0;
    for (size_t i = 0; i < us_counter_count(); i++) {
        uint64_t v = us_counter_get(h->st, i);
        if (!v)
            continue;
        printf("%s %s=%llu", n++ % 4 ? "," : "\n   ", us_counter_name(i), (unsigned long long)v);
    }
    printf("\n");
}

struct ping_run {
    struct us_sim *sim;
    struct host *from, *to;
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

/* ---- TCP transfer ---- */
struct xfer {
    struct us_sim *sim;
    struct host *a, *b;
    int afd, lfd, bfd;
    uint64_t total, sent, received, next_report;
    bool shut, eof, bad;
    int err;
    us_time_t t_start, t_est, t_done;
};

static uint8_t pat(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 13); }

static void report(struct xfer *x, const char *what)
{
    struct us_tcp_info ti;
    us_time_t now = us_sim_now(x->sim);
    if (us_tcp_info(x->a->st, x->afd, &ti) < 0)
        return;
    printf("  [%8.3f ms] %-24s %s cwnd %6u ssthresh %10u srtt %6.1f ms rto %6.0f ms in flight %6u retx %llu\n",
           (double)now / 1e6, what, us_tcp_state_name(ti.state), ti.cwnd, ti.ssthresh, (double)ti.srtt / 1e6,
           (double)ti.rto / 1e6, ti.bytes_in_flight, (unsigned long long)ti.retransmits);
}

static bool xfer_step(void *arg)
{
    struct xfer *x = arg;
    us_time_t now = us_sim_now(x->sim);
    struct us_sockaddr peer;
    if (x->bfd < 0 && (x->bfd = us_accept(x->b->st, x->lfd, &peer, now)) >= 0) {
        x->t_est = now;
        report(x, "connection accepted");
    }
    while (x->sent < x->total) {
        uint8_t buf[8192];
        size_t n = x->total - x->sent < sizeof(buf) ? (size_t)(x->total - x->sent) : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(x->sent + i);
        ssize_t w = us_send(x->a->st, x->afd, buf, n, 0, now);
        if (w <= 0) {
            if (w != -EAGAIN && w != -ENOTCONN)
                x->err = (int)w;
            break;
        }
        x->sent += (uint64_t)w;
    }
    if (x->sent == x->total && !x->shut && us_shutdown(x->a->st, x->afd, US_SHUT_WR, now) == 0) {
        x->shut = true;
        report(x, "all data queued, FIN");
    }
    while (x->bfd >= 0) {
        uint8_t buf[16384];
        ssize_t r = us_recv(x->b->st, x->bfd, buf, sizeof(buf), 0, now);
        if (r == 0) {
            x->eof = true;
            x->t_done = now;
            break;
        }
        if (r < 0) {
            if (r != -EAGAIN)
                x->err = (int)r;
            break;
        }
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pat(x->received + (uint64_t)i))
                x->bad = true;
        x->received += (uint64_t)r;
        if (x->received >= x->next_report) {
            char what[48];
            snprintf(what, sizeof(what), "B has read %3llu%%", (unsigned long long)(x->received * 100 / x->total));
            report(x, what);
            x->next_report += x->total / 5;
        }
    }
    return !x->eof && !x->err;
}

static int tcp_demo(struct us_sim *sim, struct host *a, struct host *b, uint64_t total)
{
    struct xfer x = {.sim = sim, .a = a, .b = b, .total = total, .bfd = -1, .next_report = total / 5};
    printf("\n%s -> %s: TCP transfer of %llu bytes (newreno, initial window 10 segments)\n", a->name, b->name,
           (unsigned long long)total);
    x.lfd = us_socket(b->st, US_SOCK_STREAM);
    struct us_sockaddr la = {0, 5001}, to = {b->ip, 5001};
    us_bind(b->st, x.lfd, &la);
    us_listen(b->st, x.lfd, 8);
    x.afd = us_socket(a->st, US_SOCK_STREAM);
    x.t_start = us_sim_now(sim);
    int rc = us_connect(a->st, x.afd, &to, x.t_start);
    if (rc != -EINPROGRESS && rc != 0)
        return cli_error("demo: connect: %s", strerror(-rc));
    rc = us_sim_run_while(sim, xfer_step, &x, x.t_start + US_SEC(600));
    if (rc < 0 || x.err || x.bad || x.received != total) {
        printf("  transfer FAILED: %s%s, %llu of %llu bytes\n", rc ? strerror(-rc) : "", x.err ? strerror(-x.err) : "",
               (unsigned long long)x.received, (unsigned long long)total);
        return 1;
    }
    report(&x, "B read everything + FIN");
    us_time_t dur = x.t_done - x.t_start;
    printf("  %llu bytes intact in %.3f s virtual: goodput %.2f Mbit/s, %llu retransmits (%llu fast, %llu timeouts)\n",
           (unsigned long long)x.received, (double)dur / 1e9, (double)x.received * 8 / ((double)dur / 1e9) / 1e6,
           (unsigned long long)cli_counter(a->st, "tcp.retransmits"),
           (unsigned long long)cli_counter(a->st, "tcp.fast_retransmits"),
           (unsigned long long)cli_counter(a->st, "tcp.rto_expirations"));
    us_close(b->st, x.bfd, us_sim_now(sim));
    us_close(b->st, x.lfd, us_sim_now(sim));
    us_close(a->st, x.afd, us_sim_now(sim));
    us_sim_run_until(sim, us_sim_now(sim) + US_SEC(1));
    printf("  closed; A's side waits in TIME_WAIT for 2*MSL before the 4-tuple can be reused\n");
    return 0;
}

static const char *pcap_opt;
static const struct cli_opt opts[] = {
    CLI_STR("--pcap", "FILE", "capture of A's side (default ustack-demo.pcap)", &pcap_opt),
    CLI_END,
};

static int run(struct cli *c)
{
    const char *pcap = pcap_opt ? pcap_opt : c->pcap ? c->pcap : "ustack-demo.pcap";
    struct us_impair_config imp = c->imp;
    if (!c->impaired) {
        imp.tx.loss = 0.05;
        imp.tx.delay = US_MS(10);
    }
    uint64_t seed = c->seed_set ? c->seed : 42;
    imp.seed = seed;

    struct host A = {.name = "A", .ip = 0xC6120001u, .mac = {2, 0, 0, 0, 0, 1}};
    struct host B = {.name = "B", .ip = 0xC6120002u, .mac = {2, 0, 0, 0, 0, 2}};
    A.pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 1u << 16);
    B.pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 1u << 16);
    struct us_dev *pa, *pb;
    if (!A.pool || !B.pool || us_pipe_pair(A.pool, 1500, A.mac, B.mac, &pa, &pb) < 0)
        return cli_error("demo: out of memory");
    pb->pool = B.pool;
    struct us_impair_config impb = imp;
    impb.seed = seed + 1;
    int rc = host_new(&A, pa, &imp, pcap, seed);
    if (!rc)
        rc = host_new(&B, pb, &impb, NULL, seed + 1);
    if (rc)
        return rc;
    struct us_sim *sim = us_sim_new(0);
    us_sim_add(sim, A.st);
    us_sim_add(sim, B.st);

    printf("ustack demo: hosts A 198.18.0.1 and B 198.18.0.2 on a pipe link in virtual time\n"
           "link: loss %.0f%%, delay %.1f ms each way (seed %llu); pcap of A's side: %s\n",
           imp.tx.loss * 100, (double)imp.tx.delay / 1e6, (unsigned long long)seed, pcap);
    us_sim_run_until(sim, US_MS(100)); /* gratuitous ARPs */
    struct ping_run ab = {.sim = sim, .from = &A, .to = &B, .id = 0x1234};
    struct ping_run ba = {.sim = sim, .from = &B, .to = &A, .id = 0x4321};
    ping_series(&ab, 56, 5);
    ping_series(&ab, 3000, 5);
    ping_series(&ba, 1472, 3);
    ping_series(&ba, 8000, 3);
    us_sim_run_until(sim, us_sim_now(sim) + US_SEC(1));
    int tcp_rc = tcp_demo(sim, &A, &B, 2 * 1000 * 1000);

    printf("\nsummary: A->B %u/%u replies, B->A %u/%u replies, TCP transfer %s, %llu events, virtual time %.3f s\n",
           ab.received, ab.sent, ba.received, ba.sent, tcp_rc ? "FAILED" : "intact", (unsigned long long)us_sim_events(sim),
           (double)us_sim_now(sim) / 1e9);
    printf("counters (non-zero):\n");
    print_counters(&A);
    print_counters(&B);
    printf("open the capture with: tshark -r %s\n", pcap);

    us_sim_free(sim);
    us_stack_free(A.st);
    us_stack_free(B.st);
    us_dev_destroy(A.dev);
    us_dev_destroy(B.dev);
    us_pktpool_free(A.pool);
    us_pktpool_free(B.pool);
    return ab.received && ba.received && tcp_rc == 0 ? 0 : 1;
}

const struct cli_cmd cmd_demo = {
    .name = "demo",
    .summary = "two hosts in virtual time over an impaired link",
    .description = "Host A pings B and B pings A, then A sends 2 MB to B over TCP. The link's impairments\n"
                   "are the global options (default: 5% loss, 10 ms delay each way); --seed makes a run\n"
                   "repeatable.\n",
    .globals = true,
    .opts = opts,
    .run = run,
};
