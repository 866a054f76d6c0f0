/* sim nagle (scen.h): a POST in two writes between two hosts in virtual time,
 * timed at both ends, and A's side of the wire given to the trace analyzer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <ustack/http.h>
#include "scen.h"

#define PORT 80
#define BUF 4096

static const char *const mode_names[NAGLE_MODES] = {"nagle", "nodelay", "one-write"};
const char *scen_nagle_mode_name(int mode) { return mode >= 0 && mode < NAGLE_MODES ? mode_names[mode] : "?"; }

/* One end of the exchange: its socket, what it read, and the parser on it. */
struct end {
    int fd;
    char buf[BUF];
    size_t len;
    struct us_http_parser p;
    struct us_http_field fields[16];
    bool head_done;
    struct us_http_body body;
};

struct run {
    const struct scen_nagle_opts *o;
    struct scen_nagle_result *r;
    struct simnet net;
    struct us_an *an;
    int lfd;
    struct end srv, cli;
    bool connected, waiting;  /* client: connection up; a request is out */
    char head[256], body[1024];
    int err;
    const char *what;
};

static void end_reset(struct end *e, int kind)
{
    us_http_parser_init(&e->p, kind, NULL, e->fields, 16);
    e->head_done = false;
}

/* Reads what arrived and parses it: 1 when a whole message (head and body) is
 * in, with *t_head set when its head completed; 0 while incomplete; -1 on error. */
static int end_read(struct run *x, struct us_stack *st, struct end *e, us_time_t now, us_time_t *t_head)
{
    ssize_t n = us_recv(st, e->fd, e->buf + e->len, sizeof(e->buf) - e->len, 0, now);
    if (n == -EAGAIN || n == 0)
        return 0;
    if (n < 0) {
        x->err = (int)n;
        x->what = "recv";
        return -1;
    }
    e->len += (size_t)n;
    if (!e->head_done) {
        enum us_http_rc rc = us_http_parse_head(&e->p, e->buf, e->len);
        if (rc == US_HTTP_NEED_MORE)
            return 0;
        if (rc == US_HTTP_ERROR) {
            x->err = -EPROTO;
            x->what = e->p.error;
            return -1;
        }
        e->head_done = true;
        *t_head = now;
        us_http_body_init(&e->body, &e->p.msg, NULL);
        memmove(e->buf, e->buf + e->p.head_len, e->len - e->p.head_len);
        e->len -= e->p.head_len;
    }
    size_t used;
    struct us_http_span data;
    enum us_http_rc rc = US_HTTP_NEED_MORE;
    size_t off = 0;
    while (off < e->len && rc == US_HTTP_NEED_MORE) {
        rc = us_http_body_parse(&e->body, e->buf + off, e->len - off, &used, &data);
        off += used;
        if (!used)
            break;
    }
    if (e->p.msg.framing == US_HTTP_BODY_LENGTH && e->p.msg.content_length == 0)
        rc = US_HTTP_COMPLETE;
    if (rc == US_HTTP_ERROR) {
        x->err = -EPROTO;
        x->what = e->body.error;
        return -1;
    }
    memmove(e->buf, e->buf + off, e->len - off);
    e->len -= off;
    if (rc != US_HTTP_COMPLETE)
        return 0;
    end_reset(e, e->p.kind);
    return 1;
}

static int send_all(struct run *x, struct us_stack *st, int fd, const char *b, size_t len, us_time_t now)
{
    ssize_t n = us_send(st, fd, b, len, 0, now);
    if (n != (ssize_t)len) {   /* a few hundred bytes always fit the send buffer */
        x->err = n < 0 ? (int)n : -ENOBUFS;
        x->what = "send";
        return -1;
    }
    return 0;
}

static bool step(void *arg)
{
    struct run *x = arg;
    struct us_stack *A = x->net.a.st, *B = x->net.b.st;
    us_time_t now = simnet_now(&x->net);
    struct scen_nagle_result *r = x->r;
    if (x->srv.fd < 0) {
        int fd = us_accept(B, x->lfd, NULL, now);
        if (fd >= 0)
            x->srv.fd = fd;
    }
    if (x->srv.fd >= 0) {   /* B: answer each whole request */
        us_time_t t_head = 0;
        int rc;
        while ((rc = end_read(x, B, &x->srv, now, &t_head)) == 1) {
            struct scen_nagle_req *q = &r->req[r->done];
            if (t_head)
                q->t_head = t_head;
            q->t_body = now;
            static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if (send_all(x, B, x->srv.fd, resp, sizeof(resp) - 1, now) < 0)
                return false;
            t_head = 0;
        }
        if (rc < 0)
            return false;
        if (t_head && r->done < x->o->requests)
            r->req[r->done].t_head = t_head;
    }
    if (!x->connected) {
        struct us_pollfd pf = {.fd = x->cli.fd, .events = US_POLLOUT};
        if (us_poll(A, &pf, 1, now) > 0 && (pf.revents & US_POLLOUT)) {
            x->connected = true;
        } else if (pf.revents & (US_POLLERR | US_POLLHUP)) {
            x->err = -ECONNREFUSED;
            x->what = "connect";
            return false;
        }
    }
    if (x->connected && x->waiting) {
        us_time_t t_head = 0;
        int rc = end_read(x, A, &x->cli, now, &t_head);
        if (rc < 0)
            return false;
        if (rc == 1) {
            r->req[r->done++].t_done = now;
            x->waiting = false;
        }
    }
    if (x->connected && !x->waiting && r->done < x->o->requests) {
        r->req[r->done].t_write = now;
        size_t hl = r->head_len, bl = x->o->body_len;
        if (x->o->mode == NAGLE_ONE_WRITE) {
            char all[sizeof(x->head) + sizeof(x->body)];
            memcpy(all, x->head, hl);
            memcpy(all + hl, x->body, bl);
            if (send_all(x, A, x->cli.fd, all, hl + bl, now) < 0)
                return false;
        } else if (send_all(x, A, x->cli.fd, x->head, hl, now) < 0 ||
                   send_all(x, A, x->cli.fd, x->body, bl, now) < 0) {
            return false;
        }
        x->waiting = true;
    }
    return r->done < x->o->requests;
}

/* A's side of the wire, frame by frame, into the analyzer. */
static bool observe(void *arg, int dir, const uint8_t *frame, uint32_t len, us_time_t now)
{
    (void)dir;
    us_an_frame(arg, US_AN_LINK_ETH, now, frame, len, len);
    return false;
}

static void config(void *arg, struct us_config *cfg, bool is_a)
{
    const struct scen_nagle_opts *o = arg;
    if (!is_a)
        cfg->tcp_delack = o->delack;
}

int scen_nagle_run(const struct scen_nagle_opts *o, struct scen_nagle_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (o->requests < 1 || o->requests > NAGLE_MAX_REQUESTS || o->body_len < 1 || o->body_len > 1024 ||
        o->mode < 0 || o->mode >= NAGLE_MODES) {
        snprintf(err, errlen, "scenario options out of range");
        return -1;
    }
    static struct run x;   /* large buffers; the scenarios run one at a time */
    memset(&x, 0, sizeof(x));
    x.o = o;
    x.r = r;
    x.srv.fd = x.cli.fd = x.lfd = -1;
    struct us_impair_dir link = {.delay = o->one_way};
    x.an = us_an_new();
    if (!x.an) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct simnet_opts so = {.a_tx = link, .b_tx = link, .seed = 1, .pcap_a = o->pcap, .config = config,
                             .arg = (void *)o, .a_filter = observe, .a_filter_arg = x.an};
    if (simnet_open(&x.net, &so, err, errlen) < 0) {
        us_an_free(x.an);
        return -1;
    }
    r->head_len = (uint32_t)snprintf(x.head, sizeof(x.head),
                                     "POST /form HTTP/1.1\r\nHost: 198.18.0.2\r\n"
                                     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %u\r\n\r\n",
                                     o->body_len);
    memset(x.body, 'x', o->body_len);
    end_reset(&x.srv, US_HTTP_REQUEST);
    end_reset(&x.cli, US_HTTP_RESPONSE);

    struct us_stack *A = x.net.a.st, *B = x.net.b.st;
    us_time_t now = simnet_now(&x.net);
    int one = 1;
    x.lfd = us_socket(B, US_SOCK_STREAM);
    x.cli.fd = us_socket(A, US_SOCK_STREAM);
    struct us_sockaddr la = {.addr = 0, .port = PORT}, ra = {.addr = SIMNET_IP_B, .port = PORT};
    int rc = x.lfd < 0 || x.cli.fd < 0 ? -EMFILE : 0;
    if (!rc)
        rc = us_bind(B, x.lfd, &la, now);
    if (!rc)
        rc = us_listen(B, x.lfd, 8, now);
    if (!rc && o->mode == NAGLE_NODELAY)
        rc = us_setsockopt(A, x.cli.fd, US_IPPROTO_TCP, US_TCP_NODELAY, &one, sizeof(one), now);
    if (!rc) {
        r->t_start = now;
        rc = us_connect(A, x.cli.fd, &ra, now);
        if (rc == -EINPROGRESS)
            rc = 0;
    }
    if (!rc) {
        int s = us_sim_run_while(x.net.sim, step, &x, now + US_SEC(60));
        rc = x.err ? x.err : s;
    }
    if (!rc) {   /* close, and let the FINs cross */
        now = simnet_now(&x.net);
        us_close(A, x.cli.fd, now);
        us_close(B, x.srv.fd, now);
        us_sim_run_until(x.net.sim, now + US_SEC(1));
        us_an_finish(x.an);
        const struct us_an_conn *c = us_an_conn_count(x.an) ? us_an_conn_get(x.an, 0) : NULL;
        const struct us_an_finding *f = c ? us_an_find(c, US_AN_NAGLE_DELACK) : NULL;
        if (f) {
            r->found = true;
            snprintf(r->finding, sizeof(r->finding), "%s", f->text);
        }
    } else {
        snprintf(err, errlen, "%s: %s", x.what ? x.what : "run", strerror(-rc));
    }
    us_an_free(x.an);
    simnet_close(&x.net);
    return rc ? -1 : 0;
}
