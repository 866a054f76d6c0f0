/* The ustack command: what its files share.
 *
 *   main.c       the command table (dispatch, --help, suggestions) and the global options
 *   cli.c        option tables and value parsers: errors name the flag and the allowed values
 *   host.c       the stack a command runs on a TAP device: set-up, signals, the loop's
 *                step, aborting connections on exit, netstat, teardown
 *   cmd_*.c      the commands (cmd_tcp.c: echo, sink, source)
 *   xfer.c       the pattern transfer of the demo (and the scenario tests)
 */
#ifndef US_TOOLS_CLI_H
#define US_TOOLS_CLI_H

#include <ustack/ustack.h>
#include <stdio.h>
#include <ustack/driver.h>
#include <ustack/transport.h>

struct cli;

/* ---- option tables ----
 * A command lists its options in an array ended by CLI_END; each entry says
 * where the value goes and what is allowed, and the same entry produces the
 * help line, the "allowed:" list of an unknown-option error and the error for
 * a bad value. An entry without a name is a positional argument. */
struct cli_opt;
typedef int (*cli_parse_fn)(const struct cli_opt *o, const char *v);
struct cli_opt {
    const char *name;        /* "--port", "-c"; NULL: positional argument */
    const char *metavar;     /* the value in help ("N"); NULL: a flag without value */
    const char *help;        /* one line; NULL: not shown in help */
    cli_parse_fn parse;      /* NULL for a flag: sets *(bool *)out */
    void *out;
    size_t width;            /* sizeof *out for integer values */
    uint64_t ulo, uhi;       /* allowed range of integer values */
    double dlo, dhi;         /* allowed range of real values */
    bool *seen;              /* set when given (optional) */
    const char *const *choices; /* cli_opt_choice: the allowed words, ended by NULL */
};

int cli_opt_str(const struct cli_opt *o, const char *v);    /* const char * */
int cli_opt_uint(const struct cli_opt *o, const char *v);   /* any unsigned integer, ulo..uhi */
int cli_opt_size(const struct cli_opt *o, const char *v);   /* unsigned, suffixes k M G, ulo..uhi */
int cli_opt_count(const struct cli_opt *o, const char *v);  /* int, += ulo each time (-v) */
int cli_opt_real(const struct cli_opt *o, const char *v);   /* double, dlo..dhi */
int cli_opt_ms(const struct cli_opt *o, const char *v);     /* milliseconds dlo..dhi into us_time_t ns */
int cli_opt_ip(const struct cli_opt *o, const char *v);     /* us_ip4_t */
int cli_opt_ipnet(const struct cli_opt *o, const char *v);  /* struct cli_ipnet */
int cli_opt_mac(const struct cli_opt *o, const char *v);    /* uint8_t[6], unicast */
int cli_opt_cc(const struct cli_opt *o, const char *v);     /* const char *, a registered congestion control */
int cli_opt_choice(const struct cli_opt *o, const char *v); /* const char *, one of o->choices */
struct cli_strv { const char **v; size_t n; };
int cli_opt_strv(const struct cli_opt *o, const char *v);   /* struct cli_strv: a last positional taking every word left */

#define CLI_FLAG(n, h, var) {.name = (n), .help = (h), .out = (var)}
#define CLI_STR(n, m, h, var) {.name = (n), .metavar = (m), .help = (h), .parse = cli_opt_str, .out = (var)}
#define CLI_UINT(n, m, h, var, lo, hi) \
    {.name = (n), .metavar = (m), .help = (h), .parse = cli_opt_uint, .out = (var), .width = sizeof(*(var)), .ulo = (lo), .uhi = (hi)}
#define CLI_SIZE(n, m, h, var, lo, hi) \
    {.name = (n), .metavar = (m), .help = (h), .parse = cli_opt_size, .out = (var), .width = sizeof(*(var)), .ulo = (lo), .uhi = (hi)}
#define CLI_REAL(n, m, h, var, lo, hi) \
    {.name = (n), .metavar = (m), .help = (h), .parse = cli_opt_real, .out = (var), .dlo = (lo), .dhi = (hi)}
#define CLI_CC(n, h, var) {.name = (n), .metavar = "NAME", .help = (h), .parse = cli_opt_cc, .out = (var)}
#define CLI_CHOICE(n, m, h, var, list) {.name = (n), .metavar = (m), .help = (h), .parse = cli_opt_choice, .out = (var), .choices = (list)}
#define CLI_ARG(m, h, var) {.metavar = (m), .help = (h), .parse = cli_opt_str, .out = (var)}
#define CLI_ARGV(m, h, var) {.metavar = (m), .help = (h), .parse = cli_opt_strv, .out = (var)}
#define CLI_END {0}
/* Options several commands share. */
#define CLI_PORT(var, def) CLI_UINT("--port", "N", "TCP port to listen on (default " #def ")", var, 1, 65535)
#define CLI_DURATION(var) CLI_REAL("--duration", "S", "stop after S seconds (default: until SIGINT/SIGTERM)", var, 0, 1e9)

/* ---- commands: each cmd_*.c defines one or more; main.c lists them ---- */
struct cli_cmd {
    const char *name;
    const char *summary;       /* one line, for ustack --help */
    const char *description;   /* more lines for ustack NAME --help, or NULL */
    bool globals;              /* the global options apply (a TAP device, impairments) */
    const struct cli_opt *opts; /* its options, parsed by main before run */
    int (*run)(struct cli *c);  /* returns the exit status */
};
extern const struct cli_cmd cmd_up, cmd_ping, cmd_echo, cmd_sink, cmd_source, cmd_demo, cmd_sim, cmd_analyze;
extern const struct cli_cmd cmd_serve, cmd_get, cmd_load, cmd_resolve, cmd_page;

struct cli_ipnet { us_ip4_t ip; uint8_t prefix; };

/* Parses argv[first..argc) against opts. Without positional entries in opts
 * it stops at the first word that is not an option (the command). Returns the
 * index of the first argument not consumed, CLI_HELP for -h/--help, CLI_ERR
 * after printing an error, which names ctx (the command) when not NULL; an
 * option of `elsewhere` (the global ones) is explained as misplaced. */
enum { CLI_HELP = -1, CLI_ERR = -2 };
int cli_parse_opts(const char *ctx, const struct cli_opt *opts, const struct cli_opt *elsewhere, int argc,
                   char **argv, int first);
/* "HOST:PORT [--bytes N] [--nodelay]" */
void cli_print_synopsis(FILE *out, const struct cli_opt *opts);
/* Help lines for the options of a table, e.g. "  --port N   TCP port ...". */
void cli_print_opts(FILE *out, const struct cli_opt *opts);
/* The element of names[0..n) closest to s by edit distance, if close enough; else NULL. */
const char *cli_suggest(const char *s, const char *const *names, size_t n);
/* "newreno, cubic": the congestion controls in the registry. */
const char *cli_cc_list(char *buf, size_t len);

/* Errors print "ustack: ..." and return 2 (the exit status for usage errors). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Value parsers: 0 on success, else print an error naming the flag and the allowed values. */
int cli_parse_ip(const char *flag, const char *s, us_ip4_t *out);
int cli_parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_parse_double(const char *flag, const char *s, double lo, double hi, double *out);
int cli_parse_hostport(const char *flag, const char *s, us_ip4_t *ip, uint16_t *port);
int cli_parse_size(const char *flag, const char *s, uint64_t *out); /* 10M, 1G, 64k */
const char *cli_ipstr(us_ip4_t ip, char buf[16]);

/* ---- the program's state ---- */
struct cli {
    const struct cli_cmd *cmd;  /* the command running */
    /* global options */
    const char *tap;
    bool no_gso;                 /* --no-gso: one write per frame, no virtio header */
    struct cli_ipnet net;
    us_ip4_t gw;
    uint8_t mac[6];
    uint16_t mtu;
    const char *pcap;
    struct us_impair_config imp;
    bool impaired;
    uint64_t seed;
    bool seed_set;
    const char *cc;
    const char *stack;          /* --stack: "ustack" (default) or "kernel" */
    struct cli_strv dns;        /* --dns, each ADDR[:PORT][,ADDR[:PORT]…] (cli_dns_servers) */
    int verbose;
    uint8_t syncookies;         /* us_config.tcp_syncookies (set when syncookies_set) */
    bool syncookies_set;
    uint32_t synq;              /* us_config.tcp_synq_max, 0 = default */
    uint16_t port_lo, port_hi;  /* us_config's ephemeral range when port_lo (load --local-ports) */
    uint32_t backlog;           /* listen backlog of echo and sink, 0 = 128 */

    /* built by cli_setup */
    struct us_pktpool *pool;
    struct us_dev *dev;       /* top of the device stack */
    struct us_dev *imp_dev;
    struct us_stack *st;
    struct us_rt *rt;
    struct us_driver *rt_drv;
    struct us_driver host_drv;  /* rt_drv, then the netstat SIGUSR1 asked for */
    struct us_driver *drv;      /* what commands step: &host_drv (-EINTR when stopping) */
    struct us_tp *tp;           /* cli_transport: the application commands' streams */
};

/* ---- host.c: a stack on the TAP device of the global options ----
 * cli_setup also takes over SIGINT/SIGTERM (stop) and SIGUSR1 (netstat): they
 * are blocked except while the driver waits, so a signal is never lost
 * between a check and a wait. */
int cli_setup(struct cli *c);
/* SIGINT or SIGTERM arrived: the command should wind up. */
bool cli_stopping(void);
/* A SIGINT or SIGTERM that is pending (blocked, not yet taken): a command
 * whose transport never waits (data always ready) checks it in its step.
 * Its name, or NULL. */
const char *cli_signal_pending(void);
/* Name of the signal that stopped the command ("SIGTERM"), or NULL. */
const char *cli_stop_signal(void);
/* What a kernel does for the sockets of a process that ends: abort every TCP
 * connection with RST (counted in tcp.rst_on_exit) and wait, for a bounded
 * time, until the devices have written the RSTs. Returns how many were reset
 * and prints a line when there were any. Call before the summary. */
int cli_abort_connections(struct cli *c);
/* For a command that ends by itself (not stopped by a signal): runs the stack
 * until the connections it closed are done closing (FIN_WAIT_1/2, CLOSING,
 * LAST_ACK: their FINs acknowledged) or a bound passes -- a second plus the
 * round trip the impairments add -- so the peers see a close, not a reset.
 * Call before cli_abort_connections, which resets what is left. */
void cli_finish_closes(struct cli *c);
/* Aborts what is left (cli_abort_connections) and frees the stack and devices. */
void cli_teardown(struct cli *c);
/* ---- the streams of an application command (serve, get, ...) ----
 * --stack ustack (the default): cli_setup's stack on the TAP device, through
 * the ustack transport; --stack kernel: the kernel's sockets (no --tap, no
 * impairments). Either way SIGINT/SIGTERM make us_tp_wait return -EINTR and
 * cli_stopping() true. Sets c->tp; returns 0 or the exit status of an error. */
int cli_transport(struct cli *c);
/* Frees c->tp (closing what is open), then what cli_setup built. */
void cli_transport_teardown(struct cli *c);
bool cli_on_kernel(const struct cli *c);
/* The servers of --dns into cfg (cmd_resolve.c): 0, or the exit status of
 * an error (a bad address, more than US_DNS_MAX_SERVERS). */
struct us_dns_config;
int cli_dns_servers(const struct cli *c, struct us_dns_config *cfg);
void cli_print_counters(struct us_stack *st, FILE *out, bool all);
/* Counter by name; aborts on a name that does not exist (a programming error). */
uint64_t cli_counter(const struct us_stack *st, const char *name);
void cli_netstat(struct us_stack *st, FILE *out);

#endif
