/* Bulk transfers over impaired links: loss, reordering, duplication and
 * corruption over several seeds; every byte must arrive intact and in order,
 * and both ends must close cleanly. */
#include "test_tcp_helpers.h"

struct imp { double loss, reorder, dup, corrupt; };

static void run_bulk(uint64_t seed, struct imp im, uint64_t bytes)
{
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = seed};
    struct us_impair_dir d = {.delay = US_MS(5), .loss = im.loss, .reorder = im.reorder,
                              .reorder_gap = US_MS(3), .dup = im.dup, .corrupt = im.corrupt,
                              .rate_bps = 100000000};
    o.imp_a.tx = d;
    o.imp_b.tx = d;
    tt_net(&n, &tr, &o);
    tr.on = false;
    int l = tt_listen(n.b.st, 80, 8, us_sim_now(n.sim));
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = bytes,
                     .seed = seed, .close_after = true};
    int rc = xfer_run(&x, tt_now(&n) + US_SEC(3600));
    if (rc != 0 || x.bad || x.got != bytes)
        fail_msg("seed %llu loss %.2f: rc %d got %llu of %llu bad %d", (unsigned long long)seed, im.loss, rc,
                 (unsigned long long)x.got, (unsigned long long)bytes, x.bad);
    assert_true(x.eof);
    us_close(n.b.st, b, tt_now(&n));
    us_close(n.a.st, a, tt_now(&n));
    tt_run(&n, US_SEC(200));
    assert_int_equal(tt_conns(n.a.st), 0);
    assert_int_equal(tt_conns(n.b.st), 1);
    if (im.corrupt > 0)
        assert_true(tu_counter(n.b.st, "tcp.drop_bad_checksum") +
                    tu_counter(n.a.st, "tcp.drop_bad_checksum") +
                    tu_counter(n.a.st, "ip.drop_bad_checksum") +
                    tu_counter(n.b.st, "ip.drop_bad_checksum") > 0);
    tt_free(&n, &tr);
}

static void bulk_clean_link_delivers_every_byte(void **s)
{
    (void)s;
    run_bulk(1, (struct imp){0, 0, 0, 0}, 2000000);
}

static void bulk_with_1_percent_loss_delivers_every_byte(void **s)
{
    (void)s;
    for (uint64_t seed = 1; seed <= 5; seed++)
        run_bulk(seed, (struct imp){0.01, 0, 0, 0}, 1000000);
}

static void bulk_with_5_percent_loss_delivers_every_byte(void **s)
{
    (void)s;
    for (uint64_t seed = 11; seed <= 15; seed++)
        run_bulk(seed, (struct imp){0.05, 0, 0, 0}, 500000);
}

static void bulk_with_20_percent_loss_delivers_every_byte(void **s)
{
    (void)s;
    for (uint64_t seed = 21; seed <= 24; seed++)
        run_bulk(seed, (struct imp){0.20, 0, 0, 0}, 100000);
}

static void bulk_with_reordering_duplication_and_corruption_delivers_every_byte(void **s)
{
    (void)s;
    for (uint64_t seed = 31; seed <= 35; seed++)
        run_bulk(seed, (struct imp){0.02, 0.05, 0.05, 0.02}, 500000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bulk_clean_link_delivers_every_byte),
        cmocka_unit_test(bulk_with_1_percent_loss_delivers_every_byte),
        cmocka_unit_test(bulk_with_5_percent_loss_delivers_every_byte),
        cmocka_unit_test(bulk_with_20_percent_loss_delivers_every_byte),
        cmocka_unit_test(bulk_with_reordering_duplication_and_corruption_delivers_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
