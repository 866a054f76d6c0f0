/* impair: a stacked device that impairs the link beneath it, seeded and
 * deterministic, independently in each direction.
 *
 * A frame passes these steps in order (tx: on its way down from the stack;
 * rx: on its way up from the device below):
 *   1. filter hook       — scenario tests drop chosen frames       (impair_loss)
 *   2. random loss       — Bernoulli(loss)                         (impair_loss)
 *   3. burst loss        — Gilbert–Elliott two-state chain         (impair_loss)
 *   4. duplication       — a copy follows the original             (impair_dup)
 *   5. corruption        — one byte flipped, see impair_corrupt()  (impair_corrupt)
 *   6. rate limit        — serialised at rate_bps behind earlier frames; the bytes
 *                          not yet serialised are bounded by queue_bytes, a frame
 *                          that does not fit is tail-dropped       (impair_queue_drop);
 *                          the queue hook sees each admitted frame's sojourn
 *   7. delay + jitter    — released at serialisation end + delay + U[0, jitter],
 *                          never before the previous in-order frame, so jitter
 *                          alone does not reorder
 *   8. reordering        — with probability `reorder` one frame is held back by
 *                          reorder_gap while later frames pass     (impair_reorder)
 * Frames then wait in a per-direction queue ordered by (release time, arrival),
 * so equal release times leave in FIFO order. A zero configuration consumes no
 * random numbers and delays nothing: it is a transparent pass-through.
 *
 * Each direction has its own PRNG (derived from cfg->seed), so the tx loss
 * pattern does not depend on how rx traffic interleaves with it.
 *
 * Impairment drops return 0 from xmit: the stack above sees a lossy wire, not a
 * local error. Everything dropped is counted in tx_drops / rx_drops and in its
 * reason counter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dev.h>
#include "../core/rng.h"

#define IMP_TX 0
#define IMP_RX 1
#define IMP_HELD_MAX 65536u            /* frames held per direction */
#define IMP_DEFAULT_QUEUE (64u * 1024u)
#define IMP_DEFAULT_GAP US_MS(1)
#define IMP_PULL_CHUNK 64

struct imp_held {
    us_time_t when;
    uint64_t seq;          /* arrival order: equal release times stay FIFO */
    struct us_pkt *pkt;
};

/* A binary min-heap on (when, seq). */
struct imp_heap {
    struct imp_held *v;
    uint32_t len, cap;
    uint64_t seq;
};

struct imp_dir {
    struct us_impair_dir cfg;
    struct us_rng rng;
    bool ge_bad;              /* Gilbert–Elliott chain in the bad state */
    us_time_t link_free;      /* rate limit: when the last admitted frame is fully serialised */
    us_time_t last_release;   /* release time of the last in-order frame */
    struct imp_heap held;
};

struct imp_dev {
    struct us_dev dev;        /* first: the device pointer is the impair pointer */
    struct imp_dir dir[2];
    us_impair_filter_fn filter;
    void *filter_arg;
    us_impair_mangle_fn mangle;
    void *mangle_arg;
    us_impair_queue_fn queue_hook;
    void *queue_arg;
};

static struct imp_dev *imp_of(struct us_dev *d) { return (struct imp_dev *)(void *)d; }

/* ---- the held-frame heap ---- */
static bool held_before(const struct imp_held *a, const struct imp_held *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static int heap_push(struct imp_heap *h, us_time_t when, struct us_pkt *pkt)
{
    if (h->len == h->cap) {
        if (h->cap >= IMP_HELD_MAX)
            return -ENOBUFS;
        uint32_t ncap = h->cap ? h->cap * 2 : 64;
        struct imp_held *nv = realloc(h->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        h->v = nv;
        h->cap = ncap;
    }
    struct imp_held x = {when, h->seq++, pkt};
    uint32_t i = h->len++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!held_before(&x, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = x;
    return 0;
}

static us_time_t heap_next(const struct imp_heap *h) { return h->len ? h->v[0].when : US_TIME_NEVER; }

static struct us_pkt *heap_pop(struct imp_heap *h)
{
    struct us_pkt *top = h->v[0].pkt;
    struct imp_held x = h->v[--h->len];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && held_before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!held_before(&h->v[c], &x))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->len)
        h->v[i] = x;
    return top;
}

static void heap_free(struct imp_heap *h)
{
    for (uint32_t i = 0; i < h->len; i++)
        us_pkt_free(h->v[i].pkt);
    free(h->v);
    memset(h, 0, sizeof(*h));
}

/* ---- random decisions ---- */
static bool chance(struct imp_dir *d, double p)
{
    if (p <= 0)
        return false; /* no draw: a zero config consumes no randomness */
    return us_rng_double(&d->rng) < p;
}

/* Gilbert–Elliott: move the chain one step, then lose with the state's rate. */
static bool ge_lost(struct imp_dir *d)
{
    const struct us_impair_dir *c = &d->cfg;
    if (c->ge_p <= 0)
        return false;
    if (d->ge_bad) {
        if (chance(d, c->ge_r))
            d->ge_bad = false;
    } else if (chance(d, c->ge_p)) {
        d->ge_bad = true;
    }
    return chance(d, d->ge_bad ? c->ge_loss_bad : c->ge_loss_good);
}

/* Flip one byte. For IPv4 the byte lies after the IP header and inside the
 * datagram (not in Ethernet padding), so the datagram reaches its transport
 * and the transport checksum must catch it — the case worth testing. Other
 * frames: at/after byte 34 (14 + 20), or after the Ethernet header if shorter. */
static void impair_corrupt(struct imp_dir *d, struct us_pkt *p)
{
    uint32_t lo = 34, hi = p->len;
    const uint8_t *f = p->data;
    if (p->len >= 34 && f[12] == 0x08 && f[13] == 0x00) {
        uint32_t ihl = (uint32_t)(f[14] & 0x0f) * 4u;
        uint32_t tot = ((uint32_t)f[16] << 8) | f[17];
        lo = 14 + (ihl < 20 ? 20 : ihl);
        if (tot >= ihl && 14 + tot < hi)
            hi = 14 + tot;
    }
    if (lo >= hi)
        lo = p->len > 14 ? 14 : 0;
    if (lo >= hi)
        return;
    uint32_t off = lo + (uint32_t)us_rng_below(&d->rng, hi - lo);
    p->data[off] ^= (uint8_t)(1 + us_rng_below(&d->rng, 255)); /* never XOR 0 */
}

/* ---- admission ---- */
static void imp_count_drop(struct us_dev *dev, int dir)
{
    if (dir == IMP_TX)
        dev->stats.tx_drops++;
    else
        dev->stats.rx_drops++;
}

/* Rate limit: returns the time the frame is fully serialised, or US_TIME_NEVER
 * when the queue in front of the link is full. */
static us_time_t imp_serialise(struct imp_dir *d, uint32_t len, us_time_t now)
{
    const struct us_impair_dir *c = &d->cfg;
    if (c->rate_bps == 0)
        return now;
    uint32_t qmax = c->queue_bytes ? c->queue_bytes : IMP_DEFAULT_QUEUE;
    /* Bytes admitted but not yet serialised, from the time the link stays busy. */
    double backlog = d->link_free > now ? (double)(d->link_free - now) * (double)c->rate_bps / 8e9 : 0.0;
    if (backlog + len > (double)qmax)
        return US_TIME_NEVER;
    us_time_t start = d->link_free > now ? d->link_free : now;
    d->link_free = start + (uint64_t)len * 8u * 1000000000u / c->rate_bps;
    return d->link_free;
}

/* Steps 5–8 for one copy of a frame: corrupt, serialise, delay, maybe reorder, hold. */
static void imp_schedule(struct imp_dev *m, int dir, struct us_pkt *p, us_time_t now)
{
    struct imp_dir *d = &m->dir[dir];
    const struct us_impair_dir *c = &d->cfg;
    if (chance(d, c->corrupt)) {
        impair_corrupt(d, p);
        m->dev.stats.impair_corrupt++;
    }
    us_time_t sojourn = d->link_free > now ? d->link_free - now : 0;
    us_time_t t = imp_serialise(d, p->len, now);
    if (t == US_TIME_NEVER) {
        m->dev.stats.impair_queue_drop++;
        imp_count_drop(&m->dev, dir);
        us_pkt_free(p);
        return;
    }
    if (m->queue_hook && c->rate_bps)
        m->queue_hook(m->queue_arg, dir, sojourn, p->len, now);
    t += c->delay;
    if (c->jitter)
        t += us_rng_below(&d->rng, c->jitter + 1);
    if (t < d->last_release)
        t = d->last_release;
    d->last_release = t;
    if (chance(d, c->reorder)) {
        t += c->reorder_gap ? c->reorder_gap : IMP_DEFAULT_GAP;
        m->dev.stats.impair_reorder++;
    }
    if (heap_push(&d->held, t, p) < 0) {
        m->dev.stats.impair_queue_drop++;
        imp_count_drop(&m->dev, dir);
        us_pkt_free(p);
    }
}

static bool imp_lost(struct imp_dev *m, int dir, const struct us_pkt *p, us_time_t now)
{
    struct imp_dir *d = &m->dir[dir];
    if (m->filter && m->filter(m->filter_arg, dir, p->data, p->len, now))
        return true;
    if (m->mangle)
        m->mangle(m->mangle_arg, dir, p->data, p->len, now);
    if (chance(d, d->cfg.loss))
        return true;
    return ge_lost(d);
}

static void imp_admit(struct imp_dev *m, int dir, struct us_pkt *p, us_time_t now)
{
    if (imp_lost(m, dir, p, now)) {
        m->dev.stats.impair_loss++;
        imp_count_drop(&m->dev, dir);
        us_pkt_free(p);
        return;
    }
    struct us_pkt *dup = NULL;
    if (chance(&m->dir[dir], m->dir[dir].cfg.dup)) {
        dup = us_pkt_clone(p);
        if (dup)
            m->dev.stats.impair_dup++;
    }
    imp_schedule(m, dir, p, now);
    if (dup)
        imp_schedule(m, dir, dup, now);
}

/* ---- device ops ---- */
static void imp_release_tx(struct imp_dev *m, us_time_t now)
{
    struct imp_heap *h = &m->dir[IMP_TX].held;
    while (h->len && h->v[0].when <= now) {
        struct us_pkt *p = heap_pop(h);
        m->dev.stats.tx_frames++;
        m->dev.stats.tx_bytes += p->len;
        (void)us_dev_xmit(m->dev.lower, p, now); /* the device below counts its own drops */
    }
}

static int imp_xmit(struct us_dev *dev, struct us_pkt *pkt, us_time_t now)
{
    struct imp_dev *m = imp_of(dev);
    imp_release_tx(m, now); /* earlier frames first: no overtaking */
    imp_admit(m, IMP_TX, pkt, now);
    imp_release_tx(m, now);
    return 0;
}

static void imp_pull(struct imp_dev *m, int max, us_time_t now)
{
    struct us_pkt *tmp[IMP_PULL_CHUNK];
    int total = 0;
    while (total < max) {
        int want = max - total < IMP_PULL_CHUNK ? max - total : IMP_PULL_CHUNK;
        int k = us_dev_recv(m->dev.lower, tmp, want, now);
        for (int i = 0; i < k; i++)
            imp_admit(m, IMP_RX, tmp[i], now);
        total += k;
        if (k < want)
            break;
    }
}

static int imp_recv(struct us_dev *dev, struct us_pkt **pkts, int max, us_time_t now)
{
    struct imp_dev *m = imp_of(dev);
    imp_release_tx(m, now);
    imp_pull(m, max, now);
    struct imp_heap *h = &m->dir[IMP_RX].held;
    int n = 0;
    while (n < max && h->len && h->v[0].when <= now) {
        struct us_pkt *p = heap_pop(h);
        dev->stats.rx_frames++;
        dev->stats.rx_bytes += p->len;
        pkts[n++] = p;
    }
    return n;
}

static us_time_t imp_next_deadline(struct us_dev *dev, us_time_t now)
{
    struct imp_dev *m = imp_of(dev);
    us_time_t t = us_dev_next_deadline(dev->lower, now);
    us_time_t a = heap_next(&m->dir[IMP_TX].held);
    us_time_t b = heap_next(&m->dir[IMP_RX].held);
    if (a < t)
        t = a;
    if (b < t)
        t = b;
    return t;
}

static int imp_fd(struct us_dev *dev) { return us_dev_fd(dev->lower); }

static void imp_destroy(struct us_dev *dev)
{
    struct imp_dev *m = imp_of(dev);
    heap_free(&m->dir[IMP_TX].held);
    heap_free(&m->dir[IMP_RX].held);
    us_dev_destroy(dev->lower);
    free(m);
}

static const struct us_dev_ops imp_ops = {
    .xmit = imp_xmit,
    .recv = imp_recv,
    .next_deadline = imp_next_deadline,
    .fd = imp_fd,
    .destroy = imp_destroy,
};

/* ---- public ---- */
static struct imp_dev *imp_find(struct us_dev *d)
{
    for (; d; d = d->lower)
        if (d->ops == &imp_ops)
            return imp_of(d);
    return NULL;
}

struct us_dev *us_impair_new(struct us_dev *lower, const struct us_impair_config *cfg)
{
    if (!lower)
        return NULL;
    struct imp_dev *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->dev.ops = &imp_ops;
    m->dev.lower = lower;
    m->dev.pool = lower->pool;
    m->dev.mtu = lower->mtu;
    memcpy(m->dev.mac, lower->mac, 6);
    snprintf(m->dev.name, sizeof(m->dev.name), "imp:%.27s", lower->name);
    uint64_t seed = cfg ? cfg->seed : 0;
    us_rng_seed(&m->dir[IMP_TX].rng, seed);
    us_rng_seed(&m->dir[IMP_RX].rng, seed ^ 0x9E3779B97F4A7C15ull);
    if (cfg) {
        m->dir[IMP_TX].cfg = cfg->tx;
        m->dir[IMP_RX].cfg = cfg->rx;
    }
    return &m->dev;
}

/* Takes effect for frames admitted from now on; frames already held keep their
 * release times, and the PRNGs continue (the seed is used only at creation). */
void us_impair_set(struct us_dev *imp, const struct us_impair_config *cfg)
{
    struct imp_dev *m = imp_find(imp);
    if (!m || !cfg)
        return;
    m->dir[IMP_TX].cfg = cfg->tx;
    m->dir[IMP_RX].cfg = cfg->rx;
}

void us_impair_set_filter(struct us_dev *imp, us_impair_filter_fn fn, void *arg)
{
    struct imp_dev *m = imp_find(imp);
    if (!m)
        return;
    m->filter = fn;
    m->filter_arg = arg;
}

void us_impair_set_mangle(struct us_dev *imp, us_impair_mangle_fn fn, void *arg)
{
    struct imp_dev *m = imp_find(imp);
    if (!m)
        return;
    m->mangle = fn;
    m->mangle_arg = arg;
}

void us_impair_set_queue_hook(struct us_dev *imp, us_impair_queue_fn fn, void *arg)
{
    struct imp_dev *m = imp_find(imp);
    if (!m)
        return;
    m->queue_hook = fn;
    m->queue_arg = arg;
}
