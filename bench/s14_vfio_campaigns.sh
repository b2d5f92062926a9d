#!/usr/bin/env bash
# S14 fuzz campaigns of RUNS executions per variant (issue #9): the vfio-pci
# dma-buf revoke protocol. Variants expected clean must stay clean; the
# others must be found, and how soon is measured.
#   bench/s14_vfio_campaigns.sh [RUNS]            print the table
#   bench/s14_vfio_campaigns.sh [RUNS] --update   also rewrite its section of docs/benchmarks.md
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
bin=build/p2pdma-sim
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
summary() {  # summary.json -> "executions | wall s | executions/s | findings | kinds | first finding s"
  python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
kinds = sorted({f["kind"] for f in s["findings"]})
first = [f["first_found_s"] for f in s["findings"]]
print(f'{s["executions"]} | {s["wall_seconds"]} | {s["executions_per_second"]} | {s["findings_total"]} | '
      f'{" ".join(kinds) or "-"} | {min(first) if first else "-"}')
PY
}
table="| scenario | variant | expect | executions | wall s | executions/s | findings | kinds | first finding s |
|---|---|---|---:|---:|---:|---:|---|---:|"
for scen in s14_vfio_dmabuf_revoke s14b_vfio_memory_disable s14c_vfio_pinned_importer s14d_vfio_iommufd; do
  f=scenarios/$scen.yaml
  while read -r variant expect; do
    rm -rf "$tmp/c"
    "$bin" fuzz "$f" --variant "$variant" --runs "$runs" --jobs 2 --no-shrink --out "$tmp/c" --json \
      > "$tmp/c.json" || true
    table+="
| $scen | $variant | $expect | $(summary "$tmp/c.json") |"
  done < <("$bin" check "$f" | awk '/^  variant/ {e = $8; sub(/;$/, "", e); print $2, e}')
done
echo "$table"
if [ "${2:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/s14_vfio_campaigns.sh $runs --update\` on
2 cores of: $cpu (\`$(git rev-parse --short HEAD)\`, RelWithDebInfo build).

\`fuzz\` without pins (portfolio strategy, 2 jobs, no shrinking), one campaign per
variant of the S14 scenarios (docs/scenarios/s14_vfio_dmabuf_revoke.md). \"expect\" is
the variant's expectation under its pinned schedule (failures not shown). The
clean variants stay clean; each variant that breaks the protocol is found at once:

$table"
  printf "%s\n" "$section" | bench/update_section.py s14_vfio_campaigns "S14: the vfio dma-buf revoke protocol under fuzz (issue #9)"
fi
