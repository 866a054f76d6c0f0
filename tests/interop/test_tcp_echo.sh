#!/usr/bin/env bash
# TCP echo: 50 Linux clients at once each send 300 KB to `ustack echo` while
# reading the echo, and get every byte back in order; then one 20 MB echo.
# Afterwards ustack's connection table holds only the listener and the capture
# passes tshark.
source "$(dirname "$0")/lib.sh"
PORT=7

cat >"$TMP/echo.py" <<'PY'
# echo.py IP PORT CLIENTS BYTES DEADLINE_S: each client writes BYTES of random
# data from one thread and reads the echo in another; all must match.
import os, socket, sys, threading, time
ip, port, clients, size, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
errors = []

def client(k):
    try:
        data = os.urandom(size)
        s = socket.create_connection((ip, port), timeout=30)
        s.settimeout(60)
        def writer():
            view = memoryview(data)
            for off in range(0, size, 16384):
                s.sendall(view[off:off + 16384])
            s.shutdown(socket.SHUT_WR)
        w = threading.Thread(target=writer)
        w.start()
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        w.join()
        s.close()
        if bytes(got) != data:
            n = next((i for i in range(min(len(got), size)) if got[i] != data[i]), min(len(got), size))
            errors.append(f"client {k}: echo differs (got {len(got)} of {size} bytes, first difference at {n})")
    except Exception as e:
        errors.append(f"client {k}: {e!r}")

threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
t0 = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join(max(1, limit - (time.monotonic() - t0)))
if any(t.is_alive() for t in threads):
    errors.append("clients still running at the deadline")
for e in errors[:10]:
    print(e)
if errors:
    os._exit(1)
print(f"{clients} clients x {size} bytes echoed byte-exact in {time.monotonic() - t0:.1f} s")
PY

start_ustack echo -v --pcap "$TMP/echo.pcap" echo --port $PORT --duration 600
timeout 400 nsenter --net="/run/netns/$NS" python3 "$TMP/echo.py" "$US_IP" $PORT 50 300000 300 \
    || fail "parallel echo clients failed"
timeout 400 nsenter --net="/run/netns/$NS" python3 "$TMP/echo.py" "$US_IP" $PORT 1 20000000 300 \
    || fail "20 MB echo failed"
sleep 0.5
# Every connection is gone from ustack's table: a netstat (SIGUSR1) while it
# still runs lists the listener and nothing else, and stopping it aborts none.
kill -USR1 "$USTACK_PID"
for _ in $(seq 1 100); do grep -q '^counters:' "$TMP/echo.log" && break; sleep 0.05; done
awk '/^fd +state / { t = 1; next } /^counters:/ { exit } t' "$TMP/echo.log" >"$TMP/table.txt"
[ "$(awk '$2 == "LISTEN"' "$TMP/table.txt" | wc -l)" -eq 1 ] || fail "no netstat with the listener after SIGUSR1"
[ "$(awk '$2 != "LISTEN"' "$TMP/table.txt" | wc -l)" -eq 0 ] \
    || { cat "$TMP/table.txt"; fail "connections left in ustack's table after every client finished"; }
stop_ustack "$USTACK_PID" || fail "ustack echo exit status $?"
! grep -q 'aborted with RST' "$TMP/echo.log" || fail "stopping ustack aborted connections: $(grep 'aborted with RST' "$TMP/echo.log")"
[ "$(counter "$TMP/echo.log" tcp.rst_on_exit)" -eq 0 ] || fail "tcp.rst_on_exit is not 0"
grep '^echo: ' "$TMP/echo.log"
served=$(sed -n 's/^echo: \([0-9]*\) connections served, \([0-9]*\) bytes echoed.*/\1/p' "$TMP/echo.log")
echoed=$(sed -n 's/^echo: \([0-9]*\) connections served, \([0-9]*\) bytes echoed.*/\2/p' "$TMP/echo.log")
[ "$served" = 51 ] || fail "echo served '$served' connections, expected 51"
[ "$echoed" = $((50 * 300000 + 20000000)) ] || fail "echo echoed '$echoed' bytes, expected $((50 * 300000 + 20000000))"
# every connection the clients opened was seen in the capture with a SYN-ACK from ustack
synacks=$(tsh -r "$TMP/echo.pcap" -Y "ip.src == $US_IP && tcp.flags.syn == 1 && tcp.flags.ack == 1" -T fields -e tcp.srcport -e tcp.dstport 2>/dev/null | sort -u | wc -l)
[ "$synacks" -eq 51 ] || fail "expected 51 distinct SYN-ACKs from ustack, saw $synacks"
# No connection was aborted: Linux sent no RST, and ustack sent RST only for
# segments that arrived after its own FIN (stray duplicates after the TCB is
# gone draw an RST, RFC 9293 3.10.7.1).
rsts=$(tsh_count "$TMP/echo.pcap" "ip.src == $LINUX_IP && tcp.flags.reset == 1")
[ "$rsts" -eq 0 ] || fail "Linux reset $rsts segments"
tsh -r "$TMP/echo.pcap" -Y "ip.src == $US_IP && (tcp.flags.fin == 1 || tcp.flags.reset == 1)" \
    -T fields -e tcp.dstport -e tcp.flags.fin -e tcp.flags.reset 2>/dev/null >"$TMP/finrst.txt"
python3 - "$TMP/finrst.txt" <<'PY' || fail "ustack reset a connection before closing it"
import sys
fin, early, late = set(), 0, 0
for line in open(sys.argv[1]):
    port, f, r = line.split()
    if f in ("1", "True"):
        fin.add(port)
    elif r in ("1", "True"):
        if port in fin:
            late += 1
        else:
            early += 1
            print(f"RST to port {port} before ustack's FIN")
print(f"{len(fin)} FINs from ustack; RSTs after the FIN: {late}")
sys.exit(1 if early or len(fin) != 51 else 0)
PY
check_pcap "$TMP/echo.pcap"
# TCP must size segments so that header, options (timestamps, SACK blocks) and
# data fit the MTU: IP drops a DF datagram that does not.
[ "$(counter "$TMP/echo.log" ip.drop_df_too_big)" -eq 0 ] \
    || fail "IP dropped $(counter "$TMP/echo.log" ip.drop_df_too_big) TCP segments larger than the MTU (ip.drop_df_too_big)"
echo PASS
