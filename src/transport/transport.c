/* The transport interface: dispatch to a backend, the watch set both
 * backends keep, and the driver loop (us_tp_run).
 *
 * Paths through this file:
 *   us_tp_* → t->ops->* (ustack.c or kernel.c)
 *   us_tp_run → loop: now → step(arg, now) → wait(min(deadline, until)) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tp_int.h"

void us_tp_free(struct us_tp *t)
{
    if (t)
        t->ops->free(t);
}

const char *us_tp_name(const struct us_tp *t) { return t->ops->name; }

int us_tp_listen(struct us_tp *t, const struct us_tp_addr *a, int backlog, us_time_t now)
{
    return t->ops->listen(t, a, backlog, now);
}

int us_tp_accept(struct us_tp *t, int lfd, struct us_tp_addr *peer, us_time_t now)
{
    return t->ops->accept(t, lfd, peer, now);
}

int us_tp_connect(struct us_tp *t, const struct us_tp_addr *a, us_time_t now)
{
    return t->ops->connect(t, a, now);
}

int us_tp_error(struct us_tp *t, int fd) { return t->ops->error(t, fd); }

ssize_t us_tp_read(struct us_tp *t, int fd, void *buf, size_t len, us_time_t now)
{
    return t->ops->read(t, fd, buf, len, now);
}

ssize_t us_tp_write(struct us_tp *t, int fd, const void *buf, size_t len, us_time_t now)
{
    struct iovec iov = {(void *)(uintptr_t)buf, len};
    return t->ops->writev(t, fd, &iov, 1, now);
}

ssize_t us_tp_writev(struct us_tp *t, int fd, const struct iovec *iov, int iovcnt, us_time_t now)
{
    return t->ops->writev(t, fd, iov, iovcnt, now);
}

int us_tp_shutdown(struct us_tp *t, int fd, us_time_t now) { return t->ops->shutdown(t, fd, now); }
int us_tp_close(struct us_tp *t, int fd, us_time_t now) { return t->ops->close(t, fd, now); }

int us_tp_setopt(struct us_tp *t, int fd, int opt, int val, us_time_t now)
{
    return t->ops->setopt(t, fd, opt, val, now);
}

int us_tp_local_addr(struct us_tp *t, int fd, struct us_tp_addr *a) { return t->ops->addr(t, fd, a, false); }
int us_tp_peer_addr(struct us_tp *t, int fd, struct us_tp_addr *a) { return t->ops->addr(t, fd, a, true); }

int us_tp_udp_open(struct us_tp *t, const struct us_tp_addr *a, us_time_t now) { return t->ops->udp_open(t, a, now); }

ssize_t us_tp_sendto(struct us_tp *t, int fd, const void *buf, size_t len, const struct us_tp_addr *to, us_time_t now)
{
    return t->ops->sendto(t, fd, buf, len, to, now);
}

ssize_t us_tp_recvfrom(struct us_tp *t, int fd, void *buf, size_t len, struct us_tp_addr *from, us_time_t now)
{
    return t->ops->recvfrom(t, fd, buf, len, from, now);
}

int us_tp_random(struct us_tp *t, void *buf, size_t len) { return t->ops->random(t, buf, len); }

int us_tp_watch(struct us_tp *t, int fd, unsigned events, void *ctx)
{
    return t->ops->watch(t, fd, events & (US_TP_READ | US_TP_WRITE), ctx);
}

int us_tp_poll(struct us_tp *t, struct us_tp_event *ev, int max, us_time_t now)
{
    return max > 0 ? t->ops->poll(t, ev, max, now) : 0;
}

int us_tp_wait(struct us_tp *t, us_time_t deadline) { return t->ops->wait(t, deadline); }
us_time_t us_tp_now(struct us_tp *t) { return t->ops->now(t); }

int us_tp_run(struct us_tp *t, us_time_t (*step)(void *arg, us_time_t now), void *arg,
              const volatile bool *stop, us_time_t until)
{
    for (;;) {
        us_time_t now = t->ops->now(t);
        us_time_t d = step(arg, now);
        if ((stop && *stop) || now >= until)
            return 0;
        int rc = t->ops->wait(t, d < until ? d : until);
        if (rc < 0)
            return rc;
    }
}

/* ---- watch set ----------------------------------------------------------- */

static int ws_grow(struct us_tp_watchset *ws, int fd)
{
    if ((uint32_t)fd < ws->nslot)
        return 0;
    uint32_t n = ws->nslot ? ws->nslot : 64;
    while (n <= (uint32_t)fd)
        n *= 2;
    int32_t *s = realloc(ws->slot, n * sizeof(*s));
    if (!s)
        return -ENOMEM;
    ws->slot = s;
    uint8_t *o = realloc(ws->open, n);
    if (!o)
        return -ENOMEM;
    ws->open = o;
    for (uint32_t i = ws->nslot; i < n; i++) {
        s[i] = -1;
        o[i] = 0;
    }
    ws->nslot = n;
    return 0;
}

int us_tp_ws_open(struct us_tp_watchset *ws, int fd)
{
    if (fd < 0)
        return -EBADF;
    if (ws_grow(ws, fd) < 0)
        return -ENOMEM;
    ws->open[fd] = 1;
    return 0;
}

void us_tp_ws_close(struct us_tp_watchset *ws, int fd)
{
    us_tp_ws_set(ws, fd, 0, NULL);
    if (fd >= 0 && (uint32_t)fd < ws->nslot)
        ws->open[fd] = 0;
}

int us_tp_ws_set(struct us_tp_watchset *ws, int fd, unsigned events, void *ctx)
{
    if (fd < 0)
        return -EBADF;
    if ((uint32_t)fd >= ws->nslot && !events)
        return -1;
    if (ws_grow(ws, fd) < 0)
        return -ENOMEM;
    int32_t i = ws->slot[fd];
    if (!events) {
        if (i >= 0) { /* the last entry takes the freed place */
            ws->w[i] = ws->w[--ws->n];
            ws->slot[ws->w[i].fd] = i;
            ws->slot[fd] = -1;
        }
        return -1;
    }
    if (i < 0) {
        if (ws->n == ws->cap) {
            uint32_t c = ws->cap ? ws->cap * 2 : 64;
            struct us_tp_watch *w = realloc(ws->w, c * sizeof(*w));
            if (!w)
                return -ENOMEM;
            ws->w = w;
            ws->cap = c;
        }
        i = (int32_t)ws->n++;
        ws->slot[fd] = i;
    }
    ws->w[i] = (struct us_tp_watch){fd, events, ctx};
    return i;
}

struct us_tp_watch *us_tp_ws_get(struct us_tp_watchset *ws, int fd)
{
    if (fd < 0 || (uint32_t)fd >= ws->nslot || ws->slot[fd] < 0)
        return NULL;
    return &ws->w[ws->slot[fd]];
}

void us_tp_ws_free_each(struct us_tp_watchset *ws, void (*fn)(void *arg, int fd), void *arg)
{
    for (uint32_t fd = 0; fd < ws->nslot; fd++)
        if (ws->open[fd])
            fn(arg, (int)fd);
    free(ws->w);
    free(ws->slot);
    free(ws->open);
    memset(ws, 0, sizeof(*ws));
}
