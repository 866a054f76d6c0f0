/* capture: a stacked device that writes every frame passing through it, in
 * both directions, to a pcap file (LINKTYPE_ETHERNET, nanosecond stamps).
 *
 * tx frames are written before they are handed to the device below, rx frames
 * after they come up from it, so the file shows exactly what the stack sent and
 * received. Time stamps are `now + ts_offset_ns`: virtual time in the
 * simulator, the wall clock in real time (the caller passes the offset). */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dev.h>

#define CAP_SNAPLEN 65535

struct cap_dev {
    struct us_dev dev;   /* first: the device pointer is the capture pointer */
    pcap_t *pd;
    pcap_dumper_t *dumper;
    us_time_t ts_offset;
};

static struct cap_dev *cap_of(struct us_dev *d) { return (struct cap_dev *)(void *)d; }

static void cap_write(struct cap_dev *c, const struct us_pkt *p, us_time_t now)
{
    us_time_t ts = now + c->ts_offset;
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof(h));
    /* With PCAP_TSTAMP_PRECISION_NANO the tv_usec field carries nanoseconds. */
    h.ts.tv_sec = (time_t)(ts / 1000000000u);
    h.ts.tv_usec = (suseconds_t)(ts % 1000000000u);
    h.len = p->len;
    h.caplen = p->len < CAP_SNAPLEN ? p->len : CAP_SNAPLEN;
    pcap_dump((u_char *)c->dumper, &h, p->data);
}

static int cap_xmit(struct us_dev *dev, struct us_pkt *pkt, us_time_t now)
{
    struct cap_dev *c = cap_of(dev);
    cap_write(c, pkt, now);
    dev->stats.tx_frames++;
    dev->stats.tx_bytes += pkt->len;
    return us_dev_xmit(dev->lower, pkt, now);
}

static int cap_recv(struct us_dev *dev, struct us_pkt **pkts, int max, us_time_t now)
{
    struct cap_dev *c = cap_of(dev);
    int n = us_dev_recv(dev->lower, pkts, max, now);
    for (int i = 0; i < n; i++) {
        cap_write(c, pkts[i], now);
        dev->stats.rx_frames++;
        dev->stats.rx_bytes += pkts[i]->len;
    }
    return n;
}

static us_time_t cap_next_deadline(struct us_dev *dev, us_time_t now)
{
    return us_dev_next_deadline(dev->lower, now);
}

static int cap_fd(struct us_dev *dev) { return us_dev_fd(dev->lower); }

static void cap_destroy(struct us_dev *dev)
{
    struct cap_dev *c = cap_of(dev);
    pcap_dump_close(c->dumper); /* flushes */
    pcap_close(c->pd);
    us_dev_destroy(dev->lower);
    free(c);
}

static const struct us_dev_ops cap_ops = {
    .xmit = cap_xmit,
    .recv = cap_recv,
    .next_deadline = cap_next_deadline,
    .fd = cap_fd,
    .destroy = cap_destroy,
};

struct us_dev *us_capture_new(struct us_dev *lower, const char *path, us_time_t ts_offset_ns,
                              char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (!lower || !path) {
        snprintf(err, errlen, "us_capture_new: a lower device and a path are required");
        return NULL;
    }
    struct cap_dev *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "us_capture_new: out of memory");
        return NULL;
    }
    c->pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, CAP_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
    if (!c->pd) {
        snprintf(err, errlen, "pcap_open_dead: failed");
        free(c);
        return NULL;
    }
    c->dumper = pcap_dump_open(c->pd, path);
    if (!c->dumper) {
        snprintf(err, errlen, "pcap_dump_open(%s): %s", path, pcap_geterr(c->pd));
        pcap_close(c->pd);
        free(c);
        return NULL;
    }
    c->ts_offset = ts_offset_ns;
    c->dev.ops = &cap_ops;
    c->dev.lower = lower;
    c->dev.pool = lower->pool;
    c->dev.mtu = lower->mtu;
    memcpy(c->dev.mac, lower->mac, 6);
    snprintf(c->dev.name, sizeof(c->dev.name), "cap:%.27s", lower->name);
    return &c->dev;
}

void us_capture_flush(struct us_dev *cap)
{
    /* Accept any device in a stack: flush the first capture found going down. */
    for (struct us_dev *d = cap; d; d = d->lower) {
        if (d->ops == &cap_ops) {
            pcap_dump_flush(cap_of(d)->dumper);
            return;
        }
    }
}
