#!/usr/bin/env bash
# The command line: bad flags and values are named with the allowed values
# (exit 2), a missing TAP device is explained in one line, --help works, and
# the demo runs, is deterministic and writes a pcap that tshark reads cleanly.
set -euo pipefail
U=$(readlink -f "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
tsh() { tshark -o tcp.desegment_tcp_streams:FALSE "$@"; }   # see tests/interop/lib.sh
expect_err() { # expect_err PATTERN ARGS...
    local pat=$1; shift
    local rc=0
    "$U" "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -ne 0 ] || fail "'$*' exited 0"
    grep -q -- "$pat" "$T/err" || { cat "$T/err"; fail "'$*' error lacks '$pat'"; }
    echo "ok: $* -> $(head -1 "$T/err")"
}
expect_err "--loss: '1.5' is not allowed (expected a number 0..1)" --loss 1.5 up
expect_err "--mtu: 'abc' is not allowed (expected an integer 576..9000)" --mtu abc up
expect_err "--ip: '300.1.1.1' is not an IPv4 address" --ip 300.1.1.1/24 up
expect_err "--cc: 'vegas' is not allowed (allowed: newreno, cubic)" --cc vegas up
expect_err "--cc: 'bbr' is not allowed (allowed: newreno, cubic)" --cc bbr up
expect_err "unknown option '--bogus'" --bogus up
expect_err "unknown command 'fly' (allowed:" fly
expect_err "ping: unknown option '-x' (allowed: -c, -s, -i, -W)" ping -x 1.2.3.4
expect_err "-s: '70000' is not allowed (expected an integer 0..65507)" ping -s 70000 198.18.0.1
expect_err "needs --tap NAME" --ip 198.18.0.2/24 up
expect_err "--rate: 'fast' is not allowed" --rate fast up
expect_err "source: give exactly one of --bytes N or --file F" --tap x --ip 198.18.0.2/24 source 198.18.0.1:5001
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ]; then
    expect_err "tap device 'nosuchtap0' not found" --tap nosuchtap0 --ip 198.18.0.2/24 up
    expect_err "ip tuntap add dev nosuchtap0 mode tap" --tap nosuchtap0 --ip 198.18.0.2/24 up
fi
"$U" --help >"$T/help" && grep -q "Commands:" "$T/help" || fail "--help"
"$U" ping --help >"$T/help" && grep -q "usage:" "$T/help" || fail "ping --help"
"$U" demo --pcap "$T/d1.pcap" >"$T/demo1" || { cat "$T/demo1"; fail "demo exited non-zero"; }
"$U" demo --pcap "$T/d2.pcap" >"$T/demo2" || fail "second demo run"
grep -q "summary:" "$T/demo1" || fail "demo summary missing"
cmp -s "$T/d1.pcap" "$T/d2.pcap" || fail "demo is not deterministic (pcaps differ)"
diff <(sed 's|/tmp/[^ ]*||g' "$T/demo1") <(sed 's|/tmp/[^ ]*||g' "$T/demo2") >/dev/null || fail "demo output differs between runs"
if command -v tshark >/dev/null; then
    n=$(tsh -r "$T/d1.pcap" 2>/dev/null | wc -l)
    [ "$n" -gt 20 ] || fail "demo pcap has only $n frames"
    bad=$(tsh -r "$T/d1.pcap" -o ip.check_checksum:TRUE -Y '_ws.malformed || ip.checksum.status == "Bad" || icmp.checksum.status == "Bad"' 2>/dev/null | wc -l)
    [ "$bad" -eq 0 ] || fail "demo pcap has $bad bad frames"
fi
echo PASS
