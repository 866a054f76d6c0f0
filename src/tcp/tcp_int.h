/* TCP internals shared by the files of src/tcp (never included outside it).
 *
 *   tcp_seg.c    received segments: src/wire parses, the drops are counted here
 *   tcp_buf.c    send/receive byte buffers (chunk chains) and the out-of-order queue
 *   tcp_tcb.c    control blocks, hash tables, ports (RFC 6056), ISNs (RFC 6528)
 *   tcp_in.c     segment arrival (RFC 9293 3.10.7)
 *   tcp_out.c    "should I send now?", segment output, ACK/RST, receive window
 *   tcp_timer.c  the multiplexed per-connection timer, RTO (RFC 6298)
 *   tcp_cc.c     congestion control ops registry, NewReno, HyStart++ (tcp_cubic.c: CUBIC,
 *                tcp_bbr.c: BBR; pacing in tcp_out.c)
 *   tcp_sack.c   sender SACK scoreboard and RFC 6675 loss recovery helpers
 *   tcp_rack.c   RACK-TLP loss detection (RFC 8985) on SACK connections
 *   tcp_rate.c   delivery-rate samples on the RACK records (BBR's input)
 *   tcp_user.c   calls from the socket layer (tcp.h)
 *
 * Sequence variables follow RFC 9293 names. Times kept in the control block are
 * 32-bit: µs for short deadlines and RTT (wrap-safe within ±35 min), ms for
 * keepalive and timestamps. */
#ifndef US_TCP_INT_H
#define US_TCP_INT_H

#include <errno.h>
#include "tcp.h"
#include "../wire/wire.h"

enum us_tcp_counter {
#define X(id, name) US_C_##id,
#include "tcp_counters.def"
#undef X
};
#define US_COUNT(st, id) US_COUNT_SLOT(st, US_TCP_SLOT, US_C_##id)
#define US_COUNT_N(st, id, n) US_COUNT_SLOT_N(st, US_TCP_SLOT, US_C_##id, n)

struct us_tcp_state;
static inline struct us_tcp_state *tcp_state(const struct us_stack *st) { return st->slot[US_TCP_SLOT]; }

/* ---- sequence arithmetic (RFC 9293 3.4) -------------------------------- */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

/* ---- 32-bit clocks ------------------------------------------------------ */
static inline uint32_t t_us(us_time_t now) { return (uint32_t)(now / 1000u); }
static inline uint32_t t_ms(us_time_t now) { return (uint32_t)(now / 1000000u); }
/* Absolute ns time of a 32-bit µs deadline, relative to now. */
static inline us_time_t t_us_abs(uint32_t d, us_time_t now)
{
    int64_t delta = (int32_t)(d - t_us(now));
    int64_t r = (int64_t)(now - now % 1000u) + delta * 1000;
    return r < 0 ? 0 : (us_time_t)r;
}
static inline us_time_t t_ms_abs(uint32_t d, us_time_t now)
{
    int64_t delta = (int32_t)(d - t_ms(now));
    int64_t r = (int64_t)(now - now % 1000000u) + delta * 1000000;
    return r < 0 ? 0 : (us_time_t)r;
}

/* A connection in log lines: "tcp LPORT->A.B.C.D:RPORT". */
#define TCP_CONN_FMT "tcp %u->%u.%u.%u.%u:%u"
#define TCP_CONN_ARGS(t) (t)->lport, (t)->rip >> 24, ((t)->rip >> 16) & 255u, ((t)->rip >> 8) & 255u, \
    (t)->rip & 255u, (t)->rport

/* RFC 7323 2.3: the smallest shift that lets the window field cover buf. */
static inline uint8_t tcp_wscale_for(uint32_t buf)
{
    uint8_t s = 0;
    while (s < 14 && (buf >> s) > 65535)
        s++;
    return s;
}

/* ---- wire format: src/wire (struct us_tcp_repr, US_TH_*) ---------------- */
/* Segment length in sequence space (SYN and FIN count). */
static inline uint32_t seg_seqlen(const struct us_tcp_repr *s)
{
    return s->len + !!(s->flags & US_TH_SYN) + !!(s->flags & US_TH_FIN);
}

/* Parse and verify (tcp_seg.c); returns 0 or a negative code with the drop counted. */
int tcp_seg_parse(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *p, uint32_t len,
                  struct us_tcp_repr *s);

/* ---- byte buffers: a circular chain of chunks, empty = no memory -------- */
struct tcp_chunk {
    struct tcp_chunk *next;
    uint32_t len, cap;
    uint8_t data[];
};
struct tcp_buf {
    struct tcp_chunk *tail;    /* tail->next is the head; NULL when empty */
    uint32_t off;              /* bytes already consumed from the head chunk */
    uint32_t len;              /* bytes held */
};
/* Append up to n bytes; returns how many fit in memory (may be less on ENOMEM). */
uint32_t tcp_buf_append(struct tcp_buf *b, const void *src, uint32_t n);
/* Copy n bytes starting `off` bytes into the buffer, without consuming. */
void tcp_buf_copy(const struct tcp_buf *b, uint32_t off, void *dst, uint32_t n);
/* Drop n bytes from the front, freeing drained chunks. */
void tcp_buf_consume(struct tcp_buf *b, uint32_t n);
void tcp_buf_free(struct tcp_buf *b);

/* Out-of-order queue: a sorted list of non-overlapping ranges. */
struct tcp_ooo {
    struct tcp_ooo *next;
    uint32_t seq, len;
    uint8_t data[];
};

/* ---- congestion control ops (RFC 5681 / 6582 hooks) ----------------------- */
#define US_TCP_CC_PRIV 24
struct tcp_rate_sample;
struct tcp_cc_ops {
    const char *name;
    /* Connection established (or the algorithm chosen on one): the windows. */
    void (*init)(struct us_tcb *tcb, const struct us_config *cfg);
    /* New data acknowledged outside recovery (bytes). */
    void (*on_ack)(struct us_tcb *tcb, uint32_t acked, us_time_t now);
    /* Loss detected by duplicate ACKs or SACK: set ssthresh and cwnd (the
     * core then runs RFC 6675 or RFC 6582 recovery). */
    void (*on_congestion)(struct us_tcb *tcb, us_time_t now);
    /* Retransmission timeout. */
    void (*on_rto)(struct us_tcb *tcb, us_time_t now);
    /* Sending after an idle period longer than the RTO (RFC 5681 4.1). */
    void (*after_idle)(struct us_tcb *tcb, us_time_t now);
    /* Leaving fast recovery on a full ACK (RFC 6582 3.2 step 3). */
    void (*post_recovery)(struct us_tcb *tcb, us_time_t now);
    /* Optional (NULL): an RTT sample (µs), before the ACK's on_ack. */
    void (*on_rtt)(struct us_tcb *tcb, uint32_t rtt_us);
    /* Optional: every acceptable ACK, after the core processed it, with its
     * delivery-rate sample (BBR's model; Linux's cong_control). */
    void (*on_rate)(struct us_tcb *tcb, const struct tcp_rate_sample *rs, us_time_t now);
    /* Optional: the pacing rate in bytes/s, 0 = no pacing (tcp_out.c). */
    uint64_t (*pacing_rate)(const struct us_tcb *tcb);
    /* Optional: the algorithm's state for us_tcp_info, a static string. */
    const char *(*state_name)(const struct us_tcb *tcb);
    /* Optional: a loss episode was spurious and is undone (tcp_in.c undo());
     * saved is cc_priv as it was when the episode began, before on_congestion
     * or on_rto changed it. cwnd and ssthresh are restored by the core. */
    void (*undo)(struct us_tcb *tcb, const uint8_t *saved);
};
const struct tcp_cc_ops *tcp_cc_get(uint8_t idx);
int tcp_cc_find(const char *name);       /* index or -ENOENT */
/* The hooks as the core calls them (tcp_cc.c): the hook, then the
 * per-connection trace (debug log) of what it did — a change of the
 * algorithm's state_name, HyStart++ leaving or re-entering slow start, and
 * for a congestion response its cause and the window before and after. */
void tcp_cc_init(struct us_stack *st, struct us_tcb *tcb);
void tcp_cc_ack(struct us_stack *st, struct us_tcb *tcb, uint32_t acked, us_time_t now);
void tcp_cc_congestion(struct us_stack *st, struct us_tcb *tcb, const char *cause, us_time_t now);
void tcp_cc_rto(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_cc_after_idle(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_cc_post_recovery(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_cc_rtt(struct us_stack *st, struct us_tcb *tcb, uint32_t rtt_us);
void tcp_cc_rate(struct us_stack *st, struct us_tcb *tcb, const struct tcp_rate_sample *rs, us_time_t now);
/* Helpers any algorithm may reuse. */
uint32_t tcp_flight(const struct us_tcb *tcb);
uint32_t tcp_cc_exit_cwnd(const struct us_tcb *tcb);   /* cwnd on leaving a loss recovery */
void tcp_cc_undo_restore(struct us_tcb *tcb, const uint8_t *saved);   /* undo: cc_priv = saved */
void tcp_cc_slow_start_or_ca(struct us_tcb *tcb, uint32_t acked, uint32_t *ca_acc);
/* Congestion avoidance grows cwnd only when it was the limit (RFC 9438 5.8,
 * RFC 7661): FlightSize before this ACK within a segment of cwnd. */
bool tcp_cc_ca_limited(const struct us_tcb *tcb, uint32_t acked);
uint32_t tcp_iw(const struct us_tcb *tcb);
/* Optional pacing of NewReno and CUBIC (us_config.tcp_pacing), as Linux
 * paces them with fq: max(cwnd, FlightSize) / SRTT, times 2 in slow start
 * (cwnd < ssthresh / 2) and 1.2 after (tcp_pacing_ss_ratio, _ca_ratio). */
void tcp_cc_pacing_init(struct us_tcb *tcb, const struct us_config *cfg);
uint64_t tcp_cc_window_pacing_rate(const struct us_tcb *tcb);

/* HyStart++ (RFC 9406) for the initial slow start of NewReno and CUBIC
 * (tcp_cc.c): rounds of one flight, the minimum RTT of each, leaving slow
 * start for Conservative Slow Start (CSS) on a delay increase, back to slow
 * start when the RTT falls below the CSS baseline, into congestion avoidance
 * (ssthresh = cwnd) after CSS_ROUNDS rounds of CSS. 19 bytes of cc_priv. */
enum { HS_DONE = 0, HS_SS, HS_CSS };
struct tcp_hystart {
    uint32_t window_end;                 /* windowEnd: the round ends when SND.UNA reaches it */
    uint32_t last_min, cur_min;          /* lastRoundMinRTT, currentRoundMinRTT (µs, UINT32_MAX = none) */
    uint32_t css_base;                   /* cssBaselineMinRtt (µs) */
    uint8_t samples, css_rounds, phase;  /* rttSampleCount, rounds in CSS, HS_* */
};
void tcp_hystart_init(struct tcp_hystart *h, const struct us_tcb *tcb, const struct us_config *cfg);
void tcp_hystart_rtt(struct tcp_hystart *h, uint32_t rtt_us);
/* Slow start (cwnd < ssthresh) on an ACK of `acked` new bytes: grow cwnd as
 * HyStart++ says while it runs (true), else leave it to the caller (false). */
bool tcp_hystart_ack(struct tcp_hystart *h, struct us_tcb *tcb, uint32_t acked);

/* ---- control block -------------------------------------------------------- */
/* TK_RACK (RFC 8985 6.2 reorder timer) and TK_TLP (7.2 probe timeout) stand in
 * for TK_REXMT while data is in flight: each one, on expiry, either repairs
 * the loss or re-arms the retransmission timer, so S2 holds throughout. */
enum tcp_tkind { TK_IDLE = 0, TK_REXMT, TK_PERSIST, TK_TIMEWAIT, TK_FW2, TK_RACK, TK_TLP };

enum tcp_flag {
    TF_NODELAY = 1u << 0, TF_CORK = 1u << 1, TF_KEEPALIVE = 1u << 2, TF_REUSEADDR = 1u << 3,
    TF_TS = 1u << 4,        /* timestamps in use (both SYNs carried them) */
    TF_SACK = 1u << 5,      /* SACK permitted both ways */
    TF_WSCALE = 1u << 6,    /* window scaling in use (S8: both SYNs carried it) */
    TF_FIN_Q = 1u << 7,     /* application closed its sending side: FIN after the data */
    TF_FIN_RCVD = 1u << 8,  /* peer's FIN received in order */
    TF_ACK_NOW = 1u << 9,   /* send an ACK in this step */
    TF_DELACK = 1u << 10,   /* delayed ACK pending */
    TF_RTT = 1u << 11,      /* timing rtt_seq (Karn) */
    TF_RECOVERY = 1u << 12, /* in NewReno fast recovery */
    TF_FORCE = 1u << 13,    /* persist timer fired: send one segment regardless of SWS/Nagle */
    TF_ADV_SMALL = 1u << 14,/* last window advertised < min(MSS, buf/2) (R3) */
    TF_RD_SHUT = 1u << 15,  /* shutdown(SHUT_RD) */
    TF_BOUND = 1u << 16,    /* local port chosen */
    TF_INHASH = 1u << 17,   /* in the connection table (else in the bind table) */
    TF_ORPHAN = 1u << 18,   /* closed by the application: TCP frees it when done */
    TF_ACCEPTQ = 1u << 19,  /* established child waiting in the accept queue */
    TF_PARTIAL = 1u << 20,  /* first partial ACK of this recovery seen (RFC 6582) */
    TF_SACK_OFFER = 1u << 21, TF_TS_OFFER = 1u << 22, TF_WS_OFFER = 1u << 23, /* seen in the peer's SYN */
    TF_LINGER0 = 1u << 24,  /* SO_LINGER on with 0 s: close sends RST */
    TF_ZWP_SENT = 1u << 25, /* a zero-window probe is outstanding */
    TF_CONN_REPORTED = 1u << 26, /* connect() outcome already returned */
    TF_SACK_RCV = 1u << 27, /* the current fast recovery is SACK-based (RFC 6675) */
    TF_LINGER = 1u << 28,   /* orphan lingering (SO_LINGER > 0): RST when ext->linger_end passes */
    TF_OOO_FIN = 1u << 29,  /* a FIN arrived beyond a gap: ext->ooo_fin is its sequence number */
    TF_RACK = 1u << 30,     /* RACK-TLP loss detection in use (SACK negotiated, cfg.tcp_rack) */
};

/* RFC 2018 / RFC 6675 sender scoreboard: SACKed ranges above SND.UNA, sorted,
 * merged, never overlapping. Allocated when the first SACK block arrives; the
 * block array grows with the number of ranges, up to what the send window can
 * hold (one range per two segments: a range and a hole each take at least
 * one), so that a window of thousands of segments with hundreds of holes is
 * still described exactly. */
#define TCP_SB_MIN 16u
#define TCP_SB_LIMIT 65535u
struct tcp_sb {
    uint32_t high_rxt;                   /* RFC 6675 HighRxt (one past the last retransmitted byte) */
    uint32_t rescue_rxt;                 /* RFC 6675 RescueRxt */
    uint32_t n, cap;
    uint32_t (*blk)[2];                  /* [left, right), cap entries */
};

/* Delivery-rate sampling (draft-cheng-iccrg-delivery-rate-estimation,
 * tcp_rate.c): what a segment carries from its (re)transmission. P.delivered
 * and P.lost are the low 32 bits of the connection's 64-bit byte counts. */
struct tcp_rate_tx {
    uint32_t delivered;                  /* P.delivered: C.delivered when sent */
    uint32_t delivered_us;               /* P.delivered_time */
    uint32_t first_tx_us;                /* P.first_sent_time */
    uint32_t tx_in_flight;               /* bytes in flight just after it left (BBR v3) */
    uint32_t lost;                       /* C.lost when sent (BBR v3) */
};

/* RFC 8985 per-segment record: one per transmitted segment in flight,
 * sorted by sequence number, covering [SND.UNA, SND.MAX). */
enum { RS_SACKED = 1, RS_LOST = 2, RS_RETRANS = 4, RS_APP_LIMITED = 8 };
struct tcp_rseg {
    uint32_t seq, end;                   /* [seq, end), FIN counted */
    uint32_t xmit_us;                    /* last (re)transmission, µs */
    uint32_t order;                      /* ... and its place in the connection's transmissions */
    uint32_t fl;                         /* RS_* */
    struct tcp_rate_tx rt;               /* delivery-rate state (tcp_rate.c) */
};

/* One ACK's rate sample (the draft's "rs"), generated after the ACK was
 * processed; valid only when `valid`. */
struct tcp_rate_sample {
    bool valid;                          /* a delivery rate over a usable interval */
    bool is_app_limited;                 /* rs.is_app_limited */
    uint64_t delivery_rate;              /* bytes/s (valid only) */
    uint32_t delivered;                  /* rs.delivered: bytes over the interval */
    uint32_t interval_us;                /* rs.interval */
    uint32_t rtt_us;                     /* RTT of the most recently sent delivered segment, 0 = none */
    uint64_t prior_delivered;            /* C.delivered when that segment left */
    uint32_t tx_in_flight;               /* its tx_in_flight */
    uint32_t lost;                       /* bytes marked lost since it left */
    uint32_t newly_acked, newly_lost;    /* bytes this ACK delivered / marked lost */
};

/* Connection-level rate state ("C."), in tcp_ext. */
struct tcp_rate {
    uint64_t delivered, lost;            /* C.delivered, C.lost (bytes) */
    uint32_t delivered_us, first_tx_us;  /* C.delivered_time, C.first_sent_time */
    uint64_t app_limited;                /* C.app_limited: delivered mark, 0 = not app-limited */
    /* the sample being built by this ACK's deliveries */
    bool have;
    uint32_t prior_delivered, prior_us, send_elapsed, ack_elapsed, tx_in_flight, prior_lost, rtt_us;
    bool app;
    uint64_t delivered_gen, lost_gen;    /* C.delivered, C.lost at the last sample */
    uint32_t min_rtt_us;                 /* smallest sample RTT (interval floor) */
    uint64_t last_rate;                  /* latest valid delivery rate, bytes/s (us_tcp_info) */
    bool last_app_limited;
    struct tcp_rate_sample rs;           /* the latest sample */
};
#define TCP_RACK_SEGS_MIN 32u
#define TCP_RACK_MIN_RTT_WIN_MS 10000u   /* RACK.min_RTT is the minimum of the last 10 s */
#define TCP_RACK_SEGS_MAX 65535u         /* hard bound (uint16_t indices); see tcp_rack.c */

/* RACK-TLP state (RFC 8985 5.2 names). The record array exists only while
 * data is in flight. */
struct tcp_rack {
    struct tcp_rseg *seg;                /* records seg[first..n), NULL when none */
    uint16_t first, n, cap;
    bool have;                           /* xmit_us/end_seq valid */
    bool reordering_seen;
    uint32_t xmit_us, end_seq;           /* RACK.xmit_ts, RACK.end_seq */
    uint32_t order, tx_order;            /* RACK's record's transmission order; the last one given */
    uint32_t rtt_us, min_rtt_us;         /* RACK.rtt, RACK.min_RTT (windowed, 0 = none) */
    uint32_t fack;                       /* RACK.fack: highest (S)ACKed end */
    uint32_t reo_timeout_us;             /* from the last detection, 0 = none */
    uint8_t reo_mult, reo_persist;       /* RACK.reo_wnd_mult, RACK.reo_wnd_persist */
    uint32_t dsack_round;                /* SND.MAX when reo_mult last grew ... */
    bool dsack_round_on;                 /* ... while SND.UNA is below it (RACK.dsack_round set) */
    struct tcp_rtt_sample { uint32_t t, v; } mrtt[3]; /* min_RTT's window: ms, µs */
    bool tlp_active, tlp_retrans;        /* TLP.end_seq set / TLP.is_retrans */
    uint8_t tlp_n;                       /* probes sent for this tail (tcp_rack_pto) */
    uint32_t tlp_spent_us;               /* their waits after the first, µs */
    uint32_t tlp_end_seq;                /* TLP.end_seq */
    uint32_t tlp_lo, tlp_hi;             /* what a retransmission probe sent again: [lo, hi) */
    bool rexmit_any;                     /* some record was retransmitted ... */
    uint32_t rexmit_high;                /* ... and none ends above this */
    /* The latest ACK's RTT samples from the records it delivered that were
     * sent once (Karn), µs, 0 = none (Linux's seq_rtt/sack_rtt/ca_rtt): the
     * earliest sent of those cumulatively acknowledged, else of those SACKed
     * (for SRTT: conservative, a delayed ACK included); the latest sent (for
     * the congestion control: the least delayed). */
    uint32_t ack_rtt_us, sack_rtt_us, ca_rtt_us;
};

/* RFC 6937 Proportional Rate Reduction (as RFC 6937bis states it) during
 * SACK recovery: what the receiver got (prr_delivered) and what recovery
 * sent (prr_out) clock the sending, in proportion ssthresh / RecoverFS
 * while pipe is above ssthresh, then up to ssthresh by the reduction bounds
 * (tcp_prr_sndcnt). */
struct tcp_prr {
    uint32_t delivered, out;             /* prr_delivered, prr_out */
    uint32_t recover_fs;                 /* RecoverFS: FlightSize when recovery began, 0 = no recovery */
    uint32_t last;                       /* DeliveredData of the latest ACK (also outside recovery) */
    bool safe;                           /* latest ACK advanced SND.UNA and found no new loss */
};

/* Undo of a spurious loss episode — a fast recovery or an RTO whose
 * retransmissions were not needed: D-SACK based (RFC 3708, Linux's
 * undo_retrans) and by timestamps (Eifel detection RFC 3522, response
 * RFC 4015). Kept after the episode ends: the D-SACKs of a reordered
 * segment arrive after the ACK that ended its recovery. */
struct tcp_undo {
    bool armed;                          /* the last episode may still be undone */
    bool rto;                            /* it began with, or went through, an RTO */
    bool stamped;                        /* it retransmitted something: stamp_ms is valid */
    uint32_t marker, high;               /* SND.UNA and SND.MAX when it began */
    uint32_t cwnd, ssthresh;             /* before its reduction */
    uint32_t stamp_ms;                   /* TSval of its first retransmission */
    int32_t retrans;                     /* retransmissions no D-SACK has reported yet */
    _Alignas(8) uint8_t cc_priv[US_TCP_CC_PRIV]; /* the algorithm's state before its reduction */
};

/* Rarely used state, allocated on demand and freed with the control block. */
struct tcp_ext {
    /* receive reassembly (RFC 9293 3.10.7.4, RFC 2018) */
    struct tcp_ooo *ooo;
    struct tcp_ooo *ooo_tail;            /* last node: arrivals beyond it append in O(1) */
    uint32_t ooo_bytes;
    uint16_t ooo_count;
    uint32_t ooo_last;                   /* seq of the last out-of-order arrival (first SACK block) */
    uint32_t ooo_fin;                    /* sequence number of a FIN held beyond a gap (TF_OOO_FIN) */
    uint32_t dsack[2];                   /* RFC 2883: a duplicate range received, [l, r) ... */
    bool dsack_pending;                  /* ... for the first SACK block of the next ACK (once) */
    /* listener */
    struct us_tcb *synq, *synq_tail;     /* SYN queue, oldest first (the eviction victim is the head) */
    struct us_tcb *acc_head, *acc_tail;  /* accept queue, oldest first */
    uint32_t backlog, synq_len, acc_len;
    uint32_t synq_max;                   /* US_TCP_SYNQ_MAX, 0 = us_config.tcp_synq_max */
    uint32_t cookie_last;                /* 1 + cookie counter when the last cookie was sent, 0 = never */
    /* statistics for us_tcp_info */
    uint64_t retransmits, fast_retransmits, rto_expirations, probes_sent;
    /* non-default options */
    int32_t linger;                      /* -1 = off */
    uint32_t keepidle, keepintvl, keepcnt; /* seconds, count */
    uint32_t delack_us;                  /* 0 = stack default */
    uint32_t linger_end;                 /* ms deadline of a lingering close (TF_LINGER) */
    uint16_t maxseg;                     /* TCP_MAXSEG set by the application, 0 = none */
    /* 4 GiB wraps of the 32-bit byte counts of us_tcp_info (acked, sent, received) */
    uint32_t wraps[3];
    /* sender SACK scoreboard */
    struct tcp_sb *sb;
    bool sack_seen;                      /* the peer has sent SACK blocks (RFC 6675 DupAck rules apply) */
    /* RACK-TLP (RFC 8985) */
    struct tcp_rack rack;
    struct tcp_prr prr;
    uint32_t rack_lost_marks;            /* segments RACK ever marked lost (new-loss test for PRR) */
    /* delivery-rate sampling (tcp_rate.c) and pacing (tcp_out.c) */
    struct tcp_rate rate;
    us_time_t pace_next;                 /* the next paced burst may start at this time */
    uint32_t pace_credit;                /* bytes the current burst may still send */
    bool pace_wait;                      /* data is held for the pacing time */
    bool pace_on;                        /* us_config.tcp_pacing for a window-based algorithm */
    us_time_t chunk_at;                  /* the burst the latest data segment left in (tcp_out.c) */
    uint32_t chunk_segs;                 /* its segments since the last chunk's end */
    void *cc_state;                      /* an algorithm's state beyond cc_priv (BBR), freed with ext */
    struct tcp_undo undo;
    /* Linux's retrans_stamp: the TSval of the first retransmission since none
     * was outstanding (SND.UNA reached rx_high, SND.MAX at the latest one). */
    uint32_t rx_stamp_ms, rx_high;
    bool rx_on;
    uint64_t dsacks_rcvd, undo_dsack, undo_eifel; /* statistics for us_tcp_info */
    uint64_t tlp_probes;                 /* tail loss probes sent (us_tcp_info) */
    /* HyStart++'s latest phase change, for tcp_cc_ack's trace line (the
     * algorithms' hooks have no stack to log with) */
    struct tcp_hs_note { uint32_t last_min, cur_min, thresh, base; uint8_t to; bool set; } hs_note;
};
enum { TW_ACKED, TW_SENT, TW_RCVD };

struct us_tcb {
    struct us_tcb *hnext;        /* chain in the connection or bind table */
    struct us_tcb *qnext;        /* link in a listener's SYN or accept queue */
    struct us_tcb *parent;       /* listener while queued */
    struct tcp_ext *ext;
    struct us_timer timer;       /* at the earliest of the slots below */
    struct tcp_buf sndq;         /* bytes from SND.UNA on: in flight, then unsent */
    struct tcp_buf rcvq;         /* in-order bytes not yet read */
    us_ip4_t lip, rip;
    uint16_t lport, rport;
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_sndwnd;
    uint32_t irs, rcv_nxt, rcv_adv;  /* rcv_adv = right edge advertised (R1) */
    uint32_t cwnd, ssthresh, recover;
    uint32_t srtt, rttvar, rto;      /* µs; srtt == 0: no sample yet */
    uint32_t rtt_seq, rtt_start;     /* Karn timing: sequence and µs send time */
    uint32_t ts_recent, ts_recent_age; /* RFC 7323; age in ms */
    uint32_t t_send, t_delack;       /* µs deadlines of the send-timer slot and delayed ACK */
    uint32_t t_keep, t_lastsnd;      /* ms: keepalive deadline; last data sent (idle restart) */
    uint32_t sndbuf, rcvbuf;
    uint32_t flags;
    uint16_t mss_send, mss_recv;
    uint8_t state, tkind, backoff, pshift; /* pshift: persist back-off exponent */
    uint8_t dupacks, so_error, cc_idx, keep_probes;
    uint8_t snd_wscale, rcv_wscale, rcv_full_segs;
    int8_t send_reason;              /* the send predicate's last answer (enum tcp_send_reason; trace) */
    _Alignas(8) uint8_t cc_priv[US_TCP_CC_PRIV];
};

/* The send-timer slot. Every step ends in tcp_timers_update, which arms
 * from `now` the timer STALL.md S2 asks for whenever the slot is empty; so
 * restarting the running timer (RFC 6298 5.3) and letting a fired or
 * unneeded one go are the same act: empty the slot. */
static inline void tcp_timer_restart(struct us_tcb *tcb) { tcb->tkind = TK_IDLE; }
static inline bool tcp_timer_idle(const struct us_tcb *tcb) { return tcb->tkind == TK_IDLE; }

/* Stack-wide TCP state. */
struct us_tcp_state {
    struct us_tcb **conns;       /* 4-tuple hash, chained */
    uint32_t conn_mask, nconns;
    struct us_tcb **binds;       /* by local port: unconnected, bound and listening sockets */
    uint32_t bind_mask;
    uint32_t *port_use;          /* connections per local port (65536 entries) */
    uint32_t ntcb;
    uint32_t port_next;          /* RFC 6056 algorithm 3 counter */
    /* RFC 5961 7: challenge ACK rate limit, per second */
    uint32_t chal_sec, chal_count;
    /* SYN cookie keys (tcp_cookie.c): current and previous, rotated every
     * TCP_COOKIE_ROTATE counter periods */
    uint8_t cookie_key[2][16];
    uint32_t cookie_epoch;               /* counter value when key[0] was drawn */
    bool cookie_keyed;
    /* fault injection for scenario tests: drop this many in-window segments "for memory" */
    uint32_t fault_rx_nomem;
};

#define TCP_CHALLENGE_PER_SEC 100u
#define TCP_DUPTHRESH 3u            /* RFC 6675 DupThresh (RFC 5681 3.2: the third duplicate ACK) */
#define TCP_OOO_MAX_SEGS 256u        /* out-of-order ranges held at least; more with a larger buffer */
#define TCP_PMAX_US 60000000u       /* STALL.md PMAX = 60 s */
#define TCP_PMIN_US 200000u         /* T0 floor */
#define TCP_FW2_TIMEOUT US_SEC(60)  /* orphaned FIN_WAIT_2 */
#define TCP_KEEPIDLE_DEF 7200u
#define TCP_KEEPINTVL_DEF 75u
#define TCP_KEEPCNT_DEF 9u

/* tcp_tcb.c */
struct us_tcb *tcp_tcb_new(struct us_stack *st, int *err);
void tcp_tcb_free(struct us_stack *st, struct us_tcb *tcb);
struct tcp_ext *tcp_ext(struct us_tcb *tcb);   /* allocate on demand; NULL on ENOMEM */
struct us_tcb *tcp_lookup(struct us_stack *st, us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport);
struct us_tcb *tcp_lookup_listener(struct us_stack *st, us_ip4_t lip, uint16_t lport);
void tcp_hash_insert(struct us_stack *st, struct us_tcb *tcb);
void tcp_hash_remove(struct us_stack *st, struct us_tcb *tcb);
void tcp_bind_insert(struct us_stack *st, struct us_tcb *tcb);
void tcp_bind_remove(struct us_stack *st, struct us_tcb *tcb);
bool tcp_port_bound(struct us_stack *st, uint16_t port, const struct us_tcb *except);
int tcp_pick_port(struct us_stack *st, struct us_tcb *tcb);
uint32_t tcp_isn(struct us_stack *st, us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport, us_time_t now);
void tcp_set_state(struct us_stack *st, struct us_tcb *tcb, uint8_t state, us_time_t now);
/* Connection ends: error recorded for the application (0 = normal), memory freed if orphaned. */
void tcp_drop(struct us_stack *st, struct us_tcb *tcb, int err, us_time_t now);
void tcp_tcb_init_conn(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
uint32_t tcp_delack_us(struct us_stack *st, const struct us_tcb *tcb);
void tcp_listener_unlink(struct us_stack *st, struct us_tcb *child);
/* A listener's SYN queue bound (US_TCP_SYNQ_MAX, else us_config.tcp_synq_max). */
uint32_t tcp_synq_max(const struct us_stack *st, const struct us_tcb *l);
/* The half-open child that gives way to a new SYN when the SYN queue is full
 * (cookies off): the oldest, once its SYN-ACK went unanswered for a whole
 * retransmission timeout; NULL if none may. */
struct us_tcb *tcp_synq_victim(const struct us_tcb *l);
void tcp_queue_append(struct us_tcb **head, struct us_tcb **tail, struct us_tcb *c);
/* On a SYN-ACK retransmission timeout: give up now on a passive handshake
 * whose peer's address still does not resolve (spoofed source); counted. */
bool tcp_synack_give_up(struct us_stack *st, const struct us_tcb *tcb);

/* tcp_cookie.c (RFC 4987 3.6): a listener answers a SYN without keeping
 * state; the ACK that completes the handshake carries everything back. */
#define TCP_COOKIE_PERIOD US_SEC(64)    /* counter unit */
#define TCP_COOKIE_MAX_AGE 2u           /* a cookie is valid for counters c and c + 1 */
#define TCP_COOKIE_ROTATE 4u            /* keys rotate every 4 periods (> MAX_AGE: prev covers the window) */
uint32_t tcp_cookie_count(us_time_t now);
/* Answer the SYN s with a cookie SYN-ACK from listener l (counted). */
void tcp_cookie_send(struct us_stack *st, struct us_tcb *l, const struct us_ip_info *ip,
                     const struct us_tcp_repr *s, us_time_t now);
/* The ACK s for listener l: true when it returns a valid cookie; then *syn
 * holds the peer's SYN as far as the cookie kept it (seq, mss, wscale,
 * sack_perm, ts). Counts valid or invalid. */
bool tcp_cookie_check(struct us_stack *st, const struct us_tcb *l, const struct us_ip_info *ip,
                      const struct us_tcp_repr *s, struct us_tcp_repr *syn, us_time_t now);

/* tcp_out.c */
enum tcp_send_reason {
    TS_SEND_FULL = 1, TS_SEND_ALL, TS_SEND_HALF_WINDOW, TS_SEND_FORCED, TS_SEND_REXMT,
    TS_SEND_FIN, TS_SEND_TAIL_FIN,
    TS_HOLD_NOTHING = -1, TS_HOLD_STATE = -2, TS_HOLD_WINDOW = -3, TS_HOLD_NAGLE = -4,
    TS_HOLD_SWS = -5, TS_HOLD_CORK = -6, TS_HOLD_CWND = -7,
};
const char *tcp_send_reason_name(int r);
/* The "should I send now?" predicate (S1, S9, S11): reason, and the segment. */
int tcp_should_send(const struct us_tcb *tcb, uint32_t *len, bool *fin);
/* S2's "data or a FIN held back", from the predicate's reason: there is
 * something to send that may not (or could not) leave now. */
bool tcp_send_held(const struct us_tcb *tcb);
void tcp_output(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
int tcp_send_syn(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_send_ack(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_send_zwp(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_send_keepalive(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_send_zero_window_now(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_send_head_rto(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
/* Retransmit the segment at SND.UNA (fast retransmit, S10). */
void tcp_rexmit_head(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
/* Retransmit up to `len` sequence numbers from `seq` (SACK recovery); returns
 * the sequence space sent (data + FIN), 0 if nothing left. */
uint32_t tcp_rexmit_range(struct us_stack *st, struct us_tcb *tcb, uint32_t seq, uint32_t len, us_time_t now);
/* Retransmit the oldest segment RACK marked lost: 1 sent, 0 it could not leave, -1 none is marked. */
int tcp_rack_rexmit_lost(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
/* Note that a 32-bit byte count (TW_*) moved from `from` to `to` bytes. */
void tcp_count_wrap(struct us_tcb *tcb, int which, uint32_t from, uint32_t to);
/* A segment that belongs to no control block (RST for a stray segment, a SYN
 * cookie's SYN-ACK): header `h` only, from src to dst; -ENOMEM when no packet. */
int tcp_send_stateless(struct us_stack *st, us_ip4_t src, us_ip4_t dst, const struct us_tcp_repr *h, us_time_t now);
void tcp_send_rst_for(struct us_stack *st, const struct us_ip_info *ip, const struct us_tcp_repr *s, us_time_t now);
void tcp_send_rst_tcb(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_send_challenge_ack(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
/* Window to advertise now (R1, R2, R5), in bytes, before scaling. */
uint32_t tcp_rcv_window(const struct us_tcb *tcb);
uint32_t tcp_sws_threshold(const struct us_tcb *tcb);
uint32_t tcp_unsent(const struct us_tcb *tcb);
uint32_t tcp_mss_for(struct us_stack *st, us_ip4_t dst);
uint32_t tcp_mss_ours(struct us_stack *st, const struct us_tcb *tcb);

/* tcp_timer.c */
void tcp_timer_fire(struct us_stack *st, struct us_timer *t, us_time_t now);
/* S2: after every step make sure data in flight has the retransmission timer and
 * held data the persist timer; then arm the heap timer at the earliest slot. */
void tcp_timers_update(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_timer_set(struct us_tcb *tcb, uint8_t kind, uint32_t after_us, us_time_t now);
void tcp_rearm(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_rtt_sample(struct us_stack *st, struct us_tcb *tcb, uint32_t rtt_us);
/* As tcp_rtt_sample, the congestion control's on_rtt given ca_us instead. */
void tcp_rtt_sample_cc(struct us_stack *st, struct us_tcb *tcb, uint32_t rtt_us, uint32_t ca_us);
uint32_t tcp_rto_backed_off(const struct us_stack *st, const struct us_tcb *tcb);
uint32_t tcp_persist_t0(const struct us_stack *st, const struct us_tcb *tcb);
void tcp_keepalive_reset(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
/* STALL.md S2 after a step (`step` names it): data in flight has the
 * retransmission timer (or RACK's reorder timer / TLP in its place), else held
 * data or FIN the persist timer, and the heap timer runs no later than the
 * slot. On a violation: the connection's state on stderr, then abort().
 * Compiled in debug builds and with USTACK_CHECK_INVARIANTS (the CMake option
 * USTACK_INVARIANTS, on for every build type but Release, and for fuzzing). */
#if !defined(NDEBUG) || defined(USTACK_CHECK_INVARIANTS)
#define TCP_CHECK_INVARIANTS 1
void tcp_check_s2(const struct us_tcb *tcb, us_time_t now, const char *step);
#else
static inline void tcp_check_s2(const struct us_tcb *tcb, us_time_t now, const char *step)
{
    (void)tcb, (void)now, (void)step;
}
#endif

/* tcp_sack.c (RFC 2018, RFC 6675) */
/* Record the SACK blocks of an acceptable ACK whose cumulative point is `una`
 * (>= SND.UNA). Returns true when the receiver reneged: `una` landed on data
 * it had SACKed; the scoreboard is then cleared. */
bool tcp_sack_update(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, uint32_t una);
void tcp_sack_clear(struct us_tcb *tcb);
void tcp_sack_free(struct tcp_ext *e);
struct tcp_sb *tcp_sack_sb(const struct us_tcb *tcb);     /* NULL when none */
/* IsLost(SND.UNA). */
bool tcp_sack_una_lost(const struct us_tcb *tcb);
/* Go-back-N after an RTO (RFC 6675 5.1): the first unSACKed byte at or above
 * `seq`, and in *limit the start of the next SACKed range (or SND.MAX). */
uint32_t tcp_sack_skip(const struct us_tcb *tcb, uint32_t seq, uint32_t *limit);
/* SACKed bytes below `seq`. */
uint32_t tcp_sack_bytes_below(const struct us_tcb *tcb, uint32_t seq);
/* SetPipe(): bytes the sender estimates are still in the network. */
uint32_t tcp_sack_pipe(const struct us_tcb *tcb);
/* Length of the hole at SND.UNA (up to the first SACKed byte or SND.MAX). */
uint32_t tcp_sack_head_hole(const struct us_tcb *tcb);
/* NextSeg() rules 1 (lost = true) and 3 (lost = false): the first unSACKed
 * range above HighRxt and below the highest SACKed byte. */
bool tcp_sack_next_hole(const struct us_tcb *tcb, bool lost, uint32_t *seq, uint32_t *len);
/* NextSeg() rule 4: the rescue retransmission. */
bool tcp_sack_rescue(const struct us_tcb *tcb, uint32_t *seq, uint32_t *len);
/* RFC 2883 4: the ACK's first SACK block is a D-SACK. */
bool tcp_sack_is_dsack(const struct us_tcp_repr *s);
/* Bytes the scoreboard holds (SACKed above SND.UNA). */
uint32_t tcp_sack_bytes(const struct us_tcb *tcb);
/* RFC 6937 PRR: start at recovery entry (the entering ACK's DeliveredData
 * counts, RFC 6937bis); account an ACK's DeliveredData; the bytes recovery
 * may send now (in place of cwnd - pipe). */
void tcp_prr_start(struct us_tcb *tcb);
void tcp_prr_ack(struct us_tcb *tcb, uint32_t delivered, bool safe);
uint32_t tcp_prr_sndcnt(const struct us_tcb *tcb);

/* tcp_rack.c (RFC 8985) */
/* A segment [seq, end) left (tcp_emit): record a new one or stamp a retransmission. */
void tcp_rack_sent(struct us_tcb *tcb, uint32_t seq, uint32_t end, us_time_t now);
/* Per-segment records are kept (RACK steers loss detection and the pipe). */
bool tcp_rack_tracking(const struct us_tcb *tcb);
/* TLP_process_ack (RFC 8985 7.4), before SND.UNA moves. */
void tcp_rack_tlp_ack(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, us_time_t now);
/* RACK_update + RACK_detect_loss (6.2) after the scoreboard took the ACK's
 * blocks; `una` is the new cumulative point. */
void tcp_rack_ack(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, uint32_t una, bool reneged,
                  us_time_t now);
/* Any segment marked lost and not yet retransmitted. */
bool tcp_rack_lost_pending(const struct us_tcb *tcb);
/* The first segment marked lost (retransmission order). */
bool tcp_rack_next_lost(const struct us_tcb *tcb, uint32_t *seq, uint32_t *len);
/* Bytes in flight: FlightSize less SACKed and lost-not-retransmitted bytes. */
uint32_t tcp_rack_pipe(const struct us_tcb *tcb);
/* S2 with RACK: choose the reorder timer, the PTO or the RTO for data in flight. */
void tcp_rack_arm(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_rack_reo_timeout(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_rack_pto(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_rack_on_rto(struct us_tcb *tcb);
void tcp_rack_undo(struct us_tcb *tcb);
/* The reordering window (µs) once reordering has been seen: min(mult · min_RTT / 4, SRTT). */
uint32_t tcp_rack_reo_wnd(const struct us_tcb *tcb);
void tcp_rack_post_recovery(struct us_tcb *tcb);
void tcp_rack_free(struct tcp_ext *e);
/* tcp_in.c: RACK marked a loss — enter recovery once per round (RFC 8985 9.3). */
void tcp_rack_recover(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
/* tcp_in.c: a loss episode (recovery, or an RTO when `rto`) begins, before
 * the congestion response; a retransmission leaves (counted for the undo). */
void tcp_undo_start(struct us_tcb *tcb, bool rto);
void tcp_undo_rexmit(struct us_tcb *tcb, us_time_t now);
/* tcp_out.c: the TLP segment (7.3); returns true when it was a retransmission. */
bool tcp_send_tlp(struct us_stack *st, struct us_tcb *tcb, bool new_data, uint32_t *lo, uint32_t *hi,
                  us_time_t now);

/* tcp_rate.c (draft-cheng-iccrg-delivery-rate-estimation) on the RACK
 * records: a segment left (g new or retransmitted; before SND.MAX moves), a
 * record was delivered (newly SACKed or cumulatively ACKed), bytes were
 * marked lost; at the end of an ACK the sample (and the algorithm's on_rate);
 * the sender ran out of data with room in cwnd (application-limited). */
void tcp_rate_sent(struct us_tcb *tcb, struct tcp_rseg *g, uint32_t len, uint32_t t);
void tcp_rate_delivered(struct us_tcb *tcb, const struct tcp_rseg *g, uint32_t t);
void tcp_rate_lost(struct us_tcb *tcb, uint32_t bytes);
void tcp_rate_ack(struct us_stack *st, struct us_tcb *tcb, us_time_t now);
void tcp_rate_check_app_limited(struct us_tcb *tcb);
uint64_t tcp_rate_delivered_total(const struct us_tcb *tcb);

/* tcp_buf.c (out-of-order queue) */
/* Insert an out-of-order segment (bounded); returns false if dropped for memory. */
bool tcp_ooo_insert(struct us_stack *st, struct us_tcb *tcb, uint32_t seq, const uint8_t *data, uint32_t len);
/* Move now-contiguous data to the receive queue; returns bytes moved. */
uint32_t tcp_ooo_drain(struct us_stack *st, struct us_tcb *tcb);
void tcp_ooo_free(struct tcp_ext *e);
/* SACK blocks describing the out-of-order queue (RFC 2018 4). */
uint8_t tcp_sack_blocks(const struct us_tcb *tcb, uint32_t out[][2], uint8_t max);

#endif
