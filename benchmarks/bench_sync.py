"""Sync jobs: batch scaling with --jobs, and the cost of a sync that has nothing to do."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Measurement, corpus, measure, tiny_channel


def _sync_argv(sources: list[Path], wheelhouse: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "condawheel",
        "sync",
        *map(str, sources),
        "-w",
        str(wheelhouse),
        "-q",
        *extra,
    ]


def _sync(sources: list[Path], wheelhouse: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run(_sync_argv(sources, wheelhouse, *extra), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _two_syncs_at_once(sources: list[Path], first: Path, second: Path) -> float:
    """Run two independent ``--jobs 1`` syncs side by side; the time until both end."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen(_sync_argv(sources, wheelhouse, "--jobs", "1"), stdout=subprocess.DEVNULL)
        for wheelhouse in (_fresh(first), _fresh(second))
    ]
    for process in processes:
        if process.wait() != 0:
            raise subprocess.CalledProcessError(process.returncode, process.args)
    return time.perf_counter() - start


def _fresh(wheelhouse: Path) -> Path:
    shutil.rmtree(wheelhouse, ignore_errors=True)
    return wheelhouse


def scaling(*, runs: int) -> list[dict[str, object]]:
    """Sync the whole corpus channel into an empty wheelhouse with 1 and with 2 jobs."""
    work = Path(tempfile.mkdtemp(prefix="condawheel-bench-"))
    channel = corpus() / "channel"
    timings: dict[str, list[float]] = {"one": [], "two": [], "pair": []}
    try:
        # Round-robin, so that drift of the machine between runs hits all three alike.
        for _ in range(runs):
            timings["one"].append(_sync([channel], _fresh(work / "w1"), "--jobs", "1"))
            timings["two"].append(_sync([channel], _fresh(work / "w2"), "--jobs", "2"))
            timings["pair"].append(_two_syncs_at_once([channel], work / "a", work / "b"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one = Measurement("sync corpus channel --jobs 1", tuple(timings["one"]))
    two = Measurement("sync corpus channel --jobs 2", tuple(timings["two"]))
    # What the machine itself gives two busy processes: the ceiling for --jobs 2.
    pair = Measurement(
        "reference: two --jobs 1 syncs at once (twice the work)", tuple(timings["pair"])
    )
    # The ratio of interest is throughput: jobs 2 over jobs 1 (time of 1 / time of 2).
    row = two.row(one, "throughput >= 1.8x")
    row["ratio"] = round(one.median / two.median, 3)
    row["ratio_meaning"] = "throughput of --jobs 2 / --jobs 1"
    reference = pair.row(one)
    reference["ratio"] = round(2 * one.median / pair.median, 3)
    reference["ratio_meaning"] = "throughput of two --jobs 1 processes / one"
    return [one.row(), row, reference]


def noop(count: int, *, runs: int) -> list[dict[str, object]]:
    """Sync a channel of ``count`` tiny packages, then time syncs that have nothing to do."""
    channel = tiny_channel(count)
    work = Path(tempfile.mkdtemp(prefix="condawheel-bench-"))
    try:
        wheelhouse = work / "wheelhouse"
        first = _sync([channel], wheelhouse)
        print(f"  first sync of {count} packages: {first:.1f}s", file=sys.stderr)
        again = measure(
            f"no-op re-sync of {count} packages (CLI, wall)",
            lambda: _sync([channel], wheelhouse),
            runs=runs,
        )
        engine = measure(
            f"no-op re-sync of {count} packages (library call)",
            lambda: _engine_sync(channel, wheelhouse),
            runs=runs,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [again.row(target="< 1 s"), engine.row(target="< 1 s")]


def _engine_sync(channel: Path, wheelhouse: Path) -> None:
    from condawheel.wheelhouse import SyncOptions, sync  # noqa: PLC0415

    report = sync([str(channel)], wheelhouse, SyncOptions(jobs=1))
    assert report.ok


if __name__ == "__main__":
    import json

    print(json.dumps([*scaling(runs=3), *noop(10_000, runs=5)], indent=1))
