#!/usr/bin/env bash
# `ustack serve` against real HTTP clients on the Linux side of the namespace:
#   - curl fetches several URLs over one connection ("Re-using existing
#     connection", "left intact"), every body byte-exact (SHA-256), ranges and
#     a conditional GET;
#   - python raw sockets send pipelined requests (answered in order) and
#     malformed or smuggling requests (CL+TE, two different Content-Lengths,
#     bare LF, obs-fold, a bad chunk size), each with a request hidden
#     behind it: each gets its status, then our FIN, and the hidden request
#     is never answered;
#   - wrk -c100 -d3s: no socket errors, every response 2xx;
#   - the same server code on the kernel's sockets (--stack kernel) inside
#     the namespace, on its loopback, answered to curl byte-exact;
#   - the capture passes tshark, and ustack sent no RST (every close was
#     graceful).
source "$(dirname "$0")/lib.sh"
# The capture is checked at the TCP/IP level: the HTTP dissector is off, as
# the smuggling cases below are malformed HTTP on purpose, and without TCP
# reassembly it also flags body segments it cannot place; the clients check
# every HTTP byte themselves.
tsh() { tshark -o tcp.desegment_tcp_streams:FALSE --disable-protocol http --disable-protocol ecatf "$@"; }   # ecatf: lib.sh
PORT=80
ROOT="$TMP/www"
mkdir -p "$ROOT/sub"
printf '<!doctype html><title>ustack</title><h1>hello</h1>\n' >"$ROOT/index.html"
printf 'sub index\n' >"$ROOT/sub/index.html"
head -c 3000000 /dev/urandom >"$ROOT/big.bin"
head -c 70000 /dev/urandom >"$ROOT/mid.bin"
printf 'a small text file\n' >"$ROOT/small.txt"
# the Linux side: curl and python need no proxy, and must not wait forever
export no_proxy='*' NO_PROXY='*'
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY

start_ustack serve --pcap "$TMP/serve.pcap" serve --port $PORT --root "$ROOT" \
    --access-log "$TMP/access.log" --idle-timeout 5000 --duration 600
URL="http://$US_IP"

# ---- curl: several URLs, one connection, bodies byte-exact -----------------
timeout 60 nsenter --net="/run/netns/$NS" curl -sv --max-time 30 \
    -o "$TMP/c1" "$URL/" -o "$TMP/c2" "$URL/big.bin" -o "$TMP/c3" "$URL/small.txt" \
    -o "$TMP/c4" "$URL/sub/" -o "$TMP/c5" "$URL/mid.bin" 2>"$TMP/curl.err" || { cat "$TMP/curl.err"; fail "curl failed"; }
reused=$(grep -c "Re-using existing connection" "$TMP/curl.err" || true)
intact=$(grep -c "left intact" "$TMP/curl.err" || true)
[ "$reused" -eq 4 ] || { cat "$TMP/curl.err"; fail "curl reused the connection $reused times, not 4"; }
[ "$intact" -eq 5 ] || fail "curl left the connection intact $intact times, not 5"
check_same() { [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ] || fail "$1 differs from $2"; }
check_same "$TMP/c1" "$ROOT/index.html"
check_same "$TMP/c2" "$ROOT/big.bin"
check_same "$TMP/c3" "$ROOT/small.txt"
check_same "$TMP/c4" "$ROOT/sub/index.html"
check_same "$TMP/c5" "$ROOT/mid.bin"
echo "curl: 5 URLs over one connection, byte-exact"

# a range and a conditional GET
nsx curl -s --max-time 10 -r 1000-1999 -o "$TMP/r1" "$URL/big.bin"
cmp -s "$TMP/r1" <(tail -c +1001 "$ROOT/big.bin" | head -c 1000) || fail "range 1000-1999 differs"
etag=$(nsx curl -sI --max-time 10 "$URL/small.txt" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')
[ -n "$etag" ] || fail "no ETag"
code=$(nsx curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/small.txt")
[ "$code" = 304 ] || fail "If-None-Match: $etag answered $code, not 304"
code=$(nsx curl -s --max-time 10 -o /dev/null -w '%{http_code}' -r 5000000- "$URL/big.bin")
[ "$code" = 416 ] || fail "a range past the end answered $code, not 416"
echo "curl: 206 range byte-exact, 304, 416"

# ---- python: pipelining and malformed / smuggling requests -----------------
cat >"$TMP/raw.py" <<'PY'
# raw.py IP PORT ROOT: pipelined requests answered in order; malformed and
# smuggling requests answered with their status and closed, the request
# hidden behind each never answered.
import os, socket, sys
ip, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
errors = []

def exchange(data, timeout=10):
    s = socket.create_connection((ip, port), timeout=timeout)
    s.sendall(data)
    got = bytearray()
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            return bytes(got), False
        if not b:
            break
        got += b
    s.close()
    return bytes(got), True

def responses(raw):
    """(status, headers, body) of each response, bodies by Content-Length."""
    out = []
    while raw:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            break
        head = raw[:end].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in head[1:]}
        n = int(hdrs.get("content-length", "0"))
        out.append((status, hdrs, raw[end + 4:end + 4 + n]))
        raw = raw[end + 4 + n:]
    return out

def file(name):
    with open(os.path.join(root, name), "rb") as f:
        return f.read()

# pipelined: five requests in one send, the last one closing
req = b"".join(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % p for p in (b"small.txt", b"mid.bin", b"index.html", b"sub/"))
req += b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
raw, closed = exchange(req)
r = responses(raw)
want = [file("small.txt"), file("mid.bin"), file("index.html"), file("sub/index.html"), file("small.txt")]
if not closed:
    errors.append("pipelined: the connection did not close after Connection: close")
if [x[0] for x in r] != [200] * 5 or [x[2] for x in r] != want:
    errors.append(f"pipelined: got {[x[0] for x in r]}, bodies in order: {[x[2] for x in r] == want}")
else:
    print("pipelined: 5 requests in one send answered in order, byte-exact, then closed")

hidden = b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
cases = [
    ("CL+TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("two Content-Lengths", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
    ("Content-Length list that differs", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello", 400),
    ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    ("bare LF in a field", b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", 400),
    ("TE not chunked last", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
    ("unknown TE", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: zstd, chunked\r\n\r\n0\r\n\r\n", 501),
    ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n", 400),
    ("negative Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("no Host on 1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("NUL in a field", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    ("long request line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
]
for name, data, status in cases:
    raw, closed = exchange(data + hidden)
    r = responses(raw)
    if [x[0] for x in r] != [status]:
        errors.append(f"{name}: answered {[x[0] for x in r]}, not [{status}]")
    elif r[0][1].get("connection", "").lower() != "close" or not closed:
        errors.append(f"{name}: not closed after {status}")
    elif b"a small text file" in raw:
        errors.append(f"{name}: the hidden request was answered")
print(f"malformed: {len(cases)} cases answered with their status and closed, no hidden request answered")
for e in errors:
    print("ERROR:", e)
sys.exit(1 if errors else 0)
PY
timeout 120 nsenter --net="/run/netns/$NS" python3 "$TMP/raw.py" "$US_IP" $PORT "$ROOT" || fail "raw socket checks"

# ---- wrk: 100 connections, 3 s ---------------------------------------------
timeout 30 nsenter --net="/run/netns/$NS" wrk -t2 -c100 -d3s --timeout 5s "$URL/index.html" >"$TMP/wrk.out" 2>&1 \
    || { cat "$TMP/wrk.out"; fail "wrk failed"; }
cat "$TMP/wrk.out"
! grep -q "Socket errors" "$TMP/wrk.out" || fail "wrk saw socket errors"
! grep -q "Non-2xx" "$TMP/wrk.out" || fail "wrk saw non-2xx responses"
grep -q "Requests/sec" "$TMP/wrk.out" || fail "wrk printed no rate"

# every connection is closed before we stop: no RST at exit either
sleep 1
stop_ustack "$USTACK_PID" || fail "ustack serve exited with an error"
tail -3 "$TMP/serve.log"
grep -q "^serve: .* requests" "$TMP/serve.log" || fail "no summary"
grep -q '"GET /big.bin HTTP/1.1" 200 3000000 ' "$TMP/access.log" || fail "no access log line for big.bin"
check_pcap "$TMP/serve.pcap"
rst=$(tsh_count "$TMP/serve.pcap" "ip.src == $US_IP && tcp.flags.reset == 1")
[ "$rst" -eq 0 ] || { tsh -r "$TMP/serve.pcap" -Y "ip.src == $US_IP && tcp.flags.reset == 1" 2>/dev/null | head; fail "ustack sent $rst RSTs"; }
echo "capture clean, no RST from ustack"

# ---- the same server on the kernel's sockets --------------------------------
nsenter --net="/run/netns/$NS" "$USTACK" --stack kernel serve --listen 127.0.0.1 --port 8080 --root "$ROOT" \
    --access-log off --duration 120 >"$TMP/kserve.log" 2>&1 &
KPID=$!
PIDS+=("$KPID")
for _ in $(seq 1 50); do grep -q listening "$TMP/kserve.log" && break; sleep 0.1; done
timeout 60 nsenter --net="/run/netns/$NS" curl -sv --max-time 30 -o "$TMP/k1" "http://127.0.0.1:8080/big.bin" \
    -o "$TMP/k2" "http://127.0.0.1:8080/" 2>"$TMP/kcurl.err" || { cat "$TMP/kcurl.err" "$TMP/kserve.log"; fail "curl to --stack kernel failed"; }
grep -q "Re-using existing connection" "$TMP/kcurl.err" || fail "kernel: curl did not reuse the connection"
check_same "$TMP/k1" "$ROOT/big.bin"
check_same "$TMP/k2" "$ROOT/index.html"
stop_ustack "$KPID" || fail "ustack --stack kernel serve exited with an error"
grep -q "^serve: 1 connections, 2 requests" "$TMP/kserve.log" || { cat "$TMP/kserve.log"; fail "kernel serve summary"; }
echo "--stack kernel: the same server answered curl byte-exact over one connection"
echo "PASS"
