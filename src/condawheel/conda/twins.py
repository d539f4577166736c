"""A package given as both ``.conda`` and ``.tar.bz2``: which one is converted (pure).

Both formats of one package (``name-version-build``) make wheels of the same name that
differ only in the sidecar's record of their source, so only one may be converted. The
``.conda`` is preferred, as conda itself prefers it (smaller, faster to read); its
``.tar.bz2`` twin is skipped, unless the ``.conda`` fails: then the twin is converted in
its place. ``convert`` and ``sync`` follow this rule through these functions; each says
what "the same place" is for its inputs (a folder; a source's subdir).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

__all__ = [
    "TwinCandidate",
    "pair_twins",
    "preferred_reason",
    "split_format",
    "stand_in_reason",
    "stand_ins",
]

TwinCandidate: TypeAlias = tuple[Hashable, str, Literal["conda", "tar.bz2"] | None]
"""``(place, name-version-build, format)`` of one input; ``None``: neither format."""


def split_format(filename: str) -> tuple[str, Literal["conda", "tar.bz2"] | None]:
    """Split a package file name into its stem and format (``None``: neither format)."""
    if filename.endswith(".conda"):
        return filename.removesuffix(".conda"), "conda"
    if filename.endswith(".tar.bz2"):
        return filename.removesuffix(".tar.bz2"), "tar.bz2"
    return filename, None


def pair_twins(candidates: Sequence[TwinCandidate]) -> dict[int, int]:
    """Map the position of each ``.tar.bz2`` to the position of its ``.conda`` twin.

    A twin is a ``.conda`` of the same ``name-version-build`` in the same place; inputs
    without one are not in the result. Should a ``.conda`` be given twice, the last wins.
    """
    conda = {
        (place, stem): position
        for position, (place, stem, kind) in enumerate(candidates)
        if kind == "conda"
    }
    return {
        position: conda[place, stem]
        for position, (place, stem, kind) in enumerate(candidates)
        if kind == "tar.bz2" and (place, stem) in conda
    }


def stand_ins(twins: Mapping[int, int], failed: Collection[int]) -> tuple[int, ...]:
    """Return the positions of the ``.tar.bz2`` twins to convert because their ``.conda`` failed.

    :param twins: what :func:`pair_twins` returned.
    :param failed: positions of the inputs that failed.
    :returns: in the order of the inputs.
    """
    wanted = set(failed)
    return tuple(sorted(tar_bz2 for tar_bz2, conda in twins.items() if conda in wanted))


def preferred_reason(conda_filename: str) -> str:
    """Return why a ``.tar.bz2`` is skipped for its ``.conda`` twin ``conda_filename``."""
    return f"same package as {conda_filename} (.conda preferred)"


def stand_in_reason(conda_filename: str) -> str:
    """Return what a ``.tar.bz2`` converted for its failed ``.conda`` twin says."""
    return f"in place of the failed {conda_filename}"
