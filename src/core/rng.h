/* Random numbers: xoshiro256** seeded by splitmix64 (simulation) or from the OS
 * (getrandom) in real time; SipHash-2-4 as the keyed hash for ISNs (RFC 6528)
 * and ephemeral port selection (RFC 6056). */
#ifndef US_CORE_RNG_H
#define US_CORE_RNG_H

#include <ustack/types.h>

struct us_rng { uint64_t s[4]; };

void us_rng_seed(struct us_rng *r, uint64_t seed);
/* Seed from the OS; returns 0 or -errno (then falls back to seed from address/time mix). */
int us_rng_seed_os(struct us_rng *r);
uint64_t us_rng_next(struct us_rng *r);
/* Uniform in [0, n) (n > 0). */
uint64_t us_rng_below(struct us_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double us_rng_double(struct us_rng *r);
void us_rng_bytes(struct us_rng *r, void *out, size_t len);

uint64_t us_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
