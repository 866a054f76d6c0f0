/* The HTTP server (src/http/http_server.c) on host B of a simulated link,
 * a client on host A written with the raw transport: what crossed the wire
 * and at which virtual time — one handshake for many keep-alive requests,
 * pipelined requests in one segment answered in order, bodies framed by
 * Content-Length and by chunks followed by a pipelined request, the idle
 * timeout's FIN and the 408 of a stalled head at their exact times, a
 * malformed request answered 400 and closed, and no RST from the server on
 * any graceful close. */
#include <sys/stat.h>
#include <unistd.h>
#include "test_tcp_helpers.h"
#include <ustack/transport.h>
#include <ustack/http_server.h>

#define ONE_WAY US_MS(10)
#define IDLE US_SEC(5)
#define HEADER US_SEC(3)
#define LINGER US_SEC(1)

struct hx {
    struct tu_net n;
    struct trace tr;
    struct us_tp *stp, *ctp;
    struct us_http_server *srv;
    uint16_t port;
    char root[256];
};

static void put_file(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void hx_init(struct hx *x, const struct us_http_server_config *over)
{
    memset(x, 0, sizeof(*x));
    struct tu_opts o = {.seed = 11};
    o.imp_a.tx.delay = o.imp_b.tx.delay = ONE_WAY;
    tt_net(&x->n, &x->tr, &o);
    char err[256];
    struct us_driver *d = us_sim_driver(x->n.sim);
    x->stp = us_tp_ustack_new(x->n.b.st, d, err, sizeof(err));
    x->ctp = us_tp_ustack_new(x->n.a.st, d, err, sizeof(err));
    assert_non_null(x->stp);
    assert_non_null(x->ctp);
    snprintf(x->root, sizeof(x->root), "%s/http-root-%d", tu_tmpdir(), (int)getpid());
    mkdir(tu_tmpdir(), 0755);
    mkdir(x->root, 0755);
    put_file(x->root, "index.html", "<h1>index</h1>\n");
    put_file(x->root, "a.txt", "A\n");
    put_file(x->root, "b.txt", "BB\n");
    put_file(x->root, "c.txt", "CCC\n");
    struct us_http_server_config cfg;
    if (over)
        cfg = *over;
    else
        us_http_server_config_default(&cfg);
    cfg.root = x->root;
    cfg.addr = (struct us_tp_addr){0, 80};
    cfg.idle_timeout = IDLE;
    cfg.header_timeout = HEADER;
    cfg.linger = LINGER;
    x->srv = us_http_server_new(x->stp, &cfg, err, sizeof(err));
    if (!x->srv)
        fail_msg("%s", err);
    x->port = us_http_server_port(x->srv);
    assert_int_equal(x->port, 80);
}

static void hx_free(struct hx *x)
{
    us_http_server_free(x->srv, us_tp_now(x->stp));
    us_tp_free(x->stp);
    us_tp_free(x->ctp);
    tt_free(&x->n, &x->tr);
}

static us_time_t hx_now(struct hx *x) { return us_tp_now(x->ctp); }

/* One step of the server, then the simulator up to its next event (or the
 * server's deadline, or limit). */
static void hx_tick(struct hx *x, us_time_t limit)
{
    us_time_t now = hx_now(x);
    us_time_t d = us_http_server_step(x->srv, now);
    us_time_t w = d < limit ? d : limit;
    assert_int_equal(us_tp_wait(x->ctp, w > now ? w : now), 0);
}

static void hx_run_until(struct hx *x, us_time_t t)
{
    while (hx_now(x) < t)
        hx_tick(x, t);
    us_http_server_step(x->srv, hx_now(x));
}

static int hx_connect(struct hx *x)
{
    struct us_tp_addr to = {TU_IP_B, x->port};
    int c = us_tp_connect(x->ctp, &to, hx_now(x));
    assert_true(c >= 0);
    us_time_t limit = hx_now(x) + US_SEC(2);
    while (us_tp_error(x->ctp, c) == -EINPROGRESS && hx_now(x) < limit)
        hx_tick(x, limit);
    assert_int_equal(us_tp_error(x->ctp, c), 0);
    return c;
}

static void hx_send(struct hx *x, int c, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(us_tp_write(x->ctp, c, s, n, hx_now(x)), (ssize_t)n);
}

/* ---- responses as the client reads them ---- */
struct rsp {
    int status;
    char body[64];
    size_t blen;
    bool close;            /* Connection: close */
};

struct rx {
    char buf[16384];
    size_t len;
    bool eof;
    struct rsp r[16];
    int n;
};

/* Complete responses in rx->buf (the responses to GET, or bodies with
 * Content-Length); 1xx are skipped. */
static void rx_parse(struct rx *rx)
{
    rx->n = 0;
    size_t off = 0;
    while (off < rx->len && rx->n < 16) {
        struct us_http_field f[32];
        struct us_http_parser p;
        us_http_parser_init(&p, US_HTTP_RESPONSE, NULL, f, 32);
        if (us_http_parse_head(&p, rx->buf + off, rx->len - off) != US_HTTP_COMPLETE)
            return;
        const char *b = rx->buf + off;
        struct us_http_body body;
        us_http_body_init(&body, &p.msg, NULL);
        size_t used = p.head_len;
        struct rsp r = {.status = p.msg.status};
        const struct us_http_field *cn = us_http_find(&p.msg, b, "Connection");
        r.close = cn && us_http_span_ieq(b, cn->value, "close");
        enum us_http_rc rc = US_HTTP_NEED_MORE;
        if (p.msg.framing == US_HTTP_BODY_NONE || (p.msg.framing == US_HTTP_BODY_LENGTH && !p.msg.content_length))
            rc = US_HTTP_COMPLETE;
        while (rc == US_HTTP_NEED_MORE && used < rx->len - off) {
            size_t u;
            struct us_http_span d;
            rc = us_http_body_parse(&body, b + used, rx->len - off - used, &u, &d);
            assert_int_not_equal(rc, US_HTTP_ERROR);
            if (d.len && r.blen + d.len < sizeof(r.body)) {
                memcpy(r.body + r.blen, b + used + d.off, d.len);
                r.blen += d.len;
            }
            used += u;
        }
        if (rc != US_HTTP_COMPLETE)
            return;
        off += used;
        if (r.status >= 200)
            rx->r[rx->n++] = r;
    }
}

/* Reads until n responses arrived (and EOF when want_eof), at most `patience`. */
static void hx_collect(struct hx *x, int c, struct rx *rx, int n, bool want_eof, us_time_t patience)
{
    us_time_t limit = hx_now(x) + patience;
    for (;;) {
        ssize_t r;
        while (!rx->eof && (r = us_tp_read(x->ctp, c, rx->buf + rx->len, sizeof(rx->buf) - rx->len, hx_now(x))) != -EAGAIN) {
            assert_true(r >= 0);
            if (r == 0)
                rx->eof = true;
            rx->len += (size_t)r;
        }
        rx_parse(rx);
        if (rx->n >= n && (!want_eof || rx->eof))
            return;
        if (hx_now(x) >= limit)
            fail_msg("after %llu ms: %d of %d responses, eof %d", (unsigned long long)(patience / 1000000), rx->n, n,
                     rx->eof);
        hx_tick(x, limit);
    }
}

/* n responses, and no more after another 200 ms. */
static void hx_collect_exactly(struct hx *x, int c, struct rx *rx, int n)
{
    hx_collect(x, c, rx, n, false, US_SEC(1));
    hx_run_until(x, hx_now(x) + US_MS(200));
    hx_collect(x, c, rx, n, false, US_SEC(1));
    assert_int_equal(rx->n, n);
}

static void assert_rsp(const struct rsp *r, int status, const char *body)
{
    assert_int_equal(r->status, status);
    if (body) {
        assert_int_equal(r->blen, strlen(body));
        assert_memory_equal(r->body, body, r->blen);
    }
}

/* ---- the wire ---- */
static int count_segs(const struct trace *tr, int host, uint8_t all, uint8_t none)
{
    int n = 0;
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == host && (tr->v[i].flags & all) == all && !(tr->v[i].flags & none))
            n++;
    return n;
}

/* The first segment of host with all of `all` at or after t, or NULL. */
static const struct seg *find_seg(const struct trace *tr, int host, uint8_t all, bool data, us_time_t t)
{
    for (size_t i = 0; i < tr->n; i++) {
        const struct seg *s = &tr->v[i];
        if (s->host == host && s->t >= t && (s->flags & all) == all && (!data || s->len))
            return s;
    }
    return NULL;
}

static const struct seg *last_data_seg(const struct trace *tr, int host)
{
    const struct seg *l = NULL;
    for (size_t i = 0; i < tr->n; i++)
        if (tr->v[i].host == host && tr->v[i].len)
            l = &tr->v[i];
    return l;
}

/* The client closes; the server's side ends within a second, without RST. */
static void hx_close_clean(struct hx *x, int c)
{
    us_tp_close(x->ctp, c, hx_now(x));
    hx_run_until(x, hx_now(x) + US_SEC(1));
    struct us_http_server_stats s;
    us_http_server_stats(x->srv, &s);
    assert_int_equal(s.open, 0);
    assert_int_equal(count_segs(&x->tr, 1, F_RST, 0), 0);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: 198.18.0.2\r\n\r\n"

/* ---- tests ---- */

static void five_keepalive_requests_take_one_handshake(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    static const char *const paths[] = {GET("/a.txt"), GET("/b.txt"), GET("/"), GET("/c.txt"), GET("/a.txt")};
    static const char *const bodies[] = {"A\n", "BB\n", "<h1>index</h1>\n", "CCC\n", "A\n"};
    struct rx rx = {0};
    for (int i = 0; i < 5; i++) {
        hx_send(&x, c, paths[i]);
        hx_collect(&x, c, &rx, i + 1, false, US_SEC(1));
        assert_rsp(&rx.r[i], 200, bodies[i]);
        assert_false(rx.r[i].close);
    }
    assert_int_equal(count_segs(&x.tr, 0, F_SYN, F_ACK), 1);
    assert_int_equal(count_segs(&x.tr, 1, F_SYN | F_ACK, 0), 1);
    assert_int_equal(count_segs(&x.tr, 1, F_FIN, 0), 0);
    struct us_http_server_stats s;
    us_http_server_stats(x.srv, &s);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(s.requests, 5);
    hx_close_clean(&x, c);
    hx_free(&x);
}

static void pipelined_requests_in_one_segment_are_answered_in_order(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    tt_clear(&x.tr);
    const char *three = GET("/c.txt") GET("/a.txt") GET("/b.txt");
    hx_send(&x, c, three);
    struct rx rx = {0};
    hx_collect(&x, c, &rx, 3, false, US_SEC(1));
    /* the three requests crossed in one segment */
    const struct seg *s = find_seg(&x.tr, 0, 0, true, 0);
    assert_non_null(s);
    assert_int_equal(s->len, strlen(three));
    int data = 0;
    for (size_t i = 0; i < x.tr.n; i++)
        data += x.tr.v[i].host == 0 && x.tr.v[i].len > 0;
    assert_int_equal(data, 1);
    assert_int_equal(rx.n, 3);
    assert_rsp(&rx.r[0], 200, "CCC\n");
    assert_rsp(&rx.r[1], 200, "A\n");
    assert_rsp(&rx.r[2], 200, "BB\n");
    hx_free(&x);
}

/* Idle for IDLE after the last response: our FIN at exactly that time, then
 * the lingering read ends at the client's FIN without a reset. */
static void idle_connection_is_closed_with_fin_exactly_at_the_idle_timeout(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    hx_send(&x, c, GET("/a.txt"));
    struct rx rx = {0};
    hx_collect(&x, c, &rx, 1, false, US_SEC(1));
    const struct seg *resp = last_data_seg(&x.tr, 1);
    assert_non_null(resp);
    us_time_t t_resp = resp->t;
    hx_collect(&x, c, &rx, 1, true, IDLE + US_SEC(1));
    const struct seg *fin = find_seg(&x.tr, 1, F_FIN, false, 0);
    assert_non_null(fin);
    assert_int_equal(fin->t, t_resp + IDLE);
    assert_int_equal(fin->len, 0);
    /* nothing from the server in between */
    for (size_t i = 0; i < x.tr.n; i++)
        if (x.tr.v[i].host == 1 && x.tr.v[i].t > t_resp && x.tr.v[i].t < fin->t)
            fail_msg("server sent a segment at %llu", (unsigned long long)x.tr.v[i].t);
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* A request whose body looks like a request (GET /c.txt), then a pipelined
 * GET /b.txt: the body is read and dropped with its framing, the look-alike
 * never answered, the next request answered after it. fmt has the length of
 * the look-alike (%zu or %zx) and then the look-alike (%s). */
static void body_then_pipelined(const char *fmt, int status, const char *body)
{
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    const char *inner = GET("/c.txt");
    char req[512];
    snprintf(req, sizeof(req), fmt, strlen(inner), inner);
    strcat(req, GET("/b.txt"));
    hx_send(&x, c, req);
    struct rx rx = {0};
    hx_collect_exactly(&x, c, &rx, 2);
    assert_rsp(&rx.r[0], status, body);
    assert_false(rx.r[0].close);
    assert_rsp(&rx.r[1], 200, "BB\n");
    hx_free(&x);
}

static void content_length_body_then_pipelined_request(void **st)
{
    (void)st;
    body_then_pipelined("GET /a.txt HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n%s", 200, "A\n");
}

static void chunked_body_then_pipelined_request(void **st)
{
    (void)st;
    body_then_pipelined("POST /a.txt HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "%zx;ext=1\r\n%s\r\n0\r\nTrailer-Field: x\r\n\r\n",
                        405, NULL);
}

/* A head that stops half-way: 408 exactly HEADER after its first byte
 * arrived, with Connection: close, then our FIN. */
static void stalled_head_is_answered_408_exactly_at_the_header_timeout(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    tt_clear(&x.tr);
    hx_send(&x, c, "GET /a.txt HTTP/1.1\r\nHost: h\r\n");
    struct rx rx = {0};
    hx_collect(&x, c, &rx, 1, true, HEADER + US_SEC(2));
    const struct seg *req = find_seg(&x.tr, 0, 0, true, 0);
    assert_non_null(req);
    const struct seg *r408 = find_seg(&x.tr, 1, 0, true, 0);
    assert_non_null(r408);
    assert_int_equal(r408->t, req->t + ONE_WAY + HEADER);
    assert_rsp(&rx.r[0], 408, NULL);
    assert_true(rx.r[0].close);
    const struct seg *fin = find_seg(&x.tr, 1, F_FIN, false, 0);
    assert_non_null(fin);
    assert_int_equal(fin->t, r408->t);
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* A field name with a space: 400, Connection: close, our FIN; the request
 * pipelined behind it is not answered. */
static void malformed_request_is_answered_400_then_closed(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    hx_send(&x, c, "GET /a.txt HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n" GET("/b.txt"));
    struct rx rx = {0};
    hx_collect(&x, c, &rx, 1, true, US_SEC(1));
    assert_int_equal(rx.n, 1);
    assert_rsp(&rx.r[0], 400, NULL);
    assert_true(rx.r[0].close);
    assert_int_equal(count_segs(&x.tr, 1, F_FIN, 0), 1);
    hx_close_clean(&x, c);
    hx_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_keepalive_requests_take_one_handshake),
        cmocka_unit_test(pipelined_requests_in_one_segment_are_answered_in_order),
        cmocka_unit_test(idle_connection_is_closed_with_fin_exactly_at_the_idle_timeout),
        cmocka_unit_test(content_length_body_then_pipelined_request),
        cmocka_unit_test(chunked_body_then_pipelined_request),
        cmocka_unit_test(stalled_head_is_answered_408_exactly_at_the_header_timeout),
        cmocka_unit_test(malformed_request_is_answered_400_then_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
