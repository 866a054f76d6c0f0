#!/usr/bin/env bash
# ustack ping of the Linux side: 20 x 56 and 20 x 3000 bytes, every reply,
# exit status 0; a ping to an address nobody has exits non-zero.
source "$(dirname "$0")/lib.sh"
nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" --pcap "$TMP/p1.pcap" ping -c 20 -i 0.05 "$LINUX_IP" >"$TMP/p1.log" 2>&1 \
    || { cat "$TMP/p1.log"; fail "ustack ping 56 bytes"; }
tail -3 "$TMP/p1.log"
grep -q "20 packets transmitted, 20 received, 0% packet loss" "$TMP/p1.log" || fail "56-byte replies missing"
grep -Eq "icmp_seq=1 ttl=64 time=[0-9.]+ ms" "$TMP/p1.log" || fail "reply line format"
nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" --pcap "$TMP/p2.pcap" ping -c 20 -i 0.05 -s 3000 "$LINUX_IP" >"$TMP/p2.log" 2>&1 \
    || { cat "$TMP/p2.log"; fail "ustack ping 3000 bytes"; }
tail -3 "$TMP/p2.log"
grep -q "20 packets transmitted, 20 received" "$TMP/p2.log" || fail "3000-byte replies missing"
grep -q "3008 bytes from $LINUX_IP" "$TMP/p2.log" || fail "reply size line"
check_pcap "$TMP/p1.pcap"
check_pcap "$TMP/p2.pcap"
# Linux's replies were fragmented and reassembled by ustack
lfr=$(tsh_count "$TMP/p2.pcap" "ip.src == $LINUX_IP && ip.flags.mf == 1")
[ "$lfr" -ge 20 ] || fail "expected fragments from Linux, saw $lfr"
# nobody at .77: ARP fails, no replies, non-zero exit
if nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" ping -c 2 -i 0.2 -W 1 198.18.0.77 >"$TMP/p3.log" 2>&1; then
    cat "$TMP/p3.log"; fail "ping of an absent host exited 0"
fi
grep -q "2 packets transmitted, 0 received, 100% packet loss" "$TMP/p3.log" || { cat "$TMP/p3.log"; fail "loss summary"; }
echo PASS
