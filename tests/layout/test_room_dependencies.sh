#!/usr/bin/env bash
# Dependencies between the rooms of the tree go one way (docs/architecture.md):
#   models/common -> models/{hw,kernel} -> sim/output -> sim/engine -> sim/scenario
#   -> sim/platform -> sim/workload -> sim/explore -> sim/{report,api} -> sim/cli
# A source may include its own room's headers and those of rooms below it,
# never above it nor a sibling. The public header (include/p2psim/) includes
# only standard headers, and only the api room, programs and tests use it.
# Usage: test_room_dependencies.sh SOURCE_DIR
set -uo pipefail
cd "${1:?usage: $0 SOURCE_DIR}"

declare -A rank=(
  [common]=0 [hw]=1 [kernel]=1
  [output]=2 [engine]=3 [scenario]=4 [platform]=5 [workload]=6 [explore]=7
  [report]=8 [api]=8 [cli]=9
)
# The room of a file, from its path: models/kernel/x.cpp -> kernel.
room_of() { local p=${1#models/}; p=${p#sim/}; echo "${p%%/*}"; }

bad=0
checked=0
while IFS= read -r file; do
  from=$(room_of "$file")
  if [ -z "${rank[$from]+x}" ]; then
    echo "$file: room '$from' has no rank: add it to $0 and docs/architecture.md"
    bad=1
    continue
  fi
  while IFS=: read -r line inc; do
    to=${inc%%/*}
    checked=$((checked + 1))
    if [ "$to" = p2psim ]; then
      [ "$from" = api ] && continue
      echo "$file:$line: includes the public header \"$inc\": only sim/api implements it"
      bad=1
      continue
    fi
    [ "$to" = "$from" ] && continue
    if [ -z "${rank[$to]+x}" ]; then
      echo "$file:$line: includes \"$inc\" from no known room"
      bad=1
    elif [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
      echo "$file:$line: $from includes \"$inc\" of $to, which is not below it"
      bad=1
    fi
  done < <(grep -noE '^#include "[^"]+"' "$file" | sed -E 's/^([0-9]+):#include "([^"]+)"/\1:\2/' |
           grep -v ':preemption_points.inc$')
done < <(find models sim -name '*.h' -o -name '*.cpp' | sort)

# The public header stands alone: standard headers only.
if grep -nE '^#include "' include/p2psim/*.h; then
  echo "include/p2psim: the public headers include project headers (above)"
  bad=1
fi
# Model tests link without SystemC: they include only models.
if grep -rnE '^#include "(output|engine|scenario|platform|workload|explore|api|cli)/' tests/models; then
  echo "tests/models: a model test includes a sim/ header (above); move it under tests/sim"
  bad=1
fi

# CTest splits discovered test names at ';' (a CMake list): such a case
# would be registered under a prefix of its name and silently run nothing.
if grep -rnE 'TEST_CASE\("[^"]*;' tests; then
  echo "tests: a TEST_CASE name holds ';' (above): CTest would run none of it"
  bad=1
fi

[ "$checked" -gt 100 ] || { echo "only $checked includes checked: is this the source tree?"; bad=1; }
[ $bad -eq 0 ] && echo "room dependencies: $checked includes checked, all one-way"
exit $bad
