/* DNS wire format (RFC 1035 4): parse a message into struct dns_msg, build
 * queries and (for tests) answers.
 *
 * Paths through this file:
 *   parse  dns_parse → header → dns_name_read + type/class (the question) →
 *          rr_read per record: dns_name_read, fixed fields, rdata_read (A,
 *          CNAME, SOA decoded; anything else skipped by RDLENGTH)
 *   names  dns_name_read follows compression pointers (RFC 1035 4.1.4) with
 *          three bounds, so no input can loop or read outside the message:
 *          every pointer must point before the start of the piece of name
 *          that holds it (strictly decreasing targets), at most DNS_PTR_MAX
 *          pointers, at most 255 bytes of name (RFC 1035 2.3.4); labels are
 *          at most 63 bytes, types 0x40 and 0x80 refused
 *   build  dns_w_* append to a caller's buffer, counting records in the
 *          header; an overflow marks the message invalid instead of writing
 *          past the buffer */
#include <stdio.h>
#include <string.h>
#include "dns_wire.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }

const char *dns_strerror(int e)
{
    switch (e) {
    case DNS_OK: return "ok";
    case DNS_E_SHORT: return "message ends early";
    case DNS_E_LABEL: return "bad label";
    case DNS_E_NAMELEN: return "name longer than 255 bytes";
    case DNS_E_PTR: return "bad compression pointer";
    case DNS_E_RDATA: return "bad record data length";
    case DNS_E_QDCOUNT: return "not exactly one question";
    default: return "unknown error";
    }
}

int dns_name_read(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out)
{
    size_t pos = *off, start = *off, end = 0; /* end: where the name ends in the message */
    unsigned ptrs = 0;
    uint8_t n = 0;
    for (;;) {
        if (pos >= len)
            return DNS_E_SHORT;
        uint8_t c = msg[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return DNS_E_SHORT;
            size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
            /* before the piece we are in: each jump goes strictly lower */
            if (target >= start || ++ptrs > DNS_PTR_MAX)
                return DNS_E_PTR;
            if (!end)
                end = pos + 2;
            pos = start = target;
            continue;
        }
        if (c & 0xc0)
            return DNS_E_LABEL; /* 0x40 (extended) and 0x80: not defined for us */
        if ((size_t)n + c + 1 > DNS_NAME_MAX)
            return DNS_E_NAMELEN;
        if (pos + 1 + c > len)
            return DNS_E_SHORT;
        memcpy(out->b + n, msg + pos, (size_t)c + 1);
        n = (uint8_t)(n + c + 1);
        pos += (size_t)c + 1;
        if (c == 0)
            break;
    }
    out->len = n;
    *off = end ? end : pos;
    return DNS_OK;
}

static int rdata_read(const uint8_t *msg, size_t len, size_t off, uint16_t rdlen, struct dns_rr *rr)
{
    size_t end = off + rdlen, p = off;
    switch (rr->type) {
    case DNS_T_A:
        if (rdlen != 4)
            return DNS_E_RDATA;
        rr->rd.a = get32(msg + off);
        return DNS_OK;
    case DNS_T_CNAME: {
        /* the name may point anywhere before it, but must end inside RDATA */
        int rc = dns_name_read(msg, end, &p, &rr->rd.cname);
        if (rc == DNS_E_SHORT || (rc == DNS_OK && p != end))
            return DNS_E_RDATA;
        return rc;
    }
    case DNS_T_SOA: {
        struct dns_name skip;
        int rc = dns_name_read(msg, end, &p, &skip);   /* MNAME */
        if (rc == DNS_OK)
            rc = dns_name_read(msg, end, &p, &skip);   /* RNAME */
        if (rc == DNS_E_SHORT || (rc == DNS_OK && p + 20 != end))
            return DNS_E_RDATA;
        if (rc < 0)
            return rc;
        rr->rd.soa.serial = get32(msg + p);
        rr->rd.soa.minimum = get32(msg + p + 16);
        return DNS_OK;
    }
    default:
        (void)len;
        return DNS_OK;
    }
}

/* One resource record at *off; kept in rr when rr is not NULL. */
static int rr_read(const uint8_t *msg, size_t len, size_t *off, struct dns_rr *rr)
{
    struct dns_rr tmp;
    if (!rr)
        rr = &tmp;
    int rc = dns_name_read(msg, len, off, &rr->name);
    if (rc < 0)
        return rc;
    if (*off + 10 > len)
        return DNS_E_SHORT;
    const uint8_t *p = msg + *off;
    rr->type = get16(p);
    rr->cls = get16(p + 2);
    rr->ttl = get32(p + 4);
    if (rr->ttl > 0x7fffffffu)
        rr->ttl = 0; /* RFC 2181 8: a TTL with the top bit set is zero */
    uint16_t rdlen = get16(p + 8);
    *off += 10;
    if (*off + rdlen > len)
        return DNS_E_SHORT;
    rc = rdata_read(msg, len, *off, rdlen, rr);
    *off += rdlen;
    return rc;
}

int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *m)
{
    if (len < DNS_HLEN)
        return DNS_E_SHORT;
    m->id = get16(msg);
    m->flags = get16(msg + 2);
    m->qdcount = get16(msg + 4);
    m->ancount = get16(msg + 6);
    m->nscount = get16(msg + 8);
    m->arcount = get16(msg + 10);
    m->nrr = 0;
    if (m->qdcount != 1)
        return DNS_E_QDCOUNT;
    size_t off = DNS_HLEN;
    int rc = dns_name_read(msg, len, &off, &m->qname);
    if (rc < 0)
        return rc;
    if (off + 4 > len)
        return DNS_E_SHORT;
    m->qtype = get16(msg + off);
    m->qclass = get16(msg + off + 2);
    off += 4;
    uint32_t total = (uint32_t)m->ancount + m->nscount + m->arcount;
    for (uint32_t i = 0; i < total; i++) {
        bool keep = i < (uint32_t)m->ancount + m->nscount && m->nrr < DNS_RR_MAX;
        struct dns_rr *rr = keep ? &m->rr[m->nrr] : NULL;
        rc = rr_read(msg, len, &off, rr);
        if (rc < 0)
            return rc;
        if (keep) {
            rr->section = i < m->ancount ? 1 : 2;
            m->nrr++;
        }
    }
    return DNS_OK;
}

/* ---- names ---- */

int dns_name_from_text(const char *text, struct dns_name *out)
{
    size_t tl = strlen(text);
    if (tl && text[tl - 1] == '.')
        tl--; /* an absolute name's final dot */
    if (tl == 0)
        return DNS_E_LABEL;
    size_t n = 0, i = 0;
    while (i <= tl) {
        size_t j = i;
        while (j < tl && text[j] != '.')
            j++;
        size_t l = j - i;
        if (l == 0 || l > DNS_LABEL_MAX)
            return DNS_E_LABEL;
        if (n + 1 + l + 1 > DNS_NAME_MAX)
            return DNS_E_NAMELEN;
        out->b[n++] = (uint8_t)l;
        memcpy(out->b + n, text + i, l);
        n += l;
        i = j + 1;
    }
    out->b[n++] = 0;
    out->len = (uint8_t)n;
    return DNS_OK;
}

static bool plain(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

void dns_name_to_text(const struct dns_name *n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    if (!cap)
        return;
    out[0] = 0;
    while (i < n->len && n->b[i]) {
        uint8_t l = n->b[i++];
        if (o && o + 1 < cap)
            out[o++] = '.';
        for (uint8_t k = 0; k < l && i < n->len; k++, i++) {
            uint8_t c = n->b[i];
            int w = plain(c) ? snprintf(out + o, cap - o, "%c", c) : snprintf(out + o, cap - o, "\\%03u", c);
            if (w < 0 || (size_t)w >= cap - o)
                return; /* truncated, still terminated */
            o += (size_t)w;
        }
    }
    if (o == 0 && cap > 1) /* the root */
        snprintf(out, cap, ".");
}

static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

bool dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (lower(a->b[i]) != lower(b->b[i]))
            return false; /* a length byte is < 64: never changed by lower() */
    return true;
}

void dns_name_lower(struct dns_name *n)
{
    for (size_t i = 0; i < n->len; i++)
        n->b[i] = lower(n->b[i]);
}

/* ---- building ---- */

static uint8_t *w_room(struct dns_writer *w, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void dns_w_init(struct dns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
    *w = (struct dns_writer){buf, cap, 0, false};
    uint8_t *h = w_room(w, DNS_HLEN);
    if (!h)
        return;
    memset(h, 0, DNS_HLEN);
    put16(h, id);
    put16(h + 2, flags);
}

static void w_name(struct dns_writer *w, const struct dns_name *n)
{
    uint8_t *p = w_room(w, n->len);
    if (p)
        memcpy(p, n->b, n->len);
}

static void w_count(struct dns_writer *w, int field)
{
    if (!w->overflow)
        put16(w->buf + 4 + 2 * field, (uint16_t)(get16(w->buf + 4 + 2 * field) + 1));
}

void dns_w_question(struct dns_writer *w, const struct dns_name *n, uint16_t type, uint16_t cls)
{
    w_name(w, n);
    uint8_t *p = w_room(w, 4);
    if (!p)
        return;
    put16(p, type);
    put16(p + 2, cls);
    w_count(w, 0);
}

void dns_w_rr(struct dns_writer *w, int section, const struct dns_name *n, uint16_t type, uint16_t cls,
              uint32_t ttl, const void *rdata, uint16_t rdlen)
{
    w_name(w, n);
    uint8_t *p = w_room(w, 10u + rdlen);
    if (!p)
        return;
    put16(p, type);
    put16(p + 2, cls);
    put32(p + 4, ttl);
    put16(p + 8, rdlen);
    if (rdlen)
        memcpy(p + 10, rdata, rdlen);
    w_count(w, section);
}

void dns_w_a(struct dns_writer *w, const struct dns_name *n, uint32_t ttl, uint32_t addr)
{
    uint8_t rd[4];
    put32(rd, addr);
    dns_w_rr(w, 1, n, DNS_T_A, DNS_C_IN, ttl, rd, 4);
}

void dns_w_cname(struct dns_writer *w, const struct dns_name *n, uint32_t ttl, const struct dns_name *target)
{
    dns_w_rr(w, 1, n, DNS_T_CNAME, DNS_C_IN, ttl, target->b, target->len);
}

void dns_w_soa(struct dns_writer *w, const struct dns_name *zone, uint32_t ttl, uint32_t minimum)
{
    uint8_t rd[2 * DNS_NAME_MAX + 20];
    size_t n = 0;
    static const uint8_t ns[] = "\2ns\0", host[] = "\12hostmaster\0";
    memcpy(rd, ns, sizeof(ns) - 1), n += sizeof(ns) - 1;
    memcpy(rd + n, host, sizeof(host) - 1), n += sizeof(host) - 1;
    static const uint32_t fields[4] = {1, 3600, 600, 86400}; /* serial refresh retry expire */
    for (int i = 0; i < 4; i++, n += 4)
        put32(rd + n, fields[i]);
    put32(rd + n, minimum), n += 4;
    dns_w_rr(w, 2, zone, DNS_T_SOA, DNS_C_IN, ttl, rd, (uint16_t)n);
}

size_t dns_w_end(struct dns_writer *w) { return w->overflow ? 0 : w->len; }

size_t dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct dns_name *n, uint16_t type)
{
    struct dns_writer w;
    dns_w_init(&w, buf, cap, id, DNS_F_RD);
    dns_w_question(&w, n, type, DNS_C_IN);
    return dns_w_end(&w);
}
