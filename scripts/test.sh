#!/usr/bin/env bash
# All tests: install dependencies, then
#   1. gcc build (-Werror), every test: unit, scenario (simulator), interop (Linux
#      kernel over TAP in a namespace the test creates; needs root), CLI, fuzz
#      corpus replay;
#   2. clang build (-Werror) with ASan+UBSan: the whole suite again, plus the
#      libFuzzer harnesses run for a bounded time;
#   3. gcc Release build (-Werror; -O3 finds warnings -O2 does not), unit and CLI tests
#      only (the benchmarks use this build type).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
JOBS=$(nproc)
run() {
    local dir=$1; shift
    echo "=== $dir: configure and build"
    cmake -S . -B "$dir" "$@" >/dev/null
    local rc=0
    cmake --build "$dir" -j"$JOBS" >"$dir/build.log" 2>&1 || rc=$?
    grep -Ev '^\[ *[0-9]+%\]' "$dir/build.log" || true
    [ $rc -eq 0 ] || { echo "=== $dir: build FAILED (exit $rc)"; exit 1; }
}
run build-gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
run build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSTACK_SANITIZE=ON -DUSTACK_FUZZ=ON
run build-release -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
echo "=== gcc: all tests"
ctest --test-dir build-gcc --output-on-failure -j2 || status=1
echo "=== clang ASan+UBSan: all tests and bounded fuzzer runs"
ctest --test-dir build-asan --output-on-failure -j2 || status=1
echo "=== gcc Release: unit and CLI tests"
ctest --test-dir build-release --output-on-failure -j2 -L 'unit|cli' || status=1
exit $status
