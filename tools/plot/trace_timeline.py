#!/usr/bin/python3
# Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
"""Render a p2pdma-sim trace (Chrome/Perfetto JSON) as a per-CPU timeline.

One row per track (a task on its CPU, or a CPU's interrupt context). Kernel
functions are nested bars, preemption points small ticks, notes grey marks,
findings red stars with their kind. For bug reports and docs, where a
picture of the interleaving says more than the JSON.

  tools/plot/trace_timeline.py TRACE.json OUT.png [--from US] [--to US]
                               [--title TEXT] [--no-points]

The output format follows OUT's extension (png, svg, pdf). Uses Debian's
python3-matplotlib.
"""
import argparse
import hashlib
import json
import sys


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        sys.exit(f"{path}:1:1: error: cannot read trace: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"{path}:{e.lineno}:{e.colno}: error: not JSON: {e.msg}")
    events = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not isinstance(events, list):
        sys.exit(f"{path}:1:1: error: no traceEvents array: not a Chrome/Perfetto trace")
    return events


def build(events):
    names, order = {}, {}
    slices, points, notes, findings = [], [], [], []
    open_stack = {}
    for ev in events:
        ph, tid = ev.get("ph"), ev.get("tid")
        if ph == "M":
            if ev.get("name") == "thread_name":
                names[tid] = ev["args"]["name"]
            elif ev.get("name") == "thread_sort_index":
                order[tid] = ev["args"]["sort_index"]
        elif ph == "B":
            open_stack.setdefault(tid, []).append((float(ev["ts"]), ev["name"]))
        elif ph == "E":
            stack = open_stack.get(tid)
            if stack:
                start, name = stack.pop()
                slices.append((tid, len(stack), start, float(ev["ts"]), name))
        elif ph == "i":
            item = (tid, float(ev["ts"]), ev["name"], ev.get("args", {}))
            cat = ev.get("cat")
            (findings if cat == "finding" else notes if cat == "note" else points).append(item)
    used = {s[0] for s in slices} | {p[0] for p in points + notes + findings}
    tracks = sorted((t for t in names if t in used), key=lambda t: (order.get(t, 0), t))
    return names, tracks, slices, points, notes, findings


def color(name):
    h = int(hashlib.sha1(name.encode()).hexdigest()[:6], 16)
    return ((h >> 16 & 255) / 400 + 0.3, (h >> 8 & 255) / 400 + 0.3, (h & 255) / 400 + 0.3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--from", dest="t0", type=float, help="window start, microseconds")
    ap.add_argument("--to", dest="t1", type=float, help="window end, microseconds")
    ap.add_argument("--title", default=None)
    ap.add_argument("--no-points", action="store_true", help="hide preemption-point ticks")
    args = ap.parse_args()

    names, tracks, slices, points, notes, findings = build(load(args.trace))
    if not tracks:
        sys.exit(f"{args.trace}:1:1: error: the trace has no slices or instants")
    times = [s[2] for s in slices] + [s[3] for s in slices] + [p[1] for p in points + notes + findings]
    t0 = args.t0 if args.t0 is not None else min(times)
    t1 = args.t1 if args.t1 is not None else max(times)
    if t1 <= t0:
        t1 = t0 + 1.0

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    row = {t: i for i, t in enumerate(tracks)}
    fig, ax = plt.subplots(figsize=(14, 1.0 + 0.7 * len(tracks)))
    for tid, depth, start, end, name in slices:
        if end < t0 or start > t1 or tid not in row:
            continue
        # Nested calls shrink toward the bottom of the row: the caller stays visible.
        y = row[tid] - 0.4 + 0.1 * depth
        h = max(0.1, 0.8 - 0.1 * depth)
        ax.broken_barh([(start, max(end - start, (t1 - t0) / 2000))], (y, h),
                       facecolors=color(name), edgecolors="black", linewidth=0.3)
        if depth <= 1 and end - start > (t1 - t0) / 25:
            ax.text(max(start, t0), y + 0.05 + 0.3 * depth, " " + name, va="top", fontsize=6,
                    clip_on=True)
    if not args.no_points:
        for tid, ts, name, _ in points:
            if t0 <= ts <= t1 and tid in row:
                ax.plot([ts, ts], [row[tid] - 0.45, row[tid] + 0.45], color="#444", linewidth=0.4)
    for tid, ts, name, _ in notes:
        if t0 <= ts <= t1 and tid in row:
            ax.plot(ts, row[tid] + 0.42, marker="v", color="#888", markersize=4)
    stagger = {}
    for tid, ts, name, a in findings:
        if t0 <= ts <= t1 and tid in row:
            n = stagger[(tid, ts)] = stagger.get((tid, ts), -1) + 1
            ax.plot(ts, row[tid], marker="*", color="red", markersize=12)
            ax.annotate(name.replace("FINDING ", ""), (ts, row[tid]), xytext=(4, 8 + 9 * n),
                        textcoords="offset points", color="red", fontsize=7)
    ax.set_yticks(range(len(tracks)))
    ax.set_yticklabels([names[t] for t in tracks], fontsize=8)
    ax.set_ylim(len(tracks) - 0.5, -0.5)
    ax.set_xlim(t0, t1)
    ax.set_xlabel("simulated time (µs)")
    ax.grid(axis="x", linewidth=0.3)
    ax.set_title(args.title or args.trace, fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(args.out, dpi=130)
    except (OSError, ValueError) as e:
        sys.exit(f"{args.out}:1:1: error: cannot write figure: {e}")
    print(f"wrote {args.out}: {len(tracks)} tracks, {len(slices)} slices, {len(findings)} findings")


if __name__ == "__main__":
    main()
