/* http URLs (RFC 3986, RFC 9110 4.2.1): parsing, resolving a reference (a
 * redirect's Location) against a base, and the one place a host becomes an
 * address (numeric now; names wait for DNS).
 *
 * Paths through this file:
 *   us_url_parse → scheme (http, none = http; https and others refused) →
 *     parse_authority (no userinfo, no IPv6 literal, host characters, port
 *     1..65535) → check_path (visible ASCII only) → path from '/', no fragment
 *   us_url_resolve → a scheme: us_url_parse; "//": authority of its own;
 *     otherwise merge with the base path (5.2.2, 5.2.3) → remove_dots (5.2.4) */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/http_client.h>

static int url_err(int rc, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int url_err(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void us_url_free(struct us_url *u)
{
    free(u->path);
    u->path = NULL;
}

/* unreserved / sub-delims / ':' '@' '/' '?' and '%' (RFC 3986 3.3, 3.4): we
 * take every visible ASCII byte but those that cannot be in a request-target
 * unescaped ('"', '<', '>', '\', '^', '`', '{', '|', '}'), and refuse spaces,
 * controls and bytes above 0x7e, which would break the request line. */
static bool path_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}", c);
}

static bool host_char(unsigned char c) { return isalnum(c) || c == '-' || c == '.' || c == '_'; }

/* authority = host [ ":" port ], in s[0..n) */
static int parse_authority(const char *s, size_t n, struct us_url *u, char *err, size_t errlen)
{
    if (memchr(s, '@', n))
        return url_err(-EINVAL, err, errlen, "user names or passwords in URLs are not supported");
    if (n && s[0] == '[')
        return url_err(-EINVAL, err, errlen, "IPv6 addresses are not supported");
    const char *colon = memchr(s, ':', n);
    size_t hl = colon ? (size_t)(colon - s) : n;
    if (hl == 0)
        return url_err(-EINVAL, err, errlen, "no host in the URL");
    if (hl > US_URL_HOST_MAX)
        return url_err(-EINVAL, err, errlen, "host name longer than %d bytes", US_URL_HOST_MAX);
    for (size_t i = 0; i < hl; i++) {
        if (!host_char((unsigned char)s[i]))
            return url_err(-EINVAL, err, errlen, "invalid character '%c' in the host name", isprint((unsigned char)s[i]) ? s[i] : '?');
        u->host[i] = (char)tolower((unsigned char)s[i]);
    }
    u->host[hl] = 0;
    u->port = 80;
    if (colon && colon + 1 < s + n) { /* an empty port is the default (3.2.3) */
        unsigned long p = 0;
        for (const char *q = colon + 1; q < s + n; q++) {
            if (!isdigit((unsigned char)*q) || (p = p * 10 + (unsigned long)(*q - '0')) > 65535)
                return url_err(-EINVAL, err, errlen, "invalid port '%.*s' (allowed: 1..65535)",
                               (int)(s + n - colon - 1), colon + 1);
        }
        if (p == 0)
            return url_err(-EINVAL, err, errlen, "invalid port 0 (allowed: 1..65535)");
        u->port = (uint16_t)p;
    }
    return 0;
}

static int check_path(const char *p, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (!path_char((unsigned char)p[i]))
            return url_err(-EINVAL, err, errlen, "invalid character 0x%02x in the URL path", (unsigned char)p[i]);
    return 0;
}

/* s[0..n) without its fragment */
static size_t strip_fragment(const char *s, size_t n)
{
    const char *h = memchr(s, '#', n);
    return h ? (size_t)(h - s) : n;
}

static char *path_dup(const char *p, size_t n)
{
    char *d = malloc(n + 2);
    if (!d)
        return NULL;
    size_t o = 0;
    if (!n || p[0] != '/')
        d[o++] = '/'; /* "http://h?q" asks for "/?q" */
    memcpy(d + o, p, n);
    d[o + n] = 0;
    return d;
}

/* scheme ":" when s starts with one (3.1); its length, or 0 */
static size_t scheme_len(const char *s, size_t n)
{
    if (!n || !isalpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == ':')
            return i;
        if (!isalnum((unsigned char)s[i]) && !strchr("+-.", s[i]))
            return 0;
    }
    return 0;
}

static int parse_n(const char *s, size_t n, struct us_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    n = strip_fragment(s, n);
    size_t sl = scheme_len(s, n);
    if (sl && n >= sl + 3 && !memcmp(s + sl, "://", 3)) {
        if (sl == 5 && !strncasecmp(s, "https", 5))
            return url_err(-EPROTONOSUPPORT, err, errlen, "https is not supported (http only)");
        if (sl != 4 || strncasecmp(s, "http", 4))
            return url_err(-EPROTONOSUPPORT, err, errlen, "scheme '%.*s' is not supported (http only)", (int)sl, s);
        s += sl + 3;
        n -= sl + 3;
    } else if (sl && !(n > sl + 1 && isdigit((unsigned char)s[sl + 1]))) {
        /* "host:8080/" has no scheme; "mailto:x" has one we do not speak */
        return url_err(-EPROTONOSUPPORT, err, errlen, "scheme '%.*s' is not supported (http only)", (int)sl, s);
    }
    size_t al = 0;
    while (al < n && s[al] != '/' && s[al] != '?')
        al++;
    int rc = parse_authority(s, al, u, err, errlen);
    if (rc)
        return rc;
    if ((rc = check_path(s + al, n - al, err, errlen)))
        return rc;
    if (!(u->path = path_dup(s + al, n - al)))
        return url_err(-ENOMEM, err, errlen, "out of memory");
    return 0;
}

int us_url_parse(const char *s, struct us_url *u, char *err, size_t errlen)
{
    if (!s || !*s)
        return url_err(-EINVAL, err, errlen, "empty URL");
    int rc = parse_n(s, strlen(s), u, err, errlen);
    if (rc)
        us_url_free(u);
    return rc;
}

/* RFC 3986 5.2.4, in place on a path without its query: "." and ".."
 * segments go, ".." taking the segment before it (never above the root). */
static void remove_dots(char *p)
{
    char *out = p, *in = p;
    while (*in) {
        if (!strncmp(in, "/./", 3) || !strcmp(in, "/.")) {
            in += 2;
            if (!*in)
                *out++ = '/';
        } else if (!strncmp(in, "/../", 4) || !strcmp(in, "/..")) {
            in += 3;
            while (out > p && *--out != '/') {
            }
            if (!*in)
                *out++ = '/';
        } else {
            do
                *out++ = *in++;
            while (*in && *in != '/');
        }
    }
    if (out == p)
        *out++ = '/';
    *out = 0;
}

/* base path's directory (through its last '/') + ref, dot segments removed,
 * the query of ref kept as it is. */
static char *merge(const char *base, const char *ref, size_t n)
{
    size_t bq = strcspn(base, "?");
    size_t dir = 0;
    for (size_t i = 0; i < bq; i++)
        if (base[i] == '/')
            dir = i + 1;
    bool abs = n && ref[0] == '/';
    bool query_only = n && ref[0] == '?';
    size_t keep = !n ? strlen(base) : abs ? 0 : query_only ? bq : dir; /* "" is the base itself */
    char *d = malloc(keep + n + 2);
    if (!d)
        return NULL;
    memcpy(d, base, keep);
    memcpy(d + keep, ref, n);
    d[keep + n] = 0;
    size_t pq = strcspn(d, "?");
    char save = d[pq];
    char *q = save ? strdup(d + pq) : NULL;
    d[pq] = 0;
    remove_dots(d);
    if (q) {
        size_t l = strlen(d);
        memmove(d + l, q, strlen(q) + 1); /* remove_dots only shortens: room enough */
        free(q);
    }
    return d;
}

int us_url_resolve(const struct us_url *base, const char *ref, size_t n, struct us_url *out, char *err,
                   size_t errlen)
{
    n = strip_fragment(ref, n);
    size_t sl = scheme_len(ref, n);
    if (sl) {
        int rc = parse_n(ref, n, out, err, errlen);
        if (rc)
            us_url_free(out);
        return rc;
    }
    if (n >= 2 && ref[0] == '/' && ref[1] == '/') {
        size_t l = 5 + n;
        char *abs = malloc(l + 1);
        if (!abs)
            return url_err(-ENOMEM, err, errlen, "out of memory");
        memcpy(abs, "http:", 5);
        memcpy(abs + 5, ref, n);
        abs[l] = 0;
        int rc = us_url_parse(abs, out, err, errlen);
        free(abs);
        return rc;
    }
    memset(out, 0, sizeof(*out));
    int rc = check_path(ref, n, err, errlen);
    if (rc)
        return rc;
    memcpy(out->host, base->host, sizeof(out->host));
    out->port = base->port;
    if (!(out->path = merge(base->path, ref, n)))
        return url_err(-ENOMEM, err, errlen, "out of memory");
    return 0;
}

const char *us_url_str(const struct us_url *u, char *buf, size_t len)
{
    char port[8] = "";
    if (u->port != 80)
        snprintf(port, sizeof(port), ":%u", (unsigned)u->port);
    snprintf(buf, len, "http://%s%s%s", u->host, port, u->path ? u->path : "/");
    return buf;
}

int us_url_host_ip(const struct us_url *u, us_ip4_t *ip, char *err, size_t errlen)
{
    unsigned a[4];
    char tail;
    if (sscanf(u->host, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) == 4 && a[0] < 256 &&
        a[1] < 256 && a[2] < 256 && a[3] < 256) {
        /* digits only: sscanf would take "+1" or " 1"; host_char allowed neither */
        *ip = (us_ip4_t)a[0] << 24 | (us_ip4_t)a[1] << 16 | (us_ip4_t)a[2] << 8 | a[3];
        return 0;
    }
    return url_err(-ENOENT, err, errlen, "cannot resolve host '%s': host names need DNS, not yet supported (use a numeric IPv4 address)",
                   u->host);
}
