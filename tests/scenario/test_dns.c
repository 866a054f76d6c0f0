/* The DNS resolver in virtual time: the client host (198.18.0.1) resolves
 * through the ustack transport, the tiny server of test_dns_server.h answers
 * on the second host (198.18.0.2), 5 ms each way. What crossed the wire is
 * the server's log of the queries it got, each with its virtual arrival time
 * (a query sent at t arrives at t + 5 ms): cache hits send nothing, a TTL
 * ends at its exact time, retries double their timeout across servers, spoofed
 * answers are ignored, TC=1 goes to TCP, NXDOMAIN is kept for the SOA
 * minimum. Also the transport's datagram checks on the ustack backend. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "testutil.h"
#include "unit/test_dns_server.h"
#include "unit/test_dns_transport.h"

#define ONE_WAY US_MS(5)

static const struct ts_rec zone[] = {
    {"a.test", TS_A, 0xc6120064u, NULL, 300},
    {"www.test", TS_CNAME, 0, "a.test", 100},
    {"warm.test", TS_A, 0xc6120065u, NULL, 1},
};

struct sfx {
    struct tu_net n;
    struct us_tp *cli, *srvtp;
    struct ts_server srv, srv2;
    struct us_dns_config cfg;
    struct us_dns *dns;
    struct ts_got got;
};

/* ARP entries outlive the TTLs of the test: a query after five minutes
 * leaves at once instead of waiting for an ARP round trip. */
static void long_arp(struct us_config *cfg, int host, void *arg)
{
    (void)host, (void)arg;
    cfg->arp_ttl = US_SEC(3600);
}

static void sfx_init(struct sfx *f)
{
    memset(f, 0, sizeof(*f));
    struct tu_opts o = {.seed = 11, .cfg_hook = long_arp};
    o.imp_a.tx.delay = o.imp_b.tx.delay = ONE_WAY;
    tu_net_init(&f->n, &o);
    char err[128];
    struct us_driver *d = us_sim_driver(f->n.sim);
    f->cli = us_tp_ustack_new(f->n.a.st, d, err, sizeof(err));
    f->srvtp = us_tp_ustack_new(f->n.b.st, d, err, sizeof(err));
    if (!f->cli || !f->srvtp)
        fail_msg("%s", err);
    ts_start(&f->srv, f->srvtp, TU_IP_B, 53, zone, sizeof(zone) / sizeof(zone[0]));
    f->srv.soa_ttl = 600, f->srv.soa_min = 30;
    us_dns_config_default(&f->cfg);
    f->cfg.server[0] = (struct us_tp_addr){TU_IP_B, 0}; /* port 0: 53 */
    f->cfg.nservers = 1;
}

static const struct us_dns_result *lookup(struct sfx *f, const char *name)
{
    return ts_lookup(&f->srv, f->cli, f->dns, name, &f->got, US_SEC(60));
}

/* The resolver, and one lookup so that both hosts know each other's MAC
 * (the first datagram waits for ARP); the server's log starts empty. */
static void sfx_dns(struct sfx *f)
{
    char err[128];
    f->dns = us_dns_new(f->cli, &f->cfg, err, sizeof(err));
    if (!f->dns)
        fail_msg("%s", err);
    assert_int_equal(lookup(f, "warm.test")->status, US_DNS_OK);
    f->srv.nlog = f->srv.udp_queries = 0;
    us_dns_flush(f->dns);
    us_sim_run_until(f->n.sim, us_tp_now(f->cli) + US_SEC(1));
}

static void sfx_free(struct sfx *f)
{
    us_dns_free(f->dns, us_tp_now(f->cli));
    us_tp_free(f->cli);
    us_tp_free(f->srvtp);
    tu_net_free(&f->n);
}

static struct us_dns_stats stats(const struct sfx *f)
{
    struct us_dns_stats s;
    us_dns_get_stats(f->dns, &s);
    return s;
}

static void ustack_datagrams_cross_one_per_read_and_name_their_sender(void **st)
{
    (void)st;
    struct sfx f;
    sfx_init(&f);
    struct tp_pair p = {f.srvtp, f.cli, TU_IP_B, US_SEC(30)};
    tp_check_datagram(&p);
    tp_check_random(&p);
    us_tp_free(f.cli);
    us_tp_free(f.srvtp);
    tu_net_free(&f.n);
}

/* One query, answered one round trip later; inside the TTL nothing crosses
 * the wire; at the TTL's end to the nanosecond the next lookup asks again. */
static void lookups_inside_the_ttl_come_from_the_cache_and_its_end_asks_again(void **st)
{
    (void)st;
    struct sfx f;
    sfx_init(&f);
    sfx_dns(&f);
    us_time_t t0 = us_tp_now(f.cli);
    const struct us_dns_result *r = lookup(&f, "a.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->addr[0], 0xc6120064u);
    assert_int_equal(r->ttl, 300);
    assert_int_equal(r->finished, t0 + 2 * ONE_WAY);
    assert_int_equal(f.srv.nlog, 1);
    assert_int_equal(f.srv.log[0].at, t0 + ONE_WAY);
    us_time_t answered = r->finished;
    for (int i = 0; i < 5; i++) {
        us_sim_run_until(f.n.sim, us_tp_now(f.cli) + US_SEC(10));
        r = lookup(&f, "a.test");
        assert_true(r->from_cache);
        assert_int_equal(r->queries, 0);
        assert_int_equal(r->ttl, 300 - 10 * (i + 1));
    }
    us_sim_run_until(f.n.sim, answered + US_SEC(300) - 1);
    r = lookup(&f, "a.test");
    assert_true(r->from_cache);
    assert_int_equal(r->ttl, 0);
    assert_int_equal(f.srv.nlog, 1); /* six lookups, one query */
    us_sim_run_until(f.n.sim, answered + US_SEC(300));
    r = lookup(&f, "a.test");
    assert_false(r->from_cache);
    assert_int_equal(f.srv.nlog, 2);
    assert_int_equal(f.srv.log[1].at, answered + US_SEC(300) + ONE_WAY);
    assert_int_equal(stats(&f).cache_hits, 6);
    sfx_free(&f);
}

/* Server 1 never answers, server 2 loses its first query: the attempts go
 * 1, 2, 1, 2 at 0, 1 s, 3 s, 7 s (the timeout doubling from 1 s), each from
 * its own port with its own ID; the fourth is answered. */
static void a_lost_query_is_retried_after_the_back_off_on_the_next_server(void **st)
{
    (void)st;
    struct sfx f;
    sfx_init(&f);
    ts_start(&f.srv2, f.srvtp, TU_IP_B, 54, zone, sizeof(zone) / sizeof(zone[0]));
    f.srv.also = &f.srv2;
    f.cfg.server[1] = (struct us_tp_addr){TU_IP_B, 54};
    f.cfg.nservers = 2;
    sfx_dns(&f);
    f.srv.drop = 100;
    f.srv2.drop = 1;
    f.srv2.nlog = 0;
    us_time_t t0 = us_tp_now(f.cli);
    const struct us_dns_result *r = lookup(&f, "a.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->queries, 4);
    assert_int_equal(r->server.port, 54);
    assert_int_equal(r->finished, t0 + US_SEC(7) + 2 * ONE_WAY);
    assert_int_equal(f.srv.nlog, 2);
    assert_int_equal(f.srv2.nlog, 2);
    assert_int_equal(f.srv.log[0].at, t0 + ONE_WAY);
    assert_int_equal(f.srv2.log[0].at, t0 + US_SEC(1) + ONE_WAY);
    assert_int_equal(f.srv.log[1].at, t0 + US_SEC(3) + ONE_WAY);
    assert_int_equal(f.srv2.log[1].at, t0 + US_SEC(7) + ONE_WAY);
    const struct ts_query *q[4] = {&f.srv.log[0], &f.srv2.log[0], &f.srv.log[1], &f.srv2.log[1]};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) {
            assert_int_not_equal(q[i]->id, q[j]->id);
            assert_int_not_equal(q[i]->port, q[j]->port);
        }
    assert_int_equal(stats(&f).timeouts, 3);
    /* nobody answering: the fourth attempt's 8 s end the lookup at 15 s */
    f.srv2.drop = 100;
    t0 = us_tp_now(f.cli);
    r = lookup(&f, "www.test");
    assert_int_equal(r->status, US_DNS_TIMEOUT);
    assert_int_equal(r->finished, t0 + US_SEC(1 + 2 + 4 + 8));
    assert_int_equal(r->queries, 4);
    assert_int_equal(stats(&f).timeouts, 7);
    sfx_free(&f);
}

/* SERVFAIL from the first server sends the query to the second at once,
 * not after a timeout: two round trips in all. The answer is cached, the
 * SERVFAIL is not: with the second server gone silent, the name still
 * resolves from the cache, and another name fails with SERVFAIL. */
static void servfail_asks_the_next_server_at_once(void **st)
{
    (void)st;
    struct sfx f;
    sfx_init(&f);
    ts_start(&f.srv2, f.srvtp, TU_IP_B, 54, zone, sizeof(zone) / sizeof(zone[0]));
    f.srv.also = &f.srv2;
    f.cfg.server[1] = (struct us_tp_addr){TU_IP_B, 54};
    f.cfg.nservers = 2;
    f.cfg.attempts = 2;
    sfx_dns(&f);
    f.srv.rcode = DNS_R_SERVFAIL;
    us_time_t t0 = us_tp_now(f.cli);
    const struct us_dns_result *r = lookup(&f, "a.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->server.port, 54);
    assert_int_equal(f.srv.log[0].at, t0 + ONE_WAY);
    assert_int_equal(f.srv2.log[0].at, t0 + 3 * ONE_WAY);
    assert_int_equal(r->finished, t0 + 4 * ONE_WAY);
    f.srv2.rcode = DNS_R_REFUSED;
    assert_true(lookup(&f, "a.test")->from_cache);
    t0 = us_tp_now(f.cli);
    r = lookup(&f, "www.test");
    assert_int_equal(r->status, US_DNS_SERVFAIL);
    assert_int_equal(r->finished, t0 + 4 * ONE_WAY);
    assert_false(lookup(&f, "www.test")->from_cache);
    assert_int_equal(stats(&f).servfail, 5);
    sfx_free(&f);
}

/* Before the answer, the server sends one with the wrong ID, one for another
 * question, and the right one from another port: all three are dropped
 * (counted), the real answer is taken at the same instant. */
static void spoofed_answers_with_the_wrong_id_port_or_question_are_ignored(void **st)
{
    (void)st;
    struct sfx f;
    sfx_init(&f);
    sfx_dns(&f);
    f.srv.spoof = true;
    us_time_t t0 = us_tp_now(f.cli);
    const struct us_dns_result *r = lookup(&f, "a.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_int_equal(r->naddr, 1);
    assert_int_equal(r->addr[0], 0xc6120064u);
    assert_int_equal(r->finished, t0 + 2 * ONE_WAY);
    assert_int_equal(stats(&f).mismatched, 3);
    /* the spoofer's 10.10.10.10 is nowhere in the cache */
    f.srv.spoof = false;
    r = lookup(&f, "a.test");
    assert_true(r->from_cache);
    assert_int_equal(r->addr[0], 0xc6120064u);
    assert_int_equal(r->naddr, 1);
    sfx_free(&f);
}

/* TC=1 after one round trip; then a TCP connection to the same server (one
 * round trip for the handshake) and the length-prefixed query and answer
 * (one more): the lookup ends three round trips after it started. */
static void a_truncated_answer_is_asked_again_over_tcp(void **st)
{
    (void)st;
    struct sfx f;
    sfx_init(&f);
    sfx_dns(&f);
    f.srv.truncate = true;
    us_time_t t0 = us_tp_now(f.cli);
    const struct us_dns_result *r = lookup(&f, "www.test");
    assert_int_equal(r->status, US_DNS_OK);
    assert_true(r->via_tcp);
    assert_int_equal(r->cnames, 1);
    assert_int_equal(r->addr[0], 0xc6120064u);
    assert_int_equal(f.srv.udp_queries, 1);
    assert_int_equal(f.srv.tcp_queries, 1);
    assert_int_equal(f.srv.log[0].at, t0 + ONE_WAY);
    assert_false(f.srv.log[0].tcp);
    assert_true(f.srv.log[1].tcp);
    assert_int_equal(f.srv.log[1].at, t0 + 5 * ONE_WAY);
    assert_int_equal(r->finished, t0 + 6 * ONE_WAY);
    assert_int_equal(stats(&f).truncated, 1);
    sfx_free(&f);
}

/* NXDOMAIN with an SOA (TTL 600, minimum 30): kept 30 s (RFC 2308 5), asked
 * again at the exact end. */
static void nxdomain_is_cached_for_the_soa_minimum(void **st)
{
    (void)st;
    struct sfx f;
    sfx_init(&f);
    sfx_dns(&f);
    us_time_t t0 = us_tp_now(f.cli);
    const struct us_dns_result *r = lookup(&f, "nope.test");
    assert_int_equal(r->status, US_DNS_NXDOMAIN);
    assert_int_equal(r->ttl, 30);
    us_time_t answered = r->finished;
    assert_int_equal(answered, t0 + 2 * ONE_WAY);
    us_sim_run_until(f.n.sim, answered + US_SEC(30) - 1);
    r = lookup(&f, "nope.test");
    assert_int_equal(r->status, US_DNS_NXDOMAIN);
    assert_true(r->from_cache);
    assert_int_equal(f.srv.nlog, 1);
    us_sim_run_until(f.n.sim, answered + US_SEC(30));
    r = lookup(&f, "nope.test");
    assert_int_equal(r->status, US_DNS_NXDOMAIN);
    assert_false(r->from_cache);
    assert_int_equal(f.srv.nlog, 2);
    assert_int_equal(f.srv.log[1].at, answered + US_SEC(30) + ONE_WAY);
    sfx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ustack_datagrams_cross_one_per_read_and_name_their_sender),
        cmocka_unit_test(lookups_inside_the_ttl_come_from_the_cache_and_its_end_asks_again),
        cmocka_unit_test(a_lost_query_is_retried_after_the_back_off_on_the_next_server),
        cmocka_unit_test(servfail_asks_the_next_server_at_once),
        cmocka_unit_test(spoofed_answers_with_the_wrong_id_port_or_question_are_ignored),
        cmocka_unit_test(a_truncated_answer_is_asked_again_over_tcp),
        cmocka_unit_test(nxdomain_is_cached_for_the_soa_minimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
