/* The HTTP/1.1 server: connections as state machines over the transport.
 *
 * Paths through this file:
 *   us_http_server_step → poll → listener: accept_all → conn_new → drive
 *                              → connection: drive
 *                       → expire: the three timer lists (idle, header, linger)
 *   drive (until nothing moves): read into the input buffer, then by state
 *     C_HEAD   parse the buffered head (us_http_parse_head, from its start) →
 *              on_request → the response is built at once (respond_*), the
 *              part after a 100 Continue held until the body is read
 *     C_BODY   us_http_body_parse consumes and drops the body → C_SEND
 *     C_SEND   send_some: the head, then the file in windows → finish →
 *              C_HEAD (keep-alive: pipelined input is parsed next) or
 *              graceful_close
 *     C_LINGER our FIN is out; input is read and dropped until EOF or the
 *              linger timer, then the descriptor is closed
 *
 * Timers are three FIFO lists, one per duration: a connection re-armed goes
 * to the tail with now + duration, so each list stays sorted by deadline and
 * the next deadline is the earliest head. Every connection is on one list.
 *
 * Readiness is level-triggered but the ustack backend's wait does not look
 * at it: every watched descriptor is read (written) until it would block,
 * and a connection whose interest comes back (buffer room, a response done)
 * is driven at once, so no step ends with ready work that nobody will be
 * woken for.
 *
 * Buffers: while a connection has no input left over, it reads into the
 * server's one receive buffer; only bytes left over (a partial head,
 * pipelined requests) are copied to a buffer of its own, freed once empty.
 * The response head lives in a small per-connection buffer while it is
 * being sent; file data is pread into the server's send buffer, behind what
 * remains of the head, so a small response leaves in one write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ustack/http_server.h>
#include "http_file.h"
#include "http_int.h"

enum { C_HEAD, C_BODY, C_SEND, C_LINGER };
enum { T_IDLE, T_HEADER, T_LINGER, T_N };

#define SEND_WINDOW 65536u
#define WINDOW_MIN 8192u
#define ACCEPT_PAUSE US_MS(100)

struct conn {
    int fd;
    uint8_t state, tlist;
    bool eof;                  /* the peer's FIN was read */
    bool close_after;          /* graceful close once this response is out */
    bool wblocked;             /* the last write did not take everything */
    bool in_own;               /* in is ours (else the server's receive buffer) */
    unsigned watched;
    uint32_t nreq;
    struct us_tp_addr peer;
    char *in;
    uint32_t in_off, in_len, in_cap, parsed;   /* parsed: in_len at the last NEED_MORE */
    char *out;
    uint32_t out_off, out_len, out_hold, out_cap;  /* out[out_off..out_hold) may go now */
    struct us_http_body body;
    int file;
    uint64_t file_off, file_left;
    uint32_t window;           /* bytes of the file read per write, 0 = SEND_WINDOW */
    us_time_t deadline;
    struct conn *tprev, *tnext;
};

struct tlist { struct conn *head, *tail; us_time_t dur; };

struct us_http_server {
    struct us_tp *tp;
    struct us_http_server_config cfg;
    struct hf_root root;
    int lfd;
    bool lwatched, accept_again;  /* accept_again: the listener was watched again during a step */
    us_time_t accept_retry;       /* after an accept failed (EMFILE, ENOMEM): when to try again, or 0 */
    uint16_t port;
    us_time_t now;
    struct tlist t[T_N];
    struct us_http_server_stats st;
    struct us_http_parser p;
    struct us_http_field *fields;
    char *rx;                  /* the shared receive buffer: cfg.read_ahead bytes */
    char *tx;                  /* the shared send buffer: SEND_WINDOW bytes */
    int64_t date_sec, lm_mtime;
    char date[30], lm[30];
    char logtime[32];
};

/* ---- timers --------------------------------------------------------------- */

static void t_unlink(struct us_http_server *s, struct conn *k)
{
    struct tlist *l = &s->t[k->tlist];
    if (!k->tprev && l->head != k)
        return;   /* on no list yet (just accepted): the list's head is another's */
    if (k->tprev)
        k->tprev->tnext = k->tnext;
    else
        l->head = k->tnext;
    if (k->tnext)
        k->tnext->tprev = k->tprev;
    else
        l->tail = k->tprev;
    k->tprev = k->tnext = NULL;
}

/* (Re-)arms k on list `which`: deadline now + its duration, at the tail. */
static void t_arm(struct us_http_server *s, struct conn *k, int which)
{
    t_unlink(s, k);
    struct tlist *l = &s->t[which];
    k->tlist = (uint8_t)which;
    k->deadline = s->now + l->dur;
    k->tprev = l->tail;
    if (l->tail)
        l->tail->tnext = k;
    else
        l->head = k;
    l->tail = k;
}

/* ---- dates and the log ---------------------------------------------------- */

static void clock_update(struct us_http_server *s)
{
    int64_t wall = (int64_t)s->now + s->cfg.wall_offset;
    int64_t sec = wall >= 0 ? wall / 1000000000 : 0;
    if (sec == s->date_sec && s->date[0])
        return;
    s->date_sec = sec;
    us_http_date(sec, s->date);
    /* common log format: 10/Oct/2000:13:55:36 +0000, from "Tue, 10 Oct 2000 13:55:36 GMT" */
    snprintf(s->logtime, sizeof(s->logtime), "%.2s/%.3s/%.4s:%.8s +0000", s->date + 5, s->date + 8,
             s->date + 12, s->date + 17);
}

/* A field value for the log: quotes and backslashes escaped as \xHH. */
static void log_str(FILE *f, const char *v, size_t n)
{
    if (!n) {
        fputc('-', f);
        return;
    }
    for (size_t i = 0; i < n && i < 512; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
            fprintf(f, "\\x%02X", c);
        else
            fputc(c, f);
    }
}

static void log_request(struct us_http_server *s, struct conn *k, const char *buf, const struct us_http_msg *m,
                        int status, uint64_t bytes)
{
    FILE *f = s->cfg.access_log;
    if (!f)
        return;
    char ip[16];
    us_ip4_t a = k->peer.ip;
    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    fprintf(f, "%s - - [%s] \"", ip, s->logtime);
    if (m) {
        log_str(f, buf + m->method.off, m->method.len);
        fputc(' ', f);
        log_str(f, buf + m->target.off, m->target.len);
        fprintf(f, " HTTP/1.%u\" %d %llu \"", m->minor, status, (unsigned long long)bytes);
        const struct us_http_field *r = us_http_find(m, buf, "Referer"), *u = us_http_find(m, buf, "User-Agent");
        log_str(f, r ? buf + r->value.off : "", r ? r->value.len : 0);
        fputs("\" \"", f);
        log_str(f, u ? buf + u->value.off : "", u ? u->value.len : 0);
        fputs("\"\n", f);
    } else {
        fprintf(f, "-\" %d %llu \"-\" \"-\"\n", status, (unsigned long long)bytes);
    }
}

/* ---- the output buffer ------------------------------------------------------ */

static bool out_room(struct conn *k, size_t more)
{
    if (k->out_len + more <= k->out_cap)
        return true;
    size_t cap = k->out_cap ? k->out_cap : 512;
    while (cap < k->out_len + more)
        cap *= 2;
    char *o = realloc(k->out, cap);
    if (!o)
        return false;
    k->out = o;
    k->out_cap = (uint32_t)cap;
    return true;
}

static void out_free(struct conn *k)
{
    free(k->out);
    k->out = NULL;
    k->out_off = k->out_len = k->out_hold = k->out_cap = 0;
}

/* ---- responses ------------------------------------------------------------ */

struct resp {
    int status;
    const char *type;          /* Content-Type, or NULL */
    uint64_t length;           /* Content-Length */
    bool no_length;            /* 304: no Content-Length */
    const struct hf_file *file;/* Last-Modified, ETag */
    const char *extra;         /* more field lines, each ending in CRLF, or NULL */
};

static void out_put(struct conn *k, const char *str, size_t n)
{
    if (out_room(k, n)) {
        memcpy(k->out + k->out_len, str, n);
        k->out_len += (uint32_t)n;
    }
}
#define OUT_LIT(k, lit) out_put((k), (lit), sizeof(lit) - 1)

static void out_str(struct conn *k, const char *str) { out_put(k, str, strlen(str)); }

static void out_u64(struct conn *k, uint64_t v)
{
    char d[20];
    int i = 20;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_put(k, d + i, (size_t)(20 - i));
}

/* Last-Modified of a file: formatted once per distinct mtime seen last. */
static const char *last_modified(struct us_http_server *s, int64_t mtime)
{
    if (!s->lm[0] || s->lm_mtime != mtime) {
        us_http_date(mtime, s->lm);
        s->lm_mtime = mtime;
    }
    return s->lm;
}

/* The status line and fields of a final response, into k->out (built by
 * appending: snprintf was a tenth of the server's own time). */
static void head_out(struct us_http_server *s, struct conn *k, const struct resp *r, int minor)
{
    OUT_LIT(k, "HTTP/1.1 ");
    out_u64(k, (uint64_t)r->status);
    OUT_LIT(k, " ");
    out_str(k, us_http_reason(r->status));
    OUT_LIT(k, "\r\nServer: ustack\r\nDate: ");
    out_put(k, s->date, 29);
    if (r->type) {
        OUT_LIT(k, "\r\nContent-Type: ");
        out_str(k, r->type);
    }
    if (!r->no_length) {
        OUT_LIT(k, "\r\nContent-Length: ");
        out_u64(k, r->length);
    }
    if (r->file) {
        OUT_LIT(k, "\r\nLast-Modified: ");
        out_put(k, last_modified(s, r->file->mtime), 29);
        OUT_LIT(k, "\r\nETag: ");
        out_str(k, r->file->etag);
    }
    OUT_LIT(k, "\r\n");
    if (r->extra)
        out_str(k, r->extra);
    if (k->close_after)
        OUT_LIT(k, "Connection: close\r\n");
    else if (minor == 0)
        OUT_LIT(k, "Connection: keep-alive\r\n");
    OUT_LIT(k, "\r\n");
}

/* A response whose body is a line of text: errors, redirects. */
static uint64_t respond_text(struct us_http_server *s, struct conn *k, int status, bool head_only, const char *extra,
                             int minor)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, us_http_reason(status));
    struct resp r = {.status = status, .type = "text/plain; charset=utf-8", .length = (uint64_t)n, .extra = extra};
    head_out(s, k, &r, minor);
    if (head_only)
        return 0;
    out_put(k, body, (size_t)n);
    return (uint64_t)n;
}

static void close_file(struct conn *k)
{
    if (k->file >= 0)
        close(k->file);
    k->file = -1;
    k->file_left = 0;
}

/* Conditional (RFC 9110 13.2.2: If-None-Match first, If-Modified-Since only
 * without it) → true when the answer is 304. */
static bool not_modified(const char *buf, const struct us_http_msg *m, const struct hf_file *f)
{
    const struct us_http_field *inm = us_http_find(m, buf, "If-None-Match");
    if (inm)
        return hf_etag_match(buf + inm->value.off, inm->value.len, f->etag);
    const struct us_http_field *ims = us_http_find(m, buf, "If-Modified-Since");
    int64_t t;
    return ims && us_http_date_parse(buf + ims->value.off, ims->value.len, &t) && f->mtime <= t;
}

/* If-Range (RFC 9110 13.1.5): the range applies when the validator is our
 * strong ETag or exactly our Last-Modified date. */
static bool if_range_holds(const char *buf, const struct us_http_msg *m, const struct hf_file *f)
{
    const struct us_http_field *ir = us_http_find(m, buf, "If-Range");
    if (!ir)
        return true;
    const char *v = buf + ir->value.off;
    size_t n = ir->value.len;
    if (n && v[0] == '"')
        return n == strlen(f->etag) && !memcmp(v, f->etag, n);
    char lm[30];
    us_http_date(f->mtime, lm);
    return n == 29 && !memcmp(v, lm, 29);
}

/* GET or HEAD of a file; returns the status. */
static int respond_file(struct us_http_server *s, struct conn *k, const char *buf, const struct us_http_msg *m,
                        uint64_t *bytes)
{
    bool head = m->method_id == US_HTTP_M_HEAD;
    char rel[4096];
    struct us_http_span path = m->path;
    int n = m->target_form == US_HTTP_T_ASTERISK ? -400 : hf_clean_path(buf + path.off, path.len, rel, sizeof(rel));
    struct hf_file f;
    int rc = n < 0 ? n : hf_open(&s->root, rel, &f);
    if (rc == 301) {
        /* the directory's URL with its '/', so relative links resolve */
        const char *p = buf + path.off, *q = memchr(p, '?', path.len);
        size_t plen = q ? (size_t)(q - p) : path.len;
        char *loc = malloc(plen + path.len + 32);
        if (!loc)
            rc = -500;
        else {
            snprintf(loc, plen + path.len + 32, "Location: %.*s/%.*s\r\n", (int)plen, p,
                     (int)(path.len - plen), p + plen);
            *bytes = respond_text(s, k, 301, head, loc, m->minor);
            free(loc);
            return 301;
        }
    }
    if (rc < 0) {
        *bytes = respond_text(s, k, -rc, head, NULL, m->minor);
        return -rc;
    }
    if (not_modified(buf, m, &f)) {
        struct resp r = {.status = 304, .no_length = true, .file = &f};
        head_out(s, k, &r, m->minor);
        close(f.fd);
        return 304;
    }
    uint64_t first = 0, last = f.size ? f.size - 1 : 0;
    const struct us_http_field *range = m->method_id == US_HTTP_M_GET ? us_http_find(m, buf, "Range") : NULL;
    int rr = range && if_range_holds(buf, m, &f) ? hf_range(buf + range->value.off, range->value.len, f.size,
                                                            &first, &last) : 0;
    char extra[96];
    if (rr < 0) {
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n", (unsigned long long)f.size);
        *bytes = respond_text(s, k, 416, head, extra, m->minor);
        close(f.fd);
        return 416;
    }
    struct resp r = {.status = 200, .type = f.mime, .length = f.size, .file = &f, .extra = "Accept-Ranges: bytes\r\n"};
    if (rr > 0) {
        snprintf(extra, sizeof(extra), "Accept-Ranges: bytes\r\nContent-Range: bytes %llu-%llu/%llu\r\n",
                 (unsigned long long)first, (unsigned long long)last, (unsigned long long)f.size);
        r.status = 206;
        r.length = last - first + 1;
        r.extra = extra;
    }
    head_out(s, k, &r, m->minor);
    if (head || r.length == 0) {
        close(f.fd);
    } else {
        k->file = f.fd;
        k->file_off = first;
        k->file_left = r.length;
        *bytes = r.length;
    }
    return r.status;
}

/* A request head is complete: decide and build the answer. */
static void on_request(struct us_http_server *s, struct conn *k, const char *buf, const struct us_http_msg *m)
{
    k->nreq++;
    s->st.requests++;
    k->close_after = !m->keep_alive || (s->cfg.max_requests && k->nreq >= s->cfg.max_requests);
    bool has_body = m->framing == US_HTTP_BODY_CHUNKED || (m->framing == US_HTTP_BODY_LENGTH && m->content_length);
    k->out_off = k->out_len = k->out_hold = 0;
    int status;
    uint64_t bytes = 0;
    bool head = m->method_id == US_HTTP_M_HEAD;
    if (m->flags & US_HTTP_F_EXPECT_OTHER) {
        /* RFC 9110 10.1.1: an expectation we cannot meet; the body is not
         * read, so the connection cannot carry another request */
        k->close_after = true;
        has_body = false;
        bytes = respond_text(s, k, status = 417, head, NULL, m->minor);
    } else {
        if (has_body && (m->flags & US_HTTP_F_EXPECT_CONTINUE))
            OUT_LIT(k, "HTTP/1.1 100 Continue\r\n\r\n");
        uint32_t interim = k->out_len;
        if (m->method_id == US_HTTP_M_GET || head)
            status = respond_file(s, k, buf, m, &bytes);
        else if (m->method_id == US_HTTP_M_OTHER)
            bytes = respond_text(s, k, status = 501, false, NULL, m->minor);
        else
            bytes = respond_text(s, k, status = 405, false, "Allow: GET, HEAD\r\n", m->minor);
        k->out_hold = interim;
    }
    if (!k->out) { /* out of memory building the head */
        k->close_after = true;
        close_file(k);
    }
    if (!has_body)
        k->out_hold = k->out_len;
    s->st.responses[status / 100 % 6]++;
    log_request(s, k, buf, m, status, bytes);
    us_http_body_init(&k->body, m, &s->cfg.limits);
    k->state = has_body ? C_BODY : C_SEND;
    t_arm(s, k, T_IDLE);
}

/* An error answered and the connection closed after it (the input after
 * the error cannot be framed). */
static void fail(struct us_http_server *s, struct conn *k, int status)
{
    close_file(k);
    k->out_len = k->out_hold = k->out_off < k->out_hold ? k->out_hold : k->out_off;
    k->close_after = true;
    uint64_t bytes = respond_text(s, k, status, false, NULL, 1);
    k->out_hold = k->out_len;
    k->in_off = k->in_len = 0;
    k->state = C_SEND;
    s->st.responses[status / 100 % 6]++;
    log_request(s, k, NULL, NULL, status, bytes);
    t_arm(s, k, T_IDLE);
}

/* ---- connections ---------------------------------------------------------- */

/* The listener is unwatched while the server is full or accept fails, and
 * watched again (accepting at the end of the step) when that may be over. */
static void listener_pause(struct us_http_server *s)
{
    if (s->lwatched && us_tp_watch(s->tp, s->lfd, 0, NULL) == 0)
        s->lwatched = false;
}

static void listener_resume(struct us_http_server *s)
{
    if (!s->lwatched && s->lfd >= 0 && us_tp_watch(s->tp, s->lfd, US_TP_READ, NULL) == 0)
        s->lwatched = s->accept_again = true;
}

static void conn_close(struct us_http_server *s, struct conn *k)
{
    t_unlink(s, k);
    close_file(k);
    us_tp_close(s->tp, k->fd, s->now);
    if (k->in_own)
        free(k->in);
    free(k->out);
    free(k);
    s->st.open--;
    listener_resume(s);
}

/* Our FIN now; the input is drained until the peer's FIN or the linger
 * timer. false: k is gone (the peer had closed already). */
static bool graceful_close(struct us_http_server *s, struct conn *k)
{
    out_free(k);
    if (k->eof) { /* the peer is done too: nothing more can arrive */
        conn_close(s, k);
        return false;
    }
    us_tp_shutdown(s->tp, k->fd, s->now);
    k->state = C_LINGER;
    k->in_off = k->in_len = 0;
    t_arm(s, k, T_LINGER);
    return true;
}

static void enter_head(struct us_http_server *s, struct conn *k)
{
    k->state = C_HEAD;
    k->parsed = 0;
    out_free(k);
    t_arm(s, k, T_IDLE);
}

/* The response went out completely. false: the connection is gone. */
static bool finish(struct us_http_server *s, struct conn *k)
{
    close_file(k);
    if (k->close_after)
        return graceful_close(s, k);
    enter_head(s, k);
    return true;
}

static uint32_t buffered(const struct conn *k) { return k->in_len - k->in_off; }

static bool want_read(const struct us_http_server *s, const struct conn *k)
{
    if (k->eof)
        return false;
    return k->state == C_LINGER || buffered(k) < s->cfg.read_ahead;
}

/* Room for reading: the shared buffer while k has nothing left over. */
static bool in_room(struct us_http_server *s, struct conn *k)
{
    if (k->in_off == k->in_len) {
        k->in_off = k->in_len = 0;
        if (k->in_own) {
            free(k->in);
            k->in_own = false;
        }
        k->in = s->rx;
        k->in_cap = s->cfg.read_ahead;
        return true;
    }
    if (k->in_len < k->in_cap)
        return true;
    if (k->in_off) {
        memmove(k->in, k->in + k->in_off, buffered(k));
        k->in_len -= k->in_off;
        k->in_off = 0;
        return true;
    }
    if (!k->in_own || k->in_cap >= s->cfg.read_ahead)
        return false;
    uint32_t cap = k->in_cap * 2 < s->cfg.read_ahead ? k->in_cap * 2 : s->cfg.read_ahead;
    char *n = realloc(k->in, cap);
    if (!n)
        return false;
    k->in = n;
    k->in_cap = cap;
    return true;
}

/* After a drive: bytes left in the shared buffer move to k's own. */
static bool in_keep(struct us_http_server *s, struct conn *k)
{
    if (!k->in)
        return true;
    uint32_t n = buffered(k);
    if (k->in_own && n)
        return true;
    if (!n) {
        if (k->in_own)
            free(k->in);
        k->in_own = false;
        k->in = NULL;
        k->in_off = k->in_len = k->in_cap = 0;
        return true;
    }
    uint32_t cap = 1024;
    while (cap < n)
        cap *= 2;
    if (cap > s->cfg.read_ahead)
        cap = s->cfg.read_ahead;
    char *b = malloc(cap);
    if (!b)
        return false;
    memcpy(b, k->in + k->in_off, n);
    k->in = b;
    k->in_own = true;
    k->in_cap = cap;
    k->in_len = n;
    k->in_off = 0;
    return true;
}

/* 1: bytes read, 0: nothing now, -1: the connection is gone. */
static int read_some(struct us_http_server *s, struct conn *k)
{
    if (k->state == C_LINGER) {
        ssize_t r = us_tp_read(s->tp, k->fd, s->tx, SEND_WINDOW, s->now);
        if (r == -EAGAIN)
            return 0;
        if (r <= 0) {
            conn_close(s, k);
            return -1;
        }
        return 1;
    }
    if (!in_room(s, k))
        return 0;
    uint32_t room = k->in_cap - k->in_len, left = s->cfg.read_ahead - buffered(k);
    ssize_t r = us_tp_read(s->tp, k->fd, k->in + k->in_len, room < left ? room : left, s->now);
    if (r == -EAGAIN)
        return 0;
    if (r == 0) {
        k->eof = true;
        return 1;
    }
    if (r < 0) {
        conn_close(s, k);
        return -1;
    }
    k->in_len += (uint32_t)r;
    return 1;
}

/* Parses the buffered head. true when something changed. */
static bool do_head(struct us_http_server *s, struct conn *k)
{
    uint32_t n = buffered(k);
    if (!n || n == k->parsed)
        return false;
    const char *buf = k->in + k->in_off;
    /* A head is parsed again from its start; a peer sending a few bytes at
     * a time costs a parse only per line end or per kilobyte. */
    if (k->parsed && !memchr(buf + k->parsed, '\n', n - k->parsed) && n / 1024 == k->parsed / 1024)
        return false;
    us_http_parser_reset(&s->p);
    enum us_http_rc rc = us_http_parse_head(&s->p, buf, n);
    if (rc == US_HTTP_NEED_MORE) {
        k->parsed = n;
        if (k->tlist != T_HEADER)
            t_arm(s, k, T_HEADER);
        return false;
    }
    if (rc == US_HTTP_ERROR) {
        fail(s, k, s->p.status);
        return true;
    }
    on_request(s, k, buf, &s->p.msg);
    k->in_off += s->p.head_len;
    k->parsed = 0;
    return true;
}

/* Consumes and drops body bytes. true when something changed. */
static bool do_body(struct us_http_server *s, struct conn *k)
{
    bool moved = false;
    while (buffered(k)) {
        size_t used = 0;
        struct us_http_span data;
        enum us_http_rc rc = us_http_body_parse(&k->body, k->in + k->in_off, buffered(k), &used, &data);
        k->in_off += (uint32_t)used;
        moved = moved || used;
        if (rc == US_HTTP_ERROR) {
            fail(s, k, k->body.status);
            return true;
        }
        if (rc == US_HTTP_COMPLETE) {
            k->out_hold = k->out_len;
            k->state = C_SEND;
            return true;
        }
        if (!used)
            break;
    }
    if (moved)
        t_arm(s, k, T_IDLE);
    return moved;
}

/* Writes what may go. 1: progress, 0: blocked or nothing, -1: gone. */
static int send_some(struct us_http_server *s, struct conn *k)
{
    bool moved = false;
    for (;;) {
        uint32_t h = k->out_hold - k->out_off;
        bool body_ok = k->out_hold == k->out_len && k->state == C_SEND;
        uint64_t fl = body_ok ? k->file_left : 0;
        if (!h && !fl)
            break;
        const char *p = k->out + k->out_off;
        size_t len = h;
        if (fl) {
            /* the rest of the head, then a window of the file behind it */
            size_t win = k->window ? k->window : SEND_WINDOW;
            if (h > win / 2)
                fl = 0;   /* a long head goes alone first */
            else {
                memcpy(s->tx, p, h);
                size_t want = win - h < fl ? win - h : (size_t)fl;
                ssize_t r = pread(k->file, s->tx + h, want, (off_t)k->file_off);
                if (r <= 0) { /* the file shrank or failed: the framing cannot be kept */
                    conn_close(s, k);
                    return -1;
                }
                p = s->tx;
                len = h + (size_t)r;
            }
        }
        ssize_t w = us_tp_write(s->tp, k->fd, p, len, s->now);
        if (w == -EAGAIN) {
            k->wblocked = true;
            break;
        }
        if (w < 0) {
            conn_close(s, k);
            return -1;
        }
        moved = true;
        size_t hw = (size_t)w < h ? (size_t)w : h;
        k->out_off += (uint32_t)hw;
        if ((size_t)w > hw) {
            k->file_off += (size_t)w - hw;
            k->file_left -= (size_t)w - hw;
            s->st.body_bytes += (size_t)w - hw;
        }
        /* A write that took part of a window makes the next one smaller
         * (twice what went): a slow reader costs no 64 KiB read per segment. */
        uint32_t win = k->window ? k->window : SEND_WINDOW;
        if ((size_t)w < len)
            win = 2 * (uint32_t)w < WINDOW_MIN ? WINDOW_MIN : 2 * (uint32_t)w;
        else
            win = 2 * win;
        k->window = win >= SEND_WINDOW ? 0 : win;
        if ((size_t)w < len) {
            k->wblocked = true;
            break;
        }
        k->wblocked = false;
    }
    if (moved)
        t_arm(s, k, T_IDLE);
    if (k->state == C_SEND && k->out_off == k->out_len && !k->file_left) {
        k->wblocked = false;
        return finish(s, k) ? 1 : -1;
    }
    return moved;
}

static void update_watch(struct us_http_server *s, struct conn *k)
{
    unsigned w = (want_read(s, k) ? US_TP_READ : 0u) | (k->wblocked ? US_TP_WRITE : 0u);
    if (w != k->watched && us_tp_watch(s->tp, k->fd, w, k) == 0)
        k->watched = w;
}

/* Moves k as far as it can go now. */
static void drive(struct us_http_server *s, struct conn *k)
{
    for (int guard = 0; guard < 10000; guard++) {
        bool moved = false;
        if (want_read(s, k)) {
            int r = read_some(s, k);
            if (r < 0)
                return;
            moved = r > 0;
        }
        switch (k->state) {
        case C_HEAD:
            if (do_head(s, k))
                moved = true;
            else if (k->eof) { /* the peer is done: nothing (complete) to answer */
                conn_close(s, k);
                return;
            }
            break;
        case C_BODY:
            if (do_body(s, k))
                moved = true;
            else if (k->eof) {
                conn_close(s, k);
                return;
            }
            break;
        default:
            break;
        }
        if (k->state == C_SEND || k->out_hold > k->out_off) {
            int r = send_some(s, k);
            if (r < 0)
                return;
            moved = moved || r > 0;
        }
        if (!moved)
            break;
    }
    if (!in_keep(s, k)) {
        conn_close(s, k);
        return;
    }
    update_watch(s, k);
}

static void accept_all(struct us_http_server *s)
{
    while (s->st.open < s->cfg.max_conns) {
        struct us_tp_addr peer;
        int fd = us_tp_accept(s->tp, s->lfd, &peer, s->now);
        struct conn *k = fd >= 0 ? calloc(1, sizeof(*k)) : NULL;
        if (!k) {
            if (fd == -EAGAIN)
                return;
            /* out of descriptors or memory: the listener stays readable, so
             * it rests (ACCEPT_PAUSE, or until a connection closes) instead
             * of waking every wait */
            if (fd >= 0)
                us_tp_close(s->tp, fd, s->now);
            listener_pause(s);
            s->accept_retry = s->now + ACCEPT_PAUSE;
            return;
        }
        k->fd = fd;
        k->peer = peer;
        k->file = -1;
        k->tlist = T_IDLE;
        s->st.accepted++;
        s->st.open++;
        us_tp_setopt(s->tp, fd, US_TP_NODELAY, 1, s->now);
        enter_head(s, k);
        drive(s, k);
    }
    listener_pause(s);  /* full: the accept queue holds the rest */
}

static void expire(struct us_http_server *s)
{
    for (int i = 0; i < T_N; i++) {
        struct conn *k;
        while ((k = s->t[i].head) && k->deadline <= s->now) {
            if (i == T_LINGER) {
                conn_close(s, k);
            } else if (i == T_HEADER) {
                /* RFC 9110 15.5.9: the head did not arrive in time */
                fail(s, k, 408);
                drive(s, k);
            } else if (k->state == C_HEAD && !buffered(k)) {
                if (graceful_close(s, k))    /* an idle keep-alive connection */
                    update_watch(s, k);
            } else {
                conn_close(s, k);        /* a body or a send that stalled */
            }
        }
    }
}

us_time_t us_http_server_step(struct us_http_server *s, us_time_t now)
{
    s->now = now;
    clock_update(s);
    struct us_tp_event ev[256];
    int rounds = 0, n;
    do {
        n = us_tp_poll(s->tp, ev, 256, now);
        for (int i = 0; i < n; i++) {
            if (!ev[i].ctx)
                accept_all(s);
            else
                drive(s, ev[i].ctx);
        }
    } while (n == 256 && ++rounds < 16);
    expire(s);
    if (s->accept_retry && now >= s->accept_retry) {
        s->accept_retry = 0;
        listener_resume(s);
    }
    if (s->accept_again) {
        s->accept_again = false;
        accept_all(s);
    }
    if (s->cfg.access_log)
        fflush(s->cfg.access_log);
    if (n == 256)
        return now;
    us_time_t d = s->accept_retry ? s->accept_retry : US_TIME_NEVER;
    for (int i = 0; i < T_N; i++)
        if (s->t[i].head && s->t[i].head->deadline < d)
            d = s->t[i].head->deadline;
    return d;
}

/* ---- set-up ----------------------------------------------------------------- */

void us_http_server_config_default(struct us_http_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->root = ".";
    cfg->addr.port = 80;
    cfg->backlog = 1024;
    cfg->idle_timeout = US_SEC(60);
    cfg->header_timeout = US_SEC(10);
    cfg->linger = US_SEC(2);
    cfg->max_requests = 1000;
    cfg->max_conns = 100000;
    cfg->read_ahead = 65536;
    us_http_limits_default(&cfg->limits);
}

struct us_http_server *us_http_server_new(struct us_tp *tp, const struct us_http_server_config *cfg, char *err,
                                          size_t errlen)
{
    struct us_http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "us_http_server_new: out of memory");
        return NULL;
    }
    s->tp = tp;
    s->cfg = *cfg;
    s->lfd = -1;
    s->root.fd = -1;
    if (s->cfg.read_ahead <= s->cfg.limits.max_head)
        s->cfg.read_ahead = s->cfg.limits.max_head + 1;
    if (!s->cfg.max_conns)
        s->cfg.max_conns = 1;
    s->t[T_IDLE].dur = s->cfg.idle_timeout;
    s->t[T_HEADER].dur = s->cfg.header_timeout;
    s->t[T_LINGER].dur = s->cfg.linger;
    uint32_t nf = s->cfg.limits.max_fields ? s->cfg.limits.max_fields : 1;
    s->fields = calloc(nf, sizeof(*s->fields));
    s->rx = malloc(s->cfg.read_ahead);
    s->tx = malloc(SEND_WINDOW);
    if (!s->fields || !s->rx || !s->tx) {
        snprintf(err, errlen, "us_http_server_new: out of memory");
        us_http_server_free(s, 0);
        return NULL;
    }
    us_http_parser_init(&s->p, US_HTTP_REQUEST, &s->cfg.limits, s->fields, nf);
    if (hf_root_open(&s->root, s->cfg.root, err, errlen) < 0) {
        us_http_server_free(s, 0);
        return NULL;
    }
    us_time_t now = us_tp_now(tp);
    s->lfd = us_tp_listen(tp, &s->cfg.addr, s->cfg.backlog, now);
    if (s->lfd < 0) {
        snprintf(err, errlen, "listen on port %u: %s", s->cfg.addr.port, strerror(-s->lfd));
        us_http_server_free(s, now);
        return NULL;
    }
    struct us_tp_addr la;
    s->port = us_tp_local_addr(tp, s->lfd, &la) == 0 ? la.port : s->cfg.addr.port;
    us_tp_watch(tp, s->lfd, US_TP_READ, NULL);
    s->lwatched = true;
    return s;
}

uint16_t us_http_server_port(const struct us_http_server *s) { return s->port; }

void us_http_server_stats(const struct us_http_server *s, struct us_http_server_stats *st) { *st = s->st; }

void us_http_server_free(struct us_http_server *s, us_time_t now)
{
    if (!s)
        return;
    s->now = now;
    for (int i = 0; i < T_N; i++)
        while (s->t[i].head)
            conn_close(s, s->t[i].head);
    if (s->lfd >= 0)
        us_tp_close(s->tp, s->lfd, now);
    s->lfd = -1;
    hf_root_close(&s->root);
    free(s->fields);
    free(s->rx);
    free(s->tx);
    free(s);
}
