/* Control blocks: allocation, the two hash tables, local ports and ISNs.
 *
 * Connected control blocks (SYN_SENT on) live in the 4-tuple table, found in
 * O(1) with a keyed hash (a peer cannot aim at one bucket). Unconnected ones
 * (CLOSED, bound, LISTEN) live in the bind table keyed by local port, port 0
 * for unbound; every control block is in exactly one table, so iterating both
 * visits all of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tcp_int.h"

_Static_assert(sizeof(struct us_tcb) <= 256, "struct us_tcb must stay within 256 bytes");

static const char *const state_names[] = {
    "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
    "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

const char *us_tcp_state_name(int state)
{
    if (state < 0 || state > US_TCP_TIME_WAIT)
        return "?";
    return state_names[state];
}

int us_tcp_init(struct us_stack *st, char *err, size_t errlen)
{
    if (tcp_cc_find(st->cfg.tcp_cc) < 0) {
        snprintf(err, errlen, "unknown congestion control '%s'", st->cfg.tcp_cc);
        return -ENOENT;
    }
    struct us_tcp_state *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "tcp layer: out of memory");
        return -ENOMEM;
    }
    t->conn_mask = 255;
    t->bind_mask = 255;
    t->conns = calloc(t->conn_mask + 1, sizeof(*t->conns));
    t->binds = calloc(t->bind_mask + 1, sizeof(*t->binds));
    t->port_use = calloc(65536, sizeof(*t->port_use));
    if (!t->conns || !t->binds || !t->port_use) {
        free(t->conns);
        free(t->binds);
        free(t->port_use);
        free(t);
        snprintf(err, errlen, "tcp layer: out of memory for the connection tables");
        return -ENOMEM;
    }
    t->port_next = (uint32_t)us_rng_next(&st->rng);
    st->slot[US_TCP_SLOT] = t;
    return 0;
}

static void free_chain(struct us_stack *st, struct us_tcb *c)
{
    while (c) {
        struct us_tcb *n = c->hnext;
        tcp_tcb_free(st, c);
        c = n;
    }
}

void us_tcp_fini(struct us_stack *st)
{
    struct us_tcp_state *t = tcp_state(st);
    for (uint32_t i = 0; i <= t->conn_mask; i++)
        free_chain(st, t->conns[i]);
    for (uint32_t i = 0; i <= t->bind_mask; i++)
        free_chain(st, t->binds[i]);
    free(t->conns);
    free(t->binds);
    free(t->port_use);
    free(t);
    st->slot[US_TCP_SLOT] = NULL;
}

struct us_tcb *tcp_tcb_new(struct us_stack *st, int *err)
{
    struct us_tcp_state *t = tcp_state(st);
    if (t->ntcb >= st->cfg.tcp_max_conns) {
        *err = -EMFILE;
        return NULL;
    }
    struct us_tcb *tcb = calloc(1, sizeof(*tcb));
    if (!tcb) {
        *err = -ENOMEM;
        return NULL;
    }
    us_timer_init(&tcb->timer, tcp_timer_fire);
    tcb->sndbuf = st->cfg.tcp_sndbuf;
    tcb->rcvbuf = st->cfg.tcp_rcvbuf;
    tcb->rto = (uint32_t)(st->cfg.tcp_rto_initial / 1000u);
    int cc = tcp_cc_find(st->cfg.tcp_cc);
    tcb->cc_idx = (uint8_t)(cc < 0 ? 0 : cc);
    t->ntcb++;
    return tcb;
}

/* Only called for a control block already out of both tables. */
void tcp_tcb_free(struct us_stack *st, struct us_tcb *tcb)
{
    us_timer_cancel(&st->timers, &tcb->timer);
    tcp_buf_free(&tcb->sndq);
    tcp_buf_free(&tcb->rcvq);
    if (tcb->ext) {
        tcp_ooo_free(tcb->ext);
        tcp_sack_free(tcb->ext);
        tcp_rack_free(tcb->ext);
        free(tcb->ext->cc_state);
        free(tcb->ext);
    }
    tcp_state(st)->ntcb--;
    free(tcb);
}

struct tcp_ext *tcp_ext(struct us_tcb *tcb)
{
    if (!tcb->ext) {
        tcb->ext = calloc(1, sizeof(*tcb->ext));
        if (tcb->ext)
            tcb->ext->linger = -1;
    }
    return tcb->ext;
}

/* ---- connection table ------------------------------------------------------ */

static uint32_t conn_hash(const struct us_stack *st, us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport)
{
    uint32_t k[3] = { lip, rip, ((uint32_t)lport << 16) | rport };
    return (uint32_t)us_siphash24(st->secret, k, sizeof(k));
}

static void conn_grow(struct us_stack *st)
{
    struct us_tcp_state *t = tcp_state(st);
    uint32_t nmask = t->conn_mask * 2 + 1;
    struct us_tcb **n = calloc((size_t)nmask + 1, sizeof(*n));
    if (!n)
        return;               /* keep working with longer chains */
    for (uint32_t i = 0; i <= t->conn_mask; i++) {
        struct us_tcb *c = t->conns[i];
        while (c) {
            struct us_tcb *next = c->hnext;
            uint32_t h = conn_hash(st, c->lip, c->lport, c->rip, c->rport) & nmask;
            c->hnext = n[h];
            n[h] = c;
            c = next;
        }
    }
    free(t->conns);
    t->conns = n;
    t->conn_mask = nmask;
}

void tcp_hash_insert(struct us_stack *st, struct us_tcb *tcb)
{
    struct us_tcp_state *t = tcp_state(st);
    if (t->nconns > t->conn_mask)
        conn_grow(st);
    uint32_t h = conn_hash(st, tcb->lip, tcb->lport, tcb->rip, tcb->rport) & t->conn_mask;
    tcb->hnext = t->conns[h];
    t->conns[h] = tcb;
    t->nconns++;
    t->port_use[tcb->lport]++;
    tcb->flags |= TF_INHASH;
}

void tcp_hash_remove(struct us_stack *st, struct us_tcb *tcb)
{
    struct us_tcp_state *t = tcp_state(st);
    if (!(tcb->flags & TF_INHASH))
        return;
    uint32_t h = conn_hash(st, tcb->lip, tcb->lport, tcb->rip, tcb->rport) & t->conn_mask;
    for (struct us_tcb **pp = &t->conns[h]; *pp; pp = &(*pp)->hnext) {
        if (*pp == tcb) {
            *pp = tcb->hnext;
            break;
        }
    }
    tcb->hnext = NULL;
    t->nconns--;
    t->port_use[tcb->lport]--;
    tcb->flags &= ~TF_INHASH;
}

struct us_tcb *tcp_lookup(struct us_stack *st, us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport)
{
    struct us_tcp_state *t = tcp_state(st);
    uint32_t h = conn_hash(st, lip, lport, rip, rport) & t->conn_mask;
    for (struct us_tcb *c = t->conns[h]; c; c = c->hnext)
        if (c->lport == lport && c->rport == rport && c->lip == lip && c->rip == rip)
            return c;
    return NULL;
}

/* ---- bind table ------------------------------------------------------------ */

void tcp_bind_insert(struct us_stack *st, struct us_tcb *tcb)
{
    struct us_tcp_state *t = tcp_state(st);
    uint32_t h = tcb->lport & t->bind_mask;
    tcb->hnext = t->binds[h];
    t->binds[h] = tcb;
}

void tcp_bind_remove(struct us_stack *st, struct us_tcb *tcb)
{
    struct us_tcp_state *t = tcp_state(st);
    uint32_t h = tcb->lport & t->bind_mask;
    for (struct us_tcb **pp = &t->binds[h]; *pp; pp = &(*pp)->hnext) {
        if (*pp == tcb) {
            *pp = tcb->hnext;
            tcb->hnext = NULL;
            return;
        }
    }
}

struct us_tcb *tcp_lookup_listener(struct us_stack *st, us_ip4_t lip, uint16_t lport)
{
    struct us_tcp_state *t = tcp_state(st);
    struct us_tcb *wild = NULL;
    for (struct us_tcb *c = t->binds[lport & t->bind_mask]; c; c = c->hnext) {
        if (c->lport != lport || c->state != US_TCP_LISTEN)
            continue;
        if (c->lip == lip)
            return c;
        if (c->lip == 0)
            wild = c;
    }
    return wild;
}

/* A bound (unconnected or listening) socket other than `except` holds the port. */
bool tcp_port_bound(struct us_stack *st, uint16_t port, const struct us_tcb *except)
{
    struct us_tcp_state *t = tcp_state(st);
    for (struct us_tcb *c = t->binds[port & t->bind_mask]; c; c = c->hnext)
        if (c != except && (c->flags & TF_BOUND) && c->lport == port)
            return true;
    return false;
}

/* RFC 6056 3.3.3 (algorithm 3): offset = F(local, remote, secret), walked from
 * a global counter; a port is usable when the 4-tuple is unique and no local
 * socket is bound to it. */
int tcp_pick_port(struct us_stack *st, struct us_tcb *tcb)
{
    struct us_tcp_state *t = tcp_state(st);
    uint32_t lo = st->cfg.port_lo, hi = st->cfg.port_hi;
    if (lo == 0 || hi < lo) {
        lo = 49152;
        hi = 65535;
    }
    uint32_t n = hi - lo + 1;
    uint32_t k[3] = { tcb->lip, tcb->rip, tcb->rport };
    uint32_t offset = (uint32_t)us_siphash24(st->secret, k, sizeof(k));
    for (uint32_t i = 0; i < n; i++) {
        uint16_t port = (uint16_t)(lo + (offset + t->port_next + i) % n);
        if (tcp_port_bound(st, port, tcb) || tcp_lookup(st, tcb->lip, port, tcb->rip, tcb->rport))
            continue;
        t->port_next += i + 1;
        tcb->lport = port;
        return 0;
    }
    US_COUNT(st, TCP_PORTS_EXHAUSTED);
    return -EADDRNOTAVAIL;
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock. */
uint32_t tcp_isn(struct us_stack *st, us_ip4_t lip, uint16_t lport, us_ip4_t rip, uint16_t rport, us_time_t now)
{
    uint32_t k[3] = { lip, rip, ((uint32_t)lport << 16) | rport };
    return (uint32_t)us_siphash24(st->secret, k, sizeof(k)) + (uint32_t)(now / 4000u);
}

void tcp_set_state(struct us_stack *st, struct us_tcb *tcb, uint8_t state, us_time_t now)
{
    (void)now;
    if (state == tcb->state)
        return;
    US_LOG(st, US_LOG_DEBUG, TCP_CONN_FMT " %s -> %s", TCP_CONN_ARGS(tcb), us_tcp_state_name(tcb->state),
           us_tcp_state_name(state));
    if (state == US_TCP_ESTABLISHED)
        US_COUNT(st, TCP_ESTABLISHED);
    tcb->state = state;
}

/* Remove a child from its listener's SYN or accept queue. */
void tcp_listener_unlink(struct us_stack *st, struct us_tcb *child)
{
    (void)st;
    struct us_tcb *l = child->parent;
    if (!l || !l->ext)
        return;
    struct tcp_ext *e = l->ext;
    bool acc = (child->flags & TF_ACCEPTQ) != 0;
    struct us_tcb **pp = acc ? &e->acc_head : &e->synq;
    struct us_tcb **tail = acc ? &e->acc_tail : &e->synq_tail;
    struct us_tcb *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->qnext) {
        if (*pp != child)
            continue;
        *pp = child->qnext;
        if (*tail == child)
            *tail = prev;
        if (acc)
            e->acc_len--;
        else
            e->synq_len--;
        break;
    }
    child->qnext = NULL;
    child->parent = NULL;
    child->flags &= ~TF_ACCEPTQ;
}

uint32_t tcp_synq_max(const struct us_stack *st, const struct us_tcb *l)
{
    return l->ext && l->ext->synq_max ? l->ext->synq_max : st->cfg.tcp_synq_max;
}

/* Both listener queues keep arrival order: appended at the tail, so the head
 * is the oldest (O(1) for the eviction a full SYN queue asks for per SYN). */
void tcp_queue_append(struct us_tcb **head, struct us_tcb **tail, struct us_tcb *c)
{
    c->qnext = NULL;
    if (*tail)
        (*tail)->qnext = c;
    else
        *head = c;
    *tail = c;
}

struct us_tcb *tcp_synq_victim(const struct us_tcb *l)
{
    struct us_tcb *c = l->ext ? l->ext->synq : NULL;
    return c && c->backoff >= 1 ? c : NULL;
}

bool tcp_synack_give_up(struct us_stack *st, const struct us_tcb *tcb)
{
    if (tcb->state != US_TCP_SYN_RECEIVED || !tcb->parent || tcb->backoff < 1 || us_ip_neigh_resolved(st, tcb->rip))
        return false;
    US_COUNT(st, TCP_SYNACK_UNRESOLVED);
    return true;
}

/* The connection is over. Held by the application, the control block stays in
 * CLOSED for it to read the error; one nobody holds (closed: TF_ORPHAN, or never
 * accepted: still in a listener's queue) is freed now. */
void tcp_drop(struct us_stack *st, struct us_tcb *tcb, int err, us_time_t now)
{
    bool unheld = (tcb->flags & TF_ORPHAN) || tcb->parent;
    if (err)
        tcb->so_error = (uint8_t)err;
    tcp_hash_remove(st, tcb);
    if (tcb->parent)
        tcp_listener_unlink(st, tcb);
    tcp_set_state(st, tcb, US_TCP_CLOSED, now);
    us_timer_cancel(&st->timers, &tcb->timer);
    tcp_timer_restart(tcb);
    tcb->flags &= ~(TF_DELACK | TF_ACK_NOW | TF_BOUND);
    tcp_buf_free(&tcb->sndq);
    if (tcb->ext) {
        tcp_ooo_free(tcb->ext);
        tcp_sack_free(tcb->ext);
    }
    if (unheld) {
        tcp_tcb_free(st, tcb);
        return;
    }
    /* Keep it reachable (for us_tcp_fini) in the bind table, holding no port. */
    tcp_bind_insert(st, tcb);
}

/* us_tcp_info's byte counts are 32-bit sequence distances extended by a count
 * of 4 GiB wraps; the extension lives in tcp_ext, allocated only once a
 * connection has moved 4 GiB, so the control block stays small. One step
 * never moves a count by 2^31 or more, so "went down" means "wrapped". */
void tcp_count_wrap(struct us_tcb *tcb, int which, uint32_t from, uint32_t to)
{
    if (to >= from)
        return;
    struct tcp_ext *e = tcp_ext(tcb);
    if (e)
        e->wraps[which]++;
}

uint32_t tcp_delack_us(struct us_stack *st, const struct us_tcb *tcb)
{
    if (tcb->ext && tcb->ext->delack_us)
        return tcb->ext->delack_us;
    return (uint32_t)(st->cfg.tcp_delack / 1000u);
}

/* ---- netstat --------------------------------------------------------------- */

static void visit_chain(struct us_stack *st, struct us_tcb *c, void (*fn)(void *, const struct us_tcp_row *), void *arg)
{
    for (; c; c = c->hnext) {
        struct us_tcp_row r;
        memset(&r, 0, sizeof(r));
        r.tcb = c;
        r.local.addr = c->lip;
        r.local.port = c->lport;
        r.remote.addr = c->rip;
        r.remote.port = c->rport;
        us_tcp_get_info(st, c, &r.info);
        fn(arg, &r);
    }
}

void us_tcp_each(struct us_stack *st, void (*fn)(void *arg, const struct us_tcp_row *r), void *arg)
{
    struct us_tcp_state *t = tcp_state(st);
    if (!t)
        return;
    for (uint32_t i = 0; i <= t->bind_mask; i++)
        visit_chain(st, t->binds[i], fn, arg);
    for (uint32_t i = 0; i <= t->conn_mask; i++)
        visit_chain(st, t->conns[i], fn, arg);
}
