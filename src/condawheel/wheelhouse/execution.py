"""Carry out a sync's actions: record what needs no conversion, convert and land the rest.

Conversions run in worker processes (:mod:`~condawheel.wheelhouse.workers`) into a staging
folder inside the wheelhouse; each wheel is landed here as its result comes in
(:mod:`~condawheel.wheelhouse.landing`) and recorded in the state in batches. Then, only
if a ``.conda`` failed, the ``.tar.bz2`` twin that was skipped for it is decided again and
carried out in a second round, in its place (:mod:`condawheel.conda.twins`).
"""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING, Final

import msgspec

from condawheel.conda.twins import stand_in_reason
from condawheel.errors import WheelhouseError
from condawheel.io.files import TEMP_PREFIX, temporary_name
from condawheel.wheelhouse.context import outcome_of
from condawheel.wheelhouse.decisions import (
    Convert,
    Fail,
    Keep,
    Skip,
    decide_stand_ins,
)
from condawheel.wheelhouse.downloads import default_cache_dir
from condawheel.wheelhouse.landing import adopt, kept, land
from condawheel.wheelhouse.outcomes import ArtifactFinished, Phase, WorkPlanned
from condawheel.wheelhouse.workers import ConversionJob, load_names, run_jobs

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
    from pathlib import Path

    from condawheel.wheelhouse.context import SyncRun
    from condawheel.wheelhouse.decisions import Action, Identified, StateView, SyncActions
    from condawheel.wheelhouse.outcomes import Outcome
    from condawheel.wheelhouse.state import ConversionRecord, WheelhouseState
    from condawheel.wheelhouse.workers import JobResult

__all__ = ["STAGING_PREFIX", "ConversionBatch", "execute", "execute_round"]

STAGING_PREFIX: Final = f"{TEMP_PREFIX}stage-"
# Landed wheels are recorded in batches: a crash between a wheel and its row is repaired by
# adoption, so one transaction (and fsync) per wheel would buy nothing.
_BATCH_ROWS: Final = 64
_BATCH_SECONDS: Final = 1.0


class ConversionBatch:
    """Conversion records waiting for one transaction (see ``_BATCH_ROWS``)."""

    def __init__(self, state: WheelhouseState) -> None:
        self.state = state
        self.pending: list[tuple[ConversionRecord, ...]] = []
        self.since = time.monotonic()

    def add(self, records: tuple[ConversionRecord, ...]) -> None:
        """Queue the records of one artifact's wheels; write the queue when it is long or old."""
        self.pending.append(records)
        if len(self.pending) >= _BATCH_ROWS or time.monotonic() - self.since > _BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write every queued record in one transaction (an artifact's wheels together)."""
        if self.pending:
            with self.state.transaction():
                for records in self.pending:
                    self.state.record_conversions(records)
        self.pending.clear()
        self.since = time.monotonic()


def execute(
    run: SyncRun,
    decided: SyncActions,
    view: StateView,
    present: Mapping[str, os.stat_result],
    *,
    seen: MutableMapping[str, str] | None = None,
) -> tuple[list[Outcome], tuple[Action, ...]]:
    """Carry out ``decided``; return the outcomes and the actions decided for stand-ins.

    A ``.tar.bz2`` skipped for its ``.conda`` twin is decided again, in a second round,
    only if that ``.conda`` failed (a dry run knows only the failures found deciding).

    :param view: the view of the state ``decided`` was made with.
    :param present: the wheels in the wheelhouse, by name (for adoption's stamps).
    :param seen: the keys the run decided (see :func:`decide_stand_ins`), where
        ``decided`` is not all of them (a streamed sync).
    """
    batch = None if run.options.dry_run or run.state is None else ConversionBatch(run.state)
    outcomes: dict[int, Outcome] = {}
    converts = execute_round(run, enumerate(decided.actions), outcomes, batch, present)
    size = sum(action.item.size or 0 for _, action in converts)
    run.emit(WorkPlanned(len(converts), size))
    if converts:
        run.emit(Phase("converting"))
        outcomes.update(_convert_all(run, converts, batch))
    failed = [position for position, outcome in outcomes.items() if outcome.status == "failed"]
    fallbacks = (
        decide_stand_ins(decided, failed, view, options=run.options.plan_options, seen=seen)
        if failed
        else ()
    )
    if fallbacks:
        stand_ins = {position: _twin(decided.actions[position]) for position, _ in fallbacks}
        for position in stand_ins:
            del outcomes[position]  # "skipped" no more: decided again
        more = execute_round(run, fallbacks, outcomes, batch, present)
        for position in stand_ins.keys() & outcomes.keys():
            outcomes[position] = _in_place_of(outcomes[position], stand_ins[position])
        if more:
            # The progress counts what the run converts in all: the first round and this.
            more_size = sum(action.item.size or 0 for _, action in more)
            run.emit(WorkPlanned(len(converts) + len(more), size + more_size))
            if not converts:
                run.emit(Phase("converting"))
            outcomes.update(_convert_all(run, more, batch, stand_ins))
    if batch is not None:
        batch.flush()
    ordered = [outcomes[position] for position in range(len(decided.actions))]
    return ordered, tuple(action for _, action in fallbacks)


def _twin(action: Action) -> Identified:
    """Return the ``.conda`` a ``.tar.bz2`` was skipped for (decide_stand_ins chose it)."""
    if not isinstance(action, Skip) or action.twin is None:
        raise AssertionError(f"not a skipped .tar.bz2 twin: {action!r}")
    return action.twin


def _in_place_of(outcome: Outcome, twin: Identified) -> Outcome:
    """Say that a ``.tar.bz2``'s outcome stands in for its failed ``.conda`` ``twin``."""
    conda = twin.artifact
    reason = outcome.reason
    if outcome.status in {"converted", "unchanged", "would-convert"}:
        said = stand_in_reason(conda.filename)
        reason = said if reason is None else f"{said}; {reason}"
    return msgspec.structs.replace(outcome, reason=reason, in_place_of=conda.location)


def execute_round(
    run: SyncRun,
    chosen: Iterable[tuple[int, Action]],
    outcomes: dict[int, Outcome],
    batch: ConversionBatch | None,
    present: Mapping[str, os.stat_result],
) -> list[tuple[int, Convert]]:
    """Record the outcome of each chosen action that needs no conversion; return the rest.

    A dry run converts nothing: its conversions are ``would-convert`` outcomes.
    """
    dry_run = run.options.dry_run
    converts: list[tuple[int, Convert]] = []
    for position, action in chosen:
        # Convert first: a dry run of a whole channel decides almost nothing else.
        if isinstance(action, Convert):
            if dry_run:
                outcomes[position] = outcome_of(action.item, "would-convert", reason=action.reason)
            else:
                converts.append((position, action))
        elif isinstance(action, Keep):
            outcomes[position] = kept(action.item, action.wheels, action.note)
        elif isinstance(action, Skip):
            outcomes[position] = outcome_of(action.item, "skipped", reason=action.reason)
        elif isinstance(action, Fail):
            outcomes[position] = outcome_of(action.item, "failed", reason=action.reason)
        else:
            outcomes[position], record = adopt(run, action, present)
            if batch is not None:
                batch.add((record,))
    return converts


def _results(run: SyncRun, jobs: Sequence[ConversionJob], staging: Path) -> Iterator[JobResult]:
    """Run ``jobs`` on this machine's processes, or on the run's Dask cluster."""
    options = run.options
    if run.cluster is None:
        return run_jobs(
            jobs,
            workers=max(1, options.jobs),
            mapping_files=options.mapping_files,
            names=lambda: load_names(options.mapping_files),
        )
    run.cluster.check_workers(jobs, staging)
    # The texts travel, not the paths: the workers need not see the mapping files. Each
    # keeps the name this engine gives it, which the wheels record.
    try:
        mappings = tuple(
            (str(path), path.read_text(encoding="utf-8")) for path in options.mapping_files
        )
    except OSError as error:
        raise WheelhouseError(str(error.filename), f"cannot read: {error.strerror}") from None
    return run.cluster.run_jobs(jobs, mappings=mappings, timeout=options.task_timeout)


def _convert_all(
    run: SyncRun,
    converts: Sequence[tuple[int, Convert]],
    batch: ConversionBatch | None,
    stand_ins: Mapping[int, Identified] | None = None,
) -> dict[int, Outcome]:
    """Convert and land; ``stand_ins``: position -> the failed ``.conda`` it stands in for."""
    options = run.options
    staging = run.wheelhouse / temporary_name(STAGING_PREFIX)
    staging.mkdir()
    # Dask workers download into their own default cache unless one is given: this
    # machine's default path means nothing on theirs.
    cache_dir = options.cache_dir or (None if run.cluster else default_cache_dir())
    parallel = run.cluster is not None or options.jobs > 1
    jobs = [
        ConversionJob(
            number=position,
            artifact=action.item.artifact,
            key=action.key,
            staging=staging,
            cache_dir=cache_dir,
            options=options.plan_options,
            retry=options.retry,
            # --jobs counts cores: with several artifacts each conversion runs in one
            # thread and the jobs are the parallelism; a lone artifact gets the default
            # compression threads.
            threads=0 if len(converts) > 1 else None,
        )
        # With several workers, largest first (LPT scheduling): a big package started
        # last would leave the others idle at the end. One worker keeps the sources'
        # order, so that the first source wins a wheel-name conflict.
        for position, action in (
            sorted(converts, key=lambda pair: (-(pair[1].item.size or 0), pair[0]))
            if parallel
            else converts
        )
    ]
    actions = dict(converts)
    outcomes: dict[int, Outcome] = {}
    try:
        for result in _results(run, jobs, staging):
            action = actions[result.number]
            outcome, records = land(run, action, result)
            if stand_ins and result.number in stand_ins:
                outcome = _in_place_of(outcome, stand_ins[result.number])
            if records and batch is not None:
                batch.add(records)
            outcomes[result.number] = outcome
            run.emit(ArtifactFinished(outcome, action.item.size or 0, result.traceback))
    finally:
        if batch is not None:
            batch.flush()
        shutil.rmtree(staging, ignore_errors=True)
    return outcomes
