/* HTTP/1.1 parser (RFC 9112): every message below is parsed in one piece, at
 * every split point into two pieces and byte by byte, each piece in a buffer
 * that ends exactly where the data ends (so ASan catches any overread), and
 * each time the outcome — status, head, body, where the next message starts —
 * must be the same. Rejections carry the status the server must answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ustack/http.h>

/* the case tables give the leading fields by position and leave the rest zero */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define MAXF 16
#define RAW(s) s, sizeof(s) - 1

struct tcase {
    const char *name;
    int kind;
    const char *raw;
    size_t len;
    int rc;               /* expected outcome */
    int status;           /* on error */
    const char *body;     /* decoded body on success */
    size_t rest;          /* bytes after the message (a pipelined next one) */
    bool head_req;        /* response to HEAD */
    bool eof;             /* the peer closes after the input */
    const struct us_http_limits *lim;
    const char *why;      /* on error: the reason must contain this */
    void (*check)(const struct tcase *tc, const struct us_http_msg *m);
};

struct outcome {
    int rc, status;
    const char *error;
    uint32_t head_len;
    struct us_http_msg msg;
    struct us_http_field fields[MAXF];
    char body[8192];
    size_t body_len;
    size_t end;           /* offset just after the message */
};

/* Parses what is in buf[0..have): the head until complete, then the body. */
static void step(struct us_http_parser *p, struct us_http_body *b, bool *in_body, const char *buf,
                 size_t have, size_t *off, struct outcome *o)
{
    if (!*in_body) {
        int rc = us_http_parse_head(p, buf, have);
        if (rc == US_HTTP_ERROR) {
            o->rc = rc;
            o->status = p->status;
            o->error = p->error;
            assert_non_null(p->error);
            return;
        }
        if (rc == US_HTTP_NEED_MORE)
            return;
        assert_int_equal(rc, US_HTTP_COMPLETE);
        o->head_len = p->head_len;
        o->msg = p->msg;
        assert_true(p->msg.nfields <= MAXF);
        memcpy(o->fields, p->msg.fields, p->msg.nfields * sizeof(o->fields[0]));
        o->msg.fields = NULL;
        us_http_body_init(b, &p->msg, &p->lim);
        *in_body = true;
        *off = p->head_len;
    }
    for (;;) {
        size_t used;
        struct us_http_span d;
        int rc = us_http_body_parse(b, buf + *off, have - *off, &used, &d);
        assert_true(used <= have - *off);
        assert_true(d.off + d.len <= used);
        assert_true(o->body_len + d.len <= sizeof(o->body));
        memcpy(o->body + o->body_len, buf + *off + d.off, d.len);
        o->body_len += d.len;
        *off += used;
        if (rc == US_HTTP_ERROR) {
            o->rc = rc;
            o->status = b->status;
            o->error = b->error;
            return;
        }
        if (rc == US_HTTP_COMPLETE) {
            o->rc = rc;
            o->end = *off;
            return;
        }
        if (*off >= have)
            return;
        assert_true(used > 0); /* NEED_MORE with input left must make progress */
    }
}

/* Feeds tc->raw in pieces ending at cuts[0], cuts[1], …, then the end. */
static void feed(const struct tcase *tc, const size_t *cuts, size_t ncuts, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    struct us_http_parser p;
    struct us_http_field f[MAXF];
    struct us_http_body b;
    us_http_parser_init(&p, tc->kind, tc->lim, f, MAXF);
    p.head_request = tc->head_req;
    bool in_body = false;
    size_t off = 0;
    char *buf = NULL;
    o->rc = US_HTTP_NEED_MORE;
    for (size_t k = 0; k <= ncuts && o->rc == US_HTTP_NEED_MORE; k++) {
        size_t upto = k < ncuts ? cuts[k] : tc->len;
        /* a new exact-size buffer each time: the data moves, and a read past
         * its end is an ASan error */
        char *nb = malloc(upto ? upto : 1);
        memcpy(nb, tc->raw, upto);
        free(buf);
        buf = nb;
        step(&p, &b, &in_body, buf, upto, &off, o);
    }
    if (o->rc == US_HTTP_NEED_MORE && in_body && tc->eof) {
        o->rc = us_http_body_eof(&b);
        o->end = off;
        if (o->rc == US_HTTP_ERROR) {
            o->status = b.status;
            o->error = b.error;
        }
    }
    free(buf);
}

#define SAME(cond)                                                                         \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail_msg("%s (%s): %s differs from the one-piece parse", tc->name, how, #cond); \
    } while (0)

static bool span_eq(struct us_http_span a, struct us_http_span b) { return a.off == b.off && a.len == b.len; }

static void same_outcome(const struct tcase *tc, const char *how, const struct outcome *a, const struct outcome *o)
{
    SAME(a->rc == o->rc);
    SAME(a->status == o->status);
    SAME(a->rc != US_HTTP_ERROR || strcmp(a->error, o->error) == 0);
    SAME(a->head_len == o->head_len);
    SAME(a->body_len == o->body_len && memcmp(a->body, o->body, a->body_len) == 0);
    SAME(a->end == o->end);
    const struct us_http_msg *x = &a->msg, *y = &o->msg;
    SAME(span_eq(x->method, y->method) && span_eq(x->target, y->target) && span_eq(x->path, y->path));
    SAME(span_eq(x->authority, y->authority) && span_eq(x->reason, y->reason));
    SAME(x->method_id == y->method_id && x->target_form == y->target_form && x->minor == y->minor);
    SAME(x->status == y->status && x->framing == y->framing && x->content_length == y->content_length);
    SAME(x->flags == y->flags && x->keep_alive == y->keep_alive && x->nfields == y->nfields);
    for (uint32_t i = 0; i < x->nfields; i++)
        SAME(span_eq(a->fields[i].name, o->fields[i].name) && span_eq(a->fields[i].value, o->fields[i].value));
}

/* One piece, every two-piece split, byte by byte; checks the expectation. */
static void run_case(const struct tcase *tc0)
{
    struct tcase tcv = *tc0;
    const struct tcase *tc = &tcv;
    if (!tcv.len)
        tcv.len = strlen(tcv.raw);
    struct outcome *one = malloc(sizeof(*one)), *o = malloc(sizeof(*o));
    feed(tc, NULL, 0, one);
    if (one->rc != tc->rc)
        fail_msg("%s: outcome %d, expected %d (status %d: %s)", tc->name, one->rc, tc->rc, one->status,
                 one->error ? one->error : "");
    if (tc->rc == US_HTTP_ERROR && one->status != tc->status)
        fail_msg("%s: status %d (%s), expected %d", tc->name, one->status, one->error, tc->status);
    if (tc->rc == US_HTTP_ERROR && tc->why && !strstr(one->error, tc->why))
        fail_msg("%s: rejected for \"%s\", expected \"%s\"", tc->name, one->error, tc->why);
    if (tc->rc == US_HTTP_COMPLETE) {
        const char *want = tc->body ? tc->body : "";
        if (one->body_len != strlen(want) || memcmp(one->body, want, one->body_len) != 0)
            fail_msg("%s: body \"%.*s\", expected \"%s\"", tc->name, (int)one->body_len, one->body, want);
        if (one->end != tc->len - tc->rest)
            fail_msg("%s: message ends at %zu, expected %zu", tc->name, one->end, tc->len - tc->rest);
        if (tc->check) {
            struct us_http_msg m = one->msg;
            m.fields = one->fields;
            tc->check(tc, &m);
        }
    }
    for (size_t k = 0; k <= tc->len; k++) {
        char how[32];
        snprintf(how, sizeof(how), "split at %zu", k);
        feed(tc, &k, 1, o);
        same_outcome(tc, how, one, o);
    }
    size_t *cuts = malloc(tc->len * sizeof(size_t) + 1);
    for (size_t k = 0; k < tc->len; k++)
        cuts[k] = k + 1;
    feed(tc, cuts, tc->len, o);
    same_outcome(tc, "byte by byte", one, o);
    free(cuts);
    free(one);
    free(o);
}

static void run_table(const struct tcase *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_case(&t[i]);
}
#define RUN(t) run_table(t, sizeof(t) / sizeof(t[0]))

static bool is(const struct tcase *tc, struct us_http_span s, const char *want)
{
    return s.len == strlen(want) && memcmp(tc->raw + s.off, want, s.len) == 0;
}

/* ---- valid requests ---------------------------------------------------------- */

static void check_get(const struct tcase *tc, const struct us_http_msg *m)
{
    assert_true(is(tc, m->method, "GET"));
    assert_int_equal(m->method_id, US_HTTP_M_GET);
    assert_true(is(tc, m->target, "/index.html?q=1"));
    assert_true(is(tc, m->path, "/index.html?q=1"));
    assert_int_equal(m->target_form, US_HTTP_T_ORIGIN);
    assert_true(is(tc, m->authority, "example.com"));
    assert_int_equal(m->minor, 1);
    assert_int_equal(m->nfields, 2);
    assert_true(is(tc, m->fields[1].name, "User-Agent"));
    assert_true(is(tc, m->fields[1].value, "t/1"));
    assert_int_equal(m->framing, US_HTTP_BODY_NONE);
    assert_true(m->keep_alive);
    const struct us_http_field *f = us_http_find(m, tc->raw, "user-agent");
    assert_ptr_equal(f, &m->fields[1]);
    assert_null(us_http_find(m, tc->raw, "accept"));
}

static void check_http10(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->minor, 0);
    assert_false(m->keep_alive);
    assert_int_equal(m->authority.len, 0);
}

static void check_keepalive(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_true(m->keep_alive);
    assert_true(m->flags & US_HTTP_F_CONN_KEEPALIVE);
}

static void check_close(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_false(m->keep_alive);
    assert_true(m->flags & US_HTTP_F_CONN_CLOSE);
    assert_true(m->flags & US_HTTP_F_CONN_UPGRADE);
}

static void check_length(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->framing, US_HTTP_BODY_LENGTH);
    assert_int_equal(m->content_length, 5);
    assert_true(m->flags & US_HTTP_F_CONTENT_LENGTH);
}

static void check_chunked(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->framing, US_HTTP_BODY_CHUNKED);
    assert_true(m->flags & US_HTTP_F_CHUNKED);
}

static void check_absolute(const struct tcase *tc, const struct us_http_msg *m)
{
    assert_int_equal(m->target_form, US_HTTP_T_ABSOLUTE);
    assert_true(is(tc, m->authority, "example.com:8080")); /* the target's, not Host's */
    assert_true(is(tc, m->path, "/a/b?c=d"));
}

static void check_absolute_empty_path(const struct tcase *tc, const struct us_http_msg *m)
{
    assert_int_equal(m->target_form, US_HTTP_T_ABSOLUTE);
    assert_true(is(tc, m->authority, "[::1]:80"));
    assert_int_equal(m->path.len, 0);
}

static void check_asterisk(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->method_id, US_HTTP_M_OPTIONS);
    assert_int_equal(m->target_form, US_HTTP_T_ASTERISK);
}

static void check_leading_crlf(const struct tcase *tc, const struct us_http_msg *m)
{
    assert_int_equal(m->method.off, 4);
    assert_true(is(tc, m->method, "GET"));
}

static void check_ows(const struct tcase *tc, const struct us_http_msg *m)
{
    assert_true(is(tc, m->fields[1].value, "a \t b"));
    assert_true(is(tc, m->fields[2].value, ""));
    assert_true(is(tc, m->fields[3].value, "\x80\xff obs-text"));
}

static void check_expect(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_true(m->flags & US_HTTP_F_EXPECT_CONTINUE);
    assert_false(m->flags & US_HTTP_F_EXPECT_OTHER);
}

static void check_expect10(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_false(m->flags & US_HTTP_F_EXPECT_CONTINUE); /* RFC 9110 10.1.1: ignored on 1.0 */
}

static void check_expect_other(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_true(m->flags & US_HTTP_F_EXPECT_OTHER);
}

static void check_minor2(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->minor, 2);
    assert_true(m->keep_alive);
}

static void check_method_other(const struct tcase *tc, const struct us_http_msg *m)
{
    assert_int_equal(m->method_id, US_HTTP_M_OTHER);
    assert_true(is(tc, m->method, "get"));
}

static const struct tcase valid_requests[] = {
    {"GET with Host", US_HTTP_REQUEST, RAW("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "", 0, .check = check_get},
    {"HTTP/1.0 without Host, not persistent", US_HTTP_REQUEST, RAW("GET / HTTP/1.0\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0,
     .check = check_http10},
    {"HTTP/1.0 keep-alive", US_HTTP_REQUEST, RAW("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "", 0, .check = check_keepalive},
    {"Connection: close among tokens", US_HTTP_REQUEST,
     RAW("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, , close\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0,
     .check = check_close},
    {"Content-Length body then a pipelined request", US_HTTP_REQUEST,
     RAW("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "hello", 27, .check = check_length},
    {"Content-Length 0", US_HTTP_REQUEST, RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\nX"),
     US_HTTP_COMPLETE, 0, "", 1},
    {"Content-Length with leading zeros", US_HTTP_REQUEST,
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 005\r\n\r\nhello"), US_HTTP_COMPLETE, 0, "hello", 0,
     .check = check_length},
    {"Content-Length list and repeat that agree", US_HTTP_REQUEST,
     RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello"),
     US_HTTP_COMPLETE, 0, "hello", 0, .check = check_length},
    {"chunked with extensions and trailers, then a pipelined request", US_HTTP_REQUEST,
     RAW("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;a=b;c=\"q\\\"x\"\r\nhello\r\n"
         "0A ; ext ; n = v\r\n, world!!!\r\n"
         "000;last\r\nX-Trailer: 1\r\nY: two words\r\n\r\n"
         "GET / HTTP/1.1\r\n"),
     US_HTTP_COMPLETE, 0, "hello, world!!!", 16, .check = check_chunked},
    {"chunked, mixed case, HTAB before the value", US_HTTP_REQUEST,
     RAW("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tChunked\r\n\r\n1\r\na\r\nF\r\n0123456789abcde\r\n0\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "a0123456789abcde", 0, .check = check_chunked},
    {"chunk size with leading zeros beyond 16 digits", US_HTTP_REQUEST,
     RAW("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n000000000000000000002\r\nok\r\n0\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "ok", 0},
    {"absolute-form target", US_HTTP_REQUEST,
     RAW("GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: other\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0,
     .check = check_absolute},
    {"absolute-form with an IPv6 literal and no path", US_HTTP_REQUEST,
     RAW("GET HTTPS://[::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0,
     .check = check_absolute_empty_path},
    {"OPTIONS *", US_HTTP_REQUEST, RAW("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0,
     .check = check_asterisk},
    {"empty lines before the request line are skipped", US_HTTP_REQUEST,
     RAW("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0, .check = check_leading_crlf},
    {"OWS around values, inner whitespace and obs-text kept", US_HTTP_REQUEST,
     RAW("GET / HTTP/1.1\r\nHost: h\r\nA: \t a \t b \t\r\nEmpty:\r\nO: \x80\xff obs-text\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "", 0, .check = check_ows},
    {"empty Host is valid", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost:\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0},
    {"Expect: 100-continue", US_HTTP_REQUEST,
     RAW("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok"), US_HTTP_COMPLETE,
     0, "ok", 0, .check = check_expect},
    {"Expect: 100-continue ignored on 1.0", US_HTTP_REQUEST,
     RAW("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"), US_HTTP_COMPLETE, 0, "ok", 0,
     .check = check_expect10},
    {"unknown expectation flagged", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost: h\r\nExpect: x=\"1,2\"\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "", 0, .check = check_expect_other},
    {"HTTP/1.2 is processed as 1.1", US_HTTP_REQUEST, RAW("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), US_HTTP_COMPLETE,
     0, "", 0, .check = check_minor2},
    {"methods are case-sensitive tokens", US_HTTP_REQUEST, RAW("get / HTTP/1.1\r\nHost: h\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "", 0, .check = check_method_other},
    {"Host with a port and a percent-encoded name", US_HTTP_REQUEST,
     RAW("GET / HTTP/1.1\r\nHost: a%41b.example:8080\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0},
    {"incomplete head waits", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost: h\r\n"), US_HTTP_NEED_MORE, 0, NULL, 0},
    {"incomplete body waits", US_HTTP_REQUEST, RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc"),
     US_HTTP_NEED_MORE, 0, NULL, 0},
};

static void valid_requests_parse_the_same_at_every_split_point(void **s)
{
    (void)s;
    RUN(valid_requests);
}

/* ---- rejections ----------------------------------------------------------------- */

#define H "Host: h\r\n"
static const struct tcase bad_request_lines[] = {
    {"HTTP/2.0 request line", US_HTTP_REQUEST, RAW("GET / HTTP/2.0\r\n" H "\r\n"), US_HTTP_ERROR, 505, .why = "major"},
    {"HTTP/3.0 request line", US_HTTP_REQUEST, RAW("GET / HTTP/3.0\r\n" H "\r\n"), US_HTTP_ERROR, 505,
     .why = "HTTP major version not supported"},
    {"HTTP/0.9 version", US_HTTP_REQUEST, RAW("GET / HTTP/0.9\r\n\r\n"), US_HTTP_ERROR, 505,
     .why = "HTTP major version not supported"},
    {"no version (HTTP/0.9 style)", US_HTTP_REQUEST, RAW("GET /\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid request-target"},
    {"lowercase protocol name", US_HTTP_REQUEST, RAW("GET / http/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid HTTP version"},
    {"two-digit minor", US_HTTP_REQUEST, RAW("GET / HTTP/1.10\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid HTTP version"},
    {"double space after method", US_HTTP_REQUEST, RAW("GET  / HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid request-target"},
    {"space in the target", US_HTTP_REQUEST, RAW("GET /a b HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid HTTP version"},
    {"trailing space after version", US_HTTP_REQUEST, RAW("GET / HTTP/1.1 \r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid HTTP version"},
    {"HTAB as separator", US_HTTP_REQUEST, RAW("GET\t/ HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid method"},
    {"non-ASCII in the target", US_HTTP_REQUEST, RAW("GET /\xc3\xa9 HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid request-target"},
    {"NUL in the request line", US_HTTP_REQUEST, RAW("GET /\0 HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid request-target"},
    {"bare CR in the request line", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\rHost: h\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "bare CR"},
    {"bare LF after the request line", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "bare LF"},
    {"bare LF as the first byte", US_HTTP_REQUEST, RAW("\nGET / HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "bare LF"},
    {"method with a separator", US_HTTP_REQUEST, RAW("GE(T / HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid method"},
    {"CONNECT authority-form is not implemented", US_HTTP_REQUEST, RAW("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
     US_HTTP_ERROR, 501, .why = "CONNECT not implemented"},
    {"CONNECT with an origin-form target", US_HTTP_REQUEST, RAW("CONNECT / HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "CONNECT without an authority-form target"},
    {"CONNECT without a port", US_HTTP_REQUEST, RAW("CONNECT example.com HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "CONNECT without an authority-form target"},
    {"asterisk on GET", US_HTTP_REQUEST, RAW("GET * HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "asterisk-form target on a method other than OPTIONS"},
    {"authority-form on GET", US_HTTP_REQUEST, RAW("GET example.com:80 HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "request-target is neither origin nor absolute form"},
    {"absolute-form of another scheme", US_HTTP_REQUEST, RAW("GET ftp://h/ HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "request-target is neither origin nor absolute form"},
    {"absolute-form with an empty host", US_HTTP_REQUEST, RAW("GET http:///x HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid authority in the request-target"},
    {"absolute-form with userinfo", US_HTTP_REQUEST, RAW("GET http://u@h/ HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid authority in the request-target"},
    {"relative target", US_HTTP_REQUEST, RAW("GET index.html HTTP/1.1\r\n" H "\r\n"), US_HTTP_ERROR, 400,
     .why = "request-target is neither origin nor absolute form"},
};

static const struct tcase bad_fields[] = {
    {"no Host on 1.1", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nA: b\r\n\r\n"), US_HTTP_ERROR, 400, .why = "no Host"},
    {"two Host fields", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "more than one Host"},
    {"two Host fields on 1.0", US_HTTP_REQUEST, RAW("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "more than one Host"},
    {"Host with a space", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Host"},
    {"Host with userinfo", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Host"},
    {"Host with a bad port", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Host"},
    {"Host as a list", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Host"},
    {"space before the colon", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "before the colon"},
    {"HTAB before the colon", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A\t: b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "before the colon"},
    {"obs-fold", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\r\n c\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "obs-fold"},
    {"obs-fold with HTAB", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\r\n\tc\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "obs-fold"},
    {"whitespace before the first field", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "first field"},
    {"empty field name", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H ": b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "empty field name"},
    {"no colon", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "Abc\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid field name"},
    {"separator in a field name", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A(b: c\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid field name"},
    {"NUL in a field value", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\0c\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "NUL"},
    {"bare CR in a field value", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\rc\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "bare CR"},
    {"bare CR ending a field", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\rX: y\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "bare CR"},
    {"DEL in a field value", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\x7f\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "control character in a field value"},
    {"vertical tab in a field value", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\x0b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "control character in a field value"},
    {"bare LF ending a field", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\n\r\n"), US_HTTP_ERROR, 400,
     .why = "bare LF"},
    {"bare LF ending the head", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "\n"), US_HTTP_ERROR, 400,
     .why = "bare LF"},
    {"CR CR LF", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "A: b\r\r\n\r\n"), US_HTTP_ERROR, 400, .why = "bare CR"},
    {"bad Connection token", US_HTTP_REQUEST, RAW("GET / HTTP/1.1\r\n" H "Connection: a b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Connection"},
};

static void each_rejection_answers_its_status_at_every_split_point(void **s)
{
    (void)s;
    RUN(bad_request_lines);
    RUN(bad_fields);
}

#define POST "POST / HTTP/1.1\r\n" H
#define CH4 "chunked,chunked,chunked,chunked,"
#define CH256_16 CH4 CH4 CH4 CH4
#define CH256_64 CH256_16 CH256_16 CH256_16 CH256_16
#define CH256 CH256_64 CH256_64 CH256_64 CH256_64
static const struct tcase smuggling[] = {
    {"CL.TE: both Content-Length and Transfer-Encoding", US_HTTP_REQUEST,
     RAW(POST "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" H "\r\n"),
     US_HTTP_ERROR, 400, .why = "both"},
    {"TE.CL: Transfer-Encoding first", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400, .why = "both"},
    {"Content-Length values differ across fields", US_HTTP_REQUEST,
     RAW(POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), US_HTTP_ERROR, 400, .why = "differ"},
    {"Content-Length list that disagrees", US_HTTP_REQUEST, RAW(POST "Content-Length: 5, 6\r\n\r\nhello!"), US_HTTP_ERROR, 400,
     .why = "differ"},
    {"Content-Length with a sign", US_HTTP_REQUEST, RAW(POST "Content-Length: +5\r\n\r\nhello"), US_HTTP_ERROR, 400,
     .why = "invalid Content-Length"},
    {"negative Content-Length", US_HTTP_REQUEST, RAW(POST "Content-Length: -1\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Content-Length"},
    {"hex Content-Length", US_HTTP_REQUEST, RAW(POST "Content-Length: 0x5\r\n\r\nhello"), US_HTTP_ERROR, 400,
     .why = "invalid Content-Length"},
    {"Content-Length with inner space", US_HTTP_REQUEST, RAW(POST "Content-Length: 1 0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Content-Length"},
    {"empty Content-Length", US_HTTP_REQUEST, RAW(POST "Content-Length:\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Content-Length"},
    {"Content-Length with trailing junk", US_HTTP_REQUEST, RAW(POST "Content-Length: 5;\r\n\r\nhello"), US_HTTP_ERROR, 400,
     .why = "invalid Content-Length"},
    {"Content-Length above 2^64", US_HTTP_REQUEST, RAW(POST "Content-Length: 18446744073709551616\r\n\r\n"), US_HTTP_ERROR, 413,
     .why = "Content-Length too large"},
    {"Content-Length of 2^64-1", US_HTTP_REQUEST, RAW(POST "Content-Length: 18446744073709551615\r\n\r\n"), US_HTTP_ERROR, 413,
     .why = "Content-Length above the body limit"},
    {"Transfer-Encoding: chunked, gzip (final is not chunked)", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400, .why = "not chunked"},
    {"Transfer-Encoding: gzip, chunked (unknown coding)", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 501, .why = "not implemented"},
    {"Transfer-Encoding: gzip alone", US_HTTP_REQUEST, RAW(POST "Transfer-Encoding: gzip\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "final transfer coding is not chunked"},
    {"Transfer-Encoding: xchunked", US_HTTP_REQUEST, RAW(POST "Transfer-Encoding: xchunked\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "final transfer coding is not chunked"},
    {"Transfer-Encoding: chunked, chunked", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400, .why = "more than once"},
    /* 257 is 1 in eight bits: a counter that wraps would see chunked once */
    {"Transfer-Encoding: chunked 257 times", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding: " CH256 "chunked\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400, .why = "more than once"},
    {"Transfer-Encoding over two lines, gzip last", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "not chunked"},
    {"chunked with parameters", US_HTTP_REQUEST, RAW(POST "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "chunked with parameters"},
    {"empty Transfer-Encoding", US_HTTP_REQUEST, RAW(POST "Transfer-Encoding:\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid Transfer-Encoding"},
    {"Transfer-Encoding in an HTTP/1.0 request", US_HTTP_REQUEST,
     RAW("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400, .why = "HTTP/1.0"},
    {"Transfer-Encoding with a vertical tab", US_HTTP_REQUEST, RAW(POST "Transfer-Encoding: \x0b" "chunked\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "control character in a field value"},
    {"space before the colon of Transfer-Encoding", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 400, .why = "before the colon"},
    {"obs-fold continuing Transfer-Encoding", US_HTTP_REQUEST,
     RAW(POST "Transfer-Encoding: gzip,\r\n chunked\r\n\r\n"), US_HTTP_ERROR, 400, .why = "obs-fold"},
};

#define TE POST "Transfer-Encoding: chunked\r\n\r\n"
static const struct tcase bad_chunks[] = {
    {"chunk size not hex", US_HTTP_REQUEST, RAW(TE "g\r\n"), US_HTTP_ERROR, 400, .why = "invalid chunk-size line"},
    {"negative chunk size", US_HTTP_REQUEST, RAW(TE "-1\r\n"), US_HTTP_ERROR, 400, .why = "invalid chunk-size line"},
    {"0x prefix in a chunk size", US_HTTP_REQUEST, RAW(TE "0x5\r\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"chunk size overflows 64 bits", US_HTTP_REQUEST, RAW(TE "10000000000000000\r\n"), US_HTTP_ERROR, 400,
     .why = "overflow"},
    {"chunk size of 2^64-1 is over the body limit", US_HTTP_REQUEST, RAW(TE "ffffffffffffffff\r\n"), US_HTTP_ERROR, 413,
     .why = "chunked body above the body limit"},
    {"empty chunk size", US_HTTP_REQUEST, RAW(TE "\r\n"), US_HTTP_ERROR, 400, .why = "invalid chunk-size line"},
    {"space after the chunk size without an extension", US_HTTP_REQUEST, RAW(TE "5 \r\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"space before the chunk size", US_HTTP_REQUEST, RAW(TE " 5\r\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"extension without a name", US_HTTP_REQUEST, RAW(TE "5;\r\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"extension with an empty value", US_HTTP_REQUEST, RAW(TE "5;a=\r\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"extension with an open quote", US_HTTP_REQUEST, RAW(TE "5;a=\"x\r\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"extension with a space inside the name", US_HTTP_REQUEST, RAW(TE "5;a b\r\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"bare LF after the chunk size", US_HTTP_REQUEST, RAW(TE "5\nhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"bare CR after the chunk size", US_HTTP_REQUEST, RAW(TE "5\rhello\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "bare CR in a chunk-size line"},
    {"chunk data longer than its size", US_HTTP_REQUEST, RAW(TE "5\r\nhello!\r\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "CRLF"},
    {"chunk data ended by a bare LF", US_HTTP_REQUEST, RAW(TE "5\r\nhello\n0\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "chunk data not followed by CRLF"},
    {"last chunk ended by a bare LF", US_HTTP_REQUEST, RAW(TE "0\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid chunk-size line"},
    {"trailer obs-fold", US_HTTP_REQUEST, RAW(TE "0\r\nA: b\r\n c\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid trailer field"},
    {"trailer space before colon", US_HTTP_REQUEST, RAW(TE "0\r\nA : b\r\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid trailer field"},
    {"trailer NUL", US_HTTP_REQUEST, RAW(TE "0\r\nA: \0\r\n\r\n"), US_HTTP_ERROR, 400, .why = "invalid trailer field"},
    {"trailer ended by a bare LF", US_HTTP_REQUEST, RAW(TE "0\r\nA: b\n\r\n"), US_HTTP_ERROR, 400,
     .why = "invalid trailer field"},
    {"end of body by a bare LF", US_HTTP_REQUEST, RAW(TE "0\r\n\n"), US_HTTP_ERROR, 400,
     .why = "invalid trailer field"},
};

static void smuggling_attempts_are_rejected_at_every_split_point(void **s)
{
    (void)s;
    RUN(smuggling);
    RUN(bad_chunks);
}

/* ---- limits -------------------------------------------------------------------- */

static char *repeat(const char *prefix, char c, size_t n, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *s = malloc(a + n + b + 1);
    memcpy(s, prefix, a);
    memset(s + a, c, n);
    memcpy(s + a + n, suffix, b + 1);
    return s;
}

static void limits_answer_414_431_and_413_exactly_at_the_boundary(void **s)
{
    (void)s;
    struct us_http_limits lim;
    us_http_limits_default(&lim);
    assert_int_equal(lim.max_request_line, 8192);
    assert_int_equal(lim.max_head, 32768);
    assert_int_equal(lim.max_fields, 100);
    assert_int_equal(lim.max_chunk_line, 4096);
    assert_int_equal(lim.max_body, 16u << 20);
    lim.max_request_line = 40;
    lim.max_head = 120;
    lim.max_fields = 4;
    lim.max_chunk_line = 12;
    lim.max_body = 10;

    /* request line "GET /aaa… HTTP/1.1": 4 + n + 9 bytes */
    char *ok = repeat("GET /", 'a', 40 - 14, " HTTP/1.1\r\nHost: h\r\n\r\n");
    char *over = repeat("GET /", 'a', 41 - 14, " HTTP/1.1\r\nHost: h\r\n\r\n");
    char *never = repeat("GET /", 'a', 60, "");
    /* head of exactly 120 bytes: 16 + 9 + (3 + n + 2) + 2 */
    char *head_ok = repeat("GET / HTTP/1.1\r\nHost: h\r\nA: ", 'v', 120 - 32, "\r\n\r\n");
    char *head_over = repeat("GET / HTTP/1.1\r\nHost: h\r\nA: ", 'v', 121 - 32, "\r\n\r\n");
    char *head_never = repeat("GET / HTTP/1.1\r\nHost: h\r\nA: ", 'v', 200, "");
    char *crlfs = repeat("", '\n', 0, "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n");
    char *ext_ok = repeat("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;", 'e', 10, "\r\nx\r\n0\r\n\r\n");
    char *ext_over = repeat("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;", 'e', 11, "\r\nx\r\n0\r\n\r\n");
    char *tr_over = repeat("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ", 't', 120, "\r\n\r\n");
    const struct tcase t[] = {
        {"request line at the limit", US_HTTP_REQUEST, ok, 0, US_HTTP_COMPLETE, 0, "", 0, .lim = &lim},
        {"request line one over", US_HTTP_REQUEST, over, 0, US_HTTP_ERROR, 414, .lim = &lim,
     .why = "request line too long"},
        {"request line that never ends", US_HTTP_REQUEST, never, 0, US_HTTP_ERROR, 414, .lim = &lim,
     .why = "request line too long"},
        {"empty lines count toward the request line", US_HTTP_REQUEST, crlfs, 0, US_HTTP_ERROR, 414, .lim = &lim,
     .why = "request line too long"},
        {"head at the limit", US_HTTP_REQUEST, head_ok, 0, US_HTTP_COMPLETE, 0, "", 0, .lim = &lim},
        {"head one over", US_HTTP_REQUEST, head_over, 0, US_HTTP_ERROR, 431, .lim = &lim,
     .why = "header section too large"},
        {"head that never ends", US_HTTP_REQUEST, head_never, 0, US_HTTP_ERROR, 431, .lim = &lim,
     .why = "header section too large"},
        {"fields at the limit", US_HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0,
         US_HTTP_COMPLETE, 0, "", 0, .lim = &lim},
        {"one field too many", US_HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 0,
         US_HTTP_ERROR, 431, .lim = &lim, .why = "too many header fields"},
        {"Content-Length at the body limit", US_HTTP_REQUEST, POST "Content-Length: 10\r\n\r\n0123456789", 0,
         US_HTTP_COMPLETE, 0, "0123456789", 0, .lim = &lim},
        {"Content-Length over the body limit", US_HTTP_REQUEST, POST "Content-Length: 11\r\n\r\n0123456789a", 0,
         US_HTTP_ERROR, 413, .lim = &lim, .why = "Content-Length above the body limit"},
        {"chunked at the body limit", US_HTTP_REQUEST, TE "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", 0,
         US_HTTP_COMPLETE, 0, "0123456789", 0, .lim = &lim},
        {"chunked over the body limit", US_HTTP_REQUEST, TE "5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", 0,
         US_HTTP_ERROR, 413, .lim = &lim, .why = "chunked body above the body limit"},
        {"chunk line at the limit", US_HTTP_REQUEST, ext_ok, 0, US_HTTP_COMPLETE, 0, "x", 0, .lim = &lim},
        {"chunk line over the limit", US_HTTP_REQUEST, ext_over, 0, US_HTTP_ERROR, 400, .lim = &lim,
     .why = "chunk-size line too long"},
        {"trailer section over the limit", US_HTTP_REQUEST, tr_over, 0, US_HTTP_ERROR, 431, .lim = &lim,
     .why = "trailer section too large"},
        {"too many trailer fields", US_HTTP_REQUEST, TE "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 0,
         US_HTTP_ERROR, 431, .lim = &lim, .why = "too many trailer fields"},
    };
    RUN(t);
    free(ok);
    free(over);
    free(never);
    free(head_ok);
    free(head_over);
    free(head_never);
    free(crlfs);
    free(ext_ok);
    free(ext_over);
    free(tr_over);
}

/* A field array smaller than max_fields is the effective limit. */
static void a_small_field_array_is_the_field_limit(void **s)
{
    (void)s;
    const char *m = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    struct us_http_field f[3];
    struct us_http_parser p;
    us_http_parser_init(&p, US_HTTP_REQUEST, NULL, f, 2);
    assert_int_equal(us_http_parse_head(&p, m, strlen(m)), US_HTTP_ERROR);
    assert_int_equal(p.status, 431);
    /* an error stays an error */
    assert_int_equal(us_http_parse_head(&p, m, strlen(m)), US_HTTP_ERROR);
    us_http_parser_init(&p, US_HTTP_REQUEST, NULL, f, 3);
    assert_int_equal(us_http_parse_head(&p, m, strlen(m)), US_HTTP_COMPLETE);
    assert_int_equal(p.msg.nfields, 3);
}

/* ---- responses ---------------------------------------------------------------- */

static void check_reason(const struct tcase *tc, const struct us_http_msg *m)
{
    assert_int_equal(m->status, 200);
    assert_true(is(tc, m->reason, "Fine by me"));
    assert_true(m->keep_alive);
    assert_int_equal(m->framing, US_HTTP_BODY_LENGTH);
}

static void check_no_reason(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->status, 404);
    assert_int_equal(m->reason.len, 0);
}

static void check_close_delimited(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->framing, US_HTTP_BODY_CLOSE);
    assert_false(m->keep_alive);
}

static void check_none(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->framing, US_HTTP_BODY_NONE);
    assert_true(m->keep_alive);
}

static void check_10_keepalive(const struct tcase *tc, const struct us_http_msg *m)
{
    (void)tc;
    assert_int_equal(m->minor, 0);
    assert_true(m->keep_alive);
}

static const struct tcase responses[] = {
    {"200 with Content-Length, then the next response", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 200 Fine by me\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\n"), US_HTTP_COMPLETE,
     0, "abc", 27, .check = check_reason},
    {"status line without a reason", US_HTTP_RESPONSE, RAW("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "", 0, .check = check_no_reason},
    {"status line without the SP before an empty reason", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"), US_HTTP_COMPLETE, 0, "", 0, .check = check_no_reason},
    {"chunked response with a trailer", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "Wikipedia", 0},
    {"close-delimited response", US_HTTP_RESPONSE, RAW("HTTP/1.1 200 OK\r\n\r\nuntil the end"), US_HTTP_COMPLETE,
     0, "until the end", 0, .eof = true, .check = check_close_delimited},
    {"close-delimited response not yet closed", US_HTTP_RESPONSE, RAW("HTTP/1.1 200 OK\r\n\r\nmore"),
     US_HTTP_NEED_MORE, 0, NULL, 0},
    {"response to HEAD has no body whatever Content-Length says", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\n"), US_HTTP_COMPLETE, 0, "", 17,
     .head_req = true, .check = check_none},
    {"204 has no body", US_HTTP_RESPONSE, RAW("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nX"),
     US_HTTP_COMPLETE, 0, "", 1, .check = check_none},
    {"304 has no body", US_HTTP_RESPONSE, RAW("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"),
     US_HTTP_COMPLETE, 0, "", 0, .check = check_none},
    {"100 Continue has no body", US_HTTP_RESPONSE, RAW("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
     US_HTTP_COMPLETE, 0, "", 17, .check = check_none},
    {"HTTP/1.0 response with keep-alive", US_HTTP_RESPONSE,
     RAW("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"), US_HTTP_COMPLETE, 0, "hi", 0,
     .check = check_10_keepalive},
    {"truncated Content-Length body", US_HTTP_RESPONSE, RAW("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"),
     US_HTTP_ERROR, 502, .eof = true, .why = "connection closed before the end of the body"},
    {"truncated chunked body", US_HTTP_RESPONSE, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
     US_HTTP_ERROR, 502, .eof = true, .why = "connection closed before the end of the body"},
    {"HTTP/2 status line", US_HTTP_RESPONSE, RAW("HTTP/2.0 200 OK\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "HTTP major version not supported"},
    {"two-digit status", US_HTTP_RESPONSE, RAW("HTTP/1.1 20 OK\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "invalid status code"},
    {"status 600", US_HTTP_RESPONSE, RAW("HTTP/1.1 600 X\r\n\r\n"), US_HTTP_ERROR, 502, .why = "invalid status code"},
    {"status 099", US_HTTP_RESPONSE, RAW("HTTP/1.1 099 X\r\n\r\n"), US_HTTP_ERROR, 502, .why = "invalid status code"},
    {"status with a fourth digit", US_HTTP_RESPONSE, RAW("HTTP/1.1 2000 X\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "invalid status line"},
    {"control character in the reason", US_HTTP_RESPONSE, RAW("HTTP/1.1 200 O\x01K\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "invalid reason phrase"},
    {"empty line before the status line", US_HTTP_RESPONSE, RAW("\r\nHTTP/1.1 200 OK\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "empty line before the status line"},
    {"response with CL and TE", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "both Content-Length and Transfer-Encoding"},
    {"response with an unknown coding", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "transfer coding not implemented"},
    {"response with a bad chunk", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), US_HTTP_ERROR, 502,
     .why = "invalid chunk-size line"},
    {"response with Content-Length values that differ", US_HTTP_RESPONSE,
     RAW("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"), US_HTTP_ERROR, 502,
     .why = "Content-Length values differ"},
    {"response with obs-fold", US_HTTP_RESPONSE, RAW("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"), US_HTTP_ERROR, 502,
     .why = "obs-fold (line folding)"},
    {"response line ended by a bare LF", US_HTTP_RESPONSE, RAW("HTTP/1.1 200 OK\n\r\n"), US_HTTP_ERROR, 502,
     .why = "bare LF"},
};

static void responses_are_framed_by_rfc9112_section_6_3_at_every_split_point(void **s)
{
    (void)s;
    RUN(responses);
}

/* ---- the interface around the parser ------------------------------------------ */

/* A 100 Continue and then the final response, on one parser, reset in between. */
static void parser_reset_parses_the_next_message_in_the_same_buffer(void **s)
{
    (void)s;
    const char *in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    struct us_http_field f[4];
    struct us_http_parser p;
    us_http_parser_init(&p, US_HTTP_RESPONSE, NULL, f, 4);
    assert_int_equal(us_http_parse_head(&p, in, strlen(in)), US_HTTP_COMPLETE);
    assert_int_equal(p.msg.status, 100);
    size_t off = p.head_len;
    us_http_parser_reset(&p);
    assert_int_equal(us_http_parse_head(&p, in + off, strlen(in) - off), US_HTTP_COMPLETE);
    assert_int_equal(p.msg.status, 201);
    assert_int_equal(p.msg.content_length, 2);
    /* complete stays complete; the field storage is still ours */
    assert_int_equal(us_http_parse_head(&p, in + off, strlen(in) - off), US_HTTP_COMPLETE);
    assert_ptr_equal(p.msg.fields, f);
}

/* Body data comes back as spans of the input, never copied. */
static void body_data_points_into_the_input(void **s)
{
    (void)s;
    const char *in = "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nNEXT";
    struct us_http_msg m = {.kind = US_HTTP_REQUEST, .framing = US_HTTP_BODY_CHUNKED};
    struct us_http_body b;
    us_http_body_init(&b, &m, NULL);
    size_t off = 0, used;
    struct us_http_span d;
    assert_int_equal(us_http_body_parse(&b, in, strlen(in), &used, &d), US_HTTP_NEED_MORE);
    assert_int_equal(d.off, 3);
    assert_int_equal(d.len, 3);
    off += used;
    assert_int_equal(us_http_body_parse(&b, in + off, strlen(in) - off, &used, &d), US_HTTP_NEED_MORE);
    assert_memory_equal(in + off + d.off, "de", 2);
    off += used;
    assert_int_equal(us_http_body_parse(&b, in + off, strlen(in) - off, &used, &d), US_HTTP_COMPLETE);
    assert_int_equal(d.len, 0);
    off += used;
    assert_string_equal(in + off, "NEXT");
    assert_int_equal(b.total, 5);
    /* EOF after a complete body is fine, and it stays complete */
    assert_int_equal(us_http_body_eof(&b), US_HTTP_COMPLETE);
    assert_int_equal(us_http_body_parse(&b, in + off, 4, &used, &d), US_HTTP_COMPLETE);
    assert_int_equal(used, 0);
}

static void truncated_request_body_at_eof_is_an_error(void **s)
{
    (void)s;
    struct us_http_msg m = {.kind = US_HTTP_REQUEST, .framing = US_HTTP_BODY_LENGTH, .content_length = 4};
    struct us_http_body b;
    us_http_body_init(&b, &m, NULL);
    size_t used;
    struct us_http_span d;
    assert_int_equal(us_http_body_parse(&b, "ab", 2, &used, &d), US_HTTP_NEED_MORE);
    assert_int_equal(us_http_body_eof(&b), US_HTTP_ERROR);
    assert_int_equal(b.status, 400);
}

static void names_and_reasons(void **s)
{
    (void)s;
    assert_string_equal(us_http_method_name(US_HTTP_M_OPTIONS), "OPTIONS");
    assert_string_equal(us_http_method_name(US_HTTP_M_OTHER), "");
    assert_string_equal(us_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(us_http_reason(299), "");
    struct us_http_span sp = {1, 4};
    assert_true(us_http_span_ieq("xHoSt", sp, "host"));
    assert_false(us_http_span_ieq("xHoSt", sp, "hos"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_requests_parse_the_same_at_every_split_point),
        cmocka_unit_test(each_rejection_answers_its_status_at_every_split_point),
        cmocka_unit_test(smuggling_attempts_are_rejected_at_every_split_point),
        cmocka_unit_test(limits_answer_414_431_and_413_exactly_at_the_boundary),
        cmocka_unit_test(a_small_field_array_is_the_field_limit),
        cmocka_unit_test(responses_are_framed_by_rfc9112_section_6_3_at_every_split_point),
        cmocka_unit_test(parser_reset_parses_the_next_message_in_the_same_buffer),
        cmocka_unit_test(body_data_points_into_the_input),
        cmocka_unit_test(truncated_request_body_at_eof_is_an_error),
        cmocka_unit_test(names_and_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
