#!/usr/bin/env bash
# ustack resolve without a network (--stack kernel, no query leaves): an
# address is its own answer, a hosts file answers before any server, a bad
# --dns value and a missing server are usage errors (exit 2), a bad name
# likewise. The lookups over a network are tests/interop/test_dns.sh.
set -euo pipefail
U=$(readlink -f "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { # run WANT_RC ARGS...
    local want=$1; shift
    local rc=0
    "$U" "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err"; fail "'$*' exited $rc, want $want"; }
}
run 0 --stack kernel resolve 198.18.0.5
grep -q '^198.18.0.5: 198.18.0.5 (an address)$' "$T/out" || fail "address: $(cat "$T/out")"
printf '198.18.0.9 file.test alias.test\n198.18.0.10 file.test\n' >"$T/hosts"
run 0 --stack kernel resolve --hosts "$T/hosts" alias.test FILE.test
grep -q '^alias.test: 198.18.0.9 (hosts file)$' "$T/out" || fail "hosts: $(cat "$T/out")"
grep -q '^FILE.test: 198.18.0.9,198.18.0.10 (hosts file)$' "$T/out" || fail "hosts: $(cat "$T/out")"
grep -q '^dns: 0 queries sent' "$T/out" || fail "a query was sent"
run 2 --stack kernel resolve a.test
grep -q 'a.test: no DNS server configured (--dns ADDR)' "$T/err" || fail "no server: $(cat "$T/err")"
run 2 --stack kernel --dns 198.18.0.300 resolve a.test
grep -q -- "--dns: '198.18.0.300' is not an IPv4 address" "$T/err" || fail "bad --dns: $(cat "$T/err")"
run 2 --stack kernel --dns 198.18.0.1,198.18.0.2 --dns 1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7 resolve a.test
grep -q -- "--dns: at most 8 servers" "$T/err" || fail "too many servers: $(cat "$T/err")"
run 2 --stack kernel --dns 198.18.0.1 resolve --hosts "$T/hosts" bad..name
grep -q 'bad..name: not a valid name' "$T/err" || fail "bad name: $(cat "$T/err")"
run 2 --stack kernel resolve --hosts "$T/nonexistent" a.test
grep -q "hosts file $T/nonexistent: No such file" "$T/err" || fail "missing hosts file: $(cat "$T/err")"
"$U" resolve --help >"$T/help"
grep -q 'Exit status: 0 all' "$T/help" || fail "resolve --help"
"$U" --help >"$T/help"
grep -q -- '--dns ADDR' "$T/help" || fail "--dns in ustack --help"
echo PASS
