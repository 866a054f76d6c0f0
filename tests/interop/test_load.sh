#!/usr/bin/env bash
# ustack load against nginx (198.18.0.1) in the test's namespace, close per
# request with the client closing first: each request keeps one of the
# client's 200 ephemeral ports in TIME_WAIT for 2*MSL, so at 200 requests/s
# connect fails with EADDRNOTAVAIL from about 1 s on, as the printed
# arithmetic predicts — on ustack (--local-ports) and on the kernel
# (ip_local_port_range and tcp_tw_reuse=0 in the namespace). With --keepalive
# the same load runs on a few connections without a failure.
source "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "SKIP: nginx not installed"; exit 77; }
PORT=8080
chmod 755 "$TMP"
mkdir -p "$TMP/www"
echo "small page" >"$TMP/www/index.html"
start_nginx $PORT "
    access_log off;
    keepalive_requests 100000;
    server { listen $LINUX_IP:$PORT; root $TMP/www; }"
URL="http://$LINUX_IP:$PORT/"

run() {   # run NAME EXPECTED_RC ARGS...: a bounded load, its output in $TMP/NAME.out
    local name=$1 want=$2 rc=0; shift 2
    timeout 60 nsenter --net="/run/netns/$NS" "$USTACK" "$@" >"$TMP/$name.out" 2>&1 || rc=$?
    cat "$TMP/$name.out"
    [ $rc -eq "$want" ] || fail "$name: exit status $rc, want $want"
}
first_fail() { grep -o 'EADDRNOTAVAIL, the first at [0-9.]* s' "$TMP/$1.out" | grep -o '[0-9.]* s' | tr -d ' s'; }
check_exhaustion() {   # check_exhaustion NAME
    local t
    t=$(first_fail "$1")
    [ -n "$t" ] || fail "$1: no EADDRNOTAVAIL"
    grep -q "prediction: connect fails with EADDRNOTAVAIL from 200 / 200/s = 1.00 s on" "$TMP/$1.out" ||
        fail "$1: prediction missing"
    awk -v t="$t" 'BEGIN { exit !(t >= 0.9 && t <= 1.5) }' || fail "$1: first EADDRNOTAVAIL at $t s, predicted 1.00 s"
    local ok
    ok=$(grep -o '[0-9]* answered (' "$TMP/$1.out" | grep -o '^[0-9]*')
    [ "$ok" -ge 190 ] && [ "$ok" -le 210 ] || fail "$1: $ok answered, want about the 200 ports"
    echo "ok: $1: ports ran out at $t s (predicted 1.00 s), $ok answered"
}

# ustack, close per request: 200 ports, 200/s, TIME_WAIT 60 s
run ustack-close 1 --tap "$TAP" --ip "$US_IP/24" load "$URL" --rate 200 --duration 3 --grace 2 --local-ports 50000-50199
check_exhaustion ustack-close
grep -q "TIME_WAIT at most 200$" "$TMP/ustack-close.out" || fail "ustack-close: TIME_WAIT did not reach the 200 ports"

# ustack, keep-alive: the same load, nothing runs out
run ustack-keep 0 --tap "$TAP" --ip "$US_IP/24" load "$URL" --rate 200 --duration 3 --grace 2 --local-ports 50000-50199 --keepalive
grep -q "600 sent, 600 answered (0 with status >= 400), 0 failed" "$TMP/ustack-keep.out" || fail "ustack-keep: not all answered"
conns=$(grep -o 'connections opened [0-9]*' "$TMP/ustack-keep.out" | grep -o '[0-9]*$')
[ "$conns" -le 16 ] || fail "ustack-keep: $conns connections for a keep-alive load"
echo "ok: ustack-keep: 600 answered on $conns connections"

# the kernel, close per request, in the namespace: the same arithmetic
nsx sysctl -qw net.ipv4.ip_local_port_range="50000 50199"
nsx sysctl -qw net.ipv4.tcp_tw_reuse=0   # else Linux reuses TIME_WAIT ports towards a local address
run kernel-close 1 --stack kernel load "$URL" --rate 200 --duration 3 --grace 2
check_exhaustion kernel-close
echo PASS
