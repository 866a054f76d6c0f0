/* ustack get: an HTTP client like curl, on ustack (--tap) or the kernel's
 * sockets (--stack kernel), over the client library (http_client.h).
 *
 * Each URL is a transfer; --parallel N run at once (the pool puts them on
 * connections: --max-per-host, --pipeline). Bodies go to stdout or -o FILE in
 * URL order (a transfer whose turn has not come writes to a temporary file
 * that is copied out when it comes), or with -O each to a file named after
 * its URL. stderr: a progress bar on a terminal, -v the request and
 * response heads and the connection used, and one timing line per transfer.
 * Exit status as curl's: 0, 1 usage or bad URL, 6 host not resolved, 7
 * cannot connect, 8 invalid response, 22 HTTP >= 400 with -f, 23 write
 * error, 28 timeout, 47 too many redirects, 52 empty reply, 56 receive
 * error, 130 interrupted. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ustack/dns.h>
#include <ustack/http_client.h>
#include "cli.h"

static struct cli_strv get_urls, get_headers;
static const char *get_output;
static bool get_remote_name, get_follow, get_fail, get_verbose, get_head;
static uint32_t get_parallel = 1, get_pipeline = 1, get_max_per_host = 6;
static double get_timeout, get_connect_timeout = 30;

struct xfer {
    const char *url;
    size_t index;
    struct us_hc_req *req;
    FILE *out;              /* where body bytes go now: the sink, a temporary file, or its -O file */
    bool own_file, tmp;     /* out is its -O file / a temporary file for the shared sink */
    bool started, done, failed_http;
    int error;
    char msg[256];
    struct us_hc_timing t;
};

struct get {
    struct cli *c;
    struct us_hc *hc;
    struct xfer *x;
    size_t n, next, active, finished, turn; /* turn: the transfer whose bytes the sink takes */
    FILE *sink;             /* stdout or -o FILE; NULL with -O */
    bool stop, progress;
    const char *interrupted;    /* the signal that stopped the transfers */
    int status;             /* the first failure's exit status */
    us_time_t start, redraw;
    uint64_t bytes;
};

static const char *remote_name(const char *url)
{
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    const char *path = strchr(s, '/');
    if (!path)
        return NULL;
    size_t end = strcspn(path, "?#");
    const char *slash = path;
    for (size_t i = 0; i < end; i++)
        if (path[i] == '/')
            slash = path + i;
    static char name[256];
    size_t l = (size_t)(path + end - slash - 1);
    if (!l || l >= sizeof(name) || !strncmp(slash + 1, "..", l) || !strncmp(slash + 1, ".", l))
        return NULL;
    memcpy(name, slash + 1, l);
    name[l] = 0;
    return name;
}

/* The machine's resolver configuration (for --stack kernel without --dns):
 * the IPv4 nameservers of /etc/resolv.conf and the hosts file /etc/hosts. */
static int dns_system(struct us_dns_config *cfg)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f) && cfg->nservers < US_DNS_MAX_SERVERS) {
        char word[32], addr[64];
        struct in_addr a;   /* IPv6 servers are skipped: the resolver speaks IPv4 */
        if (sscanf(line, "%31s %63s", word, addr) == 2 && !strcmp(word, "nameserver") &&
            inet_pton(AF_INET, addr, &a) == 1)
            cfg->server[cfg->nservers++] = (struct us_tp_addr){ntohl(a.s_addr), 53};
    }
    if (f)
        fclose(f);
    if (access("/etc/hosts", R_OK) == 0)
        cfg->hosts = "/etc/hosts";
    return 0;
}

static int exit_status(const struct xfer *x)
{
    if (x->failed_http)
        return 22;
    switch (x->error) {
    case 0: return 0;
    case -ETIMEDOUT: return 28;
    case -ELOOP: return 47;
    case -EPROTO: return 8;
    case -ENODATA: return 52;
    case -ENOENT: return 6;
    case -EIO: return 23;
    default:
        return x->t.connect_end || x->t.reused ? 56 : 7;
    }
}

static double ms(us_time_t from, us_time_t to) { return from && to >= from ? (double)(to - from) / 1e6 : 0; }

static void clear_progress(struct get *g)
{
    if (g->progress)
        fputs("\r\033[K", stderr);
}

static void timing_line(struct get *g, const struct xfer *x)
{
    const struct us_hc_timing *t = &x->t;
    double total = ms(t->queued, t->end);
    clear_progress(g);
    fprintf(stderr, "ustack get: %s: ", x->url);
    if (x->error && !x->failed_http)
        fprintf(stderr, "error: %s;", x->msg);
    else
        fprintf(stderr, "%u %s, %llu bytes;", t->status, us_http_reason(t->status), (unsigned long long)t->body_bytes);
    if (t->dns_status >= 0 && t->dns_status == US_DNS_OK)
        fprintf(stderr, " dns %.3f ms%s,", ms(t->dns_start, t->dns_end), t->dns_cached ? " (cached)" : "");
    if (t->conn_id)
        fprintf(stderr, " connection %u %s", t->conn_id, t->reused ? "reused" : "new");
    if (!t->reused && t->connect_end)
        fprintf(stderr, ", connect %.3f ms", ms(t->connect_start, t->connect_end));
    if (t->first_byte)
        fprintf(stderr, ", first byte %.3f ms", ms(t->queued, t->first_byte));
    fprintf(stderr, ", total %.3f ms", total);
    if (total > 0 && t->body_bytes)
        fprintf(stderr, ", %.1f Mbit/s", (double)t->body_bytes * 8 / (total * 1e3));
    if (t->redirects)
        fprintf(stderr, ", %u redirect%s", t->redirects, t->redirects > 1 ? "s" : "");
    if (t->retries)
        fprintf(stderr, ", retried");
    fputc('\n', stderr);
}

/* ---- output in URL order ---- */

static bool copy_out(FILE *from, FILE *to)
{
    char buf[65536];
    size_t n;
    rewind(from);
    while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
        if (fwrite(buf, 1, n, to) != n)
            return false;
    return !ferror(from);
}

/* The sink passes to the next transfers: those done are copied out, the
 * first one still running writes straight to the sink from now on. */
static void advance_turn(struct get *g)
{
    while (++g->turn < g->n) {
        struct xfer *x = &g->x[g->turn];
        if (x->tmp) {
            if (!copy_out(x->out, g->sink) && !x->error)
                x->error = -EIO;
            fclose(x->out);
            x->tmp = false;
        }
        x->out = g->sink;
        if (!x->done)
            return;
    }
}

static void print_head(const char *prefix, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (l && s[l - 1] == '\r')
            l--;
        if (l)
            fprintf(stderr, "%s%.*s\n", prefix, (int)l, s);
        s = nl ? nl + 1 : end;
    }
}

static void verbose_event(struct get *g, const struct us_hc_event *ev)
{
    clear_progress(g);
    switch (ev->kind) {
    case US_HC_CONNECT_START: {
        const struct us_url *u = us_hc_req_url(ev->req);
        fprintf(stderr, "* connection %u: new, connecting to %s port %u\n", ev->conn_id, u->host, (unsigned)u->port);
        break;
    }
    case US_HC_CONNECT_END:
        fprintf(stderr, "* connection %u: connected\n", ev->conn_id);
        break;
    case US_HC_REQUEST:
        if (ev->reused)
            fprintf(stderr, "* connection %u: reused\n", ev->conn_id);
        print_head("> ", ev->data, ev->len);
        break;
    case US_HC_INFO:
    case US_HC_HEAD:
        print_head("< ", ev->buf, ev->len);
        break;
    case US_HC_REDIRECT:
        fprintf(stderr, "* following the redirect to %.*s\n", (int)ev->len, ev->data);
        break;
    case US_HC_RETRY:
        fprintf(stderr, "* connection %u: %.*s; sending the request again\n", ev->conn_id, (int)ev->len, ev->data);
        break;
    }
}

static struct get *G;

static void on_event(const struct us_hc_event *ev)
{
    struct get *g = G;
    struct xfer *x = ev->arg;
    if (get_verbose)
        verbose_event(g, ev);
    switch (ev->kind) {
    case US_HC_HEAD:
        if (get_fail && ev->msg->status >= 400)
            x->failed_http = true;
        break;
    case US_HC_DATA:
        g->bytes += ev->len;
        if (x->failed_http || x->error)
            break;
        if (fwrite(ev->data, 1, ev->len, x->out) != ev->len) {
            x->error = -EIO;
            snprintf(x->msg, sizeof(x->msg), "writing the body: %s", strerror(errno));
        }
        break;
    case US_HC_DONE:
        x->t = *us_hc_req_timing(ev->req);
        x->req = NULL;
        x->done = true;
        if (ev->error && !x->error) {
            x->error = ev->error;
            snprintf(x->msg, sizeof(x->msg), "%.*s", (int)ev->len, ev->data);
        }
        if (x->failed_http)
            snprintf(x->msg, sizeof(x->msg), "the requested URL returned error: %u", x->t.status);
        if (x->own_file && fclose(x->out) && !x->error)
            x->error = -EIO;
        if (x->own_file)
            x->out = NULL;
        timing_line(g, x);
        if (x->failed_http)
            fprintf(stderr, "ustack get: %s: %s\n", x->url, x->msg);
        if ((x->failed_http || x->error) && !g->status)
            g->status = exit_status(x);
        g->active--;
        g->finished++;
        if (g->sink && x->index == g->turn)
            advance_turn(g);
        break;
    }
}

static int start(struct get *g, struct xfer *x, us_time_t now)
{
    x->started = true;
    if (get_remote_name) {
        const char *name = remote_name(x->url);
        if (!(x->out = fopen(name, "wb"))) {
            x->error = -EIO;
            snprintf(x->msg, sizeof(x->msg), "cannot open '%s': %s", name, strerror(errno));
            return 23;
        }
        x->own_file = true;
    } else if (x->index == g->turn) {
        x->out = g->sink;
    } else {
        if (!(x->out = tmpfile()))
            return cli_error("get: tmpfile: %s", strerror(errno)), 23;
        x->tmp = true;
    }
    char err[256];
    char *headers = NULL;
    size_t hl = 0;
    for (size_t i = 0; i < get_headers.n; i++)
        hl += strlen(get_headers.v[i]) + 2;
    if (hl) {
        headers = malloc(hl + 1);
        if (!headers)
            return 1;
        headers[0] = 0;
        for (size_t i = 0; i < get_headers.n; i++)
            strcat(strcat(headers, get_headers.v[i]), "\r\n");
    }
    const struct us_hc_request q = {.url = x->url, .method = get_head ? US_HTTP_M_HEAD : US_HTTP_M_GET,
                                    .headers = headers, .cb = on_event, .arg = x};
    int rc = us_hc_submit(g->hc, &q, now, &x->req, err, sizeof(err));
    free(headers);
    if (rc) {
        x->error = rc;
        snprintf(x->msg, sizeof(x->msg), "%s", err);
        cli_error("get: %s: %s", x->url, err);
        return rc == -ENOENT ? 6 : 1;
    }
    g->active++;
    return 0;
}

static void progress(struct get *g, us_time_t now)
{
    if (!g->progress || now < g->redraw)
        return;
    g->redraw = now + US_MS(250);
    double secs = (double)(now - g->start) / 1e9;
    double rate = secs > 0 ? (double)g->bytes / secs : 0;
    uint64_t total = 0;
    bool known = true;
    for (size_t i = 0; i < g->n; i++) {
        const struct xfer *x = &g->x[i];
        const struct us_hc_timing *t = x->done ? &x->t : x->req ? us_hc_req_timing(x->req) : NULL;
        if (!t || t->content_length == UINT64_MAX)
            known = false;
        else
            total += t->content_length;
    }
    fprintf(stderr, "\r\033[K%zu/%zu  %.1f MB  %.1f Mbit/s", g->finished, g->n, (double)g->bytes / 1e6, rate * 8 / 1e6);
    if (known && total) {
        int pct = (int)(g->bytes * 100 / total);
        char bar[21];
        for (int i = 0; i < 20; i++)
            bar[i] = i < pct / 5 ? '#' : ' ';
        bar[20] = 0;
        fprintf(stderr, "  [%s] %3d%%", bar, pct > 100 ? 100 : pct);
        if (rate > 0 && total > g->bytes) {
            unsigned eta = (unsigned)((double)(total - g->bytes) / rate);
            fprintf(stderr, "  ETA %u:%02u", eta / 60, eta % 60);
        }
    }
}

/* SIGINT/SIGTERM are blocked but while the transport waits, and a transfer
 * with data always ready may never wait: a pending one stops the run here. */

static us_time_t get_step(void *arg, us_time_t now)
{
    struct get *g = arg;
    us_time_t d;
    if ((g->interrupted = cli_stopping() ? cli_stop_signal() : cli_signal_pending())) {
        g->stop = true;
        return now;
    }
    for (;;) {
        while (g->active < get_parallel && g->next < g->n && !g->status) {
            struct xfer *x = &g->x[g->next++];
            int rc = start(g, x, now);
            if (rc) {
                g->status = g->status ? g->status : rc;
                break;
            }
        }
        d = us_hc_step(g->hc, now);
        if (!(g->active < get_parallel && g->next < g->n && !g->status))
            break;
    }
    progress(g, now);
    g->stop = g->active == 0 && (g->next == g->n || g->status);
    if (g->progress && d > g->redraw)
        d = g->redraw;
    return d;
}

static int get_run(struct cli *c)
{
    /* every URL checked before anything is sent */
    for (size_t i = 0; i < get_urls.n; i++) {
        struct us_url u;
        char err[256];
        if (us_url_parse(get_urls.v[i], &u, err, sizeof(err)))
            return cli_error("get: %s: %s", get_urls.v[i], err), 1;
        us_url_free(&u);
        if (get_remote_name && !remote_name(get_urls.v[i]))
            return cli_error("get: -O: no file name in the path of '%s' (use -o FILE)", get_urls.v[i]), 1;
    }
    for (size_t i = 0; i < get_headers.n; i++) {
        const char *h = get_headers.v[i], *colon = strchr(h, ':');
        if (!colon || colon == h || strpbrk(h, "\r\n"))
            return cli_error("get: --header '%s': expected 'Name: value' on one line", h), 1;
    }
    if (get_output && get_remote_name)
        return cli_error("get: -o and -O exclude each other"), 1;
    struct get g = {.c = c, .n = get_urls.n};
    g.x = calloc(g.n, sizeof(*g.x));
    if (!g.x)
        return cli_error("get: out of memory"), 1;
    if (!get_remote_name) {
        g.sink = get_output ? fopen(get_output, "wb") : stdout;
        if (!g.sink) {
            free(g.x);
            return cli_error("get: -o %s: %s", get_output, strerror(errno)), 23;
        }
    }
    struct us_dns_config dc;
    us_dns_config_default(&dc);
    int rc = cli_dns_servers(c, &dc);
    if (!rc && !dc.nservers && cli_on_kernel(c))
        rc = dns_system(&dc);   /* like curl: the machine's resolver configuration */
    if (!rc)
        rc = cli_transport(c);
    if (rc) {
        free(g.x);
        return rc;
    }
    char err[256];
    struct us_dns *dns = NULL;
    if ((dc.nservers || dc.hosts) && !(dns = us_dns_new(c->tp, &dc, err, sizeof(err)))) {
        cli_transport_teardown(c);
        free(g.x);
        return cli_error("get: %s", err), 1;
    }
    struct us_hc_config cfg;
    us_hc_config_default(&cfg);
    cfg.dns = dns;
    cfg.max_per_host = get_max_per_host;
    cfg.pipeline = get_pipeline;
    cfg.follow_redirects = get_follow;
    cfg.timeout = (us_time_t)(get_timeout * 1e9);
    cfg.connect_timeout = (us_time_t)(get_connect_timeout * 1e9);
    g.hc = us_hc_new(c->tp, &cfg);
    for (size_t i = 0; i < g.n; i++)
        g.x[i] = (struct xfer){.url = get_urls.v[i], .index = i};
    g.progress = isatty(STDERR_FILENO) && !get_verbose;
    g.start = us_tp_now(c->tp);
    g.redraw = g.start;
    G = &g;
    rc = us_tp_run(c->tp, get_step, &g, &g.stop, US_TIME_NEVER);
    clear_progress(&g);
    if (rc == -EINTR || cli_stopping() || g.interrupted) {
        const char *sig = g.interrupted ? g.interrupted : cli_stop_signal();
        fprintf(stderr, "ustack get: interrupted%s%s\n", sig ? " by " : "", sig ? sig : "");
        g.status = 130;
    } else if (rc && !g.status) {
        cli_error("get: %s", strerror(-rc));
        g.status = 1;
    }
    us_hc_free(g.hc);
    if (dns)
        us_dns_free(dns, us_tp_now(c->tp));
    for (size_t i = 0; i < g.n; i++)
        if (g.x[i].out && (g.x[i].tmp || g.x[i].own_file))
            fclose(g.x[i].out);
    if (g.sink && fflush(g.sink) && !g.status)
        g.status = 23;
    if (g.sink && g.sink != stdout)
        fclose(g.sink);
    cli_transport_teardown(c);
    free(g.x);
    free(get_urls.v);
    free(get_headers.v);
    return g.status;
}

static const struct cli_opt get_opts[] = {
    CLI_ARGV("URL...", "URL to fetch (http://HOST[:PORT]/PATH; several are fetched in turn, or --parallel)", &get_urls),
    CLI_STR("-o", "FILE", "write the bodies to FILE (in URL order) instead of stdout", &get_output),
    CLI_FLAG("-O", "write each body to a file named after the last segment of its URL path", &get_remote_name),
    CLI_UINT("--parallel", "N", "transfers at once (default 1)", &get_parallel, 1, 10000),
    CLI_UINT("--pipeline", "D", "requests in flight per connection, 1..64 (default 1: no pipelining)", &get_pipeline, 1, 64),
    CLI_UINT("--max-per-host", "N", "connections per host (default 6)", &get_max_per_host, 1, 10000),
    CLI_FLAG("-L", "follow redirects (at most 10)", &get_follow),
    CLI_FLAG("-f", "fail on HTTP status >= 400: no body written, exit 22", &get_fail),
    CLI_FLAG("-I", "HEAD requests (heads only)", &get_head),
    {.name = "-H", .metavar = "'NAME: VALUE'", .help = "an extra request header (repeatable)", .parse = cli_opt_strv,
     .out = &get_headers},
    CLI_FLAG("-v", "show request and response heads and the connection used (new or reused) on stderr", &get_verbose),
    CLI_REAL("--timeout", "S", "each transfer fails after S seconds (exit 28; default none)", &get_timeout, 0, 1e6),
    CLI_REAL("--connect-timeout", "S", "a connection not up after S seconds fails (exit 28; default 30)",
             &get_connect_timeout, 0.001, 1e6),
    CLI_END,
};

const struct cli_cmd cmd_get = {
    .name = "get",
    .summary = "HTTP client like curl: URLs over a keep-alive connection pool, progress, timing",
    .description = "Bodies go to stdout (in URL order) unless -o or -O. stderr: a progress bar when it is a\n"
                   "terminal, a timing line per transfer (connect, first byte, total). Exit status: 0 ok,\n"
                   "1 usage or bad URL (https is not supported), 6 host not resolved, 7 cannot connect,\n"
                   "8 invalid response, 22 HTTP >= 400 with -f, 23 write error, 28 timeout,\n"
                   "47 too many redirects, 52 empty reply, 56 receive error.\n"
                   "Names are looked up through --dns (on --stack kernel without --dns: the servers of\n"
                   "/etc/resolv.conf and /etc/hosts, as curl does).\n",
    .globals = true,
    .opts = get_opts,
    .run = get_run,
};
