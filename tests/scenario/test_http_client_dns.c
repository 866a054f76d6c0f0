/* The HTTP client with a resolver (us_hc_config.dns) in virtual time: A's
 * client and resolver share one transport; B runs the real file server and
 * the tiny DNS server of tests/unit/test_dns_server.h (each on a transport
 * of its own on B's stack). A name is looked up once and then answered by the
 * cache; a name that does not exist, and a lookup outlasting the request's
 * timeout, end the request with their errors at exact times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include <ustack/dns.h>
#include <ustack/http_client.h>
#include <ustack/http_server.h>
#include "testutil.h"
#include "unit/test_dns_server.h"

#define ONE_WAY US_MS(10)

static const struct ts_rec zone[] = {
    {"www.test", TS_CNAME, 0, "web.test", 300},
    {"web.test", TS_A, TU_IP_B, NULL, 300},
};

struct got {
    int done, error;
    uint16_t status;
    char body[256];
    size_t len;
    char msg[256];
    struct us_hc_timing t;
    us_time_t at;
};

struct fx {
    struct tu_net n;
    struct us_tp *cli, *web_tp, *dns_tp;
    struct us_dns *dns;
    struct us_hc *hc;
    struct us_http_server *web;
    struct ts_server ds;
    char root[256];
};

static void fx_init(struct fx *f, us_time_t req_timeout)
{
    memset(f, 0, sizeof(*f));
    struct tu_opts o = {.seed = 5};
    o.imp_a.tx.delay = o.imp_b.tx.delay = ONE_WAY;
    tu_net_init(&f->n, &o);
    char err[256];
    struct us_driver *d = us_sim_driver(f->n.sim);
    f->cli = us_tp_ustack_new(f->n.a.st, d, err, sizeof(err));
    f->web_tp = us_tp_ustack_new(f->n.b.st, d, err, sizeof(err));
    f->dns_tp = us_tp_ustack_new(f->n.b.st, d, err, sizeof(err));
    assert_non_null(f->cli);
    assert_non_null(f->web_tp);
    assert_non_null(f->dns_tp);
    snprintf(f->root, sizeof(f->root), "%s/hcdns.XXXXXX", tu_tmpdir());
    assert_non_null(mkdtemp(f->root));
    char path[300];
    snprintf(path, sizeof(path), "%s/f.txt", f->root);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("hello from b\n", fp);
    fclose(fp);
    struct us_http_server_config sc;
    us_http_server_config_default(&sc);
    sc.root = f->root;
    f->web = us_http_server_new(f->web_tp, &sc, err, sizeof(err));
    if (!f->web)
        fail_msg("%s", err);
    ts_start(&f->ds, f->dns_tp, TU_IP_B, 53, zone, sizeof(zone) / sizeof(zone[0]));
    f->ds.soa_ttl = 600, f->ds.soa_min = 60;
    struct us_dns_config dc;
    us_dns_config_default(&dc);
    dc.server[0] = (struct us_tp_addr){TU_IP_B, 53};
    dc.nservers = 1;
    f->dns = us_dns_new(f->cli, &dc, err, sizeof(err));
    if (!f->dns)
        fail_msg("%s", err);
    struct us_hc_config hc;
    us_hc_config_default(&hc);
    hc.dns = f->dns;
    hc.timeout = req_timeout;
    f->hc = us_hc_new(f->cli, &hc);
    assert_non_null(f->hc);
}

static void fx_free(struct fx *f)
{
    us_time_t now = us_tp_now(f->cli);
    us_hc_free(f->hc);
    us_dns_free(f->dns, now);
    us_http_server_free(f->web, now);
    us_tp_free(f->cli);
    us_tp_free(f->web_tp);
    us_tp_free(f->dns_tp);
    tu_net_free(&f->n);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
}

static void on_event(const struct us_hc_event *ev)
{
    struct got *g = ev->arg;
    if (ev->kind == US_HC_HEAD)
        g->status = ev->msg->status;
    if (ev->kind == US_HC_DATA && g->len + ev->len < sizeof(g->body)) {
        memcpy(g->body + g->len, ev->data, ev->len);
        g->len += ev->len;
    }
    if (ev->kind == US_HC_DONE) {
        g->done++;
        g->error = ev->error;
        g->at = ev->now;
        g->t = *us_hc_req_timing(ev->req);
        snprintf(g->msg, sizeof(g->msg), "%.*s", (int)ev->len, ev->data);
    }
}

/* Submits n requests for url at once and runs both hosts until they are done. */
static void fetch_n(struct fx *f, const char *url, struct got *g, int n)
{
    char err[256];
    us_time_t now = us_tp_now(f->cli);
    for (int i = 0; i < n; i++) {
        memset(&g[i], 0, sizeof(g[i]));
        assert_int_equal(us_hc_submit(f->hc, &(struct us_hc_request){.url = url, .cb = on_event, .arg = &g[i]}, now,
                                      NULL, err, sizeof(err)),
                         0);
    }
    us_time_t limit = now + US_SEC(60);
    while (us_hc_pending(f->hc) && (now = us_tp_now(f->cli)) < limit) {
        us_time_t d = us_hc_step(f->hc, now);
        us_time_t d2 = us_http_server_step(f->web, now);
        ts_serve(&f->ds, now);
        if (d2 < d)
            d = d2;
        us_tp_wait(f->cli, d < limit ? d : limit);
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(g[i].done, 1);
}

static void fetch(struct fx *f, const char *url, struct got *g) { fetch_n(f, url, g, 1); }

static void requests_for_one_name_at_once_share_one_lookup(void **st)
{
    (void)st;
    struct fx f;
    fx_init(&f, 0);
    struct got g[3];
    fetch_n(&f, "http://www.test/f.txt", g, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].error, 0);
        assert_int_equal(g[i].status, 200);
        assert_int_equal(g[i].t.dns_end, g[0].t.dns_end);   /* answered together */
    }
    assert_false(g[0].t.dns_cached);
    assert_int_equal(g[0].t.dns_queries, 1);
    assert_true(g[1].t.dns_cached && g[2].t.dns_cached);
    assert_int_equal(f.ds.udp_queries, 1);                 /* one query on the wire */
    fx_free(&f);
}

static void a_name_is_looked_up_once_then_answered_from_the_cache(void **st)
{
    (void)st;
    struct fx f;
    fx_init(&f, 0);
    struct got g;
    fetch(&f, "http://www.test/f.txt", &g);
    assert_int_equal(g.error, 0);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.len, 13);
    assert_memory_equal(g.body, "hello from b\n", 13);
    assert_int_equal(g.t.dns_status, US_DNS_OK);
    assert_false(g.t.dns_cached);
    assert_int_equal(g.t.dns_queries, 1);
    assert_int_equal(g.t.dns_start, g.t.queued);
    /* at least the query's round trip (plus address resolution on the way) */
    assert_in_range(g.t.dns_end - g.t.dns_start, 2 * ONE_WAY, 4 * ONE_WAY);
    assert_int_equal(g.t.connect_start, g.t.dns_end);   /* the connection waits for the address */
    assert_int_equal(f.ds.udp_queries, 1);

    fetch(&f, "http://WWW.test/f.txt", &g);
    assert_int_equal(g.error, 0);
    assert_int_equal(g.status, 200);
    assert_true(g.t.dns_cached);
    assert_int_equal(g.t.dns_queries, 0);
    assert_int_equal(g.t.dns_end, g.t.dns_start);       /* no time on the wire */
    assert_true(g.t.reused);                             /* same origin: the kept connection */
    assert_int_equal(f.ds.udp_queries, 1);               /* nothing more asked */
    fx_free(&f);
}

static void a_name_that_does_not_exist_ends_the_request_with_enoent(void **st)
{
    (void)st;
    struct fx f;
    fx_init(&f, 0);
    struct got g;
    fetch(&f, "http://nope.test/f.txt", &g);
    assert_int_equal(g.error, -ENOENT);
    assert_int_equal(g.t.dns_status, US_DNS_NXDOMAIN);
    assert_non_null(strstr(g.msg, "cannot resolve nope.test: "));
    assert_int_equal(g.t.connect_start, 0);             /* no connection tried */
    assert_int_equal(us_hc_connections_opened(f.hc), 0);
    fx_free(&f);
}

static void a_lookup_that_outlasts_the_request_timeout_fails_it_at_that_time(void **st)
{
    (void)st;
    struct fx f;
    fx_init(&f, US_MS(700));
    f.ds.drop = 100;   /* the server never answers */
    struct got g;
    fetch(&f, "http://www.test/f.txt", &g);
    assert_int_equal(g.error, -ETIMEDOUT);
    assert_int_equal(g.at - g.t.queued, US_MS(700));
    assert_non_null(strstr(g.msg, "looking up www.test"));
    assert_int_equal(us_dns_pending(f.dns), 0);          /* the lookup was cancelled with it */
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_name_is_looked_up_once_then_answered_from_the_cache),
        cmocka_unit_test(requests_for_one_name_at_once_share_one_lookup),
        cmocka_unit_test(a_name_that_does_not_exist_ends_the_request_with_enoent),
        cmocka_unit_test(a_lookup_that_outlasts_the_request_timeout_fails_it_at_that_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
