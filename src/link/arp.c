/* ARP for IPv4 over Ethernet (RFC 826), with the host rules of RFC 1122 2.3.2.
 *
 * Paths through this file:
 *   send     us_arp_output -> fresh RESOLVED entry: send at once
 *                          -> expired entry: send at once to the address it had
 *                             and confirm it with a unicast request (RFC 1122
 *                             2.3.2.1 "unicast poll", Linux's STALE/PROBE)
 *                          -> no entry: create INCOMPLETE, queue, broadcast a request
 *                          -> INCOMPLETE: queue (bounded, the oldest is dropped)
 *                          -> a new address while arp_unres_max are pending:
 *                             the oldest pending entry gives way
 *                          -> arp_pending_max packets pending in all: the
 *                             oldest pending packet is dropped
 *   timer    arp_retry_fn  -> another request every arp_retry, or after
 *                             arp_max_retries requests drop the queue and forget
 *                             (an unanswered poll: forget, the next send resolves)
 *   receive  us_arp_input  -> malformed: count, drop
 *                          -> sender claims our address: conflict, drop
 *                          -> RFC 826 merge: update the sender if known (this
 *                             also resolves INCOMPLETE and flushes its queue)
 *                          -> target is us: learn the sender; answer requests
 *
 * The cache is a fixed array of US_ARP_CACHE_SIZE entries with chained hash
 * buckets. Resolved entries age lazily — they are checked against `expires`
 * when used — so a quiet stack has no ARP timers and the simulator can tell a
 * stuck run from a waiting one. Only unresolved entries, and expired ones still
 * in use while their poll runs, hold a timer. Using an expired entry rather
 * than resolving it again keeps a known neighbour's packets out of the pending
 * queues below, where a SYN flood's SYN-ACKs would push them out before the
 * answer came.
 *
 * Pending state is bounded twice over, so that traffic towards addresses that
 * never answer (a SYN flood's spoofed sources draw a cookie SYN-ACK each) holds
 * a fixed amount of memory: the number of unresolved entries (arp_unres_max,
 * like Linux's gc_thresh for the table) and the packets queued on all of them
 * (arp_pending_max, like Linux's unres_qlen but for the whole table, since a
 * per-address bound alone multiplies with the number of addresses). Both drop
 * the oldest: the newest packets are the ones worth delivering.
 */
#include <errno.h>
#include <string.h>
#include "link_priv.h"

#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

/* An ARP packet as plain fields (RFC 826 "Packet format"). */
struct arp_pkt {
    uint16_t htype, ptype;
    uint8_t hlen, plen;
    uint16_t op;
    uint8_t sha[6];
    us_ip4_t spa;
    uint8_t tha[6];
    us_ip4_t tpa;
};

/* Returns 0 for an Ethernet/IPv4 request or reply, -1 for anything else. */
static int arp_parse(const uint8_t *p, uint32_t len, struct arp_pkt *a)
{
    if (len < US_ARP_LEN)
        return -1;
    a->htype = us_get16(p);
    a->ptype = us_get16(p + 2);
    a->hlen = p[4];
    a->plen = p[5];
    a->op = us_get16(p + 6);
    memcpy(a->sha, p + 8, 6);
    a->spa = us_get32(p + 14);
    memcpy(a->tha, p + 18, 6);
    a->tpa = us_get32(p + 24);
    if (a->htype != ARP_HTYPE_ETHER || a->ptype != US_ETHERTYPE_IPV4 || a->hlen != 6 || a->plen != 4)
        return -1;
    if (a->op != ARP_OP_REQUEST && a->op != ARP_OP_REPLY)
        return -1;
    if (a->sha[0] & 1) /* a group address cannot own an IP address */
        return -1;
    return 0;
}

static void arp_write(uint8_t *p, const struct arp_pkt *a)
{
    us_put16(p, a->htype);
    us_put16(p + 2, a->ptype);
    p[4] = a->hlen;
    p[5] = a->plen;
    us_put16(p + 6, a->op);
    memcpy(p + 8, a->sha, 6);
    us_put32(p + 14, a->spa);
    memcpy(p + 18, a->tha, 6);
    us_put32(p + 24, a->tpa);
}

/* ---- configuration with safe floors ---- */
static us_time_t arp_ttl(const struct us_stack *st) { return st->cfg.arp_ttl ? st->cfg.arp_ttl : US_SEC(60); }
static us_time_t arp_retry(const struct us_stack *st) { return st->cfg.arp_retry ? st->cfg.arp_retry : US_SEC(1); }
static uint32_t arp_max_retries(const struct us_stack *st) { return st->cfg.arp_max_retries ? st->cfg.arp_max_retries : 1; }
/* RFC 1122 2.3.2.2: SHOULD save at least one (the latest) packet. */
static uint32_t arp_queue_len(const struct us_stack *st) { return st->cfg.arp_queue_len ? st->cfg.arp_queue_len : 1; }
static uint32_t arp_unres_max(const struct us_stack *st)
{
    uint32_t n = st->cfg.arp_unres_max ? st->cfg.arp_unres_max : 1;
    return n < US_ARP_CACHE_SIZE ? n : US_ARP_CACHE_SIZE;
}
static uint32_t arp_pending_max(const struct us_stack *st)
{
    return st->cfg.arp_pending_max ? st->cfg.arp_pending_max : 1;
}

/* ---- the cache ---- */
static uint32_t arp_hash(const struct us_link_state *ls, us_ip4_t ip)
{
    return ((ip ^ ls->hash_salt) * 2654435761u) >> (32 - US_ARP_HASH_BITS);
}

static struct us_arp_entry *arp_find(struct us_link_state *ls, us_ip4_t ip)
{
    for (uint32_t i = ls->buckets[arp_hash(ls, ip)]; i != US_ARP_NIL; i = ls->entries[i].hnext)
        if (ls->entries[i].ip == ip)
            return &ls->entries[i];
    return NULL;
}

static void arp_unlink(struct us_link_state *ls, struct us_arp_entry *e)
{
    uint32_t idx = (uint32_t)(e - ls->entries);
    uint32_t *pp = &ls->buckets[arp_hash(ls, e->ip)];
    while (*pp != US_ARP_NIL && *pp != idx)
        pp = &ls->entries[*pp].hnext;
    if (*pp == idx)
        *pp = e->hnext;
}

/* ---- the pending list: INCOMPLETE entries, oldest first ---- */
static void arp_pending_link(struct us_link_state *ls, struct us_arp_entry *e)
{
    uint32_t idx = (uint32_t)(e - ls->entries);
    e->unext = US_ARP_NIL;
    e->uprev = ls->unres_tail;
    if (ls->unres_tail != US_ARP_NIL)
        ls->entries[ls->unres_tail].unext = idx;
    else
        ls->unres_head = idx;
    ls->unres_tail = idx;
    ls->unres++;
}

static void arp_pending_unlink(struct us_link_state *ls, struct us_arp_entry *e)
{
    if (e->uprev != US_ARP_NIL)
        ls->entries[e->uprev].unext = e->unext;
    else
        ls->unres_head = e->unext;
    if (e->unext != US_ARP_NIL)
        ls->entries[e->unext].uprev = e->uprev;
    else
        ls->unres_tail = e->uprev;
    ls->unres--;
}

/* Drop e's queued packets, counted under `id`. */
static void arp_queue_purge(struct us_stack *st, struct us_arp_entry *e, enum us_link_counter id)
{
    US_COUNT_SLOT_N(st, US_LINK_SLOT, id, e->queue.count);
    link_state(st)->pending -= e->queue.count;
    us_pktq_purge(&e->queue);
}

/* Forget an entry; its queued packets (if any) are dropped as unresolved. */
static void arp_release(struct us_stack *st, struct us_arp_entry *e)
{
    struct us_link_state *ls = link_state(st);
    arp_queue_purge(st, e, US_C_ARP_DROP_UNRESOLVED);
    if (e->state == US_ARP_INCOMPLETE)
        arp_pending_unlink(ls, e);
    us_timer_cancel(&st->timers, &e->timer);
    arp_unlink(ls, e);
    e->state = US_ARP_FREE;
    e->hnext = ls->free_head;
    ls->free_head = (uint32_t)(e - ls->entries);
    ls->used--;
}

/* The cache is full: evict an expired entry, else the least recently used
 * resolved one. Pending entries are never evicted (their packets would be
 * lost), so a cache full of pending look-ups refuses new ones. O(n) on a rare
 * path keeps the common path free of list upkeep. */
static bool arp_evict(struct us_stack *st, us_time_t now)
{
    struct us_link_state *ls = link_state(st);
    struct us_arp_entry *victim = NULL;
    for (uint32_t i = 0; i < US_ARP_CACHE_SIZE; i++) {
        struct us_arp_entry *e = &ls->entries[i];
        if (e->state != US_ARP_RESOLVED)
            continue;
        if (e->expires <= now) {
            victim = e;
            break;
        }
        if (!victim || e->touched < victim->touched)
            victim = e;
    }
    if (!victim)
        return false;
    US_COUNT(st, ARP_CACHE_EVICTIONS);
    arp_release(st, victim);
    return true;
}

/* arp_unres_max addresses are pending: the oldest gives way to a new one. */
static void arp_evict_pending(struct us_stack *st)
{
    struct us_link_state *ls = link_state(st);
    struct us_arp_entry *e = &ls->entries[ls->unres_head];
    US_COUNT(st, ARP_UNRES_EVICTED);
    arp_queue_purge(st, e, US_C_ARP_DROP_PENDING_FULL);
    arp_release(st, e);
}

/* arp_pending_max packets are pending in all: drop the oldest, the head of
 * the oldest entry holding any (at most arp_unres_max steps). */
static void arp_drop_oldest_pending(struct us_stack *st)
{
    struct us_link_state *ls = link_state(st);
    for (uint32_t i = ls->unres_head; i != US_ARP_NIL; i = ls->entries[i].unext) {
        struct us_arp_entry *e = &ls->entries[i];
        if (e->queue.count) {
            US_COUNT(st, ARP_DROP_PENDING_FULL);
            us_pkt_free(us_pktq_pop(&e->queue));
            ls->pending--;
            return;
        }
    }
}

static void arp_retry_fn(struct us_stack *st, struct us_timer *t, us_time_t now);

static struct us_arp_entry *arp_alloc(struct us_stack *st, us_ip4_t ip, us_time_t now)
{
    struct us_link_state *ls = link_state(st);
    if (ls->free_head == US_ARP_NIL && !arp_evict(st, now))
        return NULL;
    uint32_t idx = ls->free_head;
    struct us_arp_entry *e = &ls->entries[idx];
    ls->free_head = e->hnext;
    ls->used++;
    memset(e->mac, 0, sizeof(e->mac));
    e->ip = ip;
    e->state = US_ARP_INCOMPLETE;
    e->retries = 0;
    e->expires = 0;
    e->touched = now;
    us_timer_init(&e->timer, arp_retry_fn);
    us_pktq_init(&e->queue);
    uint32_t b = arp_hash(ls, ip);
    e->hnext = ls->buckets[b];
    ls->buckets[b] = idx;
    arp_pending_link(ls, e);
    return e;
}

/* A resolved entry past its lifetime whose poll runs (a unicast request is out). */
static bool arp_polling(const struct us_arp_entry *e) { return e->state == US_ARP_RESOLVED && e->retries > 0; }

/* Find a usable entry; a resolved entry past its lifetime is forgotten here
 * (lazy ageing) so the caller resolves the address again, unless it is being
 * polled. */
static struct us_arp_entry *arp_find_fresh(struct us_stack *st, us_ip4_t ip, us_time_t now)
{
    struct us_arp_entry *e = arp_find(link_state(st), ip);
    if (e && e->state == US_ARP_RESOLVED && e->expires <= now && !arp_polling(e)) {
        US_COUNT(st, ARP_EXPIRED);
        arp_release(st, e);
        return NULL;
    }
    return e;
}

void us_arp_init(struct us_stack *st, struct us_link_state *ls)
{
    ls->free_head = US_ARP_NIL;
    for (uint32_t i = US_ARP_CACHE_SIZE; i-- > 0;) {
        ls->entries[i].state = US_ARP_FREE;
        ls->entries[i].hnext = ls->free_head;
        ls->free_head = i;
    }
    for (uint32_t b = 0; b < (1u << US_ARP_HASH_BITS); b++)
        ls->buckets[b] = US_ARP_NIL;
    ls->used = 0;
    ls->unres_head = ls->unres_tail = US_ARP_NIL;
    ls->unres = ls->pending = 0;
    ls->hash_salt = us_get32(st->secret);
}

void us_arp_fini(struct us_stack *st)
{
    struct us_link_state *ls = link_state(st);
    for (uint32_t i = 0; i < US_ARP_CACHE_SIZE; i++) {
        struct us_arp_entry *e = &ls->entries[i];
        if (e->state == US_ARP_FREE)
            continue;
        us_pktq_purge(&e->queue);
        us_timer_cancel(&st->timers, &e->timer);
        e->state = US_ARP_FREE;
    }
    ls->used = 0;
    ls->unres_head = ls->unres_tail = US_ARP_NIL;
    ls->unres = ls->pending = 0;
}

/* ---- sending ARP packets ---- */
static int arp_send(struct us_stack *st, const struct arp_pkt *a, const uint8_t dst[6], us_time_t now)
{
    struct us_pkt *p = us_pkt_alloc(st->pool);
    uint8_t *d = p ? us_pkt_put(p, US_ARP_LEN) : NULL;
    if (!d) {
        US_COUNT(st, ETH_DROP_NOMEM);
        us_pkt_free(p);
        return -ENOBUFS;
    }
    arp_write(d, a);
    return us_eth_send(st, p, dst, US_ETHERTYPE_ARP, now);
}

static void arp_fill_request(const struct us_stack *st, struct arp_pkt *a, us_ip4_t spa, us_ip4_t tpa)
{
    a->htype = ARP_HTYPE_ETHER;
    a->ptype = US_ETHERTYPE_IPV4;
    a->hlen = 6;
    a->plen = 4;
    a->op = ARP_OP_REQUEST;
    memcpy(a->sha, st->dev->mac, 6);
    a->spa = spa;
    memset(a->tha, 0, 6); /* RFC 5227 2.1.1: SHOULD be zero in requests */
    a->tpa = tpa;
}

int us_arp_announce(struct us_stack *st, us_time_t now)
{
    /* RFC 5227 2.3: an announcement is a request with sender and target IP
     * both ours, broadcast. */
    struct arp_pkt a;
    arp_fill_request(st, &a, st->cfg.ip, st->cfg.ip);
    US_COUNT(st, ARP_REQUESTS_SENT);
    return arp_send(st, &a, us_eth_broadcast, now);
}

/* Send a request for e (broadcast; to the address it had when polling) and
 * schedule the next try. */
static void arp_request(struct us_stack *st, struct us_arp_entry *e, us_time_t now)
{
    struct arp_pkt a;
    arp_fill_request(st, &a, st->cfg.ip, e->ip);
    e->retries++;
    US_COUNT(st, ARP_REQUESTS_SENT);
    /* a lost request is retried like a lost frame */
    (void)arp_send(st, &a, e->state == US_ARP_RESOLVED ? e->mac : us_eth_broadcast, now);
    if (us_timer_arm(&st->timers, &e->timer, now + arp_retry(st)) < 0)
        arp_release(st, e); /* without a timer the entry would hold its queue forever */
}

static void arp_retry_fn(struct us_stack *st, struct us_timer *t, us_time_t now)
{
    struct us_arp_entry *e = us_container_of(t, struct us_arp_entry, timer);
    if (e->retries < arp_max_retries(st)) {
        arp_request(st, e, now);
        return;
    }
    US_LOG(st, US_LOG_DEBUG, "arp: %u.%u.%u.%u %s after %u requests, dropping %u packets",
           e->ip >> 24, (e->ip >> 16) & 0xff, (e->ip >> 8) & 0xff, e->ip & 0xff,
           e->state == US_ARP_RESOLVED ? "no longer answers" : "unresolved", e->retries, e->queue.count);
    arp_release(st, e);
}

/* ---- resolution ---- */
int us_arp_output(struct us_stack *st, struct us_pkt *pkt, us_ip4_t nexthop, us_time_t now)
{
    struct us_arp_entry *e = arp_find(link_state(st), nexthop);
    if (e && e->state == US_ARP_RESOLVED) {
        e->touched = now;
        int rc = us_eth_send(st, pkt, e->mac, US_ETHERTYPE_IPV4, now);
        if (e->expires <= now && !arp_polling(e)) {
            US_COUNT(st, ARP_EXPIRED);
            arp_request(st, e, now); /* the poll: its answer renews the entry */
        }
        return rc;
    }
    bool fresh = false;
    if (!e) {
        if (link_state(st)->unres >= arp_unres_max(st))
            arp_evict_pending(st);
        e = arp_alloc(st, nexthop, now);
        if (!e) {
            US_COUNT(st, ARP_DROP_CACHE_FULL);
            us_pkt_free(pkt);
            return -ENOBUFS;
        }
        fresh = true;
    }
    /* RFC 1122 2.3.2.2: keep the latest packets; the oldest makes room. */
    struct us_link_state *ls = link_state(st);
    if (e->queue.count >= arp_queue_len(st)) {
        US_COUNT(st, ARP_DROP_QUEUE_FULL);
        us_pkt_free(us_pktq_pop(&e->queue));
        ls->pending--;
    } else if (ls->pending >= arp_pending_max(st)) {
        arp_drop_oldest_pending(st);
    }
    us_pktq_push(&e->queue, pkt);
    ls->pending++;
    US_COUNT(st, ARP_QUEUED);
    if (fresh)
        arp_request(st, e, now);
    return 0;
}

/* Record sender's MAC in e; an entry that was waiting sends its queue now. */
static void arp_update(struct us_stack *st, struct us_arp_entry *e, const uint8_t mac[6], us_time_t now)
{
    memcpy(e->mac, mac, 6);
    e->expires = now + arp_ttl(st);
    e->touched = now;
    e->retries = 0;
    us_timer_cancel(&st->timers, &e->timer); /* the retry or the poll */
    if (e->state == US_ARP_RESOLVED)
        return;
    e->state = US_ARP_RESOLVED;
    struct us_link_state *ls = link_state(st);
    arp_pending_unlink(ls, e);
    ls->pending -= e->queue.count;
    struct us_pkt *p;
    while ((p = us_pktq_pop(&e->queue)) != NULL)
        (void)us_eth_send(st, p, e->mac, US_ETHERTYPE_IPV4, now);
}

/* Turn the received request in pkt into our reply (RFC 826: swap sender and
 * target, fill in our hardware address, set the opcode to reply). */
static void arp_reply(struct us_stack *st, struct us_pkt *pkt, const struct arp_pkt *req, us_time_t now)
{
    struct arp_pkt r = *req;
    r.op = ARP_OP_REPLY;
    memcpy(r.tha, req->sha, 6);
    r.tpa = req->spa;
    memcpy(r.sha, st->dev->mac, 6);
    r.spa = st->cfg.ip;
    us_pkt_trim(pkt, US_ARP_LEN);
    arp_write(pkt->data, &r);
    US_COUNT(st, ARP_REPLIES_SENT);
    (void)us_eth_send(st, pkt, req->sha, US_ETHERTYPE_ARP, now);
}

void us_arp_input(struct us_stack *st, struct us_pkt *pkt, us_time_t now)
{
    US_COUNT(st, ARP_RX);
    struct arp_pkt a;
    if (arp_parse(pkt->data, pkt->len, &a) < 0) {
        US_COUNT(st, ARP_DROP_MALFORMED);
        us_pkt_free(pkt);
        return;
    }
    us_ip4_t me = st->cfg.ip;
    if (me != 0 && a.spa == me) {
        /* Someone else claims our address (RFC 5227 2.4); our own frames
         * looped back carry our MAC and are simply ignored. */
        if (memcmp(a.sha, st->dev->mac, 6) != 0) {
            US_COUNT(st, ARP_CONFLICT);
            US_LOG(st, US_LOG_WARN, "arp: address conflict: %02x:%02x:%02x:%02x:%02x:%02x claims our address",
                   a.sha[0], a.sha[1], a.sha[2], a.sha[3], a.sha[4], a.sha[5]);
        }
        us_pkt_free(pkt);
        return;
    }
    /* RFC 826 merge rule: update the sender if it is already in the table.
     * Sender 0.0.0.0 is an RFC 5227 probe and teaches nothing. */
    bool merged = false;
    struct us_arp_entry *e = a.spa ? arp_find_fresh(st, a.spa, now) : NULL;
    if (e) {
        arp_update(st, e, a.sha, now);
        merged = true;
    }
    if (me == 0 || a.tpa != me) {
        if (!merged)
            US_COUNT(st, ARP_DROP_NOT_FOR_US);
        us_pkt_free(pkt);
        return;
    }
    /* "If the merge flag is false, add the triplet to the table." */
    if (!merged && a.spa) {
        e = arp_alloc(st, a.spa, now);
        if (e)
            arp_update(st, e, a.sha, now);
        else
            US_COUNT(st, ARP_DROP_CACHE_FULL);
    }
    if (a.op == ARP_OP_REQUEST)
        arp_reply(st, pkt, &a, now);
    else
        us_pkt_free(pkt);
}

int us_arp_lookup(struct us_stack *st, us_ip4_t ip, uint8_t mac[6])
{
    if (!link_state(st))
        return 0;
    struct us_arp_entry *e = arp_find(link_state(st), ip);
    if (!e || e->state != US_ARP_RESOLVED || (e->expires <= st->now && !arp_polling(e)))
        return 0;
    memcpy(mac, e->mac, 6);
    return 1;
}
