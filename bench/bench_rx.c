/* Frames per second through the receive path: ICMP echo between two stacks
 * over a pipe link in virtual time (each echo = request rx + reply tx on B,
 * reply rx on A). Usage: bench_rx [ECHOS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ustack/ustack.h>
#include <ustack/sim.h>

static double secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct us_stack *host(struct us_dev *d, us_ip4_t ip)
{
    struct us_config c;
    us_config_default(&c);
    c.ip = ip;
    c.deterministic = true;
    c.icmp_rate_per_sec = 1000000;
    char err[128];
    struct us_stack *st = us_stack_new(&c, d, 0, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return st;
}

int main(int argc, char **argv)
{
    long echos = argc > 1 ? atol(argv[1]) : 1000000;
    struct us_pktpool *pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 1 << 16);
    struct us_dev *a, *b;
    us_pipe_pair(pool, 1500, (uint8_t[6]){2, 0, 0, 0, 0, 1}, (uint8_t[6]){2, 0, 0, 0, 0, 2}, &a, &b);
    struct us_stack *A = host(a, 0xC6120001u), *B = host(b, 0xC6120002u);
    struct us_sim *sim = us_sim_new(0);
    us_sim_add(sim, A);
    us_sim_add(sim, B);
    us_sim_run_until(sim, US_MS(10));
    int sizes[] = {56, 1400};
    for (int k = 0; k < 2; k++) {
        long got = 0;
        double t0 = secs();
        for (long i = 0; i < echos; i++) {
            us_time_t now = us_sim_now(sim) + 1000;
            us_ping_send(A, 0xC6120002u, 1, (uint16_t)i, (uint32_t)sizes[k], now);
            us_sim_run_until(sim, now);
            struct us_ping_reply r;
            while (us_ping_recv(A, 1, &r) == 1)
                got++;
        }
        double t = secs() - t0;
        printf("ICMP echo %4d bytes: %ld echos in %.3f s: %.0f echos/s, %.0f frames/s through rx (%ld replies)\n",
               sizes[k], echos, t, (double)echos / t, 2.0 * (double)echos / t, got);
    }
    us_sim_free(sim);
    us_stack_free(A);
    us_stack_free(B);
    us_dev_destroy(a);
    us_dev_destroy(b);
    us_pktpool_free(pool);
    return 0;
}
