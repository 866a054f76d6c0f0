#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_frames: well-formed and malformed frames
(ARP, ICMP echo, fragments, UDP, TCP SYN/ACK/data/options) addressed to the
harness stack (198.18.0.2, 02:00:00:00:00:02)."""
import os, struct, sys

US_MAC = bytes([2, 0, 0, 0, 0, 2]); PEER_MAC = bytes([2, 0, 0, 0, 0, 1])
US = bytes([198, 18, 0, 2]); PEER = bytes([198, 18, 0, 1])

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def eth(t, payload, dst=US_MAC): return dst + PEER_MAC + struct.pack("!H", t) + payload

def ip(proto, payload, ident=1, frag=0x4000, ttl=64, src=PEER, dst=US, total=None):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or 20 + len(payload), ident, frag, ttl, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def udp(sport, dport, data):
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    ph = PEER + US + struct.pack("!BBH", 0, 17, 8 + len(data))
    return h[:6] + struct.pack("!H", csum(ph + h + data) or 0xffff) + data

def tcp(sport, dport, seq, ack, flags, data=b"", opts=b"", win=65535):
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0, 0) + opts
    ph = PEER + US + struct.pack("!BBH", 0, 6, len(h) + len(data))
    c = csum(ph + h + data)
    return h[:16] + struct.pack("!H", c) + h[18:] + data

def icmp_echo(ident, seq, data):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, csum(h + data), ident, seq) + data

def arp(op, tip=US):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, PEER_MAC, PEER, b"\0" * 6 if op == 1 else US_MAC, tip)

def framed(*frames): return b"".join(struct.pack("!H", len(f)) + f for f in frames)

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "fuzz_frames")
os.makedirs(out, exist_ok=True)
arpreq = eth(0x0806, arp(1), dst=b"\xff" * 6)
arprep = eth(0x0806, arp(2))
ping = eth(0x0800, ip(1, icmp_echo(7, 1, b"x" * 56)))
big = icmp_echo(7, 2, bytes(range(256)) * 12)
f1 = eth(0x0800, ip(1, big[:1480], ident=9, frag=0x2000, total=1500))
f2 = eth(0x0800, ip(1, big[1480:], ident=9, frag=1480 // 8))
u7 = eth(0x0800, ip(17, udp(4000, 7, b"echo me")))
u9 = eth(0x0800, ip(17, udp(4000, 9, b"closed")))
mss = b"\x02\x04\x05\xb4"; ws = b"\x03\x03\x07"; sackp = b"\x04\x02"; ts = b"\x08\x0a" + struct.pack("!II", 1, 0)
syn = eth(0x0800, ip(6, tcp(40000, 80, 1000, 0, 0x02, opts=mss + sackp + ts + b"\x01" + ws)))
ack = eth(0x0800, ip(6, tcp(40000, 80, 1001, 1, 0x10)))
data = eth(0x0800, ip(6, tcp(40000, 80, 1001, 1, 0x18, b"GET / HTTP/1.1\r\n\r\n")))
fin = eth(0x0800, ip(6, tcp(40000, 80, 1019, 1, 0x11)))
rst = eth(0x0800, ip(6, tcp(40000, 80, 1001, 0, 0x04)))
badopt = eth(0x0800, ip(6, tcp(40001, 80, 5, 0, 0x02, opts=b"\x02\x00\x00\x00")))
seeds = {
    "arp": framed(arpreq, arprep), "ping": framed(arprep, ping), "frag": framed(arprep, f2, f1),
    "udp": framed(arprep, u7, u9), "tcp_handshake": framed(arprep, syn, ack, data, fin),
    "tcp_rst": framed(arprep, syn, rst), "tcp_badopt": framed(badopt),
    "short": framed(b"\x02\x00", eth(0x0800, b"\x45")), "badlen": framed(eth(0x0800, ip(1, b"abc", total=9999))),
}
for name, blob in seeds.items():
    with open(os.path.join(out, name), "wb") as f: f.write(blob)
print(f"wrote {len(seeds)} seeds to {out}")
