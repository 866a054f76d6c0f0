/* libFuzzer harness: arbitrary input is split into Ethernet frames and fed to a
 * stack with a UDP socket, a TCP listener and an established-looking peer.
 * Input format: repeated [len_hi len_lo frame…]; a leading byte picks flags. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/ustack.h>

static const uint8_t our_mac[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t peer_mac[6] = {2, 0, 0, 0, 0, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct us_pktpool *pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 4096);
    struct us_dev *a, *b;
    if (us_pipe_pair(pool, 1500, our_mac, peer_mac, &a, &b) < 0)
        abort();
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = 0xC6120002u;
    cfg.deterministic = true;
    cfg.reasm_max_bytes = 64 * 1024;
    char err[128];
    struct us_stack *st = us_stack_new(&cfg, a, 0, err, sizeof(err));
    if (!st)
        abort();
    int u = us_socket(st, US_SOCK_DGRAM);
    struct us_sockaddr ua = {0, 7};
    us_bind(st, u, &ua, 0);
    int l = us_socket(st, US_SOCK_STREAM);
    struct us_sockaddr la = {0, 80};
    us_bind(st, l, &la, 0);
    us_listen(st, l, 8, 0);

    us_time_t now = US_MS(1);
    size_t off = 0;
    while (off + 2 <= size) {
        size_t len = (size_t)((data[off] << 8) | data[off + 1]) % 1600;
        off += 2;
        if (len > size - off)
            len = size - off;
        struct us_pkt *p = us_pkt_from(pool, data + off, (uint32_t)len);
        off += len;
        if (p)
            us_stack_input(st, p, now);
        now += US_MS(50);
        us_stack_poll(st, now);
        /* read whatever arrived so queues drain */
        uint8_t buf[2048];
        struct us_sockaddr from;
        while (us_recvfrom(st, u, buf, sizeof(buf), 0, &from, now) > 0)
            ;
        int c;
        while ((c = us_accept(st, l, &from, now)) >= 0) {
            us_recv(st, c, buf, sizeof(buf), 0, now);
            us_send(st, c, "hello", 5, 0, now);
            us_close(st, c, now);
        }
        /* discard what the stack sent */
        struct us_pkt *out[64];
        int n;
        while ((n = us_dev_recv(b, out, 64, now)) > 0)
            for (int i = 0; i < n; i++)
                us_pkt_free(out[i]);
    }
    /* let every timer run out: reassembly, ARP, TCP */
    for (int i = 0; i < 50; i++) {
        us_time_t d = us_stack_poll(st, now);
        if (d == US_TIME_NEVER)
            break;
        now = d > now ? d : now + 1;
        struct us_pkt *out[64];
        int n;
        while ((n = us_dev_recv(b, out, 64, now)) > 0)
            for (int k = 0; k < n; k++)
                us_pkt_free(out[k]);
    }
    us_close(st, u, now);
    us_close(st, l, now);
    us_stack_free(st);
    us_dev_destroy(a);
    us_dev_destroy(b);
    us_pktpool_free(pool);
    return 0;
}
