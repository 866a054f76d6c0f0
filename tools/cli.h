/* The ustack command: shared option parsing and stack set-up. */
#ifndef US_TOOLS_CLI_H
#define US_TOOLS_CLI_H

#include <ustack/ustack.h>
#include <stdio.h>
#include <ustack/driver.h>

struct cli {
    const char *prog;
    const char *tap;
    us_ip4_t ip;
    uint8_t prefix;
    us_ip4_t gw;
    uint8_t mac[6];
    bool mac_set;
    uint16_t mtu;
    const char *pcap;
    struct us_impair_config imp;
    bool impaired;
    uint64_t seed;
    bool seed_set;
    const char *cc;
    int verbose;

    /* built by cli_setup */
    struct us_pktpool *pool;
    struct us_dev *dev;       /* top of the device stack */
    struct us_dev *imp_dev;
    struct us_stack *st;
    struct us_rt *rt;
    struct us_driver *drv;
};

/* Errors print "ustack: ..." and return non-zero; the exit status is 2 for usage. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parsers: 0 on success, else print an error naming the flag and the allowed values. */
int cli_parse_ip(const char *flag, const char *s, us_ip4_t *out);
int cli_parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_parse_double(const char *flag, const char *s, double lo, double hi, double *out);
int cli_parse_hostport(const char *flag, const char *s, us_ip4_t *ip, uint16_t *port);
int cli_parse_size(const char *flag, const char *s, uint64_t *out); /* 10M, 1G, 64k */
const char *cli_ipstr(us_ip4_t ip, char buf[16]);

int cli_setup(struct cli *c);
void cli_teardown(struct cli *c);
void cli_print_counters(struct us_stack *st, FILE *out, bool all);
/* Counter by name; aborts on a name that does not exist (a programming error). */
uint64_t cli_counter(const struct us_stack *st, const char *name);

int cmd_up(struct cli *c, int argc, char **argv);
int cmd_ping(struct cli *c, int argc, char **argv);
int cmd_demo(struct cli *c, int argc, char **argv);
int cmd_echo(struct cli *c, int argc, char **argv);
int cmd_sink(struct cli *c, int argc, char **argv);
int cmd_source(struct cli *c, int argc, char **argv);
int cmd_analyze(struct cli *c, int argc, char **argv);
void cli_netstat(struct us_stack *st, FILE *out);

#endif
