/* A seeded matrix of bulk transfers in virtual time (after smoltcp's netsim):
 * loss rates × seeds × receive-buffer sizes, plus reordering, duplication and
 * corruption. Every transfer must finish with every byte intact; a run in
 * which nothing is pending while the transfer is unfinished fails as a
 * deadlock. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"

struct knobs {
    double loss, reorder, dup, corrupt;
    uint32_t rcvbuf;
};

static void set_rcvbuf(struct us_config *cfg, int host, void *arg)
{
    const struct knobs *k = arg;
    (void)host;
    if (k->rcvbuf)
        cfg->tcp_rcvbuf = k->rcvbuf;
}

static void one_transfer(const struct knobs *k, uint64_t seed, uint64_t bytes)
{
    struct tu_opts o = {.seed = seed, .cfg_hook = set_rcvbuf, .cfg_arg = (void *)k};
    struct us_impair_dir d = {.loss = k->loss, .reorder = k->reorder, .reorder_gap = US_MS(3), .dup = k->dup,
                              .corrupt = k->corrupt, .delay = US_MS(5)};
    o.imp_a.tx = d;
    o.imp_b.tx = d;
    struct tu_net n;
    tu_net_init(&n, &o);
    struct xfer b = {.total = bytes, .seed = seed};
    int rc = tu_bulk_run(&n, &b, US_SEC(3600));
    if (rc != 0 || b.bad || b.got != bytes || b.err) {
        fail_msg("loss %.2f reorder %.2f dup %.2f corrupt %.2f rcvbuf %u seed %llu: rc %d error %d sent %llu "
                 "received %llu data_ok %d eof %d at %.3f s",
                 k->loss, k->reorder, k->dup, k->corrupt, k->rcvbuf, (unsigned long long)seed, rc, b.err,
                 (unsigned long long)b.sent, (unsigned long long)b.got, !b.bad, b.eof,
                 (double)us_sim_now(n.sim) / 1e9);
    }
    tu_net_free(&n);
}

static void matrix(const struct knobs *k, int seeds, uint64_t bytes)
{
    for (int s = 1; s <= seeds; s++)
        one_transfer(k, (uint64_t)s * 1000003u + (uint64_t)(k->loss * 1000), bytes);
}

static void bulk_transfer_clean_link_all_buffer_sizes(void **s)
{
    (void)s;
    uint32_t bufs[] = {0, 4096, 8081, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        struct knobs k = {.rcvbuf = bufs[i]};
        matrix(&k, 2, 1 << 20);
    }
}

static void bulk_transfer_survives_1_percent_loss(void **s)
{
    (void)s;
    struct knobs k = {.loss = 0.01};
    matrix(&k, 8, 512 * 1024);
    k.rcvbuf = 8081;
    matrix(&k, 4, 128 * 1024);
}

static void bulk_transfer_survives_5_percent_loss(void **s)
{
    (void)s;
    struct knobs k = {.loss = 0.05};
    matrix(&k, 8, 256 * 1024);
    k.rcvbuf = 8081;
    matrix(&k, 4, 128 * 1024);
}

static void bulk_transfer_survives_20_percent_loss(void **s)
{
    (void)s;
    struct knobs k = {.loss = 0.20};
    matrix(&k, 6, 64 * 1024);
    k.rcvbuf = 4096;
    matrix(&k, 3, 32 * 1024);
}

static void bulk_transfer_survives_reordering_duplication_corruption(void **s)
{
    (void)s;
    struct knobs r = {.reorder = 0.1};
    matrix(&r, 6, 512 * 1024);
    struct knobs d = {.dup = 0.05};
    matrix(&d, 6, 512 * 1024);
    struct knobs c = {.corrupt = 0.05};
    matrix(&c, 6, 256 * 1024);
    struct knobs all = {.loss = 0.02, .reorder = 0.05, .dup = 0.02, .corrupt = 0.02, .rcvbuf = 16384};
    matrix(&all, 6, 256 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bulk_transfer_clean_link_all_buffer_sizes),
        cmocka_unit_test(bulk_transfer_survives_1_percent_loss),
        cmocka_unit_test(bulk_transfer_survives_5_percent_loss),
        cmocka_unit_test(bulk_transfer_survives_20_percent_loss),
        cmocka_unit_test(bulk_transfer_survives_reordering_duplication_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
