"""Land a converted artifact's wheels in the wheelhouse, or adopt one; say who conflicts.

A wheel is moved into place by a hard link, which never replaces a file (``writer.publish``);
a file of the same name is replaced only if the decisions allowed it (a damaged wheel of
the same artifact) or if it is unreadable and no record names it (a crash left it). Any
other wheel of that name is a conflict, described by who made it: a wheel landed in this
run, a state record, or the wheel's own ``conda.json``. An untracked wheel whose
``conda.json`` names an artifact is adopted as that artifact's conversion.

A package holding several Python distributions makes several wheels (docs/convert.md,
"split"), which depend on each other: they land together or not at all. Every one of
them is checked before the first is moved, so a conflict on one refuses the artifact and
leaves the others out; one that cannot be moved (a full disk) takes back those that
this landing added.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from condawheel.conda.condameta import dependencies_key
from condawheel.convert.writer import publish, replace_damaged
from condawheel.errors import InvalidPackage, InvalidWheel, WheelExistsError
from condawheel.io.digests import hash_file
from condawheel.io.wheelfile import open_wheel, wheel_damage
from condawheel.sidecar import SIDECAR_NAME, load_sidecar, used_dependencies
from condawheel.wheelhouse.context import outcome_of
from condawheel.wheelhouse.index import describe_known_wheel
from condawheel.wheelhouse.outcomes import ConflictParty
from condawheel.wheelhouse.state import SidecarKey

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from condawheel.convert.writer import WriteResult
    from condawheel.wheelhouse.context import SyncRun
    from condawheel.wheelhouse.decisions import Adopt, Convert, Identified
    from condawheel.wheelhouse.outcomes import Outcome, Status
    from condawheel.wheelhouse.state import ConversionRecord
    from condawheel.wheelhouse.workers import JobResult, StagedWheel

__all__ = [
    "ADOPTED",
    "IDENTICAL",
    "REPAIRED",
    "REPLACED_GARBAGE",
    "adopt",
    "adoption_keys",
    "kept",
    "land",
    "sidecar_source",
]

ADOPTED: Final = "adopted the wheel already in the wheelhouse (its conda.json names this artifact)"
IDENTICAL: Final = "an identical wheel was already in the wheelhouse"
REPAIRED: Final = "replaced a damaged wheel (it no longer held what this artifact made)"
REPLACED_GARBAGE: Final = (
    "replaced an unreadable file at the wheel's name that no record names (left by a crash?)"
)


@dataclass(frozen=True)
class SidecarSource:
    """What a wheel's ``conda.json`` says of the artifact that made it (None: no sidecar)."""

    filename: str | None = None
    sha256: str | None = None
    depends_key: str | None = None
    """The digest of the depends and constrains the wheel was made with."""
    split: bool = False
    """Whether the wheel is one of those of a package split by its Python distributions."""


def sidecar_source(path: Path) -> SidecarSource:
    """Return what the ``conda.json`` of the wheel at ``path`` names as its source."""
    try:
        with open_wheel(path) as archive:
            names = [
                name
                for name in archive.names
                if name.count("/") == 1
                and name.split("/")[0].endswith(".dist-info")
                and name.endswith("/" + SIDECAR_NAME)
            ]
            if len(names) != 1:
                return SidecarSource()
            data = archive.read(names[0])
        sidecar = load_sidecar(path.name, data)
    except (InvalidWheel, InvalidPackage):
        # Not readable as a condawheel wheel: no sidecar names a source (a bug raises).
        return SidecarSource()
    used = used_dependencies(sidecar.document)
    return SidecarSource(
        sidecar.source.filename,
        sidecar.source.sha256,
        None if used is None else dependencies_key(*used),
        split=sidecar.document.get("split") is not None,
    )


def adoption_keys(
    wheelhouse: Path,
    untracked: Mapping[str, os.stat_result],
    cached: Mapping[str, SidecarKey],
) -> list[SidecarKey]:
    """Return what the sidecar of each untracked wheel names (see :func:`sidecar_source`).

    :param untracked: the wheels no state record names, by name.
    :param cached: what the state remembers of sidecars read before; an entry is used
        while its wheel's size and mtime are unchanged, so that no wheel is read twice.
    """
    keys = []
    for wheel, info in sorted(untracked.items()):
        known = cached.get(wheel)
        if known is not None and (known.size, known.mtime_ns) == (info.st_size, info.st_mtime_ns):
            keys.append(known)
            continue
        source = sidecar_source(wheelhouse / wheel)
        keys.append(
            SidecarKey(
                wheel,
                info.st_size,
                info.st_mtime_ns,
                source.sha256,
                source.depends_key,
                split=source.split,
            )
        )
    return keys


def kept(
    item: Identified, wheels: tuple[str, ...], note: str | None, *, reason: str | None = None
) -> Outcome:
    """Return the outcome of an artifact whose wheels are already there (kept or adopted)."""
    outcome = outcome_of(item, "unchanged", reason=reason or note, wheels=wheels)
    # A wheel kept although the source's record now says other dependencies: a warning.
    return outcome if note is None else msgspec.structs.replace(outcome, warnings=(note,))


def adopt(
    run: SyncRun, action: Adopt, present: Mapping[str, os.stat_result]
) -> tuple[Outcome, ConversionRecord]:
    """Record an untracked wheel as the conversion of ``action``'s artifact."""
    info = present[action.wheel]
    stamp = (info.st_size, info.st_mtime_ns)
    record = run.conversion(action.item, action.key, action.wheel, stamp, None, action.depends_key)
    return kept(action.item, (action.wheel,), action.note, reason=ADOPTED), record


def _conflict_party(run: SyncRun, wheel: str) -> ConflictParty:
    landed = run.landed.get(wheel)
    if landed is not None:
        return ConflictParty(wheel, landed.source, landed.location, landed.filename, landed.sha256)
    for record in run.records:
        if record.wheel == wheel:
            return ConflictParty(
                wheel,
                record.artifact_source,
                record.artifact_location,
                record.artifact_filename,
                None if record.artifact_key.startswith("md5:") else record.artifact_key,
            )
    source = sidecar_source(run.wheelhouse / wheel)
    if source.filename is None:
        if wheel_damage(run.wheelhouse / wheel) is not None:
            note = "a file of that name that is no readable wheel (damaged? remove it)"
            return ConflictParty(wheel, note=note)
        return ConflictParty(
            wheel, note="an ordinary wheel of the same name (not made by condawheel)"
        )
    return ConflictParty(
        wheel, filename=source.filename, sha256=source.sha256, note="named by its conda.json"
    )


Placement = Literal["new", "replace"]
"""How a staged wheel goes into place: linked beside what is there (``new``: also when an
identical wheel is there already), or renamed over a damaged or unreadable file."""


def _placement(run: SyncRun, action: Convert, staged: StagedWheel) -> Placement | None:
    """Return how ``staged`` goes into place; None: a different wheel of its name is there."""
    wheel = staged.path.name
    target = run.wheelhouse / wheel
    if not target.is_file():
        return "new"  # absent; something that is no file refuses the move itself
    with contextlib.suppress(OSError):
        if hash_file(target).sha256 == hash_file(staged.path).sha256:
            return "new"  # identical: publish finds it so
    # A readable wheel put there is someone's, and is never replaced. An unreadable file
    # that no record names is what a crash leaves between a wheel and its record.
    replaceable = wheel in action.replaces or wheel not in run.recorded_wheels
    if replaceable and wheel_damage(target) is not None:
        return "replace"
    return None


def land(
    run: SyncRun, action: Convert, result: JobResult
) -> tuple[Outcome, tuple[ConversionRecord, ...]]:
    """Move the wheels a worker staged for ``action`` into the wheelhouse, all or none.

    :returns: the artifact's outcome, and the records to store when its wheels landed (or
        identical ones were there already); none when the artifact failed or one of its
        wheels conflicts with another of the same name, which is never replaced.
    """
    item = action.item
    if result.error is not None or not result.staged:
        return outcome_of(item, "failed", reason=result.error or "no wheel was made"), ()
    try:
        if (
            not action.key.startswith("md5:")
            and result.source_sha256 is not None
            and result.source_sha256 != action.key
        ):
            reason = (
                f"it changed while being synced (sha256 {result.source_sha256} when "
                f"converted, {action.key} when listed); not landed, the next sync redoes it"
            )
            return outcome_of(item, "failed", reason=reason), ()
        placements = []
        for staged in result.staged:
            placement = _placement(run, action, staged)
            if placement is None:
                return _conflict(run, action, staged.path.name, len(result.staged)), ()
            placements.append((staged, placement))
        placed = _place_all(run, action, placements)
        if not isinstance(placed, list):
            return placed, ()  # one could not be moved: none is left in
    finally:
        for folder in {staged.path.parent for staged in result.staged}:
            shutil.rmtree(folder, ignore_errors=True)
    return _landed(run, action, result, placed)


@dataclass(frozen=True)
class _Placed:
    """A staged wheel moved into place."""

    staged: StagedWheel
    written: WriteResult
    note: str | None
    """REPAIRED or REPLACED_GARBAGE when it replaced a file; None otherwise."""
    mtime_ns: int | None

    @property
    def wheel(self) -> str:
        return self.written.path.name


def _place_all(
    run: SyncRun, action: Convert, placements: Sequence[tuple[StagedWheel, Placement]]
) -> list[_Placed] | Outcome:
    """Move every staged wheel into place; on a failure, take back what this added.

    :returns: the wheels moved in; or the artifact's outcome when one of them could not
        be moved.
    """
    placed: list[_Placed] = []
    for staged, placement in placements:
        wheel = staged.path.name
        target = run.wheelhouse / wheel
        note: str | None = None
        try:
            if placement == "replace":
                written = replace_damaged(staged.path, target)
                note = REPAIRED if wheel in action.replaces else REPLACED_GARBAGE
            else:
                written = publish(staged.path, target)
        except (WheelExistsError, OSError) as error:
            for done in placed:
                if done.written.status == "written":
                    with contextlib.suppress(OSError):
                        done.written.path.unlink()
            if isinstance(error, WheelExistsError):
                # Put there since it was checked, though the lock keeps other syncs out.
                return _conflict(run, action, wheel, len(placements))
            return _cannot_move(action.item, wheel, error)
        try:
            mtime_ns: int | None = written.path.stat().st_mtime_ns
        except OSError:
            mtime_ns = None  # checked by size and sha256 next time
        placed.append(_Placed(staged, written, note, mtime_ns))
    return placed


def _landed(
    run: SyncRun, action: Convert, result: JobResult, placed: Sequence[_Placed]
) -> tuple[Outcome, tuple[ConversionRecord, ...]]:
    """Index, report and record the wheels that :func:`_place_all` moved into place."""
    item = action.item
    for done in placed:
        if done.staged.metadata is not None and done.staged.summary is not None:
            stamp, entry = describe_known_wheel(
                run.wheelhouse,
                done.wheel,
                sha256=done.written.sha256,
                metadata=done.staged.metadata,
                summary=done.staged.summary,
            )
            run.indexed[stamp] = entry
    wrote = any(done.written.status == "written" for done in placed)
    notes = [done.note for done in placed if done.note is not None]
    reason = IDENTICAL if not wrote else REPAIRED if REPAIRED in notes else next(iter(notes), None)
    warnings = result.warnings + tuple(
        f"{done.wheel}: {REPLACED_GARBAGE}" for done in placed if done.note == REPLACED_GARBAGE
    )
    status: Status = "converted" if wrote else "unchanged"
    wheels = tuple(done.wheel for done in placed)
    outcome = msgspec.structs.replace(
        outcome_of(item, status, reason=reason, wheels=wheels), warnings=warnings
    )
    records = []
    for done in placed:
        run.landed[done.wheel] = outcome
        stamp_of_wheel = (done.written.size, done.mtime_ns)
        records.append(
            run.conversion(
                item,
                action.key,
                done.wheel,
                stamp_of_wheel,
                done.written.sha256,
                result.depends_key,
            )
        )
    return outcome, tuple(records)


def _cannot_move(item: Identified, wheel: str, error: OSError) -> Outcome:
    reason = f"cannot move {wheel} into the wheelhouse: {error.strerror or error}"
    return outcome_of(item, "failed", reason=reason)


def _conflict(run: SyncRun, action: Convert, wheel: str, made: int) -> Outcome:
    """Refuse the artifact: ``wheel``, one of the ``made`` it makes, would replace another."""
    item = action.item
    other = _conflict_party(run, wheel)
    reason = (
        f"it makes {wheel}, but a different wheel of that name is already in the "
        f"wheelhouse, made from {other.describe()}; not overwritten"
    )
    other_name = (other.filename or "").rsplit("-", 2)[0]
    if other_name and other.sha256 != action.key and other_name != item.artifact.name:
        distribution = wheel.split("-", 1)[0]
        reason += (
            f": the conda packages {item.artifact.name!r} and {other_name!r} carry the same "
            f"Python distribution ({distribution}), and a wheel is named after its "
            "distribution, not its conda package. Sync them into separate wheelhouses, or "
            "leave one out (--select)"
        )
    if other.sha256 == action.key:
        reason += (
            " (the same artifact, converted with other options, mappings or record "
            "dependencies: remove the wheel to rebuild it)"
        )
    elif other.location == item.artifact.location:
        reason += " (the artifact changed in place: --prune replaces its wheel)"
    if made > 1:
        # A split package's wheels require one another: none of them lands alone.
        reason += f"; so none of the {made} wheels it makes landed"
    outcome = outcome_of(item, "conflict", reason=reason, wheel=wheel)
    return msgspec.structs.replace(outcome, conflict_with=other)
