#!/usr/bin/env bash
# HTTP server figures in one run (issue 7): wrk req/s, keep-alive and
# Connection: close, small page, against
#   - `ustack serve` over TAP (ustack in user space, wrk on the Linux side),
#   - nginx (one worker) over a veth pair between two namespaces,
#   - the same server code on the kernel's sockets (`ustack --stack kernel
#     serve`) and nginx, both over loopback in one namespace;
# and the memory of an idle HTTP connection: N connections opened to
# `ustack serve` and left idle, VmRSS after minus before, divided by N (and
# the same for nginx's worker, user-space memory only), and keep-alive req/s
# while they stay open.
#
#   sudo bench/bench_http.sh [BUILD_DIR]      # default build-bench (Release)
# Environment: SECS (5, wrk duration), CONNS (10, wrk connections), THREADS
# (1, wrk threads), REPEAT (3: the best of 3 runs is printed), IDLE (10000 idle connections), CPU_SERVER (1), CPU_CLIENT (0):
# the server and wrk are pinned to one CPU each, the same for every server.
# Traffic stays in the namespaces this script creates (198.18.0.0/15).
BENCH=http
source "$(dirname "$0")/tap_netns.sh"
SECS=${SECS:-5}
CONNS=${CONNS:-10}
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-3}
IDLE=${IDLE:-10000}
CPU_SERVER=${CPU_SERVER:-1}
CPU_CLIENT=${CPU_CLIENT:-0}
command -v wrk >/dev/null || { echo "$BENCH: skipped (needs wrk)"; exit 0; }
command -v nginx >/dev/null || { echo "$BENCH: skipped (needs nginx)"; exit 0; }

WWW=$OUT/www
mkdir -p "$WWW"
# a small page (nginx's default page is 615 bytes)
head -c 600 /dev/zero | tr '\0' 'x' >"$WWW/index.html"
echo >>"$WWW/index.html"

# ---- a second namespace for nginx over veth: client side in $NS, nginx in $NS2
NS2="${NS}n"
ip netns add "$NS2"
cleanup_both() { local rc=$?; ip netns del "$NS2" 2>/dev/null || true; set +e; (exit $rc); cleanup; }
trap cleanup_both EXIT INT TERM
ip -n "$NS2" link set lo up
ip link add vb$$ netns "$NS" type veth peer name vn$$ netns "$NS2"
ip -n "$NS" addr add 198.19.0.1/24 dev vb$$
ip -n "$NS2" addr add 198.19.0.2/24 dev vn$$
ip -n "$NS" link set vb$$ up
ip -n "$NS2" link set vn$$ up
nsx2() { nsenter --net="/run/netns/$NS2" "$@"; }

nginx_conf() { # ADDR:PORT FILE
    cat >"$2" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $OUT/nginx-$$.pid;
error_log $OUT/nginx-error.log;
events { worker_connections $((IDLE + 1024)); }
worker_rlimit_nofile $((IDLE + 2048));
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $OUT/nginx-body;
    proxy_temp_path $OUT/nginx-proxy;
    fastcgi_temp_path $OUT/nginx-fcgi;
    uwsgi_temp_path $OUT/nginx-uwsgi;
    scgi_temp_path $OUT/nginx-scgi;
    server { listen $1 backlog=4096; root $WWW; }
}
EOF
}

# run_wrk NAME URL [wrk options]: requests/s, the best of REPEAT runs (the
# machine is shared: the best run is the one least disturbed), and a note of
# any socket errors or non-2xx responses
declare -A RATE
run_wrk() {
    local name=$1 url=$2; shift 2
    local best=0 r e= k c0 c1 req cpu=
    for k in $(seq 1 "$REPEAT"); do
        c0=$(cputicks "$SRV_PID")
        timeout $((SECS + 30)) nsenter --net="/run/netns/$NS" taskset -c "$CPU_CLIENT" \
            wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s "$@" "$url" >"$OUT/wrk-$name.txt" 2>&1 || true
        c1=$(cputicks "$SRV_PID")
        r=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$OUT/wrk-$name.txt")
        req=$(awk '/requests in/ {print $1}' "$OUT/wrk-$name.txt")
        [ -n "$r" ] || { echo "$BENCH: wrk $name gave no rate:" >&2; cat "$OUT/wrk-$name.txt" >&2; r=0; }
        if [ "$r" -gt "$best" ]; then
            best=$r
            # the server process's CPU time per request (user + system, in µs)
            cpu=$(awk -v t=$((c1 - c0)) -v n="${req:-0}" -v hz="$(getconf CLK_TCK)" \
                'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "?" }')
        fi
        e+=$(grep -E "Socket errors|Non-2xx" "$OUT/wrk-$name.txt" | tr -s ' ' | tr '\n' ';' || true)
    done
    RATE[$name]="${best}${e:+ ($e)}"
    CPU[$name]=$cpu
}
# cputicks PID: utime + stime of the process, in clock ticks
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A CPU

ulimit -n $((IDLE + 4096))
# wait_http URL: until it answers, at most 5 s
wait_http() { for _ in $(seq 1 100); do nsx curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.05; done; }
export no_proxy='*' NO_PROXY='*'

# idle.py IP PORT N: opens N connections, sends nothing, holds them until stdin closes
cat >"$OUT/idle.py" <<'PY'
import socket, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
t0 = time.monotonic()
for i in range(n):
    s = socket.create_connection((ip, port), timeout=10)
    socks.append(s)
    if time.monotonic() - t0 > 120:
        break
print(len(socks), flush=True)
sys.stdin.read()
PY
vmrss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# idle_mem NAME PID IP PORT [URL]: VmRSS growth per connection with IDLE connections open
# and idle; with URL, also keep-alive req/s (run_wrk NAME_idle) while they stay open
declare -A MEM
idle_mem() {
    local name=$1 pid=$2 ip=$3 port=$4
    sleep 0.5
    local before after n
    before=$(vmrss "$pid")
    coproc IDLER { nsx python3 "$OUT/idle.py" "$ip" "$port" "$IDLE"; }
    read -r -t 150 n <&"${IDLER[0]}" || n=0
    sleep 1
    after=$(vmrss "$pid")
    MEM[$name]="$n connections: VmRSS ${before} kB -> ${after} kB = $(( (after - before) * 1024 / (n > 0 ? n : 1) )) bytes per connection"
    # keep-alive with them still open: what many idle connections cost the busy ones
    [ -z "${5:-}" ] || run_wrk "${name}_idle" "$5"
    exec {IDLER[1]}>&-
    wait "$IDLER_PID" 2>/dev/null || true
}

# ---- ustack serve over TAP ---------------------------------------------------
nsenter --net="/run/netns/$NS" taskset -c "$CPU_SERVER" "$USTACK" --tap tap0 --ip 198.18.0.2/24 --backlog 4096 serve --port 80 --root "$WWW" \
    --access-log off --max-requests 0 --duration 3600 >"$OUT/serve.log" 2>&1 &
SPID=$!
SRV_PID=$SPID
PIDS+=("$SPID")
wait_attached
wait_http http://198.18.0.2/
idle_mem us "$SPID" 198.18.0.2 80 http://198.18.0.2/index.html    # first: the heap has not grown yet
run_wrk us_ka http://198.18.0.2/index.html
run_wrk us_close http://198.18.0.2/index.html -H "Connection: close"
kill "$SPID"; wait "$SPID" 2>/dev/null || true

# ---- nginx over veth ---------------------------------------------------------
nginx_conf 198.19.0.2:80 "$OUT/nginx-veth.conf"
nsenter --net="/run/netns/$NS2" taskset -c "$CPU_SERVER" nginx -c "$OUT/nginx-veth.conf" >"$OUT/nginx.log" 2>&1 &
NPID=$!
SRV_PID=$NPID
PIDS+=("$NPID")
wait_http http://198.19.0.2/
idle_mem ng "$NPID" 198.19.0.2 80 http://198.19.0.2/index.html
run_wrk ng_ka http://198.19.0.2/index.html
run_wrk ng_close http://198.19.0.2/index.html -H "Connection: close"
kill "$NPID"; wait "$NPID" 2>/dev/null || true

# ---- the same server on kernel sockets, and nginx, over loopback --------------
nsenter --net="/run/netns/$NS" taskset -c "$CPU_SERVER" "$USTACK" --stack kernel serve --listen 127.0.0.1 --port 8080 --root "$WWW" \
    --access-log off --max-requests 0 --duration 3600 >"$OUT/kserve.log" 2>&1 &
KPID=$!
SRV_PID=$KPID
PIDS+=("$KPID")
wait_http http://127.0.0.1:8080/
idle_mem k "$KPID" 127.0.0.1 8080 http://127.0.0.1:8080/index.html
run_wrk k_ka http://127.0.0.1:8080/index.html
run_wrk k_close http://127.0.0.1:8080/index.html -H "Connection: close"
kill "$KPID"; wait "$KPID" 2>/dev/null || true
nginx_conf 127.0.0.1:8081 "$OUT/nginx-lo.conf"
nsenter --net="/run/netns/$NS" taskset -c "$CPU_SERVER" nginx -c "$OUT/nginx-lo.conf" >"$OUT/nginx-lo.log" 2>&1 &
NPID=$!
SRV_PID=$NPID
PIDS+=("$NPID")
wait_http http://127.0.0.1:8081/
run_wrk nl_ka http://127.0.0.1:8081/index.html
run_wrk nl_close http://127.0.0.1:8081/index.html -H "Connection: close"
kill "$NPID"; wait "$NPID" 2>/dev/null || true

echo "HTTP server, $(stat -c %s "$WWW/index.html")-byte page, wrk -t$THREADS -c$CONNS -d${SECS}s, server on CPU $CPU_SERVER, wrk on CPU $CPU_CLIENT (req/s)"
row() { printf '  %-40s %11s %11s %15s %11s\n' "$@"; }
row "" "keep-alive" "(CPU us/req)" "Connection:close" "(CPU us/req)"
row "ustack serve, ustack over TAP" "${RATE[us_ka]}" "${CPU[us_ka]}" "${RATE[us_close]}" "${CPU[us_close]}"
row "nginx (1 worker), Linux over veth" "${RATE[ng_ka]}" "${CPU[ng_ka]}" "${RATE[ng_close]}" "${CPU[ng_close]}"
row "ustack serve --stack kernel, loopback" "${RATE[k_ka]}" "${CPU[k_ka]}" "${RATE[k_close]}" "${CPU[k_close]}"
row "nginx (1 worker), loopback" "${RATE[nl_ka]}" "${CPU[nl_ka]}" "${RATE[nl_close]}" "${CPU[nl_close]}"
row "keep-alive with $IDLE idle connections open:" "" "" "" ""
row "  ustack serve over TAP" "${RATE[us_idle]}" "${CPU[us_idle]}" "" ""
row "  nginx over veth" "${RATE[ng_idle]}" "${CPU[ng_idle]}" "" ""
row "  ustack serve --stack kernel" "${RATE[k_idle]}" "${CPU[k_idle]}" "" ""
echo "  (CPU us/req: the server process's user+system time per request; over TAP it includes the"
echo "   kernel's side of every frame ustack writes, delivery to wrk's socket included)"
echo "memory per idle HTTP connection (process VmRSS; the kernel's socket memory is not in it):"
echo "  ustack serve over TAP (stack and server):  ${MEM[us]}"
echo "  ustack serve --stack kernel (server only): ${MEM[k]}"
echo "  nginx worker (server only):                ${MEM[ng]}"
