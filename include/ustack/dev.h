/* ustack — the device interface and the stackable devices.
 *
 * A device moves Ethernet frames. Devices stack: capture(impair(tap)) writes a
 * pcap of what the stack sent and received and impairs the link beneath it. Every
 * call takes `now`; a device with frames held for later (impair delays, rate
 * limits) reports when it next needs attention through next_deadline. */
#ifndef USTACK_DEV_H
#define USTACK_DEV_H

#include "types.h"
#include "pkt.h"

struct us_dev;

struct us_dev_ops {
    /* Send one frame; the device takes ownership of pkt in every case.
     * Returns 0, or -errno when the frame was dropped (counted by the device). */
    int (*xmit)(struct us_dev *dev, struct us_pkt *pkt, us_time_t now);
    /* Receive up to max frames that are ready at `now`. Returns the count. */
    int (*recv)(struct us_dev *dev, struct us_pkt **pkts, int max, us_time_t now);
    /* Earliest time the device needs a call (a held frame's release, or `now`
     * when received frames are already waiting); US_TIME_NEVER if none. Devices
     * that receive through a file descriptor report only what they hold inside. */
    us_time_t (*next_deadline)(struct us_dev *dev, us_time_t now);
    /* Pollable file descriptor that becomes readable when frames arrive, or -1. */
    int (*fd)(struct us_dev *dev);
    void (*destroy)(struct us_dev *dev);
    /* Optional: send what the device holds to join with later frames (the TAP
     * device's super-frames). The driver calls it before it waits. */
    void (*flush)(struct us_dev *dev, us_time_t now);
};

struct us_dev_stats {
    uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
    uint64_t tx_drops, rx_drops;          /* all reasons */
    uint64_t impair_loss, impair_dup, impair_corrupt, impair_reorder, impair_queue_drop;
};

struct us_dev {
    const struct us_dev_ops *ops;
    struct us_dev *lower;        /* device beneath a stacked one, or NULL */
    struct us_pktpool *pool;     /* where received frames come from */
    char name[32];
    uint16_t mtu;                /* IP MTU (frame payload), e.g. 1500 */
    uint8_t mac[6];
    struct us_dev_stats stats;
};

static inline int us_dev_xmit(struct us_dev *d, struct us_pkt *p, us_time_t now) { return d->ops->xmit(d, p, now); }
static inline int us_dev_recv(struct us_dev *d, struct us_pkt **p, int max, us_time_t now) { return d->ops->recv(d, p, max, now); }
static inline us_time_t us_dev_next_deadline(struct us_dev *d, us_time_t now) { return d->ops->next_deadline ? d->ops->next_deadline(d, now) : US_TIME_NEVER; }
static inline int us_dev_fd(struct us_dev *d) { return d->ops->fd ? d->ops->fd(d) : -1; }
/* Flushes the device and every device beneath it. */
static inline void us_dev_flush(struct us_dev *d, us_time_t now)
{
    for (; d; d = d->lower)
        if (d->ops->flush)
            d->ops->flush(d, now);
}
/* Destroys the device and every device beneath it. */
void us_dev_destroy(struct us_dev *d);

/* ---- pipe: an in-memory link between two stacks in one process ----------- */
/* Frames sent on one end are received on the other at the same `now`.
 * Creates both ends; each gets its own MAC. */
int us_pipe_pair(struct us_pktpool *pool, uint16_t mtu, const uint8_t mac_a[6], const uint8_t mac_b[6],
                 struct us_dev **a, struct us_dev **b);

/* ---- tap: an existing Linux TAP device (IFF_TAP | IFF_NO_PI) ------------- */
/* On failure returns NULL and writes a one-line explanation into err. */
struct us_dev *us_tap_open(const char *ifname, struct us_pktpool *pool, uint16_t mtu,
                           const uint8_t mac[6], char *err, size_t errlen);
/* US_TAP_GSO: a virtio_net_hdr on every frame (IFF_VNET_HDR); consecutive TCP
 * segments of a burst leave as one GSO super-frame of up to 64 KB, which the
 * kernel takes as one packet (see src/link/tap.c). */
#define US_TAP_GSO 1u
/* With US_TAP_GSO: join segments without verifying their checksums first (by
 * default a segment with a wrong one leaves alone, for the kernel to drop) —
 * for a caller whose devices above the TAP never alter a frame. */
#define US_TAP_GSO_TRUST 2u
struct us_dev *us_tap_open_flags(const char *ifname, struct us_pktpool *pool, uint16_t mtu,
                                 const uint8_t mac[6], unsigned flags, char *err, size_t errlen);

/* ---- capture: pcap of every frame in both directions --------------------- */
/* virtual_ts: stamp frames with `now` as given (simulation) — in real time the
 * caller passes the wall-clock offset so stamps are real dates.
 * ts_offset_ns is added to `now` for the pcap time stamp. */
struct us_dev *us_capture_new(struct us_dev *lower, const char *path, us_time_t ts_offset_ns,
                              char *err, size_t errlen);
void us_capture_flush(struct us_dev *cap);

/* ---- impair: seeded link impairments ------------------------------------- */
struct us_impair_dir {
    double loss;            /* random loss probability 0..1 */
    /* Gilbert–Elliott burst loss: p = P(good->bad), r = P(bad->good),
     * loss_good/loss_bad = loss probability in each state. ge_p = 0 disables. */
    double ge_p, ge_r, ge_loss_good, ge_loss_bad;
    us_time_t delay;        /* fixed one-way delay */
    us_time_t jitter;       /* uniform extra delay 0..jitter (does not reorder unless reorder>0) */
    uint64_t rate_bps;      /* bits per second, 0 = unlimited */
    uint32_t queue_bytes;   /* byte bound of the rate-limit queue (0 = 64 KiB default) */
    double reorder;         /* probability a frame is held back by reorder_gap */
    us_time_t reorder_gap;  /* extra delay of a reordered frame (0 = 1 ms default) */
    double dup;             /* probability a frame is duplicated */
    double corrupt;         /* probability one payload byte is flipped */
};
struct us_impair_config {
    struct us_impair_dir tx, rx; /* tx: frames the stack sends; rx: frames it receives */
    uint64_t seed;
};
struct us_dev *us_impair_new(struct us_dev *lower, const struct us_impair_config *cfg);
/* Change the impairments at run time (e.g. a scenario that silences the link). */
void us_impair_set(struct us_dev *imp, const struct us_impair_config *cfg);
/* Hook to drop specific frames in scenario tests: return true to drop.
 * dir: 0 = tx, 1 = rx. Called before the random impairments. */
typedef bool (*us_impair_filter_fn)(void *arg, int dir, const uint8_t *frame, uint32_t len, us_time_t now);
void us_impair_set_filter(struct us_dev *imp, us_impair_filter_fn fn, void *arg);
/* Hook that may rewrite a frame in place (same length), called after the
 * filter for frames that were not dropped: a middlebox in scenario tests (e.g.
 * one that strips the window-scale option). The hook fixes checksums itself. */
typedef void (*us_impair_mangle_fn)(void *arg, int dir, uint8_t *frame, uint32_t len, us_time_t now);
void us_impair_set_mangle(struct us_dev *imp, us_impair_mangle_fn fn, void *arg);
/* Hook that sees the rate-limit queue (rate_bps > 0): called for every frame
 * admitted to it with its sojourn, the time it waits there before its
 * serialisation starts (0 on an idle link). Queueing delay per packet at the
 * bottleneck, as a scenario measures it; tail drops are impair_queue_drop. */
typedef void (*us_impair_queue_fn)(void *arg, int dir, us_time_t sojourn, uint32_t len, us_time_t now);
void us_impair_set_queue_hook(struct us_dev *imp, us_impair_queue_fn fn, void *arg);

#endif
