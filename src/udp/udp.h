/* UDP as seen by the socket layer and the composition root. */
#ifndef US_UDP_UDP_H
#define US_UDP_UDP_H

#include "../ip/ip.h"

#define US_UDP_SLOT 2               /* st->slot[] / st->ctr[] index (src/core/core.h) */

struct us_udp_pcb;

/* 0, or -errno with the reason in err. */
int us_udp_init(struct us_stack *st, char *err, size_t errlen);
void us_udp_fini(struct us_stack *st);
/* Entry points from IP (registered by the composition root). */
void us_udp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now);
/* ICMP error about a datagram we sent (parsed by IP). */
void us_udp_icmp_error(struct us_stack *st, const struct us_icmp_err *e, us_time_t now);

struct us_udp_pcb *us_udp_open(struct us_stack *st, int *err);
int us_udp_bind(struct us_stack *st, struct us_udp_pcb *pcb, const struct us_sockaddr *addr);
int us_udp_connect(struct us_stack *st, struct us_udp_pcb *pcb, const struct us_sockaddr *addr);
ssize_t us_udp_sendto(struct us_stack *st, struct us_udp_pcb *pcb, const void *buf, size_t len,
                      const struct us_sockaddr *to, us_time_t now);
/* -EAGAIN when nothing is queued; -ECONNREFUSED once after a port unreachable
 * for a connected socket. Excess bytes of a datagram are discarded, unless
 * peek: then the whole datagram stays queued. */
ssize_t us_udp_recvfrom(struct us_stack *st, struct us_udp_pcb *pcb, void *buf, size_t len,
                        struct us_sockaddr *from, bool peek);
void us_udp_close(struct us_stack *st, struct us_udp_pcb *pcb);
short us_udp_poll(struct us_stack *st, struct us_udp_pcb *pcb);
int us_udp_getname(struct us_stack *st, struct us_udp_pcb *pcb, struct us_sockaddr *local, struct us_sockaddr *remote);
int us_udp_setsockopt(struct us_stack *st, struct us_udp_pcb *pcb, int level, int name, const void *val, size_t len);
int us_udp_getsockopt(struct us_stack *st, struct us_udp_pcb *pcb, int level, int name, void *val, size_t *len);

#endif
