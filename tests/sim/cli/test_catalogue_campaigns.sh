#!/usr/bin/env bash
# The race catalogue as regression campaigns: every variant of every race
# scenario in scenarios/ must give its expectation under its pinned schedule
# (`run`), then gets a bounded fuzz campaign without pins: a variant
# expected clean must find nothing; one expected to find something must
# find it. (Data-path scenarios, p2pmem_test_* and tlm_copy_engine,
# run one execution in their own tests.)
#   test_catalogue_campaigns.sh P2PDMA_SIM SOURCE_DIR [RUNS]
set -euo pipefail
bin=$1 src=$2 runs=${3:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
for f in "$src"/scenarios/s*.yaml "$src"/scenarios/x*.yaml; do
  # Scenarios with device models run on SystemC, about 100x slower per execution.
  n=$runs
  grep -Eq 'kind: *(nvme|tlm)|include:' "$f" && n=$((runs / 20))
  while read -r variant expect; do
    if ! "$bin" run "$f" --variant "$variant" > "$tmp/run" 2>&1; then
      fail=$((fail + 1))
      echo "FAIL: $(basename "$f") --variant $variant: run not as expected ($expect):"
      sed 's/^/    /' "$tmp/run" | grep -E 'verdict|expected|failures' | head -4
      continue
    fi
    rm -rf "$tmp/c"
    rc=0
    "$bin" fuzz "$f" --variant "$variant" --runs "$n" --jobs 2 --no-shrink --out "$tmp/c" > "$tmp/out" 2>&1 || rc=$?
    want=0
    [ "$expect" = clean ] || want=1
    if [ "$rc" = "$want" ]; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL: $(basename "$f") --variant $variant expects $expect; fuzz --runs $n exited $rc:"
      sed 's/^/    /' "$tmp/out" | head -8
    fi
  done < <("$bin" check "$f" | awk '/^  variant/ {e = $8; sub(/;$/, "", e); print $2, e}')
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
