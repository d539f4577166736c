"""Run every benchmark and print one table (``python benchmarks/run.py [--quick]``).

Results also go to ``benchmarks/results/latest.json``. ``--quick`` uses small inputs and
few runs (seconds, not minutes); ``--smoke`` is the tiny version the test suite runs to
keep these scripts working; ``--only convert,cli`` runs some groups alone. Do not run it
on a busy machine: the numbers are wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).parent))

import bench_channels
import bench_cli
import bench_convert
import bench_deflate
import bench_memory
import bench_scaling
import bench_startup
import bench_sync
from common import ROOT, machine

if TYPE_CHECKING:
    from collections.abc import Callable


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
        cpu = f" (CPU {row['cpu_median_s']} s)" if "cpu_median_s" in row else ""
        lines.append(
            f"| {row['what']} | {row['median_s']} s{cpu} | {row['min_s']}-{row['max_s']} s | "
            f"{row['runs']} | {ratio} | {row.get('target', '')} |"
        )
    return "\n".join(lines)


def _deflate_table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| sample: compressor | CPU s | MB/s | speed vs zlib 6 | size | size vs zlib 6 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {row['what'].removeprefix('deflate ')} | {row['cpu_s']} | {row['mb_per_s']} | "  # type: ignore[attr-defined]
        f"{row['speed_vs_zlib6']} | {row['size_ratio']} | {row['size_vs_zlib6']} |"
        for row in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, few runs")
    parser.add_argument("--smoke", action="store_true", help="the tiny run the tests use")
    parser.add_argument(
        "--only",
        metavar="GROUP[,GROUP]",
        help="run these groups alone: convert, cli, sync, noop, memory, startup, channels, "
        "deflate (results in results/partial.json)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    started_load = [round(value, 2) for value in os.getloadavg()]
    deflate: list[dict[str, object]] = []
    if args.smoke:
        rows = bench_convert.run(runs=1, quick=True, smoke=True)
        rows += bench_sync.noop(20, runs=1)
        rows += bench_startup.run(runs=1)
        rows += bench_channels.run(2_000, 20, runs=1)
        rows += bench_cli.run(runs=1)
        rows += bench_scaling.smoke()
    else:
        runs = 3 if args.quick else 5
        quick = args.quick
        groups: dict[str, Callable[[], list[dict[str, object]]]] = {
            "convert": lambda: bench_convert.run(runs=runs, quick=quick),
            "cli": lambda: bench_cli.run(runs=11 if quick else 21),
            "sync": lambda: bench_scaling.scaling(runs=1 if quick else 5),
            "noop": lambda: bench_sync.noop(1_000 if quick else 10_000, runs=runs),
            "memory": lambda: bench_memory.run(size_mib=20 if quick else 200),
            "startup": lambda: bench_startup.run(runs=11 if quick else 41),
            "channels": lambda: (
                bench_channels.run(100_000, 1_000, runs=3)
                if quick
                else bench_channels.run(1_000_000, 10_000, runs=3)
            ),
        }
        chosen = args.only.split(",") if args.only else [*groups, "deflate"]
        unknown = sorted(set(chosen) - {*groups, "deflate"})
        if unknown:
            parser.error(f"unknown group(s) {', '.join(unknown)}")
        rows = []
        for group in chosen:
            if group != "deflate":
                rows += groups[group]()
        if "deflate" in chosen:
            deflate = bench_deflate.run(quick=quick)
    info = machine()
    print(
        f"machine: {info['cores']} cores, Python {info['python']} ({info['platform']}), "
        f"load average at the start {started_load}, at the end {info['load_average']}"
    )
    print(_table(rows))
    if deflate:
        print()
        print(_deflate_table(deflate))
        rows += deflate
    print(f"({time.perf_counter() - started:.0f} s)")
    if not args.smoke:
        results = ROOT / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        name = "partial" if args.only else ("quick" if args.quick else "latest")
        (results / f"{name}.json").write_text(
            json.dumps({"machine": info, "rows": rows}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
