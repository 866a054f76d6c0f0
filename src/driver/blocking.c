/* Blocking wrappers: retry a non-blocking call, stepping the driver between
 * tries, until it completes, fails, or the timeout (in driver time) passes.
 * US_MSG_DONTWAIT makes send/recv try once and return what the call returned. */
#include <errno.h>
#include <ustack/driver.h>

static us_time_t deadline_of(struct us_driver *d, us_time_t timeout)
{
    us_time_t now = d->now(d);
    return timeout == US_TIME_NEVER || now > US_TIME_NEVER - timeout ? US_TIME_NEVER : now + timeout;
}

static bool would_block(long rc) { return rc == -EAGAIN || rc == -EINPROGRESS || rc == -EALREADY; }

/* Step once; map "time is up" to -ETIMEDOUT. */
static int wait_step(struct us_driver *d, us_time_t deadline)
{
    if (d->now(d) >= deadline)
        return -ETIMEDOUT;
    return d->step(d, deadline);
}

int us_blk_connect(struct us_driver *d, struct us_stack *st, int fd, const struct us_sockaddr *a, us_time_t timeout)
{
    us_time_t dl = deadline_of(d, timeout);
    int rc = us_connect(st, fd, a, d->now(d));
    if (!would_block(rc))
        return rc;
    for (;;) {
        struct us_pollfd p = {.fd = fd, .events = US_POLLOUT};
        if (us_poll(st, &p, 1, d->now(d)) > 0) {
            int err = 0;
            size_t len = sizeof(err);
            int g = us_getsockopt(st, fd, US_SOL_SOCKET, US_SO_ERROR, &err, &len);
            if (g < 0)
                return g;
            if (err)
                return -err;
            if (p.revents & US_POLLOUT)
                return 0;
        }
        if ((rc = wait_step(d, dl)) < 0)
            return rc;
    }
}

int us_blk_accept(struct us_driver *d, struct us_stack *st, int fd, struct us_sockaddr *peer, us_time_t timeout)
{
    us_time_t dl = deadline_of(d, timeout);
    for (;;) {
        int rc = us_accept(st, fd, peer, d->now(d));
        if (!would_block(rc))
            return rc;
        if ((rc = wait_step(d, dl)) < 0)
            return rc;
    }
}

ssize_t us_blk_send(struct us_driver *d, struct us_stack *st, int fd, const void *buf, size_t len, int flags,
                    us_time_t timeout)
{
    if (flags & US_MSG_DONTWAIT)
        return us_send(st, fd, buf, len, flags, d->now(d));
    us_time_t dl = deadline_of(d, timeout);
    size_t done = 0;
    while (done < len) {
        ssize_t n = us_send(st, fd, (const uint8_t *)buf + done, len - done, flags, d->now(d));
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (!would_block(n))
            return n;
        int rc = wait_step(d, dl);
        if (rc < 0)
            return rc;
    }
    return (ssize_t)done;
}

ssize_t us_blk_recv(struct us_driver *d, struct us_stack *st, int fd, void *buf, size_t len, int flags,
                    us_time_t timeout)
{
    return us_blk_recvfrom(d, st, fd, buf, len, flags, NULL, timeout);
}

ssize_t us_blk_recvfrom(struct us_driver *d, struct us_stack *st, int fd, void *buf, size_t len, int flags,
                        struct us_sockaddr *from, us_time_t timeout)
{
    us_time_t dl = deadline_of(d, timeout);
    for (;;) {
        ssize_t n = us_recvfrom(st, fd, buf, len, flags, from, d->now(d));
        if (!would_block(n) || (flags & US_MSG_DONTWAIT))
            return n;
        int rc = wait_step(d, dl);
        if (rc < 0)
            return rc;
    }
}

int us_blk_close(struct us_driver *d, struct us_stack *st, int fd, us_time_t timeout)
{
    us_time_t dl = deadline_of(d, timeout);
    int rc = us_shutdown(st, fd, US_SHUT_WR, d->now(d));
    if (rc == 0) {
        /* wait for the peer's FIN: recv returns 0 */
        uint8_t sink[4096];
        for (;;) {
            ssize_t n = us_recv(st, fd, sink, sizeof(sink), 0, d->now(d));
            if (n == 0 || (n < 0 && !would_block(n)))
                break;
            if (n > 0)
                continue;
            if ((rc = wait_step(d, dl)) < 0)
                break;
        }
    }
    int c = us_close(st, fd, d->now(d));
    return rc < 0 && rc != -ENOTCONN ? rc : c;
}
