/* The real-time driver: one stack on a device with a file descriptor (TAP).
 * Waits with epoll for a frame or the stack's next deadline, whichever is
 * first, then polls the stack with CLOCK_MONOTONIC. This is the only place that
 * reads a clock; the stack itself never does. */
#include <errno.h>
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
    int epfd;
    int devfd;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void us_rt_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool us_rt_stop_requested(void) { return stop_flag != 0; }

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

/* Wait until a frame arrives, the stack's next deadline or `limit`. */
static int drv_step(struct us_driver *d, us_time_t limit)
{
    struct us_rt *rt = (struct us_rt *)(void *)d;
    if (stop_flag)
        return -EINTR;
    us_time_t now = us_rt_clock();
    us_time_t dl = us_stack_next_deadline(rt->st, now);
    if (limit < dl)
        dl = limit;
    if (dl > now) {
        us_time_t wait = dl - now;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ull), .tv_nsec = (long)(wait % 1000000000ull)};
        struct epoll_event ev;
        int n;
        if (wait > US_SEC(3600))
            ts.tv_sec = 3600;
        if (rt->epfd >= 0) {
            n = epoll_pwait2(rt->epfd, &ev, 1, &ts, NULL);
            if (n < 0 && errno == ENOSYS) {
                int ms = (int)((wait + 999999) / 1000000);
                n = epoll_wait(rt->epfd, &ev, 1, ms);
            }
        } else {
            n = nanosleep(&ts, NULL);
        }
        if (n < 0 && errno != EINTR)
            return -errno;
        if (stop_flag)
            return -EINTR;
    }
    us_stack_poll(rt->st, us_rt_clock());
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
    rt->devfd = us_dev_fd(us_stack_dev(st));
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
