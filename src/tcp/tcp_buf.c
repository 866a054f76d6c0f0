/* Byte buffers and the out-of-order queue.
 *
 * A buffer is a circular singly linked chain of chunks reached through its tail,
 * so an empty buffer is one NULL pointer and holds no memory; chunks are
 * allocated as bytes arrive and freed as soon as they are drained.
 *
 * The out-of-order queue keeps non-overlapping ranges sorted by sequence; its
 * memory is bounded by the receive window (only in-window bytes are accepted)
 * and by a segment count, so a peer cannot exhaust it. */
#include <stdlib.h>
#include <string.h>
#include "tcp_int.h"

#define CHUNK_MIN 2048u
#define CHUNK_MAX 16384u

static struct tcp_chunk *chunk_new(uint32_t want)
{
    uint32_t cap = want < CHUNK_MIN ? CHUNK_MIN : want > CHUNK_MAX ? CHUNK_MAX : want;
    struct tcp_chunk *c = malloc(sizeof(*c) + cap);
    if (!c)
        return NULL;
    c->len = 0;
    c->cap = cap;
    return c;
}

uint32_t tcp_buf_append(struct tcp_buf *b, const void *src, uint32_t n)
{
    const uint8_t *s = src;
    uint32_t done = 0;
    while (done < n) {
        struct tcp_chunk *t = b->tail;
        if (!t || t->len == t->cap) {
            struct tcp_chunk *c = chunk_new(n - done);
            if (!c)
                break;
            if (t) {
                c->next = t->next;
                t->next = c;
            } else {
                c->next = c;
            }
            b->tail = t = c;
        }
        uint32_t k = t->cap - t->len;
        if (k > n - done)
            k = n - done;
        memcpy(t->data + t->len, s + done, k);
        t->len += k;
        done += k;
    }
    b->len += done;
    return done;
}

void tcp_buf_copy(const struct tcp_buf *b, uint32_t off, void *dst, uint32_t n)
{
    if (!b->tail || n == 0)
        return;
    uint8_t *d = dst;
    struct tcp_chunk *c = b->tail->next;
    off += b->off;
    while (off >= c->len) {
        off -= c->len;
        c = c->next;
    }
    while (n) {
        uint32_t k = c->len - off;
        if (k > n)
            k = n;
        memcpy(d, c->data + off, k);
        d += k;
        n -= k;
        off = 0;
        c = c->next;
    }
}

void tcp_buf_consume(struct tcp_buf *b, uint32_t n)
{
    if (n > b->len)
        n = b->len;
    b->len -= n;
    while (n && b->tail) {
        struct tcp_chunk *h = b->tail->next;
        uint32_t avail = h->len - b->off;
        if (n < avail) {
            b->off += n;
            return;
        }
        n -= avail;
        b->off = 0;
        if (h == b->tail) {
            b->tail = NULL;
        } else {
            b->tail->next = h->next;
        }
        free(h);
    }
    if (b->len == 0 && b->tail) {
        /* Drained exactly to the end of a partly filled tail: keep no memory. */
        struct tcp_chunk *h = b->tail->next;
        if (h == b->tail && b->off == h->len) {
            free(h);
            b->tail = NULL;
            b->off = 0;
        }
    }
}

void tcp_buf_free(struct tcp_buf *b)
{
    if (b->tail) {
        struct tcp_chunk *c = b->tail->next;
        b->tail->next = NULL;
        while (c) {
            struct tcp_chunk *n = c->next;
            free(c);
            c = n;
        }
    }
    b->tail = NULL;
    b->off = b->len = 0;
}

/* ---- out-of-order queue -------------------------------------------------- */

static struct tcp_ooo *ooo_node(uint32_t seq, const uint8_t *data, uint32_t len)
{
    struct tcp_ooo *o = malloc(sizeof(*o) + len);
    if (!o)
        return NULL;
    o->next = NULL;
    o->seq = seq;
    o->len = len;
    memcpy(o->data, data, len);
    return o;
}

static void ooo_unlink_free(struct tcp_ext *e, struct tcp_ooo **pp)
{
    struct tcp_ooo *o = *pp;
    *pp = o->next;
    e->ooo_bytes -= o->len;
    e->ooo_count--;
    free(o);
    if (!e->ooo)
        e->ooo_tail = NULL;
}

/* Ranges held out of order: at least TCP_OOO_MAX_SEGS, one per KiB of receive
 * buffer beyond that (a window of large segments needs one range per segment;
 * a peer sending tiny segments cannot make the per-range overhead exceed about
 * 5% of the buffer). The bytes themselves are bounded by the window (R5). */
static uint32_t ooo_limit(const struct us_tcb *tcb)
{
    uint32_t l = tcb->rcvbuf / 1024u;
    if (l < TCP_OOO_MAX_SEGS)
        l = TCP_OOO_MAX_SEGS;
    return l > 65535u ? 65535u : l;
}

/* Insert [seq, seq+len): bytes already held are trimmed away (RFC 9293 3.10.7.4
 * lets a receiver keep either copy; keeping the old one makes the queue
 * non-overlapping). A new range may be cut into pieces by held ranges. */
bool tcp_ooo_insert(struct us_stack *st, struct us_tcb *tcb, uint32_t seq, const uint8_t *data, uint32_t len)
{
    struct tcp_ext *e = tcp_ext(tcb);
    if (!e)
        return false;
    (void)st;
    e->ooo_last = seq;
    struct tcp_ooo **pp = &e->ooo;
    /* the common case after a loss: every new arrival lies beyond the last range */
    if (e->ooo_tail && seq_ge(seq, e->ooo_tail->seq + e->ooo_tail->len))
        pp = &e->ooo_tail->next;
    while (len) {
        while (*pp && seq_le((*pp)->seq + (*pp)->len, seq))
            pp = &(*pp)->next;
        struct tcp_ooo *cur = *pp;
        if (cur && seq_ge(seq, cur->seq)) {
            /* starts inside cur: skip the covered part */
            uint32_t skip = cur->seq + cur->len - seq;
            if (skip >= len)
                return true;
            seq += skip;
            data += skip;
            len -= skip;
            continue;
        }
        uint32_t piece = len;
        if (cur && seq_lt(cur->seq, seq + len))
            piece = cur->seq - seq;
        if (e->ooo_count >= ooo_limit(tcb))
            return false;
        struct tcp_ooo *n = ooo_node(seq, data, piece);
        if (!n)
            return false;
        n->next = cur;
        *pp = n;
        if (!cur)
            e->ooo_tail = n;
        e->ooo_bytes += piece;
        e->ooo_count++;
        pp = &n->next;
        seq += piece;
        data += piece;
        len -= piece;
    }
    return true;
}

uint32_t tcp_ooo_drain(struct us_stack *st, struct us_tcb *tcb)
{
    struct tcp_ext *e = tcb->ext;
    uint32_t moved = 0;
    (void)st;
    if (!e)
        return 0;
    while (e->ooo && seq_le(e->ooo->seq, tcb->rcv_nxt)) {
        struct tcp_ooo *o = e->ooo;
        uint32_t skip = tcb->rcv_nxt - o->seq;
        if (skip < o->len) {
            uint32_t k = tcp_buf_append(&tcb->rcvq, o->data + skip, o->len - skip);
            if (k < o->len - skip) {
                /* no memory to move it: keep the rest queued */
                if (k) {
                    tcb->rcv_nxt += k;
                    moved += k;
                }
                break;
            }
            tcb->rcv_nxt += k;
            moved += k;
        }
        ooo_unlink_free(e, &e->ooo);
    }
    return moved;
}

void tcp_ooo_free(struct tcp_ext *e)
{
    while (e->ooo)
        ooo_unlink_free(e, &e->ooo);
}

/* Next run of adjacent ranges starting at *o: [l, r); advances *o past it. */
static bool next_run(const struct tcp_ooo **o, uint32_t *l, uint32_t *r)
{
    const struct tcp_ooo *p = *o;
    if (!p)
        return false;
    *l = p->seq;
    *r = p->seq + p->len;
    for (p = p->next; p && p->seq == *r; p = p->next)
        *r = p->seq + p->len;
    *o = p;
    return true;
}

/* RFC 2018 4: the first block holds the most recently received segment, the
 * others follow in sequence order. Blocks are merged runs of adjacent ranges. */
uint8_t tcp_sack_blocks(const struct us_tcb *tcb, uint32_t out[][2], uint8_t max)
{
    const struct tcp_ext *e = tcb->ext;
    if (!e || !e->ooo || max == 0)
        return 0;
    uint8_t n = 0;
    uint32_t l, r, fl = 0, fr = 0;
    const struct tcp_ooo *o = e->ooo;
    while (next_run(&o, &l, &r))
        if (seq_ge(e->ooo_last, l) && seq_lt(e->ooo_last, r)) {
            out[n][0] = fl = l;
            out[n][1] = fr = r;
            n++;
            break;
        }
    for (o = e->ooo; n < max && next_run(&o, &l, &r);) {
        if (n && l == fl && r == fr)
            continue;
        out[n][0] = l;
        out[n][1] = r;
        n++;
    }
    return n;
}
