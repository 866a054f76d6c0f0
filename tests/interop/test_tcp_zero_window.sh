#!/usr/bin/env bash
# Zero windows both ways (../shared/STALL.md).
# A) ustack sends to a Linux receiver that stops reading for 8 s: Linux closes
#    its window, ustack probes it with gaps that grow (S3, S4), every probe is
#    answered, and when Linux reads again the transfer resumes and completes
#    with the SHA-256 intact.
# B) Linux sends 2 MB to `ustack sink --read-rate 200k`, then 300 kB to a 5 kB/s
#    reader: ustack's window closes and reopens, its advertised right edge
#    (ACK + window) never moves left (R1), Linux's zero-window probes (which the
#    slower reader draws) are each answered (R4), and the SHA-256 matches.
source "$(dirname "$0")/lib.sh"
PORT=5202

cat >"$TMP/stall.py" <<'PY'
# stall.py IP PORT OUT STALL_S: accept one connection with a small receive
# buffer, do not read for STALL_S seconds, then read to EOF; "BYTES SHA" -> OUT.
import hashlib, socket, sys, time
ip, port, out, stall = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)   # inherited by the accepted socket
ls.bind((ip, port))
ls.listen(1)
ls.settimeout(60)
c, _ = ls.accept()
time.sleep(stall)
c.settimeout(60)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
c.close()
open(out, "w").write(f"{n} {h.hexdigest()}\n")
PY

cat >"$TMP/send.py" <<'PY'
# send.py IP PORT BYTES: send random bytes, half-close, wait for FIN, print SHA.
import hashlib, os, socket, sys, time
ip, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(50):
    try:
        s = socket.create_connection((ip, port), timeout=5)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("cannot connect")
s.settimeout(60)
data = os.urandom(total)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
if s.recv(1) != b"":
    sys.exit("sink sent data")
s.close()
print(hashlib.sha256(data).hexdigest())
PY

# ---- A: Linux stops reading, ustack probes ----
# ustack's probe is an out-of-window segment (S3: SEQ = SND.UNA - 1), and Linux
# answers those at most once per net.ipv4.tcp_invalid_ratelimit (500 ms): the
# second probe, 400 ms after the first, would go unanswered by design. With
# the limit off in this namespace every probe must draw its own answer.
nsx sysctl -qw net.ipv4.tcp_invalid_ratelimit=0
nsenter --net="/run/netns/$NS" python3 "$TMP/stall.py" "$LINUX_IP" $PORT "$TMP/a.out" 8 &   # not nsx: $! must be python's
PIDS+=("$!")
py=$!
for _ in $(seq 1 100); do nsx ss -ltnH "sport = :$PORT" | grep -q LISTEN && break; sleep 0.05; done
rc=0
timeout 120 nsenter --net="/run/netns/$NS" "$USTACK" --tap "$TAP" --ip "$US_IP/24" -v --pcap "$TMP/a.pcap" \
    source "$LINUX_IP:$PORT" --bytes 4000000 >"$TMP/a.log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "A: ustack source exit status $rc"
wait "$py" || fail "A: Linux receiver failed"
line=$(grep '^source: .* sha256 ' "$TMP/a.log") || fail "A: source printed no result"
echo "A: $line"
read -r got_bytes got <"$TMP/a.out"
[ "$got_bytes" = 4000000 ] || fail "A: Linux received $got_bytes of 4000000 bytes"
[ "$got" = "$(echo "$line" | sed -n 's/.* sha256 \([0-9a-f]*\).*/\1/p')" ] || fail "A: sha256 differs"
check_pcap "$TMP/a.pcap"
zw=$(tsh_count "$TMP/a.pcap" "ip.src == $LINUX_IP && tcp.analysis.zero_window")
[ "$zw" -ge 1 ] || fail "A: Linux never advertised a zero window (receiver did not stall?)"
# ustack's probes: a byte of new data into the zero window (zero_window_probe) or
# an ACK-forcing segment below SND.UNA (keep_alive-shaped).
tsh -r "$TMP/a.pcap" -Y "ip.src == $US_IP && (tcp.analysis.zero_window_probe || tcp.analysis.keep_alive)" \
    -T fields -e frame.number -e frame.time_relative -e tcp.seq -e tcp.len 2>/dev/null >"$TMP/a.probes"
tsh -r "$TMP/a.pcap" -Y "ip.src == $LINUX_IP && tcp.flags.ack == 1" \
    -T fields -e frame.number -e frame.time_relative -e tcp.ack 2>/dev/null >"$TMP/a.linux"
python3 - "$TMP/a.probes" "$TMP/a.linux" <<'PY' || fail "A: zero-window probes: too few, gaps that do not grow, or unanswered"
import sys
probes = [(int(f), float(t), int(s), int(n)) for f, t, s, n in (l.split() for l in open(sys.argv[1]) if l.strip())]
linux = [(int(f), float(t), int(a)) for f, t, a in (l.split() for l in open(sys.argv[2]) if l.strip())]
print(f"A: {len(probes)} zero-window probes at " + " ".join(f"{p[1]:.3f}" for p in probes))
if len(probes) < 3:
    sys.exit(f"A: expected at least 3 zero-window probes during an 8 s stall, saw {len(probes)}")
t = [p[1] for p in probes]
gaps = [b - a for a, b in zip(t, t[1:])]
print("A: probe gaps " + " ".join(f"{g:.3f}" for g in gaps))
# S4: each gap at least the one before (10% slack for timer granularity) and the
# last clearly longer than the first; first gap >= 200 ms (T0 floor).
if not (all(b >= a * 0.9 for a, b in zip(gaps, gaps[1:])) and gaps[-1] > 1.5 * gaps[0] and gaps[0] >= 0.19):
    sys.exit("A: probe gaps do not grow")
# An answer is Linux's next ACK after the probe, before the next probe, within
# 100 ms, acknowledging the probe's sequence (SND.UNA, or the probe byte).
unanswered = []
for i, (frame, pt, seq, n) in enumerate(probes):
    nxt = probes[i + 1][0] if i + 1 < len(probes) else float("inf")
    if not any(frame < f < nxt and at - pt <= 0.1 and seq <= ack <= seq + max(n, 1) for f, at, ack in linux):
        unanswered.append(pt)
print(f"A: {len(probes) - len(unanswered)} of {len(probes)} probes answered by Linux")
if unanswered:
    sys.exit("A: probes at " + " ".join(f"{x:.3f}" for x in unanswered) + " s not answered")
PY

# ---- B: ustack reads slowly, Linux probes ----
# slow_reader NAME RATE BYTES MIN_SECONDS NEED_PROBES
slow_reader() {
    local n=$1 rate=$2 bytes=$3 min=$4 need=$5
    start_ustack "$n" -v --pcap "$TMP/$n.pcap" sink --port $PORT --read-rate "$rate" --count 1 --duration 120
    local want line dur
    want=$(timeout 120 nsenter --net="/run/netns/$NS" python3 "$TMP/send.py" "$US_IP" $PORT "$bytes") || fail "$n: Linux sender failed"
    for _ in $(seq 1 300); do kill -0 "$USTACK_PID" 2>/dev/null || break; sleep 0.1; done
    stop_ustack "$USTACK_PID" || fail "$n: ustack sink exit status $?"
    line=$(grep '^sink: .* sha256 ' "$TMP/$n.log") || fail "$n: sink printed no result"
    echo "$n: $line"
    [ "$(echo "$line" | sed -n 's/.* bytes \([0-9]*\) .*/\1/p')" = "$bytes" ] || fail "$n: sink did not get $bytes bytes"
    [ "$(echo "$line" | sed -n 's/.* sha256 \([0-9a-f]*\).*/\1/p')" = "$want" ] || fail "$n: sha256 differs"
    dur=$(echo "$line" | sed -n 's/.* duration \([0-9.]*\) s.*/\1/p')
    python3 -c "import sys; sys.exit(0 if float('$dur') >= $min else 1)" || fail "$n: took only $dur s (slow reader not slow)"
    check_pcap "$TMP/$n.pcap"
    local zw
    zw=$(tsh_count "$TMP/$n.pcap" "ip.src == $US_IP && tcp.window_size == 0 && tcp.flags.syn == 0")
    echo "$n: ustack advertised a zero window $zw times"
    [ "$zw" -ge 1 ] || fail "$n: ustack's window never closed"
    # R1: the right edge ACK + scaled window of ustack's segments never moves left.
    tsh -r "$TMP/$n.pcap" -Y "ip.src == $US_IP && tcp.srcport == $PORT && tcp.flags.syn == 0 && tcp.flags.reset == 0" \
        -T fields -e frame.number -e tcp.ack -e tcp.window_size 2>/dev/null >"$TMP/$n.edges"
    python3 - "$TMP/$n.edges" "$n" <<'PY' || fail "$n: ustack's advertised right edge moved left"
import sys
prev, rows = None, 0
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3:
        continue
    frame, edge = int(f[0]), int(f[1]) + int(f[2])
    rows += 1
    if prev is not None and edge < prev[1]:
        sys.exit(f"frame {frame}: right edge {edge} < {prev[1]} (frame {prev[0]})")
    if prev is None or edge > prev[1]:
        prev = (frame, edge)
if rows < 20:
    sys.exit(f"only {rows} segments from ustack")
print(f"{sys.argv[2]}: right edge monotonic over {rows} segments from ustack")
PY
    # R4: every zero-window probe from Linux is answered by ustack (an ACK
    # within 100 ms; tshark's *_ack labels miss answers whose window changed)
    tsh -r "$TMP/$n.pcap" -Y "ip.src == $LINUX_IP && (tcp.analysis.zero_window_probe || tcp.analysis.keep_alive)" \
        -T fields -e frame.time_relative 2>/dev/null >"$TMP/$n.probes"
    tsh -r "$TMP/$n.pcap" -Y "ip.src == $US_IP && tcp.flags.ack == 1" -T fields -e frame.time_relative 2>/dev/null >"$TMP/$n.acks"
    python3 - "$TMP/$n.probes" "$TMP/$n.acks" "$n" "$need" <<'PY' || fail "$n: zero-window probes from Linux not answered"
import bisect, sys
probes = [float(x) for x in open(sys.argv[1]).read().split()]
acks = [float(x) for x in open(sys.argv[2]).read().split()]
name, need = sys.argv[3], int(sys.argv[4])
unanswered = [t for t in probes if (lambda i: i == len(acks) or acks[i] - t > 0.1)(bisect.bisect_left(acks, t))]
print(f"{name}: Linux sent {len(probes)} zero-window probes, {len(probes) - len(unanswered)} answered by ustack within 100 ms")
if len(probes) < need:
    sys.exit(f"{name}: expected at least {need} probes from Linux")
if unanswered:
    sys.exit(f"{name}: probes at {unanswered[:5]} s not answered")
PY
}
# 200 kB/s: the window closes and reopens every few ms (R2/R3 updates); 2 MB
slow_reader b 200k 2000000 7 0
# 5 kB/s: after 256 KiB the window reopens by one MSS only every ~0.3 s, so
# Linux's persist timer fires first: its probes must each be answered (~55 s)
slow_reader c 5k 275000 40 1
echo PASS
