"""A real Dask cluster on loopback for the tests: `dask scheduler` and `dask worker`.

Both are started as processes of their own (the commands a cluster's operator runs), and
ended by their pids; a worker is killed by its pid as an out-of-memory killer would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import psutil
from distributed import Client

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

START_SECONDS: Final = 120
STOP_SECONDS: Final = 10


@dataclass
class DaskProcesses:
    """A scheduler and workers started for a test, with a client to look at them."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: subprocess.Popen[bytes]
    client: Client
    killed: list[int] = field(default_factory=list)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> the pid of its process (a nanny's child)."""
        pids: dict[str, int] = self.client.run(os.getpid)
        return pids

    def kill_worker_running(self, text: str) -> int:
        """SIGKILL the worker whose task key holds ``text``; return its pid."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            processing: dict[str, list[str]] = self.client.processing()
            for worker, keys in processing.items():
                if any(text in str(key) for key in keys):
                    pid = self.worker_pids()[worker]
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
                    return pid
            time.sleep(0.05)
        raise AssertionError(f"no worker is running a task for {text}")

    def kill_scheduler(self) -> None:
        os.kill(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait(timeout=STOP_SECONDS)

    def wait_for_workers(self, count: int) -> None:
        self.client.wait_for_workers(count, timeout=START_SECONDS)


def runs_on_worker() -> int:
    """Return how many sync runs this worker holds the setup of (run on a worker)."""
    from condawheel.wheelhouse import cluster  # noqa: PLC0415 - on the worker

    return len(cluster._RUNS)


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


@contextlib.contextmanager
def dask_cluster(
    folder: Path,
    *,
    workers: int = 2,
    environment: Mapping[str, str] | None = None,
    preload: tuple[str, ...] = (),
) -> Iterator[DaskProcesses]:
    """Start a scheduler and ``workers`` single-threaded workers; end them all by pid.

    :param environment: added to the workers' and the scheduler's environment
        (``CONDAWHEEL_CACHE_DIR``, ``DASK_DISTRIBUTED__...`` settings).
    :param preload: modules every worker runs as it starts (``dask worker --preload``),
        besides :mod:`dask_counting`, which every worker of these tests runs.
    """
    folder.mkdir(parents=True, exist_ok=True)
    # This module on the workers' path: functions the tests run there are named from it.
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, **(environment or {})}
    address_file = folder / "scheduler.json"
    log = (folder / "dask.log").open("ab")
    scheduler = subprocess.Popen(
        _dask(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(address_file),
        ),
        env=env,
        stdout=log,
        stderr=log,
    )
    processes = [scheduler]
    client = None
    try:
        address = _scheduler_address(scheduler, address_file, folder / "dask.log")
        nanny = subprocess.Popen(
            _dask(
                "worker",
                address,
                "--nworkers",
                str(workers),
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--local-directory",
                str(folder / "scratch"),
                *(
                    argument
                    for module in ("dask_counting", *preload)
                    for argument in ("--preload", module)
                ),
            ),
            env=env,
            stdout=log,
            stderr=log,
        )
        processes.append(nanny)
        client = Client(address, set_as_default=False, timeout=START_SECONDS)
        cluster = DaskProcesses(address, scheduler, nanny, client)
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=STOP_SECONDS)
        # The worker processes are the nannies' children (restarted ones too): none may
        # outlive the test, whatever state the nannies are in.
        children = _children(processes)
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        log.close()


def _scheduler_address(scheduler: subprocess.Popen[bytes], address_file: Path, log: Path) -> str:
    """Wait for the scheduler to write its address into ``address_file``; return it.

    The scheduler writes the file in place, not atomically: until it parses, it is not
    written yet.
    """
    deadline = time.monotonic() + START_SECONDS
    while True:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            address: str = json.loads(address_file.read_text())["address"]
            return address
        if scheduler.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the scheduler did not start: see {log}")
        time.sleep(0.05)


def _children(processes: list[subprocess.Popen[bytes]]) -> list[psutil.Process]:
    found = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.extend(psutil.Process(process.pid).children(recursive=True))
    return found
