#!/usr/bin/env bash
# Two shards of one campaign under GNU parallel, then merge: the shards'
# seeds do not overlap and the merge dedups their findings.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s1=$src/scenarios/s1_premature_genalloc_return.yaml
parallel --will-cite --halt never "'$bin' fuzz '$s1' --variant rfc-v3 --runs 20000 --no-shrink --shard {}/2 --out '$tmp/shard{}' --json > '$tmp/shard{}.out'; test \$? -le 1" ::: 1 2
"$bin" merge "$tmp/shard1" "$tmp/shard2" --out "$tmp/merged" --json > "$tmp/merged.json" || [ $? -eq 1 ]
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
s1, s2, m = (json.load(open(f"{d}/{n}")) for n in ("shard1/summary.json", "shard2/summary.json", "merged.json"))
seeds1 = {f["seed"] for f in s1["findings"]}
seeds2 = {f["seed"] for f in s2["findings"]}
assert all(s % 2 == 1 for s in seeds1) and all(s % 2 == 0 for s in seeds2), (seeds1, seeds2)
assert m["executions"] == s1["executions"] + s2["executions"] == 40000
sig = lambda s: {f["signature"] for f in s["findings"]}
assert sig(m) == sig(s1) | sig(s2)
for f in m["findings"]:
    total = sum(g["count"] for s in (s1, s2) for g in s["findings"] if g["signature"] == f["signature"])
    assert f["count"] == total, (f["signature"], f["count"], total)
print(f"shards: {len(sig(s1))} + {len(sig(s2))} unique -> merged {len(sig(m))}, {m['executions']} executions")
PY
echo "1 passed, 0 failed"
