#!/usr/bin/env bash
# Loss recovery, ustack and Linux as the sender on the same link in the same
# run: one TAP device in a namespace of its own (Linux 198.18.0.1, ustack
# 198.18.0.2) and, for each impairment, two transfers of BYTES: Linux (a
# python sender) -> `ustack sink`, then `ustack source` -> Linux (socat). The impairment is
# ustack's own (--loss, --reorder, --delay ... on its side of the TAP, both
# directions, the same --seed for both transfers), so each sender sees the same
# link: data and ACKs are lost alike. Prints goodput and retransmission
# timeouts of each sender (Linux: TcpExt TCPTimeouts of the namespace; ustack:
# tcp.rto_expirations) side by side; a transfer that did not deliver every
# byte prints "fail".
# Usage: bench/recovery.sh [BUILD_DIR]   (default: build-bench, Release)
# Environment: BYTES (50000000 per transfer), TIMEOUT (120 s per transfer),
# SEED (1), CC (cubic: the congestion control of both senders, ustack --cc and
# TCP_CONGESTION on the Linux sender's socket; newreno is ustack's name for
# Linux's reno), IMPAIRMENTS (';'-separated ustack options, "clean" for none;
# the default is below). Figures only, nothing is asserted. Bounded: every
# transfer is ended at TIMEOUT; the namespace and every process started are
# removed on exit, also on failure or Ctrl-C; traffic stays inside
# 198.18.0.0/24 in the namespace.
BENCH=recovery
source "$(dirname "$0")/tap_netns.sh"
BYTES=${BYTES:-50000000}
TIMEOUT=${TIMEOUT:-120}
SEED=${SEED:-1}
CC=${CC:-cubic}
IMPAIRMENTS=${IMPAIRMENTS:-"clean;--loss 0.005;--loss 0.01;--loss 0.02;--loss 0.02 --reorder 0.05;--delay 10 --loss 0.01"}
command -v socat >/dev/null || { echo "recovery: skipped (socat not installed)"; exit 0; }
LCC=$CC
[ "$CC" = newreno ] && LCC=reno
# The Linux sender sets its congestion control per socket (TCP_CONGESTION; a
# namespace may only take the host's "allowed" ones as its default).
cat >"$OUT/send.py" <<'PY'
# send.py IP PORT BYTES CC: connect with congestion control CC, send BYTES zeros, close
import socket, sys
ip, port, n, cc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
s.connect((ip, port))
buf = bytes(65536)
while n > 0:
    k = min(n, len(buf))
    s.sendall(buf[:k])
    n -= k
s.close()
PY

# ustack_bg LOG ARGS...: ustack on tap0 in the background, bounded by TIMEOUT
ustack_bg() {
    local log=$1; shift
    timeout $((TIMEOUT + 10)) nsenter --net="/run/netns/$NS" "$USTACK" --tap tap0 --ip 198.18.0.2/24 "$@" >"$log" 2>&1 &
    BG=$!
    PIDS+=("$BG")
    wait_attached
}
field() { sed -n "s/.* $2 \([0-9.]*\) .*/\1/p" "$1" | head -1; }   # field LOG NAME: the number after NAME

echo "== loss recovery: $BYTES bytes per transfer over one TAP link, seed $SEED, $CC on both sides ($(nproc) CPUs, $(uname -sr))"
printf "%-30s %18s %8s %18s %8s\n" "ustack-side impairment" "Linux->ustack" "RTOs" "ustack->Linux" "RTOs"
printf "%-30s %18s %8s %18s %8s\n" "" "Mbit/s" "Linux" "Mbit/s" "ustack"
IFS=';' read -r -a imps <<<"$IMPAIRMENTS"
for imp in "${imps[@]}"; do
    opts=()
    [ "$imp" = clean ] || read -r -a opts <<<"$imp"
    # Linux sends, ustack sinks
    ustack_bg "$OUT/sink.log" "${opts[@]}" --seed "$SEED" sink --port 5201 --count 1 --duration "$TIMEOUT"
    sp=$BG
    t0=$(tcpext TCPTimeouts)
    timeout "$TIMEOUT" nsenter --net="/run/netns/$NS" python3 "$OUT/send.py" 198.18.0.2 5201 "$BYTES" "$LCC" \
        >"$OUT/send.log" 2>&1 || true
    wait "$sp" 2>/dev/null || true
    l_rto=$(($(tcpext TCPTimeouts) - t0))
    l2u=fail
    [ "$(field "$OUT/sink.log" bytes)" = "$BYTES" ] && l2u=$(field "$OUT/sink.log" goodput)
    # ustack sends, Linux reads and counts
    timeout $((TIMEOUT + 10)) nsenter --net="/run/netns/$NS" socat -u TCP-LISTEN:5202,reuseaddr STDOUT 2>/dev/null \
        | wc -c >"$OUT/recv.count" &
    rp=$!
    PIDS+=("$rp")
    wait_listening 5202
    timeout "$TIMEOUT" nsenter --net="/run/netns/$NS" "$USTACK" --tap tap0 --ip 198.18.0.2/24 -v "${opts[@]}" \
        --seed "$SEED" --cc "$CC" source 198.18.0.1:5202 --bytes "$BYTES" >"$OUT/src.log" 2>&1 || true
    wait "$rp" 2>/dev/null || true
    u2l=fail
    [ "$(tr -d ' ' <"$OUT/recv.count")" = "$BYTES" ] && u2l=$(field "$OUT/src.log" goodput)
    printf "%-30s %18s %8s %18s %8s\n" "$imp" "${l2u:-fail}" "$l_rto" "${u2l:-fail}" "$(ustack_counter "$OUT/src.log" tcp.rto_expirations)"
done
echo "Linux: a python sender with TCP_CONGESTION $LCC, socat as the receiver; ustack: sink, and source --cc $CC."
echo "The impairment is applied by ustack on its side of the TAP device, to data and ACKs alike."
