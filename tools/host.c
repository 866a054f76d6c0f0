/* The stack a command runs on: a TAP device from the global options, with
 * impairments and a capture on top; the signals of the program (SIGINT and
 * SIGTERM stop it, SIGUSR1 asks for netstat); the loop's step; and on the way
 * out the RSTs a kernel would send for the sockets of an exiting process. */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "netstat.h"

static void log_to_stderr(void *arg, int level, us_time_t now, const char *msg)
{
    (void)arg;
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "[%llu.%06llu] %s: %s\n", (unsigned long long)(now / 1000000000ull),
            (unsigned long long)(now % 1000000000ull / 1000), names[level & 3], msg);
}

/* ---- signals ---- */
static volatile sig_atomic_t stop_sig, usr1_flag;
static bool aborted;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        usr1_flag = 1;
    else
        stop_sig = sig;
}

static bool stop_requested(void *arg)
{
    (void)arg;
    return stop_sig != 0;
}

bool cli_stopping(void) { return stop_sig != 0; }

const char *cli_signal_pending(void)
{
    sigset_t p;
    if (sigpending(&p))
        return NULL;
    return sigismember(&p, SIGINT) ? "SIGINT" : sigismember(&p, SIGTERM) ? "SIGTERM" : NULL;
}

const char *cli_stop_signal(void)
{
    return stop_sig == SIGINT ? "SIGINT" : stop_sig == SIGTERM ? "SIGTERM" : NULL;
}

/* Handlers for SIGINT, SIGTERM and SIGUSR1; the signals stay blocked except
 * while the driver waits (us_rt_set_wait_mask), so none is lost between the
 * driver's check and its wait. */
static void take_signals(struct us_rt *rt, struct us_tp *ktp)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t block, wait_mask; /* wait_mask: while the driver waits, ours unblocked */
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
        sigaddset(&block, sigs[i]);
    }
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigdelset(&wait_mask, sigs[i]);
    if (ktp) {
        us_tp_kernel_set_wait_mask(ktp, &wait_mask);
        return;
    }
    us_rt_set_wait_mask(rt, &wait_mask);
    us_rt_set_stop(rt, stop_requested, NULL);
}

/* The driver the commands use: the real-time one, plus the netstat a SIGUSR1
 * asked for after every step (the blocking wrappers step it too). */
static struct cli *host_of(struct us_driver *d) { return (struct cli *)(void *)((char *)d - offsetof(struct cli, host_drv)); }

static us_time_t host_now(struct us_driver *d)
{
    struct us_driver *rt = host_of(d)->rt_drv;
    return rt->now(rt);
}

static int host_step(struct us_driver *d, us_time_t limit)
{
    struct cli *c = host_of(d);
    int r = c->rt_drv->step(c->rt_drv, limit);
    if (usr1_flag) {
        usr1_flag = 0;
        cli_netstat(c->st, stdout);
    }
    return r;
}

/* The kernel transmits on a TAP device only once its link watch has seen
 * the carrier our open brought (operstate up, IFF_RUNNING): until then its
 * qdisc drops what it sends, so the answers to our first frames would be
 * lost and a first SYN or query would wait out a retransmission. The link
 * watch runs at once, or up to a second after the device's previous change
 * (a previous ustack that just detached). Waits for it, at most 2 s; false
 * if the kernel's side never came up (then the caller carries on). */
static bool wait_tap_running(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0)
        return false;
    bool up = false;
    for (int i = 0; i < 200 && !up; i++) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
            break;
        up = (ifr.ifr_flags & IFF_RUNNING) != 0;
        if (!up)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    close(s);
    return up;
}

int cli_setup(struct cli *c)
{
    char err[512];
    if (!c->tap)
        return cli_error("this command needs --tap NAME (a TAP device: ip tuntap add dev NAME mode tap)");
    if (!c->net.ip)
        return cli_error("this command needs --ip ADDR/PREFIX, e.g. --ip 198.18.0.2/24");
    c->pool = us_pktpool_new(US_PKT_HEADROOM + 14 + c->mtu + 64, 1u << 18);
    if (!c->pool)
        return cli_error("out of memory");
    /* GSO super-frames unless --no-gso, impaired or not: the impairments sit
     * above the TAP device and act on each segment (a lost one ends the
     * super-frame being joined: the next does not follow it), and TCP ends a
     * super-frame at half of cwnd (tcp_out.c chunk_mark), so the Linux
     * receiver, which acknowledges a super-frame at a time, still sends a few
     * ACKs per flight. Only --corrupt alters a frame above the TAP device
     * (capture does not): without it the stack's checksums need no second
     * look before segments are joined. */
    unsigned tflags = c->no_gso ? 0u : US_TAP_GSO;
    if (!c->no_gso && !(c->impaired && c->imp.tx.corrupt > 0))
        tflags |= US_TAP_GSO_TRUST;
    c->dev = us_tap_open_flags(c->tap, c->pool, c->mtu, c->mac, tflags, err, sizeof(err));
    if (!c->dev)
        return cli_error("%s", err);
    if (!wait_tap_running(c->tap) && c->verbose)
        fprintf(stderr, "ustack: %s: the kernel's side is not up (ip link set %s up?): frames to us may not come\n",
                c->tap, c->tap);
    if (c->impaired) {
        c->imp.seed = c->seed_set ? c->seed : 1;
        c->imp_dev = us_impair_new(c->dev, &c->imp);
        if (!c->imp_dev)
            return cli_error("impairments: out of memory");
        c->dev = c->imp_dev;
    }
    if (c->pcap) {
        struct us_dev *cap = us_capture_new(c->dev, c->pcap, us_rt_wall_offset(), err, sizeof(err));
        if (!cap)
            return cli_error("--pcap: %s", err);
        c->dev = cap;
    }
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = c->net.ip;
    cfg.prefix_len = c->net.prefix;
    cfg.gw = c->gw;
    if (c->seed_set) {
        cfg.seed = c->seed;
    }
    if (c->cc)
        snprintf(cfg.tcp_cc, sizeof(cfg.tcp_cc), "%s", c->cc);
    if (c->syncookies_set)
        cfg.tcp_syncookies = c->syncookies;
    if (c->synq)
        cfg.tcp_synq_max = c->synq;
    if (c->port_lo)
        cfg.port_lo = c->port_lo, cfg.port_hi = c->port_hi;
    c->st = us_stack_new(&cfg, c->dev, us_rt_clock(), err, sizeof(err));
    if (!c->st)
        return cli_error("%s", err);
    if (c->verbose)
        us_stack_set_log(c->st, c->verbose >= 2 ? US_LOG_DEBUG : US_LOG_INFO, log_to_stderr, NULL);
    c->rt = us_rt_new(c->st, err, sizeof(err));
    if (!c->rt)
        return cli_error("%s", err);
    c->rt_drv = us_rt_driver(c->rt);
    c->host_drv = (struct us_driver){.now = host_now, .step = host_step};
    c->drv = &c->host_drv;
    take_signals(c->rt, NULL);
    return 0;
}

static us_time_t flush_bound(const struct cli *c);

bool cli_on_kernel(const struct cli *c) { return c->stack && !strcmp(c->stack, "kernel"); }

int cli_transport(struct cli *c)
{
    char err[256];
    if (cli_on_kernel(c)) {
        if (c->tap)
            return cli_error("--stack kernel runs on the kernel's sockets: --tap does not apply (leave it out, or use --stack ustack)");
        if (c->impaired || c->pcap)
            return cli_error("--stack kernel: link impairments and --pcap are ustack's, they do not apply to the kernel's sockets");
        c->tp = us_tp_kernel_new(err, sizeof(err));
        if (!c->tp)
            return cli_error("%s", err);
        take_signals(NULL, c->tp);
        return 0;
    }
    int rc = cli_setup(c);
    if (rc)
        return rc;
    c->tp = us_tp_ustack_new(c->st, c->drv, err, sizeof(err));
    if (!c->tp)
        return cli_error("%s", err);
    return 0;
}

static void count_closing(void *arg, const struct us_conn_info *ci)
{
    int s = ci->info.state;
    if (s == US_TCP_FIN_WAIT_1 || s == US_TCP_FIN_WAIT_2 || s == US_TCP_CLOSING || s == US_TCP_LAST_ACK)
        ++*(int *)arg;
}

void cli_transport_teardown(struct cli *c)
{
    if (cli_stopping()) {
        /* stopped by a signal: RSTs for what is open, before the descriptors go */
        cli_abort_connections(c);
    }
    us_tp_free(c->tp);   /* closes what is left: FINs */
    c->tp = NULL;
    if (!c->st)
        return;
    cli_finish_closes(c);
    cli_teardown(c);
}

static us_time_t close_bound(const struct cli *c);

void cli_finish_closes(struct cli *c)
{
    if (!c->st || !c->rt || aborted || cli_stopping())
        return;
    /* A command that ended by itself closed its connections: let the FINs be
     * answered, for a bounded time (the kernel would keep the orphans), so
     * the peer sees a close, not a reset; what is left then gets RSTs. */
    us_time_t end = us_rt_clock() + close_bound(c);
    for (;;) {
        int closing = 0;
        us_tcp_foreach(c->st, count_closing, &closing);
        if (!closing || us_rt_clock() >= end || c->rt_drv->step(c->rt_drv, end) < 0)
            break;
    }
}

/* Longest wait for the devices to write what they hold: a second beyond the
 * impairments' delay, so a rate-limited queue cannot keep the program. */
static us_time_t flush_bound(const struct cli *c)
{
    return US_SEC(1) + (c->impaired ? c->imp.tx.delay + c->imp.tx.jitter : 0);
}

/* Longest wait for the last ACKs of a close: a FIN goes out through the
 * transmit delay and its ACK comes back through the receive delay, so a
 * second beyond the round trip the impairments add (at 20 ms each way the
 * FIN may be retransmitted a few times at the 200 ms minimum RTO). */
static us_time_t close_bound(const struct cli *c)
{
    return flush_bound(c) + (c->impaired ? c->imp.rx.delay + c->imp.rx.jitter : 0);
}

int cli_abort_connections(struct cli *c)
{
    if (!c->st || !c->rt || aborted)
        return 0;
    aborted = true;
    us_time_t now = us_rt_clock();
    int n = us_tcp_abort_all(c->st, now);
    /* The flush must not stop at the stop condition that brought us here. */
    us_rt_set_stop(c->rt, NULL, NULL);
    us_time_t end = now + flush_bound(c);
    while (n > 0 && (now = us_rt_clock()) < end && us_dev_next_deadline(c->dev, now) != US_TIME_NEVER)
        if (c->rt_drv->step(c->rt_drv, end) < 0)
            break;
    us_rt_set_stop(c->rt, stop_requested, NULL);
    if (n > 0 && cli_stop_signal())
        printf("%s: stopped by %s: %d connection%s aborted with RST\n", c->cmd->name, cli_stop_signal(), n,
               n == 1 ? "" : "s");
    else if (n > 0)
        printf("%s: %d connection%s aborted with RST at exit\n", c->cmd->name, n, n == 1 ? "" : "s");
    return n;
}

void cli_teardown(struct cli *c)
{
    cli_abort_connections(c);
    us_rt_free(c->rt);
    us_stack_free(c->st);
    if (c->dev)
        us_dev_destroy(c->dev);
    us_pktpool_free(c->pool);
}

uint64_t cli_counter(const struct us_stack *st, const char *name)
{
    uint64_t v;
    if (us_counter_find(st, name, &v) < 0) {
        fprintf(stderr, "ustack: internal error: no counter named '%s'\n", name);
        abort();
    }
    return v;
}

/* ---- statistics by layer (netstat -s) ----
 * One block per layer, one line per topic. A line's text names counters in
 * braces and is printed when one of them is not zero (or with `all`). The
 * layer's <layer>.drop_* counters no line names go on one "N <unit> dropped:"
 * line, reason by reason, and its other counters no line names on an "other:"
 * line, so a counter added later is shown without an edit here. */
struct stat_group {
    const char *prefix, *title, *unit;
    const char *const *lines;
};

static const char *const eth_lines[] = {"{eth.rx_frames} frames received, {eth.tx_frames} sent", NULL};
static const char *const arp_lines[] = {
    "{arp.rx} packets received; {arp.requests_sent} requests sent, {arp.replies_sent} replies sent",
    "{arp.queued} packets queued for unresolved addresses; dropped: {arp.drop_unresolved} never resolved, "
    "{arp.drop_queue_full} address queue full, {arp.drop_pending_full} pending bound reached",
    "{arp.unresolved_evicted} unresolved addresses gave way to newer ones; {arp.cache_evictions} entries evicted "
    "from a full cache, {arp.expired} expired",
    "{arp.address_conflict} address conflicts",
    NULL};
static const char *const ip_lines[] = {
    "{ip.rx_datagrams} datagrams received, {ip.delivered} delivered; {ip.tx_datagrams} sent, "
    "{ip.tx_link_errors} link errors",
    "{ip.fragments_received} fragments received, {ip.reassembled} datagrams reassembled, "
    "{ip.reasm_duplicate_bytes} duplicate bytes; {ip.fragments_created} fragments created",
    NULL};
static const char *const icmp_lines[] = {
    "{icmp.rx} messages received, {icmp.tx} sent",
    "{icmp.echo_replied} echo requests answered; {icmp.echo_requests_sent} echo requests sent, "
    "{icmp.echo_replies_received} replies received",
    "{icmp.errors_sent} errors sent, {icmp.errors_rate_limited} rate limited, {icmp.errors_suppressed} suppressed",
    "received: {icmp.unreachable_received} destination unreachable, {icmp.time_exceeded_received} time exceeded, "
    "{icmp.param_problem_received} parameter problem",
    NULL};
static const char *const udp_lines[] = {"{udp.rx} datagrams received, {udp.tx} sent", NULL};
static const char *const tcp_lines[] = {
    "{tcp.active_opens} active opens, {tcp.passive_opens} passive opens, {tcp.connections_established} "
    "connections established",
    "{tcp.rx_segments} segments received, {tcp.tx_segments} sent, {tcp.retransmits} retransmitted",
    "{tcp.syncookies_sent} SYN cookies sent, {tcp.syncookies_valid} valid, {tcp.syncookies_invalid} invalid; "
    "{tcp.syncookie_connections} connections from cookies",
    "SYNs dropped: {tcp.drop_syn_queue_full} SYN queue full, {tcp.drop_accept_queue_full} accept queue full; "
    "{tcp.syn_queue_evicted} half-open entries gave way; {tcp.synack_peer_unresolved} SYN-ACK retries stopped "
    "(peer unresolved)",
    "{tcp.rst_sent} resets sent ({tcp.rst_on_exit} at exit, {tcp.linger_timeout_rst} at linger timeout), "
    "{tcp.rst_received} received",
    "{tcp.challenge_ack_sent} challenge ACKs sent, {tcp.challenge_ack_rate_limited} rate limited",
    "{tcp.fast_retransmits} fast retransmits, {tcp.rto_expirations} retransmission timeouts, "
    "{tcp.connection_timeouts} connections timed out",
    "{tcp.sack_recoveries} SACK recoveries, {tcp.sack_retransmits} SACK retransmits, {tcp.sack_rescue_retransmits} "
    "rescue retransmits, {tcp.sack_reneging_detected} renegings, {tcp.sack_block_ignored} blocks ignored, "
    "{tcp.dsack_received} D-SACKs received",
    "{tcp.rack_recoveries} RACK recoveries, {tcp.rack_segments_marked_lost} segments marked lost, "
    "{tcp.rack_retransmits} retransmits, {tcp.rack_reorder_timeouts} reordering timeouts",
    "{tcp.tlp_probes} tail loss probes ({tcp.tlp_probes_new_data} with new data), {tcp.tlp_loss_repaired} "
    "losses repaired",
    "{tcp.persist_probes} zero window probes, {tcp.keepalive_probes} keepalive probes",
    "{tcp.duplicate_segments} duplicate segments, {tcp.out_of_order_segments} out of order received",
    "{tcp.time_wait_reused} TIME-WAIT connections reused",
    "ICMP errors: {tcp.icmp_connection_refused} connections refused, {tcp.icmp_mss_reduced} MSS reduced, "
    "{tcp.icmp_soft_error_ignored} soft errors ignored, dropped: {tcp.icmp_drop_no_connection} no connection, "
    "{tcp.icmp_drop_seq_not_in_flight} sequence not in flight",
    NULL};
static const char *const no_lines[] = {NULL};

static const struct stat_group stat_groups[] = {
    {"eth.", "Ethernet", "frames", eth_lines}, {"arp.", "Arp", "packets", arp_lines},
    {"ip.", "Ip", "datagrams", ip_lines},      {"icmp.", "Icmp", "messages", icmp_lines},
    {"udp.", "Udp", "datagrams", udp_lines},   {"tcp.", "Tcp", "segments", tcp_lines},
    {"socket.", "Socket", "calls", no_lines},
    {"", "Other", "events", no_lines}, /* a layer not listed above */
};

static bool has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Index of the counter named by the len bytes at name; a name the stack does
 * not define is a programming error. */
static size_t counter_index(const char *name, size_t len)
{
    for (size_t i = 0; i < us_counter_count(); i++)
        if (strncmp(us_counter_name(i), name, len) == 0 && us_counter_name(i)[len] == '\0')
            return i;
    fprintf(stderr, "ustack: internal error: no counter named '%.*s'\n", (int)len, name);
    abort();
}

/* Appends to buf (cap bytes, NUL-terminated, truncating). */
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = *n < cap ? vsnprintf(buf + *n, cap - *n, fmt, ap) : 0;
    va_end(ap);
    *n += w > 0 ? (size_t)w : 0;
    if (*n >= cap)
        *n = cap - 1;
}

/* Renders text's {counter} fields into buf and marks them used; true if one
 * of them is not zero. */
static bool stat_render(const struct us_stack *st, const char *text, bool *used, char *buf, size_t cap)
{
    size_t n = 0;
    bool any = false;
    buf[0] = '\0';
    for (const char *p = text; *p;) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        if (!end) {
            const char *next = strchr(p + 1, '{');
            size_t len = next ? (size_t)(next - p) : strlen(p);
            put(buf, cap, &n, "%.*s", (int)len, p);
            p += len;
            continue;
        }
        size_t i = counter_index(p + 1, (size_t)(end - p - 1));
        uint64_t v = us_counter_get(st, i);
        used[i] = true;
        any |= v != 0;
        put(buf, cap, &n, "%llu", (unsigned long long)v);
        p = end + 1;
    }
    return any;
}

/* The counters under prefix (drops: only <prefix>drop_*, else all but those)
 * that no line named: "v label, ..." into buf (label: the name after the
 * prefix, '_' as ' '), marked used; returns their sum. */
static uint64_t stat_rest(const struct us_stack *st, const char *prefix, bool drops, bool all, bool *used,
                          char *buf, size_t cap)
{
    size_t n = 0;
    uint64_t sum = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < us_counter_count(); i++) {
        const char *name = us_counter_name(i);
        const char *label = name + strlen(prefix);
        if (used[i] || !has_prefix(name, prefix) || has_prefix(label, "drop_") != drops)
            continue;
        used[i] = true;
        uint64_t v = us_counter_get(st, i);
        if (v == 0 && !all)
            continue;
        label += drops ? strlen("drop_") : 0;
        put(buf, cap, &n, "%s%llu ", n ? ", " : "", (unsigned long long)v);
        for (; *label; label++)
            put(buf, cap, &n, "%c", *label == '_' ? ' ' : *label);
        sum += v;
    }
    return sum;
}

static void print_stat_group(const struct us_stack *st, const struct stat_group *g, bool all, bool *used, FILE *out)
{
    char lines[32][512], rest[2][1024];
    size_t k = 0;
    bool any = false;
    for (const char *const *l = g->lines; *l && k < 32; l++) {
        if (stat_render(st, *l, used, lines[k], sizeof(lines[k])) || all)
            k++;
    }
    uint64_t dropped = stat_rest(st, g->prefix, true, all, used, rest[0], sizeof(rest[0]));
    stat_rest(st, g->prefix, false, all, used, rest[1], sizeof(rest[1]));
    any = k || rest[0][0] || rest[1][0];
    if (!any)
        return;
    fprintf(out, "%s:\n", g->title);
    for (size_t i = 0; i < k; i++)
        fprintf(out, "    %s\n", lines[i]);
    if (rest[0][0])
        fprintf(out, "    %llu %s dropped: %s\n", (unsigned long long)dropped, g->unit, rest[0]);
    if (rest[1][0])
        fprintf(out, "    other: %s\n", rest[1]);
}

/* The counters by layer, as netstat -s shows the kernel's. */
static void print_statistics(struct us_stack *st, FILE *out, bool all)
{
    bool *used = calloc(us_counter_count(), sizeof(*used));
    if (!used)
        return;
    fprintf(out, "statistics:\n");
    for (size_t g = 0; g < sizeof(stat_groups) / sizeof(stat_groups[0]); g++)
        print_stat_group(st, &stat_groups[g], all, used, out);
    free(used);
}

void cli_print_counters(struct us_stack *st, FILE *out, bool all)
{
    fprintf(out, "counters:\n");
    for (size_t i = 0; i < us_counter_count(); i++) {
        uint64_t v = us_counter_get(st, i);
        if (v || all)
            fprintf(out, "  %-32s %llu\n", us_counter_name(i), (unsigned long long)v);
    }
    print_statistics(st, out, all);
}

/* ---- netstat ---- */
static void print_conn(void *arg, const struct us_conn_info *c) { netstat_row(arg, c); }

void cli_netstat(struct us_stack *st, FILE *out)
{
    netstat_header(out);
    us_tcp_foreach(st, print_conn, out);
    cli_print_counters(st, out, false);
}
