/* ustack — an HTTP/1.1 static file server over the transport interface
 * (transport.h), the same code on ustack's sockets or the kernel's.
 *
 * The server is a state machine: us_http_server_step(s, now) handles every
 * ready descriptor and expired timer and returns the next deadline, so a
 * driver loop (us_tp_run) runs it in real time or in the simulator's virtual
 * time; it never reads a clock. The Date and Last-Modified fields and the
 * access log need the time of day: cfg.wall_offset turns `now` into Unix time
 * (0 in the simulator: 1970, reproducibly).
 *
 * What a connection does (RFC 9112):
 *   - requests are read ahead (at most cfg.read_ahead bytes buffered) and
 *     answered one at a time in order (pipelining, 9.3.2); a request's body
 *     is read and discarded with its framing (Content-Length or chunked)
 *     before the next request is parsed, after a 100 Continue when the
 *     client expects one (RFC 9110 10.1.1);
 *   - keep-alive by default on 1.1 and with Connection: keep-alive on 1.0;
 *     after cfg.max_requests the response says Connection: close;
 *   - an idle connection (no byte of a next request) is closed after
 *     cfg.idle_timeout; a request head that is not complete within
 *     cfg.header_timeout of its first byte is answered 408;
 *   - an invalid request is answered with the parser's status and the
 *     connection closes, gracefully: our FIN, then input is read and dropped
 *     for at most cfg.linger so the client reads the response instead of a
 *     reset (9.6);
 *   - GET and HEAD of files under cfg.root (index.html for a directory,
 *     MIME type by extension, ETag and Last-Modified, If-None-Match and
 *     If-Modified-Since → 304, one byte range → 206 or 416); other known
 *     methods 405 with Allow, unknown ones 501, unknown expectations 417.
 * Paths cannot leave the root: the target is percent-decoded (an encoded
 * '/' or NUL is refused), dot segments are resolved and may not climb above
 * the root, and the file is opened beneath the root's descriptor without
 * following a symbolic link out of it (openat2 RESOLVE_BENEATH, or realpath).
 * A connection costs no buffers while idle: they grow on demand and go when
 * empty; file bodies are read in windows into one buffer of the server. */
#ifndef USTACK_HTTP_SERVER_H
#define USTACK_HTTP_SERVER_H

#include <stdio.h>
#include "http.h"
#include "transport.h"

struct us_http_server;

/* us_http_server_config_default() sets: */
struct us_http_server_config {
    const char *root;          /* "." : the directory served */
    struct us_tp_addr addr;    /* {0, 80}: where to listen (ip 0: every address) */
    int backlog;               /* 1024 */
    us_time_t idle_timeout;    /* 60 s: an idle keep-alive connection closes (also a stalled send or body) */
    us_time_t header_timeout;  /* 10 s: from a head's first byte to its end, else 408 */
    us_time_t linger;          /* 2 s: the lingering read after our FIN */
    uint32_t max_requests;     /* 1000 per connection (0 = no limit) */
    uint32_t max_conns;        /* 100000 open connections; more wait in the accept queue */
    uint32_t read_ahead;       /* 65536 bytes of input buffered (at least limits.max_head + 1) */
    struct us_http_limits limits;
    int64_t wall_offset;       /* Unix time in ns = now + wall_offset */
    FILE *access_log;          /* NULL: no log; one line per request */
};
void us_http_server_config_default(struct us_http_server_config *cfg);

struct us_http_server_stats {
    uint64_t accepted, requests, responses[6];   /* responses[k]: status k00..k99 */
    uint64_t body_bytes;                         /* file bytes sent */
    uint32_t open;                               /* connections open now */
};

/* Listens on cfg->addr through tp. NULL with a message in err on failure. */
struct us_http_server *us_http_server_new(struct us_tp *tp, const struct us_http_server_config *cfg, char *err,
                                          size_t errlen);
/* Handles what is ready and what expired at `now`; returns the next deadline
 * (US_TIME_NEVER: none). Suits us_tp_run's step (cast the first argument). */
us_time_t us_http_server_step(struct us_http_server *s, us_time_t now);
/* The port listened on (useful with port 0). */
uint16_t us_http_server_port(const struct us_http_server *s);
void us_http_server_stats(const struct us_http_server *s, struct us_http_server_stats *st);
/* Closes every connection and the listener. */
void us_http_server_free(struct us_http_server *s, us_time_t now);

/* Exposed for tests: the MIME type of a path by its extension. */
const char *us_http_mime_type(const char *path);
/* An HTTP-date (IMF-fixdate, RFC 9110 5.6.7) from Unix seconds: 29 chars + NUL. */
void us_http_date(int64_t unix_sec, char out[30]);
/* Parses an IMF-fixdate (also the obsolete RFC 850 and asctime forms); false when invalid. */
bool us_http_date_parse(const char *s, size_t n, int64_t *unix_sec);

#endif
