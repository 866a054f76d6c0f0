/* The file side of the HTTP server (src/http/http_file.c): request paths
 * cleaned without leaving the root, byte ranges, entity-tag lists, HTTP
 * dates in the three forms a recipient must accept, MIME types. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "http/http_file.h"

static void clean(const char *raw, const char *want)
{
    char out[256];
    int n = hf_clean_path(raw, strlen(raw), out, sizeof(out));
    if (!want) {
        if (n >= 0)
            fail_msg("'%s' cleaned to '%s', expected a refusal", raw, out);
        return;
    }
    if (n < 0)
        fail_msg("'%s' refused (%d), expected '%s'", raw, n, want);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void paths_are_decoded_then_dot_segments_resolved_inside_the_root(void **st)
{
    (void)st;
    clean("/", "");
    clean("", "");
    clean("/index.html", "index.html");
    clean("/a/b/c.txt?x=/../..", "a/b/c.txt");
    clean("/a//b///c", "a/b/c");
    clean("/a/./b/../c", "a/c");
    clean("/a/b/..", "a/");
    clean("/a/.", "a/");
    clean("/a/", "a/");
    clean("/a/b/../../c", "c");
    clean("/%61%62c", "abc");
    clean("/%2e%2E/x", NULL);     /* ".." encoded, above the root */
    clean("/a/%2e%2e/b", "b");    /* decoded, then resolved inside */
    clean("/..", NULL);
    clean("/../a", NULL);
    clean("/a/../../b", NULL);
    clean("/a%2fb", NULL);        /* an encoded '/' */
    clean("/a%2Fb", NULL);
    clean("/a%00b", NULL);        /* NUL */
    clean("/a%", NULL);
    clean("/a%4", NULL);
    clean("/a%zz", NULL);
    clean("a", NULL);             /* not absolute */
    clean("/...", "...");         /* three dots is a name */
    clean("/.hidden", ".hidden");
    char out[8];
    assert_int_equal(hf_clean_path("/abcdefghij", 11, out, sizeof(out)), -414);
}

static void range(const char *v, uint64_t size, int want, uint64_t first, uint64_t last)
{
    uint64_t a = 99, b = 99;
    int r = hf_range(v, strlen(v), size, &a, &b);
    if (r != want)
        fail_msg("Range '%s' of %llu bytes: %d, expected %d", v, (unsigned long long)size, r, want);
    if (r == 1) {
        assert_int_equal(a, first);
        assert_int_equal(b, last);
    }
}

static void byte_ranges_one_satisfiable_unsatisfiable_or_ignored(void **st)
{
    (void)st;
    range("bytes=0-0", 10, 1, 0, 0);
    range("bytes=0-9", 10, 1, 0, 9);
    range("bytes=5-100", 10, 1, 5, 9);
    range("bytes=5-", 10, 1, 5, 9);
    range("bytes=-3", 10, 1, 7, 9);
    range("bytes=-30", 10, 1, 0, 9);
    range("BYTES=1-2", 10, 1, 1, 2);
    range("bytes=10-", 10, -1, 0, 0);
    range("bytes=10-20", 10, -1, 0, 0);
    range("bytes=-0", 10, -1, 0, 0);
    range("bytes=0-", 0, -1, 0, 0);
    range("bytes=-5", 0, -1, 0, 0);
    range("bytes=3-2", 10, 0, 0, 0);          /* invalid: ignored */
    range("bytes=1-2,4-5", 10, 0, 0, 0);      /* several: the whole */
    range("bytes=", 10, 0, 0, 0);
    range("bytes=-", 10, 0, 0, 0);
    range("bytes=a-b", 10, 0, 0, 0);
    range("bytes= 1-2", 10, 0, 0, 0);
    range("bytes=1-2x", 10, 0, 0, 0);
    range("items=1-2", 10, 0, 0, 0);
    range("bytes=99999999999999999999-", 10, 0, 0, 0); /* overflow */
}

static void entity_tag_lists_match_weakly(void **st)
{
    (void)st;
    const char *e = "\"5f-2\"";
#define M(v) hf_etag_match((v), strlen(v), e)
    assert_true(M("\"5f-2\""));
    assert_true(M("W/\"5f-2\""));
    assert_true(M("\"a\", \"5f-2\""));
    assert_true(M("*"));
    assert_false(M("\"5f-3\""));
    assert_false(M("5f-2"));
    assert_false(M(""));
    assert_false(M("\"a\",\"b\""));
#undef M
}

static void dates_in_the_three_forms(void **st)
{
    (void)st;
    int64_t t = 0;
    char d[30];
    us_http_date(784111777, d);
    assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    us_http_date(0, d);
    assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
#define P(s) us_http_date_parse((s), strlen(s), &t)
    assert_true(P("Sun, 06 Nov 1994 08:49:37 GMT"));
    assert_int_equal(t, 784111777);
    assert_true(P("Sunday, 06-Nov-94 08:49:37 GMT"));
    assert_int_equal(t, 784111777);
    assert_true(P("Sun Nov  6 08:49:37 1994"));
    assert_int_equal(t, 784111777);
    assert_false(P("Sun, 06 Nov 1994 08:49:37"));
    assert_false(P("Sun, 06 Nov 1994 08:49:37 GMT junk"));
    assert_false(P("Sun, 06 Foo 1994 08:49:37 GMT"));
    assert_false(P("Sun, 32 Nov 1994 08:49:37 GMT"));
    assert_false(P("Sun, 06 Nov 1994 25:49:37 GMT"));
    assert_false(P(""));
    assert_false(P("a very long string that is not a date at all, longer than any date form"));
#undef P
}

static void mime_types_by_extension(void **st)
{
    (void)st;
    assert_string_equal(us_http_mime_type("a/index.html"), "text/html; charset=utf-8");
    assert_string_equal(us_http_mime_type("x.CSS"), "text/css; charset=utf-8");
    assert_string_equal(us_http_mime_type("p.png"), "image/png");
    assert_string_equal(us_http_mime_type("f.woff2"), "font/woff2");
    assert_string_equal(us_http_mime_type("noext"), "application/octet-stream");
    assert_string_equal(us_http_mime_type("dir.d/noext"), "application/octet-stream");
    assert_string_equal(us_http_mime_type("x.verylongext"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_are_decoded_then_dot_segments_resolved_inside_the_root),
        cmocka_unit_test(byte_ranges_one_satisfiable_unsatisfiable_or_ignored),
        cmocka_unit_test(entity_tag_lists_match_weakly),
        cmocka_unit_test(dates_in_the_three_forms),
        cmocka_unit_test(mime_types_by_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
