/* Two hosts on a pipe link in virtual time, for tests. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "testutil.h"

uint64_t tu_counter(const struct us_stack *st, const char *name)
{
    uint64_t v = 0;
    if (us_counter_find(st, name, &v) < 0)
        fail_msg("no counter named '%s'", name);
    return v;
}

const char *tu_tmpdir(void)
{
    const char *d = getenv("USTACK_TEST_TMP");
    if (!d || !*d)
        d = "/tmp/ustack-test";
    mkdir(d, 0755);
    return d;
}

static void host_init(struct tu_host *h, int idx, const struct tu_opts *o, struct us_dev *pipe)
{
    char err[256];
    h->pipe = pipe;
    struct us_impair_config ic = idx == 0 ? o->imp_a : o->imp_b;
    if (!ic.seed)
        ic.seed = (o->seed + 1) * 7919 + (uint64_t)idx;
    h->imp = us_impair_new(pipe, &ic);
    assert_non_null(h->imp);
    h->top = h->imp;
    h->cap = NULL;
    if (o->pcap_prefix) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s-%c.pcap", tu_tmpdir(), o->pcap_prefix, idx == 0 ? 'a' : 'b');
        h->cap = us_capture_new(h->imp, path, 0, err, sizeof(err));
        if (!h->cap)
            fail_msg("capture: %s", err);
        h->top = h->cap;
    }
    if (o->dev_hook) {
        h->top = o->dev_hook(h->top, idx, o->dev_arg);
        assert_non_null(h->top);
    }
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = h->ip;
    cfg.prefix_len = 24;
    cfg.deterministic = true;
    cfg.seed = o->seed * 2 + (uint64_t)idx + 1;
    if (o->cfg_hook)
        o->cfg_hook(&cfg, idx, o->cfg_arg);
    h->st = us_stack_new(&cfg, h->top, 0, err, sizeof(err));
    if (!h->st)
        fail_msg("us_stack_new: %s", err);
}

void tu_net_init(struct tu_net *n, const struct tu_opts *o)
{
    struct tu_opts def;
    if (!o) {
        memset(&def, 0, sizeof(def));
        o = &def;
    }
    memset(n, 0, sizeof(*n));
    uint16_t mtu = o->mtu ? o->mtu : 1500;
    n->a.ip = TU_IP_A;
    n->b.ip = TU_IP_B;
    memcpy(n->a.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 1}, 6);
    memcpy(n->b.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 2}, 6);
    /* one pool per host, as two real hosts would have */
    n->a.pool = us_pktpool_new(US_PKT_HEADROOM + 14 + mtu + 64, 1u << 20);
    n->b.pool = us_pktpool_new(US_PKT_HEADROOM + 14 + mtu + 64, 1u << 20);
    assert_non_null(n->a.pool);
    assert_non_null(n->b.pool);
    struct us_dev *pa, *pb;
    assert_int_equal(us_pipe_pair(n->a.pool, mtu, n->a.mac, n->b.mac, &pa, &pb), 0);
    pb->pool = n->b.pool;
    n->sim = us_sim_new(0);
    host_init(&n->a, 0, o, pa);
    host_init(&n->b, 1, o, pb);
    us_sim_add(n->sim, n->a.st);
    us_sim_add(n->sim, n->b.st);
}

static void host_free(struct tu_host *h)
{
    us_stack_free(h->st);
    us_dev_destroy(h->top);
}

void tu_net_free(struct tu_net *n)
{
    host_free(&n->a);
    host_free(&n->b);
    us_sim_free(n->sim);
    us_pktpool_free(n->a.pool);
    us_pktpool_free(n->b.pool);
}

int tu_bulk_run(struct tu_net *n, struct xfer *x, us_time_t limit)
{
    x->sim = n->sim;
    x->ss = n->a.st;
    x->ds = n->b.st;
    x->close_after = true;
    assert_int_equal(xfer_connect(x, n->b.ip, 5001), 0);
    return xfer_run(x, limit);
}
