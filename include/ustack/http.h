/* ustack — HTTP/1.1 message parsing (RFC 9112, RFC 9110).
 *
 * The parser is incremental and zero-copy: the caller keeps the bytes of a
 * message head in its own buffer, calls us_http_parse_head() each time more
 * bytes arrived (the same buffer start, now longer; it may have moved), and
 * every part of the result is a span (offset, length) into that buffer. Each
 * call returns one of three outcomes:
 *
 *   US_HTTP_COMPLETE   the head is complete: p->msg holds it, p->head_len is
 *                      the offset of the first body byte;
 *   US_HTTP_NEED_MORE  everything so far is valid, the head is not complete;
 *   US_HTTP_ERROR      the message is invalid: p->status is the status code
 *                      to answer (400, 413, 414, 431, 501, 505; 502 for a bad
 *                      response) and p->error says why. The framing of an
 *                      invalid message cannot be trusted: answer and close.
 *
 * The body is decoded separately (us_http_body_*): Content-Length, chunked
 * (extensions validated, trailers validated and discarded as RFC 9110 6.5.1
 * allows), or close-delimited; data comes back as spans of the input.
 *
 * Strictness (each rule is a known request-smuggling vector when lenient):
 *   - lines end in CRLF only: a bare LF is rejected as well as a bare CR
 *     (RFC 9112 2.2 lets a recipient accept a bare LF; we do not, so no hop
 *     before us can see a line end where we see none, or the reverse);
 *   - exactly one SP between the parts of the request line;
 *   - field names are tokens with no whitespace before the colon (5.1),
 *     values may not contain CTLs but HTAB (NUL, CR, DEL are rejected);
 *     obs-fold and whitespace before the first field are rejected (5.2, 2.2);
 *   - Content-Length is 1*DIGIT (a list of identical values is accepted,
 *     RFC 9110 8.6), never both Content-Length and Transfer-Encoding (6.3),
 *     Transfer-Encoding must end in chunked, applied once (6.1, 7);
 *   - exactly one valid Host on HTTP/1.1, at most one on 1.0 (3.2);
 *   - a chunk size has at most 16 hex digits' worth of value (no overflow).
 * Up to limits.max_request_line bytes of empty lines (CRLF) before a request
 * line are skipped (RFC 9112 2.2). */
#ifndef USTACK_HTTP_H
#define USTACK_HTTP_H

#include "types.h"

enum us_http_rc { US_HTTP_COMPLETE = 0, US_HTTP_NEED_MORE = 1, US_HTTP_ERROR = -1 };

/* A run of bytes in the caller's buffer. */
struct us_http_span { uint32_t off, len; };
static inline const char *us_http_ptr(const char *buf, struct us_http_span s) { return buf + s.off; }

/* Limits, each answered with its status. us_http_limits_default() sets: */
struct us_http_limits {
    uint32_t max_request_line; /* 8192: longer request line → 414 (RFC 9112 3 asks for at least 8000) */
    uint32_t max_head;         /* 32768: start line + fields + CRLF; larger → 431 (RFC 6585 5) */
    uint32_t max_fields;       /* 100 field lines (and as many trailer lines); more → 431 */
    uint32_t max_chunk_line;   /* 4096: chunk-size line with extensions; longer → 400 */
    uint64_t max_body;         /* 16 MiB of request body (decoded); more → 413. UINT64_MAX = none */
};
void us_http_limits_default(struct us_http_limits *lim);

enum { US_HTTP_REQUEST = 0, US_HTTP_RESPONSE = 1 };

enum us_http_method {
    US_HTTP_M_OTHER = 0, US_HTTP_M_GET, US_HTTP_M_HEAD, US_HTTP_M_POST, US_HTTP_M_PUT,
    US_HTTP_M_DELETE, US_HTTP_M_OPTIONS, US_HTTP_M_TRACE, US_HTTP_M_CONNECT, US_HTTP_M_PATCH,
};

/* request-target forms (RFC 9112 3.2) */
enum { US_HTTP_T_ORIGIN = 0, US_HTTP_T_ABSOLUTE, US_HTTP_T_ASTERISK };

/* How the body is framed (RFC 9112 6.3). */
enum us_http_framing {
    US_HTTP_BODY_NONE = 0,  /* no body (request without CL/TE; HEAD/1xx/204/304 response) */
    US_HTTP_BODY_LENGTH,    /* content_length bytes (may be 0) */
    US_HTTP_BODY_CHUNKED,
    US_HTTP_BODY_CLOSE,     /* response read until the server closes */
};

/* flags */
#define US_HTTP_F_CONN_CLOSE      0x01u  /* Connection: close */
#define US_HTTP_F_CONN_KEEPALIVE  0x02u  /* Connection: keep-alive */
#define US_HTTP_F_CONN_UPGRADE    0x04u  /* Connection: upgrade */
#define US_HTTP_F_EXPECT_CONTINUE 0x08u  /* Expect: 100-continue on a 1.1 request (RFC 9110 10.1.1) */
#define US_HTTP_F_EXPECT_OTHER    0x10u  /* an expectation we do not know (417 is the server's choice) */
#define US_HTTP_F_CONTENT_LENGTH  0x20u  /* a Content-Length field was present */
#define US_HTTP_F_CHUNKED         0x40u  /* Transfer-Encoding: chunked */

struct us_http_field { struct us_http_span name, value; };  /* value without surrounding OWS */

struct us_http_msg {
    uint8_t kind;                 /* US_HTTP_REQUEST or US_HTTP_RESPONSE */
    uint8_t minor;                /* HTTP/1.minor as received (1.2+ is treated as 1.1) */
    /* request */
    struct us_http_span method, target;
    uint8_t method_id;            /* enum us_http_method */
    uint8_t target_form;          /* US_HTTP_T_* */
    struct us_http_span path;     /* path and query: the whole origin-form target, or the part
                                     of an absolute-form one after the authority (empty = "/") */
    struct us_http_span authority;/* absolute-form: the target's authority; else the Host value */
    /* response */
    uint16_t status;
    struct us_http_span reason;
    /* all field lines, in order, in the array given to us_http_parser_init */
    struct us_http_field *fields;
    uint32_t nfields;
    /* framing and connection */
    uint8_t framing;              /* enum us_http_framing */
    uint64_t content_length;
    uint32_t flags;               /* US_HTTP_F_* */
    bool keep_alive;              /* the connection persists after this message (RFC 9112 9.3) */
};

struct us_http_parser {
    /* set by us_http_parser_init / us_http_parser_reset */
    struct us_http_limits lim;
    struct us_http_field *fields;
    uint32_t fields_cap;
    uint8_t kind;
    bool head_request;            /* response parsing: the request was HEAD (no body follows) */
    /* progress */
    uint8_t state;
    uint32_t pos;                 /* start of the next line not yet parsed */
    uint32_t scan;                /* bytes already searched for a line end */
    uint32_t start;               /* offset of the start line (after skipped CRLFs) */
    uint8_t hosts, te_chunks;     /* te_chunks stops at 2 */
    bool te_chunked_last, te_unknown;
    /* outcome */
    struct us_http_msg msg;
    uint32_t head_len;            /* bytes of the head (start line through the empty line) */
    int status;                   /* on US_HTTP_ERROR: the status code to answer */
    const char *error;            /* on US_HTTP_ERROR: a static description */
};

/* fields/nfields: storage for the field lines (the effective field limit is
 * the smaller of nfields and lim->max_fields). lim may be NULL (defaults). */
void us_http_parser_init(struct us_http_parser *p, int kind, const struct us_http_limits *lim,
                         struct us_http_field *fields, uint32_t nfields);
/* Ready for the next message on the same connection (keeps limits and storage). */
void us_http_parser_reset(struct us_http_parser *p);
/* buf holds the message from its first byte; len only grows between calls. */
enum us_http_rc us_http_parse_head(struct us_http_parser *p, const char *buf, size_t len);

/* Field lookup by name (case-insensitive): the first field, or NULL. */
const struct us_http_field *us_http_find(const struct us_http_msg *m, const char *buf, const char *name);
/* Case-insensitive comparison of a span with a C string. */
bool us_http_span_ieq(const char *buf, struct us_http_span s, const char *str);
const char *us_http_method_name(int method_id);
/* Reason phrase for a status code ("Not Found"), "" when unknown. */
const char *us_http_reason(int status);

/* ---- body ------------------------------------------------------------------ */
struct us_http_body {
    uint8_t framing, state, kind;
    uint64_t remaining;           /* LENGTH: bytes left; CHUNKED: bytes left in this chunk */
    uint64_t total;               /* body bytes decoded so far */
    uint64_t max_body;
    uint32_t line;                /* bytes in the current chunk-size / trailer line */
    uint32_t max_chunk_line, max_trailer, max_trailer_fields;
    uint32_t trailer_bytes, trailer_fields;
    int status;                   /* on US_HTTP_ERROR */
    const char *error;
};
/* Set up from a parsed head (its framing and Content-Length). lim may be NULL. */
void us_http_body_init(struct us_http_body *b, const struct us_http_msg *m, const struct us_http_limits *lim);
/* Decodes framing from in[0..len). *used is how many bytes were consumed (drop
 * them); *data is body content among them (a span relative to in, maybe
 * empty). At most one span per call: while NEED_MORE and *used < len, call
 * again with in + *used. COMPLETE: the body ended after *used bytes (what
 * follows is the next message). ERROR: b->status, b->error. */
enum us_http_rc us_http_body_parse(struct us_http_body *b, const char *in, size_t len,
                                   size_t *used, struct us_http_span *data);
/* The peer closed: COMPLETE for a close-delimited (or finished) body, ERROR
 * for a truncated one. */
enum us_http_rc us_http_body_eof(struct us_http_body *b);

#endif
