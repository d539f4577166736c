"""Conda versions (CEP 33): read them, order them, and test one against a prefix (pure).

Follows conda's ``models/version.py`` and rattler's ``version/mod.rs``; where the two
disagree, rattler is followed (the differential tests run against it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from condawheel.errors import InvalidMatchSpec

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CondaVersion",
    "compare_conda_versions",
    "compatible_prefix",
    "is_conda_version",
    "normalise_version",
    "parse_conda_version",
]

# A version is split at '.', '_' and '-' into segments, and each segment into runs of digits
# and letters. Every run becomes a sort key: 'dev' sorts below every string, strings below
# every number, and 'post' above everything.
_Key: TypeAlias = tuple[int, int | str]
_Segment: TypeAlias = tuple[_Key, ...]

_DEV: Final[_Key] = (0, 0)
_STRING: Final = 1
_NUMBER: Final = 2
_POST: Final[_Key] = (3, 0)
# A missing run or segment counts as the number 0, so that 1.1 == 1.1.0.
_ZERO: Final[_Key] = (_NUMBER, 0)

_VERSION_CHARACTERS = re.compile(r"[0-9a-z._+!-]+")
_ALPHANUMERIC = re.compile(r"[0-9a-z]+")
_RUNS = re.compile(r"\d+|[a-z]+")
_SEPARATORS = re.compile(r"[._-]")


@dataclass(frozen=True)
class CondaVersion:
    """A conda version as sort keys: its epoch, main part and local part (CEP 33)."""

    epoch: int
    main: tuple[_Segment, ...]
    local: tuple[_Segment, ...]

    def compare(self, other: CondaVersion) -> int:
        """Return -1, 0 or 1 as this version sorts below, equal to or above ``other``."""
        if self.epoch != other.epoch:
            return -1 if self.epoch < other.epoch else 1
        # The local part only breaks ties between equal main parts; an absent one counts as 0.
        return _compare_segments(self.main, other.main) or _compare_segments(
            self.local, other.local
        )

    def starts_with(self, prefix: CondaVersion) -> bool:
        """Return whether this version starts with ``prefix``, segment by segment."""
        return (
            self.epoch == prefix.epoch
            and _segments_start_with(self.main, prefix.main)
            and _segments_start_with(self.local, prefix.local)
        )


def _key(run: str) -> _Key:
    if run.isdigit():
        return (_NUMBER, int(run))
    if run == "dev":
        return _DEV
    if run == "post":
        return _POST
    return (_STRING, run)


def _segment(part: str) -> _Segment:
    keys = tuple(_key(run) for run in _RUNS.findall(part))
    # A segment that starts with a letter gets an implicit 0 so that numbers and strings stay
    # in phase: 1.1.a1 == 1.1.0a1 (CEP 33).
    return keys if part[0].isdigit() else (_ZERO, *keys)


def _segments(text: str) -> tuple[_Segment, ...] | None:
    parts = _SEPARATORS.split(text)
    if not all(_ALPHANUMERIC.fullmatch(part) for part in parts):
        return None  # an empty segment ("1..2", "1.") or a stray character
    return tuple(_segment(part) for part in parts)


def parse_conda_version(text: str) -> CondaVersion | None:
    """Split a conda version into sort keys, or return None when conda rejects it."""
    version = text.strip().lower()
    # Conda reads '-' as '_' unless both occur; rattler rejects the mix outright.
    if not _VERSION_CHARACTERS.fullmatch(version) or ("-" in version and "_" in version):
        return None
    epoch, bang, rest = version.rpartition("!")
    if bang and not epoch.isdigit():
        return None
    main_text, plus, local_text = rest.partition("+")
    main = _segments(main_text)
    local = _segments(local_text) if plus else ()
    if main is None or local is None:
        return None
    return CondaVersion(int(epoch) if bang else 0, main, local)


def _compare_segments(left: Sequence[_Segment], right: Sequence[_Segment]) -> int:
    for index in range(max(len(left), len(right))):
        mine = left[index] if index < len(left) else ()
        theirs = right[index] if index < len(right) else ()
        for position in range(max(len(mine), len(theirs))):
            a = mine[position] if position < len(mine) else _ZERO
            b = theirs[position] if position < len(theirs) else _ZERO
            if a != b:
                return -1 if a < b else 1
    return 0


def _segments_start_with(segments: Sequence[_Segment], prefix: Sequence[_Segment]) -> bool:
    # rattler's ``starts_with``: missing segments and runs of the version count as 0, and a
    # segment may run on past its prefix segment only if it is the prefix's last one. So
    # 1.2a1 starts with 1.2 and with 1.2.0, but 1.2a1.post1 does not start with 1.2.0.
    # (conda's ``VersionOrder.startswith`` says no to 1.2a1 against 1.2.0; rattler, like
    # PEP 440's ``==1.2.0.*``, says yes.)
    ran_on = False
    for index, wanted in enumerate(prefix):
        if index >= len(segments):
            if any(key != _ZERO for key in wanted):
                return False
            continue
        if ran_on:
            return False
        have = segments[index]
        for position, key in enumerate(wanted):
            if (have[position] if position < len(have) else _ZERO) != key:
                return False
        ran_on = len(have) > len(wanted)
    return True


def normalise_version(version: str) -> str:
    """Return ``version`` lowercased, with conda's ``_`` and ``-`` separators as ``.``."""
    # Conda reads '_' and '-' as '.' (CEP 33). PEP 440 would make "1.0-1" a post-release.
    return _SEPARATORS.sub(".", version.strip().lower())


def compatible_prefix(literal: str) -> str | None:
    """Return what ``~=literal`` requires a version to start with, or None for any.

    rattler reads ``~=V`` as ``>=V`` and "starts with V without its last segment"
    (``~=1.2.3.dev0`` wants ``1.2.3.*``); a local label is not part of it. For a
    one-segment ``V`` nothing is left to start with, and only the epoch must match (conda
    rejects ``~=1``). The prefix comes normalised (:func:`normalise_version`).
    """
    epoch, bang, main = normalise_version(literal).rpartition("!")
    segments = main.split("+", 1)[0].split(".")
    if len(segments) == 1:
        return None
    return f"{epoch}{bang}{'.'.join(segments[:-1])}"


def _require_conda_version(text: str) -> CondaVersion:
    parsed = parse_conda_version(text)
    if parsed is None:
        raise InvalidMatchSpec(text, f"{text!r} is not a conda version (CEP 33)")
    return parsed


def is_conda_version(text: str) -> bool:
    """Return whether ``text`` is a version conda can order (CEP 33)."""
    return parse_conda_version(text) is not None


def compare_conda_versions(left: str, right: str) -> int:
    """Compare two conda versions as conda and rattler order them (CEP 33).

    Return -1, 0 or 1. ``1.1 == 1.1.0``; ``1.1dev1 < 1.1a1 < 1.1 < 1.1.post1 < 1.1post1``;
    ``1.1.1k < 1.1.1``; ``1.0+local < 1.0``.

    :raises InvalidMatchSpec: for a string that is not a conda version.
    """
    return _require_conda_version(left).compare(_require_conda_version(right))
