/* Timers: a binary min-heap of embedded timer records. Arm, re-arm and cancel
 * cost O(log n); finding the next deadline is O(1). A timer is embedded in the
 * object that owns it; the callback recovers the owner with container_of. */
#ifndef US_CORE_TIMER_H
#define US_CORE_TIMER_H

#include <ustack/types.h>

struct us_timer;
typedef void (*us_timer_fn)(struct us_stack *st, struct us_timer *t, us_time_t now);

struct us_timer {
    us_time_t when;
    uint32_t idx;      /* position in heap + 1; 0 = not armed */
    uint32_t seq;      /* insertion order, breaks ties so equal deadlines fire FIFO */
    us_timer_fn fn;
};

struct us_timerheap {
    struct us_timer **heap;
    uint32_t len, cap;
    uint32_t seq;
};

#define us_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

void us_timerheap_init(struct us_timerheap *h);
void us_timerheap_free(struct us_timerheap *h);
static inline void us_timer_init(struct us_timer *t, us_timer_fn fn) { t->when = 0; t->idx = 0; t->seq = 0; t->fn = fn; }
static inline bool us_timer_armed(const struct us_timer *t) { return t->idx != 0; }
/* Arm (or move) t to fire at `when`. Returns -ENOMEM if the heap cannot grow. */
int us_timer_arm(struct us_timerheap *h, struct us_timer *t, us_time_t when);
void us_timer_cancel(struct us_timerheap *h, struct us_timer *t);
us_time_t us_timerheap_next(const struct us_timerheap *h);
/* Run every timer with when <= now, earliest first; returns how many ran. A
 * callback may arm or cancel any timer, including itself. */
uint32_t us_timerheap_run(struct us_timerheap *h, struct us_stack *st, us_time_t now);

#endif
