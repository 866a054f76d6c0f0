/* The per-connection trace (debug log) names every congestion event with
 * its cause (issue 8, "Visible state"): a bulk flow A -> B over a 20 Mbit/s
 * bottleneck, RTT 40 ms, a deep queue (6 BDP, as test_hystart): HyStart++
 * leaves slow start on the delay increase and then ends CSS; one segment
 * dropped makes RACK mark it lost and enter recovery, which ends; a
 * blackout of A's data brings a tail loss probe first, then the RTO. With
 * BBR the trace follows its state machine, Startup -> Drain -> ProbeBW,
 * though tcp_bbr.c logs nothing itself. Each line is checked for its
 * figures, the lines for their order and their virtual time against what
 * happened on the wire. */
#include "test_tcp_helpers.h"

#define RATE 20000000ull
#define OWD US_MS(20)
#define BDP 100000u

static void cfg_hook(struct us_config *cfg, int host, void *arg)
{
    (void)host;
    snprintf(cfg->tcp_cc, sizeof(cfg->tcp_cc), "%s", (const char *)arg);
    cfg->tcp_hystart = true;
    cfg->tcp_sndbuf = 8u << 20;
    cfg->tcp_rcvbuf = 8u << 20;
}

/* A's debug log, without the send predicate's lines (one per change of the
 * send reason: thousands in a bulk flow). */
struct logline { us_time_t t; char s[240]; };
struct logbuf { size_t n, cap; struct logline *v; };

static void log_fn(void *arg, int level, us_time_t now, const char *msg)
{
    struct logbuf *lb = arg;
    (void)level;
    if (strstr(msg, " send: ") || strstr(msg, " hold: "))
        return;
    if (lb->n == lb->cap) {
        lb->cap = lb->cap ? 2 * lb->cap : 256;
        lb->v = realloc(lb->v, lb->cap * sizeof(*lb->v));
        assert_non_null(lb->v);
    }
    lb->v[lb->n].t = now;
    snprintf(lb->v[lb->n].s, sizeof(lb->v[0].s), "%s", msg);
    lb->n++;
}

/* Index of the first line at or after index `from` that contains `what`; fails if none. */
static size_t line_at(const struct logbuf *lb, size_t from, const char *what)
{
    for (size_t i = from; i < lb->n; i++)
        if (strstr(lb->v[i].s, what))
            return i;
    for (size_t i = 0; i < lb->n; i++)
        print_message("  [%.6f] %s\n", lb->v[i].t / 1e9, lb->v[i].s);
    fail_msg("no trace line with \"%s\" after line %zu", what, from);
    return 0;
}

static size_t count_lines(const struct logbuf *lb, const char *what)
{
    size_t k = 0;
    for (size_t i = 0; i < lb->n; i++)
        k += strstr(lb->v[i].s, what) != NULL;
    return k;
}

/* What the rule drops: one segment (its first transmission), and every data
 * segment of A while the blackout lasts. */
struct drops {
    us_time_t drop_after;        /* the first new data segment A sends from then on */
    uint32_t dropped_seq;
    us_time_t t_dropped;
    us_time_t black_from, black_to;
    us_time_t t_first_black;
};

static bool rule(struct trace *tr, const struct seg *s, uint8_t *frame, uint32_t len)
{
    (void)frame;
    (void)len;
    struct drops *d = tr->arg;
    if (s->host != 0 || s->len == 0)
        return false;
    if (d->drop_after && s->t >= d->drop_after && !d->t_dropped) {
        d->dropped_seq = s->seq;
        d->t_dropped = s->t;
        return true;
    }
    if (s->t >= d->black_from && s->t < d->black_to) {
        if (!d->t_first_black)
            d->t_first_black = s->t;
        return true;
    }
    return false;
}

struct run {
    struct tu_net n;
    struct trace tr;
    struct drops d;
    struct logbuf log;
    struct xfer f;
};

static void run_start(struct run *r, const char *cc)
{
    memset(r, 0, sizeof(*r));
    struct tu_opts o = {.seed = 1, .cfg_hook = cfg_hook, .cfg_arg = (void *)(uintptr_t)cc};
    o.imp_a.tx.delay = OWD;
    o.imp_a.tx.rate_bps = RATE;
    o.imp_a.tx.queue_bytes = 6 * BDP;
    o.imp_b.tx.delay = OWD;
    tt_net(&r->n, &r->tr, &o);
    r->tr.rule = rule;
    r->tr.arg = &r->d;
    us_stack_set_log(r->n.a.st, US_LOG_DEBUG, log_fn, &r->log);
    int l = tt_listen(r->n.b.st, 80, 4, tt_now(&r->n));
    r->f = (struct xfer){.sim = r->n.sim, .ss = r->n.a.st, .ds = r->n.b.st, .total = XFER_ENDLESS, .seed = 3};
    tt_pair(&r->n, l, 80, &r->f.sfd, &r->f.dfd);
}

static void flow_until(struct run *r, us_time_t t)
{
    assert_int_equal(xfer_run(&r->f, t), -ETIMEDOUT);
    if (tt_now(&r->n) < t)
        us_sim_run_until(r->n.sim, t);
    assert_false(r->f.bad);
}

static void run_free(struct run *r)
{
    tt_free(&r->n, &r->tr);
    free(r->log.v);
}

static unsigned field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    assert_non_null(p);
    return (unsigned)strtoul(p + strlen(key), NULL, 10);
}

static void cubic_trace_names_hystart_exit_recovery_tlp_and_rto_with_their_causes(void **state)
{
    (void)state;
    struct run *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    run_start(r, "cubic");
    us_time_t t0 = tt_now(&r->n);
    r->d.drop_after = t0 + US_MS(2500);
    r->d.black_from = t0 + US_MS(5000);
    r->d.black_to = t0 + US_MS(6000);
    flow_until(r, t0 + US_MS(4200));
    /* the bottleneck goes (its queue drains, SRTT falls back towards 40 ms)
     * so that the PTO, 2 SRTT, comes before the 200 ms RTO */
    struct us_impair_config wide = {.tx = {.delay = OWD}};
    us_impair_set(r->n.a.imp, &wide);
    flow_until(r, t0 + US_SEC(7));
    struct logbuf *lb = &r->log;
    for (size_t i = 0; i < lb->n; i++)
        print_message("  [%.6f] %s\n", lb->v[i].t / 1e9, lb->v[i].s);

    /* HyStart++: slow start -> CSS on the delay increase, the RTT figures
     * behind it (the round's minimum at least the last one's plus the
     * threshold, which is max(4 ms, lastRoundMinRTT / 8)), then CSS -> CA */
    size_t css = line_at(lb, 0, " hystart: slow start -> CSS on a delay increase (round min RTT ");
    unsigned cur = field(lb->v[css].s, "round min RTT "), last = field(lb->v[css].s, "last round's ");
    unsigned thr = field(lb->v[css].s, "us + ");
    assert_true(last >= 40000 && thr >= 4000 && thr >= last / 8 && cur >= last + thr);
    size_t ca = line_at(lb, css, " hystart: CSS -> congestion avoidance after 5 rounds");
    assert_true(lb->v[ca].t >= lb->v[css].t + 5 * US_MS(40));   /* five rounds of at least the RTT */
    assert_true(lb->v[ca].t < r->d.t_dropped);                  /* before the first loss */

    /* the dropped segment: RACK marks it lost about an RTT (plus queue)
     * after it left and enters recovery; the recovery ends at ssthresh */
    assert_true(r->d.t_dropped > 0);
    size_t rec = line_at(lb, ca, " recovery: enter on RACK loss marking (RFC 8985 6.2): cwnd ");
    assert_true(lb->v[rec].t > r->d.t_dropped + 2 * OWD && lb->v[rec].t < r->d.t_dropped + US_MS(500));
    unsigned ssthresh = field(lb->v[rec].s, "ssthresh "), cwnd_before = field(lb->v[rec].s, "cwnd ");
    (void)ssthresh;
    const char *arrow = strstr(lb->v[rec].s, "ssthresh ");
    unsigned ss_after = field(arrow, " -> ");
    assert_true(ss_after < cwnd_before && ss_after >= cwnd_before / 2);   /* CUBIC: beta 0.7 of cwnd/flight */
    size_t ex = line_at(lb, rec, " recovery: exit (SACK, PRR), cwnd ");
    assert_true(lb->v[ex].t > lb->v[rec].t && lb->v[ex].t < r->d.black_from);
    assert_int_equal(field(strstr(lb->v[ex].s, "ssthresh "), "ssthresh "), ss_after);

    /* the blackout: the tail loss probe (new data, at a PTO of about two
     * SRTT) comes before the RTO, whose line names the backoff and the RTO;
     * the next RTO doubles */
    size_t tlp = line_at(lb, ex, " tlp: probe with a retransmission at PTO ");
    unsigned pto = field(lb->v[tlp].s, "at PTO "), srtt = field(lb->v[tlp].s, "(srtt ");
    assert_true(srtt >= US_MS(40) / 1000 && srtt < US_MS(60) / 1000);
    assert_true(pto >= 2 * srtt && pto <= 2 * srtt + 200000 + 1);
    /* one PTO after the probe2 ACK, which left B before the blackout's first
     * segment could reach it: within an RTT and a delayed ACK of its start */
    us_time_t pto_ns = (us_time_t)pto * 1000;
    assert_true(lb->v[tlp].t >= r->d.black_from + pto_ns && lb->v[tlp].t <= r->d.black_from + pto_ns + US_MS(80));
    size_t rto = line_at(lb, tlp, " rto: expired (backoff 1, rto ");
    unsigned rto_us = field(lb->v[rto].s, ", rto ");
    assert_true(rto_us >= 200000);
    /* a second probe at twice the PTO when that comes before the RTO (the
     * RTO's line gives the value it had: as when the probe was sent) */
    size_t probe2 = tlp;
    for (size_t i = tlp + 1; i < rto; i++)
        if (strstr(lb->v[i].s, " tlp: probe with a retransmission at PTO "))
            probe2 = i;
    if (2ull * pto < rto_us) {
        assert_true(probe2 > tlp);
        assert_true(lb->v[probe2].t >= lb->v[tlp].t + 2 * pto_ns - US_MS(1) &&
                    lb->v[probe2].t <= lb->v[tlp].t + 2 * pto_ns + US_MS(1));
    } else {
        assert_int_equal(probe2, tlp);
    }
    /* then the RTO guards the flight (RFC 8985 7.3) */
    assert_true(lb->v[rto].t >= lb->v[probe2].t + (us_time_t)rto_us * 1000 - US_MS(1) &&
                lb->v[rto].t <= lb->v[probe2].t + (us_time_t)rto_us * 1000 + US_MS(1));
    assert_int_equal(field(lb->v[rto].s, "next timeout "), 2 * rto_us);
    assert_true(strstr(lb->v[rto].s, " -> 1448, ") != NULL);    /* cwnd: the loss window, one SMSS */
    /* the second expiry, one doubled RTO later, inside the blackout */
    size_t rto2 = line_at(lb, rto, " rto: expired (backoff 2, rto ");
    assert_true(lb->v[rto2].t >= lb->v[rto].t + 2 * (us_time_t)rto_us * 1000 - US_MS(1));
    assert_int_equal(count_lines(lb, " cc cubic: "), 0);         /* no state_name: no state lines */

    /* us_tcp_info counts the probes the trace shows */
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(r->n.a.st, r->f.sfd, &ti), 0);
    assert_int_equal(ti.tlp_probes, count_lines(lb, " tlp: probe with "));
    assert_int_equal(ti.rto_expirations, count_lines(lb, " rto: expired ("));
    run_free(r);
    free(r);
}

/* BBR: its state changes, from tcp_cc.c's comparison around every hook:
 * Startup at init; Drain once the bandwidth stopped growing (three rounds
 * without 25% more, so no earlier than a few RTTs); ProbeBW after Drain. */
static void bbr_trace_follows_startup_drain_probe_bw(void **state)
{
    (void)state;
    struct run *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    run_start(r, "bbr");
    us_time_t t0 = tt_now(&r->n);
    flow_until(r, t0 + US_SEC(3));
    struct logbuf *lb = &r->log;
    for (size_t i = 0; i < lb->n; i++)
        print_message("  [%.6f] %s\n", lb->v[i].t / 1e9, lb->v[i].s);
    size_t init = line_at(lb, 0, " cc bbr: startup (init), cwnd ");
    size_t drain = line_at(lb, init, " cc bbr: startup -> drain (");
    assert_true(lb->v[drain].t >= lb->v[init].t + 4 * US_MS(40));
    size_t pbw = line_at(lb, drain, " cc bbr: drain -> probe_bw_");
    assert_true(lb->v[pbw].t >= lb->v[drain].t);
    /* every state line follows from the one before it */
    char prev[32] = "startup";
    size_t n = 0;
    for (size_t i = init + 1; i < lb->n; i++) {
        const char *p = strstr(lb->v[i].s, " cc bbr: ");
        if (!p)
            continue;
        char from[32], to[32];
        assert_int_equal(sscanf(p, " cc bbr: %31s -> %31s", from, to), 2);
        assert_string_equal(from, prev);
        assert_string_not_equal(from, to);
        snprintf(prev, sizeof(prev), "%s", to);
        n++;
    }
    assert_true(n >= 3);                                        /* drain, probe_bw_*, then the cycle */
    /* no loss, no recovery */
    assert_int_equal(count_lines(lb, " recovery: enter "), 0);
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(r->n.a.st, r->f.sfd, &ti), 0);
    assert_non_null(ti.cc_state);
    assert_string_equal(ti.cc_state, prev);                      /* the trace ends where us_tcp_info is */
    run_free(r);
    free(r);
}

/* ---- the cause of a recovery, as each loss detector finds it ---- */

struct det { bool sack, rack; };

static void det_hook(struct us_config *cfg, int host, void *arg)
{
    (void)host;
    const struct det *d = arg;
    cfg->tcp_sack = d->sack;
    cfg->tcp_rack = d->rack;
}

/* Without SACK: three duplicate ACKs; with SACK, without RACK: the SACK
 * threshold; with RACK: its loss marking. One segment of a 2 MB transfer dropped (RTT 20 ms, no bottleneck): the
 * trace line that starts the recovery names the detector that found it, an
 * RTT or so after the drop, and the recovery's exit names its kind. */
static void one_loss(const struct det *d, const char *enter, const char *exit)
{
    struct run *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    struct tu_opts o = {.seed = 1, .cfg_hook = det_hook, .cfg_arg = (void *)(uintptr_t)d};
    o.imp_a.tx.delay = o.imp_b.tx.delay = US_MS(10);
    tt_net(&r->n, &r->tr, &o);
    r->tr.rule = rule;
    r->tr.arg = &r->d;
    us_stack_set_log(r->n.a.st, US_LOG_DEBUG, log_fn, &r->log);
    int l = tt_listen(r->n.b.st, 80, 4, tt_now(&r->n));
    r->f = (struct xfer){.sim = r->n.sim, .ss = r->n.a.st, .ds = r->n.b.st, .total = 2u << 20, .seed = 3};
    tt_pair(&r->n, l, 80, &r->f.sfd, &r->f.dfd);
    r->d.drop_after = tt_now(&r->n) + US_MS(100);
    assert_int_equal(xfer_run(&r->f, tt_now(&r->n) + US_SEC(30)), 0);
    struct logbuf *lb = &r->log;
    size_t rec = line_at(lb, 0, enter);
    print_message("  [%.6f] %s\n", lb->v[rec].t / 1e9, lb->v[rec].s);
    assert_true(lb->v[rec].t >= r->d.t_dropped + US_MS(20) && lb->v[rec].t <= r->d.t_dropped + US_MS(60));
    size_t ex = line_at(lb, rec, exit);
    print_message("  [%.6f] %s\n", lb->v[ex].t / 1e9, lb->v[ex].s);
    assert_true(lb->v[ex].t > lb->v[rec].t && lb->v[ex].t <= lb->v[rec].t + US_MS(60));
    assert_int_equal(count_lines(lb, " recovery: enter "), 1);
    assert_int_equal(count_lines(lb, " rto: expired "), 0);
    run_free(r);
    free(r);
}

static void recovery_names_its_cause_dupacks_sack_threshold_or_rack(void **state)
{
    (void)state;
    struct det no_sack = {false, false}, sack = {true, false}, rack = {true, true};
    one_loss(&no_sack, " recovery: enter on 3 duplicate ACKs (RFC 5681 3.2): cwnd ", " recovery: exit (NewReno), ");
    /* with SACK the scoreboard counts the segments SACKed above the hole
     * (DupThresh of them) before three ACKs counted as duplicates came */
    one_loss(&sack, " recovery: enter on the SACK threshold (RFC 6675 IsLost): cwnd ", " recovery: exit (SACK, PRR), ");
    one_loss(&rack, " recovery: enter on RACK loss marking (RFC 8985 6.2): cwnd ", " recovery: exit (SACK, PRR), ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cubic_trace_names_hystart_exit_recovery_tlp_and_rto_with_their_causes),
        cmocka_unit_test(bbr_trace_follows_startup_drain_probe_bw),
        cmocka_unit_test(recovery_names_its_cause_dupacks_sack_threshold_or_rack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
