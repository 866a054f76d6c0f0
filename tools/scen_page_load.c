/* The page loader (scen.h): a page and its embedded resources fetched by
 * strategy over the HTTP client library, names through the DNS resolver.
 * The same code runs in the simulator (scen_page.c) and in real time
 * (cmd_page.c); only the transport and the peer hooks differ.
 *
 * Paths through the file:
 *   page_scan      the HTML scanner: tags, attributes, comments, script text
 *   page_load      lookup -> submit for each request, the driver loop, the
 *                  client's events into struct page_req, a short settle, then
 *                  TIME_WAIT counted and the client freed */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dns.h>
#include <ustack/http_client.h>
#include "scen.h"

static const char *const strategy_names[PAGE_STRATEGIES] = {"serial", "parallel", "persistent", "pipelined"};

const char *page_strategy_name(int s) { return s >= 0 && s < PAGE_STRATEGIES ? strategy_names[s] : "?"; }

int page_strategy_parse(const char *name)
{
    for (int s = 0; s < PAGE_STRATEGIES; s++)
        if (name && !strcmp(name, strategy_names[s]))
            return s;
    return -1;
}

void page_result_free(struct page_result *r)
{
    free(r->cwnd);
    r->cwnd = NULL;
    r->ncwnd = r->cwnd_cap = 0;
}

/* ---- the scanner ---- */
#define SCAN_VALUE_MAX 2048

static bool ci_eq(const char *a, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != lit[i])
            return false;
    return true;
}

static bool ci_contains(const char *a, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    for (size_t i = 0; i + l <= n; i++)
        if (ci_eq(a + i, l, lit))
            return true;
    return false;
}

struct span { const char *p; size_t n; };

/* One tag's attributes from s[0] (just after the name) to its '>': the
 * values of `want` and rel. Returns the offset just past '>' (len: none). */
static size_t scan_attrs(const char *s, size_t len, const char *want, struct span *val, struct span *rel)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (isspace((unsigned char)s[i]) || s[i] == '/'))
            i++;
        if (i >= len || s[i] == '>')
            return i < len ? i + 1 : len;
        size_t n0 = i;
        while (i < len && !isspace((unsigned char)s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/')
            i++;
        struct span name = {s + n0, i - n0}, v = {NULL, 0};
        if (i == n0)
            i++;   /* a stray character: step over it */
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        if (i < len && s[i] == '=') {
            i++;
            while (i < len && isspace((unsigned char)s[i]))
                i++;
            if (i < len && (s[i] == '"' || s[i] == '\'')) {
                char q = s[i++];
                const char *e = memchr(s + i, q, len - i);
                size_t end = e ? (size_t)(e - s) : len;
                v = (struct span){s + i, end - i};
                i = e ? end + 1 : len;
            } else {
                size_t v0 = i;
                while (i < len && !isspace((unsigned char)s[i]) && s[i] != '>')
                    i++;
                v = (struct span){s + v0, i - v0};
            }
        }
        if (ci_eq(name.p, name.n, want) && !val->p)
            *val = v;
        if (ci_eq(name.p, name.n, "rel") && !rel->p)
            *rel = v;
    }
    return len;
}

/* The attribute that names a resource for this tag, or NULL. */
static const char *resource_attr(const char *tag, size_t n)
{
    if (ci_eq(tag, n, "img") || ci_eq(tag, n, "script") || ci_eq(tag, n, "source") || ci_eq(tag, n, "iframe"))
        return "src";
    if (ci_eq(tag, n, "link"))
        return "href";
    return NULL;
}

static void scan_add(const struct span *v, const struct us_url *base, char (*out)[PAGE_PATH_MAX], size_t *n,
                     size_t max, size_t *other)
{
    if (!v->p || !v->n || v->n > SCAN_VALUE_MAX || (v->n >= 5 && ci_eq(v->p, 5, "data:")))
        return;
    struct us_url u;
    char err[128];
    if (us_url_resolve(base, v->p, v->n, &u, err, sizeof(err)) < 0) {
        (*other)++;   /* another scheme (https, mailto...) or not a URL */
        return;
    }
    bool same = !strcmp(u.host, base->host) && u.port == base->port;
    if (!same) {
        (*other)++;
    } else if (strlen(u.path) < PAGE_PATH_MAX && *n < max) {
        bool dup = !strcmp(u.path, base->path);
        for (size_t k = 0; k < *n && !dup; k++)
            dup = !strcmp(out[k], u.path);
        if (!dup)
            snprintf(out[(*n)++], PAGE_PATH_MAX, "%s", u.path);
    }
    us_url_free(&u);
}

size_t page_scan(const char *html, size_t len, const struct us_url *base, char (*out)[PAGE_PATH_MAX], size_t max,
                 size_t *other)
{
    size_t n = 0, i = 0;
    *other = 0;
    while (i < len) {
        const char *lt = memchr(html + i, '<', len - i);
        if (!lt)
            break;
        i = (size_t)(lt - html) + 1;
        if (len - i >= 3 && !memcmp(html + i, "!--", 3)) {   /* a comment: nothing in it counts */
            const char *e = memmem(html + i + 3, len - i - 3, "-->", 3);
            i = e ? (size_t)(e - html) + 3 : len;
            continue;
        }
        size_t t = i;
        while (t < len && isalnum((unsigned char)html[t]))
            t++;
        if (t == i)
            continue;   /* "</x", "<!DOCTYPE", a stray '<' */
        const char *want = resource_attr(html + i, t - i);
        bool script = ci_eq(html + i, t - i, "script"), link = ci_eq(html + i, t - i, "link");
        struct span val = {NULL, 0}, rel = {NULL, 0};
        i = t + scan_attrs(html + t, len - t, want ? want : "", &val, &rel);
        /* a link names a resource when it is a stylesheet, an icon or a preload */
        if (want && (!link || (rel.p && (ci_contains(rel.p, rel.n, "stylesheet") || ci_contains(rel.p, rel.n, "icon") ||
                                         ci_contains(rel.p, rel.n, "preload")))))
            scan_add(&val, base, out, &n, max, other);
        if (script) {   /* its text is not HTML: skip to </script */
            const char *e = memmem(html + i, len - i, "</script", 8);
            i = e ? (size_t)(e - html) : len;
        }
    }
    return n;
}

/* ---- the loader ---- */
#define PAGE_HTML_MAX (1u << 20)

struct pl;
struct pl_slot {
    struct pl *pl;
    size_t i;
    FILE *save;
};

struct pl {
    const struct page_load_opts *o;
    struct page_result *r;
    struct us_hc *hc;
    struct us_url base;
    us_time_t now;
    char *html;
    size_t html_len;
    struct pl_slot slot[PAGE_MAX_RES + 1];
    us_time_t hs_rtt[PAGE_MAX_RES + 2];   /* by conn_id: its handshake */
    size_t done, started;
    bool page_done, scanned;
};

static us_time_t tmin(us_time_t a, us_time_t b) { return a < b ? a : b; }

static void req_failed(struct pl *pl, size_t i, int error, const char *msg)
{
    struct page_req *q = &pl->r->req[i];
    q->error = error;
    q->end = pl->now;
    snprintf(q->msg, sizeof(q->msg), "%.95s", msg);
    pl->done++;
    if (i == 0)
        pl->page_done = true;
}

static void save_open(struct pl *pl, struct pl_slot *s)
{
    if (!pl->o->save_dir)
        return;
    char name[PAGE_PATH_MAX + 16], path[1024];
    const char *p = pl->r->req[s->i].path;
    snprintf(name, sizeof(name), "%s", p[1] ? p + 1 : "index");
    for (char *c = name; *c; c++)
        if (*c == '/' || *c == '?')
            *c = '_';
    snprintf(path, sizeof(path), "%s/%s", pl->o->save_dir, name);
    s->save = fopen(path, "wb");
}

static void on_hc(const struct us_hc_event *ev)
{
    struct pl_slot *s = ev->arg;
    struct pl *pl = s->pl;
    struct page_req *q = &pl->r->req[s->i];
    const struct us_hc_timing *t = us_hc_req_timing(ev->req);
    switch (ev->kind) {
    case US_HC_CONNECT_END:
        if (ev->conn_id < PAGE_MAX_RES + 2)
            pl->hs_rtt[ev->conn_id] = ev->now - t->connect_start;
        break;
    case US_HC_HEAD:
        q->local_port = t->local_port;
        if (pl->o->server_cwnd)
            q->cwnd = pl->o->server_cwnd(pl->o->arg, t->local_port);
        break;
    case US_HC_DATA: {
        for (size_t k = 0; k < ev->len; k++) {
            q->hash ^= (unsigned char)ev->data[k];
            q->hash *= 0x100000001b3ull;
        }
        q->body_bytes += ev->len;
        us_time_t rtt = ev->conn_id < PAGE_MAX_RES + 2 ? pl->hs_rtt[ev->conn_id] : 0;
        if (t->first_byte && ev->now - t->first_byte <= rtt)
            q->first_rtt_bytes += ev->len;
        if (s->i == 0 && pl->html && pl->html_len + ev->len <= PAGE_HTML_MAX) {
            memcpy(pl->html + pl->html_len, ev->data, ev->len);
            pl->html_len += ev->len;
        }
        if (s->save)
            fwrite(ev->data, 1, ev->len, s->save);
        break;
    }
    case US_HC_DONE:
        q->connect_start = t->connect_start;
        q->connect_end = t->connect_end;
        q->sent = t->sent;
        q->first_byte = t->first_byte;
        q->end = ev->now;
        q->conn_id = t->conn_id;
        q->reused = t->reused;
        q->local_port = t->local_port;
        q->status = t->status;
        q->error = ev->error;
        if (ev->error)
            snprintf(q->msg, sizeof(q->msg), "%.*s", (int)ev->len, ev->data ? ev->data : "");
        if (s->save) {
            fclose(s->save);
            s->save = NULL;
        }
        pl->done++;
        if (s->i == 0)
            pl->page_done = true;
        break;
    default:
        break;
    }
}

static void submit(struct pl *pl, size_t i, us_ip4_t ip)
{
    struct page_req *q = &pl->r->req[i];
    char url[PAGE_PATH_MAX + 64], err[160];
    snprintf(url, sizeof(url), "http://%u.%u.%u.%u:%u%s", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
             pl->base.port, q->path);
    int st = pl->o->strategy;
    struct us_hc_request rq = {.url = url, .cb = on_hc, .arg = &pl->slot[i],
                               .headers = st == PAGE_SERIAL || st == PAGE_PARALLEL ? "Connection: close\r\n" : NULL};
    struct us_hc_req *out;
    save_open(pl, &pl->slot[i]);
    if (us_hc_submit(pl->hc, &rq, pl->now, &out, err, sizeof(err)) < 0)
        req_failed(pl, i, -EINVAL, err);
}

static void on_dns(void *arg, const struct us_dns_result *d)
{
    struct pl_slot *s = arg;
    struct pl *pl = s->pl;
    struct page_req *q = &pl->r->req[s->i];
    q->dns_end = pl->now;
    q->dns_cached = d->queries == 0;
    if (d->status != US_DNS_OK || !d->naddr) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%.60s: %.30s", d->name, us_dns_strstatus(d->status));
        req_failed(pl, s->i, -ENOENT, msg);
        return;
    }
    submit(pl, s->i, d->addr[0]);
}

static void start(struct pl *pl, size_t i)
{
    struct page_req *q = &pl->r->req[i];
    pl->slot[i] = (struct pl_slot){.pl = pl, .i = i};
    q->dns_start = pl->now;
    q->hash = 0xcbf29ce484222325ull;
    pl->started++;
    if (us_dns_lookup(pl->o->dns, pl->base.host, on_dns, &pl->slot[i], pl->now) < 0)
        req_failed(pl, i, -ENOMEM, "DNS lookup refused (busy)");
}

static void scan(struct pl *pl)
{
    static char paths[PAGE_MAX_RES][PAGE_PATH_MAX];
    pl->scanned = true;
    if (pl->r->req[0].status != 200)
        return;
    size_t n = page_scan(pl->html, pl->html_len, &pl->base, paths, PAGE_MAX_RES, &pl->r->other_origin);
    for (size_t k = 0; k < n; k++)
        memcpy(pl->r->req[k + 1].path, paths[k], PAGE_PATH_MAX);
    pl->r->nreq = n + 1;
    for (size_t k = 0; k < n; k++)
        start(pl, k + 1);
}

static void hc_config(const struct page_load_opts *o, struct us_hc_config *c)
{
    us_hc_config_default(c);
    c->connect_timeout = US_SEC(20);
    switch (o->strategy) {
    case PAGE_SERIAL:
        c->max_per_host = 1;
        break;
    case PAGE_PARALLEL:
    case PAGE_PERSISTENT:
        c->max_per_host = o->parallel;
        break;
    default:
        c->max_per_host = 1;
        c->pipeline = o->pipeline;
        break;
    }
}

/* One round of the loop: the peer, the resolver, the client; the next deadline. */
static us_time_t pl_step(struct pl *pl, us_time_t now)
{
    const struct page_load_opts *o = pl->o;
    pl->now = now;
    us_time_t d = o->peer_step ? o->peer_step(o->arg, now) : US_TIME_NEVER;
    struct us_tp_event ev[16];
    int n = us_tp_poll(o->dns_tp, ev, 16, now);
    for (int k = 0; k < n; k++)
        us_dns_event(o->dns, &ev[k], now);
    d = tmin(d, us_dns_step(o->dns, now));
    return tmin(d, us_hc_step(pl->hc, now));
}

/* Runs until done() or the deadline; 0, or a negative errno. */
static int pl_run(struct pl *pl, bool (*done)(const struct pl *), us_time_t until)
{
    const struct page_load_opts *o = pl->o;
    for (;;) {
        us_time_t now = us_tp_now(o->tp);
        us_time_t d = pl_step(pl, now);
        if (pl->page_done && !pl->scanned) {
            scan(pl);
            continue;
        }
        if (done(pl))
            return 0;
        if (now >= until)
            return -ETIMEDOUT;
        if (o->stop && *o->stop)
            return -EINTR;
        int rc = us_tp_wait(us_dns_pending(o->dns) ? o->dns_tp : o->tp, tmin(d, until));
        if (rc == -EINTR)
            return -EINTR;
        if (rc == -EDEADLK && d == US_TIME_NEVER)
            return -EDEADLK;
    }
}

static bool all_done(const struct pl *pl) { return pl->scanned && pl->done == pl->r->nreq; }
static bool never(const struct pl *pl) { (void)pl; return false; }

static void totals(struct pl *pl)
{
    struct page_result *r = pl->r;
    r->t_start = r->req[0].dns_start;
    for (size_t i = 0; i < r->nreq; i++) {
        const struct page_req *q = &r->req[i];
        if (q->end > r->t_end)
            r->t_end = q->end;
        r->body_bytes += q->body_bytes;
        if (q->error || q->status != 200)
            r->failed++;
    }
    struct us_dns_stats ds;
    us_dns_get_stats(pl->o->dns, &ds);
    r->dns_queries = ds.queries_sent + ds.tcp_queries;
    r->dns_cache_hits = ds.cache_hits;
    r->connections = us_hc_connections_opened(pl->hc);
}

int page_load(const struct page_load_opts *o, struct page_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->strategy = o->strategy;
    r->parallel = o->parallel;
    r->pipeline = o->pipeline;
    r->tw_client = r->tw_server = -1;
    static struct pl pl;   /* large; one load at a time */
    memset(&pl, 0, sizeof(pl));
    pl.o = o;
    pl.r = r;
    if (o->strategy < 0 || o->strategy >= PAGE_STRATEGIES || o->parallel < 1 || o->parallel > 64 ||
        o->pipeline < 1 || o->pipeline > 64) {
        snprintf(err, errlen, "page: options out of range");
        return -1;
    }
    if (us_url_parse(o->url, &pl.base, err, errlen) < 0)
        return -1;
    struct us_hc_config cfg;
    hc_config(o, &cfg);
    pl.hc = us_hc_new(o->tp, &cfg);
    pl.html = malloc(PAGE_HTML_MAX);
    if (!pl.hc || !pl.html) {
        snprintf(err, errlen, "out of memory");
        us_hc_free(pl.hc);
        free(pl.html);
        us_url_free(&pl.base);
        return -1;
    }
    snprintf(r->req[0].path, PAGE_PATH_MAX, "%s", pl.base.path);
    r->nreq = 1;
    int tw0_client = 0, tw0_server = 0;   /* left by an earlier load in the same process */
    if (o->time_wait)
        o->time_wait(o->arg, &tw0_client, &tw0_server);
    pl.now = us_tp_now(o->tp);
    start(&pl, 0);
    us_time_t t0 = pl.now;
    int rc = pl_run(&pl, all_done, t0 + (o->timeout ? o->timeout : US_SEC(120)));
    totals(&pl);
    if (!rc) {   /* let the last closes cross (two handshake round trips), then count TIME_WAIT */
        us_time_t settle = 0;
        for (size_t k = 0; k < PAGE_MAX_RES + 2; k++)
            if (pl.hs_rtt[k] > settle)
                settle = pl.hs_rtt[k];
        pl_run(&pl, never, us_tp_now(o->tp) + 2 * settle + US_MS(1));
        if (o->time_wait) {
            o->time_wait(o->arg, &r->tw_client, &r->tw_server);
            r->tw_client -= r->tw_client >= 0 && r->tw_client >= tw0_client ? tw0_client : 0;
            r->tw_server -= r->tw_server >= 0 && r->tw_server >= tw0_server ? tw0_server : 0;
        }
    }
    for (size_t i = 0; i <= PAGE_MAX_RES; i++)
        if (pl.slot[i].save)
            fclose(pl.slot[i].save);
    us_hc_free(pl.hc);
    free(pl.html);
    us_url_free(&pl.base);
    if (rc) {
        snprintf(err, errlen, "page load %s after %zu of %zu requests", rc == -ETIMEDOUT ? "timed out"
                 : rc == -EINTR ? "interrupted" : "stuck (nothing pending)", pl.done, r->nreq);
        return -1;
    }
    return 0;
}
