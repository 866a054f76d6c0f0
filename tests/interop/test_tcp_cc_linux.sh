#!/usr/bin/env bash
# TCP against the Linux kernel with each congestion control (issue 8), small
# transfers so that the whole test stays short:
#
# ustack sends (`ustack --cc CC source`, its pseudo-random pattern) to a
# Linux listener, for CC = cubic, newreno, bbr, on a clean link and on an
# impaired one (1% loss, 2% reordering, 3 ms delay each way). For every run:
#   - byte-exact: Linux's byte count and SHA-256 equal what source sent;
#     Linux's own TCP_INFO counts the same bytes and the FIN
#     (tcpi_bytes_received);
#   - the SYN and the SYN-ACK carry MSS 1460, window scale, SACK-permitted and
#     timestamps; Linux's TCP_INFO shows all three options negotiated;
#   - impaired link: in the middle of the transfer (the Linux reader
#     pauses) ustack's connection table (SIGUSR1) shows the connection open
#     (ESTABLISHED, or FIN-WAIT when Linux's buffer took the rest) with the
#     congestion control asked for, bbr with a BBR state and a pacing rate.
#     Not on the clean link: a reader that does not read makes Linux delay
#     its ACKs (its window would not grow), and a tail loss probe that races
#     the delayed ACK is a (spurious) retransmission;
#   - every data byte and the FIN acknowledged by Linux, Linux's FIN
#     acknowledged by ustack, no RST (on the impaired link none but a bare
#     one answering a stray segment after the close); the capture passes
#     check_pcap;
#   - clean link: Linux received no segment out of order (tcpi_rcv_ooopack),
#     and every retransmission (capture, source's count; a tail loss probe
#     racing an ACK Linux held back, at most 3) was data Linux had and
#     D-SACKed;
#   - impaired link: retransmissions in the capture and counted by source,
#     Linux queued out-of-order segments.
#
# Linux sends to `ustack sink` with each of its own congestion controls
# (cubic, reno, bbr; ustack's --cc set to the matching one, which as a pure
# receiver decides nothing), clean and impaired with 2% duplication as well:
#   - byte-exact (SHA-256 of Linux's random data), Linux's TCP_INFO shows
#     every byte and the FIN acknowledged (tcpi_bytes_acked), options as
#     above, the same handshake and close checks in the capture;
#   - clean link: every retransmission of Linux was spurious (a tail loss
#     probe while ustack waited for the CPU): D-SACKed by ustack (RFC 2883)
#     and counted by Linux as such (tcpi_dsack_dups = tcpi_total_retrans);
#   - impaired link: Linux retransmitted, ustack sent D-SACKs for the
#     duplicates and Linux recognised them;
#   - the connection leaves ustack's table by itself (its FIN acknowledged)
#     and stopping the sink aborts nothing.
source "$(dirname "$0")/lib.sh"
PORT=5205
BYTES=3000000
IMPAIR=(--loss 0.01 --reorder 0.02 --delay 3)

# The Linux side's TCP_INFO (struct tcp_info, linux/tcp.h): the offsets of
# the fields used, in a stable ABI.
cat >"$TMP/tcpinfo.py" <<'PY'
import socket, struct
def tcp_info(s):
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    opts = b[5]
    return {
        "ts": opts & 1, "sack": (opts >> 1) & 1, "wscale": (opts >> 2) & 1,
        "snd_wscale": b[6] & 15, "rcv_wscale": b[6] >> 4,
        "total_retrans": struct.unpack_from("I", b, 100)[0],
        "bytes_acked": struct.unpack_from("Q", b, 120)[0],
        "bytes_received": struct.unpack_from("Q", b, 128)[0],
        "dsack_dups": struct.unpack_from("I", b, 216)[0],
        "rcv_ooopack": struct.unpack_from("I", b, 224)[0],
    }
def fmt(d):
    return " ".join(f"{k}={v}" for k, v in d.items())
PY

cat >"$TMP/recv.py" <<'PY'
# recv.py IP PORT PAUSE_AT DIR: accept one connection, read to EOF; once
# PAUSE_AT bytes are read, create DIR/paused and wait (at most 20 s) for
# DIR/go. Prints "BYTES SHA256 TCP_INFO..." (TCP_INFO at EOF).
import hashlib, os, socket, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from tcpinfo import tcp_info, fmt
ip, port, pause_at, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((ip, port))
ls.listen(1)
ls.settimeout(30)
c, _ = ls.accept()
c.settimeout(30)
h = hashlib.sha256()
n, paused = 0, False
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
    if not paused and n >= pause_at:
        paused = True
        open(os.path.join(d, "paused"), "w").close()
        limit = time.monotonic() + 20
        while not os.path.exists(os.path.join(d, "go")):
            if time.monotonic() > limit:
                sys.exit("no go after the pause")
            time.sleep(0.01)
print(n, h.hexdigest(), fmt(tcp_info(c)))
c.close()
PY

cat >"$TMP/send.py" <<'PY'
# send.py IP PORT BYTES CC: send BYTES of random data with congestion control
# CC, half-close, wait for the peer's FIN. Prints "SHA256 TCP_INFO...".
import hashlib, os, socket, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from tcpinfo import tcp_info, fmt
ip, port, total, cc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = None
for _ in range(50):
    try:
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
        s.settimeout(5)
        s.connect((ip, port))
        break
    except OSError:
        s.close()
        s = None
        time.sleep(0.2)
if s is None:
    sys.exit("cannot connect")
s.settimeout(30)
data = os.urandom(total)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
if s.recv(1) != b"":
    sys.exit("sink sent data")
print(hashlib.sha256(data).hexdigest(), fmt(tcp_info(s)))
s.close()
PY

# info_field LINE NAME: NAME=VALUE out of a TCP_INFO line
info_field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<" $1"; }
# linux_mib NAME: a counter of the namespace's kernel (nstat, history untouched)
linux_mib() { nsx nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }

# table NAME COLUMN...: ustack's connection table now (SIGUSR1 to
# $USTACK_PID, whose log is $TMP/NAME.log): for each row, the columns named
# (by the table's header, e.g. state remote cc[:state] pace-Mbit).
# (It runs in $(...): a failure signals the test's shell, as counter does.)
table() {
    local log="$TMP/$1.log" before
    shift
    die() { echo "FAIL: $*" >&2; kill -USR2 $$; exit 1; }
    before=$(grep -c '^counters:' "$log" || true)
    kill -USR1 "$USTACK_PID" 2>/dev/null || die "ustack ($log) is no longer running: $(grep -v '^ ' "$log" | head -3)"
    for _ in $(seq 1 100); do
        [ "$(grep -c '^counters:' "$log" || true)" -gt "$before" ] && break
        sleep 0.02
    done
    [ "$(grep -c '^counters:' "$log" || true)" -gt "$before" ] || die "no connection table in $log after SIGUSR1"
    awk -v want="$*" '
        /^fd +state / { t = 1; rows = ""; n = split(want, w, " ")
                        for (i = 1; i <= n; i++) { col[i] = 0; for (j = 1; j <= NF; j++) if ($j == w[i]) col[i] = j }
                        for (i = 1; i <= n; i++) if (!col[i]) { print "no column " w[i]; exit 1 }
                        next }
        /^counters:/ { t = 0 }
        t { r = ""; for (i = 1; i <= n; i++) r = r (i > 1 ? " " : "") $col[i]; rows = rows r "\n" }
        END { printf "%s", rows }' "$log" || die "netstat table in $log without the columns $*"
}

# frames PCAP PORT: one line per TCP frame of the connection whose ephemeral
# port is PORT (a frame of an earlier case's connection may arrive: Linux
# repeating its FIN to the next ustack, which answers RST) into PCAP.txt, one
# tshark pass; each check below is an awk over it. Fields: source, SYN, ACK, FIN, RST, relative seq, next seq, ack,
# MSS, window scale, SACK-permitted, TSval, retransmission, fast
# retransmission, D-SACK (a field absent is "-").
FIELDS=(ip.src tcp.flags.syn tcp.flags.ack tcp.flags.fin tcp.flags.reset tcp.seq tcp.nxtseq tcp.ack
    tcp.options.mss_val tcp.options.wscale.shift tcp.options.sack_perm tcp.options.timestamp.tsval
    tcp.analysis.retransmission tcp.analysis.fast_retransmission tcp.options.sack.dsack)
frames() {
    local args=() x
    for x in "${FIELDS[@]}"; do args+=(-e "$x"); done
    tsh -r "$1" -Y "tcp.port == $2" -T fields -E occurrence=f "${args[@]}" 2>/dev/null \
        | awk -F'\t' '{ for (i = 1; i <= NF; i++) if ($i == "") $i = "-"; print }' OFS=' ' >"$1.txt"
    [ -s "$1.txt" ] || fail "no TCP frames of port $2 in $1"
}
# count PCAP AWK_CONDITION: frames of $1.txt matching, with the fields named
# src syn ack fin rst seq nxt ackno mss ws sackp tsval rtx frtx dsack
count() {
    awk -v us="$US_IP" -v linux="$LINUX_IP" '{ src = $1; syn = $2; ack = $3; fin = $4; rst = $5; seq = $6; nxt = $7;
        ackno = $8; mss = $9; ws = $10; sackp = $11; tsval = $12; rtx = $13; frtx = $14; dsack = $15 }
        '"$2"' { n++ } END { print n + 0 }' "$1.txt"
}

# check_handshake PCAP NAME CLIENT SERVER: the client's SYN and the server's
# SYN-ACK both carry MSS 1460, window scale, SACK-permitted and timestamps.
check_handshake() {
    local f=$1 name=$2 cli=$3 srv=$4
    local opts='mss == 1460 && ws != "-" && sackp != "-" && tsval != "-"'
    [ "$(count "$f" "src == \"$cli\" && syn == 1 && ack == 0 && $opts")" -ge 1 ] \
        || fail "$name: no SYN from $cli with MSS 1460, wscale, SACK-permitted and timestamps"
    [ "$(count "$f" "src == \"$srv\" && syn == 1 && ack == 1 && $opts")" -ge 1 ] \
        || fail "$name: no SYN-ACK from $srv with MSS 1460, wscale, SACK-permitted and timestamps"
}

# check_close PCAP NAME SENDER RECEIVER BYTES LINK: the receiver acknowledged every
# byte and the sender's FIN (relative ack BYTES+2), the sender's FIN right
# after the last byte (alone or on the last segment), the receiver's FIN (it
# sent no data) acknowledged by the sender (relative ack 2), and no RST.
check_close() {
    local f=$1 name=$2 snd=\"$3\" rcv=\"$4\" bytes=$5
    [ "$(count "$f" "src == $snd && fin == 1 && nxt == $((bytes + 2))")" -ge 1 ] \
        || fail "$name: no FIN from $3 after byte $bytes"
    [ "$(count "$f" "src == $rcv && ackno == $((bytes + 2))")" -ge 1 ] \
        || fail "$name: $4 never acknowledged all $bytes bytes and the FIN"
    [ "$(count "$f" "src == $rcv && fin == 1 && seq == 1")" -ge 1 ] || fail "$name: no FIN from $4"
    [ "$(count "$f" "src == $snd && syn == 0 && ackno == 2")" -ge 1 ] || fail "$name: $3 never acknowledged $4's FIN"
    # An impaired link may deliver a duplicate or late segment after the
    # connection is gone at one end, which answers it with a bare RST
    # (RFC 9293 3.10.7.1: no ACK flag, the segment's ACK as its sequence);
    # no other RST (an abort carries ACK) and none on a clean link.
    local rsts='rst == 1'
    [ "$6" = clean ] || rsts='rst == 1 && ack == 1'
    [ "$(count "$f" "$rsts")" -eq 0 ] || { tsh -r "$f" -Y tcp.flags.reset==1 2>/dev/null | head -5; fail "$name: RST in the capture"; }
}

# check_midway NAME CC SYNC: once the Linux reader has paused, ustack's
# table shows the connection with congestion control CC (bbr: its state and
# a pacing rate); then the reader goes on.
check_midway() {
    local name=$1 cc=$2 sync=$3
    for _ in $(seq 1 400); do [ -e "$sync/paused" ] && break; sleep 0.05; done
    [ -e "$sync/paused" ] || fail "$name: Linux reader never got a quarter of the bytes"
    local row
    row=$(table "$name" remote state local 'cc[:state]' pace-Mbit cwnd srtt-ms retx dlv-Mbit dsack undo | awk -v r="$LINUX_IP:$PORT" '$1 == r')
    touch "$sync/go"
    [ -n "$row" ] || fail "$name: no connection to $LINUX_IP:$PORT in ustack's table after SIGUSR1"
    echo "$name: ustack mid-transfer (remote state local cc pace-Mbit cwnd srtt-ms retx dlv-Mbit dsack undo): $row"
    local state ccs pace
    read -r _ state _ ccs pace _ <<<"$row"
    # (Linux's receive buffer may hold the rest: ustack has then sent its FIN)
    [[ "$state" =~ ^(ESTABLISHED|FIN_WAIT_1|FIN_WAIT_2)$ ]] || fail "$name: connection $state mid-transfer"
    case $cc in
    bbr)
        [[ "$ccs" =~ ^bbr:(startup|drain|probe_bw_[a-z]+|probe_rtt)$ ]] || fail "$name: cc column '$ccs', expected bbr:STATE"
        awk -v p="$pace" 'BEGIN { exit !(p > 0) }' || fail "$name: bbr with pacing rate $pace"
        ;;
    *)
        [ "${ccs%%:*}" = "$cc" ] || fail "$name: cc column '$ccs', expected $cc"
        ;;
    esac
}

# to_linux NAME CC CLEAN|IMPAIRED: ustack source with --cc CC to Linux
to_linux() {
    local name=$1 cc=$2 link=$3 imp=()
    [ "$link" = impaired ] && imp=("${IMPAIR[@]}" --seed 31)
    local f="$TMP/$name.pcap" sync="$TMP/$name.sync"
    mkdir -p "$sync"
    local dsack0
    dsack0=$(linux_mib TcpExtTCPDSACKOldSent)
    local pause_at=$((BYTES + 1))       # never
    [ "$link" = impaired ] && pause_at=$((BYTES / 4))
    # not through nsx (a function: $! would be a subshell's, and killing it
    # on a failure would leave python to its timeouts)
    nsenter --net="/run/netns/$NS" python3 "$TMP/recv.py" "$LINUX_IP" $PORT $pause_at "$sync" >"$TMP/$name.out" &
    local py=$!
    PIDS+=("$py")
    wait_port $PORT
    # not start_ustack: on the clean link source may be done before its
    # wait for the carrier looks (ustack waits for the link itself)
    nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" -v --pcap "$f" --cc "$cc" "${imp[@]}" \
        source "$LINUX_IP:$PORT" --bytes $BYTES >"$TMP/$name.log" 2>&1 &
    USTACK_PID=$!
    PIDS+=("$USTACK_PID")
    [ "$link" = impaired ] && check_midway "$name" "$cc" "$sync"
    # the end: ustack exits 0 by itself once its FIN is answered
    for _ in $(seq 1 600); do kill -0 "$USTACK_PID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$USTACK_PID" 2>/dev/null && fail "$name: ustack source still running after 30 s"
    stop_ustack "$USTACK_PID" || fail "$name: ustack source exit status $?"
    wait "$py" || fail "$name: Linux receiver failed"
    local line sent want retx got_bytes got info
    line=$(grep '^source: .* sha256 ' "$TMP/$name.log") || fail "$name: source printed no result"
    sent=$(sed -n 's/.* bytes \([0-9]*\) .*/\1/p' <<<"$line")
    want=$(sed -n 's/.* sha256 \([0-9a-f]*\).*/\1/p' <<<"$line")
    retx=$(sed -n 's/.* retransmits \([0-9]*\) .*/\1/p' <<<"$line")
    read -r got_bytes got info <"$TMP/$name.out"
    echo "$name: $line"
    echo "$name: Linux: $got_bytes bytes, $info"
    [ "$sent" = $BYTES ] || fail "$name: source sent $sent bytes of $BYTES"
    [ "$got_bytes" = $BYTES ] || fail "$name: Linux received $got_bytes bytes of $BYTES"
    [ "$got" = "$want" ] || fail "$name: sha256 differs: Linux got $got, ustack sent $want"
    # tcpi_bytes_received counts the FIN's sequence number too
    [ "$(info_field "$info" bytes_received)" = $((BYTES + 1)) ] || fail "$name: Linux's tcpi_bytes_received is not $BYTES + FIN"
    for o in ts sack wscale; do
        [ "$(info_field "$info" $o)" = 1 ] || fail "$name: Linux's TCP_INFO: option $o not negotiated"
    done
    check_pcap "$f"
    frames "$f" "$(tsh -r "$f" -Y "ip.src == $US_IP && tcp.flags.syn == 1" -T fields -e tcp.srcport 2>/dev/null | tail -1)"
    check_handshake "$f" "$name" "$US_IP" "$LINUX_IP"
    check_close "$f" "$name" "$US_IP" "$LINUX_IP" $BYTES "$link"
    local rtx ooo dsack
    rtx=$(count "$f" 'src == us && (rtx != "-" || frtx != "-")')
    ooo=$(info_field "$info" rcv_ooopack)
    dsack=$(( $(linux_mib TcpExtTCPDSACKOldSent) - dsack0 ))
    echo "$name: capture: $rtx retransmissions; Linux: $ooo segments out of order, $dsack D-SACKs sent"
    if [ "$link" = clean ]; then
        # A tail loss probe (2·SRTT + 2 ms) may race an ACK that Linux holds
        # back while its reader sleeps: a repeat of data Linux has, which it
        # D-SACKs. Any other retransmission on a clean link is a fault.
        [ "$retx" -eq "$dsack" ] || { tsh -r "$f" -Y "tcp.analysis.retransmission || tcp.analysis.fast_retransmission" | head -5; fail "$name: source counted $retx retransmits on a clean link, Linux D-SACKed $dsack"; }
        [ "$rtx" -le "$retx" ] || fail "$name: $rtx retransmissions in the capture on a clean link, source counted $retx"
        [ "$retx" -le 3 ] || fail "$name: $retx spurious probes on a clean link"
        [ "$ooo" -eq 0 ] || fail "$name: Linux received $ooo segments out of order on a clean link"
    else
        [ "$rtx" -gt 0 ] || fail "$name: no retransmission in the capture with ${IMPAIR[*]}"
        [ "$retx" -gt 0 ] || fail "$name: source counted no retransmits with ${IMPAIR[*]}"
        [ "$ooo" -gt 0 ] || fail "$name: Linux saw nothing out of order with ${IMPAIR[*]}"
    fi
    rm -rf "$f" "$f.txt" "$sync"
}

# from_linux NAME CC CLEAN|IMPAIRED: Linux (congestion control CC) to ustack sink
from_linux() {
    local name=$1 cc=$2 link=$3 imp=() ucc=$2
    [ "$link" = impaired ] && imp=("${IMPAIR[@]}" --dup 0.02 --seed 32)
    [ "$cc" = reno ] && ucc=newreno
    local f="$TMP/$name.pcap"
    # no --count: the sink would exit as soon as it has closed, and abort its
    # connection in LAST-ACK while the ACK of its FIN is still on the way
    start_ustack "$name" -v --pcap "$f" --cc "$ucc" "${imp[@]}" sink --port $PORT --duration 60
    local out
    out=$(timeout 60 nsenter --net="/run/netns/$NS" python3 "$TMP/send.py" "$US_IP" $PORT $BYTES "$cc") \
        || fail "$name: Linux sender failed: $out"
    # the connection leaves ustack's table once its FIN is acknowledged
    local left=
    for _ in $(seq 1 50); do
        left=$(table "$name" state remote | awk '$1 != "LISTEN"')
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || fail "$name: connection still in ustack's table 5 s after Linux's close: $left"
    stop_ustack "$USTACK_PID" || fail "$name: ustack sink exit status $?"
    ! grep -q 'aborted' "$TMP/$name.log" || fail "$name: $(grep 'aborted' "$TMP/$name.log")"
    local line got bytes_got want info
    line=$(grep '^sink: .* sha256 ' "$TMP/$name.log") || fail "$name: the sink printed no result"
    got=$(sed -n 's/.* sha256 \([0-9a-f]*\).*/\1/p' <<<"$line")
    bytes_got=$(sed -n 's/.* bytes \([0-9]*\) .*/\1/p' <<<"$line")
    read -r want info <<<"$out"
    echo "$name: $line"
    echo "$name: Linux ($cc): $info"
    [ "$bytes_got" = $BYTES ] || fail "$name: sink got $bytes_got bytes of $BYTES"
    [ "$got" = "$want" ] || fail "$name: sha256 differs: sink $got, Linux sent $want"
    # tcpi_bytes_acked counts the SYN and the FIN too
    [ "$(info_field "$info" bytes_acked)" = $((BYTES + 2)) ] || fail "$name: Linux's tcpi_bytes_acked is not SYN + $BYTES + FIN"
    for o in ts sack wscale; do
        [ "$(info_field "$info" $o)" = 1 ] || fail "$name: Linux's TCP_INFO: option $o not negotiated"
    done
    check_pcap "$f"
    frames "$f" "$(sed -n 's/^sink: [0-9.]*:\([0-9]*\) .*/\1/p' <<<"$line")"
    check_handshake "$f" "$name" "$LINUX_IP" "$US_IP"
    check_close "$f" "$name" "$LINUX_IP" "$US_IP" $BYTES "$link"
    local dsack retr dd
    dsack=$(count "$f" 'src == us && dsack != "-"')
    retr=$(info_field "$info" total_retrans)
    dd=$(info_field "$info" dsack_dups)
    echo "$name: Linux retransmitted $retr segments; ustack sent $dsack D-SACKs, Linux took $dd"
    if [ "$link" = clean ]; then
        # Linux's tail loss probes may fire while ustack waits for the CPU
        # (2 cores, shared): such a retransmission repeats data ustack has,
        # and ustack's D-SACK tells Linux so. Nothing may be really lost.
        [ "$dd" -eq "$retr" ] || fail "$name: of Linux's $retr retransmissions only $dd were D-SACKed: a loss on a clean link"
        [ "$dsack" -eq "$dd" ] || fail "$name: ustack sent $dsack D-SACKs, Linux recognised $dd"
    else
        [ "$retr" -gt 0 ] || fail "$name: Linux retransmitted nothing with ${IMPAIR[*]}"
        [ "$dsack" -gt 0 ] || fail "$name: ustack sent no D-SACK for the duplicates of --dup 0.02"
        [ "$dd" -gt 0 ] || fail "$name: Linux recognised none of ustack's $dsack D-SACKs"
    fi
    rm -f "$f" "$f.txt"
}

for cc in cubic newreno bbr; do
    to_linux "to-linux-$cc-clean" $cc clean
    to_linux "to-linux-$cc-impaired" $cc impaired
done
for cc in cubic reno bbr; do
    from_linux "from-linux-$cc-clean" $cc clean
    from_linux "from-linux-$cc-impaired" $cc impaired
done
echo PASS
