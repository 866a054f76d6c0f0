/* Virtual time: a clock that jumps to the earliest pending deadline of any
 * stack. Frames on pipe links arrive "now", so after every poll the deadlines
 * are recomputed; a run that waits for something while no stack has anything
 * pending is a deadlock and is reported as -EDEADLK. */
#include <errno.h>
#include <stdlib.h>
#include <ustack/sim.h>

#define SIM_MAX_STACKS 64
#define SIM_MAX_ROUNDS_PER_INSTANT 100000 /* a livelock guard: a stack re-arming at `now` forever */

struct us_sim {
    struct us_driver drv;    /* first member: the driver methods recover the sim */
    us_time_t now;
    uint64_t events;
    struct us_stack *stacks[SIM_MAX_STACKS];
    int n;
};

static us_time_t drv_now(struct us_driver *d) { return ((struct us_sim *)(void *)d)->now; }
static int drv_step(struct us_driver *d, us_time_t limit);

struct us_sim *us_sim_new(us_time_t start)
{
    struct us_sim *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->now = start;
    s->drv.now = drv_now;
    s->drv.step = drv_step;
    return s;
}

void us_sim_free(struct us_sim *sim) { free(sim); }

int us_sim_add(struct us_sim *sim, struct us_stack *st)
{
    if (sim->n >= SIM_MAX_STACKS)
        return -ENOSPC;
    sim->stacks[sim->n++] = st;
    return 0;
}

us_time_t us_sim_now(const struct us_sim *sim) { return sim->now; }
uint64_t us_sim_events(const struct us_sim *sim) { return sim->events; }
struct us_driver *us_sim_driver(struct us_sim *sim) { return &sim->drv; }

static us_time_t next_deadline(struct us_sim *sim)
{
    us_time_t t = US_TIME_NEVER;
    for (int i = 0; i < sim->n; i++) {
        us_time_t d = us_stack_next_deadline(sim->stacks[i], sim->now);
        if (d < t)
            t = d;
    }
    return t;
}

/* Poll every stack that has work at sim->now until none has. */
static void settle(struct us_sim *sim)
{
    for (int round = 0; round < SIM_MAX_ROUNDS_PER_INSTANT; round++) {
        bool any = false;
        for (int i = 0; i < sim->n; i++) {
            if (us_stack_next_deadline(sim->stacks[i], sim->now) <= sim->now) {
                us_stack_poll(sim->stacks[i], sim->now);
                any = true;
            }
        }
        if (!any)
            return;
        sim->events++;
    }
}

int us_sim_step(struct us_sim *sim)
{
    settle(sim);
    us_time_t t = next_deadline(sim);
    if (t == US_TIME_NEVER)
        return -EDEADLK;
    if (t > sim->now)
        sim->now = t;
    settle(sim);
    return 0;
}

void us_sim_run_until(struct us_sim *sim, us_time_t t)
{
    settle(sim);
    for (;;) {
        us_time_t d = next_deadline(sim);
        if (d == US_TIME_NEVER || d > t)
            break;
        if (d > sim->now)
            sim->now = d;
        settle(sim);
    }
    if (t > sim->now)
        sim->now = t;
}

int us_sim_run_while(struct us_sim *sim, bool (*pred)(void *arg), void *arg, us_time_t limit)
{
    settle(sim);
    while (pred(arg)) {
        us_time_t d = next_deadline(sim);
        if (d == US_TIME_NEVER)
            return -EDEADLK;
        if (d > limit) {
            if (limit > sim->now)
                sim->now = limit;
            return -ETIMEDOUT;
        }
        if (d > sim->now)
            sim->now = d;
        settle(sim);
    }
    return 0;
}

static int drv_step(struct us_driver *d, us_time_t limit)
{
    struct us_sim *sim = (struct us_sim *)(void *)d;
    settle(sim);
    us_time_t t = next_deadline(sim);
    if (t == US_TIME_NEVER && limit == US_TIME_NEVER)
        return -EDEADLK;
    if (t > limit) {
        if (limit > sim->now)
            sim->now = limit;
        return 0;
    }
    if (t > sim->now)
        sim->now = t;
    settle(sim);
    return 0;
}
