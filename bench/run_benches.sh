#!/usr/bin/env bash
# Runs every benchmark in one go and prints ustack and Linux side by side:
#   bench_checksum, bench_rx, bench_tcp (ustack, two stacks in one process),
#   Linux TCP bulk goodput over a veth pair between two namespaces (MTU 1500,
#   TSO/GSO/GRO off) with iperf3, and Linux connection set-up/tear-down per
#   second over loopback in a namespace (bench_tcp --linux-conns); then
#   bench/syn_flood.sh and bench/recovery.sh (SYNFLOOD=0, RECOVERY=0 skip them).
# Usage: bench/run_benches.sh [BUILD_DIR]   (default: build-bench, Release)
# Environment: BULK_MB (1000), CONNS (20000), IDLE (100000), SECS (5, iperf3 time).
# Figures only, nothing is asserted. Namespaces and processes are removed on
# exit, also on failure or Ctrl-C; traffic stays inside 198.18.0.0/15.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/deps.sh"   # iperf3, ethtool, compilers
BUILD=${1:-$ROOT/build-bench}
BULK_MB=${BULK_MB:-1000}
CONNS=${CONNS:-20000}
IDLE=${IDLE:-100000}
SECS=${SECS:-5}

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target bench_checksum bench_rx bench_tcp >/dev/null
echo "build: $BUILD ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")), $(nproc) CPUs, $(uname -sr)"

NSA="ustbA$$" NSB="ustbB$$" NSC="ustbC$$"
PIDS=()
OUT=$(mktemp -d /tmp/ustack-bench.XXXXXX)
cleanup() {
    local rc=$?
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && { kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; } || true; done
    for ns in "$NSA" "$NSB" "$NSC"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$OUT"
    exit $rc
}
trap cleanup EXIT INT TERM

echo; echo "== bench_checksum"; "$BUILD/bench_checksum" | tee "$OUT/checksum.txt"
echo; echo "== bench_rx"; "$BUILD/bench_rx" | tee "$OUT/rx.txt"
echo; echo "== bench_tcp $BULK_MB $CONNS $IDLE"; "$BUILD/bench_tcp" "$BULK_MB" "$CONNS" "$IDLE" | tee "$OUT/tcp.txt"

linux_bulk="n/a" linux_bulk1="n/a" linux_conns="n/a"
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo; echo "Linux comparisons skipped: they need root and iproute2 (network namespaces)"
else
    if ! command -v iperf3 >/dev/null || ! command -v ethtool >/dev/null; then
        echo "installing iperf3 and ethtool (apt)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 ethtool >/dev/null 2>&1 || true
    fi
    ip netns add "$NSA"
    ip netns add "$NSB"
    ip -n "$NSA" link add vA type veth peer name vB netns "$NSB"
    ip -n "$NSA" link set lo up
    ip -n "$NSB" link set lo up
    ip -n "$NSA" addr add 198.18.1.1/24 dev vA
    ip -n "$NSB" addr add 198.18.1.2/24 dev vB
    ip -n "$NSA" link set vA mtu 1500 up
    ip -n "$NSB" link set vB mtu 1500 up
    if command -v ethtool >/dev/null; then
        nsenter --net="/run/netns/$NSA" ethtool -K vA tso off gso off gro off >/dev/null 2>&1 || echo "ethtool -K vA failed"
        nsenter --net="/run/netns/$NSB" ethtool -K vB tso off gso off gro off >/dev/null 2>&1 || echo "ethtool -K vB failed"
    else
        echo "ethtool missing: offloads stay on"
    fi
    if command -v iperf3 >/dev/null; then
        # iperf_run LABEL PREFIX...: one 1-stream run; prints Mbit/s received
        iperf_run() {
            local label=$1; shift
            "$@" nsenter --net="/run/netns/$NSB" iperf3 -s -1 -B 198.18.1.2 >/dev/null 2>&1 &
            local srv=$!
            PIDS+=("$srv")
            sleep 0.5
            "$@" nsenter --net="/run/netns/$NSA" timeout $((SECS + 30)) iperf3 -c 198.18.1.2 -t "$SECS" -J >"$OUT/$label.json" 2>&1 || true
            wait "$srv" 2>/dev/null || true
            python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('%.1f' % (d['end']['sum_received']['bits_per_second'] / 1e6))" \
                "$OUT/$label.json" 2>/dev/null || echo "n/a"
        }
        echo; echo "== Linux TCP over veth, MTU 1500, TSO/GSO/GRO off, iperf3 -t $SECS"
        linux_bulk=$(iperf_run any)
        echo "linux bulk:    $linux_bulk Mbit/s (any CPU)"
        if command -v taskset >/dev/null; then
            linux_bulk1=$(iperf_run one taskset -c 0)
            echo "linux bulk:    $linux_bulk1 Mbit/s (client and server pinned to CPU 0)"
        fi
    else
        echo "iperf3 not available: Linux bulk goodput skipped"
    fi
    ip netns add "$NSC"
    ip -n "$NSC" link set lo up
    echo; echo "== Linux connection set-up/tear-down over loopback ($CONNS)"
    nsenter --net="/run/netns/$NSC" timeout 300 "$BUILD/bench_tcp" --linux-conns "$CONNS" | tee "$OUT/linux_conns.txt" || true
    linux_conns=$(sed -n 's/^linux conns: *\([0-9.]*\) .*/\1/p' "$OUT/linux_conns.txt")
fi

us_bulk=$(sed -n 's/^ustack bulk: *\([0-9.]*\) .*/\1/p' "$OUT/tcp.txt")
us_conns=$(sed -n 's/^ustack conns: *\([0-9.]*\) .*/\1/p' "$OUT/tcp.txt")
echo
echo "== side by side (same run)"
printf "%-44s %16s %16s\n" "" "ustack" "Linux"
printf "%-44s %16s %16s\n" "TCP bulk goodput, MTU 1500 (Mbit/s)" "${us_bulk:-n/a}" "${linux_bulk:-n/a}"
printf "%-44s %16s %16s\n" "  Linux pinned to one CPU (Mbit/s)" "" "${linux_bulk1:-n/a}"
printf "%-44s %16s %16s\n" "connection set-up+tear-down per second" "${us_conns:-n/a}" "${linux_conns:-n/a}"
grep '^sizeof' "$OUT/tcp.txt" || true
grep '^ustack idle' "$OUT/tcp.txt" || true
echo "ustack: two stacks over an in-memory pipe link in one process (one core), simulator at zero delay."
echo "Linux: iperf3 over a veth pair between two namespaces; connections over 127.0.0.1 in a namespace."

# SYN flood and loss recovery: ustack and Linux in the same run, each in a
# namespace of its own (they skip themselves without root)
if [ "${SYNFLOOD:-1}" != 0 ]; then echo; bash "$ROOT/bench/syn_flood.sh" "$BUILD"; fi
if [ "${RECOVERY:-1}" != 0 ]; then echo; bash "$ROOT/bench/recovery.sh" "$BUILD"; fi
