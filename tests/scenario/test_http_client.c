/* The HTTP client (http_client.h) between two simulated hosts in virtual
 * time: the client on A (198.18.0.1), a scripted server written with the raw
 * transport on B (198.18.0.2:80) that answers each request head with the
 * next canned response. The wire tap (test_tcp_helpers.h) shows what
 * crossed: handshakes, the segments carrying requests. */
#include "scenario/test_tcp_helpers.h"
#include <ustack/http_client.h>
#include <ustack/http_server.h>
#include <ustack/transport.h>

#define ONE_WAY US_MS(5)

struct sresp { const char *text; bool close; }; /* close: the server closes after writing it */

struct sconn { int fd; char buf[8192]; size_t len; int served; bool open; };

struct srv {
    struct us_tp *tp;
    int lfd;
    struct sconn c[32];
    int nc;
    const struct sresp *resp;
    size_t nresp, next;
    bool mute;                 /* read requests, answer none */
    char req[32][512];         /* request heads in arrival order */
    size_t nreq;
};

struct got {                   /* what one request's events said */
    char body[200000];
    size_t len;
    int done, error, retries, redirects, info, heads;
    uint16_t status;
    us_time_t done_at;
    struct us_hc_timing t;
    char msg[256];
    char sent[2048];           /* the request heads it queued, concatenated */
    size_t sent_len;
};

struct fix {
    struct tu_net n;
    struct trace tr;
    struct us_tp *cli;
    struct us_hc *hc;
    struct srv s;
    struct us_http_server *hs;  /* the real server on B instead of the script (then s.tp is its transport) */
    char root[256];
};

static void fix_init(struct fix *f, const struct us_hc_config *cfg, const struct sresp *resp, size_t nresp)
{
    struct tu_opts o = {.seed = 3};
    o.imp_a.tx.delay = o.imp_b.tx.delay = ONE_WAY;
    f->hs = NULL;
    tt_net(&f->n, &f->tr, &o);
    char err[128];
    struct us_driver *d = us_sim_driver(f->n.sim);
    f->cli = us_tp_ustack_new(f->n.a.st, d, err, sizeof(err));
    memset(&f->s, 0, sizeof(f->s));
    f->s.tp = us_tp_ustack_new(f->n.b.st, d, err, sizeof(err));
    assert_non_null(f->cli);
    assert_non_null(f->s.tp);
    struct us_tp_addr any = {0, 80};
    f->s.lfd = us_tp_listen(f->s.tp, &any, 64, tt_now(&f->n));
    assert_true(f->s.lfd >= 0);
    assert_int_equal(us_tp_watch(f->s.tp, f->s.lfd, US_TP_READ, NULL), 0);
    f->s.resp = resp;
    f->s.nresp = nresp;
    f->hc = us_hc_new(f->cli, cfg);
    assert_non_null(f->hc);
}

static void fix_free(struct fix *f)
{
    if (f->hs) {
        us_http_server_free(f->hs, tt_now(&f->n));
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        assert_int_equal(system(cmd), 0);
    }
    us_hc_free(f->hc);
    us_tp_free(f->cli);
    us_tp_free(f->s.tp);
    tt_free(&f->n, &f->tr);
}

static void srv_close(struct srv *s, struct sconn *k, us_time_t now)
{
    if (k->open)
        us_tp_close(s->tp, k->fd, now);
    k->open = false;
}

static void srv_answer(struct srv *s, struct sconn *k, us_time_t now)
{
    char *end;
    while (k->open && (end = memmem(k->buf, k->len, "\r\n\r\n", 4))) {
        size_t hl = (size_t)(end + 4 - k->buf);
        assert_true(s->nreq < 32);
        snprintf(s->req[s->nreq++], 512, "%.*s", (int)hl, k->buf);
        memmove(k->buf, k->buf + hl, k->len - hl);
        k->len -= hl;
        if (s->mute)
            continue;
        assert_true(s->next < s->nresp);
        const struct sresp *r = &s->resp[s->next++];
        size_t n = strlen(r->text);
        assert_int_equal(us_tp_write(s->tp, k->fd, r->text, n, now), (ssize_t)n);
        k->served++;
        if (r->close)
            srv_close(s, k, now);
    }
}

static void srv_step(struct srv *s, us_time_t now)
{
    int fd;
    while ((fd = us_tp_accept(s->tp, s->lfd, NULL, now)) >= 0) {
        assert_true(s->nc < 32);
        struct sconn *k = &s->c[s->nc++];
        k->fd = fd;
        k->open = true;
        assert_int_equal(us_tp_watch(s->tp, fd, US_TP_READ, k), 0);
    }
    struct us_tp_event ev[32];
    int n = us_tp_poll(s->tp, ev, 32, now);
    for (int i = 0; i < n; i++) {
        struct sconn *k = ev[i].ctx;
        if (!k || !k->open)
            continue;
        ssize_t r = us_tp_read(s->tp, k->fd, k->buf + k->len, sizeof(k->buf) - k->len, now);
        if (r == -EAGAIN)
            continue;
        if (r <= 0) {
            srv_close(s, k, now);
            continue;
        }
        k->len += (size_t)r;
        srv_answer(s, k, now);
    }
}

static void on_ev(const struct us_hc_event *ev)
{
    struct got *g = ev->arg;
    switch (ev->kind) {
    case US_HC_REQUEST:
        assert_true(g->sent_len + ev->len <= sizeof(g->sent));
        memcpy(g->sent + g->sent_len, ev->data, ev->len);
        g->sent_len += ev->len;
        break;
    case US_HC_INFO: g->info++; break;
    case US_HC_HEAD: g->heads++; g->status = ev->msg->status; break;
    case US_HC_DATA:
        assert_true(g->len + ev->len <= sizeof(g->body));
        memcpy(g->body + g->len, ev->data, ev->len);
        g->len += ev->len;
        break;
    case US_HC_RETRY: g->retries++; break;
    case US_HC_REDIRECT: g->redirects++; break;
    case US_HC_DONE:
        g->done++;
        g->error = ev->error;
        g->done_at = ev->now;
        g->t = *us_hc_req_timing(ev->req);
        snprintf(g->msg, sizeof(g->msg), "%.*s", (int)ev->len, ev->data);
        break;
    }
}

static struct us_hc_req *submit(struct fix *f, const char *url, int method, struct got *g)
{
    char err[256];
    memset(g, 0, sizeof(*g));
    struct us_hc_request q = {.url = url, .method = method, .cb = on_ev, .arg = g};
    struct us_hc_req *r = NULL;
    int rc = us_hc_submit(f->hc, &q, tt_now(&f->n), &r, err, sizeof(err));
    if (rc)
        fail_msg("submit %s: %s", url, err);
    return r;
}

/* Both sides step until the client has nothing pending (or the limit). */
static void run(struct fix *f, us_time_t limit)
{
    us_time_t end = tt_now(&f->n) + limit;
    for (;;) {
        us_time_t now = us_tp_now(f->cli);
        us_time_t d = us_hc_step(f->hc, now);
        if (f->hs) {
            us_time_t ds = us_http_server_step(f->hs, now);
            d = ds < d ? ds : d;
        } else {
            srv_step(&f->s, now);
        }
        if (!us_hc_pending(f->hc))
            return;
        if (now >= end)
            fail_msg("client still has %zu requests pending at %llu ns", us_hc_pending(f->hc), (unsigned long long)now);
        int rc = us_tp_wait(f->cli, d < end ? d : end);
        assert_true(rc == 0 || rc == -EDEADLK);
    }
}

/* Runs both sides for dt more without requests (the idle connections, the
 * server's closes). */
static void idle(struct fix *f, us_time_t dt)
{
    us_time_t end = tt_now(&f->n) + dt;
    while (tt_now(&f->n) < end) {
        us_time_t now = us_tp_now(f->cli);
        us_time_t d = us_hc_step(f->hc, now);
        if (f->hs) {
            us_time_t ds = us_http_server_step(f->hs, now);
            d = ds < d ? ds : d;
        } else {
            srv_step(&f->s, now);
        }
        int rc = us_tp_wait(f->cli, d < end ? d : end);
        assert_true(rc == 0 || rc == -EDEADLK);
        if (rc == -EDEADLK)
            us_sim_run_until(f->n.sim, end);
    }
}

/* A fixture with one request submitted and run to its end. */
static void fetch(struct fix *f, const struct us_hc_config *c, const struct sresp *r, size_t n, const char *url,
                  struct got *g)
{
    fix_init(f, c, r, n);
    f->s.mute = !r;
    submit(f, url, 0, g);
    run(f, US_SEC(5));
}

/* k requests for the same URL submitted at once, run to their ends. */
static void fetch_n(struct fix *f, const struct us_hc_config *c, const struct sresp *r, size_t n, const char *url,
                    struct got *g, int k)
{
    fix_init(f, c, r, n);
    for (int i = 0; i < k; i++)
        submit(f, url, 0, &g[i]);
    run(f, US_SEC(5));
}

static int count_syns(const struct trace *tr, int host)
{
    int k = 0;
    for (size_t i = 0; i < tr->n; i++)
        k += tr->v[i].host == host && (tr->v[i].flags & F_SYN) && !(tr->v[i].flags & F_ACK);
    return k;
}

/* A's segments that carry data. */
static int data_segments(const struct trace *tr, int host, uint32_t *first_len)
{
    int k = 0;
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == host && tr->v[i].len) {
            if (!k && first_len)
                *first_len = tr->v[i].len;
            k++;
        }
    return k;
}

static struct us_hc_config cfg_with(uint32_t per_host, uint32_t pipeline)
{
    struct us_hc_config c;
    us_hc_config_default(&c);
    c.max_per_host = per_host;
    c.pipeline = pipeline;
    return c;
}

#define OK_BODY(b) "HTTP/1.1 200 OK\r\nContent-Length: " #b "\r\n\r\n"

static void five_keep_alive_requests_share_one_handshake(void **st)
{
    (void)st;
    static const struct sresp r[] = {
        {OK_BODY(5) "one..", false}, {OK_BODY(5) "two..", false}, {OK_BODY(5) "three", false},
        {OK_BODY(4) "four", false}, {OK_BODY(4) "five", false},
    };
    static const char *const want[] = {"one..", "two..", "three", "four", "five"};
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    struct got g[5];
    fetch_n(&f, &c, r, 5, "http://198.18.0.2/x", g, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(g[i].done, 1);
        assert_int_equal(g[i].error, 0);
        assert_int_equal(g[i].status, 200);
        assert_int_equal(g[i].len, strlen(want[i]));
        assert_memory_equal(g[i].body, want[i], g[i].len);
        assert_int_equal(g[i].t.conn_id, 1);
        assert_int_equal(g[i].t.reused, i > 0);
        assert_int_equal(g[i].t.body_bytes, strlen(want[i]));
    }
    /* one connection: its SYN, its handshake's round trip in the first timing only */
    assert_int_equal(count_syns(&f.tr, 0), 1);
    assert_int_equal(f.s.nc, 1);
    assert_int_equal(us_hc_connections_opened(f.hc), 1);
    assert_int_equal(g[0].t.connect_end - g[0].t.connect_start, 2 * ONE_WAY);
    assert_int_equal(g[1].t.connect_start, 0);
    /* request i+1 leaves when response i has arrived: one round trip each */
    for (int i = 1; i < 5; i++)
        assert_int_equal(g[i].t.first_byte - g[i - 1].t.first_byte, 2 * ONE_WAY);
    assert_string_equal(f.s.req[0], "GET /x HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: ustack/" USTACK_VERSION
                                    "\r\nAccept: */*\r\n\r\n");
    fix_free(&f);
}

static void three_pipelined_requests_leave_in_one_segment_and_are_answered_in_order(void **st)
{
    (void)st;
    /* the three responses leave the server as one write each; the client
     * frames them from its buffer in request order */
    static const struct sresp r[] = {{OK_BODY(1) "a", false}, {OK_BODY(2) "bb", false}, {OK_BODY(3) "ccc", false}};
    struct fix f;
    struct us_hc_config c = cfg_with(1, 3);
    fix_init(&f, &c, r, 3);
    struct got g[3];
    submit(&f, "http://198.18.0.2/a", 0, &g[0]);
    submit(&f, "http://198.18.0.2/b", 0, &g[1]);
    submit(&f, "http://198.18.0.2/c", 0, &g[2]);
    run(&f, US_SEC(5));
    uint32_t first = 0;
    assert_int_equal(data_segments(&f.tr, 0, &first), 1);
    assert_int_equal(first, g[0].sent_len + g[1].sent_len + g[2].sent_len);
    assert_int_equal(count_syns(&f.tr, 0), 1);
    const char *want[] = {"a", "bb", "ccc"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].error, 0);
        assert_int_equal(g[i].len, strlen(want[i]));
        assert_memory_equal(g[i].body, want[i], g[i].len);
        assert_int_equal(g[i].t.sent, g[0].t.sent);
        assert_int_equal(g[i].t.reused, i > 0);
    }
    assert_non_null(strstr(f.s.req[2], "GET /c "));
    fix_free(&f);
}

/* A chunked body (extensions, a trailer) followed on the same connection by
 * a Content-Length one, then a close-delimited one: each byte-exact. */
static void chunked_then_length_then_close_delimited_bodies_are_byte_exact(void **st)
{
    (void)st;
    static const struct sresp r[] = {
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;name=val\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", false},
        {OK_BODY(4) "next", false},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close\r\n\r\n0\r\n", true},
    };
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    struct got g[3];
    fetch_n(&f, &c, r, 3, "http://198.18.0.2/", g, 3);
    assert_int_equal(g[0].error, 0);
    assert_int_equal(g[0].len, 12);
    assert_memory_equal(g[0].body, "hello, world", 12);
    assert_int_equal(g[1].error, 0);
    assert_memory_equal(g[1].body, "next", 4);
    assert_int_equal(g[2].error, 0);
    assert_int_equal(g[2].len, strlen("until the close\r\n\r\n0\r\n"));
    assert_memory_equal(g[2].body, "until the close\r\n\r\n0\r\n", g[2].len);
    assert_int_equal(g[2].t.conn_id, 1);
    assert_int_equal(count_syns(&f.tr, 0), 1);
    assert_int_equal(us_hc_connections(f.hc), 0); /* the close-delimited body ended it */
    fix_free(&f);
}

/* 1xx responses are skipped; HEAD, 204 and 304 have no body whatever their
 * Content-Length says, so the response after each is framed right. */
static void informational_skipped_and_head_204_304_have_no_body(void **st)
{
    (void)st;
    static const struct sresp r[] = {
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" OK_BODY(2) "ok", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false},
        {"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\nETag: \"x\"\r\n\r\n", false},
        {OK_BODY(4) "last", false},
    };
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    fix_init(&f, &c, r, 5);
    struct got g[5];
    submit(&f, "http://198.18.0.2/", 0, &g[0]);
    submit(&f, "http://198.18.0.2/", US_HTTP_M_HEAD, &g[1]);
    submit(&f, "http://198.18.0.2/", 0, &g[2]);
    submit(&f, "http://198.18.0.2/", 0, &g[3]);
    submit(&f, "http://198.18.0.2/", 0, &g[4]);
    run(&f, US_SEC(5));
    assert_int_equal(g[0].info, 2);
    assert_int_equal(g[0].heads, 1);
    assert_memory_equal(g[0].body, "ok", 2);
    uint16_t want[] = {200, 200, 204, 304, 200};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(g[i].error, 0);
        assert_int_equal(g[i].status, want[i]);
        assert_int_equal(g[i].t.conn_id, 1);
    }
    assert_int_equal(g[1].len + g[2].len + g[3].len, 0);
    assert_non_null(strstr(f.s.req[1], "HEAD / HTTP/1.1\r\n"));
    assert_int_equal(g[4].len, 4);
    assert_memory_equal(g[4].body, "last", 4);
    fix_free(&f);
}

/* The server closes its idle keep-alive connection at the moment the client
 * sends the next request on it: the request meets the FIN (and then an
 * RST), no byte of a response came back, so it is sent once more on a new
 * connection and answered. */
static void request_on_a_connection_the_server_closed_is_retried_once(void **st)
{
    (void)st;
    static const struct sresp r[] = {{OK_BODY(5) "first", false}, {OK_BODY(6) "second", false}};
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    fix_init(&f, &c, r, 2);
    struct got g[2];
    submit(&f, "http://198.18.0.2/1", 0, &g[0]);
    run(&f, US_SEC(5));
    assert_int_equal(g[0].error, 0);
    idle(&f, US_SEC(1));
    assert_int_equal(us_hc_connections(f.hc), 1);
    /* the same virtual instant: the server's close and the client's request */
    srv_close(&f.s, &f.s.c[0], tt_now(&f.n));
    submit(&f, "http://198.18.0.2/2", 0, &g[1]);
    tt_clear(&f.tr);
    run(&f, US_SEC(5));
    assert_int_equal(g[1].error, 0);
    assert_int_equal(g[1].retries, 1);
    assert_int_equal(g[1].t.retries, 1);
    assert_int_equal(g[1].len, 6);
    assert_memory_equal(g[1].body, "second", 6);
    assert_int_equal(g[1].t.conn_id, 2);
    assert_false(g[1].t.reused);
    assert_int_equal(count_syns(&f.tr, 0), 1);  /* the retry's connection */
    assert_int_equal(f.s.nreq, 2);              /* the closed one never read its copy */
    assert_int_equal(f.s.nc, 2);
    fix_free(&f);
}

/* The first request on a new connection is not retried: the server closing
 * without a byte is "empty reply". */
static void empty_reply_on_a_new_connection_is_an_error_not_a_retry(void **st)
{
    (void)st;
    static const struct sresp r[] = {{"", true}};
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    struct got g;
    fetch(&f, &c, r, 1, "http://198.18.0.2/", &g);
    assert_int_equal(g.error, -ENODATA);
    assert_int_equal(g.retries, 0);
    assert_int_equal(count_syns(&f.tr, 0), 1);
    fix_free(&f);
}

static void relative_and_close_delimited_redirects_are_followed(void **st)
{
    (void)st;
    static const struct sresp r[] = {
        {"HTTP/1.1 302 Found\r\nLocation: ../b/c?q=1#frag\r\nContent-Length: 5\r\n\r\nmoved", false},
        {"HTTP/1.1 303 See Other\r\nLocation: /d\r\n\r\nuntil the close", true}, /* close-delimited */
        {"HTTP/1.1 301 Moved\r\nLocation: http://198.18.0.2/final\r\nContent-Length: 0\r\n\r\n", false},
        {OK_BODY(4) "done", false},
    };
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    c.follow_redirects = true;
    struct got g;
    fetch(&f, &c, r, 4, "http://198.18.0.2/a/x/y", &g);
    assert_int_equal(g.error, 0);
    assert_int_equal(g.redirects, 3);
    assert_int_equal(g.t.redirects, 3);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.len, 4); /* the redirects' bodies are not delivered */
    assert_memory_equal(g.body, "done", 4);
    assert_non_null(strstr(f.s.req[1], "GET /a/b/c?q=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(f.s.req[2], "GET /d HTTP/1.1\r\n"));
    assert_non_null(strstr(f.s.req[3], "GET /final HTTP/1.1\r\n"));
    assert_int_equal(count_syns(&f.tr, 0), 2); /* the close-delimited 303 ended the first connection */
    fix_free(&f);
}

static void eleventh_redirect_fails(void **st)
{
    (void)st;
    static struct sresp r[11];
    for (int i = 0; i < 11; i++)
        r[i] = (struct sresp){"HTTP/1.1 307 Again\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n", false};
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    c.follow_redirects = true;
    struct got g;
    fetch(&f, &c, r, 11, "http://198.18.0.2/", &g);
    assert_int_equal(g.error, -ELOOP);
    assert_int_equal(g.redirects, 10);
    assert_int_equal(f.s.nreq, 11);
    fix_free(&f);
}

/* The server reads the request and never answers: the request fails at its
 * deadline to the nanosecond, and its connection is closed. */
static void request_timeout_fires_at_the_exact_virtual_time(void **st)
{
    (void)st;
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    c.timeout = US_MS(2500);
    struct got g;
    fetch(&f, &c, NULL, 0, "http://198.18.0.2/", &g);
    assert_int_equal(g.error, -ETIMEDOUT);
    assert_int_equal(g.done_at, g.t.queued + US_MS(2500));
    assert_int_equal(f.s.nreq, 1);
    assert_int_equal(us_hc_connections(f.hc), 0);
    fix_free(&f);
}

/* 198.18.0.3 answers nothing (not even ARP): the connect timeout ends the
 * request exactly connect_timeout after the connection started. */
static void connect_timeout_fires_at_the_exact_virtual_time(void **st)
{
    (void)st;
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    c.connect_timeout = US_MS(1500);
    struct got g;
    fetch(&f, &c, NULL, 0, "http://198.18.0.3/", &g);
    assert_int_equal(g.error, -ETIMEDOUT);
    assert_int_equal(g.done_at, g.t.queued + US_MS(1500));
    assert_int_equal(g.t.connect_end, 0);
    assert_non_null(strstr(g.msg, "cannot connect"));
    fix_free(&f);
}

static void connection_refused_fails_the_request(void **st)
{
    (void)st;
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    struct got g;
    fetch(&f, &c, NULL, 0, "http://198.18.0.2:81/", &g);
    assert_int_equal(g.error, -ECONNREFUSED);
    assert_non_null(strstr(g.msg, "cannot connect to 198.18.0.2:81"));
    fix_free(&f);
}

/* Eight requests, at most four connections: four handshakes at once, each
 * connection then carrying a second request. */
static void eight_requests_over_four_parallel_connections(void **st)
{
    (void)st;
    static struct sresp r[8];
    for (int i = 0; i < 8; i++)
        r[i] = (struct sresp){OK_BODY(2) "hi", false};
    struct fix f;
    struct us_hc_config c = cfg_with(4, 1);
    struct got g[8];
    fetch_n(&f, &c, r, 8, "http://198.18.0.2/p", g, 8);
    assert_int_equal(count_syns(&f.tr, 0), 4);
    int per_conn[5] = {0};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(g[i].error, 0);
        assert_true(g[i].t.conn_id >= 1 && g[i].t.conn_id <= 4);
        per_conn[g[i].t.conn_id]++;
        assert_int_equal(g[i].t.reused, i >= 4);
    }
    for (int k = 1; k <= 4; k++)
        assert_int_equal(per_conn[k], 2);
    /* the four SYNs left together */
    us_time_t t_syn = 0;
    for (size_t i = 0; i < f.tr.n; i++)
        if (f.tr.v[i].host == 0 && f.tr.v[i].flags == F_SYN) {
            if (!t_syn)
                t_syn = f.tr.v[i].t;
            assert_int_equal(f.tr.v[i].t, t_syn);
        }
    fix_free(&f);
}

/* Every prefix of a valid response followed by the server's close, and a
 * set of invalid responses: each request ends (an error or, for a body the
 * close may end, success), nothing crashes. */
static void truncated_and_invalid_responses_end_in_errors(void **st)
{
    (void)st;
    static const char full[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n";
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
        "garbage\r\n\r\n",
        "\x01\x02\x7f\r\n\r\n",
    };
    size_t nfull = strlen(full);
    size_t cases = nfull + sizeof(bad) / sizeof(bad[0]);
    for (size_t i = 0; i < cases; i++) {
        char text[256];
        if (i < nfull)
            snprintf(text, sizeof(text), "%.*s", (int)i, full);
        else
            snprintf(text, sizeof(text), "%s", bad[i - nfull]);
        const struct sresp r[] = {{text, true}};
        struct fix f;
        struct us_hc_config c = cfg_with(1, 1);
        struct got g;
        fetch(&f, &c, r, 1, "http://198.18.0.2/", &g);
        assert_int_equal(g.done, 1);
        if (i >= nfull && g.error != -EPROTO)
            fail_msg("invalid response %zu ('%s') ended with %d", i - nfull, text, g.error);
        if (i < nfull && g.error != (i ? -EPROTO : -ENODATA))
            fail_msg("response cut after %zu bytes ended with %d (%s)", i, g.error, g.msg);
        fix_free(&f);
    }
}

/* The client's idle connection closes idle_timeout after its last response,
 * to the nanosecond: its FIN leaves then. */
static void idle_connection_closes_at_the_idle_timeout(void **st)
{
    (void)st;
    static const struct sresp r[] = {{OK_BODY(2) "ok", false}};
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    c.idle_timeout = US_SEC(3);
    struct got g;
    fetch(&f, &c, r, 1, "http://198.18.0.2/", &g);
    assert_int_equal(g.error, 0);
    assert_int_equal(us_hc_connections(f.hc), 1);
    tt_clear(&f.tr);
    idle(&f, US_SEC(4));
    assert_int_equal(us_hc_connections(f.hc), 0);
    const struct seg *fin = NULL;
    for (size_t i = 0; i < f.tr.n && !fin; i++)
        if (f.tr.v[i].host == 0 && (f.tr.v[i].flags & F_FIN))
            fin = &f.tr.v[i];
    assert_non_null(fin);
    assert_int_equal(fin->t, g.done_at + US_SEC(3));
    fix_free(&f);
}

/* A 20 kB head is read whole (the receive buffer grows), a 40 kB one is
 * over the head limit: an error, the connection closed. */
static void large_response_head_is_read_and_one_over_the_limit_fails(void **st)
{
    (void)st;
    static char big[40100], huge[40100];
    static const char *const fmt = "HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: 2\r\n\r\nok";
    char v[40000];
    memset(v, 'v', sizeof(v));
    v[19950] = 0;
    snprintf(big, sizeof(big), fmt, v);
    v[19950] = 'v';
    v[39950] = 0;
    snprintf(huge, sizeof(huge), fmt, v);
    const struct sresp r[] = {{big, false}, {huge, false}};
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    struct got g[2];
    fetch_n(&f, &c, r, 2, "http://198.18.0.2/", g, 2);
    assert_int_equal(g[0].error, 0);
    assert_int_equal(g[0].len, 2);
    assert_memory_equal(g[0].body, "ok", 2);
    assert_int_equal(g[1].error, -EPROTO);
    assert_non_null(strstr(g[1].msg, "invalid response"));
    assert_int_equal(us_hc_connections(f.hc), 0);
    fix_free(&f);
}

/* A waiting request cancelled leaves its queue; one in flight takes its
 * connection with it (its FIN leaves at that instant). */
static void cancelled_requests_end_at_once_waiting_or_in_flight(void **st)
{
    (void)st;
    struct fix f;
    struct us_hc_config c = cfg_with(1, 1);
    fix_init(&f, &c, NULL, 0);
    f.s.mute = true;
    struct got g[2];
    struct us_hc_req *a = submit(&f, "http://198.18.0.2/a", 0, &g[0]);
    struct us_hc_req *b = submit(&f, "http://198.18.0.2/b", 0, &g[1]);
    idle(&f, US_MS(100));
    assert_int_equal(f.s.nreq, 1);
    us_hc_cancel(f.hc, b, tt_now(&f.n));
    assert_int_equal(g[1].done, 1);
    assert_int_equal(g[1].error, -ECANCELED);
    assert_int_equal(g[1].sent_len, 0);
    assert_int_equal(us_hc_pending(f.hc), 1);
    tt_clear(&f.tr);
    us_time_t t = tt_now(&f.n);
    us_hc_cancel(f.hc, a, t);
    assert_int_equal(g[0].error, -ECANCELED);
    assert_int_equal(g[0].done_at, t);
    assert_int_equal(us_hc_pending(f.hc), 0);
    assert_int_equal(us_hc_connections(f.hc), 0);
    idle(&f, US_MS(100));
    assert_true(f.tr.n > 0);
    assert_int_equal(f.tr.v[0].host, 0);
    assert_true(f.tr.v[0].flags & F_FIN);
    assert_int_equal(f.tr.v[0].t, t);
    assert_int_equal(f.s.nreq, 1);
    fix_free(&f);
}

/* Against the real file server (http_server.h) on B over a lossy link (2 %
 * each way, 20 ms one way): three 200 kB files over one keep-alive
 * connection, then four pipelined requests; every body byte-exact. */
static void real_server_over_a_lossy_link_keep_alive_and_pipelined_bodies_are_byte_exact(void **st)
{
    (void)st;
    struct fix f;
    memset(&f, 0, sizeof(f));
    struct tu_opts o = {.seed = 11};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(20);
    o.imp_a.tx.loss = o.imp_b.tx.loss = 0.02;
    tt_net(&f.n, &f.tr, &o);
    char err[128];
    struct us_driver *d = us_sim_driver(f.n.sim);
    f.cli = us_tp_ustack_new(f.n.a.st, d, err, sizeof(err));
    f.s.tp = us_tp_ustack_new(f.n.b.st, d, err, sizeof(err));
    assert_non_null(f.cli);
    assert_non_null(f.s.tp);
    snprintf(f.root, sizeof(f.root), "%s/hclient.XXXXXX", tu_tmpdir());
    char mk[300];
    snprintf(mk, sizeof(mk), "mkdir -p '%s'", tu_tmpdir());
    assert_int_equal(system(mk), 0);
    assert_non_null(mkdtemp(f.root));
    static uint8_t file[200000];
    for (size_t i = 0; i < sizeof(file); i++)
        file[i] = (uint8_t)(i * 7 + (i >> 8));
    char path[300];
    snprintf(path, sizeof(path), "%s/f.bin", f.root);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(file, 1, sizeof(file), fp), sizeof(file));
    fclose(fp);
    struct us_http_server_config sc;
    us_http_server_config_default(&sc);
    sc.root = f.root;
    f.hs = us_http_server_new(f.s.tp, &sc, err, sizeof(err));
    if (!f.hs)
        fail_msg("%s", err);
    struct us_hc_config c = cfg_with(1, 4);
    f.hc = us_hc_new(f.cli, &c);
    static struct got g[7];
    for (int i = 0; i < 3; i++) {
        submit(&f, "http://198.18.0.2/f.bin", 0, &g[i]);
        run(&f, US_SEC(60));
    }
    for (int i = 3; i < 7; i++)
        submit(&f, "http://198.18.0.2/f.bin", 0, &g[i]);
    run(&f, US_SEC(120));
    for (int i = 0; i < 7; i++) {
        if (g[i].error)
            fail_msg("request %d: %s", i, g[i].msg);
        assert_int_equal(g[i].status, 200);
        assert_int_equal(g[i].len, sizeof(file));
        assert_memory_equal(g[i].body, file, sizeof(file));
        assert_int_equal(g[i].t.conn_id, 1);
    }
    /* one connection: every SYN A sent (retransmissions too) has one ISN */
    int syns = 0;
    uint32_t isn = 0;
    for (size_t i = 0; i < f.tr.n; i++)
        if (f.tr.v[i].host == 0 && f.tr.v[i].flags == F_SYN) {
            if (!syns++)
                isn = f.tr.v[i].seq;
            assert_int_equal(f.tr.v[i].seq, isn);
        }
    assert_true(syns >= 1);
    assert_true(tu_counter(f.n.a.st, "tcp.retransmits") + tu_counter(f.n.b.st, "tcp.retransmits") > 0);
    fix_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_keep_alive_requests_share_one_handshake),
        cmocka_unit_test(three_pipelined_requests_leave_in_one_segment_and_are_answered_in_order),
        cmocka_unit_test(chunked_then_length_then_close_delimited_bodies_are_byte_exact),
        cmocka_unit_test(informational_skipped_and_head_204_304_have_no_body),
        cmocka_unit_test(request_on_a_connection_the_server_closed_is_retried_once),
        cmocka_unit_test(empty_reply_on_a_new_connection_is_an_error_not_a_retry),
        cmocka_unit_test(relative_and_close_delimited_redirects_are_followed),
        cmocka_unit_test(eleventh_redirect_fails),
        cmocka_unit_test(request_timeout_fires_at_the_exact_virtual_time),
        cmocka_unit_test(connect_timeout_fires_at_the_exact_virtual_time),
        cmocka_unit_test(connection_refused_fails_the_request),
        cmocka_unit_test(eight_requests_over_four_parallel_connections),
        cmocka_unit_test(truncated_and_invalid_responses_end_in_errors),
        cmocka_unit_test(idle_connection_closes_at_the_idle_timeout),
        cmocka_unit_test(large_response_head_is_read_and_one_over_the_limit_fails),
        cmocka_unit_test(cancelled_requests_end_at_once_waiting_or_in_flight),
        cmocka_unit_test(real_server_over_a_lossy_link_keep_alive_and_pipelined_bodies_are_byte_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
