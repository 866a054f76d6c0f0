#!/usr/bin/env bash
# SYN flood: 20,000 SYNs with spoofed sources inside the namespace's /24
# (198.18.0.10-250, addresses nobody answers ARP for), paced at about 4,000/s
# with scapy on the TAP device (syn_flood.py and syn_flood_clients.py here,
# which bench/syn_flood.sh shares), at `ustack echo` with a SYN queue of 128. While
# the flood runs, a Linux client connects 20 times and echoes 20 KB each time:
# at least 19 must succeed byte-exact. The SYN cookie counters show the queue
# overflowed and cookies carried the connections; ustack's VmRSS is printed
# before and after and must grow by less than 4 MB (the SYN-ACKs towards the
# spoofed sources wait for ARP within arp_pending_max).
source "$(dirname "$0")/lib.sh"
PORT=7
PY=/usr/bin/python3              # the distribution's python3, which has python3-scapy
$PY -c 'import scapy.all' 2>/dev/null || { echo "SKIP: python3-scapy not installed"; exit 77; }

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
timeout 60 nsenter --net="/run/netns/$NS" $PY "$(dirname "$0")/syn_flood.py" "$TAP" "$US_MAC" "$US_IP" $PORT 20000 4000 \
    "$TMP/stamps" >"$TMP/flood.out" 2>&1 &
FLOOD_PID=$!
PIDS+=("$FLOOD_PID")
for _ in $(seq 1 200); do grep -q '^start' "$TMP/stamps" 2>/dev/null && break; sleep 0.05; done
sleep 0.3                        # the flood has filled the SYN queue (128 at 4,000/s: 32 ms)
timeout 300 nsenter --net="/run/netns/$NS" python3 "$(dirname "$0")/syn_flood_clients.py" "$US_IP" $PORT 20 20000 0.15 \
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
