# Sourced by the bench scripts: build_label DIR prints what the build
# directory DIR was configured as ("Release", "RelWithDebInfo+PGO"), for
# the line each script writes above its table in docs/benchmarks.md.
build_label() {
  local type pgo
  type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$1/CMakeCache.txt")
  pgo=$(sed -n 's/^P2PSIM_PGO:[A-Z]*=//p' "$1/CMakeCache.txt")
  [ "$pgo" = use ] && type+="+PGO"
  echo "${type:-unknown}"
}
