/* Aborting every connection at once: what a kernel does for the sockets of a
 * process that exits, for a program that stops (ustack on SIGTERM). Peers of a
 * synchronized connection (RFC 9293 3.3.2: ESTABLISHED through LAST_ACK) get a
 * RST, as for an abort (RFC 9293 3.10.5) — they would otherwise wait forever
 * for data or a FIN that never comes. SYN_SENT, SYN_RECEIVED and TIME_WAIT end
 * silently: there the peer holds nothing that needs telling (a SYN-ACK to a
 * SYN_SENT that is gone is answered with RST by the rest of the stack anyway).
 * Every connection is gone afterwards; a descriptor still naming one reads
 * ECONNABORTED. Listeners stay: they belong to their descriptors. */
#include "tcp_int.h"

static bool synchronized(uint8_t state)
{
    return state >= US_TCP_ESTABLISHED && state <= US_TCP_LAST_ACK;
}

int us_tcp_abort_all(struct us_stack *st, us_time_t now)
{
    struct us_tcp_state *t = tcp_state(st);
    int n = 0;
    if (!t)
        return 0;
    for (uint32_t i = 0; i <= t->conn_mask; i++) {
        struct us_tcb *c = t->conns[i];
        while (c) {
            struct us_tcb *next = c->hnext;   /* tcp_drop unlinks (and may free) c */
            if (synchronized(c->state)) {
                tcp_send_rst_tcb(st, c, now);
                US_COUNT(st, TCP_RST_ON_EXIT);
                n++;
            }
            tcp_drop(st, c, ECONNABORTED, now);
            c = next;
        }
    }
    return n;
}
