#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_http (tests/fuzz/fuzz_http.c).

Input: MODE(1) STEP(1) bytes. MODE bit 0 responses, bit 1 the first response
answers HEAD, bit 2 small limits, bit 3 EOF after the input; STEP = piece size
(0 = byte by byte)."""
import os, sys

REQ, RESP, HEAD, SMALL, EOF = 0, 1, 2, 4, 8
H = b"Host: example.com\r\n"
seeds = {
    "get": (REQ, 0, b"GET /index.html?q=1 HTTP/1.1\r\n" + H + b"User-Agent: curl/8\r\nAccept: */*\r\n\r\n"),
    "pipelined": (REQ, 7, b"GET /a HTTP/1.1\r\n" + H + b"\r\nGET /b HTTP/1.1\r\n" + H + b"\r\nHEAD /c HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"),
    "post_length": (REQ, 3, b"POST /f HTTP/1.1\r\n" + H + b"Content-Length: 11\r\n\r\nhello worldGET / HTTP/1.1\r\n" + H + b"\r\n"),
    "post_chunked": (REQ, 5, b"POST /u HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
                     b"5;ext=1\r\nhello\r\nA;q=\"a b\"\r\n0123456789\r\n0\r\nTrailer-A: x\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n"),
    "http10_keepalive": (REQ, 0, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n"),
    "absolute_options": (REQ, 11, b"GET http://example.com:8080/x HTTP/1.1\r\n" + H + b"\r\nOPTIONS * HTTP/1.1\r\n" + H + b"\r\n"),
    "smuggle_cl_te": (REQ, 0, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX"),
    "smuggle_te_gzip": (REQ, 2, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    "dup_cl": (REQ, 4, b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3, 4\r\n\r\nabcd"),
    "obs_fold": (REQ, 0, b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n"),
    "bare_lf": (REQ, 1, b"GET / HTTP/1.1\n" + H + b"\n"),
    "bad_chunk": (REQ, 3, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n"),
    "limits": (REQ | SMALL, 9, b"GET /" + b"a" * 70 + b" HTTP/1.1\r\n" + H + b"\r\n"),
    "limits_fields": (REQ | SMALL, 0, b"GET / HTTP/1.1\r\n" + H + b"".join(b"F%d: v\r\n" % i for i in range(10)) + b"\r\n"),
    "version_505": (REQ, 0, b"GET / HTTP/2.0\r\n" + H + b"\r\n"),
    "connect_501": (REQ, 0, b"CONNECT example.com:443 HTTP/1.1\r\n" + H + b"\r\n"),
    "resp_length": (RESP, 6, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhelloHTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
    "resp_chunked": (RESP, 4, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: 0\r\n\r\n"),
    "resp_close": (RESP | EOF, 0, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until the end"),
    "resp_head": (RESP | HEAD, 0, b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "resp_100": (RESP, 8, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
    "resp_truncated": (RESP | EOF, 2, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"),
}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "fuzz_http")
os.makedirs(out, exist_ok=True)
for name, (mode, step, msg) in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([mode, step]) + msg)
print(f"{len(seeds)} seeds in {out}")
