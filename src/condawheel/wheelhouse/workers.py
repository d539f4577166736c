"""Convert artifacts in worker processes, into a staging folder the sync engine owns.

A worker finds the artifact's bytes (downloads and verifies it, or picks the installed
package's archive or extracted folder), converts it with ``threads=0`` (the processes
are the parallelism), and leaves its wheels in ``<staging>/<n>/``: one, or one per Python
distribution and a library wheel for a package that holds several (docs/convert.md,
"split"). It never writes into the wheelhouse: the engine, which holds the wheelhouse
lock, moves the wheels into place.
So a worker that outlives a killed engine cannot land anything in a wheelhouse that a
newer run now owns; on Linux it is killed with its parent anyway (``PR_SET_PDEATHSIG``).

Workers are started with the ``spawn`` method on every platform: no locks, threads or
open files of the engine leak into them, and the behaviour is the same everywhere.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from traceback import format_exception
from typing import TYPE_CHECKING, Final

from condawheel.conda.condameta import dependencies_key
from condawheel.conda.sources import read_metadata_file
from condawheel.convert import ArtifactHints, convert
from condawheel.convert.names import NameMapping, default_mapping, load_mapping
from condawheel.errors import CondawheelError, InvalidPackage, OutputError, SourceError
from condawheel.io.digests import hash_file
from condawheel.io.jsondata import JSONProblem, parse_json
from condawheel.sidecar import used_dependencies
from condawheel.wheelhouse.downloads import Expected, default_cache_dir, download_artifact
from condawheel.wheelhouse.frontpage import WheelSummary, summarize_wheel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from condawheel.conda.condameta import JSONObject
    from condawheel.io.http import RetryPolicy
    from condawheel.options import PlanOptions
    from condawheel.wheelhouse.artifacts import Artifact

__all__ = [
    "ConversionJob",
    "JobResult",
    "StagedWheel",
    "in_sync_worker",
    "load_names",
    "run_job",
    "run_jobs",
]

_PR_SET_PDEATHSIG: Final = 1
# Set in the engine's environment while its pool lives, so its workers inherit it.
_WORKER_MARKER: Final = "CONDAWHEEL_SYNC_ENGINE_PID"
_ATTEMPTS: Final = 2
WORKER_DIED: Final = "the worker process converting it died (killed, or out of memory)"


@dataclass(frozen=True)
class ConversionJob:
    """One artifact to convert, and where to leave the wheel."""

    number: int
    artifact: Artifact
    key: str
    staging: Path
    cache_dir: Path | None
    """The download cache; None: the default of the process that runs the job (a Dask
    worker's own, see :func:`~condawheel.wheelhouse.downloads.default_cache_dir`)."""
    options: PlanOptions
    retry: RetryPolicy
    threads: int | None = 0


@dataclass(frozen=True)
class StagedWheel:
    """One wheel a job left in the staging folder."""

    path: Path
    metadata: bytes | None = None
    """The wheel's METADATA, so that the index need not read the wheel again."""
    summary: WheelSummary | None = None
    """What the front page shows of the wheel (from METADATA and conda.json), likewise."""


@dataclass(frozen=True)
class JobResult:
    """The staged wheels of an artifact, or why there are none."""

    number: int
    staged: tuple[StagedWheel, ...] = ()
    """Every wheel the artifact made, in the converter's order: one, or a split package's
    distribution wheels and then its library wheel."""
    source_sha256: str | None = None
    """The sha256 the converter computed (or was given) for the source: the sidecar's."""
    warnings: tuple[str, ...] = ()
    error: str | None = None
    depends_key: str | None = None
    """The digest of the depends and constrains the wheels were made with (for the state;
    the package's record, the same for every wheel of a split one)."""
    traceback: str | None = None
    """The formatted traceback of an internal error (a defect of condawheel) that failed
    the job, for ``CONDAWHEEL_DEBUG``: tracebacks do not cross process boundaries, text does."""
    timed_out: bool = False
    """The job ran past its deadline and was given up (a Dask task; see ``cluster``)."""


def load_names(mapping_files: Sequence[Path]) -> NameMapping:
    """Return the default conda->PyPI mapping with ``mapping_files`` on top."""
    names = default_mapping()
    for path in mapping_files:
        names = names.merged(load_mapping(path))
    return names


def _is_installed_folder(path: Path, artifact: Artifact) -> bool:
    try:
        raw = read_metadata_file(str(path), path / "info" / "index.json", "info/index.json")
        index = parse_json(raw)
    except (OSError, InvalidPackage, JSONProblem):
        return False
    return isinstance(index, dict) and (
        index.get("name"),
        index.get("version"),
        index.get("build"),
    ) == (artifact.name, artifact.version, artifact.build)


def _installed_bytes(artifact: Artifact) -> Path:
    """Pick the first archive with the record's digest, else a matching extracted folder."""
    looked = []
    for location in artifact.alternatives:
        path = Path(location)
        looked.append(location)
        if path.is_dir():
            if _is_installed_folder(path, artifact):
                return path
            continue
        try:
            digests = hash_file(path, md5=True)
        except OSError:
            continue
        if artifact.sha256 and digests.sha256 != artifact.sha256:
            continue
        if not artifact.sha256 and artifact.md5 and digests.md5 != artifact.md5:
            continue
        return path
    raise SourceError(
        artifact.location,
        f"no package cache holds the installed {artifact.filename} "
        f"(looked at {', '.join(looked) or 'nothing'}); give the cache with --pkgs-dir",
    )


def _local_bytes(job: ConversionJob) -> Path:
    artifact = job.artifact
    if artifact.kind == "file":
        return Path(artifact.location)
    if artifact.kind == "url":
        expected = Expected(artifact.sha256, artifact.md5, artifact.size)
        return download_artifact(
            artifact.location,
            job.cache_dir or default_cache_dir(),
            artifact.filename,
            expected,
            policy=job.retry,
        )
    return _installed_bytes(artifact)


def _depends_key(sidecar: JSONObject) -> str | None:
    used = used_dependencies(sidecar)
    return None if used is None else dependencies_key(*used)


def _source_sha256(sidecar: object) -> str | None:
    source = sidecar.get("source") if isinstance(sidecar, dict) else None
    value = source.get("sha256") if isinstance(source, dict) else None
    return value if isinstance(value, str) else None


def run_job(job: ConversionJob, names: NameMapping, *, folder: str | None = None) -> JobResult:
    """Convert one artifact into ``<staging>/<folder>/``; never raises for bad input.

    :param folder: the staging sub-folder, which must not exist yet (default: the job's
        number). A task that may run more than once (on a Dask cluster, after its worker
        died) gives each run its own, so that a dead run's leftovers never block the next.
    """
    artifact = job.artifact
    out_dir = job.staging / (folder or str(job.number))
    try:
        # No parents: if a newer run removed the staging folder, this worker is an orphan
        # of a killed engine and must not recreate it.
        out_dir.mkdir()
    except OSError as error:
        return JobResult(job.number, error=_cannot_stage(job, error.strerror or str(error)))
    try:
        path = _local_bytes(job)
        hints = ArtifactHints(
            channel=artifact.channel,
            subdir=artifact.subdir or None,
            url=artifact.url,
            sha256=artifact.sha256,
            md5=artifact.md5,
            filename=artifact.filename,
            size=artifact.size,
            dependencies=artifact.dependencies,
            flags=artifact.flags,
            purls=artifact.purls,
        )
        result = convert(
            path, out_dir, mapping=names, options=job.options, hints=hints, threads=job.threads
        )
    except OutputError as error:
        # The staging folder is the engine's business: name the wheelhouse, not it.
        cause = error.__cause__
        why = cause.strerror or str(cause) if isinstance(cause, OSError) else error.reason
        return JobResult(job.number, error=_cannot_stage(job, why))
    except CondawheelError as error:
        return JobResult(
            job.number, error=error.reason if error.subject in _own(job) else str(error)
        )
    except OSError as error:
        what = error.strerror or str(error)
        return JobResult(job.number, error=f"{error.filename}: {what}" if error.filename else what)
    except Exception as error:  # noqa: BLE001 - one broken artifact must not end the sync
        return JobResult(
            job.number,
            error=f"internal error: {type(error).__name__}: {error}",
            traceback="".join(format_exception(error)),
        )
    return JobResult(
        job.number,
        staged=tuple(
            StagedWheel(
                made.wheel,
                metadata=made.plan.metadata,
                summary=summarize_wheel(made.plan.metadata, made.plan.sidecar),
            )
            for made in result.wheels
        ),
        source_sha256=_source_sha256(result.plan.sidecar),
        # A split package's wheels are planned from one analysis: the package's warnings
        # are said once, not once per wheel.
        warnings=tuple(dict.fromkeys(w for made in result.wheels for w in made.plan.warnings)),
        depends_key=_depends_key(result.plan.sidecar),
    )


def _cannot_stage(job: ConversionJob, why: str) -> str:
    return f"cannot stage the wheel in {job.staging.parent}: {why}"


def _own(job: ConversionJob) -> set[str]:
    # Errors about the artifact itself read better without repeating its location.
    return {job.artifact.location, *job.artifact.alternatives}


# --------------------------------------------------------------------------- processes

_worker_names: NameMapping | None = None


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _init_worker(parent: int, mapping_files: tuple[Path, ...]) -> None:
    global _worker_names  # noqa: PLW0603 - the per-process state of a pool worker
    _die_with(parent)
    # The engine handles Ctrl-C; a worker interrupted mid-write would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Loaded here rather than handed over by the engine: a large initializer argument is
    # written to the new process through a pipe that CPython keeps open on both ends
    # until the write ends, so a worker dying while it starts (an unguarded script)
    # would leave the engine blocked on that write for ever.
    _worker_names = load_names(mapping_files)


def _run_in_worker(job: ConversionJob) -> JobResult:
    if _worker_names is None:  # a guard: the initializer always ran
        return JobResult(job.number, error="internal error: worker not initialised")
    return run_job(job, _worker_names)


def in_sync_worker() -> bool:
    """Return whether this process is a worker that a sync engine started.

    ``spawn`` runs the engine's main module again in each worker before the worker does
    anything else; a script that calls :func:`~condawheel.wheelhouse.sync.sync` without an
    ``if __name__ == "__main__":`` guard would start a second sync there, which would wait
    forever for the lock its own engine holds. The engine refuses instead.
    """
    return os.environ.get(_WORKER_MARKER) == str(os.getppid())


@contextlib.contextmanager
def _marking_workers() -> Iterator[None]:
    previous = os.environ.get(_WORKER_MARKER)
    os.environ[_WORKER_MARKER] = str(os.getpid())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_WORKER_MARKER, None)
        else:
            os.environ[_WORKER_MARKER] = previous


def run_jobs(
    jobs: Sequence[ConversionJob],
    *,
    workers: int,
    mapping_files: tuple[Path, ...],
    names: Callable[[], NameMapping],
) -> Iterator[JobResult]:
    """Run ``jobs`` and yield each result as it comes (in completion order).

    One worker, or one job, runs in this process; otherwise a process pool runs them,
    with at most two jobs per worker queued so that memory stays flat for long runs. When
    a worker dies, the pool is replaced and the jobs it had are tried once more.
    """
    if workers <= 1 or len(jobs) <= 1:
        mapping = names()
        for job in jobs:
            yield run_job(job, mapping)
        return
    with _marking_workers():
        yield from _run_in_pool(jobs, workers=workers, mapping_files=mapping_files, names=names)


def _run_in_pool(
    jobs: Sequence[ConversionJob],
    *,
    workers: int,
    mapping_files: tuple[Path, ...],
    names: Callable[[], NameMapping],
) -> Iterator[JobResult]:
    # This process is one of the ``workers``: it converts whenever no result waits to be
    # landed, so ``--jobs N`` starts N - 1 processes, and their start-up (a fresh
    # interpreter importing condawheel) overlaps with work already being done here.
    helpers = workers - 1
    pending = list(reversed(jobs))
    attempts: dict[int, int] = {}
    context = multiprocessing.get_context("spawn")
    mapping: NameMapping | None = None
    while pending:
        with ProcessPoolExecutor(
            max_workers=min(helpers, len(pending)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(os.getpid(), mapping_files),
        ) as pool:
            running: dict[Future[JobResult], ConversionJob] = {}
            try:
                while pending or running:
                    while pending and len(running) < 2 * helpers:
                        job = pending.pop()
                        attempts[job.number] = attempts.get(job.number, 0) + 1
                        running[pool.submit(_run_in_worker, job)] = job
                    done = {future for future in running if future.done()}
                    if not done and pending:
                        mapping = mapping or names()
                        yield run_job(pending.pop(), mapping)
                        continue
                    if not done:
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        result = future.result()
                        del running[future]
                        yield result
            except BrokenProcessPool:
                # Which job killed its worker is unknown: each job that was in flight
                # gets one more try in a new pool; a job that breaks it twice fails.
                for job in running.values():
                    if attempts[job.number] < _ATTEMPTS:
                        pending.append(job)
                    else:
                        yield JobResult(job.number, error=WORKER_DIED)
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
