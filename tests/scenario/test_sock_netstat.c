/* Netstat rows: TCP lists its control blocks without descriptors; the socket
 * layer joins each with the descriptor that names it, or -1 for one no
 * descriptor holds (closed by the application, or not yet accepted). */
#include "test_tcp_helpers.h"
#include "netstat.h"

struct rows { int n; struct us_conn_info v[16]; };

static void collect(void *arg, const struct us_conn_info *c)
{
    struct rows *r = arg;
    assert_true(r->n < 16);
    r->v[r->n++] = *c;
}

/* The fd of the row with this local and remote port (remote 0 = any). */
static int row_fd(struct us_stack *st, uint16_t lport, uint16_t rport, int *state)
{
    struct rows r = {0};
    us_tcp_foreach(st, collect, &r);
    for (int i = 0; i < r.n; i++)
        if (r.v[i].local.port == lport && (!rport || r.v[i].remote.port == rport)) {
            *state = r.v[i].info.state;
            return r.v[i].fd;
        }
    fail_msg("no row for port %u", lport);
    return -2;
}

static void rows_carry_the_descriptor_or_minus_one_when_none_holds_the_connection(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {0};
    tt_net(&n, &tr, &o);
    int lfd = tt_listen(n.b.st, 5001, 4, us_sim_now(n.sim)), a, b, st;
    tt_pair(&n, lfd, 5001, &a, &b);
    struct us_sockaddr al;
    assert_int_equal(us_getsockname(n.a.st, a, &al), 0);

    assert_int_equal(row_fd(n.b.st, 5001, 0, &st), lfd);
    assert_int_equal(st, US_TCP_LISTEN);
    assert_int_equal(row_fd(n.b.st, 5001, al.port, &st), b);
    assert_int_equal(st, US_TCP_ESTABLISHED);
    assert_int_equal(row_fd(n.a.st, al.port, 5001, &st), a);

    /* a second connection waits in B's accept queue: no descriptor yet */
    int a2 = us_socket(n.a.st, US_SOCK_STREAM);
    struct us_sockaddr to = {TU_IP_B, 5001};
    assert_int_equal(us_connect(n.a.st, a2, &to, tt_now(&n)), -EINPROGRESS);
    tt_run(&n, US_MS(10));
    struct us_sockaddr al2;
    assert_int_equal(us_getsockname(n.a.st, a2, &al2), 0);
    assert_int_equal(row_fd(n.b.st, 5001, al2.port, &st), -1);
    assert_int_equal(st, US_TCP_ESTABLISHED);

    /* A closes: its control block lives on (FIN_WAIT / TIME_WAIT) without one */
    assert_int_equal(us_close(n.a.st, a, tt_now(&n)), 0);
    tt_run(&n, US_MS(10));
    assert_int_equal(row_fd(n.a.st, al.port, 5001, &st), -1);
    assert_true(st == US_TCP_FIN_WAIT_2 || st == US_TCP_TIME_WAIT);
    assert_int_equal(row_fd(n.b.st, 5001, al.port, &st), b);
    assert_int_equal(st, US_TCP_CLOSE_WAIT);
    tt_free(&n, &tr);
}

/* ---- the congestion-control columns and us_tcp_info's figures behind them ---- */

static void no_ts(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_timestamps = false;      /* no Eifel undo: the D-SACKs alone tell of the spurious retransmissions */
}

/* The row of connection c as netstat prints it, split at blanks. */
static int row_fields(const struct us_conn_info *c, char f[][32], int max)
{
    char buf[512];
    FILE *m = fmemopen(buf, sizeof(buf), "w");
    assert_non_null(m);
    netstat_row(m, c);
    fclose(m);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t && n < max; t = strtok_r(NULL, " \n", &save))
        snprintf(f[n++], 32, "%s", t);
    return n;
}

static int column(const char *name)
{
    char buf[512];
    FILE *m = fmemopen(buf, sizeof(buf), "w");
    assert_non_null(m);
    netstat_header(m);
    fclose(m);
    int i = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save), i++)
        if (strcmp(t, name) == 0)
            return i;
    fail_msg("no column %s", name);
    return -1;
}

/* A 4 MB transfer over a 20 ms RTT where 2% of A's segments arrive 3 ms
 * late: B's SACKs make A retransmit some of them, B reports the duplicates
 * (D-SACK), RACK widens its reordering window and the recoveries are undone.
 * us_tcp_info and the netstat row show it: min RTT the link's 20 ms, D-SACKs
 * received, the reordering window, the undone recoveries. */
static void row_shows_min_rtt_reordering_window_and_dsacks_after_a_reordering_run(void **state)
{
    (void)state;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 7, .cfg_hook = no_ts};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    o.imp_a.tx.reorder = 0.02;
    o.imp_a.tx.reorder_gap = US_MS(3);
    tt_net(&n, &tr, &o);
    tr.on = false;
    int l = tt_listen(n.b.st, 5001, 4, tt_now(&n)), a, b;
    tt_pair(&n, l, 5001, &a, &b);
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 4u << 20, .seed = 1};
    assert_int_equal(xfer_run(&x, tt_now(&n) + US_SEC(60)), 0);
    tt_run(&n, US_MS(100));

    struct rows r = {0};
    us_tcp_foreach(n.a.st, collect, &r);
    const struct us_conn_info *c = NULL;
    for (int i = 0; i < r.n; i++)
        if (r.v[i].fd == a)
            c = &r.v[i];
    assert_non_null(c);
    const struct us_tcp_info *t = &c->info;
    print_message("min_rtt %llu ns, rack_min_rtt %llu, reo_wnd %llu, dsacks %llu, undo %llu+%llu, retx %llu\n",
                  (unsigned long long)t->min_rtt, (unsigned long long)t->rack_min_rtt,
                  (unsigned long long)t->reo_wnd, (unsigned long long)t->dsacks_received,
                  (unsigned long long)t->undo_dsack, (unsigned long long)t->undo_eifel,
                  (unsigned long long)t->retransmits);
    assert_int_equal(t->min_rtt, US_MS(20));                    /* the link's RTT: no queue, no jitter */
    assert_int_equal(t->rack_min_rtt, US_MS(20));
    assert_true(t->retransmits > 0);
    assert_true(t->dsacks_received > 0 && t->dsacks_received <= t->retransmits);
    assert_true(t->undo_dsack > 0);
    assert_int_equal(t->undo_eifel, 0);
    assert_true(t->reo_wnd > 0 && t->reo_wnd <= t->rack_min_rtt);   /* RFC 8985 6.2: at most min_RTT */

    netstat_header(stdout);
    netstat_row(stdout, c);
    char f[24][32];
    int nf = row_fields(c, f, 24);
    assert_int_equal(nf, column("undo") + 1);
    assert_string_equal(f[column("state")], "ESTABLISHED");
    assert_string_equal(f[column("minrtt-ms")], "20.00");
    char want[32];
    snprintf(want, sizeof(want), "%.2f", (double)t->reo_wnd / 1e6);
    assert_string_equal(f[column("reo-ms")], want);
    snprintf(want, sizeof(want), "%llu", (unsigned long long)t->dsacks_received);
    assert_string_equal(f[column("dsack")], want);
    snprintf(want, sizeof(want), "%llu", (unsigned long long)(t->undo_dsack + t->undo_eifel));
    assert_string_equal(f[column("undo")], want);
    assert_string_equal(f[column("cc[:state]")], "cubic");
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_carry_the_descriptor_or_minus_one_when_none_holds_the_connection),
        cmocka_unit_test(row_shows_min_rtt_reordering_window_and_dsacks_after_a_reordering_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
