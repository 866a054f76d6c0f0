#!/usr/bin/env bash
# Closed ports: a Linux connect to a port where ustack has no listener gets
# ECONNREFUSED (ustack answers the SYN with RST+ACK, ACK = ISN + 1, RFC 9293
# 3.10.7.1); `ustack source` to a closed Linux port prints "Connection refused"
# and exits non-zero.
source "$(dirname "$0")/lib.sh"

start_ustack closed --pcap "$TMP/closed.pcap" up --duration 60
nsx python3 - "$US_IP" <<'PY' || fail "Linux connect to a closed ustack port"
import socket, sys
for port in (9, 80, 5001, 65000):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((sys.argv[1], port))
        sys.exit(f"port {port}: connect succeeded")
    except ConnectionRefusedError:
        print(f"port {port}: ECONNREFUSED")
    except socket.timeout:
        sys.exit(f"port {port}: no answer (timeout)")
    s.close()
PY
stop_ustack "$USTACK_PID" || true
check_pcap "$TMP/closed.pcap"
# each SYN is answered by exactly one RST+ACK acknowledging SYN's sequence + 1
tsh -r "$TMP/closed.pcap" -o tcp.relative_sequence_numbers:FALSE -Y "tcp.flags.syn == 1 || tcp.flags.reset == 1" \
    -T fields -e ip.src -e tcp.srcport -e tcp.dstport -e tcp.flags -e tcp.seq -e tcp.ack 2>/dev/null >"$TMP/closed.txt"
python3 - "$TMP/closed.txt" "$US_IP" <<'PY' || { cat "$TMP/closed.txt"; fail "RST answers wrong"; }
import sys
us = sys.argv[2]
syns, rsts = {}, {}
for line in open(sys.argv[1]):
    src, sport, dport, flags, seq, ack = line.split()
    flags = int(flags, 16)
    if src != us and flags & 0x02:
        syns[(sport, dport)] = int(seq)
    elif src == us and flags & 0x04:
        if not flags & 0x10:
            sys.exit(f"RST to {dport} without ACK bit")
        rsts.setdefault((dport, sport), []).append((int(seq), int(ack)))
if len(syns) != 4:
    sys.exit(f"expected 4 SYNs, saw {len(syns)}")
for k, isn in syns.items():
    r = rsts.get(k, [])
    if not r:
        sys.exit(f"SYN {k} not answered by RST")
    if any(seq != 0 or ack != (isn + 1) % 2**32 for seq, ack in r):
        sys.exit(f"RST for {k}: {r}, SYN seq {isn}")
print(f"{len(syns)} SYNs to closed ports, each answered by RST+ACK with SEQ 0, ACK ISN+1")
PY

rc=0
out=$(timeout 60 nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" --pcap "$TMP/refused.pcap" \
    source "$LINUX_IP:5999" --bytes 1000 2>&1) || rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "source to a closed port exited 0"
[ $rc -ne 124 ] || fail "source to a closed port hung until the timeout"
echo "$out" | grep -q "Connection refused" || fail "source did not report 'Connection refused'"
check_pcap "$TMP/refused.pcap"
rst=$(tsh_count "$TMP/refused.pcap" "ip.src == $LINUX_IP && tcp.flags.reset == 1")
[ "$rst" -ge 1 ] || fail "no RST from Linux in the capture"
echo PASS
