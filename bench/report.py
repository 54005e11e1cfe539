"""Render BENCHMARKS.md and bench/charts/*.png from bench/out/results/*.json.

Generated tables come from the result files; the reading of them (what a
number means, what the profile shows, the speed work) is written by hand in
bench/notes/<section>.md and included after each section's table, so
re-running a benchmark refreshes its numbers without losing the analysis.
Run alone to re-render: ``.venv/bin/python bench/report.py``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import benchlib as bl

CHARTS = bl.ROOT / "bench" / "charts"
NOTES = bl.ROOT / "bench" / "notes"
OUTPUT = bl.ROOT / "BENCHMARKS.md"

LABELS = {
    "duckdb": "DuckDB in-process",
    "quiver-proxy": "Quiver (proxy)",
    "quiver-direct": "Quiver (direct)",
    "arrow-memory": "pyarrow Flight, table in memory",
    "python-duckdb": "Python Flight + DuckDB",
    "quiver-1w": "Quiver 1 worker",
    "quiver-2w": "Quiver 2 workers",
}


def note(name: str) -> str:
    path = NOTES / f"{name}.md"
    return path.read_text(encoding="utf-8").strip() + "\n" if path.exists() else ""


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def rng(s: dict[str, float], fmt: str = "{:.2f}", scale: float = 1.0) -> str:
    return f"{fmt.format(s['median'] * scale)} ({fmt.format(s['min'] * scale)}–{fmt.format(s['max'] * scale)})"


def provenance(r: dict[str, Any]) -> str:
    m = r["machine"]
    quick = " **Quick mode (small scale): a smoke test, not a result.**" if r["quick"] else ""
    return (
        f"_Measured {m['date']} at commit `{m['commit']}` ({m['tree']}), {m['cpus']} CPUs, "
        f"load average {m['load_before']:.2f} before it started, in {r['seconds']:.0f} s; "
        f"command: `{r['command']}`._{quick}\n"
    )


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bars(path: Path, title: str, ylabel: str, groups: list[str], series: dict[str, list[dict[str, float] | None]],
         log: bool = False) -> None:
    """A grouped bar chart of medians with min–max whiskers."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=90)
    n = len(series)
    width = 0.8 / max(n, 1)
    for i, (name, stats) in enumerate(series.items()):
        xs, ys, lo, hi = [], [], [], []
        for g, s in enumerate(stats):
            if s is None:
                continue
            xs.append(g - 0.4 + width * (i + 0.5))
            ys.append(s["median"])
            lo.append(s["median"] - s["min"])
            hi.append(s["max"] - s["median"])
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=LABELS.get(name, name))
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- sections ---------------------------------------------------------------


def machine_section(results: dict[str, dict[str, Any]]) -> str:
    m = next(iter(results.values()))["machine"]
    return "\n".join([
        "| | |", "|---|---|",
        f"| CPU | {m['cpus']} × {m['cpu']} |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| OS | {m['os']} |",
        f"| Quiver | `{m['quiver']}` |",
        f"| Go | `{m['go']}` |",
        f"| Python / pyarrow / DuckDB | {m['python']} / {m['pyarrow']} / {m['duckdb']} |",
        "",
    ])


def stream_section(r: dict[str, Any], targets: list[list[str]], charts: Path) -> str:
    d = r["data"]
    out = [provenance(r)]
    groups, series = [], {}
    for table, t in d["tables"].items():
        groups.append(f"{table}")
        out.append(f"**`SELECT * FROM bench.{table}`**: {d['rows']:,} rows, {t['arrow_bytes'] / 1e6:,.0f} MB of Arrow "
                   f"data, fetched into a pyarrow Table; median of {d['runs']} interleaved rounds (min–max).\n")
        out.append("| system | seconds | M rows/s | MB/s | × in-process DuckDB | × Python Flight + DuckDB |")
        out.append("|---|---:|---:|---:|---:|---:|")
        base = t["rows_per_s"]["duckdb"]["median"]
        py = t["rows_per_s"]["python-duckdb"]["median"]
        for name, rs in t["rows_per_s"].items():
            out.append(f"| {LABELS[name]} | {rng(t['seconds'][name])} | {rng(rs, scale=1e-6)} | "
                       f"{rng(t['mb_per_s'][name], '{:,.0f}')} | {rs['median'] / base:.2f} | {rs['median'] / py:.2f} |")
            series.setdefault(name, []).append({k: v / 1e6 for k, v in rs.items() if k != "n"})
        out.append("")
        for name in ("quiver-proxy", "quiver-direct"):
            q = t["rows_per_s"][name]["median"]
            targets.append([f"Streaming `{table}`, {LABELS[name]}", "≥ 0.8× in-process DuckDB",
                            f"{q / base:.2f}×", verdict(q / base >= 0.8, f"{0.8 * base / q:.2f}× short" if q < 0.8 * base else "")])
            targets.append([f"Streaming `{table}`, {LABELS[name]}", "≥ 1.5× Python Flight + DuckDB",
                            f"{q / py:.2f}×", verdict(q / py >= 1.5, f"{1.5 * py / q:.2f}× short" if q < 1.5 * py else "")])
    bars(charts / "stream.png", f"SELECT * into a pyarrow Table ({d['rows']:,} rows)", "million rows/s", groups, series)
    out.append("![streaming throughput](bench/charts/stream.png)\n")
    return "\n".join(out)


def verdict(ok: bool, miss: str) -> str:
    return "met" if ok else f"**missed** ({miss})" if miss else "**missed**"


def latency_section(r: dict[str, Any], targets: list[list[str]], charts: Path) -> str:
    d = r["data"]
    out = [provenance(r)]
    out.append(f"{d['runs']:,} timed runs per system and query (after 20 untimed), the systems taking turns run by "
               "run. Point lookup: `SELECT * FROM bench.items WHERE item_id = <random>`; small aggregate: "
               "`SELECT category, count(*), sum(price), avg(stock) FROM bench.items GROUP BY category` "
               "(100,000 rows, one file). Times are wall time in the client from the request to the whole "
               "result as a pyarrow Table.\n")
    out.append("| query | system | p50 ms | p99 ms | min ms | max ms | p50 added over DuckDB ms |")
    out.append("|---|---|---:|---:|---:|---:|---:|")
    groups, series = [], {}
    for q, per in d["queries"].items():
        groups.append(q)
        base = per["duckdb"]["p50_ms"]
        for name, s in per.items():
            out.append(f"| {q} | {LABELS[name]} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['min_ms']:.2f} | "
                       f"{s['max_ms']:.1f} | {s['p50_ms'] - base:+.2f} |")
            series.setdefault(name, []).append({"median": s["p50_ms"], "min": s["p50_ms"], "max": s["p99_ms"]})
        qp = per["quiver-proxy"]
        added = qp["p50_ms"] - base
        targets.append([f"Small query `{q}`: added median latency", "≤ 2 ms over in-process DuckDB",
                        f"{added:.2f} ms", verdict(added <= 2, f"by {added - 2:.2f} ms")])
        targets.append([f"Small query `{q}`: Quiver p99", "≤ 10 ms", f"{qp['p99_ms']:.2f} ms",
                        verdict(qp["p99_ms"] <= 10, f"by {qp['p99_ms'] - 10:.2f} ms")])
    out.append("")
    bars(charts / "latency.png", "Small-query latency (bar: p50, whisker: p99)", "ms", groups, series, log=True)
    out.append("![small-query latency](bench/charts/latency.png)\n")
    fb = d["first_batch"]
    out.append(f"**Time to first batch** of `SELECT * FROM bench.wide` ({fb['rows']:,} rows): from the request to the "
               f"first record batch in the client; median of {fb['runs']} (min–max), the rest of the stream cancelled.\n")
    out.append("| system | ms to first batch |")
    out.append("|---|---:|")
    for name, s in fb["ms"].items():
        out.append(f"| {LABELS[name]} | {rng(s, '{:,.0f}')} |")
    out.append("")
    return "\n".join(out)


def memory_section(r: dict[str, Any], targets: list[list[str]], charts: Path) -> str:
    d = r["data"]
    out = [provenance(r)]
    out.append("`SELECT * FROM bench.wide WHERE id < N` through Quiver (proxy routing, 2 local workers), the client "
               "dropping batches as they arrive; resident memory (RSS) of the `quiver serve` process and the sum of "
               "its workers sampled every 20 ms; max over the runs.\n")
    out.append("| result | rows | Arrow data | coordinator before | coordinator peak | workers peak (sum) | seconds |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    sizes = d["sizes"]
    first = sizes[0]["rows"]
    for s in sizes:
        out.append(f"| {s['rows'] // first}× | {s['rows']:,} | {mib(s['arrow_bytes'])} | "
                   f"{mib(s['coordinator_before']['median'])} | {mib(s['coordinator_peak']['max'])} | "
                   f"{mib(s['workers_peak']['max'])} | {s['seconds']['median']:.2f} |")
    out.append("")
    growth = sizes[-1]["coordinator_peak"]["max"] - sizes[0]["coordinator_peak"]["max"]
    data_growth = sizes[-1]["arrow_bytes"] - sizes[0]["arrow_bytes"]
    targets.append(["Coordinator peak RSS vs result size (streaming)", "independent of result size",
                    f"+{mib(growth)} for +{mib(data_growth)} of results",
                    verdict(growth < 0.05 * data_growth, "grows with the result")])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=90)
    xs = [s["arrow_bytes"] / 2**20 for s in sizes]
    ax.plot(xs, [s["coordinator_peak"]["max"] / 2**20 for s in sizes], "o-", label="coordinator peak")
    ax.plot(xs, [s["workers_peak"]["max"] / 2**20 for s in sizes], "s-", label="workers peak (sum)")
    ax.plot(xs, xs, ":", color="grey", label="result size")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("result, MiB of Arrow data")
    ax.set_ylabel("peak RSS, MiB")
    ax.set_title("Peak memory vs result size (proxy routing)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(charts / "memory.png")
    plt.close(fig)
    out.append("![memory vs result size](bench/charts/memory.png)\n")
    return "\n".join(out)


def tpch_section(r: dict[str, Any], targets: list[list[str]], charts: Path) -> str:
    d = r["data"]
    out = [provenance(r)]
    systems = [n for n in ("duckdb", "quiver-1w", "quiver-2w") if n in d["warm"]]
    threads = d["threads"]
    out.append(f"TPC-H scale {d['scale']:g} in MinIO, {threads} threads in total per system (DuckDB: {threads} "
               f"threads; Quiver 1 worker × {threads} threads; 2 workers × {max(1, threads // 2)}). Warm: median "
               f"of {d['runs']} interleaved passes after one untimed pass; cold: {d['cold_runs']} pass, each query on "
               "a fresh DuckDB (external file cache off) and a freshly started `quiver serve`. S3 GET requests and "
               "bytes are counted from MinIO's audit log around one cold and one warm run of each query. Plan: "
               "EXPLAIN's strategy on the 2-worker server.\n")
    head = ["query"] + [f"{LABELS[n]} warm s" for n in systems] + [f"{LABELS[n]} / DuckDB" for n in systems[1:]]
    head += [f"{LABELS[n]} cold s" for n in systems] + ["GETs cold (DuckDB / 1w / 2w)", "MB cold (DuckDB / 1w / 2w)",
                                                         "GETs warm (DuckDB / 1w / 2w)", "plan"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|---|" + "---:|" * (len(head) - 2) + "---|")
    nrs = sorted(int(k) for k in d["warm"]["duckdb"]["per_query"])
    ratios: dict[str, list[float]] = {n: [] for n in systems[1:]}
    for nr in nrs:
        k = str(nr)
        w = {n: d["warm"][n]["per_query"][k]["median"] for n in systems}
        c = {n: d["cold"][n]["per_query"][k]["median"] for n in systems if n in d["cold"]}
        cells = [f"q{nr:02d}"] + [f"{w[n]:.3f}" for n in systems]
        for n in systems[1:]:
            ratios[n].append(w[n] / w["duckdb"])
            cells.append(f"{w[n] / w['duckdb']:.2f}")
        cells += [f"{c[n]:.3f}" if n in c else "" for n in systems]
        s3c = [d["s3"]["cold"][n][k] for n in systems]
        s3w = [d["s3"]["warm"][n][k] for n in systems]
        cells.append(" / ".join(f"{g:.0f}" for g, _ in s3c))
        cells.append(" / ".join(f"{b / 1e6:.0f}" for _, b in s3c))
        cells.append(" / ".join(f"{g:.0f}" for g, _ in s3w))
        plan = d["strategies"].get(k, "")
        cells.append(plan.split(";")[0] + (" (fallback)" if "fallback" in plan else ""))
        out.append("| " + " | ".join(cells) + " |")
    tw = {n: d["warm"][n]["total"] for n in systems}
    tc = {n: d["cold"][n]["total"] for n in systems if n in d["cold"]}
    cells = ["**total**"] + [f"**{tw[n]['median']:.2f}**" for n in systems]
    cells += [f"**{tw[n]['median'] / tw['duckdb']['median']:.2f}**" for n in systems[1:]]
    cells += [f"**{tc[n]['median']:.2f}**" if n in tc else "" for n in systems] + ["", "", "", ""]
    out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("| total | warm s (min–max over passes) | warm × DuckDB | cold s | cold × DuckDB |")
    out.append("|---|---:|---:|---:|---:|")
    for n in systems:
        cold_s = tc[n]["median"] if n in tc else float("nan")
        out.append(f"| {LABELS[n]} | {rng(tw[n])} | {tw[n]['median'] / tw['duckdb']['median']:.2f} | "
                   f"{cold_s:.2f} | {cold_s / tc['duckdb']['median'] if 'duckdb' in tc else math.nan:.2f} |")
    out.append("")
    distributed = sum(1 for s in d["strategies"].values() if not s.startswith("single") and "fallback" not in s
                      and "failed" not in s)
    out.append(f"Distributed (EXPLAIN strategy other than `single`): **{distributed} of {len(nrs)}** queries.\n")
    for n, limit in (("quiver-1w", 1.1), ("quiver-2w", 1.2)):
        if n in tw:
            x = tw[n]["median"] / tw["duckdb"]["median"]
            targets.append([f"TPC-H SF{d['scale']:g} total (warm), {LABELS[n]}", f"≤ {limit}× DuckDB alone",
                            f"{x:.2f}×", verdict(x <= limit, f"by {x - limit:.2f}×")])
    series = {n: [{"median": v, "min": v, "max": v} for v in ratios[n]] for n in systems[1:]}
    bars(charts / "tpch.png", f"TPC-H SF{d['scale']:g} warm, time relative to DuckDB alone (1.0)", "× DuckDB",
         [f"{nr}" for nr in nrs], series)
    out.append("![TPC-H per query](bench/charts/tpch.png)\n")
    return "\n".join(out)


def compression_section(r: dict[str, Any], targets: list[list[str]], charts: Path) -> str:
    d = r["data"]
    out = [provenance(r)]
    for table, t in d["tables"].items():
        out.append(f"**`SELECT * FROM bench.{table}`** through the coordinator ({d['rows']:,} rows, "
                   f"{t['arrow_bytes'] / 1e6:,.0f} MB of Arrow data), the codec chosen by the client's header; "
                   f"median of {d['runs']} interleaved rounds on loopback (min–max).\n")
        out.append("| codec | MB on the wire | × smaller | seconds on loopback | × off's throughput | faster than off below |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for codec, sec in t["seconds"].items():
            even = t["break_even_mb_per_s"].get(codec)
            out.append(f"| {codec} | {t['wire_bytes'][codec] / 1e6:,.0f} | {t['ratio'][codec]:.1f} | {rng(sec)} | "
                       f"{rng(t['throughput_vs_off'][codec])} | {'—' if even is None else f'{even:,.0f} MB/s'} |")
        out.append("")
    return "\n".join(out)


def soak_section(r: dict[str, Any]) -> str:
    d = r["data"]
    return provenance(r) + f"\nCommand: `{d['command']}`. Output:\n\n" + d["markdown"].strip() + "\n"


SECTIONS = [
    ("stream", "Streaming throughput", stream_section),
    ("latency", "Small-query latency and time to first batch", latency_section),
    ("memory", "Memory vs result size", memory_section),
    ("tpch", "TPC-H in MinIO", tpch_section),
    ("compression", "IPC compression", compression_section),
]


def write(directory: Path = bl.RESULTS, output: Path = OUTPUT, charts: Path = CHARTS) -> None:
    results = {n: r for n in ("stream", "latency", "memory", "tpch", "compression", "soak") if (r := bl.load(n, directory))}
    if not results:
        raise SystemExit(f"no results in {directory}: run bench/run.py first")
    charts.mkdir(parents=True, exist_ok=True)
    targets: list[list[str]] = []
    body: list[str] = []
    for name, title, fn in SECTIONS:
        if name in results:
            body += [f"## {title}", "", fn(results[name], targets, charts), note(name)]
    if "soak" in results:
        body += ["## Concurrency (the operations soak)", "", soak_section(results["soak"]), note("soak")]
    for extra, title in (("stages", "Multi-stage plans: final aggregates and the scale-out projection"),
                         ("shapes", "Analytical shapes and co-located joins (issues 14 and 15)"),
                         ("iceberg", "TPC-H as Iceberg through a REST catalog (issue 18)"),
                         ("resultcache", "The result cache (issue 20)"),
                         ("speed", "Speed work, measured before and after"), ("profile", "Where the time goes (profiles)")):
        text = note(extra)
        if text:
            body += [f"## {title}", "", text]
    head = [
        "# Benchmarks",
        "",
        "<!-- Generated by bench/report.py from bench/out/results/*.json and bench/notes/*.md; edit the notes, "
        "not this file. -->",
        "",
        "Every number here is measured side by side with its baselines **in the same run on the same machine**, the "
        "systems taking turns (A B C, B C A, …), and reported as a median with its min–max and as a ratio to the "
        "baseline. The machine is a shared 2-core VM: **absolute numbers are noisy** (other engineers' builds "
        "and tests ran on the same cores), the ratios are what to compare across commits. Reproduce everything "
        "with `make bench` (15–30 minutes), a subset with `make bench BENCH=stream,latency`, or a "
        "small-scale smoke run with `make bench BENCH_QUICK=1`; see [bench/README.md](bench/README.md).",
        "",
        machine_section(results),
        note("summary"),
    ]
    if targets:
        head += ["## Targets", "", "| target | goal | measured | |", "|---|---|---:|---|"]
        head += ["| " + " | ".join(t) + " |" for t in targets] + [""]
    output.write_text("\n".join(head + body).rstrip() + "\n", encoding="utf-8")
    bl.log(f"wrote {output} and charts in {charts}")


if __name__ == "__main__":
    write()
