/* tap: attach to an existing Linux TAP interface through /dev/net/tun.
 *
 * The caller creates the interface (usually persistent, inside a network
 * namespace: `ip tuntap add dev X mode tap && ip link set X up`); we only
 * attach. TUNSETIFF on a missing name would silently create a fresh,
 * non-persistent interface nobody configured, so we check that it exists
 * first and explain how to create it instead. Frames carry no packet-info
 * header (IFF_NO_PI) and no FCS.
 *
 * With US_TAP_GSO the device also carries a virtio_net_hdr (IFF_VNET_HDR) and
 * hands the kernel TCP super-frames: consecutive segments of one connection
 * that the stack sends in a burst (same headers but the sequence number, each
 * a full MSS but the last, only ACK or a final PSH set) are joined, up to 64 KB,
 * into one write with GSO_TCPV4 and gso_size = the MSS, as a guest does through
 * virtio. The kernel takes it as one GRO'd packet (a tcpdump on its side shows
 * the super-frame); every segment it stands for is still the stack's own, seen
 * one by one by the devices stacked above (capture, impairments). A joined
 * frame waits until a segment does not fit, one marked US_PKT_F_END has joined
 * (TCP's chunks of half of cwnd), or the driver flushes the device
 * (us_dev_flush: before it waits, after each poll). Received frames are plain:
 * no offloads are offered to the kernel (TUNSETOFFLOAD 0), so it segments and
 * checksums what it sends us. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <ustack/dev.h>
#include "../core/checksum.h"
#include "../wire/wire.h"

#define TAP_SF_MAX (14u + 65535u) /* a super-frame: Ethernet + the largest IPv4 datagram */

struct tap_dev {
    struct us_dev dev;   /* first: the device pointer is the tap pointer */
    int fd;
    bool gso;            /* IFF_VNET_HDR: super-frames out, a header on every frame */
    bool trust;          /* US_TAP_GSO_TRUST: no checksum verification before joining */
    /* The super-frame being joined (gso): sf_len bytes of frame, sf_segs
     * segments of sf_mss payload bytes (the last may be shorter: then closed). */
    uint8_t *sf;
    uint32_t sf_len, sf_segs, sf_mss, sf_hlen, sf_next_seq;
    bool sf_open;        /* another segment may still be appended */
};

static struct tap_dev *tap_of(struct us_dev *d) { return (struct tap_dev *)(void *)d; }

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += rd16(p + i);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}
static uint16_t fold16(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* One write of frame f (len bytes) behind a virtio_net_hdr h. */
static ssize_t tap_writev(struct tap_dev *t, const struct virtio_net_hdr *h, const void *f, size_t len)
{
    struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)f, len}};
    return writev(t->fd, iov, 2);
}

static int tap_count(struct us_dev *dev, ssize_t n, int err, uint32_t frames, uint32_t len)
{
    if (n < 0) {
        /* EAGAIN: the kernel's queue is full — a full link drops, like a NIC. */
        dev->stats.tx_drops += frames;
        return -err;
    }
    dev->stats.tx_frames += frames;
    dev->stats.tx_bytes += len;
    return 0;
}

/* Write the super-frame being joined: a lone segment as it is, several as one
 * GSO_TCPV4 frame whose IP length and checksum cover them all and whose TCP
 * checksum the kernel completes (NEEDS_CSUM: the field holds the pseudo-header
 * sum, as a virtio guest hands it). */
static int tap_sf_flush(struct tap_dev *t)
{
    if (!t->sf_len)
        return 0;
    struct virtio_net_hdr h;
    memset(&h, 0, sizeof(h));
    uint8_t *ip = t->sf + 14;
    uint32_t segs = t->sf_segs, len = t->sf_len;
    if (segs > 1) {
        uint32_t iplen = len - 14u, ihl = 20u;
        wr16(ip + 2, (uint16_t)iplen);
        wr16(ip + 10, 0);
        wr16(ip + 10, (uint16_t)~fold16(sum16(ip, ihl, 0)));
        uint32_t tcplen = iplen - ihl;
        uint32_t ps = sum16(ip + 12, 8, 0) + 6u + tcplen; /* addresses, protocol, TCP length */
        wr16(ip + ihl + 16, fold16(ps));
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        h.hdr_len = (uint16_t)t->sf_hlen;
        h.gso_size = (uint16_t)t->sf_mss;
        h.csum_start = (uint16_t)(14u + ihl);
        h.csum_offset = 16;
    }
    t->sf_len = 0;
    t->sf_segs = 0;
    t->sf_open = false;
    ssize_t n = tap_writev(t, &h, t->sf, len);
    return tap_count(&t->dev, n, errno, segs, len);
}

/* A frame that may start or join a super-frame: IPv4 without options or
 * fragments, TCP with data, only ACK (or ACK+PSH) set, not padded, and (unless
 * trusted) both checksums right — the kernel does not verify a super-frame
 * (NEEDS_CSUM), so a segment damaged above (--corrupt) leaves alone, as it
 * is, for the kernel to drop. Returns its header length (Ethernet + IP + TCP)
 * and payload length, or 0. */
static uint32_t tap_sf_candidate(const uint8_t *f, uint32_t len, bool trust, uint32_t *payload)
{
    if (len < 14u + 20u + 20u || rd16(f + 12) != 0x0800)
        return 0;
    const uint8_t *ip = f + 14;
    if (ip[0] != 0x45 || ip[9] != 6 || (rd16(ip + 6) & 0x3fff) != 0 || rd16(ip + 2) + 14u != len)
        return 0;
    const uint8_t *tcp = ip + 20;
    uint32_t thl = (uint32_t)(tcp[12] >> 4) * 4u;
    uint8_t flags = tcp[13];
    if (thl < 20 || 14u + 20u + thl >= len || (flags != 0x10 && flags != 0x18) || (tcp[12] & 0x0f))
        return 0;
    if (!trust && (us_csum(ip, 20) != 0 || !us_tcp_csum_ok(tcp, len - 14u - 20u, rd32(ip + 12), rd32(ip + 16))))
        return 0;
    *payload = len - 14u - 20u - thl;
    return 14u + 20u + thl;
}

/* Can frame f (header length hlen, payload pl) follow the super-frame? Same
 * Ethernet header; same IP header but length, ID and checksum; same TCP
 * header but sequence number (the next one), flags (PSH only on the last) and
 * checksum; a payload no longer than the first. */
static bool tap_sf_fits(const struct tap_dev *t, const uint8_t *f, uint32_t hlen, uint32_t pl)
{
    const uint8_t *s = t->sf;
    if (!t->sf_open || hlen != t->sf_hlen || pl > t->sf_mss || t->sf_len + pl > TAP_SF_MAX)
        return false;
    if (memcmp(f, s, 14 + 2) || memcmp(f + 14 + 6, s + 14 + 6, 4) || memcmp(f + 14 + 12, s + 14 + 12, 8))
        return false; /* Ethernet, IP version/TOS; flags/TTL/protocol; addresses */
    const uint8_t *a = f + 34, *b = s + 34;
    if (memcmp(a, b, 4) || rd32(a + 4) != t->sf_next_seq || memcmp(a + 8, b + 8, 5) || memcmp(a + 14, b + 14, 2) ||
        memcmp(a + 18, b + 18, hlen - 34 - 18))
        return false; /* ports; seq; ack, data offset; window; urgent pointer and options */
    return true;
}

static int tap_xmit_gso(struct tap_dev *t, struct us_pkt *pkt)
{
    uint32_t pl = 0, hlen = tap_sf_candidate(pkt->data, pkt->len, t->trust, &pl);
    int rc = 0;
    if (hlen && t->sf_len && tap_sf_fits(t, pkt->data, hlen, pl)) {
        memcpy(t->sf + t->sf_len, pkt->data + hlen, pl);
        t->sf_len += pl;
        t->sf_segs++;
        t->sf[34 + 13] = pkt->data[34 + 13]; /* PSH of the last segment */
    } else {
        rc = tap_sf_flush(t);
        if (!hlen) {
            struct virtio_net_hdr h;
            memset(&h, 0, sizeof(h));
            ssize_t n = tap_writev(t, &h, pkt->data, pkt->len);
            int r2 = tap_count(&t->dev, n, errno, 1, pkt->len);
            us_pkt_free(pkt);
            return rc ? rc : r2;
        }
        memcpy(t->sf, pkt->data, pkt->len);
        t->sf_len = pkt->len;
        t->sf_segs = 1;
        t->sf_hlen = hlen;
        t->sf_mss = pl;
        t->sf_open = true;
    }
    t->sf_next_seq = rd32(pkt->data + 34 + 4) + pl;
    /* Closed by a short segment, PSH, the end of the sender's chunk, or no
     * room for another full one. */
    if (pl < t->sf_mss || (pkt->data[34 + 13] & 0x08) || (pkt->flags & US_PKT_F_END) ||
        t->sf_len + t->sf_mss > TAP_SF_MAX)
        t->sf_open = false;
    us_pkt_free(pkt);
    if (!t->sf_open) {
        int r2 = tap_sf_flush(t);
        if (!rc)
            rc = r2;
    }
    return rc;
}

static void tap_flush(struct us_dev *dev, us_time_t now)
{
    (void)now;
    tap_sf_flush(tap_of(dev));
}

static int tap_xmit(struct us_dev *dev, struct us_pkt *pkt, us_time_t now)
{
    (void)now;
    struct tap_dev *t = tap_of(dev);
    if (t->gso)
        return tap_xmit_gso(t, pkt);
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
        ssize_t r;
        if (t->gso) {
            struct virtio_net_hdr h;
            struct iovec iov[2] = {{&h, sizeof(h)}, {p->data, us_pkt_tailroom(p)}};
            r = readv(t->fd, iov, 2);
            if (r > 0 && (size_t)r < sizeof(h))
                r = 0;
            else if (r > 0)
                r -= (ssize_t)sizeof(h);
        } else {
            r = read(t->fd, p->data, us_pkt_tailroom(p));
        }
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
    if (t->fd >= 0) {
        tap_sf_flush(t);
        close(t->fd);
    }
    free(t->sf);
    free(t);
}

static const struct us_dev_ops tap_ops = {
    .xmit = tap_xmit,
    .recv = tap_recv,
    .next_deadline = tap_next_deadline,
    .fd = tap_fd,
    .destroy = tap_destroy,
    .flush = tap_flush,
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

static int tap_attach(const char *ifname, bool gso, char *err, size_t errlen)
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
    ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (gso ? IFF_VNET_HDR : 0));
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
    int hsz = (int)sizeof(struct virtio_net_hdr);
    if (gso && (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0 || ioctl(fd, TUNSETOFFLOAD, 0ul) < 0)) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "tap device '%s': virtio header (TUNSETVNETHDRSZ/TUNSETOFFLOAD): %s", ifname, strerror(e));
        return -e;
    }
    return fd;
}

struct us_dev *us_tap_open(const char *ifname, struct us_pktpool *pool, uint16_t mtu,
                           const uint8_t mac[6], char *err, size_t errlen)
{
    return us_tap_open_flags(ifname, pool, mtu, mac, 0, err, errlen);
}

struct us_dev *us_tap_open_flags(const char *ifname, struct us_pktpool *pool, uint16_t mtu,
                                 const uint8_t mac[6], unsigned flags, char *err, size_t errlen)
{
    bool gso = (flags & US_TAP_GSO) != 0;
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
    int fd = tap_attach(ifname, gso, err, errlen);
    if (fd < 0)
        return NULL;
    struct tap_dev *t = calloc(1, sizeof(*t));
    if (!t) {
        close(fd);
        snprintf(err, errlen, "us_tap_open: out of memory");
        return NULL;
    }
    t->fd = fd;
    t->gso = gso;
    t->trust = gso && (flags & US_TAP_GSO_TRUST);
    if (gso && !(t->sf = malloc(TAP_SF_MAX))) {
        close(fd);
        free(t);
        snprintf(err, errlen, "us_tap_open: out of memory");
        return NULL;
    }
    t->dev.ops = &tap_ops;
    t->dev.pool = pool;
    t->dev.mtu = mtu;
    memcpy(t->dev.mac, mac, 6);
    snprintf(t->dev.name, sizeof(t->dev.name), "tap:%s", ifname);
    return &t->dev;
}
