#!/usr/bin/env bash
# SYN flood, ustack and Linux side by side in one run and one namespace: the
# same bounded flood of spoofed SYNs (tests/interop/syn_flood.py: sources
# .10-.250 of the attacked /24, nobody answers ARP for them) first at
# `ustack echo` over a TAP device (198.18.0.2, --synq 128 --backlog 128), then
# at a Linux echo listener (198.18.1.1 on a veth pair inside the same namespace,
# listen backlog 128, net.ipv4.tcp_syncookies=1 in the namespace). While each
# flood runs, a client in the namespace connects, echoes 64 bytes and closes,
# one connection after another. Prints, for each side: the SYNs the flood sent
# per second, cookie SYN-ACKs per second (tcp.syncookies_sent; Linux:
# TcpExt SyncookiesSent of the namespace) and accepted connections per second
# (the client's completed echoes), with the same client's rate without a flood
# for reference. Where the client's time went during each flood (running,
# waiting for a CPU, waiting for the server; tests/interop/syn_flood_clients.py
# reads its schedstat) is printed with the load average: on a shared machine
# the accepted connections per second follow the client's CPU share.
# Usage: bench/syn_flood.sh [BUILD_DIR]   (default: build-bench, Release)
# Environment: COUNT (60000 SYNs), RATE (20000 SYNs/s asked; the generator is
# one Python process and prints what it reached), BASE_SECS (2, the run without
# a flood). Figures only, nothing is asserted. Bounded: the generator stops at
# 200,000 SYNs or 30 s, every client run at 30 s; the namespace and every
# process started are removed on exit, also on failure or Ctrl-C; traffic
# stays inside 198.18.0.0/15 in the namespace.
BENCH=syn_flood
source "$(dirname "$0")/tap_netns.sh"
COUNT=${COUNT:-60000}
RATE=${RATE:-20000}
BASE_SECS=${BASE_SECS:-2}
PY=/usr/bin/python3          # the distribution's python3, which has python3-scapy
FLOOD=$ROOT/tests/interop/syn_flood.py
CLIENTS=$ROOT/tests/interop/syn_flood_clients.py
$PY -c 'import scapy.all' 2>/dev/null || { echo "syn_flood: skipped (python3-scapy not installed)"; exit 0; }
nsx sysctl -qw net.ipv4.tcp_syncookies=1
# ustack's side: tap0, Linux 198.18.0.1 on it, ustack 198.18.0.2.
# Linux's side: a veth pair; the listener's address on vL, the flood enters at vF
ip -n "$NS" link add vF type veth peer name vL
ip -n "$NS" addr add 198.18.1.1/24 dev vL
ip -n "$NS" link set vF up
ip -n "$NS" link set vL up
VL_MAC=$(ip -n "$NS" -o link show vL | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1) }')

cat >"$OUT/listener.py" <<'PY'
# listener.py IP PORT: a Linux echo server, listen backlog 128, one connection
# at a time (the client is sequential); ends after 300 s.
import socket, time
import sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(128)
srv.settimeout(1)
t0 = time.monotonic()
while time.monotonic() - t0 < 300:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    c.settimeout(3)
    try:
        while True:
            b = c.recv(4096)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    c.close()
PY

# flood_run LABEL IFACE DST_MAC DST_IP SRC_NET: the flood with the client
# beside it; sets FLOOD_SECS, FLOOD_SENT, CONN_OK, CONN_BAD, CONN_SECS
flood_run() {
    local label=$1 iface=$2 mac=$3 ip=$4 net=$5
    rm -f "$OUT/$label.stamps"
    timeout 60 nsenter --net="/run/netns/$NS" $PY "$FLOOD" "$iface" "$mac" "$ip" 7 "$COUNT" "$RATE" \
        "$OUT/$label.stamps" "$net" >"$OUT/$label.flood" 2>&1 &
    local fp=$!
    PIDS+=("$fp")
    for _ in $(seq 1 200); do grep -q '^start' "$OUT/$label.stamps" 2>/dev/null && break; sleep 0.05; done
    timeout 60 nsenter --net="/run/netns/$NS" python3 "$CLIENTS" "$ip" 7 100000 64 0 "$OUT/$label.stamps" 30 \
        >"$OUT/$label.clients" 2>&1 || true
    wait "$fp" || { cat "$OUT/$label.flood"; echo "syn_flood: the flood failed"; exit 1; }
    FLOOD_SENT=$(awk '$1 == "end" { print $4 }' "$OUT/$label.stamps")
    FLOOD_SECS=$(awk '$1 == "start" { s = $2 } $1 == "end" { printf "%.3f", $2 - s }' "$OUT/$label.stamps")
    read -r CONN_OK CONN_BAD CONN_SECS < <(clients_result "$OUT/$label.clients")
    read -r CL_RUN CL_WAIT CL_SRV < <(clients_sched "$OUT/$label.clients")
}
# clients_result FILE: "OK FAILED SECONDS" from the clients' last line
clients_result() { awk '$1 == "clients:" { print $2, $4 - $2, $(NF - 1) }' "$1"; }
# clients_sched FILE: "RUNNING WAITING_FOR_CPU WAITING_FOR_SERVER" seconds ("- - -" if not printed)
clients_sched() { awk '$1 == "sched:" { r = $2; w = $5; v = $11 } END { print (r == "" ? "- - -" : r " " w " " v) }' "$1"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# run and runqueue-wait nanoseconds of PID
schedstat() { awk '{ print $1, $2 }' "/proc/$1/schedstat"; }
wakeups() { awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$1/status"; }
# base_run IP: the client alone for BASE_SECS; prints connections per second
base_run() {
    nsx timeout 60 python3 "$CLIENTS" "$1" 7 100000 64 0 "" "$BASE_SECS" >"$OUT/base.clients" 2>&1 || true
    clients_result "$OUT/base.clients" | awk '{ printf "%.0f", ($3 > 0 ? $1 / $3 : 0) }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime
per_sec() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

echo "== SYN flood: $COUNT spoofed SYNs at $RATE/s asked, one run, namespace $NS ($(nproc) CPUs, $(uname -sr))"
# ---- ustack echo over TAP ----
nsenter --net="/run/netns/$NS" "$USTACK" --tap tap0 --ip 198.18.0.2/24 --synq 128 --backlog 128 \
    echo --port 7 --duration 300 >"$OUT/ustack.log" 2>&1 &
UP=$!
PIDS+=("$UP")
wait_attached
us_base=$(base_run 198.18.0.2)
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$UP/status")
cpu0=$(cpu_ticks "$UP")
read -r _ us_wait0 < <(schedstat "$UP")
wake0=$(wakeups "$UP")
us_load=$(loadavg)
flood_run ustack tap0 02:00:00:00:00:02 198.18.0.2 198.18.0
us_sent=$FLOOD_SENT us_fsecs=$FLOOD_SECS us_ok=$CONN_OK us_bad=$CONN_BAD us_csecs=$CONN_SECS
us_clrun=$CL_RUN us_clwait=$CL_WAIT us_clsrv=$CL_SRV
read -r _ us_wait1 < <(schedstat "$UP")
us_wakes=$(per_sec $(($(wakeups "$UP") - wake0)) "$us_fsecs")
us_rq=$(awk -v a="$us_wait0" -v b="$us_wait1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$UP/status")
us_cpu=$(awk -v t=$(($(cpu_ticks "$UP") - cpu0)) -v hz="$(getconf CLK_TCK)" -v s="$us_fsecs" \
    'BEGIN { printf "%.0f", (s > 0 ? 100 * t / hz / s : 0) }')
kill -USR1 "$UP"
for _ in $(seq 1 100); do grep -q '^counters:' "$OUT/ustack.log" && break; sleep 0.05; done
sleep 0.2
us_cookies=$(ustack_counter "$OUT/ustack.log" tcp.syncookies_sent)
us_conns=$(ustack_counter "$OUT/ustack.log" tcp.syncookie_connections)
kill -TERM "$UP"; wait "$UP" 2>/dev/null || true

# ---- Linux listener on the veth ----
timeout 330 nsenter --net="/run/netns/$NS" python3 "$OUT/listener.py" 198.18.1.1 7 >"$OUT/listener.log" 2>&1 &
LP=$!
PIDS+=("$LP")
wait_listening 7
lx_base=$(base_run 198.18.1.1)
c0=$(tcpext SyncookiesSent)
lx_load=$(loadavg)
flood_run linux vF "$VL_MAC" 198.18.1.1 198.18.1
lx_sent=$FLOOD_SENT lx_fsecs=$FLOOD_SECS lx_ok=$CONN_OK lx_bad=$CONN_BAD lx_csecs=$CONN_SECS
lx_clrun=$CL_RUN lx_clwait=$CL_WAIT lx_clsrv=$CL_SRV
lx_cookies=$(($(tcpext SyncookiesSent) - c0))

echo
printf "%-46s %16s %16s\n" "" "ustack" "Linux"
printf "%-46s %16s %16s\n" "flood SYNs sent" "$us_sent" "$lx_sent"
printf "%-46s %16s %16s\n" "flood SYNs per second (reached)" "$(per_sec "$us_sent" "$us_fsecs")" "$(per_sec "$lx_sent" "$lx_fsecs")"
printf "%-46s %16s %16s\n" "cookie SYN-ACKs per second" "$(per_sec "$us_cookies" "$us_fsecs")" "$(per_sec "$lx_cookies" "$lx_fsecs")"
printf "%-46s %16s %16s\n" "accepted connections per second, flood" "$(per_sec "$us_ok" "$us_csecs")" "$(per_sec "$lx_ok" "$lx_csecs")"
printf "%-46s %16s %16s\n" "  failed connects during the flood" "$us_bad" "$lx_bad"
printf "%-46s %16s %16s\n" "accepted connections per second, no flood" "$us_base" "$lx_base"
printf "%-46s %16s %16s\n" "client during the flood: running, s" "$us_clrun" "$lx_clrun"
printf "%-46s %16s %16s\n" "  waiting for a CPU, s" "$us_clwait" "$lx_clwait"
printf "%-46s %16s %16s\n" "  waiting for the server, s" "$us_clsrv" "$lx_clsrv"
printf "%-46s %16s %16s\n" "load average (1 min) as the flood started" "$us_load" "$lx_load"
echo "ustack: $us_cookies cookies sent, $us_conns connections from cookies; VmRSS ${rss0} -> ${rss1} kB; ${us_cpu}% of a CPU during the flood,"
echo "        $us_wakes wake-ups per second, ${us_rq} s waiting for a CPU"
echo "ustack: echo over TAP (client: the namespace's kernel via tap0); Linux: python echo listener on a veth address,"
echo "client over loopback in the same namespace; cookie SYN-ACKs per second over the flood's duration."
echo "Linux answers the flood inside the generator's own sends (softirq) and the client's connect completes inside"
echo "its own system call; ustack is one more process that must be scheduled for every frame, so where CPUs are"
echo "scarce the client's waiting-for-a-CPU time, more than either stack, sets the rate."
