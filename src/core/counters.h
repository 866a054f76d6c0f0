/* Per-layer counters. Each layer lists its counters in its own X-macro file
 * (src/<layer>/<layer>_counters.def: X(ENUM_NAME, "layer.reason")); drops
 * carry a "drop_" reason. */
#ifndef US_CORE_COUNTERS_H
#define US_CORE_COUNTERS_H

enum us_counter_id {
#define X(id, name) US_C_##id,
#include "../link/link_counters.def"
#include "../ip/ip_counters.def"
#include "../udp/udp_counters.def"
#include "../tcp/tcp_counters.def"
#include "../socket/socket_counters.def"
#undef X
    US_C_MAX
};

#define US_COUNT(st, id) ((st)->counters[US_C_##id]++)
#define US_COUNT_N(st, id, n) ((st)->counters[US_C_##id] += (n))

#endif
