#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_tcp (tests/fuzz/fuzz_tcp.c): scripts of
segment and application operations in the harness's input format.

Input: SEL(1) ISN(4) [ISN_ACTIVE(4) if SEL & 0x80] then operations; the
operation byte is (conn << 4) | kind:
  0..5  segment: FLAGS(1) SEQ_OFF(2, signed) ACK_OFF(2, signed) WIN(2) MODE(1)
        PLEN(2) [OPTLEN(1) OPTS if MODE & 0x80] [LE(2) LEN(2) per SACK block,
        MODE & 3 blocks] DT_MS(1); kind 0 forces in-order data with a current ACK
  6 send N*2 bytes, 7 recv, 8 shutdown(N % 3), 9 close, 10 setsockopt: N(2)
  11 run timers: MS(2)      12 raw TCP header: LEN(1) BYTES [PORTSEL(1)]
  13 raw frame: LEN(2) BYTES   14 new SYN: SEL(1) PORT(1) ISN(4)   15 accept all
SEL bits: 1 MSS, 2 window scale, 4 SACK-permitted, 8 timestamps, 0x80 also an
active open (conn 1)."""
import os, struct, sys

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

def seg(conn=0, kind=2, flags=ACK, seq=0, ack=0, win=65535, mode=0, plen=0, opts=None, sack=(), dt=1):
    b = bytes([(conn << 4) | kind, flags]) + struct.pack("!hhHBH", seq, ack, win, mode | len(sack), plen)
    if mode & 0x80:
        b += bytes([len(opts)]) + opts
    for le, ln in sack:
        b += struct.pack("!HH", le, ln)
    return b + bytes([dt])

def data(conn=0, n=1000, win=65535, flags=0, dt=1): return seg(conn, 0, flags, 0, 0, win, 0, n, dt=dt)
def app(kind, n=0, conn=0): return bytes([(conn << 4) | kind]) + struct.pack("!H", n)
def send(n, conn=0): return app(6, n // 2, conn)
def recv(n=65535, conn=0): return app(7, n, conn)
def shutdown(how, conn=0): return app(8, how, conn)
def close(conn=0): return app(9, 0, conn)
def sockopt(which, val, conn=0): return app(10, (val << 8) | which, conn)
def timers(ms): return bytes([11]) + struct.pack("!H", ms)
def raw_tcp(b, portsel=1): return bytes([12, len(b)]) + b + (bytes([portsel]) if len(b) >= 4 else b"")
def raw_frame(b): return bytes([13]) + struct.pack("!H", len(b)) + b
def new_syn(sel, port, isn): return bytes([14, sel, port]) + struct.pack("!I", isn)
def accept(): return bytes([15])
def head(sel, isn=1000, isn2=None):
    b = bytes([sel]) + struct.pack("!I", isn)
    return b + (struct.pack("!I", isn2) if sel & 0x80 else b"")

ALL = 0x0f | (6 << 4)   # MSS 920, wscale, SACK, TS
seeds = {
    "handshake_data": head(ALL) + data(n=1000) + data(n=1448, flags=PSH) + recv() + send(3000)
        + seg(ack=0, plen=0) + data(n=10, flags=FIN) + recv() + close() + timers(3000),
    "no_options": head(0) + data(n=536) + data(n=536) + recv() + send(5000) + timers(300) + seg() + close()
        + seg(flags=ACK | FIN) + timers(5000),
    "active_open": head(ALL | 0x80, 5000, 77777) + send(20000, 1) + seg(1, 1, ACK, 0, 0) + timers(50)
        + data(1, 2000) + recv(conn=1) + shutdown(1, 1) + seg(1, 2, ACK | FIN) + timers(3000),
    "zero_window": head(ALL) + send(60000) + seg(ack=-20000, win=0) + timers(200) + timers(400)
        + timers(800) + seg(win=0) + timers(1600) + seg(win=65535) + timers(100) + seg() + close() + timers(5000),
    "ooo_sack": head(ALL) + seg(kind=2, flags=ACK, seq=2000, plen=1000) + seg(kind=2, flags=ACK, seq=4000, plen=1000)
        + seg(kind=2, flags=ACK, seq=1000, plen=1000) + data(n=1000) + recv() + send(8000)
        + seg(ack=-6000, sack=[(4000, 1000), (2000, 1000)]) + seg(ack=-6000) + seg(ack=-6000) + seg(ack=-6000)
        + timers(2000) + seg() + timers(100),
    "rst_in_window": head(ALL) + data(n=100) + seg(flags=RST, seq=10) + seg(flags=RST, seq=-30000)
        + seg(flags=RST, seq=0) + timers(100),
    "syn_in_established": head(ALL) + data(n=100) + seg(flags=SYN, seq=-5) + seg(flags=SYN | ACK, seq=100)
        + seg(flags=ACK, ack=20000, plen=100) + timers(100),
    "bad_options": head(ALL) + seg(mode=0x80, opts=b"\x02\x00\x00\x00") + seg(mode=0x80, opts=b"\x08\x01")
        + seg(mode=0x80, opts=b"\x05\x28" + b"\0" * 6) + seg(mode=0x80, opts=b"\x01" * 3 + b"\x03\x09\x0e")
        + seg(mode=0x80, opts=b"\x08\x0a\0\0\0\0\0\0\0\0", plen=10) + seg(mode=0x80, opts=b"\xfe\x04\0\0")
        + data(n=5),
    "paws_old_ts": head(ALL) + data(n=100) + seg(mode=0x20, plen=100) + seg(mode=0x40, plen=100) + data(n=100) + recv(),
    "garbage": head(ALL) + raw_tcp(b"\x9c\x40\x00\x50" + b"\x00" * 8 + b"\xf0\x12" + b"\xff" * 6)
        + raw_tcp(b"\x9c\x40\x00\x50" + b"\x00" * 8 + b"\x10\x3f" + b"\x00" * 6, 0) + raw_tcp(b"\x01\x02\x03")
        + raw_frame(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00\x45\x00\x00\x28") + raw_frame(b"") + data(n=20),
    "many_syns": head(ALL) + new_syn(0x0f, 1, 1) + new_syn(0x00, 2, 0xfffffff0) + new_syn(0x0b, 3, 5)
        + new_syn(0x04, 4, 9) + new_syn(0x0f, 5, 11) + accept() + data(2, 100) + close(2) + timers(5000)
        + new_syn(0x0f, 1, 100000) + accept(),
    "retransmit": head(ALL) + send(30000) + seg(ack=-28000) + seg(ack=-28000) + seg(ack=-28000)
        + seg(ack=-28000) + seg(ack=-20000) + timers(1000) + timers(2000) + seg() + timers(100),
    "time_wait_syn": head(ALL) + close() + seg(flags=ACK | FIN) + timers(10) + new_syn(0x0f, 0x40, 50000)
        + seg(flags=ACK) + timers(3000),
    "keepalive_linger": head(ALL) + sockopt(5, 1) + sockopt(6, 1) + timers(60000) + timers(60000)
        + sockopt(4, 1) + close() + timers(100),
    "small_windows": head(ALL) + sockopt(2, 40) + sockopt(0, 1) + send(10000) + seg(win=81) + timers(300)
        + seg(win=1) + timers(600) + data(n=700) + data(n=700) + recv(100) + recv(),
    "half_close": head(ALL) + shutdown(1) + data(n=500) + recv() + seg(flags=ACK | FIN) + recv() + close()
        + timers(3000),
    "wrap_isn": head(ALL, 0xfffffc00) + data(n=1000) + data(n=1000) + recv() + seg(flags=ACK | FIN) + timers(10),
}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_tcp")
os.makedirs(out, exist_ok=True)
for name, blob in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(blob)
print(f"wrote {len(seeds)} seeds to {out}")
