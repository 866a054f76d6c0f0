/* ustack — HTTP/1.1 client: URLs, a connection pool per origin, requests
 * with per-request events and timing, over the transport interface.
 *
 * Like the server it is a state machine that never reads a clock: the caller
 * submits requests, calls us_hc_step(hc, now) whenever the transport may be
 * ready or the deadline it returned has come, and hears of each request
 * through its callback:
 *
 *     us_hc_submit(hc, &(struct us_hc_request){.url = "http://198.18.0.1/", .cb = cb}, now, &req, err, n);
 *     while (us_hc_pending(hc)) {
 *         us_time_t d = us_hc_step(hc, us_tp_now(tp));
 *         us_tp_wait(tp, d);
 *     }
 *
 * (or us_tp_run with a step that calls us_hc_step). The client owns the
 * transport's readiness: it polls it itself, so one us_hc per us_tp.
 *
 * Pool (RFC 9112 9): requests queue per origin (host, port); a request goes
 * to an idle connection of its origin, else, with pipelining (pipeline > 1),
 * behind at most pipeline-1 idempotent requests on a connection that is
 * still open for more, else to a new connection while the origin has fewer
 * than max_per_host, else it waits. Connections persist (keep-alive) unless a
 * response says otherwise, and an idle one is closed after idle_timeout.
 * An idempotent request whose reused connection closed before any byte of
 * its response arrived is sent once more on another connection (RFC 9110
 * 9.2.2, RFC 9112 9.3.1); requests pipelined behind a response that closed
 * the connection are sent again too. Redirects (301, 302, 303, 307, 308) are
 * followed when asked, at most max_redirects times, a relative Location
 * resolved against the request's URL (RFC 3986 5). 1xx responses are
 * skipped; HEAD, 204 and 304 have no body. A host name is looked up through
 * the configured resolver before the request joins its origin's queue (the
 * origin is the address and port; Host still names the name); a failed lookup
 * ends the request with -ENOENT (its message says why), a redirect to another
 * name is looked up in turn. Body data is handed to the
 * callback as it arrives (spans of the receive buffer): nothing buffers a
 * whole body. */
#ifndef USTACK_HTTP_CLIENT_H
#define USTACK_HTTP_CLIENT_H

#include "http.h"
#include "transport.h"

struct us_dns;

/* ---- URLs ------------------------------------------------------------------ */
#define US_URL_HOST_MAX 255
struct us_url {
    char host[US_URL_HOST_MAX + 1]; /* lower case; a numeric IPv4 address or a name */
    uint16_t port;                  /* 80 when not given */
    char *path;                     /* path and query, from '/' (heap; us_url_free) */
};
/* http://host[:port][/path][?query][#fragment] (the fragment is dropped; a
 * missing scheme means http, as curl takes it). Returns 0, or -EINVAL (not a
 * URL), -EPROTONOSUPPORT (https or another scheme) with a message in err. */
int us_url_parse(const char *s, struct us_url *u, char *err, size_t errlen);
/* ref resolved against base (RFC 3986 5.2: absolute, //authority, /path,
 * ?query, relative path with dot segments removed). */
int us_url_resolve(const struct us_url *base, const char *ref, size_t reflen, struct us_url *out, char *err,
                   size_t errlen);
void us_url_free(struct us_url *u);
/* "http://host[:port]/path" into buf (truncated to len). */
const char *us_url_str(const struct us_url *u, char *buf, size_t len);
/* The address of the URL's host when it is numeric IPv4; a name: -ENOENT
 * with a message (the client then asks its resolver, us_hc_config.dns). */
int us_url_host_ip(const struct us_url *u, us_ip4_t *ip, char *err, size_t errlen);

/* ---- the client ------------------------------------------------------------ */
struct us_hc;
struct us_hc_req;

struct us_hc_config {
    uint32_t max_per_host;      /* 6: connections per origin */
    uint32_t pipeline;          /* 1: requests in flight per connection (> 1: pipelining) */
    us_time_t idle_timeout;     /* 60 s: an idle connection is closed after this */
    us_time_t connect_timeout;  /* 30 s: a connection not up by then fails its requests */
    us_time_t timeout;          /* 0 = none: a request not done this long after submission fails */
    uint32_t max_redirects;     /* 10 */
    bool follow_redirects;      /* false */
    const char *user_agent;     /* "ustack/" USTACK_VERSION */
    /* Names in URLs are looked up through this resolver (dns.h), which must
     * run on the same transport: the client hands it the transport's events
     * for its descriptors and calls its timers. NULL: numeric hosts only. */
    struct us_dns *dns;
    /* The client closes each connection as soon as its response ended, first
     * (so the TIME_WAIT is the client's, as with a close-per-request client;
     * `load` without --keepalive). Requests still say nothing of it. */
    bool close_after_response;
};
void us_hc_config_default(struct us_hc_config *c);

enum us_hc_event_kind {
    US_HC_CONNECT_START = 1, /* a new connection for the request (conn_id) */
    US_HC_CONNECT_END,       /* it is up */
    US_HC_REQUEST,           /* the request head is queued on a connection: data/len; reused */
    US_HC_INFO,              /* a 1xx response, skipped: msg, buf */
    US_HC_HEAD,              /* the final response head: msg, buf (a redirect about to be followed too) */
    US_HC_DATA,              /* body bytes data/len (not for a redirect being followed) */
    US_HC_REDIRECT,          /* following Location: data = the new URL */
    US_HC_RETRY,             /* the connection closed before any response byte: queued again */
    US_HC_DONE,              /* the end: error 0 or a negative errno, data = its message */
};

/* Times are the `now` of the step that saw them (0: not reached). A request
 * on a reused connection has connect_start = connect_end = 0. */
struct us_hc_timing {
    us_time_t queued, connect_start, connect_end, sent, first_byte, end;
    /* the name's lookup (0: a numeric host); dns_status is enum us_dns_status
     * when there was one, else -1 */
    us_time_t dns_start, dns_end;
    int dns_status;
    bool dns_cached;            /* answered by the resolver's cache (or hosts file) */
    uint32_t dns_queries;       /* queries the lookup sent */
    uint32_t conn_id;           /* the connection of the last attempt (1, 2, ... per client) */
    bool reused;                /* that connection carried requests before this one */
    uint16_t local_port;        /* that connection's local port (0: not known) */
    uint32_t redirects, retries;
    uint16_t status;            /* of the final response, 0 if none */
    uint64_t body_bytes;        /* delivered through US_HC_DATA */
    uint64_t content_length;    /* UINT64_MAX when the response did not say */
};

struct us_hc_event {
    int kind;                   /* enum us_hc_event_kind */
    struct us_hc_req *req;
    void *arg;                  /* the request's */
    us_time_t now;
    uint32_t conn_id;
    bool reused;
    const struct us_http_msg *msg; /* INFO, HEAD: spans into buf */
    const char *buf;
    const char *data;           /* DATA, REQUEST, REDIRECT, DONE */
    size_t len;
    int error;                  /* DONE */
};
typedef void (*us_hc_cb)(const struct us_hc_event *ev);

struct us_hc_request {
    const char *url;
    int method;                 /* enum us_http_method; 0 = GET */
    const char *headers;        /* extra field lines, each ending in CRLF, or NULL */
    us_hc_cb cb;
    void *arg;
};

struct us_hc *us_hc_new(struct us_tp *tp, const struct us_hc_config *cfg);
/* Closes every connection; requests not done are dropped without events. */
void us_hc_free(struct us_hc *hc);
/* Queues a request (it leaves at the next us_hc_step). Returns 0 and *out,
 * or the error of us_url_parse / us_url_host_ip with a message in err. The
 * request is freed once its US_HC_DONE callback returned. */
int us_hc_submit(struct us_hc *hc, const struct us_hc_request *r, us_time_t now, struct us_hc_req **out,
                 char *err, size_t errlen);
/* Ends r now with -ECANCELED (its DONE event comes from inside the call).
 * Waiting: it leaves its queue. In flight: its connection closes (the
 * response can no longer be framed) and the requests behind go again. */
void us_hc_cancel(struct us_hc *hc, struct us_hc_req *r, us_time_t now);
/* Handles what the transport has ready and every deadline due, sends what
 * can leave; returns the next deadline (US_TIME_NEVER: none). Callbacks run
 * inside; they may submit requests. */
us_time_t us_hc_step(struct us_hc *hc, us_time_t now);
/* Requests submitted and not done. */
size_t us_hc_pending(const struct us_hc *hc);
/* Connections open (or opening) now, and ever opened. */
size_t us_hc_connections(const struct us_hc *hc);
uint32_t us_hc_connections_opened(const struct us_hc *hc);

const struct us_hc_timing *us_hc_req_timing(const struct us_hc_req *r);
const struct us_url *us_hc_req_url(const struct us_hc_req *r); /* after redirects */
void *us_hc_req_arg(const struct us_hc_req *r);

#endif
