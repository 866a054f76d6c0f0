/* The Internet checksum (RFC 1071) and incremental updates (RFC 1624).
 *
 * Fast path: the one's-complement sum is independent of byte order (RFC 1071
 * 2(B)), so we add the buffer as native 32-bit words into 64-bit accumulators
 * (no carry handling needed for any realistic length), fold to 16 bits, and swap
 * to big-endian word arithmetic once at the end. */
#include <string.h>
#include "checksum.h"

static inline uint32_t fold32(uint64_t s)
{
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

static inline uint16_t fold16(uint32_t s)
{
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)s;
}

static inline uint16_t to_be_word(uint16_t native)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (uint16_t)((native >> 8) | (native << 8));
#else
    return native;
#endif
}

uint32_t us_csum_partial(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    while (len >= 32) {
        uint32_t w[8];
        memcpy(w, p, 32);
        a0 += (uint64_t)w[0] + w[4];
        a1 += (uint64_t)w[1] + w[5];
        a2 += (uint64_t)w[2] + w[6];
        a3 += (uint64_t)w[3] + w[7];
        p += 32;
        len -= 32;
    }
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        a0 += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        a1 += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        /* trailing byte is the high-order byte of a big-endian word */
        uint16_t w = 0;
        memcpy(&w, p, 1);
        a2 += w;
    }
    uint64_t a = (a0 & 0xffffffffu) + (a0 >> 32) + (a1 & 0xffffffffu) + (a1 >> 32) +
                 (a2 & 0xffffffffu) + (a2 >> 32) + (a3 & 0xffffffffu) + (a3 >> 32);
    uint16_t native = fold16(fold32(a));
    return fold32((uint64_t)sum + to_be_word(native));
}

uint32_t us_csum_partial_ref(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;
    uint64_t s = sum;
    while (len >= 2) {
        s += (uint32_t)((p[0] << 8) | p[1]);
        p += 2;
        len -= 2;
    }
    if (len)
        s += (uint32_t)(p[0] << 8);
    return fold32(s);
}

uint16_t us_csum_fold(uint32_t sum) { return (uint16_t)~fold16(sum); }

uint16_t us_csum(const void *data, size_t len) { return us_csum_fold(us_csum_partial(data, len, 0)); }

uint32_t us_csum_pseudo(us_ip4_t src, us_ip4_t dst, uint8_t proto, uint16_t len)
{
    uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
    return fold32(s);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
uint16_t us_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
    uint32_t s = (uint16_t)~csum + (uint32_t)(uint16_t)~old_val + new_val;
    return (uint16_t)~fold16(s);
}

uint16_t us_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val)
{
    csum = us_csum_update16(csum, (uint16_t)(old_val >> 16), (uint16_t)(new_val >> 16));
    return us_csum_update16(csum, (uint16_t)old_val, (uint16_t)new_val);
}
