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


struct tcp_sb *tcp_sack_sb(const struct us_tcb *tcb)
{
    return tcb->ext ? tcb->ext->sb : NULL;
}

void tcp_sack_free(struct tcp_ext *e)
{
    if (e->sb)
        free(e->sb->blk);
    free(e->sb);
    e->sb = NULL;
}

void tcp_sack_clear(struct us_tcb *tcb)
{
    if (tcb->ext)
        tcp_sack_free(tcb->ext);
}

static void sb_remove_n(struct tcp_sb *sb, uint32_t i, uint32_t k)
{
    memmove(sb->blk[i], sb->blk[i + k], (size_t)(sb->n - i - k) * sizeof(sb->blk[0]));
    sb->n -= k;
}

/* Ranges the scoreboard may hold: one per two segments the send window (or
 * buffer) can hold, at least TCP_SB_MIN — memory in proportion to the window. */
static uint32_t sb_limit(const struct us_tcb *tcb)
{
    uint32_t wnd = tcb->max_sndwnd > tcb->sndbuf ? tcb->max_sndwnd : tcb->sndbuf;
    uint32_t lim = wnd / (tcb->mss_send ? tcb->mss_send : 536u) / 2u + 2u;
    if (lim < TCP_SB_MIN)
        lim = TCP_SB_MIN;
    return lim > TCP_SB_LIMIT ? TCP_SB_LIMIT : lim;
}

/* Room for one more range: grow the array (doubling) up to the limit. */
static bool sb_room(struct tcp_sb *sb, uint32_t limit)
{
    if (sb->n < sb->cap)
        return true;
    if (sb->cap >= limit)
        return false;
    uint32_t cap = sb->cap ? 2u * sb->cap : TCP_SB_MIN;
    if (cap > limit)
        cap = limit;
    uint32_t (*p)[2] = realloc(sb->blk, (size_t)cap * sizeof(*p));
    if (!p)
        return false;
    sb->blk = p;
    sb->cap = cap;
    return true;
}

/* Index of the first range whose left edge is at or above `seq`. */
static uint32_t sb_search(const struct tcp_sb *sb, uint32_t seq)
{
    uint32_t lo = 0, hi = sb->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (seq_lt(sb->blk[mid][0], seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Merge [l, r) into the sorted list. When the list is full (no memory, or
 * the window's bound) the highest range gives way: forgetting SACKed data
 * only makes the sender more conservative. */
static void sb_add(struct tcp_sb *sb, uint32_t limit, uint32_t l, uint32_t r)
{
    uint32_t i = sb_search(sb, l);
    if (!sb_room(sb, limit)) {
        if (i == sb->n)
            return;
        sb->n--;
    }
    memmove(sb->blk[i + 1], sb->blk[i], (size_t)(sb->n - i) * sizeof(sb->blk[0]));
    sb->blk[i][0] = l;
    sb->blk[i][1] = r;
    sb->n++;
    /* coalesce with an overlapping or touching left neighbour, then swallow
     * the right neighbours the (possibly grown) range reaches */
    uint32_t j = i;
    if (j > 0 && seq_ge(sb->blk[j - 1][1], l)) {
        j--;
        sb->blk[j][1] = seq_max(sb->blk[j][1], r);
        sb_remove_n(sb, i, 1);
    }
    uint32_t k = j + 1;
    while (k < sb->n && seq_ge(sb->blk[j][1], sb->blk[k][0])) {
        sb->blk[j][1] = seq_max(sb->blk[j][1], sb->blk[k][1]);
        k++;
    }
    if (k > j + 1)
        sb_remove_n(sb, j + 1, k - j - 1);
}

/* Drop what `una` covers. Any block still starting at or below `una` is data
 * the receiver SACKed and then did not acknowledge cumulatively: it reneged. */
static bool sb_trim(struct tcp_sb *sb, uint32_t una)
{
    uint32_t k = 0;
    while (k < sb->n && seq_le(sb->blk[k][1], una))
        k++;
    if (k)
        sb_remove_n(sb, 0, k);
    return sb->n && seq_le(sb->blk[0][0], una);
}

bool tcp_sack_update(struct us_stack *st, struct us_tcb *tcb, const struct us_tcp_repr *s, uint32_t una)
{
    struct tcp_sb *sb = tcp_sack_sb(tcb);
    if (sb && sb_trim(sb, una)) {
        US_COUNT(st, TCP_SACK_RENEGED);
        sb->n = 0;
        return true;
    }
    if (s->nsack && tcp_ext(tcb))
        tcb->ext->sack_seen = true;              /* the peer really sends SACK blocks */
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
        sb_add(sb, sb_limit(tcb), l, r);
    }
    /* Keep no memory for an empty scoreboard outside recovery. */
    if (sb && sb->n == 0 && !(tcb->flags & TF_SACK_RCV))
        tcp_sack_clear(tcb);
    return false;
}

/* IsLost() for the hole just below block i: DupThresh SACKed blocks or more
 * than (DupThresh - 1) * SMSS SACKed bytes above it (RFC 6675 4). A block
 * holds at least one segment, so counting blocks under-counts segments:
 * conservative. Lower holes have more SACKed data above them, so the lost
 * holes are exactly holes 0 .. lost_holes() - 1; counting from the top takes
 * at most DupThresh steps. */
static uint32_t lost_holes(const struct tcp_sb *sb, uint32_t mss)
{
    uint32_t bytes = 0;
    for (uint32_t i = sb->n; i-- > 0;) {
        bytes += sb->blk[i][1] - sb->blk[i][0];
        if (bytes > (TCP_DUPTHRESH - 1) * mss || sb->n - i >= TCP_DUPTHRESH)
            return i + 1;
    }
    return 0;
}

bool tcp_sack_una_lost(const struct us_tcb *tcb)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    return sb && lost_holes(sb, tcb->mss_send) > 0;
}

uint32_t tcp_sack_skip(const struct us_tcb *tcb, uint32_t seq, uint32_t *limit)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    *limit = tcb->snd_max;
    if (!sb)
        return seq;
    uint32_t i = sb_search(sb, seq + 1);          /* first range starting above seq */
    if (i > 0 && seq_lt(seq, sb->blk[i - 1][1]))
        seq = sb->blk[i - 1][1];                  /* inside range i - 1: skip it */
    if (i < sb->n)
        *limit = seq_min(sb->blk[i][0], tcb->snd_max);
    return seq_min(seq, tcb->snd_max);
}

uint32_t tcp_sack_bytes_below(const struct us_tcb *tcb, uint32_t seq)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    uint32_t n = 0;
    for (uint32_t i = 0; sb && i < sb->n && seq_lt(sb->blk[i][0], seq); i++)
        n += seq_min(sb->blk[i][1], seq) - sb->blk[i][0];
    return n;
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
    uint32_t pipe = 0, a = tcb->snd_una, lost = lost_holes(sb, tcb->mss_send);
    for (uint32_t i = 0; i < sb->n; i++) {
        uint32_t b = sb->blk[i][0];
        if (i >= lost)
            pipe += b - a;
        pipe += rexmitted(sb, a, b);
        a = sb->blk[i][1];
    }
    if (seq_lt(a, tcb->snd_max))
        pipe += tcb->snd_max - a + rexmitted(sb, a, tcb->snd_max);
    return pipe;
}

/* The first block lies below the cumulative ACK or inside the second block. */
bool tcp_sack_is_dsack(const struct us_tcp_repr *s)
{
    if (!s->nsack)
        return false;
    if (seq_le(s->sack[0][1], s->ack))
        return true;
    return s->nsack > 1 && seq_ge(s->sack[0][0], s->sack[1][0]) && seq_le(s->sack[0][1], s->sack[1][1]);
}

uint32_t tcp_sack_bytes(const struct us_tcb *tcb)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    uint32_t n = 0;
    for (uint32_t i = 0; sb && i < sb->n; i++)
        n += sb->blk[i][1] - sb->blk[i][0];
    return n;
}

/* ---- RFC 6937 Proportional Rate Reduction ----------------------------------- */

void tcp_prr_start(struct us_tcb *tcb)
{
    if (!tcp_ext(tcb))
        return;
    struct tcp_prr *p = &tcb->ext->prr;
    uint32_t fs = tcp_sack_pipe(tcb);
    *p = (struct tcp_prr){ .delivered = p->last, .recover_fs = fs ? fs : 1, .last = p->last };
}

void tcp_prr_ack(struct us_tcb *tcb, uint32_t delivered, bool safe)
{
    if (!tcb->ext)
        return;
    struct tcp_prr *p = &tcb->ext->prr;
    p->delivered += delivered;
    p->last = delivered;
    p->safe = safe;
}

/* RFC 6937 3 with the choice of RFC 6937bis:
 *
 *   pipe > ssthresh:  sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
 *   else:             limit  = MAX(prr_delivered - prr_out, DeliveredData) + SMSS   (SSRB, safe ACK)
 *                          or  prr_delivered - prr_out                              (CRB, otherwise)
 *                     sndcnt = MIN(ssthresh - pipe, limit)
 *
 * A safe ACK advanced SND.UNA and revealed no new loss; on any other the
 * conservative bound keeps the sending at what was delivered, so a segment
 * marked lost never buys room for a burst into a queue that is dropping.
 * The first retransmission of a recovery leaves on entry whatever sndcnt
 * says (RFC 6937bis: at least one segment on the first ACK). An algorithm
 * with a model of its own (on_rate: BBR) sets cwnd through the recovery
 * itself and is not metered by PRR, as Linux's tcp_cong_control skips
 * tcp_cwnd_reduction for cong_control: BBR under random loss is otherwise
 * held to what was delivered for as long as each recovery lasts. */
uint32_t tcp_prr_sndcnt(const struct us_tcb *tcb)
{
    uint32_t pipe = tcp_sack_pipe(tcb);
    const struct tcp_prr *p = tcb->ext ? &tcb->ext->prr : NULL;
    if (!p || !p->recover_fs || tcp_cc_get(tcb->cc_idx)->on_rate)
        return tcb->cwnd > pipe ? tcb->cwnd - pipe : 0;
    int64_t cnt;
    if (pipe > tcb->ssthresh) {
        uint64_t target = ((uint64_t)p->delivered * tcb->ssthresh + p->recover_fs - 1) / p->recover_fs;
        cnt = (int64_t)target - p->out;
    } else {
        int64_t lim = (int64_t)p->delivered - p->out;
        if (p->safe)
            lim = (lim > (int64_t)p->last ? lim : (int64_t)p->last) + tcb->mss_send;
        int64_t room = (int64_t)tcb->ssthresh - pipe;
        cnt = room < lim ? room : lim;
        /* RFC 6937's conservative bound, prr_delivered - prr_out, is 0 once
         * the recovery sent more than was delivered (its slow-start bound
         * allows that): an ACK that marks a loss then sends nothing. With a
         * segment or none in flight, no ACK may come to clock the
         * retransmission (none at all when nothing is in flight), and no
         * probe is armed while a loss is pending: it waited for the RTO
         * (issue 8: 4 RTOs per 30 MB over TAP at 2% loss and 5% reordering).
         * Then one segment, as Linux forces one when nothing was sent yet.
         * (Linux's bound, what the ACK delivered, refilled a dropping queue
         * after a slow-start overshoot: test_cubic, 39,108 retransmissions.) */
        if (pipe <= tcb->mss_send && cnt < (int64_t)tcb->mss_send)
            cnt = tcb->mss_send;
    }
    return cnt > 0 ? (uint32_t)cnt : 0;
}

bool tcp_sack_next_hole(const struct us_tcb *tcb, bool lost, uint32_t *seq, uint32_t *len)
{
    const struct tcp_sb *sb = tcp_sack_sb(tcb);
    if (!sb)
        return false;
    /* holes wholly below HighRxt were retransmitted already: the first
     * candidate is the hole below the first range starting above HighRxt */
    uint32_t from = seq_max(tcb->snd_una, sb->high_rxt);
    uint32_t i = sb_search(sb, from + 1);
    if (i == sb->n || (lost && i >= lost_holes(sb, tcb->mss_send)))
        return false;
    if (i > 0)
        from = seq_max(from, sb->blk[i - 1][1]);
    uint32_t b = sb->blk[i][0];
    if (!seq_lt(from, b))
        return false;
    *seq = from;
    *len = b - from < tcb->mss_send ? b - from : tcb->mss_send;
    return true;
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
    for (int64_t i = sb->n; i >= 0 && seq_ge(bottom, top); i--) {
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
