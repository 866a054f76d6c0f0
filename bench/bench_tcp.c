/* TCP figures (printed, never asserted):
 *   bulk     goodput between two stacks over a pipe link (MTU 1500) in one
 *            process, driven by the simulator (zero link delay): wall time for
 *            BULK_MB megabytes
 *   conns    connection set-up and tear-down per second between two stacks:
 *            socket, connect, accept, close both, in a loop
 *   size     sizeof(struct us_tcb) and memory per idle established connection
 *            with IDLE connections open (mallinfo2 before/after, and maxrss)
 *   --linux-conns N   the same set-up/tear-down loop over kernel sockets on
 *            127.0.0.1 (run it inside a network namespace: see run_benches.sh)
 *
 * Usage: bench_tcp [BULK_MB [CONNS [IDLE]]] | bench_tcp --linux-conns N */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <ustack/ustack.h>
#include <ustack/sim.h>
#include "tcp/tcp_int.h"

#define IP_A 0xC6120001u
#define IP_B 0xC6120002u

static double secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, long rc)
{
    fprintf(stderr, "bench_tcp: %s: %s\n", what, rc < 0 ? strerror((int)-rc) : "failed");
    exit(1);
}

/* Two stacks on a pipe link in one simulator. */
struct pair {
    struct us_pktpool *pool;
    struct us_dev *a, *b;
    struct us_stack *A, *B;
    struct us_sim *sim;
};

static struct us_stack *host(struct us_dev *d, us_ip4_t ip, us_time_t msl)
{
    struct us_config c;
    us_config_default(&c);
    c.ip = ip;
    c.prefix_len = 24;
    c.deterministic = true;
    c.seed = ip;
    if (msl)
        c.tcp_msl = msl;
    char err[128];
    struct us_stack *st = us_stack_new(&c, d, 0, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "bench_tcp: %s\n", err);
        exit(1);
    }
    return st;
}

static void pair_new(struct pair *p, us_time_t msl)
{
    p->pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 1 << 17);
    if (!p->pool || us_pipe_pair(p->pool, 1500, (uint8_t[6]){2, 0, 0, 0, 0, 1}, (uint8_t[6]){2, 0, 0, 0, 0, 2}, &p->a,
                                 &p->b) < 0)
        die("pipe", -ENOMEM);
    p->A = host(p->a, IP_A, msl);
    p->B = host(p->b, IP_B, msl);
    p->sim = us_sim_new(0);
    us_sim_add(p->sim, p->A);
    us_sim_add(p->sim, p->B);
    us_sim_run_until(p->sim, US_MS(10)); /* gratuitous ARP settles */
}

static void pair_free(struct pair *p)
{
    us_sim_free(p->sim);
    us_stack_free(p->A);
    us_stack_free(p->B);
    us_dev_destroy(p->a);
    us_dev_destroy(p->b);
    us_pktpool_free(p->pool);
}

static us_time_t now_of(struct pair *p) { return us_sim_now(p->sim); }

/* Advance: process what is due; when nothing is pending move the clock 1 ms. */
static void tick(struct pair *p)
{
    if (us_sim_step(p->sim) == -EDEADLK)
        us_sim_run_until(p->sim, now_of(p) + US_MS(1));
}

static int listen_on(struct us_stack *st, uint16_t port, int backlog, us_time_t now)
{
    int fd = us_socket(st, US_SOCK_STREAM);
    struct us_sockaddr a = {0, port};
    int rc = us_bind(st, fd, &a, now);
    if (rc == 0)
        rc = us_listen(st, fd, backlog, now);
    if (rc < 0)
        die("listen", rc);
    return fd;
}

/* Connects A to B:port and returns both descriptors once B accepted. */
static void connect_pair(struct pair *p, int lfd, uint16_t port, int *cfd, int *sfd)
{
    *cfd = us_socket(p->A, US_SOCK_STREAM);
    struct us_sockaddr dst = {IP_B, port};
    int rc = us_connect(p->A, *cfd, &dst, now_of(p));
    if (rc < 0 && rc != -EINPROGRESS)
        die("connect", rc);
    struct us_sockaddr peer;
    for (int i = 0; i < 10000; i++) {
        *sfd = us_accept(p->B, lfd, &peer, now_of(p));
        if (*sfd >= 0)
            return;
        tick(p);
    }
    die("accept (no connection after 10000 steps)", 0);
}

/* ---- (a) bulk goodput -------------------------------------------------- */
static void bench_bulk(uint64_t mb)
{
    struct pair p;
    pair_new(&p, 0);
    int lfd = listen_on(p.B, 5001, 8, now_of(&p));
    int cfd, sfd;
    connect_pair(&p, lfd, 5001, &cfd, &sfd);
    /* stream byte k is (k * 13 + 7) mod 256; the receiver checks one byte per read */
    static uint8_t buf[1 << 16], rbuf[1 << 16];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 13 + 7);
    uint64_t total = mb * 1000000, sent = 0, got = 0, bad = 0;
    us_time_t v0 = now_of(&p);
    double t0 = secs();
    uint64_t steps = 0;
    while (got < total && steps < 100000000) {
        uint64_t sent0 = sent, got0 = got;
        while (sent < total) {
            size_t off = (size_t)(sent % sizeof(buf)), n = sizeof(buf) - off;
            if (n > total - sent)
                n = (size_t)(total - sent);
            ssize_t w = us_send(p.A, cfd, buf + off, n, 0, now_of(&p));
            if (w <= 0)
                break;
            sent += (uint64_t)w;
        }
        ssize_t r;
        while ((r = us_recv(p.B, sfd, rbuf, sizeof(rbuf), 0, now_of(&p))) > 0) {
            size_t k = (size_t)(got * 7919 % (uint64_t)r); /* a varying byte of this read */
            bad += rbuf[k] != (uint8_t)((got + k) * 13 + 7);
            got += (uint64_t)r;
        }
        /* Like a real application, act on what arrived before time moves on:
         * while the applications make progress, only process what is due now. */
        if (sent != sent0 || got != got0)
            us_sim_run_until(p.sim, now_of(&p));
        else
            tick(&p);
        steps++;
    }
    double t = secs() - t0;
    struct us_tcp_info ti;
    us_tcp_info(p.A, cfd, &ti);
    printf("ustack bulk:   %8.1f Mbit/s  (%llu MB A->B over a pipe link, MTU 1500, one process/core, simulator "
           "at zero delay: %.3f s wall, %.3f s virtual, %llu steps, %llu retransmits, %llu bad bytes sampled)\n",
           (double)got * 8 / t / 1e6, (unsigned long long)(got / 1000000), t,
           (double)(now_of(&p) - v0) / 1e9, (unsigned long long)steps, (unsigned long long)ti.retransmits, (unsigned long long)bad);
    us_close(p.A, cfd, now_of(&p));
    us_close(p.B, sfd, now_of(&p));
    us_close(p.B, lfd, now_of(&p));
    us_sim_run_until(p.sim, now_of(&p) + US_SEC(120));
    pair_free(&p);
}

/* ---- (b) connection set-up and tear-down ------------------------------ */
static void bench_conns(long n)
{
    struct pair p;
    /* MSL 1 s (TIME_WAIT 2 s): the client closes first and each iteration
     * advances virtual time 1 ms, so at most ~2000 ports sit in TIME_WAIT. */
    pair_new(&p, US_SEC(1));
    int lfd = listen_on(p.B, 80, 128, now_of(&p));
    double t0 = secs();
    long done = 0;
    for (long i = 0; i < n; i++) {
        int cfd, sfd;
        connect_pair(&p, lfd, 80, &cfd, &sfd);
        us_close(p.A, cfd, now_of(&p));
        us_close(p.B, sfd, now_of(&p));
        us_sim_run_until(p.sim, now_of(&p) + US_MS(1));
        done++;
    }
    double t = secs() - t0;
    printf("ustack conns:  %8.0f connections/s  (%ld x socket+connect+accept+close both, FIN handshake "
           "included, two stacks in one process)\n", (double)done / t, done);
    us_close(p.B, lfd, now_of(&p));
    us_sim_run_until(p.sim, now_of(&p) + US_SEC(10));
    pair_free(&p);
}

/* ---- (c) control block size and memory per idle connection ------------- */
static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void bench_idle(long n)
{
    printf("sizeof(struct us_tcb) = %zu bytes, sizeof(struct tcp_ext) = %zu bytes (allocated only for listeners, "
           "out-of-order data or non-default options)\n", sizeof(struct us_tcb), sizeof(struct tcp_ext));
    struct pair p;
    pair_new(&p, 0);
    enum { NPORTS = 8 }; /* 8 listening ports x 16384 ephemeral ports > 100,000 4-tuples */
    int lfd[NPORTS];
    for (int i = 0; i < NPORTS; i++)
        lfd[i] = listen_on(p.B, (uint16_t)(5001 + i), 4096, now_of(&p));
    long rss0 = maxrss_kb();
    size_t heap0 = mallinfo2().uordblks;
    long made = 0, accepted = 0;
    struct us_sockaddr peer;
    double t0 = secs();
    while (made < n) {
        for (int k = 0; k < 512 && made < n; k++, made++) {
            int fd = us_socket(p.A, US_SOCK_STREAM);
            if (fd < 0)
                die("socket", fd);
            struct us_sockaddr dst = {IP_B, (uint16_t)(5001 + made % NPORTS)};
            int rc = us_connect(p.A, fd, &dst, now_of(&p));
            if (rc < 0 && rc != -EINPROGRESS)
                die("connect", rc);
        }
        for (int s = 0; s < 64; s++) {
            us_sim_run_until(p.sim, now_of(&p) + US_US(10));
            for (int i = 0; i < NPORTS; i++)
                while (us_accept(p.B, lfd[i], &peer, now_of(&p)) >= 0)
                    accepted++;
        }
    }
    /* let delayed ACKs and every other timer of the handshakes run out */
    us_sim_run_until(p.sim, now_of(&p) + US_SEC(1));
    for (int i = 0; i < NPORTS; i++)
        while (us_accept(p.B, lfd[i], &peer, now_of(&p)) >= 0)
            accepted++;
    double t = secs() - t0;
    size_t heap1 = mallinfo2().uordblks;
    long rss1 = maxrss_kb();
    long est = 0;
    for (long fd = 0; fd < made + 16; fd++) {
        struct us_tcp_info ti;
        if (us_tcp_info(p.A, (int)fd, &ti) == 0 && ti.state == US_TCP_ESTABLISHED)
            est++;
    }
    double per = accepted ? (double)(heap1 - heap0) / (double)accepted : 0;
    printf("ustack idle:   %ld connections established (%ld accepted) in %.2f s; heap +%.1f MB = %.0f bytes per "
           "connection (both ends, socket layer included) = %.0f bytes per endpoint; maxrss +%.1f MB\n",
           est, accepted, t, (double)(heap1 - heap0) / 1e6, per, per / 2, (double)(rss1 - rss0) / 1e3);
    pair_free(&p);
}

/* ---- Linux: set-up and tear-down over loopback ------------------------- */
static int linux_conns(long n)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0) {
        perror("bench_tcp: bind/listen");
        return 1;
    }
    socklen_t al = sizeof(a);
    getsockname(l, (struct sockaddr *)&a, &al);
    double t0 = secs();
    long done = 0;
    for (long i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
            fprintf(stderr, "bench_tcp: connect after %ld connections: %s\n", done, strerror(errno));
            if (c >= 0)
                close(c);
            break;
        }
        int s = accept(l, NULL, NULL);
        if (s < 0) {
            perror("bench_tcp: accept");
            close(c);
            break;
        }
        close(c);
        close(s);
        done++;
    }
    double t = secs() - t0;
    close(l);
    printf("linux conns:   %8.0f connections/s  (%ld x socket+connect+accept+close both over 127.0.0.1 in a "
           "namespace)\n", (double)done / t, done);
    return done == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "--linux-conns"))
        return linux_conns(atol(argv[2]));
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: bench_tcp [BULK_MB [CONNS [IDLE]]]   (defaults 1000 20000 100000)\n"
               "       bench_tcp --linux-conns N           kernel sockets over loopback\n");
        return 0;
    }
    uint64_t mb = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
    long conns = argc > 2 ? atol(argv[2]) : 20000;
    long idle = argc > 3 ? atol(argv[3]) : 100000;
    if (mb)
        bench_bulk(mb);
    if (conns > 0)
        bench_conns(conns);
    if (idle > 0)
        bench_idle(idle);
    return 0;
}
