/* DNS messages on the wire (RFC 1035 4): parsed into plain structs in one
 * place, used by the resolver, the fuzz harness and the tests (whose tiny
 * servers build answers with the writer below).
 *
 * Names are kept in wire form, uncompressed: length-prefixed labels ending
 * with the root's zero byte, at most 255 bytes (RFC 1035 2.3.4), compared
 * without regard to ASCII case (RFC 4343). */
#ifndef US_DNS_WIRE_H
#define US_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HLEN 12
#define DNS_NAME_MAX 255           /* wire length, with the root label */
#define DNS_LABEL_MAX 63
#define DNS_PTR_MAX 32             /* compression pointers followed in one name */
#define DNS_TEXT_MAX 1024          /* a name as text, escapes included (4 × 253 + 1) */
#define DNS_RR_MAX 32              /* answer + authority records kept from one message */
#define DNS_UDP_MAX 512            /* a message over UDP without EDNS (RFC 1035 4.2.1) */

enum { DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_AAAA = 28 };
enum { DNS_C_IN = 1 };
enum { DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3, DNS_R_NOTIMP = 4,
       DNS_R_REFUSED = 5 };
/* header flag bits (the second 16-bit word) */
#define DNS_F_QR 0x8000u
#define DNS_F_AA 0x0400u
#define DNS_F_TC 0x0200u
#define DNS_F_RD 0x0100u
#define DNS_F_RA 0x0080u
#define DNS_OPCODE(f) (((f) >> 11) & 0xfu)
#define DNS_RCODE(f) ((f) & 0xfu)

struct dns_name {
    uint8_t len;                   /* wire bytes, root label included (1..255) */
    uint8_t b[DNS_NAME_MAX];
};

struct dns_rr {
    struct dns_name name;
    uint16_t type, cls;
    uint32_t ttl;
    uint8_t section;               /* 1 answer, 2 authority */
    union {
        uint32_t a;                /* A: host byte order */
        struct dns_name cname;     /* CNAME: the target */
        struct { uint32_t serial, minimum; } soa; /* SOA: what negative caching needs */
    } rd;
};

struct dns_msg {
    uint16_t id, flags;
    uint16_t qdcount, ancount, nscount, arcount;
    struct dns_name qname;         /* the first question (qdcount >= 1) */
    uint16_t qtype, qclass;
    struct dns_rr rr[DNS_RR_MAX];  /* answer then authority, in order */
    uint32_t nrr;                  /* kept (more were checked and skipped) */
};

/* Parse outcomes (negative: why the message was refused). */
enum {
    DNS_OK = 0,
    DNS_E_SHORT = -1,              /* ends inside the header, a name or a record */
    DNS_E_LABEL = -2,              /* label type 0x40/0x80, or longer than 63 */
    DNS_E_NAMELEN = -3,            /* name over 255 bytes */
    DNS_E_PTR = -4,                /* pointer not strictly backwards, or too many */
    DNS_E_RDATA = -5,              /* RDATA length wrong for its type */
    DNS_E_QDCOUNT = -6,            /* qdcount != 1 (an answer must repeat one question) */
};
const char *dns_strerror(int e);

/* Reads the name at msg[*off] (following compression pointers within
 * msg[0..len)), advancing *off past it in the message. */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out);
/* Parses a whole message: header, the question, every answer and authority
 * record (A, CNAME and SOA decoded; others skipped by their length), the
 * additional records checked for bounds. Trailing bytes are ignored. */
int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *m);

/* Text "www.example.com" (no trailing dot; "" is rejected) → wire form.
 * Returns 0 or DNS_E_LABEL / DNS_E_NAMELEN. */
int dns_name_from_text(const char *text, struct dns_name *out);
/* Wire form → text with a trailing-dot-free spelling; bytes outside
 * [A-Za-z0-9-_] and dots inside labels are escaped as \DDD (RFC 1035 5.1). */
void dns_name_to_text(const struct dns_name *n, char *out, size_t cap);
bool dns_name_eq(const struct dns_name *a, const struct dns_name *b);
/* Lower-cases ASCII letters in place (cache keys). */
void dns_name_lower(struct dns_name *n);

/* ---- building messages ---- */
struct dns_writer {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;                 /* a write did not fit: the message is invalid */
};
void dns_w_init(struct dns_writer *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
void dns_w_question(struct dns_writer *w, const struct dns_name *n, uint16_t type, uint16_t cls);
/* section: 1 answer, 2 authority, 3 additional; rdata as given. Records must
 * be written in section order. */
void dns_w_rr(struct dns_writer *w, int section, const struct dns_name *n, uint16_t type, uint16_t cls,
              uint32_t ttl, const void *rdata, uint16_t rdlen);
void dns_w_a(struct dns_writer *w, const struct dns_name *n, uint32_t ttl, uint32_t addr);
void dns_w_cname(struct dns_writer *w, const struct dns_name *n, uint32_t ttl, const struct dns_name *target);
/* An SOA in the authority section with the given minimum (RFC 2308 negative TTL). */
void dns_w_soa(struct dns_writer *w, const struct dns_name *zone, uint32_t ttl, uint32_t minimum);
/* The message length, or 0 when it overflowed. */
size_t dns_w_end(struct dns_writer *w);
/* A query: one question, RD set. Returns the length, 0 when cap is too small. */
size_t dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const struct dns_name *n, uint16_t type);

#endif
