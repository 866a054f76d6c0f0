/* The file side of the HTTP server (http_file.c): request paths to files
 * beneath a root that cannot be left, MIME types, validators (ETag,
 * Last-Modified), conditional requests and byte ranges (RFC 9110 13, 14). */
#ifndef US_HTTP_FILE_H
#define US_HTTP_FILE_H

#include <ustack/http_server.h>

/* The root directory, opened once. */
struct hf_root {
    int fd;
    char *real;                /* realpath of the root, for the fallback check */
};
int hf_root_open(struct hf_root *r, const char *path, char *err, size_t errlen);
void hf_root_close(struct hf_root *r);

/* A request's path (the origin-form path, query included) as a relative
 * path under the root: percent-decoded, "." and ".." resolved, repeated '/'
 * collapsed, the query dropped; "" is the root itself and a trailing '/'
 * stays. Returns its length, or -400 (bad escape, an encoded '/' or NUL, a
 * climb above the root, not starting with '/'). */
int hf_clean_path(const char *raw, size_t n, char *out, size_t cap);

struct hf_file {
    int fd;
    uint64_t size;
    int64_t mtime;             /* Unix seconds */
    char etag[40];             /* "\"<mtime hex>-<size hex>\"" */
    const char *mime;
};
/* Opens the file for rel (from hf_clean_path) beneath the root, the
 * directory's index.html for a directory. Returns 0, 301 (a directory named
 * without its trailing '/': redirect), or -404 / -403 / -500. */
int hf_open(const struct hf_root *r, const char *rel, struct hf_file *f);

/* If-None-Match value against our ETag (weak comparison, "*" matches). */
bool hf_etag_match(const char *v, size_t n, const char *etag);

/* A Range value for a representation of `size` bytes: 1 and [*first, *last]
 * for one satisfiable range; -1 when unsatisfiable (416); 0 to ignore it
 * and send the whole (invalid syntax, another unit, several ranges). */
int hf_range(const char *v, size_t n, uint64_t size, uint64_t *first, uint64_t *last);

#endif
