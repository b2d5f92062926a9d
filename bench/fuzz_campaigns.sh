#!/usr/bin/env bash
# Campaign throughput and time to first finding on S1 (issue #4).
#   bench/fuzz_campaigns.sh            print the tables
#   bench/fuzz_campaigns.sh --update   also rewrite their section of docs/benchmarks.md
# Environment: CAP (seconds per time-to-finding campaign, default 20),
#              SEEDS (campaign seeds per strategy, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
s1=scenarios/s1_premature_genalloc_return.yaml
cap=${CAP:-20}
seeds=${SEEDS:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# 1. Throughput: executions per second with 1 and 2 worker processes.
through="| variant | jobs | executions | wall s | executions/s | per job | unique findings |
|---|---:|---:|---:|---:|---:|---:|"
for variant in v6.2 rfc-v3; do
  for jobs in 1 2; do
    rm -rf "$tmp/t"
    "$bin" fuzz "$s1" --variant "$variant" --runs 400000 --jobs "$jobs" --no-shrink --out "$tmp/t" --json \
      > "$tmp/t.json" || true
    secs=$(field "$tmp/t.json" wall_seconds)
    rate=$(field "$tmp/t.json" executions_per_second)
    uniq=$(field "$tmp/t.json" unique_findings)
    through+="
| $variant | $jobs | 400000 | $secs | $rate | $(python3 -c "print(round($rate/$jobs))") | $uniq |"
  done
done

# 2. Time to first finding on rfc-v3 per strategy, over $seeds campaign seeds.
ttf="| strategy | first finding of any kind: median s | first cross_context_leak: median s | leak found in |
|---|---:|---:|---:|"
for strategy in random pct delay portfolio; do
  anys=() leaks=()
  for k in $(seq 1 "$seeds"); do
    rm -rf "$tmp/c"
    "$bin" fuzz "$s1" --variant rfc-v3 --strategy "$strategy" --seed $((k * 1000000007)) --jobs 1 \
      --time "$cap" --stop-on cross_context_leak --no-shrink --out "$tmp/c" --json > "$tmp/c.json" || true
    read -r a l < <(python3 - "$tmp/c.json" "$cap" <<'PY'
import json, sys
s, cap = json.load(open(sys.argv[1])), float(sys.argv[2])
firsts = [f["first_found_s"] for f in s["findings"]]
# The leak is usually a symptom of the premature free, not an execution's first finding.
leaks = [f["first_found_s"] for f in s["findings"]
         if f["kind"] == "cross_context_leak" or any(x.startswith("cross_context_leak @") for x in f["symptoms"])]
leaks += [l["first_found_s"] for f in s["findings"] for l in f.get("later_symptoms", [])
          if l["signature"].startswith("cross_context_leak @")]
print(min(firsts) if firsts else "inf", min(leaks) if leaks else "inf")
PY
)
    anys+=("$a") leaks+=("$l")
  done
  row=$(python3 - "$cap" "${anys[*]}" "${leaks[*]}" <<'PY'
import sys
cap = float(sys.argv[1])
def med(xs):
    xs = sorted(float(x) for x in xs.split())
    m = xs[(len(xs) - 1) // 2] if len(xs) % 2 else (xs[len(xs)//2 - 1] + xs[len(xs)//2]) / 2
    return f"> {cap:g}" if m == float("inf") else f"{m:.2f}"
leaks = [float(x) for x in sys.argv[3].split()]
found = sum(x != float("inf") for x in leaks)
print(f"{med(sys.argv[2])} | {med(sys.argv[3])} | {found}/{len(leaks)}")
PY
)
  ttf+="
| $strategy | $row |"
done

echo "$through"
echo
echo "$ttf"

if [ "${1:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/fuzz_campaigns.sh --update\` (CAP=$cap s, SEEDS=$seeds) on
$(nproc) cores of: $cpu (\`$(git rev-parse --short HEAD)\`, $(build_label build) build).

Throughput of \`fuzz\` on S1 (no pins, portfolio strategy, no shrinking). \"per job\" is
executions per second per worker process, i.e. per core. v6.2 (x86) lists no known
bug and finds nothing; rfc-v3 (arm64) finds the S1 race:

$through

Time to first finding on S1 \`rfc-v3\`, one job, $seeds campaign seeds per strategy, each
campaign capped at $cap s and stopped at its first \`cross_context_leak\`. Times are wall
seconds from campaign start, so they include the worker's start-up (SystemC
elaboration and the 64-execution PCT calibration). \"> $cap\" means the median campaign
did not find it within the cap.

$ttf"
  printf "%s\n" "$section" | bench/update_section.py fuzz_campaigns "Campaigns (issue #4)"
fi
