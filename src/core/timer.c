/* Timer heap: a binary min-heap ordered by (when, seq). Each timer remembers its
 * index so cancel and re-arm are O(log n) without searching. */
#include <errno.h>
#include <stdlib.h>
#include "timer.h"

static bool before(const struct us_timer *a, const struct us_timer *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return (int32_t)(a->seq - b->seq) < 0;
}

static void place(struct us_timerheap *h, uint32_t i, struct us_timer *t)
{
    h->heap[i] = t;
    t->idx = i + 1;
}

static void sift_up(struct us_timerheap *h, uint32_t i)
{
    struct us_timer *t = h->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(t, h->heap[parent]))
            break;
        place(h, i, h->heap[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct us_timerheap *h, uint32_t i)
{
    struct us_timer *t = h->heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        const struct us_timer *best = t;
        if (l < h->len && before(h->heap[l], best)) {
            m = l;
            best = h->heap[l];
        }
        if (r < h->len && before(h->heap[r], best))
            m = r;
        if (m == i)
            break;
        place(h, i, h->heap[m]);
        i = m;
    }
    place(h, i, t);
}

void us_timerheap_init(struct us_timerheap *h)
{
    h->heap = NULL;
    h->len = h->cap = 0;
    h->seq = 0;
}

void us_timerheap_free(struct us_timerheap *h)
{
    for (uint32_t i = 0; i < h->len; i++)
        h->heap[i]->idx = 0;
    free(h->heap);
    us_timerheap_init(h);
}

int us_timer_arm(struct us_timerheap *h, struct us_timer *t, us_time_t when)
{
    t->seq = h->seq++;
    if (t->idx) {
        uint32_t i = t->idx - 1;
        us_time_t old = t->when;
        t->when = when;
        if (when < old)
            sift_up(h, i);
        else
            sift_down(h, i);
        return 0;
    }
    if (h->len == h->cap) {
        uint32_t ncap = h->cap ? h->cap * 2 : 64;
        struct us_timer **n = realloc(h->heap, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        h->heap = n;
        h->cap = ncap;
    }
    t->when = when;
    place(h, h->len++, t);
    sift_up(h, h->len - 1);
    return 0;
}

void us_timer_cancel(struct us_timerheap *h, struct us_timer *t)
{
    if (!t->idx)
        return;
    uint32_t i = t->idx - 1;
    t->idx = 0;
    h->len--;
    if (i == h->len)
        return;
    struct us_timer *last = h->heap[h->len];
    place(h, i, last);
    if (i > 0 && before(last, h->heap[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

us_time_t us_timerheap_next(const struct us_timerheap *h)
{
    return h->len ? h->heap[0]->when : US_TIME_NEVER;
}

uint32_t us_timerheap_run(struct us_timerheap *h, struct us_stack *st, us_time_t now)
{
    uint32_t n = 0;
    while (h->len && h->heap[0]->when <= now) {
        struct us_timer *t = h->heap[0];
        us_timer_cancel(h, t);
        n++;
        t->fn(st, t, now);
    }
    return n;
}
