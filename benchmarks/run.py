"""Run every benchmark and print one table (``python benchmarks/run.py [--quick]``).

Results also go to ``benchmarks/results/latest.json``. ``--quick`` uses small inputs and
few runs (seconds, not minutes); ``--smoke`` is the tiny version the test suite runs to
keep these scripts working. Do not run it on a busy machine: the numbers are wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_channels
import bench_convert
import bench_memory
import bench_scaling
import bench_startup
import bench_sync
from common import ROOT, machine


def _table(rows: list[dict[str, object]]) -> str:
    lines = ["| what | median | min-max | runs | ratio | target |", "|---|---:|---:|---:|---:|---|"]
    for row in rows:
        if "note" in row:
            lines.append(f"| {row['note']} | | | | | |")
            continue
        if "rss_mib" in row:
            lines.append(
                f"| {row['what']} | {row['rss_mib']} MiB | | | | {row.get('target', '')} |"
            )
            continue
        ratio = "" if row.get("ratio") is None else f"{row['ratio']}"
        lines.append(
            f"| {row['what']} | {row['median_s']} s | {row['min_s']}-{row['max_s']} s | "
            f"{row['runs']} | {ratio} | {row.get('target', '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, few runs")
    parser.add_argument("--smoke", action="store_true", help="the tiny run the tests use")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.smoke:
        rows = bench_convert.run(runs=1, quick=True, smoke=True)
        rows += bench_sync.noop(20, runs=1)
        rows += bench_startup.run(runs=1)
        rows += bench_channels.run(2_000, 20, runs=1)
        rows += bench_scaling.smoke()
    else:
        runs = 3 if args.quick else 5
        rows = bench_convert.run(runs=runs, quick=args.quick)
        rows += bench_scaling.scaling(runs=1 if args.quick else 5)
        rows += bench_sync.noop(1_000 if args.quick else 10_000, runs=runs)
        rows += bench_memory.run(size_mib=20 if args.quick else 200)
        rows += bench_startup.run(runs=11 if args.quick else 41)
        if args.quick:
            rows += bench_channels.run(100_000, 1_000, runs=3)
        else:
            rows += bench_channels.run(1_000_000, 10_000, runs=3)
    info = machine()
    print(f"machine: {info['cores']} cores, Python {info['python']} ({info['platform']})")
    print(_table(rows))
    print(f"({time.perf_counter() - started:.0f} s)")
    if not args.smoke:
        results = ROOT / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        (results / ("quick.json" if args.quick else "latest.json")).write_text(
            json.dumps({"machine": info, "rows": rows}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
