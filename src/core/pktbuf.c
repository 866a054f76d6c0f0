/* Packet buffer pools.
 *
 * Buffers are malloc'd one at a time the first time they are needed (up to the
 * pool's limit) and then recycled through a free list forever: after warm-up the
 * hot path never calls malloc or free. */
#include <stdlib.h>
#include <string.h>
#include <ustack/pkt.h>

struct us_pktpool {
    struct us_pkt *free_list;
    uint32_t buf_size;
    uint32_t max_pkts;
    struct us_pktpool_stats st;
    /* every buffer ever allocated, for us_pktpool_free */
    struct us_pkt **all;
    uint32_t all_len, all_cap;
};

struct us_pktpool *us_pktpool_new(uint32_t buf_size, uint32_t max_pkts)
{
    if (buf_size < US_PKT_HEADROOM + 64)
        buf_size = US_PKT_HEADROOM + 64;
    struct us_pktpool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->buf_size = buf_size;
    p->max_pkts = max_pkts ? max_pkts : 65536;
    return p;
}

void us_pktpool_free(struct us_pktpool *pool)
{
    if (!pool)
        return;
    for (uint32_t i = 0; i < pool->all_len; i++)
        free(pool->all[i]);
    free(pool->all);
    free(pool);
}

void us_pktpool_stats(const struct us_pktpool *pool, struct us_pktpool_stats *out) { *out = pool->st; }
uint32_t us_pktpool_bufsize(const struct us_pktpool *pool) { return pool->buf_size; }

static struct us_pkt *pool_grow(struct us_pktpool *pool)
{
    if (pool->all_len >= pool->max_pkts)
        return NULL;
    if (pool->all_len == pool->all_cap) {
        uint32_t ncap = pool->all_cap ? pool->all_cap * 2 : 64;
        struct us_pkt **n = realloc(pool->all, ncap * sizeof(*n));
        if (!n)
            return NULL;
        pool->all = n;
        pool->all_cap = ncap;
    }
    struct us_pkt *pkt = malloc(sizeof(*pkt) + pool->buf_size);
    if (!pkt)
        return NULL;
    pool->all[pool->all_len++] = pkt;
    pool->st.allocated++;
    return pkt;
}

struct us_pkt *us_pkt_alloc(struct us_pktpool *pool)
{
    struct us_pkt *pkt = pool->free_list;
    if (pkt) {
        pool->free_list = pkt->next;
        pool->st.free--;
    } else {
        pkt = pool_grow(pool);
        if (!pkt) {
            pool->st.failures++;
            return NULL;
        }
    }
    pool->st.in_use++;
    pkt->next = NULL;
    pkt->pool = pool;
    pkt->cap = pool->buf_size;
    pkt->data = pkt->buf + US_PKT_HEADROOM;
    pkt->len = 0;
    pkt->ts = 0;
    pkt->flags = 0;
    return pkt;
}

struct us_pkt *us_pkt_alloc_size(struct us_pktpool *pool, uint32_t size)
{
    if (size + US_PKT_HEADROOM <= pool->buf_size)
        return us_pkt_alloc(pool);
    uint32_t cap = size + US_PKT_HEADROOM;
    struct us_pkt *pkt = malloc(sizeof(*pkt) + cap);
    if (!pkt)
        return NULL;
    pkt->next = NULL;
    pkt->pool = NULL;
    pkt->cap = cap;
    pkt->data = pkt->buf + US_PKT_HEADROOM;
    pkt->len = 0;
    pkt->ts = 0;
    pkt->flags = 0;
    return pkt;
}

void us_pkt_free(struct us_pkt *pkt)
{
    if (!pkt)
        return;
    struct us_pktpool *pool = pkt->pool;
    if (!pool) {
        free(pkt);
        return;
    }
    pkt->next = pool->free_list;
    pool->free_list = pkt;
    pool->st.in_use--;
    pool->st.free++;
}

struct us_pkt *us_pkt_from(struct us_pktpool *pool, const void *bytes, uint32_t len)
{
    struct us_pkt *p = us_pkt_alloc(pool);
    if (!p)
        return NULL;
    uint8_t *d = us_pkt_put(p, len);
    if (!d) {
        us_pkt_free(p);
        return NULL;
    }
    memcpy(d, bytes, len);
    return p;
}

struct us_pkt *us_pkt_clone(const struct us_pkt *src)
{
    struct us_pkt *p = src->pool ? us_pkt_alloc(src->pool) : NULL;
    if (!p)
        return NULL;
    uint32_t head = us_pkt_headroom(src);
    if (head + src->len > p->cap) {
        us_pkt_free(p);
        return NULL;
    }
    p->data = p->buf + head;
    p->len = src->len;
    p->ts = src->ts;
    p->flags = src->flags;
    memcpy(p->data, src->data, src->len);
    return p;
}

void us_pktq_purge(struct us_pktq *q)
{
    struct us_pkt *p;
    while ((p = us_pktq_pop(q)) != NULL)
        us_pkt_free(p);
}
