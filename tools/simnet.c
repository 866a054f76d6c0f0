/* Two hosts on a pipe link in virtual time (simnet.h). */
#include <stdio.h>
#include <string.h>
#include "simnet.h"

/* h->dev is its end of the pipe; the devices built on it replace it, so
 * whatever was built is destroyed by simnet_close. */
static int host_open(struct sim_host *h, const struct us_impair_dir *tx, uint64_t seed, const char *pcap,
                     const struct simnet_opts *o, bool is_a, char *err, size_t errlen)
{
    struct us_impair_config imp = {.tx = *tx, .seed = seed};
    h->imp = us_impair_new(h->dev, &imp);
    if (!h->imp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->dev = h->imp;
    if (is_a && o->a_filter)
        us_impair_set_filter(h->imp, o->a_filter, o->a_filter_arg);
    if (pcap) {
        struct us_dev *cap = us_capture_new(h->dev, pcap, 0, err, errlen);
        if (!cap)
            return -1;
        h->dev = cap;
    }
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = h->ip;
    cfg.prefix_len = 24;
    cfg.deterministic = true;
    cfg.seed = seed;
    if (o->config)
        o->config(o->arg, &cfg, is_a);
    h->st = us_stack_new(&cfg, h->dev, 0, err, errlen);
    return h->st ? 0 : -1;
}

int simnet_open(struct simnet *n, const struct simnet_opts *o, char *err, size_t errlen)
{
    memset(n, 0, sizeof(*n));
    n->a = (struct sim_host){.name = "A", .ip = SIMNET_IP_A, .mac = {2, 0, 0, 0, 0, 1}};
    n->b = (struct sim_host){.name = "B", .ip = SIMNET_IP_B, .mac = {2, 0, 0, 0, 0, 2}};
    n->a.pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 1u << 16);
    n->b.pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 1u << 16);
    struct us_dev *pa, *pb;
    if (!n->a.pool || !n->b.pool || us_pipe_pair(n->a.pool, 1500, n->a.mac, n->b.mac, &pa, &pb) < 0) {
        snprintf(err, errlen, "out of memory");
        simnet_close(n);
        return -1;
    }
    pb->pool = n->b.pool;
    n->a.dev = pa;
    n->b.dev = pb;
    if (host_open(&n->a, &o->a_tx, o->seed, o->pcap_a, o, true, err, errlen) < 0 ||
        host_open(&n->b, &o->b_tx, o->seed + 1, NULL, o, false, err, errlen) < 0 ||
        !(n->sim = us_sim_new(0))) {
        if (n->a.st && n->b.st)
            snprintf(err, errlen, "out of memory");
        simnet_close(n);
        return -1;
    }
    us_sim_add(n->sim, n->a.st);
    us_sim_add(n->sim, n->b.st);
    us_sim_run_until(n->sim, US_MS(100));
    return 0;
}

void simnet_close(struct simnet *n)
{
    us_sim_free(n->sim);
    struct sim_host *hs[2] = {&n->a, &n->b};
    for (int i = 0; i < 2; i++) {
        us_stack_free(hs[i]->st);
        if (hs[i]->dev)
            us_dev_destroy(hs[i]->dev);
        us_pktpool_free(hs[i]->pool);
    }
    memset(n, 0, sizeof(*n));
}

us_time_t simnet_now(const struct simnet *n) { return us_sim_now(n->sim); }

void simnet_print_counters(const struct sim_host *h)
{
    printf("  %s:", h->name);
    int k = 0;
    for (size_t i = 0; i < us_counter_count(); i++) {
        uint64_t v = us_counter_get(h->st, i);
        if (!v)
            continue;
        printf("%s %s=%llu", k++ % 4 ? "," : "\n   ", us_counter_name(i), (unsigned long long)v);
    }
    printf("\n");
}
