#!/usr/bin/env bash
# DNS: `ustack resolve` against dnsmasq (the Linux side of the test's
# namespace, 198.18.0.1, static records only: --no-resolv --no-hosts,
# --host-record, a CNAME, --local-ttl) on ustack over the TAP device and on
# the kernel's sockets (--stack kernel) inside the namespace:
#   - the addresses, the TTL and the CNAME chain come back as dnsmasq has them;
#   - a name given twice is answered from the cache: dnsmasq's log shows one
#     query for it, the capture one query;
#   - a name under the local domain that does not exist is NXDOMAIN (exit 1);
#   - a name with 40 addresses does not fit in 512 bytes: dnsmasq answers
#     with TC=1 and the resolver asks again over TCP (RFC 7766);
#   - a server that does not answer ends in a timeout (exit 3), after the
#     attempts, each with its own query ID and source port;
#   - the capture (ustack's --pcap, tshark on the namespace's loopback for the
#     kernel) is clean and every query has its own ID and source port.
source "$(dirname "$0")/lib.sh"
command -v dnsmasq >/dev/null || { echo "SKIP: dnsmasq not installed"; exit 77; }
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }

# not through nsx: $! must be the program itself (start_ustack does the same)
nsenter --net="/run/netns/$NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --listen-address="$LINUX_IP" --bind-interfaces --port 53 --user=root --pid-file= \
    --local=/test/ --local-ttl=300 \
    --host-record=a.test,198.18.0.100 --host-record=b.test,198.18.0.101 \
    --host-record=multi.test,198.18.0.102 --host-record=multi.test,198.18.0.103 \
    --cname=www.test,b.test --cname=alias.test,www.test \
    $(for i in $(seq 1 40); do printf -- '--host-record=big.test,198.18.1.%d ' "$i"; done) \
    --log-queries --log-facility="$TMP/dnsmasq.txt" >"$TMP/dnsmasq.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    grep -q 'started' "$TMP/dnsmasq.txt" 2>/dev/null && break
    sleep 0.05
done
grep -q 'started' "$TMP/dnsmasq.txt" || { cat "$TMP/dnsmasq.out"; fail "dnsmasq did not start"; }

queries_in_log() { grep -c "query\[A\] $1 from $2" "$TMP/dnsmasq.txt" || true; }

# check_resolve OUT PREFIX: what both stacks must print
check_resolve() {
    local out=$1
    grep -Eq '^a\.test: 198\.18\.0\.100 ttl 300 from server 198\.18\.0\.1 \(1 query' "$out" || fail "a.test answer: $(cat "$out")"
    grep -Eq '^a\.test: 198\.18\.0\.100 ttl (29[0-9]|300) from cache' "$out" || fail "a.test second lookup not from the cache"
    grep -Eq '^alias\.test: 198\.18\.0\.101 ttl [0-9]+ canonical b\.test \(2 CNAMEs\)' "$out" || fail "alias.test CNAME chain: $(cat "$out")"
    grep -Eq '^multi\.test: 198\.18\.0\.10[23],198\.18\.0\.10[23] ttl 300' "$out" || fail "multi.test: two addresses"
    # a query lost on the way would be retried: 3 answers, whatever was sent
    grep -Eq '^dns: [0-9]+ queries sent \(0 over TCP\), 3 answers, 1 cache hits, 0 mismatched dropped' "$out" \
        || fail "counters: $(grep '^dns:' "$out")"
}
sent() { sed -n 's/^dns: \([0-9]*\) queries sent.*/\1/p' "$1"; }

# check_ids PCAP FILTER N: N queries, each with its own ID and source port
check_ids() {
    local pcap=$1 n=$3
    tsh -r "$pcap" -Y "dns.flags.response == 0 && !icmp && $2" -T fields -e dns.id -e udp.srcport 2>/dev/null >"$TMP/ids.txt"
    [ "$(wc -l <"$TMP/ids.txt")" -eq "$n" ] || { cat "$TMP/ids.txt"; fail "$pcap: expected $n queries"; }
    [ "$(cut -f1 "$TMP/ids.txt" | sort -u | wc -l)" -eq "$n" ] || { cat "$TMP/ids.txt"; fail "$pcap: query IDs repeat"; }
    [ "$(cut -f2 "$TMP/ids.txt" | sort -u | wc -l)" -eq "$n" ] || { cat "$TMP/ids.txt"; fail "$pcap: source ports repeat"; }
    echo "$pcap: $n queries, IDs and source ports all different:"; tr '\t' ' ' <"$TMP/ids.txt" | sed 's/^/  id port /'
}

names=(a.test a.test alias.test multi.test)

# ---- ustack over the TAP device ----
rc=0
nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" --pcap "$TMP/us.pcap" --dns "$LINUX_IP" resolve "${names[@]}" \
    >"$TMP/us.out" 2>"$TMP/us.err" || rc=$?
cat "$TMP/us.out" "$TMP/us.err"
[ "$rc" -eq 0 ] || fail "ustack resolve exited $rc"
check_resolve "$TMP/us.out"
[ "$(queries_in_log a.test "$US_IP")" -eq 1 ] || fail "dnsmasq saw a.test from ustack $(queries_in_log a.test "$US_IP") times, want 1"
check_pcap "$TMP/us.pcap"
check_ids "$TMP/us.pcap" "ip.src == $US_IP" "$(sent "$TMP/us.out")"

rc=0
nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" --dns "$LINUX_IP" resolve nope.test >"$TMP/nx.out" 2>&1 || rc=$?
cat "$TMP/nx.out"
[ "$rc" -eq 1 ] || fail "NXDOMAIN should exit 1, got $rc"
grep -q 'nope.test: NXDOMAIN' "$TMP/nx.out" || fail "no NXDOMAIN message"

rc=0
nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" --pcap "$TMP/tc.pcap" --dns "$LINUX_IP" resolve big.test big.test \
    >"$TMP/tc.out" 2>&1 || rc=$?
cat "$TMP/tc.out"
[ "$rc" -eq 0 ] || fail "big.test exited $rc"
grep -Eq '^big\.test: (198\.18\.1\.[0-9]+,){15}198\.18\.1\.[0-9]+ ttl 300 from server 198\.18\.0\.1 \(2 queries, TCP after a truncated answer' \
    "$TMP/tc.out" || fail "big.test not answered over TCP with 16 addresses"
grep -Eq '^big\.test: .* from cache' "$TMP/tc.out" || fail "the TCP answer was not cached"
grep -q '^dns: 1 queries sent (1 over TCP), 2 answers, 1 cache hits' "$TMP/tc.out" || fail "TC counters: $(tail -1 "$TMP/tc.out")"
check_pcap "$TMP/tc.pcap"
[ "$(tsh_count "$TMP/tc.pcap" 'udp && dns.flags.truncated == 1')" -eq 1 ] || fail "no truncated answer in the capture"
[ "$(tsh_count "$TMP/tc.pcap" "tcp.dstport == 53 && dns.flags.response == 0")" -eq 1 ] || fail "no DNS query over TCP in the capture"
grep -q 'aborted with RST' "$TMP/tc.out" && fail "the TCP connection ended with a RST at exit"
[ "$(tsh_count "$TMP/tc.pcap" 'tcp.flags.reset == 1')" -eq 0 ] || fail "a RST in the capture"
[ "$(tsh_count "$TMP/tc.pcap" 'tcp.flags.fin == 1')" -eq 2 ] || fail "not closed with a FIN each way"

# a server that does not answer (a port of 198.18.0.1 nobody listens on: the
# ICMP errors do not reach the resolver's unconnected sockets): --attempts 3,
# --timeout 0.2: 0.2 + 0.4 + 0.8 s, then exit 3
rc=0
nsx "$USTACK" --tap "$TAP" --ip "$US_IP/24" --pcap "$TMP/to.pcap" --dns 198.18.0.1:5399 \
    resolve --attempts 3 --timeout 0.2 a.test >"$TMP/to.out" 2>&1 || rc=$?
cat "$TMP/to.out"
[ "$rc" -eq 3 ] || fail "a timeout should exit 3, got $rc"
grep -q 'a.test: timed out' "$TMP/to.out" || fail "no timeout message"
check_ids "$TMP/to.pcap" "udp.dstport == 5399" 3

# ---- the kernel's sockets inside the namespace (over its loopback) ----
nsenter --net="/run/netns/$NS" dumpcap -q -i lo -w "$TMP/k.pcap" >"$TMP/dumpcap.log" 2>&1 &
CAP_PID=$!
PIDS+=("$CAP_PID")
for _ in $(seq 1 100); do [ -s "$TMP/k.pcap" ] && break; sleep 0.05; done
rc=0
nsx "$USTACK" --stack kernel --dns "$LINUX_IP" resolve "${names[@]}" >"$TMP/k.out" 2>"$TMP/k.err" || rc=$?
cat "$TMP/k.out" "$TMP/k.err"
[ "$rc" -eq 0 ] || fail "ustack --stack kernel resolve exited $rc"
check_resolve "$TMP/k.out"
sleep 0.5
kill "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true
check_ids "$TMP/k.pcap" "udp.dstport == 53" "$(sent "$TMP/k.out")"
[ "$(grep -c "query\[A\] a.test from $LINUX_IP" "$TMP/dnsmasq.txt")" -eq 1 ] || fail "dnsmasq saw a.test from the kernel run more than once"
echo PASS
