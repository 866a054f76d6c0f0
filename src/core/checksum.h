/* The Internet checksum (RFC 1071) and its incremental update (RFC 1624). */
#ifndef US_CORE_CHECKSUM_H
#define US_CORE_CHECKSUM_H

#include <ustack/types.h>

/* One's-complement sum of len bytes, folded to 32 bits, added to `sum`.
 * Byte order: the sum is computed over big-endian 16-bit words; the returned
 * partial sum is in network-order word arithmetic. */
uint32_t us_csum_partial(const void *data, size_t len, uint32_t sum);
/* Fold a partial sum and complement it: the value to store in a header (network order bytes
 * when written with us_put16). */
uint16_t us_csum_fold(uint32_t sum);
/* Checksum of a buffer: us_csum_fold(us_csum_partial(data, len, 0)). */
uint16_t us_csum(const void *data, size_t len);
/* Pseudo-header partial sum for TCP/UDP over IPv4 (addresses in host order). */
uint32_t us_csum_pseudo(us_ip4_t src, us_ip4_t dst, uint8_t proto, uint16_t len);
/* RFC 1624 eqn. 3: new checksum when a 16-bit field changes from old to new.
 * All values as read with us_get16 (host order of the big-endian words). */
uint16_t us_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val);
uint16_t us_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val);
/* Reference implementation (simple loop), for tests and bench. */
uint32_t us_csum_partial_ref(const void *data, size_t len, uint32_t sum);

/* Big-endian field access (wire formats). */
static inline uint16_t us_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t us_get32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static inline void us_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void us_put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

#endif
