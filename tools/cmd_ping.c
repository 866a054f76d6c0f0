/* ustack ping: ICMP echo like ping(8). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

struct ping_stats {
    uint32_t sent, received, corrupt;
    double min, max, sum, sum2;
};

static void print_reply(const struct us_ping_reply *r, struct ping_stats *s, us_time_t now)
{
    char ipb[16];
    double ms = (double)(r->received - r->sent) / 1e6;
    (void)now;
    printf("%u bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms%s\n", r->len + 8, cli_ipstr(r->from, ipb), r->seq,
           r->ttl, ms, r->data_ok ? "" : " (BAD DATA)");
    s->received++;
    if (!r->data_ok)
        s->corrupt++;
    if (s->received == 1 || ms < s->min)
        s->min = ms;
    if (ms > s->max)
        s->max = ms;
    s->sum += ms;
    s->sum2 += ms * ms;
}

static void drain(struct cli *c, uint16_t id, struct ping_stats *s)
{
    struct us_ping_reply r;
    while (us_ping_recv(c->st, id, &r) == 1)
        print_reply(&r, s, us_rt_clock());
    struct us_icmp_error e;
    while (us_icmp_error_recv(c->st, &e) == 1) {
        char a[16], b[16];
        printf("From %s: ICMP type %u code %u (about %s)\n", cli_ipstr(e.from, a), e.type, e.code,
               cli_ipstr(e.orig_dst, b));
    }
}

static uint64_t count, size = 56;
static double interval = 1.0, wait_s = 2.0;
static const char *host;
static const struct cli_opt opts[] = {
    CLI_UINT("-c", "COUNT", "stop after COUNT replies requested (1..1000000; default: until SIGINT)", &count, 1, 1000000),
    CLI_UINT("-s", "SIZE", "payload bytes, 0..65507 (default 56); above the MTU the request is fragmented", &size, 0, 65507),
    CLI_REAL("-i", "INTERVAL", "seconds between requests (default 1)", &interval, 0.001, 3600),
    CLI_REAL("-W", "WAIT", "seconds to wait for the last replies (default 2)", &wait_s, 0.001, 3600),
    CLI_ARG("HOST", "IPv4 address to ping", &host),
    CLI_END,
};

static int run(struct cli *c)
{
    us_ip4_t dst;
    if (cli_parse_ip("ping HOST", host, &dst))
        return 2;
    int rc = cli_setup(c);
    if (rc)
        return rc;
    uint16_t id = (uint16_t)(getpid() & 0xffff);
    struct ping_stats s;
    memset(&s, 0, sizeof(s));
    char ipb[16];
    printf("PING %s (%s) %llu(%llu) bytes of data.\n", host, cli_ipstr(dst, ipb), (unsigned long long)size,
           (unsigned long long)size + 28);
    us_time_t start = us_rt_clock();
    us_time_t next_send = start;
    us_time_t end = US_TIME_NEVER;
    while (!cli_stopping()) {
        us_time_t now = us_rt_clock();
        if (end == US_TIME_NEVER && now >= next_send) {
            int e = us_ping_send(c->st, dst, id, (uint16_t)(s.sent + 1), (uint32_t)size, now);
            if (e < 0)
                printf("ping: sendmsg: %s\n", strerror(-e));
            s.sent++;
            next_send += (us_time_t)(interval * 1e9);
            if (count && s.sent >= count)
                end = now + (us_time_t)(wait_s * 1e9);
        }
        drain(c, id, &s);
        if (count && s.received >= count)
            break;
        if (now >= end)
            break;
        us_time_t limit = end != US_TIME_NEVER ? end : next_send;
        int r = c->drv->step(c->drv, limit);
        if (r < 0 && r != -EINTR)
            break;
    }
    drain(c, id, &s);
    cli_abort_connections(c);
    double elapsed = (double)(us_rt_clock() - start) / 1e6;
    printf("\n--- %s ping statistics ---\n", host);
    printf("%u packets transmitted, %u received, %.0f%% packet loss, time %.0fms\n", s.sent, s.received,
           s.sent ? 100.0 * (s.sent - (s.received > s.sent ? s.sent : s.received)) / s.sent : 0.0, elapsed);
    if (s.received) {
        double avg = s.sum / s.received;
        double var = s.sum2 / s.received - avg * avg;
        printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", s.min, avg, s.max, var > 0 ? sqrt(var) : 0.0);
    }
    if (c->verbose)
        cli_print_counters(c->st, stdout, false);
    cli_teardown(c);
    return s.received > 0 && s.corrupt == 0 ? 0 : 1;
}

const struct cli_cmd cmd_ping = {
    .name = "ping",
    .summary = "ICMP echo requests like ping(8)",
    .globals = true,
    .opts = opts,
    .run = run,
};
