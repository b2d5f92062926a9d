#!/usr/bin/env bash
# Simulated time against wall time for p2pmem-test through a switch: two
# Gen4 x4 NVMe drives, 4 KiB chunks, 1 GiB moved (issue #3). The target: at
# least a tenth of real time (1 GiB at device speed in at most ten times as
# long as the device needs); issue #13 asks 5x, issue #10 at least 1x with
# flow-control credits in place, so it runs twice: unbounded buffers, and
# every root and switch port advertising credits (32 posted and 32
# non-posted headers, 512 posted data credits).
#   bench/p2pmem_test_rate.sh [CHUNKS]            print the table
#   bench/p2pmem_test_rate.sh [CHUNKS] --update   also rewrite its section of docs/benchmarks.md
#   REPS=N bench/p2pmem_test_rate.sh ...          runs per configuration (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build_label.sh
chunks=${1:-262144}
reps=${REPS:-5}
[ -x build/p2pdma-sim ] || { echo "build first: tools/bootstrap.sh --no-demo" >&2; exit 2; }
# The plain build, and the profile-guided one when tools/pgo_build.sh made it.
builds=(build)
[ -x build-pgo/p2pdma-sim ] && builds+=(build-pgo)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
measure() {
  local credits=$1 label=$2
bench/p2pmem_bench_yaml.sh "$chunks" "$credits" > "$tmp/bench.yaml"
# Each configuration runs $reps times on one core (taskset -c 0): this
# machine is a shared VM whose speed drifts by a quarter from minute to
# minute, so the table gives the median wall time and the spread.
walls=""
for _ in $(seq "$reps"); do
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$tmp/rss" taskset -c 0 "$bin" run "$tmp/bench.yaml" --variant v6.2 --json > "$tmp/out.json"
  end=$(date +%s.%N)
  walls+="$(python3 -c "print($end - $start)") "
done
read -r table row < <(python3 - "$tmp/out.json" "$walls" "$chunks" "$(tail -1 "$tmp/rss")" "$label" "$(build_label "$dir")" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))
walls = sorted(float(w) for w in sys.argv[2].split())
rss_mib = int(sys.argv[4]) / 1024
wall = statistics.median(walls)
sim = r["simulated_ps"] / 1e12
moved = int(sys.argv[3]) * 4096
rate = [l for l in r["output"] if "/s" in l][0].strip()
check = "(no --check: 1 GiB more to compare)"
print("x", f"| {sys.argv[6]} | {sys.argv[5]} | {moved / 2**30:.2f} GiB | {sim:.3f} | {wall:.2f} ({walls[0]:.2f}-{walls[-1]:.2f}) "
      f"| {sim / wall:.2f} ({sim / walls[-1]:.2f}-{sim / walls[0]:.2f}) | {rate.split('    ')[-1]} | {rss_mib:.0f} | {check} | {r['verdict']} |")
PY
)
rows+="
$row"
}
rows=""
for dir in "${builds[@]}"; do
  bin=$dir/p2pdma-sim
  measure "" "unbounded buffers"
  measure ", credits: { posted: [32, 512], non_posted: [32, 0] }" "credits at every port"
done
header="| build | buffers | moved | simulated s | wall s, median (min-max) of $reps | simulated/wall (spread) | p2pmem-test rate | peak RSS MiB | check | verdict |
|---|---|---|---:|---:|---:|---:|---:|---|---|"
echo "$header$rows"
if [ "${2:-}" = "--update" ]; then
  cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  section="Measured $(date -u +%Y-%m-%d) with \`bench/p2pmem_test_rate.sh $chunks --update\`, $reps runs per row, on one core of: $cpu
(\`$(git rev-parse --short HEAD)\`; builds: $(for d in "${builds[@]}"; do echo -n "$d/ $(build_label "$d"); "; done | sed 's/; $//')). One process, wall time includes start-up,
and the kernel's mmap of the 1 GiB buffer (262,144 vm_insert_page calls).

$header$rows"
  printf "%s\n" "$section" | bench/update_section.py p2pmem_test_rate "p2pmem-test through a switch (issue #3)"
fi
