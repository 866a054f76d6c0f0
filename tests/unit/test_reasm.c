/* IPv4 reassembly: an ICMP echo request cut into hand-made fragments is fed to
 * the stack; a correct reassembly is proven by the (checksummed) echo reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "ip_testkit.h"

#define MSG_LEN 3008u /* ICMP header + 3000 payload bytes: three 1480-byte pieces */

static uint8_t msg[US_IP_MAXLEN + 64];

static void build_msg(uint32_t len)
{
    ipt_echo(msg, US_ICMP_ECHO, 0x4242, 7, len - 8);
}

/* Send msg[off .. off+len) as a fragment of datagram `id` whose ICMP message is
 * `total` bytes long (MF set unless the piece reaches the end). */
static void frag(struct ipt *t, uint16_t id, uint32_t off, uint32_t len, uint32_t total, const uint8_t *data)
{
    static uint8_t b[2048];
    memcpy(b + 20, data ? data : msg + off, len);
    uint16_t f = (uint16_t)(off / 8u) | (off + len < total ? 0x2000u : 0u);
    ipt_input(t, b, ipt_hdr(b, IPT_PEER, IPT_ME, US_IPPROTO_ICMP, id, f, len));
}

/* The echo reply carries the same message (type 0) in one or more fragments. */
static void expect_reply(struct ipt *t, uint32_t total)
{
    static uint8_t got[US_IP_MAXLEN];
    uint8_t hdr[20];
    uint32_t pieces;
    assert_int_equal(ipt_collect(t, got, sizeof(got), hdr, &pieces), total);
    assert_int_equal(pieces, (total + 1479) / 1480);
    assert_int_equal(got[0], US_ICMP_ECHO_REPLY);
    assert_int_equal(us_csum(got, total), 0);
    assert_memory_equal(got + 4, msg + 4, total - 4);
}

static void in_order_fragments_reassemble_and_are_answered(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    for (uint32_t off = 0; off < MSG_LEN; off += 1480)
        frag(&t, 1, off, off + 1480 < MSG_LEN ? 1480 : MSG_LEN - off, MSG_LEN, NULL);
    expect_reply(&t, MSG_LEN);
    assert_int_equal(ipt_count(&t, "ip.fragments_received"), 3);
    assert_int_equal(ipt_count(&t, "ip.reassembled"), 1);
    assert_int_equal(ip_state(t.st)->reasm_count, 0);
    assert_int_equal(ip_state(t.st)->reasm_bytes, 0);
    ipt_free(&t);
}

static void out_of_order_fragments_reassemble(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    frag(&t, 2, 2960, MSG_LEN - 2960, MSG_LEN, NULL);
    frag(&t, 2, 0, 1480, MSG_LEN, NULL);
    frag(&t, 2, 1480, 1480, MSG_LEN, NULL);
    expect_reply(&t, MSG_LEN);
    ipt_free(&t);
}

static void overlapping_fragment_keeps_the_first_data_and_counts_duplicates(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    /* second piece restarts at 1000 with garbage where it overlaps the first:
     * first come wins, so the echo checksum still holds */
    static uint8_t evil[1480];
    memset(evil, 0xEE, 480);
    memcpy(evil + 480, msg + 1480, 1000);
    frag(&t, 3, 0, 1480, MSG_LEN, NULL);
    frag(&t, 3, 1000, 1480, MSG_LEN, evil);
    frag(&t, 3, 2480, MSG_LEN - 2480, MSG_LEN, NULL);
    expect_reply(&t, MSG_LEN);
    assert_int_equal(ipt_count(&t, "ip.reasm_duplicate_bytes"), 480);
    ipt_free(&t);
}

static void duplicate_fragment_is_counted_and_answered_once(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    frag(&t, 4, 0, 1480, MSG_LEN, NULL);
    frag(&t, 4, 0, 1480, MSG_LEN, NULL);
    frag(&t, 4, 1480, 1480, MSG_LEN, NULL);
    frag(&t, 4, 2960, MSG_LEN - 2960, MSG_LEN, NULL);
    expect_reply(&t, MSG_LEN);
    assert_int_equal(ipt_count(&t, "ip.reasm_duplicate_bytes"), 1480);
    assert_int_equal(ipt_count(&t, "icmp.echo_replied"), 1);
    ipt_free(&t);
}

static void missing_piece_times_out_with_time_exceeded_when_first_was_here(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    frag(&t, 5, 0, 1480, MSG_LEN, NULL);
    frag(&t, 5, 2960, MSG_LEN - 2960, MSG_LEN, NULL);
    assert_int_equal(ip_state(t.st)->reasm_count, 1);
    assert_true(ip_state(t.st)->reasm_bytes > 0);
    uint8_t out[2048];
    ipt_advance(&t, US_SEC(30) - 1);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    assert_int_equal(ip_state(t.st)->reasm_count, 1);
    ipt_advance(&t, 1);
    assert_int_equal(ipt_count(&t, "ip.drop_reasm_timeout"), 1);
    assert_int_equal(ip_state(t.st)->reasm_count, 0);
    assert_int_equal(ip_state(t.st)->reasm_bytes, 0);
    /* RFC 792 time exceeded, code 1: quotes fragment zero's header + 8 bytes */
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 20 + 8 + 20 + 8);
    assert_int_equal(us_get32(out + 16), IPT_PEER);
    assert_int_equal(out[20], US_ICMP_TIME_EXCEEDED);
    assert_int_equal(out[21], 1);
    assert_int_equal(us_csum(out + 20, 36), 0);
    assert_int_equal(us_get16(out + 28 + 4), 5);       /* quoted id */
    assert_int_equal(us_get16(out + 28 + 6), 0x2000);  /* quoted MF, offset 0 */
    assert_memory_equal(out + 48, msg, 8);
    ipt_free(&t);
}

static void missing_first_piece_times_out_silently(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    frag(&t, 6, 1480, 1480, MSG_LEN, NULL);
    frag(&t, 6, 2960, MSG_LEN - 2960, MSG_LEN, NULL);
    ipt_advance(&t, US_SEC(31));
    uint8_t out[2048];
    assert_int_equal(ipt_count(&t, "ip.drop_reasm_timeout"), 1);
    assert_int_equal(ipt_recv(&t, out, sizeof(out)), 0);
    assert_int_equal(ip_state(t.st)->reasm_count, 0);
    ipt_free(&t);
}

static void memory_bound_holds_under_many_partial_datagrams(void **state)
{
    (void)state;
    struct us_config c;
    ipt_config(&c);
    c.reasm_max_bytes = 20000;
    struct ipt t;
    ipt_init_cfg(&t, &c, 1500);
    build_msg(MSG_LEN);
    for (uint16_t id = 100; id < 150; id++) {
        frag(&t, id, 0, 1480, MSG_LEN, NULL);
        assert_true(ip_state(t.st)->reasm_bytes <= 20000);
    }
    assert_true(ipt_count(&t, "ip.drop_reasm_memory") > 0);
    assert_true(ip_state(t.st)->reasm_count < 50);
    /* the oldest went first: the newest datagram can still complete */
    frag(&t, 149, 1480, 1480, MSG_LEN, NULL);
    frag(&t, 149, 2960, MSG_LEN - 2960, MSG_LEN, NULL);
    expect_reply(&t, MSG_LEN);
    assert_true(ip_state(t.st)->reasm_bytes <= 20000);
    ipt_free(&t);
}

static void fragment_reaching_past_65535_is_rejected(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    frag(&t, 7, 0, 1480, 65536, NULL);
    frag(&t, 7, 65512, 24, 65536, NULL);      /* ping of death: 20 + 65536 > 65535 */
    assert_int_equal(ipt_count(&t, "ip.drop_reasm_malformed"), 1);
    frag(&t, 8, 65512, 3, 65515, NULL);        /* exactly at the limit: accepted */
    assert_int_equal(ipt_count(&t, "ip.drop_reasm_malformed"), 1);
    assert_int_equal(ip_state(t.st)->reasm_count, 2);
    ipt_free(&t);
}

static void contradicting_last_fragments_drop_the_datagram(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    frag(&t, 9, 2960, MSG_LEN - 2960, MSG_LEN, NULL);
    frag(&t, 9, 1480, 1480, 2960, NULL);       /* claims the datagram ends at 2960 */
    assert_int_equal(ipt_count(&t, "ip.drop_reasm_malformed"), 1);
    assert_int_equal(ip_state(t.st)->reasm_count, 0);
    ipt_free(&t);
}

static void non_last_fragment_must_carry_a_multiple_of_8(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    build_msg(MSG_LEN);
    frag(&t, 10, 0, 1001, MSG_LEN, NULL);
    assert_int_equal(ipt_count(&t, "ip.drop_reasm_malformed"), 1);
    assert_int_equal(ip_state(t.st)->reasm_count, 0);
    ipt_free(&t);
}

static void largest_datagram_reassembles_and_the_reply_is_fragmented(void **state)
{
    (void)state;
    struct ipt t;
    ipt_init(&t);
    const uint32_t total = 65535 - 20;
    build_msg(total);
    for (uint32_t off = 0; off < total; off += 1480)
        frag(&t, 11, off, off + 1480 < total ? 1480 : total - off, total, NULL);
    expect_reply(&t, total);
    assert_int_equal(ipt_count(&t, "ip.fragments_created"), (total + 1479) / 1480);
    ipt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_fragments_reassemble_and_are_answered),
        cmocka_unit_test(out_of_order_fragments_reassemble),
        cmocka_unit_test(overlapping_fragment_keeps_the_first_data_and_counts_duplicates),
        cmocka_unit_test(duplicate_fragment_is_counted_and_answered_once),
        cmocka_unit_test(missing_piece_times_out_with_time_exceeded_when_first_was_here),
        cmocka_unit_test(missing_first_piece_times_out_silently),
        cmocka_unit_test(memory_bound_holds_under_many_partial_datagrams),
        cmocka_unit_test(fragment_reaching_past_65535_is_rejected),
        cmocka_unit_test(contradicting_last_fragments_drop_the_datagram),
        cmocka_unit_test(non_last_fragment_must_carry_a_multiple_of_8),
        cmocka_unit_test(largest_datagram_reassembles_and_the_reply_is_fragmented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
