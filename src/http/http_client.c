/* HTTP/1.1 client: a pool of connections per origin over the transport
 * interface, driven by us_hc_step(now). See include/ustack/http_client.h.
 *
 * Paths through this file:
 *   us_hc_submit → parse the URL, find its origin → the origin's wait queue
 *   us_hc_step → us_tp_poll → conn_event:
 *       connecting: writable → connected (or conn_fail with the error)
 *       writable: flush the request bytes queued
 *       readable: conn_read → on_bytes: head (1xx skipped, HEAD event,
 *         redirect noted) → body (DATA events) → req_complete (next
 *         pipelined response, or close when the response said so); EOF or
 *         error → conn_lost: a close-delimited body ends, requests without a
 *         response byte are sent again (requeue) or fail
 *     → timers: connect timeout, request timeout, idle expiry
 *     → dispatch: each waiting request to an idle connection, behind others
 *       (pipelining), or to a new connection (at most max_per_host)
 *     → reap closed connections; the earliest deadline is the result
 *   A request ends in req_done (the DONE event), then is freed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dns.h>
#include <ustack/http_client.h>
#include <ustack/ustack.h>

enum { C_CONNECTING = 1, C_OPEN, C_CLOSED };
/* The receive buffer starts small (many connections, most of them idle or
 * with small responses) and doubles, to HC_BUF_MAX, when a read fills it:
 * a head larger than it, or a body arriving faster than one read takes. */
#define HC_BUF_MIN 8192u
#define HC_BUF_MAX 65536u
#define HC_FIELDS 100u
/* Bytes one step reads from a connection at most: the step's `now` stays
 * close to when they arrived (first byte, end) and no connection starves
 * the others; what is left is read at the next step, which comes at once. */
#define HC_READ_BUDGET (256u * 1024u)

struct hc_origin;

struct us_hc_req {
    struct us_hc_req *next;         /* in the origin's wait queue or a connection's flight */
    struct us_hc *hc;
    struct hc_origin *o;
    struct hc_conn *conn;
    struct us_url url;
    int method;
    char *headers;
    us_hc_cb cb;
    void *arg;
    us_time_t deadline;             /* the overall timeout, US_TIME_NEVER: none */
    struct us_hc_timing t;
    char *location;                 /* a redirect to follow once this response ends */
    bool in_route;                  /* req_route runs: a lookup answered at once is kept, not acted on */
    bool dns_follower;              /* waits for another request's lookup of the same name */
    int route_rc;                   /* its outcome then */
    char err[192];
};

struct hc_conn {
    struct hc_conn *next;           /* in the origin's list */
    struct hc_origin *o;
    int fd;
    uint32_t id;
    uint8_t state;
    uint32_t assigned, served;      /* requests given to it, responses completed */
    us_time_t connect_deadline, idle_since;
    struct us_hc_req *first, *last; /* in flight, in request order */
    uint32_t inflight;
    char *out;                      /* request bytes not yet written */
    size_t out_len, out_off, out_cap;
    char *buf;                      /* received, not yet consumed; a head starts at buf[0] */
    size_t len, pos, cap;
    bool in_body;
    bool keep;                      /* the current response lets the connection persist */
    struct us_http_parser parser;
    struct us_http_body body;
    struct us_http_field fields[HC_FIELDS];
};

struct hc_origin {
    struct hc_origin *next;
    us_ip4_t ip;
    uint16_t port;
    struct hc_conn *conns;
    uint32_t nconns;
    struct us_hc_req *wait, *wait_last;
};

struct us_hc {
    struct us_tp *tp;
    struct us_hc_config cfg;
    struct us_http_limits lim;
    struct hc_origin *origins;
    struct us_hc_req *resolving;    /* requests waiting for their name's lookup (r->next) */
    size_t pending, nconns;
    uint32_t opened;
    bool more;                      /* a connection stopped at its read budget */
};

void us_hc_config_default(struct us_hc_config *c)
{
    *c = (struct us_hc_config){
        .max_per_host = 6,
        .pipeline = 1,
        .idle_timeout = US_SEC(60),
        .connect_timeout = US_SEC(30),
        .max_redirects = 10,
        .user_agent = "ustack/" USTACK_VERSION,
    };
}

struct us_hc *us_hc_new(struct us_tp *tp, const struct us_hc_config *cfg)
{
    struct us_hc *hc = calloc(1, sizeof(*hc));
    if (!hc)
        return NULL;
    hc->tp = tp;
    if (cfg)
        hc->cfg = *cfg;
    else
        us_hc_config_default(&hc->cfg);
    if (!hc->cfg.max_per_host)
        hc->cfg.max_per_host = 1;
    if (!hc->cfg.pipeline)
        hc->cfg.pipeline = 1;
    if (!hc->cfg.user_agent)
        hc->cfg.user_agent = "ustack/" USTACK_VERSION;
    us_http_limits_default(&hc->lim);
    hc->lim.max_body = UINT64_MAX; /* a download may be of any size */
    return hc;
}

static void req_free(struct us_hc_req *r)
{
    us_url_free(&r->url);
    free(r->headers);
    free(r->location);
    free(r);
}

static void conn_free(struct hc_conn *c)
{
    free(c->out);
    free(c->buf);
    free(c);
}

void us_hc_free(struct us_hc *hc)
{
    if (!hc)
        return;
    us_time_t now = us_tp_now(hc->tp);
    while (hc->origins) {
        struct hc_origin *o = hc->origins;
        hc->origins = o->next;
        while (o->conns) {
            struct hc_conn *c = o->conns;
            o->conns = c->next;
            if (c->state != C_CLOSED)
                us_tp_close(hc->tp, c->fd, now);
            while (c->first) {
                struct us_hc_req *r = c->first;
                c->first = r->next;
                req_free(r);
            }
            conn_free(c);
        }
        while (o->wait) {
            struct us_hc_req *r = o->wait;
            o->wait = r->next;
            req_free(r);
        }
        free(o);
    }
    while (hc->resolving) {
        struct us_hc_req *r = hc->resolving;
        hc->resolving = r->next;
        us_dns_cancel(hc->cfg.dns, r, now);
        req_free(r);
    }
    free(hc);
}

size_t us_hc_pending(const struct us_hc *hc) { return hc->pending; }
size_t us_hc_connections(const struct us_hc *hc) { return hc->nconns; }
uint32_t us_hc_connections_opened(const struct us_hc *hc) { return hc->opened; }
const struct us_hc_timing *us_hc_req_timing(const struct us_hc_req *r) { return &r->t; }
const struct us_url *us_hc_req_url(const struct us_hc_req *r) { return &r->url; }
void *us_hc_req_arg(const struct us_hc_req *r) { return r->arg; }

/* ---- events ---------------------------------------------------------------- */

/* ev with the request's part filled in, to its callback */
static void emit_ev(struct us_hc_req *r, struct us_hc_event *ev, us_time_t now)
{
    ev->req = r;
    ev->arg = r->arg;
    ev->now = now;
    ev->conn_id = r->t.conn_id;
    ev->reused = r->t.reused;
    if (r->cb)
        r->cb(ev);
}

static void emit(struct us_hc_req *r, int kind, us_time_t now, const char *data, size_t len)
{
    emit_ev(r, &(struct us_hc_event){.kind = kind, .data = data, .len = len}, now);
}

static void emit_head(struct us_hc_req *r, int kind, us_time_t now, const struct hc_conn *c)
{
    emit_ev(r, &(struct us_hc_event){.kind = kind, .msg = &c->parser.msg, .buf = c->buf, .len = c->parser.head_len}, now);
}

/* The end of a request (it is in no list any more): DONE, then freed. */
static void req_done(struct us_hc_req *r, int error, us_time_t now)
{
    r->t.end = now;
    r->hc->pending--;
    emit_ev(r, &(struct us_hc_event){.kind = US_HC_DONE, .error = error, .data = error ? r->err : "",
                                     .len = error ? strlen(r->err) : 0}, now);
    req_free(r);
}

static void req_fail(struct us_hc_req *r, int error, us_time_t now, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void req_fail(struct us_hc_req *r, int error, us_time_t now, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    req_done(r, error, now);
}

/* ---- origins and queues ---------------------------------------------------- */

static struct hc_origin *origin_get(struct us_hc *hc, us_ip4_t ip, uint16_t port)
{
    for (struct hc_origin *o = hc->origins; o; o = o->next)
        if (o->ip == ip && o->port == port)
            return o;
    struct hc_origin *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->ip = ip;
    o->port = port;
    o->next = hc->origins;
    hc->origins = o;
    return o;
}

static void wait_push(struct hc_origin *o, struct us_hc_req *r, bool front)
{
    r->o = o;
    r->conn = NULL;
    if (front) {
        r->next = o->wait;
        o->wait = r;
        if (!o->wait_last)
            o->wait_last = r;
        return;
    }
    r->next = NULL;
    if (o->wait_last)
        o->wait_last->next = r;
    else
        o->wait = r;
    o->wait_last = r;
}

static struct us_hc_req *wait_pop(struct hc_origin *o)
{
    struct us_hc_req *r = o->wait;
    if (r) {
        o->wait = r->next;
        if (!o->wait)
            o->wait_last = NULL;
        r->next = NULL;
    }
    return r;
}

static struct us_hc_req *flight_pop(struct hc_conn *c)
{
    struct us_hc_req *r = c->first;
    if (r) {
        c->first = r->next;
        if (!c->first)
            c->last = NULL;
        r->next = NULL;
        r->conn = NULL;
        c->inflight--;
    }
    return r;
}

static void resolving_remove(struct us_hc *hc, struct us_hc_req *r)
{
    for (struct us_hc_req **pp = &hc->resolving; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            r->next = NULL;
            return;
        }
}

static int route_to(struct us_hc *hc, struct us_hc_req *r, us_ip4_t ip)
{
    if (!(r->o = origin_get(hc, ip, r->url.port))) {
        snprintf(r->err, sizeof(r->err), "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* The resolver's answer for r's host (dns.h: at once, inside req_route, or
 * later from us_dns_event / us_dns_step inside us_hc_step). */
static void dns_done(void *arg, const struct us_dns_result *res)
{
    struct us_hc_req *r = arg;
    struct us_hc *hc = r->hc;
    us_time_t now = res->finished ? res->finished : res->started;
    r->t.dns_end = now;
    r->t.dns_status = res->status;
    r->t.dns_cached = res->from_cache || res->from_hosts;
    r->t.dns_queries = res->queries;
    int rc;
    if (res->status == US_DNS_OK && res->naddr) {
        rc = route_to(hc, r, res->addr[0]);
    } else {
        snprintf(r->err, sizeof(r->err), "cannot resolve %.120s: %s", r->url.host, us_dns_strstatus(res->status));
        rc = -ENOENT;
    }
    if (r->in_route) {   /* req_route's caller acts on it */
        r->route_rc = rc;
        return;
    }
    resolving_remove(hc, r);
    /* requests that waited for this lookup of the same name go with it */
    for (struct us_hc_req **pp = &hc->resolving, *q; (q = *pp);) {
        if (!q->dns_follower || strcmp(q->url.host, r->url.host)) {
            pp = &q->next;
            continue;
        }
        *pp = q->next;
        q->next = NULL;
        q->t.dns_end = now;
        q->t.dns_status = res->status;
        q->t.dns_cached = true;   /* no query of its own */
        if (rc) {
            snprintf(q->err, sizeof(q->err), "%s", r->err);
            req_done(q, rc, now);
        } else if (route_to(hc, q, res->addr[0]) < 0) {
            req_done(q, -ENOMEM, now);
        } else {
            wait_push(q->o, q, false);
        }
    }
    if (rc)
        req_done(r, rc, now);
    else
        wait_push(r->o, r, false);
}

/* The origin of r->url: 0 (r->o set), 1 when the name is being looked up
 * (r waits in hc->resolving; dns_done queues it), or a negative errno with
 * r->err set. */
static int req_route(struct us_hc *hc, struct us_hc_req *r, us_time_t now)
{
    us_ip4_t ip;
    int rc = us_url_host_ip(&r->url, &ip, r->err, sizeof(r->err));
    if (!rc)
        return route_to(hc, r, ip);
    if (rc != -ENOENT || !hc->cfg.dns)
        return rc;
    r->t.dns_start = now;
    for (struct us_hc_req *q = hc->resolving; q; q = q->next)
        if (!q->dns_follower && !strcmp(q->url.host, r->url.host)) {
            /* that lookup answers this request too: one query for a name */
            r->dns_follower = true;
            r->next = hc->resolving;
            hc->resolving = r;
            return 1;
        }
    r->in_route = true;
    r->route_rc = 1;
    rc = us_dns_lookup(hc->cfg.dns, r->url.host, dns_done, r, now);
    r->in_route = false;
    if (rc < 0) {
        snprintf(r->err, sizeof(r->err), "cannot resolve %.120s: %s", r->url.host, strerror(-rc));
        return rc;
    }
    if (r->route_rc == 1) {
        r->next = hc->resolving;
        hc->resolving = r;
    }
    return r->route_rc;
}

int us_hc_submit(struct us_hc *hc, const struct us_hc_request *q, us_time_t now, struct us_hc_req **out,
                 char *err, size_t errlen)
{
    struct us_hc_req *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->hc = hc;
    r->method = q->method ? q->method : US_HTTP_M_GET;
    r->cb = q->cb;
    r->arg = q->arg;
    r->t.queued = now;
    r->t.content_length = UINT64_MAX;
    r->t.dns_status = -1;
    r->deadline = hc->cfg.timeout ? now + hc->cfg.timeout : US_TIME_NEVER;
    int rc = us_url_parse(q->url, &r->url, err, errlen);
    if (!rc && q->headers && !(r->headers = strdup(q->headers)))
        rc = -ENOMEM;
    if (!rc && (rc = req_route(hc, r, now)) < 0)
        snprintf(err, errlen, "%s", r->err);
    if (rc < 0) {
        req_free(r);
        return rc;
    }
    if (rc == 0)
        wait_push(r->o, r, false);
    hc->pending++;
    if (out)
        *out = r;
    return 0;
}

/* RFC 9110 9.2.2 */
static bool idempotent(int m)
{
    return m == US_HTTP_M_GET || m == US_HTTP_M_HEAD || m == US_HTTP_M_PUT || m == US_HTTP_M_DELETE ||
           m == US_HTTP_M_OPTIONS || m == US_HTTP_M_TRACE;
}

/* ---- connections ----------------------------------------------------------- */

static void conn_watch(struct us_hc *hc, struct hc_conn *c)
{
    unsigned ev = c->state == C_CONNECTING ? US_TP_WRITE : US_TP_READ;
    if (c->state == C_OPEN && c->out_off < c->out_len)
        ev |= US_TP_WRITE;
    us_tp_watch(hc->tp, c->fd, ev, c);
}

/* Closes the descriptor; the struct is freed by reap at the end of the step. */
static void conn_close(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    if (c->state == C_CLOSED)
        return;
    us_tp_close(hc->tp, c->fd, now);
    c->state = C_CLOSED;
    hc->nconns--;
}

/* A request that got no byte of its response goes back to the front of its
 * origin's queue (retry: it counts as the one retry, and only an idempotent
 * request may take it), or fails with error. */
static void requeue(struct us_hc_req *r, bool retry, int error, us_time_t now, const char *why)
{
    if (retry) {
        if (!idempotent(r->method) || r->t.retries >= 1) {
            req_fail(r, error, now, "%s", why);
            return;
        }
        r->t.retries++;
        emit(r, US_HC_RETRY, now, why, strlen(why));
    }
    r->t.first_byte = 0;
    wait_push(r->o, r, true);
}

/* Every request still on c, in reverse so the first ends up first in the
 * wait queue. */
static void requeue_flight(struct hc_conn *c, bool retry, int error, us_time_t now, const char *why)
{
    struct us_hc_req *stack = NULL;
    struct us_hc_req *r;
    while ((r = flight_pop(c))) {
        r->next = stack;
        stack = r;
    }
    while ((r = stack)) {
        stack = r->next;
        requeue(r, retry, error, now, why);
    }
}

static void fail_flight(struct hc_conn *c, int error, us_time_t now, const char *fmt, const char *detail)
{
    struct us_hc_req *r;
    while ((r = flight_pop(c)))
        req_fail(r, error, now, fmt, detail);
}

static struct hc_conn *conn_new(struct us_hc *hc, struct hc_origin *o, us_time_t now, int *err)
{
    struct hc_conn *c = calloc(1, sizeof(*c));
    if (c)
        c->buf = malloc(c->cap = HC_BUF_MIN);
    if (!c || !c->buf) {
        free(c);
        *err = -ENOMEM;
        return NULL;
    }
    struct us_tp_addr a = {o->ip, o->port};
    c->fd = us_tp_connect(hc->tp, &a, now);
    if (c->fd < 0) {
        *err = c->fd;
        conn_free(c);
        return NULL;
    }
    c->o = o;
    c->id = ++hc->opened;
    c->state = C_CONNECTING;
    c->connect_deadline = hc->cfg.connect_timeout ? now + hc->cfg.connect_timeout : US_TIME_NEVER;
    us_http_parser_init(&c->parser, US_HTTP_RESPONSE, &hc->lim, c->fields, HC_FIELDS);
    c->next = o->conns;
    o->conns = c;
    o->nconns++;
    hc->nconns++;
    conn_watch(hc, c);
    return c;
}

static int out_append(struct hc_conn *c, const char *s, size_t n)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            return -ENOMEM;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
    return 0;
}

/* The request head (RFC 9112 3): origin-form target, Host with the port when
 * it is not 80 (RFC 9110 7.2). */
static int request_head(const struct us_hc *hc, const struct us_hc_req *r, char **head)
{
    char port[8] = "";
    if (r->url.port != 80)
        snprintf(port, sizeof(port), ":%u", (unsigned)r->url.port);
    const char *h = r->headers ? r->headers : "";
    size_t n = strlen(r->url.path) + strlen(h) + strlen(hc->cfg.user_agent) + US_URL_HOST_MAX + 96;
    char *s = malloc(n);
    if (!s)
        return -ENOMEM;
    int l = snprintf(s, n, "%s %s HTTP/1.1\r\nHost: %s%s\r\nUser-Agent: %s\r\nAccept: */*\r\n%s\r\n",
                     us_http_method_name(r->method), r->url.path, r->url.host, port, hc->cfg.user_agent, h);
    *head = s;
    return l;
}

static void assign(struct us_hc *hc, struct hc_conn *c, struct us_hc_req *r, us_time_t now)
{
    char *head;
    int n = request_head(hc, r, &head);
    if (n < 0 || out_append(c, head, (size_t)n)) {
        if (n >= 0)
            free(head);
        req_fail(r, -ENOMEM, now, "out of memory");
        return;
    }
    r->conn = c;
    r->next = NULL;
    if (c->last)
        c->last->next = r;
    else
        c->first = r;
    c->last = r;
    c->inflight++;
    r->t.conn_id = c->id;
    r->t.reused = c->assigned++ > 0;
    struct us_tp_addr la;
    r->t.local_port = us_tp_local_addr(hc->tp, c->fd, &la) == 0 ? la.port : 0;
    r->t.connect_start = r->t.connect_end = 0;
    if (!r->t.reused) {
        r->t.connect_start = now;
        emit(r, US_HC_CONNECT_START, now, NULL, 0);
    }
    if (c->state == C_OPEN && !r->t.reused)
        r->t.connect_end = now;
    r->t.sent = now;
    emit(r, US_HC_REQUEST, now, head, (size_t)n);
    free(head);
    if (c->state == C_OPEN)
        conn_watch(hc, c);
}

/* Writes what is queued; false when the connection failed (and was handled). */
static bool conn_flush(struct us_hc *hc, struct hc_conn *c, us_time_t now);

/* A connection ended (EOF, reset, error): the response being read ends if
 * it is close-delimited, requests without a response byte are sent again
 * when the connection was reused, the rest fail. */
static void conn_lost(struct us_hc *hc, struct hc_conn *c, int error, us_time_t now);

static void conn_fail_connect(struct us_hc *hc, struct hc_conn *c, int error, us_time_t now)
{
    char addr[64];
    struct us_tp_addr a = {c->o->ip, c->o->port};
    snprintf(addr, sizeof(addr), "%u.%u.%u.%u:%u: %s", a.ip >> 24, (a.ip >> 16) & 255, (a.ip >> 8) & 255,
             a.ip & 255, (unsigned)a.port, error == -ETIMEDOUT ? "timed out" : strerror(-error));
    conn_close(hc, c, now);
    fail_flight(c, error, now, "cannot connect to %s", addr);
}

static void connected(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    int e = us_tp_error(hc->tp, c->fd);
    if (e == -EINPROGRESS)
        return;
    if (e) {
        conn_fail_connect(hc, c, e, now);
        return;
    }
    c->state = C_OPEN;
    us_tp_setopt(hc->tp, c->fd, US_TP_NODELAY, 1, now);
    for (struct us_hc_req *r = c->first; r; r = r->next)
        if (!r->t.reused) {
            r->t.connect_end = now;
            emit(r, US_HC_CONNECT_END, now, NULL, 0);
        }
    if (!c->first)
        c->idle_since = now;
    conn_watch(hc, c);
    conn_flush(hc, c, now);
}

static bool conn_flush(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    while (c->state == C_OPEN && c->out_off < c->out_len) {
        ssize_t n = us_tp_write(hc->tp, c->fd, c->out + c->out_off, c->out_len - c->out_off, now);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            conn_lost(hc, c, (int)n, now);
            return false;
        }
        c->out_off += (size_t)n;
    }
    if (c->state == C_OPEN)
        conn_watch(hc, c);
    return c->state == C_OPEN;
}

/* ---- responses ------------------------------------------------------------- */

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The response of r ended on c: the next one (pipelined) starts with what is
 * left in the buffer. */
static void req_finish(struct us_hc *hc, struct us_hc_req *r, us_time_t now);

static void req_complete(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    struct us_hc_req *r = flight_pop(c);
    c->served++;
    c->in_body = false;
    memmove(c->buf, c->buf + c->pos, c->len - c->pos);
    c->len -= c->pos;
    c->pos = 0;
    us_http_parser_reset(&c->parser);
    if (!c->keep) {
        /* RFC 9112 9.6: no more requests on it; those sent behind go again */
        conn_close(hc, c, now);
        c->len = 0;
        requeue_flight(c, false, 0, now, "");
    } else if (!c->first) {
        c->idle_since = now;
    }
    req_finish(hc, r, now);
}

/* r's final response ended: done, or the redirect it named is followed. */
static void req_finish(struct us_hc *hc, struct us_hc_req *r, us_time_t now)
{
    if (!r->location) {
        req_done(r, 0, now);
        return;
    }
    struct us_url next;
    if (r->t.redirects >= hc->cfg.max_redirects) {
        req_fail(r, -ELOOP, now, "too many redirects (more than %u)", hc->cfg.max_redirects);
        return;
    }
    int rc = us_url_resolve(&r->url, r->location, strlen(r->location), &next, r->err, sizeof(r->err));
    free(r->location);
    r->location = NULL;
    if (rc) {
        req_done(r, -EPROTO, now);
        return;
    }
    us_url_free(&r->url);
    r->url = next;
    if (r->t.status == 303 && r->method != US_HTTP_M_HEAD)
        r->method = US_HTTP_M_GET; /* RFC 9110 15.4.4 */
    r->t.redirects++;
    r->t.status = 0;
    r->t.first_byte = 0;
    r->t.content_length = UINT64_MAX;
    char u[512];
    us_url_str(&r->url, u, sizeof(u));
    emit(r, US_HC_REDIRECT, now, u, strlen(u));
    if ((rc = req_route(hc, r, now)) < 0)
        req_done(r, rc, now);
    else if (rc == 0)
        wait_push(r->o, r, false);
}

/* A protocol error on c: the response cannot be framed, the connection goes. */
static void conn_proto_error(struct us_hc *hc, struct hc_conn *c, us_time_t now, const char *why)
{
    struct us_hc_req *r = flight_pop(c);
    conn_close(hc, c, now);
    requeue_flight(c, false, 0, now, "");
    req_fail(r, -EPROTO, now, "invalid response: %s", why);
}

/* The head of the response to c->first is in buf[0..len): 1 when it is
 * complete and taken, 0 when more is needed, -1 when c was closed. */
static int on_head(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    struct us_hc_req *r = c->first;
    c->parser.head_request = r->method == US_HTTP_M_HEAD;
    enum us_http_rc rc = us_http_parse_head(&c->parser, c->buf, c->len);
    if (rc == US_HTTP_NEED_MORE)
        return 0;
    if (rc == US_HTTP_ERROR) {
        conn_proto_error(hc, c, now, c->parser.error);
        return -1;
    }
    const struct us_http_msg *m = &c->parser.msg;
    if (m->status == 101) {
        conn_proto_error(hc, c, now, "101 Switching Protocols to a request that asked for no upgrade");
        return -1;
    }
    if (m->status < 200) { /* RFC 9110 15.2: skipped, the final response follows */
        emit_head(r, US_HC_INFO, now, c);
        memmove(c->buf, c->buf + c->parser.head_len, c->len - c->parser.head_len);
        c->len -= c->parser.head_len;
        us_http_parser_reset(&c->parser);
        return 1;
    }
    r->t.status = m->status;
    if (m->framing == US_HTTP_BODY_LENGTH)
        r->t.content_length = m->content_length;
    else if (m->framing == US_HTTP_BODY_NONE)
        r->t.content_length = 0;
    const struct us_http_field *loc = us_http_find(m, c->buf, "Location");
    if (hc->cfg.follow_redirects && is_redirect(m->status) && loc && loc->value.len)
        r->location = strndup(us_http_ptr(c->buf, loc->value), loc->value.len);
    emit_head(r, US_HC_HEAD, now, c);
    us_http_body_init(&c->body, m, &hc->lim);
    c->keep = m->keep_alive && !hc->cfg.close_after_response;
    c->in_body = true;
    c->pos = c->parser.head_len;
    return 1;
}

/* Body bytes of c->first from buf[pos..len): 1 when the body ended (and the
 * request completed), 0 when it needs more, -1 when c was closed. */
static int on_body(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    struct us_hc_req *r = c->first;
    for (;;) {
        size_t used = 0;
        struct us_http_span d;
        enum us_http_rc rc = us_http_body_parse(&c->body, c->buf + c->pos, c->len - c->pos, &used, &d);
        if (d.len && !r->location) {
            r->t.body_bytes += d.len;
            emit(r, US_HC_DATA, now, c->buf + c->pos + d.off, d.len);
        }
        c->pos += used;
        if (rc == US_HTTP_COMPLETE) {
            req_complete(hc, c, now);
            return c->state == C_CLOSED ? -1 : 1;
        }
        if (rc == US_HTTP_ERROR) {
            conn_proto_error(hc, c, now, c->body.error);
            return -1;
        }
        if (c->pos == c->len) {
            c->pos = c->len = 0;
            return 0;
        }
        if (!used)
            return 0;
    }
}

/* New bytes in c->buf (or a head without body just taken). */
static void on_bytes(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    while (c->state != C_CLOSED && (c->in_body || c->len > 0)) {
        struct us_hc_req *r = c->first;
        if (!r) {
            /* RFC 9112 9.3: bytes nobody asked for; the connection cannot be trusted */
            conn_close(hc, c, now);
            return;
        }
        if (c->len > c->pos && !r->t.first_byte)
            r->t.first_byte = now;
        int rc = c->in_body ? on_body(hc, c, now) : on_head(hc, c, now);
        if (rc <= 0)
            return;
    }
}

static bool buf_grow(struct hc_conn *c)
{
    char *b = c->cap < HC_BUF_MAX ? realloc(c->buf, c->cap * 2) : NULL;
    if (!b)
        return false;
    c->buf = b;
    c->cap *= 2;
    return true;
}

static void conn_read(struct us_hc *hc, struct hc_conn *c, us_time_t now)
{
    for (size_t got = 0;;) {
        if (got >= HC_READ_BUDGET) {
            hc->more = true;
            return;
        }
        if (c->len == c->cap && !buf_grow(c)) { /* a head cannot be larger: the parser's limit ended it */
            conn_proto_error(hc, c, now, c->cap < HC_BUF_MAX ? "out of memory" : "response head too large");
            return;
        }
        size_t room = c->cap - c->len;
        ssize_t n = us_tp_read(hc->tp, c->fd, c->buf + c->len, room, now);
        if (n == -EAGAIN)
            return;
        if (n <= 0) {
            conn_lost(hc, c, (int)n, now);
            return;
        }
        c->len += (size_t)n;
        got += (size_t)n;
        bool filled = (size_t)n == room;
        on_bytes(hc, c, now);
        if (c->state == C_CLOSED)
            return;
        if (filled)
            buf_grow(c);
    }
}

static void conn_lost(struct us_hc *hc, struct hc_conn *c, int error, us_time_t now)
{
    struct us_hc_req *r = c->first;
    bool reused = c->served > 0;
    conn_close(hc, c, now);
    if (r && r->t.first_byte) {
        r = flight_pop(c);
        if (c->in_body && !error && us_http_body_eof(&c->body) == US_HTTP_COMPLETE) {
            c->served++;
            requeue_flight(c, false, 0, now, "");
            req_finish(hc, r, now);
            return;
        }
        requeue_flight(c, false, 0, now, "");
        if (error)
            req_fail(r, error, now, "connection failed in the response: %s", strerror(-error));
        else
            req_fail(r, -EPROTO, now, "connection closed %s", c->in_body ? "before the end of the body" : "in the response head");
        return;
    }
    /* no response byte for any request on c */
    const char *why = error ? "connection reset before the response" : "connection closed before the response";
    struct us_hc_req *q;
    while ((q = flight_pop(c))) {
        if (reused || q->t.reused) {
            requeue(q, true, error ? error : -ENODATA, now, why);
        } else {
            req_fail(q, error ? error : -ENODATA, now, "%s", error ? why : "empty reply from server");
        }
    }
}

static void conn_event(struct us_hc *hc, struct hc_conn *c, unsigned ev, us_time_t now)
{
    if (c->state == C_CLOSED)
        return;
    if (c->state == C_CONNECTING) {
        connected(hc, c, now);
        return;
    }
    if ((ev & US_TP_WRITE) && !conn_flush(hc, c, now))
        return;
    if (ev & (US_TP_READ | US_TP_HUP | US_TP_ERR))
        conn_read(hc, c, now);
}

/* ---- timers, dispatch ------------------------------------------------------ */

/* r leaves the wait queue of its origin. */
static void wait_remove(struct hc_origin *o, struct us_hc_req *r)
{
    struct us_hc_req *prev = NULL;
    for (struct us_hc_req **pp = &o->wait; *pp; prev = *pp, pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            if (o->wait_last == r)
                o->wait_last = prev;
            r->next = NULL;
            return;
        }
}

/* r, in flight on c, ends (timeout, cancel): its response cannot be framed
 * any more, so the connection goes; a request ahead of r whose response had
 * begun is cut too, the others go again. Returns r, in no list. */
static struct us_hc_req *conn_drop_for(struct us_hc *hc, struct hc_conn *c, struct us_hc_req *r, int error,
                                       us_time_t now)
{
    conn_close(hc, c, now);
    struct us_hc_req *q;
    while ((q = flight_pop(c)) != r) {
        if (q->t.first_byte)
            req_fail(q, error, now, "connection closed: a request behind it ended (%s)", strerror(-error));
        else
            requeue(q, false, 0, now, "");
    }
    requeue_flight(c, false, 0, now, "");
    return r;
}

void us_hc_cancel(struct us_hc *hc, struct us_hc_req *r, us_time_t now)
{
    if (r->conn) {
        conn_drop_for(hc, r->conn, r, -ECANCELED, now);
    } else {
        bool resolving = false;
        for (struct us_hc_req *q = hc->resolving; q && !resolving; q = q->next)
            resolving = q == r;
        if (resolving) {
            resolving_remove(hc, r);
            us_dns_cancel(hc->cfg.dns, r, now);
        } else {
            wait_remove(r->o, r);
        }
    }
    req_fail(r, -ECANCELED, now, "cancelled");
}

static void expire(struct us_hc *hc, struct hc_origin *o, us_time_t now)
{
    for (struct us_hc_req *r = o->wait, *next; r; r = next) {
        next = r->next;
        if (r->deadline > now)
            continue;
        wait_remove(o, r);
        req_fail(r, -ETIMEDOUT, now, "timed out after %.3f s (waiting for a connection)",
                 (double)(now - r->t.queued) / 1e9);
    }
    for (struct hc_conn *c = o->conns; c; c = c->next) {
        if (c->state == C_CLOSED)
            continue;
        if (c->state == C_CONNECTING && c->connect_deadline <= now) {
            conn_fail_connect(hc, c, -ETIMEDOUT, now);
            continue;
        }
        for (struct us_hc_req *r = c->first; r; r = r->next)
            if (r->deadline <= now) {
                conn_drop_for(hc, c, r, -ETIMEDOUT, now);
                req_fail(r, -ETIMEDOUT, now, "timed out after %.3f s%s", (double)(now - r->t.queued) / 1e9,
                         r->t.first_byte ? "" : r->t.connect_end || r->t.reused ? " (no response)" : " (connecting)");
                break;
            }
        if (c->state == C_OPEN && !c->first && c->idle_since + hc->cfg.idle_timeout <= now)
            conn_close(hc, c, now);
    }
}

/* A connection that can take r now, or NULL. */
static struct hc_conn *pick(struct us_hc *hc, struct hc_origin *o, const struct us_hc_req *r)
{
    struct hc_conn *best = NULL;
    for (struct hc_conn *c = o->conns; c; c = c->next) {
        if (c->state == C_CLOSED)
            continue;
        if (!c->first)
            return c;
        if (hc->cfg.pipeline > 1 && idempotent(r->method) && c->inflight < hc->cfg.pipeline &&
            (!best || c->inflight < best->inflight)) {
            bool all = true;
            for (struct us_hc_req *q = c->first; q; q = q->next)
                all = all && idempotent(q->method);
            if (all)
                best = c;
        }
    }
    return best;
}

static void dispatch(struct us_hc *hc, struct hc_origin *o, us_time_t now)
{
    while (o->wait) {
        struct hc_conn *c = pick(hc, o, o->wait);
        if (!c && o->nconns < hc->cfg.max_per_host) {
            int err = 0;
            c = conn_new(hc, o, now, &err);
            if (!c) {
                struct us_hc_req *r = wait_pop(o);
                req_fail(r, err, now, "cannot connect: %s", strerror(-err));
                continue;
            }
        }
        if (!c)
            return;
        assign(hc, c, wait_pop(o), now);
    }
}

static us_time_t deadlines(struct us_hc *hc, struct hc_origin *o, us_time_t next)
{
    for (struct us_hc_req *r = o->wait; r; r = r->next)
        next = r->deadline < next ? r->deadline : next;
    for (struct hc_conn *c = o->conns; c; c = c->next) {
        if (c->state == C_CONNECTING && c->connect_deadline < next)
            next = c->connect_deadline;
        if (c->state == C_OPEN && !c->first && c->idle_since + hc->cfg.idle_timeout < next)
            next = c->idle_since + hc->cfg.idle_timeout;
        for (struct us_hc_req *r = c->first; r; r = r->next)
            next = r->deadline < next ? r->deadline : next;
    }
    return next;
}

static void reap(struct hc_origin *o)
{
    for (struct hc_conn **pp = &o->conns, *c; (c = *pp);) {
        if (c->state == C_CLOSED && !c->first) {
            *pp = c->next;
            o->nconns--;
            conn_free(c);
        } else {
            pp = &c->next;
        }
    }
}

us_time_t us_hc_step(struct us_hc *hc, us_time_t now)
{
    struct us_tp_event ev[64];
    int n = us_tp_poll(hc->tp, ev, 64, now);
    hc->more = false;
    for (int i = 0; i < n; i++)
        if (!hc->cfg.dns || !us_dns_event(hc->cfg.dns, &ev[i], now))
            conn_event(hc, ev[i].ctx, ev[i].events, now);
    us_time_t dns_next = hc->cfg.dns ? us_dns_step(hc->cfg.dns, now) : US_TIME_NEVER;
    for (struct us_hc_req **pp = &hc->resolving, *r; (r = *pp);) {
        if (r->deadline > now) {
            if (r->deadline < dns_next)
                dns_next = r->deadline;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        if (!r->dns_follower) {
            us_dns_cancel(hc->cfg.dns, r, now);
            /* a request that waited for this lookup asks for itself now */
            for (struct us_hc_req *q = hc->resolving; q; q = q->next)
                if (q->dns_follower && !strcmp(q->url.host, r->url.host)) {
                    q->dns_follower = false;
                    if (us_dns_lookup(hc->cfg.dns, q->url.host, dns_done, q, now) < 0)
                        q->deadline = now;   /* fails as timed out below or at the next step */
                    break;
                }
        }
        req_fail(r, -ETIMEDOUT, now, "timed out after %.3f s (looking up %.120s)", (double)(now - r->t.queued) / 1e9,
                 r->url.host);
        pp = &hc->resolving;   /* the list may have changed under the callbacks */
    }
    for (struct hc_origin *o = hc->origins; o; o = o->next)
        expire(hc, o, now);
    for (struct hc_origin *o = hc->origins; o; o = o->next)
        reap(o);
    for (struct hc_origin *o = hc->origins; o; o = o->next) {
        dispatch(hc, o, now);
        for (struct hc_conn *c = o->conns; c; c = c->next)
            if (c->state == C_OPEN && c->out_off < c->out_len)
                conn_flush(hc, c, now);
    }
    us_time_t next = n == 64 || hc->more ? now : dns_next;
    for (struct hc_origin *o = hc->origins; o; o = o->next) {
        reap(o);
        next = deadlines(hc, o, next);
        /* queued during the dispatch (a callback, a retry): the next step takes it */
        if (o->wait && (pick(hc, o, o->wait) || o->nconns < hc->cfg.max_per_host))
            next = now;
    }
    return next;
}
