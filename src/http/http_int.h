/* HTTP internals shared by the parser, the body decoder and the server:
 * character classes of RFC 9110 5.6 / RFC 9112 and small span helpers. */
#ifndef US_HTTP_INT_H
#define US_HTTP_INT_H

#include <ustack/http.h>

#define HC_TCHAR 0x01  /* token: "!#$%&'*+-.^_`|~" DIGIT ALPHA (RFC 9110 5.6.2) */
#define HC_FVAL  0x02  /* field-vchar, SP, HTAB: VCHAR / obs-text / SP / HTAB (5.5) */
#define HC_HEX   0x04  /* HEXDIG */
#define HC_VCHAR 0x08  /* VCHAR 0x21-0x7E (request-target bytes) */
#define HC_QDTXT 0x10  /* qdtext: HTAB / SP / 0x21 / 0x23-0x5B / 0x5D-0x7E / obs-text (5.6.4) */
#define HC_HOST  0x20  /* reg-name bytes: unreserved / pct-encoded / sub-delims (RFC 3986 3.2.2) */

extern const uint8_t us_http_cc[256];

static inline bool hc_is(uint8_t c, uint8_t cls) { return (us_http_cc[c] & cls) != 0; }
static inline bool hc_ows(uint8_t c) { return c == ' ' || c == '\t'; }
static inline int hc_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* A list element splitter for #rule fields (RFC 9110 5.6.1): elements are
 * separated by commas with OWS around them, empty elements are skipped, and
 * commas inside quoted strings do not split. Returns false at the end. A
 * quoted string left open makes the whole value invalid: *bad is set. */
bool us_http_list_next(const char *v, size_t n, size_t *i, struct us_http_span *elem, bool *bad);

/* Host = uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2); empty is valid. */
bool us_http_valid_host(const char *s, size_t n);

#endif
