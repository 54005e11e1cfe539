"""Why the remaining "slower" fallbacks stay: each against its refused form.

The planner keeps a few shapes on one worker because spreading them would
be slower, not wrong (ARCHITECTURE.md, "What still runs on one worker").
This measures each beside the distributed form it refuses, the same
answer, in the same run, over the demo dataset (``quiver demo-data
--scale S``, local warehouse):

* ``window``: a window without ``PARTITION BY`` straight over one table
  (``select:window_function``) against the same query over a filter that
  keeps every row, which the planner stages (the table's columns written
  to the spool by the workers, the window on one worker over them);
* ``order``: ``ORDER BY`` without ``LIMIT`` (``order_without_limit``)
  against the same with a ``LIMIT`` above the row count, which runs as
  top-k: every fragment sorts its part, the coordinator merges them all;
* ``correlated``: a subquery correlated by a non-equality under an
  enclosing table in one small file, whole on one worker, against its
  "inputs distributed" form, which Quiver cannot be made to plan: emulated
  in one DuckDB as the inner table's filtered columns written to Parquet
  (what a stage would write) and the query run over that file, against
  the same DuckDB running the query whole.

Quiver runs with 2 workers x 1 thread; DuckDB in-process with 2 threads is
the baseline, as in shapes.py. Each query runs once to warm and ``--reps``
more times; medians of wall time with the results fetched.

    .venv/bin/python bench/fallbacks.py [--scale 0.5] [--reps 3] [--only window,order] [--out bench/out/fallbacks]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localserve import ROOT, serve
from shapes import demo_duckdb, run_quiver, strategy

WINDOW = ("SELECT play_id, sum(revenue) OVER (ORDER BY started_at, play_id ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS w "
          "FROM demo.plays{where}")
ORDER = "SELECT play_id, revenue FROM demo.plays ORDER BY revenue DESC, play_id{limit}"
CORRELATED = ("SELECT t.title_id, t.runtime_minutes FROM demo.titles t WHERE t.runtime_minutes * 60 < "
              "(SELECT max(p.duration_seconds) FROM {inner} p WHERE p.title_id < t.title_id AND p.device = 'tv' AND p.duration_seconds > 7000) "
              "ORDER BY t.title_id")
INNER = "SELECT title_id, duration_seconds, device FROM demo.plays WHERE device = 'tv' AND duration_seconds > 7000"


def timed(run: Callable[[], int], reps: int) -> tuple[float, int]:
    """The median wall time of reps runs after one warm-up, and the rows."""
    rows = run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "bench/out/fallbacks")
    p.add_argument("--scale", type=float, default=0.5)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--only", default="", help="comma-separated subset of window,order,correlated")
    args = p.parse_args(argv)
    out: Path = args.out
    wh, con = demo_duckdb(out, args.scale)

    def duck(sql: str) -> Callable[[], int]:
        return lambda: con.execute(sql).to_arrow_table().num_rows

    results: list[dict[str, Any]] = []
    with serve(wh, 2, [], out / "2w.log", threads=1) as two, tempfile.TemporaryDirectory() as spool:
        def quiver(sql: str) -> Callable[[], int]:
            return lambda: run_quiver(two.client, sql)

        def staged_inner() -> int:
            # What the stage would do: the inner rows written, then read.
            con.execute(f"COPY ({INNER}) TO '{spool}/inner.parquet' (FORMAT parquet)")
            return con.execute(CORRELATED.format(inner=f"read_parquet('{spool}/inner.parquet')")).to_arrow_table().num_rows

        pairs: list[tuple[str, str, str, Callable[[], int], Callable[[], int], Callable[[], int]]] = []
        for name, kept, refused in (
            ("window", WINDOW.format(where=""), WINDOW.format(where=" WHERE play_id >= 0")),
            ("order", ORDER.format(limit=""), ORDER.format(limit=" LIMIT 1000000000")),
        ):
            pairs.append((name, kept, refused, duck(kept), quiver(kept), quiver(refused)))
        kept = CORRELATED.format(inner="demo.plays")
        pairs.append(("correlated", kept, "(emulated) " + INNER + "; then the query over it", duck(kept), quiver(kept), staged_inner))

        only = set(filter(None, args.only.split(",")))
        for name, kept, refused, base, run_kept, run_refused in pairs:
            if only and name not in only:
                continue
            duck_s, duck_rows = timed(base, args.reps)
            kept_s, kept_rows = timed(run_kept, args.reps)
            refused_s, refused_rows = timed(run_refused, args.reps)
            if len({duck_rows, kept_rows, refused_rows}) > 1:
                raise SystemExit(f"{name}: row counts differ: DuckDB {duck_rows}, kept {kept_rows}, refused {refused_rows}")
            r = {
                "name": name, "kept_sql": kept, "refused_sql": refused, "rows": kept_rows,
                "strategy_kept": strategy(two.client, kept),
                "strategy_refused": strategy(two.client, refused) if not refused.startswith("(emulated)") else "emulated in DuckDB",
                "duckdb_s": duck_s, "kept_s": kept_s, "refused_s": refused_s,
                # The emulation runs in DuckDB with 2 threads: its measure
                # is DuckDB's own time for the whole query.
                "refused_over_kept": refused_s / (duck_s if refused.startswith("(emulated)") else kept_s),
            }
            results.append(r)
            print(f"{name}: DuckDB {duck_s:.3f} s, kept ({r['strategy_kept']}) {kept_s:.3f} s, "
                  f"refused ({r['strategy_refused']}) {refused_s:.3f} s: {r['refused_over_kept']:.2f}x", flush=True)
    summary = {"scale": args.scale, "reps": args.reps, "queries": results}
    (out / "result.json").write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
