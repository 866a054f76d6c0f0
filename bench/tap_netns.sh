# Shared set-up of the benches that run ustack on a TAP device in a network
# namespace of their own (syn_flood.sh, recovery.sh). Source it after setting
# BENCH (the bench's name) with the bench's "$@". Without root, /dev/net/tun or
# iproute2 the bench is skipped (exit 0). Builds ustack-cli in BUILD ($1,
# default build-bench, configured Release when new) and sets USTACK; creates
# namespace $NS (lo up, IPv6 off) with tap0, Linux 198.18.0.1/24 on it; $OUT is
# a scratch directory. On exit, also on failure or Ctrl-C, every PID in PIDS is
# killed and the namespace and $OUT are removed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
    echo "$BENCH: skipped (needs root, /dev/net/tun and iproute2)"; exit 0
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target ustack-cli >/dev/null
USTACK=$BUILD/ustack

NS="ustb$$"
PIDS=()
OUT=$(mktemp -d "/tmp/ustack-bench-$BENCH.XXXXXX")
cleanup() {
    local rc=$?
    # (|| true: a killed process's wait fails, and set -e would end the clean-up there)
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$OUT"
    exit $rc
}
trap cleanup EXIT INT TERM
nsx() { nsenter --net="/run/netns/$NS" "$@"; }

ip netns add "$NS"
ip -n "$NS" link set lo up
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" addr add 198.18.0.1/24 dev tap0
ip -n "$NS" link set tap0 up

# wait_attached: until ustack holds tap0 (the device has a carrier), at most 5 s
wait_attached() {
    for _ in $(seq 1 100); do ip -n "$NS" link show tap0 | grep -q NO-CARRIER || return 0; sleep 0.05; done
}
# wait_listening PORT: until a Linux socket in the namespace listens on PORT, at most 5 s
wait_listening() {
    for _ in $(seq 1 100); do nsx ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done
}
# ustack_counter LOG NAME: NAME in the last counter list ustack printed to LOG (0 if not listed)
ustack_counter() { awk -v n="$2" '/^counters:/ { v = 0 } $1 == n { v = $2 } END { print v + 0 }' "$1"; }
# tcpext NAME: the namespace's TcpExt counter NAME (/proc/net/netstat)
tcpext() {
    nsx awk -v n="$1" '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
                                     else for (i = 1; i <= NF; i++) if (k[i] == n) print $i }' /proc/net/netstat
}
