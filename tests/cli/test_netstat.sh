#!/usr/bin/env bash
# The statistics by layer (netstat -s style) that SIGUSR1 and -v at exit print
# after the counter list: in a namespace of its own, Linux pings `ustack -v echo`
# 3 times, echoes once through a SYN cookie (--syncookies 2) and connects once
# to a closed port; each block and line must show the values the counter list
# gives, the drop reasons no line names go on the layer's "dropped:" line, and
# the lines for counters that stayed zero are left out.
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
    echo "SKIP: needs root and /dev/net/tun for a TAP device in a namespace"
    exit 0
fi
source "$(dirname "$0")/../interop/lib.sh"

start_ustack echo -v --syncookies 2 echo --port 7 --duration 60
nsx ping -q -c 3 -i 0.2 -W 2 "$US_IP" >/dev/null || fail "ping"
nsx python3 - "$US_IP" <<'PY' || fail "echo client"
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"statistics\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
assert got == b"statistics\n", got
s.close()
try:
    socket.create_connection((sys.argv[1], 9), timeout=5)
    sys.exit("port 9 accepted")
except ConnectionRefusedError:
    pass
PY
sleep 0.3
kill -USR1 "$USTACK_PID"
for _ in $(seq 1 100); do grep -q '^statistics:' "$TMP/echo.log" && break; sleep 0.05; done
sleep 0.2
stop_ustack "$USTACK_PID" || fail "ustack echo exit status $?"
log=$TMP/echo.log
[ "$(grep -c '^statistics:' "$log")" = 2 ] || fail "expected statistics from SIGUSR1 and at exit"
# the last block (at exit) against the last counter list
awk '/^statistics:/ { n++ } n == 2' "$log" >"$TMP/stats"
cat "$TMP/stats"
c() { counter "$log" "$1"; }
has() { grep -qxF -- "$1" "$TMP/stats" || fail "no line '$1' in the statistics"; }
has "Tcp:"
has "    $(c tcp.active_opens) active opens, $(c tcp.passive_opens) passive opens, $(c tcp.connections_established) connections established"
has "    $(c tcp.rx_segments) segments received, $(c tcp.tx_segments) sent, $(c tcp.retransmits) retransmitted"
has "    1 SYN cookies sent, 1 valid, 0 invalid; 1 connections from cookies"
has "    $(c tcp.rst_sent) resets sent ($(c tcp.rst_on_exit) at exit, 0 at linger timeout), $(c tcp.rst_received) received"
has "    1 segments dropped: 1 no listener"
has "Icmp:"
has "    3 echo requests answered; 0 echo requests sent, 0 replies received"
has "    $(c icmp.rx) messages received, $(c icmp.tx) sent"
has "Ip:"
has "    $(c ip.rx_datagrams) datagrams received, $(c ip.delivered) delivered; $(c ip.tx_datagrams) sent, 0 link errors"
has "Arp:"
has "Ethernet:"
has "    $(c eth.rx_frames) frames received, $(c eth.tx_frames) sent"
[ "$(c tcp.passive_opens)" = 1 ] && [ "$(c tcp.rst_sent)" -ge 1 ] || fail "passive opens / resets not as the test made them"
# lines whose counters are all zero are left out: no SACK, RACK, fragments, UDP
! grep -qE "SACK recoveries|RACK recoveries|fragments received|^Udp:" "$TMP/stats" || fail "zero lines printed"
# the order of the blocks: link to transport
order=$(grep -E '^[A-Z][a-z]+:$' "$TMP/stats" | tr -d ':' | tr '\n' ' ')
[ "$order" = "Ethernet Arp Ip Icmp Tcp " ] || fail "blocks in order '$order'"
echo "PASS: statistics by layer match the counters"
