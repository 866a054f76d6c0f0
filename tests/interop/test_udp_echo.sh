#!/usr/bin/env bash
# UDP: a Linux socket's datagrams (small and 3000 bytes, fragmented) come back
# byte-exact from ustack's echo on port 7; a datagram to a closed port draws
# ICMP port unreachable, which Linux reports as ECONNREFUSED.
source "$(dirname "$0")/lib.sh"
start_ustack udp --pcap "$TMP/udp.pcap" up --duration 60
nsx python3 - "$US_IP" <<'PY' || fail "python UDP client"
import os, socket, sys
ip = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((ip, 7))
for size in (1, 64, 1472, 1473, 3000, 8000, 20000):
    data = os.urandom(size)
    for attempt in range(3):
        s.send(data)
        try:
            back = s.recv(65535)
            break
        except socket.timeout:
            continue
    else:
        sys.exit(f"no echo for {size} bytes")
    if back != data:
        sys.exit(f"echo of {size} bytes differs")
    print(f"echo {size} bytes ok")
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(2)
c.connect((ip, 9))
c.send(b"anyone there?")
try:
    c.recv(100)
    sys.exit("closed port answered")
except ConnectionRefusedError:
    print("closed port: ECONNREFUSED (ICMP port unreachable)")
except socket.timeout:
    sys.exit("no port unreachable for closed port")
PY
stop_ustack "$USTACK_PID"
cat "$TMP/udp.log"
check_pcap "$TMP/udp.pcap"
unreach=$(tsh_count "$TMP/udp.pcap" "icmp.type == 3 && icmp.code == 3 && ip.src == $US_IP")
[ "$unreach" -ge 1 ] || fail "no port unreachable in the capture"
[ "$(counter "$TMP/udp.log" udp.drop_no_port)" -ge 1 ] || fail "udp.drop_no_port not counted"
echo PASS
