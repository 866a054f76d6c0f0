/* ustack — basic types shared by every public header. */
#ifndef USTACK_TYPES_H
#define USTACK_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

/* Time is a 64-bit count of nanoseconds supplied by the caller. The stack never
 * reads a clock: real time passes CLOCK_MONOTONIC, the simulator its virtual now. */
typedef uint64_t us_time_t;
#define US_TIME_NEVER UINT64_MAX
#define US_NS(x) ((us_time_t)(x))
#define US_US(x) ((us_time_t)(x) * 1000ull)
#define US_MS(x) ((us_time_t)(x) * 1000000ull)
#define US_SEC(x) ((us_time_t)(x) * 1000000000ull)

struct us_stack;
struct us_dev;
struct us_pkt;
struct us_pktpool;

/* IPv4 addresses and ports are in host byte order in every public API. */
typedef uint32_t us_ip4_t;

#endif
