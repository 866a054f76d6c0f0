/* ustack — the trace analyzer: reconstructs TCP connections from captured
 * frames (of any stack, not only ustack) and explains what held a transfer up.
 *
 * Feed frames one by one in capture order (us_an_frame), or a whole pcap file
 * (us_an_read_pcap), then call us_an_finish once and read the connections. Each
 * connection has a summary (bytes, retransmissions, RTT, the options each side
 * offered) and a list of findings, each with a severity, a time and one line of
 * explanation. The checks are the trace checks of STALL.md ("the download that
 * stalls at 99%"); where a finding rests on inference (data the application
 * presumably still had, where the capture was taken) its text says "likely" or
 * "presumably".
 *
 * Times are the capture's time stamps in nanoseconds. Nothing in a frame can
 * make the analyzer crash or read out of bounds: truncated frames and garbage
 * options are counted as malformed and skipped. */
#ifndef USTACK_ANALYZE_H
#define USTACK_ANALYZE_H

#include <ustack/types.h>

enum us_an_link {
    US_AN_LINK_ETH,    /* Ethernet II (DLT_EN10MB), one optional 802.1Q tag */
    US_AN_LINK_SLL,    /* Linux cooked capture v1 (DLT_LINUX_SLL) */
    US_AN_LINK_SLL2,   /* Linux cooked capture v2 (DLT_LINUX_SLL2) */
    US_AN_LINK_IPV4,   /* raw IPv4 (DLT_RAW, DLT_IPV4) */
};

enum us_an_severity { US_AN_INFO, US_AN_WARNING, US_AN_ERROR };

enum us_an_kind {
    US_AN_NO_HANDSHAKE,     /* the SYNs were not captured: window scale unknown */
    US_AN_NOT_ESTABLISHED,  /* SYNs went unanswered */
    US_AN_WSCALE_MISMATCH,  /* one SYN carried window scale, the other not (STALL way 6) */
    US_AN_BEYOND_WINDOW,    /* data sent beyond the receiver's advertised right edge */
    US_AN_EDGE_LEFT,        /* the receiver's right edge moved left (R1) */
    US_AN_SWS_REOPEN,       /* a reopening smaller than min(MSS, buffer/2) (R2) */
    US_AN_ZERO_WINDOW,      /* a zero-window episode: duration, probes, gaps, answers */
    US_AN_PROBE_BACKOFF,    /* probe gaps that do not double, or back off beyond 60 s */
    US_AN_PROBE_UNANSWERED, /* a probe the receiver did not answer (R4, STALL way 8) */
    US_AN_STALL,            /* the sender owed a transmission and stayed silent */
    US_AN_LONG_SILENCE,     /* as STALL, but the sender did resume */
    US_AN_UPDATE_FAST_RETX, /* window updates taken as duplicate ACKs (STALL way 7) */
    US_AN_SHORT_SEGMENT,    /* short segments that are neither tail, retransmission nor forced */
    US_AN_NAGLE_DELACK,     /* data held by Nagle until the peer's delayed ACK of a small segment */
    US_AN_KIND_COUNT
};

#define US_AN_TEXT_MAX 512
struct us_an_finding {
    enum us_an_severity severity;
    enum us_an_kind kind;
    int side;                 /* 0 or 1: the side the finding is about */
    us_time_t t;              /* capture time it refers to */
    char text[US_AN_TEXT_MAX];
};

/* One direction of a connection, named after the side that sends it. */
struct us_an_side {
    us_ip4_t ip;
    uint16_t port;
    bool syn_seen;            /* this side's SYN (or SYN-ACK) is in the capture */
    uint16_t mss;             /* offered in its SYN, 0 = none */
    int wscale;               /* offered in its SYN, -1 = none */
    bool sack_perm, ts;       /* offered in its SYN */
    uint8_t shift;            /* scale applied to its window field (S8: both SYNs carried it) */
    bool fin, rst;
    uint64_t bytes;           /* distinct payload bytes sent */
    uint64_t segments, data_segments, retransmits;
    uint64_t dupacks, window_updates, zero_windows, probes;
    uint32_t max_window;      /* largest window it advertised (scaled) */
    us_time_t rtt_min, srtt;  /* RTT of its data as seen at the capture point; 0 = no sample */
};

#define US_AN_MAX_PROBES 32
enum us_an_probe {
    US_AN_PROBE_OLD,      /* zero-length, SEQ = SND.UNA - 1: the receiver must answer */
    US_AN_PROBE_EMPTY,    /* zero-length, SEQ = SND.NXT: acceptable, need not be answered (way 8) */
    US_AN_PROBE_DATA,     /* one byte of data beyond the window: must be answered */
};
/* A zero-window episode: `side` advertised zero; the other side probed. */
struct us_an_zwin {
    int side;
    us_time_t start, end;     /* end = 0: still closed when the capture ended */
    uint32_t nprobes, nanswered;
    us_time_t probe_t[US_AN_MAX_PROBES];       /* the first US_AN_MAX_PROBES probes */
    bool answered[US_AN_MAX_PROBES];
    uint8_t probe_kind[US_AN_MAX_PROBES];      /* enum us_an_probe */
};

struct us_an_conn {
    unsigned id;              /* 1, 2, … in order of first appearance */
    struct us_an_side side[2];/* side 0 sent the first SYN (or the first segment seen) */
    us_time_t t_first, t_last;
    us_time_t rtt_handshake;  /* SYN to the ACK of the SYN-ACK; 0 = not seen */
    bool established;
    size_t nfindings, findings_dropped;
    struct us_an_finding *findings;
    size_t nzwin;
    struct us_an_zwin *zwin;
};

struct us_an_stats {
    uint64_t frames, tcp, ignored, malformed;
    us_time_t t_first, t_last;
};

struct us_an;

struct us_an *us_an_new(void);
void us_an_free(struct us_an *an);
/* One captured frame: caplen bytes are present, wirelen were on the wire. */
void us_an_frame(struct us_an *an, enum us_an_link link, us_time_t t, const uint8_t *frame, uint32_t caplen,
                 uint32_t wirelen);
/* Reads a pcap (or pcapng) file with libpcap. 0; -1 when the file cannot be
 * read (nothing analyzed); 1 when it ends early (the frames before the damage
 * were analyzed). err gets a one-line message naming the file. */
int us_an_read_pcap(struct us_an *an, const char *path, char *err, size_t errlen);
/* Ends the capture: closes open episodes and silences, emits summary findings. */
void us_an_finish(struct us_an *an);

const struct us_an_stats *us_an_stats(const struct us_an *an);
size_t us_an_conn_count(const struct us_an *an);
const struct us_an_conn *us_an_conn_get(const struct us_an *an, size_t i);
/* The first finding of a kind in a connection, or NULL. */
const struct us_an_finding *us_an_find(const struct us_an_conn *c, enum us_an_kind kind);
/* Number of findings of a severity (or higher) in the whole capture. */
size_t us_an_count_severity(const struct us_an *an, enum us_an_severity min);

const char *us_an_kind_name(enum us_an_kind k);
const char *us_an_severity_name(enum us_an_severity s);

#endif
