/* The `ustack sim` scenarios: each runs two ustack hosts in virtual time
 * (simnet.h), returns what happened in numbers (the scenario tests assert
 * them) and leaves the printing to the command. Same options, same run. */
#ifndef US_TOOLS_SCEN_H
#define US_TOOLS_SCEN_H

#include <ustack/analyze.h>
#include "simnet.h"

/* ---- nagle: Nagle's algorithm x delayed ACK ----
 * A sends B a POST whose head and body are two writes; B answers once it has
 * both. With Nagle on (the default), the body waits in A until B acknowledges
 * the head, and B, with nothing to send yet, delays that ACK: every request
 * costs a round trip plus B's delayed-ACK time. TCP_NODELAY, or one write of
 * head and body, removes it. */
enum scen_nagle_mode { NAGLE_ON, NAGLE_NODELAY, NAGLE_ONE_WRITE, NAGLE_MODES };
#define NAGLE_MAX_REQUESTS 16
struct scen_nagle_opts {
    int mode;                 /* enum scen_nagle_mode */
    us_time_t one_way;        /* link delay each way */
    us_time_t delack;         /* B's delayed-ACK time */
    uint32_t body_len;        /* bytes of the POST body */
    int requests;             /* on one keep-alive connection, 1..NAGLE_MAX_REQUESTS */
    const char *pcap;         /* capture of A's side, or NULL */
};
struct scen_nagle_req {
    us_time_t t_write;        /* A wrote the request (head and body at once) */
    us_time_t t_head, t_body; /* B had the whole head / the whole body */
    us_time_t t_done;         /* A had the whole response */
};
struct scen_nagle_result {
    us_time_t t_start;        /* A connects (virtual time; the capture starts at 0) */
    uint32_t head_len;
    int done;                 /* requests answered */
    struct scen_nagle_req req[NAGLE_MAX_REQUESTS];
    /* the trace analyzer on A's side of the wire */
    bool found;               /* a nagle-delayed-ack finding */
    char finding[US_AN_TEXT_MAX];
};
const char *scen_nagle_mode_name(int mode);
/* 0, or -1 with the reason in err. */
int scen_nagle_run(const struct scen_nagle_opts *o, struct scen_nagle_result *r, char *err, size_t errlen);

/* ---- timewait: TIME_WAIT accumulation and ephemeral-port exhaustion ----
 * A opens one connection per request to B:80 at a fixed rate (HTTP/1.0
 * style: request, response, close). The side that closes first keeps the
 * 4-tuple in TIME_WAIT for 2*MSL. When A closes first, each request holds one
 * of A's ephemeral ports for 2*MSL: at rate R with P ports, connect fails with
 * EADDRNOTAVAIL once R*2*MSL > P, first at about P/R seconds, and from then
 * on A can open only as many connections as TIME_WAITs expire. When B closes
 * first, B holds the TIME_WAITs and A's ports stay free. */
enum { TW_CLIENT_CLOSES, TW_SERVER_CLOSES };
struct scen_tw_opts {
    double rate;              /* connections per second, > 0 */
    us_time_t duration;       /* virtual time the load runs */
    uint32_t ports;           /* A's ephemeral ports (from 49152) */
    us_time_t msl;            /* TIME_WAIT lasts 2*msl */
    us_time_t one_way;        /* link delay each way */
    int closer;               /* TW_CLIENT_CLOSES or TW_SERVER_CLOSES */
    us_time_t sample;         /* TIME_WAIT counted every `sample` (0: 1 s) */
    const char *pcap;         /* capture of A's side, or NULL (large: one per connection) */
};
struct scen_tw_sample {
    us_time_t t;
    uint32_t tw_a, tw_b;      /* connections in TIME_WAIT on each host */
    uint64_t opened, failed;  /* so far */
};
struct scen_tw_result {
    uint64_t attempts, opened, completed, failed;  /* failed: connect -> EADDRNOTAVAIL */
    us_time_t t_first_fail;   /* 0: none */
    uint32_t tw_max_a, tw_max_b;
    uint64_t tw_reused_b;     /* B: SYNs that reopened a tuple it held in TIME_WAIT */
    struct scen_tw_sample *samples;   /* malloc'ed; scen_tw_free */
    size_t nsamples;
};
int scen_tw_run(const struct scen_tw_opts *o, struct scen_tw_result *r, char *err, size_t errlen);
void scen_tw_free(struct scen_tw_result *r);

/* ---- page: a page and its embedded resources, fetched by strategy ----
 * The loader (page_load) is the same code in the simulator and in real time
 * (`ustack page`): it resolves the host through the resolver, fetches the
 * page, finds its resources in the HTML (page_scan) and fetches them:
 *   serial      a new connection per request, one at a time (Connection: close)
 *   parallel    up to N new connections at a time (Connection: close)
 *   persistent  keep-alive over up to N connections
 *   pipelined   keep-alive on one connection, up to D requests outstanding
 * Only the transport differs. The `sim page` scenario (scen_page_run) runs it
 * between A and B in virtual time: B serves a generated site with the real
 * HTTP server and answers DNS for its name; the server's congestion window is
 * read from B's connection at each response's first byte. */
enum page_strategy { PAGE_SERIAL, PAGE_PARALLEL, PAGE_PERSISTENT, PAGE_PIPELINED, PAGE_STRATEGIES };
const char *page_strategy_name(int s);
int page_strategy_parse(const char *name);   /* -1: unknown */
#define PAGE_MAX_RES 128
#define PAGE_PATH_MAX 160

/* Same-origin resources referenced by img/script/source src and link href in
 * html (relative, /absolute and http://host/ URLs resolved against base),
 * duplicates dropped, at most max. Returns how many; *other counts those of
 * another origin (not fetched). */
struct us_url;
size_t page_scan(const char *html, size_t len, const struct us_url *base, char (*out)[PAGE_PATH_MAX], size_t max,
                 size_t *other);

struct page_req {
    char path[PAGE_PATH_MAX];
    us_time_t dns_start, dns_end;       /* the lookup (equal: from the cache) */
    us_time_t connect_start, connect_end, sent, first_byte, end;   /* 0: not reached */
    bool dns_cached, reused;
    uint32_t conn_id;
    uint16_t local_port, status;
    uint64_t body_bytes, hash;          /* FNV-1a 64 of the body */
    uint32_t cwnd;                      /* the server's cwnd at the first byte (0: not visible) */
    uint64_t first_rtt_bytes;           /* body bytes within one handshake RTT of the first byte */
    int error;                          /* 0 or a negative errno */
    char msg[96];
};
struct page_cwnd_sample { us_time_t t; uint32_t conn_id, cwnd; };
struct page_result {
    int strategy;
    uint32_t parallel, pipeline;
    us_time_t t_start, t_end;           /* the first lookup .. the last response */
    size_t nreq, other_origin;          /* req[0] is the page */
    struct page_req req[PAGE_MAX_RES + 1];
    uint64_t dns_queries, dns_cache_hits;
    uint32_t connections;               /* handshakes the client started */
    uint64_t body_bytes;
    int tw_client, tw_server;           /* in TIME_WAIT at the end (-1: not visible) */
    uint32_t failed;                    /* requests that did not end in 200 */
    struct page_cwnd_sample *cwnd;      /* the server's cwnd when it changed (malloc'ed; page_result_free) */
    size_t ncwnd, cwnd_cap;
    /* the simulator's view of A's side of the wire */
    uint32_t syns, req_segments, multi_req_segments, max_reqs_per_segment;
};
void page_result_free(struct page_result *r);

struct page_load_opts {
    int strategy;
    uint32_t parallel, pipeline;        /* N (1..64), D (1..64) */
    const char *url;
    struct us_tp *tp;                   /* the client's transport */
    struct us_dns *dns;                 /* on its own transport dns_tp (one driver with tp) */
    struct us_tp *dns_tp;
    us_time_t timeout;                  /* the whole load */
    const char *save_dir;               /* each body into DIR/path ('/' -> '_'), or NULL */
    /* the other side (the simulator's server), stepped with the client: its next deadline */
    us_time_t (*peer_step)(void *arg, us_time_t now);
    /* the server's cwnd on the connection from local_port (0: unknown) */
    uint32_t (*server_cwnd)(void *arg, uint16_t local_port);
    /* connections in TIME_WAIT on each side at the end */
    void (*time_wait)(void *arg, int *client, int *server);
    void *arg;
    const volatile bool *stop;          /* real time: SIGINT */
};
/* 0 (r filled; r->failed says if any request failed), or -1 with a message. */
int page_load(const struct page_load_opts *o, struct page_result *r, char *err, size_t errlen);

struct scen_page_opts {
    int strategy;
    uint32_t parallel, pipeline;
    us_time_t rtt;
    uint64_t rate;                      /* bits/s of each direction, 0 = unlimited */
    double loss;                        /* each direction */
    uint32_t resources;                 /* 1..PAGE_MAX_RES */
    uint64_t seed;
    const char *pcap;                   /* capture of A's side, or NULL */
};
struct scen_page_result {
    struct page_result load;
    uint32_t resources;                 /* generated */
    uint64_t site_bytes;                /* their bytes, page included */
    uint32_t mismatched;                /* bodies that differ from the files (size or hash) */
    uint64_t dns_answered;              /* queries B's responder answered */
};
int scen_page_run(const struct scen_page_opts *o, struct scen_page_result *r, char *err, size_t errlen);

/* ---- cc: congestion controls on one bottleneck ----
 * A sends B an endless pattern transfer through a bottleneck on A's side:
 * random loss (before the queue), then a rate limit with a queue of
 * buffer_bdp bandwidth-delay products, then the delay (half the RTT each
 * way). After the warm-up (Startup / slow start), the run counts B's goodput,
 * A's retransmissions, the queue's tail drops and the queueing delay of every
 * data packet admitted to the bottleneck queue (its wait before it is
 * serialised). Virtual time: the same options give the same figures. */
struct scen_cc_opts {
    const char *cc;           /* "bbr", "cubic", "newreno" */
    uint64_t rate;            /* bottleneck bits/s */
    us_time_t rtt;            /* round-trip propagation time */
    double loss;              /* random loss of the data direction, 0..1 */
    double buffer_bdp;        /* bottleneck queue in BDPs (at least two frames) */
    us_time_t duration, warmup;   /* the run, and the part of it not counted */
    uint64_t seed;            /* 0: 1 */
};
struct scen_cc_result {
    char cc[16];              /* the algorithm the connection ran */
    uint32_t queue_bytes;     /* the bottleneck queue */
    double goodput_bps;       /* bytes B read after the warm-up, bits/s */
    us_time_t q50, q99;       /* queueing delay percentiles of A's data packets after the warm-up */
    uint64_t packets;         /* ... over so many packets */
    uint64_t retransmits, queue_drops;   /* after the warm-up */
};
uint32_t scen_cc_bdp(const struct scen_cc_opts *o);   /* bytes: rate x rtt */
int scen_cc_run(const struct scen_cc_opts *o, struct scen_cc_result *r, char *err, size_t errlen);

#endif
