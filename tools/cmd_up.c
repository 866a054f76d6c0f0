/* ustack up: bring the interface up and serve ARP, ping and UDP echo (port 7). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void dev_stats(struct us_dev *d, FILE *out)
{
    for (; d; d = d->lower) {
        const struct us_dev_stats *s = &d->stats;
        fprintf(out, "device %-10s tx %llu frames %llu bytes, rx %llu frames %llu bytes, drops tx %llu rx %llu",
                d->name, (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
                (unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
                (unsigned long long)s->tx_drops, (unsigned long long)s->rx_drops);
        if (s->impair_loss | s->impair_dup | s->impair_corrupt | s->impair_reorder | s->impair_queue_drop)
            fprintf(out, " (impair: loss %llu dup %llu corrupt %llu reorder %llu queue-drop %llu)",
                    (unsigned long long)s->impair_loss, (unsigned long long)s->impair_dup,
                    (unsigned long long)s->impair_corrupt, (unsigned long long)s->impair_reorder,
                    (unsigned long long)s->impair_queue_drop);
        fputc('\n', out);
    }
}

static double duration;
static const struct cli_opt opts[] = {CLI_DURATION(&duration), CLI_END};

static int run(struct cli *c)
{
    int rc = cli_setup(c);
    if (rc)
        return rc;
    int ufd = us_socket(c->st, US_SOCK_DGRAM);
    struct us_sockaddr any = {.addr = 0, .port = 7};
    if (ufd < 0 || us_bind(c->st, ufd, &any, us_rt_clock()) < 0) {
        cli_teardown(c);
        return cli_error("up: cannot bind UDP port 7");
    }
    char ipb[16];
    printf("ustack up on %s: %s/%u mtu %u\n", c->tap, cli_ipstr(c->net.ip, ipb), c->net.prefix, c->mtu);
    us_time_t start = us_rt_clock();
    us_time_t until = duration > 0 ? start + (us_time_t)(duration * 1e9) : US_TIME_NEVER;
    static uint8_t buf[65536];
    uint64_t echoed = 0;
    while (!cli_stopping() && us_rt_clock() < until) {
        int r = c->drv->step(c->drv, until);
        if (r < 0 && r != -EINTR) {
            fprintf(stderr, "ustack: driver: %s\n", strerror(-r));
            break;
        }
        for (;;) {
            struct us_sockaddr from;
            ssize_t n = us_recvfrom(c->st, ufd, buf, sizeof(buf), 0, &from, us_rt_clock());
            if (n < 0)
                break;
            if (us_sendto(c->st, ufd, buf, (size_t)n, 0, &from, us_rt_clock()) >= 0)
                echoed++;
        }
    }
    us_close(c->st, ufd, us_rt_clock());
    cli_abort_connections(c);
    printf("ustack up: stopped after %.1f s, %llu UDP datagrams echoed\n", (double)(us_rt_clock() - start) / 1e9,
           (unsigned long long)echoed);
    cli_print_counters(c->st, stdout, false);
    dev_stats(us_stack_dev(c->st), stdout);
    cli_teardown(c);
    return 0;
}

const struct cli_cmd cmd_up = {
    .name = "up",
    .summary = "serve ARP, ping and UDP echo (port 7); print counters at exit",
    .description = "Answers ARP, ICMP echo and UDP echo on port 7 until SIGINT/SIGTERM or the duration.\n",
    .globals = true,
    .opts = opts,
    .run = run,
};
