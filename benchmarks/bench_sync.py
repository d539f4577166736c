"""Sync jobs: the cost of a sync that has nothing to do (scaling: bench_scaling.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import measure, tiny_channel


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

    print(json.dumps(noop(10_000, runs=5), indent=1))
