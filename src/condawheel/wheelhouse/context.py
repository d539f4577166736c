"""The options of a sync, and the bookkeeping its stages share during one run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from condawheel import __version__
from condawheel.convert.ingest import default_threads
from condawheel.env.tagconfig import DEFAULT_SYSTEM_CONFIG
from condawheel.io.http import RetryPolicy
from condawheel.options import PlanOptions
from condawheel.wheelhouse.decisions import scope_of
from condawheel.wheelhouse.outcomes import Outcome
from condawheel.wheelhouse.selection import Selection
from condawheel.wheelhouse.state import ConversionRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from condawheel.errors import CondawheelError
    from condawheel.wheelhouse.cluster import DaskCluster
    from condawheel.wheelhouse.decisions import Identified
    from condawheel.wheelhouse.index import FileStamp, IndexedWheel
    from condawheel.wheelhouse.outcomes import Status, SyncEvent
    from condawheel.wheelhouse.state import WheelhouseState

__all__ = ["SyncOptions", "SyncRun", "outcome_of"]


@dataclass(frozen=True)
class SyncOptions:
    """Everything a sync run can be told."""

    subdirs: tuple[str, ...] = ()
    """Channel subdirs to list; empty: every one found."""
    selection: Selection = field(default_factory=Selection)
    jobs: int = field(default_factory=default_threads)
    dry_run: bool = False
    prune: bool = False
    wait: bool = True
    plan_options: PlanOptions = field(default_factory=PlanOptions)
    mapping_files: tuple[Path, ...] = ()
    cache_dir: Path | None = None
    """Where downloads are kept; None: :func:`downloads.default_cache_dir`."""
    pkgs_dirs: tuple[Path, ...] = ()
    """Package caches to search for environments' artifacts, before the default ones."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG
    """The system-wide ``binary-compatibility.cfg``, read for environment sources (None: not)."""
    scheduler: str | None = None
    """The address of a Dask scheduler whose workers convert (None: this machine's
    processes, ``jobs`` of them); see :mod:`~condawheel.wheelhouse.cluster`."""
    task_timeout: float = 1800.0
    """Seconds a conversion task may run on a Dask worker before it is given up and tried
    again; long enough for the largest packages, short of "for ever"."""


@dataclass
class SyncRun:
    """The bookkeeping of one run, shared by its stages (the decisions never see it)."""

    wheelhouse: Path
    options: SyncOptions
    options_key: str
    options_json: str
    emit: Callable[[SyncEvent], None]
    state: WheelhouseState | None = None
    records: Sequence[ConversionRecord] = ()
    """The state's records when the run started."""
    recorded_wheels: frozenset[str] = frozenset()
    """The wheels ``records`` name."""
    landed: dict[str, Outcome] = field(default_factory=dict)
    """Wheel file name -> the outcome that landed it in this run (for conflicts)."""
    indexed: dict[FileStamp, IndexedWheel] = field(default_factory=dict)
    """Index entries of the wheels landed in this run, so that the index need not read them."""
    unusable: Mapping[str, CondawheelError] = field(default_factory=dict)
    """Sources that fail before listing (an environment whose build tag cannot be told)."""
    started: float = field(default_factory=time.time)
    """When the run started (seconds since the epoch), for the front page's last sync."""
    cluster: DaskCluster | None = None
    """The Dask cluster that converts (``options.scheduler``), connected for this run."""
    on_outcome: Callable[[Outcome], None] | None = None
    """Takes each outcome as it is final, in a run that streams (see ``sync``)."""

    def conversion(
        self,
        item: Identified,
        key: str,
        wheel: str,
        stamp: tuple[int, int | None],
        sha256: str | None,
        depends_key: str | None,
    ) -> ConversionRecord:
        """Return the record of a wheel; ``stamp``: its size and mtime (None: unknown)."""
        artifact = item.artifact
        return ConversionRecord(
            artifact_key=key,
            options_key=self.options_key,
            wheel=wheel,
            wheel_size=stamp[0],
            wheel_sha256=sha256,
            artifact_filename=artifact.filename,
            artifact_source=artifact.source,
            artifact_scope=scope_of(artifact),
            artifact_location=artifact.location,
            condawheel_version=__version__,
            options_json=self.options_json,
            converted_at=time.time(),
            wheel_mtime_ns=stamp[1],
            depends_key=depends_key,
        )


def outcome_of(
    item: Identified,
    status: Status,
    *,
    reason: str | None = None,
    wheel: str | None = None,
    wheels: tuple[str, ...] = (),
) -> Outcome:
    """Return the outcome of an identified artifact, as the report shows it.

    :param wheel: the wheel the outcome is about (default: the first of ``wheels``); a
        conflict names the one that another wheel of its name refused.
    :param wheels: every wheel of the artifact in the wheelhouse (one; several for a
        package split by its Python distributions).
    """
    artifact = item.artifact
    return Outcome(
        source=artifact.source,
        location=artifact.location,
        filename=artifact.filename,
        subdir=artifact.subdir,
        status=status,
        reason=reason,
        wheel=wheel or (wheels[0] if wheels else None),
        wheels=wheels,
        sha256=item.key,
        size=item.size,
    )
