"""Decide what a sync does: convert, keep, adopt, skip, fail, prune (pure).

Everything here is a function of its arguments: the artifacts the sources offer (with
their identity, the sha256 key), a view of the state and of the wheels present, and the
options. :mod:`condawheel.wheelhouse.sync` gathers those with I/O and carries out the
actions decided here (:mod:`condawheel.wheelhouse.execution`).

The rules, in order, for each artifact:

1. a problem found while identifying it (unreadable, not what repodata promised) fails it;
2. a ``.tar.bz2`` whose ``.conda`` twin (same source, subdir, name-version-build) is
   offered too is skipped: both would make a wheel of the same name from different
   source files, and conda itself prefers ``.conda``. If that ``.conda`` fails (its
   identity here, or its conversion when the engine runs it), :func:`decide_stand_ins`
   decides the ``.tar.bz2`` by the other rules, in its place;
3. an artifact whose key was already decided in this run (the same bytes offered twice)
   is skipped;
4. a key converted before with the same options whose wheels are all still present (same
   size, and not found changed: see ``recovery.check_wheels``) is kept: nothing to do. A
   package holding several Python distributions made several wheels (one per
   distribution, and a library wheel for the other files): one of them missing or
   damaged converts the artifact again, and its wheels land together;
5. a key that an untracked wheel's sidecar names, with the platform tag these options
   give, is adopted (the wheel landed, then the run that made it died); one of a split
   package's wheels is not: whether all of them landed is unknown, so the artifact is
   converted again and the wheels already there count as identical;

   a kept or adopted wheel made with other depends / constrains than the source's record
   now gives (a repodata patch since) stays as it is, with a note that says so: a wheel
   in the wheelhouse is never rewritten (like a published one on PyPI);
6. anything else is converted; an installed package found in no package cache fails. A
   wheel the state recorded as made from the key, whose file is damaged (cut short by a
   crash or a power loss: no longer what was recorded, and no readable wheel), may be
   replaced by the conversion; so may a file at the new wheel's name that no record
   names and that is no readable wheel (the engine checks when it lands); any other
   wheel of the same name is a conflict, which refuses every wheel of the artifact.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeVar

import msgspec
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from condawheel.conda.condameta import dependencies_key
from condawheel.conda.twins import pair_twins, preferred_reason, stand_ins
from condawheel.errors import WheelhouseError
from condawheel.tags import platform_tag
from condawheel.wheelhouse.state import Offer

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, MutableMapping, Sequence

    from condawheel.options import PlanOptions, PlatformStamp
    from condawheel.wheelhouse.artifacts import Artifact
    from condawheel.wheelhouse.state import ConversionRecord

__all__ = [
    "Action",
    "Adopt",
    "Convert",
    "Fail",
    "Identified",
    "Keep",
    "PruneWheel",
    "Skip",
    "StateView",
    "SyncActions",
    "decide_actions",
    "decide_one",
    "decide_stand_ins",
    "offers_of",
    "options_fingerprint",
    "prefer_conda_format",
    "refreshed_offers",
    "run_stamp",
    "scope_of",
    "wheels_to_prune",
]

_ActionT = TypeVar("_ActionT")
NOT_FOUND_INSTALLED: Final = (
    "installed, but neither its archive nor its extracted folder is in any package cache "
    "(give the cache with --pkgs-dir)"
)


class Identified(msgspec.Struct, frozen=True, gc=False):
    """An artifact with its identity: ``key`` is its sha256 (``md5:<hex>`` at worst).

    A struct, as :class:`~condawheel.wheelhouse.artifacts.Artifact` (one per record).
    """

    artifact: Artifact
    key: str | None
    size: int | None = None
    """Its size in bytes, when known (for progress)."""
    problem: str | None = None


@dataclass(frozen=True)
class StateView:
    """What the state and the wheelhouse say, as far as deciding needs it."""

    conversions: Mapping[str, tuple[ConversionRecord, ...]] = field(default_factory=dict)
    """Artifact key -> the records of its wheels (one each), for the options of this run."""
    wheels: Mapping[str, int] = field(default_factory=dict)
    """Every ``*.whl`` in the wheelhouse -> its size."""
    adoptable: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Artifact key -> untracked wheels whose sidecar names it as their source (not the
    wheels of a split package: see rule 5)."""
    damaged: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Artifact key -> wheels the state recorded as made from it (with any options) whose
    file no longer holds what was recorded and is no readable wheel."""
    changed: frozenset[str] = frozenset()
    """Recorded wheels whose file no longer holds what was recorded (damaged or not)."""
    adoptable_depends: Mapping[str, str] = field(default_factory=dict)
    """Untracked wheel -> the digest of the depends and constrains its sidecar names."""


class Convert(msgspec.Struct, frozen=True, gc=False):
    """Convert the artifact (a struct: a dry run of a whole channel decides a million)."""

    item: Identified
    key: str
    reason: str
    replaces: tuple[str, ...] = ()
    """Damaged wheels of this artifact that the new wheel may replace (rule 6)."""


@dataclass(frozen=True)
class Keep:
    """The artifact's wheels are there: nothing to do."""

    item: Identified
    key: str
    wheels: tuple[str, ...]
    """Every wheel of the artifact: one, or those of a split package."""
    note: str | None = None
    """Why the kept wheel is not what converting the artifact now would make."""


@dataclass(frozen=True)
class Adopt:
    """Record an untracked wheel as the artifact's conversion."""

    item: Identified
    key: str
    wheel: str
    note: str | None = None
    depends_key: str | None = None
    """The digest of the depends and constrains the wheel's sidecar names."""


@dataclass(frozen=True)
class Skip:
    """Leave the artifact out, and say why."""

    item: Identified
    reason: str
    twin: Identified | None = None
    """The ``.conda`` preferred to this ``.tar.bz2`` (rule 2): if it fails, this stands in."""


@dataclass(frozen=True)
class Fail:
    """The artifact cannot be synced."""

    item: Identified
    reason: str


Action = Convert | Keep | Adopt | Skip | Fail


@dataclass(frozen=True)
class SyncActions:
    """The actions, one per artifact, in the order the sources listed them."""

    actions: tuple[Action, ...]

    def of(self, kind: type[_ActionT]) -> tuple[_ActionT, ...]:
        """Return the actions of one kind."""
        return tuple(action for action in self.actions if isinstance(action, kind))

    @property
    def needs_adoption_view(self) -> bool:
        """Whether untracked wheels might save a conversion (so they are worth reading).

        A ``.tar.bz2`` whose ``.conda`` already failed here will be decided in its place.
        """
        failed = {id(action.item) for action in self.actions if isinstance(action, Fail)}
        return any(
            isinstance(action, Convert)
            or (isinstance(action, Skip) and action.twin is not None and id(action.twin) in failed)
            for action in self.actions
        )


@dataclass(frozen=True)
class PruneWheel:
    """A wheel whose source artifact no source offers any more."""

    wheel: str
    record: ConversionRecord


def options_fingerprint(options: PlanOptions, mapping_digests: Sequence[str]) -> tuple[str, str]:
    """Return ``(key, json)`` for the options that change a conversion's output.

    The key is what the state compares; the JSON is what it records. The compression
    level and condawheel's version are not in the key: a new condawheel does not rewrite
    wheels it made before (a published wheel is immutable, like on PyPI).
    """
    stamp = options.platform_stamp
    document: dict[str, object] = {
        "platform_prefix": options.platform_prefix,
        # Without a stamp the document is what it was before stamps existed, so that the
        # default options keep their key (and a wheelhouse its state).
        "platform_tag": None if stamp is None else stamp.tag,
        "source_date_epoch": options.source_date_epoch,
        "mappings": list(mapping_digests),
    }
    if stamp is not None:
        document["platform_stamp_subdir"] = stamp.subdir
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16], text


def run_stamp(
    environments: Mapping[str, PlatformStamp | None], others: Sequence[str] = ()
) -> PlatformStamp | None:
    """Return the build-tag stamp a run needs for its environment sources (``None``: default).

    An environment whose ``binary-compatibility.cfg`` names its own build tag accepts
    wheels of that tag, not the default ``conda_<subdir>`` ones, so a sync of it stamps
    that tag. One run has one stamp: environments that need different ones (or one a
    stamp, another the default) cannot share a run, and neither can the other sources
    (channels, files): the stamp would re-tag their packages of that subdir and refuse
    those of other subdirs, which nobody asked for. ``--for-prefix`` says so explicitly.

    :param environments: each environment source and the stamp it needs (``None``:
        the default tags).
    :param others: the run's sources that are not environments.
    :raises WheelhouseError: if the environments disagree, or one needs a stamp and
        ``others`` is not empty.
    """
    stamps = set(environments.values())
    if len(stamps) <= 1:
        stamp = next(iter(stamps), None)
        if stamp is not None and others:
            more = f" and {len(others) - 1} more" if len(others) > 1 else ""
            raise WheelhouseError(
                "sync",
                f"the environment sources need the build tag {stamp.tag!r} ({stamp.subdir}), "
                f"which would be stamped on {others[0]}{more} too: sync those separately, "
                "or pass --for-prefix to stamp it on all",
            )
        return stamp

    def describe(stamp: PlatformStamp | None) -> str:
        return "the default tags" if stamp is None else f"{stamp.tag!r} ({stamp.subdir})"

    listed = ", ".join(f"{source}: {describe(stamp)}" for source, stamp in environments.items())
    raise WheelhouseError(
        "sync",
        f"environments with different build tags cannot be synced in one run ({listed}): "
        "sync each separately",
    )


def prefer_conda_format(items: Sequence[Identified]) -> tuple[list[Identified], list[Skip]]:
    """Skip each ``.tar.bz2`` whose ``.conda`` twin the same source offers (rule 2).

    The same place is the same source and subdir (:mod:`condawheel.conda.twins`).
    """
    twins = pair_twins(
        [
            ((item.artifact.source, item.artifact.subdir), item.artifact.stem, item.artifact.format)
            for item in items
        ]
    )
    skipped = {
        position: Skip(
            items[position], preferred_reason(items[conda].artifact.filename), items[conda]
        )
        for position, conda in twins.items()
    }
    kept = [item for position, item in enumerate(items) if position not in skipped]
    return kept, [skipped[position] for position in sorted(skipped)]


def _platform_matches(wheel: str, subdir: str, options: PlanOptions) -> bool:
    if not subdir:  # a package file outside a subdir folder: the sidecar's sha256 decides
        return True
    stamp = options.platform_stamp
    if stamp is None or subdir == "noarch":
        expected = platform_tag(subdir, prefix=options.platform_prefix)
    elif subdir == stamp.subdir:
        expected = stamp.tag
    else:
        return False  # these options refuse the package: no wheel of theirs can exist
    try:
        _, _, _, tags = parse_wheel_filename(wheel)
    except InvalidWheelFilename:
        return False
    return any(tag.platform == expected for tag in tags)


def decide_actions(
    items: Sequence[Identified], state: StateView, *, options: PlanOptions
) -> SyncActions:
    """Decide, for every artifact, what this run does with it (see the module docstring)."""
    _, skipped = prefer_conda_format(items)
    twins = {id(skip.item): skip for skip in skipped}
    seen: dict[str, str] = {}
    # One action per item, in the order the sources listed them.
    actions = [twins.get(id(item)) or decide_one(item, state, seen, options) for item in items]
    return SyncActions(tuple(actions))


def decide_stand_ins(
    decided: SyncActions,
    failed: Collection[int],
    state: StateView,
    *,
    options: PlanOptions,
    seen: MutableMapping[str, str] | None = None,
) -> tuple[tuple[int, Action], ...]:
    """Decide the ``.tar.bz2`` twins that rule 2 skipped for a ``.conda`` that failed.

    :param decided: the actions of the run, as :func:`decide_actions` decided them.
    :param failed: the positions in ``decided.actions`` of the artifacts that failed.
    :param state: the view ``decided`` was made with.
    :param seen: the keys decided in the run (-> the first location), where ``decided``
        does not hold every action of the run (a streamed sync); default: its own.
    :returns: ``(position, action)`` of each such ``.tar.bz2``, decided by the other rules
        as if the ``.conda`` had not been offered: the same bytes decided already (rule 3)
        are still skipped, a wheel made from it before is kept.
    """
    positions = {id(action.item): position for position, action in enumerate(decided.actions)}
    twins = {
        position: positions[id(action.twin)]
        for position, action in enumerate(decided.actions)
        if isinstance(action, Skip) and action.twin is not None and id(action.twin) in positions
    }
    if seen is None:
        seen = {
            action.key: action.item.artifact.location
            for action in decided.actions
            if isinstance(action, Convert | Keep | Adopt)
        }
    return tuple(
        (position, decide_one(decided.actions[position].item, state, seen, options))
        for position in stand_ins(twins, failed)
    )


def decide_one(
    item: Identified, state: StateView, seen: MutableMapping[str, str], options: PlanOptions
) -> Action:
    """Decide one artifact by rules 1 and 3 to 6 (rule 2, twins, is the caller's).

    :param seen: the keys decided so far in the run -> the location of the first; this
        one's is added when it is the first.
    """
    artifact = item.artifact
    if item.problem is not None or item.key is None:
        return Fail(item, item.problem or "its identity (sha256) is unknown")
    key = item.key
    first = seen.get(key)
    if first is not None:
        return Skip(item, f"same artifact as {first} (sha256 {key[:12]}...)")
    seen[key] = artifact.location
    records = state.conversions.get(key, ())
    if records and all(_intact(record, state) for record in records):
        wheels = tuple(record.wheel for record in records)
        note = _changed_record(artifact, ", ".join(wheels), records[0].depends_key)
        return Keep(item, key, wheels, note)
    for wheel in state.adoptable.get(key, ()):
        if wheel in state.wheels and _platform_matches(wheel, artifact.subdir, options):
            depends = state.adoptable_depends.get(wheel)
            return Adopt(item, key, wheel, _changed_record(artifact, wheel, depends), depends)
    if artifact.kind == "installed" and not artifact.alternatives:
        return Fail(item, NOT_FOUND_INSTALLED)
    damaged = state.damaged.get(key, ())
    if not records:
        return Convert(item, key, "new", replaces=damaged)
    return Convert(item, key, _why_again(records, state, damaged), replaces=damaged)


def _intact(record: ConversionRecord, state: StateView) -> bool:
    return state.wheels.get(record.wheel) == record.wheel_size and record.wheel not in state.changed


def _why_again(
    records: Sequence[ConversionRecord], state: StateView, damaged: Collection[str]
) -> str:
    """Say why an artifact converted before is converted again (its first wheel not intact)."""
    record = next(record for record in records if not _intact(record, state))
    if record.wheel not in state.wheels:
        return f"its wheel {record.wheel} is missing"
    if record.wheel in damaged:
        return f"its wheel {record.wheel} is damaged"
    if record.wheel in state.changed:
        return f"its wheel {record.wheel} is not the one recorded"
    return f"its wheel {record.wheel} changed size"


def _changed_record(artifact: Artifact, wheel: str, made_with: str | None) -> str | None:
    """Say so when the source's record gives other dependencies than ``wheel`` has."""
    record = artifact.dependencies
    if record is None or made_with is None:
        return None  # nothing to compare: the wheel stays, as always
    if dependencies_key(record.depends, record.constrains) == made_with:
        return None
    return (
        f"kept {wheel}, made with other depends/constrains than its {record.origin} record "
        "now gives (patched since?); a wheel in the wheelhouse is never rewritten: "
        "remove it and sync again to rebuild it from the record"
    )


def refreshed_offers(
    before: Iterable[Offer],
    listings: Mapping[str, tuple[Sequence[str], Sequence[Offer]]],
) -> list[Offer]:
    """Return the offers after complete listings replaced theirs.

    :param listings: source -> (the scopes listed completely, the offers found there).
    """
    replaced = {(source, scope) for source, (scopes, _) in listings.items() for scope in scopes}
    kept = [offer for offer in before if (offer.source, offer.scope) not in replaced]
    return kept + [offer for _, offers in listings.values() for offer in offers]


def wheels_to_prune(
    before: Sequence[Offer],
    after: Sequence[Offer],
    conversions: Sequence[ConversionRecord],
    *,
    refreshed: Iterable[tuple[str, str]],
    keep_wheels: Iterable[str] = (),
) -> tuple[PruneWheel, ...]:
    """Return the wheels ``--prune`` removes: made from artifacts no source offers now.

    A key is gone when a complete listing (``refreshed``: ``(source, scope)`` pairs) no
    longer offers it, as an offer or as the record's own source, and no other source
    offers it either. A wheel that another live record (or this run) still claims stays.
    """
    scopes = set(refreshed)
    offered_now = {offer.artifact_key for offer in after}
    listed_before = {
        offer.artifact_key for offer in before if (offer.source, offer.scope) in scopes
    }
    listed_before.update(
        record.artifact_key
        for record in conversions
        if (record.artifact_source, record.artifact_scope) in scopes
    )
    gone = listed_before - offered_now
    alive = {record.wheel for record in conversions if record.artifact_key not in gone}
    alive.update(keep_wheels)
    pruned: dict[str, PruneWheel] = {}
    for record in conversions:
        if record.artifact_key in gone and record.wheel not in alive:
            pruned.setdefault(record.wheel, PruneWheel(record.wheel, record))
    return tuple(sorted(pruned.values(), key=lambda item: item.wheel))


def offers_of(items: Iterable[Identified], scopes: Iterable[str]) -> list[Offer]:
    """Return the offers of identified artifacts listed in ``scopes``."""
    wanted = set(scopes)
    return [
        Offer(item.artifact.source, scope_of(item.artifact), item.artifact.location, item.key)
        for item in items
        if item.key is not None and scope_of(item.artifact) in wanted
    ]


def scope_of(artifact: Artifact) -> str:
    """Return the unit a source is listed in: a channel's subdir; an environment is one."""
    return "" if artifact.kind == "installed" else artifact.subdir
