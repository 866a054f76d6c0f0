/* The DNS resolver (src/dns/dns.c) on the kernel transport over loopback,
 * against the tiny server of test_dns_server.h on an ephemeral port: cache,
 * CNAME chains, negative answers, spoofed answers, TCP fallback, server
 * failover, the hosts file. What needs exact times runs in virtual time in
 * tests/scenario/test_dns.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "test_dns_server.h"
#include "test_dns_transport.h"

#define LOOPBACK 0x7f000001u

static const struct ts_rec zone[] = {
    {"a.test", TS_A, 0xc6120064u, NULL, 300},
    {"two.test", TS_A, 0xc6120001u, NULL, 120},
    {"two.test", TS_A, 0xc6120002u, NULL, 60},
    {"www.test", TS_CNAME, 0, "web.test", 100},
    {"web.test", TS_CNAME, 0, "a.test", 200},
    {"empty.test", TS_EMPTY, 0, NULL, 0},
    {"loop1.test", TS_CNAME, 0, "loop2.test", 60},
    {"loop2.test", TS_CNAME, 0, "loop1.test", 60},
};

struct fx {
    struct us_tp *tp;
    struct ts_server srv, srv2;
    struct us_dns *dns;
    struct us_dns_config cfg;
    struct ts_got got;
};

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    char err[128];
    f->tp = us_tp_kernel_new(err, sizeof(err));
    if (!f->tp)
        fail_msg("%s", err);
    ts_start(&f->srv, f->tp, LOOPBACK, 0, zone, sizeof(zone) / sizeof(zone[0]));
    f->srv.soa_ttl = 600, f->srv.soa_min = 30;
    us_dns_config_default(&f->cfg);
    f->cfg.server[0] = f->srv.addr;
    f->cfg.nservers = 1;
}

static void fx_dns(struct fx *f)
{
    char err[256];
    f->dns = us_dns_new(f->tp, &f->cfg, err, sizeof(err));
    if (!f->dns)
        fail_msg("%s", err);
}

static void fx_free(struct fx *f)
{
    us_dns_free(f->dns, us_tp_now(f->tp));
    us_tp_free(f->tp);
}

static const struct us_dns_result *lookup(struct fx *f, const char *name)
{
    return ts_lookup(&f->srv, f->tp, f->dns, name, &f->got, US_SEC(10));
}

static struct us_dns_stats stats(const struct fx *f)
{
    struct us_dns_stats s;
    us_dns_get_stats(f->dns, &s);
    return s;
}

static void a_second_lookup_inside_the_ttl_comes_from_the_cache(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    fx_dns(&f);
    const struct us_dns_result *r = lookup(&f, "two.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->naddr, 2);
    assert_int_equal(r->addr[0], 0xc6120001u);
    assert_int_equal(r->addr[1], 0xc6120002u);
    assert_int_equal(r->ttl, 60); /* the smaller of the two */
    assert_false(r->from_cache);
    assert_int_equal(r->queries, 1);
    r = lookup(&f, "TWO.test.");
    assert_int_equal(r->status, US_DNS_OK);
    assert_true(r->from_cache);
    assert_int_equal(r->naddr, 2);
    assert_true(r->ttl <= 60 && r->ttl >= 50);
    assert_int_equal(r->queries, 0);
    assert_int_equal(f.srv.udp_queries, 1);
    struct us_dns_stats st = stats(&f);
    assert_int_equal(st.queries_sent, 1);
    assert_int_equal(st.answers, 1);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.mismatched, 0);
    fx_free(&f);
}

static void a_cname_chain_is_followed_and_bounded(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    fx_dns(&f);
    const struct us_dns_result *r = lookup(&f, "www.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->naddr, 1);
    assert_int_equal(r->addr[0], 0xc6120064u);
    assert_string_equal(r->canon, "a.test");
    assert_int_equal(r->cnames, 2);
    assert_int_equal(r->ttl, 100); /* the smallest along the chain */
    assert_int_equal(f.srv.udp_queries, 1);
    /* a server that gives one link per answer: a query per link */
    us_dns_flush(f.dns);
    f.srv.one_link = true;
    r = lookup(&f, "www.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->cnames, 2);
    assert_int_equal(r->queries, 3);
    assert_string_equal(f.srv.log[1].name, "www.test");
    assert_string_equal(f.srv.log[2].name, "web.test");
    assert_string_equal(f.srv.log[3].name, "a.test");
    /* a loop ends at max_cname links, not cached */
    f.srv.one_link = false;
    r = lookup(&f, "loop1.test");
    assert_int_equal(r->status, US_DNS_LOOP);
    uint32_t q = f.srv.udp_queries;
    r = lookup(&f, "loop1.test");
    assert_int_equal(r->status, US_DNS_LOOP);
    assert_int_equal(f.srv.udp_queries, q + 1);
    fx_free(&f);
}

static void nxdomain_and_nodata_are_cached_by_the_soa_minimum(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    fx_dns(&f);
    const struct us_dns_result *r = lookup(&f, "nope.test");
    assert_int_equal(r->status, US_DNS_NXDOMAIN);
    assert_int_equal(r->ttl, 30); /* min(SOA TTL 600, minimum 30) */
    r = lookup(&f, "nope.test");
    assert_int_equal(r->status, US_DNS_NXDOMAIN);
    assert_true(r->from_cache);
    r = lookup(&f, "empty.test");
    assert_int_equal(r->status, US_DNS_NODATA);
    assert_int_equal(r->naddr, 0);
    r = lookup(&f, "empty.test");
    assert_true(r->from_cache);
    assert_int_equal(f.srv.udp_queries, 2);
    /* without an SOA a negative answer is not cached (RFC 2308 5) */
    f.srv.soa_min = 0;
    r = lookup(&f, "gone.test");
    assert_int_equal(r->status, US_DNS_NXDOMAIN);
    r = lookup(&f, "gone.test");
    assert_false(r->from_cache);
    assert_int_equal(f.srv.udp_queries, 4);
    fx_free(&f);
}

static void spoofed_answers_are_counted_and_dropped(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    fx_dns(&f);
    f.srv.spoof = true;
    /* the right answer also from 127.0.0.2, from the server's port */
    struct us_tp_addr alien = {LOOPBACK + 1, f.srv.addr.port};
    f.srv.alien_fd = us_tp_udp_open(f.tp, &alien, us_tp_now(f.tp));
    assert_true(f.srv.alien_fd > 0);
    const struct us_dns_result *r = lookup(&f, "a.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->naddr, 1);
    assert_int_equal(r->addr[0], 0xc6120064u); /* not the spoofer's 10.10.10.10 */
    assert_int_equal(r->server.ip, LOOPBACK);
    struct us_dns_stats st = stats(&f);
    assert_int_equal(st.mismatched, 4);
    assert_int_equal(st.answers, 1);
    fx_free(&f);
}

static void a_truncated_answer_is_asked_again_over_tcp_and_not_cached(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    fx_dns(&f);
    f.srv.truncate = true;
    const struct us_dns_result *r = lookup(&f, "two.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->naddr, 2);
    assert_true(r->via_tcp);
    assert_int_equal(f.srv.udp_queries, 1);
    assert_int_equal(f.srv.tcp_queries, 1);
    assert_true(f.srv.log[1].tcp);
    struct us_dns_stats st = stats(&f);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.tcp_queries, 1);
    /* the TCP answer is whole: cached */
    r = lookup(&f, "two.test");
    assert_true(r->from_cache);
    /* no TCP: every attempt ends truncated, and nothing is cached */
    us_tp_close(f.tp, f.srv.lfd, us_tp_now(f.tp));
    f.cfg.attempts = 2;
    us_dns_free(f.dns, us_tp_now(f.tp));
    fx_dns(&f);
    r = lookup(&f, "a.test");
    assert_int_not_equal(r->status, US_DNS_OK);
    assert_int_equal(r->naddr, 0);
    assert_int_equal(f.srv.udp_queries, 3);
    r = lookup(&f, "a.test");
    assert_false(r->from_cache);
    assert_int_equal(f.srv.udp_queries, 5);
    fx_free(&f);
}

static void servfail_moves_to_the_next_server_and_is_never_cached(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    ts_start(&f.srv2, f.tp, LOOPBACK, 0, zone, sizeof(zone) / sizeof(zone[0]));
    f.cfg.server[1] = f.srv2.addr;
    f.cfg.nservers = 2;
    fx_dns(&f);
    f.srv.rcode = DNS_R_SERVFAIL;
    f.srv.also = &f.srv2;
    lookup(&f, "a.test");
    assert_int_equal(f.got.done, 1);
    assert_int_equal(f.got.res.status, US_DNS_OK);
    assert_int_equal(f.got.res.queries, 2);
    assert_int_equal(f.srv.udp_queries, 1);
    assert_int_equal(f.srv2.udp_queries, 1);
    assert_int_equal(stats(&f).servfail, 1);
    /* every server failing: SERVFAIL, after the attempts, not cached */
    f.srv.also = NULL;
    us_dns_free(f.dns, us_tp_now(f.tp));
    f.cfg.nservers = 1;
    f.cfg.attempts = 2;
    fx_dns(&f);
    const struct us_dns_result *r = lookup(&f, "a.test");
    assert_int_equal(r->status, US_DNS_SERVFAIL);
    assert_int_equal(r->queries, 2);
    r = lookup(&f, "a.test");
    assert_false(r->from_cache);
    assert_int_equal(f.srv.udp_queries, 5);
    fx_free(&f);
}

static void no_answer_ends_in_a_timeout_after_every_attempt(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    f.cfg.timeout = US_MS(20);
    f.cfg.attempts = 3;
    fx_dns(&f);
    f.srv.drop = 100;
    const struct us_dns_result *r = lookup(&f, "a.test");
    assert_int_equal(r->status, US_DNS_TIMEOUT);
    assert_int_equal(r->queries, 3);
    /* 20 + 40 + 80 ms of waiting */
    assert_true(r->finished - r->started >= US_MS(140));
    assert_int_equal(stats(&f).timeouts, 3);
    /* each query from its own random port, with its own ID */
    assert_int_equal(f.srv.nlog, 3);
    assert_true(f.srv.log[0].port != f.srv.log[1].port || f.srv.log[1].port != f.srv.log[2].port);
    assert_true(f.srv.log[0].id != f.srv.log[1].id || f.srv.log[1].id != f.srv.log[2].id);
    for (int i = 0; i < 3; i++)
        assert_true(f.srv.log[i].port >= 49152);
    fx_free(&f);
}

static void the_hosts_file_addresses_and_bad_names_answer_at_once(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    char path[] = "/tmp/ustack-dns-hosts-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char hosts[] = "# comment\n127.0.0.1 localhost\n198.18.0.9\tfile.test alias.test # x\n"
                                "::1 ip6.test\n198.18.0.10 file.test\n";
    assert_int_equal(write(fd, hosts, sizeof(hosts) - 1), (ssize_t)(sizeof(hosts) - 1));
    close(fd);
    f.cfg.hosts = path;
    fx_dns(&f);
    unlink(path);
    f.got.done = 0;
    /* answered before us_dns_lookup returns */
    assert_int_equal(us_dns_lookup(f.dns, "ALIAS.test", ts_on_done, &f.got, us_tp_now(f.tp)), 0);
    assert_int_equal(f.got.done, 1);
    assert_int_equal(f.got.res.status, US_DNS_OK);
    assert_true(f.got.res.from_hosts);
    assert_int_equal(f.got.res.addr[0], 0xc6120009u);
    assert_int_equal(us_dns_lookup(f.dns, "file.test", ts_on_done, &f.got, us_tp_now(f.tp)), 0);
    assert_int_equal(f.got.res.naddr, 2);
    assert_int_equal(f.got.res.addr[1], 0xc612000au);
    assert_int_equal(us_dns_lookup(f.dns, "198.18.0.77", ts_on_done, &f.got, us_tp_now(f.tp)), 0);
    assert_int_equal(f.got.res.status, US_DNS_OK);
    assert_int_equal(f.got.res.addr[0], 0xc612004du);
    assert_int_equal(us_dns_lookup(f.dns, "bad..name", ts_on_done, &f.got, us_tp_now(f.tp)), 0);
    assert_int_equal(f.got.res.status, US_DNS_BADNAME);
    assert_int_equal(f.got.done, 4);
    assert_int_equal(f.srv.udp_queries, 0);
    assert_int_equal(stats(&f).hosts_hits, 2);
    /* a missing hosts file is an error naming it */
    us_dns_free(f.dns, us_tp_now(f.tp));
    char err[256];
    f.cfg.hosts = "/nonexistent/hosts";
    assert_null(us_dns_new(f.tp, &f.cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/hosts"));
    f.cfg.hosts = NULL;
    f.cfg.nservers = 0;
    fx_dns(&f);
    assert_int_equal(us_dns_lookup(f.dns, "a.test", ts_on_done, &f.got, us_tp_now(f.tp)), 0);
    assert_int_equal(f.got.res.status, US_DNS_NOSERVER);
    fx_free(&f);
}

static void the_cache_keeps_at_most_cache_max_entries(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    f.cfg.cache_max = 2;
    fx_dns(&f);
    lookup(&f, "two.test"); /* ttl 60: expires first */
    lookup(&f, "a.test");   /* ttl 300 */
    lookup(&f, "www.test"); /* ttl 100: two.test gives way */
    assert_int_equal(stats(&f).evictions, 1);
    assert_true(lookup(&f, "a.test")->from_cache);
    assert_true(lookup(&f, "www.test")->from_cache);
    assert_false(lookup(&f, "two.test")->from_cache);
    fx_free(&f);
}

static void resolve_runs_one_lookup_to_its_end(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    fx_dns(&f);
    /* us_dns_resolve runs the loop itself (the server of this test would
     * not be served): a literal. us_dns_cancel ends a lookup unanswered. */
    struct us_dns_result r;
    assert_int_equal(us_dns_resolve(f.dns, "198.18.0.5", &r), 0);
    assert_int_equal(r.status, US_DNS_OK);
    assert_int_equal(r.addr[0], 0xc6120005u);
    f.got.done = 0;
    assert_int_equal(us_dns_lookup(f.dns, "a.test", ts_on_done, &f.got, us_tp_now(f.tp)), 0);
    assert_int_equal(us_dns_pending(f.dns), 1);
    us_dns_cancel(f.dns, &f.got, us_tp_now(f.tp));
    assert_int_equal(us_dns_pending(f.dns), 0);
    assert_int_equal(f.got.done, 0);
    fx_free(&f);
}

/* The transport's datagrams and random source, checked on the kernel
 * backend here and on ustack's in tests/scenario/test_dns.c. */
static void kernel_datagrams_cross_one_per_read_and_name_their_sender(void **s)
{
    (void)s;
    struct fx f;
    fx_init(&f);
    struct tp_pair p = {f.tp, f.tp, LOOPBACK, US_SEC(10)};
    tp_check_datagram(&p);
    tp_check_random(&p);
    us_tp_free(f.tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernel_datagrams_cross_one_per_read_and_name_their_sender),
        cmocka_unit_test(a_second_lookup_inside_the_ttl_comes_from_the_cache),
        cmocka_unit_test(a_cname_chain_is_followed_and_bounded),
        cmocka_unit_test(nxdomain_and_nodata_are_cached_by_the_soa_minimum),
        cmocka_unit_test(spoofed_answers_are_counted_and_dropped),
        cmocka_unit_test(a_truncated_answer_is_asked_again_over_tcp_and_not_cached),
        cmocka_unit_test(servfail_moves_to_the_next_server_and_is_never_cached),
        cmocka_unit_test(no_answer_ends_in_a_timeout_after_every_attempt),
        cmocka_unit_test(the_hosts_file_addresses_and_bad_names_answer_at_once),
        cmocka_unit_test(the_cache_keeps_at_most_cache_max_entries),
        cmocka_unit_test(resolve_runs_one_lookup_to_its_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
