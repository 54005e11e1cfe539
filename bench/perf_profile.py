#!/usr/bin/env python3
"""CPU profiles of the coordinator and its workers under one workload,
rendered as flame graphs (PNG, matplotlib) and top-N tables.

The profiler is Linux ``perf`` (``perf record -g`` on the coordinator and
worker pids), not Go's pprof: the coordinator has no pprof endpoint, and a
worker's time is mostly DuckDB's C++, which pprof cannot see. Go keeps frame
pointers, so perf unwinds Go and C++ frames alike. Graphviz is not needed.

    .venv/bin/python bench/perf_profile.py --workload stream-wide --seconds 20

Workloads: ``stream-wide`` / ``stream-narrow`` (SELECT * through the proxy,
batches dropped), ``small`` (point lookups back to back). Outputs:
bench/charts/flame-<workload>.png and bench/out/profile-<workload>.txt
(the hottest functions by self and total time, per process role).
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import subprocess
import threading
import time
from pathlib import Path

import benchlib as bl
import data
from quiver_harness import find_tools
from quiver_harness.servers import Warehouse, start_quiver

CHARTS = bl.ROOT / "bench" / "charts"

_FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.+?)\s+\((.*)\)$")


def fold(script: str, roles: dict[int, str]) -> dict[str, collections.Counter[tuple[str, ...]]]:
    """Fold `perf script` output into stacks (root first) per role."""
    out: dict[str, collections.Counter[tuple[str, ...]]] = collections.defaultdict(collections.Counter)
    for block in script.split("\n\n"):
        lines = [x for x in block.splitlines() if x.strip()]
        if not lines:
            continue
        head = lines[0].split()
        pid = next((int(t) for t in head[1:3] if t.isdigit()), None)
        if pid is None or pid not in roles:
            # perf prints "comm pid/tid" or "comm pid"; look for pid/tid too.
            m = re.search(r"\s(\d+)/(\d+)\s", lines[0])
            pid = int(m.group(1)) if m else None
        role = roles.get(pid or -1)
        if role is None:
            continue
        frames = []
        for line in lines[1:]:
            m = _FRAME.match(line)
            if not m:
                continue
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
            if sym == "[unknown]":
                sym = f"[{Path(m.group(2)).name}]"
            frames.append(short(sym))
        if frames:
            out[role][tuple(reversed(frames))] += 1
    return out


def short(sym: str) -> str:
    """Shorten C++ templates and Go module paths so labels fit."""
    sym = sym.replace("github.com/quiver-data/quiver/", "").replace("github.com/apache/arrow-go/v18/", "arrow/")
    sym = sym.replace("google.golang.org/grpc/", "grpc/")
    depth, outs = 0, []
    for ch in sym:
        if ch == "<":
            depth += 1
            if depth == 1:
                outs.append("<…>")
        elif ch == ">":
            depth = max(0, depth - 1)
        elif depth == 0:
            outs.append(ch)
    s = "".join(outs)
    s = re.sub(r"\(.*\)", "()", s)
    return s[:90]


def top(stacks: collections.Counter[tuple[str, ...]], n: int = 25) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    self_t: collections.Counter[str] = collections.Counter()
    total_t: collections.Counter[str] = collections.Counter()
    for st, c in stacks.items():
        self_t[st[-1]] += c
        for f in set(st):
            total_t[f] += c
    return self_t.most_common(n), total_t.most_common(n)


def flame(ax: object, stacks: collections.Counter[tuple[str, ...]], title: str, max_depth: int = 40) -> None:
    """Draw a flame graph (root at the bottom, width = share of samples)."""
    import matplotlib.pyplot as plt  # noqa: F401 - backend set by caller

    total = sum(stacks.values())
    if total == 0:
        return
    tree: dict = {}
    for st, c in stacks.items():
        node = tree
        for f in st[:max_depth]:
            node = node.setdefault(f, [0, {}])
            node[0] += c
            node = node[1]
    colors = ["#e8743b", "#f2a541", "#f6c85f", "#e05f3c", "#f08a4b", "#ffb35c"]

    def draw(node: dict, x: float, depth: int) -> None:
        for i, (name, (count, kids)) in enumerate(sorted(node.items())):
            w = count / total
            if w < 0.002:
                x += w
                continue
            ax.add_patch(plt_rect(x, depth, w, colors[(hash(name) + i) % len(colors)]))
            if w > 0.04:
                label = name if len(name) * 0.0055 < w else name[: max(3, int(w / 0.0055))] + "…"
                ax.text(x + 0.002, depth + 0.5, label, fontsize=5.5, va="center", clip_on=True)
            draw(kids, x, depth + 1)
            x += w

    draw(tree, 0.0, 0)
    depth = max(len(s) for s in stacks)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, min(depth, max_depth) + 1)
    ax.set_yticks([])
    ax.set_xlabel("share of CPU samples")
    ax.set_title(f"{title} ({total} samples)", fontsize=9)


def plt_rect(x: float, y: float, w: float, color: str) -> object:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, 0.95, facecolor=color, edgecolor="white", linewidth=0.2)


def workload(name: str, uri: str, stop: threading.Event) -> int:
    src = bl.FlightSource(uri)
    rng = random.Random(1)
    n = 0
    try:
        while not stop.is_set():
            if name.startswith("stream-"):
                src.count(f"SELECT * FROM bench.{name.split('-', 1)[1]}")
            else:
                src.table(f"SELECT * FROM bench.items WHERE item_id = {rng.randrange(data.ITEMS)}")
            n += 1
    finally:
        src.close()
    return n


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", default="stream-wide", choices=["stream-wide", "stream-narrow", "small"])
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--frequency", type=int, default=499)
    p.add_argument("--quiver-arg", action="append", default=[])
    args = p.parse_args()
    warehouse = data.ensure(bl.OUT / "data", args.rows)
    wh = Warehouse("local", str(warehouse), 0, local_path=warehouse)
    work = bl.OUT / "profile"
    q = start_quiver(find_tools(), wh, work / "logs", local_workers=2, timeout=120,
                     extra_args=["--log-level", "warn", *args.quiver_arg])
    try:
        roles = {q.pid: "coordinator"} | {k.pid: "worker" for k in bl.children(q.pid)}
        # Warm up, then profile a steady state.
        stop = threading.Event()
        t = threading.Thread(target=workload, args=(args.workload, q.uri, stop), daemon=True)
        t.start()
        time.sleep(2)
        perf_data = work / f"perf-{args.workload}.data"
        subprocess.run(["perf", "record", "-F", str(args.frequency), "-g", "-o", str(perf_data),
                        "-p", ",".join(str(pid) for pid in roles), "--", "sleep", str(args.seconds)],
                       check=True, capture_output=True)
        stop.set()
        t.join()
        script = subprocess.run(["perf", "script", "-i", str(perf_data), "-F", "comm,pid,tid,ip,sym,dso"],
                                check=True, capture_output=True, text=True).stdout
    finally:
        q.stop()
    folded = fold(script, roles)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roles_present = [r for r in ("coordinator", "worker") if folded.get(r)]
    fig, axes = plt.subplots(len(roles_present), 1, figsize=(14, 6 * len(roles_present)), dpi=80, squeeze=False)
    for ax, role in zip(axes[:, 0], roles_present, strict=True):
        flame(ax, folded[role], f"{role}{'s (both)' if role == 'worker' else ''}: {args.workload}")
    fig.tight_layout()
    CHARTS.mkdir(parents=True, exist_ok=True)
    png = CHARTS / f"flame-{args.workload}.png"
    fig.savefig(png)
    plt.close(fig)
    lines = []
    for role in roles_present:
        total = sum(folded[role].values())
        self_t, total_t = top(folded[role])
        lines.append(f"## {role}: {total} samples at {args.frequency} Hz over {args.seconds}s ({args.workload})")
        lines.append("self%  function")
        lines += [f"{100 * c / total:5.1f}  {f}" for f, c in self_t]
        lines.append("total%  function")
        lines += [f"{100 * c / total:5.1f}  {f}" for f, c in total_t]
        lines.append("")
    txt = bl.OUT / f"profile-{args.workload}.txt"
    txt.write_text("\n".join(lines))
    print("\n".join(lines))
    bl.log(f"wrote {png} and {txt}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
