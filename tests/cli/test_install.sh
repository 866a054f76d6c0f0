#!/usr/bin/env bash
# The install target: library, public headers, pkg-config file and command
# land under a prefix, and a program builds against them with pkg-config alone.
set -euo pipefail
BUILD=$(dirname "$(readlink -f "$1")")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
test -x "$T/prefix/bin/ustack" || { echo "FAIL: command not installed"; exit 1; }
test -f "$T/prefix/include/ustack/ustack.h" || { echo "FAIL: headers not installed"; exit 1; }
PC=$(find "$T/prefix" -name ustack.pc | head -1)
[ -n "$PC" ] || { echo "FAIL: ustack.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$PC")
EXTRA=()
grep -q '^USTACK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && EXTRA=(-fsanitize=address,undefined)
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
# shellcheck disable=SC2046
"${CC:-cc}" "${EXTRA[@]}" -std=c11 -Wall -Wextra -Werror "$SRC/examples/udp_echo_sim.c" -o "$T/example" \
    $(pkg-config --cflags ustack) $(pkg-config --libs ustack)
"$T/example"
echo PASS
