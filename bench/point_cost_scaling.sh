#!/usr/bin/env bash
# Cost of one preemption point as S1 grows (issue #13), in instructions
# counted by valgrind's callgrind: deterministic, so the figure does not
# depend on what else the machine runs. Per execution = the difference
# between RUNS and 2*RUNS executions in one process (start-up cancels out);
# per point = that over the execution's preemption points (seed 1).
#   bench/point_cost_scaling.sh [RUNS] [--update]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
runs=${1:-200}
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {  # instructions of `run --runs $2` on scenario $1
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" run "$1" --variant rfc-v5 --no-pins --runs "$2" 2>&1 \
    > /dev/null | awk '/refs:/ {gsub(",", "", $4); print $4}'
}
table="| pages | groups | tasks (with softirq) | points per execution | instructions per execution | per point | per point vs 1 group |
|---:|---:|---:|---:|---:|---:|---:|"
base=""
for size in 1x1 1x2 1x4 1x8 8x1; do
  pages=${size%x*} groups=${size#*x}
  sc="$tmp/s1_p${pages}_g${groups}.yaml"
  bench/scale_s1.py "$pages" "$groups" > "$sc"
  a=$(ir "$sc" "$runs")
  b=$(ir "$sc" $((2 * runs)))
  points=$("$bin" run "$sc" --variant rfc-v5 --no-pins --seed 1 | awk '/preemption points/ {print $(NF-2)}')
  row=$(python3 - "$a" "$b" "$runs" "$points" "$groups" "${base:-0}" <<'PY'
import sys
a, b, runs, points, groups, base = (float(x) for x in sys.argv[1:])
per_exec = (b - a) / runs
per_point = per_exec / points
rel = per_point / base if base else 1.0
print(f"{int(8 * groups)} | {int(points)} | {per_exec:.0f} | {per_point:.0f} | {rel:.2f}")
PY
)
  [ -n "$base" ] || base=$(python3 -c "print(($b - $a) / $runs / $points)")
  table+="
| $pages | $groups | $row |"
done
echo "$table"
if [ "${2:-}" = "--update" ]; then
  section="Measured $(date -u +%Y-%m-%d) with \`bench/point_cost_scaling.sh $runs --update\`
(\`$(git rev-parse --short HEAD)\`, $(build_label build) build; S1 copies from \`bench/scale_s1.py\`, variant
rfc-v5, random strategy). Instructions, not seconds: callgrind counts them exactly, so the ratio
is free of noise. What still grows with the groups is the kernel's own work (TLB shootdown
masks, RCU grace periods over 4x as many CPUs), not the scheduler's.

$table"
  printf "%s\n" "$section" | bench/update_section.py point_cost_scaling "Cost per preemption point as S1 grows (issue #13)"
fi
