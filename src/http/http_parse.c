/* HTTP/1.1 message heads (RFC 9112 2-6, RFC 9110 5-8): request and status
 * lines, field lines, the framing and connection fields.
 *
 * Paths through this file:
 *   us_http_parse_head → memchr for LF from where the last call stopped →
 *     over_limit (414 / 431, the same for a line complete or partial) →
 *     partial line: NEED_MORE; a complete line (it must end in CRLF):
 *       start line → parse_request_line (method, target forms, version →
 *         400 / 501 / 505) or parse_status_line
 *       field line → parse_field (token name, colon, OWS, value bytes) →
 *         known_field: Host, Content-Length, Transfer-Encoding, Connection, Expect
 *       empty line → finish: Host rule, body_framing (RFC 9112 6.3), persistence
 *   Lines are parsed once, when complete, so a head arriving byte by byte costs
 *   one pass over its bytes; every span points into the caller's buffer. */
#include <string.h>
#include "http_int.h"

const uint8_t us_http_cc[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x12, 0x3b, 0x0a, 0x1b, 0x3b, 0x1b, 0x3b, 0x3b, 0x3a, 0x3a, 0x3b, 0x3b, 0x3a, 0x3b, 0x3b, 0x1a,
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x1a, 0x3a, 0x1a, 0x3a, 0x1a, 0x1a,
    0x1a, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b,
    0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x1a, 0x0a, 0x1a, 0x1b, 0x3b,
    0x1b, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b,
    0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x1a, 0x1b, 0x1a, 0x3b, 0x00,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
    0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
};

enum { ST_START = 0, ST_FIELDS, ST_DONE, ST_ERROR };

void us_http_limits_default(struct us_http_limits *lim)
{
    lim->max_request_line = 8192;
    lim->max_head = 32768;
    lim->max_fields = 100;
    lim->max_chunk_line = 4096;
    lim->max_body = 16u << 20;
}

void us_http_parser_init(struct us_http_parser *p, int kind, const struct us_http_limits *lim,
                         struct us_http_field *fields, uint32_t nfields)
{
    memset(p, 0, sizeof(*p));
    if (lim)
        p->lim = *lim;
    else
        us_http_limits_default(&p->lim);
    p->kind = (uint8_t)kind;
    p->fields = fields;
    p->fields_cap = nfields < p->lim.max_fields ? nfields : p->lim.max_fields;
    us_http_parser_reset(p);
}

void us_http_parser_reset(struct us_http_parser *p)
{
    struct us_http_limits lim = p->lim;
    struct us_http_field *fields = p->fields;
    uint32_t cap = p->fields_cap;
    uint8_t kind = p->kind;
    memset(p, 0, sizeof(*p));
    p->lim = lim;
    p->fields = fields;
    p->fields_cap = cap;
    p->kind = kind;
    p->msg.kind = kind;
    p->msg.fields = fields;
}

/* Every failure goes through here: a response that fails to parse is a bad
 * gateway from the client's point of view, whatever the request rule was. */
static enum us_http_rc fail(struct us_http_parser *p, int status, const char *why)
{
    p->state = ST_ERROR;
    p->status = p->kind == US_HTTP_RESPONSE ? 502 : status;
    p->error = why;
    return US_HTTP_ERROR;
}

static struct us_http_span span(size_t a, size_t b) { return (struct us_http_span){(uint32_t)a, (uint32_t)(b - a)}; }

bool us_http_span_ieq(const char *buf, struct us_http_span s, const char *str)
{
    size_t n = strlen(str);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hc_lower((uint8_t)buf[s.off + i]) != hc_lower((uint8_t)str[i]))
            return false;
    return true;
}

const struct us_http_field *us_http_find(const struct us_http_msg *m, const char *buf, const char *name)
{
    for (uint32_t i = 0; i < m->nfields; i++)
        if (us_http_span_ieq(buf, m->fields[i].name, name))
            return &m->fields[i];
    return NULL;
}

static const char *const method_names[] = {
    [US_HTTP_M_OTHER] = "", [US_HTTP_M_GET] = "GET", [US_HTTP_M_HEAD] = "HEAD",
    [US_HTTP_M_POST] = "POST", [US_HTTP_M_PUT] = "PUT", [US_HTTP_M_DELETE] = "DELETE",
    [US_HTTP_M_OPTIONS] = "OPTIONS", [US_HTTP_M_TRACE] = "TRACE",
    [US_HTTP_M_CONNECT] = "CONNECT", [US_HTTP_M_PATCH] = "PATCH",
};

const char *us_http_method_name(int id)
{
    return id > 0 && id < (int)(sizeof(method_names) / sizeof(method_names[0])) ? method_names[id] : "";
}

/* Methods are case-sensitive (RFC 9110 9.1). */
static uint8_t method_id(const char *m, size_t n)
{
    for (uint8_t i = 1; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (strlen(method_names[i]) == n && memcmp(method_names[i], m, n) == 0)
            return i;
    return US_HTTP_M_OTHER;
}

const char *us_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

bool us_http_list_next(const char *v, size_t n, size_t *ip, struct us_http_span *elem, bool *bad)
{
    size_t i = *ip;
    while (i < n && (hc_ows((uint8_t)v[i]) || v[i] == ','))
        i++;
    if (i >= n) {
        *ip = i;
        return false;
    }
    size_t s = i;
    bool quoted = false;
    for (; i < n; i++) {
        if (quoted) {
            if (v[i] == '\\')
                i++;                /* quoted-pair: the next byte is literal */
            else if (v[i] == '"')
                quoted = false;
        } else if (v[i] == '"') {
            quoted = true;
        } else if (v[i] == ',') {
            break;
        }
    }
    if (quoted || i > n) {
        *bad = true;
        *ip = n;
        return false;
    }
    size_t e = i;
    while (e > s && hc_ows((uint8_t)v[e - 1]))
        e--;
    *elem = span(s, e);
    *ip = i;
    return true;
}

/* Host = uri-host [ ":" port ]; uri-host = IP-literal / IPv4address / reg-name
 * (RFC 3986 3.2.2: an IPv4 address is a reg-name as far as bytes go). No
 * userinfo: "@" is not a host byte (RFC 9110 4.2.4 says treat it as an error). */
bool us_http_valid_host(const char *s, size_t n)
{
    size_t i = 0;
    if (n > 0 && s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++)
            if (!hc_is((uint8_t)s[i], HC_HOST) && s[i] != ':')
                return false;
        if (i >= n || i == 1)
            return false;
        i++;
    } else {
        for (; i < n && s[i] != ':'; i++) {
            if (s[i] == '%') {
                if (i + 2 >= n || !hc_is((uint8_t)s[i + 1], HC_HEX) || !hc_is((uint8_t)s[i + 2], HC_HEX))
                    return false;
                i += 2;
            } else if (!hc_is((uint8_t)s[i], HC_HOST)) {
                return false;
            }
        }
    }
    if (i == n)
        return true;
    if (s[i] != ':')
        return false;
    for (i++; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* authority-form (CONNECT): uri-host ":" port, port not empty (RFC 9112 3.2.3) */
static bool authority_form(const char *s, size_t n)
{
    if (!us_http_valid_host(s, n) || n == 0 || s[n - 1] < '0' || s[n - 1] > '9')
        return false;
    const char *colon = memrchr(s, ':', n);
    const char *bracket = memrchr(s, ']', n);
    return colon && (!bracket || colon > bracket) && colon > s;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3), case-sensitive */
static bool parse_version(const char *v, size_t n, int *major, int *minor)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return false;
    *major = v[5] - '0';
    *minor = v[7] - '0';
    return true;
}

/* absolute-form: scheme "://" authority path-abempty [ "?" query ], for the
 * http and https schemes, whose authority must name a host (RFC 9110 4.2.1). */
static enum us_http_rc absolute_form(struct us_http_parser *p, const char *buf, size_t a, size_t e)
{
    size_t i = a;
    while (i < e && buf[i] != ':')
        i++;
    struct us_http_span scheme = span(a, i);
    if (!us_http_span_ieq(buf, scheme, "http") && !us_http_span_ieq(buf, scheme, "https"))
        return fail(p, 400, "request-target is neither origin nor absolute form");
    if (e - i < 3 || buf[i + 1] != '/' || buf[i + 2] != '/')
        return fail(p, 400, "absolute-form target without an authority");
    size_t h = i + 3, j = h;
    while (j < e && buf[j] != '/' && buf[j] != '?')
        j++;
    if (j == h || buf[h] == ':' || !us_http_valid_host(buf + h, j - h))
        return fail(p, 400, "invalid authority in the request-target");
    p->msg.target_form = US_HTTP_T_ABSOLUTE;
    p->msg.authority = span(h, j);
    p->msg.path = span(j, e);
    return US_HTTP_NEED_MORE;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 3), one SP each */
static enum us_http_rc parse_request_line(struct us_http_parser *p, const char *buf, size_t a, size_t e)
{
    struct us_http_msg *m = &p->msg;
    size_t i = a;
    while (i < e && hc_is((uint8_t)buf[i], HC_TCHAR))
        i++;
    if (i == a || i >= e || buf[i] != ' ')
        return fail(p, 400, "invalid method");
    m->method = span(a, i);
    m->method_id = method_id(buf + a, i - a);
    size_t t = ++i;
    while (i < e && hc_is((uint8_t)buf[i], HC_VCHAR))
        i++;
    if (i == t || i >= e || buf[i] != ' ')
        return fail(p, 400, "invalid request-target");
    m->target = span(t, i);
    int major, minor;
    if (!parse_version(buf + i + 1, e - i - 1, &major, &minor))
        return fail(p, 400, "invalid HTTP version");
    /* RFC 9110 2.5: a higher minor version is processed as the highest we do */
    if (major != 1)
        return fail(p, 505, "HTTP major version not supported");
    m->minor = (uint8_t)minor;

    if (m->method_id == US_HTTP_M_CONNECT)
        return authority_form(buf + t, i - t) ? fail(p, 501, "CONNECT not implemented")
                                              : fail(p, 400, "CONNECT without an authority-form target");
    if (buf[t] == '/') {
        m->target_form = US_HTTP_T_ORIGIN;
        m->path = m->target;
        return US_HTTP_NEED_MORE;
    }
    if (i - t == 1 && buf[t] == '*') {
        if (m->method_id != US_HTTP_M_OPTIONS)
            return fail(p, 400, "asterisk-form target on a method other than OPTIONS");
        m->target_form = US_HTTP_T_ASTERISK;
        m->path = m->target;
        return US_HTTP_NEED_MORE;
    }
    return absolute_form(p, buf, t, i);
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4);
 * a missing SP before an empty reason is accepted (it cannot be misread). */
static enum us_http_rc parse_status_line(struct us_http_parser *p, const char *buf, size_t a, size_t e)
{
    struct us_http_msg *m = &p->msg;
    int major, minor;
    if (e - a < 12 || !parse_version(buf + a, 8, &major, &minor) || buf[a + 8] != ' ')
        return fail(p, 502, "invalid status line");
    if (major != 1)
        return fail(p, 502, "HTTP major version not supported");
    const char *d = buf + a + 9;
    if (d[0] < '1' || d[0] > '5' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9')
        return fail(p, 502, "invalid status code");
    size_t r = a + 12;
    if (r < e && buf[r] != ' ')
        return fail(p, 502, "invalid status line");
    for (size_t i = r; i < e; i++)
        if (!hc_is((uint8_t)buf[i], HC_FVAL))
            return fail(p, 502, "invalid reason phrase");
    m->minor = (uint8_t)minor;
    m->status = (uint16_t)((d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'));
    m->reason = r < e ? span(r + 1, e) : span(e, e);
    return US_HTTP_NEED_MORE;
}

/* Content-Length = 1*DIGIT; a list of identical values, or repeated fields
 * with identical values, is one value (RFC 9110 8.6). */
static enum us_http_rc content_length(struct us_http_parser *p, const char *v, size_t n)
{
    struct us_http_msg *m = &p->msg;
    size_t i = 0;
    bool bad = false, any = false;
    struct us_http_span el;
    while (us_http_list_next(v, n, &i, &el, &bad)) {
        uint64_t val = 0;
        bool big = false;
        for (uint32_t k = 0; k < el.len; k++) {
            uint8_t c = (uint8_t)v[el.off + k];
            if (c < '0' || c > '9')
                return fail(p, 400, "invalid Content-Length");
            if (val > (UINT64_MAX - (c - '0')) / 10)
                big = true;
            else
                val = val * 10 + (c - '0');
        }
        if (big)
            return fail(p, 413, "Content-Length too large");
        if ((m->flags & US_HTTP_F_CONTENT_LENGTH) && val != m->content_length)
            return fail(p, 400, "Content-Length values differ");
        m->flags |= US_HTTP_F_CONTENT_LENGTH;
        m->content_length = val;
        any = true;
    }
    if (bad || !any)
        return fail(p, 400, "invalid Content-Length");
    return US_HTTP_NEED_MORE;
}

/* transfer-parameter = token BWS "=" BWS ( token / quoted-string ), after ";" */
static bool valid_params(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && hc_ows((uint8_t)v[i]))
            i++;
        if (i >= n || v[i] != ';')
            return false;
        for (i++; i < n && hc_ows((uint8_t)v[i]); i++)
            ;
        size_t s = i;
        while (i < n && hc_is((uint8_t)v[i], HC_TCHAR))
            i++;
        if (i == s)
            return false;
        while (i < n && hc_ows((uint8_t)v[i]))
            i++;
        if (i >= n || v[i] != '=')
            return false;
        for (i++; i < n && hc_ows((uint8_t)v[i]); i++)
            ;
        if (i < n && v[i] == '"') {
            for (i++; i < n && v[i] != '"'; i++)
                if (v[i] == '\\')
                    i++;
            if (i >= n)
                return false;
            i++;
        } else {
            s = i;
            while (i < n && hc_is((uint8_t)v[i], HC_TCHAR))
                i++;
            if (i == s)
                return false;
        }
    }
    return true;
}

/* Transfer-Encoding = #transfer-coding (RFC 9112 6.1); the order across
 * field lines is the order the codings were applied. */
static enum us_http_rc transfer_encoding(struct us_http_parser *p, const char *v, size_t n)
{
    size_t i = 0;
    bool bad = false, any = false;
    struct us_http_span el;
    while (us_http_list_next(v, n, &i, &el, &bad)) {
        size_t k = 0;
        while (k < el.len && hc_is((uint8_t)v[el.off + k], HC_TCHAR))
            k++;
        if (k == 0 || !valid_params(v + el.off + k, el.len - k))
            return fail(p, 400, "invalid Transfer-Encoding");
        struct us_http_span name = {el.off, (uint32_t)k};
        if (us_http_span_ieq(v, name, "chunked")) {
            if (k != el.len)
                return fail(p, 400, "chunked with parameters");
            if (p->te_chunks < 2) /* saturates: 256 must not read as 0 */
                p->te_chunks++;
            p->te_chunked_last = true;
        } else {
            p->te_unknown = true;
            p->te_chunked_last = false;
        }
        any = true;
    }
    if (bad || !any)
        return fail(p, 400, "invalid Transfer-Encoding");
    return US_HTTP_NEED_MORE;
}

/* Connection = #connection-option, each a token (RFC 9110 7.6.1) */
static enum us_http_rc connection(struct us_http_parser *p, const char *v, size_t n)
{
    size_t i = 0;
    bool bad = false;
    struct us_http_span el;
    while (us_http_list_next(v, n, &i, &el, &bad)) {
        for (uint32_t k = 0; k < el.len; k++)
            if (!hc_is((uint8_t)v[el.off + k], HC_TCHAR))
                return fail(p, 400, "invalid Connection");
        if (us_http_span_ieq(v, el, "close"))
            p->msg.flags |= US_HTTP_F_CONN_CLOSE;
        else if (us_http_span_ieq(v, el, "keep-alive"))
            p->msg.flags |= US_HTTP_F_CONN_KEEPALIVE;
        else if (us_http_span_ieq(v, el, "upgrade"))
            p->msg.flags |= US_HTTP_F_CONN_UPGRADE;
    }
    return bad ? fail(p, 400, "invalid Connection") : US_HTTP_NEED_MORE;
}

/* Expect (RFC 9110 10.1.1): 100-continue is ignored in an HTTP/1.0 request. */
static enum us_http_rc expect(struct us_http_parser *p, const char *v, size_t n)
{
    size_t i = 0;
    bool bad = false;
    struct us_http_span el;
    while (us_http_list_next(v, n, &i, &el, &bad)) {
        if (!us_http_span_ieq(v, el, "100-continue"))
            p->msg.flags |= US_HTTP_F_EXPECT_OTHER;
        else if (p->msg.minor >= 1)
            p->msg.flags |= US_HTTP_F_EXPECT_CONTINUE;
    }
    return bad ? fail(p, 400, "invalid Expect") : US_HTTP_NEED_MORE;
}

static enum us_http_rc known_field(struct us_http_parser *p, const char *buf, const struct us_http_field *f)
{
    const char *v = buf + f->value.off;
    size_t n = f->value.len;
    switch (f->name.len) {
    case 4:
        if (p->kind != US_HTTP_REQUEST || !us_http_span_ieq(buf, f->name, "host"))
            break;
        /* RFC 9112 3.2: 400 for more than one Host or an invalid one */
        if (++p->hosts > 1)
            return fail(p, 400, "more than one Host");
        if (!us_http_valid_host(v, n))
            return fail(p, 400, "invalid Host");
        if (p->msg.target_form != US_HTTP_T_ABSOLUTE)
            p->msg.authority = f->value;
        break;
    case 14:
        if (us_http_span_ieq(buf, f->name, "content-length"))
            return content_length(p, v, n);
        break;
    case 17:
        if (us_http_span_ieq(buf, f->name, "transfer-encoding"))
            return transfer_encoding(p, v, n);
        break;
    case 10:
        if (us_http_span_ieq(buf, f->name, "connection"))
            return connection(p, v, n);
        break;
    case 6:
        if (us_http_span_ieq(buf, f->name, "expect") && p->kind == US_HTTP_REQUEST)
            return expect(p, v, n);
        break;
    }
    return US_HTTP_NEED_MORE;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 5) */
static enum us_http_rc parse_field(struct us_http_parser *p, const char *buf, size_t a, size_t e)
{
    struct us_http_msg *m = &p->msg;
    if (hc_ows((uint8_t)buf[a]))
        return fail(p, 400, m->nfields ? "obs-fold (line folding)" : "whitespace before the first field");
    size_t i = a;
    while (i < e && hc_is((uint8_t)buf[i], HC_TCHAR))
        i++;
    if (i >= e || buf[i] != ':')
        return fail(p, 400, i < e && hc_ows((uint8_t)buf[i]) ? "whitespace before the colon" : "invalid field name");
    if (i == a)
        return fail(p, 400, "empty field name");
    size_t v = i + 1, ve = e;
    while (v < e && hc_ows((uint8_t)buf[v]))
        v++;
    while (ve > v && hc_ows((uint8_t)buf[ve - 1]))
        ve--;
    for (size_t k = v; k < ve; k++) {
        uint8_t c = (uint8_t)buf[k];
        if (!hc_is(c, HC_FVAL))
            return fail(p, 400, c == 0 ? "NUL in a field value" : "control character in a field value");
    }
    if (m->nfields >= p->fields_cap)
        return fail(p, 431, "too many header fields");
    struct us_http_field *f = &p->fields[m->nfields++];
    f->name = span(a, i);
    f->value = span(v, ve);
    return known_field(p, buf, f);
}

/* RFC 9112 9.3: close wins; 1.1 persists by default, 1.0 on keep-alive; a
 * close-delimited body ends the connection anyway. */
static void persistence(struct us_http_msg *m)
{
    m->keep_alive = !(m->flags & US_HTTP_F_CONN_CLOSE) && m->framing != US_HTTP_BODY_CLOSE &&
                    (m->minor >= 1 || (m->flags & US_HTTP_F_CONN_KEEPALIVE));
}

/* The message body length (RFC 9112 6.3 (3)-(8)) of a request, or of a
 * response that may have a body. fail() turns every status into 502 for a
 * response. */
static enum us_http_rc body_framing(struct us_http_parser *p)
{
    struct us_http_msg *m = &p->msg;
    if (p->te_chunks || p->te_unknown) { /* a Transfer-Encoding field */
        /* 6.1: TE in an HTTP/1.0 message means faulty framing */
        if (m->minor == 0)
            return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 message");
        /* 6.3 (3): both is a smuggling attempt; handled as an error */
        if (m->flags & US_HTTP_F_CONTENT_LENGTH)
            return fail(p, 400, "both Content-Length and Transfer-Encoding");
        /* 6.3 (4): in a request the length cannot be determined: MUST answer
         * 400. A response would be close-delimited, in a coding we cannot
         * decode: an error too. */
        if (!p->te_chunked_last)
            return fail(p, 400, "final transfer coding is not chunked");
        /* 7: chunked MUST NOT be applied more than once */
        if (p->te_chunks > 1)
            return fail(p, 400, "chunked applied more than once");
        /* 6.1: a coding we do not understand SHOULD get 501 */
        if (p->te_unknown)
            return fail(p, 501, "transfer coding not implemented");
        m->framing = US_HTTP_BODY_CHUNKED;
        m->flags |= US_HTTP_F_CHUNKED;
    } else if (m->flags & US_HTTP_F_CONTENT_LENGTH) {
        if (m->content_length > p->lim.max_body)
            return fail(p, 413, "Content-Length above the body limit");
        m->framing = US_HTTP_BODY_LENGTH;
    } else {
        /* 6.3 (7): a request has none; (8): a response lasts until the close */
        m->framing = p->kind == US_HTTP_REQUEST ? US_HTTP_BODY_NONE : US_HTTP_BODY_CLOSE;
    }
    persistence(m);
    return US_HTTP_COMPLETE;
}

/* The empty line ends the head. */
static enum us_http_rc finish(struct us_http_parser *p)
{
    struct us_http_msg *m = &p->msg;
    if (p->kind == US_HTTP_REQUEST) {
        /* 3.2: a 1.1 request without Host gets 400 */
        if (m->minor >= 1 && p->hosts == 0)
            return fail(p, 400, "no Host in an HTTP/1.1 request");
        return body_framing(p);
    }
    if (p->head_request || m->status < 200 || m->status == 204 || m->status == 304) {
        m->framing = US_HTTP_BODY_NONE; /* 6.3 (1), whatever the fields say */
        persistence(m);
        return US_HTTP_COMPLETE;
    }
    return body_framing(p);
}

/* Is the line whose LF is at `lf` over a limit? The same test for a line
 * still arriving (lf = the bytes so far: its LF comes later), so a peer
 * feeding a line piece by piece meets the same answer as one sending it at
 * once. */
static enum us_http_rc over_limit(struct us_http_parser *p, size_t lf)
{
    if (p->state == ST_START) {
        /* max+2 bytes before LF: the line has more than max bytes before CRLF */
        if (lf >= (size_t)p->lim.max_request_line + 2)
            return fail(p, p->kind == US_HTTP_REQUEST ? 414 : 502, "request line too long");
    } else if (lf + 1 - p->start > p->lim.max_head) {
        return fail(p, 431, "header section too large");
    }
    return US_HTTP_NEED_MORE;
}

enum us_http_rc us_http_parse_head(struct us_http_parser *p, const char *buf, size_t len)
{
    if (p->state == ST_DONE)
        return US_HTTP_COMPLETE;
    if (p->state == ST_ERROR)
        return US_HTTP_ERROR;
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    for (;;) {
        const char *lf = p->scan < len ? memchr(buf + p->scan, '\n', len - p->scan) : NULL;
        if (!lf) {
            p->scan = (uint32_t)len;
            return over_limit(p, len);
        }
        size_t eol = (size_t)(lf - buf);
        if (over_limit(p, eol) == US_HTTP_ERROR)
            return US_HTTP_ERROR;
        if (eol == p->pos || buf[eol - 1] != '\r')
            return fail(p, 400, "bare LF");
        size_t a = p->pos, e = eol - 1;
        if (memchr(buf + a, '\r', e - a))
            return fail(p, 400, "bare CR");
        p->pos = p->scan = (uint32_t)(eol + 1);
        enum us_http_rc rc;
        if (p->state == ST_START) {
            if (e == a) {
                /* 2.2: a server SHOULD ignore at least one empty line before a request line */
                if (p->kind == US_HTTP_RESPONSE)
                    return fail(p, 502, "empty line before the status line");
                p->start = p->pos;
                continue;
            }
            rc = p->kind == US_HTTP_REQUEST ? parse_request_line(p, buf, a, e) : parse_status_line(p, buf, a, e);
            if (rc != US_HTTP_ERROR)
                p->state = ST_FIELDS;
        } else if (e == a) {
            p->head_len = p->pos;
            rc = finish(p);
            if (rc == US_HTTP_COMPLETE)
                p->state = ST_DONE;
            return rc;
        } else {
            rc = parse_field(p, buf, a, e);
        }
        if (rc == US_HTTP_ERROR)
            return rc;
    }
}
