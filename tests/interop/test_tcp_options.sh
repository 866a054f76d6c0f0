#!/usr/bin/env bash
# Options negotiated with the Linux kernel, both ways: while a connection is
# open, `ss -tin` on the Linux side shows timestamps, SACK, window scaling and
# the MSS ustack announced (1460 from MTU 1500; Linux's send MSS is 1448 with
# 12 bytes of timestamp option). The capture shows the same options on
# ustack's SYN-ACK (passive open) and SYN (active open).
source "$(dirname "$0")/lib.sh"
PORT=5203

# check_ss WHAT SS_LINE TCPINFO_LINE: the ss -tin detail line of one connection
# and the same connection's TCP_INFO read by the Linux application. Some ss
# builds do not print "ts"/"sack" although the kernel reports them in
# tcpi_options; those two are then taken from TCP_INFO.
check_ss() {
    local what=$1 info=$2 ti=$3
    echo "$what: ss: $info"
    echo "$what: $ti"
    for opt in wscale: rcvmss:; do
        [[ "$info" == *"$opt"* ]] || fail "$what: ss -tin shows no '$opt'"
    done
    for opt in ts sack; do
        [[ " $info " == *" $opt "* ]] || [[ "$ti" == *" $opt=1"* ]] || fail "$what: neither ss -tin nor TCP_INFO shows '$opt'"
    done
    [[ "$info" =~ [[:space:]]mss:(1448|1460)[[:space:]] ]] || fail "$what: send MSS is not 1460 (less 12 bytes of timestamps)"
    [[ "$info" =~ wscale:([0-9]+),([0-9]+) ]] || fail "$what: no wscale pair"
    [ "${BASH_REMATCH[1]}" -ge 1 ] || fail "$what: ustack announced window scale ${BASH_REMATCH[1]} (expected >= 1 for a 256 KiB buffer)"
}

# check_syn PCAP FILTER WHAT: the SYN ustack sent carries MSS 1460, wscale, SACK-permitted, TS
check_syn() {
    local f=$1 filter=$2 what=$3 fields
    fields=$(tsh -r "$f" -Y "$filter" -T fields -e tcp.options.mss_val -e tcp.options.wscale.shift \
        -e tcp.options.sack_perm -e tcp.options.timestamp.tsval 2>/dev/null | head -1)
    echo "$what options (mss, wscale, sack_perm, tsval): $fields"
    read -r mss ws sackp tsval <<<"$fields"
    [ "$mss" = 1460 ] || fail "$what: MSS option '$mss', expected 1460"
    [ -n "$ws" ] || fail "$what: no window scale option"
    [ -n "$sackp" ] || fail "$what: no SACK-permitted option"
    [ -n "$tsval" ] || fail "$what: no timestamp option"
}

# ---- passive open: Linux connects to ustack echo ----
start_ustack passive --pcap "$TMP/passive.pcap" echo --port $PORT --duration 120
nsenter --net="/run/netns/$NS" python3 - "$US_IP" $PORT "$TMP/passive.ti" <<'PY' >"$TMP/hold.out" 2>&1 &
import socket, sys, time
def tcpinfo(s, path):
    import struct
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    opts, ws = b[5], b[6]
    snd_mss, rcv_mss = struct.unpack_from("II", b, 16)
    with open(path, "w") as f:
        f.write(f"tcp_info: ts={opts & 1} sack={(opts >> 1) & 1} wscale={ws & 15},{ws >> 4} snd_mss={snd_mss}\n")
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"x" * 5000)
got = b""
while len(got) < 5000:
    got += s.recv(65536)
tcpinfo(s, sys.argv[3])
time.sleep(4)      # hold the connection open while ss looks at it
s.close()
PY
holder=$!
PIDS+=("$holder")
info=""
for _ in $(seq 1 60); do
    info=$(nsx ss -tinH state established "dst $US_IP:$PORT" | tr '\n' ' ')
    [[ "$info" == *rcvmss:* ]] && [ -s "$TMP/passive.ti" ] && break
    sleep 0.05
done
check_ss "Linux -> ustack" "$info" "$(cat "$TMP/passive.ti" 2>/dev/null)"
wait "$holder" || { cat "$TMP/hold.out"; fail "holding client failed"; }
stop_ustack "$USTACK_PID" || fail "ustack echo exit status $?"
check_pcap "$TMP/passive.pcap"
check_syn "$TMP/passive.pcap" "ip.src == $US_IP && tcp.flags.syn == 1 && tcp.flags.ack == 1" "ustack SYN-ACK"

# ---- active open: ustack source to a Linux listener that reads late ----
nsenter --net="/run/netns/$NS" python3 - "$LINUX_IP" $PORT "$TMP/active.ti" <<'PY' >"$TMP/late.out" 2>&1 &
import socket, sys, time
def tcpinfo(s, path):
    import struct
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    opts, ws = b[5], b[6]
    snd_mss, rcv_mss = struct.unpack_from("II", b, 16)
    with open(path, "w") as f:
        f.write(f"tcp_info: ts={opts & 1} sack={(opts >> 1) & 1} wscale={ws & 15},{ws >> 4} snd_mss={snd_mss}\n")
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(1)
ls.settimeout(30)
c, _ = ls.accept()
tcpinfo(c, sys.argv[3])
time.sleep(3)      # connection stays open (window full) while ss looks at it
c.settimeout(30)
while c.recv(1 << 16):
    pass
PY
late=$!
PIDS+=("$late")
for _ in $(seq 1 100); do nsx ss -ltnH "sport = :$PORT" | grep -q LISTEN && break; sleep 0.05; done
nsenter --net="/run/netns/$NS" timeout 60 "$USTACK" --tap "$TAP" --ip "$US_IP/24" --pcap "$TMP/active.pcap" \
    source "$LINUX_IP:$PORT" --bytes 2000000 >"$TMP/active.log" 2>&1 &
src=$!
PIDS+=("$src")
info=""
for _ in $(seq 1 60); do
    info=$(nsx ss -tinH state established "src $LINUX_IP:$PORT" | tr '\n' ' ')
    [[ "$info" == *rcvmss:* ]] && [ -s "$TMP/active.ti" ] && break
    sleep 0.05
done
check_ss "ustack -> Linux" "$info" "$(cat "$TMP/active.ti" 2>/dev/null)"
wait "$src" || fail "ustack source exit status $?"
wait "$late" || { cat "$TMP/late.out"; fail "late reader failed"; }
check_pcap "$TMP/active.pcap"
check_syn "$TMP/active.pcap" "ip.src == $US_IP && tcp.flags.syn == 1 && tcp.flags.ack == 0" "ustack SYN"
echo PASS
