#!/usr/bin/env bash
# Installs what ustack needs to build, test and run its demo (Debian, as root).
set -euo pipefail
PKGS="build-essential cmake clang pkg-config libpcap-dev libcmocka-dev libssl-dev libclang-rt-dev
      tshark tcpdump socat iputils-ping iproute2 python3 gnuplot-nox iperf3 ethtool
      python3-scapy curl wrk apache2-utils nginx-light h2o dnsmasq-base"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages:$missing — run as root or: sudo apt-get install -y$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Peers the tests start themselves (nginx, h2o) must not start as services
    # on install: policy-rc.d answers "not allowed" while apt runs.
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
    fi
    # shellcheck disable=SC2086
    rc=0
    apt-get install -y -qq $missing >/dev/null || rc=$?
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
    [ $rc -eq 0 ] || { echo "deps: apt-get install failed (exit $rc)" >&2; exit $rc; }
fi
