#!/usr/bin/env python3
# Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
"""Write S1 scaled up, for benchmarks of the search (issue #13): A's and
B's buffers PAGES pages long (A maps, pins and unmaps them all; B maps as
many), and GROUPS independent copies of S1's four tasks (processes A, B, C
and the O_DIRECT thread), each copy on its own four CPUs and with its own
events. No pinned schedule; variants rfc-v3 (the race) and rfc-v5 (fixed),
both on arm64 as in S1.

C keeps a one-page buffer: with the RFC designs a mapping's first fault
takes its whole length from genalloc in one contiguous allocation
(pci_p2pdma_vma_fault), so a C mapping PAGES > 1 pages could never receive
the single page GUP-fast frees early inside B's allocation, and the
cross-context leak could not happen at all; the premature free still would.

  bench/scale_s1.py PAGES GROUPS > s1_p8_g1.yaml
"""
import sys

pages, groups = int(sys.argv[1]), int(sys.argv[2])
# Each group maps 3 buffers of PAGES pages; leave room for the pool's
# granularity and a second allocation in flight.
bar_kib = 64
while bar_kib * 1024 < 4 * 4096 * pages * groups:
    bar_kib *= 2
out = [f"""# S1 scaled by bench/scale_s1.py: {pages} page(s) per buffer, {groups} task group(s).
name: s1_p{pages}_g{groups}
description: S1 with {pages}-page buffers and {groups} independent copies of its task group.
topology:
  providers:
    - {{ name: "0000:03:00.0", bar_phys: 0xe0000000, bar_size: {bar_kib}KiB }}
kernel:
  preset: rfc-v3
  cpus: {4 * groups}
tasks:"""]
for g in range(groups):
    c = 4 * g
    out.append(f"""  - name: a_main_g{g}
    cpu: {c}
    process: A{g}
    ops:
      - mmap: {{ provider: "0000:03:00.0", pages: {pages}, as: buf }}
      - store: {{ buf: buf, value: 0xaaaa }}
      - signal: a_mapped_g{g}
      - munmap: buf
      - signal: a_unmapped_g{g}
  - name: a_io_g{g}
    cpu: {c + 1}
    process: A{g}
    ops:
      - wait: a_mapped_g{g}
      - pin: {{ buf: buf, pages: {pages}, flags: [write, pci_p2pdma] }}
      - unpin: all
  - name: b_main_g{g}
    cpu: {c + 2}
    process: B{g}
    ops:
      - wait: a_unmapped_g{g}
      - mmap: {{ provider: "0000:03:00.0", pages: {pages}, as: buf }}
      - store: {{ buf: buf, value: 0xbbbb }}
      - signal: b_written_g{g}
      - wait: c_written_g{g}
      - load: {{ buf: buf, expect: 0xbbbb }}
  - name: c_main_g{g}
    cpu: {c + 3}
    process: C{g}
    ops:
      - wait: b_written_g{g}
      - mmap: {{ provider: "0000:03:00.0", pages: 1, as: buf }}
      - store: {{ buf: buf, value: 0xcccc }}
      - signal: c_written_g{g}""")
out.append("""variants:
  rfc-v3:
    description: RFC v3 on arm64 (the S1 race)
    kernel: { preset: rfc-v3, platform: arm64 }
    expect: [premature_free, use_after_free, cross_context_leak, data_mismatch]
  rfc-v5:
    description: RFC v5 on arm64 (fixed)
    kernel: { preset: rfc-v5, platform: arm64 }
    expect: clean""")
print("\n".join(out))
