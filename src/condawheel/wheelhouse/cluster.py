"""Convert a sync's artifacts on a Dask cluster, while this engine lands every wheel.

The engine (the one process that holds the wheelhouse lock) connects to a Dask scheduler
and submits one task per artifact. A worker fetches the artifact itself (from the
channel's URL, or from a path all workers share), verifies and converts it as a local
worker process does (:func:`~condawheel.wheelhouse.workers.run_job`), and leaves the
wheel in the run's staging folder inside the wheelhouse, which must therefore be on a
filesystem the workers share, at the same path. The engine lands, records and indexes
each wheel as a local sync does, so the wheels, the index and the report are the same.

Before the first task, every worker is asked (:func:`probe_worker`) whether it runs
this condawheel version, sees the engine's staging folder and can write there, can read
the sources' files and can create its download cache: a worker that cannot is one
error, not a thousand failed tasks. The name mapping travels once per worker, as a
worker plugin (:class:`RunSetup`) that parses it when the worker joins.

Faults:

* A worker that dies mid-task: the scheduler runs the task again on another worker.
  Each run of a task stages into a folder of its own, so a dead run's half-written
  files are never landed, and they go with the staging folder at the end of the sync.
* A poison artifact, one that kills its worker every time: the scheduler gives up on
  it after ``distributed.scheduler.allowed-failures`` deaths (a scheduler setting,
  3 by default: 4 tries) and the artifact fails alone.
* A task that runs past ``task_timeout`` (a stalled download that the socket's
  timeout does not catch, a hung filesystem): it is given up and submitted again, at
  most :data:`TIMEOUT_TRIES` times in all. Its thread cannot be stopped and is left
  behind on its worker; what it writes later goes to its own staging folder, never
  landed.
* The scheduler gone: the sync fails with one :class:`WheelhouseError`; the wheels
  landed so far are recorded, and a re-run finishes the work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections import deque
from concurrent.futures import CancelledError
from dataclasses import dataclass
from traceback import format_exception
from typing import TYPE_CHECKING, Final

from distributed import Client, WorkerPlugin, as_completed
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker

from condawheel import __version__
from condawheel.convert.names import NameMapping, default_mapping, parse_mapping
from condawheel.errors import WheelhouseError
from condawheel.wheelhouse.downloads import clean_partial_downloads, default_cache_dir
from condawheel.wheelhouse.workers import JobResult, run_job

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from distributed import Future, Worker

    from condawheel.wheelhouse.workers import ConversionJob

__all__ = [
    "TIMEOUT_TRIES",
    "DaskCluster",
    "Probe",
    "RunSetup",
    "connect",
    "convert_task",
    "probe_worker",
]

TIMEOUT_TRIES: Final = 3
# How long to wait for a first worker when the scheduler has none yet (a cluster that
# is scaling up); then the sync fails rather than waiting for ever.
_WORKER_WAIT: Final = 60.0
# Tasks submitted ahead of the workers, per worker thread: few enough that a million
# artifacts do not sit in the scheduler's memory at once, and more than the scheduler's
# threshold for a "root-ish" task group (twice its threads). Such tasks wait in the
# scheduler's queue rather than on workers, which take only what they can run
# (``distributed.scheduler.worker-saturation``): a worker that dies then takes fewer
# innocent tasks with it, each of which would count towards its allowed failures.
_AHEAD_PER_THREAD: Final = 4
_CAPACITY_EVERY: Final = 1.0
_CLOSE_TIMEOUT: Final = 10
_LOST: Final = (
    "lost the connection to the Dask scheduler ({why}); the wheels landed so far are "
    "kept: run the sync again to finish"
)
# Lost connections surface as these, depending on the moment (see _lost()).
_CONNECTION_ERRORS: Final = (OSError, TimeoutError, CancelledError, CommClosedError)


# --------------------------------------------------------------------------- on workers

_RUNS: dict[str, NameMapping] = {}
"""Per worker process: the name mapping of each sync run whose :class:`RunSetup` is set up."""


def _parse_names(mappings: Sequence[tuple[str, str]]) -> NameMapping:
    names = default_mapping()
    for origin, text in mappings:
        names = names.merged(parse_mapping(text, origin=origin))
    return names


class RunSetup(WorkerPlugin):
    """A sync run's setup on each worker: its name mapping, parsed once per worker.

    The scheduler hands the plugin to every worker that joins while it is registered, so
    a worker started again after a crash has it before its first task.
    """

    def __init__(
        self, run: str, mappings: tuple[tuple[str, str], ...], cache_dir: Path | None
    ) -> None:
        self.run = run
        self.name = f"condawheel-run-{run}"
        """The plugin's name on the cluster."""
        self.mappings = mappings
        """``(origin, text)`` of each mapping file, in order; the origin as the engine names
        it, since the wheels record it."""
        self.cache_dir = cache_dir

    def setup(self, worker: Worker) -> None:  # noqa: ARG002 - the plugin interface
        """Parse the mapping; remove the partial downloads a killed predecessor left."""
        _RUNS[self.run] = _parse_names(self.mappings)
        clean_partial_downloads(self.cache_dir or default_cache_dir())

    def teardown(self, worker: Worker) -> None:  # noqa: ARG002 - the plugin interface
        """Forget the run."""
        _RUNS.pop(self.run, None)


def convert_task(job: ConversionJob, run: str, timeout: float) -> JobResult:
    """Convert ``job`` on a worker within ``timeout`` seconds (the Dask task).

    The conversion runs in a thread of its own, so that a hung one can be given up: the
    task then returns a result marked ``timed_out`` and frees its worker thread.
    """
    names = _RUNS.get(run)
    if names is None:  # pragma: no cover - the scheduler sets plugins up before tasks
        return JobResult(job.number, error="internal error: the run's setup is not on the worker")
    # Each run of the task stages apart: a run whose worker died may have left its folder.
    folder = f"{job.number}-{secrets.token_hex(4)}"
    results: list[JobResult] = []
    thread = threading.Thread(
        target=lambda: results.append(run_job(job, names, folder=folder)),
        name=f"condawheel-{job.artifact.filename}",
        daemon=True,
    )
    thread.start()
    thread.join(timeout)
    if results:
        return results[0]
    return JobResult(job.number, error=f"timed out after {timeout:g} s", timed_out=True)


@dataclass(frozen=True)
class Probe:
    """What every worker must be able to do before the tasks are submitted."""

    version: str
    token_file: Path
    """A file the engine wrote in the staging folder, holding ``token``."""
    token: str
    files: tuple[tuple[str, ...], ...]
    """For each local source, paths of one artifact; at least one must be readable."""
    downloads: bool
    cache_dir: Path | None


def probe_worker(probe: Probe) -> list[str]:
    """Return what stops this worker from converting the run's artifacts (nothing: [])."""
    problems = []
    if __version__ != probe.version:
        problems.append(
            f"runs condawheel {__version__}, the engine {probe.version}: "
            "its wheels would differ; install the same version on every worker"
        )
    staging = probe.token_file.parent
    try:
        seen = probe.token_file.read_text(encoding="utf-8")
    except OSError as error:
        seen = f"unreadable: {error.strerror or error}"
    if seen != probe.token:
        problems.append(
            f"does not see the wheelhouse's staging folder {staging} ({seen}): the "
            "wheelhouse must be on a filesystem the workers share, at the same path"
        )
    else:
        try:
            (staging / f"probe-{secrets.token_hex(4)}").mkdir()
        except OSError as error:
            problems.append(f"cannot write in {staging}: {error.strerror or error}")
    problems.extend(
        f"cannot read {paths[0]}: the sources must be on a filesystem the workers "
        "share, at the same path"
        for paths in probe.files
        if not any(os.access(path, os.R_OK) for path in paths)
    )
    if probe.downloads:
        cache = (probe.cache_dir or default_cache_dir()) / "pkgs"
        try:
            cache.mkdir(parents=True, exist_ok=True)
            if not os.access(cache, os.W_OK | os.X_OK):
                problems.append(f"cannot write its download cache {cache}")
        except OSError as error:
            problems.append(f"cannot create its download cache {cache}: {error.strerror or error}")
    return problems


# --------------------------------------------------------------------------- the engine


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Keep distributed's own log records off stderr: the engine reports in one line.

    Each of distributed's loggers is switched off: a parent's level does not stop the
    records of a child with a level of its own, which distributed's configuration sets.
    """
    loggers = [
        logging.getLogger(name)
        for name in ["distributed", *logging.root.manager.loggerDict]
        if name == "distributed" or name.startswith("distributed.")
    ]
    states = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in zip(loggers, states, strict=True):
            logger.disabled = disabled


def _lost(address: str, error: BaseException) -> WheelhouseError:
    why = str(error).splitlines()[0] if str(error) else type(error).__name__
    return WheelhouseError(address, _LOST.format(why=why))


class DaskCluster:
    """The engine's connection to a Dask scheduler, for one sync run."""

    def __init__(self, address: str, client: Client) -> None:
        self.address = address
        self.client = client

    def check_workers(self, jobs: Sequence[ConversionJob], staging: Path) -> None:
        """Ask every worker whether it can do ``jobs`` (see :func:`probe_worker`).

        :raises WheelhouseError: naming the first worker that cannot, and why.
        """
        try:
            self.client.wait_for_workers(1, timeout=_WORKER_WAIT)
        except TimeoutError:
            raise WheelhouseError(
                self.address, f"no Dask worker joined the scheduler within {_WORKER_WAIT:g} s"
            ) from None
        except _CONNECTION_ERRORS as error:
            raise _lost(self.address, error) from None
        token = secrets.token_hex(16)
        token_file = staging / f"probe-{token[:8]}"
        token_file.write_text(token, encoding="utf-8")
        files: dict[str, tuple[str, ...]] = {}
        for job in jobs:
            artifact = job.artifact
            if artifact.kind == "file":
                files.setdefault(artifact.source, (artifact.location,))
            elif artifact.kind == "installed" and artifact.alternatives:
                files.setdefault(artifact.source, artifact.alternatives)
        probe = Probe(
            version=__version__,
            token_file=token_file,
            token=token,
            files=tuple(files.values()),
            downloads=any(job.artifact.kind == "url" for job in jobs),
            cache_dir=jobs[0].cache_dir if jobs else None,
        )
        try:
            answers: dict[str, list[str]] = self.client.run(probe_worker, probe)
        except _CONNECTION_ERRORS as error:
            raise _lost(self.address, error) from None
        failing = {worker: problems for worker, problems in answers.items() if problems}
        if failing:
            worker, problems = min(failing.items())
            more = f" (and {len(failing) - 1} more workers)" if len(failing) > 1 else ""
            raise WheelhouseError(self.address, f"Dask worker {worker} {'; '.join(problems)}{more}")

    def run_jobs(
        self,
        jobs: Sequence[ConversionJob],
        *,
        mappings: tuple[tuple[str, str], ...],
        timeout: float,
    ) -> Iterator[JobResult]:
        """Run ``jobs`` on the workers and yield each result as it comes.

        :param mappings: ``(origin, text)`` of each mapping file, for :class:`RunSetup`.
        :param timeout: seconds a task may run before it is given up and tried again.
        :raises WheelhouseError: if the connection to the scheduler is lost.
        """
        run = secrets.token_hex(8)
        cache_dir = jobs[0].cache_dir if jobs else None
        setup = RunSetup(run, mappings, cache_dir)
        try:
            self.client.register_plugin(setup, name=setup.name)
        except _CONNECTION_ERRORS as error:
            raise _lost(self.address, error) from None
        try:
            yield from self._run(jobs, run, timeout)
        finally:
            with contextlib.suppress(*_CONNECTION_ERRORS):
                self.client.unregister_worker_plugin(setup.name)

    def _capacity(self) -> int:
        threads: dict[str, int] = self.client.nthreads()
        return _AHEAD_PER_THREAD * max(1, sum(threads.values()))

    def _run(self, jobs: Sequence[ConversionJob], run: str, timeout: float) -> Iterator[JobResult]:
        # Largest first, as the engine ordered them: the scheduler's priority keeps that
        # order among the tasks it holds.
        pending = deque(enumerate(jobs))
        tries: dict[int, int] = {}
        running: dict[Future[JobResult], tuple[int, ConversionJob]] = {}
        completed = as_completed(loop=self.client.loop)
        capacity, measured = 0, 0.0
        try:
            while pending or running:
                if time.monotonic() - measured > _CAPACITY_EVERY:
                    capacity, measured = self._capacity(), time.monotonic()
                while pending and len(running) < capacity:
                    position, job = pending.popleft()
                    tries[job.number] = tries.get(job.number, 0) + 1
                    future = self.client.submit(
                        convert_task,
                        job,
                        run,
                        timeout,
                        # One task group ("condawheel-convert", the part before the hex
                        # token), so that the scheduler queues the tasks (see
                        # _AHEAD_PER_THREAD); the file name shows which artifact it is.
                        key=f"condawheel-convert-{run}-{job.number}-{tries[job.number]}-"
                        f"{job.artifact.filename}",
                        priority=len(jobs) - position,
                        pure=False,
                    )
                    running[future] = (position, job)
                    completed.add(future)
                future = next(completed)
                result = self._result(future, running[future][1])
                if result is None:  # not done after all: computed again (see _result)
                    completed.add(future)
                    continue
                position, job = running.pop(future)
                future.release()
                if result.timed_out and tries[job.number] < TIMEOUT_TRIES:
                    pending.appendleft((position, job))
                    continue
                if result.timed_out:
                    result = JobResult(
                        job.number,
                        error=f"timed out on the Dask workers {TIMEOUT_TRIES} times, after "
                        f"{timeout:g} s each",
                    )
                yield result
        except _CONNECTION_ERRORS as error:
            raise _lost(self.address, error) from None
        finally:
            for future in running:
                with contextlib.suppress(*_CONNECTION_ERRORS):
                    future.cancel()

    def _result(self, future: Future[JobResult], job: ConversionJob) -> JobResult | None:
        """Return the result of a future ``as_completed`` gave, None if it is not done.

        A future can be handed over and then computed again before it is read: its
        result was on a worker that died in the meantime.
        """
        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            # Only this engine cancels its tasks, and not while it waits for them.
            future.result()  # raises FutureCancelledError: the scheduler is gone
        if future.status != "error":
            return None
        error = future.exception()
        if isinstance(error, KilledWorker):
            allowed = getattr(error, "allowed_failures", None)
            tries = "every time" if allowed is None else f"all {allowed + 1} times"
            return JobResult(
                job.number,
                error=f"the Dask worker converting it died, {tries} it was tried (killed, "
                "out of memory, or this artifact crashes it)",
            )
        if error is None or isinstance(error, _CONNECTION_ERRORS):
            raise CancelledError(str(error))
        return JobResult(
            job.number,
            error=f"internal error: {type(error).__name__}: {error}",
            traceback="".join(format_exception(error)),
        )

    def close(self) -> None:
        """Close the connection (a lost one too)."""
        with contextlib.suppress(*_CONNECTION_ERRORS, RuntimeError):
            self.client.close(timeout=_CLOSE_TIMEOUT)


@contextlib.contextmanager
def connect(address: str) -> Iterator[DaskCluster]:
    """Connect to the Dask scheduler at ``address`` for one run.

    :raises WheelhouseError: if the scheduler cannot be reached (within distributed's
        ``distributed.comm.timeouts.connect``), or is lost during the run.
    """
    with _quiet_distributed():
        try:
            client = Client(address, set_as_default=False)
        except (*_CONNECTION_ERRORS, ValueError) as error:
            why = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise WheelhouseError(address, f"cannot reach the Dask scheduler: {why}") from None
        cluster = DaskCluster(address, client)
        try:
            yield cluster
        finally:
            cluster.close()
