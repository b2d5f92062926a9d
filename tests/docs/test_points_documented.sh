#!/usr/bin/env bash
# Every named preemption point in the code is in docs/scenario-format.md's
# table, and every point in the table still exists: the table cannot drift.
set -euo pipefail
src=$1
code=$(grep -rohE 'pp\("[a-z0-9_:]+"\)' "$src/models" "$src/sim" | sed -E 's/pp\("([^"]+)"\)/\1/' | sort -u)
docs=$(grep -oE '^\| `[a-z0-9_]+:[a-z0-9_]+`' "$src/docs/scenario-format.md" | sed -E 's/^\| `([^`]+)`/\1/' | sort -u)
missing=$(comm -23 <(echo "$code") <(echo "$docs"))
stale=$(comm -13 <(echo "$code") <(echo "$docs"))
[ -z "$missing" ] || { echo "FAIL: points in the code but not documented:"; echo "$missing"; }
[ -z "$stale" ] || { echo "FAIL: documented points that no longer exist:"; echo "$stale"; }
[ -z "$missing$stale" ] || exit 1
echo "$(echo "$code" | wc -l) points documented"
echo "1 passed, 0 failed"
