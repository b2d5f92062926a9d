#!/usr/bin/env python3
# Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
"""Replace the <!-- NAME:begin --> ... <!-- NAME:end --> section of
docs/benchmarks.md with standard input (markers included), appending the
section under TITLE when it is not there yet.

  bench/update_section.py NAME "TITLE" < section.md
"""
import re
import sys

name, title = sys.argv[1], sys.argv[2]
body = sys.stdin.read().rstrip("\n")
path = "docs/benchmarks.md"
text = open(path, encoding="utf-8").read()
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
if begin not in text:
    text = text.rstrip("\n") + f"\n\n## {title}\n\n{begin}\n{end}\n"
section = f"{begin}\n{body}\n{end}"
text = re.sub(re.escape(begin) + ".*" + re.escape(end), lambda m: section, text, flags=re.S)
open(path, "w", encoding="utf-8").write(text)
print(f"updated {path}")
