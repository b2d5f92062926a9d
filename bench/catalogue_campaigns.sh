#!/usr/bin/env bash
# Catalogue fuzz campaigns of RUNS executions per variant (issue #9), one
# campaign per variant of each named scenario. Variants expected clean must
# stay clean; the others must be found, and how soon is measured.
#   bench/catalogue_campaigns.sh GROUP [RUNS] [--update]
# GROUP names the scenarios and the section of docs/benchmarks.md:
#   s14  the vfio-pci dma-buf revoke protocol (S14, S14b-f)
#   s3   munmap() vs unmap_mapping_range() (S3)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
group=${1:?usage: bench/catalogue_campaigns.sh s14|s3 [RUNS] [--update]}
runs=${2:-1000000}
case "$group" in
  s14)
    scenarios=(s14_vfio_dmabuf_revoke s14b_vfio_memory_disable s14c_vfio_pinned_importer s14d_vfio_iommufd
               s14e_vfio_dmabuf_fd_exhaustion s14f_vfio_revoke_drain_twice)
    section=s14_vfio_campaigns title="S14: the vfio dma-buf revoke protocol under fuzz (issue #9)"
    about="the S14 scenarios (docs/scenarios/s14_vfio_dmabuf_revoke.md)" ;;
  s3)
    scenarios=(s3_munmap_vs_unmap_mapping_range)
    section=s3_campaigns title="S3: munmap() against a zap that finds no VMA, under fuzz (issue #9)"
    about="S3 (docs/scenarios/s3_munmap_vs_unmap_mapping_range.md)" ;;
  *) echo "unknown group '$group': s14 or s3" >&2; exit 2 ;;
esac
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
for scen in "${scenarios[@]}"; do
  f=scenarios/$scen.yaml
  while read -r variant expect; do
    rm -rf "$tmp/c"
    "$bin" fuzz "$f" --variant "$variant" --runs "$runs" --jobs 2 --no-shrink --out "$tmp/c" --json \
      > "$tmp/c.json" || true
    table+="
| $scen | $variant | $expect | $(summary "$tmp/c.json") |"
  done < <("$bin" check "$f" | awk '/^  variant/ {
    e = ""  # the expectation: one word, or a list of kinds ending at ";" or at the knobs
    for (i = 8; i <= NF && $i !~ /=/; i++) { w = $i; last = sub(/;$/, "", w); e = e (e == "" ? "" : ",") w; if (last) break }
    print $2, e }')
done
echo "$table"
if [ "${3:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  build=$(build_label build)
  body="Measured $(date -u +%Y-%m-%d) with \`bench/catalogue_campaigns.sh $group $runs --update\` on
2 cores of: $cpu (\`$(git rev-parse --short HEAD)\`, $build build).

\`fuzz\` without pins (portfolio strategy, 2 jobs, no shrinking), one campaign per
variant of $about. \"expect\" is
the variant's expectation under its pinned schedule (failures not shown). The
clean variants stay clean; each broken one is found:

$table"
  printf "%s\n" "$body" | bench/update_section.py "$section" "$title"
fi
