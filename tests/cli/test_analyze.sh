#!/usr/bin/env bash
# ustack analyze: the demo's bulk-transfer capture is analyzed (summary, no error finding,
# exit 0), --json is machine-readable, --conn selects, and bad flags, a missing
# or unreadable file are one-line errors with exit status 2.
set -euo pipefail
U=$(readlink -f "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_err() { # expect_err PATTERN ARGS...
    local pat=$1; shift
    local rc=0
    "$U" "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -eq 2 ] || fail "'$*' exited $rc, expected 2"
    grep -qF -- "$pat" "$T/err" || { cat "$T/err"; fail "'$*' error lacks '$pat'"; }
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "'$*' error is not one line"
    echo "ok: $* -> $(head -1 "$T/err")"
}
"$U" demo --part bulk --pcap "$T/d.pcap" >"$T/demo" || fail "demo exited non-zero"
rc=0
"$U" analyze "$T/d.pcap" >"$T/an" || rc=$?
cat "$T/an"
[ $rc -eq 0 ] || fail "analyze of the demo capture exited $rc"
grep -q "1 TCP connection" "$T/an" || fail "connection count missing"
grep -q "198.18.0.1:[0-9]* -> 198.18.0.2:5001" "$T/an" || fail "connection line missing"
grep -q "sent 2000000 bytes" "$T/an" || fail "byte count missing"
grep -q "handshake RTT 20.000 ms" "$T/an" || fail "handshake RTT missing"
grep -q "^0 findings of severity error" "$T/an" || fail "error count missing"
"$U" analyze "$T/d.pcap" --json >"$T/json" || fail "--json exited non-zero"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["errors"]==0 and len(d["connections"])==1 and d["connections"][0]["sides"][0]["bytes"]==2000000' "$T/json" \
        || fail "--json output is not the expected JSON"
fi
"$U" analyze --conn 1 "$T/d.pcap" >"$T/c1" || fail "--conn 1"
grep -q "connection 1:" "$T/c1" || fail "--conn 1 output"
"$U" analyze --help >"$T/help" && grep -q "usage: ustack analyze" "$T/help" || fail "analyze --help"
"$U" --help >"$T/help" && grep -q "analyze FILE.pcap" "$T/help" || fail "analyze missing from ustack --help"
expect_err "analyze: unknown option '--bogus' (allowed: --conn N, --json)" analyze --bogus "$T/d.pcap"
expect_err "--conn: 'x' is not allowed (expected an integer 1..1000000)" analyze --conn x "$T/d.pcap"
expect_err "analyze: --conn 5: the capture has 1 TCP connection" analyze --conn 5 "$T/d.pcap"
expect_err "analyze: no capture file given" analyze
expect_err "analyze: $T/missing.pcap: cannot read capture" analyze "$T/missing.pcap"
echo "not a capture" >"$T/junk.pcap"
expect_err "analyze: $T/junk.pcap: cannot read capture" analyze "$T/junk.pcap"
# a capture cut in the middle of a frame is analyzed up to the damage
head -c 30000 "$T/d.pcap" >"$T/cut.pcap"
rc=0
"$U" analyze "$T/cut.pcap" >"$T/cut" 2>"$T/cuterr" || rc=$?
[ $rc -le 1 ] || fail "truncated capture exited $rc"
grep -q "TCP connection" "$T/cut" || fail "truncated capture not analyzed"
echo PASS
