#!/usr/bin/env bash
# All tests: install dependencies, then
#   1. gcc build (-Werror), every test: unit, scenario (simulator), interop (Linux
#      kernel over TAP in a namespace the test creates; needs root), fuzz corpus replay;
#   2. clang build (-Werror) with libFuzzer harnesses run for a bounded time;
#   3. ASan+UBSan build, the whole suite again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
JOBS=$(nproc)
run() {
    local dir=$1; shift
    echo "=== $dir: configure and build"
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
    test -x "$dir/ustack"
}
run build-gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
run build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSTACK_FUZZ=ON
run build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DUSTACK_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
echo "=== gcc: all tests"
ctest --test-dir build-gcc --output-on-failure -j2 || status=1
echo "=== clang: fuzzers (bounded runs)"
ctest --test-dir build-clang --output-on-failure -L fuzz || status=1
echo "=== ASan+UBSan: all tests"
ctest --test-dir build-asan --output-on-failure -j2 || status=1
exit $status
