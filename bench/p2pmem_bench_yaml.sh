#!/usr/bin/env bash
# The scenario bench/p2pmem_test_rate.sh and bench/instructions_per_chunk.sh
# measure: p2pmem-test through a switch between two Gen4 x4 NVMe drives, 4 KiB
# chunks, on stdout.
#   bench/p2pmem_bench_yaml.sh CHUNKS [CREDITS]
# CREDITS is appended to every link (", credits: {...}"), or empty.
# The tool maps chunks * chunk_size of p2pmem: 1 GiB of 4 KiB chunks needs a
# 1 GiB buffer, so nvme1 gets a 2 GiB CMB (the rest as in switch_2nvme.yaml).
set -euo pipefail
chunks=$1 credits=${2:-}
cat <<YAML
name: p2pmem_test_switch_bench
topology:
  cpu: { vendor: intel, family: 6 }
  iommu: { enabled: true, mode: lazy }
  host_bridges:
    - name: hb0
      root_device: { vendor: 0x8086, device: 0x2020 }
      root_ports:
        - name: rp0
          link: { gen: 4, lanes: 16$credits }
          below:
            switch:
              name: sw0
              link: { gen: 4, lanes: 16$credits }
              ports:
                - name: sw0p0
                  link: { gen: 4, lanes: 4$credits }
                  below: { endpoint: { name: nvme0, kind: nvme, cmb: 64MiB } }
                - name: sw0p1
                  link: { gen: 4, lanes: 4$credits }
                  below: { endpoint: { name: nvme1, kind: nvme, cmb: 2GiB } }
kernel: { preset: v6.2, cpus: 2 }
limits: { steps: 100000000, time: 600s }
tasks:
  - name: p2pmem_test
    cpu: 0
    process: p2pmem-test
    ops:
      - p2pmem_test: { src: nvme0, dst: nvme1, p2pmem: nvme1, chunks: $chunks, chunk_size: 4KiB }
variants:
  v6.2: { expect: clean }
YAML
