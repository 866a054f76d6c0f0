#!/usr/bin/env bash
# TCP, Linux -> ustack: a Linux client sends 100 MB to `ustack sink`; the SHA-256
# the sink prints equals the SHA-256 of what the client sent. Then the same with
# ustack's impairments: 2% loss (30 MB), and reordering + duplication +
# corruption (20 MB). Every capture passes tshark (for the corrupting run:
# nothing bad from ustack's side, corrupted frames from Linux are expected).
# Last, the sink's own close with --count 1 on a link with delay: its FIN is
# answered before it exits, no RST; and against a peer that never ACKs that
# FIN the sink still exits by itself (the wait for the ACK is bounded).
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
lost=$(tsh_count "$TMP/loss.pcap" "ip.src == $US_IP && tcp.analysis.duplicate_ack")
[ "$lost" -gt 0 ] || fail "with 2% loss ustack sent no duplicate ACK (impairment not active?)"
rm -f "$TMP/loss.pcap"

run_case mixed 20000000 --reorder 0.05 --dup 0.02 --corrupt 0.01 --seed 12
check_pcap_corrupting "$TMP/mixed.pcap"
echo "ustack dropped for bad checksum: tcp $(counter "$TMP/mixed.log" tcp.drop_bad_checksum)," \
    "ip $(counter "$TMP/mixed.log" ip.drop_bad_checksum)"

# wait_exit NAME: ustack must end by itself (its wait for the last ACK is
# bounded at about a second plus the delays; 20 s only guards against a hang
# -- a FIN retransmitted until the retries run out takes minutes); exit 0.
wait_exit() {
    for _ in $(seq 1 200); do kill -0 "$USTACK_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$USTACK_PID" 2>/dev/null && fail "$1: the sink did not exit by itself within 20 s of its last connection"
    stop_ustack "$USTACK_PID" || fail "$1: ustack sink exit status $?"
}
# fin_ack PCAP: ustack's FIN's raw sequence number + 1 (what acknowledges it)
fin_ack() {
    local seq
    seq=$(tsh -r "$1" -Y "ip.src == $US_IP && tcp.flags.fin == 1" -T fields -e tcp.seq_raw 2>/dev/null | head -1)
    [ -n "$seq" ] || fail "$1: ustack sent no FIN"
    echo $(((seq + 1) % 4294967296))
}

# close_delay: --delay 20 (40 ms round trip): the sink's FIN for the connection
# that ends its --count is acknowledged before it exits, and it sends no RST
# (it did: the connection in LAST_ACK was aborted at once at exit).
name=close_delay
start_ustack $name -v --pcap "$TMP/$name.pcap" --delay 20 sink --port $PORT --count 1 --duration 600
want=$(timeout 60 nsenter --net="/run/netns/$NS" python3 "$TMP/send.py" "$US_IP" $PORT 1000000 50) \
    || fail "$name: Linux client failed: $want"
wait_exit $name
grep -q "^sink: .* bytes 1000000 .* sha256 $want\$" "$TMP/$name.log" || fail "$name: no sink line with 1000000 bytes, sha256 $want"
check_pcap "$TMP/$name.pcap"
rst=$(tsh_count "$TMP/$name.pcap" "ip.src == $US_IP && tcp.flags.reset == 1")
[ "$rst" -eq 0 ] || { tsh -r "$TMP/$name.pcap" -Y "tcp.flags.fin == 1 || tcp.flags.reset == 1" 2>/dev/null; fail "$name: ustack sent $rst RST"; }
ack=$(fin_ack "$TMP/$name.pcap")
acked=$(tsh_count "$TMP/$name.pcap" "ip.src == $LINUX_IP && tcp.ack_raw == $ack")
[ "$acked" -gt 0 ] || fail "$name: Linux's ACK of ustack's FIN is not in the capture (ustack exited before it came)"
! grep -q "aborted" "$TMP/$name.log" || fail "$name: $(grep aborted "$TMP/$name.log")"
echo "$name: FIN acknowledged, no RST"

# close_noack: a peer whose pure ACKs are dropped (tc on Linux's side of the
# TAP, after the handshake: an HTB class that holds nothing) never
# acknowledges the sink's FIN: the sink gives up after its bounded wait,
# resets the connection and exits.
cat >"$TMP/noack.py" <<'PY'
# noack.py IP PORT: connect, drop every later pure ACK leaving tap0, half-close,
# wait for the peer's FIN.
import socket, subprocess, sys, time
s = None
for _ in range(50):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        break
    except OSError:
        time.sleep(0.2)
if s is None:
    sys.exit("cannot connect")
# no drop action here (act_gact): pure ACKs go to an HTB class whose pfifo
# holds nothing; the rest to a class at 1 Gbit/s
for cmd in ("qdisc add dev tap0 root handle 1: htb default 1",
            "class add dev tap0 parent 1: classid 1:1 htb rate 1gbit",
            "class add dev tap0 parent 1: classid 1:2 htb rate 1gbit",
            "qdisc add dev tap0 parent 1:2 handle 2: pfifo limit 0",
            # TCP whose flags byte (20-byte IP header) is exactly ACK
            "filter add dev tap0 parent 1: protocol ip prio 1 u32 match ip protocol 6 0xff "
            "match u8 0x10 0xff at 33 flowid 1:2"):
    subprocess.run(["tc"] + cmd.split(), check=True)
s.settimeout(30)
s.shutdown(socket.SHUT_WR)
if s.recv(1) != b"":
    sys.exit("sink sent data")
s.close()
PY
name=close_noack
start_ustack $name -v --pcap "$TMP/$name.pcap" --delay 20 sink --port $PORT --count 1 --duration 600
out=$(timeout 60 nsenter --net="/run/netns/$NS" python3 "$TMP/noack.py" "$US_IP" $PORT 2>&1) \
    || fail "$name: Linux client failed: $out"
wait_exit $name
nsx tc qdisc del dev "$TAP" root
grep -q "^sink: 1 connection aborted with RST at exit" "$TMP/$name.log" || fail "$name: the sink did not reset the unacknowledged connection"
ack=$(fin_ack "$TMP/$name.pcap")
acked=$(tsh_count "$TMP/$name.pcap" "ip.src == $LINUX_IP && tcp.ack_raw == $ack")
[ "$acked" -eq 0 ] || fail "$name: Linux acknowledged ustack's FIN (the tc filter did not hold)"
rst=$(tsh_count "$TMP/$name.pcap" "ip.src == $US_IP && tcp.flags.reset == 1")
[ "$rst" -eq 1 ] || fail "$name: ustack sent $rst RST, not one"
fins=$(tsh_count "$TMP/$name.pcap" "ip.src == $US_IP && tcp.flags.fin == 1")
echo "$name: FIN sent $fins times, never acknowledged; one RST, the sink exited by itself"
echo PASS
