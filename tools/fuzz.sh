#!/usr/bin/env bash
# Fuzz our own parsers with libFuzzer (Debian's clang), under ASan and UBSan:
# the scenario loader, the topology loader, replay tokens and campaign
# checkpoints (tests/fuzz/). Builds build-fuzz/ and runs each target for
# SECONDS (default 30), seeded from scenarios/ and tests/data/; the corpus
# grows in build-fuzz/corpus/TARGET across runs.
#   tools/fuzz.sh [SECONDS] [TARGET...]
# A crash, an abort (a broken round trip), a sanitizer report, an input
# slower than 10 s or one that needs more than 2 GiB fails the run; the
# input is saved as build-fuzz/artifacts/TARGET/crash-*, timeout-* or oom-*.
# Copy it into tests/data/fuzz/TARGET/ so every build replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(scenario topology token state)

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" -DP2PSIM_SANITIZE=ON -DP2PSIM_FUZZ=ON > /dev/null
fi
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

declare -A seeds=(
  [scenario]="scenarios tests/data/scenarios tests/data/yaml tests/data/fuzz/scenario"
  [topology]="scenarios/topologies tests/data/topologies tests/data/fuzz/topology"
  [token]="tests/data/fuzz/token"
  [state]="tests/data/fuzz/state"
)
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1
failed=0
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t artifacts=build-fuzz/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  for d in ${seeds[$t]}; do
    find "$d" -maxdepth 1 -type f -exec cp -n {} "$corpus/" \;
  done
  echo "== fuzz_$t: ${seconds}s, corpus $(ls "$corpus" | wc -l) inputs"
  if ! build-fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
         -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" > "build-fuzz/fuzz_$t.log" 2>&1; then
    echo "fuzz_$t FAILED; its log: build-fuzz/fuzz_$t.log; the input:"
    ls -1 "$artifacts"
    tail -40 "build-fuzz/fuzz_$t.log"
    failed=1
  else
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "build-fuzz/fuzz_$t.log" | tr '\n' ' '
    echo
  fi
done
exit $failed
