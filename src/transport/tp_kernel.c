/* The transport interface over the kernel's sockets: non-blocking BSD
 * sockets, readiness from epoll (level-triggered), time from CLOCK_MONOTONIC.
 * This file and the driver loop are the only places that read a clock or
 * block; the application above them does neither.
 *
 * Paths through this file:
 *   streams   us_tp_* → socket/bind/listen/accept4/connect/recv/sendmsg
 *             (MSG_NOSIGNAL: a reset peer is an -EPIPE, not a signal)/
 *             shutdown/close, errno returned negated
 *   datagrams udp_open/sendto/recvfrom → socket(SOCK_DGRAM)/bind/sendto/
 *             recvfrom (the excess of a datagram is dropped, as
 *             ustack does); random → getrandom
 *   readiness watch → epoll_ctl ADD/MOD/DEL; poll → the events the last wait
 *             collected, else epoll_wait(0); wait → epoll_wait until an event
 *             or the deadline (never returns early: a timeout rounded down
 *             waits again) */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <ustack/driver.h>
#include "tp_int.h"

#define STASH 256

struct tp_k {
    struct us_tp base;
    int ep;
    struct us_tp_watchset ws;
    struct epoll_event stash[STASH]; /* collected by wait, handed out by poll */
    int nstash;
    bool has_mask;
    sigset_t mask;
};

static struct tp_k *K(struct us_tp *t) { return (struct tp_k *)(void *)t; }

static int neg_errno(void) { return errno == EWOULDBLOCK ? -EAGAIN : -errno; }

static struct sockaddr_in to_sin(const struct us_tp_addr *a)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(a->ip);
    sin.sin_port = htons(a->port);
    return sin;
}

static struct us_tp_addr from_sin(const struct sockaddr_in *sin)
{
    return (struct us_tp_addr){ntohl(sin->sin_addr.s_addr), ntohs(sin->sin_port)};
}

/* A descriptor this transport owns from now on, or closed on failure. */
static int adopt(struct us_tp *t, int fd)
{
    if (us_tp_ws_open(&K(t)->ws, fd) < 0) {
        close(fd);
        return -ENOMEM;
    }
    return fd;
}

static int k_listen(struct us_tp *t, const struct us_tp_addr *a, int backlog, us_time_t now)
{
    (void)now;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return neg_errno();
    int one = 1;
    struct sockaddr_in sin = to_sin(a);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, backlog) < 0) {
        int e = neg_errno();
        close(fd);
        return e;
    }
    return adopt(t, fd);
}

static int k_accept(struct us_tp *t, int lfd, struct us_tp_addr *peer, us_time_t now)
{
    (void)now;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = accept4(lfd, (struct sockaddr *)&sin, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return neg_errno();
    if (peer)
        *peer = from_sin(&sin);
    return adopt(t, fd);
}

static int k_connect(struct us_tp *t, const struct us_tp_addr *a, us_time_t now)
{
    (void)now;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return neg_errno();
    struct sockaddr_in sin = to_sin(a);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno != EINPROGRESS) {
        int e = neg_errno();
        close(fd);
        return e;
    }
    return adopt(t, fd);
}

static int k_error(struct us_tp *t, int fd)
{
    (void)t;
    int e = 0;
    socklen_t len = sizeof(e);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        return neg_errno();
    if (e)
        return -e;
    struct sockaddr_in sin;
    len = sizeof(sin);
    if (getpeername(fd, (struct sockaddr *)&sin, &len) == 0)
        return 0;
    return errno == ENOTCONN ? -EINPROGRESS : neg_errno();
}

static ssize_t k_read(struct us_tp *t, int fd, void *buf, size_t len, us_time_t now)
{
    (void)t, (void)now;
    ssize_t n = recv(fd, buf, len, 0);
    return n < 0 ? neg_errno() : n;
}

static ssize_t k_writev(struct us_tp *t, int fd, const struct iovec *iov, int iovcnt, us_time_t now)
{
    (void)t, (void)now;
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = (struct iovec *)(uintptr_t)iov;
    mh.msg_iovlen = (size_t)iovcnt;
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    return n < 0 ? neg_errno() : n;
}

static int k_shutdown(struct us_tp *t, int fd, us_time_t now)
{
    (void)t, (void)now;
    return shutdown(fd, SHUT_WR) < 0 ? neg_errno() : 0;
}

/* Closing drops the descriptor from epoll; events already collected for it
 * must go too, or a new descriptor with the same number would get them. */
static int k_close(struct us_tp *t, int fd, us_time_t now)
{
    (void)now;
    struct tp_k *k = K(t);
    us_tp_ws_close(&k->ws, fd);
    int j = 0;
    for (int i = 0; i < k->nstash; i++)
        if (k->stash[i].data.fd != fd)
            k->stash[j++] = k->stash[i];
    k->nstash = j;
    return close(fd) < 0 ? neg_errno() : 0;
}

static int k_setopt(struct us_tp *t, int fd, int opt, int val, us_time_t now)
{
    (void)t, (void)now;
    int level = IPPROTO_TCP, name;
    switch (opt) {
    case US_TP_NODELAY: name = TCP_NODELAY; break;
    case US_TP_CORK: name = TCP_CORK; break;
    case US_TP_SNDBUF: level = SOL_SOCKET; name = SO_SNDBUF; break;
    case US_TP_RCVBUF: level = SOL_SOCKET; name = SO_RCVBUF; break;
    default: return -ENOPROTOOPT;
    }
    return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? neg_errno() : 0;
}

static int k_addr(struct us_tp *t, int fd, struct us_tp_addr *a, bool peer)
{
    (void)t;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&sin, &len) : getsockname(fd, (struct sockaddr *)&sin, &len);
    if (rc < 0)
        return neg_errno();
    *a = from_sin(&sin);
    return 0;
}

static int k_udp_open(struct us_tp *t, const struct us_tp_addr *a, us_time_t now)
{
    (void)now;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return neg_errno();
    struct sockaddr_in sin = to_sin(a);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        int e = neg_errno();
        close(fd);
        return e;
    }
    return adopt(t, fd);
}

static ssize_t k_sendto(struct us_tp *t, int fd, const void *buf, size_t len, const struct us_tp_addr *to, us_time_t now)
{
    (void)t, (void)now;
    struct sockaddr_in sin = to_sin(to);
    ssize_t n = sendto(fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&sin, sizeof(sin));
    return n < 0 ? neg_errno() : n;
}

static ssize_t k_recvfrom(struct us_tp *t, int fd, void *buf, size_t len, struct us_tp_addr *from, us_time_t now)
{
    (void)t, (void)now;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    ssize_t n = recvfrom(fd, buf, len, 0, (struct sockaddr *)&sin, &slen);
    if (n < 0)
        return neg_errno();
    if (from)
        *from = from_sin(&sin);
    return n;
}

static int k_random(struct us_tp *t, void *buf, size_t len)
{
    (void)t;
    for (size_t got = 0; got < len;) {
        ssize_t n = getrandom((uint8_t *)buf + got, len - got, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0)
            got += (size_t)n;
    }
    return 0;
}

static int k_watch(struct us_tp *t, int fd, unsigned events, void *ctx)
{
    struct tp_k *k = K(t);
    bool was = us_tp_ws_get(&k->ws, fd) != NULL;
    int rc = us_tp_ws_set(&k->ws, fd, events, ctx);
    if (rc == -ENOMEM || rc == -EBADF)
        return rc;
    struct epoll_event ev = {.events = (events & US_TP_READ ? EPOLLIN | EPOLLRDHUP : 0u) |
                                       (events & US_TP_WRITE ? EPOLLOUT : 0u),
                             .data.fd = fd};
    /* no interest means not registered: EPOLLERR/EPOLLHUP would still come */
    int op = !events ? EPOLL_CTL_DEL : was ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (!events && !was)
        return 0;
    if (epoll_ctl(k->ep, op, fd, &ev) < 0) {
        int e = neg_errno();
        us_tp_ws_set(&k->ws, fd, 0, NULL);
        return e;
    }
    return 0;
}

static int k_poll(struct us_tp *t, struct us_tp_event *out, int max, us_time_t now)
{
    (void)now;
    struct tp_k *k = K(t);
    if (k->nstash == 0) {
        /* no more than fit in ev: this call hands out all it collects */
        int n = epoll_wait(k->ep, k->stash, max < STASH ? max : STASH, 0);
        if (n < 0)
            return errno == EINTR ? 0 : neg_errno();
        k->nstash = n;
    }
    int n = k->nstash, got = 0, used = 0;
    for (; used < n && got < max; used++) {
        const struct us_tp_watch *w = us_tp_ws_get(&k->ws, k->stash[used].data.fd);
        uint32_t e = k->stash[used].events;
        unsigned ev = (e & (EPOLLIN | EPOLLRDHUP) ? US_TP_READ : 0u) | (e & EPOLLOUT ? US_TP_WRITE : 0u) |
                      (e & EPOLLERR ? US_TP_ERR : 0u) | (e & EPOLLHUP ? US_TP_HUP : 0u);
        if (!w || !(ev &= w->events | US_TP_ERR | US_TP_HUP))
            continue; /* interest changed since the wait */
        out[got++] = (struct us_tp_event){w->fd, ev, w->ctx};
    }
    memmove(k->stash, k->stash + used, (size_t)(n - used) * sizeof(k->stash[0]));
    k->nstash = n - used;
    return got;
}

static int k_wait(struct us_tp *t, us_time_t deadline)
{
    struct tp_k *k = K(t);
    if (k->nstash)
        return 0;
    if (deadline == US_TIME_NEVER && k->ws.n == 0)
        return -EDEADLK; /* nothing could ever wake us */
    for (;;) {
        int ms = -1;
        if (deadline != US_TIME_NEVER) {
            us_time_t now = us_rt_clock();
            if (now >= deadline)
                return 0;
            us_time_t left = (deadline - now + US_MS(1) - 1) / US_MS(1); /* round up */
            ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        int n = epoll_pwait(k->ep, k->stash, STASH, ms, k->has_mask ? &k->mask : NULL);
        if (n > 0) {
            k->nstash = n;
            return 0;
        }
        if (n < 0)
            return neg_errno(); /* -EINTR: a signal, the caller looks at its flags */
    }
}

static us_time_t k_now(struct us_tp *t)
{
    (void)t;
    return us_rt_clock();
}

static void close_left(void *arg, int fd)
{
    (void)arg;
    close(fd);
}

static void k_free(struct us_tp *t)
{
    struct tp_k *k = K(t);
    us_tp_ws_free_each(&k->ws, close_left, NULL);
    close(k->ep);
    free(k);
}

static const struct us_tp_ops kernel_ops = {
    .name = "kernel",
    .free = k_free,
    .listen = k_listen,
    .accept = k_accept,
    .connect = k_connect,
    .error = k_error,
    .read = k_read,
    .writev = k_writev,
    .shutdown = k_shutdown,
    .close = k_close,
    .setopt = k_setopt,
    .addr = k_addr,
    .udp_open = k_udp_open,
    .sendto = k_sendto,
    .recvfrom = k_recvfrom,
    .random = k_random,
    .watch = k_watch,
    .poll = k_poll,
    .wait = k_wait,
    .now = k_now,
};

void us_tp_kernel_set_wait_mask(struct us_tp *t, const sigset_t *wait_mask)
{
    if (t->ops != &kernel_ops)
        return;
    struct tp_k *k = K(t);
    k->has_mask = wait_mask != NULL;
    if (wait_mask)
        k->mask = *wait_mask;
}

struct us_tp *us_tp_kernel_new(char *err, size_t errlen)
{
    struct tp_k *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "us_tp_kernel_new: out of memory");
        return NULL;
    }
    k->ep = epoll_create1(EPOLL_CLOEXEC);
    if (k->ep < 0) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        free(k);
        return NULL;
    }
    k->base.ops = &kernel_ops;
    return &k->base;
}
