#!/usr/bin/env bash
# The same scenario, variant and seed give a byte-identical trace:
#  1. 100 runs of one execution, for five scenarios (a pinned race, a
#     random schedule, a hang, the hardware path, an endpoint model's DMA
#     and MSI) hash the same;
#  2. a campaign with --jobs 1 and with --jobs 2 finds the same findings,
#     with the same tokens and the same shrunk traces;
#  3. with OTHER_BINARY (another build: tools/test-determinism.sh passes a
#     Debug one), every variant of every scenario in scenarios/, seeds 1-3
#     under the random strategy, traces the same in both builds.
# Usage: test_determinism.sh BINARY SOURCE_DIR [OTHER_BINARY]
set -euo pipefail
bin=$1 src=$2 other=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"

trace_hash() {  # BINARY ARGS... : the sha256 of the trace of one execution
  local b=$1
  shift
  "$b" run "$@" --quiet --trace "$tmp/t.json" > /dev/null || [ $? -eq 1 ]
  sha256sum < "$tmp/t.json" | cut -c1-16
}

# 1. 100 runs each.
while read -r args; do
  read -ra a <<< "$args"
  first=$(trace_hash "$bin" "${a[@]}")
  for i in $(seq 2 100); do
    h=$(trace_hash "$bin" "${a[@]}")
    [ "$h" = "$first" ] || { echo "FAIL: run $i of '$args' traced $h, run 1 $first"; exit 1; }
  done
  echo "100 runs, one trace ($first): $args"
done <<'RUNS'
scenarios/s1_premature_genalloc_return.yaml --variant rfc-v3
scenarios/s1_premature_genalloc_return.yaml --variant v6.2 --strategy random --no-pins --seed 7
scenarios/x1_zone_device_reset_window.yaml --variant v6.2
scenarios/p2pmem_test_switch.yaml
tests/data/scenarios/tlm_copy_msi.yaml --variant v6.2
RUNS

# 2. --jobs 1 and --jobs 2.
for j in 1 2; do
  "$bin" fuzz scenarios/s1_premature_genalloc_return.yaml --variant rfc-v3 --runs 3000 --jobs $j \
    --shrink-replays 50 --out "$tmp/jobs$j" > /dev/null || [ $? -eq 1 ]
  (cd "$tmp/jobs$j" && python3 - <<'PY' > ../jobs$j.txt
import json
s = json.load(open("state.json"))
for k in ("wall_seconds",): s.pop(k)
for u in s["unique"]: u.pop("first_found_s")
print(json.dumps(s, sort_keys=True))
PY
  for f in $(find findings -type f ! -name finding.json | sort); do  # the listing names its folder
    echo "$f $(sed "s#$tmp/jobs$j#OUT#g" "$f" | sha256sum | cut -c1-16)"
  done >> ../jobs$j.txt)
done
cmp -s "$tmp/jobs1.txt" "$tmp/jobs2.txt" || { echo "FAIL: --jobs 1 and --jobs 2 differ:"; diff "$tmp/jobs1.txt" "$tmp/jobs2.txt" | head; exit 1; }
echo "--jobs 1 and --jobs 2: the same checkpoint (but wall times), tokens and shrunk traces ($(grep -c findings/ "$tmp/jobs1.txt") files)"

# 3. Another build.
if [ -n "$other" ]; then
  n=0
  for s in scenarios/*.yaml; do
    variants=$("$bin" check "$s" | awk '$1 == "variant" {print $2}')
    for v in "" $variants; do
      for seed in 1 2 3; do
        a=("$s" --strategy random --no-pins --seed "$seed")
        [ -n "$v" ] && a+=(--variant "$v")
        h1=$(trace_hash "$bin" "${a[@]}")
        h2=$(trace_hash "$other" "${a[@]}")
        [ "$h1" = "$h2" ] || { echo "FAIL: ${a[*]}: $bin traced $h1, $other $h2"; exit 1; }
        n=$((n + 1))
      done
    done
  done
  echo "$n executions: the same trace from $bin and $other"
fi
echo "1 passed, 0 failed"
