"""What a sync finds in the wheelhouse: leftovers of killed runs, and the state of its wheels.

Every file a reader can see appears complete or not at all, but a killed run leaves its
temporary files and staging folders, and a power loss or a person may leave a wheel that
is not what the state recorded. This module finds both; what to do about a damaged or
changed wheel is decided in :mod:`condawheel.wheelhouse.decisions`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from condawheel.errors import WheelhouseError
from condawheel.io.digests import hash_file
from condawheel.io.files import TEMP_PREFIX
from condawheel.io.wheelfile import wheel_damage

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from condawheel.wheelhouse.state import ConversionRecord

__all__ = ["WheelCheck", "check_wheels", "recover_wheelhouse", "wheels_present"]


def recover_wheelhouse(wheelhouse: Path) -> list[str]:
    """Remove what killed runs left in ``wheelhouse``; return the names removed.

    The converter's temporary wheels and the engine's staging folders start with
    ``.condawheel-tmp-``; the index removes its own leftovers when it runs. The caller
    holds the wheelhouse lock, so nothing listed here is being written.
    """
    removed = []
    with os.scandir(wheelhouse) as entries:
        leftovers = [entry for entry in entries if entry.name.startswith(TEMP_PREFIX)]
    for entry in leftovers:
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise WheelhouseError(
                str(path), f"cannot remove a leftover of a killed run: {error.strerror}"
            ) from None
        removed.append(entry.name)
    return removed


def wheels_present(wheelhouse: Path) -> dict[str, os.stat_result]:
    """Return every regular ``*.whl`` file in ``wheelhouse`` with what ``stat`` says of it."""
    found = {}
    with os.scandir(wheelhouse) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(".whl"):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat()
                if stat.S_ISREG(info.st_mode):
                    found[entry.name] = info
    return found


@dataclass(frozen=True)
class WheelCheck:
    """What :func:`check_wheels` found."""

    damaged: dict[str, tuple[str, ...]]
    """Artifact key -> recorded wheels that are no readable wheel any more."""
    changed: frozenset[str]
    """Recorded wheels that are not the recorded bytes (the damaged ones among them)."""
    restamp: tuple[tuple[str, int, int], ...]
    """``(wheel, size, mtime_ns)`` of intact wheels whose recorded mtime is stale."""


def _file_sha256(path: Path) -> str | None:
    try:
        return hash_file(path).sha256
    except OSError:
        return None


def _wheel_verdict(path: Path, record: ConversionRecord, info: os.stat_result) -> str:
    """Return ``intact``, ``changed`` or ``damaged`` (see :func:`check_wheels`)."""
    same_size = info.st_size == record.wheel_size
    if same_size and record.wheel_mtime_ns == info.st_mtime_ns:
        return "intact"
    if same_size and record.wheel_sha256 is not None and _file_sha256(path) == record.wheel_sha256:
        return "intact"  # touched, not changed
    if wheel_damage(path) is not None:
        return "damaged"
    if same_size and record.wheel_sha256 is None:
        return "intact"  # an adopted wheel: no digest to compare, and readable
    return "changed"


def check_wheels(
    wheelhouse: Path, records: Iterable[ConversionRecord], present: Mapping[str, os.stat_result]
) -> WheelCheck:
    """Check the recorded wheels that are present against their records, by stamp.

    Wheels are published without fsync, so after a power loss one may be empty, cut short
    or zero-filled under its final name; a person or a tool may also have rewritten one.
    Covered:

    * a wheel whose size and mtime are the recorded ones is trusted and not opened (a
      no-op sync reads no wheel); damage that keeps both (data blocks lost under intact
      metadata) is not seen here: ``condawheel index --rehash`` reports such a wheel as
      damaged (not indexed), and removing it makes the next sync rebuild it;
    * a record from before mtimes were recorded (schema 1) has no stamp to trust: its
      wheel is verified once like any other, and its mtime is recorded from then on;
    * any other wheel is verified: same size and the recorded sha256 is intact (its
      stamp is recorded again); else a file that is no readable wheel (a zip with a
      ``.dist-info/WHEEL``, CRCs checked) is *damaged* and the artifact's next wheel
      replaces it; a readable wheel of other bytes is *changed*: converted again, it is
      a conflict, and is never replaced. An adopted wheel (no recorded sha256) of the
      recorded size that is readable counts as intact.
    """
    damaged: dict[str, tuple[str, ...]] = {}
    changed: set[str] = set()
    restamp: list[tuple[str, int, int]] = []
    verdicts: dict[tuple[str, int, int | None, str | None], str] = {}
    for record in records:
        info = present.get(record.wheel)
        if info is None:
            continue
        if (info.st_size, info.st_mtime_ns) == (record.wheel_size, record.wheel_mtime_ns):
            continue  # the common case, decided without building a path (a no-op sync)
        key = (record.wheel, record.wheel_size, record.wheel_mtime_ns, record.wheel_sha256)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = _wheel_verdict(wheelhouse / record.wheel, record, info)
        if verdict == "intact":
            if record.wheel_mtime_ns != info.st_mtime_ns:
                restamp.append((record.wheel, info.st_size, info.st_mtime_ns))
            continue
        changed.add(record.wheel)
        if verdict == "damaged":
            wheels = damaged.get(record.artifact_key, ())
            if record.wheel not in wheels:
                damaged[record.artifact_key] = (*wheels, record.wheel)
    return WheelCheck(damaged, frozenset(changed), tuple(dict.fromkeys(restamp)))
