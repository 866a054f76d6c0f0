#!/usr/bin/env bash
# ustack explains Nagle x delayed ACK in another TCP's trace: a Linux client
# (Nagle on) writes a request in two small pieces to `ustack sink`, which has
# nothing to send and delays its ACKs; the second piece waits in Linux for that
# ACK. `ustack analyze` on the capture taken on the Linux side names it
# (nagle-delayed-ack) with the ACK held about ustack's 40 ms delayed-ACK time;
# with TCP_NODELAY on the client the same exchange shows no such finding.
source "$(dirname "$0")/lib.sh"
PORT=5001
cat >"$TMP/twopiece.py" <<'PY'
# twopiece.py IP PORT NODELAY N: N requests of 120 + 100 bytes, each piece its
# own send(), 300 ms apart (so each starts with nothing in flight).
import socket, sys, time
ip, port, nodelay, n = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
s = None
for _ in range(50):
    try:
        s = socket.create_connection((ip, port), timeout=5)
        break
    except OSError:
        time.sleep(0.2)
if s is None:
    sys.exit("cannot connect")
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if nodelay else 0)
time.sleep(0.3)
for _ in range(n):
    s.send(b"h" * 120)
    s.send(b"b" * 100)
    time.sleep(0.3)
s.close()
PY
run_case() {   # run_case NAME NODELAY
    local name=$1 nodelay=$2
    start_ustack "$name" sink --port $PORT --count 1 --duration 30
    local sink=$USTACK_PID
    # not through nsx: $! must be tshark itself, so that SIGINT reaches it
    nsenter --net="/run/netns/$NS" tshark -q -i "$TAP" -w "$TMP/$name.pcap" -f "tcp port $PORT" >/dev/null 2>&1 &
    local cap=$!
    PIDS+=("$cap")
    sleep 1
    timeout 20 nsenter --net="/run/netns/$NS" python3 "$TMP/twopiece.py" "$US_IP" $PORT "$nodelay" 3 || fail "$name: client failed"
    wait "$sink" || true
    sleep 0.5
    kill -INT "$cap" 2>/dev/null || true
    wait "$cap" 2>/dev/null || true
    "$USTACK" analyze "$TMP/$name.pcap" >"$TMP/$name.an" || true
    cat "$TMP/$name.an"
}
run_case nagle 0
grep -q "nagle-delayed-ack: Nagle x delayed ACK: 198.18.0.1:[0-9]*'s 120-byte segment" "$TMP/nagle.an" ||
    fail "analyze does not name Nagle x delayed ACK in Linux's trace"
held=$(grep -o 'pure ACK held [0-9.]* ms' "$TMP/nagle.an" | grep -o '[0-9.]*' | head -1)
awk -v h="$held" 'BEGIN { exit !(h >= 35 && h <= 60) }' || fail "ACK held $held ms, not about ustack's 40 ms delayed-ACK time"
grep -q "3 times" "$TMP/nagle.an" || fail "not every one of the 3 requests was counted"
run_case nodelay 1
if grep -q nagle-delayed-ack "$TMP/nodelay.an"; then fail "a Nagle stall named in the TCP_NODELAY trace"; fi
echo "PASS: Linux's Nagle x ustack's delayed ACK named in the trace (ACK held $held ms); none with TCP_NODELAY"
