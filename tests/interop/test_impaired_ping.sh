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
inpcap=$(tshark -r "$TMP/loss.pcap" -Y "icmp.type == 0 && ip.src == $US_IP" 2>/dev/null | wc -l)
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
echo PASS
