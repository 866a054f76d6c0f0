/* Pattern transfer between two stacks in virtual time (see xfer.h). */
#include <errno.h>
#include <string.h>
#include "xfer.h"

/* The pattern repeats with a prime period, so data displaced by whole
 * segments or by powers of two does not match by accident; the table holds
 * one period plus a chunk, so every send and every check is one contiguous
 * slice of it. */
#define PERIOD 65521u
#define CHUNK 65536u

static uint8_t table[PERIOD + CHUNK];
static bool table_ready;
static uint8_t rbuf[CHUNK];

static void table_init(void)
{
    if (table_ready)
        return;
    for (uint32_t k = 0; k < PERIOD + CHUNK; k++) {
        uint64_t z = (uint64_t)(k % PERIOD + 1) * 0x9E3779B97F4A7C15ull; /* splitmix64 finaliser */
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        table[k] = (uint8_t)(z ^ (z >> 31));
    }
    table_ready = true;
}

/* Where offset i of stream `seed` sits in the table. */
static uint32_t table_pos(uint64_t seed, uint64_t i)
{
    return (uint32_t)((i % PERIOD + seed * 0x9E3779B97F4A7C15ull % PERIOD) % PERIOD);
}

uint8_t xfer_pattern(uint64_t seed, uint64_t i)
{
    table_init();
    return table[table_pos(seed, i)];
}

static bool soft_error(long rc) { return rc == -EAGAIN || rc == -ENOTCONN || rc == -EINPROGRESS || rc == -EALREADY; }

static void fail(struct xfer *x, long rc)
{
    if (!x->err)
        x->err = (int)rc;
}

int xfer_connect(struct xfer *x, us_ip4_t dst, uint16_t port)
{
    us_time_t now = us_sim_now(x->sim);
    x->dfd = -1;
    x->lfd = us_socket(x->ds, US_SOCK_STREAM);
    x->sfd = us_socket(x->ss, US_SOCK_STREAM);
    if (x->lfd < 0 || x->sfd < 0) {
        fail(x, x->lfd < 0 ? x->lfd : x->sfd);
        return x->err;
    }
    struct us_sockaddr any = {0, port}, to = {dst, port};
    int rc = us_bind(x->ds, x->lfd, &any, now);
    if (rc == 0)
        rc = us_listen(x->ds, x->lfd, 16, now);
    if (rc == 0) {
        rc = us_connect(x->ss, x->sfd, &to, now);
        if (rc == -EINPROGRESS)
            rc = 0;
    }
    if (rc < 0)
        fail(x, rc);
    return rc;
}

uint64_t xfer_send(struct xfer *x, us_time_t now)
{
    table_init();
    uint64_t done = 0;
    while (x->sent < x->total) {
        uint64_t left = x->total - x->sent;
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        ssize_t w = us_send(x->ss, x->sfd, table + table_pos(x->seed, x->sent), n, 0, now);
        if (w <= 0) {
            if (!soft_error(w))
                fail(x, w);
            break;
        }
        x->sent += (uint64_t)w;
        done += (uint64_t)w;
    }
    return done;
}

uint64_t xfer_recv(struct xfer *x, uint64_t max, us_time_t now)
{
    table_init();
    size_t chunk = x->read_chunk && x->read_chunk < CHUNK ? x->read_chunk : CHUNK;
    uint64_t done = 0;
    while (done < max) {
        size_t want = max - done < chunk ? (size_t)(max - done) : chunk;
        ssize_t r = us_recv(x->ds, x->dfd, rbuf, want, 0, now);
        if (r == 0) {
            if (!x->eof)
                x->t_eof = now;
            x->eof = true;
            break;
        }
        if (r < 0) {
            if (!soft_error(r))
                fail(x, r);
            break;
        }
        if (memcmp(rbuf, table + table_pos(x->seed, x->got), (size_t)r) != 0)
            x->bad = true;
        x->got += (uint64_t)r;
        done += (uint64_t)r;
    }
    return done;
}

bool xfer_step(void *arg)
{
    struct xfer *x = arg;
    us_time_t now = us_sim_now(x->sim);
    if (x->dfd < 0 && x->lfd >= 0 && !x->err) {
        int fd = us_accept(x->ds, x->lfd, NULL, now);
        if (fd >= 0) {
            x->dfd = fd;
            x->t_accepted = now;
        } else if (!soft_error(fd))
            fail(x, fd);
    }
    if (!x->err)
        xfer_send(x, now);
    if (!x->err && x->close_after && !x->closed && x->sent == x->total) {
        int rc = us_shutdown(x->ss, x->sfd, US_SHUT_WR, now);
        if (rc == 0)
            x->closed = true;
        else if (!soft_error(rc))
            fail(x, rc);
    }
    if (!x->err && x->dfd >= 0)
        xfer_recv(x, UINT64_MAX, now);
    if (x->err || x->eof)
        return false;
    return x->close_after || x->got < x->total;
}

int xfer_run(struct xfer *x, us_time_t limit)
{
    int rc = us_sim_run_while(x->sim, xfer_step, x, limit);
    return x->err ? x->err : x->bad ? -EBADMSG : rc;
}
