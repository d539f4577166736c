"""A sync as a stream: listing, selection, identity and decisions a block at a time.

A channel of a million records (conda-forge's linux-64) listed whole, as a sync without
``--select`` does, must not hold a million records, then a million artifacts, then a
million actions and a million outcomes. So the listing hands over its artifacts a block
(a few MiB of ``repodata.json``) at a time, and each block is selected, identified and
decided at once; what needs no conversion (unchanged, skipped, failed, and every
``would-convert`` of a dry run) becomes its outcome there and is passed on. What stays
for the end of the run: the sha256 of every artifact decided (rule 3 of
:mod:`~condawheel.wheelhouse.decisions`: the same bytes are converted once), the
conversions to run, and the ``.tar.bz2`` files of the source being listed (rule 2: their
``.conda`` twin may come later in the listing).

Each outcome carries its position (the listing's order) so that a caller who keeps them
all can put them back in the order of a sync that did not stream.
``--prune`` (which compares everything listed) and ``--newest`` (which compares every
version of a name) need the whole listing, and do not stream.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Final

from condawheel.conda.twins import preferred_reason
from condawheel.errors import SourceError
from condawheel.wheelhouse.artifacts import parse_artifact_filename
from condawheel.wheelhouse.decisions import (
    Action,
    Adopt,
    Convert,
    Fail,
    Identified,
    Keep,
    Skip,
    StateView,
    SyncActions,
    decide_one,
    offers_of,
    scope_of,
)
from condawheel.wheelhouse.downloads import default_cache_dir
from condawheel.wheelhouse.execution import ConversionBatch, execute, execute_round
from condawheel.wheelhouse.identification import identify
from condawheel.wheelhouse.landing import adoption_keys
from condawheel.wheelhouse.listing import classify_source, list_source
from condawheel.wheelhouse.outcomes import Outcome, Phase, problem_outcome
from condawheel.wheelhouse.selection import matches, name_filter

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from condawheel.errors import CondawheelError
    from condawheel.wheelhouse.artifacts import Artifact, ListingProblem, NameFilter
    from condawheel.wheelhouse.channels import BlockSink, ChannelListing
    from condawheel.wheelhouse.context import SyncOptions, SyncRun
    from condawheel.wheelhouse.environments import EnvironmentListing
    from condawheel.wheelhouse.state import FileDigest

__all__ = [
    "LISTING",
    "SELECT",
    "StreamResult",
    "adoption_view",
    "can_stream",
    "list_sync_source",
    "source_failed",
    "stream_sync",
]

LISTING: Final = 0
"""The group of listing problems: a sync that did not stream reported them first."""
SELECT: Final = 1
"""The group of ``--select`` terms that matched nothing."""
ARTIFACTS: Final = 2
"""The group of the artifacts' outcomes."""


def list_sync_source(
    options: SyncOptions,
    text: str,
    wanted: NameFilter | None,
    on_block: BlockSink | None = None,
) -> ChannelListing | EnvironmentListing:
    """List one SOURCE of a sync with the run's options (streamed when ``on_block`` is given).

    :raises SourceError: the source cannot be listed.
    """
    return list_source(
        classify_source(text),
        subdirs=options.subdirs,
        pkgs_dirs=options.pkgs_dirs,
        retry=options.retry,
        wanted=wanted,
        cache_dir=options.cache_dir or default_cache_dir(),
        keep=not options.dry_run,
        on_block=on_block,
    )


def source_failed(text: str, error: CondawheelError) -> Outcome:
    """Return the outcome of a SOURCE that cannot be listed at all."""
    return Outcome(text, error.subject, "", "", "failed", reason=error.reason)


def can_stream(run: SyncRun) -> bool:
    """Whether this run's sources can be synced as a stream (see the module docstring)."""
    return not run.options.prune and run.options.selection.newest is None


def adoption_view(
    run: SyncRun, view: StateView, present: Mapping[str, os.stat_result]
) -> StateView:
    """Add to ``view`` the untracked wheels a killed run may have landed (adoption).

    Read only when something is to be converted: each untracked wheel's sidecar.
    """
    if run.state is None:
        return view
    tracked = {record.wheel for record in run.records}
    untracked = {name: info for name, info in present.items() if name not in tracked}
    keys = adoption_keys(run.wheelhouse, untracked, run.state.sidecar_keys())
    if not run.options.dry_run:
        with run.state.transaction():
            run.state.forget_sidecar_keys(set(run.state.sidecar_keys()) - set(untracked))
            run.state.record_sidecar_keys(keys)
    adoptable: dict[str, tuple[str, ...]] = {}
    for key in keys:
        # One of a split package's wheels is not adopted alone (decisions, rule 5).
        if key.artifact_key is not None and not key.split:
            adoptable[key.artifact_key] = (*adoptable.get(key.artifact_key, ()), key.wheel)
    depends = {key.wheel: key.depends_key for key in keys if key.depends_key is not None}
    return replace(view, adoptable=adoptable, adoptable_depends=depends)


class _Seen(MutableMapping[str, str]):
    """The keys decided so far -> the location of the first: a sha256 in 32 bytes."""

    def __init__(self) -> None:
        self.entries: dict[bytes | str, str] = {}
        self._asked: tuple[str, bytes | str] = ("", "")
        """The key :meth:`get` was last asked and its compact form: deciding an artifact
        asks for its key, then sets it (once per record of a whole channel)."""

    @staticmethod
    def _compact(key: str) -> bytes | str:
        if len(key) == 64:  # noqa: PLR2004 - a sha256 in hexadecimal
            try:
                return bytes.fromhex(key)
            except ValueError:
                return key
        return key

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        try:
            compact: bytes | str = bytes.fromhex(key) if len(key) == 64 else key  # noqa: PLR2004
        except ValueError:
            compact = key
        self._asked = (key, compact)
        return self.entries.get(compact, default)

    def __setitem__(self, key: str, location: str) -> None:
        asked, compact = self._asked
        if key is not asked:
            compact = self._compact(key)
        self.entries[compact] = location

    def forget(self, key: str) -> None:
        self.entries.pop(self._compact(key), None)

    # The rest of MutableMapping, for decide_stand_ins.
    def __getitem__(self, key: str) -> str:
        return self.entries[self._compact(key)]

    def __delitem__(self, key: str) -> None:
        del self.entries[self._compact(key)]

    def __iter__(self) -> Iterator[str]:
        return (key.hex() if isinstance(key, bytes) else key for key in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._compact(key) in self.entries


@dataclass
class StreamResult:
    """What a streamed sync leaves for its end (the outcomes went to the sink)."""

    offers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Source -> the scopes it was listed in completely."""
    fallbacks: tuple[Action, ...] = ()
    """The actions decided for ``.tar.bz2`` stand-ins."""
    converted: bool = False
    """Whether any conversion ran (so the wheelhouse may have changed)."""
    view: StateView = field(default_factory=StateView)


@dataclass
class _Stream:
    """One streamed run (see the module docstring)."""

    run: SyncRun
    view: StateView
    present: Mapping[str, os.stat_result]
    digests: Mapping[str, FileDigest]
    sink: Callable[[tuple[int, int], Outcome], None]
    batch: ConversionBatch | None
    seen: _Seen = field(default_factory=_Seen)
    position: int = 0
    adoption_read: bool = False
    used: set[int] = field(default_factory=set)
    unusable: set[str] = field(default_factory=set)
    held: list[tuple[int, Identified]] = field(default_factory=list)
    """The ``.tar.bz2`` files of the source being listed, decided when it is done."""
    held_stems: dict[tuple[str, str], int] = field(default_factory=dict)
    conda_stems: set[int] = field(default_factory=set)
    """``hash((subdir, stem))`` of every ``.conda`` of the source being listed."""
    settle: list[tuple[int, Action]] = field(default_factory=list)
    """Actions for the end: conversions, and what a stand-in may replace."""
    dropped: set[int] = field(default_factory=set)
    """Indexes in ``settle`` of v1 records' actions that a v3 record replaced."""
    conda_settled: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(subdir, stem)`` of a ``.conda`` of the source being listed -> its index in ``settle``."""

    def emit(self, group: int, position: int, outcome: Outcome) -> None:
        self.sink((group, position), outcome)

    def problems(self, problems: Sequence[ListingProblem]) -> None:
        specs = self.run.options.selection.specs
        for problem in problems:
            self.emit(LISTING, self.next_position(), problem_outcome(problem))
            parsed = parse_artifact_filename(problem.filename) if specs else None
            if parsed is not None:
                self.unusable.add(parsed.name.lower())

    def next_position(self) -> int:
        self.position += 1
        return self.position

    def block(self, artifacts: Sequence[Artifact], problems: Sequence[ListingProblem]) -> None:
        """Select, identify and decide one block of a listing."""
        self.problems(problems)
        specs = self.run.options.selection.specs
        selected: list[Artifact] = []
        for artifact in artifacts:
            if specs:
                matching = [n for n, spec in enumerate(specs) if matches(spec, artifact)]
                if not matching:
                    continue  # not selected: not reported
                self.used.update(matching)
            selected.append(artifact)
        if not selected:
            return
        identification = identify(selected, self.digests, jobs=self.run.options.jobs)
        state = self.run.state
        if state is not None and not self.run.options.dry_run:
            with state.transaction():
                state.record_file_digests(identification.new_digests)
                state.add_offers(
                    offers_of(
                        identification.items,
                        {scope_of(item.artifact) for item in identification.items},
                    )
                )
        now: list[tuple[int, Identified]] = []
        replacing: list[tuple[int, Identified]] = []
        for item in identification.items:
            self.position += 1
            artifact = item.artifact
            # The suffix test of ``artifact.format``, inline: once per record of a channel.
            filename = artifact.filename
            if filename.endswith(".conda"):
                stem = hash((artifact.subdir, artifact.stem))
                if artifact.revision and stem in self.conda_stems:
                    replacing.append((self.position, item))
                    continue
                self.conda_stems.add(stem)
            elif filename.endswith(".tar.bz2"):
                place = (artifact.subdir, artifact.stem)
                held = self.held_stems.get(place) if artifact.revision else None
                if held is not None:  # its v1 record is held: the v3 one replaces it
                    self.held[held] = (self.held[held][0], item)
                    continue
                self.held_stems[place] = len(self.held)
                self.held.append((self.position, item))
                continue
            now.append((self.position, item))
        self.decide(now)
        for position, item in replacing:
            self.replace(position, item)

    def decide(self, items: Sequence[tuple[int, Identified]]) -> None:
        """Decide items that have no pending twin; pass on what needs no conversion."""
        options = self.run.options.plan_options
        actions = [
            (position, decide_one(item, self.view, self.seen, options)) for position, item in items
        ]
        if not self.adoption_read and any(isinstance(a, Convert) for _, a in actions):
            # Something must be converted: first look whether a killed run made it.
            for _, action in actions:
                if isinstance(action, Convert | Keep | Adopt):
                    self.seen.forget(action.key)
            self.read_adoption()
            actions = [(p, decide_one(item, self.view, self.seen, options)) for p, item in items]
        done = [
            (position, action) for position, action in actions if not self.keep(position, action)
        ]
        self.finish(done)

    def keep(self, position: int, action: Action) -> bool:
        """Keep an action for the end if it is one (see ``settle``); say whether it was."""
        # A failed .conda stays for the end: a .tar.bz2 twin may stand in for it.
        artifact = action.item.artifact
        if (isinstance(action, Convert) and not self.run.options.dry_run) or (
            isinstance(action, Fail) and artifact.format == "conda"
        ):
            if artifact.format == "conda":
                self.conda_settled[artifact.subdir, artifact.stem] = len(self.settle)
            self.settle.append((position, action))
            return True
        return False

    def replace(self, position: int, item: Identified) -> None:
        """Decide a ``.conda`` from its v3 record, in place of its v1 record (CEP 48).

        The v1 record's action, if it waits for the end, gives way (and its key, if the
        v3 record has other bytes); if its outcome is out already (unchanged, adopted, a
        dry run's ``would-convert``), the v3 record of the same bytes adds nothing.
        """
        artifact = item.artifact
        earlier = self.conda_settled.pop((artifact.subdir, artifact.stem), None)
        if earlier is not None:
            position, action = self.settle[earlier]
            self.dropped.add(earlier)
            if isinstance(action, Convert) and self.seen.get(action.key) == artifact.location:
                self.seen.forget(action.key)
        options = self.run.options.plan_options
        action = decide_one(item, self.view, self.seen, options)
        if isinstance(action, Convert) and not self.adoption_read:
            self.seen.forget(action.key)
            self.read_adoption()
            action = decide_one(item, self.view, self.seen, options)
        if earlier is None and isinstance(action, Skip):
            return
        if not self.keep(position, action):
            self.finish([(position, action)])

    def finish(self, chosen: Sequence[tuple[int, Action]]) -> None:
        outcomes: dict[int, Outcome] = {}
        execute_round(self.run, chosen, outcomes, self.batch, self.present)
        sink = self.sink
        for position, outcome in outcomes.items():
            sink((ARTIFACTS, position), outcome)

    def read_adoption(self) -> None:
        if not self.adoption_read:
            self.adoption_read = True
            self.view = adoption_view(self.run, self.view, self.present)

    def source_done(self) -> None:
        """Decide the held ``.tar.bz2`` files: now every ``.conda`` of the source is known."""
        alone: list[tuple[int, Identified]] = []
        for position, item in self.held:
            artifact = item.artifact
            place = (artifact.subdir, artifact.stem)
            settled = self.conda_settled.get(place)
            if settled is not None:
                twin = self.settle[settled][1].item
                reason = preferred_reason(twin.artifact.filename)
                self.settle.append((position, Skip(item, reason, twin)))
            elif hash(place) in self.conda_stems:
                reason = preferred_reason(f"{artifact.stem}.conda")
                self.finish([(position, Skip(item, reason))])
            else:
                alone.append((position, item))
        self.held.clear()
        self.held_stems.clear()
        self.conda_stems.clear()
        self.conda_settled.clear()
        self.decide(alone)


def stream_sync(
    sources: Sequence[str],
    run: SyncRun,
    view: StateView,
    present: Mapping[str, os.stat_result],
    digests: Mapping[str, FileDigest],
    sink: Callable[[tuple[int, int], Outcome], None],
) -> StreamResult:
    """List, select, identify, decide and carry out a run as a stream.

    :param view: the state as deciding needs it (without the adoption part, which is
        read when the first conversion is decided).
    :param sink: takes each outcome, with its ``(group, position)``, as it is final.
    """
    options = run.options
    batch = None if options.dry_run or run.state is None else ConversionBatch(run.state)
    stream = _Stream(run, view, present, digests, sink, batch)
    run.emit(Phase("listing"))
    wanted = name_filter(options.selection)
    complete: dict[str, tuple[str, ...]] = {}
    for text in sources:
        if text in run.unusable:
            error = run.unusable[text]
            stream.emit(LISTING, stream.next_position(), source_failed(text, error))
            continue
        try:
            listing = list_sync_source(options, text, wanted, stream.block)
        except SourceError as error:
            stream.emit(LISTING, stream.next_position(), source_failed(text, error))
            stream.source_done()
            continue
        stream.block(listing.artifacts, listing.problems)
        stream.source_done()
        complete[listing.source] = listing.complete_scopes
    reason = "this --select term matches no package the sources list"
    for number, spec in enumerate(options.selection.specs):
        if number not in stream.used and not any(
            fnmatchcase(name, spec.name) for name in stream.unusable
        ):
            outcome = Outcome("--select", spec.original, "", "", "failed", reason=reason)
            stream.emit(SELECT, number, outcome)
    result = StreamResult(offers=complete)
    settle = [entry for n, entry in enumerate(stream.settle) if n not in stream.dropped]
    if settle:
        if any(isinstance(action, Fail) for _, action in settle):
            stream.read_adoption()
        decided = SyncActions(tuple(action for _, action in settle))
        executed, fallbacks = execute(run, decided, stream.view, present, seen=stream.seen)
        for (position, _), outcome in zip(settle, executed, strict=True):
            stream.emit(ARTIFACTS, position, outcome)
        result.fallbacks = fallbacks
        result.converted = any(
            isinstance(action, Convert) for action in (*decided.actions, *fallbacks)
        )
    elif batch is not None:
        batch.flush()
    result.view = stream.view
    return result
