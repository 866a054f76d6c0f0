#!/usr/bin/env bash
# The main job: install dependencies, build, and run the demo in virtual time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec ./build/ustack demo --pcap build/ustack-demo.pcap --plot build/ustack-demo.png "$@"
