#!/usr/bin/env bash
# A campaign killed while it writes finding folders, then resumed, ends with
# the same folders under the same numbers as an uninterrupted one, and no
# temporaries or half-written folders left behind. The kill is staged
# exactly: the checkpoint is written after each folder, so a kill during the
# second folder leaves a checkpoint recording only the first, the second
# folder half written, and a temporary of an atomic write.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s1=$src/scenarios/s1_premature_genalloc_return.yaml
args=(fuzz "$s1" --variant rfc-v3 --runs 3000 --jobs 1 --shrink-replays 50 --json)

"$bin" "${args[@]}" --out "$tmp/whole" > /dev/null || [ $? -eq 1 ]
(cd "$tmp/whole/findings" && ls) > "$tmp/whole.list"
n=$(wc -l < "$tmp/whole.list")
echo "uninterrupted: $n finding folders"
[ "$n" -ge 2 ] || { echo "FAIL: need two or more folders to test numbering"; exit 1; }

cp -r "$tmp/whole" "$tmp/cut"
first=$(head -1 "$tmp/whole.list")
python3 - "$tmp/cut/state.json" "findings/$first" <<'PY'
import json, sys
path, keep = sys.argv[1], sys.argv[2]
s = json.load(open(path))
for u in s["unique"]:
    if u["dir"] != keep:
        u["dir"] = ""          # the checkpoint before these folders were written
json.dump(s, open(path, "w"))
PY
for d in $(tail -n +3 "$tmp/whole.list"); do rm -rf "$tmp/cut/findings/$d"; done
second=$(sed -n 2p "$tmp/whole.list")
rm "$tmp/cut/findings/$second/finding.json"            # half written
echo '{"traceEv' > "$tmp/cut/findings/$first/.trace.json.p2psim-tmp.4242"
echo '{"vers' > "$tmp/cut/.state.json.p2psim-tmp.4242"

"$bin" "${args[@]}" --out "$tmp/cut" --resume > /dev/null || [ $? -eq 1 ]
(cd "$tmp/cut/findings" && ls) > "$tmp/cut.list"
diff "$tmp/whole.list" "$tmp/cut.list" || { echo "FAIL: folders differ after resume (above)"; exit 1; }
for d in $(cat "$tmp/whole.list"); do
  cmp "$tmp/whole/findings/$d/replay.token" "$tmp/cut/findings/$d/replay.token" ||
    { echo "FAIL: $d holds another finding after resume"; exit 1; }
  [ -s "$tmp/cut/findings/$d/finding.json" ] || { echo "FAIL: $d/finding.json missing"; exit 1; }
done
left=$(find "$tmp/cut" -name '*.p2psim-tmp.*' | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left temporaries left"; exit 1; }
echo "$n folders, same numbers and contents after a staged kill and --resume; no temporaries"
echo "1 passed, 0 failed"
