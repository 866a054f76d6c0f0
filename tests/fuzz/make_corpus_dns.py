#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_dns (tests/fuzz/fuzz_dns.c).

Input: MODE(1) then a DNS message. MODE bit 0: the harness puts the query's
own question after the header (so the body starts with the answer records,
and a pointer to offset 12 names the question); bit 0 clear: the message is
used as it is (its own question, which the resolver will not match)."""
import os, struct, sys

def name(n):
    out = b""
    for label in n.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def hdr(flags, qd, an, ns, ar, id_=0x1234):
    return struct.pack(">HHHHHH", id_, flags, qd, an, ns, ar)

def rr(owner, typ, ttl, rdata, cls=1):
    return owner + struct.pack(">HHIH", typ, cls, ttl, len(rdata)) + rdata

def a(ip):
    return bytes(int(x) for x in ip.split("."))

def soa(minimum, ttl=900):
    return rr(name("example.com"), 6, ttl, name("ns.example.com") + name("host.example.com") +
              struct.pack(">IIIII", 1, 3600, 600, 86400, minimum))

Q = name("www.example.com")
QA = Q + b"\0\1\0\1"
PTR_Q = b"\xc0\x0c"
RESP, TC = 0x8180, 0x0200
OWN, RAW = 1, 0
seeds = {
    # own-question mode: records after the harness's question (offset 12)
    "a_compressed": (OWN, hdr(RESP, 1, 2, 0, 0) + rr(PTR_Q, 1, 300, a("198.18.0.1")) + rr(PTR_Q, 1, 60, a("198.18.0.2"))),
    "cname_chain": (OWN, hdr(RESP, 1, 3, 0, 0) + rr(PTR_Q, 5, 300, name("web.example.com")) +
                    rr(name("web.example.com"), 5, 200, name("a.example.com")) + rr(name("a.example.com"), 1, 100, a("198.18.0.7"))),
    "cname_only": (OWN, hdr(RESP, 1, 1, 0, 0) + rr(PTR_Q, 5, 300, b"\3web\xc0\x10")),
    "cname_self": (OWN, hdr(RESP, 1, 1, 0, 0) + rr(PTR_Q, 5, 300, PTR_Q)),
    "nxdomain_soa": (OWN, hdr(0x8183, 1, 0, 1, 0) + soa(30)),
    "nodata_soa": (OWN, hdr(RESP, 1, 0, 1, 0) + soa(60, ttl=10)),
    "nodata_nosoa": (OWN, hdr(RESP, 1, 0, 0, 0)),
    "truncated": (OWN, hdr(RESP | TC, 1, 0, 0, 0)),
    "servfail": (OWN, hdr(0x8182, 1, 0, 0, 0)),
    "refused": (OWN, hdr(0x8185, 1, 0, 0, 0)),
    "additional": (OWN, hdr(RESP, 1, 1, 0, 1) + rr(PTR_Q, 1, 300, a("198.18.0.1")) + rr(b"\0", 41, 0, b"")),
    "aaaa_mixed": (OWN, hdr(RESP, 1, 2, 0, 0) + rr(PTR_Q, 28, 300, bytes(16)) + rr(PTR_Q, 1, 300, a("198.18.0.3"))),
    "ttl_topbit": (OWN, hdr(RESP, 1, 1, 0, 0) + rr(PTR_Q, 1, 0x80000000, a("198.18.0.4"))),
    "many_a": (OWN, hdr(RESP, 1, 40, 0, 0) + b"".join(rr(PTR_Q, 1, 60, bytes([198, 18, 1, i])) for i in range(40))),
    # raw mode: the message as it is
    "raw_answer": (RAW, hdr(RESP, 1, 1, 0, 0) + QA + rr(PTR_Q, 1, 300, a("198.18.0.1"))),
    "raw_query": (RAW, hdr(0x0100, 1, 0, 0, 0) + QA),
    "ptr_loop": (RAW, hdr(RESP, 1, 1, 0, 0) + QA + rr(b"\xc0\x21", 1, 1, a("1.2.3.4"))),
    "ptr_forward": (RAW, hdr(RESP, 1, 0, 0, 0) + b"\xc0\x0e" + b"\3www\0" + b"\0\1\0\1"),
    "ptr_chain": (RAW, hdr(RESP, 1, 0, 0, 0) + b"\0\0\1\0\1" + b"".join(b"\xc0" + bytes([12 + 2 * i]) for i in range(40))),
    "long_name": (RAW, hdr(RESP, 1, 0, 0, 0) + (b"\x3f" + b"a" * 63) * 4 + b"\0\0\1\0\1"),
    "label_types": (RAW, hdr(RESP, 1, 0, 0, 0) + b"\x41a\0\0\1\0\1"),
    "qdcount2": (RAW, hdr(RESP, 2, 0, 0, 0) + QA + QA),
    # shorter than a header: the resolver's query goes unanswered (it found a harness bug once)
    "short_message": (OWN, bytes([0x12, 0x34, 0x83, 0x80, 0, 1, 1])),
    "short_rdata": (RAW, hdr(RESP, 1, 1, 0, 0) + QA + PTR_Q + struct.pack(">HHIH", 1, 1, 60, 3) + b"\1\2\3"),
}

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "fuzz_dns")
    os.makedirs(out, exist_ok=True)
    for k, (mode, msg) in seeds.items():
        with open(os.path.join(out, k), "wb") as f:
            f.write(bytes([mode]) + msg)

if __name__ == "__main__":
    main()
