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
expect_err "--cc: 'vegas' is not allowed (allowed: newreno, cubic, bbr)" --cc vegas up
expect_err "--cc: 'bbr2' is not allowed (allowed: newreno, cubic, bbr)" --cc bbr2 up
expect_err "unknown option '--bogus'" --bogus up
expect_err "unknown command 'fly' (allowed: up, ping, echo, sink, source, demo, sim, analyze" fly
# a mistyped command or option gets a suggestion; a global option after the command is explained
expect_err "unknown command 'sorce' — did you mean 'source'?" sorce 198.18.0.1:5001
expect_err "unknown command 'anlyze' — did you mean 'analyze'?" anlyze x.pcap
expect_err "echo: unknown option '--prot' — did you mean '--port'? (allowed: --port N, --duration S)" echo --prot 7
expect_err "unknown option '--tpa' — did you mean '--tap'?" --tpa x up
expect_err "up: '--tap' is a global option: give it before the command" up --tap x
expect_err "ping: unexpected argument '198.18.0.9' (HOST already given: '198.18.0.1')" ping 198.18.0.1 198.18.0.9
expect_err "up: unexpected argument 'now'" up now
expect_err "--port: '0' is not allowed (expected an integer 1..65535)" sink --port 0
expect_err "--port: needs a value N" echo --port
expect_err "--queue: '100' is not allowed (expected 1500..1G)" --queue 100 up
expect_err "ping: unknown option '-x' (allowed: -c COUNT, -s SIZE, -i INTERVAL, -W WAIT)" ping -x 1.2.3.4
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
# every command in ustack --help has its own --help, from the same table: usage
# line, and one help line per option the overview lists for it
"$U" --help >"$T/help.all"
cmds=$(awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}' "$T/help.all")
[ "$(echo $cmds)" = "up ping echo sink source demo sim analyze serve get load resolve page" ] || fail "ustack --help lists commands '$(echo $cmds)'"
for cmd in $cmds; do
    "$U" "$cmd" --help >"$T/h.$cmd" || fail "$cmd --help exited non-zero"
    grep -q "^usage: ustack .*$cmd" "$T/h.$cmd" || fail "$cmd --help has no usage line"
    for opt in $(grep "^  $cmd " "$T/help.all" | grep -o -- '\[-[-a-zA-Z]*' | tr -d '['); do
        grep -q -- "^  $opt" "$T/h.$cmd" || fail "$cmd --help does not explain $opt"
    done
    [ "$("$U" "$cmd" -h)" = "$(cat "$T/h.$cmd")" ] || fail "$cmd -h differs from $cmd --help"
done
grep -q -- "--cc NAME .*congestion control" "$T/h.source" || fail "source --help lacks --cc"
# the --cc names are the congestion-control registry's: every allowed name is
# accepted, and help and the error list the same names
ccs=$("$U" --cc nosuch up 2>&1 | sed -n "s/.*(allowed: \(.*\))$/\1/p" || true)
[ -n "$ccs" ] || fail "--cc error lists no names"
case ", $ccs," in *", newreno,"*) ;; *) fail "--cc names '$ccs' lack newreno";; esac
case ", $ccs," in *", cubic,"*) ;; *) fail "--cc names '$ccs' lack cubic";; esac
case ", $ccs," in *", bbr,"*) ;; *) fail "--cc names '$ccs' lack bbr";; esac
grep -q -- "--cc NAME .*(allowed: $ccs)" "$T/help.all" || fail "ustack --help does not list the --cc names '$ccs'"
grep -q -- "(allowed: $ccs)" "$T/h.source" || fail "source --help does not list the --cc names '$ccs'"
for cc in ${ccs//,/ }; do
    expect_err "needs --tap NAME" --cc "$cc" --ip 198.18.0.2/24 up
    expect_err "needs --tap NAME" --ip 198.18.0.2/24 source 198.18.0.1:5001 --bytes 1k --cc "$cc"
done
# the demo (a page by four strategies) runs, is deterministic, its pcaps read cleanly in tshark
"$U" demo --pcap "$T/d1.pcap" --plot "$T/d1.png" >"$T/demo1" || { cat "$T/demo1"; fail "demo exited non-zero"; }
"$U" demo --pcap "$T/d2.pcap" --plot "$T/d2.png" >"$T/demo2" || fail "second demo run"
grep -q "^comparison" "$T/demo1" || fail "demo comparison table missing"
[ "$(grep -c 'every body byte-exact' "$T/demo1")" = 4 ] || fail "demo: bodies not byte-exact"
[ "$(grep -c '^  [a-z]* *avoided: ' "$T/demo1")" = 4 ] || fail "demo: the avoided/pays lines are missing"
diff <(sed 's|/tmp/[^ ]*||g; s|d[12]-||g' "$T/demo1") <(sed 's|/tmp/[^ ]*||g; s|d[12]-||g' "$T/demo2") >/dev/null ||
    fail "demo output differs between runs"
for s in serial parallel persistent pipelined; do
    cmp -s "$T/d1-$s.pcap" "$T/d2-$s.pcap" || fail "demo is not deterministic ($s pcaps differ)"
    if command -v gnuplot >/dev/null; then
        [ -s "$T/d1-$s.png" ] && [ -s "$T/d1-$s-cwnd.png" ] || fail "demo wrote no $s plots"
    fi
    if command -v tshark >/dev/null; then
        n=$(tsh -r "$T/d1-$s.pcap" 2>/dev/null | wc -l)
        [ "$n" -gt 20 ] || fail "demo $s pcap has only $n frames"
        # the bodies are not real images: Wireshark notes that its image dissector failed on them
        bad=$(tsh -r "$T/d1-$s.pcap" -o ip.check_checksum:TRUE -Y '(_ws.malformed && !(_ws.expert.message contains "HTTP body subdissector failed")) || ip.checksum.status == "Bad" || icmp.checksum.status == "Bad"' 2>/dev/null | wc -l)
        [ "$bad" -eq 0 ] || fail "demo $s pcap has $bad bad frames"
        http=$(tsh -r "$T/d1-$s.pcap" -Y 'http.request' -T fields -e http.request.uri 2>/dev/null | tr ',' '\n' | wc -l)
        [ "$http" -ge 21 ] || fail "demo $s pcap shows $http HTTP requests"
    fi
done
# the earlier parts stay: pings and the 2 MB transfer
"$U" demo --part all --pcap "$T/d3.pcap" --plot "$T/d3.png" >"$T/demo3" || { cat "$T/demo3"; fail "demo --part all exited non-zero"; }
"$U" demo --part all --pcap "$T/d4.pcap" --plot "$T/d4.png" >/dev/null || fail "second demo --part all run"
grep -q "summary: A->B .* replies, TCP transfer intact" "$T/demo3" || fail "demo --part all: ping and bulk summary missing"
cmp -s "$T/d3.pcap" "$T/d4.pcap" || fail "demo --part all is not deterministic (pcaps differ)"
if command -v tshark >/dev/null; then
    n=$(tsh -r "$T/d3.pcap" 2>/dev/null | wc -l)
    [ "$n" -gt 20 ] || fail "demo ping/bulk pcap has only $n frames"
    bad=$(tsh -r "$T/d3.pcap" -o ip.check_checksum:TRUE -Y '_ws.malformed || ip.checksum.status == "Bad" || icmp.checksum.status == "Bad"' 2>/dev/null | wc -l)
    [ "$bad" -eq 0 ] || fail "demo ping/bulk pcap has $bad bad frames"
fi
"$U" demo --part ping --pcap "$T/d5.pcap" >"$T/demo5" || fail "demo --part ping"
grep -q "summary: A->B .* replies, [0-9]* events" "$T/demo5" || fail "demo --part ping summary"
if grep -q "TCP transfer" "$T/demo5"; then fail "demo --part ping ran the transfer"; fi
expect_err "--part: 'x' is not allowed (allowed: page, ping, bulk, all)" demo --part x
# sim nagle: the stall, its absence with TCP_NODELAY, and the analyzer naming it in the capture
"$U" sim nagle --rtt 20 --delack 40 --pcap "$T/n.pcap" >"$T/nagle" || { cat "$T/nagle"; fail "sim nagle exited non-zero"; }
grep -q "request 1 at  140.000 ms: B has the head + 10.000 ms, the body + 70.000 ms; A has the response + 80.000 ms" "$T/nagle" ||
    fail "sim nagle: Nagle's request is not 2 RTT + delayed ACK"
grep -A3 "^TCP_NODELAY" "$T/nagle" | grep -q "A has the response + 20.000 ms" || fail "sim nagle: TCP_NODELAY request is not 1 RTT"
[ "$(grep -c 'analyzer: Nagle x delayed ACK' "$T/nagle")" = 1 ] || fail "sim nagle: the analyzer finding is not exactly in the Nagle run"
"$U" analyze "$T/n-nagle.pcap" >"$T/an1" || fail "analyze of the Nagle capture exited non-zero"
grep -q "nagle-delayed-ack: .*held 40.0 ms" "$T/an1" || { cat "$T/an1"; fail "analyze does not name Nagle x delayed ACK in the capture"; }
"$U" analyze "$T/n-nodelay.pcap" >"$T/an2" || fail "analyze of the TCP_NODELAY capture exited non-zero"
if grep -q nagle-delayed-ack "$T/an2"; then fail "analyze names a Nagle stall in the TCP_NODELAY capture"; fi
# sim timewait: ports run out at ports/rate when the client closes first; the plot is drawn
"$U" sim timewait --rate 100 --ports 100 --msl 500 --duration 3 --plot "$T/tw.png" >"$T/tw" ||
    { cat "$T/tw"; fail "sim timewait exited non-zero"; }
grep -q "EADDRNOTAVAIL, the first at 1.000 s (predicted 1.00 s)" "$T/tw" || { cat "$T/tw"; fail "sim timewait: exhaustion not at ports/rate"; }
[ -s "$T/tw.png" ] && [ -s "$T/tw.png.gp" ] || fail "sim timewait --plot wrote no PNG and script"
"$U" sim timewait --closer server --rate 100 --ports 100 --msl 500 --duration 3 >"$T/tw2" || fail "sim timewait --closer server"
grep -q "0 connects failed with EADDRNOTAVAIL" "$T/tw2" || fail "sim timewait --closer server: connects failed"
# sim cc: BBR keeps the deep buffer's queue near empty where CUBIC fills it; goodput near the link for both; the same run twice
"$U" sim cc --rate 20e6 --duration 4 >"$T/cc1" || { cat "$T/cc1"; fail "sim cc exited non-zero"; }
"$U" sim cc --rate 20e6 --duration 4 >"$T/cc2" || fail "second sim cc run"
cmp -s "$T/cc1" "$T/cc2" || fail "sim cc: two runs differ"
[ "$(grep -cE '^  (bbr|cubic|newreno) +(0.25|10) BDP \([0-9]+ B\) +[0-9]+\.[0-9]{2} ' "$T/cc1")" = 6 ] ||
    { cat "$T/cc1"; fail "sim cc: not six rows with goodput figures"; }
awk '$2 == "10" && $3 == "BDP" {g[$1] = $6; q[$1] = $7} END {exit !(q["bbr"] * 20 < q["cubic"] && g["bbr"] > 17 && g["cubic"] > 17)}' "$T/cc1" ||
    { cat "$T/cc1"; fail "sim cc: BBR's deep-buffer queue delay p50 not far below CUBIC's, or goodput not near 20 Mbit/s"; }
expect_err "sim cc: --rate must be 1000000..1000000000 bits/s (got 0)" sim cc --rate 0
expect_err "sim cc: --rtt must be 1..1000 ms (got 0.5)" sim cc --rtt 0.5
expect_err "sim cc: --duration must be 1..120 s (got 200)" sim cc --duration 200
# sim page: the four strategies, every body byte-exact, one DNS query on the wire, the same run twice, the plots
"$U" sim page --resources 6 --rtt 100 --plot "$T/pg.png" >"$T/page1" || { cat "$T/page1"; fail "sim page exited non-zero"; }
"$U" sim page --resources 6 --rtt 100 >"$T/page2" || fail "second sim page run"
[ "$(grep -c 'every one byte-exact' "$T/page1")" = 4 ] || { cat "$T/page1"; fail "sim page: bodies not byte-exact"; }
[ "$(grep -c 'DNS 1 query on the wire, 6 from the cache' "$T/page1")" = 4 ] || fail "sim page: DNS not once on the wire"
grep -A5 "^comparison:" "$T/page1" | awk '$1 == "serial" && $3 == 7 && $4 == 0 {ok=1} END {exit !ok}' ||
    { cat "$T/page1"; fail "sim page: serial did not open 7 connections"; }
grep -A5 "^comparison:" "$T/page1" | awk '$1 == "pipelined" && $5 == 1 && $6 == 6 {ok=1} END {exit !ok}' ||
    { cat "$T/page1"; fail "sim page: pipelined is not one connection for 7 requests"; }
diff <(grep -v "plot:" "$T/page1") "$T/page2" >/dev/null || fail "sim page: two runs differ"
for s in serial parallel persistent pipelined; do
    [ -s "$T/pg-$s.png" ] && [ -s "$T/pg-$s-cwnd.png" ] || fail "sim page --plot: no $s waterfall and cwnd plot"
done
expect_err "--strategy: 'x' is not allowed (allowed: serial, parallel, persistent, pipelined, all)" sim page --strategy x
expect_err "SCENARIO: 'fly' is not allowed (allowed: nagle, timewait, page, cc)" sim fly
expect_err "--mode: 'x' is not allowed (allowed: all, nagle, nodelay, one-write)" sim nagle --mode x
echo PASS
