/* TCP commands: echo and sink (servers sharing one loop), source (a client). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "cli.h"

/* ---- shared helpers ---- */
struct sha {
    EVP_MD_CTX *ctx;
};
static void sha_init(struct sha *s)
{
    s->ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL);
}
static void sha_update(struct sha *s, const void *d, size_t n) { EVP_DigestUpdate(s->ctx, d, n); }
static void sha_hex(struct sha *s, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(s->ctx, md, &len);
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Deterministic pattern for `source --bytes`: a xorshift stream, each state
 * stored little-endian (8 bytes per step, not one: the byte loop took a
 * quarter of the sender's CPU at 1 Gbit/s). */
static void pattern_fill(uint8_t *buf, size_t n, uint64_t *state)
{
    uint64_t x = *state;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { /* a fixed 8-byte store (gcc and clang merge it) */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (unsigned k = 0; k < 8; k++)
            buf[i + k] = (uint8_t)(x >> (8 * k));
    }
    if (i < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (unsigned k = 0; i + k < n; k++)
            buf[i + k] = (uint8_t)(x >> (8 * k));
    }
    *state = x;
}

static double mbit(uint64_t bytes, us_time_t ns) { return ns ? (double)bytes * 8 / ((double)ns / 1e9) / 1e6 : 0; }

/* ---- the server loop of echo and sink ---- */
#define SERVER_MAX_CONNS 1024

struct conn {
    int fd;
    struct us_sockaddr peer;
    us_time_t start;
    uint64_t bytes;              /* echoed / read */
    struct sha sha;              /* sink */
    uint8_t *buf;                /* echo */
    size_t have, sent;
    bool eof;
};

struct server {
    uint16_t port;
    double duration;
    const char *banner;          /* after "listening on port N" */
    bool (*open)(struct conn *k);                        /* false: out of memory, refuse */
    /* Move what can move now; true when the connection is over. May lower *wake. */
    bool (*serve)(struct cli *c, struct conn *k, us_time_t now, us_time_t *wake);
    /* The connection leaves: over (closed next), or left open at exit (aborted). */
    void (*close)(struct conn *k, us_time_t now, bool over);
    bool (*enough)(void);        /* stop before the duration (optional) */
};

static int listen_on(struct cli *c, uint16_t port)
{
    int fd = us_socket(c->st, US_SOCK_STREAM);
    int one = 1;
    us_setsockopt(c->st, fd, US_SOL_SOCKET, US_SO_REUSEADDR, &one, sizeof(one), us_rt_clock());
    struct us_sockaddr a = {0, port};
    int rc = us_bind(c->st, fd, &a, us_rt_clock());
    if (rc == 0)
        rc = us_listen(c->st, fd, c->backlog ? (int)c->backlog : 128, us_rt_clock());
    if (rc < 0) {
        cli_error("cannot listen on port %u: %s", port, strerror(-rc));
        return -1;
    }
    return fd;
}

/* Sets up the stack, accepts and serves until a stop signal, the duration or
 * enough(); then, unless stopped by a signal, lets the connections that ended
 * finish their close for a bounded time (cli_finish_closes: the last one's FIN
 * has only just been sent), and aborts what is left (RST). The caller prints
 * its summary and tears down. Returns 0 or an exit status. */
static int serve(struct cli *c, const struct server *s)
{
    int rc = cli_setup(c);
    if (rc)
        return rc;
    int lfd = listen_on(c, s->port);
    if (lfd < 0) {
        cli_teardown(c);
        return 1;
    }
    printf("%s: listening on port %u%s\n", c->cmd->name, s->port, s->banner ? s->banner : "");
    static struct conn conns[SERVER_MAX_CONNS];
    int n = 0;
    us_time_t until = s->duration > 0 ? us_rt_clock() + (us_time_t)(s->duration * 1e9) : US_TIME_NEVER;
    while (!cli_stopping() && us_rt_clock() < until && !(s->enough && s->enough())) {
        us_time_t now = us_rt_clock();
        struct us_sockaddr peer;
        int fd;
        while (n < SERVER_MAX_CONNS && (fd = us_accept(c->st, lfd, &peer, now)) >= 0) {
            conns[n] = (struct conn){.fd = fd, .peer = peer, .start = now};
            if (s->open(&conns[n]))
                n++;
            else
                us_close(c->st, fd, now);
        }
        us_time_t wake = until;
        for (int i = 0; i < n; i++) {
            if (!s->serve(c, &conns[i], now, &wake))
                continue;
            s->close(&conns[i], now, true);
            us_close(c->st, conns[i].fd, now);
            conns[i--] = conns[--n];
        }
        if (c->drv->step(c->drv, wake) < 0 && cli_stopping())
            break;
    }
    for (int i = 0; i < n; i++)
        s->close(&conns[i], us_rt_clock(), false);
    cli_finish_closes(c);
    cli_abort_connections(c);
    return 0;
}

/* ---- echo ---- */
#define ECHO_BUF 65536
static uint16_t echo_port = 7;
static double echo_duration;
static uint64_t echo_total, echo_served;

static bool echo_open(struct conn *k)
{
    k->buf = malloc(ECHO_BUF);
    return k->buf != NULL;
}

static bool echo_serve(struct cli *c, struct conn *e, us_time_t now, us_time_t *wake)
{
    (void)wake;
    for (;;) {
        if (e->sent < e->have) {
            ssize_t w = us_send(c->st, e->fd, e->buf + e->sent, e->have - e->sent, 0, now);
            if (w < 0 && w != -EAGAIN) {
                e->eof = true;
                e->have = e->sent = 0;
                break;
            }
            if (w > 0) {
                e->sent += (size_t)w;
                echo_total += (size_t)w;
            }
            if (e->sent < e->have)
                break;
            e->have = e->sent = 0;
        }
        if (e->eof)
            break;
        ssize_t r = us_recv(c->st, e->fd, e->buf, ECHO_BUF, 0, now);
        if (r == -EAGAIN)
            break;
        if (r <= 0) {
            e->eof = true;
            break;
        }
        e->have = (size_t)r;
    }
    return e->eof && e->sent >= e->have;
}

static void echo_close(struct conn *k, us_time_t now, bool over)
{
    (void)now;
    free(k->buf);
    echo_served += over;
}

static int echo_run(struct cli *c)
{
    const struct server s = {.port = echo_port, .duration = echo_duration, .open = echo_open, .serve = echo_serve,
                             .close = echo_close};
    int rc = serve(c, &s);
    if (rc)
        return rc;
    printf("echo: %llu connections served, %llu bytes echoed\n", (unsigned long long)echo_served,
           (unsigned long long)echo_total);
    if (c->verbose)
        cli_netstat(c->st, stdout);
    cli_teardown(c);
    return 0;
}

static const struct cli_opt echo_opts[] = {CLI_PORT(&echo_port, 7), CLI_DURATION(&echo_duration), CLI_END};

const struct cli_cmd cmd_echo = {
    .name = "echo",
    .summary = "TCP echo server (many clients at once)",
    .globals = true,
    .opts = echo_opts,
    .run = echo_run,
};

/* ---- sink ---- */
static uint16_t sink_port = 5001;
static uint64_t sink_rate, sink_count, sink_ended;
static double sink_duration;
static us_time_t rate_start;
static uint64_t rate_read;

static bool sink_open(struct conn *k)
{
    sha_init(&k->sha);
    return k->sha.ctx != NULL;
}

static bool sink_serve(struct cli *c, struct conn *s, us_time_t now, us_time_t *wake)
{
    static uint8_t buf[1 << 16];
    for (;;) {
        size_t want = sizeof(buf);
        if (sink_rate) {
            uint64_t allowed = (uint64_t)((double)sink_rate * (double)(now - rate_start) / 1e9);
            if (allowed <= rate_read) {
                us_time_t next = now + US_MS(10);
                *wake = next < *wake ? next : *wake;
                return false;
            }
            if (allowed - rate_read < want)
                want = (size_t)(allowed - rate_read);
        }
        ssize_t r = us_recv(c->st, s->fd, buf, want, 0, now);
        if (r == -EAGAIN)
            return false;
        if (r <= 0) {
            if (r < 0)
                printf("sink: connection error: %s\n", strerror((int)-r));
            return true;
        }
        rate_read += (uint64_t)r;
        s->bytes += (uint64_t)r;
        sha_update(&s->sha, buf, (size_t)r);
    }
}

static void sink_close(struct conn *s, us_time_t now, bool over)
{
    char hex[65], ip[16];
    sha_hex(&s->sha, hex);
    us_time_t dur = now - s->start;
    printf("sink: %s:%u bytes %llu duration %.3f s goodput %.2f Mbit/s sha256 %s%s\n", cli_ipstr(s->peer.addr, ip),
           s->peer.port, (unsigned long long)s->bytes, (double)dur / 1e9, mbit(s->bytes, dur), hex,
           over ? "" : " (aborted)");
    sink_ended += over;
}

static bool sink_enough(void) { return sink_count && sink_ended >= sink_count; }

static int sink_run(struct cli *c)
{
    const struct server s = {.port = sink_port, .duration = sink_duration, .banner = sink_rate ? " (slow reader)" : "",
                             .open = sink_open, .serve = sink_serve, .close = sink_close, .enough = sink_enough};
    rate_start = us_rt_clock();
    int rc = serve(c, &s);
    if (rc)
        return rc;
    if (c->verbose)
        cli_netstat(c->st, stdout);
    cli_teardown(c);
    return 0;
}

static const struct cli_opt sink_opts[] = {
    CLI_PORT(&sink_port, 5001),
    CLI_SIZE("--read-rate", "BYTES/S", "read at most this many bytes per second (a deliberately slow reader)",
             &sink_rate, 0, 0),
    CLI_UINT("--count", "N", "exit after N connections ended", &sink_count, 1, 1000000),
    CLI_DURATION(&sink_duration),
    CLI_END,
};

const struct cli_cmd cmd_sink = {
    .name = "sink",
    .summary = "accept, read and discard; per connection: bytes, goodput, SHA-256",
    .description = "Prints bytes, duration, goodput and SHA-256 per connection, also for those it\n"
                   "aborts (RST) when it stops. Connections that ended finish their close (FIN\n"
                   "acknowledged) before it exits, for at most a second plus the link's round trip.\n",
    .globals = true,
    .opts = sink_opts,
    .run = sink_run,
};

/* ---- source ---- */

/* With --file the source hashes what it sent on a thread of its own (the
 * stack stays on the main thread: the core never starts one), so SHA-256 —
 * 40% of the sender's CPU at 1-3 Gbit/s — overlaps with sending: a ring of
 * SRC_NBUF buffers, each filled and sent by the main thread, then hashed in
 * order and handed back. Without the thread (pthread_create failed) it
 * hashes inline. The pattern of --bytes is hashed after the transfer, out of
 * its duration, regenerated in the same chunks (pattern_sha): on a machine
 * of two cores the hashing thread took CPU from the receiver (Linux's socat
 * and its hash, whose reads clock its ACKs) — 100 MB at 2% loss over TAP,
 * six runs each: median 1,416 Mbit/s hashing along, 1,529 not. */
#define SRC_NBUF 8
#define SRC_BUFSZ (1u << 16)
struct src_ring {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t (*buf)[SRC_BUFSZ];
    size_t len[SRC_NBUF];
    uint64_t head, tail;      /* buffers posted / hashed */
    bool done, threaded;
    struct sha *sha;
    pthread_t th;
};

static void *src_hasher(void *arg)
{
    struct src_ring *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->tail == r->head && !r->done)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->tail == r->head)
            break;
        unsigned slot = (unsigned)(r->tail % SRC_NBUF);
        size_t n = r->len[slot];
        pthread_mutex_unlock(&r->mu);
        sha_update(r->sha, r->buf[slot], n);
        pthread_mutex_lock(&r->mu);
        r->tail++;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void src_ring_start(struct src_ring *r, struct sha *sha)
{
    static uint8_t bufs[SRC_NBUF][SRC_BUFSZ];
    memset(r, 0, sizeof(*r));
    r->buf = bufs;
    r->sha = sha;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals are the main thread's */
    r->threaded = pthread_create(&r->th, NULL, src_hasher, r) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The next buffer to fill: waits until the hasher has given it back. */
static uint8_t *src_ring_next(struct src_ring *r)
{
    pthread_mutex_lock(&r->mu);
    while (r->head - r->tail >= SRC_NBUF)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return r->buf[r->head % SRC_NBUF];
}

/* The buffer from src_ring_next was sent: n bytes of it to hash. */
static void src_ring_post(struct src_ring *r, size_t n)
{
    unsigned slot = (unsigned)(r->head % SRC_NBUF);
    if (!r->threaded) {
        sha_update(r->sha, r->buf[slot], n);
        r->head++;
        r->tail++;
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->len[slot] = n;
    r->head++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Everything posted is hashed when it returns. */
static void src_ring_finish(struct src_ring *r)
{
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        r->done = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->th, NULL);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}
#define SRC_SEED 0x9E3779B97F4A7C15ull

/* The SHA-256 of the first `bytes` of the --bytes pattern, made as source_run
 * sends it: chunks of SRC_BUFSZ, the last shorter. */
static void pattern_sha(struct sha *sha, uint64_t bytes)
{
    static uint8_t buf[SRC_BUFSZ];
    uint64_t state = SRC_SEED;
    while (bytes) {
        size_t n = bytes < SRC_BUFSZ ? (size_t)bytes : SRC_BUFSZ;
        pattern_fill(buf, n, &state);
        sha_update(sha, buf, n);
        bytes -= n;
    }
}

static const char *src_target, *src_file, *src_cc;
static uint64_t src_bytes;
static bool src_nodelay, src_have_bytes;

static int source_run(struct cli *c)
{
    const char *target = src_target, *file = src_file;
    const char *cc = src_cc ? src_cc : c->cc;
    us_ip4_t ip;
    uint16_t port;
    if (cli_parse_hostport("source", target, &ip, &port))
        return 2;
    if (src_have_bytes == (file != NULL))
        return cli_error("source: give exactly one of --bytes N or --file F");
    int ffd = -1;
    if (file && (ffd = open(file, O_RDONLY)) < 0)
        return cli_error("source: open(%s): %s", file, strerror(errno));
    int rc = cli_setup(c);
    if (rc)
        return rc;
    int fd = us_socket(c->st, US_SOCK_STREAM);
    if (src_nodelay) {
        int one = 1;
        us_setsockopt(c->st, fd, US_IPPROTO_TCP, US_TCP_NODELAY, &one, sizeof(one), us_rt_clock());
    }
    if (cc) {
        char name[16] = {0};
        snprintf(name, sizeof(name), "%s", cc);
        int e = us_setsockopt(c->st, fd, US_IPPROTO_TCP, US_TCP_CONGESTION, name, sizeof(name), us_rt_clock());
        if (e < 0)
            return cli_error("--cc %s: %s", cc, strerror(-e));
    }
    struct us_sockaddr dst = {ip, port};
    us_time_t t0 = us_rt_clock();
    rc = us_blk_connect(c->drv, c->st, fd, &dst, US_SEC(75));
    if (rc < 0) {
        cli_error("connect %s: %s", target, strerror(-rc));
        cli_teardown(c);
        return 1;
    }
    struct sha sha;
    sha_init(&sha);
    struct src_ring ring;
    memset(&ring, 0, sizeof(ring));
    static uint8_t pbuf[SRC_BUFSZ];
    if (file)
        src_ring_start(&ring, &sha);
    uint64_t sent = 0, state = SRC_SEED;
    int status = 0;
    while (!cli_stopping()) {
        size_t n;
        uint8_t *buf = file ? src_ring_next(&ring) : pbuf;
        if (file) {
            ssize_t r = read(ffd, buf, SRC_BUFSZ);
            if (r < 0) {
                status = cli_error("source: read(%s): %s", file, strerror(errno));
                break;
            }
            n = (size_t)r;
        } else {
            n = src_bytes - sent < SRC_BUFSZ ? (size_t)(src_bytes - sent) : SRC_BUFSZ;
            pattern_fill(buf, n, &state);
        }
        if (n == 0)
            break;
        ssize_t w = us_blk_send(c->drv, c->st, fd, buf, n, 0, US_TIME_NEVER);
        if (w < 0) {
            if (!cli_stopping())
                status = cli_error("source: send: %s", strerror((int)-w));
            break;
        }
        if (file)
            src_ring_post(&ring, n);
        sent += n;
    }
    /* Half-close, then wait for the peer to finish: all data acknowledged.
     * Stopped by a signal: no FIN; the connection is aborted below. */
    int crc = cli_stopping() ? 0 : us_blk_close(c->drv, c->st, fd, US_SEC(120));
    if (file)
        src_ring_finish(&ring);
    if (crc < 0 && status == 0 && !cli_stopping())
        status = cli_error("source: close: %s", strerror(-crc));
    cli_abort_connections(c);
    us_time_t dur = us_rt_clock() - t0;
    if (!file)
        pattern_sha(&sha, sent);
    char hex[65];
    sha_hex(&sha, hex);
    uint64_t retx = cli_counter(c->st, "tcp.retransmits");
    printf("source: %s bytes %llu duration %.3f s goodput %.2f Mbit/s retransmits %llu sha256 %s%s\n", target,
           (unsigned long long)sent, (double)dur / 1e9, mbit(sent, dur), (unsigned long long)retx, hex,
           cli_stopping() ? " (interrupted)" : "");
    if (c->verbose)
        cli_netstat(c->st, stdout);
    if (ffd >= 0)
        close(ffd);
    cli_teardown(c);
    return status || cli_stopping() ? 1 : 0;
}

static const struct cli_opt source_opts[] = {
    CLI_ARG("HOST:PORT", "destination HOST:PORT", &src_target),
    {.name = "--bytes", .metavar = "N", .help = "send N bytes of a deterministic pattern (suffixes k, M, G)",
     .parse = cli_opt_size, .out = &src_bytes, .width = sizeof(src_bytes), .seen = &src_have_bytes},
    CLI_STR("--file", "F", "send the file F", &src_file),
    CLI_FLAG("--nodelay", "disable Nagle's algorithm (TCP_NODELAY)", &src_nodelay),
    CLI_CC("--cc", "congestion control of this connection, default the global --cc", &src_cc),
    CLI_END,
};

const struct cli_cmd cmd_source = {
    .name = "source",
    .summary = "connect, send, close; bytes, goodput, retransmits, SHA-256",
    .description = "Connects, sends a deterministic pattern (--bytes) or a file (--file; exactly one of\n"
                   "them), closes; prints bytes, duration, goodput, retransmits and the SHA-256 of what\n"
                   "was sent. Stopped by SIGINT/SIGTERM it aborts the connection with RST and exits 1.\n",
    .globals = true,
    .opts = source_opts,
    .run = source_run,
};
