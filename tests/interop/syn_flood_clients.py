# The legitimate clients beside a SYN flood, shared by
# tests/interop/test_syn_flood.sh and bench/syn_flood.sh:
#   syn_flood_clients.py IP PORT N SIZE GAP [STAMPFILE [SECS]]
# up to N sequential connects (N <= 100,000), each echoes SIZE random bytes,
# then GAP seconds of pause; stops early once STAMPFILE (the flood's, see
# syn_flood.py) says "end", or after SECS (default and at most 300). Prints
# each connect's start time and outcome, then
# "clients: OK of TRIED echoed byte-exact in SECONDS s" and where those seconds
# went (from /proc/self/schedstat): "sched: R s running, W s waiting for a CPU,
# S s waiting for the server" (S: the rest: blocked in connect/recv, and GAP).
import os, socket, sys, time
ip, port, n, size, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
stamp = sys.argv[6] if len(sys.argv) > 6 else None
secs = min(float(sys.argv[7]) if len(sys.argv) > 7 else 300, 300)
assert 0 < n <= 100000

def flood_ended():
    try:
        with open(stamp) as f:
            return any(line.startswith("end") for line in f)
    except OSError:
        return False

def schedstat():
    try:
        with open("/proc/self/schedstat") as f:
            run, wait = f.read().split()[:2]
        return int(run) / 1e9, int(wait) / 1e9
    except (OSError, ValueError):
        return None

ok = tried = 0
t0, s0 = time.monotonic(), schedstat()
while tried < n and time.monotonic() - t0 < secs and not (stamp and flood_ended()):
    k, t = tried, time.time()
    tried += 1
    try:
        data = os.urandom(size)
        s = socket.create_connection((ip, port), timeout=10)
        s.settimeout(10)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        if bytes(got) == data:
            ok += 1
            print(f"connect {k} at {t:.3f}: ok ({time.time() - t:.2f} s)")
        else:
            print(f"connect {k} at {t:.3f}: echo differs ({len(got)} of {size} bytes)")
    except Exception as e:
        print(f"connect {k} at {t:.3f}: {e!r}")
    time.sleep(gap)
wall, s1 = time.monotonic() - t0, schedstat()
print(f"clients: {ok} of {tried} echoed byte-exact in {wall:.3f} s")
if s0 and s1:
    run, wait = s1[0] - s0[0], s1[1] - s0[1]
    print(f"sched: {run:.3f} s running, {wait:.3f} s waiting for a CPU, "
          f"{max(wall - run - wait, 0):.3f} s waiting for the server")
