#!/usr/bin/env bash
# replay --emit-schedule turns a campaign finding's decisions into pins; the
# block, put in place of S1's own schedule, makes `run` reproduce the finding
# with the timed strategy: a regression scenario from a fuzz finding.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s1=$src/scenarios/s1_premature_genalloc_return.yaml
"$bin" fuzz "$s1" --variant rfc-v3 --runs 2000 --shrink-replays 100 --out "$tmp/c" > /dev/null || [ $? -eq 1 ]
# The leak is a symptom of a premature free: the bug whose folder shows it.
leak=$(dirname "$(grep -l '"cross_context_leak' "$tmp"/c/findings/*/finding.json | head -1)")
out=$("$bin" replay "$leak/replay.token" --quiet --emit-schedule "$tmp/schedule.yaml")
echo "$out" | tail -1
echo "$out" | grep -q "it reproduces" || { echo "FAIL: the exported pins do not reproduce"; exit 1; }
grep -q '^schedule:$' "$tmp/schedule.yaml" && grep -q '    until: { task: ' "$tmp/schedule.yaml"

# A copy of S1 whose schedule is the exported one (comments and all).
python3 - "$s1" "$tmp/schedule.yaml" "$tmp/s1_regression.yaml" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
start = lines.index("schedule:")
end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("variants:"))
out = lines[:start] + open(sys.argv[2]).read().rstrip("\n").split("\n") + lines[end:]
open(sys.argv[3], "w").write("\n".join(out))
PY
"$bin" check "$tmp/s1_regression.yaml" > /dev/null
code=0
"$bin" run "$tmp/s1_regression.yaml" --variant rfc-v3 --quiet > "$tmp/run.txt" || code=$?
grep -q '^verdict: .*cross_context_leak' "$tmp/run.txt" && [ "$code" -eq 0 ] ||
  { echo "FAIL: the regression scenario gives:"; cat "$tmp/run.txt"; exit 1; }
echo "the exported schedule, pasted into S1, reproduces the leak with the timed strategy"
echo "1 passed, 0 failed"
