/* ustack — the command-line program: global options choose where the stack
 * lives (TAP device, addresses, impairments, capture), subcommands choose what
 * it does. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli.h"

static const char usage[] =
    "usage: ustack [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS]\n"
    "\n"
    "A TCP/IP stack in user space. It attaches to an existing TAP device (usually\n"
    "inside a network namespace) or runs hosts in virtual time (demo).\n"
    "\n"
    "Global options:\n"
    "  --tap NAME          TAP device to attach to (created by the caller:\n"
    "                      ip tuntap add dev NAME mode tap && ip link set NAME up)\n"
    "  --ip ADDR/PREFIX    our address, e.g. 198.18.0.2/24\n"
    "  --gw ADDR           default gateway\n"
    "  --mac MAC           our MAC address (default 02:00:00:00:00:02)\n"
    "  --mtu N             IP MTU, 576..9000 (default 1500)\n"
    "  --pcap FILE         write every frame in both directions to FILE\n"
    "  --loss P            random loss probability 0..1 (both directions)\n"
    "  --delay MS          one-way delay added in each direction\n"
    "  --jitter MS         uniform extra delay 0..MS\n"
    "  --rate BITS/S       rate limit, suffixes k, M, G (e.g. 10M)\n"
    "  --queue BYTES       rate-limit queue bound (default 64k)\n"
    "  --reorder P         probability a frame is held back (reordered)\n"
    "  --dup P             duplication probability\n"
    "  --corrupt P         probability one byte of a frame is flipped\n"
    "  --seed N            seed for impairments and (with demo) the stacks\n"
    "  --cc NAME           congestion control: newreno (default), cubic\n"
    "  -v                  verbose (repeat for more)\n"
    "  -h, --help          this text; ustack COMMAND --help for a command\n"
    "\n"
    "Commands:\n"
    "  up [--duration S]   serve ARP, ping, UDP echo (port 7); print counters at exit\n"
    "  ping [-c N] [-s SIZE] [-i SEC] [-W SEC] HOST   like ping(8)\n"
    "  echo [--port 7]     TCP echo server (many clients at once)\n"
    "  sink [--port 5001] [--read-rate BYTES/S] [--count N]\n"
    "                      accept, read and discard; per connection: bytes, goodput, SHA-256\n"
    "  source HOST:PORT (--bytes N | --file F) [--nodelay] [--cc NAME]\n"
    "                      connect, send, close; bytes, goodput, retransmits, SHA-256\n"
    "  demo [--pcap FILE]  two hosts in virtual time over an impaired link\n"
    "  analyze FILE.pcap [--conn N] [--json]\n"
    "                      rebuild the TCP connections of a capture and explain stalls\n"
    "\n"
    "SIGUSR1 prints the connection table (netstat) and counters; -v prints it at exit.\n";

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ustack: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

const char *cli_ipstr(us_ip4_t ip, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return buf;
}

int cli_parse_ip(const char *flag, const char *s, us_ip4_t *out)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return cli_error("%s: '%s' is not an IPv4 address (expected a.b.c.d)", flag, s ? s : "");
    *out = ntohl(a.s_addr);
    return 0;
}

int cli_parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    return cli_error("%s: '%s' is not allowed (expected an integer %llu..%llu)", flag, s ? s : "",
                     (unsigned long long)lo, (unsigned long long)hi);
}

int cli_parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s)
        goto bad;
    double v = strtod(s, &end);
    if (*end || !(v >= lo && v <= hi))
        goto bad;
    *out = v;
    return 0;
bad:
    return cli_error("%s: '%s' is not allowed (expected a number %g..%g)", flag, s ? s : "", lo, hi);
}

int cli_parse_size(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        goto bad;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || v < 0)
        goto bad;
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'M')
        mul = 1e6, end++;
    else if (*end == 'G')
        mul = 1e9, end++;
    if (*end)
        goto bad;
    *out = (uint64_t)(v * mul);
    return 0;
bad:
    return cli_error("%s: '%s' is not allowed (expected a number with optional suffix k, M or G)", flag, s ? s : "");
}

int cli_parse_hostport(const char *flag, const char *s, us_ip4_t *ip, uint16_t *port)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon)
        return cli_error("%s: '%s' is not allowed (expected ADDR:PORT, e.g. 198.18.0.1:5001)", flag, s ? s : "");
    char host[64];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof(host))
        return cli_error("%s: '%s' is too long", flag, s);
    memcpy(host, s, n);
    host[n] = 0;
    uint64_t p = 0;
    if (cli_parse_ip(flag, host, ip) || cli_parse_u64(flag, colon + 1, 1, 65535, &p))
        return 2;
    *port = (uint16_t)p;
    return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char extra;
    if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6)
        return cli_error("--mac: '%s' is not a MAC address (expected xx:xx:xx:xx:xx:xx)", s ? s : "");
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255)
            return cli_error("--mac: '%s' has a byte above ff", s);
        mac[i] = (uint8_t)v[i];
    }
    if (mac[0] & 1)
        return cli_error("--mac: '%s' is a multicast address (the first byte must be even)", s);
    return 0;
}

static int parse_ip_prefix(const char *s, us_ip4_t *ip, uint8_t *prefix)
{
    char buf[64];
    if (!s || strlen(s) >= sizeof(buf))
        return cli_error("--ip: expected ADDR/PREFIX, e.g. 198.18.0.2/24");
    strcpy(buf, s);
    char *slash = strchr(buf, '/');
    uint64_t p = 24;
    if (slash) {
        *slash = 0;
        if (cli_parse_u64("--ip prefix", slash + 1, 0, 32, &p))
            return 2;
    }
    if (cli_parse_ip("--ip", buf, ip))
        return 2;
    *prefix = (uint8_t)p;
    return 0;
}

static void set_both(struct cli *c, size_t off, double v)
{
    *(double *)(void *)((char *)&c->imp.tx + off) = v;
    *(double *)(void *)((char *)&c->imp.rx + off) = v;
    c->impaired = true;
}

/* Returns the index of the command word, or -1 after printing an error/usage. */
static int parse_global(struct cli *c, int argc, char **argv, int *status)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        uint64_t u;
        if (a[0] != '-')
            return i;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            *status = 0;
            return -1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "-vv")) {
            c->verbose += (int)strlen(a) - 1;
            continue;
        } else if (!strcmp(a, "--version")) {
            printf("ustack %s\n", USTACK_VERSION);
            *status = 0;
            return -1;
        }
        if (!v) {
            *status = cli_error("%s: needs a value (see ustack --help)", a);
            return -1;
        }
        int rc = 0;
        if (!strcmp(a, "--tap"))
            c->tap = v;
        else if (!strcmp(a, "--ip"))
            rc = parse_ip_prefix(v, &c->ip, &c->prefix);
        else if (!strcmp(a, "--gw"))
            rc = cli_parse_ip(a, v, &c->gw);
        else if (!strcmp(a, "--mac"))
            rc = parse_mac(v, c->mac), c->mac_set = true;
        else if (!strcmp(a, "--mtu"))
            rc = cli_parse_u64(a, v, 576, 9000, &u), c->mtu = (uint16_t)u;
        else if (!strcmp(a, "--pcap"))
            c->pcap = v;
        else if (!strcmp(a, "--loss"))
            rc = cli_parse_double(a, v, 0, 1, &d), set_both(c, offsetof(struct us_impair_dir, loss), d);
        else if (!strcmp(a, "--reorder"))
            rc = cli_parse_double(a, v, 0, 1, &d), set_both(c, offsetof(struct us_impair_dir, reorder), d);
        else if (!strcmp(a, "--dup"))
            rc = cli_parse_double(a, v, 0, 1, &d), set_both(c, offsetof(struct us_impair_dir, dup), d);
        else if (!strcmp(a, "--corrupt"))
            rc = cli_parse_double(a, v, 0, 1, &d), set_both(c, offsetof(struct us_impair_dir, corrupt), d);
        else if (!strcmp(a, "--delay") || !strcmp(a, "--jitter")) {
            rc = cli_parse_double(a, v, 0, 60000, &d);
            us_time_t t = (us_time_t)(d * 1e6);
            if (a[2] == 'd')
                c->imp.tx.delay = c->imp.rx.delay = t;
            else
                c->imp.tx.jitter = c->imp.rx.jitter = t;
            c->impaired = true;
        } else if (!strcmp(a, "--rate")) {
            rc = cli_parse_size(a, v, &u);
            c->imp.tx.rate_bps = c->imp.rx.rate_bps = u;
            c->impaired = true;
        } else if (!strcmp(a, "--queue")) {
            rc = cli_parse_size(a, v, &u);
            if (!rc && (u < 1500 || u > (1u << 30)))
                rc = cli_error("--queue: '%s' is not allowed (expected 1500..1G bytes)", v);
            c->imp.tx.queue_bytes = c->imp.rx.queue_bytes = (uint32_t)u;
        } else if (!strcmp(a, "--seed"))
            rc = cli_parse_u64(a, v, 0, UINT64_MAX, &c->seed), c->seed_set = true;
        else if (!strcmp(a, "--cc")) {
            if (strcmp(v, "newreno") && strcmp(v, "cubic"))
                rc = cli_error("--cc: '%s' is not allowed (allowed: newreno, cubic)", v);
            c->cc = v;
        } else {
            *status = cli_error("unknown option '%s' (see ustack --help)", a);
            return -1;
        }
        if (rc) {
            *status = 2;
            return -1;
        }
        i++;
    }
    *status = cli_error("no command given (allowed: up, ping, echo, sink, source, demo, analyze; see ustack --help)");
    return -1;
}

int main(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof(c));
    c.prog = argv[0];
    c.mtu = 1500;
    c.prefix = 24;
    memcpy(c.mac, (uint8_t[6]){0x02, 0x00, 0x00, 0x00, 0x00, 0x02}, 6);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int status = 0;
    int ci = parse_global(&c, argc, argv, &status);
    if (ci < 0)
        return status;
    const char *cmd = argv[ci];
    int cargc = argc - ci;
    char **cargv = argv + ci;
    if (!strcmp(cmd, "up"))
        return cmd_up(&c, cargc, cargv);
    if (!strcmp(cmd, "ping"))
        return cmd_ping(&c, cargc, cargv);
    if (!strcmp(cmd, "demo"))
        return cmd_demo(&c, cargc, cargv);
    if (!strcmp(cmd, "echo"))
        return cmd_echo(&c, cargc, cargv);
    if (!strcmp(cmd, "sink"))
        return cmd_sink(&c, cargc, cargv);
    if (!strcmp(cmd, "source"))
        return cmd_source(&c, cargc, cargv);
    if (!strcmp(cmd, "analyze"))
        return cmd_analyze(&c, cargc, cargv);
    return cli_error("unknown command '%s' (allowed: up, ping, echo, sink, source, demo, analyze)", cmd);
}
