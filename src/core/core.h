/* The stack object as every layer sees it: configuration, device, packet pool,
 * the clock of the entry point being processed, timers, randomness, logging, and
 * one slot per layer for that layer's private state and counters.
 *
 * Core names no layer. Each layer picks its slot number in its own header
 * (US_<LAYER>_SLOT), keeps its state behind st->slot[] with a typed accessor in
 * its private header, and counts into st->ctr[] with ids from its own counter
 * list. The composition root (src/stack/) allocates the counters, checks that
 * the slots are distinct and calls each layer's init and fini. */
#ifndef US_CORE_CORE_H
#define US_CORE_CORE_H

#include <ustack/ustack.h>
#include "timer.h"
#include "rng.h"
#include "checksum.h"

#define US_STACK_SLOTS 8

struct us_stack {
    struct us_config cfg;
    struct us_dev *dev;
    struct us_pktpool *pool;     /* = dev->pool: transmit buffers come from here */
    us_time_t now;               /* time of the entry point being processed */
    struct us_timerheap timers;
    struct us_rng rng;
    uint8_t secret[16];          /* key for ISN and port-selection hashes */

    int log_level;
    us_log_fn log_fn;
    void *log_arg;

    void *slot[US_STACK_SLOTS];      /* each layer's private state */
    uint64_t *ctr[US_STACK_SLOTS];   /* each layer's counters, indexed by its own ids */
};

void us_log(struct us_stack *st, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define US_LOG(st, lvl, ...) do { if ((st)->log_fn && (lvl) <= (st)->log_level) us_log((st), (lvl), __VA_ARGS__); } while (0)

/* Counting: a layer defines US_COUNT(st, ID) on top of these with its slot.
 * Counter lists are X-macro files (X(ENUM_NAME, "layer.reason")); drops carry a
 * "drop_" reason. */
#define US_COUNT_SLOT(st, slot, i) ((st)->ctr[slot][i]++)
#define US_COUNT_SLOT_N(st, slot, i, n) ((st)->ctr[slot][i] += (n))

#endif
