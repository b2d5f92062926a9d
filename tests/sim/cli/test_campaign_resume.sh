#!/usr/bin/env bash
# A campaign killed with SIGKILL and rerun with --resume ends with the same
# executions and unique findings as an uninterrupted one over the same seeds.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s1=$src/scenarios/s1_premature_genalloc_return.yaml
checkpointed() {
  python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["executions"])
except (OSError, ValueError): print(-1)' "$1"
}
# Enough executions for about 8 s at this build's rate (a sanitizer build
# runs ten times slower than Release): the first checkpoint with progress
# comes a second after the start, so the kill lands well before the end.
rate=$("$bin" fuzz "$s1" --variant rfc-v3 --runs 20000 --jobs 2 --no-shrink --json --out "$tmp/calibrate" |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["executions_per_second"])') || [ $? -eq 1 ]
runs=$(( rate * 8 > 100000 ? rate * 8 : 100000 ))
echo "$rate executions/s: $runs executions per campaign"
args=(fuzz "$s1" --variant rfc-v3 --runs $runs --jobs 2 --no-shrink --json)

"$bin" "${args[@]}" --out "$tmp/whole" > "$tmp/whole.json" || [ $? -eq 1 ]

# Kill as soon as a checkpoint records progress, not after a fixed sleep:
# how long that takes depends on the machine and on what else it runs.
setsid "$bin" "${args[@]}" --out "$tmp/cut" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  n=$(checkpointed "$tmp/cut/state.json")
  [ "$n" -gt 0 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -9 -- "-$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
cut_execs=$(checkpointed "$tmp/cut/state.json")
echo "killed after $cut_execs checkpointed executions"
[ "$cut_execs" -ge 0 ] || { echo "FAIL: no state.json in $tmp/cut after the kill"; exit 1; }
[ "$cut_execs" -lt $runs ] || { echo "FAIL: the campaign finished before the kill; nothing was tested"; exit 1; }

"$bin" "${args[@]}" --out "$tmp/cut" --resume > "$tmp/cut.json" || [ $? -eq 1 ]

python3 - "$tmp/whole.json" "$tmp/cut.json" $runs <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
runs = int(sys.argv[3])
def sigs(s): return sorted((f["signature"], f["count"], f["seed"]) for f in s["findings"])
assert a["executions"] == b["executions"] == runs, (a["executions"], b["executions"])
assert sigs(a) == sigs(b), (sigs(a), sigs(b))
assert a["findings_total"] == b["findings_total"], (a["findings_total"], b["findings_total"])
print(f"{a['executions']} executions, {len(a['findings'])} unique findings, identical after kill -9 and resume")
PY
echo "1 passed, 0 failed"
