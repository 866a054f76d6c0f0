/* Internal contract of the trace analyzer: frames are parsed into a plain
 * segment struct in one place (an_wire.c); the connection logic (analyze.c)
 * and the pcap reader (an_pcap.c) work on that. */
#ifndef US_ANALYZE_INTERNAL_H
#define US_ANALYZE_INTERNAL_H

#include <ustack/analyze.h>

enum { AN_FIN = 1, AN_SYN = 2, AN_RST = 4, AN_PSH = 8, AN_ACK = 16 };

/* One TCP segment as captured. */
struct an_seg {
    us_time_t t;
    us_ip4_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;             /* raw window field */
    uint32_t len;             /* payload length from the IP total length */
    uint16_t mss;             /* 0 = absent */
    int ws;                   /* -1 = absent; clamped to 14 (RFC 7323 2.3) */
    bool sack_perm, ts;
    uint8_t nsack;            /* SACK blocks carried */
};

enum an_parse { AN_NOT_TCP = 0, AN_TCP = 1, AN_MALFORMED = -1 };
/* Parses one frame; never reads beyond caplen. */
enum an_parse an_parse_frame(enum us_an_link link, const uint8_t *f, uint32_t caplen, uint32_t wirelen,
                             struct an_seg *s);

#endif

/* ---- connection state (analyze.c tracks, an_findings.c reports) ---------- */

/* Why a sender owes the next transmission, and so which timer should end its
 * silence (STALL.md S2). */
enum an_owe { OWE_NONE, OWE_OUTSTANDING, OWE_ZERO, OWE_SMALL, OWE_OPEN };

struct an_last {             /* the last segment a side sent, for the stall text */
    bool set;
    us_time_t t;
    uint8_t flags;
    int64_t seq, ack;
    uint32_t len, wnd;
};

/* Per side: as the sender of its byte stream and as the receiver of the peer's.
 * Sequence numbers are unwrapped to 64 bits relative to the first one seen. */
struct an_dir {
    bool ref_set;
    uint32_t ref_raw;
    int64_t ref_rel;
    int64_t snd_max;          /* highest sequence sent + 1 (SYN and FIN count) */
    bool fin_sent;
    uint32_t seg_max;         /* largest payload sent: "a full segment" */
    uint32_t syns;
    us_time_t syn_t;
    bool peer_data_since;     /* the peer sent data since this side's last segment */
    struct an_last last;

    /* as receiver: what this side acknowledged and advertised */
    bool ack_set;
    int64_t ack;              /* highest ACK, in the peer's sequence space */
    uint32_t wnd;             /* last window, scaled */
    bool edge_set;
    int64_t edge;             /* rightmost edge ever advertised */
    bool last_small;          /* last window below min(MSS, buffer/2) */
    int dup_same, dup_upd;    /* same-ACK pure ACKs since the ACK last advanced */
    us_time_t last_upd_t;
    us_time_t upd_open_t;     /* last update that opened the window from small/zero */
    int zw;                   /* open zero-window episode index, or -1 */
    size_t zw_unans;          /* first probe of that episode not yet answered */

    /* as sender: the silence check */
    enum an_owe owe;
    us_time_t owe_since, episode_gap, rto_floor, last_event;
    bool pending;             /* its last new data reached the peer's right edge */
    bool short_cand;          /* a short in-flight segment waits to see if it was the tail */
    us_time_t short_cand_t;
    uint32_t short_cand_len;

    /* RTT of its data (one timed segment at a time, Karn's rule) */
    bool timing;
    int64_t timed_end;
    us_time_t timed_t, srtt, rttvar;

    /* aggregated findings */
    uint64_t edge_left_n, edge_left_max;
    us_time_t edge_left_t;
    uint64_t sws_n;
    us_time_t sws_t;
    uint64_t sws_step;
    uint64_t short_n;
    us_time_t short_t;
    uint32_t short_len;
    uint64_t beyond_n, beyond_bytes;
    us_time_t beyond_t;
    uint64_t upd_retx_n;
    us_time_t upd_retx_t;

    /* Nagle x delayed ACK: a small segment sent while nothing was in flight
     * (nd_cand), then acknowledged by a pure ACK at nd_ack_t (nd_acked), then
     * the next new data: held if it followed the ACK at once */
    bool nd_cand, nd_acked;
    us_time_t nd_t, nd_ack_t;
    int64_t nd_end;
    uint32_t nd_len;
    uint64_t nd_n;            /* episodes */
    us_time_t nd_first_t, nd_first_hold, nd_lost; /* first: its time and the ACK's hold; total time lost */
    uint32_t nd_first_len, nd_first_next;
};

struct an_conn {
    struct us_an_conn pub;
    struct an_dir d[2];
    struct an_conn *hnext;
    bool closed;
    us_time_t synack_t;
    us_time_t t_base;         /* capture start: times in texts are relative to it */
    bool ws_note;             /* SYN and SYN-ACK disagree on window scale */
    size_t cap_findings, cap_zwin;
};

struct us_an {
    struct us_an_stats stats;
    struct an_conn **conns;
    size_t nconns, cap;
    struct an_conn **hash;    /* AN_HASH buckets */
    bool finished;
};

#define AN_MAX_FINDINGS 64
#define AN_MAX_CONNS 1000000

void an_finding(struct an_conn *c, enum us_an_severity sev, enum us_an_kind kind, int side, us_time_t t,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
const char *an_side_name(const struct an_conn *c, int side, char buf[32]);
us_time_t an_t0(const struct an_conn *c, int side);
/* The silence of side s owed since d[s].owe_since ended at t: how = 0 the
 * sender resumed, 1 the connection was reset, 2 the capture ended, 3 the
 * peer's window changed while the sender waited on a window timer. */
void an_check_silence(struct an_conn *c, int s, us_time_t t, int how);
void an_zwin_close(struct an_conn *c, int side, us_time_t t);
void an_zwin_close_open(struct an_conn *c, struct us_an_zwin *z, us_time_t capture_end);
void an_conn_finish(struct us_an *an, struct an_conn *c);
