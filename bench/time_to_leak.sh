#!/usr/bin/env bash
# Time to the first cross_context_leak on S1 and on scaled copies of it
# (bench/scale_s1.py: PAGES per buffer, GROUPS of S1's tasks), per
# strategy: SEEDS campaign seeds each, one job, each campaign capped at CAP
# seconds and stopped at its first leak (as a finding or a symptom).
#   bench/time_to_leak.sh [--update]
# Environment: CAP (default 10), SEEDS (default 20), STRATEGIES (default
# "portfolio adaptive delay pct random"), SIZES (default "1x1 2x1 4x1 8x1 1x2 1x4 1x8 8x8", PAGESxGROUPS).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
cap=${CAP:-10}
seeds=${SEEDS:-20}
strategies=${STRATEGIES:-portfolio adaptive delay pct random}
sizes=${SIZES:-1x1 2x1 4x1 8x1 1x2 1x4 1x8 8x8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
table="| pages | groups | strategy | leak found in | median s | max s (found) |
|---:|---:|---|---:|---:|---:|"
for size in $sizes; do
  pages=${size%x*} groups=${size#*x}
  sc="$tmp/s1_p${pages}_g${groups}.yaml"
  bench/scale_s1.py "$pages" "$groups" > "$sc"
  for strategy in $strategies; do
    times=()
    for k in $(seq 1 "$seeds"); do
      rm -rf "$tmp/c"
      "$bin" fuzz "$sc" --variant rfc-v3 --strategy "$strategy" --seed $((k * 1000000007)) --jobs 1 \
        --time "$cap" --stop-on cross_context_leak --no-shrink --out "$tmp/c" --json > "$tmp/c.json" 2> /dev/null || true
      times+=("$(python3 - "$tmp/c.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
leaks = [f["first_found_s"] for f in s["findings"]
         if f["kind"] == "cross_context_leak" or any(x.startswith("cross_context_leak @") for x in f["symptoms"])]
leaks += [l["first_found_s"] for f in s["findings"] for l in f.get("later_symptoms", [])
          if l["signature"].startswith("cross_context_leak @")]
print(min(leaks) if leaks else "inf")
PY
)")
    done
    row=$(python3 - "$cap" "${times[@]}" <<'PY'
import statistics, sys
cap = float(sys.argv[1]); xs = [float(x) for x in sys.argv[2:]]
found = [x for x in xs if x != float("inf")]
med = statistics.median(xs)
print(f'{len(found)}/{len(xs)} | {"> %g" % cap if med == float("inf") else "%.2f" % med} | '
      f'{"%.2f" % max(found) if found else "-"}')
PY
)
    table+="
| $pages | $groups | $strategy | $row |"
    echo "  $size $strategy: $row" >&2
  done
done
echo "$table"
if [ "${1:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/time_to_leak.sh --update\` (CAP=$cap s, SEEDS=$seeds) on
one core of: $cpu (\`$(git rev-parse --short HEAD)\`, $(build_label build) build). Wall seconds from
campaign start to the first cross_context_leak (a finding or a symptom), including start-up and
the 64-execution PCT calibration; \"> CAP\" when the median campaign did not find it.

$table"
  printf "%s\n" "$section" | bench/update_section.py time_to_leak "Time to the S1 leak as the scenario grows (issue #13)"
fi
