#!/usr/bin/env bash
# Wall time of a 50-configuration report sweep (issue #10): link_config.yaml
# over link generation 1-5 x width 1-16 x MPS 128/256, every configuration in
# its own process, at --jobs 1 and 2; median of REPEATS (default 3) runs each,
# measured with /usr/bin/time (peak RSS of the largest process).
#   bench/report_sweep.sh [--update]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
bin=build/p2pdma-sim
repeats=${REPEATS:-3}
[ -x "$bin" ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sweep=(--sweep gen=1,2,3,4,5 --sweep lanes=1,2,4,8,16 --sweep mps=128,256)
table="| jobs | configurations | wall s (median of $repeats) | min-max wall s | s per configuration | peak RSS MiB |
|---:|---:|---:|---:|---:|---:|"
for jobs in 1 2; do
  walls=() rss=0 n=0
  for r in $(seq 1 "$repeats"); do
    rm -rf "$tmp/out"
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin" report scenarios/reports/link_config.yaml --out "$tmp/out" \
        "${sweep[@]}" --jobs "$jobs" > "$tmp/log"
    read -r wall kb < "$tmp/time"
    walls+=("$wall")
    rss=$(( kb > rss ? kb : rss ))
    n=$(( $(wc -l < "$tmp/out/results.csv") - 1 ))
    grep -q ",ok," "$tmp/out/results.csv" || { echo "no configuration ran" >&2; exit 1; }
  done
  row=$(python3 - "$n" "$((rss / 1024))" "${walls[@]}" <<'PY'
import statistics, sys
n, rss = int(sys.argv[1]), sys.argv[2]
w = sorted(float(x) for x in sys.argv[3:])
m = statistics.median(w)
print(f"{n} | {m:.2f} | {w[0]:.2f}-{w[-1]:.2f} | {m / n:.3f} | {rss}")
PY
)
  table+="
| $jobs | $row |"
done
echo "$table"
if [ "${1:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/report_sweep.sh --update\` on: $cpu, $(nproc) cores
(\`$(git rev-parse --short HEAD)\`, $(build_label build) build). \`report scenarios/reports/link_config.yaml\`
over gen 1-5 x lanes 1-16 x MPS 128/256; each configuration is one process that elaborates
SystemC, boots the platform and copies 8 MiB with p2pmem-test (4 threads, 128 KiB chunks).
The peak RSS is the parent's or one child's, whichever is larger (/usr/bin/time %M).

$table"
  printf "%s\n" "$section" | bench/update_section.py report_sweep "A 50-configuration report sweep (issue #10)"
fi
