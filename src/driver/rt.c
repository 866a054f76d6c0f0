/* The real-time driver: one stack on a device with a file descriptor (TAP).
 * Waits with epoll for a frame or the stack's next deadline, whichever is
 * first, then polls the stack with CLOCK_MONOTONIC. This is the only place that
 * reads a clock; the stack itself never does. Signals are the caller's: it
 * hands in a stop condition and the signal mask to wait with (us_rt_set_stop,
 * us_rt_set_wait_mask). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <ustack/driver.h>

struct us_rt {
    struct us_driver drv;
    struct us_stack *st;
    struct us_dev *dev;
    int epfd;
    int devfd;
    bool (*stop)(void *arg);
    void *stop_arg;
    bool has_mask;
    sigset_t wait_mask;
};

void us_rt_set_stop(struct us_rt *rt, bool (*stop)(void *arg), void *arg)
{
    rt->stop = stop;
    rt->stop_arg = arg;
}

void us_rt_set_wait_mask(struct us_rt *rt, const sigset_t *wait_mask)
{
    rt->has_mask = wait_mask != NULL;
    if (wait_mask)
        rt->wait_mask = *wait_mask;
}

static bool stopping(const struct us_rt *rt) { return rt->stop && rt->stop(rt->stop_arg); }

us_time_t us_rt_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (us_time_t)ts.tv_sec * 1000000000ull + (us_time_t)ts.tv_nsec;
}

us_time_t us_rt_wall_offset(void)
{
    struct timespec r;
    clock_gettime(CLOCK_REALTIME, &r);
    us_time_t real = (us_time_t)r.tv_sec * 1000000000ull + (us_time_t)r.tv_nsec;
    return real - us_rt_clock();
}

static us_time_t drv_now(struct us_driver *d)
{
    (void)d;
    return us_rt_clock();
}

/* A wait that ends with events or a timeout restores the caller's mask without
 * delivering the signals that were pending (pselect semantics: only an
 * interrupted wait delivers them), and a step that need not wait does not wait
 * at all; under steady traffic a stop signal would then stay pending. Briefly
 * installing the wait mask delivers what it unblocks. */
static void take_pending(const sigset_t *wait_mask)
{
    sigset_t pending, old;
    if (sigpending(&pending) < 0)
        return;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(&pending, sig) == 1 && sigismember(wait_mask, sig) == 0) {
            sigprocmask(SIG_SETMASK, wait_mask, &old);
            sigprocmask(SIG_SETMASK, &old, NULL);
            return;
        }
    }
}

/* Wait until a frame arrives, the stack's next deadline or `limit`. */
static int drv_step(struct us_driver *d, us_time_t limit)
{
    struct us_rt *rt = (struct us_rt *)(void *)d;
    if (stopping(rt))
        return -EINTR;
    us_time_t now = us_rt_clock();
    us_dev_flush(rt->dev, now); /* what the caller sent since the last step */
    us_time_t dl = us_stack_next_deadline(rt->st, now);
    if (limit < dl)
        dl = limit;
    if (dl > now) {
        us_time_t wait = dl - now;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ull), .tv_nsec = (long)(wait % 1000000000ull)};
        struct epoll_event ev;
        const sigset_t *mask = rt->has_mask ? &rt->wait_mask : NULL;
        int n;
        if (wait > US_SEC(3600))
            ts.tv_sec = 3600;
        if (rt->epfd >= 0) {
            n = epoll_pwait2(rt->epfd, &ev, 1, &ts, mask);
            if (n < 0 && errno == ENOSYS) {
                int ms = (int)((wait + 999999) / 1000000);
                n = epoll_pwait(rt->epfd, &ev, 1, ms, mask);
            }
        } else {
            n = ppoll(NULL, 0, &ts, mask);
        }
        if (n < 0 && errno != EINTR)
            return -errno;
    }
    if (rt->has_mask)
        take_pending(&rt->wait_mask);
    if (stopping(rt))
        return -EINTR;
    now = us_rt_clock();
    us_stack_poll(rt->st, now);
    us_dev_flush(rt->dev, now);
    return 0;
}

struct us_rt *us_rt_new(struct us_stack *st, char *err, size_t errlen)
{
    struct us_rt *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        snprintf(err, errlen, "us_rt_new: out of memory");
        return NULL;
    }
    rt->drv.now = drv_now;
    rt->drv.step = drv_step;
    rt->st = st;
    rt->dev = us_stack_dev(st);
    rt->devfd = us_dev_fd(rt->dev);
    rt->epfd = -1;
    if (rt->devfd >= 0) {
        rt->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (rt->epfd < 0) {
            snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
            free(rt);
            return NULL;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = rt->devfd};
        if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, rt->devfd, &ev) < 0) {
            snprintf(err, errlen, "epoll_ctl(ADD, fd %d): %s", rt->devfd, strerror(errno));
            close(rt->epfd);
            free(rt);
            return NULL;
        }
    }
    return rt;
}

void us_rt_free(struct us_rt *rt)
{
    if (!rt)
        return;
    if (rt->epfd >= 0)
        close(rt->epfd);
    free(rt);
}

struct us_driver *us_rt_driver(struct us_rt *rt) { return &rt->drv; }

int us_rt_run(struct us_rt *rt, us_time_t until)
{
    while (us_rt_clock() < until) {
        int rc = drv_step(&rt->drv, until);
        if (rc < 0)
            return rc;
    }
    return 0;
}
