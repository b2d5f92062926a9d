#!/usr/bin/env bash
# Determinism across builds: builds p2pdma-sim as a Debug build in
# build-debug/ (-O0, without debug info: it is only run) and checks that every variant of every scenario gives
# the same trace, byte for byte, as the RelWithDebInfo build in build/
# (tests/sim/cli/test_determinism.sh; it also repeats runs and compares
# --jobs 1 with --jobs 2). Run tools/test.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/p2pdma-sim ] || { echo "build/p2pdma-sim is missing: run tools/test.sh first"; exit 2; }
[ -f build-debug/build.ninja ] ||
  cmake -S . -B build-debug -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 > /dev/null
cmake --build build-debug -j "$(nproc)" --target p2pdma-sim
tests/sim/cli/test_determinism.sh "$PWD/build/p2pdma-sim" "$PWD" "$PWD/build-debug/p2pdma-sim"
