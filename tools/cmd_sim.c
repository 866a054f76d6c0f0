/* ustack sim SCENARIO: the seeds' experiments, run in virtual time between two
 * ustack hosts (tools/scen.h). Each prints what happened with its exact
 * virtual times, then a paragraph saying what it shows, and writes a pcap. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "scen.h"

static const char *name_opt, *pcap_opt, *mode_opt;
static us_time_t rtt_opt = US_MS(20), delack_opt = US_MS(40);
static uint32_t body_opt = 100, requests_opt = 3;

static const char *const scen_names[] = {"nagle", NULL};
static const char *const nagle_modes[] = {"all", "nagle", "nodelay", "one-write", NULL};

static const struct cli_opt opts[] = {
    {.metavar = "SCENARIO", .help = "the scenario: nagle", .parse = cli_opt_choice, .out = &name_opt,
     .choices = scen_names},
    {.name = "--rtt", .metavar = "MS", .help = "round-trip time of the link (default 20)", .parse = cli_opt_ms,
     .out = &rtt_opt, .dlo = 0.002, .dhi = 10000},
    {.name = "--delack", .metavar = "MS", .help = "nagle: B's delayed-ACK time, 1..500 (default 40)",
     .parse = cli_opt_ms, .out = &delack_opt, .dlo = 1, .dhi = 500},
    CLI_UINT("--body", "BYTES", "nagle: bytes of the POST body, 1..1024 (default 100)", &body_opt, 1, 1024),
    CLI_UINT("--requests", "N", "nagle: requests on the connection, 1..16 (default 3)", &requests_opt, 1, 16),
    CLI_CHOICE("--mode", "MODE", "nagle: which sender to run (default all)", &mode_opt, nagle_modes),
    CLI_STR("--pcap", "FILE", "capture of A's side (default ustack-sim-SCENARIO[-MODE].pcap)", &pcap_opt),
    CLI_END,
};

static double ms(us_time_t t) { return (double)t / 1e6; }

static int nagle_one(int mode, bool several)
{
    char pcap[256], err[256];
    if (pcap_opt && !several)
        snprintf(pcap, sizeof(pcap), "%s", pcap_opt);
    else {   /* one capture per mode: FILE.pcap -> FILE-MODE.pcap */
        const char *base = pcap_opt ? pcap_opt : "ustack-sim-nagle";
        size_t bl = strlen(base);
        if (bl > 5 && !strcmp(base + bl - 5, ".pcap"))
            bl -= 5;
        snprintf(pcap, sizeof(pcap), "%.*s-%s.pcap", (int)bl, base, scen_nagle_mode_name(mode));
    }
    struct scen_nagle_opts o = {.mode = mode, .one_way = rtt_opt / 2, .delack = delack_opt, .body_len = body_opt,
                                .requests = (int)requests_opt, .pcap = pcap};
    struct scen_nagle_result r;
    if (scen_nagle_run(&o, &r, err, sizeof(err)) < 0)
        return cli_error("sim nagle: %s", err), 1;
    static const char *const how[NAGLE_MODES] = {
        "Nagle on (the default), head and body in two writes",
        "TCP_NODELAY, head and body in two writes",
        "Nagle on, head and body in one write (writev)",
    };
    printf("\n%s (pcap of A's side: %s)\n", how[mode], pcap);
    for (int i = 0; i < r.done; i++) {
        const struct scen_nagle_req *q = &r.req[i];
        us_time_t t0 = q->t_write;
        printf("  request %d at %8.3f ms: B has the head +%7.3f ms, the body +%7.3f ms; A has the response +%7.3f ms"
               " = %.2f round trips\n",
               i + 1, ms(t0), ms(q->t_head - t0), ms(q->t_body - t0), ms(q->t_done - t0),
               (double)(q->t_done - t0) / (double)rtt_opt);
    }
    if (r.found)
        printf("  analyzer: %s\n", r.finding);
    else
        printf("  analyzer: no Nagle x delayed-ACK episode on the wire\n");
    return 0;
}

static int nagle(void)
{
    int first = 0, last = NAGLE_MODES - 1;
    for (int m = 0; m < NAGLE_MODES && mode_opt && strcmp(mode_opt, "all"); m++)
        if (!strcmp(mode_opt, scen_nagle_mode_name(m)))
            first = last = m;
    printf("ustack sim nagle: A (198.18.0.1) POSTs to B (198.18.0.2) %u time%s on one connection; a %u-byte\n"
           "body after the head. Link: %.3f ms round trip, no loss. B delays ACKs by %.0f ms.\n",
           requests_opt, requests_opt == 1 ? "" : "s", body_opt, ms(rtt_opt), ms(delack_opt));
    for (int m = first; m <= last; m++)
        if (nagle_one(m, first != last))
            return 1;
    printf("\nTimes are virtual, from 0 as in the capture; A connects at 100 ms; its SYN waits 20 ms for ARP.\n");
    printf("\nWhat it shows: with Nagle's algorithm a small segment may not leave while an earlier one is\n"
           "unacknowledged, so the body waits for the ACK of the head. B has nothing to send until the\n"
           "request is complete, so it delays that ACK by its delayed-ACK time (%.0f ms here): each request\n"
           "costs a round trip plus the delayed-ACK time instead of one round trip. TCP_NODELAY lets the body\n"
           "go at once; writing head and body in one call gives Nagle nothing to hold.\n",
           ms(delack_opt));
    return 0;
}

static int run(struct cli *c)
{
    (void)c;
    if (!strcmp(name_opt, "nagle"))
        return nagle();
    return cli_error("sim: unknown scenario '%s'", name_opt);
}

const struct cli_cmd cmd_sim = {
    .name = "sim",
    .summary = "a scenario in virtual time between two ustack hosts (nagle)",
    .description = "Scenarios:\n"
                   "  nagle   a POST written as head + body: Nagle x delayed ACK, and TCP_NODELAY or one\n"
                   "          write removing the stall; the trace analyzer names it on the capture\n",
    .globals = false,
    .opts = opts,
    .run = run,
};
