#!/usr/bin/env bash
# tools/plot/trace_timeline.py renders a real S1 trace, and refuses bad input
# with a file:line:column message.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" run "$src/scenarios/s1_premature_genalloc_return.yaml" --variant rfc-v3 --trace "$tmp/t.json" --quiet >/dev/null
out=$("$src/tools/plot/trace_timeline.py" "$tmp/t.json" "$tmp/t.png" --to 6)
echo "$out"
[[ $out == *"5 tracks"*"4 findings"* ]] || { echo "FAIL: unexpected summary"; exit 1; }
[ "$(head -c 8 "$tmp/t.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || { echo "FAIL: not a PNG"; exit 1; }
[ "$(stat -c %s "$tmp/t.png")" -gt 20000 ] || { echo "FAIL: PNG suspiciously small"; exit 1; }
echo '{"nope": 1}' > "$tmp/bad.json"
if err=$("$src/tools/plot/trace_timeline.py" "$tmp/bad.json" "$tmp/b.png" 2>&1); then
  echo "FAIL: bad trace accepted"; exit 1
fi
[[ $err == "$tmp/bad.json:1:1: error: no traceEvents array"* ]] || { echo "FAIL: message: $err"; exit 1; }
echo "1 passed, 0 failed"
