/* Received segments: src/wire parses the header and options into struct
 * us_tcp_repr; here the checksum is verified and every drop is counted with
 * its reason (short, data offset, checksum, options — in that order).
 * Options only a SYN may carry (MSS, window scale, SACK-permitted) are
 * ignored on any other segment (RFC 9293 3.7.1, RFC 7323 2.2, RFC 2018 2). */
#include "tcp_int.h"

int tcp_seg_parse(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *p, uint32_t len,
                  struct us_tcp_repr *s)
{
    enum us_tcp_parse_rc rc = us_tcp_parse(p, len, s);
    if (rc == US_TCP_SHORT) {
        US_COUNT(st, TCP_DROP_SHORT);
        return -1;
    }
    if (rc == US_TCP_BAD_OFFSET) {
        US_COUNT(st, TCP_DROP_BAD_OFFSET);
        return -1;
    }
    if (!us_tcp_csum_ok(p, len, ip->src, ip->dst)) {
        US_COUNT(st, TCP_DROP_BAD_CSUM);
        return -1;
    }
    if (rc == US_TCP_BAD_OPTIONS) {
        US_COUNT(st, TCP_DROP_BAD_OPTIONS);
        return -1;
    }
    if (!(s->flags & US_TH_SYN)) {
        s->mss = 0;
        s->wscale = -1;
        s->sack_perm = false;
    }
    return 0;
}
