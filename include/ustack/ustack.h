/* ustack — a TCP/IP stack in user space.
 *
 * The application sees a stack handle and BSD-like, non-blocking socket calls on
 * integer descriptors. Every call that can transmit or must know the time takes
 * `now` (nanoseconds, the caller's clock); none blocks;
 * us_stack_poll() processes received frames and expired timers and returns the
 * time of the next deadline. See ustack/driver.h for loops that drive a stack in
 * real time and ustack/sim.h for virtual time. */
#ifndef USTACK_USTACK_H
#define USTACK_USTACK_H

#include "types.h"
#include "pkt.h"
#include "dev.h"

#define USTACK_VERSION "0.1.0"

/* ---- configuration ------------------------------------------------------- */
struct us_config {
    us_ip4_t ip;              /* our address */
    uint8_t prefix_len;       /* on-link prefix length, e.g. 24 */
    us_ip4_t gw;              /* default gateway, 0 = none */
    uint64_t seed;            /* random seed (used when deterministic) */
    bool deterministic;       /* true: seeded PRNG (simulation); false: OS entropy */
    bool gratuitous_arp;      /* announce our address at start (default true) */

    /* ARP */
    us_time_t arp_ttl;        /* cache entry lifetime (default 60 s) */
    us_time_t arp_retry;      /* request retry interval (default 1 s) */
    uint32_t arp_max_retries; /* requests before giving up (default 3) */
    uint32_t arp_queue_len;   /* packets held per unresolved address (default 64) */
    uint32_t arp_unres_max;   /* unresolved addresses at once; the oldest gives way (default 256) */
    uint32_t arp_pending_max; /* packets held for all unresolved addresses; the oldest is dropped (default 256) */

    /* IPv4 */
    uint8_t ip_ttl;           /* default TTL (64) */
    us_time_t reasm_timeout;  /* fragment reassembly timeout (default 30 s, RFC 791 suggests 15 s) */
    uint32_t reasm_max_bytes; /* memory bound for all reassembly buffers (default 256 KiB) */
    uint32_t icmp_rate_per_sec;  /* ICMP error rate limit, token bucket (default 100/s, RFC 1122 3.2.2) */
    uint32_t icmp_rate_burst;    /* bucket size (default 10) */

    /* TCP defaults (per socket values start here) */
    us_time_t tcp_msl;        /* maximum segment lifetime, at most 600 s; TIME_WAIT lasts 2*MSL (default 30 s) */
    us_time_t tcp_delack;     /* delayed-ACK time (default 40 ms, at most 500 ms) */
    us_time_t tcp_rto_initial;/* default 1 s (RFC 6298) */
    us_time_t tcp_rto_min;    /* default 200 ms */
    us_time_t tcp_rto_max;    /* default 120 s */
    uint32_t tcp_syn_retries; /* SYN / SYN-ACK retransmissions before giving up (default 6) */
    uint32_t tcp_retries;     /* data retransmissions before ETIMEDOUT (default 15) */
    uint32_t tcp_sndbuf;      /* default SO_SNDBUF (default 256 KiB) */
    uint32_t tcp_rcvbuf;      /* default SO_RCVBUF (default 256 KiB) */
    uint32_t tcp_max_conns;   /* bound on control blocks (default 1,000,000) */
    uint16_t port_lo, port_hi;/* ephemeral range (default 49152..65535, RFC 6335) */
    char tcp_cc[16];          /* default congestion control ("cubic"; "newreno") */
    bool tcp_hystart;         /* HyStart++ (RFC 9406) in the initial slow start of newreno and
                                 cubic (default on) */
    bool tcp_pacing;          /* pace newreno and cubic too, at cwnd/SRTT x 2 in slow start and
                                 x 1.2 after, as Linux with fq (default off; bbr always paces) */
    bool tcp_timestamps, tcp_sack, tcp_wscale; /* options offered (default on) */
    bool tcp_rack;            /* RACK-TLP loss detection and tail loss probes (RFC 8985) on
                                 connections that negotiated SACK (default on) */
    uint32_t tcp_synq_max;    /* SYN queue bound per listener: handshakes in progress (default
                                 1024; US_TCP_SYNQ_MAX per socket). The accept queue is bounded
                                 by listen's backlog alone */
    uint8_t tcp_syncookies;   /* SYN cookies (RFC 4987 3.6): 0 off, 1 when a listener's SYN queue
                                 is full (default), 2 for every SYN */
};
void us_config_default(struct us_config *cfg);

/* ---- stack lifecycle ----------------------------------------------------- */
/* The stack does not own dev; destroy the device after the stack. On failure
 * returns NULL and writes the reason into err. */
struct us_stack *us_stack_new(const struct us_config *cfg, struct us_dev *dev, us_time_t now,
                              char *err, size_t errlen);
void us_stack_free(struct us_stack *st);
/* Receive every frame that is ready, run every timer due at `now`, and return
 * the next deadline (US_TIME_NEVER if none). */
us_time_t us_stack_poll(struct us_stack *st, us_time_t now);
/* Next deadline without doing work. */
us_time_t us_stack_next_deadline(struct us_stack *st, us_time_t now);
/* Hand one received frame to the stack directly (the stack takes ownership). */
void us_stack_input(struct us_stack *st, struct us_pkt *frame, us_time_t now);
struct us_dev *us_stack_dev(struct us_stack *st);
const struct us_config *us_stack_config(const struct us_stack *st);
/* Bytes from the stack's random source (seeded when deterministic, else
 * seeded from the OS): what ISNs and ephemeral ports come from, for
 * applications that need the same (DNS query IDs and source ports). */
void us_random_bytes(struct us_stack *st, void *out, size_t len);

/* ---- counters ------------------------------------------------------------ */
/* Every dropped packet is counted with a reason. Names are "layer.reason". */
size_t us_counter_count(void);
const char *us_counter_name(size_t i);
uint64_t us_counter_get(const struct us_stack *st, size_t i);
/* Value by name: 0 and *val, or -ENOENT when no counter has that name (a
 * renamed counter must not read as zero). */
int us_counter_find(const struct us_stack *st, const char *name, uint64_t *val);

/* ---- logging ------------------------------------------------------------- */
enum { US_LOG_ERR = 0, US_LOG_WARN = 1, US_LOG_INFO = 2, US_LOG_DEBUG = 3 };
typedef void (*us_log_fn)(void *arg, int level, us_time_t now, const char *msg);
void us_stack_set_log(struct us_stack *st, int max_level, us_log_fn fn, void *arg);

/* ---- routing ------------------------------------------------------------- */
int us_route_add(struct us_stack *st, us_ip4_t prefix, uint8_t len, us_ip4_t gw);

/* ---- ICMP echo (ping) ---------------------------------------------------- */
struct us_ping_reply {
    us_ip4_t from;
    uint16_t id, seq;
    uint8_t ttl;
    uint32_t len;           /* ICMP payload bytes */
    us_time_t sent, received;
    bool data_ok;           /* payload matched what was sent */
};
/* Sends an echo request with `size` bytes of payload (pattern + timestamp). */
int us_ping_send(struct us_stack *st, us_ip4_t dst, uint16_t id, uint16_t seq, uint32_t size, us_time_t now);
/* Next reply received for `id`; returns 1 and fills *r, or 0 if none waiting. */
int us_ping_recv(struct us_stack *st, uint16_t id, struct us_ping_reply *r);
/* ICMP errors received (destination unreachable etc.), for ping -v style output. */
struct us_icmp_error { us_ip4_t from; uint8_t type, code; us_ip4_t orig_dst; uint8_t orig_proto; uint16_t orig_dport; };
int us_icmp_error_recv(struct us_stack *st, struct us_icmp_error *e);

/* ---- sockets ------------------------------------------------------------- */
enum { US_SOCK_STREAM = 1, US_SOCK_DGRAM = 2 };
struct us_sockaddr { us_ip4_t addr; uint16_t port; };

/* Every call returns >= 0 on success or a negative errno (-EAGAIN, -EINPROGRESS …). */
int us_socket(struct us_stack *st, int type);
int us_bind(struct us_stack *st, int fd, const struct us_sockaddr *addr, us_time_t now);
int us_listen(struct us_stack *st, int fd, int backlog, us_time_t now);
int us_accept(struct us_stack *st, int fd, struct us_sockaddr *peer, us_time_t now);
int us_connect(struct us_stack *st, int fd, const struct us_sockaddr *addr, us_time_t now);
/* Flags of send/recv/sendto/recvfrom; any other bit is -EINVAL.
 *   US_MSG_DONTWAIT  every call is non-blocking already: accepted as a no-op
 *                    here; the blocking wrappers (driver.h) try once and return.
 *   US_MSG_PEEK      (recv, recvfrom) copy without consuming: the data stays
 *                    queued and the receive window does not move. */
#define US_MSG_PEEK     0x02
#define US_MSG_DONTWAIT 0x40
ssize_t us_send(struct us_stack *st, int fd, const void *buf, size_t len, int flags, us_time_t now);
ssize_t us_recv(struct us_stack *st, int fd, void *buf, size_t len, int flags, us_time_t now);
ssize_t us_sendto(struct us_stack *st, int fd, const void *buf, size_t len, int flags,
                  const struct us_sockaddr *to, us_time_t now);
ssize_t us_recvfrom(struct us_stack *st, int fd, void *buf, size_t len, int flags,
                    struct us_sockaddr *from, us_time_t now);
enum { US_SHUT_RD = 0, US_SHUT_WR = 1, US_SHUT_RDWR = 2 };
int us_shutdown(struct us_stack *st, int fd, int how, us_time_t now);
int us_close(struct us_stack *st, int fd, us_time_t now);
int us_getsockname(struct us_stack *st, int fd, struct us_sockaddr *addr);
int us_getpeername(struct us_stack *st, int fd, struct us_sockaddr *addr);

/* setsockopt/getsockopt levels and names */
enum { US_SOL_SOCKET = 1, US_IPPROTO_TCP = 6 };
enum {
    US_SO_REUSEADDR = 1, US_SO_KEEPALIVE, US_SO_LINGER, US_SO_SNDBUF, US_SO_RCVBUF, US_SO_ERROR,
    US_TCP_NODELAY = 100, US_TCP_CORK, US_TCP_KEEPIDLE, US_TCP_KEEPINTVL, US_TCP_KEEPCNT,
    US_TCP_CONGESTION,  /* value: char name[16] */
    US_TCP_DELACK_MS,   /* value: int milliseconds (1..500) */
    US_TCP_MAXSEG,
    US_TCP_SYNQ_MAX,    /* value: int 1..65535, a listener's SYN queue bound (default us_config.tcp_synq_max) */
};
struct us_linger { int onoff; int seconds; };
/* Takes `now`: some options make TCP send at once (TCP_NODELAY, TCP_CORK off). */
int us_setsockopt(struct us_stack *st, int fd, int level, int name, const void *val, size_t len, us_time_t now);
int us_getsockopt(struct us_stack *st, int fd, int level, int name, void *val, size_t *len);

/* readiness */
#define US_POLLIN   0x001
#define US_POLLOUT  0x004
#define US_POLLERR  0x008
#define US_POLLHUP  0x010
struct us_pollfd { int fd; short events; short revents; };
/* Non-blocking: fills revents, returns how many descriptors are ready. */
int us_poll(struct us_stack *st, struct us_pollfd *fds, int n, us_time_t now);

/* TCP_INFO-like snapshot */
struct us_tcp_info {
    int state;                 /* US_TCP_* below */
    uint32_t mss_send, mss_recv;
    uint32_t cwnd, ssthresh;   /* bytes */
    us_time_t srtt, rttvar, rto;
    uint32_t bytes_in_flight;
    uint64_t retransmits, fast_retransmits, rto_expirations, probes_sent; /* probes_sent: zero-window probes */
    uint64_t tlp_probes;       /* tail loss probes sent (RFC 8985 7.3) */
    uint64_t dsacks_received;  /* ACKs whose first SACK block was a D-SACK (RFC 2883) */
    uint64_t undo_dsack, undo_eifel; /* spurious recoveries/timeouts undone: by D-SACK (RFC 3708), by timestamps (RFC 3522) */
    us_time_t reo_wnd;         /* RACK reordering window once reordering is seen (RFC 8985 6.2) */
    us_time_t rack_min_rtt;    /* RACK.min_RTT: the windowed minimum it is taken from */
    uint32_t snd_wnd, rcv_wnd;
    uint8_t snd_wscale, rcv_wscale;
    bool sack_ok, ts_ok;
    uint64_t bytes_sent, bytes_acked, bytes_received;
    uint32_t send_queue, recv_queue; /* bytes waiting */
    char cc[16];
    const char *cc_state;      /* the algorithm's state (BBR: "startup", "probe_bw_up", ...), or NULL */
    uint64_t pacing_rate;      /* bytes/s, 0 = not paced */
    uint64_t delivery_rate;    /* bytes/s, the latest valid delivery-rate sample (SACK connections) */
    bool delivery_rate_app_limited; /* ... taken while the application, not the network, limited it */
    uint64_t delivered;        /* bytes delivered (cumulatively ACKed or SACKed), as the rate samples count */
    us_time_t min_rtt;         /* smallest RTT of the rate samples */
    const char *send_reason;   /* why the sender sends or holds data now (STALL.md S1), a static string */
};
enum {
    US_TCP_CLOSED = 0, US_TCP_LISTEN, US_TCP_SYN_SENT, US_TCP_SYN_RECEIVED, US_TCP_ESTABLISHED,
    US_TCP_FIN_WAIT_1, US_TCP_FIN_WAIT_2, US_TCP_CLOSE_WAIT, US_TCP_CLOSING, US_TCP_LAST_ACK,
    US_TCP_TIME_WAIT,
};
const char *us_tcp_state_name(int state);
int us_tcp_info(struct us_stack *st, int fd, struct us_tcp_info *info);

/* Iterate every TCP connection (netstat): fn is called once per control block. */
struct us_conn_info {
    int fd;                    /* descriptor, or -1 for orphaned (closed, in TIME_WAIT…) */
    struct us_sockaddr local, remote;
    struct us_tcp_info info;
};
void us_tcp_foreach(struct us_stack *st, void (*fn)(void *arg, const struct us_conn_info *c), void *arg);

/* What a kernel does for the sockets of a process that exits, for a program
 * that stops: every TCP connection ends now. A synchronized one (ESTABLISHED
 * through LAST_ACK) sends a RST first (counted in tcp.rst_on_exit); SYN_SENT,
 * SYN_RECEIVED and TIME_WAIT end silently. Orphaned connections are freed; a
 * descriptor still naming one reads ECONNABORTED. Listeners stay. The RSTs
 * are handed to the device now; one that holds frames (impair) needs polling
 * until us_dev_next_deadline says it is empty. Returns how many RSTs were sent. */
int us_tcp_abort_all(struct us_stack *st, us_time_t now);

/* The congestion controls (US_TCP_CONGESTION, us_config.tcp_cc): names of the
 * registry, i = 0 .. us_cc_count()-1; NULL for an index out of range. */
size_t us_cc_count(void);
const char *us_cc_name(size_t i);

#endif
