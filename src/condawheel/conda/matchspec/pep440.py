"""Conda versions as PEP 440 versions, and where conda and PEP 440 order them alike (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from packaging.specifiers import Specifier
from packaging.version import InvalidVersion, Version

from condawheel.conda.matchspec.versions import normalise_version, parse_conda_version

__all__ = [
    "MappedVersion",
    "MappingRule",
    "conda_version_to_pep440",
    "map_version",
    "pep440_agrees",
    "plain_release",
]

MappingRule: TypeAlias = Literal["pep440", "local", "lettered-release", "respelled"]
"""Which rule mapped a conda version: PEP 440 as written, a local label, letters glued to a
release (a local label too), or a spelling ``packaging`` reads that conda orders otherwise."""

_LETTERS = re.compile(r"[a-z]+")
_PLAIN_RELEASE = re.compile(r"(?:\d+!)?\d+(?:\.\d+)*")
# docs/convert.md, "Versions": letters glued to the end of a release number and followed by
# no digit are how conda-forge spells *releases* (tzdata 2025a, openssl 1.1.1k, jpeg 9e).
_LETTERED_RELEASE = re.compile(rf"(?P<release>{_PLAIN_RELEASE.pattern})(?P<letters>[a-z]+)")
# The only words PEP 440 writes itself; packaging also reads alpha, beta, c, pre, preview, r,
# rev and a leading v, which conda sorts as plain strings.
_PEP440_WORDS: Final = frozenset({"a", "b", "rc", "post", "dev"})


@dataclass(frozen=True)
class MappedVersion:
    """The PEP 440 version a conda version becomes, and the rule that made it."""

    version: Version
    rule: MappingRule


def map_version(version: str) -> MappedVersion | None:
    """Map a conda version to PEP 440 (see :func:`conda_version_to_pep440`), with its rule."""
    if parse_conda_version(version) is None:
        return None
    normal = normalise_version(version)
    if match := _LETTERED_RELEASE.fullmatch(normal):
        return MappedVersion(Version(f"{match['release']}+{match['letters']}"), "lettered-release")
    try:
        mapped = Version(normal)
    except InvalidVersion:
        return None
    if mapped.local is not None:
        return MappedVersion(mapped, "local")
    if set(_LETTERS.findall(normal)) <= _PEP440_WORDS:
        return MappedVersion(mapped, "pep440")
    return MappedVersion(mapped, "respelled")


def conda_version_to_pep440(version: str) -> Version | None:
    """Return the PEP 440 version a conda version becomes, or None if there is none.

    The rule of docs/convert.md ("Versions"): conda's ``_`` and ``-`` separators are ``.``
    (``1.0_1`` and ``1.0-1`` become ``1.0.1``); letters glued to the end of a release
    number with no digit after them are how conda-forge spells releases, so they become a
    local label (``2025a`` -> ``2025+a``, ``1.1.1k`` -> ``1.1.1+k``, ``9e`` -> ``9+e``)
    rather than a PEP 440 pre-release; anything else that ``packaging`` parses is
    normalised (``1.0RC1`` -> ``1.0rc1``); the rest (``1.0.1a1.1``, ``1.0_1-2``) has no
    PEP 440 form.
    """
    mapped = map_version(version)
    return None if mapped is None else mapped.version


def plain_release(version: str) -> Version | None:
    """Return ``version`` as a PEP 440 release if it is a plain one (``[E!]N(.N)*``).

    Only a plain release means the same as a prefix to conda (``1.2.*``) and to PEP 440
    (``==1.2.*``). Conda's ``_`` and ``-`` separators count as ``.``.
    """
    normal = normalise_version(version)
    return Version(normal) if _PLAIN_RELEASE.fullmatch(normal) else None


def _pep440_sign(candidate: Version, literal: Version) -> int:
    # A specifier without a local label ignores the candidate's (PEP 440, "Local version
    # identifiers"); the specifiers this package writes compare exactly that way.
    if literal.local is None:
        candidate = Version(candidate.public)
    return (candidate > literal) - (candidate < literal)


def pep440_agrees(candidate: str, literal: str, *, prefix: bool = False) -> bool:
    """Return whether conda and PEP 440 relate ``candidate`` to ``literal`` the same way.

    Without ``prefix``: both order the two versions alike (``<``, ``==`` or ``>``). With
    ``prefix``: ``literal`` is a plain release and both agree on whether ``candidate``
    starts with it (conda ``1.2.*`` versus PEP 440 ``==1.2.*``). False whenever either
    string has no conda or no PEP 440 reading. This is the domain on which
    :func:`~condawheel.conda.matchspec.translate_version_spec` promises exactness.
    """
    conda_candidate = parse_conda_version(candidate)
    conda_literal = parse_conda_version(literal)
    pep_candidate = conda_version_to_pep440(candidate)
    pep_literal = conda_version_to_pep440(literal)
    if conda_candidate is None or conda_literal is None:
        return False
    if pep_candidate is None or pep_literal is None:
        return False
    if prefix:
        if plain_release(literal) is None:
            return False
        in_pep440 = Specifier(f"=={pep_literal}.*").contains(pep_candidate, prereleases=True)
        return conda_candidate.starts_with(conda_literal) == in_pep440
    return conda_candidate.compare(conda_literal) == _pep440_sign(pep_candidate, pep_literal)
