/* ustack — a DNS stub resolver (A records) over the transport interface, so
 * the same code resolves on ustack's UDP and TCP or on the kernel's, in real
 * time or in virtual time.
 *
 * Like the rest of ustack it never reads a clock: every call takes `now` and
 * us_dns_step() says when it must be called next. It owns descriptors on the
 * transport (one UDP socket per query sent, a TCP connection for a truncated
 * answer), watched with the resolver as their context: a program's loop hands
 * every event to us_dns_event() (which takes the resolver's own and says so),
 * and calls us_dns_step() for its timers:
 *
 *     us_dns_lookup(d, "www.example.com", done, arg, now);
 *     for (;;) {
 *         n = us_tp_poll(tp, ev, max, now);
 *         for (i = 0; i < n; i++)
 *             if (!us_dns_event(d, &ev[i], now)) ... the program's own ...
 *         deadline = min(us_dns_step(d, now), the program's own);
 *         us_tp_wait(tp, deadline); now = us_tp_now(tp);
 *     }
 *
 * (us_dns_resolve() is that loop for one name.) What it does:
 *   - a name that is a dotted quad is its own answer; then the hosts file
 *     (/etc/hosts format, only when a path is configured), then the cache;
 *   - a query per attempt from a random source port with a random ID (the
 *     transport's random source: the stack's, or getrandom); an answer counts
 *     only from the server's address and port 53 (the configured port), with
 *     the query's ID and question (else it is counted as mismatched and
 *     dropped); attempts go round the servers with the timeout doubling
 *     (timeout, 2·timeout, … up to timeout_max), then the lookup fails with
 *     US_DNS_TIMEOUT;
 *   - a truncated answer (TC=1) is asked again over TCP (RFC 7766: a 2-byte
 *     length before each message) and never cached;
 *   - CNAME chains are followed within an answer and by new queries, at most
 *     max_cname links (US_DNS_LOOP beyond);
 *   - answers are cached by their TTL (the smallest along the chain, at most
 *     max_ttl); NXDOMAIN and NODATA by the SOA's minimum or TTL, whichever is
 *     smaller (RFC 2308 5; without an SOA not at all, at most max_neg_ttl);
 *     SERVFAIL and REFUSED answers make the next server try and are never
 *     cached. At cache_max entries the one that expires first gives way. */
#ifndef USTACK_DNS_H
#define USTACK_DNS_H

#include "types.h"
#include "transport.h"

#define US_DNS_MAX_SERVERS 8
#define US_DNS_MAX_ADDRS 16
#define US_DNS_NAME_MAX 1024   /* a name as text, with room for \DDD escapes */

struct us_dns;

/* us_dns_config_default() sets what the comments say. */
struct us_dns_config {
    struct us_tp_addr server[US_DNS_MAX_SERVERS]; /* port 0 means 53 */
    uint32_t nservers;
    us_time_t timeout;       /* the first attempt's (1 s); each next doubles */
    us_time_t timeout_max;   /* bound of the doubling (8 s) */
    uint32_t attempts;       /* queries sent per lookup before US_DNS_TIMEOUT (4), round the servers */
    us_time_t tcp_timeout;   /* a TCP query from connect to answer (5 s) */
    uint32_t cache_max;      /* entries (256; 0 = no cache) */
    uint32_t max_ttl;        /* seconds an answer is kept at most (86400) */
    uint32_t max_neg_ttl;    /* seconds a negative answer is kept at most (3600) */
    uint32_t max_cname;      /* CNAME links followed (8) */
    uint32_t max_inflight;   /* lookups in progress (64; more: -EBUSY) */
    const char *hosts;       /* a hosts file to read at us_dns_new (NULL: none) */
};
void us_dns_config_default(struct us_dns_config *cfg);

/* How a lookup ended. */
enum us_dns_status {
    US_DNS_OK = 0,
    US_DNS_NXDOMAIN,         /* the name does not exist (RCODE 3) */
    US_DNS_NODATA,           /* it exists, without A records */
    US_DNS_SERVFAIL,         /* every answer was SERVFAIL, REFUSED or malformed */
    US_DNS_TIMEOUT,          /* no answer after every attempt */
    US_DNS_LOOP,             /* a CNAME chain longer than max_cname */
    US_DNS_BADNAME,          /* not a valid name */
    US_DNS_NOSERVER,         /* no server configured */
    US_DNS_CANCELLED,        /* us_dns_cancel, or the resolver was freed */
};
const char *us_dns_strstatus(int status);

struct us_dns_result {
    int status;              /* enum us_dns_status */
    char name[US_DNS_NAME_MAX];   /* as asked */
    char canon[US_DNS_NAME_MAX];  /* after the CNAME chain (= name without one) */
    us_ip4_t addr[US_DNS_MAX_ADDRS]; /* host byte order, in answer order */
    uint32_t naddr;
    uint32_t ttl;            /* seconds it stays valid (remaining, for a cached one) */
    bool from_cache, from_hosts, via_tcp;
    struct us_tp_addr server; /* the server that gave the answer (0 when none did) */
    uint32_t cnames;         /* CNAME links followed */
    uint32_t queries;        /* queries this lookup sent (0 from the cache) */
    us_time_t started, finished;
};

typedef void (*us_dns_done_fn)(void *arg, const struct us_dns_result *r);

struct us_dns_stats {
    uint64_t queries_sent;   /* UDP queries sent (every attempt) */
    uint64_t tcp_queries;    /* queries sent over TCP after a truncated answer */
    uint64_t answers;        /* matching answers received (UDP or TCP) */
    uint64_t cache_hits;     /* lookups answered from the cache (positive or negative) */
    uint64_t cache_misses;
    uint64_t mismatched;     /* datagrams dropped: wrong source, ID or question, or malformed */
    uint64_t timeouts;       /* attempts that got no answer in time */
    uint64_t truncated;      /* answers with TC=1 */
    uint64_t servfail;       /* SERVFAIL / REFUSED / other error RCODEs */
    uint64_t evictions;      /* cache entries pushed out by cache_max */
    uint64_t hosts_hits;     /* lookups answered by the hosts file */
};

/* NULL with the reason in err (a hosts file that cannot be read, no memory). */
struct us_dns *us_dns_new(struct us_tp *tp, const struct us_dns_config *cfg, char *err, size_t errlen);
/* Ends every lookup in progress with US_DNS_CANCELLED (their callbacks run)
 * and closes the resolver's descriptors. */
void us_dns_free(struct us_dns *d, us_time_t now);

/* Starts a lookup of the A records of `name`; done(arg, result) is called
 * exactly once — before this returns when the answer is known at once (an
 * address, the hosts file, the cache, a bad name, no server), else from
 * us_dns_event or us_dns_step. done may start and cancel lookups, but must
 * not free the resolver. Returns 0, or -EBUSY (max_inflight lookups in
 * progress) or -ENOMEM, and then done is not called. */
int us_dns_lookup(struct us_dns *d, const char *name, us_dns_done_fn done, void *arg, us_time_t now);
/* Ends the lookups started with this arg: their done is not called. */
void us_dns_cancel(struct us_dns *d, void *arg, us_time_t now);
/* An event from us_tp_poll: handled and true when it is for one of the
 * resolver's descriptors, else false (the caller's own). */
bool us_dns_event(struct us_dns *d, const struct us_tp_event *ev, us_time_t now);
/* Runs what is due at now (retries, timeouts); returns the next deadline,
 * US_TIME_NEVER when no lookup is in progress. */
us_time_t us_dns_step(struct us_dns *d, us_time_t now);
/* Lookups in progress. */
uint32_t us_dns_pending(const struct us_dns *d);

/* One lookup to its end, running the transport (us_tp_poll/us_tp_wait):
 * for programs whose only watched descriptors are the resolver's. Returns 0
 * with *r filled, or a negative errno (-EINTR: the wait was interrupted,
 * a signal or the driver's stop condition; -EBUSY, -ENOMEM). */
int us_dns_resolve(struct us_dns *d, const char *name, struct us_dns_result *r);

void us_dns_get_stats(const struct us_dns *d, struct us_dns_stats *s);
/* Forgets every cached answer. */
void us_dns_flush(struct us_dns *d);

#endif
