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

#endif
