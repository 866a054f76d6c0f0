/* ustack resolve: look names up with the DNS stub resolver (dns.h) on ustack
 * (--tap) or the kernel's sockets (--stack kernel), through the servers of
 * --dns, one name after the other so a name given twice shows the cache.
 *
 * stdout: one line per name — its addresses, the TTL left, where the answer
 * came from (the server and how many queries, the cache, the hosts file),
 * the canonical name after a CNAME chain — then the resolver's counters.
 * Errors name the name and the reason on stderr. Exit status: 0 every name
 * resolved, 1 a name does not exist or has no A record (NXDOMAIN, NODATA),
 * 2 usage, 3 no usable answer (timeout, SERVFAIL, CNAME loop), 130 stopped
 * by a signal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dns.h>
#include "cli.h"

static struct cli_strv names;
static const char *hosts_file;
static double timeout_s = 1;
static uint32_t attempts = 4;

static int add_server(struct us_dns_config *cfg, const char *s)
{
    struct us_tp_addr a = {0, 53};
    int rc = strchr(s, ':') ? cli_parse_hostport("--dns", s, &a.ip, &a.port) : cli_parse_ip("--dns", s, &a.ip);
    if (rc)
        return 2;
    if (cfg->nservers == US_DNS_MAX_SERVERS)
        return cli_error("--dns: at most %d servers", US_DNS_MAX_SERVERS);
    cfg->server[cfg->nservers++] = a;
    return 0;
}

int cli_dns_servers(const struct cli *c, struct us_dns_config *cfg)
{
    for (size_t i = 0; i < c->dns.n; i++) {
        char buf[512];
        if (snprintf(buf, sizeof(buf), "%s", c->dns.v[i]) >= (int)sizeof(buf))
            return cli_error("--dns: '%s' is too long", c->dns.v[i]);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int rc = add_server(cfg, tok);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void print_result(const struct us_dns_result *r)
{
    char line[1024], ip[16];
    size_t n = (size_t)snprintf(line, sizeof(line), "%s:", r->name);
    for (uint32_t i = 0; i < r->naddr && n < sizeof(line); i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? "," : " ", cli_ipstr(r->addr[i], ip));
    if (r->from_hosts) {
        printf("%s (hosts file)\n", line);
        return;
    }
    if (r->queries == 0 && !r->from_cache) {
        printf("%s (an address)\n", line);
        return;
    }
    printf("%s ttl %u", line, r->ttl);
    if (r->cnames)
        printf(" canonical %s (%u CNAME%s)", r->canon, r->cnames, r->cnames == 1 ? "" : "s");
    if (r->from_cache)
        printf(" from cache\n");
    else
        printf(" from server %s (%u quer%s%s, %.1f ms)\n", cli_ipstr(r->server.ip, ip), r->queries,
               r->queries == 1 ? "y" : "ies", r->via_tcp ? ", TCP after a truncated answer" : "",
               (double)(r->finished - r->started) / 1e6);
}

static void count_closing(void *arg, const struct us_conn_info *ci)
{
    int s = ci->info.state;
    if (s == US_TCP_FIN_WAIT_1 || s == US_TCP_FIN_WAIT_2 || s == US_TCP_CLOSING || s == US_TCP_LAST_ACK)
        (*(int *)arg)++;
}

/* On ustack, a TCP query's connection was closed when its answer came: give
 * the server up to a second to close its side too, so the exit finds it in
 * TIME_WAIT (ended silently) rather than half-closed (ended with a RST). */
static void let_connections_close(struct cli *c)
{
    us_time_t until = us_tp_now(c->tp) + US_SEC(1);
    for (;;) {
        int n = 0;
        us_tcp_foreach(c->st, count_closing, &n);
        if (!n || us_tp_now(c->tp) >= until || us_tp_wait(c->tp, until) < 0)
            return;
    }
}

static int exit_status(int status)
{
    switch (status) {
    case US_DNS_OK: return 0;
    case US_DNS_NXDOMAIN:
    case US_DNS_NODATA: return 1;
    case US_DNS_BADNAME:
    case US_DNS_NOSERVER: return 2;
    default: return 3;
    }
}

static int resolve_run(struct cli *c)
{
    struct us_dns_config cfg;
    us_dns_config_default(&cfg);
    cfg.timeout = (us_time_t)(timeout_s * 1e9);
    cfg.attempts = attempts;
    cfg.hosts = hosts_file;
    int rc = cli_dns_servers(c, &cfg);
    if (rc)
        return rc;
    rc = cli_transport(c);
    if (rc)
        return rc;
    char err[256];
    struct us_dns *d = us_dns_new(c->tp, &cfg, err, sizeof(err));
    if (!d) {
        cli_transport_teardown(c);
        return cli_error("resolve: %s", err);
    }
    int status = 0;
    for (size_t i = 0; i < names.n && !cli_stopping(); i++) {
        static struct us_dns_result r;
        rc = us_dns_resolve(d, names.v[i], &r);
        if (rc < 0) {
            if (rc != -EINTR)
                fprintf(stderr, "ustack: resolve: %s: %s\n", names.v[i], strerror(-rc));
            status = rc == -EINTR ? 130 : 3;
            break;
        }
        if (r.status == US_DNS_OK) {
            print_result(&r);
        } else {
            fprintf(stderr, "ustack: resolve: %s: %s\n", r.name, us_dns_strstatus(r.status));
            if (r.from_cache)
                fprintf(stderr, "ustack: resolve: %s: (negative answer from cache, ttl %u)\n", r.name, r.ttl);
        }
        int e = exit_status(r.status);
        if (e > status)
            status = e;
    }
    struct us_dns_stats st;
    us_dns_get_stats(d, &st);
    printf("dns: %llu queries sent (%llu over TCP), %llu answers, %llu cache hits, %llu mismatched dropped, "
           "%llu timeouts\n",
           (unsigned long long)st.queries_sent, (unsigned long long)st.tcp_queries, (unsigned long long)st.answers,
           (unsigned long long)st.cache_hits, (unsigned long long)st.mismatched, (unsigned long long)st.timeouts);
    us_dns_free(d, us_tp_now(c->tp));
    if (c->st && st.tcp_queries)
        let_connections_close(c);
    cli_transport_teardown(c);
    return status;
}

static const struct cli_opt resolve_opts[] = {
    CLI_ARGV("NAME...", "the names to look up (A records); a name given twice shows the cache", &names),
    CLI_STR("--hosts", "FILE", "a hosts file (/etc/hosts format) asked before the servers (default: none)", &hosts_file),
    CLI_REAL("--timeout", "S", "the first attempt's timeout, doubling per attempt up to 8 s (default 1)", &timeout_s,
             0.001, 60),
    CLI_UINT("--attempts", "N", "queries per name before giving up, round the servers (default 4)", &attempts, 1, 32),
    CLI_END,
};

const struct cli_cmd cmd_resolve = {
    .name = "resolve",
    .summary = "look names up with the DNS stub resolver (--dns servers): addresses, TTL, cache",
    .description = "Each name is looked up in turn: the hosts file (--hosts), the cache, then the --dns\n"
                   "servers in order (a random ID and source port per query, retries with a doubling\n"
                   "timeout, TCP after a truncated answer). A line per name gives its addresses, the TTL\n"
                   "left and whether the answer came from a server or from the cache. Exit status: 0 all\n"
                   "resolved, 1 a name does not exist (NXDOMAIN) or has no address, 2 usage, 3 no answer\n"
                   "(timeout, SERVFAIL), 130 interrupted.\n",
    .globals = true,
    .opts = resolve_opts,
    .run = resolve_run,
};
