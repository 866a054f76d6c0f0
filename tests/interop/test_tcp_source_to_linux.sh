#!/usr/bin/env bash
# TCP, ustack -> Linux: `ustack source --bytes 100M` to a Linux listener that
# hashes what it receives; the SHA-256 printed by source equals Linux's. Then
# under ustack's impairments: 2% loss (30 MB) and reordering + duplication +
# corruption (20 MB). ustack exits 0 and every capture passes tshark. By
# default the segments of a burst reach Linux as GSO super-frames: its TAP
# device receives fewer frames than ustack's Ethernet layer sent, a quarter
# at most on the clean link; with --no-gso (30 MB) one frame per segment. At
# 2% loss too, in chunks of half of cwnd (tcp_out.c chunk_mark; their sizes
# are test_tcp_chunks' to check): Linux receives fewer frames than ustack sent.
source "$(dirname "$0")/lib.sh"
PORT=5201

cat >"$TMP/recv.py" <<'PY'
# recv.py IP PORT OUT DEADLINE_S: accept one connection, read to EOF, write
# "BYTES SHA256" to OUT.
import hashlib, socket, sys, time
ip, port, out, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + limit
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((ip, port))
ls.listen(1)
ls.settimeout(limit)
c, _ = ls.accept()
c.settimeout(60)
h = hashlib.sha256()
n = 0
while True:
    if time.monotonic() > deadline:
        sys.exit(f"timeout after {n} bytes")
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
c.close()
with open(out, "w") as f:
    f.write(f"{n} {h.hexdigest()}\n")
PY

wait_listen() {
    for _ in $(seq 1 100); do
        nsx ss -ltnH "sport = :$1" | grep -q LISTEN && return 0
        sleep 0.05
    done
    fail "Linux listener on port $1 did not start"
}

# tap_rx: frames Linux's side of the TAP device has received (/proc/net/dev)
tap_rx() { nsx sed -n "s/^ *$TAP: *//p" /proc/net/dev | awk '{ print $2 }'; }

# run_case NAME BYTES IMPAIRMENTS...: sets RETX (source's retransmits),
# LX_FRAMES (frames Linux received meanwhile), US_FRAMES (ustack's eth.tx_frames)
run_case() {
    local name=$1 bytes=$2; shift 2
    local rx0
    rx0=$(tap_rx)
    rm -f "$TMP/$name.out"
    # not through nsx (a function: $! would be a subshell's; killed on a
    # failure, it would leave python holding the test's output for 500 s)
    nsenter --net="/run/netns/$NS" python3 "$TMP/recv.py" "$LINUX_IP" $PORT "$TMP/$name.out" 500 &
    local py=$!
    PIDS+=("$py")
    wait_listen $PORT
    local rc=0
    timeout 600 nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" -v \
        --pcap "$TMP/$name.pcap" "$@" source "$LINUX_IP:$PORT" --bytes "$bytes" >"$TMP/$name.log" 2>&1 || rc=$?
    [ $rc -eq 0 ] || fail "$name: ustack source exit status $rc"
    wait "$py" || fail "$name: Linux receiver failed"
    local line
    line=$(grep '^source: .* sha256 ' "$TMP/$name.log" | head -1) || fail "$name: source printed no result"
    echo "$name: $line"
    local sent want got_bytes got
    sent=$(echo "$line" | sed -n 's/.* bytes \([0-9]*\) .*/\1/p')
    want=$(echo "$line" | sed -n 's/.* sha256 \([0-9a-f]*\).*/\1/p')
    read -r got_bytes got <"$TMP/$name.out"
    [ "$sent" = "$bytes" ] || fail "$name: source sent $sent bytes, asked for $bytes"
    [ "$got_bytes" = "$bytes" ] || fail "$name: Linux received $got_bytes bytes of $bytes"
    [ "$got" = "$want" ] || fail "$name: sha256 differs: Linux got $got, ustack sent $want"
    RETX=$(echo "$line" | sed -n 's/.* retransmits \([0-9]*\) .*/\1/p')
    LX_FRAMES=$(($(tap_rx) - rx0))
    US_FRAMES=$(awk '$1 == "eth.tx_frames" { print $2 }' "$TMP/$name.log")
    echo "$name: ustack sent $US_FRAMES frames, Linux's TAP device received $LX_FRAMES"
}

run_case clean 100000000
check_pcap "$TMP/clean.pcap"
rm -f "$TMP/clean.pcap"
[ "$LX_FRAMES" -gt 0 ] && [ "$LX_FRAMES" -le $((US_FRAMES / 4)) ] ||
    fail "clean: Linux received $LX_FRAMES frames for ustack's $US_FRAMES: no GSO super-frames"

run_case plain 30000000 --no-gso
check_pcap "$TMP/plain.pcap"
rm -f "$TMP/plain.pcap"
[ "$LX_FRAMES" -ge "$US_FRAMES" ] || fail "plain: --no-gso, yet Linux received $LX_FRAMES frames for ustack's $US_FRAMES"

run_case loss 30000000 --loss 0.02 --seed 21
[ "$RETX" -gt 0 ] || fail "loss: 2% loss but source reports no retransmits"
[ "$LX_FRAMES" -lt $((US_FRAMES * 3 / 4)) ] ||
    fail "loss: Linux received $LX_FRAMES frames for ustack's $US_FRAMES (2% lost): no super-frames under impairments?"
check_pcap "$TMP/loss.pcap"
rm -f "$TMP/loss.pcap"

run_case mixed 20000000 --reorder 0.05 --dup 0.02 --corrupt 0.01 --seed 22
check_pcap_corrupting "$TMP/mixed.pcap"
echo PASS
