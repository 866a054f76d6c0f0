/* TCP as seen by the socket layer and the composition root. A control block
 * (struct us_tcb) is created by us_tcp_open (or by a listener, handed out by
 * us_tcp_accept); TCP knows nothing of descriptors. After us_tcp_close the
 * control block may live on (FIN_WAIT, TIME_WAIT…) and TCP frees it itself. */
#ifndef US_TCP_TCP_H
#define US_TCP_TCP_H

#include "../ip/ip.h"

#define US_TCP_SLOT 3               /* st->slot[] / st->ctr[] index (src/core/core.h) */

struct us_tcb;

/* 0, or -errno with the reason in err (e.g. an unknown congestion control). */
int us_tcp_init(struct us_stack *st, char *err, size_t errlen);
void us_tcp_fini(struct us_stack *st);
/* Entry points from IP (registered by the composition root). */
void us_tcp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now);
/* ICMP error about a segment we sent (parsed by IP). */
void us_tcp_icmp_error(struct us_stack *st, const struct us_icmp_err *e, us_time_t now);

/* New control block in CLOSED with the stack's defaults; NULL + *err = -ENOMEM/-EMFILE. */
struct us_tcb *us_tcp_open(struct us_stack *st, int *err);
int us_tcp_bind(struct us_stack *st, struct us_tcb *tcb, const struct us_sockaddr *addr);
int us_tcp_listen(struct us_stack *st, struct us_tcb *tcb, int backlog);
/* 0 and *child set, or -EAGAIN / -EINVAL. */
int us_tcp_accept(struct us_stack *st, struct us_tcb *tcb, struct us_tcb **child, struct us_sockaddr *peer, us_time_t now);
/* -EINPROGRESS when the SYN went out; later calls: -EALREADY, -EISCONN, or the error. */
int us_tcp_connect(struct us_stack *st, struct us_tcb *tcb, const struct us_sockaddr *addr, us_time_t now);
ssize_t us_tcp_send(struct us_stack *st, struct us_tcb *tcb, const void *buf, size_t len, us_time_t now);
/* 0 = end of stream (FIN received and all data read). peek: copy without
 * consuming (the receive window does not move). */
ssize_t us_tcp_recv(struct us_stack *st, struct us_tcb *tcb, void *buf, size_t len, bool peek, us_time_t now);
int us_tcp_shutdown(struct us_stack *st, struct us_tcb *tcb, int how, us_time_t now);
/* Releases the descriptor's hold; the control block is freed by TCP when done. */
int us_tcp_close(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
int us_tcp_setsockopt(struct us_stack *st, struct us_tcb *tcb, int level, int name, const void *val, size_t len, us_time_t now);
int us_tcp_getsockopt(struct us_stack *st, struct us_tcb *tcb, int level, int name, void *val, size_t *len);
/* US_POLLIN / US_POLLOUT / US_POLLERR / US_POLLHUP that hold now. */
short us_tcp_poll(struct us_stack *st, struct us_tcb *tcb);
int us_tcp_getname(struct us_stack *st, struct us_tcb *tcb, struct us_sockaddr *local, struct us_sockaddr *remote);
int us_tcp_get_info(struct us_stack *st, struct us_tcb *tcb, struct us_tcp_info *info);

/* Every control block (listeners, connections, closed ones TCP still keeps),
 * for netstat: the socket layer adds the descriptors. */
struct us_tcp_row {
    struct us_tcb *tcb;
    struct us_sockaddr local, remote;
    struct us_tcp_info info;
};
void us_tcp_each(struct us_stack *st, void (*fn)(void *arg, const struct us_tcp_row *r), void *arg);

/* Fault injection for scenario tests (STALL.md way 4): the next n in-window
 * data segments are dropped as if memory had run out. */
void us_tcp_fault_rx_nomem(struct us_stack *st, uint32_t n);

#endif
