/* The netstat table's rows (SIGUSR1, -v at exit): one line per TCP control
 * block from us_tcp_foreach. Shared by the command and the scenario tests
 * (compiled into ustack-app); only the public API. */
#ifndef US_TOOLS_NETSTAT_H
#define US_TOOLS_NETSTAT_H

#include <stdio.h>
#include <ustack/ustack.h>

void netstat_header(FILE *out);
void netstat_row(FILE *out, const struct us_conn_info *c);

#endif
