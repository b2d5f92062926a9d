#!/usr/bin/env bash
# Install the Debian 12 packages p2pdma-sim needs, build it, and run the
# built-in S1 demo. Idempotent; run as root (or with sudo available).
#   tools/bootstrap.sh            install, build, run the demo
#   tools/bootstrap.sh --no-demo  install and build only
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config libsystemc-dev libboost-dev libboost-context-dev libgoogle-perftools-dev libfmt-dev
          libyaml-cpp-dev catch2 python3 python3-matplotlib parallel chromium
          clang libclang-rt-14-dev)  # clang: the parser fuzzers (tools/fuzz.sh)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j "$(nproc)"

if [ "${1:-}" != "--no-demo" ]; then
  echo
  echo "== S1 on RFC v3 on arm64 (a TLB flush that waits for no CPU): the pinned interleaving leaks a page across processes"
  ./build/p2pdma-sim run scenarios/s1_premature_genalloc_return.yaml --variant rfc-v3 \
      --trace build/s1_rfc-v3.trace.json
  echo
  echo "== the same interleaving on upstream v6.2 (x86)"
  ./build/p2pdma-sim run scenarios/s1_premature_genalloc_return.yaml --variant v6.2 --quiet
fi
