/* sim cc (scen.h): one bulk transfer through a bottleneck — a rate limit, a
 * queue of some BDPs, a fixed delay — in virtual time, with the queueing
 * delay of every packet taken at the bottleneck queue itself
 * (us_impair_set_queue_hook), not from the sender's srtt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scen.h"
#include "xfer.h"

#define PORT 5001
#define ETH_FRAME 1514u          /* a full-sized frame on the wire */
#define BUF_MIN (1u << 20)
#define BUF_MAX (64u << 20)

/* Every data packet's wait in the queue, from `from` on. */
struct sojourns {
    us_time_t *v;
    size_t n, cap;
    us_time_t from;
    bool oom;
};

static void on_queue(void *arg, int dir, us_time_t sojourn, uint32_t len, us_time_t now)
{
    struct sojourns *q = arg;
    if (dir != 0 || now < q->from || len < 1000)   /* A's data segments, not its ACKs or ARP */
        return;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 65536;
        us_time_t *v = realloc(q->v, cap * sizeof(*v));
        if (!v) {
            q->oom = true;
            return;
        }
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n++] = sojourn;
}

static int cmp_time(const void *a, const void *b)
{
    us_time_t x = *(const us_time_t *)a, y = *(const us_time_t *)b;
    return x < y ? -1 : x > y;
}

struct cfg_arg {
    const char *cc;
    uint32_t buf;
};

static void config(void *arg, struct us_config *cfg, bool is_a)
{
    const struct cfg_arg *c = arg;
    (void)is_a;
    snprintf(cfg->tcp_cc, sizeof(cfg->tcp_cc), "%s", c->cc);
    cfg->tcp_sndbuf = c->buf;
    cfg->tcp_rcvbuf = c->buf;
}

uint32_t scen_cc_bdp(const struct scen_cc_opts *o)
{
    return (uint32_t)((double)o->rate / 8 * (double)o->rtt / 1e9);
}

int scen_cc_run(const struct scen_cc_opts *o, struct scen_cc_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (!o->cc || o->rate == 0 || o->rtt == 0 || o->duration <= o->warmup || o->buffer_bdp <= 0 || o->loss < 0 ||
        o->loss >= 1) {
        snprintf(err, errlen, "scenario options out of range");
        return -1;
    }
    uint32_t bdp = scen_cc_bdp(o);
    double qb = o->buffer_bdp * bdp;
    r->queue_bytes = qb < 2.0 * ETH_FRAME ? 2 * ETH_FRAME : qb > 1e9 ? 1000000000u : (uint32_t)qb;
    /* room for the whole queue and a BDP in flight, twice over */
    uint64_t buf = 2 * ((uint64_t)r->queue_bytes + bdp);
    struct cfg_arg ca = {o->cc, buf < BUF_MIN ? BUF_MIN : buf > BUF_MAX ? BUF_MAX : (uint32_t)buf};
    struct simnet_opts so = {.seed = o->seed ? o->seed : 1, .config = config, .arg = &ca};
    so.a_tx = (struct us_impair_dir){.delay = o->rtt / 2, .rate_bps = o->rate, .queue_bytes = r->queue_bytes,
                                     .loss = o->loss};
    so.b_tx = (struct us_impair_dir){.delay = o->rtt - o->rtt / 2};
    struct simnet net;
    if (simnet_open(&net, &so, err, errlen) < 0)
        return -1;
    struct xfer x = {.sim = net.sim, .ss = net.a.st, .ds = net.b.st, .total = XFER_ENDLESS, .seed = 3};
    int rc = xfer_connect(&x, SIMNET_IP_B, PORT);
    us_time_t t0 = simnet_now(&net);
    struct sojourns q = {.from = t0 + o->warmup};
    us_impair_set_queue_hook(net.a.imp, on_queue, &q);
    struct us_tcp_info ti;
    uint64_t got0 = 0, rtx0 = 0, drop0 = 0;
    if (!rc) {
        rc = xfer_run(&x, t0 + o->warmup);
        if (rc == -ETIMEDOUT)
            rc = 0;
    }
    if (!rc && us_tcp_info(net.a.st, x.sfd, &ti) == 0) {
        got0 = x.got;
        rtx0 = ti.retransmits;
        drop0 = net.a.imp->stats.impair_queue_drop;
        rc = xfer_run(&x, t0 + o->duration);
        if (rc == -ETIMEDOUT)
            rc = 0;
    }
    if (!rc && us_tcp_info(net.a.st, x.sfd, &ti) == 0) {
        double secs = (double)(o->duration - o->warmup) / 1e9;
        r->goodput_bps = (double)(x.got - got0) * 8 / secs;
        r->retransmits = ti.retransmits - rtx0;
        r->queue_drops = net.a.imp->stats.impair_queue_drop - drop0;
        snprintf(r->cc, sizeof(r->cc), "%s", ti.cc);
    } else if (!rc) {
        rc = -ENOTCONN;
    }
    if (!rc && q.oom)
        rc = -ENOMEM;
    if (!rc && q.n) {
        qsort(q.v, q.n, sizeof(q.v[0]), cmp_time);
        r->q50 = q.v[q.n / 2];
        r->q99 = q.v[(q.n * 99) / 100];
        r->packets = q.n;
    }
    free(q.v);
    simnet_close(&net);
    if (rc) {
        snprintf(err, errlen, "%s through the bottleneck: %s", o->cc, strerror(-rc));
        return -1;
    }
    return 0;
}
