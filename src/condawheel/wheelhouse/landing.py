"""Land a converted wheel in the wheelhouse, or adopt one already there; say who conflicts.

A wheel is moved into place by a hard link, which never replaces a file (``writer.publish``);
a file of the same name is replaced only if the decisions allowed it (a damaged wheel of
the same artifact) or if it is unreadable and no record names it (a crash left it). Any
other wheel of that name is a conflict, described by who made it: a wheel landed in this
run, a state record, or the wheel's own ``conda.json``. An untracked wheel whose
``conda.json`` names an artifact is adopted as that artifact's conversion.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from condawheel.conda.condameta import dependencies_key
from condawheel.convert.writer import publish, replace_damaged
from condawheel.errors import InvalidPackage, InvalidWheel, WheelExistsError
from condawheel.io.wheelfile import open_wheel, wheel_damage
from condawheel.sidecar import SIDECAR_NAME, load_sidecar, used_dependencies
from condawheel.wheelhouse.context import outcome_of
from condawheel.wheelhouse.index import describe_known_wheel
from condawheel.wheelhouse.outcomes import ConflictParty
from condawheel.wheelhouse.state import SidecarKey

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping
    from pathlib import Path

    from condawheel.convert.writer import WriteResult
    from condawheel.wheelhouse.context import SyncRun
    from condawheel.wheelhouse.decisions import Adopt, Convert, Identified
    from condawheel.wheelhouse.outcomes import Outcome, Status
    from condawheel.wheelhouse.state import ConversionRecord
    from condawheel.wheelhouse.workers import JobResult

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


def sidecar_source(path: Path) -> tuple[str | None, str | None, str | None]:
    """Return ``(filename, sha256, depends key)`` of the source a wheel's ``conda.json`` names.

    The depends key digests the depends and constrains the wheel was made with.
    """
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
                return None, None, None
            data = archive.read(names[0])
        sidecar = load_sidecar(path.name, data)
    except (InvalidWheel, InvalidPackage):
        # Not readable as a condawheel wheel: no sidecar names a source (a bug raises).
        return None, None, None
    used = used_dependencies(sidecar.document)
    depends = None if used is None else dependencies_key(*used)
    return sidecar.source.filename, sidecar.source.sha256, depends


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
        _, sha256, depends = sidecar_source(wheelhouse / wheel)
        keys.append(SidecarKey(wheel, info.st_size, info.st_mtime_ns, sha256, depends))
    return keys


def kept(item: Identified, wheel: str, note: str | None, *, reason: str | None = None) -> Outcome:
    """Return the outcome of an artifact whose wheel is already there (kept or adopted)."""
    outcome = outcome_of(item, "unchanged", reason=reason or note, wheel=wheel)
    # A wheel kept although the source's record now says other dependencies: a warning.
    return outcome if note is None else replace(outcome, warnings=(note,))


def adopt(
    run: SyncRun, action: Adopt, present: Mapping[str, os.stat_result]
) -> tuple[Outcome, ConversionRecord]:
    """Record an untracked wheel as the conversion of ``action``'s artifact."""
    info = present[action.wheel]
    stamp = (info.st_size, info.st_mtime_ns)
    record = run.conversion(action.item, action.key, action.wheel, stamp, None, action.depends_key)
    return kept(action.item, action.wheel, action.note, reason=ADOPTED), record


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
    filename, sha256, _ = sidecar_source(run.wheelhouse / wheel)
    if filename is None:
        if wheel_damage(run.wheelhouse / wheel) is not None:
            note = "a file of that name that is no readable wheel (damaged? remove it)"
            return ConflictParty(wheel, note=note)
        return ConflictParty(
            wheel, note="an ordinary wheel of the same name (not made by condawheel)"
        )
    return ConflictParty(wheel, filename=filename, sha256=sha256, note="named by its conda.json")


def land(
    run: SyncRun, action: Convert, result: JobResult
) -> tuple[Outcome, ConversionRecord | None]:
    """Move the wheel a worker staged for ``action`` into the wheelhouse.

    :returns: the artifact's outcome, and the record to store when a wheel landed (or
        an identical one was there already); ``None`` when the artifact failed or its
        wheel conflicts with another of the same name, which is never replaced.
    """
    item = action.item
    if result.error is not None or result.staged is None:
        return outcome_of(item, "failed", reason=result.error or "no wheel was made"), None
    staged = result.staged
    wheel = staged.name
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
            return outcome_of(item, "failed", reason=reason), None
        note: str | None = None
        try:
            written: WriteResult = publish(staged, run.wheelhouse / wheel)
        except WheelExistsError:
            # Checked again, though the lock keeps other syncs out: a readable wheel put
            # there since the actions were decided is someone's, and is never replaced. An
            # unreadable file that no record names is what a crash leaves between a wheel
            # and its record.
            replaceable = wheel in action.replaces or wheel not in run.recorded_wheels
            if not replaceable or wheel_damage(run.wheelhouse / wheel) is None:
                return _conflict(run, action, wheel)
            try:
                written = replace_damaged(staged, run.wheelhouse / wheel)
            except OSError as error:
                return _cannot_move(item, wheel, error), None
            note = REPAIRED if wheel in action.replaces else REPLACED_GARBAGE
        except OSError as error:
            return _cannot_move(item, wheel, error), None
        try:
            mtime_ns: int | None = written.path.stat().st_mtime_ns
        except OSError:
            mtime_ns = None  # checked by size and sha256 next time
    finally:
        shutil.rmtree(staged.parent, ignore_errors=True)
    if result.metadata is not None and result.summary is not None:
        stamp, entry = describe_known_wheel(
            run.wheelhouse,
            wheel,
            sha256=written.sha256,
            metadata=result.metadata,
            summary=result.summary,
        )
        run.indexed[stamp] = entry
    status: Status = "converted" if written.status == "written" else "unchanged"
    if status == "unchanged":
        note = IDENTICAL
    warnings = result.warnings
    if note == REPLACED_GARBAGE:
        warnings = (*warnings, f"{wheel}: {REPLACED_GARBAGE}")
    outcome = replace(outcome_of(item, status, reason=note, wheel=wheel), warnings=warnings)
    run.landed[wheel] = outcome
    landed = (written.size, mtime_ns)
    record = run.conversion(item, action.key, wheel, landed, written.sha256, result.depends_key)
    return outcome, record


def _cannot_move(item: Identified, wheel: str, error: OSError) -> Outcome:
    reason = f"cannot move {wheel} into the wheelhouse: {error.strerror or error}"
    return outcome_of(item, "failed", reason=reason)


def _conflict(run: SyncRun, action: Convert, wheel: str) -> tuple[Outcome, None]:
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
    outcome = outcome_of(item, "conflict", reason=reason, wheel=wheel)
    return replace(outcome, conflict_with=other), None
