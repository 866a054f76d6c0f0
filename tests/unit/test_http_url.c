/* http URLs (src/http/http_url.c): what is accepted and how it is split,
 * what is refused and why, a redirect's Location resolved (RFC 3986 5.4
 * examples for http), and the numeric host. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <ustack/http_client.h>

static void accepted_urls_split_into_host_port_and_path(void **st)
{
    (void)st;
    static const struct { const char *in, *host; uint16_t port; const char *path; } ok[] = {
        {"http://198.18.0.1/", "198.18.0.1", 80, "/"},
        {"http://198.18.0.1", "198.18.0.1", 80, "/"},
        {"HTTP://Example.COM:8080/a/b?x=1&y=%20#frag", "example.com", 8080, "/a/b?x=1&y=%20"},
        {"http://10.0.0.1:/p", "10.0.0.1", 80, "/p"},
        {"http://h?q", "h", 80, "/?q"},
        {"198.18.0.1:81/x", "198.18.0.1", 81, "/x"},
        {"198.18.0.1/x", "198.18.0.1", 80, "/x"},
        {"http://h:65535/~u/a.b-c_d!$&'()*+,;=:@", "h", 65535, "/~u/a.b-c_d!$&'()*+,;=:@"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct us_url u;
        char err[128] = "";
        int rc = us_url_parse(ok[i].in, &u, err, sizeof(err));
        if (rc)
            fail_msg("%s: %s", ok[i].in, err);
        assert_string_equal(u.host, ok[i].host);
        assert_int_equal(u.port, ok[i].port);
        assert_string_equal(u.path, ok[i].path);
        us_url_free(&u);
    }
}

static void refused_urls_say_why(void **st)
{
    (void)st;
    static const struct { const char *in; int rc; const char *why; } bad[] = {
        {"https://198.18.0.1/", -EPROTONOSUPPORT, "https is not supported"},
        {"HTTPS://x/", -EPROTONOSUPPORT, "https is not supported"},
        {"ftp://x/", -EPROTONOSUPPORT, "scheme 'ftp'"},
        {"mailto:x@y", -EPROTONOSUPPORT, "scheme 'mailto'"},
        {"", -EINVAL, "empty URL"},
        {"http://", -EINVAL, "no host"},
        {"http:///path", -EINVAL, "no host"},
        {"http://:80/", -EINVAL, "no host"},
        {"http://user:pw@h/", -EINVAL, "user names"},
        {"http://[::1]/", -EINVAL, "IPv6"},
        {"http://h:0/", -EINVAL, "invalid port 0"},
        {"http://h:65536/", -EINVAL, "invalid port"},
        {"http://h:8x/", -EINVAL, "invalid port"},
        {"http://h:-1/", -EINVAL, "invalid port"},
        {"http://h o/", -EINVAL, "invalid character"},
        {"http://h/a b", -EINVAL, "invalid character 0x20"},
        {"http://h/a\r\nX: y", -EINVAL, "invalid character 0x0d"},
        {"http://h/\x80", -EINVAL, "invalid character 0x80"},
        {"http://h/a\"b", -EINVAL, "invalid character 0x22"},
        {"not a url", -EINVAL, "invalid character"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct us_url u;
        char err[128] = "";
        int rc = us_url_parse(bad[i].in, &u, err, sizeof(err));
        if (rc != bad[i].rc || !strstr(err, bad[i].why))
            fail_msg("'%s': %d '%s', expected %d '%s'", bad[i].in, rc, err, bad[i].rc, bad[i].why);
    }
    /* a host name longer than 255 bytes */
    char longhost[300] = "http://";
    memset(longhost + 7, 'a', 260);
    struct us_url u;
    char err[128];
    assert_int_equal(us_url_parse(longhost, &u, err, sizeof(err)), -EINVAL);
}

/* RFC 3986 5.4.1 and 5.4.2, base http://a/b/c/d;p?q (the http ones) */
static void location_is_resolved_against_the_request_url(void **st)
{
    (void)st;
    static const struct { const char *ref, *want; } ex[] = {
        {"g", "http://a/b/c/g"},         {"./g", "http://a/b/c/g"},     {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},            {"//g", "http://g/"},          {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},     {"#s", "http://a/b/c/d;p?q"},  {"g#s", "http://a/b/c/g"},
        {";x", "http://a/b/c/;x"},       {"", "http://a/b/c/d;p?q"},    {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},         {"..", "http://a/b/"},         {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},        {"../..", "http://a/"},        {"../../", "http://a/"},
        {"../../g", "http://a/g"},       {"../../../g", "http://a/g"},  {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},          {"/../g", "http://a/g"},       {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},       {"g..", "http://a/b/c/g.."},   {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},      {"./g/.", "http://a/b/c/g/"},  {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"}, {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"http://198.18.0.9:81/z", "http://198.18.0.9:81/z"},
    };
    struct us_url base;
    char err[128];
    assert_int_equal(us_url_parse("http://a/b/c/d;p?q", &base, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        struct us_url u;
        int rc = us_url_resolve(&base, ex[i].ref, strlen(ex[i].ref), &u, err, sizeof(err));
        if (rc)
            fail_msg("'%s': %s", ex[i].ref, err);
        char s[256];
        us_url_str(&u, s, sizeof(s));
        if (strcmp(s, ex[i].want))
            fail_msg("'%s' resolved to %s, expected %s", ex[i].ref, s, ex[i].want);
        us_url_free(&u);
    }
    struct us_url u;
    assert_int_equal(us_url_resolve(&base, "https://x/", 10, &u, err, sizeof(err)), -EPROTONOSUPPORT);
    assert_int_equal(us_url_resolve(&base, "/a b", 4, &u, err, sizeof(err)), -EINVAL);
    us_url_free(&base);
}

static void only_numeric_hosts_resolve_until_dns(void **st)
{
    (void)st;
    struct us_url u;
    char err[160];
    us_ip4_t ip = 0;
    assert_int_equal(us_url_parse("http://198.18.0.1/", &u, err, sizeof(err)), 0);
    assert_int_equal(us_url_host_ip(&u, &ip, err, sizeof(err)), 0);
    assert_int_equal(ip, 0xC6120001u);
    us_url_free(&u);
    static const char *const names[] = {"http://example.com/", "http://1.2.3/", "http://1.2.3.4.5/",
                                        "http://256.1.1.1/", "http://1.2.3.4x/", "http://01234.1.1.1/"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(us_url_parse(names[i], &u, err, sizeof(err)), 0);
        if (us_url_host_ip(&u, &ip, err, sizeof(err)) != -ENOENT)
            fail_msg("%s resolved", names[i]);
        assert_non_null(strstr(err, "cannot resolve"));
        us_url_free(&u);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_urls_split_into_host_port_and_path),
        cmocka_unit_test(refused_urls_say_why),
        cmocka_unit_test(location_is_resolved_against_the_request_url),
        cmocka_unit_test(only_numeric_hosts_resolve_until_dns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
