#!/usr/bin/env bash
# Installs what ustack needs to build, test and run its demo (Debian, as root).
set -euo pipefail
PKGS="build-essential cmake clang pkg-config libpcap-dev libcmocka-dev libssl-dev libclang-rt-dev
      tshark tcpdump socat iputils-ping iproute2 python3 gnuplot-nox iperf3 ethtool"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages:$missing — run as root or: sudo apt-get install -y$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
fi
