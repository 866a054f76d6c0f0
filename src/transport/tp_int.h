/* The transport interface's backend table (include/ustack/transport.h). */
#ifndef US_TP_INT_H
#define US_TP_INT_H

#include <ustack/transport.h>

struct us_tp_ops {
    const char *name;
    void (*free)(struct us_tp *t);
    int (*listen)(struct us_tp *t, const struct us_tp_addr *a, int backlog, us_time_t now);
    int (*accept)(struct us_tp *t, int lfd, struct us_tp_addr *peer, us_time_t now);
    int (*connect)(struct us_tp *t, const struct us_tp_addr *a, us_time_t now);
    int (*error)(struct us_tp *t, int fd);
    ssize_t (*read)(struct us_tp *t, int fd, void *buf, size_t len, us_time_t now);
    ssize_t (*writev)(struct us_tp *t, int fd, const struct iovec *iov, int iovcnt, us_time_t now);
    int (*shutdown)(struct us_tp *t, int fd, us_time_t now);
    int (*close)(struct us_tp *t, int fd, us_time_t now);
    int (*setopt)(struct us_tp *t, int fd, int opt, int val, us_time_t now);
    int (*addr)(struct us_tp *t, int fd, struct us_tp_addr *a, bool peer);
    int (*udp_open)(struct us_tp *t, const struct us_tp_addr *a, us_time_t now);
    ssize_t (*sendto)(struct us_tp *t, int fd, const void *buf, size_t len, const struct us_tp_addr *to, us_time_t now);
    ssize_t (*recvfrom)(struct us_tp *t, int fd, void *buf, size_t len, struct us_tp_addr *from, us_time_t now);
    int (*random)(struct us_tp *t, void *buf, size_t len);
    int (*watch)(struct us_tp *t, int fd, unsigned events, void *ctx);
    int (*poll)(struct us_tp *t, struct us_tp_event *ev, int max, us_time_t now);
    int (*wait)(struct us_tp *t, us_time_t deadline);
    us_time_t (*now)(struct us_tp *t);
};

/* Every backend's struct starts with this. */
struct us_tp { const struct us_tp_ops *ops; };

/* Descriptors per transport, kept by both backends: which are open (closed
 * by us_tp_free), and the interest in each — a dense array of the watched
 * ones (what a poll walks) and a slot index by descriptor. */
struct us_tp_watch {
    int fd;
    unsigned events;
    void *ctx;
};
struct us_tp_watchset {
    struct us_tp_watch *w;
    uint32_t n, cap;
    int32_t *slot;        /* slot[fd]: index into w, or -1 */
    uint8_t *open;        /* open[fd]: opened through this transport */
    uint32_t nslot;
};
/* Records a descriptor the backend opened (-ENOMEM when it cannot). */
int us_tp_ws_open(struct us_tp_watchset *ws, int fd);
/* Forgets a descriptor being closed, with its interest. */
void us_tp_ws_close(struct us_tp_watchset *ws, int fd);
/* Calls fn for every descriptor still open, then frees the set. */
void us_tp_ws_free_each(struct us_tp_watchset *ws, void (*fn)(void *arg, int fd), void *arg);
/* Sets (events != 0) or drops (events == 0) interest. Returns the slot
 * index, -1 when dropped, or -ENOMEM. */
int us_tp_ws_set(struct us_tp_watchset *ws, int fd, unsigned events, void *ctx);
struct us_tp_watch *us_tp_ws_get(struct us_tp_watchset *ws, int fd);

#endif
