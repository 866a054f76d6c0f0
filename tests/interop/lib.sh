# Shared set-up for interop tests: a network namespace of the test's own with a
# TAP device; Linux is 198.18.0.1/24 on it, ustack attaches as 198.18.0.2/24.
# Everything started is killed by PID and the namespace removed on exit, also
# when the test fails. Source this file; $1 of the test is the ustack binary.
set -euo pipefail
USTACK=${1:?usage: test.sh PATH/TO/ustack}
USTACK=$(readlink -f "$USTACK")
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
    echo "SKIP: interop tests need root, /dev/net/tun and iproute2"
    exit 77
fi
NS="ust$$"
TAP=tap0
LINUX_IP=198.18.0.1
US_IP=198.18.0.2
US_MAC=02:00:00:00:00:02   # ustack's default MAC
TMP=$(mktemp -d /tmp/ustack-interop.XXXXXX)
PIDS=()

cleanup() {
    local rc=$?
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && { kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; } || true   # a killed process waits non-zero: set -e must not end the trap here
    done
    ip netns del "$NS" 2>/dev/null || true
    if [ $rc -ne 0 ]; then
        echo "--- test failed (rc=$rc); ustack logs:"
        for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -40 "$f"; }; done
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*"; exit 1; }
# tshark without TCP stream reassembly: heuristic payload dissectors (Thrift
# and others) that keep asking for more segments of bulk data make tshark
# quadratic on a 100 MB capture (minutes instead of seconds). Sequence
# analysis (retransmissions, ACKed unseen segments, windows) is unaffected.
# EtherCAT is registered on port 34980 (0x88a4): a connection whose ephemeral
# port happens to be that one (1 in 28,000; a wrk run opens hundreds) has its
# TCP payload dissected as EtherCAT and counted malformed.
tsh() { tshark -o tcp.desegment_tcp_streams:FALSE --disable-protocol ecatf "$@"; }
# tsh_count FILE FILTER [TSHARK-OPTION...]: how many frames match; a filter or
# option tshark rejects fails the test (it would otherwise count zero). It runs
# in $(...): it signals the test's shell, as counter does.
tsh_count() {
    local f=$1 y=$2 out
    shift 2
    if ! out=$(tsh -r "$f" "$@" -Y "$y" 2>/dev/null); then
        echo "FAIL: tshark rejects -Y '$y' $* on $f" >&2
        kill -USR2 $$
        exit 1
    fi
    [ -z "$out" ] && echo 0 || wc -l <<<"$out"
}
# nsenter execs the command itself, so a PID from "nsx … &" is the program's own
# PID (ip netns exec may fork, and a signal would then miss the program).
nsx() { nsenter --net="/run/netns/$NS" "$@"; }

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
ip -n "$NS" addr add "$LINUX_IP/24" dev "$TAP"
ip -n "$NS" link set "$TAP" up

# start_ustack NAME ARGS... : run ustack in the namespace in the background;
# its output goes to $TMP/NAME.log. Sets USTACK_PID.
start_ustack() {
    local name=$1; shift
    # not through nsx: $! must be the program's PID, not a subshell's
    nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" "$@" >"$TMP/$name.log" 2>&1 &
    USTACK_PID=$!
    PIDS+=("$USTACK_PID")
    # wait until the TAP device has a carrier (ustack attached)
    for _ in $(seq 1 100); do
        if ! ip -n "$NS" link show "$TAP" | grep -q NO-CARRIER; then return 0; fi
        kill -0 "$USTACK_PID" 2>/dev/null || { cat "$TMP/$name.log"; fail "ustack exited early"; }
        sleep 0.05
    done
    fail "ustack did not attach to $TAP"
}

# stop_ustack PID: SIGTERM and wait; returns its exit status.
stop_ustack() {
    local pid=$1 rc=0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    local i
    for i in "${!PIDS[@]}"; do [ "${PIDS[$i]}" = "$pid" ] && unset 'PIDS[i]'; done
    return $rc
}

# started_pid FILE: the PID a server wrote (the process that serves, which is
# not always the one started) joins PIDS, for the clean-up
started_pid() {
    for _ in $(seq 1 100); do
        [ -s "$1" ] && { PIDS+=("$(cat "$1")"); return 0; }
        sleep 0.05
    done
    fail "no pid file $1"
}
# wait_port PORT: until something in the namespace listens on TCP PORT (5 s)
wait_port() {
    for _ in $(seq 1 100); do
        nsx ss -ltnH "sport = :$1" | grep -q LISTEN && return 0
        sleep 0.05
    done
    fail "nothing listens on port $1"
}
# start_nginx PORT HTTP_BODY: nginx with one worker in the namespace, its
# configuration $TMP/nginx.conf the common part (pid, error log and temporary
# paths under $TMP) and HTTP_BODY inside http {}; waits until it listens on
# PORT. $TMP must be readable by the workers (chmod 755).
start_nginx() {
    local port=$1 body=$2
    mkdir -p "$TMP/nginx-tmp"
    cat >"$TMP/nginx.conf" <<EOF_NGINX
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events { worker_connections 1024; }
http {
    client_body_temp_path $TMP/nginx-tmp;
    proxy_temp_path $TMP/nginx-tmp;
    fastcgi_temp_path $TMP/nginx-tmp;
    uwsgi_temp_path $TMP/nginx-tmp;
    scgi_temp_path $TMP/nginx-tmp;
$body
}
EOF_NGINX
    # not through nsx (a function: $! would be a subshell's)
    nsenter --net="/run/netns/$NS" nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
    PIDS+=($!)
    started_pid "$TMP/nginx.pid"
    wait_port "$port"
}

# A bad TCP checksum for tshark, less the one the kernel writes (see check_pcap)
TCP_CSUM_BAD='(tcp.checksum.status == "Bad" && !(tcp.checksum == 0xffff && tcp.checksum_calculated == 0x0000 && eth.src != '"$US_MAC"'))'

# check_pcap FILE [TSHARK-OPTION...]: tshark reads it (with the options, e.g.
# --disable-protocol http) with no malformed packets and no bad checksums;
# the frames that fail are printed.
check_pcap() {
    local f=$1
    shift
    [ -s "$f" ] || fail "pcap $f missing or empty"
    local out
    out=$(tsh -r "$f" "$@" 2>&1 >/dev/null | grep -v 'Running as user "root"') || true
    tsh -r "$f" "$@" >/dev/null 2>&1 || fail "tshark cannot read $f: $out"
    [ -z "$out" ] || fail "tshark warnings on $f: $out"
    # The kernel occasionally completes a TCP checksum as 0xffff where 0x0000
    # is the canonical form (RFC 1624 section 3: both are zero in one's
    # complement, and ustack accepts it); tshark calls that "Bad". ustack's
    # own arithmetic never yields 0xffff, so the case is excused only for
    # frames the kernel completed: its own, and those it forwards (ustack on
    # a second TAP hands its super-frames' checksums to the kernel).
    # Without reassembly tshark's HTTP dissector calls a body segment that
    # happens to start with CRLF "Malformed" (Leading CRLF): payload, not
    # framing, so that one expert note is not counted.
    local filter='(_ws.malformed && !(_ws.expert.message contains "Leading CRLF")) || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || '"$TCP_CSUM_BAD"' || icmp.checksum.status == "Bad" || tcp.analysis.ack_lost_segment'
    local opts=(-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE "$@")
    local bad
    bad=$(tsh_count "$f" "$filter" "${opts[@]}")
    [ "$bad" -eq 0 ] || { tsh -r "$f" "${opts[@]}" -Y "$filter" 2>/dev/null | head; fail "$bad malformed/bad-checksum packets in $f"; }
}

# check_pcap_corrupting FILE: for runs with ustack's own --corrupt below the
# capture point. Frames from Linux may show bad checksums (ustack dropped and
# counted them); ustack's own frames must be clean. The ACK analysis runs on
# what the stack accepted — the frames with good checksums — since tshark's
# sequence tracking is misled by corrupted sequence fields.
check_pcap_corrupting() {
    local f=$1 opts=(-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
    [ -s "$f" ] || fail "pcap $f missing or empty"
    tsh -r "$f" >/dev/null 2>&1 || fail "tshark cannot read $f"
    local bad
    bad=$(tsh_count "$f" "eth.src == $US_MAC && (_ws.malformed || ip.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\")" "${opts[@]}")
    [ "$bad" -eq 0 ] || fail "$bad malformed/bad-checksum frames from ustack in $f"
    # (a TCP checksum of 0xffff from the kernel is intact: see check_pcap)
    tsh -r "$f" "${opts[@]}" -Y '!(ip.checksum.status == "Bad") && !'"$TCP_CSUM_BAD" -w "$f.intact" 2>/dev/null \
        || fail "tshark cannot filter $f"
    bad=$(tsh_count "$f.intact" 'tcp.analysis.ack_lost_segment || _ws.malformed')
    [ "$bad" -eq 0 ] || { tsh -r "$f.intact" -Y 'tcp.analysis.ack_lost_segment || _ws.malformed' 2>/dev/null | head -5; fail "$bad intact frames ACK unseen segments in $f"; }
    local corrupted
    corrupted=$(tsh_count "$f" "$TCP_CSUM_BAD"' || ip.checksum.status == "Bad"' "${opts[@]}")
    echo "corrupted frames from Linux seen (and dropped) by ustack: $corrupted"
    rm -f "$f.intact"
}

# counter LOG NAME: value of a counter in the last counter list ustack printed
# to LOG. ustack lists only counters that are not zero, so a name it does not
# list reads 0 -- but only a name the stack defines (src/*/*_counters.def): a
# renamed or mistyped counter, or a log without a counter list, fails the
# test. counter runs in $(...) subshells, where `fail` would only end the
# subshell: it signals the test's shell instead, which then fails.
COUNTER_NAMES=$(sed -n 's/^X([A-Z0-9_]*, *"\([^"]*\)").*/\1/p' \
    "$(dirname "${BASH_SOURCE[0]}")"/../../src/*/*_counters.def)
[ -n "$COUNTER_NAMES" ] || fail "no counter names found in src/*/*_counters.def"
trap 'exit 1' USR2
counter() {
    local why=
    grep -qxF -- "$2" <<<"$COUNTER_NAMES" || why="no counter named '$2' (src/*/*_counters.def)"
    [ -n "$why" ] || grep -q '^counters:' "$1" || why="$1 has no counter list (looking for $2)"
    if [ -n "$why" ]; then
        echo "FAIL: $why" >&2
        kill -USR2 $$
        exit 1
    fi
    awk -v n="$2" '/^counters:/ { v = 0 } $1 == n { v = $2 } END { print v + 0 }' "$1"
}
