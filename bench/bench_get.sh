#!/usr/bin/env bash
# HTTP download figures in one run (issue 7): a 1 GB file from one nginx (one
# worker, sendfile) on 198.18.0.1 in a namespace of the script's own, fetched
#   - by `ustack get` on the TAP device (ustack in user space, 198.18.0.2),
#   - by curl on the kernel's sockets (inside the namespace: loopback),
#   - by `ustack --stack kernel get` (the same client code as the first, on
#     the kernel's sockets, loopback),
# each ROUNDS times; Mbit/s of each round (bytes * 8 / wall time of the
# command, process start to exit) and the best. Every body is counted, and the
# TAP one's size checked.
#
#   sudo bench/bench_get.sh [BUILD_DIR]      # default build-bench (Release)
# Environment: SIZE (1G), ROUNDS (3), CPU_SERVER (1), CPU_CLIENT (0): nginx and
# the client pinned to one CPU each, the same for every client.
BENCH=get
source "$(dirname "$0")/tap_netns.sh"
SIZE=${SIZE:-1G}
ROUNDS=${ROUNDS:-3}
CPU_SERVER=${CPU_SERVER:-1}
CPU_CLIENT=${CPU_CLIENT:-0}
command -v nginx >/dev/null || { echo "$BENCH: skipped (needs nginx)"; exit 0; }
command -v curl >/dev/null || { echo "$BENCH: skipped (needs curl)"; exit 0; }

WWW=$OUT/www
mkdir -p "$WWW" "$OUT/nginx-tmp"
chmod 755 "$OUT"
truncate -s "$SIZE" "$WWW/big.bin" # sparse: the page cache serves it, no disk in the figure
BYTES=$(stat -c %s "$WWW/big.bin")
cat >"$OUT/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $OUT/nginx-tmp;
    proxy_temp_path $OUT/nginx-tmp;
    fastcgi_temp_path $OUT/nginx-tmp;
    uwsgi_temp_path $OUT/nginx-tmp;
    scgi_temp_path $OUT/nginx-tmp;
    server { listen 198.18.0.1:8080; root $WWW; }
}
EOF
nsenter --net="/run/netns/$NS" taskset -c "$CPU_SERVER" nginx -c "$OUT/nginx.conf" >"$OUT/nginx.log" 2>&1 &
PIDS+=($!)
wait_listening 8080
URL=http://198.18.0.1:8080/big.bin

# mbits CMD...: runs CMD (its stdout counted), prints Mbit/s of the wall time
mbits() {
    local t0 t1 got
    t0=$(date +%s.%N)
    got=$("$@" | wc -c)
    t1=$(date +%s.%N)
    [ "$got" -eq "$BYTES" ] || { echo "fail ($got of $BYTES bytes)"; return 0; }
    awk -v b="$BYTES" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.0f", b * 8 / (z - a) / 1e6 }'
}
pin() { timeout 600 nsenter --net="/run/netns/$NS" taskset -c "$CPU_CLIENT" "$@"; }

declare -A best
run() { # NAME CMD...
    local name=$1; shift
    local line="" r v
    for r in $(seq 1 "$ROUNDS"); do
        v=$(mbits "$@")
        line="$line $v"
        [[ $v =~ ^[0-9]+$ ]] && [ "$v" -gt "${best[$name]:-0}" ] && best[$name]=$v
    done
    printf '  %-34s%s\n' "$name" "$line"
}
echo "$BENCH: $BYTES bytes from nginx, Mbit/s per round (wall time of the command)"
run "ustack get over TAP" pin "$USTACK" --tap tap0 --ip 198.18.0.2/24 get "$URL"
run "curl (kernel, loopback)" pin curl -s "$URL"
run "ustack --stack kernel get (lo)" pin "$USTACK" --stack kernel get "$URL"
printf '%s: best Mbit/s: ustack get over TAP %s, curl %s, ustack --stack kernel get %s\n' "$BENCH" \
    "${best[ustack get over TAP]:-fail}" "${best[curl (kernel, loopback)]:-fail}" \
    "${best[ustack --stack kernel get (lo)]:-fail}"
