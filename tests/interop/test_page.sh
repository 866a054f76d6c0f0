#!/usr/bin/env bash
# ustack page against nginx: nginx (one worker) on 198.18.0.1 in the test's
# namespace serves a generated page with twenty resources; `ustack --tap ...
# page http://198.18.0.1/` by each strategy saves every body (--save), which
# must be byte-exact; the capture counts ustack's SYNs (by port) per strategy (serial
# and parallel: one per request, resources + 1; persistent: at most
# --parallel; pipelined: one) and nginx's access log ($connection,
# $connection_requests) shows the reuse; `--strategy all` prints the
# comparison; a host name through the resolver against dnsmasq asks once;
# then `ustack --stack kernel page` the same over the kernel's sockets inside
# the namespace.
source "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "SKIP: nginx not installed"; exit 77; }
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
WWW="$TMP/www"
chmod 755 "$TMP"   # nginx workers run as nobody
source "$(dirname "$0")/page_site.sh"
make_site "$WWW" "$LINUX_IP"   # N = 20 resources

start_nginx 80 "
    log_format conn '\$connection \$connection_requests \"\$request\" \$status';
    access_log $TMP/access.log conn;
    keepalive_requests 1000;
    # the \"images\" are random text: served as octet-stream, so tshark's image dissectors leave them be
    types { text/html html; text/css css; application/javascript js; application/octet-stream jpg; }
    server { listen $LINUX_IP:80; root $WWW; }"

# upage NAME ARGS...: ustack page on the TAP with a capture; output in NAME.out
upage() {
    local name=$1; shift
    : >"$TMP/access.log"
    timeout 120 nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" \
        --pcap "$TMP/$name.pcap" page "http://$LINUX_IP/" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" ||
        { cat "$TMP/$name.out" "$TMP/$name.err"; fail "$name: ustack page exited non-zero"; }
    sleep 0.2   # nginx writes its log lines
}
# connections ustack opened: its SYNs, a retransmitted one counted once (by its port)
syns() {
    tsh -r "$TMP/$1.pcap" -Y "ip.src == $US_IP && tcp.flags.syn == 1 && tcp.flags.ack == 0" -T fields -e tcp.srcport \
        2>/dev/null | sort -u | wc -l
}
conns() { awk '{print $1}' "$TMP/access.log" | sort -u | wc -l; }
requests() { wc -l <"$TMP/access.log"; }

for s in serial parallel persistent pipelined; do
    mkdir -p "$TMP/save-$s"
    upage "$s" --strategy "$s" --parallel 4 --pipeline 8 --save "$TMP/save-$s"
    byte_exact "$WWW" "$TMP/save-$s" "$s"
    check_pcap "$TMP/$s.pcap"
    [ "$(requests)" = $((N + 1)) ] || { cat "$TMP/access.log"; fail "$s: nginx logged $(requests) requests"; }
    grep -q "1 reference to another origin" "$TMP/$s.out" || fail "$s: the CDN script was not left out"
    echo "ok: $s: $((N + 1)) bodies byte-exact, $(syns "$s") SYNs, $(conns) nginx connections"
done
[ "$(syns serial)" = $((N + 1)) ] || fail "serial: $(syns serial) SYNs, expected $((N + 1))"
[ "$(syns parallel)" = $((N + 1)) ] || fail "parallel: $(syns parallel) SYNs, expected $((N + 1))"
[ "$(syns persistent)" -le 4 ] || fail "persistent: $(syns persistent) SYNs, expected at most 4"
[ "$(syns pipelined)" = 1 ] || fail "pipelined: $(syns pipelined) SYNs, expected 1"
grep -q "21 handshakes" "$TMP/serial.out" || fail "serial: the totals do not say 21 handshakes"
grep -q "; 1 handshake;" "$TMP/pipelined.out" || fail "pipelined: the totals do not say 1 handshake"
# the access log of the last run (pipelined): one connection carried every request
[ "$(conns)" = 1 ] || fail "pipelined: nginx saw $(conns) connections"
awk '$2 == 21 {ok=1} END {exit !ok}' "$TMP/access.log" || fail "pipelined: nginx's connection did not serve request 21"

upage all --strategy all --parallel 4 --plot "$TMP/all.png"
if command -v gnuplot >/dev/null; then
    for s in serial parallel persistent pipelined; do [ -s "$TMP/all-$s.png" ] || fail "all: no $s waterfall"; done
fi
grep -A5 "^comparison:" "$TMP/all.out" | grep -q "^  pipelined (8 deep) " || { cat "$TMP/all.out"; fail "all: no comparison"; }
[ "$(grep -c "0 failed" "$TMP/all.out")" = 4 ] || fail "all: a request failed"
grep -q "bytes in 1st RTT" "$TMP/all.out" || fail "all: the client-side slow-start column is missing"

# a host name through the resolver (the global --dns) against dnsmasq: one query on the wire, the
# cache answers the rest; the scripts named by 198.18.0.1 are another origin for www.page.test
if command -v dnsmasq >/dev/null; then
    nsenter --net="/run/netns/$NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
        --listen-address="$LINUX_IP" --bind-interfaces --port 53 --user=root --pid-file= \
        --local=/test/ --local-ttl=300 --host-record=www.page.test,$LINUX_IP \
        --log-queries --log-facility="$TMP/dnsmasq.txt" >"$TMP/dnsmasq.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do grep -q 'started' "$TMP/dnsmasq.txt" 2>/dev/null && break; sleep 0.05; done
    timeout 120 nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" --dns "$LINUX_IP" \
        page http://www.page.test/ --strategy persistent >"$TMP/dns.out" 2>&1 || { cat "$TMP/dns.out"; fail "page by name"; }
    grep -q "DNS 1 query on the wire, $((N - 3)) from the cache" "$TMP/dns.out" || { cat "$TMP/dns.out"; fail "page by name: DNS"; }
    grep -q "4 references to another origin" "$TMP/dns.out" || fail "page by name: the other origins"
    [ "$(grep -c "query\[A\] www.page.test from $US_IP" "$TMP/dnsmasq.txt")" = 1 ] || fail "dnsmasq did not see one query"
    echo "ok: page by name: one DNS query, $((N - 3)) lookups from the cache"
else
    echo "note: dnsmasq not installed, the page by name is not tested"
fi

# the same loader on the kernel's sockets, inside the namespace
mkdir -p "$TMP/save-kernel"
timeout 120 nsenter --net="/run/netns/$NS" "$USTACK" --stack kernel page "http://$LINUX_IP/" --strategy persistent \
    --save "$TMP/save-kernel" >"$TMP/kernel.out" 2>&1 || { cat "$TMP/kernel.out"; fail "--stack kernel page exited non-zero"; }
byte_exact "$WWW" "$TMP/save-kernel" kernel
grep -q "on kernel sockets" "$TMP/kernel.out" || fail "--stack kernel page does not say kernel"
sed -n "/^comparison:/,\$p" "$TMP/all.out"
grep "total:" "$TMP/kernel.out"
echo PASS
