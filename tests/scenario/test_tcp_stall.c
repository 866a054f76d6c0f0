/* The five reference scenarios of STALL.md ("the download that stalls at
 * 99%"): A sends 100,000 bytes to B, RTT 20 ms, MSS 1000, B's receive buffer
 * 8,081 bytes, B's application reads only when told. Each asserts its trace. */
#include "test_tcp_helpers.h"
#include "tcp/tcp.h"

#define TOTAL 100000u

static void no_timestamps(struct us_config *c, int host, void *arg)
{
    (void)host;
    (void)arg;
    c->tcp_timestamps = false;   /* segments carry exactly MSS = 1000 bytes */
}

struct stall {
    struct tu_net n;
    struct trace tr;
    int a, b;
    struct xfer xf;          /* A -> B, TOTAL pattern bytes (tools/xfer.h) */
};

static void stall_setup(struct stall *x, uint64_t seed, struct us_impair_dir *atx)
{
    struct tu_opts o = {.seed = seed, .mtu = 1040, .cfg_hook = no_timestamps};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    if (atx)
        o.imp_a.tx = *atx;
    tt_net(&x->n, &x->tr, &o);
    int l = us_socket(x->n.b.st, US_SOCK_STREAM);
    tt_setint(x->n.b.st, l, US_SOL_SOCKET, US_SO_RCVBUF, 8081, us_sim_now(x->n.sim));
    struct us_sockaddr p = {0, 80};
    assert_int_equal(us_bind(x->n.b.st, l, &p, us_sim_now(x->n.sim)), 0);
    assert_int_equal(us_listen(x->n.b.st, l, 4, us_sim_now(x->n.sim)), 0);
    tt_pair(&x->n, l, 80, &x->a, &x->b);
    tt_run(&x->n, US_MS(100));
    tt_clear(&x->tr);
    x->xf = (struct xfer){.sim = x->n.sim, .ss = x->n.a.st, .ds = x->n.b.st, .sfd = x->a, .dfd = x->b,
                          .total = TOTAL, .seed = 7};
}

/* A's application offers what the stack accepts. */
static void push(struct stall *x)
{
    xfer_send(&x->xf, tt_now(&x->n));
    assert_int_equal(x->xf.err, 0);
}

/* B's application reads up to max bytes now. */
static uint32_t b_read(struct stall *x, uint32_t max)
{
    uint32_t got = (uint32_t)xfer_recv(&x->xf, max, tt_now(&x->n));
    assert_false(x->xf.bad);
    assert_int_equal(x->xf.err, 0);
    return got;
}

static void finish(struct stall *x)
{
    assert_int_equal(xfer_run(&x->xf, tt_now(&x->n) + US_SEC(600)), 0);
    assert_int_equal(x->xf.got, TOTAL);
    assert_false(x->xf.bad);
}

/* Trace checks shared by every run: B's right edge never moves left (R1), every
 * reopening is at least min(MSS, buffer/2) (R2), no fast retransmit. */
static void common_checks(struct stall *x)
{
    bool have = false;
    uint32_t edge = 0, last_wnd = 0;
    struct trace *tr = &x->tr;
    for (size_t i = 0; i < tr->n; i++) {
        const struct seg *s = &tr->v[i];
        if (s->host != 1 || !(s->flags & F_ACK) || (s->flags & F_RST))
            continue;
        uint32_t e = s->ack + s->wnd;
        if (have && s->wnd != 0) {
            assert_true((int32_t)(e - edge) >= 0);
            if (e != edge && last_wnd < 1000)
                assert_true(e - edge >= 1000);
        }
        if (s->wnd != 0 || !have) {
            edge = have && (int32_t)(e - edge) < 0 ? edge : e;
            have = true;
        }
        last_wnd = s->wnd;
    }
    struct us_tcp_info ti;
    us_tcp_info(x->n.a.st, x->a, &ti);
    assert_int_equal(ti.fast_retransmits, 0);
}

static size_t find(struct trace *tr, size_t from, int host, bool data)
{
    for (size_t i = from; i < tr->n; i++)
        if (tr->v[i].host == host && (data ? tr->v[i].len > 0 : true))
            return i;
    return (size_t)-1;
}

/* After the first flight: returns the index of A's 81-byte forced segment. */
static size_t first_flight(struct stall *x)
{
    push(x);
    tt_run(&x->n, US_MS(100));
    struct trace *tr = &x->tr;
    int full = 0;
    size_t i, last_ack = 0;
    for (i = 0; i < tr->n; i++) {
        if (tr->v[i].host == 0 && tr->v[i].len == 1000)
            full++;
        if (tr->v[i].host == 1)
            last_ack = i;
    }
    assert_int_equal(full, 8);
    assert_int_equal(tr->v[last_ack].wnd, 81);   /* "after the first flight B advertises 81" */
    return last_ack;
}

static void slow_reader_gets_81_bytes_then_probes_that_back_off_then_update_reopens(void **s)
{
    (void)s;
    static struct stall x;
    stall_setup(&x, 1, NULL);
    size_t ack81 = first_flight(&x);
    us_time_t t81 = x.tr.v[ack81].t + US_MS(10);     /* A receives the window of 81 */
    tt_run(&x.n, US_SEC(8));
    struct trace *tr = &x.tr;
    size_t f = find(tr, ack81, 0, true);
    assert_int_equal(tr->v[f].len, 81);
    assert_int_equal(tr->v[f].t, t81 + US_MS(200));  /* T0 = max(RTO, 200 ms) */
    size_t z = find(tr, f, 1, false);
    assert_int_equal(tr->v[z].wnd, 0);
    us_time_t tz = tr->v[z].t + US_MS(10);
    /* probes at T0, 2·T0, 4·T0 … each answered with window 0 */
    us_time_t expect = tz + US_MS(200), gap = US_MS(400);
    size_t i = z + 1;
    int probes = 0;
    for (; i < tr->n; i++) {
        if (tr->v[i].host == 0) {
            assert_int_equal(tr->v[i].len, 0);
            assert_int_equal(tr->v[i].t, expect);
            expect += gap;
            gap *= 2;
            probes++;
        } else {
            assert_int_equal(tr->v[i].wnd, 0);
            assert_int_equal(tr->v[i].t, tr->v[i - 1].t + US_MS(10));
        }
    }
    assert_true(probes >= 5);
    /* B reads 4,000 bytes: the update leaves in the same step, A sends four
     * full segments half an RTT later */
    size_t before = tr->n;
    us_time_t tr_ = tt_now(&x.n);
    assert_int_equal(b_read(&x, 4000), 4000);
    assert_int_equal(tr->n, before + 1);
    assert_int_equal(tr->v[before].host, 1);
    assert_int_equal(tr->v[before].t, tr_);
    assert_int_equal(tr->v[before].wnd, 4000);
    tt_run(&x.n, US_MS(15));
    int segs = 0;
    for (size_t k = before + 1; k < tr->n; k++)
        if (tr->v[k].host == 0 && tr->v[k].len == 1000 && tr->v[k].t == tr_ + US_MS(10))
            segs++;
    assert_int_equal(segs, 4);
    finish(&x);
    common_checks(&x);
    tt_free(&x.n, &x.tr);
}

static bool drop_first_b_update(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    bool *armed = tr->arg;
    if (*armed && s->host == 1 && s->wnd > 0) {
        *armed = false;
        return true;
    }
    return false;
}

static void lost_window_update_is_recovered_by_the_next_probe(void **s)
{
    (void)s;
    static struct stall x;
    stall_setup(&x, 2, NULL);
    first_flight(&x);
    tt_run(&x.n, US_MS(1000));   /* probes at +200, +600 ms after the zero window … */
    bool armed = true;
    x.tr.rule = drop_first_b_update;
    x.tr.arg = &armed;
    size_t before = x.tr.n;
    assert_int_equal(b_read(&x, 4000), 4000);
    assert_false(armed);                              /* the update was sent and lost */
    /* the next probe is at the scheduled time; its answer carries the window;
     * four segments leave one RTT after the probe */
    tt_run(&x.n, US_SEC(3));
    size_t p = find(&x.tr, before + 1, 0, false);
    assert_int_equal(x.tr.v[p].len, 0);
    size_t d = find(&x.tr, p + 1, 0, true);
    assert_int_equal(x.tr.v[d].t, x.tr.v[p].t + US_MS(20));
    assert_int_equal(x.tr.v[d].len, 1000);
    finish(&x);
    common_checks(&x);
    tt_free(&x.n, &x.tr);
}

static void early_read_update_lost_and_forced_segment_learns_the_window(void **s)
{
    (void)s;
    static struct stall x;
    stall_setup(&x, 3, NULL);
    size_t ack81 = first_flight(&x);
    us_time_t t81 = x.tr.v[ack81].t + US_MS(10);
    /* B reads while the window is 81; that update is lost */
    bool armed = true;
    x.tr.rule = drop_first_b_update;
    x.tr.arg = &armed;
    assert_int_equal(b_read(&x, 4000), 4000);
    assert_false(armed);
    tt_run(&x.n, US_MS(400));
    size_t f = find(&x.tr, ack81, 0, true);
    assert_int_equal(x.tr.v[f].len, 81);
    assert_int_equal(x.tr.v[f].t, t81 + US_MS(200));
    /* the ACK of the forced segment carries the open window: full segments follow */
    size_t g = find(&x.tr, f + 1, 0, true);
    assert_int_equal(x.tr.v[g].len, 1000);
    assert_true(x.tr.v[g].t <= x.tr.v[f].t + US_MS(20) + US_MS(40));
    finish(&x);
    common_checks(&x);
    tt_free(&x.n, &x.tr);
}

struct memdrop { struct us_stack *b; uint32_t target; bool done; };

static bool rx_memdrop(struct trace *tr, const struct seg *s, uint8_t *f, uint32_t len)
{
    (void)f;
    (void)len;
    struct memdrop *m = tr->arg;
    if (s->host == 1 && s->len && s->seq == m->target && !m->done) { /* B receives it */
        m->done = true;
        us_tcp_fault_rx_nomem(m->b, 3);   /* the segment and two retransmissions */
    }
    return false;
}

static void memory_drop_advertises_zero_at_once_and_window_opening_restarts_backed_off_sender(void **s)
{
    (void)s;
    static struct stall x;
    /* 8 Mbit/s on A's side: segments arrive one by one */
    struct us_impair_dir atx = {.delay = US_MS(10), .rate_bps = 8000000, .queue_bytes = 1 << 20};
    stall_setup(&x, 4, &atx);
    /* the 8th segment of the first flight is dropped "for memory" */
    struct memdrop m = {.b = x.n.b.st};
    x.tr.arg = &m;
    x.tr.rx_rule = rx_memdrop;
    push(&x);
    uint32_t isn1 = x.tr.v[0].seq;    /* A's first data byte */
    m.target = isn1 + 7000;
    tt_run(&x.n, US_MS(100));
    assert_true(m.done);
    /* B answered the dropped segment with a zero window at once */
    size_t z = (size_t)-1;
    for (size_t i = 0; i < x.tr.n; i++)
        if (x.tr.v[i].host == 1 && x.tr.v[i].wnd == 0) {
            z = i;
            break;
        }
    assert_true(z != (size_t)-1);
    assert_int_equal(x.tr.v[z].ack, isn1 + 7000);
    assert_int_equal(tu_counter(x.n.b.st, "tcp.drop_no_memory"), 1);
    /* A retransmits under its backed-off timer: +200 ms, then +400 ms */
    tt_run(&x.n, US_MS(900));
    us_time_t rx[4];
    int nr = 0;
    for (size_t i = z; i < x.tr.n && nr < 4; i++)
        if (x.tr.v[i].host == 0 && x.tr.v[i].seq == isn1 + 7000 && x.tr.v[i].len)
            rx[nr++] = x.tr.v[i].t;
    assert_int_equal(nr, 2);
    assert_int_equal(rx[1] - rx[0], US_MS(400));
    /* memory is back; B's application reads: the window-opening ACK makes A
     * retransmit at once instead of waiting out 800 ms */
    us_time_t tr_ = tt_now(&x.n);
    assert_int_equal(b_read(&x, 4000), 4000);
    tt_run(&x.n, US_MS(30));
    us_time_t again = 0;
    for (size_t i = 0; i < x.tr.n; i++)
        if (x.tr.v[i].host == 0 && x.tr.v[i].seq == isn1 + 7000 && x.tr.v[i].len && x.tr.v[i].t > rx[1])
            again = x.tr.v[i].t;
    assert_int_equal(again, tr_ + US_MS(10));
    finish(&x);
    tt_free(&x.n, &x.tr);
}

/* A middlebox removes window scale from B's SYN-ACK only. */
static void window_scale_stripped_from_syn_ack_still_completes(void **s)
{
    (void)s;
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 5};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(&n, &tr, &o);
    us_impair_set_mangle(n.b.imp, tt_strip_wscale, NULL);
    int l = tt_listen(n.b.st, 80, 4, us_sim_now(n.sim));
    int a, b;
    tt_pair(&n, l, 80, &a, &b);
    struct us_tcp_info ia, ib;
    us_tcp_info(n.a.st, a, &ia);
    us_tcp_info(n.b.st, b, &ib);
    assert_int_equal(ia.snd_wscale, 0);      /* S8: A saw no scale in the SYN-ACK */
    assert_int_equal(ia.rcv_wscale, 0);
    assert_true(ib.snd_wscale > 0);          /* B believes both sides scale: the mismatch */
    struct xfer xf = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = 1000000, .seed = 9};
    assert_int_equal(xfer_run(&xf, tt_now(&n) + US_SEC(60)), 0);
    assert_false(xf.bad);
    struct xfer back = {.sim = n.sim, .ss = n.b.st, .ds = n.a.st, .sfd = b, .dfd = a, .total = 300000, .seed = 10};
    assert_int_equal(xfer_run(&back, tt_now(&n) + US_SEC(600)), 0);
    assert_false(back.bad);
    tt_free(&n, &tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slow_reader_gets_81_bytes_then_probes_that_back_off_then_update_reopens),
        cmocka_unit_test(lost_window_update_is_recovered_by_the_next_probe),
        cmocka_unit_test(early_read_update_lost_and_forced_segment_learns_the_window),
        cmocka_unit_test(memory_drop_advertises_zero_at_once_and_window_opening_restarts_backed_off_sender),
        cmocka_unit_test(window_scale_stripped_from_syn_ack_still_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
