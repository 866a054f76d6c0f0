/* A minimal program against the installed library: two stacks on a pipe link
 * in virtual time exchange one UDP datagram. Built by tests/cli/test_install.sh
 * with `pkg-config --cflags --libs ustack`. */
#include <stdio.h>
#include <string.h>
#include <ustack/ustack.h>
#include <ustack/sim.h>

static struct us_stack *host(struct us_dev *d, us_ip4_t ip)
{
    struct us_config c;
    us_config_default(&c);
    c.ip = ip;
    c.deterministic = true;
    char err[128];
    struct us_stack *st = us_stack_new(&c, d, 0, err, sizeof(err));
    if (!st)
        fprintf(stderr, "%s\n", err);
    return st;
}

int main(void)
{
    struct us_pktpool *pool = us_pktpool_new(2048, 1024);
    struct us_dev *a, *b;
    us_pipe_pair(pool, 1500, (const uint8_t[6]){2, 0, 0, 0, 0, 1}, (const uint8_t[6]){2, 0, 0, 0, 0, 2}, &a, &b);
    struct us_stack *A = host(a, 0xC6120001u), *B = host(b, 0xC6120002u);
    if (!A || !B)
        return 1;
    struct us_sim *sim = us_sim_new(0);
    us_sim_add(sim, A);
    us_sim_add(sim, B);
    int fb = us_socket(B, US_SOCK_DGRAM), fa = us_socket(A, US_SOCK_DGRAM);
    struct us_sockaddr pb = {0, 7000}, to = {0xC6120002u, 7000}, from;
    us_bind(B, fb, &pb, 0);
    us_sendto(A, fa, "hello", 5, 0, &to, 0);
    us_sim_run_until(sim, 1000000000ull);
    char buf[16] = {0};
    ssize_t n = us_recvfrom(B, fb, buf, sizeof(buf) - 1, 0, &from, us_sim_now(sim));
    printf("received %zd bytes: %s\n", n, buf);
    us_sim_free(sim);
    us_stack_free(A);
    us_stack_free(B);
    us_dev_destroy(a);
    us_dev_destroy(b);
    us_pktpool_free(pool);
    return n == 5 && strcmp(buf, "hello") == 0 ? 0 : 1;
}
