/* HTTP/1.1 message bodies (RFC 9112 6-7): Content-Length, chunked and
 * close-delimited framing, decoded without copying.
 *
 * Paths through this file:
 *   us_http_body_parse → LENGTH: the next min(len, remaining) bytes
 *                      → CLOSE: every byte, until us_http_body_eof
 *                      → CHUNKED: chunked(), a byte-level state machine
 *       chunk-size line: HEXDIG (overflow-checked) [ chunk-ext ] CRLF
 *       chunk-data → a span of the input, then CRLF
 *       last-chunk → trailer section: field lines validated like header
 *       fields, then discarded (RFC 9110 6.5.1), up to the empty line.
 * Each state consumes its byte, so the caller never keeps a partial line:
 * every byte given is either consumed or belongs to the next message. */
#include <string.h>
#include "http_int.h"

enum {
    B_BODY = 0, B_DONE, B_ERROR,
    /* chunk-size line: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ) */
    CH_SIZE0, CH_SIZE, CH_EXT_WS, CH_EXT_NAME0, CH_EXT_NAME, CH_EXT_NAME_WS, CH_EXT_VAL0,
    CH_EXT_VAL, CH_EXT_Q, CH_EXT_QP, CH_EXT_END, CH_SIZE_LF,
    CH_DATA, CH_DATA_CR, CH_DATA_LF,
    /* trailer-section = *( field-line CRLF ) CRLF */
    TR_START, TR_NAME, TR_VALUE, TR_LF, TR_END_LF,
};

void us_http_body_init(struct us_http_body *b, const struct us_http_msg *m, const struct us_http_limits *lim)
{
    struct us_http_limits d;
    if (!lim) {
        us_http_limits_default(&d);
        lim = &d;
    }
    memset(b, 0, sizeof(*b));
    b->framing = m->framing;
    b->kind = m->kind;
    b->max_body = lim->max_body;
    b->max_chunk_line = lim->max_chunk_line;
    b->max_trailer = lim->max_head;
    b->max_trailer_fields = lim->max_fields;
    switch (m->framing) {
    case US_HTTP_BODY_LENGTH:
        b->remaining = m->content_length;
        b->state = m->content_length ? B_BODY : B_DONE;
        break;
    case US_HTTP_BODY_CHUNKED:
        b->state = CH_SIZE0;
        break;
    case US_HTTP_BODY_CLOSE:
        b->state = B_BODY;
        break;
    default:
        b->state = B_DONE;
    }
}

static enum us_http_rc body_fail(struct us_http_body *b, int status, const char *why)
{
    b->state = B_ERROR;
    b->status = b->kind == US_HTTP_RESPONSE ? 502 : status;
    b->error = why;
    return US_HTTP_ERROR;
}

static int hexval(uint8_t c)
{
    return c <= '9' ? c - '0' : hc_lower(c) - 'a' + 10;
}

/* After the size, a value token or a quoted value: whitespace (which must
 * lead to ";"), ";" or the CR that ends the line. */
static int ext_end(uint8_t c)
{
    return hc_ows(c) ? CH_EXT_WS : c == ';' ? CH_EXT_NAME0 : c == '\r' ? CH_SIZE_LF : -1;
}

/* One byte of a chunk-size line; returns the next state or -1. */
static int size_line(struct us_http_body *b, uint8_t c)
{
    switch (b->state) {
    case CH_SIZE0:
        if (!hc_is(c, HC_HEX))
            return -1;
        b->remaining = (uint64_t)hexval(c);
        return CH_SIZE;
    case CH_SIZE:
        if (!hc_is(c, HC_HEX))
            return ext_end(c);
        if (b->remaining >> 60)
            return -2; /* the next digit would overflow 64 bits */
        b->remaining = b->remaining << 4 | (uint64_t)hexval(c);
        return CH_SIZE;
    case CH_EXT_WS:
        return hc_ows(c) ? CH_EXT_WS : c == ';' ? CH_EXT_NAME0 : -1;
    case CH_EXT_NAME0:
        return hc_ows(c) ? CH_EXT_NAME0 : hc_is(c, HC_TCHAR) ? CH_EXT_NAME : -1;
    case CH_EXT_NAME:
        if (hc_is(c, HC_TCHAR))
            return CH_EXT_NAME;
        return c == '=' ? CH_EXT_VAL0 : hc_ows(c) ? CH_EXT_NAME_WS : c == ';' ? CH_EXT_NAME0 : c == '\r' ? CH_SIZE_LF : -1;
    case CH_EXT_NAME_WS:
        return hc_ows(c) ? CH_EXT_NAME_WS : c == '=' ? CH_EXT_VAL0 : c == ';' ? CH_EXT_NAME0 : -1;
    case CH_EXT_VAL0:
        return hc_ows(c) ? CH_EXT_VAL0 : c == '"' ? CH_EXT_Q : hc_is(c, HC_TCHAR) ? CH_EXT_VAL : -1;
    case CH_EXT_VAL:
        return hc_is(c, HC_TCHAR) ? CH_EXT_VAL : ext_end(c);
    case CH_EXT_Q:
        return c == '"' ? CH_EXT_END : c == '\\' ? CH_EXT_QP : hc_is(c, HC_QDTXT) ? CH_EXT_Q : -1;
    case CH_EXT_QP: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
        return hc_is(c, HC_FVAL) ? CH_EXT_Q : -1;
    case CH_EXT_END:
        return ext_end(c);
    }
    return -1;
}

/* One byte of the trailer section; returns the next state or -1. */
static int trailer(struct us_http_body *b, uint8_t c)
{
    switch (b->state) {
    case TR_START:
        return c == '\r' ? TR_END_LF : hc_is(c, HC_TCHAR) ? TR_NAME : -1;
    case TR_NAME:
        return hc_is(c, HC_TCHAR) ? TR_NAME : c == ':' ? TR_VALUE : -1;
    case TR_VALUE:
        return c == '\r' ? TR_LF : hc_is(c, HC_FVAL) ? TR_VALUE : -1;
    case TR_LF:
        return c == '\n' ? TR_START : -1;
    case TR_END_LF:
        return c == '\n' ? B_DONE : -1;
    }
    return -1;
}

static enum us_http_rc chunked(struct us_http_body *b, const char *in, size_t len, size_t *used,
                               struct us_http_span *data)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = (uint8_t)in[i];
        int next;
        if (b->state == CH_DATA) {
            uint64_t n = len - i < b->remaining ? len - i : b->remaining;
            *data = (struct us_http_span){(uint32_t)i, (uint32_t)n};
            b->remaining -= n;
            b->total += n;
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            *used = i + (size_t)n;
            return US_HTTP_NEED_MORE;
        } else if (b->state == CH_DATA_CR || b->state == CH_DATA_LF) {
            if (c != (b->state == CH_DATA_CR ? '\r' : '\n'))
                return body_fail(b, 400, "chunk data not followed by CRLF");
            next = b->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE0;
            b->line = 0;
        } else if (b->state == CH_SIZE_LF) {
            if (c != '\n')
                return body_fail(b, 400, "bare CR in a chunk-size line");
            if (b->remaining == 0) {
                next = TR_START;
                b->line = 0;
            } else {
                if (b->remaining > b->max_body - b->total)
                    return body_fail(b, 413, "chunked body above the body limit");
                next = CH_DATA;
            }
        } else if (b->state >= TR_START) {
            next = trailer(b, c);
            if (next < 0)
                return body_fail(b, 400, "invalid trailer field");
            if (++b->trailer_bytes > b->max_trailer)
                return body_fail(b, 431, "trailer section too large");
            if (next == TR_START && ++b->trailer_fields > b->max_trailer_fields)
                return body_fail(b, 431, "too many trailer fields");
            if (next == B_DONE) {
                b->state = B_DONE;
                *used = i + 1;
                return US_HTTP_COMPLETE;
            }
        } else {
            next = size_line(b, c);
            if (next == -2)
                return body_fail(b, 400, "chunk size overflow");
            if (next < 0)
                return body_fail(b, 400, "invalid chunk-size line");
            if (next != CH_SIZE_LF && ++b->line > b->max_chunk_line) /* bytes before CRLF */
                return body_fail(b, 400, "chunk-size line too long");
        }
        b->state = (uint8_t)next;
        i++;
    }
    *used = len;
    return US_HTTP_NEED_MORE;
}

enum us_http_rc us_http_body_parse(struct us_http_body *b, const char *in, size_t len,
                                   size_t *used, struct us_http_span *data)
{
    *used = 0;
    *data = (struct us_http_span){0, 0};
    if (len > UINT32_MAX)
        len = UINT32_MAX; /* spans are 32-bit; the caller comes back for the rest */
    if (b->state == B_DONE)
        return US_HTTP_COMPLETE;
    if (b->state == B_ERROR)
        return US_HTTP_ERROR;
    if (b->framing == US_HTTP_BODY_CHUNKED)
        return chunked(b, in, len, used, data);
    uint64_t n = len;
    if (b->framing == US_HTTP_BODY_LENGTH && n > b->remaining)
        n = b->remaining;
    /* the body up to the limit is delivered, the byte beyond it is the error,
     * however the input was cut */
    if (n > b->max_body - b->total) {
        n = b->max_body - b->total;
        if (n == 0)
            return body_fail(b, 413, "body above the body limit");
    }
    *data = (struct us_http_span){0, (uint32_t)n};
    *used = (size_t)n;
    b->total += n;
    if (b->framing == US_HTTP_BODY_LENGTH) {
        b->remaining -= n;
        if (b->remaining == 0) {
            b->state = B_DONE;
            return US_HTTP_COMPLETE;
        }
    }
    return US_HTTP_NEED_MORE;
}

enum us_http_rc us_http_body_eof(struct us_http_body *b)
{
    if (b->state == B_DONE)
        return US_HTTP_COMPLETE;
    if (b->state == B_ERROR)
        return US_HTTP_ERROR;
    if (b->framing == US_HTTP_BODY_CLOSE) {
        b->state = B_DONE;
        return US_HTTP_COMPLETE;
    }
    return body_fail(b, 400, "connection closed before the end of the body");
}
