#!/usr/bin/env bash
# BBR vs CUBIC vs NewReno in virtual time (issue 8): `ustack sim cc` on a
# bottleneck with a shallow (0.25 BDP) and a deep (10 BDP) queue — goodput,
# queueing delay p50/p99 taken at the bottleneck queue per packet,
# retransmissions and queue drops. No root, no network: two ustack hosts in
# one process. bash bench/sim_cc.sh [BUILD_DIR] (default build); RATE (bits/s,
# 100000000), RTT (ms, 20), DURATION (s per run, 10) and LOSSES (the random
# loss rates, one table each; default "0 0.01 0.05") choose the runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
[ -x "$BUILD/ustack" ] || { echo "sim_cc: no $BUILD/ustack (build first)"; exit 1; }
for loss in ${LOSSES:-0 0.01 0.05}; do
    "$BUILD/ustack" sim cc --rate "${RATE:-100000000}" --rtt "${RTT:-20}" --duration "${DURATION:-10}" --loss "$loss" |
        sed '/^What it shows/,$d'
done
