#!/usr/bin/env bash
# A stopped ustack does not leave its peers hanging: SIGTERM in the middle of a
# transfer aborts the connection with RST, as the kernel does for the sockets
# of a process that exits.
#   1. `ustack source --bytes 100G` to a Linux receiver, SIGTERM after ~1 s of
#      data: an RST from ustack is on the wire (captured on the Linux side of
#      the TAP) after the signal, no FIN, and the receiver's recv raises
#      ConnectionResetError within a few seconds; ustack prints the abort, its
#      summary and the counter tcp.rst_on_exit 1, and exits 1 (interrupted).
#   2. `ustack sink` with a Linux sender: the same for an accepted connection,
#      the sender's send fails with ECONNRESET/EPIPE, and sink reports the
#      connection it aborted.
#   3. The same behind ustack's --delay 300: the RST is held by the impairment
#      and ustack waits until it is written.
source "$(dirname "$0")/lib.sh"
PORT=5202

cat >"$TMP/peer.py" <<'PY'
# peer.py recv|send IP PORT OUT LIMIT_S: receive from (accept one connection)
# or send to (connect) IP:PORT until the connection ends; write
# "reset|eof|timeout BYTES SECONDS_SINCE_PROGRESS" to OUT, and OUT.progress
# once 1 MB has moved. Every wait is bounded by LIMIT_S.
import socket, sys, time
mode, ip, port, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
if mode == "recv":
    ls = socket.create_server((ip, port))
    ls.settimeout(limit)
    c, _ = ls.accept()
else:
    c = socket.create_connection((ip, port), timeout=limit)
c.settimeout(limit)
n, result, buf = 0, None, b"x" * 65536
progress_at = None
deadline = time.monotonic() + 120
try:
    while time.monotonic() < deadline:
        if mode == "recv":
            b = c.recv(1 << 20)
            if not b:
                result = "eof"
                break
            n += len(b)
        else:
            n += c.send(buf)
        if progress_at is None and n >= 1 << 20:
            progress_at = time.monotonic()
            open(out + ".progress", "w").close()
    else:
        result = "timeout"
except (ConnectionResetError, BrokenPipeError):
    result = "reset"
except socket.timeout:
    result = "timeout"
with open(out, "w") as f:
    f.write(f"{result} {n}\n")
PY

wait_file() { # wait_file FILE SECONDS WHAT
    local i
    for i in $(seq 1 $(($2 * 20))); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    fail "$3 (no $1 after $2 s)"
}

wait_gone() { # wait_gone PID SECONDS WHAT: the process ends within SECONDS
    local i
    for i in $(seq 1 $(($2 * 20))); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    fail "$3 still running after $2 s"
}

# Capture SYN, FIN and RST segments on the Linux side of the TAP (the bulk
# data is not needed and would make the file large). tcpdump in immediate
# mode writing every packet at once: a capture buffered in blocks (dumpcap)
# may not have taken the RST yet when it is stopped.
start_capture() {
    rm -f "$TMP/$1.pcap" "$TMP/$1.cap.log"
    # not through nsx: $! must be tcpdump's PID, not a subshell's
    nsenter --net="/run/netns/$NS" tcpdump -i "$TAP" -Z root -U --immediate-mode -w "$TMP/$1.pcap" \
        "tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0" >"$TMP/$1.cap.log" 2>&1 &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    local i
    for i in $(seq 1 100); do
        grep -q "listening on" "$TMP/$1.cap.log" 2>/dev/null && return 0
        kill -0 "$CAP_PID" 2>/dev/null || { cat "$TMP/$1.cap.log"; fail "tcpdump exited"; }
        sleep 0.05
    done
    fail "tcpdump did not start"
}

stop_capture() {
    # SIGTERM: a background job of a script ignores SIGINT
    kill -TERM "$CAP_PID" 2>/dev/null || true
    wait_gone "$CAP_PID" 5 "tcpdump"
    wait "$CAP_PID" 2>/dev/null || true
}

# check_abort NAME USPORT KILL_TIME: the capture holds an RST from ustack's
# port USPORT sent after KILL_TIME (epoch seconds), no FIN from ustack; the
# log prints the abort, the summary and tcp.rst_on_exit 1.
check_abort() {
    local name=$1 usport=$2 t_kill=$3
    # the capture holds only SYN, FIN and RST segments, so tshark's ACK
    # analysis has nothing to say; the checksums and the format it checks
    local bad
    bad=$(tsh_count "$TMP/$name.pcap" '_ws.malformed || ip.checksum.status == "Bad" || '"$TCP_CSUM_BAD" \
        -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
    [ "$bad" -eq 0 ] || fail "$name: $bad malformed or bad-checksum frames"
    local rst fin
    rst=$(tsh -r "$TMP/$name.pcap" -Y "ip.src == $US_IP && tcp.srcport == $usport && tcp.flags.reset == 1" \
        -T fields -e frame.time_epoch 2>/dev/null)
    fin=$(tsh_count "$TMP/$name.pcap" "ip.src == $US_IP && tcp.flags.fin == 1")
    [ -n "$rst" ] || { tsh -r "$TMP/$name.pcap" 2>/dev/null | tail; fail "$name: no RST from ustack on the wire"; }
    [ "$fin" -eq 0 ] || fail "$name: ustack sent $fin FIN segments (expected an abort, not a close)"
    python3 -c 'import sys; t = float(sys.argv[1]); r = [float(x) for x in sys.argv[2:]]
if not any(x >= t for x in r): sys.exit(f"RSTs at {r}, all before the SIGTERM at {t}")
print(f"RST from ustack {min(x for x in r if x >= t) - t:.3f} s after SIGTERM")' "$t_kill" $rst \
        || fail "$name: no RST after the signal"
    grep -Eq "^(source|sink): stopped by SIGTERM: 1 connection aborted with RST" "$TMP/$name.log" \
        || { cat "$TMP/$name.log"; fail "$name: ustack did not report the abort"; }
    [ "$(counter "$TMP/$name.log" tcp.rst_on_exit)" -eq 1 ] || fail "$name: tcp.rst_on_exit is not 1"
}

# ---- 1. source ----
start_capture source
rm -f "$TMP/recv.out" "$TMP/recv.out.progress"
nsenter --net="/run/netns/$NS" python3 "$TMP/peer.py" recv "$LINUX_IP" $PORT "$TMP/recv.out" 30 &
PY_PID=$!
PIDS+=("$PY_PID")
for _ in $(seq 1 100); do nsx ss -ltnH "sport = :$PORT" | grep -q LISTEN && break; sleep 0.05; done
nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" -v \
    source "$LINUX_IP:$PORT" --bytes 100G >"$TMP/source.log" 2>&1 &
US_PID=$!
PIDS+=("$US_PID")
wait_file "$TMP/recv.out.progress" 20 "the transfer did not start"
sleep 1
kill -0 "$US_PID" 2>/dev/null || fail "ustack source ended before the signal"
t_kill=$(date +%s.%N)
kill -TERM "$US_PID"
wait_gone "$US_PID" 5 "ustack source"
rc=0
wait "$US_PID" || rc=$?
[ $rc -eq 1 ] || { cat "$TMP/source.log"; fail "source: exit status $rc after SIGTERM (expected 1: interrupted)"; }
wait_gone "$PY_PID" 5 "the Linux receiver"
wait "$PY_PID" || fail "the Linux receiver failed"
read -r result n <"$TMP/recv.out"
echo "Linux receiver: $result after $n bytes"
[ "$result" = reset ] || fail "the Linux receiver ended with '$result', not ConnectionResetError"
stop_capture
check_abort source "$(tsh -r "$TMP/source.pcap" -Y "ip.src == $US_IP && tcp.flags.syn == 1" -T fields -e tcp.srcport 2>/dev/null | head -1)" "$t_kill"
grep -q "^source: $LINUX_IP:$PORT bytes [0-9]* .* (interrupted)$" "$TMP/source.log" \
    || { cat "$TMP/source.log"; fail "source: no summary after the signal"; }

# ---- 2. sink, 3. sink behind a 300 ms delay ----
# run_sink NAME GLOBAL_OPTIONS...: with the delay the RST waits in the
# impairment's queue; ustack must stay until it is written, or Linux never
# hears of the abort.
run_sink() {
    local name=$1; shift
    start_capture "$name"
    start_ustack "$name" -v "$@" sink --port 5001
    rm -f "$TMP/send.out" "$TMP/send.out.progress"
    nsenter --net="/run/netns/$NS" python3 "$TMP/peer.py" send "$US_IP" 5001 "$TMP/send.out" 30 &
    PY_PID=$!
    PIDS+=("$PY_PID")
    wait_file "$TMP/send.out.progress" 20 "$name: the transfer to sink did not start"
    sleep 1
    t_kill=$(date +%s.%N)
    kill -TERM "$USTACK_PID"
    wait_gone "$USTACK_PID" 5 "ustack sink"
    stop_ustack "$USTACK_PID" || fail "$name: exit status $? after SIGTERM"
    wait_gone "$PY_PID" 5 "the Linux sender"
    wait "$PY_PID" || fail "$name: the Linux sender failed"
    read -r result n <"$TMP/send.out"
    echo "$name: Linux sender: $result after $n bytes"
    [ "$result" = reset ] || fail "$name: the Linux sender ended with '$result', not ECONNRESET/EPIPE"
    stop_capture
    check_abort "$name" 5001 "$t_kill"
    grep -q "^sink: $LINUX_IP:[0-9]* bytes [1-9][0-9]* .* sha256 [0-9a-f]* (aborted)$" "$TMP/$name.log" \
        || { cat "$TMP/$name.log"; fail "$name: no report of the aborted connection"; }
}
run_sink sink
run_sink delayed --delay 300
echo PASS
