/* sim page (scen.h): the page loader between A and B in virtual time. B
 * serves a generated site (a temporary directory: index.html and its
 * resources, realistic and varied sizes, deterministic bytes) with the real
 * HTTP server, and answers A's DNS queries for page.test with a tiny
 * responder on UDP port 53; A runs the real resolver and client. B's
 * connections are read at each response's first byte (the server's cwnd)
 * and whenever their cwnd changes (the plot); A's frames on the wire are
 * counted (SYNs, requests per segment). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <ustack/dns.h>
#include <ustack/http_server.h>
#include "scen.h"

#define PAGE_HOST "page.test"
#define DNS_TTL 300

/* The site: what a small shop's front page loads (sizes in bytes). */
static const struct { const char *path, *tag; uint32_t size; } site_table[] = {
    {"css/site.css", "link", 14200},     {"js/app.js", "script", 88000},    {"img/logo.png", "img", 6100},
    {"img/hero.jpg", "img", 142000},     {"js/vendor.js", "script", 61000}, {"css/print.css", "link", 2900},
    {"img/photo1.jpg", "img", 48000},    {"img/photo2.jpg", "img", 36500},  {"img/search.svg", "img", 1200},
    {"img/cart.svg", "img", 1500},       {"js/stats.js", "script", 17500},  {"img/banner.webp", "img", 71000},
    {"img/thumb1.jpg", "img", 9800},     {"img/thumb2.jpg", "img", 11200},  {"img/thumb3.jpg", "img", 8700},
    {"img/thumb4.jpg", "img", 10400},    {"css/fonts.css", "link", 4100},   {"img/avatar.png", "img", 3300},
    {"js/widgets.js", "script", 24000},  {"img/footer.png", "img", 5200},
};
#define SITE_TABLE (sizeof(site_table) / sizeof(site_table[0]))

struct site_file { char path[PAGE_PATH_MAX]; uint64_t size, hash; };

struct sp {
    struct simnet net;
    struct us_tp *tp_a, *tp_dns_a, *tp_b, *tp_dns_b;
    struct us_dns *dns;
    struct us_http_server *srv;
    int dns_fd;
    char dir[64];
    struct site_file files[PAGE_MAX_RES + 1];   /* [0]: index.html as "/" */
    size_t nfiles;
    struct page_result *load;
    struct { uint16_t port; uint32_t cwnd; } last[PAGE_MAX_RES + 2];
    size_t nlast;
    uint64_t dns_answered;
    /* A's side of the wire */
    uint32_t syns, req_segments, multi, max_per_seg;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int write_file(struct sp *s, const char *rel, const char *data, size_t n, struct site_file *f)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, n, fp) != n) {
        if (fp)
            fclose(fp);
        return -1;
    }
    f->size = n;
    f->hash = fnv(0xcbf29ce484222325ull, data, n);
    if (fclose(fp) != 0)
        return -1;
    /* a fixed modification time: the same Last-Modified and ETag every run */
    struct timespec t[2] = {{.tv_sec = 1767225600}, {.tv_sec = 1767225600}};   /* 2026-01-01 */
    return utimensat(AT_FDCWD, path, t, 0);
}

static void resource_path(uint32_t i, char *out, size_t len)
{
    if (i < SITE_TABLE)
        snprintf(out, len, "%s", site_table[i].path);
    else
        snprintf(out, len, "img/more%u.jpg", i);
}

/* index.html references resource i in one of the ways pages do: relative,
 * from the root, or as a full same-origin URL. */
static int html_ref(char *b, size_t len, uint32_t i, const char *path)
{
    const char *tag = i < SITE_TABLE ? site_table[i].tag : "img";
    static const char *const how[] = {"", "/", "http://" PAGE_HOST "/"};
    const char *pre = how[i % 3];
    if (!strcmp(tag, "link"))
        return snprintf(b, len, "  <link rel=\"stylesheet\" href=\"%s%s\">\n", pre, path);
    if (!strcmp(tag, "script"))
        return snprintf(b, len, "  <script src='%s%s'></script>\n", pre, path);
    return snprintf(b, len, "  <img src=%s%s alt=\"picture %u\" width=320>\n", pre, path, i);
}

static int site_make(struct sp *s, uint32_t n, uint64_t seed, char *err, size_t errlen)
{
    snprintf(s->dir, sizeof(s->dir), "/tmp/ustack-page-XXXXXX");
    if (!mkdtemp(s->dir)) {
        snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
        s->dir[0] = 0;
        return -1;
    }
    static const char *const sub[] = {"css", "js", "img"};
    char path[256];
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof(path), "%s/%s", s->dir, sub[k]);
        mkdir(path, 0755);
    }
    size_t cap = 16384 + (size_t)n * 160;
    char *html = malloc(cap), *data = malloc(200000);
    if (!html || !data) {
        free(html);
        free(data);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t h = (size_t)snprintf(html, cap,
                                "<!DOCTYPE html>\n<html><head><title>A shop</title>\n"
                                "  <!-- <img src=\"img/old.png\"> is gone -->\n"
                                "  <link rel=\"canonical\" href=\"http://" PAGE_HOST "/\">\n"
                                "  <script src=\"http://cdn.example.test/lib.js\"></script>\n"
                                "  <script>if (a < b) document.write('<img src=\"x.png\">');</script>\n");
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        struct site_file *f = &s->files[i + 1];
        char rel[PAGE_PATH_MAX - 1];
        resource_path(i, rel, sizeof(rel));
        snprintf(f->path, sizeof(f->path), "/%s", rel);
        h += (size_t)html_ref(html + h, cap - h, i, rel);
        if (i == 2)
            h += (size_t)snprintf(html + h, cap - h, "  <p>Welcome! <a href=\"about.html\">About us</a></p>\n"
                                                    "  <img src=\"/img/logo.png\" alt=\"again\">\n");
        uint32_t size = site_table[i % SITE_TABLE].size;
        for (uint32_t k = 0; k < size; k++) {   /* xorshift bytes: the same site every run */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data[k] = (char)(x >> 24);
        }
        rc = write_file(s, rel, data, size, f);
    }
    for (int p = 0; p < 40 && !rc; p++)   /* some text, as a page has */
        h += (size_t)snprintf(html + h, cap - h, "  <p>Item %d: a fine thing at a fair price, in stock.</p>\n", p);
    h += (size_t)snprintf(html + h, cap - h, "</head></html>\n");
    snprintf(s->files[0].path, sizeof(s->files[0].path), "/");
    if (!rc)
        rc = write_file(s, "index.html", html, h, &s->files[0]);
    s->nfiles = n + 1;
    free(html);
    free(data);
    if (rc)
        snprintf(err, errlen, "writing the site in %s: %s", s->dir, strerror(errno));
    return rc;
}

static void site_remove(struct sp *s)
{
    if (!s->dir[0])
        return;
    char path[256], rel[PAGE_PATH_MAX];
    for (size_t i = 1; i < s->nfiles; i++) {
        resource_path((uint32_t)(i - 1), rel, sizeof(rel));
        snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/index.html", s->dir);
    unlink(path);
    static const char *const sub[] = {"css", "js", "img"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof(path), "%s/%s", s->dir, sub[k]);
        rmdir(path);
    }
    rmdir(s->dir);
}

/* ---- B's DNS responder: A records for page.test, NXDOMAIN for the rest ---- */
static void dns_answer(struct sp *s, const uint8_t *q, size_t n, const struct us_tp_addr *from, us_time_t now)
{
    if (n < 17 || n > 512 || (q[2] & 0x80) || q[4] || q[5] != 1)
        return;   /* not one question */
    size_t i = 12;
    char name[256];
    size_t nl = 0;
    while (i < n && q[i] && q[i] < 64 && nl + q[i] + 1 < sizeof(name)) {
        if (nl)
            name[nl++] = '.';
        memcpy(name + nl, q + i + 1, q[i]);
        nl += q[i];
        i += q[i] + 1u;
    }
    if (i + 5 > n || q[i])
        return;
    name[nl] = 0;
    size_t qend = i + 5;
    bool a = q[i + 1] == 0 && q[i + 2] == 1, ours = !strcasecmp(name, PAGE_HOST);
    uint8_t r[600];
    memcpy(r, q, qend);
    r[2] = (uint8_t)(0x84 | (q[2] & 0x01));      /* QR, AA, RD as asked */
    r[3] = ours ? 0x00 : 0x03;                   /* NOERROR / NXDOMAIN */
    r[6] = 0;
    r[7] = ours && a ? 1 : 0;
    memset(r + 8, 0, 4);
    size_t len = qend;
    if (ours && a) {
        static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, DNS_TTL >> 8, DNS_TTL & 255, 0, 4};
        memcpy(r + len, rr, sizeof(rr));
        len += sizeof(rr);
        us_ip4_t ip = SIMNET_IP_B;
        r[len++] = (uint8_t)(ip >> 24);
        r[len++] = (uint8_t)(ip >> 16);
        r[len++] = (uint8_t)(ip >> 8);
        r[len++] = (uint8_t)ip;
    }
    if (us_tp_sendto(s->tp_dns_b, s->dns_fd, r, len, from, now) == (ssize_t)len)
        s->dns_answered++;
}

static void cwnd_sample(void *arg, const struct us_conn_info *c)
{
    struct sp *s = arg;
    if (c->local.port != 80 || c->remote.addr != SIMNET_IP_A || c->info.state == US_TCP_TIME_WAIT ||
        c->info.state == US_TCP_LISTEN)
        return;
    size_t k = 0;
    while (k < s->nlast && s->last[k].port != c->remote.port)
        k++;
    if (k == s->nlast) {
        if (k == sizeof(s->last) / sizeof(s->last[0]))
            return;
        s->nlast++;
        s->last[k].port = c->remote.port;
        s->last[k].cwnd = 0;
    }
    if (s->last[k].cwnd == c->info.cwnd)
        return;
    s->last[k].cwnd = c->info.cwnd;
    struct page_result *r = s->load;
    if (r->ncwnd == r->cwnd_cap) {
        size_t cap = r->cwnd_cap ? 2 * r->cwnd_cap : 1024;
        struct page_cwnd_sample *p = realloc(r->cwnd, cap * sizeof(*p));
        if (!p)
            return;
        r->cwnd = p;
        r->cwnd_cap = cap;
    }
    /* conn_id holds the client's port until the load maps it */
    r->cwnd[r->ncwnd++] = (struct page_cwnd_sample){simnet_now(&s->net), c->remote.port, c->info.cwnd};
}

static us_time_t peer_step(void *arg, us_time_t now)
{
    struct sp *s = arg;
    uint8_t q[600];
    struct us_tp_addr from;
    ssize_t n;
    for (int k = 0; k < 64 && (n = us_tp_recvfrom(s->tp_dns_b, s->dns_fd, q, sizeof(q), &from, now)) >= 0; k++)
        dns_answer(s, q, (size_t)n, &from, now);
    us_time_t d = us_http_server_step(s->srv, now);
    us_tcp_foreach(s->net.b.st, cwnd_sample, s);
    return d;
}

struct find { uint16_t port; uint32_t cwnd; };
static void find_port(void *arg, const struct us_conn_info *c)
{
    struct find *f = arg;
    if (c->local.port == 80 && c->remote.port == f->port && c->info.state != US_TCP_TIME_WAIT)
        f->cwnd = c->info.cwnd;
}

static uint32_t server_cwnd(void *arg, uint16_t port)
{
    struct sp *s = arg;
    struct find f = {port, 0};
    us_tcp_foreach(s->net.b.st, find_port, &f);
    return f.cwnd;
}

static void count_tw(void *arg, const struct us_conn_info *c)
{
    if (c->info.state == US_TCP_TIME_WAIT)
        (*(int *)arg)++;
}

static void time_wait(void *arg, int *client, int *server)
{
    struct sp *s = arg;
    *client = *server = 0;
    us_tcp_foreach(s->net.a.st, count_tw, client);
    us_tcp_foreach(s->net.b.st, count_tw, server);
}

/* A's frames: SYNs, and segments carrying requests (how many "GET " each). */
static bool observe(void *arg, int dir, const uint8_t *f, uint32_t len, us_time_t now)
{
    (void)now;
    struct sp *s = arg;
    if (dir != 0 || len < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 6)
        return false;
    uint32_t ihl = (f[14] & 15u) * 4, tot = (uint32_t)f[16] << 8 | f[17];
    if (14 + ihl + 20 > len || tot > len - 14)
        return false;
    const uint8_t *t = f + 14 + ihl;
    uint32_t thl = (t[12] >> 4) * 4u;
    if ((t[13] & 0x12) == 0x02)
        s->syns++;
    if (ihl + thl >= tot)
        return false;
    const uint8_t *p = t + thl, *end = f + 14 + tot;
    uint32_t gets = 0;
    for (const uint8_t *g = p; (g = memmem(g, (size_t)(end - g), "GET ", 4)); g += 4)
        gets++;
    if (gets) {
        s->req_segments++;
        if (gets > 1)
            s->multi++;
        if (gets > s->max_per_seg)
            s->max_per_seg = gets;
    }
    return false;
}

static int sp_open(struct sp *s, const struct scen_page_opts *o, char *err, size_t errlen)
{
    struct us_impair_dir link = {.delay = o->rtt / 2, .rate_bps = o->rate, .loss = o->loss};
    if (o->rate) {   /* a queue of about one bandwidth-delay product (at least 64 KiB) */
        uint64_t bdp = o->rate / 8 * (uint64_t)o->rtt / 1000000000u;
        link.queue_bytes = bdp > 65536 ? (uint32_t)(bdp < (64u << 20) ? bdp : (64u << 20)) : 65536;
    }
    struct simnet_opts so = {.a_tx = link, .b_tx = link, .seed = o->seed, .pcap_a = o->pcap, .a_filter = observe,
                             .a_filter_arg = s};
    if (simnet_open(&s->net, &so, err, errlen) < 0)
        return -1;
    /* ARP first (a ping A -> B), so the DNS query pays only its own round trip */
    us_ping_send(s->net.a.st, SIMNET_IP_B, 0x7e57, 1, 8, simnet_now(&s->net));
    us_sim_run_until(s->net.sim, simnet_now(&s->net) + 3 * o->rtt + US_MS(10));
    struct us_ping_reply pr;
    while (us_ping_recv(s->net.a.st, 0x7e57, &pr) == 1)
        ;
    struct us_driver *drv = us_sim_driver(s->net.sim);
    s->tp_a = us_tp_ustack_new(s->net.a.st, drv, err, errlen);
    s->tp_dns_a = s->tp_a ? us_tp_ustack_new(s->net.a.st, drv, err, errlen) : NULL;
    s->tp_b = s->tp_dns_a ? us_tp_ustack_new(s->net.b.st, drv, err, errlen) : NULL;
    s->tp_dns_b = s->tp_b ? us_tp_ustack_new(s->net.b.st, drv, err, errlen) : NULL;
    if (!s->tp_dns_b)
        return -1;
    us_time_t now = simnet_now(&s->net);
    s->dns_fd = us_tp_udp_open(s->tp_dns_b, &(struct us_tp_addr){0, 53}, now);
    if (s->dns_fd < 0) {
        snprintf(err, errlen, "DNS responder: udp port 53: %s", strerror(-s->dns_fd));
        return -1;
    }
    struct us_dns_config dc;
    us_dns_config_default(&dc);
    dc.server[0] = (struct us_tp_addr){SIMNET_IP_B, 53};
    dc.nservers = 1;
    if (!(s->dns = us_dns_new(s->tp_dns_a, &dc, err, errlen)))
        return -1;
    struct us_http_server_config hc;
    us_http_server_config_default(&hc);
    hc.root = s->dir;
    hc.addr = (struct us_tp_addr){0, 80};
    return (s->srv = us_http_server_new(s->tp_b, &hc, err, errlen)) ? 0 : -1;
}

static void sp_close(struct sp *s)
{
    us_time_t now = s->net.sim ? simnet_now(&s->net) : 0;
    if (s->srv)
        us_http_server_free(s->srv, now);
    if (s->dns)
        us_dns_free(s->dns, now);
    us_tp_free(s->tp_a);
    us_tp_free(s->tp_dns_a);
    us_tp_free(s->tp_b);
    us_tp_free(s->tp_dns_b);
    if (s->net.sim)
        simnet_close(&s->net);
}

/* Client ports into connection numbers in the cwnd samples. */
static void map_ports(struct page_result *r)
{
    for (size_t k = 0; k < r->ncwnd; k++) {
        uint32_t port = r->cwnd[k].conn_id;
        r->cwnd[k].conn_id = 0;
        for (size_t i = 0; i < r->nreq; i++)
            if (r->req[i].local_port == port && r->req[i].conn_id) {
                r->cwnd[k].conn_id = r->req[i].conn_id;
                break;
            }
    }
}

static uint32_t verify(const struct sp *s, const struct page_result *r)
{
    uint32_t bad = 0;
    for (size_t f = 0; f < s->nfiles; f++) {
        const struct page_req *q = NULL;
        for (size_t i = 0; i < r->nreq && !q; i++)
            if (!strcmp(r->req[i].path, s->files[f].path))
                q = &r->req[i];
        if (!q || q->status != 200 || q->body_bytes != s->files[f].size || q->hash != s->files[f].hash)
            bad++;
    }
    return bad + (r->nreq != s->nfiles);
}

int scen_page_run(const struct scen_page_opts *o, struct scen_page_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (o->resources < 1 || o->resources > PAGE_MAX_RES) {
        snprintf(err, errlen, "page: --resources out of range (1..%d)", PAGE_MAX_RES);
        return -1;
    }
    static struct sp s;
    memset(&s, 0, sizeof(s));
    s.load = &r->load;
    int rc = site_make(&s, o->resources, o->seed, err, errlen);
    if (!rc)
        rc = sp_open(&s, o, err, errlen);
    if (!rc) {
        struct page_load_opts lo = {.strategy = o->strategy, .parallel = o->parallel, .pipeline = o->pipeline,
                                    .url = "http://" PAGE_HOST "/", .tp = s.tp_a, .dns = s.dns, .dns_tp = s.tp_dns_a,
                                    .timeout = US_SEC(600), .peer_step = peer_step, .server_cwnd = server_cwnd,
                                    .time_wait = time_wait, .arg = &s};
        /* page_load clears the result: the samples collected meanwhile go in after */
        static struct page_result tmp;
        s.load = &tmp;
        memset(&tmp, 0, sizeof(tmp));
        struct page_cwnd_sample *cw = NULL;
        rc = page_load(&lo, &r->load, err, errlen);
        cw = tmp.cwnd;
        r->load.cwnd = cw;
        r->load.ncwnd = tmp.ncwnd;
        r->load.cwnd_cap = tmp.cwnd_cap;
        if (!rc) {
            map_ports(&r->load);
            r->resources = o->resources;
            for (size_t f = 0; f < s.nfiles; f++)
                r->site_bytes += s.files[f].size;
            r->mismatched = verify(&s, &r->load);
            r->dns_answered = s.dns_answered;
            r->load.syns = s.syns;
            r->load.req_segments = s.req_segments;
            r->load.multi_req_segments = s.multi;
            r->load.max_reqs_per_segment = s.max_per_seg;
        }
    }
    sp_close(&s);
    site_remove(&s);
    return rc;
}
