/* UDP as seen by the socket layer. */
#ifndef US_UDP_UDP_H
#define US_UDP_UDP_H

#include "../core/stack.h"

struct us_udp_pcb;

struct us_udp_pcb *us_udp_open(struct us_stack *st, int *err);
int us_udp_bind(struct us_stack *st, struct us_udp_pcb *pcb, const struct us_sockaddr *addr);
int us_udp_connect(struct us_stack *st, struct us_udp_pcb *pcb, const struct us_sockaddr *addr);
ssize_t us_udp_sendto(struct us_stack *st, struct us_udp_pcb *pcb, const void *buf, size_t len,
                      const struct us_sockaddr *to, us_time_t now);
/* -EAGAIN when nothing is queued; -ECONNREFUSED once after a port unreachable
 * for a connected socket. Excess bytes of a datagram are discarded. */
ssize_t us_udp_recvfrom(struct us_stack *st, struct us_udp_pcb *pcb, void *buf, size_t len,
                        struct us_sockaddr *from);
void us_udp_close(struct us_stack *st, struct us_udp_pcb *pcb);
short us_udp_poll(struct us_stack *st, struct us_udp_pcb *pcb);
int us_udp_getname(struct us_stack *st, struct us_udp_pcb *pcb, struct us_sockaddr *local, struct us_sockaddr *remote);
int us_udp_setsockopt(struct us_stack *st, struct us_udp_pcb *pcb, int level, int name, const void *val, size_t len);
int us_udp_getsockopt(struct us_stack *st, struct us_udp_pcb *pcb, int level, int name, void *val, size_t *len);

#endif
