#!/usr/bin/env bash
# Executions per second of S1 without pins, a fresh seed each, on one core
# (taskset), median of REPEATS runs of RUNS executions, on both coroutine
# hosts. All executions of a run share one process (the kernel model is
# rebuilt per execution), which is how `run --runs` and campaigns run.
# Runs the plain build (build/) and, when tools/pgo_build.sh made it, the
# profile-guided one (build-pgo/).
#   bench/s1_exec_rate.sh [RUNS] [--update]   REPEATS (default 5) from the environment
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
runs=${1:-20000}
repeats=${REPEATS:-5}
[ -x build/p2pdma-sim ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
builds=(build)
[ -x build-pgo/p2pdma-sim ] && builds+=(build-pgo)
scenario=scenarios/s1_premature_genalloc_return.yaml
pin="taskset -c 0"; command -v taskset >/dev/null || pin=""

table="| build | variant | host | executions | median wall s | executions/s (median of $repeats) | min-max executions/s |
|---|---|---|---:|---:|---:|---:|"
for dir in "${builds[@]}"; do
 bin=$dir/p2pdma-sim
 label=$(build_label "$dir")
 for variant in v6.2 rfc-v5 rfc-v3; do
  for host in direct systemc; do
    secs=()
    for _ in $(seq 1 "$repeats"); do
      # rfc-v3 exits 1 (most random seeds miss the race): that is expected here.
      json=$($pin "$bin" run "$scenario" --variant "$variant" --no-pins --runs "$runs" --host "$host" --json || true)
      secs+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["wall_seconds"])' "$json")")
    done
    row=$(python3 - "$runs" "${secs[@]}" <<'PY'
import statistics, sys
runs = int(sys.argv[1]); secs = sorted(float(s) for s in sys.argv[2:])
med = statistics.median(secs)
print(f"{runs} | {med:.3f} | {runs / med:.0f} | {runs / secs[-1]:.0f}-{runs / secs[0]:.0f}")
PY
)
    table+="
| $label | $variant | $host | $row |"
  done
 done
done
echo "$table"

if [ "${2:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/s1_exec_rate.sh $runs --update\` on one core of: $cpu
(\`$(git rev-parse --short HEAD)\`; builds: $(for d in "${builds[@]}"; do echo -n "$d/ $(build_label "$d"); "; done | sed 's/; $//')).

$table"
  printf "%s\n" "$section" | bench/update_section.py s1_exec_rate "S1 executions per second (issues #2, #13)"
fi
