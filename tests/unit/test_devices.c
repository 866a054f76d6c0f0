/* Devices: the pipe link, the impairment device and the pcap capture device,
 * driven directly (no stack) at explicit virtual times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ustack/dev.h>

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};

struct link {
    struct us_pktpool *pool;
    struct us_dev *a, *b; /* pipe ends */
};

static void link_up(struct link *l, uint16_t mtu)
{
    l->pool = us_pktpool_new(2048, 0);
    assert_non_null(l->pool);
    assert_int_equal(us_pipe_pair(l->pool, mtu, MAC_A, MAC_B, &l->a, &l->b), 0);
}

static void link_down(struct link *l)
{
    us_dev_destroy(l->a);
    us_dev_destroy(l->b);
    struct us_pktpool_stats s;
    us_pktpool_stats(l->pool, &s);
    assert_int_equal(s.in_use, 0); /* every frame was freed exactly once */
    us_pktpool_free(l->pool);
}

/* A frame of len bytes whose first four bytes carry `tag` (to see order). */
static struct us_pkt *frame(struct us_pktpool *pool, uint32_t tag, uint32_t len)
{
    uint8_t buf[1600];
    assert_true(len <= sizeof(buf) && len >= 4);
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + tag);
    buf[0] = (uint8_t)(tag >> 24);
    buf[1] = (uint8_t)(tag >> 16);
    buf[2] = (uint8_t)(tag >> 8);
    buf[3] = (uint8_t)tag;
    struct us_pkt *p = us_pkt_from(pool, buf, len);
    assert_non_null(p);
    return p;
}

static uint32_t tag_of(const struct us_pkt *p)
{
    return ((uint32_t)p->data[0] << 24) | ((uint32_t)p->data[1] << 16) | ((uint32_t)p->data[2] << 8) | p->data[3];
}

/* Receive everything ready on d at `now`; tags go to out (if given). Returns count. */
static int drain(struct us_dev *d, us_time_t now, uint32_t *out, int max)
{
    int total = 0;
    for (;;) {
        struct us_pkt *p[64];
        int n = us_dev_recv(d, p, 64, now);
        for (int i = 0; i < n; i++) {
            if (out && total < max)
                out[total] = tag_of(p[i]);
            total++;
            us_pkt_free(p[i]);
        }
        if (n < 64)
            return total;
    }
}

/* ---- pipe ---- */

static void pipe_delivers_frames_in_order_both_ways_at_the_same_time(void **state)
{
    (void)state;
    struct link l;
    link_up(&l, 1500);
    assert_int_equal(us_dev_fd(l.a), -1);
    assert_int_equal(us_dev_next_deadline(l.b, 5), US_TIME_NEVER);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(us_dev_xmit(l.a, frame(l.pool, i, 60), 5), 0);
    assert_int_equal(us_dev_xmit(l.b, frame(l.pool, 99, 1514), 5), 0);
    assert_int_equal(us_dev_next_deadline(l.b, 5), 5);
    assert_int_equal(us_dev_next_deadline(l.a, 5), 5);

    struct us_pkt *p[8];
    assert_int_equal(us_dev_recv(l.b, p, 8, 5), 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(tag_of(p[i]), i);
        assert_int_equal(p[i]->len, 60);
        us_pkt_free(p[i]);
    }
    assert_int_equal(us_dev_recv(l.a, p, 8, 5), 1);
    assert_int_equal(tag_of(p[0]), 99);
    assert_int_equal(p[0]->len, 1514);
    us_pkt_free(p[0]);
    assert_int_equal(us_dev_next_deadline(l.b, 5), US_TIME_NEVER);
    assert_int_equal(l.a->stats.tx_frames, 3);
    assert_int_equal(l.a->stats.tx_bytes, 180);
    assert_int_equal(l.b->stats.rx_frames, 3);
    link_down(&l);
}

static void pipe_drops_frames_above_mtu_and_counts_them(void **state)
{
    (void)state;
    struct link l;
    link_up(&l, 1000);
    assert_int_equal(us_dev_xmit(l.a, frame(l.pool, 1, 1015), 0), -EMSGSIZE);
    assert_int_equal(us_dev_xmit(l.a, frame(l.pool, 2, 1014), 0), 0);
    assert_int_equal(l.a->stats.tx_drops, 1);
    uint32_t tags[4];
    assert_int_equal(drain(l.b, 0, tags, 4), 1);
    assert_int_equal(tags[0], 2);
    link_down(&l);
}

static void pipe_rx_queue_is_bounded_and_overflow_is_counted(void **state)
{
    (void)state;
    struct link l;
    link_up(&l, 1500);
    int ok = 0, dropped = 0;
    for (uint32_t i = 0; i < 4100; i++) {
        if (us_dev_xmit(l.a, frame(l.pool, i, 60), 0) == 0)
            ok++;
        else
            dropped++;
    }
    assert_int_equal(ok, 4096);
    assert_int_equal(dropped, 4);
    assert_int_equal(l.a->stats.tx_drops, 4);
    assert_int_equal(drain(l.b, 0, NULL, 0), 4096);
    link_down(&l);
}

static void pipe_ends_are_destroyed_in_either_order_with_frames_queued(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        struct link l;
        link_up(&l, 1500);
        us_dev_xmit(l.a, frame(l.pool, 1, 60), 0);
        us_dev_xmit(l.b, frame(l.pool, 2, 60), 0);
        struct us_dev *first = order ? l.b : l.a, *second = order ? l.a : l.b;
        us_dev_destroy(first);
        /* The survivor's peer is gone: sending is a counted drop, not a crash. */
        assert_int_equal(us_dev_xmit(second, frame(l.pool, 3, 60), 0), -ENETDOWN);
        assert_int_equal(second->stats.tx_drops, 1);
        us_dev_destroy(second);
        struct us_pktpool_stats s;
        us_pktpool_stats(l.pool, &s);
        assert_int_equal(s.in_use, 0);
        us_pktpool_free(l.pool);
    }
}

/* ---- impair ---- */

struct imp_link {
    struct link l;
    struct us_dev *imp; /* impair above pipe end a */
};

static void imp_up(struct imp_link *il, const struct us_impair_config *cfg)
{
    link_up(&il->l, 1500);
    il->imp = us_impair_new(il->l.a, cfg);
    assert_non_null(il->imp);
}

static void imp_down(struct imp_link *il)
{
    us_dev_destroy(il->imp); /* destroys pipe end a too */
    il->l.a = NULL;
    us_dev_destroy(il->l.b);
    struct us_pktpool_stats s;
    us_pktpool_stats(il->l.pool, &s);
    assert_int_equal(s.in_use, 0);
    us_pktpool_free(il->l.pool);
}

static void impair_zero_config_passes_frames_through_unchanged_in_order_without_delay(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct imp_link il;
    imp_up(&il, &cfg);
    for (uint32_t i = 0; i < 1000; i++) {
        assert_int_equal(us_dev_xmit(il.imp, frame(il.l.pool, i, 60 + i % 1400), 7), 0);
        assert_int_equal(us_dev_xmit(il.l.b, frame(il.l.pool, 5000 + i, 60 + i % 1400), 7), 0);
    }
    /* tx: already at the peer, unchanged, in order */
    struct us_pkt *p[64];
    uint32_t seen = 0;
    int n;
    while ((n = us_dev_recv(il.l.b, p, 64, 7)) > 0) {
        for (int i = 0; i < n; i++) {
            struct us_pkt *ref = frame(il.l.pool, seen, 60 + seen % 1400);
            assert_int_equal(p[i]->len, ref->len);
            assert_memory_equal(p[i]->data, ref->data, ref->len);
            us_pkt_free(ref);
            us_pkt_free(p[i]);
            seen++;
        }
    }
    assert_int_equal(seen, 1000);
    /* rx: ready at the same now, in order */
    assert_int_equal(us_dev_next_deadline(il.imp, 7), 7);
    uint32_t tags[1000];
    assert_int_equal(drain(il.imp, 7, tags, 1000), 1000);
    for (uint32_t i = 0; i < 1000; i++)
        assert_int_equal(tags[i], 5000 + i);
    assert_int_equal(us_dev_next_deadline(il.imp, 7), US_TIME_NEVER);
    assert_int_equal(il.imp->stats.tx_drops + il.imp->stats.rx_drops, 0);
    imp_down(&il);
}

/* Sends n frames through tx and returns a bitmap of which arrived. */
static int loss_pattern(const struct us_impair_config *cfg, uint8_t *arrived, uint32_t n)
{
    struct imp_link il;
    imp_up(&il, cfg);
    memset(arrived, 0, n);
    int count = 0;
    for (uint32_t i = 0; i < n; i++) {
        us_dev_xmit(il.imp, frame(il.l.pool, i, 60), US_US(i));
        struct us_pkt *p[4];
        int k = us_dev_recv(il.l.b, p, 4, US_US(i));
        for (int j = 0; j < k; j++) {
            arrived[tag_of(p[j])] = 1;
            count++;
            us_pkt_free(p[j]);
        }
    }
    assert_int_equal(il.imp->stats.impair_loss, n - (uint32_t)count);
    assert_int_equal(il.imp->stats.tx_drops, n - (uint32_t)count);
    imp_down(&il);
    return count;
}

static void impair_random_loss_rate_matches_config_over_10000_frames(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.loss = 0.1;
    cfg.seed = 42;
    static uint8_t arrived[10000];
    int got = loss_pattern(&cfg, arrived, 10000);
    /* Binomial(10000, 0.1): sigma = 30; allow 4 sigma. */
    assert_in_range(10000 - got, 880, 1120);
}

static void impair_same_seed_gives_identical_drop_pattern_and_other_seed_differs(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.loss = 0.3;
    cfg.seed = 7;
    static uint8_t p1[2000], p2[2000], p3[2000];
    loss_pattern(&cfg, p1, 2000);
    loss_pattern(&cfg, p2, 2000);
    cfg.seed = 8;
    loss_pattern(&cfg, p3, 2000);
    assert_memory_equal(p1, p2, sizeof(p1));
    assert_memory_not_equal(p1, p3, sizeof(p1));
}

static void impair_gilbert_elliott_losses_come_in_bursts(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.ge_p = 0.01;   /* mean good run 100 frames */
    cfg.tx.ge_r = 0.2;    /* mean bad run 5 frames */
    cfg.tx.ge_loss_bad = 1.0;
    cfg.seed = 3;
    static uint8_t arrived[20000];
    int got = loss_pattern(&cfg, arrived, 20000);
    int lost = 20000 - got, bursts = 0;
    for (int i = 0; i < 20000; i++)
        if (!arrived[i] && (i == 0 || arrived[i - 1]))
            bursts++;
    /* Stationary loss = p/(p+r) = 4.8%; mean burst length = 1/r = 5. */
    assert_in_range(lost, 600, 1400);
    assert_true(bursts > 0);
    double mean_burst = (double)lost / bursts;
    assert_true(mean_burst > 3.5 && mean_burst < 6.5);
}

static void impair_delay_releases_frame_at_exactly_now_plus_delay(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.delay = US_MS(10);
    cfg.rx.delay = US_MS(3);
    struct imp_link il;
    imp_up(&il, &cfg);
    us_time_t t0 = US_SEC(1);
    us_dev_xmit(il.imp, frame(il.l.pool, 1, 100), t0);
    us_dev_xmit(il.l.b, frame(il.l.pool, 2, 100), t0);
    assert_int_equal(drain(il.l.b, t0, NULL, 0), 0);
    /* rx is pulled from the pipe at the first recv and then held */
    assert_int_equal(drain(il.imp, t0, NULL, 0), 0);
    assert_int_equal(us_dev_next_deadline(il.imp, t0), t0 + US_MS(3));
    assert_int_equal(drain(il.imp, t0 + US_MS(3) - 1, NULL, 0), 0);
    uint32_t tag = 0;
    assert_int_equal(drain(il.imp, t0 + US_MS(3), &tag, 1), 1);
    assert_int_equal(tag, 2);
    assert_int_equal(us_dev_next_deadline(il.imp, t0 + US_MS(3)), t0 + US_MS(10));
    /* tx frames leave when the stack calls the device at their release time */
    drain(il.imp, t0 + US_MS(10) - 1, NULL, 0);
    assert_int_equal(drain(il.l.b, t0 + US_MS(10) - 1, NULL, 0), 0);
    drain(il.imp, t0 + US_MS(10), NULL, 0);
    assert_int_equal(drain(il.l.b, t0 + US_MS(10), &tag, 1), 1);
    assert_int_equal(tag, 1);
    assert_int_equal(us_dev_next_deadline(il.imp, t0 + US_MS(10)), US_TIME_NEVER);
    imp_down(&il);
}

/* Drive the impair device until nothing is pending; records (tag, time) of
 * every frame reaching the peer end. */
static int run_tx(struct imp_link *il, us_time_t now, uint32_t *tags, us_time_t *times, int max)
{
    int n = 0;
    for (;;) {
        struct us_pkt *p[16];
        int k;
        us_dev_recv(il->imp, p, 0, now); /* releases due tx frames */
        while ((k = us_dev_recv(il->l.b, p, 16, now)) > 0) {
            for (int i = 0; i < k; i++) {
                if (n < max) {
                    tags[n] = tag_of(p[i]);
                    times[n] = now;
                }
                n++;
                us_pkt_free(p[i]);
            }
        }
        us_time_t next = us_dev_next_deadline(il->imp, now);
        if (next == US_TIME_NEVER)
            return n;
        now = next;
    }
}

static void impair_rate_limit_spaces_frames_by_serialisation_time(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.rate_bps = 8000000; /* 1000-byte frame = 1 ms */
    struct imp_link il;
    imp_up(&il, &cfg);
    for (uint32_t i = 0; i < 4; i++)
        us_dev_xmit(il.imp, frame(il.l.pool, i, 1000), 0);
    uint32_t tags[8];
    us_time_t times[8];
    assert_int_equal(run_tx(&il, 0, tags, times, 8), 4);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(tags[i], i);
        assert_int_equal(times[i], US_MS(1) * (i + 1));
    }
    /* an idle link starts serialising at once */
    us_dev_xmit(il.imp, frame(il.l.pool, 9, 500), US_MS(100));
    assert_int_equal(run_tx(&il, US_MS(100), tags, times, 8), 1);
    assert_int_equal(times[0], US_MS(100) + US_US(500));
    imp_down(&il);
}

static void impair_rate_queue_bound_tail_drops_and_counts(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.rate_bps = 8000000;
    cfg.tx.queue_bytes = 3000;
    struct imp_link il;
    imp_up(&il, &cfg);
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(us_dev_xmit(il.imp, frame(il.l.pool, i, 1000), 0), 0);
    assert_int_equal(il.imp->stats.impair_queue_drop, 2);
    assert_int_equal(il.imp->stats.tx_drops, 2);
    uint32_t tags[8];
    us_time_t times[8];
    assert_int_equal(run_tx(&il, 0, tags, times, 8), 3);
    assert_int_equal(tags[0], 0);
    assert_int_equal(tags[2], 2);
    imp_down(&il);
}

static void impair_duplication_sends_each_frame_twice_back_to_back(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.dup = 1.0;
    struct imp_link il;
    imp_up(&il, &cfg);
    for (uint32_t i = 0; i < 3; i++)
        us_dev_xmit(il.imp, frame(il.l.pool, i, 80), 0);
    uint32_t tags[8];
    assert_int_equal(drain(il.l.b, 0, tags, 8), 6);
    for (uint32_t i = 0; i < 6; i++)
        assert_int_equal(tags[i], i / 2);
    assert_int_equal(il.imp->stats.impair_dup, 3);
    imp_down(&il);
}

static void impair_corruption_flips_exactly_one_byte_after_the_ip_header(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.corrupt = 1.0;
    cfg.seed = 11;
    struct imp_link il;
    imp_up(&il, &cfg);
    for (uint32_t round = 0; round < 200; round++) {
        /* IPv4 frame: 14 + 20 header + 46 payload, padded to 100 on the wire */
        struct us_pkt *f = frame(il.l.pool, round, 100);
        f->data[12] = 0x08;
        f->data[13] = 0x00;
        f->data[14] = 0x45;
        f->data[16] = 0;
        f->data[17] = 66;
        uint8_t orig[100];
        memcpy(orig, f->data, 100);
        us_dev_xmit(il.imp, f, 0);
        struct us_pkt *p;
        assert_int_equal(us_dev_recv(il.l.b, &p, 1, 0), 1);
        assert_int_equal(p->len, 100);
        int diffs = 0, at = -1;
        for (int i = 0; i < 100; i++)
            if (p->data[i] != orig[i]) {
                diffs++;
                at = i;
            }
        assert_int_equal(diffs, 1);
        assert_in_range(at, 34, 14 + 66 - 1);
        us_pkt_free(p);
    }
    assert_int_equal(il.imp->stats.impair_corrupt, 200);
    imp_down(&il);
}

/* Release due tx frames at `now` and append what reached the peer to tags. */
static void collect(struct imp_link *il, us_time_t now, uint32_t *tags, int *n, int max)
{
    struct us_pkt *p[16];
    int k;
    us_dev_recv(il->imp, p, 0, now);
    while ((k = us_dev_recv(il->l.b, p, 16, now)) > 0)
        for (int i = 0; i < k; i++) {
            if (*n < max)
                tags[*n] = tag_of(p[i]);
            (*n)++;
            us_pkt_free(p[i]);
        }
}

static void impair_reordering_holds_some_frames_back_and_loses_none(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.reorder = 0.2;
    cfg.tx.reorder_gap = US_MS(5);
    cfg.seed = 5;
    struct imp_link il;
    imp_up(&il, &cfg);
    uint32_t tags[128];
    int n = 0;
    for (uint32_t i = 0; i < 100; i++) {
        collect(&il, US_MS(i), tags, &n, 128);
        us_dev_xmit(il.imp, frame(il.l.pool, i, 60), US_MS(i));
        collect(&il, US_MS(i), tags, &n, 128);
    }
    for (us_time_t t = US_MS(100); t <= US_MS(110); t += US_MS(1))
        collect(&il, t, tags, &n, 128);
    assert_int_equal(n, 100);
    uint8_t seen[100] = {0};
    int inversions = 0;
    for (int i = 0; i < n; i++) {
        assert_true(tags[i] < 100);
        seen[tags[i]]++;
        if (i > 0 && tags[i] < tags[i - 1])
            inversions++;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(il.imp->stats.impair_reorder >= 5);
    assert_true(inversions >= 5);
    assert_int_equal(il.imp->stats.tx_drops, 0);
    assert_int_equal(us_dev_next_deadline(il.imp, US_MS(110)), US_TIME_NEVER);
    imp_down(&il);
}

static void impair_jitter_without_reorder_keeps_frames_in_order(void **state)
{
    (void)state;
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.delay = US_MS(10);
    cfg.tx.jitter = US_MS(10);
    cfg.seed = 9;
    struct imp_link il;
    imp_up(&il, &cfg);
    for (uint32_t i = 0; i < 200; i++)
        us_dev_xmit(il.imp, frame(il.l.pool, i, 60), US_US(100) * i);
    uint32_t tags[256];
    us_time_t times[256];
    assert_int_equal(run_tx(&il, US_US(100) * 200, tags, times, 256), 200);
    for (uint32_t i = 0; i < 200; i++)
        assert_int_equal(tags[i], i);
    imp_down(&il);
}

static bool drop_tag_3(void *arg, int dir, const uint8_t *f, uint32_t len, us_time_t now)
{
    (void)now;
    (void)len;
    int *calls = arg;
    (*calls)++;
    return dir == 0 && f[3] == 3;
}

static void impair_filter_drops_chosen_frames_only(void **state)
{
    (void)state;
    struct imp_link il;
    imp_up(&il, NULL);
    int calls = 0;
    us_impair_set_filter(il.imp, drop_tag_3, &calls);
    for (uint32_t i = 0; i < 5; i++)
        us_dev_xmit(il.imp, frame(il.l.pool, i, 60), 0);
    uint32_t tags[8];
    assert_int_equal(drain(il.l.b, 0, tags, 8), 4);
    assert_int_equal(tags[3], 4);
    assert_int_equal(calls, 5);
    assert_int_equal(il.imp->stats.impair_loss, 1);
    /* us_impair_set at run time: silence the link completely */
    struct us_impair_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tx.loss = 1.0;
    us_impair_set(il.imp, &cfg);
    us_dev_xmit(il.imp, frame(il.l.pool, 7, 60), 0);
    assert_int_equal(drain(il.l.b, 0, NULL, 0), 0);
    imp_down(&il);
}

/* ---- capture ---- */

static const char *tmpdir(void)
{
    const char *d = getenv("USTACK_TEST_TMP");
    if (!d || !*d)
        d = "/tmp/ustack-test";
    mkdir(d, 0777);
    return d;
}

static void capture_writes_both_directions_readable_with_ns_timestamps(void **state)
{
    (void)state;
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/test_devices_capture.pcap", tmpdir());
    struct link l;
    link_up(&l, 1500);
    us_time_t off = US_SEC(1700000000);
    struct us_dev *cap = us_capture_new(l.a, path, off, err, sizeof(err));
    assert_non_null(cap);
    assert_memory_equal(cap->mac, MAC_A, 6);
    assert_int_equal(cap->mtu, 1500);

    us_dev_xmit(cap, frame(l.pool, 1, 60), US_NS(123456789));                /* tx */
    us_dev_xmit(l.b, frame(l.pool, 2, 1514), US_SEC(2) + 5);                 /* rx at 2 s */
    assert_int_equal(us_dev_next_deadline(cap, US_SEC(2) + 5), US_SEC(2) + 5);
    assert_int_equal(us_dev_fd(cap), -1);
    assert_int_equal(drain(cap, US_SEC(2) + 5, NULL, 0), 1);
    assert_int_equal(drain(l.b, 0, NULL, 0), 1);
    us_capture_flush(cap);
    us_dev_destroy(cap); /* closes the file and destroys pipe end a */
    l.a = NULL;

    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *pd = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    assert_non_null(pd);
    assert_int_equal(pcap_datalink(pd), DLT_EN10MB);
    struct pcap_pkthdr *h;
    const u_char *data;
    assert_int_equal(pcap_next_ex(pd, &h, &data), 1);
    assert_int_equal(h->len, 60);
    assert_int_equal(h->caplen, 60);
    assert_int_equal(h->ts.tv_sec, 1700000000);
    assert_int_equal(h->ts.tv_usec, 123456789);
    struct us_pkt *ref = frame(l.pool, 1, 60);
    assert_memory_equal(data, ref->data, 60);
    us_pkt_free(ref);
    assert_int_equal(pcap_next_ex(pd, &h, &data), 1);
    assert_int_equal(h->len, 1514);
    assert_int_equal(h->ts.tv_sec, 1700000002);
    assert_int_equal(h->ts.tv_usec, 5);
    ref = frame(l.pool, 2, 1514);
    assert_memory_equal(data, ref->data, 1514);
    us_pkt_free(ref);
    assert_int_equal(pcap_next_ex(pd, &h, &data), PCAP_ERROR_BREAK);
    pcap_close(pd);

    us_dev_destroy(l.b);
    us_pktpool_free(l.pool);
}

static void capture_reports_unwritable_path(void **state)
{
    (void)state;
    struct link l;
    link_up(&l, 1500);
    char err[256] = "";
    assert_null(us_capture_new(l.a, "/nonexistent-dir/x.pcap", 0, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent-dir/x.pcap"));
    link_down(&l);
}

static void tap_open_explains_a_missing_interface(void **state)
{
    (void)state;
    struct us_pktpool *pool = us_pktpool_new(2048, 0);
    char err[256] = "";
    assert_null(us_tap_open("ustk-nosuch0", pool, 1500, MAC_A, err, sizeof(err)));
    assert_non_null(strstr(err, "tap device 'ustk-nosuch0' not found"));
    assert_non_null(strstr(err, "ip tuntap add dev ustk-nosuch0 mode tap"));
    assert_null(us_tap_open("a-name-that-is-far-too-long", pool, 1500, MAC_A, err, sizeof(err)));
    us_pktpool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipe_delivers_frames_in_order_both_ways_at_the_same_time),
        cmocka_unit_test(pipe_drops_frames_above_mtu_and_counts_them),
        cmocka_unit_test(pipe_rx_queue_is_bounded_and_overflow_is_counted),
        cmocka_unit_test(pipe_ends_are_destroyed_in_either_order_with_frames_queued),
        cmocka_unit_test(impair_zero_config_passes_frames_through_unchanged_in_order_without_delay),
        cmocka_unit_test(impair_random_loss_rate_matches_config_over_10000_frames),
        cmocka_unit_test(impair_same_seed_gives_identical_drop_pattern_and_other_seed_differs),
        cmocka_unit_test(impair_gilbert_elliott_losses_come_in_bursts),
        cmocka_unit_test(impair_delay_releases_frame_at_exactly_now_plus_delay),
        cmocka_unit_test(impair_rate_limit_spaces_frames_by_serialisation_time),
        cmocka_unit_test(impair_rate_queue_bound_tail_drops_and_counts),
        cmocka_unit_test(impair_duplication_sends_each_frame_twice_back_to_back),
        cmocka_unit_test(impair_corruption_flips_exactly_one_byte_after_the_ip_header),
        cmocka_unit_test(impair_reordering_holds_some_frames_back_and_loses_none),
        cmocka_unit_test(impair_jitter_without_reorder_keeps_frames_in_order),
        cmocka_unit_test(impair_filter_drops_chosen_frames_only),
        cmocka_unit_test(capture_writes_both_directions_readable_with_ns_timestamps),
        cmocka_unit_test(capture_reports_unwritable_path),
        cmocka_unit_test(tap_open_explains_a_missing_interface),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
