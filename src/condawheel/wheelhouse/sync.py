"""The sync engine: conda sources in, an indexed, shared wheelhouse out.

One run, under the wheelhouse lock:

1. recover: remove what killed runs left (staging folders, partial downloads;
   :mod:`~condawheel.wheelhouse.recovery`);
2. list every SOURCE (:mod:`~condawheel.wheelhouse.listing`);
3. select (``--select``, ``--newest``) and identify
   (:mod:`~condawheel.wheelhouse.identification`);
4. check the recorded wheels against their records, then decide what to do with each
   artifact (:mod:`~condawheel.wheelhouse.decisions`, pure); where something must be
   converted, first read the sidecars of untracked wheels, which a killed run may have
   landed (adoption);
5. prune (``--prune``; :mod:`~condawheel.wheelhouse.pruning`): the index first forgets the
   wheels, then they are removed;
6. convert in worker processes into a staging folder, and move each wheel into place
   here (:mod:`~condawheel.wheelhouse.execution`, :mod:`~condawheel.wheelhouse.landing`:
   a hard link, atomic, never over different bytes; a rename only over a wheel of the same
   artifact that is damaged, or over an unreadable file no record names); record it in
   the state; then, only if a ``.conda`` failed, the ``.tar.bz2`` twin that was skipped
   for it;
7. bring the index up to date (skipped when no wheel changed since the last run), and
   the front page (only its last-sync part, when no wheel changed);
8. record what each source offers, for the next ``--prune``.

Every file a reader can see appears complete or not at all; the state lags behind the
wheels at worst (a wheel that landed just before a crash is adopted by the next run).
A dry run lists, identifies and decides, and writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias

from condawheel import __version__
from condawheel.env.environment import configured_stamp
from condawheel.errors import CondawheelError, InstallError, SourceError, WheelhouseError
from condawheel.wheelhouse.artifacts import parse_artifact_filename
from condawheel.wheelhouse.context import SyncOptions, SyncRun
from condawheel.wheelhouse.decisions import (
    Convert,
    Identified,
    StateView,
    SyncActions,
    decide_actions,
    offers_of,
    options_fingerprint,
    run_stamp,
)
from condawheel.wheelhouse.downloads import clean_partial_downloads, default_cache_dir
from condawheel.wheelhouse.execution import execute
from condawheel.wheelhouse.frontpage import FRONT_PAGE, LastSync
from condawheel.wheelhouse.identification import identify
from condawheel.wheelhouse.index import (
    CACHE_PATH,
    SIMPLE_DIR,
    FileStamp,
    IndexedWheel,
    IndexUpdate,
    SkippedWheel,
    index_wheelhouse,
    read_cache,
    refresh_last_sync,
    write_cache,
)
from condawheel.wheelhouse.listing import classify_source
from condawheel.wheelhouse.lock import WheelhouseLock
from condawheel.wheelhouse.outcomes import (
    Outcome,
    Phase,
    SyncEvent,
    SyncReport,
    Waiting,
    problem_outcome,
)
from condawheel.wheelhouse.pruning import prune, prune_candidates, pruned_report
from condawheel.wheelhouse.recovery import check_wheels, recover_wheelhouse, wheels_present
from condawheel.wheelhouse.selection import name_filter, select_artifacts
from condawheel.wheelhouse.state import LAST_SYNC, STATE_NAME, FileDigest, WheelhouseState
from condawheel.wheelhouse.streaming import (
    adoption_view,
    can_stream,
    list_sync_source,
    source_failed,
    stream_sync,
)
from condawheel.wheelhouse.views import VIEW_DIRS
from condawheel.wheelhouse.workers import in_sync_worker, load_names

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from condawheel.options import PlatformStamp
    from condawheel.wheelhouse.artifacts import Artifact
    from condawheel.wheelhouse.cluster import DaskCluster
    from condawheel.wheelhouse.outcomes import Pruned
    from condawheel.wheelhouse.state import ConversionRecord, Offer

__all__ = ["SyncOptions", "sync"]

INDEX_SIGNATURE: Final = "index_signature"
INDEX_SKIPPED: Final = "index_skipped"


def _wheels_signature(present: Mapping[str, os.stat_result]) -> str:
    """Digest every wheel's stamp (and this condawheel's version, which writes the index)."""
    digest = hashlib.sha256(__version__.encode())
    for name, info in sorted(present.items()):
        digest.update(f"\0{name}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    return digest.hexdigest()


def _index_if_changed(
    wheelhouse: Path,
    state: WheelhouseState,
    known: Mapping[FileStamp, IndexedWheel],
    last_sync: LastSync,
    present: Mapping[str, os.stat_result] | None = None,
) -> IndexUpdate:
    """Bring the index up to date, unless no wheel changed since this engine last did.

    Rendering the pages of 10,000 projects to compare them with the disk costs most of
    a no-op sync, so the wheels' stamps after each index run are remembered; a wheel
    added, removed or replaced (by anyone) changes them. ``known`` describes the wheels
    this run landed, so that the index does not read them back. ``present``: the wheels
    found at the start of a run that wrote none (None: look again). ``condawheel index``
    rewrites the index unconditionally, for pages edited or removed by hand. The front
    page shows ``last_sync`` either way: when no wheel changed, only that part of it is
    replaced.
    """
    pages_exist = all(
        (wheelhouse / root / page).is_file()
        for root in (SIMPLE_DIR, *VIEW_DIRS)
        for page in ("index.html", "index.json")
    )
    if present is None:
        present = wheels_present(wheelhouse)
    if pages_exist and state.meta(INDEX_SIGNATURE) == _wheels_signature(present):
        refreshed = refresh_last_sync(wheelhouse, last_sync)
        if refreshed is not None:
            with state.transaction():
                state.set_meta({LAST_SYNC: json.dumps(last_sync.to_json(), sort_keys=True)})
            # Still not indexed: every run says so (and fails), not only the one that found it.
            left_out = json.loads(state.meta(INDEX_SKIPPED) or "[]")
            return IndexUpdate(
                written=(FRONT_PAGE,) if refreshed else (),
                skipped=tuple(SkippedWheel(name, why) for name, why in left_out),
            )
    if known:
        cache_path = wheelhouse / CACHE_PATH
        write_cache(cache_path, {**read_cache(cache_path), **known})
    update = index_wheelhouse(wheelhouse, last_sync=last_sync)
    # The signature is taken after the index run, so nothing it did is mistaken for news.
    with state.transaction():
        state.set_meta(
            {
                INDEX_SIGNATURE: _wheels_signature(wheels_present(wheelhouse)),
                INDEX_SKIPPED: json.dumps([[s.filename, s.reason] for s in update.skipped]),
                LAST_SYNC: json.dumps(last_sync.to_json(), sort_keys=True),
            }
        )
    return update


def _counts(outcomes: Iterable[Outcome]) -> Counter[str]:
    """Count outcomes by status, and their warnings (``warnings``)."""
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        counts[outcome.status] += 1
        counts["warnings"] += len(outcome.warnings)
    return counts


def _last_sync(run: SyncRun, counts: Mapping[str, int], pruned: int) -> LastSync:
    """Return what this run did, for the front page (counted before the index is written)."""
    return LastSync(
        started=run.started,
        seconds=max(0.0, time.time() - run.started),
        converted=counts.get("converted", 0),
        unchanged=counts.get("unchanged", 0),
        skipped=counts.get("skipped", 0),
        failed=counts.get("failed", 0),
        conflicts=counts.get("conflict", 0),
        pruned=pruned,
        warnings=counts.get("warnings", 0),
    )


@dataclass(frozen=True)
class _Gathered:
    """The sources listed, selected and identified."""

    outcomes: list[Outcome]
    """Listing problems (of the names the selection can match)."""
    selected: list[Identified]
    offers: dict[str, tuple[tuple[str, ...], list[Offer]]]
    """Source -> (scopes listed completely, the offers found there)."""
    new_digests: list[FileDigest]


def _gather(sources: Sequence[str], run: SyncRun, digests: Mapping[str, FileDigest]) -> _Gathered:
    """List, select and identify, selection first.

    What ``--select`` and ``--newest`` leave out is never stat-ed, hashed, checked or
    reported: a channel lists only the names a term can match (``name_filter``), and
    the rest of the selection drops artifacts before they are identified. ``--prune``
    is the exception: to tell "gone" from "not selected" it lists everything.
    """
    options = run.options
    run.emit(Phase("listing"))
    outcomes: list[Outcome] = []
    artifacts: list[Artifact] = []
    unusable: set[str] = set()
    complete: dict[str, tuple[str, ...]] = {}
    wanted = None if options.prune else name_filter(options.selection)
    for text in sources:
        if text in run.unusable:
            error = run.unusable[text]
            outcomes.append(source_failed(text, error))
            continue
        try:
            listing = list_sync_source(options, text, wanted)
        except SourceError as error:
            outcomes.append(source_failed(text, error))
            continue
        outcomes.extend(problem_outcome(problem) for problem in listing.problems)
        unusable.update(
            parsed.name.lower()
            for parsed in map(parse_artifact_filename, (p.filename for p in listing.problems))
            if parsed is not None
        )
        artifacts.extend(listing.artifacts)
        complete[listing.source] = listing.complete_scopes
    selection = select_artifacts(artifacts, options.selection, unusable=unusable)
    # Like a mistyped source: a cron job must not report success for a filter of nothing.
    outcomes.extend(
        Outcome(
            "--select",
            term,
            "",
            "",
            "failed",
            reason="this --select term matches no package the sources list",
        )
        for term in selection.unmatched
    )
    chosen = {id(artifact) for artifact in selection.selected}
    # --prune must know every listed artifact's key to tell "gone" from "not selected".
    wanted_items = artifacts if options.prune else list(selection.selected)
    run.emit(Phase("identifying"))
    identification = identify(wanted_items, digests, jobs=options.jobs)
    offers = {
        source: (
            scopes,
            offers_of(
                (item for item in identification.items if item.artifact.source == source),
                scopes,
            ),
        )
        for source, scopes in complete.items()
    }
    selected = [item for item in identification.items if id(item.artifact) in chosen]
    return _Gathered(outcomes, selected, offers, identification.new_digests)


def _state_view(run: SyncRun, present: Mapping[str, os.stat_result]) -> StateView:
    """Check the recorded wheels against their records; return the view decisions need."""
    check = check_wheels(run.wheelhouse, run.records, present)
    if check.restamp and run.state is not None and not run.options.dry_run:
        with run.state.transaction():
            run.state.record_wheel_stamps(check.restamp)
    conversions: dict[str, tuple[ConversionRecord, ...]] = {}
    for record in run.records:
        if record.options_key == run.options_key:
            conversions[record.artifact_key] = (*conversions.get(record.artifact_key, ()), record)
    return StateView(
        conversions=conversions,
        wheels={name: info.st_size for name, info in present.items()},
        damaged=check.damaged,
        changed=check.changed,
    )


def _decide_actions(
    run: SyncRun, gathered: _Gathered, present: Mapping[str, os.stat_result]
) -> tuple[SyncActions, StateView]:
    view = _state_view(run, present)
    decided = decide_actions(gathered.selected, view, options=run.options.plan_options)
    if not decided.needs_adoption_view or run.state is None:
        return decided, view
    # Something must be converted: first look whether a killed run already made it.
    view = adoption_view(run, view, present)
    return decide_actions(gathered.selected, view, options=run.options.plan_options), view


_RunResult: TypeAlias = (
    "tuple[list[Outcome], tuple[Pruned, ...], IndexUpdate | None, Mapping[str, int]]"
)
"""The outcomes kept, the wheels pruned, the index update, the counts of those passed on."""


def _run_streamed(sources: Sequence[str], run: SyncRun) -> _RunResult:
    """Run the sync as a stream (:mod:`~condawheel.wheelhouse.streaming`).

    Outcomes go to ``run.on_outcome`` as they are final, if there is one (they are only
    counted here), else they are kept and put in the order of a sync that does not stream.
    """
    state, options = run.state, run.options
    run.records = state.conversions() if state is not None else []
    run.recorded_wheels = frozenset(record.wheel for record in run.records)
    present = wheels_present(run.wheelhouse) if run.wheelhouse.is_dir() else {}
    view = _state_view(run, present)
    kept: list[tuple[tuple[int, int], Outcome]] = []
    passed_on: Counter[str] = Counter()
    deliver = run.on_outcome

    def sink(order: tuple[int, int], outcome: Outcome) -> None:
        if deliver is None:
            kept.append((order, outcome))
            return
        passed_on[outcome.status] += 1
        if outcome.warnings:
            passed_on["warnings"] += len(outcome.warnings)
        deliver(outcome)

    digests = state.file_digests() if state is not None else {}
    result = stream_sync(sources, run, view, present, digests, sink)
    kept.sort(key=lambda pair: pair[0])
    outcomes = [outcome for _, outcome in kept]
    counts = _counts(outcomes) + passed_on
    if state is None or options.dry_run:
        return outcomes, (), None, passed_on
    run.emit(Phase("indexing"))
    last_sync = _last_sync(run, counts, 0)
    index = _index_if_changed(
        run.wheelhouse, state, run.indexed, last_sync, None if result.converted else present
    )
    return outcomes, (), index, passed_on


def _run_with_state(
    sources: Sequence[str], run: SyncRun, gathered: _Gathered | None = None
) -> _RunResult:
    """Run the sync with ``run.state`` (None: a dry run without a state).

    :param gathered: the sources already listed and identified (for a new wheelhouse).
    """
    state, options = run.state, run.options
    if gathered is None and can_stream(run):
        return _run_streamed(sources, run)
    if gathered is None:
        gathered = _gather(sources, run, state.file_digests() if state is not None else {})
    if state is not None and not options.dry_run and gathered.new_digests:
        with state.transaction():
            state.record_file_digests(gathered.new_digests)
    run.records = state.conversions() if state is not None else []
    run.recorded_wheels = frozenset(record.wheel for record in run.records)
    present = wheels_present(run.wheelhouse) if run.wheelhouse.is_dir() else {}
    decided, view = _decide_actions(run, gathered, present)
    to_prune = prune_candidates(run, gathered.offers, decided)
    if state is None or options.dry_run:
        executed, _ = execute(run, decided, view, present)
        return gathered.outcomes + executed, pruned_report(to_prune, done=False), None, {}
    if to_prune:
        prune(run, state, to_prune)
    executed, fallbacks = execute(run, decided, view, present)
    outcomes = gathered.outcomes + executed
    run.emit(Phase("indexing"))
    # A run that moved no wheel in or out saw the wheelhouse as it still is (it holds the lock).
    actions = (*decided.actions, *fallbacks)
    wrote = bool(to_prune) or any(isinstance(action, Convert) for action in actions)
    last_sync = _last_sync(run, _counts(outcomes), len(to_prune))
    index = _index_if_changed(
        run.wheelhouse, state, run.indexed, last_sync, None if wrote else present
    )
    with state.transaction():
        for source, (scopes, offers) in gathered.offers.items():
            if options.prune:
                state.replace_offers(source, scopes, offers)
            else:
                state.add_offers(offers)
    return outcomes, pruned_report(to_prune, done=True), index, {}


def _with_environment_stamp(
    sources: Sequence[str], options: SyncOptions
) -> tuple[SyncOptions, dict[str, CondawheelError]]:
    """Stamp the build tag that the environment sources configure (an explicit stamp wins).

    Return the options and the environment sources whose stamp cannot be told (they
    fail, the others are synced).
    """
    plan_options = options.plan_options
    if plan_options.platform_stamp is not None:
        return options, {}
    environments: dict[str, PlatformStamp | None] = {}
    others: list[str] = []
    unusable: dict[str, CondawheelError] = {}
    for text in sources:
        try:
            source = classify_source(text)
        except SourceError:
            continue  # reported when the sources are listed
        if source.kind != "environment":
            others.append(text)
        elif source.location not in environments and text not in unusable:
            try:
                environments[source.location] = configured_stamp(
                    Path(source.location),
                    system_config=options.system_config,
                    platform_prefix=plan_options.platform_prefix,
                )
            except InstallError as error:
                unusable[text] = error
    stamp = run_stamp(environments, others)
    if stamp is None:
        return options, unusable
    return replace(options, plan_options=replace(plan_options, platform_stamp=stamp)), unusable


def sync(
    sources: Sequence[str],
    wheelhouse: Path,
    options: SyncOptions | None = None,
    *,
    on_event: Callable[[SyncEvent], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SyncReport:
    """Sync ``sources`` into ``wheelhouse`` (see the module docstring).

    ``on_outcome`` takes each artifact's outcome as soon as it is final, where the run
    streams (no ``--prune`` or ``--newest``: a whole channel then costs no memory per
    record); those outcomes are then only counted in the report (``passed_on``), not
    kept in it. Without it, the report holds every outcome.

    A source or an artifact that fails is reported in the result, and the others are
    still synced; :attr:`SyncReport.ok` says whether all went well. A dry run writes
    nothing (it reads the state if there is one). A wheelhouse that does not exist yet is
    created only if some source can be listed.

    :raises WheelhouseError: if the wheelhouse cannot be created, locked (``wait=False``
        and another run holds it), or its state or index cannot be written.
    :raises InvalidMapping: if one of ``mapping_files`` is invalid.
    :raises ConfigError: if an environment source's ``binary-compatibility.cfg`` is
        malformed; :class:`WheelhouseError` too if environment sources need different
        build tags, or one needs a build tag and other sources are synced with it (see
        :func:`~condawheel.wheelhouse.decisions.run_stamp`).
    """
    if in_sync_worker():
        raise WheelhouseError(
            "sync()",
            "called again while a worker process of a sync starts: guard the script that "
            'calls it with `if __name__ == "__main__":` (worker processes import it)',
        )
    options = options or SyncOptions()
    started = time.monotonic()
    emit = on_event or _ignore
    try:
        digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in options.mapping_files]
    except OSError as error:
        raise WheelhouseError(str(error.filename), f"cannot read: {error.strerror}") from None
    if options.mapping_files:
        load_names(options.mapping_files)  # an invalid mapping is an error before any work
    options, unusable = _with_environment_stamp(sources, options)
    options_key, options_json = options_fingerprint(options.plan_options, digests)
    run = SyncRun(
        wheelhouse,
        options,
        options_key,
        options_json,
        emit,
        unusable=unusable,
        on_outcome=on_outcome,
    )
    with _cluster_for(options) as cluster:
        run.cluster = cluster
        return _sync(sources, run, started)


@contextlib.contextmanager
def _cluster_for(options: SyncOptions) -> Iterator[DaskCluster | None]:
    """Connect to ``options.scheduler`` for the run (not for a dry run: it converts nothing).

    distributed is an optional dependency (``condawheel[dask]``), imported only here.
    """
    if options.scheduler is None or options.dry_run:
        yield None
        return
    try:
        from condawheel.wheelhouse.cluster import connect  # noqa: PLC0415
    except ModuleNotFoundError as error:
        if error.name not in {"distributed", "dask"}:
            raise
        raise WheelhouseError(
            options.scheduler,
            "a Dask scheduler needs the 'distributed' package: pip install 'condawheel[dask]'",
        ) from None
    with connect(options.scheduler) as cluster:
        yield cluster


def _sync(sources: Sequence[str], run: SyncRun, started: float) -> SyncReport:
    """Run the sync described by ``run`` (see :func:`sync`)."""
    options, wheelhouse, emit = run.options, run.wheelhouse, run.emit
    set_aside = None
    gathered = None
    passed_on: Mapping[str, int] = {}
    if not options.dry_run and not os.path.lexists(wheelhouse):
        # A new wheelhouse is made only for what some source offers: when none of them
        # can be listed, no folder, state or index is left behind (the run fails).
        gathered = _gather(sources, run, {})
        if not gathered.offers:
            return SyncReport(
                wheelhouse,
                dry_run=False,
                outcomes=tuple(gathered.outcomes),
                seconds=time.monotonic() - started,
            )
    if options.dry_run and not (wheelhouse / STATE_NAME).is_file():
        outcomes, pruned, index, passed_on = _run_with_state(sources, run)
    else:
        try:
            wheelhouse.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WheelhouseError(str(wheelhouse), f"cannot create: {error.strerror}") from None
        with WheelhouseLock(wheelhouse, wait=options.wait, on_wait=lambda pid: emit(Waiting(pid))):
            if not options.dry_run:
                recover_wheelhouse(wheelhouse)
                clean_partial_downloads(options.cache_dir or default_cache_dir())
            with WheelhouseState.open(wheelhouse) as state:
                run.state = state
                set_aside = state.set_aside
                outcomes, pruned, index, passed_on = _run_with_state(sources, run, gathered)
    return SyncReport(
        wheelhouse,
        dry_run=options.dry_run,
        outcomes=tuple(outcomes),
        pruned=pruned,
        index=index,
        seconds=time.monotonic() - started,
        state_set_aside=set_aside,
        passed_on=passed_on,
    )


def _ignore(_event: SyncEvent) -> None:
    """Drop an event (no listener)."""
