/* Wire formats of Ethernet II, IPv4 and TCP (options included): parsed into
 * plain structs and built from them, in one place (STYLE.md habit 4, like
 * smoltcp's src/wire). The stack, the trace analyzer, the fuzz harnesses and
 * the tests all use this module; protocol logic never touches raw offsets.
 *
 * Nothing here names stack state: no struct us_stack, no counters, no clock.
 * Every read is bounded by the length the caller passes.
 *
 *   eth_wire.c   Ethernet II (one 802.1Q tag skipped) and the IPv4 header
 *   tcp_wire.c   TCP header, the option walker, checksums */
#ifndef US_WIRE_H
#define US_WIRE_H

#include <ustack/types.h>
#include "../core/checksum.h"

/* ---- Ethernet II ----------------------------------------------------------- */
#define US_ETH_HLEN 14
#define US_ETHERTYPE_IPV4 0x0800
#define US_ETHERTYPE_ARP 0x0806
#define US_ETHERTYPE_VLAN 0x8100

struct us_eth_repr {
    uint8_t dst[6], src[6];
    uint16_t type;             /* the type after an 802.1Q tag, if any */
    uint32_t hlen;             /* 14, or 18 with a tag */
};
/* Returns the header length, or -1 when the frame is too short for it. */
int us_eth_parse(const uint8_t *f, uint32_t len, struct us_eth_repr *e);
/* Writes a 14-byte untagged header. */
void us_eth_emit(uint8_t *f, const struct us_eth_repr *e);

/* ---- IPv4 (RFC 791) ---------------------------------------------------------- */
#define US_IP_HLEN 20u            /* header without options */
#define US_IP_MAX_HLEN 60u        /* IHL = 15 */
#define US_IP_FLAG_DF 0x4000u
#define US_IP_FLAG_MF 0x2000u
#define US_IP_OFFMASK 0x1FFFu
enum { US_IP_PROTO_ICMP = 1, US_IP_PROTO_TCP = 6, US_IP_PROTO_UDP = 17 };

/* One parsed IPv4 header. */
struct us_ip_hdr {
    uint8_t version, ihl;         /* ihl in 32-bit words */
    uint8_t tos, ttl, proto;
    uint16_t total_len, id;
    bool df, mf;
    uint32_t frag_off;            /* in bytes (field * 8) */
    uint16_t csum;
    us_ip4_t src, dst;
};
/* Parse the fixed 20 bytes (caller guarantees len >= 20); no validation. */
void us_ip_hdr_parse(const uint8_t *p, struct us_ip_hdr *h);
/* Parse and check the structure: version 4, IHL >= 5, the header inside the
 * len bytes given, total length >= header length. Returns the header length
 * in bytes, or -1. (The caller compares total_len with what it holds.) */
int us_ip_hdr_check(const uint8_t *p, uint32_t len, struct us_ip_hdr *h);
/* Write a 20-byte header (no options) with a correct checksum. */
void us_ip_hdr_write(uint8_t *p, const struct us_ip_hdr *h);

/* ---- TCP (RFC 9293 3.1) ------------------------------------------------------ */
#define US_TCP_HLEN 20u
#define US_TCP_MAX_HLEN 60u
#define US_TCP_MAX_SACK 4
enum {
    US_TH_FIN = 0x01, US_TH_SYN = 0x02, US_TH_RST = 0x04, US_TH_PSH = 0x08, US_TH_ACK = 0x10,
    US_TH_URG = 0x20, US_TH_ECE = 0x40, US_TH_CWR = 0x80,
};
enum {
    US_TCPOPT_EOL = 0, US_TCPOPT_NOP = 1, US_TCPOPT_MSS = 2, US_TCPOPT_WSCALE = 3,
    US_TCPOPT_SACK_PERM = 4, US_TCPOPT_SACK = 5, US_TCPOPT_TS = 8,
};

/* A TCP header with its options as plain fields. Parsing fills every field;
 * building reads all but csum, data and len. */
struct us_tcp_repr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;             /* US_TH_* */
    uint16_t wnd;              /* raw window field */
    uint16_t csum;             /* checksum field as received */
    uint32_t hlen;             /* header length with options (data offset * 4) */
    const uint8_t *data;       /* payload (parse; beyond a truncated capture it is not readable) */
    uint32_t len;              /* payload bytes */
    /* options */
    uint16_t mss;              /* 0 = absent */
    int8_t wscale;             /* -1 = absent; values above 14 read as 14 (RFC 7323 2.3) */
    bool sack_perm, ts;
    uint32_t tsval, tsecr;
    uint8_t nsack;             /* SACK blocks (several SACK options add up, at most 4) */
    uint32_t sack[US_TCP_MAX_SACK][2];
    /* build only: these option bytes (padded with EOL to 32 bits, at most 40)
     * are written instead of the options above — malformed ones included */
    const uint8_t *raw_opts;
    uint8_t raw_opts_len;
};

enum us_tcp_parse_rc {
    US_TCP_OK = 0,
    US_TCP_SHORT = -1,         /* fewer than 20 bytes */
    US_TCP_BAD_OFFSET = -2,    /* data offset below 20 or beyond the segment */
    US_TCP_BAD_OPTIONS = -3,   /* an option's length is 0, 1 or runs past the header; the
                                * fixed fields and the options before it are filled in */
};
/* Parse a segment of len bytes (header + payload). */
enum us_tcp_parse_rc us_tcp_parse(const uint8_t *p, uint32_t len, struct us_tcp_repr *r);
/* The same for a segment of seglen bytes of which only the first avail are
 * readable (a capture with a short snaplen): lengths come from seglen,
 * options are read as far as avail allows. */
enum us_tcp_parse_rc us_tcp_parse_trunc(const uint8_t *p, uint32_t avail, uint32_t seglen,
                                        struct us_tcp_repr *r);

/* One option of a header (RFC 9293 3.2: kinds 0 and 1 are one byte, every
 * other option has a length >= 2 that must stay inside the header). */
struct us_tcp_opt {
    uint8_t kind, len;         /* len includes kind and length bytes */
    const uint8_t *val;        /* len - 2 value bytes */
    uint32_t off;              /* offset of the kind byte from the start of the header */
};
/* Walks the options of header tcp[0, hlen): set *pos = US_TCP_HLEN first.
 * Returns 1 with the next option (NOPs skipped), 0 at EOL or the end of the
 * header, -1 on a malformed length. */
int us_tcp_opt_next(const uint8_t *tcp, uint32_t hlen, uint32_t *pos, struct us_tcp_opt *o);
/* Overwrite option o of the segment at tcp with NOPs, updating the checksum
 * field incrementally (RFC 1624) — what a middlebox that strips it does. */
void us_tcp_opt_strip(uint8_t *tcp, uint32_t hlen, const struct us_tcp_opt *o);

/* Header length the options of r need (padded to 32 bits). */
uint32_t us_tcp_header_len(const struct us_tcp_repr *r);
/* Write header and options of r at p (room for us_tcp_header_len(r) bytes),
 * checksum field zero; returns the header length. */
uint32_t us_tcp_emit(uint8_t *p, const struct us_tcp_repr *r);
/* The segment p[0, len) (header + payload) from src to dst: verify its
 * checksum / fill in the checksum field. */
bool us_tcp_csum_ok(const uint8_t *p, uint32_t len, us_ip4_t src, us_ip4_t dst);
void us_tcp_csum_fill(uint8_t *p, uint32_t len, us_ip4_t src, us_ip4_t dst);

#endif
