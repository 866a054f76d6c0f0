/* Building a stack on a TAP device from the global options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void log_to_stderr(void *arg, int level, us_time_t now, const char *msg)
{
    (void)arg;
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "[%llu.%06llu] %s: %s\n", (unsigned long long)(now / 1000000000ull),
            (unsigned long long)(now % 1000000000ull / 1000), names[level & 3], msg);
}

int cli_setup(struct cli *c)
{
    char err[512];
    if (!c->tap)
        return cli_error("this command needs --tap NAME (a TAP device: ip tuntap add dev NAME mode tap)");
    if (!c->ip)
        return cli_error("this command needs --ip ADDR/PREFIX, e.g. --ip 198.18.0.2/24");
    c->pool = us_pktpool_new(US_PKT_HEADROOM + 14 + c->mtu + 64, 1u << 18);
    if (!c->pool)
        return cli_error("out of memory");
    c->dev = us_tap_open(c->tap, c->pool, c->mtu, c->mac, err, sizeof(err));
    if (!c->dev)
        return cli_error("%s", err);
    if (c->impaired) {
        c->imp.seed = c->seed_set ? c->seed : 1;
        c->imp_dev = us_impair_new(c->dev, &c->imp);
        if (!c->imp_dev)
            return cli_error("impairments: out of memory");
        c->dev = c->imp_dev;
    }
    if (c->pcap) {
        struct us_dev *cap = us_capture_new(c->dev, c->pcap, us_rt_wall_offset(), err, sizeof(err));
        if (!cap)
            return cli_error("--pcap: %s", err);
        c->dev = cap;
    }
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = c->ip;
    cfg.prefix_len = c->prefix;
    cfg.gw = c->gw;
    if (c->seed_set) {
        cfg.seed = c->seed;
    }
    if (c->cc)
        snprintf(cfg.tcp_cc, sizeof(cfg.tcp_cc), "%s", c->cc);
    c->st = us_stack_new(&cfg, c->dev, us_rt_clock(), err, sizeof(err));
    if (!c->st)
        return cli_error("%s", err);
    if (c->verbose)
        us_stack_set_log(c->st, c->verbose >= 2 ? US_LOG_DEBUG : US_LOG_INFO, log_to_stderr, NULL);
    c->rt = us_rt_new(c->st, err, sizeof(err));
    if (!c->rt)
        return cli_error("%s", err);
    c->drv = us_rt_driver(c->rt);
    us_rt_install_signals();
    return 0;
}

void cli_teardown(struct cli *c)
{
    us_rt_free(c->rt);
    us_stack_free(c->st);
    if (c->dev)
        us_dev_destroy(c->dev);
    us_pktpool_free(c->pool);
}

uint64_t cli_counter(const struct us_stack *st, const char *name)
{
    uint64_t v;
    if (us_counter_find(st, name, &v) < 0) {
        fprintf(stderr, "ustack: internal error: no counter named '%s'\n", name);
        abort();
    }
    return v;
}

void cli_print_counters(struct us_stack *st, FILE *out, bool all)
{
    fprintf(out, "counters:\n");
    for (size_t i = 0; i < us_counter_count(); i++) {
        uint64_t v = us_counter_get(st, i);
        if (v || all)
            fprintf(out, "  %-32s %llu\n", us_counter_name(i), (unsigned long long)v);
    }
}
