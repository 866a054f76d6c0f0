#!/usr/bin/env bash
# The four page-load strategies' total times, the same page and the same
# client code on ustack's sockets and on the kernel's, over one TAP link: in
# a namespace this script creates, `ustack serve` on tap0 with a delay of
# DELAY ms each way at its device (default 20: a 40 ms round trip), a
# ustack client on tap1 routed to it by the namespace, and the kernel's
# client in the namespace. Run as root: bash bench/bench_page.sh [BUILD_DIR]
# (default build; a Release build measures best). The checks of
# tests/interop/test_page_serve.sh run too (every body byte-exact, the
# connections per strategy).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
[ -x "$BUILD/ustack" ] || { echo "bench_page: no $BUILD/ustack (build first)"; exit 1; }
DELAY=${DELAY:-20} BENCH=1 bash "$ROOT/tests/interop/test_page_serve.sh" "$BUILD/ustack"
