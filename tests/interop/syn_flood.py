# SYN flood generator shared by tests/interop/test_syn_flood.sh and
# bench/syn_flood.sh. Run it with the distribution's python3 (python3-scapy)
# inside the namespace of the caller:
#   syn_flood.py IFACE DST_MAC DST_IP PORT COUNT RATE STAMPFILE [SRC_NET]
# sends COUNT SYNs on IFACE (an L2 socket: the frames leave the device, so on a
# TAP they reach the program holding it, on a veth its peer) from random
# sources SRC_NET.10-250 (default 198.18.0; it must lie in 198.18.0.0/15, the
# namespace's own /24), random ports and sequence numbers, at about RATE/s.
# Bounded: at most 200,000 SYNs and 30 s. STAMPFILE gets "start T" and
# "end T sent N" (wall-clock seconds).
import random, struct, sys, time
from scapy.all import Ether, IP, TCP, raw, conf
iface, dmac, dst, port, count, rate, stamp = sys.argv[1:8]
src_net = sys.argv[8] if len(sys.argv) > 8 else "198.18.0"
port, count, rate = int(port), int(count), float(rate)
net = [int(x) for x in src_net.split(".")]
assert len(net) == 3 and net[0] == 198 and net[1] in (18, 19) and 0 <= net[2] <= 255, src_net
assert 0 < count <= 200000 and rate > 0
tmpl = bytearray(raw(Ether(dst=dmac, src="02:00:00:00:00:66") / IP(src=src_net + ".10", dst=dst, ttl=64) /
                     TCP(sport=1024, dport=port, flags="S", window=64240, options=[("MSS", 1460)])))

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

rng = random.Random(4987)
sock = conf.L2socket(iface=iface)
t0 = time.monotonic()
with open(stamp, "w") as f:
    f.write(f"start {time.time():.3f}\n")
sent = 0
for i in range(count):
    b = tmpl[:]
    src = bytes(net + [rng.randint(10, 250)])
    b[26:30] = src
    b[24:26] = b"\0\0"
    b[24:26] = struct.pack("!H", csum(bytes(b[14:34])))
    struct.pack_into("!H", b, 34, rng.randint(1024, 65535))      # source port
    struct.pack_into("!I", b, 38, rng.getrandbits(32))           # sequence number
    b[50:52] = b"\0\0"
    seg = bytes(b[34:])
    pseudo = src + bytes(b[30:34]) + struct.pack("!BBH", 0, 6, len(seg))
    b[50:52] = struct.pack("!H", csum(pseudo + seg))
    sock.send(bytes(b))
    sent += 1
    ahead = (i + 1) / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
    if time.monotonic() - t0 > 30:
        break
dur = time.monotonic() - t0
with open(stamp, "a") as f:
    f.write(f"end {time.time():.3f} sent {sent}\n")
print(f"flood: {sent} SYNs in {dur:.1f} s")
