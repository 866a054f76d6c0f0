/* Checksum throughput against memcpy on the same buffers (figures, not
 * assertions). Usage: bench_checksum [BYTES] [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/checksum.h"

static double secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t sizes[] = {64, 576, 1500, 9000, 65536};
    size_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : (size_t)2 << 30; /* bytes per measurement */
    uint8_t *src = malloc(65536 + 64), *dst = malloc(65536 + 64);
    for (size_t i = 0; i < 65536 + 64; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    printf("%-8s %12s %12s %12s %8s\n", "bytes", "csum GB/s", "ref GB/s", "memcpy GB/s", "csum/memcpy");
    volatile uint32_t sink = 0;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k], rounds = total / n;
        double t0 = secs();
        for (size_t r = 0; r < rounds; r++)
            sink += us_csum_partial(src + (r & 1), n, 0);
        double t1 = secs();
        size_t ref_rounds = rounds / 8;
        for (size_t r = 0; r < ref_rounds; r++)
            sink += us_csum_partial_ref(src + (r & 1), n, 0);
        double t2 = secs();
        for (size_t r = 0; r < rounds; r++) {
            memcpy(dst, src + (r & 1), n);
            __asm__ volatile("" ::"r"(dst) : "memory");
        }
        double t3 = secs();
        double c = (double)n * (double)rounds / (t1 - t0) / 1e9;
        double ref = (double)n * (double)ref_rounds / (t2 - t1) / 1e9;
        double m = (double)n * (double)rounds / (t3 - t2) / 1e9;
        printf("%-8zu %12.2f %12.2f %12.2f %8.2f\n", n, c, ref, m, c / m);
    }
    (void)sink;
    free(src);
    free(dst);
    return 0;
}
