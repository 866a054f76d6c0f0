/* Core: checksums (RFC 1071 / RFC 1624), timers, packet pools, random source. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/checksum.h"
#include "core/timer.h"
#include "core/rng.h"
#include <ustack/pkt.h>

/* RFC 1071 section 3 example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2. */
static void checksum_matches_rfc1071_example(void **s)
{
    (void)s;
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(us_csum_partial(b, sizeof(b), 0) & 0xffff, 0xddf2);
    assert_int_equal(us_csum(b, sizeof(b)), (uint16_t)~0xddf2);
}

static void checksum_of_ip_header_verifies_to_zero(void **s)
{
    (void)s;
    /* a real IPv4 header with its checksum 0xb861 */
    const uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                         0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    assert_int_equal(us_csum(h, sizeof(h)), 0);
    uint8_t z[20];
    memcpy(z, h, 20);
    z[10] = z[11] = 0;
    assert_int_equal(us_csum(z, 20), 0xb861);
}

static void checksum_odd_lengths_and_offsets_match_reference(void **s)
{
    (void)s;
    uint8_t buf[4099];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t off = 0; off < 4; off++)
        for (size_t len = 0; len < 300; len++)
            assert_int_equal(us_csum_fold(us_csum_partial(buf + off, len, 0)), us_csum_fold(us_csum_partial_ref(buf + off, len, 0)));
    assert_int_equal(us_csum_fold(us_csum_partial(buf + 1, 4097, 0x1234)), us_csum_fold(us_csum_partial_ref(buf + 1, 4097, 0x1234)));
    /* a single odd byte is the high half of a word */
    uint8_t one = 0xab;
    assert_int_equal(us_csum_partial(&one, 1, 0), 0xab00);
}

static void checksum_all_ones_buffer(void **s)
{
    (void)s;
    uint8_t ff[64];
    memset(ff, 0xff, sizeof(ff));
    /* one's-complement sum of 0xffff words is 0xffff ("negative zero"); checksum 0 */
    assert_int_equal(us_csum_partial(ff, sizeof(ff), 0), 0xffff);
    assert_int_equal(us_csum(ff, sizeof(ff)), 0);
    assert_int_equal(us_csum(ff, 63), us_csum_fold(us_csum_partial_ref(ff, 63, 0)));
}

static void incremental_update_equals_full_recompute(void **s)
{
    (void)s;
    uint8_t h[20] = {0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2};
    uint16_t c = us_csum(h, 20);
    us_put16(h + 10, c);
    for (int ttl = 64; ttl > 0; ttl--) {
        uint16_t old = us_get16(h + 8);
        h[8] = (uint8_t)(ttl - 1);
        uint16_t nc = us_csum_update16(us_get16(h + 10), old, us_get16(h + 8));
        us_put16(h + 10, nc);
        assert_int_equal(us_csum(h, 20), 0);
    }
    uint32_t olda = us_get32(h + 12);
    us_put32(h + 12, 0x0a000001);
    us_put16(h + 10, us_csum_update32(us_get16(h + 10), olda, 0x0a000001));
    assert_int_equal(us_csum(h, 20), 0);
}

/* ---- timers ---- */
static int fired[64], nfired;
static void record(struct us_stack *st, struct us_timer *t, us_time_t now)
{
    (void)st;
    (void)now;
    fired[nfired++] = (int)t->seq; /* placeholder, overwritten below */
}
struct tt { struct us_timer t; int id; };
static void record_id(struct us_stack *st, struct us_timer *t, us_time_t now)
{
    (void)st;
    (void)now;
    fired[nfired++] = us_container_of(t, struct tt, t)->id;
}

static void timers_fire_in_deadline_order_fifo_on_ties(void **s)
{
    (void)s;
    (void)record;
    struct us_timerheap h;
    us_timerheap_init(&h);
    struct tt ts[10];
    us_time_t when[10] = {50, 10, 30, 10, 90, 20, 10, 70, 60, 40};
    for (int i = 0; i < 10; i++) {
        ts[i].id = i;
        us_timer_init(&ts[i].t, record_id);
        us_timer_arm(&h, &ts[i].t, when[i]);
    }
    us_timer_cancel(&h, &ts[8].t);             /* 60 never fires */
    us_timer_arm(&h, &ts[4].t, 5);             /* 90 moved to 5 */
    assert_int_equal(us_timerheap_next(&h), 5);
    nfired = 0;
    assert_int_equal(us_timerheap_run(&h, NULL, 35), 6);
    int expect1[] = {4, 1, 3, 6, 5, 2};
    assert_memory_equal(fired, expect1, sizeof(expect1));
    nfired = 0;
    us_timerheap_run(&h, NULL, 1000);
    int expect2[] = {9, 0, 7};
    assert_int_equal(nfired, 3);
    assert_memory_equal(fired, expect2, sizeof(expect2));
    assert_int_equal(us_timerheap_next(&h), US_TIME_NEVER);
    us_timerheap_free(&h);
}

static void timer_heap_stays_ordered_under_random_churn(void **s)
{
    (void)s;
    struct us_timerheap h;
    us_timerheap_init(&h);
    enum { N = 5000 };
    struct tt *ts = calloc(N, sizeof(*ts));
    struct us_rng r;
    us_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) {
        ts[i].id = i;
        us_timer_init(&ts[i].t, record_id);
        us_timer_arm(&h, &ts[i].t, us_rng_below(&r, 1000000));
    }
    for (int i = 0; i < 20000; i++) {
        struct tt *t = &ts[us_rng_below(&r, N)];
        if (us_rng_below(&r, 3) == 0)
            us_timer_cancel(&h, &t->t);
        else
            us_timer_arm(&h, &t->t, us_rng_below(&r, 1000000));
    }
    us_time_t last = 0;
    while (us_timerheap_next(&h) != US_TIME_NEVER) {
        us_time_t t = us_timerheap_next(&h);
        assert_true(t >= last);
        last = t;
        nfired = 0;
        us_timerheap_run(&h, NULL, t);
    }
    free(ts);
    us_timerheap_free(&h);
}

/* ---- packet pool ---- */
static void pool_recycles_buffers_without_new_allocations(void **s)
{
    (void)s;
    struct us_pktpool *p = us_pktpool_new(2048, 8);
    struct us_pkt *a[8];
    for (int i = 0; i < 8; i++)
        assert_non_null(a[i] = us_pkt_alloc(p));
    assert_null(us_pkt_alloc(p)); /* limit holds */
    for (int i = 0; i < 8; i++)
        us_pkt_free(a[i]);
    for (int round = 0; round < 1000; round++) {
        struct us_pkt *x = us_pkt_alloc(p);
        assert_non_null(us_pkt_push(x, 14));
        assert_null(us_pkt_push(x, US_PKT_HEADROOM)); /* no headroom left */
        us_pkt_free(x);
    }
    struct us_pktpool_stats stt;
    us_pktpool_stats(p, &stt);
    assert_int_equal(stt.allocated, 8);
    assert_int_equal(stt.in_use, 0);
    assert_int_equal(stt.failures, 1);
    struct us_pkt *big = us_pkt_alloc_size(p, 60000);
    assert_non_null(us_pkt_put(big, 60000));
    us_pkt_free(big);
    us_pktpool_free(p);
}

/* ---- random ---- */
static void seeded_rng_is_reproducible(void **s)
{
    (void)s;
    struct us_rng a, b;
    us_rng_seed(&a, 99);
    us_rng_seed(&b, 99);
    for (int i = 0; i < 100; i++)
        assert_int_equal(us_rng_next(&a), us_rng_next(&b));
    for (int i = 0; i < 1000; i++)
        assert_true(us_rng_below(&a, 7) < 7);
    double d = us_rng_double(&a);
    assert_true(d >= 0 && d < 1);
}

static void siphash_matches_reference_vector(void **s)
{
    (void)s;
    /* SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e → a129ca6149be45e5 */
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    assert_int_equal(us_siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checksum_matches_rfc1071_example),
        cmocka_unit_test(checksum_of_ip_header_verifies_to_zero),
        cmocka_unit_test(checksum_odd_lengths_and_offsets_match_reference),
        cmocka_unit_test(checksum_all_ones_buffer),
        cmocka_unit_test(incremental_update_equals_full_recompute),
        cmocka_unit_test(timers_fire_in_deadline_order_fifo_on_ties),
        cmocka_unit_test(timer_heap_stays_ordered_under_random_churn),
        cmocka_unit_test(pool_recycles_buffers_without_new_allocations),
        cmocka_unit_test(seeded_rng_is_reproducible),
        cmocka_unit_test(siphash_matches_reference_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
