/* libFuzzer harness for the HTTP/1.1 parser (src/http): a connection's worth
 * of pipelined messages, parsed twice and compared.
 *
 * Input: MODE(1) STEP(1) then the bytes the peer sent. MODE bit 0: responses
 * instead of requests; bit 1: the first response answers a HEAD; bit 2: small
 * limits (every limit is reachable in a short input); bit 3: the peer closes
 * after the input (EOF ends a close-delimited body). STEP: the input arrives
 * in pieces of STEP bytes (0 = byte by byte), each piece in a new buffer that
 * ends where the data ends, so a read past it is an ASan error.
 *
 * Up to 16 messages are parsed in a row, as a server (or client) would on one
 * connection: head, body, parser reset, next message at the byte after. The
 * outcome of each message (result, status, head length, framing, body bytes,
 * where it ended) must be the same in one piece and in pieces — the parser
 * is incremental — or the harness aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXMSG 16
#define NFIELDS 32

struct msg_outcome {
    int rc, status;
    uint32_t head_len, nfields;
    uint8_t framing;
    bool keep_alive;
    uint64_t content_length, body_len, body_hash;
    size_t end;
};

struct run {
    struct msg_outcome m[MAXMSG];
    int n;
};

struct conn {
    int kind;
    bool head_first, eof;
    struct us_http_limits lim;
    struct us_http_parser p;
    struct us_http_field f[NFIELDS];
    struct us_http_body b;
    bool in_body;
    size_t start, off;      /* message start and body position (absolute) */
    struct run *r;
};

static void begin(struct conn *c)
{
    us_http_parser_reset(&c->p);
    c->p.head_request = c->head_first && c->r->n == 0;
    c->in_body = false;
    if (c->r->n < MAXMSG)
        memset(&c->r->m[c->r->n], 0, sizeof(c->r->m[0]));
}

/* Consumes what it can of buf[0..have); returns false when the connection is
 * finished (an error, or no more messages). */
static bool advance(struct conn *c, const char *buf, size_t have)
{
    while (c->r->n < MAXMSG) {
        struct msg_outcome *o = &c->r->m[c->r->n];
        if (!c->in_body) {
            int rc = us_http_parse_head(&c->p, buf + c->start, have - c->start);
            if (rc == US_HTTP_NEED_MORE)
                return true;
            o->rc = rc;
            if (rc == US_HTTP_ERROR) {
                o->status = c->p.status;
                if (!c->p.error || c->p.status < 400)
                    abort();
                c->r->n++;
                return false;
            }
            o->head_len = c->p.head_len;
            o->nfields = c->p.msg.nfields;
            o->framing = c->p.msg.framing;
            o->keep_alive = c->p.msg.keep_alive;
            o->content_length = c->p.msg.content_length;
            if (c->p.head_len > have - c->start || c->p.msg.nfields > NFIELDS)
                abort();
            us_http_body_init(&c->b, &c->p.msg, &c->lim);
            c->in_body = true;
            c->off = c->start + c->p.head_len;
        }
        for (;;) {
            size_t used;
            struct us_http_span d;
            int rc = us_http_body_parse(&c->b, buf + c->off, have - c->off, &used, &d);
            if (used > have - c->off || (size_t)d.off + d.len > used)
                abort();
            for (uint32_t i = 0; i < d.len; i++)
                o->body_hash = (o->body_hash ^ (uint8_t)buf[c->off + d.off + i]) * 0x100000001b3ull;
            o->body_len += d.len;
            c->off += used;
            o->rc = rc;
            if (rc == US_HTTP_ERROR) {
                o->status = c->b.status;
                c->r->n++;
                return false;
            }
            if (rc == US_HTTP_COMPLETE)
                break;
            if (c->off >= have)
                return true;
            if (used == 0)
                abort(); /* no progress with input left */
        }
        o->end = c->off;
        c->r->n++;
        c->start = c->off;
        begin(c);
    }
    return false;
}

static void run(const uint8_t *data, size_t size, size_t step, struct run *r)
{
    static struct conn c; /* large; one harness call at a time */
    memset(&c, 0, sizeof(c));
    memset(r, 0, sizeof(*r));
    c.kind = data[0] & 1 ? US_HTTP_RESPONSE : US_HTTP_REQUEST;
    c.head_first = data[0] & 2;
    c.eof = data[0] & 8;
    us_http_limits_default(&c.lim);
    if (data[0] & 4) {
        c.lim.max_request_line = 64;
        c.lim.max_head = 256;
        c.lim.max_fields = 8;
        c.lim.max_chunk_line = 24;
        c.lim.max_body = 300;
    }
    c.r = r;
    us_http_parser_init(&c.p, c.kind, &c.lim, c.f, NFIELDS);
    begin(&c);
    const char *msg = (const char *)data + 2;
    size_t len = size - 2, have = 0;
    char *buf = NULL;
    bool more = true;
    while (more && have < len) {
        size_t n = len - have < step ? len - have : step;
        char *nb = malloc(have + n);
        memcpy(nb, msg, have + n);
        free(buf);
        buf = nb;
        have += n;
        more = advance(&c, buf, have);
    }
    if (more && c.eof && c.in_body && r->n < MAXMSG) {
        struct msg_outcome *o = &r->m[r->n];
        o->rc = us_http_body_eof(&c.b);
        o->status = o->rc == US_HTTP_ERROR ? c.b.status : 0;
        o->end = c.off;
        r->n++;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    static struct run whole, pieces;
    size_t step = data[1] ? data[1] : 1;
    run(data, size, size, &whole);
    run(data, size, step, &pieces);
    if (whole.n != pieces.n || memcmp(whole.m, pieces.m, sizeof(whole.m[0]) * (size_t)whole.n) != 0)
        abort();
    return 0;
}
