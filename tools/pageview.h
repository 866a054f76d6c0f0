/* Printing and plotting a page load (scen.h's struct page_result): the
 * waterfall, the totals, the comparison table of several strategies, the
 * plots. Shared by `ustack page`, `ustack sim page` and `ustack demo`
 * (tools/cmd_page.c). */
#ifndef US_TOOLS_PAGEVIEW_H
#define US_TOOLS_PAGEVIEW_H

#include <stdbool.h>
#include "scen.h"

/* One line per request: when it started, its DNS, connect, wait and receive
 * times, connection, bytes; `server_cwnd`: the server's cwnd column (the
 * simulator), else the bytes of the first round trip (what a client sees). */
void page_print_waterfall(const struct page_result *r, bool server_cwnd);
void page_print_totals(const struct page_result *r, bool server_cwnd);
/* One row per strategy. */
void page_print_table(const struct page_result *const *r, int n, bool server_cwnd);
/* FILE (several: FILE-STRATEGY.EXT): the waterfall; with server_cwnd also
 * FILE-cwnd.EXT, the server's cwnd per connection over time. Prints where
 * they went; 0, or 1 after printing the error. */
int page_plot(const struct page_result *r, const char *file, bool several, bool server_cwnd);
/* One line per strategy: which of the seeds' costs (DNS per request, a
 * handshake per request, a slow start per connection, a round trip per
 * request) it avoided and which it still pays, with the numbers. */
void page_print_lessons(const struct page_result *const *r, int n);
/* FILE with "-NAME" before the extension into out. */
void page_plot_name(const char *file, const char *name, char *out, size_t len);

#endif
