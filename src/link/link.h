/* The link layer as the layers above and the composition root see it:
 * Ethernet II framing and ARP over one device. */
#ifndef US_LINK_LINK_H
#define US_LINK_LINK_H

#include "../core/core.h"
#include "../wire/wire.h"           /* US_ETH_HLEN, ethertypes: wire formats are layer-neutral */

#define US_LINK_SLOT 0              /* st->slot[] / st->ctr[] index (src/core/core.h) */

/* Where received IPv4 datagrams go (pkt->data = IP header; ownership passes). */
typedef void (*us_link_rx_fn)(struct us_stack *st, struct us_pkt *pkt, us_time_t now);

/* Sends a gratuitous ARP if configured. 0, or -errno with the reason in err. */
int us_link_init(struct us_stack *st, us_link_rx_fn ip_input, us_time_t now, char *err, size_t errlen);
void us_link_fini(struct us_stack *st);
/* A received frame (ownership passes). */
void us_eth_input(struct us_stack *st, struct us_pkt *frame, us_time_t now);
/* Send an IPv4 datagram (pkt->data = IP header) to next hop `nexthop`; resolves
 * with ARP, queueing while unresolved. Takes ownership. Returns 0 or -errno. */
int us_eth_output_ip(struct us_stack *st, struct us_pkt *pkt, us_ip4_t nexthop, us_time_t now);
/* ARP cache look-ups for tests and netstat. Returns 1 if resolved. */
int us_arp_lookup(struct us_stack *st, us_ip4_t ip, uint8_t mac[6]);

#endif
