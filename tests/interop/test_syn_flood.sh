#!/usr/bin/env bash
# SYN flood: 20,000 SYNs with spoofed sources inside the namespace's /24
# (198.18.0.10-250, addresses nobody answers ARP for), paced at about 4,000/s
# with scapy on the TAP device, at `ustack echo` with a SYN queue of 128. While
# the flood runs, a Linux client connects 20 times and echoes 20 KB each time:
# at least 19 must succeed byte-exact. The SYN cookie counters show the queue
# overflowed and cookies carried the connections; ustack's VmRSS is printed
# before and after and must grow by less than 4 MB (the SYN-ACKs towards the
# spoofed sources wait for ARP within arp_pending_max).
source "$(dirname "$0")/lib.sh"
PORT=7
PY=/usr/bin/python3              # the distribution's python3, which has python3-scapy
$PY -c 'import scapy.all' 2>/dev/null || { echo "SKIP: python3-scapy not installed"; exit 77; }

cat >"$TMP/flood.py" <<'PY'
# flood.py IFACE DST_MAC DST_IP PORT COUNT RATE STAMPFILE: COUNT SYNs from random
# sources 198.18.0.10-250 (random ports and sequence numbers) at about RATE/s.
import random, struct, sys, time
from scapy.all import Ether, IP, TCP, raw, conf
iface, dmac, dst, port, count, rate, stamp = sys.argv[1:8]
port, count, rate = int(port), int(count), float(rate)
assert count <= 20000
tmpl = bytearray(raw(Ether(dst=dmac, src="02:00:00:00:00:66") / IP(src="198.18.0.10", dst=dst, ttl=64) /
                     TCP(sport=1024, dport=port, flags="S", window=64240, options=[("MSS", 1460)])))

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

rng = random.Random(4987)
sock = conf.L2socket(iface=iface)
t0 = time.monotonic()
with open(stamp, "w") as f:
    f.write(f"start {time.time():.3f}\n")
for i in range(count):
    b = tmpl[:]
    src = bytes([198, 18, 0, rng.randint(10, 250)])
    b[26:30] = src
    b[24:26] = b"\0\0"
    b[24:26] = struct.pack("!H", csum(bytes(b[14:34])))
    struct.pack_into("!H", b, 34, rng.randint(1024, 65535))      # source port
    struct.pack_into("!I", b, 38, rng.getrandbits(32))           # sequence number
    b[50:52] = b"\0\0"
    seg = bytes(b[34:])
    pseudo = src + bytes(b[30:34]) + struct.pack("!BBH", 0, 6, len(seg))
    b[50:52] = struct.pack("!H", csum(pseudo + seg))
    sock.send(bytes(b))
    ahead = (i + 1) / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
    if time.monotonic() - t0 > 30:
        break
with open(stamp, "a") as f:
    f.write(f"end {time.time():.3f} sent {i + 1}\n")
print(f"flood: {i + 1} SYNs in {time.monotonic() - t0:.1f} s")
PY

cat >"$TMP/clients.py" <<'PY'
# clients.py IP PORT N SIZE GAP: N sequential connects, each echoes SIZE random
# bytes; prints the start time of each and the successes.
import os, socket, sys, time
ip, port, n, size, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
ok = 0
for k in range(n):
    t = time.time()
    try:
        data = os.urandom(size)
        s = socket.create_connection((ip, port), timeout=10)
        s.settimeout(10)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        if bytes(got) == data:
            ok += 1
            print(f"connect {k} at {t:.3f}: ok ({time.time() - t:.2f} s)")
        else:
            print(f"connect {k} at {t:.3f}: echo differs ({len(got)} of {size} bytes)")
    except Exception as e:
        print(f"connect {k} at {t:.3f}: {e!r}")
    time.sleep(gap)
print(f"clients: {ok} of {n} echoed byte-exact")
PY

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# counters now: SIGUSR1, wait for the list to be complete
snapshot() {
    local before
    before=$(grep -c '^counters:' "$TMP/echo.log" || true)
    kill -USR1 "$USTACK_PID"
    for _ in $(seq 1 100); do
        [ "$(grep -c '^counters:' "$TMP/echo.log" || true)" -gt "$before" ] && break
        sleep 0.05
    done
    sleep 0.2
}

start_ustack echo --synq 128 echo --port $PORT --duration 600
sleep 0.5
rss0=$(rss "$USTACK_PID")
# the Linux side's own (legitimate) neighbour entry is learned normally;
# nothing in the namespace answers ARP for the spoofed sources
timeout 60 nsenter --net="/run/netns/$NS" $PY "$TMP/flood.py" "$TAP" "$US_MAC" "$US_IP" $PORT 20000 4000 \
    "$TMP/stamps" >"$TMP/flood.out" 2>&1 &
FLOOD_PID=$!
PIDS+=("$FLOOD_PID")
for _ in $(seq 1 200); do grep -q '^start' "$TMP/stamps" 2>/dev/null && break; sleep 0.05; done
sleep 0.3                        # the flood has filled the SYN queue (128 at 4,000/s: 32 ms)
timeout 300 nsenter --net="/run/netns/$NS" python3 "$TMP/clients.py" "$US_IP" $PORT 20 20000 0.15 \
    >"$TMP/clients.out" 2>&1 || true
wait "$FLOOD_PID" || fail "flood script failed: $(cat "$TMP/flood.out")"
cat "$TMP/flood.out" "$TMP/clients.out"
end=$(awk '$1 == "end" { print $2 }' "$TMP/stamps")
sent=$(awk '$1 == "end" { print $4 }' "$TMP/stamps")
[ "$sent" -ge 10000 ] || fail "the flood sent only $sent SYNs"
ok=$(sed -n 's/^clients: \([0-9]*\) of .*/\1/p' "$TMP/clients.out")
[ -n "$ok" ] && [ "$ok" -ge 19 ] || fail "only ${ok:-0} of 20 connects echoed during the flood"
# the connects ran during the flood (at least 15 started before it ended)
during=$(awk -v e="$end" '$1 == "connect" { t = $4; sub(":", "", t); if (t + 0 < e + 0) n++ } END { print n + 0 }' "$TMP/clients.out")
echo "connects started during the flood: $during"
[ "$during" -ge 15 ] || fail "only $during connects started while the flood ran"
sleep 1
snapshot
rss1=$(rss "$USTACK_PID")
for c in tcp.syncookies_sent tcp.syncookies_valid tcp.syncookies_invalid tcp.syncookie_connections \
         tcp.drop_syn_queue_full tcp.syn_queue_evicted tcp.synack_peer_unresolved tcp.drop_accept_queue_full \
         tcp.passive_opens; do
    echo "$c $(counter "$TMP/echo.log" $c)"
done
# what an operator reads: the statistics by layer of the last snapshot
awk '/^statistics:/ { n = NR; delete l } n { l[NR] = $0 } END { for (i = n; i in l; i++) print l[i] }' "$TMP/echo.log" \
    | awk '/^[A-Z][a-z]*:$/ { on = ($1 == "Arp:" || $1 == "Tcp:") } on'
echo "ustack VmRSS: ${rss0} kB before the flood, ${rss1} kB after (grew $((rss1 - rss0)) kB)"
for c in arp.queued arp.drop_pending_full arp.unresolved_evicted arp.drop_unresolved arp.drop_cache_full; do
    echo "$c $(counter "$TMP/echo.log" $c)"
done
[ "$(counter "$TMP/echo.log" tcp.syncookies_sent)" -ge 5000 ] || fail "few SYN cookies sent"
[ "$(counter "$TMP/echo.log" tcp.syncookie_connections)" -ge 1 ] || fail "no connection came from a cookie"
[ "$(counter "$TMP/echo.log" tcp.syncookies_valid)" -ge "$(counter "$TMP/echo.log" tcp.syncookie_connections)" ] \
    || fail "more cookie connections than valid cookies"
# Memory stays flat: the packets held for the spoofed peers are bounded by
# arp_pending_max (256 pool buffers of ~1.6 KB at MTU 1500, ~430 KB), the SYN
# queue by --synq (128 entries), the accepted connections by 20 clients one at a
# time. 4 MB is ten times that and a sixth of the 21 MB the unbounded ARP queues
# (241 addresses x up to 64 SYN-ACKs) took.
[ $((rss1 - rss0)) -lt 4096 ] || fail "VmRSS grew by $((rss1 - rss0)) kB under the flood (bound 4096 kB)"
[ "$(counter "$TMP/echo.log" arp.drop_pending_full)" -ge 1 ] || fail "the ARP pending bound was never reached"
stop_ustack "$USTACK_PID" || fail "ustack echo exit status $?"
echo "PASS: $ok of 20 connects echoed during a flood of $sent spoofed SYNs"
