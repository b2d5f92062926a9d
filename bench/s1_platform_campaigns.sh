#!/usr/bin/env bash
# S1 fuzz campaigns of RUNS executions per kernel preset and platform (issue #8):
# RFC v3 leaks only where the TLB flush waits for no other CPU; the upstream
# kernels find nothing on any platform. Also the RFC fault-vs-unbind race (S16)
# without pins, time to first finding.
#   bench/s1_platform_campaigns.sh [RUNS]            print the tables
#   bench/s1_platform_campaigns.sh [RUNS] --update   also rewrite their section of docs/benchmarks.md
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
runs=${1:-1000000}
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
s1=scenarios/s1_premature_genalloc_return.yaml
s16=scenarios/s16_rfc_fault_vs_unbind.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
summary() {  # file -> "executions | wall s | executions/s | findings | unique | kinds | first leak s"
  python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
kinds = sorted({f["kind"] for f in s["findings"]})
leak = [f["first_found_s"] for f in s["findings"] if f["kind"] == "cross_context_leak"]
print(f'{s["executions"]} | {s["wall_seconds"]} | {s["executions_per_second"]} | {s["findings_total"]} | '
      f'{s["unique_findings"]} | {" ".join(kinds) or "-"} | {min(leak) if leak else "-"}')
PY
}

table="| preset | platform | executions | wall s | executions/s | findings | unique | kinds | first cross_context_leak s |
|---|---|---:|---:|---:|---:|---:|---|---:|"
row() {  # variant platform
  rm -rf "$tmp/c"
  "$bin" fuzz "$s1" --variant "$1" --platform "$2" --runs "$runs" --jobs 2 --no-shrink --out "$tmp/c" --json \
    > "$tmp/c.json" || true
  table+="
| $1 | $2 | $(summary "$tmp/c.json") |"
}
for p in x86 x86-pv-guest arm64; do row rfc-v3 "$p"; done
for v in v6.2 v6.15 latest; do
  for p in x86 x86-pv-guest arm64 x86-invlpgb; do
    [ "$v" = v6.2 ] && [ "$p" = x86-invlpgb ] && continue  # INVLPGB arrived in v6.15
    row "$v" "$p"
  done
done

s16t="| variant | campaigns | found in | first premature_free or use_after_free: median s |
|---|---:|---:|---:|"
for v in rfc-v3 rfc-v5; do
  ts=()
  for k in 1 2 3 4 5 6 7 8 9 10; do
    rm -rf "$tmp/s"
    "$bin" fuzz "$s16" --variant "$v" --seed $((k * 1000000007)) --jobs 1 --time 20 --stop-on premature_free \
      --no-shrink --out "$tmp/s" --json > "$tmp/s.json" || true
    ts+=("$(python3 -c 'import json,sys; f=[x["first_found_s"] for x in json.load(open(sys.argv[1]))["findings"]]; print(min(f) if f else "inf")' "$tmp/s.json")")
  done
  s16t+="
| $v | 10 | $(python3 - "${ts[*]}" <<'PY'
import sys
xs = sorted(float(x) for x in sys.argv[1].split())
found = sum(x != float("inf") for x in xs)
m = (xs[4] + xs[5]) / 2
print(f"{found}/10 | {'> 20' if m == float('inf') else f'{m:.2f}'}")
PY
) |"
done

echo "$table"
echo
echo "$s16t"
if [ "${2:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/s1_platform_campaigns.sh $runs --update\` on
2 cores of: $cpu (\`$(git rev-parse --short HEAD)\`, $(build_label build) build).

\`fuzz\` on S1 without pins (portfolio strategy, 2 jobs, no shrinking), one campaign per
kernel preset and platform (\`--platform\`). RFC v3's race needs a TLB flush that waits
for no other CPU (arm64, a paravirt-flushing guest); on x86 bare metal the shootdown IPI
waits for GUP-fast's IRQ-off walk. The upstream kernels find nothing anywhere:

$table

The RFC fault-vs-unbind race (S16) without pins: 10 campaigns per variant (1 job,
capped at 20 s, stopped at the first \`premature_free\`), wall seconds from campaign start:

$s16t"
  printf "%s\n" "$section" | bench/update_section.py s1_platform_campaigns "S1 across platforms, and S16 (issue #8)"
fi
