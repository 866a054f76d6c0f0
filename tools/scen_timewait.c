/* sim timewait (scen.h): one connection per request at a fixed rate, and the
 * TIME_WAIT entries and ephemeral ports that costs, counted as it runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scen.h"

#define PORT 80
#define MAX_LIVE 4096   /* connections open at once (a few round trips' worth) */

static const char request[] = "GET / HTTP/1.0\r\nHost: 198.18.0.2\r\n\r\n";
static const char response[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* One connection seen from one end. */
struct conn {
    int fd;
    uint16_t got;             /* bytes of the request / response read */
    bool sent, closed;
};

struct run {
    const struct scen_tw_opts *o;
    struct scen_tw_result *r;
    struct simnet net;
    int lfd;
    struct conn a[MAX_LIVE], b[MAX_LIVE];
    size_t na, nb;
    us_time_t next_arrival, next_sample, end;
    size_t cap_samples;
    int err;
};

static void count_tw(void *arg, const struct us_conn_info *c)
{
    if (c->info.state == US_TCP_TIME_WAIT)
        ++*(uint32_t *)arg;
}

static void sample(struct run *x, us_time_t now)
{
    struct scen_tw_result *r = x->r;
    if (r->nsamples == x->cap_samples) {
        size_t cap = x->cap_samples ? x->cap_samples * 2 : 64;
        struct scen_tw_sample *v = realloc(r->samples, cap * sizeof(*v));
        if (!v) {
            x->err = -ENOMEM;
            return;
        }
        r->samples = v;
        x->cap_samples = cap;
    }
    struct scen_tw_sample *s = &r->samples[r->nsamples++];
    *s = (struct scen_tw_sample){.t = now, .opened = r->opened, .failed = r->failed};
    us_tcp_foreach(x->net.a.st, count_tw, &s->tw_a);
    us_tcp_foreach(x->net.b.st, count_tw, &s->tw_b);
    if (s->tw_a > r->tw_max_a)
        r->tw_max_a = s->tw_a;
    if (s->tw_b > r->tw_max_b)
        r->tw_max_b = s->tw_b;
}

static void drop(struct conn *v, size_t *n, size_t i) { v[i] = v[--*n]; }

/* Reads what there is: the bytes counted in c->got, 1 at EOF, -1 on error. */
static int drain(struct us_stack *st, struct conn *c, us_time_t now)
{
    char buf[256];
    for (;;) {
        ssize_t n = us_recv(st, c->fd, buf, sizeof(buf), 0, now);
        if (n == -EAGAIN)
            return 0;
        if (n <= 0)
            return n == 0 ? 1 : -1;
        c->got = (uint16_t)(c->got + n);
    }
}

static void client(struct run *x, us_time_t now)
{
    struct us_stack *A = x->net.a.st;
    struct scen_tw_result *r = x->r;
    bool client_closes = x->o->closer == TW_CLIENT_CLOSES;
    for (size_t i = 0; i < x->na;) {
        struct conn *c = &x->a[i];
        if (!c->sent) {
            struct us_pollfd pf = {.fd = c->fd, .events = US_POLLOUT};
            if (us_poll(A, &pf, 1, now) <= 0) {
                i++;
                continue;
            }
            if (!(pf.revents & US_POLLOUT) || us_send(A, c->fd, request, sizeof(request) - 1, 0, now) < 0) {
                us_close(A, c->fd, now);   /* refused or reset: not a port problem */
                drop(x->a, &x->na, i);
                continue;
            }
            c->sent = true;
        }
        int eof = drain(A, c, now);
        bool answered = c->got >= sizeof(response) - 1;
        if (eof < 0 || (answered && client_closes) || (eof > 0)) {
            if (answered)
                r->completed++;
            us_close(A, c->fd, now);
            drop(x->a, &x->na, i);
            continue;
        }
        i++;
    }
    while (now >= x->next_arrival && x->next_arrival < x->end) {
        x->next_arrival += (us_time_t)(1e9 / x->o->rate);
        r->attempts++;
        if (x->na == MAX_LIVE)
            continue;
        int fd = us_socket(A, US_SOCK_STREAM);
        if (fd < 0) {
            x->err = fd;
            return;
        }
        struct us_sockaddr to = {.addr = SIMNET_IP_B, .port = PORT};
        int rc = us_connect(A, fd, &to, now);
        if (rc == -EADDRNOTAVAIL) {
            if (!r->failed++)
                r->t_first_fail = now;
            us_close(A, fd, now);
            continue;
        }
        if (rc < 0 && rc != -EINPROGRESS) {
            x->err = rc;
            us_close(A, fd, now);
            return;
        }
        r->opened++;
        x->a[x->na++] = (struct conn){.fd = fd};
    }
}

static void server(struct run *x, us_time_t now)
{
    struct us_stack *B = x->net.b.st;
    int fd;
    while (x->nb < MAX_LIVE && (fd = us_accept(B, x->lfd, NULL, now)) >= 0)
        x->b[x->nb++] = (struct conn){.fd = fd};
    for (size_t i = 0; i < x->nb;) {
        struct conn *c = &x->b[i];
        int eof = drain(B, c, now);
        if (!c->sent && c->got >= sizeof(request) - 1) {
            us_send(B, c->fd, response, sizeof(response) - 1, 0, now);
            c->sent = true;
        }
        if (eof != 0 || (c->sent && x->o->closer == TW_SERVER_CLOSES)) {
            us_close(B, c->fd, now);
            drop(x->b, &x->nb, i);
            continue;
        }
        i++;
    }
}

static bool step(void *arg)
{
    struct run *x = arg;
    us_time_t now = simnet_now(&x->net);
    server(x, now);
    client(x, now);
    if (now >= x->next_sample) {
        sample(x, now);
        x->next_sample += x->o->sample ? x->o->sample : US_SEC(1);
    }
    return !x->err;
}

static void config(void *arg, struct us_config *cfg, bool is_a)
{
    const struct scen_tw_opts *o = arg;
    cfg->tcp_msl = o->msl;
    if (is_a)
        cfg->port_hi = (uint16_t)(cfg->port_lo + o->ports - 1);
}

void scen_tw_free(struct scen_tw_result *r)
{
    free(r->samples);
    r->samples = NULL;
    r->nsamples = 0;
}

int scen_tw_run(const struct scen_tw_opts *o, struct scen_tw_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (!(o->rate > 0 && o->rate <= 100000) || o->ports < 1 || o->ports > 65535 - 49152 + 1 || !o->duration ||
        o->msl < US_MS(1) || o->msl > US_SEC(600)) {
        snprintf(err, errlen, "scenario options out of range");
        return -1;
    }
    static struct run x;   /* the connection tables are large; scenarios run one at a time */
    memset(&x, 0, sizeof(x));
    x.o = o;
    x.r = r;
    x.lfd = -1;
    struct us_impair_dir link = {.delay = o->one_way};
    struct simnet_opts so = {.a_tx = link, .b_tx = link, .seed = 1, .pcap_a = o->pcap, .config = config,
                             .arg = (void *)o};
    if (simnet_open(&x.net, &so, err, errlen) < 0)
        return -1;
    us_time_t now = simnet_now(&x.net);
    struct us_stack *B = x.net.b.st;
    x.lfd = us_socket(B, US_SOCK_STREAM);
    struct us_sockaddr la = {.addr = 0, .port = PORT};
    int rc = x.lfd < 0 ? x.lfd : us_bind(B, x.lfd, &la, now);
    if (!rc)
        rc = us_listen(B, x.lfd, 1024, now);
    x.next_arrival = x.next_sample = now;
    x.end = now + o->duration;
    while (!rc && !x.err && simnet_now(&x.net) < x.end) {
        us_time_t limit = x.next_arrival < x.next_sample ? x.next_arrival : x.next_sample;
        int s = us_sim_run_while(x.net.sim, step, &x, limit);
        if (s == -EDEADLK)
            us_sim_run_until(x.net.sim, limit);
        step(&x);   /* the arrival or sample due at `limit` */
    }
    if (!r->nsamples || r->samples[r->nsamples - 1].t != simnet_now(&x.net))
        sample(&x, simnet_now(&x.net));
    if (!rc)
        rc = x.err;
    if (rc)
        snprintf(err, errlen, "%s", strerror(-rc));
    r->tw_reused_b = 0;
    us_counter_find(B, "tcp.time_wait_reused", &r->tw_reused_b);
    simnet_close(&x.net);
    if (rc)
        scen_tw_free(r);
    return rc ? -1 : 0;
}
