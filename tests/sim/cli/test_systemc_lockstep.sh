#!/usr/bin/env bash
# The SystemC host runs task time ahead of SystemC's while no SystemC
# activity is due (sim/engine/systemc_host.cpp). Every variant of every
# built-in scenario must give the same trace and output as with the clocks in
# lockstep (P2PSIM_SYSTEMC_LOCKSTEP=1: every time advance a SystemC wait), on
# the SystemC host even where --host auto would pick the direct one; and
# three executions in one process (state carried from one to the next) must
# end the same way.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
runs=0 differ=0
for f in scenarios/*.yaml scenarios/reports/*.yaml; do
  variants=$("$bin" run "$f" --variant '?' 2>&1 | sed -n 's/.*this scenario has: //p' | tr -d ',' || true)
  [ -n "$variants" ] || { echo "FAIL: no variants listed for $f"; exit 1; }
  for v in $variants; do
    rc_a=0 rc_b=0
    "$bin" run "$f" --variant "$v" --host systemc --trace "$tmp/t.json" > "$tmp/a.out" 2>&1 || rc_a=$?
    mv "$tmp/t.json" "$tmp/a.json"
    P2PSIM_SYSTEMC_LOCKSTEP=1 "$bin" run "$f" --variant "$v" --host systemc --trace "$tmp/t.json" > "$tmp/b.out" 2>&1 || rc_b=$?
    mv "$tmp/t.json" "$tmp/b.json"
    runs=$((runs + 1))
    if [ "$rc_a" != "$rc_b" ] || ! cmp -s "$tmp/a.json" "$tmp/b.json" || ! cmp -s "$tmp/a.out" "$tmp/b.out"; then
      echo "FAIL: $f --variant $v differs from lockstep (exit $rc_a vs $rc_b)"
      diff "$tmp/a.out" "$tmp/b.out" | head -5
      differ=$((differ + 1))
    fi
    # Three seeds in one process; the summary's wall time and rate aside.
    rc_a=0 rc_b=0
    "$bin" run "$f" --variant "$v" --host systemc --runs 3 2>&1 | sed 's/ in [0-9.]* s ([0-9]*\/s)//' > "$tmp/a.out" || rc_a=$?
    P2PSIM_SYSTEMC_LOCKSTEP=1 "$bin" run "$f" --variant "$v" --host systemc --runs 3 2>&1 |
      sed 's/ in [0-9.]* s ([0-9]*\/s)//' > "$tmp/b.out" || rc_b=$?
    if [ "$rc_a" != "$rc_b" ] || ! cmp -s "$tmp/a.out" "$tmp/b.out"; then
      echo "FAIL: $f --variant $v --runs 3 differs from lockstep (exit $rc_a vs $rc_b)"
      diff "$tmp/a.out" "$tmp/b.out" | head -5
      differ=$((differ + 1))
    fi
  done
done
echo "$runs runs, $differ differ"
[ "$differ" -eq 0 ] && [ "$runs" -gt 50 ]
