/* The socket layer: descriptors name control blocks inside the stack.
 *
 * A descriptor is an index into a table of {type, control block}; every call
 * checks the descriptor and dispatches to TCP or UDP. Errors are negative errno
 * values returned to the caller, never stored in a global. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "socket.h"

enum us_sock_counter {
#define X(id, name) US_C_##id,
#include "socket_counters.def"
#undef X
};
#define US_COUNT(st, id) US_COUNT_SLOT(st, US_SOCK_SLOT, US_C_##id)

#define SOCK_MAX (1u << 21)

struct sock {
    int type;                /* 0 = free */
    union {
        struct us_tcb *tcb;
        struct us_udp_pcb *udp;
    } u;
    int next_free;
};

struct us_sock_state {
    struct sock *tab;
    uint32_t cap;
    int free_head;           /* -1 = none */
};

static inline struct us_sock_state *sock_state(const struct us_stack *st) { return st->slot[US_SOCK_SLOT]; }

int us_sock_init(struct us_stack *st, char *err, size_t errlen)
{
    struct us_sock_state *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "socket layer: out of memory");
        return -ENOMEM;
    }
    s->free_head = -1;
    st->slot[US_SOCK_SLOT] = s;
    return 0;
}

void us_sock_fini(struct us_stack *st)
{
    struct us_sock_state *s = sock_state(st);
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->tab[i].type == US_SOCK_DGRAM)
            us_udp_close(st, s->tab[i].u.udp);
    /* TCP control blocks are owned and freed by us_tcp_fini. */
    free(s->tab);
    free(s);
    st->slot[US_SOCK_SLOT] = NULL;
}

static int fd_alloc(struct us_stack *st)
{
    struct us_sock_state *s = sock_state(st);
    if (s->free_head < 0) {
        if (s->cap >= SOCK_MAX) {
            US_COUNT(st, SOCK_DROP_NO_DESCRIPTORS);
            return -EMFILE;
        }
        uint32_t ncap = s->cap ? s->cap * 2 : 64;
        struct sock *n = realloc(s->tab, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        /* new slots go on the free list highest first so low numbers come out first */
        for (uint32_t i = ncap; i-- > s->cap;) {
            n[i].type = 0;
            n[i].next_free = s->free_head;
            s->free_head = (int)i;
        }
        s->tab = n;
        s->cap = ncap;
    }
    int fd = s->free_head;
    s->free_head = s->tab[fd].next_free;
    return fd;
}

static void fd_release(struct us_stack *st, int fd)
{
    struct us_sock_state *s = sock_state(st);
    s->tab[fd].type = 0;
    s->tab[fd].next_free = s->free_head;
    s->free_head = fd;
}

static struct sock *get(struct us_stack *st, int fd)
{
    if (fd < 0 || (uint32_t)fd >= sock_state(st)->cap || sock_state(st)->tab[fd].type == 0)
        return NULL;
    return &sock_state(st)->tab[fd];
}

int us_socket(struct us_stack *st, int type)
{
    if (type != US_SOCK_STREAM && type != US_SOCK_DGRAM)
        return -EPROTONOSUPPORT;
    int fd = fd_alloc(st);
    if (fd < 0)
        return fd;
    int err = -ENOMEM;
    struct sock *s = &sock_state(st)->tab[fd];
    if (type == US_SOCK_STREAM) {
        s->u.tcb = us_tcp_open(st, &err);
        if (!s->u.tcb) {
            fd_release(st, fd);
            return err;
        }
    } else {
        s->u.udp = us_udp_open(st, &err);
        if (!s->u.udp) {
            fd_release(st, fd);
            return err;
        }
    }
    s->type = type;
    return fd;
}

#define GET_OR_EBADF(s, st, fd)                                                                    \
    struct sock *s = get(st, fd);                                                                  \
    if (!s)                                                                                        \
        return -EBADF;

int us_bind(struct us_stack *st, int fd, const struct us_sockaddr *a, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (!a)
        return -EINVAL;
    return s->type == US_SOCK_STREAM ? us_tcp_bind(st, s->u.tcb, a) : us_udp_bind(st, s->u.udp, a);
}

int us_listen(struct us_stack *st, int fd, int backlog, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (s->type != US_SOCK_STREAM)
        return -EOPNOTSUPP;
    return us_tcp_listen(st, s->u.tcb, backlog);
}

int us_accept(struct us_stack *st, int fd, struct us_sockaddr *peer, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (s->type != US_SOCK_STREAM)
        return -EOPNOTSUPP;
    int nfd = fd_alloc(st);
    if (nfd < 0)
        return nfd;
    s = &sock_state(st)->tab[fd]; /* the table may have moved */
    struct us_tcb *child = NULL;
    int rc = us_tcp_accept(st, s->u.tcb, &child, peer, now);
    if (rc < 0) {
        fd_release(st, nfd);
        return rc;
    }
    struct sock *ns = &sock_state(st)->tab[nfd];
    ns->type = US_SOCK_STREAM;
    ns->u.tcb = child;
    return nfd;
}

int us_connect(struct us_stack *st, int fd, const struct us_sockaddr *a, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (!a)
        return -EINVAL;
    return s->type == US_SOCK_STREAM ? us_tcp_connect(st, s->u.tcb, a, now) : us_udp_connect(st, s->u.udp, a);
}

/* The flags each direction knows (ustack.h); every other bit is -EINVAL. */
#define SEND_FLAGS US_MSG_DONTWAIT
#define RECV_FLAGS (US_MSG_DONTWAIT | US_MSG_PEEK)

ssize_t us_send(struct us_stack *st, int fd, const void *buf, size_t len, int flags, us_time_t now)
{
    return us_sendto(st, fd, buf, len, flags, NULL, now);
}

ssize_t us_recv(struct us_stack *st, int fd, void *buf, size_t len, int flags, us_time_t now)
{
    return us_recvfrom(st, fd, buf, len, flags, NULL, now);
}

ssize_t us_sendto(struct us_stack *st, int fd, const void *buf, size_t len, int flags,
                  const struct us_sockaddr *to, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (flags & ~SEND_FLAGS)
        return -EINVAL;
    if (s->type == US_SOCK_STREAM)
        return us_tcp_send(st, s->u.tcb, buf, len, now); /* address ignored, as in BSD */
    return us_udp_sendto(st, s->u.udp, buf, len, to, now);
}

ssize_t us_recvfrom(struct us_stack *st, int fd, void *buf, size_t len, int flags,
                    struct us_sockaddr *from, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (flags & ~RECV_FLAGS)
        return -EINVAL;
    bool peek = (flags & US_MSG_PEEK) != 0;
    if (s->type == US_SOCK_STREAM) {
        ssize_t n = us_tcp_recv(st, s->u.tcb, buf, len, peek, now);
        if (n >= 0 && from)
            us_tcp_getname(st, s->u.tcb, NULL, from);
        return n;
    }
    return us_udp_recvfrom(st, s->u.udp, buf, len, from, peek);
}

int us_shutdown(struct us_stack *st, int fd, int how, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (how < US_SHUT_RD || how > US_SHUT_RDWR)
        return -EINVAL;
    if (s->type != US_SOCK_STREAM)
        return -EOPNOTSUPP;
    return us_tcp_shutdown(st, s->u.tcb, how, now);
}

int us_close(struct us_stack *st, int fd, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    int rc = 0;
    if (s->type == US_SOCK_STREAM) {
        rc = us_tcp_close(st, s->u.tcb, now);
    } else {
        us_udp_close(st, s->u.udp);
    }
    fd_release(st, fd);
    return rc;
}

int us_getsockname(struct us_stack *st, int fd, struct us_sockaddr *a)
{
    GET_OR_EBADF(s, st, fd);
    return s->type == US_SOCK_STREAM ? us_tcp_getname(st, s->u.tcb, a, NULL) : us_udp_getname(st, s->u.udp, a, NULL);
}

int us_getpeername(struct us_stack *st, int fd, struct us_sockaddr *a)
{
    GET_OR_EBADF(s, st, fd);
    return s->type == US_SOCK_STREAM ? us_tcp_getname(st, s->u.tcb, NULL, a) : us_udp_getname(st, s->u.udp, NULL, a);
}

int us_setsockopt(struct us_stack *st, int fd, int level, int name, const void *val, size_t len, us_time_t now)
{
    st->now = now;
    GET_OR_EBADF(s, st, fd);
    if (!val)
        return -EFAULT;
    if (s->type == US_SOCK_STREAM)
        return us_tcp_setsockopt(st, s->u.tcb, level, name, val, len, now);
    return us_udp_setsockopt(st, s->u.udp, level, name, val, len);
}

int us_getsockopt(struct us_stack *st, int fd, int level, int name, void *val, size_t *len)
{
    GET_OR_EBADF(s, st, fd);
    if (!val || !len)
        return -EFAULT;
    if (s->type == US_SOCK_STREAM)
        return us_tcp_getsockopt(st, s->u.tcb, level, name, val, len);
    return us_udp_getsockopt(st, s->u.udp, level, name, val, len);
}

int us_poll(struct us_stack *st, struct us_pollfd *fds, int n, us_time_t now)
{
    st->now = now;
    int ready = 0;
    for (int i = 0; i < n; i++) {
        struct sock *s = get(st, fds[i].fd);
        short ev;
        if (!s)
            ev = US_POLLERR;
        else if (s->type == US_SOCK_STREAM)
            ev = us_tcp_poll(st, s->u.tcb);
        else
            ev = us_udp_poll(st, s->u.udp);
        fds[i].revents = (short)(ev & (fds[i].events | US_POLLERR | US_POLLHUP));
        if (fds[i].revents)
            ready++;
    }
    return ready;
}

int us_tcp_info(struct us_stack *st, int fd, struct us_tcp_info *info)
{
    GET_OR_EBADF(s, st, fd);
    if (s->type != US_SOCK_STREAM)
        return -EOPNOTSUPP;
    return us_tcp_get_info(st, s->u.tcb, info);
}

/* ---- netstat: TCP's rows joined with our descriptors ---- */

struct fd_of { const struct us_tcb *tcb; int fd; };

struct join {
    struct fd_of *map;          /* sorted by tcb; NULL if it could not be allocated */
    size_t n;
    const struct us_sock_state *s;
    void (*fn)(void *arg, const struct us_conn_info *c);
    void *arg;
};

static int fd_of_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct fd_of *)a)->tcb, y = (uintptr_t)((const struct fd_of *)b)->tcb;
    return x < y ? -1 : x > y;
}

static int join_fd(const struct join *j, const struct us_tcb *tcb)
{
    if (j->map) {
        struct fd_of key = { tcb, -1 };
        const struct fd_of *f = bsearch(&key, j->map, j->n, sizeof(key), fd_of_cmp);
        return f ? f->fd : -1;
    }
    for (uint32_t i = 0; i < j->s->cap; i++)   /* no memory for the map: scan */
        if (j->s->tab[i].type == US_SOCK_STREAM && j->s->tab[i].u.tcb == tcb)
            return (int)i;
    return -1;
}

static void join_row(void *arg, const struct us_tcp_row *r)
{
    const struct join *j = arg;
    struct us_conn_info ci = { .fd = join_fd(j, r->tcb), .local = r->local, .remote = r->remote, .info = r->info };
    j->fn(j->arg, &ci);
}

void us_tcp_foreach(struct us_stack *st, void (*fn)(void *arg, const struct us_conn_info *c), void *arg)
{
    const struct us_sock_state *s = sock_state(st);
    struct join j = { .s = s, .fn = fn, .arg = arg };
    size_t n = 0;
    for (uint32_t i = 0; i < s->cap; i++)
        n += s->tab[i].type == US_SOCK_STREAM;
    j.map = n ? malloc(n * sizeof(*j.map)) : NULL;
    if (j.map) {
        for (uint32_t i = 0; i < s->cap; i++)
            if (s->tab[i].type == US_SOCK_STREAM)
                j.map[j.n++] = (struct fd_of){ s->tab[i].u.tcb, (int)i };
        qsort(j.map, j.n, sizeof(*j.map), fd_of_cmp);
    }
    us_tcp_each(st, join_row, &j);
    free(j.map);
}
