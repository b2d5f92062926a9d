#!/usr/bin/env bash
# Campaign executions per second for every scenario in scenarios/ (its first
# variant), with 1 and 2 worker processes: `fuzz --time SECONDS --no-shrink`
# under the default portfolio strategy. "per job" is executions per second
# per worker process, i.e. per core; the host is the one `--host auto` picks.
#   bench/exec_rate_all.sh [SECONDS] [--update]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
seconds=${1:-10}
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
table="| scenario | variant | host | jobs | executions | wall s | executions/s | per job |
|---|---|---|---:|---:|---:|---:|---:|"
for s in scenarios/*.yaml; do
  name=$(basename "$s" .yaml)
  # awk reads to the end: exiting early would kill `check` with SIGPIPE (pipefail).
  variant=$("$bin" check "$s" | awk '$1 == "variant" && v == "" {v = $2} END {print v}')
  # The direct host refuses a scenario with devices before running it (exit 2).
  code=0
  "$bin" run "$s" --variant "$variant" --host direct --quiet > /dev/null 2>&1 || code=$?
  if [ "$code" = 2 ]; then host=systemc; else host=direct; fi
  for jobs in 1 2; do
    rm -rf "$tmp/o"
    "$bin" fuzz "$s" --variant "$variant" --time "$seconds" --jobs "$jobs" --no-shrink --no-known --out "$tmp/o" \
      --json > "$tmp/o.json" 2> /dev/null || true
    row=$(python3 - "$tmp/o.json" "$jobs" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); jobs = int(sys.argv[2])
rate = s["executions"] / s["wall_seconds"]
print(f'{s["executions"]} | {s["wall_seconds"]:.1f} | {rate:.0f} | {rate / jobs:.0f}')
PY
)
    table+="
| $name | $variant | $host | $jobs | $row |"
  done
done
echo "$table"
if [ "${2:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/exec_rate_all.sh $seconds --update\` on 2 cores of: $cpu
(\`$(git rev-parse --short HEAD)\`, $(build_label build) build). Wall time includes each worker's
start-up and PCT calibration (64 executions).

$table"
  printf "%s\n" "$section" | bench/update_section.py exec_rate_all "Campaign executions per second, every scenario (issue #13)"
fi
