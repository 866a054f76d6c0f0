#!/usr/bin/env bash
# ustack page against ustack serve, both ends ustack and then the kernel as
# the client, over one impaired link: `ustack serve` on tap0 (198.18.0.2,
# --delay 10 on its device: a 20 ms round trip) serves the generated
# page; the namespace routes to it from tap1, where a second ustack
# (198.18.1.2) runs `page`; the kernel's `page` (--stack kernel) runs in the
# namespace itself. Per strategy: every body byte-exact, the SYNs the server
# saw (capture on its side), and the totals. BENCH=1 prints only the
# comparison of the two clients (bench/bench_page.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/page_site.sh"
DELAY=${DELAY:-10}
WWW="$TMP/www"
make_site "$WWW" "$US_IP"
ip -n "$NS" tuntap add dev tap1 mode tap
ip -n "$NS" addr add 198.18.1.1/24 dev tap1
ip -n "$NS" link set tap1 up
nsx sysctl -qw net.ipv4.ip_forward=1
start_ustack serve --gw "$LINUX_IP" --pcap "$TMP/serve.pcap" --delay "$DELAY" serve --port 80 --root "$WWW" --access-log off
SERVE=$USTACK_PID
# connections the server accepted so far: its tcp.passive_opens, from the
# counters a SIGUSR1 prints
synacks() {
    local n0
    n0=$(grep -c '^counters:' "$TMP/serve.log" || true)
    kill -USR1 "$SERVE"
    for _ in $(seq 1 50); do [ "$(grep -c '^counters:' "$TMP/serve.log" || true)" -gt "$n0" ] && break; sleep 0.05; done
    { grep -E '^ +tcp.passive_opens ' "$TMP/serve.log" || echo "x 0"; } | tail -1 | awk '{print $2}'
}

page() {   # page WHO STRATEGY: WHO = ustack (tap1) or kernel
    local who=$1 s=$2 rc=0
    local out="$TMP/$who-$s"
    mkdir -p "$out.save"
    local before
    before=$(synacks)
    if [ "$who" = ustack ]; then
        timeout 120 nsenter --net="/run/netns/$NS" "$USTACK" --tap tap1 --ip 198.18.1.2/24 --gw 198.18.1.1 \
            --mac 02:00:00:00:01:02 page "http://$US_IP/" --strategy "$s" --parallel 6 --save "$out.save" \
            >"$out.out" 2>&1 || rc=$?
    else
        timeout 120 nsenter --net="/run/netns/$NS" "$USTACK" --stack kernel page "http://$US_IP/" --strategy "$s" \
            --parallel 6 --save "$out.save" >"$out.out" 2>&1 || rc=$?
    fi
    [ $rc -eq 0 ] || { cat "$out.out"; fail "$who $s: page exited $rc"; }
    byte_exact "$WWW" "$out.save" "$who $s"
    SYNS=$(( $(synacks) - before ))
    WALL=$(grep -o 'total: [0-9.]* ms' "$out.out" | grep -o '[0-9.]*')
}
declare -A wall syns
for who in ustack kernel; do
    for s in serial parallel persistent pipelined; do
        page "$who" "$s"
        wall[$who-$s]=$WALL
        syns[$who-$s]=$SYNS
        [ -n "${BENCH:-}" ] || echo "ok: $who $s: $((N + 1)) bodies byte-exact, $SYNS connections at the server, $WALL ms"
    done
    [ "${syns[$who-serial]}" -ge $((N + 1)) ] || fail "$who serial: ${syns[$who-serial]} connections, want $((N + 1))"
    [ "${syns[$who-persistent]}" -le 6 ] || fail "$who persistent: ${syns[$who-persistent]} connections, want at most 6"
    [ "${syns[$who-pipelined]}" -le 2 ] || fail "$who pipelined: ${syns[$who-pipelined]} connections, want 1"
done
stop_ustack "$SERVE" >/dev/null || true
# TCP/IP clean at the server (the "images" are random text: an image dissector's
# complaint about a body is no finding here)
check_pcap "$TMP/serve.pcap" --disable-protocol http
printf "\npage load of %d resources from ustack serve over one TAP link (%s ms each way at the server's device):\n" \
    "$N" "$DELAY"
printf "  %-12s %18s %18s\n" strategy "ustack client ms" "kernel client ms"
for s in serial parallel persistent pipelined; do
    printf "  %-12s %18s %18s\n" "$s" "${wall[ustack-$s]}" "${wall[kernel-$s]}"
done
echo PASS
