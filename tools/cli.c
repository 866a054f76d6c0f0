/* Option tables and value parsers of the ustack command. Every error names
 * the flag and what is allowed; the tables also produce the help lines. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli.h"

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ustack: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

const char *cli_ipstr(us_ip4_t ip, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return buf;
}

/* ---- value parsers ---- */

int cli_parse_ip(const char *flag, const char *s, us_ip4_t *out)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return cli_error("%s: '%s' is not an IPv4 address (expected a.b.c.d)", flag, s ? s : "");
    *out = ntohl(a.s_addr);
    return 0;
}

int cli_parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    return cli_error("%s: '%s' is not allowed (expected an integer %llu..%llu)", flag, s ? s : "",
                     (unsigned long long)lo, (unsigned long long)hi);
}

int cli_parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s)
        goto bad;
    double v = strtod(s, &end);
    if (*end || !(v >= lo && v <= hi))
        goto bad;
    *out = v;
    return 0;
bad:
    return cli_error("%s: '%s' is not allowed (expected a number %g..%g)", flag, s ? s : "", lo, hi);
}

int cli_parse_size(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        goto bad;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || v < 0)
        goto bad;
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'M')
        mul = 1e6, end++;
    else if (*end == 'G')
        mul = 1e9, end++;
    if (*end || v * mul >= 18446744073709551616.0)
        goto bad;
    *out = (uint64_t)(v * mul);
    return 0;
bad:
    return cli_error("%s: '%s' is not allowed (expected a number with optional suffix k, M or G)", flag, s ? s : "");
}

int cli_parse_hostport(const char *flag, const char *s, us_ip4_t *ip, uint16_t *port)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon)
        return cli_error("%s: '%s' is not allowed (expected ADDR:PORT, e.g. 198.18.0.1:5001)", flag, s ? s : "");
    char host[64];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof(host))
        return cli_error("%s: '%s' is too long", flag, s);
    memcpy(host, s, n);
    host[n] = 0;
    uint64_t p = 0;
    if (cli_parse_ip(flag, host, ip) || cli_parse_u64(flag, colon + 1, 1, 65535, &p))
        return 2;
    *port = (uint16_t)p;
    return 0;
}

/* ---- option kinds ---- */

static void store_uint(const struct cli_opt *o, uint64_t v)
{
    switch (o->width) {
    case 1: *(uint8_t *)o->out = (uint8_t)v; break;
    case 2: *(uint16_t *)o->out = (uint16_t)v; break;
    case 4: *(uint32_t *)o->out = (uint32_t)v; break;
    default: *(uint64_t *)o->out = v; break;
    }
}

int cli_opt_str(const struct cli_opt *o, const char *v)
{
    *(const char **)o->out = v;
    return 0;
}

int cli_opt_strv(const struct cli_opt *o, const char *v)
{
    struct cli_strv *l = o->out;
    const char **p = realloc(l->v, (l->n + 1) * sizeof(*p));
    if (!p)
        return cli_error("out of memory");
    l->v = p;
    l->v[l->n++] = v;
    return 0;
}

int cli_opt_uint(const struct cli_opt *o, const char *v)
{
    uint64_t u = 0;
    if (cli_parse_u64(o->name, v, o->ulo, o->uhi, &u))
        return 2;
    store_uint(o, u);
    return 0;
}

/* 1500, 64k, 10M, 1G */
static const char *size_str(uint64_t v, char buf[24])
{
    static const char suffix[] = " kMG";
    int i = 0;
    while (i < 3 && v >= 1000 && v % 1000 == 0)
        v /= 1000, i++;
    snprintf(buf, 24, "%llu%.*s", (unsigned long long)v, i ? 1 : 0, &suffix[i]);
    return buf;
}

int cli_opt_size(const struct cli_opt *o, const char *v)
{
    uint64_t u = 0;
    if (cli_parse_size(o->name, v, &u))
        return 2;
    if (o->uhi && (u < o->ulo || u > o->uhi)) {
        char a[24], b[24];
        return cli_error("%s: '%s' is not allowed (expected %s..%s)", o->name, v, size_str(o->ulo, a), size_str(o->uhi, b));
    }
    store_uint(o, u);
    return 0;
}

int cli_opt_count(const struct cli_opt *o, const char *v)
{
    (void)v;
    *(int *)o->out += (int)o->ulo;
    return 0;
}

int cli_opt_real(const struct cli_opt *o, const char *v)
{
    return cli_parse_double(o->name, v, o->dlo, o->dhi, o->out);
}

int cli_opt_ms(const struct cli_opt *o, const char *v)
{
    double ms = 0;
    if (cli_parse_double(o->name, v, o->dlo, o->dhi, &ms))
        return 2;
    *(us_time_t *)o->out = (us_time_t)(ms * 1e6);
    return 0;
}

int cli_opt_ip(const struct cli_opt *o, const char *v) { return cli_parse_ip(o->name, v, o->out); }

int cli_opt_ipnet(const struct cli_opt *o, const char *v)
{
    struct cli_ipnet *n = o->out;
    char buf[64];
    if (strlen(v) >= sizeof(buf))
        return cli_error("%s: expected ADDR/PREFIX, e.g. 198.18.0.2/24", o->name);
    strcpy(buf, v);
    char *slash = strchr(buf, '/');
    uint64_t p = 24;
    if (slash) {
        *slash = 0;
        char flag[48];
        snprintf(flag, sizeof(flag), "%s prefix", o->name);
        if (cli_parse_u64(flag, slash + 1, 0, 32, &p))
            return 2;
    }
    if (cli_parse_ip(o->name, buf, &n->ip))
        return 2;
    n->prefix = (uint8_t)p;
    return 0;
}

int cli_opt_mac(const struct cli_opt *o, const char *s)
{
    uint8_t *mac = o->out;
    unsigned v[6];
    char extra;
    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6)
        return cli_error("%s: '%s' is not a MAC address (expected xx:xx:xx:xx:xx:xx)", o->name, s);
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255)
            return cli_error("%s: '%s' has a byte above ff", o->name, s);
        mac[i] = (uint8_t)v[i];
    }
    if (mac[0] & 1)
        return cli_error("%s: '%s' is a multicast address (the first byte must be even)", o->name, s);
    return 0;
}

const char *cli_cc_list(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < us_cc_count() && used < len; i++) {
        const char *name = us_cc_name(i);
        if (name)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
    }
    return buf;
}

int cli_opt_cc(const struct cli_opt *o, const char *v)
{
    for (size_t i = 0; i < us_cc_count(); i++) {
        const char *name = us_cc_name(i);
        if (name && !strcmp(name, v)) {
            *(const char **)o->out = name;
            return 0;
        }
    }
    char list[128];
    return cli_error("%s: '%s' is not allowed (allowed: %s)", o->name, v, cli_cc_list(list, sizeof(list)));
}

int cli_opt_choice(const struct cli_opt *o, const char *v)
{
    char list[256];
    size_t used = 0;
    list[0] = 0;
    for (const char *const *w = o->choices; *w; w++) {
        if (!strcmp(*w, v)) {
            *(const char **)o->out = *w;
            return 0;
        }
        if (used < sizeof(list))
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", w == o->choices ? "" : ", ", *w);
    }
    return cli_error("%s: '%s' is not allowed (allowed: %s)", o->name ? o->name : o->metavar, v, list);
}

/* ---- suggestions ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_suggest(const char *s, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t bd = 3; /* at most two edits, and fewer than half the word */
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(s, names[i]);
        if (d < bd && 2 * d < strlen(names[i])) {
            bd = d;
            best = names[i];
        }
    }
    return best;
}

/* ---- tables ---- */

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name)
{
    for (const struct cli_opt *o = opts; o && (o->name || o->metavar); o++)
        if (o->name && !strcmp(o->name, name))
            return o;
    return NULL;
}

static int unknown_option(const char *ctx, const struct cli_opt *opts, const struct cli_opt *elsewhere, const char *a)
{
    if (elsewhere && find_opt(elsewhere, a))
        return cli_error("%s: '%s' is a global option: give it before the command (ustack %s ... %s ...)", ctx, a, a, ctx);
    const char *names[64];
    size_t n = 0;
    char allowed[512] = "";
    size_t used = 0;
    for (const struct cli_opt *o = opts; (o->name || o->metavar) && n < 64; o++) {
        if (!o->name || !o->help)
            continue;
        names[n++] = o->name;
        if (used < sizeof(allowed))
            used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s%s%s", used ? ", " : "", o->name,
                                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
    }
    const char *guess = cli_suggest(a, names, n);
    char hint[80] = "";
    if (guess)
        snprintf(hint, sizeof(hint), " — did you mean '%s'?", guess);
    if (!ctx)
        return cli_error("unknown option '%s'%s (see ustack --help)", a, hint);
    if (!n)
        return cli_error("%s: unknown option '%s' (it takes none)", ctx, a);
    return cli_error("%s: unknown option '%s'%s (allowed: %s)", ctx, a, hint, allowed);
}

static bool has_positional(const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o->name || o->metavar; o++)
        if (!o->name)
            return true;
    return false;
}

static int take(const struct cli_opt *o, const char *v)
{
    if (o->seen)
        *o->seen = true;
    if (!o->parse) {
        *(bool *)o->out = true;
        return 0;
    }
    return o->parse(o, v);
}

int cli_parse_opts(const char *ctx, const struct cli_opt *opts, const struct cli_opt *elsewhere, int argc,
                   char **argv, int first)
{
    bool positional = has_positional(opts);
    bool only_words = false;
    const struct cli_opt *next_pos = opts;
    const char *pfx = ctx ? ctx : "", *sep = ctx ? ": " : "";
    int i;
    for (i = first; i < argc; i++) {
        const char *a = argv[i];
        bool word = only_words || a[0] != '-' || !a[1];
        if (word && !positional)
            return i;
        if (word) {
            while ((next_pos->name || next_pos->metavar) && next_pos->name)
                next_pos++;
            if (!next_pos->metavar) {
                const struct cli_opt *p = opts;
                while (p->name)
                    p++;
                return cli_error("%s%sunexpected argument '%s' (%s already given: '%s')", pfx, sep, a, p->metavar,
                                 *(const char **)p->out), CLI_ERR;
            }
            if (take(next_pos, a))
                return CLI_ERR;
            if (next_pos->parse != cli_opt_strv) /* a list takes every word left */
                next_pos++;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_words = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return CLI_HELP;
        const struct cli_opt *o = find_opt(opts, a);
        if (!o)
            return unknown_option(ctx, opts, elsewhere, a), CLI_ERR;
        const char *v = NULL;
        if (o->metavar) {
            if (i + 1 >= argc)
                return cli_error("%s%s%s: needs a value %s (see ustack %s%s--help)", pfx, sep, a, o->metavar, pfx,
                                 ctx ? " " : ""), CLI_ERR;
            v = argv[++i];
        }
        if (take(o, v))
            return CLI_ERR;
    }
    for (; next_pos->name || next_pos->metavar; next_pos++)
        if (!next_pos->name && !(next_pos->parse == cli_opt_strv && ((struct cli_strv *)next_pos->out)->n))
            return cli_error("%s%sno %s given (see ustack %s%s--help)", pfx, sep, next_pos->help, pfx,
                             ctx ? " " : ""), CLI_ERR;
    return i;
}

void cli_print_synopsis(FILE *out, const struct cli_opt *opts)
{
    const char *sp = "";
    for (const struct cli_opt *o = opts; o->name || o->metavar; o++) {
        if (!o->help)
            continue;
        if (!o->name)
            fprintf(out, "%s%s", sp, o->metavar);
        else
            fprintf(out, "%s[%s%s%s]", sp, o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        sp = " ";
    }
}

void cli_print_opts(FILE *out, const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o->name || o->metavar; o++) {
        if (!o->help)
            continue;
        char left[48];
        snprintf(left, sizeof(left), "%s%s%s", o->name ? o->name : o->metavar, o->name && o->metavar ? " " : "",
                 o->name && o->metavar ? o->metavar : "");
        fprintf(out, "  %-20s%s%s", left, strlen(left) >= 20 ? "\n                      " : "", o->help);
        if (o->parse == cli_opt_cc) {
            char list[128];
            fprintf(out, " (allowed: %s)", cli_cc_list(list, sizeof(list)));
        }
        if (o->parse == cli_opt_choice)
            for (const char *const *w = o->choices; *w; w++)
                fprintf(out, "%s%s%s", w == o->choices ? " (allowed: " : ", ", *w, w[1] ? "" : ")");
        fputc('\n', out);
    }
}
