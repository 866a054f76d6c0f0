#!/usr/bin/env bash
# Linux ping(8) of ustack: 20 x 56 bytes and 20 x 3000 bytes (fragmented both
# ways) all answered; the capture is clean; counters agree with the capture.
source "$(dirname "$0")/lib.sh"
start_ustack up --pcap "$TMP/up.pcap" up --duration 60
out=$(nsx ping -c 20 -i 0.05 -W 2 "$US_IP") || { echo "$out"; fail "ping 56 bytes"; }
echo "$out" | tail -2
echo "$out" | grep -q "20 packets transmitted, 20 received" || fail "not every 56-byte reply came back"
out=$(nsx ping -c 20 -i 0.05 -W 2 -s 3000 "$US_IP") || { echo "$out"; fail "ping 3000 bytes"; }
echo "$out" | tail -2
echo "$out" | grep -q "20 packets transmitted, 20 received" || fail "not every 3000-byte reply came back"
stop_ustack "$USTACK_PID"
cat "$TMP/up.log"
check_pcap "$TMP/up.pcap"
replied=$(counter "$TMP/up.log" icmp.echo_replied)
[ "$replied" -eq 40 ] || fail "icmp.echo_replied = $replied, expected 40"
inpcap=$(tsh_count "$TMP/up.pcap" "icmp.type == 0 && ip.src == $US_IP")
[ "$inpcap" -eq 40 ] || fail "pcap shows $inpcap echo replies from ustack, expected 40"
frags=$(tsh_count "$TMP/up.pcap" "ip.src == $US_IP && ip.flags.mf == 1")
[ "$frags" -ge 20 ] || fail "expected ustack to send fragments, pcap shows $frags"
echo PASS
