#!/usr/bin/env bash
# Build p2pdma-sim with profile-guided optimisation (GCC) into BUILD_DIR
# (default build-pgo): an instrumented build, a training run over the
# built-in scenarios (the three ways the tool is used: run, fuzz, report),
# then the optimised build in the same directory. About twice a plain
# build's time; the result is what bench/ measures as "Release+PGO".
#   tools/pgo_build.sh [BUILD_DIR]
# Needs what tools/bootstrap.sh installs. The plain build (build/) is not
# touched, and nothing else in the tree changes.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-pgo}
profile="$PWD/$dir/pgo-profile"
jobs=$(nproc)

echo "pgo: 1/3 instrumented build in $dir"
rm -rf "$profile"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DP2PSIM_PGO=generate \
      -DP2PSIM_PGO_DIR="$profile" > /dev/null
cmake --build "$dir" -j "$jobs" --target p2pdma-sim

echo "pgo: 2/3 training on the built-in scenarios"
bin="$dir/p2pdma-sim"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Findings are expected (exit 1): the training only needs the code paths.
for v in v6.2 latest rfc-v5 rfc-v3; do
  "$bin" run scenarios/s1_premature_genalloc_return.yaml --variant "$v" --no-pins --runs 20000 > /dev/null || true
done
for s in scenarios/*.yaml; do
  "$bin" run "$s" > /dev/null || true
  "$bin" fuzz "$s" --time 2 --jobs 1 --out "$out/fuzz" > /dev/null 2>&1 || true
  rm -rf "$out/fuzz"
done
"$bin" report scenarios/reports/switch_vs_rc.yaml --out "$out/report" --jobs "$jobs" > /dev/null 2>&1 || true
# The hardware path at length, as bench/p2pmem_test_rate.sh drives it: the
# built-in scenarios move a few hundred chunks, S1 above runs 80,000 times.
"$bin" run scenarios/reports/switch_vs_rc.yaml --param chunk_size=4KiB --param chunks=8192 \
      --param threads=1 --param drive=gen4x4 > /dev/null

echo "pgo: 3/3 optimised build"
cmake -S . -B "$dir" -DP2PSIM_PGO=use > /dev/null
cmake --build "$dir" -j "$jobs" --target p2pdma-sim
echo "pgo: $bin is ready"
