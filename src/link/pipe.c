/* pipe: an in-memory Ethernet link between two devices in one process.
 *
 * Sending on one end moves the packet (no copy) onto the other end's receive
 * queue, where it is ready at the same `now`. Both ends share one refcounted
 * link object, so they can be destroyed independently in any order; a frame
 * sent after the peer is gone is dropped and counted. Both ends use the same
 * packet pool, so a packet may be freed by either side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dev.h>

#define PIPE_RXQ_MAX 4096u /* frames waiting on one end before tail drop */

struct pipe_end;

struct pipe_link {
    int refs;
    struct pipe_end *end[2];
};

struct pipe_end {
    struct us_dev dev;   /* first: the device pointer is the end pointer */
    struct pipe_link *link;
    int side;
    struct us_pktq rxq;
};

static struct pipe_end *pipe_end_of(struct us_dev *d) { return (struct pipe_end *)(void *)d; }

static int pipe_drop(struct us_dev *dev, struct us_pkt *pkt, int err)
{
    dev->stats.tx_drops++;
    us_pkt_free(pkt);
    return err;
}

static int pipe_xmit(struct us_dev *dev, struct us_pkt *pkt, us_time_t now)
{
    struct pipe_end *me = pipe_end_of(dev);
    struct pipe_end *peer = me->link->end[!me->side];
    if (pkt->len > (uint32_t)dev->mtu + 14u)
        return pipe_drop(dev, pkt, -EMSGSIZE);
    if (!peer)
        return pipe_drop(dev, pkt, -ENETDOWN);
    if (peer->rxq.count >= PIPE_RXQ_MAX)
        return pipe_drop(dev, pkt, -ENOBUFS);
    dev->stats.tx_frames++;
    dev->stats.tx_bytes += pkt->len;
    pkt->ts = now;
    us_pktq_push(&peer->rxq, pkt);
    return 0;
}

static int pipe_recv(struct us_dev *dev, struct us_pkt **pkts, int max, us_time_t now)
{
    (void)now;
    struct pipe_end *me = pipe_end_of(dev);
    int n = 0;
    while (n < max && me->rxq.head) {
        struct us_pkt *p = us_pktq_pop(&me->rxq);
        dev->stats.rx_frames++;
        dev->stats.rx_bytes += p->len;
        pkts[n++] = p;
    }
    return n;
}

static us_time_t pipe_next_deadline(struct us_dev *dev, us_time_t now)
{
    return pipe_end_of(dev)->rxq.head ? now : US_TIME_NEVER;
}

static int pipe_fd(struct us_dev *dev)
{
    (void)dev;
    return -1;
}

static void pipe_destroy(struct us_dev *dev)
{
    struct pipe_end *me = pipe_end_of(dev);
    struct pipe_link *l = me->link;
    us_pktq_purge(&me->rxq);
    l->end[me->side] = NULL;
    if (--l->refs == 0)
        free(l);
    free(me);
}

static const struct us_dev_ops pipe_ops = {
    .xmit = pipe_xmit,
    .recv = pipe_recv,
    .next_deadline = pipe_next_deadline,
    .fd = pipe_fd,
    .destroy = pipe_destroy,
};

static struct pipe_end *pipe_end_new(struct pipe_link *l, int side, struct us_pktpool *pool,
                                     uint16_t mtu, const uint8_t mac[6])
{
    struct pipe_end *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->dev.ops = &pipe_ops;
    e->dev.pool = pool;
    e->dev.mtu = mtu;
    memcpy(e->dev.mac, mac, 6);
    snprintf(e->dev.name, sizeof(e->dev.name), "pipe%c", side ? 'b' : 'a');
    e->link = l;
    e->side = side;
    us_pktq_init(&e->rxq);
    l->end[side] = e;
    l->refs++;
    return e;
}

int us_pipe_pair(struct us_pktpool *pool, uint16_t mtu, const uint8_t mac_a[6], const uint8_t mac_b[6],
                 struct us_dev **a, struct us_dev **b)
{
    if (!pool || !mac_a || !mac_b || !a || !b || mtu == 0)
        return -EINVAL;
    struct pipe_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    struct pipe_end *ea = pipe_end_new(l, 0, pool, mtu, mac_a);
    struct pipe_end *eb = ea ? pipe_end_new(l, 1, pool, mtu, mac_b) : NULL;
    if (!eb) {
        if (ea)
            pipe_destroy(&ea->dev);
        else
            free(l);
        return -ENOMEM;
    }
    *a = &ea->dev;
    *b = &eb->dev;
    return 0;
}
