/* ustack — packet buffers.
 *
 * A packet is one fixed-size buffer from a pool with headroom in front of the
 * data, so every layer can prepend its header without copying. Pools keep a free
 * list: after warm-up, allocating and freeing a packet never calls malloc. */
#ifndef USTACK_PKT_H
#define USTACK_PKT_H

#include "types.h"

#define US_PKT_HEADROOM 128u

struct us_pkt {
    struct us_pkt *next;       /* queue link, owned by whoever holds the packet */
    struct us_pktpool *pool;   /* pool to return to (NULL: malloc'd by us_pkt_alloc_size) */
    uint8_t *data;             /* start of valid bytes */
    uint32_t len;              /* valid bytes */
    uint32_t cap;              /* bytes in buf[] */
    us_time_t ts;              /* time stamp (rx time, or release time in queues) */
    uint8_t flags;             /* US_PKT_F_*, 0 when allocated */
    uint8_t buf[];             /* headroom + data */
};

/* The last frame of a chunk of a burst: a device that joins consecutive frames
 * (the TAP device's GSO super-frames) ends the one it is joining after this
 * frame. TCP sets it (tcp_out.c: chunks of half of cwnd). */
#define US_PKT_F_END 1u

struct us_pktpool_stats {
    uint64_t allocated;  /* buffers obtained from malloc since creation */
    uint64_t in_use;     /* buffers handed out now */
    uint64_t free;       /* buffers on the free list */
    uint64_t failures;   /* allocations refused (pool limit reached) */
};

/* buf_size: bytes per buffer including US_PKT_HEADROOM; max_pkts: bound on buffers
 * ever allocated (0 = 65536). */
struct us_pktpool *us_pktpool_new(uint32_t buf_size, uint32_t max_pkts);
void us_pktpool_free(struct us_pktpool *pool);
void us_pktpool_stats(const struct us_pktpool *pool, struct us_pktpool_stats *out);
uint32_t us_pktpool_bufsize(const struct us_pktpool *pool);

/* Returns NULL when the pool limit is reached. data = buf + headroom, len = 0. */
struct us_pkt *us_pkt_alloc(struct us_pktpool *pool);
/* A packet with room for at least `size` bytes after the headroom: from the pool
 * when it fits a pool buffer, otherwise one malloc'd buffer (for datagrams larger
 * than the MTU that IP will fragment, e.g. a 64 KiB ping or UDP datagram).
 * us_pkt_free handles both. */
struct us_pkt *us_pkt_alloc_size(struct us_pktpool *pool, uint32_t size);
void us_pkt_free(struct us_pkt *pkt);
/* Allocate and copy len bytes (NULL if they do not fit or no memory). */
struct us_pkt *us_pkt_from(struct us_pktpool *pool, const void *bytes, uint32_t len);
struct us_pkt *us_pkt_clone(const struct us_pkt *pkt);

static inline uint32_t us_pkt_headroom(const struct us_pkt *p) { return (uint32_t)(p->data - p->buf); }
static inline uint32_t us_pkt_tailroom(const struct us_pkt *p) { return p->cap - us_pkt_headroom(p) - p->len; }
/* Prepend n bytes; returns the new start or NULL if no headroom. */
static inline uint8_t *us_pkt_push(struct us_pkt *p, uint32_t n) {
    if (us_pkt_headroom(p) < n) return NULL;
    p->data -= n; p->len += n; return p->data;
}
/* Remove n bytes from the front; returns the new start or NULL if too short. */
static inline uint8_t *us_pkt_pull(struct us_pkt *p, uint32_t n) {
    if (p->len < n) return NULL;
    p->data += n; p->len -= n; return p->data;
}
/* Append n bytes at the tail; returns a pointer to them or NULL if no tailroom. */
static inline uint8_t *us_pkt_put(struct us_pkt *p, uint32_t n) {
    if (us_pkt_tailroom(p) < n) return NULL;
    uint8_t *t = p->data + p->len; p->len += n; return t;
}
static inline void us_pkt_trim(struct us_pkt *p, uint32_t len) { if (len < p->len) p->len = len; }

/* A simple FIFO of packets (singly linked through ->next). */
struct us_pktq { struct us_pkt *head, *tail; uint32_t count; uint64_t bytes; };
static inline void us_pktq_init(struct us_pktq *q) { q->head = q->tail = NULL; q->count = 0; q->bytes = 0; }
static inline void us_pktq_push(struct us_pktq *q, struct us_pkt *p) {
    p->next = NULL; if (q->tail) q->tail->next = p; else q->head = p; q->tail = p; q->count++; q->bytes += p->len;
}
static inline struct us_pkt *us_pktq_pop(struct us_pktq *q) {
    struct us_pkt *p = q->head; if (!p) return NULL;
    q->head = p->next; if (!q->head) q->tail = NULL; q->count--; q->bytes -= p->len; p->next = NULL; return p;
}
void us_pktq_purge(struct us_pktq *q);

#endif
