/* TCP commands: echo, sink, source, and the netstat-style connection table. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "cli.h"

static volatile sig_atomic_t usr1_flag;
static void on_usr1(int sig)
{
    (void)sig;
    usr1_flag = 1;
}

static void install_usr1(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

/* ---- netstat ---- */
static void print_conn(void *arg, const struct us_conn_info *c)
{
    FILE *out = arg;
    char la[16], ra[16], l[24], r[24];
    snprintf(l, sizeof(l), "%s:%u", cli_ipstr(c->local.addr, la), c->local.port);
    snprintf(r, sizeof(r), "%s:%u", cli_ipstr(c->remote.addr, ra), c->remote.port);
    fprintf(out, "%-4d %-12s %-21s %-21s %8u %8u %8u %8u %8.1f %6llu\n", c->fd, us_tcp_state_name(c->info.state), l, r,
            c->info.recv_queue, c->info.send_queue, c->info.cwnd, c->info.ssthresh, (double)c->info.srtt / 1e6,
            (unsigned long long)c->info.retransmits);
}

void cli_netstat(struct us_stack *st, FILE *out)
{
    fprintf(out, "%-4s %-12s %-21s %-21s %8s %8s %8s %8s %8s %6s\n", "fd", "state", "local", "remote", "recv-q",
            "send-q", "cwnd", "ssthresh", "srtt-ms", "retx");
    us_tcp_foreach(st, print_conn, out);
    cli_print_counters(st, out, false);
}

static void maybe_netstat(struct cli *c)
{
    if (usr1_flag) {
        usr1_flag = 0;
        cli_netstat(c->st, stdout);
    }
}

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

/* Deterministic pattern for `source --bytes`: a xorshift stream. */
static void pattern_fill(uint8_t *buf, size_t n, uint64_t *state)
{
    uint64_t x = *state;
    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        buf[i] = (uint8_t)(x >> (8 * (i & 7)));
    }
    *state = x;
}

static double mbit(uint64_t bytes, us_time_t ns) { return ns ? (double)bytes * 8 / ((double)ns / 1e9) / 1e6 : 0; }

static int step(struct cli *c, us_time_t limit)
{
    int r = c->drv->step(c->drv, limit);
    maybe_netstat(c);
    return r;
}

static int parse_port(int argc, char **argv, int *i, uint16_t *port)
{
    uint64_t p;
    if (*i + 1 >= argc || cli_parse_u64("--port", argv[*i + 1], 1, 65535, &p))
        return 2;
    *port = (uint16_t)p;
    (*i)++;
    return 0;
}

static int listen_on(struct cli *c, uint16_t port)
{
    int fd = us_socket(c->st, US_SOCK_STREAM);
    int one = 1;
    us_setsockopt(c->st, fd, US_SOL_SOCKET, US_SO_REUSEADDR, &one, sizeof(one));
    struct us_sockaddr a = {0, port};
    int rc = us_bind(c->st, fd, &a);
    if (rc == 0)
        rc = us_listen(c->st, fd, 128);
    if (rc < 0) {
        cli_error("cannot listen on port %u: %s", port, strerror(-rc));
        return -1;
    }
    return fd;
}

/* ---- echo ---- */
#define ECHO_MAX 1024
#define ECHO_BUF 65536
struct echo_conn {
    int fd;
    uint8_t *buf;
    size_t have, sent;
    bool eof;
};

int cmd_echo(struct cli *c, int argc, char **argv)
{
    uint16_t port = 7;
    double duration = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port")) {
            if (parse_port(argc, argv, &i, &port))
                return 2;
        } else if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
            if (cli_parse_double("--duration", argv[++i], 0, 1e9, &duration))
                return 2;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: ustack [GLOBAL OPTIONS] echo [--port 7] [--duration S]\nTCP echo server for many clients at once.\n");
            return 0;
        } else
            return cli_error("echo: unknown option '%s' (allowed: --port N, --duration S)", argv[i]);
    }
    int rc = cli_setup(c);
    if (rc)
        return rc;
    install_usr1();
    int lfd = listen_on(c, port);
    if (lfd < 0)
        return 1;
    printf("echo: listening on port %u\n", port);
    static struct echo_conn conns[ECHO_MAX];
    int n = 0;
    uint64_t total = 0, served = 0;
    us_time_t until = duration > 0 ? us_rt_clock() + (us_time_t)(duration * 1e9) : US_TIME_NEVER;
    while (!us_rt_stop_requested() && us_rt_clock() < until) {
        us_time_t now = us_rt_clock();
        struct us_sockaddr peer;
        int fd;
        while (n < ECHO_MAX && (fd = us_accept(c->st, lfd, &peer, now)) >= 0) {
            conns[n++] = (struct echo_conn){.fd = fd, .buf = malloc(ECHO_BUF)};
            int one = 1;
            us_setsockopt(c->st, fd, US_IPPROTO_TCP, US_TCP_NODELAY, &one, sizeof(one));
        }
        for (int i = 0; i < n; i++) {
            struct echo_conn *e = &conns[i];
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
                        total += (size_t)w;
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
            if (e->eof && e->sent >= e->have) {
                us_close(c->st, e->fd, now);
                free(e->buf);
                conns[i--] = conns[--n];
                served++;
            }
        }
        if (step(c, until) < 0 && us_rt_stop_requested())
            break;
    }
    printf("echo: %llu connections served, %llu bytes echoed\n", (unsigned long long)served, (unsigned long long)total);
    if (c->verbose)
        cli_netstat(c->st, stdout);
    cli_teardown(c);
    return 0;
}

/* ---- sink ---- */
struct sink_conn {
    int fd;
    struct us_sockaddr peer;
    uint64_t bytes;
    us_time_t start;
    struct sha sha;
};

int cmd_sink(struct cli *c, int argc, char **argv)
{
    uint16_t port = 5001;
    uint64_t rate = 0, count = 0;
    double duration = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port")) {
            if (parse_port(argc, argv, &i, &port))
                return 2;
        } else if (!strcmp(argv[i], "--read-rate") && i + 1 < argc) {
            if (cli_parse_size("--read-rate", argv[++i], &rate))
                return 2;
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            if (cli_parse_u64("--count", argv[++i], 1, 1000000, &count))
                return 2;
        } else if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
            if (cli_parse_double("--duration", argv[++i], 0, 1e9, &duration))
                return 2;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: ustack [GLOBAL OPTIONS] sink [--port 5001] [--read-rate BYTES/S] [--count N] [--duration S]\n"
                   "Accepts connections, reads and discards; prints bytes, duration, goodput and SHA-256 per connection.\n"
                   "  --read-rate  read at most this many bytes per second (a deliberately slow reader)\n"
                   "  --count      exit after N connections ended\n");
            return 0;
        } else
            return cli_error("sink: unknown option '%s' (allowed: --port, --read-rate, --count, --duration)", argv[i]);
    }
    int rc = cli_setup(c);
    if (rc)
        return rc;
    install_usr1();
    int lfd = listen_on(c, port);
    if (lfd < 0)
        return 1;
    printf("sink: listening on port %u%s\n", port, rate ? " (slow reader)" : "");
    enum { MAXC = 1024 };
    static struct sink_conn conns[MAXC];
    static uint8_t buf[1 << 16];
    int n = 0;
    uint64_t ended = 0;
    us_time_t until = duration > 0 ? us_rt_clock() + (us_time_t)(duration * 1e9) : US_TIME_NEVER;
    us_time_t rate_start = us_rt_clock();
    uint64_t rate_read = 0;
    while (!us_rt_stop_requested() && us_rt_clock() < until && (!count || ended < count)) {
        us_time_t now = us_rt_clock();
        struct us_sockaddr peer;
        int fd;
        while (n < MAXC && (fd = us_accept(c->st, lfd, &peer, now)) >= 0) {
            conns[n] = (struct sink_conn){.fd = fd, .peer = peer, .start = now};
            sha_init(&conns[n].sha);
            n++;
        }
        us_time_t wake = until;
        for (int i = 0; i < n; i++) {
            struct sink_conn *s = &conns[i];
            bool done = false;
            for (;;) {
                size_t want = sizeof(buf);
                if (rate) {
                    uint64_t allowed = (uint64_t)((double)rate * (double)(now - rate_start) / 1e9);
                    if (allowed <= rate_read) {
                        us_time_t next = now + US_MS(10);
                        wake = next < wake ? next : wake;
                        break;
                    }
                    if (allowed - rate_read < want)
                        want = (size_t)(allowed - rate_read);
                }
                ssize_t r = us_recv(c->st, s->fd, buf, want, 0, now);
                if (r == -EAGAIN)
                    break;
                if (r <= 0) {
                    if (r < 0)
                        printf("sink: connection error: %s\n", strerror((int)-r));
                    done = true;
                    break;
                }
                rate_read += (uint64_t)r;
                s->bytes += (uint64_t)r;
                sha_update(&s->sha, buf, (size_t)r);
            }
            if (done) {
                char hex[65], ip[16];
                sha_hex(&s->sha, hex);
                us_time_t dur = now - s->start;
                printf("sink: %s:%u bytes %llu duration %.3f s goodput %.2f Mbit/s sha256 %s\n", cli_ipstr(s->peer.addr, ip),
                       s->peer.port, (unsigned long long)s->bytes, (double)dur / 1e9, mbit(s->bytes, dur), hex);
                us_close(c->st, s->fd, now);
                conns[i--] = conns[--n];
                ended++;
            }
        }
        if (step(c, wake) < 0 && us_rt_stop_requested())
            break;
    }
    for (int i = 0; i < n; i++)
        if (conns[i].sha.ctx)
            EVP_MD_CTX_free(conns[i].sha.ctx);
    if (c->verbose)
        cli_netstat(c->st, stdout);
    cli_teardown(c);
    return 0;
}

/* ---- source ---- */
int cmd_source(struct cli *c, int argc, char **argv)
{
    const char *target = NULL, *file = NULL;
    uint64_t bytes = 0;
    bool nodelay = false, have_bytes = false;
    const char *cc = c->cc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bytes") && i + 1 < argc) {
            if (cli_parse_size("--bytes", argv[++i], &bytes))
                return 2;
            have_bytes = true;
        } else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "--nodelay")) {
            nodelay = true;
        } else if (!strcmp(argv[i], "--cc") && i + 1 < argc) {
            cc = argv[++i];
            if (strcmp(cc, "newreno") && strcmp(cc, "cubic"))
                return cli_error("--cc: '%s' is not allowed (allowed: newreno, cubic)", cc);
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: ustack [GLOBAL OPTIONS] source HOST:PORT (--bytes N | --file F) [--nodelay] [--cc NAME]\n"
                   "Connects, sends a deterministic pattern or a file, closes; prints bytes, duration, goodput,\n"
                   "retransmits and the SHA-256 of what was sent.\n");
            return 0;
        } else if (argv[i][0] != '-' && !target) {
            target = argv[i];
        } else
            return cli_error("source: unknown option '%s' (allowed: HOST:PORT, --bytes N, --file F, --nodelay, --cc NAME)", argv[i]);
    }
    us_ip4_t ip;
    uint16_t port;
    if (!target)
        return cli_error("source: no HOST:PORT given");
    if (cli_parse_hostport("source", target, &ip, &port))
        return 2;
    if (have_bytes == (file != NULL))
        return cli_error("source: give exactly one of --bytes N or --file F");
    int ffd = -1;
    if (file && (ffd = open(file, O_RDONLY)) < 0)
        return cli_error("source: open(%s): %s", file, strerror(errno));
    int rc = cli_setup(c);
    if (rc)
        return rc;
    install_usr1();
    int fd = us_socket(c->st, US_SOCK_STREAM);
    if (nodelay) {
        int one = 1;
        us_setsockopt(c->st, fd, US_IPPROTO_TCP, US_TCP_NODELAY, &one, sizeof(one));
    }
    if (cc) {
        char name[16] = {0};
        snprintf(name, sizeof(name), "%s", cc);
        int e = us_setsockopt(c->st, fd, US_IPPROTO_TCP, US_TCP_CONGESTION, name, sizeof(name));
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
    static uint8_t buf[1 << 16];
    uint64_t sent = 0, state = 0x9E3779B97F4A7C15ull;
    int status = 0;
    while (!us_rt_stop_requested()) {
        size_t n;
        if (file) {
            ssize_t r = read(ffd, buf, sizeof(buf));
            if (r < 0) {
                status = cli_error("source: read(%s): %s", file, strerror(errno));
                break;
            }
            n = (size_t)r;
        } else {
            n = bytes - sent < sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);
            pattern_fill(buf, n, &state);
        }
        if (n == 0)
            break;
        ssize_t w = us_blk_send(c->drv, c->st, fd, buf, n, US_TIME_NEVER);
        if (w < 0) {
            status = cli_error("source: send: %s", strerror((int)-w));
            break;
        }
        sha_update(&sha, buf, n);
        sent += n;
        maybe_netstat(c);
    }
    /* half-close, then wait for the peer to finish: all data acknowledged */
    int crc = us_blk_close(c->drv, c->st, fd, US_SEC(120));
    us_time_t dur = us_rt_clock() - t0;
    char hex[65];
    sha_hex(&sha, hex);
    if (crc < 0 && status == 0)
        status = cli_error("source: close: %s", strerror(-crc));
    uint64_t retx = cli_counter(c->st, "tcp.retransmits");
    printf("source: %s bytes %llu duration %.3f s goodput %.2f Mbit/s retransmits %llu sha256 %s\n", target,
           (unsigned long long)sent, (double)dur / 1e9, mbit(sent, dur), (unsigned long long)retx, hex);
    if (c->verbose)
        cli_netstat(c->st, stdout);
    if (ffd >= 0)
        close(ffd);
    cli_teardown(c);
    return status ? 1 : 0;
}
