#!/usr/bin/env bash
# Executions per second of S1 without pins, a fresh seed each, on one core.
# All executions share one SystemC elaboration (model state is rebuilt per
# execution), which is how `run --runs` and campaigns run.
#   bench/s1_exec_rate.sh [RUNS]            print the table
#   bench/s1_exec_rate.sh [RUNS] --update   also rewrite its section of docs/benchmarks.md
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20000}
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
scenario=scenarios/s1_premature_genalloc_return.yaml
pin="taskset -c 0"; command -v taskset >/dev/null || pin=""

table="| variant | strategy | executions | wall s | executions/s |
|---|---|---:|---:|---:|"
for variant in v6.2 rfc-v5 rfc-v3; do
  # rfc-v3 exits 1 (most random seeds miss the race): that is expected here.
  json=$($pin "$bin" run "$scenario" --variant "$variant" --no-pins --runs "$runs" --json || true)
  secs=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["wall_seconds"])' "$json")
  rate=$(python3 -c "print(f'{$runs/$secs:.0f}')")
  table+="
| $variant | random | $runs | $secs | $rate |"
done
echo "$table"

if [ "${2:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/s1_exec_rate.sh $runs --update\` on one core of: $cpu
(\`$(git rev-parse --short HEAD)\`, RelWithDebInfo build).

$table"
  printf "%s\n" "$section" | bench/update_section.py s1_exec_rate "S1 executions per second (issue #2)"
fi
