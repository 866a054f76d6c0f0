/* The socket layer as the composition root sees it. Its BSD-like calls are the
 * public API (include/ustack/ustack.h); below it are TCP and UDP. */
#ifndef US_SOCKET_SOCKET_H
#define US_SOCKET_SOCKET_H

#include "../tcp/tcp.h"
#include "../udp/udp.h"

#define US_SOCK_SLOT 4              /* st->slot[] / st->ctr[] index (src/core/core.h) */

/* 0, or -errno with the reason in err. */
int us_sock_init(struct us_stack *st, char *err, size_t errlen);
void us_sock_fini(struct us_stack *st);

#endif
