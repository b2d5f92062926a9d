#!/usr/bin/env bash
# tools/plot/report.py draws a real report: four PNG figures and a page that
# embeds them; headless Chromium (Debian's chromium) renders the page with
# every figure loaded, and its screenshot is a picture, not a blank page.
# Bad input gets a file:line:column message and exit 2.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" report "$src/scenarios/reports/switch_vs_rc.yaml" --out "$tmp/r" \
    --sweep path=switch,rc --sweep rc_mb_per_s=2000 --sweep chunk_size=4KiB,128KiB >/dev/null
"$src/tools/plot/report.py" "$tmp/r"
for f in throughput latency_cdf links validation; do
  [ "$(head -c 8 "$tmp/r/$f.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || { echo "FAIL: $f.png is not a PNG"; exit 1; }
  [ "$(stat -c %s "$tmp/r/$f.png")" -gt 15000 ] || { echo "FAIL: $f.png suspiciously small"; exit 1; }
done
n=$(grep -o "src='data:image/png;base64," "$tmp/r/report.html" | wc -l)
[ "$n" -eq 4 ] || { echo "FAIL: report.html embeds $n figures, not 4"; exit 1; }
grep -q "Highest throughput: <b>path=switch" "$tmp/r/report.html" || { echo "FAIL: comparison does not lead with the switch"; exit 1; }

command -v chromium >/dev/null || { echo "FAIL: chromium is not installed (tools/bootstrap.sh installs it)"; exit 1; }
chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/chrome")
body=$("${chrome[@]}" --virtual-time-budget=5000 --dump-dom "file://$tmp/r/report.html" 2>/dev/null | grep -o '<body[^>]*>')
[[ $body == *'data-figures="4"'*'data-figures-loaded="4"'* ]] || { echo "FAIL: figures did not load: $body"; exit 1; }
"${chrome[@]}" --window-size=1200,4000 --screenshot="$tmp/shot.png" "file://$tmp/r/report.html" >/dev/null 2>&1
/usr/bin/python3 - "$tmp/shot.png" <<'PY'
import sys
import matplotlib.image as mpimg
img = mpimg.imread(sys.argv[1])[:, :, :3]
h, w, _ = img.shape
ink = (img.sum(axis=2) < 2.9).mean()             # share of pixels that are not white
colours = len({tuple((p * 15).astype(int)) for p in img[::7, ::7].reshape(-1, 3)})
print(f"screenshot {w}x{h}: {ink:.1%} ink, {colours} colours")
if w != 1200 or ink < 0.05 or colours < 40:
    sys.exit("FAIL: the screenshot does not look like a page with figures")
PY

mkdir -p "$tmp/bad"
echo '{"rows": 3}' > "$tmp/bad/results.json"
if err=$("$src/tools/plot/report.py" "$tmp/bad" 2>&1); then echo "FAIL: bad results accepted"; exit 1; fi
[[ $err == "$tmp/bad/results.json:1:1: error: not a p2pdma-sim report"* ]] || { echo "FAIL: message: $err"; exit 1; }
echo "1 passed, 0 failed"
