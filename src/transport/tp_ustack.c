/* The transport interface over ustack sockets (include/ustack/ustack.h).
 *
 * Paths through this file:
 *   streams   us_tp_* → us_socket/us_bind/us_listen/us_accept/us_connect/
 *             us_send/us_recv/us_shutdown/us_close, with `now` passed through
 *   datagrams udp_open/sendto/recvfrom → us_socket(DGRAM)/us_bind/us_sendto/
 *             us_recvfrom; random → us_random_bytes (the stack's source)
 *   readiness poll → us_poll over the watched descriptors, starting where the
 *             last poll stopped so no descriptor starves when more are ready
 *             than fit
 *   time      wait → one step of the driver (real time or the simulator);
 *             now → the driver's clock */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/ustack.h>
#include <ustack/driver.h>
#include "tp_int.h"

struct tp_us {
    struct us_tp base;
    struct us_stack *st;
    struct us_driver *drv;
    struct us_tp_watchset ws;
    struct us_pollfd *pfd;
    uint32_t pfd_cap, rot;
};

static struct tp_us *U(struct us_tp *t) { return (struct tp_us *)(void *)t; }

/* A socket of `type` bound to a — a stream one listening too — and recorded
 * in the watch set; closed again on failure. */
static int bound_socket(struct us_tp *t, int type, const struct us_tp_addr *a, int backlog, us_time_t now)
{
    struct us_stack *st = U(t)->st;
    int fd = us_socket(st, type);
    if (fd < 0)
        return fd;
    int one = 1, rc = 0;
    struct us_sockaddr sa = {a->ip, a->port};
    if (type == US_SOCK_STREAM)
        rc = us_setsockopt(st, fd, US_SOL_SOCKET, US_SO_REUSEADDR, &one, sizeof(one), now);
    if (rc >= 0)
        rc = us_bind(st, fd, &sa, now);
    if (rc >= 0 && type == US_SOCK_STREAM)
        rc = us_listen(st, fd, backlog, now);
    if (rc >= 0)
        rc = us_tp_ws_open(&U(t)->ws, fd);
    if (rc < 0) {
        us_close(st, fd, now);
        return rc;
    }
    return fd;
}

static int us_listen_on(struct us_tp *t, const struct us_tp_addr *a, int backlog, us_time_t now)
{
    return bound_socket(t, US_SOCK_STREAM, a, backlog, now);
}

static int us_accept_one(struct us_tp *t, int lfd, struct us_tp_addr *peer, us_time_t now)
{
    struct us_sockaddr sa;
    int fd = us_accept(U(t)->st, lfd, &sa, now);
    if (fd < 0)
        return fd;
    if (us_tp_ws_open(&U(t)->ws, fd) < 0) {
        us_close(U(t)->st, fd, now);
        return -ENOMEM;
    }
    if (peer)
        *peer = (struct us_tp_addr){sa.addr, sa.port};
    return fd;
}

static int us_connect_to(struct us_tp *t, const struct us_tp_addr *a, us_time_t now)
{
    struct us_stack *st = U(t)->st;
    int fd = us_socket(st, US_SOCK_STREAM);
    if (fd < 0)
        return fd;
    struct us_sockaddr sa = {a->ip, a->port};
    int rc = us_connect(st, fd, &sa, now);
    if (rc == -EINPROGRESS || rc >= 0)
        rc = us_tp_ws_open(&U(t)->ws, fd);
    if (rc < 0) {
        us_close(st, fd, now);
        return rc;
    }
    return fd;
}

static int us_error_of(struct us_tp *t, int fd)
{
    int e = 0;
    size_t len = sizeof(e);
    int rc = us_getsockopt(U(t)->st, fd, US_SOL_SOCKET, US_SO_ERROR, &e, &len);
    if (rc < 0)
        return rc;
    if (e)
        return -e;
    struct us_tcp_info ti;
    if (us_tcp_info(U(t)->st, fd, &ti) < 0)
        return -EBADF;
    if (ti.state == US_TCP_SYN_SENT || ti.state == US_TCP_SYN_RECEIVED)
        return -EINPROGRESS;
    return ti.state == US_TCP_CLOSED ? -ENOTCONN : 0;
}

static ssize_t us_read_from(struct us_tp *t, int fd, void *buf, size_t len, us_time_t now)
{
    return us_recv(U(t)->st, fd, buf, len, 0, now);
}

static ssize_t us_write_to(struct us_tp *t, int fd, const struct iovec *iov, int iovcnt, us_time_t now)
{
    ssize_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (!iov[i].iov_len)
            continue;
        ssize_t n = us_send(U(t)->st, fd, iov[i].iov_base, iov[i].iov_len, 0, now);
        if (n < 0)
            return total ? total : n;
        total += n;
        if ((size_t)n < iov[i].iov_len)
            break;
    }
    return total;
}

static int us_shut(struct us_tp *t, int fd, us_time_t now) { return us_shutdown(U(t)->st, fd, US_SHUT_WR, now); }

static int us_close_fd(struct us_tp *t, int fd, us_time_t now)
{
    us_tp_ws_close(&U(t)->ws, fd);
    return us_close(U(t)->st, fd, now);
}

static int us_opt(struct us_tp *t, int fd, int opt, int val, us_time_t now)
{
    int level = US_IPPROTO_TCP, name;
    switch (opt) {
    case US_TP_NODELAY: name = US_TCP_NODELAY; break;
    case US_TP_CORK: name = US_TCP_CORK; break;
    case US_TP_SNDBUF: level = US_SOL_SOCKET; name = US_SO_SNDBUF; break;
    case US_TP_RCVBUF: level = US_SOL_SOCKET; name = US_SO_RCVBUF; break;
    default: return -ENOPROTOOPT;
    }
    return us_setsockopt(U(t)->st, fd, level, name, &val, sizeof(val), now);
}

static int us_addr_of(struct us_tp *t, int fd, struct us_tp_addr *a, bool peer)
{
    struct us_sockaddr sa;
    int rc = peer ? us_getpeername(U(t)->st, fd, &sa) : us_getsockname(U(t)->st, fd, &sa);
    if (rc >= 0)
        *a = (struct us_tp_addr){sa.addr, sa.port};
    return rc;
}

static int us_udp_on(struct us_tp *t, const struct us_tp_addr *a, us_time_t now)
{
    return bound_socket(t, US_SOCK_DGRAM, a, 0, now);
}

static ssize_t us_send_dgram(struct us_tp *t, int fd, const void *buf, size_t len, const struct us_tp_addr *to,
                             us_time_t now)
{
    struct us_sockaddr sa = {to->ip, to->port};
    return us_sendto(U(t)->st, fd, buf, len, 0, &sa, now);
}

static ssize_t us_recv_dgram(struct us_tp *t, int fd, void *buf, size_t len, struct us_tp_addr *from, us_time_t now)
{
    struct us_sockaddr sa;
    ssize_t n = us_recvfrom(U(t)->st, fd, buf, len, 0, &sa, now);
    if (n >= 0 && from)
        *from = (struct us_tp_addr){sa.addr, sa.port};
    return n;
}

static int us_rand(struct us_tp *t, void *buf, size_t len)
{
    us_random_bytes(U(t)->st, buf, len);
    return 0;
}

static int us_watch_fd(struct us_tp *t, int fd, unsigned events, void *ctx)
{
    int rc = us_tp_ws_set(&U(t)->ws, fd, events, ctx);
    return rc == -ENOMEM || rc == -EBADF ? rc : 0;
}

static unsigned from_poll(short re)
{
    return (re & US_POLLIN ? US_TP_READ : 0u) | (re & US_POLLOUT ? US_TP_WRITE : 0u) |
           (re & US_POLLERR ? US_TP_ERR : 0u) | (re & US_POLLHUP ? US_TP_HUP : 0u);
}

static int us_poll_ready(struct us_tp *t, struct us_tp_event *ev, int max, us_time_t now)
{
    struct tp_us *u = U(t);
    uint32_t n = u->ws.n;
    if (!n)
        return 0;
    if (n > u->pfd_cap) {
        struct us_pollfd *p = realloc(u->pfd, n * sizeof(*p));
        if (!p)
            return -ENOMEM;
        u->pfd = p;
        u->pfd_cap = n;
    }
    uint32_t start = u->rot % n;
    for (uint32_t k = 0; k < n; k++) {
        const struct us_tp_watch *w = &u->ws.w[(start + k) % n];
        u->pfd[k] = (struct us_pollfd){w->fd, (short)((w->events & US_TP_READ ? US_POLLIN : 0) |
                                                      (w->events & US_TP_WRITE ? US_POLLOUT : 0)), 0};
    }
    if (us_poll(u->st, u->pfd, (int)n, now) <= 0)
        return 0;
    int got = 0;
    uint32_t k;
    for (k = 0; k < n && got < max; k++) {
        if (!u->pfd[k].revents)
            continue;
        const struct us_tp_watch *w = us_tp_ws_get(&u->ws, u->pfd[k].fd);
        ev[got++] = (struct us_tp_event){u->pfd[k].fd, from_poll(u->pfd[k].revents), w->ctx};
    }
    u->rot = start + k; /* the next poll starts after the last one served */
    return got;
}

static int us_wait_step(struct us_tp *t, us_time_t deadline)
{
    struct us_driver *d = U(t)->drv;
    return d->step(d, deadline);
}

static us_time_t us_clock(struct us_tp *t)
{
    struct us_driver *d = U(t)->drv;
    return d->now(d);
}

static void close_left(void *arg, int fd)
{
    struct tp_us *u = arg;
    us_close(u->st, fd, u->drv->now(u->drv));
}

static void us_tp_free_ustack(struct us_tp *t)
{
    struct tp_us *u = U(t);
    us_tp_ws_free_each(&u->ws, close_left, u);
    free(u->pfd);
    free(u);
}

static const struct us_tp_ops ustack_ops = {
    .name = "ustack",
    .free = us_tp_free_ustack,
    .listen = us_listen_on,
    .accept = us_accept_one,
    .connect = us_connect_to,
    .error = us_error_of,
    .read = us_read_from,
    .writev = us_write_to,
    .shutdown = us_shut,
    .close = us_close_fd,
    .setopt = us_opt,
    .addr = us_addr_of,
    .udp_open = us_udp_on,
    .sendto = us_send_dgram,
    .recvfrom = us_recv_dgram,
    .random = us_rand,
    .watch = us_watch_fd,
    .poll = us_poll_ready,
    .wait = us_wait_step,
    .now = us_clock,
};

struct us_tp *us_tp_ustack_new(struct us_stack *st, struct us_driver *drv, char *err, size_t errlen)
{
    if (!st || !drv) {
        snprintf(err, errlen, "us_tp_ustack_new: %s", !st ? "no stack" : "no driver");
        return NULL;
    }
    struct tp_us *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "us_tp_ustack_new: out of memory");
        return NULL;
    }
    u->base.ops = &ustack_ops;
    u->st = st;
    u->drv = drv;
    return &u->base;
}
