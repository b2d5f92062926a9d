#!/usr/bin/python3
# Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
"""Draw a `p2pdma-sim report` directory: figures and a self-contained page.

  tools/plot/report.py DIR [--x KEY]

Reads DIR/results.json and writes into DIR:
  throughput.png   throughput against one swept key (--x; default: the last
                   swept key whose values are numbers or sizes), a line per
                   combination of the other keys
  latency_cdf.png  the I/O latency CDF of every configuration
  links.png        each link's utilisation per direction, per configuration
  validation.png   the simulated PCIe link against the pcie-model it implements
  report.html      the comparison first, then the figures (embedded), the
                   per-link table and the validation

Uses Debian's python3-matplotlib. Exit 2 with FILE:LINE:COL on bad input.
"""
import argparse
import base64
import html
import json
import math
import os
import re
import sys

SIZE_UNITS = {"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


def load(directory):
    path = os.path.join(directory, "results.json")
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        fail(f"{path}:1:1: error: cannot read the report results: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}:{e.lineno}:{e.colno}: error: not JSON: {e.msg}")
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        fail(f"{path}:1:1: error: not a p2pdma-sim report (no \"rows\")")
    return doc


def as_number(v):
    """'4KiB' -> 4096, '256' -> 256, '110ns' -> None."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?", str(v))
    if not m:
        return None
    return float(m.group(1)) * SIZE_UNITS[m.group(2) or ""]


def label(cfg, keys):
    return ", ".join(f"{k}={cfg[k]}" for k in keys) if keys else "defaults"


def metric(row, name):
    v = (row.get("metrics") or {}).get(name)
    return v if isinstance(v, (int, float)) else math.nan


def pick_x(doc, wanted):
    keys = [a["key"] for a in doc["sweep"]]
    if wanted:
        if wanted not in keys:
            fail(f"--x {wanted}: not a swept key (swept: {', '.join(keys) or 'none'})")
        return wanted
    numeric = [a["key"] for a in doc["sweep"] if all(as_number(v) is not None for v in a["values"])]
    return numeric[-1] if numeric else (keys[-1] if keys else None)


def throughput_figure(plt, doc, rows, x, out):
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    others = [a["key"] for a in doc["sweep"] if a["key"] != x]
    if x is None:
        ax.bar(["defaults"], [metric(rows[0], "throughput_GBps")])
    else:
        values = next(a["values"] for a in doc["sweep"] if a["key"] == x)
        numeric = all(as_number(v) is not None for v in values)
        groups = {}
        for r in rows:
            groups.setdefault(label(r["config"], others), []).append(r)
        for name, rs in groups.items():
            rs = sorted(rs, key=lambda r: values.index(r["config"][x]))
            xs = [as_number(r["config"][x]) if numeric else values.index(r["config"][x]) for r in rs]
            ax.plot(xs, [metric(r, "throughput_GBps") for r in rs], marker="o", label=name)
        if numeric:
            if max(as_number(v) for v in values) / max(min(as_number(v) for v in values), 1) >= 16:
                ax.set_xscale("log", base=2)
            ax.set_xticks([as_number(v) for v in values])
            ax.set_xticklabels(values)
        else:
            ax.set_xticks(range(len(values)))
            ax.set_xticklabels(values)
        ax.set_xlabel(x)
        if len(groups) > 1:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_ylabel("throughput (GB/s)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_title("throughput (payload of every p2pmem-test or fio run)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def latency_figure(plt, doc, rows, out):
    keys = [a["key"] for a in doc["sweep"]]
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    styles = ["-", "--", ":", "-."]
    for n, r in enumerate(rows):
        cdf = r.get("latency_cdf_us") or []
        if cdf:
            ax.plot(cdf, [i / (len(cdf) - 1) for i in range(len(cdf))], linestyle=styles[(n // 10) % 4],
                    label=f"#{r['index']} {label(r['config'], keys)}")
    ax.set_xscale("log")
    ax.set_xlabel("I/O latency (µs)")
    ax.set_ylabel("fraction of I/Os")
    ax.grid(alpha=0.3)
    if len(rows) <= 20:
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("latency CDF (every read and write)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def links_figure(plt, rows, out):
    names = []
    for r in rows:
        for l in r.get("links", []):
            for d in ("up", "down"):
                n = f"{l['name']} {d} (Gen{l['gen']} x{l['lanes']})"
                if n not in names:
                    names.append(n)
    grid = [[math.nan] * len(rows) for _ in names]
    for j, r in enumerate(rows):
        for l in r.get("links", []):
            for d in ("up", "down"):
                grid[names.index(f"{l['name']} {d} (Gen{l['gen']} x{l['lanes']})")][j] = l[f"{d}_util"] or 0
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(rows) + 3), max(3, 0.35 * len(names) + 1.5)))
    im = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([str(r["index"]) for r in rows], fontsize=8)
    ax.set_xlabel("configuration (index in the table)")
    if len(rows) * len(names) <= 200:
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                if not math.isnan(v):
                    ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=6,
                            color="white" if v < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="share of the wire carrying TLPs")
    ax.set_title("link utilisation (up = away from the device)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def validation_figure(plt, doc, out):
    val = doc.get("validation") or []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    # At most six configurations drawn (the table on the page has them all).
    shown = sorted({(v["gen"], v["lanes"], v["mps"], v["mrrs"]) for v in val})[:6]
    for ax, op in zip(axes, ("write", "read")):
        configs = [c for c in shown if any((v["gen"], v["lanes"], v["mps"], v["mrrs"]) == c for v in val)]
        for c in configs:
            pts = sorted((v["bytes"], v["pcie_model_gbps"], v["simulated_gbps"]) for v in val
                         if v["op"] == op and (v["gen"], v["lanes"], v["mps"], v["mrrs"]) == c)
            name = f"Gen{c[0]} x{c[1]} MPS {c[2]}"
            line, = ax.plot([p[0] for p in pts], [p[2] for p in pts], marker="o", label=f"{name} simulated")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="--", color=line.get_color(),
                    label=f"{name} pcie-model")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("transfer size (bytes)")
        ax.set_title(f"DMA {op}s, back to back")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("payload Gb/s")
    axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def embed(path):
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode()


def fmt(v, digits=3):
    if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
        if abs(v) >= 1000:
            return f"{v:,.0f}"  # IOPS and byte counts: whole numbers, not 1.22e+06
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)
    return "–"


def page(doc, rows, figures, directory):
    keys = [a["key"] for a in doc["sweep"]]
    cols = [("throughput_GBps", "GB/s"), ("iops", "IOPS"), ("latency_p50_us", "p50 µs"),
            ("latency_p99_us", "p99 µs"), ("latency_p999_us", "p99.9 µs"), ("rc_p2p_GBps", "RC P2P GB/s"),
            ("iotlb_hit_rate", "IOTLB hit rate"), ("real_time_factor", "real-time factor")]
    ok = [r for r in rows if r.get("status") == "ok" and not math.isnan(metric(r, "throughput_GBps"))]
    best = max(ok, key=lambda r: metric(r, "throughput_GBps")) if ok else None
    h = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
         f"<title>p2pdma-sim report: {html.escape(doc['scenario'])}</title>",
         "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
         "th{background:#f0f0f0}td.k{text-align:left}tr.best{background:#e8f6e8}img{max-width:100%;margin:1em 0}"
         ".note{color:#555;font-size:13px}</style></head><body>",
         f"<h1>Topology report: {html.escape(doc['scenario'])}</h1>",
         f"<p class='note'>{doc['configurations']} configuration(s), seed {doc['seed']}, strategy "
         f"{doc['strategy']}; swept: {html.escape(', '.join(keys) or 'nothing (the defaults)')}. "
         f"Throughput in GB/s (1e9 bytes/s) of payload over the timed part of the workloads "
         f"(p2pmem-test, fio).</p>",
         "<h2>Comparison</h2>"]
    if best:
        h.append(f"<p>Highest throughput: <b>{html.escape(label(best['config'], keys))}</b> at "
                 f"{metric(best, 'throughput_GBps'):.3g} GB/s (highlighted).</p>")
    h.append("<table><tr><th>#</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in keys) +
             "".join(f"<th>{c[1]}</th>" for c in cols) + "<th>status</th></tr>")
    for r in rows:
        cls = " class='best'" if r is best else ""
        h.append(f"<tr{cls}><td>{r['index']}</td>" +
                 "".join(f"<td class='k'>{html.escape(str(r['config'].get(k, '')))}</td>" for k in keys) +
                 "".join(f"<td>{fmt(metric(r, c[0]))}</td>" for c in cols) +
                 f"<td class='k'>{html.escape(str(r.get('status')))}</td></tr>")
    h.append("</table><h2>Figures</h2>")
    for title, path in figures:
        h.append(f"<h3>{html.escape(title)}</h3><img alt='{html.escape(title)}' src='{embed(path)}'>")
    h.append("<h2>Details: link utilisation</h2><table><tr><th>#</th><th>link</th><th>config</th>"
             "<th>up</th><th>down</th><th>up bytes</th><th>down bytes</th></tr>")
    for r in rows:
        for l in r.get("links", []):
            h.append(f"<tr><td>{r['index']}</td><td class='k'>{html.escape(l['name'])}</td>"
                     f"<td class='k'>Gen{l['gen']} x{l['lanes']} MPS {l['mps']}</td>"
                     f"<td>{fmt(l['up_util'])}</td><td>{fmt(l['down_util'])}</td>"
                     f"<td>{l['up_bytes']}</td><td>{l['down_bytes']}</td></tr>")
    h.append("</table><h2>Validation: the link model</h2>"
             "<p class='note'>The simulated link (TLPs, ACK/UpdateFC DLLPs and SKP ordered sets serialised "
             "in picoseconds) against the pcie-model of pcie-bench (Neugebauer et al., SIGCOMM 2018) that it "
             "implements, for every link configuration this report used. Reference points of that model for "
             "Gen3 x8, MPS 256: writes of 64 B 42.10, 256 B 52.92 Gb/s; reads of 64 B 44.10, 256 B 53.69 Gb/s. "
             "On hardware pcie-bench measured 64 B reads well below the model and 512 B and larger within a "
             "few percent; the simulated devices do not yet model the device-side limits behind that gap.</p>"
             "<table><tr><th>link</th><th>op</th><th>bytes</th><th>pcie-model Gb/s</th><th>simulated Gb/s</th>"
             "<th>difference</th></tr>")
    for v in doc.get("validation") or []:
        diff = (v["simulated_gbps"] - v["pcie_model_gbps"]) / v["pcie_model_gbps"] if v["pcie_model_gbps"] else 0
        h.append(f"<tr><td class='k'>Gen{v['gen']} x{v['lanes']} MPS {v['mps']} MRRS {v['mrrs']}</td>"
                 f"<td class='k'>{v['op']}</td><td>{v['bytes']}</td><td>{v['pcie_model_gbps']:.2f}</td>"
                 f"<td>{v['simulated_gbps']:.2f}</td><td>{diff:+.1%}</td></tr>")
    h.append(f"</table><p class='note'>Data: results.csv, results.json in {html.escape(directory)}.</p>"
             # For checking a rendering (tests/plot/test_report.sh): how many figures loaded.
             "<script>window.addEventListener('load', () => { const im = [...document.images];"
             " document.body.dataset.figures = im.length;"
             " document.body.dataset.figuresLoaded = im.filter(i => i.complete && i.naturalWidth > 0).length; });"
             "</script></body></html>")
    return "\n".join(h)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--x", help="the swept key on the throughput figure's x axis")
    a = ap.parse_args()
    doc = load(a.dir)
    rows = [r for r in doc["rows"] if "metrics" in r]
    if not rows:
        fail(f"{os.path.join(a.dir, 'results.json')}:1:1: error: no configuration ran (nothing to draw)")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = pick_x(doc, a.x)
    figures = [("Throughput", os.path.join(a.dir, "throughput.png")),
               ("Latency CDF", os.path.join(a.dir, "latency_cdf.png")),
               ("Link utilisation", os.path.join(a.dir, "links.png")),
               ("Link model validation", os.path.join(a.dir, "validation.png"))]
    throughput_figure(plt, doc, rows, x, figures[0][1])
    latency_figure(plt, doc, rows, figures[1][1])
    links_figure(plt, rows, figures[2][1])
    validation_figure(plt, doc, figures[3][1])
    out = os.path.join(a.dir, "report.html")
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(page(doc, doc["rows"], figures, a.dir))
    os.replace(out + ".tmp", out)
    print(f"wrote {out} and {', '.join(os.path.basename(p) for _, p in figures)}")


if __name__ == "__main__":
    main()
