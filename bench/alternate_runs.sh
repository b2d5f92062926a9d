#!/usr/bin/env bash
# Wall time of two or more p2pdma-sim binaries on the same scenario, run in
# turn on one core (taskset -c 0) so that each sees the same minutes of this
# shared, drifting machine: the way docs/benchmarks.md compares commits.
#   bench/alternate_runs.sh SCENARIO VARIANT ROUNDS BIN [BIN ...]
# Prints, per binary, the median and the fastest of ROUNDS runs.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 SCENARIO VARIANT ROUNDS BIN [BIN ...]" >&2; exit 2; }
scenario=$1 variant=$2 rounds=$3
shift 3
declare -A walls
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    start=$(date +%s.%N)
    taskset -c 0 "$bin" run "$scenario" --variant "$variant" > /dev/null || [ $? -eq 1 ]
    end=$(date +%s.%N)
    walls[$bin]+="$(python3 -c "print($end - $start)") "
  done
done
for bin in "$@"; do
  python3 -c 'import statistics, sys
w = sorted(float(x) for x in sys.argv[2].split())
print(f"{sys.argv[1]}: median {statistics.median(w):.2f} s, fastest {w[0]:.2f} s of {len(w)}")' "$bin" "${walls[$bin]}"
done
