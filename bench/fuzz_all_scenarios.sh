#!/usr/bin/env bash
# A soak test of campaigns: `fuzz --jobs 2` for SECONDS (default 600) on the
# first variant of every scenario in scenarios/, sampling the resident
# memory of the campaign (parent and workers) every 5 s. For each scenario
# it prints the executions, bugs, internal errors, the exit status and the
# RSS at the first and the last sample, so a leak shows as growth.
#   bench/fuzz_all_scenarios.sh [SECONDS] [OUT_DIR]
# Exit statuses 0 and 1 are campaigns that ran (1: findings); 3 means an
# internal_error (an execution crashed or hung the simulator), anything
# else a campaign that did not survive.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
out=${2:-build/soak}
bin=build/p2pdma-sim
rm -rf "$out"
mkdir -p "$out"
rss_kib() {  # total RSS of a process and its children, in KiB
  local pids
  pids=$(pgrep -P "$1" | tr "\n" " " || true)
  ps -o rss= -p "$1" $pids 2> /dev/null | awk '{s += $1} END {print s + 0}'
}
printf '%-36s %-22s %10s %5s %9s %5s %10s %10s\n' scenario variant executions bugs int_err exit rss_first rss_last
for s in scenarios/*.yaml; do
  name=$(basename "$s" .yaml)
  # awk reads to the end: exiting early would kill `check` with SIGPIPE (pipefail).
  variant=$("$bin" check "$s" | awk '$1 == "variant" && v == "" {v = $2} END {print v}')
  args=(fuzz "$s" --time "$seconds" --jobs 2 --out "$out/$name" --json)
  [ -n "$variant" ] && args+=(--variant "$variant")
  "$bin" "${args[@]}" > "$out/$name.json" 2> "$out/$name.err" &
  pid=$!
  first="" last=0
  while kill -0 "$pid" 2> /dev/null; do
    sleep 5
    r=$(rss_kib "$pid")
    [ "$r" -gt 0 ] || continue
    [ -n "$first" ] || first=$r
    last=$r
    echo "$(date +%s) $r" >> "$out/$name.rss"
  done
  code=0
  wait "$pid" || code=$?
  read -r execs bugs ie < <(python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
print(s["executions"], len(s["findings"]), sum(1 for f in s["findings"] if f["kind"] == "internal_error"))' \
    "$out/$name.json" 2> /dev/null || echo "- - -")
  printf '%-36s %-22s %10s %5s %9s %5s %9sK %9sK\n' "$name" "${variant:-(base)}" "$execs" "$bugs" "$ie" "$code" \
    "${first:-0}" "$last"
done
