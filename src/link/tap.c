/* tap: attach to an existing Linux TAP interface through /dev/net/tun.
 *
 * The caller creates the interface (usually persistent, inside a network
 * namespace: `ip tuntap add dev X mode tap && ip link set X up`); we only
 * attach. TUNSETIFF on a missing name would silently create a fresh,
 * non-persistent interface nobody configured, so we check that it exists
 * first and explain how to create it instead. Frames carry no packet-info
 * header (IFF_NO_PI) and no FCS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <ustack/dev.h>

struct tap_dev {
    struct us_dev dev;   /* first: the device pointer is the tap pointer */
    int fd;
};

static struct tap_dev *tap_of(struct us_dev *d) { return (struct tap_dev *)(void *)d; }

static int tap_xmit(struct us_dev *dev, struct us_pkt *pkt, us_time_t now)
{
    (void)now;
    struct tap_dev *t = tap_of(dev);
    ssize_t n = write(t->fd, pkt->data, pkt->len);
    int err = n < 0 ? errno : 0;
    uint32_t len = pkt->len;
    us_pkt_free(pkt);
    if (n < 0) {
        /* EAGAIN: the kernel's queue is full — a full link drops, like a NIC. */
        dev->stats.tx_drops++;
        return -err;
    }
    dev->stats.tx_frames++;
    dev->stats.tx_bytes += len;
    return 0;
}

static int tap_recv(struct us_dev *dev, struct us_pkt **pkts, int max, us_time_t now)
{
    struct tap_dev *t = tap_of(dev);
    int n = 0;
    while (n < max) {
        struct us_pkt *p = us_pkt_alloc(dev->pool);
        if (!p)
            break; /* frames stay in the kernel queue until buffers return */
        ssize_t r = read(t->fd, p->data, us_pkt_tailroom(p));
        if (r <= 0) {
            us_pkt_free(p);
            if (r < 0 && errno == EINTR)
                continue;
            break; /* EAGAIN: drained; other errors: retried at the next poll */
        }
        /* A frame above the MTU does not belong on this link (or was cut to
         * fit the buffer): drop it rather than hand up a truncated frame. */
        if ((size_t)r > (size_t)dev->mtu + 14u) {
            dev->stats.rx_drops++;
            us_pkt_free(p);
            continue;
        }
        p->len = (uint32_t)r;
        p->ts = now;
        dev->stats.rx_frames++;
        dev->stats.rx_bytes += (uint64_t)r;
        pkts[n++] = p;
    }
    return n;
}

static us_time_t tap_next_deadline(struct us_dev *dev, us_time_t now)
{
    (void)dev;
    (void)now;
    return US_TIME_NEVER; /* frames arrive through the fd */
}

static int tap_fd(struct us_dev *dev) { return tap_of(dev)->fd; }

static void tap_destroy(struct us_dev *dev)
{
    struct tap_dev *t = tap_of(dev);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

static const struct us_dev_ops tap_ops = {
    .xmit = tap_xmit,
    .recv = tap_recv,
    .next_deadline = tap_next_deadline,
    .fd = tap_fd,
    .destroy = tap_destroy,
};

static void tap_explain_missing(const char *ifname, char *err, size_t errlen)
{
    snprintf(err, errlen, "tap device '%s' not found: create it with: ip tuntap add dev %s mode tap && ip link set %s up",
             ifname, ifname, ifname);
}

static void tap_explain_ioctl(const char *ifname, int e, char *err, size_t errlen)
{
    switch (e) {
    case EPERM:
    case EACCES:
        snprintf(err, errlen, "no permission to attach to tap device '%s' (TUNSETIFF: %s): run as root or give CAP_NET_ADMIN",
                 ifname, strerror(e));
        break;
    case EBUSY:
        snprintf(err, errlen, "tap device '%s' is busy (TUNSETIFF: %s): another process is attached to it", ifname,
                 strerror(e));
        break;
    case EINVAL:
        snprintf(err, errlen, "'%s' is not a tap device (TUNSETIFF: %s): create one with: ip tuntap add dev %s mode tap",
                 ifname, strerror(e), ifname);
        break;
    default:
        snprintf(err, errlen, "cannot attach to tap device '%s': TUNSETIFF: %s", ifname, strerror(e));
        break;
    }
}

static int tap_attach(const char *ifname, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EPERM || e == EACCES)
            snprintf(err, errlen, "no permission to open /dev/net/tun: run as root or give CAP_NET_ADMIN");
        else if (e == ENOENT || e == ENODEV || e == ENXIO)
            snprintf(err, errlen, "open /dev/net/tun: %s: load the tun module (modprobe tun)", strerror(e));
        else
            snprintf(err, errlen, "open /dev/net/tun: %s", strerror(e));
        return -e;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, ifname, strlen(ifname)); /* length checked by the caller */
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ENODEV)
            tap_explain_missing(ifname, err, errlen);
        else
            tap_explain_ioctl(ifname, e, err, errlen);
        return -e;
    }
    return fd;
}

struct us_dev *us_tap_open(const char *ifname, struct us_pktpool *pool, uint16_t mtu,
                           const uint8_t mac[6], char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
        snprintf(err, errlen, "invalid tap device name '%s' (1..%d characters)", ifname ? ifname : "", IFNAMSIZ - 1);
        return NULL;
    }
    if (!pool || !mac || mtu == 0) {
        snprintf(err, errlen, "us_tap_open: pool, MAC and MTU are required");
        return NULL;
    }
    if (if_nametoindex(ifname) == 0) {
        tap_explain_missing(ifname, err, errlen);
        return NULL;
    }
    int fd = tap_attach(ifname, err, errlen);
    if (fd < 0)
        return NULL;
    struct tap_dev *t = calloc(1, sizeof(*t));
    if (!t) {
        close(fd);
        snprintf(err, errlen, "us_tap_open: out of memory");
        return NULL;
    }
    t->fd = fd;
    t->dev.ops = &tap_ops;
    t->dev.pool = pool;
    t->dev.mtu = mtu;
    memcpy(t->dev.mac, mac, 6);
    snprintf(t->dev.name, sizeof(t->dev.name), "tap:%s", ifname);
    return &t->dev;
}
