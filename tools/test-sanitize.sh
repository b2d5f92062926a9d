#!/usr/bin/env bash
# Build with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ and run the whole test suite there (docs/robustness.md).
# SystemC switches stacks for its threads, which ASan's fake stacks for
# detect_stack_use_after_return cannot follow: that check is off. Leak
# checking is off too: SystemC's kernel keeps its allocations to exit.
# -O1 and line tables only: the build takes half the time of -O2 -g, the
# suite about as long, and reports still name file and line.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build-asan/build.ninja ] ||
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DP2PSIM_SANITIZE=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" > /dev/null
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" --timeout 600 "$@"
