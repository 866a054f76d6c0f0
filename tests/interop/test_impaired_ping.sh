#!/usr/bin/env bash
# Under ustack's impairments (--loss 0.1, then --reorder 0.1) pings behave as
# ping(8) users expect: losses are counted, nothing crashes, and ustack's
# counters agree with its capture.
source "$(dirname "$0")/lib.sh"
start_ustack loss --loss 0.1 --seed 7 --pcap "$TMP/loss.pcap" up --duration 60
out=$(nsx ping -c 60 -i 0.02 -W 1 -s 3000 "$US_IP" || true)
echo "$out" | tail -2
rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$rx" ] && [ "$rx" -gt 10 ] && [ "$rx" -lt 60 ] || fail "with 10% loss on fragmented pings expected some but not all replies, got '$rx'"
stop_ustack "$USTACK_PID"
check_pcap "$TMP/loss.pcap"
replied=$(counter "$TMP/loss.log" icmp.echo_replied)
inpcap=$(tsh_count "$TMP/loss.pcap" "icmp.type == 0 && ip.src == $US_IP")
[ "$replied" -eq "$inpcap" ] || fail "icmp.echo_replied=$replied but the pcap shows $inpcap replies"
reasm=$(counter "$TMP/loss.log" ip.reassembled)
[ "$reasm" -eq "$replied" ] || fail "ip.reassembled=$reasm but $replied replies"
[ "$reasm" -ge "$rx" ] || fail "more replies arrived ($rx) than ustack reassembled ($reasm)"
grep -q "impair: loss" "$TMP/loss.log" || fail "impairment stats missing"

start_ustack reorder --reorder 0.1 --seed 9 --pcap "$TMP/reorder.pcap" up --duration 60
out=$(nsx ping -c 40 -i 0.02 -W 2 -s 3000 "$US_IP" || true)
echo "$out" | tail -2
echo "$out" | grep -q "40 packets transmitted, 40 received" || fail "reordering must not lose pings"
stop_ustack "$USTACK_PID"
check_pcap "$TMP/reorder.pcap"

# ustack pinging Linux through its own 10% loss: losses reported like ping(8),
# exit status 0 because replies came back
nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" --loss 0.1 --seed 5 ping -c 50 -i 0.02 -W 1 "$LINUX_IP" >"$TMP/uping.log" 2>&1 \
    || { cat "$TMP/uping.log"; fail "ustack ping under loss exited non-zero"; }
tail -2 "$TMP/uping.log"
urx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/uping.log")
[ "$urx" -gt 25 ] && [ "$urx" -lt 50 ] || fail "expected some lost pings with 10% loss each way, got $urx/50"
grep -Eq "50 packets transmitted, $urx received, [0-9]+% packet loss" "$TMP/uping.log" || fail "loss summary line"

# UDP echo through reordering and duplication: every datagram still echoed exactly
start_ustack udp --reorder 0.1 --dup 0.1 --seed 3 --pcap "$TMP/udp.pcap" up --duration 60
nsx python3 - "$US_IP" <<'PY' || fail "UDP echo under reordering"
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], 7))
for i in range(30):
    data = os.urandom(3000)
    s.send(data)
    while True:
        back = s.recv(65535)     # duplicates of earlier echoes are skipped
        if back == data:
            break
print("30 fragmented datagrams echoed through reordering and duplication")
PY
stop_ustack "$USTACK_PID"
check_pcap "$TMP/udp.pcap"
echo PASS
