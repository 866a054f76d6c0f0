/* Calls from the socket layer (src/tcp/tcp.h): RFC 9293 3.10.1–3.10.6 user
 * calls, socket options, readiness and the TCP_INFO-like snapshot.
 * Every call is non-blocking and returns 0/count or a negative errno. */
#include <stdio.h>
#include <string.h>
#include "tcp_int.h"

struct us_tcb *us_tcp_open(struct us_stack *st, int *err)
{
    struct us_tcb *tcb = tcp_tcb_new(st, err);
    if (!tcb)
        return NULL;
    tcp_bind_insert(st, tcb);
    return tcb;
}

void us_tcp_fault_rx_nomem(struct us_stack *st, uint32_t n)
{
    tcp_state(st)->fault_rx_nomem = n;
}

static bool port_free(struct us_stack *st, struct us_tcb *tcb, uint16_t port)
{
    if (tcp_port_bound(st, port, tcb))
        return false;
    /* SO_REUSEADDR lets a socket bind while connections (TIME_WAIT…) use the port. */
    return tcp_state(st)->port_use[port] == 0 || (tcb->flags & TF_REUSEADDR);
}

static int bind_port(struct us_stack *st, struct us_tcb *tcb, us_ip4_t ip, uint16_t port)
{
    if (port == 0) {
        uint32_t lo = st->cfg.port_lo, hi = st->cfg.port_hi, n = hi - lo + 1;
        uint32_t start = (uint32_t)us_rng_below(&st->rng, n);
        for (uint32_t i = 0; i < n && !port; i++) {
            uint16_t p = (uint16_t)(lo + (start + i) % n);
            if (!tcp_port_bound(st, p, tcb) && tcp_state(st)->port_use[p] == 0)
                port = p;
        }
        if (!port) {
            US_COUNT(st, TCP_PORTS_EXHAUSTED);
            return -EADDRNOTAVAIL;
        }
    } else if (!port_free(st, tcb, port)) {
        return -EADDRINUSE;
    }
    tcp_bind_remove(st, tcb);
    tcb->lip = ip;
    tcb->lport = port;
    tcb->flags |= TF_BOUND;
    tcp_bind_insert(st, tcb);
    return 0;
}

int us_tcp_bind(struct us_stack *st, struct us_tcb *tcb, const struct us_sockaddr *addr)
{
    if (tcb->state != US_TCP_CLOSED || (tcb->flags & TF_BOUND))
        return -EINVAL;
    if (addr->addr && !us_ip_is_local(st, addr->addr))
        return -EADDRNOTAVAIL;
    return bind_port(st, tcb, addr->addr, addr->port);
}

int us_tcp_listen(struct us_stack *st, struct us_tcb *tcb, int backlog)
{
    if (tcb->state != US_TCP_CLOSED && tcb->state != US_TCP_LISTEN)
        return -EINVAL;
    if (!(tcb->flags & TF_BOUND)) {
        int rc = bind_port(st, tcb, 0, 0);
        if (rc < 0)
            return rc;
    }
    struct tcp_ext *e = tcp_ext(tcb);
    if (!e)
        return -ENOMEM;
    if (backlog < 1)
        backlog = 1;
    e->backlog = backlog > 65535 ? 65535 : (uint32_t)backlog;
    tcb->state = US_TCP_LISTEN;
    return 0;
}

int us_tcp_accept(struct us_stack *st, struct us_tcb *tcb, struct us_tcb **child, struct us_sockaddr *peer, us_time_t now)
{
    (void)now;
    if (tcb->state != US_TCP_LISTEN)
        return -EINVAL;
    struct us_tcb *c = tcb->ext->acc_head;
    if (!c)
        return -EAGAIN;
    tcp_listener_unlink(st, c);
    c->flags |= TF_CONN_REPORTED;
    *child = c;
    if (peer) {
        peer->addr = c->rip;
        peer->port = c->rport;
    }
    return 0;
}

static int connect_state(struct us_tcb *tcb)
{
    switch (tcb->state) {
    case US_TCP_SYN_SENT:
    case US_TCP_SYN_RECEIVED:
        return -EALREADY;
    case US_TCP_LISTEN:
        return -EINVAL;
    case US_TCP_CLOSED:
        if (tcb->so_error) {
            int e = tcb->so_error;
            tcb->so_error = 0;
            return -e;
        }
        return (tcb->flags & TF_CONN_REPORTED) ? -EINVAL : 1;
    default:
        if (!(tcb->flags & TF_CONN_REPORTED)) {
            tcb->flags |= TF_CONN_REPORTED;
            return 0;
        }
        return -EISCONN;
    }
}

int us_tcp_connect(struct us_stack *st, struct us_tcb *tcb, const struct us_sockaddr *addr, us_time_t now)
{
    int rc = connect_state(tcb);
    if (rc <= 0)
        return rc;
    us_ip4_t nh;
    if (!addr->addr || !addr->port)
        return -EINVAL;
    if (us_ip_route(st, addr->addr, &nh) < 0)
        return -ENETUNREACH;
    tcp_bind_remove(st, tcb);
    us_ip4_t old_lip = tcb->lip;
    uint16_t old_port = tcb->lport;
    tcb->lip = tcb->lip ? tcb->lip : st->cfg.ip;
    tcb->rip = addr->addr;
    tcb->rport = addr->port;
    if (!(tcb->flags & TF_BOUND))
        rc = tcp_pick_port(st, tcb);
    else
        rc = tcp_lookup(st, tcb->lip, tcb->lport, tcb->rip, tcb->rport) ? -EADDRINUSE : 0;
    if (rc < 0) {
        tcb->lip = old_lip;
        tcb->lport = old_port;
        tcb->rip = 0;
        tcb->rport = 0;
        tcp_bind_insert(st, tcb);
        return rc;
    }
    tcb->flags |= TF_BOUND;
    tcb->iss = tcp_isn(st, tcb->lip, tcb->lport, tcb->rip, tcb->rport, now);
    tcb->snd_una = tcb->snd_nxt = tcb->snd_max = tcb->iss;
    tcb->rcv_wscale = st->cfg.tcp_wscale ? tcp_wscale_for(tcb->rcvbuf) : 0;
    tcb->mss_recv = tcb->mss_send = (uint16_t)tcp_mss_ours(st, tcb);
    tcb->rtt_start = t_us(now);
    tcb->backoff = 0;
    tcp_hash_insert(st, tcb);
    tcp_set_state(st, tcb, US_TCP_SYN_SENT, now);
    US_COUNT(st, TCP_ACTIVE_OPENS);
    tcp_send_syn(st, tcb, now);
    tcp_timers_update(st, tcb, now);
    return -EINPROGRESS;
}

static int closed_error(struct us_tcb *tcb, int otherwise)
{
    if (tcb->so_error) {
        int e = tcb->so_error;
        tcb->so_error = 0;
        return -e;
    }
    return otherwise;
}

ssize_t us_tcp_send(struct us_stack *st, struct us_tcb *tcb, const void *buf, size_t len, us_time_t now)
{
    switch (tcb->state) {
    case US_TCP_ESTABLISHED:
    case US_TCP_CLOSE_WAIT:
        break;
    case US_TCP_SYN_SENT:
    case US_TCP_SYN_RECEIVED:
        return -EAGAIN;
    case US_TCP_CLOSED:
        return closed_error(tcb, (tcb->flags & TF_CONN_REPORTED) ? -EPIPE : -ENOTCONN);
    case US_TCP_LISTEN:
        return -ENOTCONN;
    default:
        return -EPIPE;
    }
    if (tcb->flags & TF_FIN_Q)
        return -EPIPE;
    if (len == 0)
        return 0;
    uint32_t space = tcb->sndbuf > tcb->sndq.len ? tcb->sndbuf - tcb->sndq.len : 0;
    if (space == 0)
        return -EAGAIN;
    uint32_t want = len > space ? space : (uint32_t)len;
    tcp_rate_check_app_limited(tcb);     /* the draft: on a write that finds the sender idle */
    uint32_t n = tcp_buf_append(&tcb->sndq, buf, want);
    if (n == 0)
        return -ENOBUFS;
    tcp_output(st, tcb, now);
    return n;
}

/* R3, R6: reading reopens the window; when the last advertisement was small
 * and the edge may now move (R2), the update leaves at once.
 * Beyond R3: the same when what is still open to the sender (right edge minus
 * RCV.NXT) is below one MSS, although the last advertisement was not: the
 * sender is then held by sender SWS avoidance (S1) and would otherwise wait
 * for our delayed ACK once per buffer-full, which paces a batch reader at one
 * buffer per delayed-ACK time. */
static void after_read(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    if (tcb->state != US_TCP_ESTABLISHED && tcb->state != US_TCP_FIN_WAIT_1 && tcb->state != US_TCP_FIN_WAIT_2)
        return;
    uint32_t wnd = tcp_rcv_window(tcb);
    if (!seq_gt(tcb->rcv_nxt + wnd, tcb->rcv_adv) || wnd < tcp_sws_threshold(tcb))
        return;
    uint32_t open = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    bool small = (tcb->flags & TF_ADV_SMALL) != 0;
    bool sender_held = open < tcb->mss_recv;
    if (small || sender_held) {
        tcb->flags |= TF_ACK_NOW;
        tcp_output(st, tcb, now);
    }
}

ssize_t us_tcp_recv(struct us_stack *st, struct us_tcb *tcb, void *buf, size_t len, bool peek, us_time_t now)
{
    if (tcb->flags & TF_RD_SHUT)
        return 0;
    if (tcb->rcvq.len) {
        uint32_t n = tcb->rcvq.len < len ? tcb->rcvq.len : (uint32_t)len;
        tcp_buf_copy(&tcb->rcvq, 0, buf, n);
        if (peek)
            return n;                /* still queued: the window stays where it is */
        tcp_buf_consume(&tcb->rcvq, n);
        after_read(st, tcb, now);
        return n;
    }
    if (tcb->flags & TF_FIN_RCVD)
        return 0;
    switch (tcb->state) {
    case US_TCP_CLOSED:
        return closed_error(tcb, (tcb->flags & TF_CONN_REPORTED) ? 0 : -ENOTCONN);
    case US_TCP_LISTEN:
        return -ENOTCONN;
    default:
        return -EAGAIN;
    }
}

static void close_write(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    switch (tcb->state) {
    case US_TCP_ESTABLISHED:
        tcb->flags |= TF_FIN_Q;
        tcp_set_state(st, tcb, US_TCP_FIN_WAIT_1, now);
        break;
    case US_TCP_CLOSE_WAIT:
        tcb->flags |= TF_FIN_Q;
        tcp_set_state(st, tcb, US_TCP_LAST_ACK, now);
        break;
    case US_TCP_SYN_RECEIVED:
        tcb->flags |= TF_FIN_Q;      /* FIN_WAIT_1 once established */
        break;
    default:
        return;
    }
    tcp_output(st, tcb, now);
}

int us_tcp_shutdown(struct us_stack *st, struct us_tcb *tcb, int how, us_time_t now)
{
    if (tcb->state == US_TCP_CLOSED || tcb->state == US_TCP_LISTEN || tcb->state == US_TCP_SYN_SENT)
        return -ENOTCONN;
    if (how == US_SHUT_RD || how == US_SHUT_RDWR)
        tcb->flags |= TF_RD_SHUT;
    if (how == US_SHUT_WR || how == US_SHUT_RDWR)
        close_write(st, tcb, now);
    return 0;
}

static void close_listener(struct us_stack *st, struct us_tcb *l, us_time_t now)
{
    struct tcp_ext *e = l->ext;
    while (e && (e->synq || e->acc_head)) {
        struct us_tcb *c = e->synq ? e->synq : e->acc_head;
        tcp_send_rst_tcb(st, c, now);
        tcp_drop(st, c, 0, now);
    }
    tcp_bind_remove(st, l);
    tcp_tcb_free(st, l);
}

int us_tcp_close(struct us_stack *st, struct us_tcb *tcb, us_time_t now)
{
    tcb->flags |= TF_ORPHAN | TF_RD_SHUT;
    switch (tcb->state) {
    case US_TCP_LISTEN:
        close_listener(st, tcb, now);
        return 0;
    case US_TCP_CLOSED:
        tcp_bind_remove(st, tcb);
        tcp_tcb_free(st, tcb);
        return 0;
    case US_TCP_SYN_SENT:
        tcp_drop(st, tcb, 0, now);
        return 0;
    case US_TCP_TIME_WAIT:
        return 0;                    /* freed when 2*MSL ends */
    default:
        break;
    }
    /* SO_LINGER 0, or data the application never read (RFC 9293 3.10.4,
     * RFC 2525 2.17): abort with RST instead of a FIN. */
    if ((tcb->flags & TF_LINGER0) || tcb->rcvq.len) {
        if (tcb->state != US_TCP_SYN_RECEIVED || !tcb->parent)
            tcp_send_rst_tcb(st, tcb, now);
        tcp_drop(st, tcb, 0, now);
        return 0;
    }
    /* SO_LINGER with a time: calls never block, so the descriptor goes now and
     * the connection keeps delivering its data and FIN for up to that long;
     * if the FIN is still unacknowledged then, it ends with RST (tcp_timer.c). */
    if (tcb->ext && tcb->ext->linger > 0) {
        tcb->flags |= TF_LINGER;
        tcb->ext->linger_end = t_ms(now) + (uint32_t)tcb->ext->linger * 1000u;
    }
    close_write(st, tcb, now);
    tcp_timers_update(st, tcb, now);
    return 0;
}

/* ---- options ------------------------------------------------------------------ */

static int get_int(const void *val, size_t len, int *out)
{
    if (!val || len < sizeof(int))
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static void set_flag(struct us_tcb *tcb, uint32_t f, int on)
{
    if (on)
        tcb->flags |= f;
    else
        tcb->flags &= ~f;
}

static int set_keep(struct us_tcb *tcb, int name, int v)
{
    if (v < 1 || v > 32767)
        return -EINVAL;
    struct tcp_ext *e = tcp_ext(tcb);
    if (!e)
        return -ENOMEM;
    if (name == US_TCP_KEEPIDLE)
        e->keepidle = (uint32_t)v;
    else if (name == US_TCP_KEEPINTVL)
        e->keepintvl = (uint32_t)v;
    else
        e->keepcnt = (uint32_t)v;
    return 0;
}

static int set_linger(struct us_tcb *tcb, const void *val, size_t len)
{
    struct us_linger l;
    if (!val || len < sizeof(l))
        return -EINVAL;
    memcpy(&l, val, sizeof(l));
    struct tcp_ext *e = tcp_ext(tcb);
    if (!e)
        return -ENOMEM;
    e->linger = l.onoff ? (l.seconds < 0 ? 0 : l.seconds > 3600 ? 3600 : l.seconds) : -1;
    set_flag(tcb, TF_LINGER0, l.onoff && l.seconds <= 0);
    return 0;
}

static int set_tcp_opt(struct us_stack *st, struct us_tcb *tcb, int name, const void *val, size_t len, us_time_t now)
{
    int v = 0;
    if (name == US_TCP_CONGESTION) {
        char nm[16] = { 0 };
        if (!val || len == 0)
            return -EINVAL;
        memcpy(nm, val, len < 15 ? len : 15);
        int idx = tcp_cc_find(nm);
        if (idx < 0)
            return -ENOENT;
        tcb->cc_idx = (uint8_t)idx;
        if (tcb->state >= US_TCP_ESTABLISHED)
            tcp_cc_init(st, tcb);
        return 0;
    }
    int rc = get_int(val, len, &v);
    if (rc < 0)
        return rc;
    switch (name) {
    case US_TCP_NODELAY:
        set_flag(tcb, TF_NODELAY, v);
        break;
    case US_TCP_CORK:
        set_flag(tcb, TF_CORK, v);
        break;
    case US_TCP_KEEPIDLE:
    case US_TCP_KEEPINTVL:
    case US_TCP_KEEPCNT:
        rc = set_keep(tcb, name, v);
        if (rc == 0 && name == US_TCP_KEEPIDLE && (tcb->flags & TF_KEEPALIVE))
            tcp_keepalive_reset(st, tcb, now);
        return rc;
    case US_TCP_MAXSEG:
        /* Clamps the MSS announced in our SYN and used for sending (the peer's
         * MSS still applies); only before the handshake, like RFC 9293 3.7.1
         * fixes the MSS there. Linux's range: 88..65495. */
        if (v < 88 || v > 65495)
            return -EINVAL;
        if (tcb->state != US_TCP_CLOSED && tcb->state != US_TCP_LISTEN)
            return -EISCONN;
        if (!tcp_ext(tcb))
            return -ENOMEM;
        tcb->ext->maxseg = (uint16_t)v;
        return 0;
    case US_TCP_SYNQ_MAX:
        if (v < 1 || v > 65535)
            return -EINVAL;
        if (!tcp_ext(tcb))
            return -ENOMEM;
        tcb->ext->synq_max = (uint32_t)v;
        return 0;
    case US_TCP_DELACK_MS:
        if (v < 1 || v > 500)                        /* RFC 1122 4.2.3.2: at most 0.5 s */
            return -EINVAL;
        if (!tcp_ext(tcb))
            return -ENOMEM;
        tcb->ext->delack_us = (uint32_t)v * 1000u;
        return 0;
    default:
        return -ENOPROTOOPT;
    }
    /* Clearing NODELAY/CORK may let held data leave now. */
    if (tcb->state >= US_TCP_ESTABLISHED)
        tcp_output(st, tcb, now);
    return 0;
}

static int set_sock_opt(struct us_stack *st, struct us_tcb *tcb, int name, const void *val, size_t len, us_time_t now)
{
    int v = 0;
    if (name == US_SO_LINGER)
        return set_linger(tcb, val, len);
    int rc = get_int(val, len, &v);
    if (rc < 0)
        return rc;
    switch (name) {
    case US_SO_REUSEADDR:
        set_flag(tcb, TF_REUSEADDR, v);
        return 0;
    case US_SO_KEEPALIVE:
        set_flag(tcb, TF_KEEPALIVE, v);
        if (v)
            tcp_keepalive_reset(st, tcb, now);
        tcp_rearm(st, tcb, now);
        return 0;
    case US_SO_SNDBUF:
        if (v < 1)
            return -EINVAL;
        tcb->sndbuf = (uint32_t)v;
        return 0;
    case US_SO_RCVBUF:
        if (v < 1)
            return -EINVAL;
        tcb->rcvbuf = (uint32_t)v;
        return 0;
    default:
        return -ENOPROTOOPT;
    }
}

int us_tcp_setsockopt(struct us_stack *st, struct us_tcb *tcb, int level, int name, const void *val, size_t len, us_time_t now)
{
    if (level == US_SOL_SOCKET)
        return set_sock_opt(st, tcb, name, val, len, now);
    if (level == US_IPPROTO_TCP)
        return set_tcp_opt(st, tcb, name, val, len, now);
    return -ENOPROTOOPT;
}

static int put_int(void *val, size_t *len, int v)
{
    if (!val || !len || *len < sizeof(int))
        return -EINVAL;
    memcpy(val, &v, sizeof(int));
    *len = sizeof(int);
    return 0;
}

static int get_sock_opt(struct us_tcb *tcb, int name, void *val, size_t *len)
{
    switch (name) {
    case US_SO_REUSEADDR: return put_int(val, len, !!(tcb->flags & TF_REUSEADDR));
    case US_SO_KEEPALIVE: return put_int(val, len, !!(tcb->flags & TF_KEEPALIVE));
    case US_SO_SNDBUF: return put_int(val, len, (int)tcb->sndbuf);
    case US_SO_RCVBUF: return put_int(val, len, (int)tcb->rcvbuf);
    case US_SO_ERROR: {
        int e = tcb->so_error;
        tcb->so_error = 0;
        return put_int(val, len, e);
    }
    case US_SO_LINGER: {
        struct us_linger l = { 0, 0 };
        if (tcb->ext && tcb->ext->linger >= 0) {
            l.onoff = 1;
            l.seconds = tcb->ext->linger;
        }
        if (!val || !len || *len < sizeof(l))
            return -EINVAL;
        memcpy(val, &l, sizeof(l));
        *len = sizeof(l);
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}

int us_tcp_getsockopt(struct us_stack *st, struct us_tcb *tcb, int level, int name, void *val, size_t *len)
{
    const struct tcp_ext *e = tcb->ext;
    if (level == US_SOL_SOCKET)
        return get_sock_opt(tcb, name, val, len);
    if (level != US_IPPROTO_TCP)
        return -ENOPROTOOPT;
    switch (name) {
    case US_TCP_NODELAY: return put_int(val, len, !!(tcb->flags & TF_NODELAY));
    case US_TCP_CORK: return put_int(val, len, !!(tcb->flags & TF_CORK));
    case US_TCP_KEEPIDLE: return put_int(val, len, (int)(e && e->keepidle ? e->keepidle : TCP_KEEPIDLE_DEF));
    case US_TCP_KEEPINTVL: return put_int(val, len, (int)(e && e->keepintvl ? e->keepintvl : TCP_KEEPINTVL_DEF));
    case US_TCP_KEEPCNT: return put_int(val, len, (int)(e && e->keepcnt ? e->keepcnt : TCP_KEEPCNT_DEF));
    case US_TCP_DELACK_MS: return put_int(val, len, (int)(tcp_delack_us(st, tcb) / 1000u));
    case US_TCP_SYNQ_MAX: return put_int(val, len, (int)tcp_synq_max(st, tcb));
    case US_TCP_MAXSEG: return put_int(val, len, tcb->mss_send ? tcb->mss_send : (int)tcp_mss_ours(st, tcb));
    case US_TCP_CONGESTION: {
        const char *n = tcp_cc_get(tcb->cc_idx)->name;
        if (!val || !len || *len == 0)
            return -EINVAL;
        size_t k = strlen(n) + 1;
        if (k > *len)
            k = *len;
        memcpy(val, n, k);
        ((char *)val)[k - 1] = 0;
        *len = k;
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}

/* ---- readiness, names, info --------------------------------------------------- */

short us_tcp_poll(struct us_stack *st, struct us_tcb *tcb)
{
    (void)st;
    short ev = 0;
    if (tcb->state == US_TCP_LISTEN)
        return tcb->ext && tcb->ext->acc_head ? US_POLLIN : 0;
    if (tcb->rcvq.len || (tcb->flags & (TF_FIN_RCVD | TF_RD_SHUT)))
        ev |= US_POLLIN;
    if ((tcb->state == US_TCP_ESTABLISHED || tcb->state == US_TCP_CLOSE_WAIT) && !(tcb->flags & TF_FIN_Q) &&
        tcb->sndq.len < tcb->sndbuf)
        ev |= US_POLLOUT;
    if (tcb->so_error)
        ev |= US_POLLERR;
    if (tcb->state == US_TCP_CLOSED) {
        ev |= US_POLLHUP | US_POLLIN;
        if (!(tcb->flags & TF_CONN_REPORTED) && !tcb->so_error)
            ev |= US_POLLOUT;
    }
    if ((tcb->flags & TF_FIN_RCVD) && (tcb->flags & TF_FIN_Q))
        ev |= US_POLLHUP;
    return ev;
}

int us_tcp_getname(struct us_stack *st, struct us_tcb *tcb, struct us_sockaddr *local, struct us_sockaddr *remote)
{
    (void)st;
    if (local) {
        local->addr = tcb->lip;
        local->port = tcb->lport;
    }
    if (remote) {
        if (tcb->state == US_TCP_CLOSED || tcb->state == US_TCP_LISTEN)
            return -ENOTCONN;
        remote->addr = tcb->rip;
        remote->port = tcb->rport;
    }
    return 0;
}

int us_tcp_get_info(struct us_stack *st, struct us_tcb *tcb, struct us_tcp_info *info)
{
    memset(info, 0, sizeof(*info));
    info->state = tcb->state;
    info->mss_send = tcb->mss_send;
    info->mss_recv = tcb->mss_recv;
    info->cwnd = tcb->cwnd;
    info->ssthresh = tcb->ssthresh;
    info->srtt = US_US(tcb->srtt);
    info->rttvar = US_US(tcb->rttvar);
    info->rto = US_US(tcb->rto);
    bool sync = tcb->state >= US_TCP_ESTABLISHED;
    info->bytes_in_flight = sync ? tcb->snd_max - tcb->snd_una : 0;
    if (tcb->ext) {
        info->retransmits = tcb->ext->retransmits;
        info->fast_retransmits = tcb->ext->fast_retransmits;
        info->rto_expirations = tcb->ext->rto_expirations;
        info->probes_sent = tcb->ext->probes_sent;
        info->dsacks_received = tcb->ext->dsacks_rcvd;
        info->undo_dsack = tcb->ext->undo_dsack;
        info->undo_eifel = tcb->ext->undo_eifel;
        info->reo_wnd = US_US(tcp_rack_reo_wnd(tcb));
        info->rack_min_rtt = US_US(tcb->ext->rack.min_rtt_us);
        info->tlp_probes = tcb->ext->tlp_probes;
    }
    info->snd_wnd = tcb->snd_wnd;
    info->rcv_wnd = sync ? tcp_rcv_window(tcb) : 0;
    info->snd_wscale = tcb->snd_wscale;
    info->rcv_wscale = tcb->rcv_wscale;
    info->sack_ok = (tcb->flags & TF_SACK) != 0;
    info->ts_ok = (tcb->flags & TF_TS) != 0;
    if (sync) {
        /* 32-bit sequence distances extended by their 4 GiB wraps (tcp_count_wrap). */
        const uint32_t *w = tcb->ext ? tcb->ext->wraps : (const uint32_t[3]){ 0, 0, 0 };
        info->bytes_acked = ((uint64_t)w[TW_ACKED] << 32) | (uint32_t)(tcb->snd_una - tcb->iss - 1);
        info->bytes_sent = ((uint64_t)w[TW_SENT] << 32) | (uint32_t)(tcb->snd_max - tcb->iss - 1);
        info->bytes_received = ((uint64_t)w[TW_RCVD] << 32) | (uint32_t)(tcb->rcv_nxt - tcb->irs - 1);
    }
    info->send_queue = tcb->sndq.len;
    info->recv_queue = tcb->rcvq.len;
    const struct tcp_cc_ops *cc = tcp_cc_get(tcb->cc_idx);
    snprintf(info->cc, sizeof(info->cc), "%s", cc->name);
    info->cc_state = cc->state_name ? cc->state_name(tcb) : NULL;
    info->pacing_rate = cc->pacing_rate ? cc->pacing_rate(tcb) : 0;
    if (tcb->ext) {
        info->delivery_rate = tcb->ext->rate.last_rate;
        info->delivery_rate_app_limited = tcb->ext->rate.last_app_limited;
        info->delivered = tcb->ext->rate.delivered;
        info->min_rtt = US_US(tcb->ext->rate.min_rtt_us);
    }
    uint32_t len;
    bool fin;
    info->send_reason = tcp_send_reason_name(tcp_should_send(tcb, &len, &fin));
    (void)st;
    return 0;
}
