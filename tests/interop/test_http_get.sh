#!/usr/bin/env bash
# HTTP client, ustack -> Linux: `ustack get` against nginx on 198.18.0.1 (one
# worker, config and files in the test's temp dir, killed by PID): a 50 MB
# file byte-exact (sha256), a chunked response (SSI) byte-exact, 304 for
# If-None-Match, a byte range (206), several URLs over one connection (-v says
# reused; nginx's access log shows one $connection), pipelining, parallel
# connections with -O, a redirect (-L), the exit statuses 22 (-f), 7 (refused)
# and 28 (timeout); h2o serving the same file; then `ustack --stack kernel get`
# the same inside the namespace over loopback. Every ustack capture passes
# tshark.
source "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "SKIP: nginx not installed"; exit 77; }
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
PORT=8080
BASE="http://$LINUX_IP:$PORT"
WWW="$TMP/www"
chmod 755 "$TMP"   # nginx workers run as nobody
mkdir -p "$WWW" "$TMP/out"
# random text without CR or LF: tshark reads each segment on its own
# (desegmentation off), and a body segment that starts with CRLF is taken for
# a new HTTP message with a stray leading CRLF, "malformed"
rnd() { head -c $(($1 * 3 / 4 + 3)) /dev/urandom | base64 -w0 | head -c "$1"; }
rnd 50000000 >"$WWW/big.bin"
rnd 400000 >"$WWW/part.txt"
printf 'before<!--# include file="/part.txt" -->after\n' >"$WWW/page.shtml"
for i in 1 2 3 4; do rnd $((i * 10000 + 7)) >"$WWW/f$i.bin"; done
echo "small file" >"$WWW/a.txt"

start_nginx $PORT "
    log_format conn '\$connection \$connection_requests \"\$request\" \$status \$body_bytes_sent';
    access_log $TMP/access.log conn;
    keepalive_requests 1000;
    sendfile on;
    server {
        listen $LINUX_IP:$PORT;
        root $WWW;
        location ~ \\.shtml\$ { ssi on; ssi_types *; }
        location = /old { return 302 /moved/../a.txt; }
    }"

# uget NAME ARGS...: ustack get on the TAP with a capture; stderr in NAME.err,
# exit status in $RC
uget() {
    local name=$1; shift
    RC=0
    timeout 300 nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" \
        --pcap "$TMP/$name.pcap" get "$@" 2>"$TMP/$name.err" || RC=$?
}
kget() {
    local name=$1; shift
    RC=0
    timeout 300 nsenter --net="/run/netns/$NS" "$USTACK" --stack kernel get "$@" 2>"$TMP/$name.err" || RC=$?
}
same() { cmp -s "$1" "$2" || fail "$3: body differs from $(basename "$1") ($(stat -c %s "$2" 2>/dev/null) bytes)"; }
want_rc() { [ "$RC" -eq "$1" ] || { cat "$TMP/$2.err"; fail "$2: exit status $RC, expected $1"; }; }

chunked_expect() { printf 'before'; cat "$WWW/part.txt"; printf 'after\n'; }
chunked_expect >"$TMP/page.expect"

# run_all PREFIX GETTER: the cases, through uget (ustack on the TAP) or kget
run_all() {
    local p=$1 g=$2
    $g "$p-big" -o "$TMP/out/$p-big.bin" "$BASE/big.bin"
    want_rc 0 "$p-big"
    [ "$(sha256sum <"$TMP/out/$p-big.bin")" = "$(sha256sum <"$WWW/big.bin")" ] || fail "$p: 50 MB body sha256 differs"
    grep "big.bin: 200 OK, 50000000 bytes" "$TMP/$p-big.err" | sed "s/^/$p: /"

    $g "$p-chunked" -v -o "$TMP/out/$p-page" "$BASE/page.shtml"
    want_rc 0 "$p-chunked"
    grep -qi '^< Transfer-Encoding: chunked' "$TMP/$p-chunked.err" || fail "$p: nginx did not answer chunked"
    same "$TMP/page.expect" "$TMP/out/$p-page" "$p chunked"

    $g "$p-etag" -v -I -o /dev/null "$BASE/a.txt"
    local etag
    etag=$(sed -n 's/^< [Ee][Tt]ag: //p' "$TMP/$p-etag.err" | head -1)
    [ -n "$etag" ] || fail "$p: no ETag from nginx"
    $g "$p-304" -v -o "$TMP/out/$p-304" -H "If-None-Match: $etag" "$BASE/a.txt"
    want_rc 0 "$p-304"
    grep -q '^< HTTP/1.1 304' "$TMP/$p-304.err" || fail "$p: no 304 for If-None-Match $etag"
    [ ! -s "$TMP/out/$p-304" ] || fail "$p: 304 with a body"

    $g "$p-range" -v -o "$TMP/out/$p-range" -H "Range: bytes=1000-1999" "$BASE/big.bin"
    want_rc 0 "$p-range"
    grep -q '^< HTTP/1.1 206' "$TMP/$p-range.err" || fail "$p: no 206 for a range"
    dd if="$WWW/big.bin" bs=1000 skip=1 count=1 status=none >"$TMP/range.expect"
    same "$TMP/range.expect" "$TMP/out/$p-range" "$p range"

    $g "$p-keep" -v -o "$TMP/out/$p-keep" "$BASE/f1.bin" "$BASE/f2.bin" "$BASE/f3.bin" "$BASE/a.txt"
    want_rc 0 "$p-keep"
    cat "$WWW/f1.bin" "$WWW/f2.bin" "$WWW/f3.bin" "$WWW/a.txt" >"$TMP/keep.expect"
    same "$TMP/keep.expect" "$TMP/out/$p-keep" "$p keep-alive"
    [ "$(grep -c '^\* connection 1: reused' "$TMP/$p-keep.err")" -eq 3 ] || fail "$p: -v does not say reused 3 times"
    [ "$(grep -c ': new, connecting' "$TMP/$p-keep.err")" -eq 1 ] || fail "$p: more than one connection"
    # nginx's log: the last four requests on one connection, numbered 1..4
    tail -4 "$TMP/access.log" | awk '{print $1}' | sort -u | wc -l | grep -qx 1 || fail "$p: nginx saw several connections"
    [ "$(tail -4 "$TMP/access.log" | awk '{print $2}' | tr '\n' ' ')" = "1 2 3 4 " ] || fail "$p: nginx request numbers"

    $g "$p-pipe" -v --pipeline 4 --max-per-host 1 -o "$TMP/out/$p-pipe" "$BASE/f1.bin" "$BASE/f2.bin" "$BASE/f3.bin" "$BASE/a.txt"
    want_rc 0 "$p-pipe"
    same "$TMP/keep.expect" "$TMP/out/$p-pipe" "$p pipelined"
    tail -4 "$TMP/access.log" | awk '{print $1}' | sort -u | wc -l | grep -qx 1 || fail "$p: pipelined requests on several connections"

    (cd "$TMP/out" && rm -f f?.bin && $g "$p-par" --parallel 4 -O "$BASE/f1.bin" "$BASE/f2.bin" "$BASE/f3.bin" "$BASE/f4.bin")
    want_rc 0 "$p-par"
    for i in 1 2 3 4; do same "$WWW/f$i.bin" "$TMP/out/f$i.bin" "$p parallel f$i"; done
    [ "$(tail -4 "$TMP/access.log" | awk '{print $1}' | sort -u | wc -l)" -eq 4 ] || fail "$p: --parallel 4 did not use 4 connections"

    $g "$p-redir" -L -o "$TMP/out/$p-redir" "$BASE/old"
    want_rc 0 "$p-redir"
    same "$WWW/a.txt" "$TMP/out/$p-redir" "$p redirect"
    grep -q '1 redirect' "$TMP/$p-redir.err" || fail "$p: the timing line does not count the redirect"

    $g "$p-404" -f -o "$TMP/out/$p-404" "$BASE/nothing"
    want_rc 22 "$p-404"
    [ ! -s "$TMP/out/$p-404" ] || fail "$p: -f wrote the 404 body"
    $g "$p-refused" "http://$LINUX_IP:9/"
    want_rc 7 "$p-refused"
    $g "$p-https" "https://$LINUX_IP/"
    want_rc 1 "$p-https"
    grep -q 'https is not supported' "$TMP/$p-https.err" || fail "$p: https error message"
    # a listener that never answers: the kernel completes the handshake
    nsenter --net="/run/netns/$NS" python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('$LINUX_IP', 8099)); s.listen(8); time.sleep(20)" &
    local mute=$!
    PIDS+=($mute)
    wait_port 8099
    $g "$p-timeout" --timeout 1 "http://$LINUX_IP:8099/"
    want_rc 28 "$p-timeout"
    kill "$mute" 2>/dev/null; wait "$mute" 2>/dev/null || true
    echo "$p: chunked, 304, range, keep-alive, pipelining, parallel, redirect, exit statuses 22 7 1 28 ok"
}

run_all tap uget
for f in tap-keep tap-pipe tap-chunked tap-par tap-big; do check_pcap "$TMP/$f.pcap"; done
echo "tap: captures clean"

if command -v h2o >/dev/null; then
    cat >"$TMP/h2o.conf" <<EOF
listen:
  host: $LINUX_IP
  port: 8081
error-log: $TMP/h2o-error.log
hosts:
  default:
    paths:
      /:
        file.dir: $WWW
EOF
    nsenter --net="/run/netns/$NS" h2o -c "$TMP/h2o.conf" >"$TMP/h2o.log" 2>&1 &
    PIDS+=($!)
    wait_port 8081
    uget h2o -v -o "$TMP/out/h2o-big" "http://$LINUX_IP:8081/big.bin" "http://$LINUX_IP:8081/f1.bin"
    want_rc 0 h2o
    cat "$WWW/big.bin" "$WWW/f1.bin" | cmp -s - "$TMP/out/h2o-big" || fail "h2o: bodies differ"
    grep -q '^\* connection 1: reused' "$TMP/h2o.err" || fail "h2o: second URL not on the same connection"
    check_pcap "$TMP/h2o.pcap"
    echo "h2o: 50 MB and a second URL on the same connection byte-exact"
fi

run_all kernel kget
echo "PASS"
