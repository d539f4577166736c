"""Sync scaling: --jobs, threads inside each conversion, and Dask workers, on one channel.

Every configuration syncs (or converts) the corpus channel into an empty folder, in
round-robin so that drift of the machine hits all alike. The Dask clusters (a scheduler
and 1 or 2 single-threaded workers, `dask scheduler` / `dask worker`) are started before
the timings and stay up between runs, as a cluster does: what is timed is the sync, not
the cluster's start. The reference is what the machine gives two independent busy
processes: two `--jobs 1` syncs at once.

Scaling is a matter of idle cores, so other processes on the machine distort it more than
they distort a single conversion. Each command's run also measures the CPU time the
machine spent on processes other than this benchmark's tree; a round (every configuration
once) in which that exceeds ``quiet`` of the machine's cores is run again, and the rows
say how noisy the kept rounds were.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
from common import Measurement, corpus, tiny_channel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_CORES = len(os.sched_getaffinity(0))
_TICKS = os.sysconf("SC_CLK_TCK")


def _condawheel(*args: str) -> list[str]:
    return [sys.executable, "-m", "condawheel", *args]


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy since it started (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:  # noqa: PTH123 - one line of a procfs file
        fields = [int(value) for value in stat.readline().split()[1:]]
    # user, nice, system, idle, iowait, irq, softirq, steal: all but idle and iowait.
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy / _TICKS


def _own_cpu() -> float:
    """CPU seconds of this process and all its descendants, live or ended and waited for."""
    me = psutil.Process()
    times = me.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in me.children(recursive=True):  # the Dask workers, up for the whole run
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


@dataclass(frozen=True)
class _Run:
    seconds: float
    cpu: float
    """CPU seconds of this benchmark's processes meanwhile (the idle Dask clusters too)."""
    others: float
    """The share of the machine's cores that other processes used meanwhile."""


def _with_noise(command: Callable[[], float]) -> _Run:
    """Run ``command``; measure its CPU time and what other processes used meanwhile."""
    machine, own = _machine_cpu(), _own_cpu()
    seconds = command()
    cpu = _own_cpu() - own
    others = (_machine_cpu() - machine) - cpu
    return _Run(seconds, cpu, max(0.0, others) / (seconds * _CORES))


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _sync(channel: Path, wheelhouse: Path, *extra: str) -> list[str]:
    return _condawheel("sync", str(channel), "-w", str(_fresh(wheelhouse)), "-q", *extra)


def _pair(channel: Path, first: Path, second: Path) -> float:
    """Two independent ``--jobs 1`` syncs side by side; the time until both end."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen(_sync(channel, wheelhouse, "--jobs", "1"), stdout=subprocess.DEVNULL)
        for wheelhouse in (first, second)
    ]
    for process in processes:
        if process.wait() != 0:
            raise subprocess.CalledProcessError(process.returncode, process.args)
    return time.perf_counter() - start


def _packages(channel: Path) -> list[str]:
    """The channel's package files (``convert`` prefers a .conda to its .tar.bz2, as sync)."""
    return sorted(
        str(path) for pattern in ("*/*.conda", "*/*.tar.bz2") for path in channel.glob(pattern)
    )


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int) -> Iterator[str]:
    """Start a scheduler and ``workers`` single-threaded workers; yield the address."""
    address_file = folder / f"scheduler-{workers}.json"
    log = (folder / f"dask-{workers}.log").open("ab")
    dask = [sys.executable, "-m", "dask"]
    scheduler = subprocess.Popen(
        [
            *dask,
            *("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"),
            *("--scheduler-file", str(address_file)),
        ],
        stdout=log,
        stderr=log,
    )
    processes = [scheduler]
    try:
        address = _scheduler_address(scheduler, address_file, log.name)
        processes.append(
            subprocess.Popen(
                [
                    *dask,
                    *("worker", address, "--nworkers", str(workers), "--nthreads", "1"),
                    *("--host", "127.0.0.1", "--no-dashboard"),
                    *("--local-directory", str(folder / f"scratch-{workers}")),
                ],
                stdout=log,
                stderr=log,
            )
        )
        _wait_for_workers(address, workers)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _scheduler_address(scheduler: subprocess.Popen[bytes], address_file: Path, log: str) -> str:
    # The scheduler writes the file in place: until it parses, it is not written yet.
    while True:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            address: str = json.loads(address_file.read_text())["address"]
            return address
        if scheduler.poll() is not None:
            raise RuntimeError(f"the scheduler did not start: see {log}")
        time.sleep(0.05)


def _wait_for_workers(address: str, workers: int) -> None:
    from distributed import Client  # noqa: PLC0415 - only where a cluster runs

    with Client(address, set_as_default=False, timeout=120) as client:
        client.wait_for_workers(workers, timeout=120)


def scaling(*, runs: int, quiet: float = math.inf, rounds: int = 0) -> list[dict[str, object]]:
    """Sync the corpus channel with each configuration; rows with throughput ratios.

    :param quiet: the share of the machine's cores other processes may use during a kept
        round (default: every round is kept).
    :param rounds: at most this many rounds in all, kept or not (default: ``4 * runs``).
    """
    channel = corpus() / "channel"
    work = Path(tempfile.mkdtemp(prefix="condawheel-bench-"))
    names = {
        "one": "sync corpus channel --jobs 1",
        "two": "sync corpus channel --jobs 2",
        "threads": "convert corpus channel, 1 process, default threads per package",
        "dask1": "sync corpus channel --scheduler, 1 Dask worker",
        "dask2": "sync corpus channel --scheduler, 2 Dask workers",
        "pair": "reference: two --jobs 1 syncs at once (twice the work)",
    }
    packages = _packages(channel)
    try:
        with dask_cluster(work, 1) as one_worker, dask_cluster(work, 2) as two_workers:
            commands = {
                "one": lambda: _timed(_sync(channel, work / "w", "--jobs", "1")),
                "two": lambda: _timed(_sync(channel, work / "w", "--jobs", "2")),
                "threads": lambda: _timed(
                    _condawheel("convert", *packages, "-o", str(_fresh(work / "w")))
                ),
                "dask1": lambda: _timed(_sync(channel, work / "w", "--scheduler", one_worker)),
                "dask2": lambda: _timed(_sync(channel, work / "w", "--scheduler", two_workers)),
                "pair": lambda: _pair(channel, work / "a", work / "b"),
            }
            for command in commands.values():  # warm-up: page cache, first imports
                command()
            kept, discarded = _rounds(commands, runs, quiet, rounds or 4 * runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    measured = {
        key: Measurement(names[key], tuple(done[key].seconds for done in kept)) for key in names
    }
    noise = [max(run.others for run in done.values()) for done in kept]
    one = measured["one"]
    rows = [one.row()]
    for key, target in (
        ("two", "throughput >= 1.8x"),
        ("threads", ""),
        ("dask1", ""),
        ("dask2", ""),
    ):
        row = measured[key].row(one, target)
        row["ratio"] = round(one.median / measured[key].median, 3)
        row["ratio_meaning"] = "throughput / that of --jobs 1"
        rows.append(row)
    reference = measured["pair"].row(one)
    reference["ratio"] = round(2 * one.median / measured["pair"].median, 3)
    reference["ratio_meaning"] = "throughput of two --jobs 1 processes / one"
    rows.append(reference)
    for row, key in zip(rows, ["one", "two", "threads", "dask1", "dask2", "pair"], strict=True):
        # CPU time is what other processes disturb least: the cost of each configuration.
        row["cpu_s"] = round(statistics.median(done[key].cpu for done in kept), 3)
    rows.append(
        {
            "note": f"other processes' share of the {_CORES} cores during the kept rounds: "
            f"median {statistics.median(noise):.0%}, at most {max(noise):.0%}; "
            f"{discarded} noisier rounds run again",
            "others_share": [round(share, 3) for share in noise],
            "rounds_discarded": discarded,
        }
    )
    return rows


def _rounds(
    commands: dict[str, Callable[[], float]], runs: int, quiet: float, limit: int
) -> tuple[list[dict[str, _Run]], int]:
    """Run every command once per round, until ``runs`` rounds were quiet enough.

    Return the kept rounds and how many were discarded: a round's noise is the most any
    of its commands saw; after ``limit`` rounds the quietest are kept.
    """
    measured: list[tuple[float, dict[str, _Run]]] = []
    for _ in range(limit):
        done = {key: _with_noise(command) for key, command in commands.items()}
        measured.append((max(run.others for run in done.values()), done))
        if sum(1 for noise, _ in measured if noise <= quiet) >= runs:
            break
    kept = sorted(measured, key=lambda pair: pair[0])[:runs]
    return [done for _, done in kept], len(measured) - len(kept)


def smoke() -> list[dict[str, object]]:
    """Sync a tiny channel on a one-worker cluster, once: keeps this script working."""
    channel = tiny_channel(5)
    work = Path(tempfile.mkdtemp(prefix="condawheel-bench-"))
    try:
        with dask_cluster(work, 1) as address:
            seconds = _timed(_sync(channel, work / "w", "--scheduler", address))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [Measurement("sync 5 tiny packages --scheduler, 1 Dask worker", (seconds,)).row()]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="kept rounds (default: 5)")
    parser.add_argument(
        "--quiet",
        type=float,
        default=math.inf,
        help="keep a round only if other processes used at most this share of the cores "
        "(default: keep every round)",
    )
    parser.add_argument("--rounds", type=int, default=0, help="at most this many rounds")
    args = parser.parse_args()
    print(json.dumps(scaling(runs=args.runs, quiet=args.quiet, rounds=args.rounds), indent=1))
