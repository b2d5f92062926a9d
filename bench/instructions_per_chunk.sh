#!/usr/bin/env bash
# Instructions (callgrind) per 4 KiB chunk of the p2pmem-test that
# bench/p2pmem_test_rate.sh times: the difference between an 8,192-chunk and
# a 4,096-chunk run, so start-up drops out. Deterministic, unlike wall time on
# a shared machine; docs/benchmarks.md tracks the engine's work with it.
#   bench/instructions_per_chunk.sh [BIN]     (default build/p2pdma-sim)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/p2pdma-sim}
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() {
  bench/p2pmem_bench_yaml.sh "$1" > "$tmp/s.yaml"
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" run "$tmp/s.yaml" --variant v6.2 2>&1 > /dev/null |
    sed -n 's/.*Collected : //p'
}
small=$(count 4096)
large=$(count 8192)
echo "$(( (large - small) / 4096 )) instructions per chunk ($bin)"
