#!/usr/bin/env bash
# ustack get on the kernel's sockets against python's http.server on
# 127.0.0.1 (loopback only, no privileges): bodies byte-exact in URL order,
# several URLs over one connection when the server keeps it (-v says reused),
# -O names, --parallel, exit statuses (1 bad URL / https, 2 bad option, 7
# refused, 22 with -f), the timing line.
set -euo pipefail
U=$(readlink -f "$1")
T=$(mktemp -d)
PY=
cleanup() { [ -n "$PY" ] && kill "$PY" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 0; }
mkdir -p "$T/www" "$T/o"
head -c 300000 /dev/urandom >"$T/www/a.bin"
head -c 1234 /dev/urandom >"$T/www/b.bin"
# an HTTP/1.1 server that keeps connections (http.server's default is 1.0)
cat >"$T/srv.py" <<'PY'
import functools, http.server, socketserver, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
socketserver.TCPServer.allow_reuse_address = True
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=sys.argv[1]))
print(s.server_address[1], flush=True)
s.timeout = 1
import time
end = time.monotonic() + 120
while time.monotonic() < end:
    s.handle_request()
PY
python3 "$T/srv.py" "$T/www" >"$T/port" &
PY=$!
for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
PORT=$(cat "$T/port")
[ -n "$PORT" ] || fail "server did not start"
B="http://127.0.0.1:$PORT"
G() { RC=0; timeout 60 "$U" --stack kernel get "$@" >"$T/out" 2>"$T/err" || RC=$?; }

G -v "$B/a.bin" "$B/b.bin" "$B/a.bin"
[ $RC -eq 0 ] || { cat "$T/err"; fail "get exit $RC"; }
cat "$T/www/a.bin" "$T/www/b.bin" "$T/www/a.bin" | cmp -s - "$T/out" || fail "bodies differ"
[ "$(grep -c '^\* connection 1: reused' "$T/err")" -eq 2 ] || { cat "$T/err"; fail "-v does not say reused twice"; }
grep -q "a.bin: 200 OK, 300000 bytes; connection 1 new, connect [0-9.]* ms, first byte [0-9.]* ms, total" "$T/err" \
    || fail "no timing line"
echo "ok: three URLs, one connection, byte-exact"

(cd "$T/o" && G --parallel 2 -O "$B/a.bin" "$B/b.bin")
[ $RC -eq 0 ] || fail "--parallel -O exit $RC"
cmp -s "$T/www/a.bin" "$T/o/a.bin" && cmp -s "$T/www/b.bin" "$T/o/b.bin" || fail "-O files differ"
echo "ok: --parallel 2 -O"

G --parallel 2 "$B/a.bin" "$B/b.bin"
cat "$T/www/a.bin" "$T/www/b.bin" | cmp -s - "$T/out" || fail "--parallel to stdout not in URL order"
echo "ok: --parallel output in URL order"

expect() { # STATUS PATTERN ARGS...
    local want=$1 pat=$2; shift 2
    G "$@"
    [ $RC -eq "$want" ] || { cat "$T/err"; fail "'$*' exit $RC, expected $want"; }
    grep -q -- "$pat" "$T/err" || { cat "$T/err"; fail "'$*': no '$pat'"; }
    echo "ok: get $* -> $RC"
}
expect 22 "returned error: 404" -f "$B/nothing"
[ ! -s "$T/out" ] || fail "-f wrote the 404 body"
expect 0 "404 Not Found" "$B/nothing"
expect 1 "https is not supported" https://127.0.0.1/
expect 1 "invalid character 0x20" "http://127.0.0.1/a b"
expect 1 "invalid port" http://127.0.0.1:99999/
expect 1 "-O: no file name" -O "$B/"
expect 2 "unknown option '--bogus'" --bogus "$B/"
expect 2 "no URL to fetch" -v
# a port nobody listens on: the server's port after it is gone is not safe, use port 1
expect 7 "cannot connect to 127.0.0.1:1" http://127.0.0.1:1/
echo PASS
