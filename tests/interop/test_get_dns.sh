#!/usr/bin/env bash
# `ustack get` with names: dnsmasq on the Linux side (198.18.0.1) answers
# web.test (a CNAME to www.test) and nothing else; a python HTTP server on
# 198.18.0.1:8080 serves a file. Over ustack (--tap --dns) and over the kernel
# (--stack kernel --dns, inside the namespace):
#   - two URLs of the name: both bodies byte-exact, one lookup on the wire
#     (dnsmasq's log), the second answered by the cache (-v timing line);
#   - a name dnsmasq does not know: exit status 6 and the reason.
source "$(dirname "$0")/lib.sh"
command -v dnsmasq >/dev/null || { echo "SKIP: dnsmasq not installed"; exit 77; }
head -c 300000 /dev/urandom >"$TMP/f.bin"
want=$(sha256sum <"$TMP/f.bin" | cut -d' ' -f1)
# not through nsx: $! must be the program itself
nsenter --net="/run/netns/$NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --listen-address="$LINUX_IP" --bind-interfaces --port 53 --user=root --pid-file= --local=/test/ --local-ttl=300 \
    --host-record=www.test,"$LINUX_IP" --cname=web.test,www.test \
    --log-queries --log-facility="$TMP/dnsmasq.txt" >"$TMP/dnsmasq.out" 2>&1 &
PIDS+=($!)
nsenter --net="/run/netns/$NS" python3 -m http.server 8080 --bind "$LINUX_IP" --directory "$TMP" >"$TMP/http.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    grep -q 'started' "$TMP/dnsmasq.txt" 2>/dev/null && grep -q 'Serving' "$TMP/http.out" 2>/dev/null && break
    sleep 0.1
done
grep -q 'started' "$TMP/dnsmasq.txt" || { cat "$TMP/dnsmasq.out"; fail "dnsmasq did not start"; }
queries() { grep -c "query\[A\] web.test from $1" "$TMP/dnsmasq.txt" || true; }

check() {   # check NAME CLIENT_IP ARGS... (the global options of ustack)
    local name=$1 ip=$2; shift 2
    local rc=0
    timeout 60 nsenter --net="/run/netns/$NS" "$USTACK" "$@" --dns "$LINUX_IP" get -v \
        -o "$TMP/$name.out" http://web.test:8080/f.bin http://web.test:8080/f.bin 2>"$TMP/$name.err" || rc=$?
    [ $rc -eq 0 ] || { cat "$TMP/$name.err"; fail "$name: get exited $rc"; }
    [ "$(head -c 300000 "$TMP/$name.out" | sha256sum | cut -d' ' -f1)" = "$want" ] || fail "$name: first body differs"
    [ "$(tail -c 300000 "$TMP/$name.out" | sha256sum | cut -d' ' -f1)" = "$want" ] || fail "$name: second body differs"
    for _ in $(seq 1 40); do [ "$(queries "$ip")" -ge 1 ] && break; sleep 0.05; done   # dnsmasq's log may lag
    [ "$(queries "$ip")" -eq 1 ] || { cat "$TMP/dnsmasq.txt" "$TMP/$name.err"; fail "$name: dnsmasq saw $(queries "$ip") queries for web.test, want 1"; }
    [ "$(grep -c 'f.bin: 200 OK.* dns [0-9.]* ms,' "$TMP/$name.err")" -eq 1 ] || { cat "$TMP/$name.err"; fail "$name: no looked-up transfer"; }
    [ "$(grep -c 'f.bin: 200 OK.* dns [0-9.]* ms (cached),' "$TMP/$name.err")" -eq 1 ] || fail "$name: the second lookup did not come from the cache"
    rc=0
    timeout 60 nsenter --net="/run/netns/$NS" "$USTACK" "$@" --dns "$LINUX_IP" get http://nope.test:8080/f.bin \
        >/dev/null 2>"$TMP/$name-nx.err" || rc=$?
    [ $rc -eq 6 ] || { cat "$TMP/$name-nx.err"; fail "$name: unknown name exited $rc, want 6"; }
    grep -q "cannot resolve nope.test: " "$TMP/$name-nx.err" || fail "$name: the error does not say why"
    echo "ok: $name: two bodies byte-exact, one query, the second from the cache; nope.test exit 6"
}
check ustack "$US_IP" --tap "$TAP" --ip "$US_IP/24"
check kernel "$LINUX_IP" --stack kernel
echo PASS
