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

int cmd_ping(struct cli *c, int argc, char **argv)
{
    uint64_t count = 0, size = 56;
    double interval = 1.0, wait = 2.0;
    const char *host = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-c")) {
            if (cli_parse_u64("-c", v, 1, 1000000, &count))
                return 2;
            i++;
        } else if (!strcmp(a, "-s")) {
            if (cli_parse_u64("-s", v, 0, 65507, &size))
                return 2;
            i++;
        } else if (!strcmp(a, "-i")) {
            if (cli_parse_double("-i", v, 0.001, 3600, &interval))
                return 2;
            i++;
        } else if (!strcmp(a, "-W")) {
            if (cli_parse_double("-W", v, 0.001, 3600, &wait))
                return 2;
            i++;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: ustack [GLOBAL OPTIONS] ping [-c COUNT] [-s SIZE] [-i INTERVAL] [-W WAIT] HOST\n"
                   "  -c COUNT     stop after COUNT replies requested (1..1000000; default: until SIGINT)\n"
                   "  -s SIZE      payload bytes, 0..65507 (default 56); above the MTU the request is fragmented\n"
                   "  -i INTERVAL  seconds between requests (default 1)\n"
                   "  -W WAIT      seconds to wait for the last replies (default 2)\n");
            return 0;
        } else if (a[0] == '-') {
            return cli_error("ping: unknown option '%s' (allowed: -c, -s, -i, -W)", a);
        } else if (!host) {
            host = a;
        } else {
            return cli_error("ping: more than one host given ('%s', '%s')", host, a);
        }
    }
    if (!host)
        return cli_error("ping: no HOST given");
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
    while (!us_rt_stop_requested()) {
        us_time_t now = us_rt_clock();
        if (end == US_TIME_NEVER && now >= next_send) {
            int e = us_ping_send(c->st, dst, id, (uint16_t)(s.sent + 1), (uint32_t)size, now);
            if (e < 0)
                printf("ping: sendmsg: %s\n", strerror(-e));
            s.sent++;
            next_send += (us_time_t)(interval * 1e9);
            if (count && s.sent >= count)
                end = now + (us_time_t)(wait * 1e9);
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
