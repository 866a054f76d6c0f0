/* Chunks of a burst (tcp_out.c chunk_mark): TCP marks the last segment of
 * every chunk of half of cwnd (at least 2 segments) with US_PKT_F_END,
 * which ends a TAP GSO super-frame, so a receiver that ACKs a super-frame at
 * a time still ACKs a flight several times. A recording device on top of
 * host A's checks every data segment the stack hands it against the rule,
 * with the cwnd us_tcp_info reports at that moment, on a clean link (cwnd
 * grows into the hundreds of segments) and at 2% loss each way (a few). */
#include "test_tcp_helpers.h"

struct rec {
    struct us_dev dev;          /* first: the device pointer is the recorder */
    struct us_stack *st;        /* host A's stack and connection, once known */
    int fd;
    us_time_t burst;            /* `now` of the latest data segment */
    uint32_t run;               /* its segments since the last chunk end */
    uint64_t segs, ends, wrong, big_chunks;
    uint32_t max_k;
    char first[16];             /* the first 10 data segments: 'E' end, '-' not */
    uint32_t nfirst;
};

static struct rec *rec_of(struct us_dev *d) { return (struct rec *)(void *)d; }

static uint32_t payload_of(const struct us_pkt *p)
{
    const uint8_t *f = p->data;
    if (p->len < 14u + 20u + 20u || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6)
        return 0;
    uint32_t iplen = (uint32_t)f[16] << 8 | f[17];
    uint32_t ihl = (f[14] & 0x0fu) * 4u, thl = (uint32_t)(f[14 + ihl + 12] >> 4) * 4u;
    return iplen > ihl + thl ? iplen - ihl - thl : 0;
}

static int rec_xmit(struct us_dev *dev, struct us_pkt *pkt, us_time_t now)
{
    struct rec *r = rec_of(dev);
    struct us_tcp_info ti;
    if (r->st && payload_of(pkt) && us_tcp_info(r->st, r->fd, &ti) == 0) {
        uint32_t k = ti.cwnd / (2u * ti.mss_send);
        if (k < 2)
            k = 2;
        if (now != r->burst) {
            r->burst = now;
            r->run = 0;
        }
        bool end = (pkt->flags & US_PKT_F_END) != 0;
        bool want = ++r->run >= k;
        r->segs++;
        if (end != want && r->wrong++ < 5)
            print_message("segment %llu: run %u of k %u (cwnd %u), end %d\n", (unsigned long long)r->segs, r->run,
                          k, ti.cwnd, end);
        if (end) {
            r->ends++;
            if (r->run >= 8)
                r->big_chunks++;
            r->run = 0;
        }
        if (k > r->max_k)
            r->max_k = k;
        if (r->nfirst < 10)
            r->first[r->nfirst++] = end ? 'E' : '-';
    }
    return us_dev_xmit(dev->lower, pkt, now);
}

static int rec_recv(struct us_dev *dev, struct us_pkt **pkts, int max, us_time_t now)
{
    return us_dev_recv(dev->lower, pkts, max, now);
}
static us_time_t rec_next(struct us_dev *dev, us_time_t now) { return us_dev_next_deadline(dev->lower, now); }
static int rec_fd(struct us_dev *dev) { return us_dev_fd(dev->lower); }
static void rec_destroy(struct us_dev *dev)
{
    us_dev_destroy(dev->lower);
    (void)dev;
}
static const struct us_dev_ops rec_ops = {
    .xmit = rec_xmit, .recv = rec_recv, .next_deadline = rec_next, .fd = rec_fd, .destroy = rec_destroy,
};

static struct rec g_rec;

static struct us_dev *on_top(struct us_dev *top, int host, void *arg)
{
    (void)arg;
    if (host != 0)
        return top;
    memset(&g_rec, 0, sizeof(g_rec));
    g_rec.dev = *top;              /* name, MTU, MAC and pool of the device beneath */
    g_rec.dev.ops = &rec_ops;
    g_rec.dev.lower = top;
    g_rec.fd = -1;
    return &g_rec.dev;
}

static void run(double loss, uint64_t bytes)
{
    struct tu_net n;
    struct trace tr;
    struct tu_opts o = {.seed = 3, .dev_hook = on_top};
    struct us_impair_dir d = {.delay = US_MS(2), .loss = loss};
    o.imp_a.tx = d;
    o.imp_b.tx = d;
    int a, b;
    tt_setup(&n, &tr, &o, 80, &a, &b);
    tr.on = false;
    g_rec.st = n.a.st;
    g_rec.fd = a;
    struct xfer x = {.sim = n.sim, .ss = n.a.st, .ds = n.b.st, .sfd = a, .dfd = b, .total = bytes,
                     .seed = 9, .close_after = true};
    int rc = xfer_run(&x, tt_now(&n) + US_SEC(600));
    assert_int_equal(rc, 0);
    assert_false(x.bad);
    assert_int_equal(x.got, bytes);
    g_rec.st = NULL;
    print_message("loss %.2f: %llu data segments, %llu chunk ends (%llu after 8 or more), largest chunk %u, first "
                  "flight %s\n",
                  loss, (unsigned long long)g_rec.segs, (unsigned long long)g_rec.ends,
                  (unsigned long long)g_rec.big_chunks, g_rec.max_k, g_rec.first);
    assert_int_equal(g_rec.wrong, 0);
    /* The initial window of 10 leaves at one instant: two chunks of 5. */
    assert_string_equal(g_rec.first, "----E----E");
    tt_free(&n, &tr);
}

static void chunks_are_half_of_cwnd_on_a_clean_link(void **state)
{
    (void)state;
    run(0, 8000000);
    assert_true(g_rec.max_k >= 32);       /* cwnd grew past 64 segments */
    assert_true(g_rec.big_chunks > 0);    /* and whole chunks of 8+ left */
}

static void chunks_stay_small_when_loss_keeps_cwnd_small(void **state)
{
    (void)state;
    run(0.02, 2000000);
    assert_true(g_rec.ends * 8 > g_rec.segs); /* chunks of a few segments */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chunks_are_half_of_cwnd_on_a_clean_link),
        cmocka_unit_test(chunks_stay_small_when_loss_keeps_cwnd_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
