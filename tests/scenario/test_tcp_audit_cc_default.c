/* Issue 8: CUBIC is the default congestion control. Both ends of a
 * connection set up with the stack's default configuration (no cfg_hook)
 * run "cubic", on the active and the passive side. */
#include <string.h>
#include "test_tcp_helpers.h"

static void default_congestion_control_is_cubic_on_both_sides(void **s)
{
    (void)s;
    struct tu_opts o = {.seed = 5};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(5);
    struct tu_net n;
    struct trace tr;
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    struct us_tcp_info ai, bi;
    assert_int_equal(us_tcp_info(n.a.st, a, &ai), 0);
    assert_int_equal(us_tcp_info(n.b.st, b, &bi), 0);
    assert_string_equal(ai.cc, "cubic");
    assert_string_equal(bi.cc, "cubic");
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_congestion_control_is_cubic_on_both_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
