/* The netstat table's rows. Columns: descriptor (-1: none holds it), state,
 * addresses, queues, cwnd and ssthresh (bytes), smoothed and minimum RTT,
 * retransmissions, the congestion control with its state (bbr:probe_bw_up),
 * the delivery and pacing rates, RACK's reordering window (0 until reordering
 * is seen), the D-SACKs received and the spurious recoveries undone (by
 * D-SACK or by timestamps). */
#include "netstat.h"

void netstat_header(FILE *out)
{
    fprintf(out, "%-4s %-12s %-21s %-21s %8s %8s %8s %8s %8s %9s %6s %-20s %9s %9s %7s %6s %5s\n", "fd", "state",
            "local", "remote", "recv-q", "send-q", "cwnd", "ssthresh", "srtt-ms", "minrtt-ms", "retx", "cc[:state]",
            "dlv-Mbit", "pace-Mbit", "reo-ms", "dsack", "undo");
}

static const char *ipstr(us_ip4_t a, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255u, (a >> 8) & 255u, a & 255u);
    return buf;
}

void netstat_row(FILE *out, const struct us_conn_info *c)
{
    char la[16], ra[16], l[24], r[24];
    snprintf(l, sizeof(l), "%s:%u", ipstr(c->local.addr, la), c->local.port);
    snprintf(r, sizeof(r), "%s:%u", ipstr(c->remote.addr, ra), c->remote.port);
    const struct us_tcp_info *t = &c->info;
    char cc[40];
    snprintf(cc, sizeof(cc), "%s%s%s", t->cc, t->cc_state ? ":" : "", t->cc_state ? t->cc_state : "");
    /* min RTT: the rate samples' (RACK connections), else RACK's windowed one */
    us_time_t min_rtt = t->min_rtt ? t->min_rtt : t->rack_min_rtt;
    fprintf(out, "%-4d %-12s %-21s %-21s %8u %8u %8u %8u %8.1f %9.2f %6llu %-20s %9.2f %9.2f %7.2f %6llu %5llu\n",
            c->fd, us_tcp_state_name(t->state), l, r, t->recv_queue, t->send_queue, t->cwnd, t->ssthresh,
            (double)t->srtt / 1e6, (double)min_rtt / 1e6, (unsigned long long)t->retransmits, cc,
            (double)t->delivery_rate * 8 / 1e6, (double)t->pacing_rate * 8 / 1e6, (double)t->reo_wnd / 1e6,
            (unsigned long long)t->dsacks_received, (unsigned long long)(t->undo_dsack + t->undo_eifel));
}
