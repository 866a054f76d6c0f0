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

#endif
