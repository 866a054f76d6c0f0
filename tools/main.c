/* ustack — the command-line program: global options choose where the stack
 * lives (TAP device, addresses, impairments, capture), commands choose what it
 * does. The command table below is the one list of commands: it drives the
 * dispatch, ustack --help, ustack COMMAND --help and the suggestion for a
 * mistyped command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const struct cli_cmd *const commands[] = {
    &cmd_up, &cmd_ping, &cmd_echo, &cmd_sink, &cmd_source, &cmd_demo, &cmd_sim, &cmd_analyze,
    &cmd_serve, &cmd_get, &cmd_load, &cmd_resolve, &cmd_page,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static struct cli g;
static bool show_version;

static const char *const stack_names[] = {"ustack", "kernel", NULL};

static const struct cli_opt global_opts[] = {
    CLI_STR("--tap", "NAME", "TAP device to attach to (created by the caller: ip tuntap add dev NAME mode tap)", &g.tap),
    {.name = "--ip", .metavar = "ADDR/PREFIX", .help = "our address, e.g. 198.18.0.2/24", .parse = cli_opt_ipnet, .out = &g.net},
    {.name = "--gw", .metavar = "ADDR", .help = "default gateway", .parse = cli_opt_ip, .out = &g.gw},
    {.name = "--mac", .metavar = "MAC", .help = "our MAC address (default 02:00:00:00:00:02)", .parse = cli_opt_mac, .out = g.mac},
    CLI_FLAG("--no-gso", "one write per frame on the TAP device (default without impairments: a burst's TCP segments leave as one GSO super-frame)",
             &g.no_gso),
    CLI_UINT("--mtu", "N", "IP MTU, 576..9000 (default 1500)", &g.mtu, 576, 9000),
    CLI_STR("--pcap", "FILE", "write every frame in both directions to FILE", &g.pcap),
#define IMPAIR(n, m, h, field, kind, hi) \
    {.name = (n), .metavar = (m), .help = (h), .parse = (kind), .out = &g.imp.tx.field, .dhi = (hi), .seen = &g.impaired}
    IMPAIR("--loss", "P", "random loss probability 0..1 (both directions)", loss, cli_opt_real, 1),
    IMPAIR("--delay", "MS", "one-way delay added in each direction", delay, cli_opt_ms, 60000),
    IMPAIR("--jitter", "MS", "uniform extra delay 0..MS", jitter, cli_opt_ms, 60000),
    {.name = "--rate", .metavar = "BITS/S", .help = "rate limit, suffixes k, M, G (e.g. 10M)", .parse = cli_opt_size,
     .out = &g.imp.tx.rate_bps, .width = sizeof(g.imp.tx.rate_bps), .seen = &g.impaired},
    CLI_SIZE("--queue", "BYTES", "rate-limit queue bound (default 64k)", &g.imp.tx.queue_bytes, 1500, 1000000000),
    IMPAIR("--reorder", "P", "probability a frame is held back (reordered)", reorder, cli_opt_real, 1),
    IMPAIR("--dup", "P", "duplication probability", dup, cli_opt_real, 1),
    IMPAIR("--corrupt", "P", "probability one byte of a frame is flipped", corrupt, cli_opt_real, 1),
#undef IMPAIR
    {.name = "--seed", .metavar = "N", .help = "seed for impairments and (with demo) the stacks", .parse = cli_opt_uint,
     .out = &g.seed, .width = sizeof(g.seed), .uhi = UINT64_MAX, .seen = &g.seed_set},
    CLI_CHOICE("--stack", "NAME", "where application commands (serve, get) run: ustack on --tap (default) or the kernel's sockets",
               &g.stack, stack_names),
    {.name = "--dns", .metavar = "ADDR", .help = "DNS server for names (resolve, get): ADDR[:PORT], repeatable or a comma list, tried in turn",
     .parse = cli_opt_strv, .out = &g.dns},
    CLI_CC("--cc", "congestion control, default cubic", &g.cc),
    {.name = "--syncookies", .metavar = "MODE", .help = "SYN cookies: 0 off, 1 when a SYN queue is full (default), 2 always",
     .parse = cli_opt_uint, .out = &g.syncookies, .width = sizeof(g.syncookies), .uhi = 2, .seen = &g.syncookies_set},
    CLI_UINT("--synq", "N", "SYN queue bound per listener, handshakes in progress (default 1024)", &g.synq, 1, 65535),
    CLI_UINT("--backlog", "N", "accept queue bound (listen backlog) of echo and sink (default 128)", &g.backlog, 1, 65535),
    {.name = "-v", .help = "verbose (repeat for more)", .parse = cli_opt_count, .out = &g.verbose, .ulo = 1},
    {.name = "-vv", .parse = cli_opt_count, .out = &g.verbose, .ulo = 2},
    CLI_FLAG("--version", "print the version", &show_version),
    CLI_END,
};

static void usage(FILE *out)
{
    fputs("usage: ustack [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS]\n"
          "\n"
          "A TCP/IP stack in user space. It attaches to an existing TAP device (usually\n"
          "inside a network namespace) or runs hosts in virtual time (demo).\n"
          "\n"
          "Global options:\n",
          out);
    cli_print_opts(out, global_opts);
    fputs("  -h, --help          this text; ustack COMMAND --help for a command\n\nCommands:\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct cli_cmd *cmd = commands[i];
        fprintf(out, "  %s ", cmd->name);
        cli_print_synopsis(out, cmd->opts);
        fprintf(out, "\n                      %s\n", cmd->summary);
    }
    fputs("\nSIGINT or SIGTERM stops a command: its TCP connections are aborted with RST\n"
          "(as the kernel does for a process that exits), then it prints its summary.\n"
          "SIGUSR1 prints the connection table (netstat) and counters; -v prints it at exit.\n"
          "\n"
          "Under a SYN flood a listener keeps serving: a SYN that finds its SYN queue\n"
          "(--synq) full is answered with a SYN cookie and costs no memory until the\n"
          "handshake completes (--syncookies 0: the oldest half-open entry gives way\n"
          "instead, once its SYN-ACK went unanswered for a timeout). SYN-ACK retries stop\n"
          "after 3 s towards an address that never answers ARP. A full accept queue\n"
          "(--backlog) drops SYNs without state; the client retries. The counters\n"
          "tcp.syncookies_*, tcp.syncookie_connections, tcp.syn_queue_*,\n"
          "tcp.synack_peer_unresolved and tcp.drop_accept_queue_full show what happened.\n",
          out);
}

static void command_help(const struct cli_cmd *cmd)
{
    printf("usage: ustack %s%s ", cmd->globals ? "[GLOBAL OPTIONS] " : "", cmd->name);
    cli_print_synopsis(stdout, cmd->opts);
    printf("\n%s\n", cmd->summary);
    if (cmd->description)
        fputs(cmd->description, stdout);
    if (cmd->opts[0].name || cmd->opts[0].metavar) {
        printf("\n");
        cli_print_opts(stdout, cmd->opts);
    }
}

static const struct cli_cmd *find_command(const char *name)
{
    const char *names[N_COMMANDS];
    char allowed[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (!strcmp(commands[i]->name, name))
            return commands[i];
        names[i] = commands[i]->name;
        used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "", names[i]);
    }
    const char *guess = cli_suggest(name, names, N_COMMANDS);
    if (guess)
        cli_error("unknown command '%s' — did you mean '%s'? (allowed: %s)", name, guess, allowed);
    else
        cli_error("unknown command '%s' (allowed: %s; see ustack --help)", name, allowed);
    return NULL;
}

int main(int argc, char **argv)
{
    struct cli *c = &g;
    c->mtu = 1500;
    c->net.prefix = 24;
    memcpy(c->mac, (uint8_t[6]){0x02, 0x00, 0x00, 0x00, 0x00, 0x02}, 6);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ci = cli_parse_opts(NULL, global_opts, NULL, argc, argv, 1);
    if (ci == CLI_HELP) {
        usage(stdout);
        return 0;
    }
    if (ci == CLI_ERR)
        return 2;
    if (show_version) {
        printf("ustack %s\n", USTACK_VERSION);
        return 0;
    }
    if (ci >= argc)
        return cli_error("no command given (see ustack --help)");
    c->imp.rx = c->imp.tx;   /* the impairments apply in both directions */
    c->cmd = find_command(argv[ci]);
    if (!c->cmd)
        return 2;
    int end = cli_parse_opts(c->cmd->name, c->cmd->opts, global_opts, argc, argv, ci + 1);
    if (end == CLI_HELP) {
        command_help(c->cmd);
        return 0;
    }
    if (end == CLI_ERR)
        return 2;
    if (end < argc)   /* a command without positional arguments stopped at a word */
        return cli_error("%s: unexpected argument '%s' (see ustack %s --help)", c->cmd->name, argv[end], c->cmd->name);
    return c->cmd->run(c);
}
