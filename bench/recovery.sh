#!/usr/bin/env bash
# Loss recovery, ustack and Linux as the sender on the same link in the same
# run: one TAP device in a namespace of its own (Linux 198.18.0.1, ustack
# 198.18.0.2) and, for each congestion control and each impairment, two
# transfers of BYTES: Linux (a python sender) -> `ustack sink`, then
# `ustack source` -> Linux (socat). The impairment is ustack's own (--loss,
# --reorder, --delay ... on its side of the TAP, both directions, the same
# --seed for both transfers), so each sender sees the same link: data and ACKs
# are lost alike. One row per congestion control x impairment: goodput of each
# sender, the ratio ustack/Linux, and each sender's retransmissions, spurious
# retransmissions (D-SACKs received, undone recoveries, spurious RTOs) and RTOs
# (Linux: the namespace's /proc/net/snmp and /proc/net/netstat, before and
# after the transfer; ustack: the counters `ustack -v source` prints at exit).
# A transfer that did not deliver every byte intact (SHA-256 compared) prints
# "fail" and no ratio.
# Usage: bench/recovery.sh [BUILD_DIR]   (default: build-bench, Release)
# Environment: BYTES (50000000 per transfer), TIMEOUT (120 s per transfer),
# SEED (1), CCS (space-separated ustack congestion controls, default "cubic
# newreno bbr"; the Linux sender uses the same one by TCP_CONGESTION on its
# socket, reno for newreno), IMPAIRMENTS (';'-separated ustack options, "clean"
# for none; the default is below), LOGDIR (unset: none; else each transfer's
# logs are copied there). Figures only, nothing is asserted. Bounded: every
# transfer is ended at TIMEOUT; the namespace and every process started are
# removed on exit, also on failure or Ctrl-C; traffic stays inside
# 198.18.0.0/24 in the namespace.
BENCH=recovery
source "$(dirname "$0")/tap_netns.sh"
BYTES=${BYTES:-50000000}
TIMEOUT=${TIMEOUT:-120}
SEED=${SEED:-1}
CCS=${CCS:-"cubic newreno bbr"}
IMPAIRMENTS=${IMPAIRMENTS:-"clean;--loss 0.005;--loss 0.01;--loss 0.02;--loss 0.02 --reorder 0.05;--delay 10 --loss 0.01"}
LOGDIR=${LOGDIR:-}
command -v socat >/dev/null || { echo "recovery: skipped (socat not installed)"; exit 0; }
command -v sha256sum >/dev/null || { echo "recovery: skipped (sha256sum not installed)"; exit 0; }
# The Linux receiver's hash must not be the bottleneck: coreutils sha256sum
# runs at 65-95 MB/s here (520-760 Mbit/s, a ceiling on the ustack sender's
# figure), openssl's (SHA extensions) at ~750 MB/s, like the ustack sink's.
if command -v openssl >/dev/null; then rsha() { openssl dgst -sha256 -r | cut -d' ' -f1; }
else rsha() { sha256sum | cut -d' ' -f1; }; fi
[ -z "$LOGDIR" ] || mkdir -p "$LOGDIR"
# The Linux sender sets its congestion control per socket (TCP_CONGESTION; a
# namespace may only take the host's "allowed" ones as its default).
linux_cc() { if [ "$1" = newreno ]; then echo reno; else echo "$1"; fi; }
avail=$(cat /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null || true)
for cc in $CCS; do
    lcc=$(linux_cc "$cc")
    case " $avail " in
    *" $lcc "*) ;;
    *) modprobe "tcp_$lcc" 2>/dev/null || echo "recovery: Linux has no $lcc (available: $avail); its rows will fail" ;;
    esac
done
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
ZERO_SHA=$(head -c "$BYTES" /dev/zero | sha256sum | cut -d' ' -f1)

# ustack_bg LOG ARGS...: ustack on tap0 in the background, bounded by TIMEOUT
ustack_bg() {
    local log=$1; shift
    timeout $((TIMEOUT + 10)) nsenter --net="/run/netns/$NS" "$USTACK" --tap tap0 --ip 198.18.0.2/24 "$@" >"$log" 2>&1 &
    BG=$!
    PIDS+=("$BG")
    wait_attached
}
# field LOG NAME: the word after NAME on ustack's summary line (sink: / source:)
field() { awk -v n="$2" '/^(sink|source): / { for (i = 1; i < NF; i++) if ($i == n) { print $(i + 1); exit } }' "$1"; }
# ucount LOG NAME...: the sum of ustack's counters NAME... in the last counter
# list it printed to LOG (a counter not listed is 0); "-" if it printed none
ucount() {
    local log=$1; shift
    awk -v names="$*" 'BEGIN { n = split(names, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
        /^counters:/ { seen = 1; v = 0 } seen && ($1 in want) { v += $2 }
        END { if (seen) print v + 0; else print "-" }' "$log"
}
# ustack_counts LOG: retx dsack undo spRTO RTO of the ustack sender
ustack_counts() {
    echo "$(ucount "$1" tcp.retransmits) $(ucount "$1" tcp.dsack_received)" \
        "$(ucount "$1" tcp.undo_recovery_dsack tcp.undo_rto_dsack tcp.undo_recovery_eifel tcp.undo_rto_eifel)" \
        "$(ucount "$1" tcp.undo_rto_dsack tcp.undo_rto_eifel) $(ucount "$1" tcp.rto_expirations)"
}
# linux_counts: the namespace's RetransSegs TCPDSACKRecv undo TCPSpuriousRTOs
# TCPTimeouts, undo = TCPDSACKUndo + TCPFullUndo + TCPPartialUndo + TCPLossUndo
linux_counts() {
    nsx awk '/^(Tcp|TcpExt):/ { if (!($1 in hdr)) { hdr[$1] = 1; for (i = 2; i <= NF; i++) k[$1, i] = $i }
                                 else for (i = 2; i <= NF; i++) v[k[$1, i]] = $i }
             END { print v["RetransSegs"] + 0, v["TCPDSACKRecv"] + 0,
                         v["TCPDSACKUndo"] + v["TCPFullUndo"] + v["TCPPartialUndo"] + v["TCPLossUndo"],
                         v["TCPSpuriousRTOs"] + 0, v["TCPTimeouts"] + 0 }' /proc/net/snmp /proc/net/netstat
}
# delta "A..." "B...": B - A, element by element
delta() {
    local -a a b
    read -r -a a <<<"$1"; read -r -a b <<<"$2"
    local out=() i
    for i in "${!a[@]}"; do out+=($((b[i] - a[i]))); done
    echo "${out[*]}"
}
load1() { cut -d' ' -f1 /proc/loadavg; }

FMT="%-13s %-22s %9s %9s %6s | %6s %5s %4s %5s %4s | %6s %5s %4s %5s %4s | %5s\n"
echo "== loss recovery: $BYTES bytes per transfer over one TAP link, seed $SEED, TIMEOUT $TIMEOUT s ($(nproc) CPUs, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "Goodput in Mbit/s (fail: not every byte arrived intact within TIMEOUT); ratio = ustack->Linux / Linux->ustack."
echo "Per sender: retx = segments retransmitted, dsack = ACKs with a D-SACK received (a retransmission the receiver"
echo "already had), undo = recoveries and RTOs undone as spurious, spRTO = spurious RTOs, RTO = retransmission timeouts."
printf "%-13s %-22s %-26s | %-28s | %-28s |\n" "" "" "goodput" "Linux sender" "ustack sender"
printf "$FMT" "cc ustack/Lx" "ustack-side impairment" "Linux->us" "us->Linux" "ratio" \
    "retx" "dsack" "undo" "spRTO" "RTO" "retx" "dsack" "undo" "spRTO" "RTO" "load"
IFS=';' read -r -a imps <<<"$IMPAIRMENTS"
for cc in $CCS; do
    lcc=$(linux_cc "$cc")
    n=0
    for imp in "${imps[@]}"; do
        n=$((n + 1))
        opts=()
        [ "$imp" = clean ] || read -r -a opts <<<"$imp"
        # Linux sends, ustack sinks
        ustack_bg "$OUT/sink.log" -v "${opts[@]}" --seed "$SEED" sink --port 5201 --count 1 --duration "$TIMEOUT"
        sp=$BG
        l0=$(linux_counts)
        timeout "$TIMEOUT" nsenter --net="/run/netns/$NS" python3 "$OUT/send.py" 198.18.0.2 5201 "$BYTES" "$lcc" \
            >"$OUT/send.log" 2>&1 || true
        wait "$sp" 2>/dev/null || true
        lc=$(delta "$l0" "$(linux_counts)")
        l2u=fail
        if [ "$(field "$OUT/sink.log" bytes)" = "$BYTES" ] && [ "$(field "$OUT/sink.log" sha256)" = "$ZERO_SHA" ] &&
            ! grep -q '^sink: .*(aborted)' "$OUT/sink.log"; then
            l2u=$(field "$OUT/sink.log" goodput)
        fi
        # ustack sends, Linux reads and hashes
        timeout $((TIMEOUT + 10)) nsenter --net="/run/netns/$NS" socat -u TCP-LISTEN:5202,reuseaddr STDOUT 2>/dev/null \
            | rsha >"$OUT/recv.sha" &
        rp=$!
        PIDS+=("$rp")
        wait_listening 5202
        timeout "$TIMEOUT" nsenter --net="/run/netns/$NS" "$USTACK" --tap tap0 --ip 198.18.0.2/24 -v "${opts[@]}" \
            --seed "$SEED" --cc "$cc" source 198.18.0.1:5202 --bytes "$BYTES" >"$OUT/src.log" 2>&1 || true
        wait "$rp" 2>/dev/null || true
        u2l=fail
        if [ "$(field "$OUT/src.log" bytes)" = "$BYTES" ] && [ "$(field "$OUT/src.log" sha256)" = "$(cat "$OUT/recv.sha")" ] &&
            ! grep -q '^source: .*(interrupted)' "$OUT/src.log"; then
            u2l=$(field "$OUT/src.log" goodput)
        fi
        [ -n "$l2u" ] || l2u=fail
        [ -n "$u2l" ] || u2l=fail
        ratio=-
        [ "$l2u" = fail ] || [ "$u2l" = fail ] || ratio=$(awk -v a="$u2l" -v b="$l2u" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }')
        read -r -a L <<<"$lc"
        read -r -a U <<<"$(ustack_counts "$OUT/src.log")"
        if [ -n "$LOGDIR" ]; then
            cp "$OUT/sink.log" "$LOGDIR/$cc-$n-sink.log"; cp "$OUT/src.log" "$LOGDIR/$cc-$n-source.log"
        fi
        printf "$FMT" "$cc/$lcc" "${imp//--/}" "$l2u" "$u2l" "$ratio" "${L[@]}" "${U[@]}" "$(load1)"
    done
done
echo "Linux: a python sender with TCP_CONGESTION (as in the cc column), socat as the receiver; counters are deltas of the"
echo "namespace's Tcp RetransSegs, TcpExt TCPDSACKRecv, TCPDSACKUndo+TCPFullUndo+TCPPartialUndo+TCPLossUndo,"
echo "TCPSpuriousRTOs (F-RTO) and TCPTimeouts around the transfer. ustack: sink, and source --cc; counters tcp.retransmits,"
echo "tcp.dsack_received, tcp.undo_* (all four), tcp.undo_rto_* (spRTO) and tcp.rto_expirations ('-': none printed)."
echo "The impairment is applied by ustack on its side of the TAP device, to data and ACKs alike, same seed both ways."
