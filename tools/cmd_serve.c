/* serve: the HTTP/1.1 file server (src/http/http_server.c) on ustack's TAP
 * stack or, with --stack kernel, on the kernel's sockets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/http_server.h>
#include "cli.h"

static uint16_t srv_port = 80;
static const char *srv_root = ".";
static us_ip4_t srv_listen;
static bool srv_listen_set;
static const char *srv_log;
static us_time_t srv_idle = US_SEC(60), srv_header = US_SEC(10), srv_linger = US_SEC(2);
static uint32_t srv_max_requests = 1000, srv_max_conns = 100000;
static double srv_duration;

static us_time_t serve_step(void *arg, us_time_t now) { return us_http_server_step(arg, now); }

static FILE *open_log(const char *path, char *logbuf, size_t len)
{
    if (path && !strcmp(path, "off"))
        return NULL;
    if (!path || !strcmp(path, "-")) {
        /* fully buffered: the server flushes the log after each step, not
         * each line (a write per request would cost more than the request) */
        setvbuf(stdout, logbuf, _IOFBF, len);
        return stdout;
    }
    FILE *f = fopen(path, "a");
    if (f)
        setvbuf(f, logbuf, _IOFBF, len);
    return f;
}

static int serve_run(struct cli *c)
{
    if (srv_listen_set && !cli_on_kernel(c))
        return cli_error("serve: --listen is for --stack kernel (on ustack, serve listens on --ip)");
    static char logbuf[1 << 16];
    FILE *log = open_log(srv_log, logbuf, sizeof(logbuf));
    if (srv_log && strcmp(srv_log, "off") && !log)
        return cli_error("serve: --access-log %s: %s", srv_log, strerror(errno));
    int rc = cli_transport(c);
    if (rc)
        return rc;
    struct us_http_server_config cfg;
    us_http_server_config_default(&cfg);
    cfg.root = srv_root;
    cfg.addr = (struct us_tp_addr){srv_listen, srv_port};
    cfg.backlog = c->backlog ? (int)c->backlog : 1024;
    cfg.idle_timeout = srv_idle;
    cfg.header_timeout = srv_header;
    cfg.linger = srv_linger;
    cfg.max_requests = srv_max_requests;
    cfg.max_conns = srv_max_conns;
    cfg.access_log = log;
    cfg.wall_offset = (int64_t)us_rt_wall_offset();
    char err[256];
    struct us_http_server *s = us_http_server_new(c->tp, &cfg, err, sizeof(err));
    if (!s) {
        cli_error("serve: %s", err);
        cli_transport_teardown(c);
        return 1;
    }
    char ip[16];
    printf("serve: %s stack, listening on %s:%u, root %s\n", us_tp_name(c->tp),
           cli_ipstr(cli_on_kernel(c) ? srv_listen : c->net.ip, ip), us_http_server_port(s), srv_root);
    us_time_t now = us_tp_now(c->tp);
    us_time_t until = srv_duration > 0 ? now + (us_time_t)(srv_duration * 1e9) : US_TIME_NEVER;
    rc = us_tp_run(c->tp, serve_step, s, NULL, until);
    struct us_http_server_stats st;
    us_http_server_stats(s, &st);
    if (c->verbose && c->st)
        cli_netstat(c->st, stdout);
    /* Stopped: what is still open is aborted (RST), as for any exiting process. */
    cli_abort_connections(c);
    us_http_server_free(s, us_tp_now(c->tp));
    cli_transport_teardown(c);
    printf("serve: %llu connections, %llu requests (2xx %llu, 3xx %llu, 4xx %llu, 5xx %llu), %llu body bytes%s\n",
           (unsigned long long)st.accepted, (unsigned long long)st.requests, (unsigned long long)st.responses[2],
           (unsigned long long)st.responses[3], (unsigned long long)st.responses[4],
           (unsigned long long)st.responses[5], (unsigned long long)st.body_bytes,
           cli_stop_signal() ? " (stopped)" : "");
    if (log && log != stdout)
        fclose(log);
    return rc == -EINTR || rc == 0 ? 0 : 1;
}

static const struct cli_opt serve_opts[] = {
    CLI_PORT(&srv_port, 80),
    CLI_STR("--root", "DIR", "directory served (default .)", &srv_root),
    {.name = "--listen", .metavar = "ADDR", .help = "--stack kernel: address to listen on (default every address)",
     .parse = cli_opt_ip, .out = &srv_listen, .seen = &srv_listen_set},
    CLI_STR("--access-log", "FILE", "one line per request to FILE (default -, stdout; off: none)", &srv_log),
    {.name = "--idle-timeout", .metavar = "MS", .help = "close an idle keep-alive connection after MS (default 60000)",
     .parse = cli_opt_ms, .out = &srv_idle, .dlo = 1, .dhi = 86400000},
    {.name = "--header-timeout", .metavar = "MS", .help = "408 when a request head takes longer (default 10000)",
     .parse = cli_opt_ms, .out = &srv_header, .dlo = 1, .dhi = 86400000},
    {.name = "--linger", .metavar = "MS", .help = "lingering read after closing, at most MS (default 2000)",
     .parse = cli_opt_ms, .out = &srv_linger, .dlo = 0, .dhi = 600000},
    CLI_UINT("--max-requests", "N", "requests per connection, then Connection: close (default 1000, 0: no limit)",
             &srv_max_requests, 0, UINT32_MAX),
    CLI_UINT("--max-conns", "N", "open connections at most; more wait in the accept queue (default 100000)",
             &srv_max_conns, 1, 10000000),
    CLI_DURATION(&srv_duration),
    CLI_END,
};

const struct cli_cmd cmd_serve = {
    .name = "serve",
    .summary = "HTTP/1.1 file server: keep-alive, pipelining, ranges, conditional GET",
    .description = "Serves the files under --root with GET and HEAD (index.html for a directory),\n"
                   "keep-alive, pipelining, ETag/Last-Modified with 304, byte ranges (206/416) and\n"
                   "Expect: 100-continue; paths cannot leave the root (\"..\", percent-encoding,\n"
                   "symbolic links). On ustack (--tap, --ip) or with --stack kernel on the kernel's\n"
                   "sockets (--listen ADDR). One access-log line per request.\n",
    .globals = true,
    .opts = serve_opts,
    .run = serve_run,
};
