#!/usr/bin/env bash
# TCP, Linux -> ustack: a Linux client sends 100 MB to `ustack sink`; the SHA-256
# the sink prints equals the SHA-256 of what the client sent. Then the same with
# ustack's impairments: 2% loss (30 MB), and reordering + duplication +
# corruption (20 MB). Every capture passes tshark (for the corrupting run:
# nothing bad from ustack's side, corrupted frames from Linux are expected).
source "$(dirname "$0")/lib.sh"
PORT=5001

cat >"$TMP/send.py" <<'PY'
# send.py IP PORT BYTES DEADLINE_S: send BYTES of random data, half-close,
# wait for the peer's FIN, print the SHA-256 of what was sent.
import hashlib, os, socket, struct, sys, time
ip, port, total, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + limit
s = None
for _ in range(50):
    try:
        s = socket.create_connection((ip, port), timeout=5)
        break
    except OSError:
        time.sleep(0.2)
if s is None:
    sys.exit("cannot connect")
s.settimeout(60)
block = bytearray(os.urandom(1 << 20))
h = hashlib.sha256()
sent, i = 0, 0
while sent < total:
    if time.monotonic() > deadline:
        sys.exit(f"timeout after {sent} bytes")
    struct.pack_into("!Q", block, 0, i)      # no two megabytes alike
    n = min(len(block), total - sent)
    chunk = bytes(block[:n])
    s.sendall(chunk)
    h.update(chunk)
    sent += n
    i += 1
s.shutdown(socket.SHUT_WR)
if s.recv(1) != b"":
    sys.exit("sink sent data")
s.close()
print(h.hexdigest())
PY

# run_case NAME BYTES IMPAIRMENTS...: one transfer, sha compared; prints the sink line.
run_case() {
    local name=$1 bytes=$2; shift 2
    start_ustack "$name" -v --pcap "$TMP/$name.pcap" "$@" sink --port $PORT --count 1 --duration 600
    local want
    want=$(timeout 600 nsenter --net="/run/netns/$NS" python3 "$TMP/send.py" "$US_IP" $PORT "$bytes" 500) \
        || fail "$name: Linux client failed: $want"
    for _ in $(seq 1 300); do kill -0 "$USTACK_PID" 2>/dev/null || break; sleep 0.1; done
    stop_ustack "$USTACK_PID" || fail "$name: ustack sink exit status $?"
    local line
    line=$(grep '^sink: .* sha256 ' "$TMP/$name.log" | head -1) || fail "$name: the sink printed no result"
    echo "$name: $line"
    local got bytes_got
    got=$(echo "$line" | sed -n 's/.* sha256 \([0-9a-f]*\).*/\1/p')
    bytes_got=$(echo "$line" | sed -n 's/.* bytes \([0-9]*\) .*/\1/p')
    [ "$bytes_got" = "$bytes" ] || fail "$name: sink got $bytes_got bytes, Linux sent $bytes"
    [ "$got" = "$want" ] || fail "$name: sha256 differs: sink $got, Linux sent $want"
}

run_case clean 100000000
check_pcap "$TMP/clean.pcap"
rm -f "$TMP/clean.pcap"

run_case loss 30000000 --loss 0.02 --seed 11
check_pcap "$TMP/loss.pcap"
lost=$(tsh -r "$TMP/loss.pcap" -Y "ip.src == $US_IP && tcp.analysis.duplicate_ack" 2>/dev/null | wc -l)
[ "$lost" -gt 0 ] || fail "with 2% loss ustack sent no duplicate ACK (impairment not active?)"
rm -f "$TMP/loss.pcap"

run_case mixed 20000000 --reorder 0.05 --dup 0.02 --corrupt 0.01 --seed 12
check_pcap_corrupting "$TMP/mixed.pcap"
echo "ustack dropped for bad checksum: tcp $(counter "$TMP/mixed.log" tcp.drop_bad_checksum)," \
    "ip $(counter "$TMP/mixed.log" ip.drop_bad_checksum)"
echo PASS
