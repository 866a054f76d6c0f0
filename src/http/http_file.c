/* The file side of the HTTP server: paths beneath a root, MIME types, dates,
 * validators, conditional requests and ranges.
 *
 * Paths through this file:
 *   hf_clean_path  percent-decode (RFC 3986 2.1), refuse %2F and %00, then
 *                  remove dot segments (RFC 3986 5.2.4) without climbing
 *                  above the root
 *   hf_open        openat2(root, rel, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS):
 *                  the kernel refuses any ".." or symbolic link that leads
 *                  out of the root; without openat2 (ENOSYS), realpath and a
 *                  prefix check; a directory → its index.html, or 301 when
 *                  named without the trailing '/'
 *   dates          us_http_date / us_http_date_parse (RFC 9110 5.6.7)
 *   hf_etag_match  If-None-Match (RFC 9110 13.1.2, weak comparison 8.8.3.2)
 *   hf_range       Range: bytes=a-b, a-, -n (RFC 9110 14.1.2) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>
#include "http_file.h"
#include "http_int.h"

int hf_root_open(struct hf_root *r, const char *path, char *err, size_t errlen)
{
    r->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(err, errlen, "open(%s): %s", path, strerror(errno));
        return -1;
    }
    r->real = realpath(path, NULL);
    if (!r->real) {
        snprintf(err, errlen, "realpath(%s): %s", path, strerror(errno));
        close(r->fd);
        return -1;
    }
    return 0;
}

void hf_root_close(struct hf_root *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->real);
    r->fd = -1;
    r->real = NULL;
}

/* ---- paths --------------------------------------------------------------- */

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
}

int hf_clean_path(const char *raw, size_t n, char *out, size_t cap)
{
    const char *q = memchr(raw, '?', n);
    if (q)
        n = (size_t)(q - raw);
    if (n == 0)
        return cap ? (out[0] = 0, 0) : -400; /* an empty path is "/" */
    if (raw[0] != '/')
        return -400;
    size_t o = 0;   /* out[0..o): the cleaned path, segments without a leading '/' */
    size_t i = 1;
    bool dir = false;   /* the last segment was empty, "." or "..": a directory */
    while (i <= n) {
        /* one segment raw[i..j) */
        size_t j = i;
        while (j < n && raw[j] != '/')
            j++;
        size_t seg = o;
        for (size_t k = i; k < j; k++) {
            char c = raw[k];
            if (c == '%') {
                int h = k + 2 < j ? hexv(raw[k + 1]) : -1, l = h >= 0 ? hexv(raw[k + 2]) : -1;
                if (l < 0)
                    return -400;
                c = (char)(h * 16 + l);
                if (c == '/' || c == 0)
                    return -400;
                k += 2;
            }
            if (o + 2 >= cap)
                return -414;
            out[o++] = c;
        }
        size_t len = o - seg;
        bool last = j >= n;
        dir = len == 0;
        if (len == 1 && out[seg] == '.') {
            o = seg;                               /* "." */
            dir = true;
        } else if (len == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            dir = true;
            if (seg == 0)
                return -400;                       /* above the root */
            o = seg - 1;                           /* drop the '/' before, then the segment */
            while (o > 0 && out[o - 1] != '/')
                o--;
        } else if (len > 0 && !last) {
            out[o++] = '/';                        /* (an empty segment, "//", collapses) */
        }
        i = j + 1;
    }
    if (dir && o > 0 && out[o - 1] != '/')
        out[o++] = '/';
    out[o] = 0;
    return (int)o;
}

/* ---- opening ------------------------------------------------------------- */

static int open_beneath(const struct hf_root *r, const char *rel)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    const char *p = *rel ? rel : ".";
    long fd = syscall(SYS_openat2, r->fd, p, &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS)
        return fd < 0 ? -errno : (int)fd;
    /* no openat2: the real path must stay under the root */
    char full[PATH_MAX], real[PATH_MAX];
    if (snprintf(full, sizeof(full), "%s/%s", r->real, rel) >= (int)sizeof(full))
        return -ENAMETOOLONG;
    if (!realpath(full, real))
        return -errno;
    size_t rl = strlen(r->real);
    if (strncmp(real, r->real, rl) || (real[rl] && real[rl] != '/' && rl > 1))
        return -EXDEV;
    int f = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    return f < 0 ? -errno : f;
}

static int open_err(int e)
{
    switch (e) {
    case -ENOENT:
    case -ENOTDIR:
    case -ENAMETOOLONG:
        return -404;
    case -EACCES:
    case -EPERM:
    case -EXDEV:   /* out of the root */
    case -ELOOP:
        return -403;
    default:
        return -500;
    }
}

/* The extension of the last segment, lower-cased into ext; "" when none. */
static void extension(const char *path, char *ext, size_t cap)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    ext[0] = 0;
    if (!dot || (slash && dot < slash) || strlen(dot + 1) >= cap)
        return;
    size_t i = 0;
    for (const char *c = dot + 1; *c; c++)
        ext[i++] = (char)hc_lower((unsigned char)*c);
    ext[i] = 0;
}

const char *us_http_mime_type(const char *path)
{
    static const char *const map[][2] = {
        {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},   {"xml", "application/xml"},
        {"svg", "image/svg+xml"},             {"png", "image/png"},
        {"jpg", "image/jpeg"},                {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},                 {"webp", "image/webp"},
        {"avif", "image/avif"},               {"ico", "image/x-icon"},
        {"pdf", "application/pdf"},           {"wasm", "application/wasm"},
        {"mp4", "video/mp4"},                 {"webm", "video/webm"},
        {"mp3", "audio/mpeg"},                {"ogg", "audio/ogg"},
        {"wav", "audio/wav"},                 {"woff", "font/woff"},
        {"woff2", "font/woff2"},              {"ttf", "font/ttf"},
        {"otf", "font/otf"},                  {"zip", "application/zip"},
        {"gz", "application/gzip"},           {"tar", "application/x-tar"},
    };
    char ext[8];
    extension(path, ext, sizeof(ext));
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(ext, map[i][0]))
            return map[i][1];
    return "application/octet-stream";
}

int hf_open(const struct hf_root *r, const char *rel, struct hf_file *f)
{
    int fd = open_beneath(r, rel);
    if (fd < 0)
        return open_err(fd);
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        close(fd);
        return -500;
    }
    const char *name = rel;
    char idx[PATH_MAX];
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        size_t n = strlen(rel);
        if (n && rel[n - 1] != '/')
            return 301;
        if (snprintf(idx, sizeof(idx), "%sindex.html", rel) >= (int)sizeof(idx))
            return -404;
        fd = open_beneath(r, idx);
        if (fd < 0)
            return open_err(fd);
        if (fstat(fd, &sb) < 0) {
            close(fd);
            return -500;
        }
        name = idx;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return -404;
    }
    f->fd = fd;
    f->size = (uint64_t)sb.st_size;
    f->mtime = (int64_t)sb.st_mtime;
    snprintf(f->etag, sizeof(f->etag), "\"%llx-%llx\"", (unsigned long long)sb.st_mtime,
             (unsigned long long)sb.st_size);
    f->mime = us_http_mime_type(name);
    return 0;
}

/* ---- dates (RFC 9110 5.6.7) ---------------------------------------------- */
static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void us_http_date(int64_t unix_sec, char out[30])
{
    time_t t = (time_t)unix_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    /* unsigned and bounded, so every build type sees 29 characters at most */
    snprintf(out, 30, "%s, %02u %s %04u %02u:%02u:%02u GMT", wdays[(unsigned)tm.tm_wday % 7u],
             (unsigned)tm.tm_mday % 100u, months[(unsigned)tm.tm_mon % 12u], (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

static int month_of(const char *m)
{
    for (int i = 0; i < 12; i++)
        if (!strncmp(m, months[i], 3))
            return i;
    return -1;
}

bool us_http_date_parse(const char *s, size_t n, int64_t *unix_sec)
{
    char buf[64], mon[4] = "", wd[16], tail[8];
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int day, year, h, mi, sec, used = 0;
    if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", wd, &day, mon, &year, &h, &mi, &sec, &used) == 7 &&
        used == (int)n) {
        /* IMF-fixdate */
    } else if (sscanf(buf, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n", wd, &day, mon, &year, &h, &mi, &sec,
                      &used) == 7 && used == (int)n) {
        year += year < 70 ? 2000 : 1900;  /* RFC 850: two-digit year (RFC 9110 5.6.7) */
    } else if (sscanf(buf, "%3s %3s %2d %2d:%2d:%2d %4d%n", wd, mon, &day, &h, &mi, &sec, &year, &used) == 7 &&
               used == (int)n) {
        /* asctime */
    } else {
        return false;
    }
    (void)tail;
    int m = month_of(mon);
    if (m < 0 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 || year < 1970)
        return false;
    tm.tm_year = year - 1900;
    tm.tm_mon = m;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *unix_sec = (int64_t)timegm(&tm);
    return true;
}

/* ---- conditionals and ranges --------------------------------------------- */

bool hf_etag_match(const char *v, size_t n, const char *etag)
{
    size_t i = 0, el = strlen(etag);
    struct us_http_span e;
    bool bad = false;
    while (us_http_list_next(v, n, &i, &e, &bad)) {
        const char *t = v + e.off;
        size_t tl = e.len;
        if (tl == 1 && t[0] == '*')
            return true;
        if (tl > 2 && t[0] == 'W' && t[1] == '/') {
            t += 2;
            tl -= 2;
        }
        if (tl == el && !memcmp(t, etag, el))
            return true;
    }
    return false;
}

/* 1*DIGIT without overflow; the number of digits taken, 0 when none. */
static size_t digits(const char *s, size_t n, uint64_t *v)
{
    size_t i = 0;
    *v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (*v > (UINT64_MAX - 9) / 10)
            return 0;
        *v = *v * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    return i;
}

int hf_range(const char *v, size_t n, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (n < 6 || strncasecmp(v, "bytes=", 6))
        return 0;
    v += 6;
    n -= 6;
    if (memchr(v, ',', n))
        return 0;                  /* several ranges: the whole representation */
    uint64_t a = 0, b = 0;
    size_t i = digits(v, n, &a);
    if (i == 0) {                  /* suffix-range: -n */
        if (n < 2 || v[0] != '-' || digits(v + 1, n - 1, &b) != n - 1)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (i >= n || v[i] != '-')
        return 0;
    i++;
    if (i == n) {
        b = UINT64_MAX;            /* a- */
    } else if (digits(v + i, n - i, &b) != n - i || b < a) {
        return 0;
    }
    if (a >= size)
        return -1;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 1;
}
