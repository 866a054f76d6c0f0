/* The DNS wire codec (src/dns/dns_wire.c): queries and answers round trip,
 * compression pointers followed with their bounds (loops, forward pointers,
 * pointer chains, names over 255 bytes, labels over 63), truncated messages
 * refused at every length, RDATA lengths checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "dns/dns_wire.h"

static struct dns_name name_of(const char *text)
{
    struct dns_name n;
    assert_int_equal(dns_name_from_text(text, &n), DNS_OK);
    return n;
}

static void query_round_trips_with_its_id_flags_and_question(void **s)
{
    (void)s;
    uint8_t buf[DNS_UDP_MAX];
    struct dns_name n = name_of("www.Example.com");
    size_t len = dns_build_query(buf, sizeof(buf), 0xbeef, &n, DNS_T_A);
    assert_int_equal(len, 12 + 17 + 4);
    static const uint8_t want[] = {0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7,
                                   'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
    assert_memory_equal(buf, want, sizeof(want));
    struct dns_msg m;
    assert_int_equal(dns_parse(buf, len, &m), DNS_OK);
    assert_int_equal(m.id, 0xbeef);
    assert_int_equal(m.flags, DNS_F_RD);
    assert_int_equal(m.qtype, DNS_T_A);
    assert_int_equal(m.qclass, DNS_C_IN);
    struct dns_name lower = name_of("www.example.com");
    assert_true(dns_name_eq(&m.qname, &lower)); /* case does not matter (RFC 4343) */
    assert_int_equal(m.nrr, 0);
    /* too small a buffer: no message at all */
    assert_int_equal(dns_build_query(buf, 20, 1, &n, DNS_T_A), 0);
}

/* An answer the way servers write it: the question's name compressed, a
 * CNAME whose target points into the CNAME's own RDATA's owner, an A. */
static size_t compressed_answer(uint8_t *b)
{
    static const uint8_t msg[] = {
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 1, 0, 0,
        /* 12: question www.example.com A IN */
        3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
        /* 33: www.example.com (ptr 12) CNAME ttl 300 → web.example.com (web + ptr 16) */
        0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 6, 3, 'w', 'e', 'b', 0xc0, 16,
        /* 51: web.example.com (ptr 45) A ttl 60 198.18.0.7 */
        0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 7,
        /* 67: authority: example.com (ptr 16) SOA ttl 900, ns.(ptr 16) host.(ptr 16) ... minimum 30 */
        0xc0, 16, 0, 6, 0, 1, 0, 0, 3, 132, 0, 32, 2, 'n', 's', 0xc0, 16, 4, 'h', 'o', 's', 't', 0xc0, 16,
        0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 30,
    };
    memcpy(b, msg, sizeof(msg));
    return sizeof(msg);
}

static void compressed_answer_parses_cname_a_and_soa(void **s)
{
    (void)s;
    uint8_t b[256];
    size_t len = compressed_answer(b);
    struct dns_msg m;
    assert_int_equal(dns_parse(b, len, &m), DNS_OK);
    assert_int_equal(m.id, 0x1234);
    assert_true(m.flags & DNS_F_QR);
    assert_int_equal(DNS_RCODE(m.flags), DNS_R_NOERROR);
    assert_int_equal(m.nrr, 3);
    struct dns_name www = name_of("www.example.com"), web = name_of("web.example.com"), zone = name_of("example.com");
    assert_true(dns_name_eq(&m.rr[0].name, &www));
    assert_int_equal(m.rr[0].type, DNS_T_CNAME);
    assert_int_equal(m.rr[0].ttl, 300);
    assert_true(dns_name_eq(&m.rr[0].rd.cname, &web));
    assert_true(dns_name_eq(&m.rr[1].name, &web));
    assert_int_equal(m.rr[1].rd.a, 0xc6120007u);
    assert_int_equal(m.rr[1].section, 1);
    assert_true(dns_name_eq(&m.rr[2].name, &zone));
    assert_int_equal(m.rr[2].section, 2);
    assert_int_equal(m.rr[2].type, DNS_T_SOA);
    assert_int_equal(m.rr[2].ttl, 900);
    assert_int_equal(m.rr[2].rd.soa.serial, 9);
    assert_int_equal(m.rr[2].rd.soa.minimum, 30);
    char text[DNS_TEXT_MAX];
    dns_name_to_text(&m.rr[0].rd.cname, text, sizeof(text));
    assert_string_equal(text, "web.example.com");
}

/* Every proper prefix of a valid answer is refused as short (never read past). */
static void every_truncation_of_an_answer_is_refused(void **s)
{
    (void)s;
    uint8_t b[256];
    size_t len = compressed_answer(b);
    for (size_t cut = 0; cut < len; cut++) {
        struct dns_msg m;
        int rc = dns_parse(b, cut, &m);
        if (rc == DNS_OK)
            fail_msg("a %zu-byte prefix of a %zu-byte answer parsed", cut, len);
        assert_true(rc == DNS_E_SHORT || rc == DNS_E_RDATA);
    }
}

static int parse_name_at(const uint8_t *msg, size_t len, size_t off, struct dns_name *n)
{
    return dns_name_read(msg, len, &off, n);
}

static void compression_loops_and_forward_pointers_are_refused(void **s)
{
    (void)s;
    struct dns_name n;
    /* a pointer to itself */
    uint8_t self[] = {0, 0, 0, 0, 0xc0, 4};
    assert_int_equal(parse_name_at(self, sizeof(self), 4, &n), DNS_E_PTR);
    /* two pointers to each other */
    uint8_t pair[] = {0xc0, 2, 0xc0, 0};
    assert_int_equal(parse_name_at(pair, sizeof(pair), 2, &n), DNS_E_PTR);
    /* a label, then a pointer back to the label: the piece loops */
    uint8_t lab[] = {1, 'a', 0xc0, 0};
    assert_int_equal(parse_name_at(lab, sizeof(lab), 0, &n), DNS_E_PTR);
    /* a forward pointer */
    uint8_t fwd[] = {0xc0, 2, 1, 'a', 0};
    assert_int_equal(parse_name_at(fwd, sizeof(fwd), 0, &n), DNS_E_PTR);
    /* a backwards chain of pointers, each legal, longer than DNS_PTR_MAX */
    uint8_t chain[2 + 2 * 40];
    chain[0] = 1, chain[1] = 0; /* offset 0: "\1" needs a byte; make it the root */
    chain[0] = 0;
    for (int i = 1; i <= 40; i++)
        chain[2 * i] = 0xc0, chain[2 * i + 1] = (uint8_t)(2 * (i - 1));
    assert_int_equal(parse_name_at(chain, sizeof(chain), 2 * 40, &n), DNS_E_PTR);
    assert_int_equal(parse_name_at(chain, sizeof(chain), 2 * DNS_PTR_MAX, &n), DNS_OK);
    assert_int_equal(n.len, 1);
    /* a pointer cut in half */
    uint8_t half[] = {0xc0};
    assert_int_equal(parse_name_at(half, sizeof(half), 0, &n), DNS_E_SHORT);
    /* label types 0x40 and 0x80 */
    uint8_t ext[] = {0x41, 'a', 0};
    assert_int_equal(parse_name_at(ext, sizeof(ext), 0, &n), DNS_E_LABEL);
    ext[0] = 0x81;
    assert_int_equal(parse_name_at(ext, sizeof(ext), 0, &n), DNS_E_LABEL);
}

/* 255 bytes of name are allowed, 256 not — also when the length is reached
 * through pointers. Labels are 63 bytes at most in text. */
static void names_are_bounded_to_255_bytes_and_63_byte_labels(void **s)
{
    (void)s;
    uint8_t msg[600];
    size_t n = 0;
    /* four labels of 63 = 256 bytes with the root: too long */
    for (int i = 0; i < 4; i++) {
        msg[n++] = 63;
        memset(msg + n, 'a' + i, 63);
        n += 63;
    }
    msg[n++] = 0;
    struct dns_name nm;
    assert_int_equal(parse_name_at(msg, n, 0, &nm), DNS_E_NAMELEN);
    /* 3 × 63 + 61 + root = 255: fits */
    msg[3 * 64] = 61;
    msg[3 * 64 + 62] = 0;
    assert_int_equal(parse_name_at(msg, 3 * 64 + 63, 0, &nm), DNS_OK);
    assert_int_equal(nm.len, 255);
    /* the same length reached with a pointer: a label before a 255-byte name */
    size_t p = 3 * 64 + 63;
    msg[p] = 1, msg[p + 1] = 'x', msg[p + 2] = 0xc0, msg[p + 3] = 0;
    assert_int_equal(parse_name_at(msg, p + 4, p, &nm), DNS_E_NAMELEN);

    char text[300];
    memset(text, 'a', 64);
    text[64] = 0;
    assert_int_equal(dns_name_from_text(text, &nm), DNS_E_LABEL);
    text[63] = 0;
    assert_int_equal(dns_name_from_text(text, &nm), DNS_OK);
    assert_int_equal(dns_name_from_text("a..b", &nm), DNS_E_LABEL);
    assert_int_equal(dns_name_from_text("", &nm), DNS_E_LABEL);
    assert_int_equal(dns_name_from_text("example.com.", &nm), DNS_OK);
    assert_int_equal(nm.len, 13);
    /* 127 labels of 1 byte = 254 + root = 255; one more is too long */
    size_t t = 0;
    for (int i = 0; i < 127; i++)
        text[t++] = 'x', text[t++] = '.';
    text[t - 1] = 0;
    assert_int_equal(dns_name_from_text(text, &nm), DNS_OK);
    assert_int_equal(nm.len, 255);
    text[t - 1] = '.', text[t] = 'y', text[t + 1] = 0;
    assert_int_equal(dns_name_from_text(text, &nm), DNS_E_NAMELEN);
}

static void rdata_lengths_are_checked_by_type(void **s)
{
    (void)s;
    uint8_t b[256];
    size_t len = compressed_answer(b);
    struct dns_msg m;
    /* the A record's RDLENGTH 4 → 3 (its data one byte shorter, the SOA after it shifts) */
    uint8_t c[256];
    memcpy(c, b, len);
    c[51 + 11] = 3;
    assert_true(dns_parse(c, len, &m) < 0);
    /* a CNAME whose name runs past its RDLENGTH */
    memcpy(c, b, len);
    c[33 + 11] = 5;
    assert_int_equal(dns_parse(c, len, &m), DNS_E_RDATA);
    /* an SOA with one byte too many */
    memcpy(c, b, len);
    c[67 + 11] = 33;
    c[len] = 0;
    assert_int_equal(dns_parse(c, len + 1, &m), DNS_E_RDATA);
    /* qdcount 0 and 2 */
    memcpy(c, b, len);
    c[5] = 0;
    assert_int_equal(dns_parse(c, len, &m), DNS_E_QDCOUNT);
    c[5] = 2;
    assert_int_equal(dns_parse(c, len, &m), DNS_E_QDCOUNT);
    /* a TTL with the top bit set reads as 0 (RFC 2181 8) */
    memcpy(c, b, len);
    c[51 + 6] = 0x80;
    assert_int_equal(dns_parse(c, len, &m), DNS_OK);
    assert_int_equal(m.rr[1].ttl, 0);
}

/* More records than DNS_RR_MAX: all are checked, the first ones kept. */
static void records_beyond_the_kept_ones_are_still_checked(void **s)
{
    (void)s;
    uint8_t buf[4096];
    struct dns_writer w;
    struct dns_name n = name_of("many.test");
    dns_w_init(&w, buf, sizeof(buf), 7, DNS_F_QR);
    dns_w_question(&w, &n, DNS_T_A, DNS_C_IN);
    for (uint32_t i = 0; i < DNS_RR_MAX + 8; i++)
        dns_w_a(&w, &n, 60, i);
    size_t len = dns_w_end(&w);
    assert_true(len > 0);
    struct dns_msg m;
    assert_int_equal(dns_parse(buf, len, &m), DNS_OK);
    assert_int_equal(m.ancount, DNS_RR_MAX + 8);
    assert_int_equal(m.nrr, DNS_RR_MAX);
    assert_int_equal(m.rr[DNS_RR_MAX - 1].rd.a, DNS_RR_MAX - 1);
    assert_int_equal(dns_parse(buf, len - 1, &m), DNS_E_SHORT);
    /* a writer that runs out of room reports no message */
    dns_w_init(&w, buf, 40, 7, DNS_F_QR);
    dns_w_question(&w, &n, DNS_T_A, DNS_C_IN);
    dns_w_a(&w, &n, 60, 1);
    assert_int_equal(dns_w_end(&w), 0);
}

static void names_print_with_escapes(void **s)
{
    (void)s;
    struct dns_name n;
    static const uint8_t raw[] = {3, 'a', '.', 'b', 2, 0xff, 'Z', 0};
    memcpy(n.b, raw, sizeof(raw));
    n.len = sizeof(raw);
    char text[DNS_TEXT_MAX];
    dns_name_to_text(&n, text, sizeof(text));
    assert_string_equal(text, "a\\046b.\\255Z");
    n.b[0] = 0, n.len = 1;
    dns_name_to_text(&n, text, sizeof(text));
    assert_string_equal(text, ".");
    char small[4];
    n = name_of("abcdef.gh");
    dns_name_to_text(&n, small, sizeof(small));
    assert_string_equal(small, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_round_trips_with_its_id_flags_and_question),
        cmocka_unit_test(compressed_answer_parses_cname_a_and_soa),
        cmocka_unit_test(every_truncation_of_an_answer_is_refused),
        cmocka_unit_test(compression_loops_and_forward_pointers_are_refused),
        cmocka_unit_test(names_are_bounded_to_255_bytes_and_63_byte_labels),
        cmocka_unit_test(rdata_lengths_are_checked_by_type),
        cmocka_unit_test(records_beyond_the_kept_ones_are_still_checked),
        cmocka_unit_test(names_print_with_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
