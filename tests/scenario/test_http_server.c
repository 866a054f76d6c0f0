/* The HTTP server (src/http/http_server.c) on host B of a simulated link,
 * a client on host A written with the raw transport: what crossed the wire
 * and at which virtual time — one handshake for many keep-alive requests,
 * pipelined requests in one segment answered in order, bodies framed by
 * Content-Length and by chunks followed by a pipelined request, the idle
 * timeout's FIN and the 408 of a stalled head at their exact times, a
 * malformed request answered 400 and closed, and no RST from the server on
 * any graceful close. */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
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
    char p[1024];
    assert_true(snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p));
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
    char head[512];        /* the head as received, NUL-terminated (cut at 511) */
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
    unsigned head_mask;    /* bit i: response i answers a HEAD */
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
        p.head_request = (rx->head_mask >> rx->n) & 1; /* a HEAD's response has no body */
        if (us_http_parse_head(&p, rx->buf + off, rx->len - off) != US_HTTP_COMPLETE)
            return;
        const char *b = rx->buf + off;
        struct us_http_body body;
        us_http_body_init(&body, &p.msg, NULL);
        size_t used = p.head_len;
        struct rsp r = {.status = p.msg.status};
        snprintf(r.head, sizeof(r.head), "%.*s", (int)p.head_len, b);
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

/* Segments of host that carry data. */
static int count_data(const struct trace *tr, int host)
{
    int n = 0;
    for (size_t i = 0; i < tr->n; i++)
        n += tr->v[i].host == host && tr->v[i].len > 0;
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
    /* each response, head and body, left in one segment (one write) */
    assert_int_equal(count_data(&x.tr, 1), 5);
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
    assert_int_equal(count_data(&x.tr, 0), 1);
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

/* A connection accepted while another is idle leaves the other's idle timer
 * alone: the first still closes exactly at its idle timeout (an accept that
 * unlinked a connection on no timer list wiped the idle list's head, so the
 * idle connection never timed out and leaked at the server's end). */
static void an_accept_keeps_the_idle_timer_of_another_connection(void **st)
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
    int c2 = hx_connect(&x);   /* accepted while c is idle */
    hx_collect(&x, c, &rx, 1, true, IDLE + US_SEC(1));
    const struct seg *fin = find_seg(&x.tr, 1, F_FIN, false, 0);
    assert_non_null(fin);
    assert_int_equal(fin->t, t_resp + IDLE);
    assert_true(rx.eof);
    us_tp_close(x.ctp, c2, hx_now(&x));
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

/* ---- item 2: validators, ranges, expectations, methods, paths ---- */

/* a.txt with a fixed mtime (2001-09-09 01:46:40 UTC), so its validators are known */
#define A_MTIME 1000000000
#define A_LM "Sun, 09 Sep 2001 01:46:40 GMT"
#define A_ETAG "\"3b9aca00-2\""

static void fix_mtime(struct hx *x)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/a.txt", x->root);
    struct timespec ts[2] = {{A_MTIME, 0}, {A_MTIME, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* Sends the requests in one write and expects n responses. */
static void exchange(struct hx *x, int c, struct rx *rx, const char *reqs, int n)
{
    memset(rx, 0, sizeof(*rx));
    hx_send(x, c, reqs);
    hx_collect_exactly(x, c, rx, n);
}

static void validators_answer_304_to_if_none_match_and_if_modified_since(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    fix_mtime(&x);
    int c = hx_connect(&x);
    struct rx rx;
    exchange(&x, c, &rx,
             GET("/a.txt")
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: " A_ETAG "\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\", W/" A_ETAG "\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"other\"\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: " A_LM "\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: Sun, 09 Sep 2001 01:46:39 GMT\r\n\r\n"
             /* If-None-Match decides when both are there (RFC 9110 13.2.2) */
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"other\"\r\nIf-Modified-Since: " A_LM "\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: not a date\r\n\r\n",
             8);
    assert_rsp(&rx.r[0], 200, "A\n");
    assert_non_null(strstr(rx.r[0].head, "\r\nETag: " A_ETAG "\r\n"));
    assert_non_null(strstr(rx.r[0].head, "\r\nLast-Modified: " A_LM "\r\n"));
    assert_non_null(strstr(rx.r[0].head, "\r\nDate: Thu, 01 Jan 1970 00:00:"));
    static const int want[] = {200, 304, 304, 200, 304, 200, 200, 200};
    for (int i = 0; i < 8; i++)
        assert_rsp(&rx.r[i], want[i], want[i] == 200 ? "A\n" : "");
    assert_null(strstr(rx.r[1].head, "Content-Length"));
    assert_non_null(strstr(rx.r[1].head, "\r\nETag: " A_ETAG "\r\n"));
    hx_close_clean(&x, c);
    hx_free(&x);
}

static void one_byte_range_is_206_an_unsatisfiable_one_416_several_200(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    fix_mtime(&x);
    int c = hx_connect(&x);
    struct rx rx;
#define RANGE(r) "GET /c.txt HTTP/1.1\r\nHost: h\r\nRange: " r "\r\n\r\n"
    exchange(&x, c, &rx,
             RANGE("bytes=0-0") RANGE("bytes=1-") RANGE("bytes=-2") RANGE("bytes=2-100") RANGE("bytes=4-")
             RANGE("bytes=0-0,2-2") RANGE("bytes=2-1") RANGE("lines=1-2") RANGE("bytes=-0")
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-0\r\nIf-Range: " A_ETAG "\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-0\r\nIf-Range: \"old\"\r\n\r\n",
             11);
    assert_rsp(&rx.r[0], 206, "C");
    assert_non_null(strstr(rx.r[0].head, "\r\nContent-Range: bytes 0-0/4\r\n"));
    assert_rsp(&rx.r[1], 206, "CC\n");
    assert_non_null(strstr(rx.r[1].head, "\r\nContent-Range: bytes 1-3/4\r\n"));
    assert_rsp(&rx.r[2], 206, "C\n");
    assert_rsp(&rx.r[3], 206, "C\n");
    assert_non_null(strstr(rx.r[3].head, "\r\nContent-Range: bytes 2-3/4\r\n"));
    assert_rsp(&rx.r[4], 416, NULL);
    assert_non_null(strstr(rx.r[4].head, "\r\nContent-Range: bytes */4\r\n"));
    assert_rsp(&rx.r[5], 200, "CCC\n");   /* several ranges: the whole */
    assert_rsp(&rx.r[6], 200, "CCC\n");   /* invalid: ignored */
    assert_rsp(&rx.r[7], 200, "CCC\n");   /* another unit */
    assert_rsp(&rx.r[8], 416, NULL);
    assert_rsp(&rx.r[9], 206, "A");
    assert_rsp(&rx.r[10], 200, "A\n");    /* If-Range does not match: the whole */
#undef RANGE
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* Expect: 100-continue: the 100 comes before the body is sent, the final
 * answer only after it; an unknown expectation is 417 and the connection
 * closes (its body is never read). */
static void expect_100_continue_then_the_body_and_417_for_other_expectations(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    hx_send(&x, c, "GET /b.txt HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    struct rx rx = {0};
    us_time_t t0 = hx_now(&x);
    hx_run_until(&x, t0 + US_MS(500));
    ssize_t r = us_tp_read(x.ctp, c, rx.buf, sizeof(rx.buf), hx_now(&x));
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    assert_int_equal(r, sizeof(cont) - 1);
    assert_memory_equal(rx.buf, cont, sizeof(cont) - 1);
    rx.len = (size_t)r;
    hx_send(&x, c, "hello" GET("/a.txt"));
    hx_collect_exactly(&x, c, &rx, 2);
    assert_rsp(&rx.r[0], 200, "BB\n");
    assert_rsp(&rx.r[1], 200, "A\n");
    hx_close_clean(&x, c);

    c = hx_connect(&x);
    memset(&rx, 0, sizeof(rx));
    hx_send(&x, c, "POST /a.txt HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 5\r\n\r\n");
    hx_collect(&x, c, &rx, 1, true, US_SEC(3));
    assert_rsp(&rx.r[0], 417, NULL);
    assert_true(rx.r[0].close);
    assert_null(strstr(rx.buf, "100 Continue"));
    hx_close_clean(&x, c);
    hx_free(&x);
}

static void other_methods_405_with_allow_unknown_501_head_without_body(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    struct rx rx = {0};
    rx.head_mask = 1u << 2;
    hx_send(&x, c, "DELETE /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"
                   "BREW /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"
                   "HEAD /c.txt HTTP/1.1\r\nHost: h\r\n\r\n"
                   "PUT /a.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                   "GET /a.txt HTTP/1.0\r\n\r\n");
    hx_collect(&x, c, &rx, 5, true, US_SEC(3));
    assert_int_equal(rx.n, 5);
    assert_rsp(&rx.r[0], 405, NULL);
    assert_non_null(strstr(rx.r[0].head, "\r\nAllow: GET, HEAD\r\n"));
    assert_rsp(&rx.r[1], 501, NULL);
    assert_rsp(&rx.r[2], 200, "");
    assert_non_null(strstr(rx.r[2].head, "\r\nContent-Length: 4\r\n"));
    assert_rsp(&rx.r[3], 405, NULL);
    /* HTTP/1.0 without keep-alive: answered, then closed */
    assert_rsp(&rx.r[4], 200, "A\n");
    assert_true(rx.r[4].close);
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* Paths stay under the root: dot segments, encoded dots and slashes, NUL
 * and a symbolic link out of the root are refused; a directory redirects to
 * its name with '/', then serves its index.html. */
static void paths_cannot_leave_the_root(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    char p[512];
    snprintf(p, sizeof(p), "%s/sub", x.root);
    mkdir(p, 0755);
    put_file(p, "index.html", "sub\n");
    snprintf(p, sizeof(p), "%s/out", x.root);
    unlink(p);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof(p), "%s/in", x.root);
    unlink(p);
    assert_int_equal(symlink("b.txt", p), 0);
    int c = hx_connect(&x);
    struct rx rx;
    exchange(&x, c, &rx,
             GET("/../etc/passwd") GET("/%2e%2e/etc/passwd") GET("/sub/..%2f..%2fetc") GET("/a%00.txt")
             GET("/out") GET("/in") GET("/sub") GET("/sub/") GET("/sub/../a.txt") GET("/%61.txt?q=1")
             GET("/nothing") GET("/a.txt/") GET("/%zz"),
             13);
    static const int want[] = {400, 400, 400, 400, 403, 200, 301, 200, 200, 200, 404, 404, 400};
    for (int i = 0; i < 13; i++)
        assert_rsp(&rx.r[i], want[i], NULL);
    assert_rsp(&rx.r[5], 200, "BB\n");
    assert_non_null(strstr(rx.r[6].head, "\r\nLocation: /sub/\r\n"));
    assert_rsp(&rx.r[7], 200, "sub\n");
    assert_rsp(&rx.r[8], 200, "A\n");
    assert_rsp(&rx.r[9], 200, "A\n");
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* Connection on both sides: a 1.1 request with Connection: close is answered
 * with Connection: close and our FIN right behind the response; a 1.0
 * request asking for keep-alive gets Connection: keep-alive and the
 * connection stays open for the next one. */
static void connection_close_and_1_0_keep_alive_are_honoured(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    int c = hx_connect(&x);
    struct rx rx = {0};
    hx_send(&x, c, "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    hx_collect(&x, c, &rx, 1, false, US_SEC(1));
    assert_rsp(&rx.r[0], 200, "A\n");
    assert_non_null(strstr(rx.r[0].head, "\r\nConnection: keep-alive\r\n"));
    hx_run_until(&x, hx_now(&x) + US_SEC(1));
    assert_int_equal(count_segs(&x.tr, 1, F_FIN, 0), 0);
    hx_send(&x, c, "GET /b.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    hx_collect(&x, c, &rx, 2, true, US_SEC(1));
    assert_rsp(&rx.r[1], 200, "BB\n");
    assert_true(rx.r[1].close);
    const struct seg *resp = last_data_seg(&x.tr, 1), *fin = find_seg(&x.tr, 1, F_FIN, false, 0);
    assert_non_null(fin);
    assert_true(fin == resp || fin->t == resp->t);   /* the FIN rides with the response or leaves at once */
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* ---- limits and robustness ---- */

/* max_requests 3: the third response says Connection: close and our FIN
 * follows; a fourth request pipelined behind it is not answered. */
static void the_last_request_a_connection_may_carry_is_answered_with_close(void **st)
{
    (void)st;
    struct us_http_server_config cfg;
    us_http_server_config_default(&cfg);
    cfg.max_requests = 3;
    struct hx x;
    hx_init(&x, &cfg);
    int c = hx_connect(&x);
    struct rx rx = {0};
    hx_send(&x, c, GET("/a.txt") GET("/b.txt") GET("/c.txt") GET("/a.txt"));
    hx_collect(&x, c, &rx, 3, true, US_SEC(2));
    assert_int_equal(rx.n, 3);
    assert_false(rx.r[0].close);
    assert_false(rx.r[1].close);
    assert_true(rx.r[2].close);
    assert_rsp(&rx.r[2], 200, "CCC\n");
    assert_int_equal(count_segs(&x.tr, 1, F_FIN, 0), 1);
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* More pipelined requests than the read-ahead bound holds: the server stops
 * reading at the bound, resumes as it answers, and answers each request
 * once, in order, the last one (Connection: close) with its FIN. */
static void pipelined_requests_beyond_the_read_ahead_bound_are_all_answered(void **st)
{
    (void)st;
    struct us_http_server_config cfg;
    us_http_server_config_default(&cfg);
    cfg.max_requests = 0;        /* (the default 1000 would close first) */
    struct hx x;
    hx_init(&x, &cfg);
    int c = hx_connect(&x);
    enum { N = 3000 };
    static const char ra[] = "GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n", rb[] = "GET /b.txt HTTP/1.1\r\nHost: h\r\n\r\n";
    static const char last[] = "GET /c.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    size_t reqlen = (N / 2) * (sizeof(ra) - 1 + sizeof(rb) - 1) + sizeof(last) - 1, off = 0;
    char *req = malloc(reqlen + 1);
    for (int i = 0; i < N / 2; i++) {
        memcpy(req + off, ra, sizeof(ra) - 1);
        off += sizeof(ra) - 1;
        memcpy(req + off, rb, sizeof(rb) - 1);
        off += sizeof(rb) - 1;
    }
    memcpy(req + off, last, sizeof(last));
    assert_true(reqlen > 65536);
    size_t cap = (size_t)(N + 1) * 400, got = 0, sent = 0;
    char *in = malloc(cap);
    bool eof = false;
    us_time_t limit = hx_now(&x) + US_SEC(30);
    while (!eof && hx_now(&x) < limit) {
        if (sent < reqlen) {
            ssize_t w = us_tp_write(x.ctp, c, req + sent, reqlen - sent, hx_now(&x));
            assert_true(w > 0 || w == -EAGAIN);
            sent += w > 0 ? (size_t)w : 0;
        }
        ssize_t r;
        while ((r = us_tp_read(x.ctp, c, in + got, cap - got, hx_now(&x))) > 0)
            got += (size_t)r;
        eof = r == 0;
        hx_tick(&x, limit);
    }
    assert_true(eof);
    assert_int_equal(sent, reqlen);
    /* N + 1 responses, bodies alternating A, BB, then CCC */
    size_t pos = 0;
    int n = 0;
    while (pos < got) {
        struct us_http_field f[32];
        struct us_http_parser p;
        us_http_parser_init(&p, US_HTTP_RESPONSE, NULL, f, 32);
        assert_int_equal(us_http_parse_head(&p, in + pos, got - pos), US_HTTP_COMPLETE);
        assert_int_equal(p.msg.status, 200);
        const char *want = n == N ? "CCC\n" : n % 2 ? "BB\n" : "A\n";
        assert_int_equal(p.msg.content_length, strlen(want));
        assert_memory_equal(in + pos + p.head_len, want, strlen(want));
        pos += p.head_len + p.msg.content_length;
        n++;
    }
    assert_int_equal(n, N + 1);
    free(req);
    free(in);
    hx_close_clean(&x, c);
    hx_free(&x);
}

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 300 connections each send a valid request mangled at random (bytes
 * replaced by CR, LF, NUL, SP, ':', '%', digits; cut short; repeated), then
 * half-close: every connection ends with the server's FIN, every byte it
 * sent parses as responses, and a valid request is answered afterwards. */
static void mangled_requests_are_answered_or_closed_and_the_server_serves_on(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    static const char base[] = "GET /a.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nRange: bytes=0-0\r\n"
                               "Transfer-Encoding: chunked\r\nIf-None-Match: \"x\"\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    static const char alphabet[] = "\r\n\0 :%09aZ-;,\"/.";
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 300; i++) {
        char m[512];
        size_t n = sizeof(base) - 1;
        memcpy(m, base, n);
        int edits = 1 + (int)(xs(&seed) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = xs(&seed) % n;
            switch (xs(&seed) % 4) {
            case 0: m[at] = alphabet[xs(&seed) % (sizeof(alphabet) - 1)]; break;
            case 1: n = at + 1; break;                               /* cut short */
            case 2: if (n < sizeof(m) - 16) { memmove(m + at + 1, m + at, n - at); m[at] = alphabet[xs(&seed) % 16]; n++; } break;
            default: if (n + n / 2 < sizeof(m)) { memcpy(m + n, m, n / 2); n += n / 2; } break; /* repeated */
            }
        }
        int c = hx_connect(&x);
        assert_int_equal(us_tp_write(x.ctp, c, m, n, hx_now(&x)), (ssize_t)n);
        assert_int_equal(us_tp_shutdown(x.ctp, c, hx_now(&x)), 0);
        struct rx rx = {0};
        hx_collect(&x, c, &rx, 0, true, HEADER + US_SEC(2));
        us_tp_close(x.ctp, c, hx_now(&x));
    }
    hx_run_until(&x, hx_now(&x) + LINGER + US_SEC(1));
    struct us_http_server_stats s;
    us_http_server_stats(x.srv, &s);
    assert_int_equal(s.open, 0);
    assert_int_equal(s.accepted, 300);
    /* the mangling reached both ways: valid requests served, invalid ones refused */
    assert_true(s.requests > 5);
    assert_true(s.responses[4] > 100);
    int c = hx_connect(&x);
    struct rx rx = {0};
    hx_send(&x, c, GET("/a.txt"));
    hx_collect(&x, c, &rx, 1, false, US_SEC(1));
    assert_rsp(&rx.r[0], 200, "A\n");
    hx_free(&x);
}

/* max_conns 2: a third connection waits in the accept queue (its request
 * unanswered) until one of the two closes; then it is accepted and answered
 * at once. */
static void connections_past_max_conns_wait_until_one_closes(void **st)
{
    (void)st;
    struct us_http_server_config cfg;
    us_http_server_config_default(&cfg);
    cfg.max_conns = 2;
    struct hx x;
    hx_init(&x, &cfg);
    int c[3];
    struct rx rx[3];
    memset(rx, 0, sizeof(rx));
    for (int i = 0; i < 3; i++) {
        c[i] = hx_connect(&x);   /* the handshake completes: the stack's accept queue */
        hx_send(&x, c[i], GET("/a.txt"));
    }
    for (int i = 0; i < 2; i++)
        hx_collect(&x, c[i], &rx[i], 1, false, US_SEC(1));
    hx_run_until(&x, hx_now(&x) + US_SEC(1));
    assert_int_equal(us_tp_read(x.ctp, c[2], rx[2].buf, sizeof(rx[2].buf), hx_now(&x)), -EAGAIN);
    struct us_http_server_stats s;
    us_http_server_stats(x.srv, &s);
    assert_int_equal(s.accepted, 2);
    us_tp_close(x.ctp, c[0], hx_now(&x));
    us_time_t t0 = hx_now(&x);
    hx_collect(&x, c[2], &rx[2], 1, false, US_SEC(1));
    assert_rsp(&rx[2].r[0], 200, "A\n");
    /* the FIN's one-way trip, then the response's */
    assert_true(hx_now(&x) - t0 <= 2 * ONE_WAY + US_MS(1));
    us_tp_close(x.ctp, c[1], hx_now(&x));
    hx_close_clean(&x, c[2]);
    hx_free(&x);
}

/* A 2 MB file, whole and as a range spanning many send windows, arrives
 * byte-exact: the body is read from the file in windows behind the head. */
static void a_large_file_and_a_range_of_it_arrive_byte_exact(void **st)
{
    (void)st;
    struct hx x;
    hx_init(&x, NULL);
    enum { SIZE = 2000000 };
    uint8_t *data = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 9));
    char p[1024];
    snprintf(p, sizeof(p), "%s/big.bin", x.root);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, SIZE, f), SIZE);
    fclose(f);
    int c = hx_connect(&x);
    hx_send(&x, c, GET("/big.bin") "GET /big.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=100000-1899999\r\n"
                   "Connection: close\r\n\r\n");
    size_t cap = 2 * SIZE + 4096, got = 0;
    char *in = malloc(cap);
    us_time_t limit = hx_now(&x) + US_SEC(60);
    ssize_t r = -EAGAIN;
    while (r != 0 && hx_now(&x) < limit) {
        while ((r = us_tp_read(x.ctp, c, in + got, cap - got, hx_now(&x))) > 0)
            got += (size_t)r;
        if (r != 0)
            hx_tick(&x, limit);
    }
    assert_int_equal(r, 0);
    size_t pos = 0;
    for (int i = 0; i < 2; i++) {
        struct us_http_field fl[32];
        struct us_http_parser hp;
        us_http_parser_init(&hp, US_HTTP_RESPONSE, NULL, fl, 32);
        assert_int_equal(us_http_parse_head(&hp, in + pos, got - pos), US_HTTP_COMPLETE);
        assert_int_equal(hp.msg.status, i ? 206 : 200);
        size_t first = i ? 100000 : 0, n = i ? 1800000 : SIZE;
        assert_int_equal(hp.msg.content_length, n);
        assert_true(pos + hp.head_len + n <= got);
        assert_memory_equal(in + pos + hp.head_len, data + first, n);
        pos += hp.head_len + n;
    }
    assert_int_equal(pos, got);
    free(in);
    free(data);
    hx_close_clean(&x, c);
    hx_free(&x);
}

/* One access-log line per request, the time from `now` (virtual: 1970),
 * request line, status, body bytes, referer and user agent (quotes escaped);
 * a request the parser refused is logged with "-". */
static void each_request_gets_one_access_log_line(void **st)
{
    (void)st;
    char *log = NULL;
    size_t loglen = 0;
    struct us_http_server_config cfg;
    us_http_server_config_default(&cfg);
    cfg.access_log = open_memstream(&log, &loglen);
    assert_non_null(cfg.access_log);
    struct hx x;
    hx_init(&x, &cfg);
    int c = hx_connect(&x);
    struct rx rx = {0};
    hx_send(&x, c, "GET /b.txt HTTP/1.1\r\nHost: h\r\nUser-Agent: t\"q\r\nReferer: http://r/\r\n\r\n"
                   GET("/nothing") "GET / HTTP/1.1\r\nHost: h\r\nBad Field: x\r\n\r\n");
    hx_collect(&x, c, &rx, 3, true, US_SEC(2));
    us_http_server_step(x.srv, hx_now(&x));   /* the log is flushed after each step */
    const char *want = "198.18.0.1 - - [01/Jan/1970:00:00:0";
    char *l1 = strstr(log, want);
    assert_non_null(l1);
    assert_non_null(strstr(l1, "] \"GET /b.txt HTTP/1.1\" 200 3 \"http://r/\" \"t\\x22q\"\n"));
    assert_non_null(strstr(log, "] \"GET /nothing HTTP/1.1\" 404 14 \"-\" \"-\"\n"));
    assert_non_null(strstr(log, "] \"-\" 400 16 \"-\" \"-\"\n"));
    int lines = 0;
    for (const char *q = log; *q; q++)
        lines += *q == '\n';
    assert_int_equal(lines, 3);
    hx_close_clean(&x, c);
    hx_free(&x);
    fclose(cfg.access_log);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_keepalive_requests_take_one_handshake),
        cmocka_unit_test(pipelined_requests_in_one_segment_are_answered_in_order),
        cmocka_unit_test(idle_connection_is_closed_with_fin_exactly_at_the_idle_timeout),
        cmocka_unit_test(an_accept_keeps_the_idle_timer_of_another_connection),
        cmocka_unit_test(content_length_body_then_pipelined_request),
        cmocka_unit_test(chunked_body_then_pipelined_request),
        cmocka_unit_test(stalled_head_is_answered_408_exactly_at_the_header_timeout),
        cmocka_unit_test(malformed_request_is_answered_400_then_closed),
        cmocka_unit_test(validators_answer_304_to_if_none_match_and_if_modified_since),
        cmocka_unit_test(one_byte_range_is_206_an_unsatisfiable_one_416_several_200),
        cmocka_unit_test(expect_100_continue_then_the_body_and_417_for_other_expectations),
        cmocka_unit_test(other_methods_405_with_allow_unknown_501_head_without_body),
        cmocka_unit_test(paths_cannot_leave_the_root),
        cmocka_unit_test(connection_close_and_1_0_keep_alive_are_honoured),
        cmocka_unit_test(the_last_request_a_connection_may_carry_is_answered_with_close),
        cmocka_unit_test(pipelined_requests_beyond_the_read_ahead_bound_are_all_answered),
        cmocka_unit_test(connections_past_max_conns_wait_until_one_closes),
        cmocka_unit_test(a_large_file_and_a_range_of_it_arrive_byte_exact),
        cmocka_unit_test(each_request_gets_one_access_log_line),
        cmocka_unit_test(mangled_requests_are_answered_or_closed_and_the_server_serves_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
