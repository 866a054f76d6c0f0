/* Sender-side SACK: the RFC 2018 scoreboard and the RFC 6675 helpers.
 *
 * Paths through this file:
 *   tcp_sack_update    every acceptable ACK of a SACK connection: trim the
 *                      scoreboard at the new cumulative point (detecting
 *                      reneging), then merge the valid blocks the ACK carries
 *                      (RFC 6675 Update());
 *   tcp_sack_una_lost  IsLost(HighACK + 1), used to enter recovery;
 *   tcp_sack_pipe      SetPipe(): the estimate of bytes still in the network;
 *   tcp_sack_next_hole NextSeg() rules 1 and 3 (rule 2, new data, is the
 *                      ordinary send predicate in tcp_out.c);
 *   tcp_sack_rescue    NextSeg() rule 4, one rescue retransmission;
 *   tcp_sack_clear     after an RTO (RFC 2018 8, RFC 6675 5.1) or reneging.
 *
 * The scoreboard only steers retransmissions and the pipe estimate: bytes
 * leave the send queue only when cumulatively acknowledged, so a receiver that
 * reneges on SACKed data (RFC 2018 8) loses nothing — the data is still there
 * to be sent again. The recovery state machine itself lives in tcp_in.c and
 * the cwnd arithmetic in the congestion-control module.
 *
 * Holes: the scoreboard's blocks B0 < B1 < … split [SND.UNA, SND.MAX) into
 * holes H0 = [SND.UNA, B0.l), Hi = [B(i-1).r, Bi.l) and the tail
 * [B(n-1).r, SND.MAX). Every byte of one hole has the same SACKed data above
 * it, so IsLost() is decided per hole. */
#include <stdlib.h>
#include <string.h>
#include "tcp_int.h"

#define DUPTHRESH 3u

struct tcp_sb *tcp_sack_sb(const struct us_tcb *tcb)
{
    return tcb->ext ? tcb->ext->sb : NULL;
}

void tcp_sack_free(struct tcp_ext *e)
{
    free(e->sb);
    e->sb = NULL;
}

void tcp_sack_clear(struct us_tcb *tcb)
{
    if (tcb->ext)
        tcp_sack_free(tcb->ext);
}

static void sb_remove(struct tcp_sb *sb, uint8_t i)
{
    memmove(sb->blk[i], sb->blk[i + 1], (size_t)(sb->n - i - 1) * sizeof(sb->blk[0]));
    sb->n--;
}

/* Merge [l, r) into the sorted list. When the list is full the highest block
 * gives way: forgetting SACKed data only makes the sender more conservative. */
static void sb_add(struct tcp_sb *sb, uint32_t l, uint32_t r)
{
    uint8_t i = 0;
    while (i < sb->n && seq_lt(sb->blk[i][0], l))
        i++;
    if (sb->n == TCP_SB_MAX) {
        if (i == TCP_SB_MAX)
            return;
        sb->n--;
    }
    memmove(sb->blk[i + 1], sb->blk[i], (size_t)(sb->n - i) * sizeof(sb->blk[0]));
    sb->blk[i][0] = l;
    sb->blk[i][1] = r;
    sb->n++;
    /* coalesce overlapping or touching neighbours */
    uint8_t j = i ? (uint8_t)(i - 1) : 0;
    while (j + 1 < sb->n) {
        if (seq_ge(sb->blk[j][1], sb->blk[j + 1][0])) {
            sb->blk[j][1] = seq_max(sb->blk[j][1], sb->blk[j + 1][1]);
            sb_remove(sb, (uint8_t)(j + 1));
        } else if (j > i) {
            break;
        } else {
            j++;
        }
    }
}

/* Drop what `una` covers. Any block still starting at or below `una` is data
 * the receiver SACKed and then did not acknowledge cumulatively: it reneged. */
static bool sb_trim(struct tcp_sb *sb, uint32_t una)
{
    while (sb->n && seq_le(sb->blk[0][1], una))
        sb_remove(sb, 0);
    return sb->n && seq_le(sb->blk[0][0], una);
}

bool tcp_sack_update(struct us_stack *st, struct us_tcb *tcb, const struct tcp_seg *s, uint32_t una)
{
    struct tcp_sb *sb = tcp_sack_sb(tcb);
    if (sb && sb_trim(sb, una)) {
        US_COUNT(st, TCP_SACK_RENEGED);
        sb->n = 0;
        return true;
    }
    for (uint8_t k = 0; k < s->nsack; k++) {
        uint32_t l = s->sack[k][0], r = s->sack[k][1];
        /* RFC 2018 / RFC 2883: ignore D-SACKs (at or below the cumulative
         * point) and blocks that are empty or cover data never sent. */
        if (!seq_lt(l, r) || seq_le(r, una) || seq_gt(r, tcb->snd_max)) {
            US_COUNT(st, TCP_SACK_BLOCK_IGNORED);
            continue;
        }
        if (seq_lt(l, una))
            l = una;
        if (!sb) {
            struct tcp_ext *e = tcp_ext(tcb);
            if (!e || !(e->sb = calloc(1, sizeof(*e->sb))))
                return false;             /* no memory: recovery falls back to NewReno */
            sb = e->sb;
            sb->high_rxt = sb->rescue_rxt = una;
        }
        sb_add(sb, l, r);
    }
    /* Keep no memory for an empty scoreboard outside recovery. */
    if (sb && sb->n == 0 && !(tcb->flags & TF_SACK_RCV))
        tcp_sack_clear(tcb);
    return false;
}

/* IsLost() for the hole just below block i: DupThresh SACKed blocks or more
 * than (DupThresh - 1) * SMSS SACKed bytes above it (RFC 6675 4). A block
 * holds at least one segment, so counting blocks under-counts segments:
 * conservative. */
static bool hole_lost(const struct tcp_sb *sb, uint8_t i, uint32_t mss)
{
    uint32_t bytes = 0;
    for (uint8_t k = i; k < sb->n; k++)
        bytes += sb->blk[k][1] - sb->blk[k][0];
    return bytes > (DUPTHRESH - 1) * mss || (uint32_t)(sb->n - i) >= DUPTHRESH;
}

bool tcp_sack_una_lost(const struct us_tcb *tcb)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    return sb && sb->n && hole_lost(sb, 0, tcb->mss_send);
}

uint32_t tcp_sack_head_hole(const struct us_tcb *tcb)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    uint32_t end = sb && sb->n ? sb->blk[0][0] : tcb->snd_max;
    return end - tcb->snd_una;
}

/* Bytes of [a, b) below HighRxt: retransmitted in this recovery. */
static uint32_t rexmitted(const struct tcp_sb *sb, uint32_t a, uint32_t b)
{
    if (!seq_gt(sb->high_rxt, a))
        return 0;
    return seq_min(b, sb->high_rxt) - a;
}

/* RFC 6675 SetPipe(): per hole, original transmissions count unless the
 * hole is lost, and retransmissions count again. */
uint32_t tcp_sack_pipe(const struct us_tcb *tcb)
{
    if (tcp_rack_tracking(tcb))
        return tcp_rack_pipe(tcb);                /* RFC 8985: RACK decides what is lost */
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    if (!sb)
        return tcp_flight(tcb);
    uint32_t pipe = 0, a = tcb->snd_una;
    for (uint8_t i = 0; i < sb->n; i++) {
        uint32_t b = sb->blk[i][0];
        if (!hole_lost(sb, i, tcb->mss_send))
            pipe += b - a;
        pipe += rexmitted(sb, a, b);
        a = sb->blk[i][1];
    }
    if (seq_lt(a, tcb->snd_max))
        pipe += tcb->snd_max - a + rexmitted(sb, a, tcb->snd_max);
    return pipe;
}

bool tcp_sack_next_hole(const struct us_tcb *tcb, bool lost, uint32_t *seq, uint32_t *len)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    if (!sb)
        return false;
    uint32_t a = tcb->snd_una;
    for (uint8_t i = 0; i < sb->n; i++) {
        uint32_t b = sb->blk[i][0];
        uint32_t from = seq_max(a, sb->high_rxt);
        if (seq_lt(from, b) && (!lost || hole_lost(sb, i, tcb->mss_send))) {
            *seq = from;
            *len = b - from < tcb->mss_send ? b - from : tcb->mss_send;
            return true;
        }
        a = sb->blk[i][1];
    }
    return false;
}

/* RFC 6675 NextSeg() (4): once per recovery, after a partial ACK passed
 * RescueRxt, one segment that ends at the highest unSACKed byte, so a loss at
 * the tail of the window is repaired without waiting for the RTO. */
bool tcp_sack_rescue(const struct us_tcb *tcb, uint32_t *seq, uint32_t *len)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    if (!sb || !seq_gt(tcb->snd_una, sb->rescue_rxt))
        return false;
    uint32_t top = tcb->snd_max, bottom = sb->n ? sb->blk[sb->n - 1][1] : tcb->snd_una;
    for (int i = sb->n; i >= 0 && seq_ge(bottom, top); i--) {
        /* the tail is fully SACKed: look at the hole below block i - 1 */
        top = i > 0 ? sb->blk[i - 1][0] : tcb->snd_una;
        bottom = i > 1 ? sb->blk[i - 2][1] : tcb->snd_una;
    }
    if (!seq_lt(bottom, top))
        return false;
    uint32_t n = top - bottom < tcb->mss_send ? top - bottom : tcb->mss_send;
    *seq = top - n;
    *len = n;
    return true;
}
