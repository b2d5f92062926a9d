#!/usr/bin/env bash
# `explore` on S1: interleavings, executions and wall time (median of
# REPEATS, /usr/bin/time) per preemption bound, on the buggy and the fixed
# designs; peak memory (max RSS) of the largest run.
#   bench/explore_s1.sh [MAX_BOUND] [--update]   REPEATS (default 3) from the environment
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
max=${1:-3}
repeats=${REPEATS:-3}
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
s1=scenarios/s1_premature_genalloc_return.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
table="| variant | stop at | bound | result | interleavings | executions | median wall s | max RSS MiB |
|---|---|---:|---|---:|---:|---:|---:|"
run_case() {  # variant stop-on
  for bound in $(seq 1 "$max"); do
    walls=()
    for _ in $(seq 1 "$repeats"); do
      /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin" explore "$s1" --variant "$1" --preemption-bound "$bound" \
        --stop-on "$2" --json > "$tmp/out.json" || true
      read -r wall rss < <(tail -1 "$tmp/time")  # after "Command exited with non-zero status" on findings
      walls+=("$wall")
    done
    row=$(python3 - "$tmp/out.json" "$rss" "${walls[@]}" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1])); rss = int(sys.argv[2]) / 1024
walls = [float(w) for w in sys.argv[3:]]
res = f'found with {r["forced_decisions"]}' if r["token"] else ("clean" if r["complete"] else "incomplete")
print(f'{res} | {r["interleavings"]} | {r["executions"]} | {statistics.median(walls):.2f} | {rss:.0f}')
PY
)
    table+="
| $1 | $2 | $bound | $row |"
  done
}
run_case rfc-v3 any
run_case rfc-v3 cross_context_leak
for v in rfc-v3-ipi rfc-v5 v6.2 latest; do run_case "$v" any; done
echo "$table"
if [ "${2:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/explore_s1.sh $max --update\` on one core of: $cpu
(\`$(git rev-parse --short HEAD)\`, $(build_label build) build). \"found with k\": the first
finding needs k forced decisions (docs/campaigns.md says what one is).

$table"
  printf "%s\n" "$section" | bench/update_section.py explore_s1 "explore on S1 (issue #13)"
fi
