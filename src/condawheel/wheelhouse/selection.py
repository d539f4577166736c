"""Which artifacts a sync converts: ``--select`` MatchSpecs and ``--newest N`` (pure).

A MatchSpec (CEP 29) selects on the fields a channel listing carries without opening the
package: name (a glob), version spec, build (glob or ``^regex$``), subdir, build number
and file name. Keys that would need a package's bytes or a channel's identity (``md5``,
``sha256``, ``channel``, ``features``...) are refused rather than ignored: a filter that
silently matches everything is worse than an error.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Final

from condawheel.conda.matchspec import (
    ParsedMatchSpec,
    compare_conda_versions,
    is_conda_version,
    parse_matchspec,
    pattern_matches,
    version_matches,
)
from condawheel.errors import InvalidMatchSpec
from condawheel.wheelhouse.artifacts import NameFilter

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from condawheel.wheelhouse.artifacts import Artifact

__all__ = [
    "Selection",
    "SelectionResult",
    "matches",
    "name_filter",
    "parse_selection",
    "select_artifacts",
]

# Bracket keys that a listing can answer; "version", "build" and "subdir" are already
# folded into ParsedMatchSpec's fields by parse_matchspec.
_SUPPORTED_BRACKETS: Final = frozenset({"version", "build", "subdir", "build_number", "fn"})
_BUILD_NUMBER = re.compile(r"\s*(?P<operator>==|!=|<=|>=|<|>|=)?\s*(?P<number>\d+)\s*")
NOT_SELECTED: Final = "not selected by --select"


@dataclass(frozen=True)
class Selection:
    """The user's filters: any spec may match (OR); ``newest`` applies after them."""

    specs: tuple[ParsedMatchSpec, ...] = ()
    newest: int | None = None


@dataclass(frozen=True)
class SelectionResult:
    """The artifacts to sync, and the others with the reason they are left out."""

    selected: tuple[Artifact, ...]
    skipped: tuple[tuple[Artifact, str], ...]
    unmatched: tuple[str, ...] = ()
    """The ``--select`` terms (as given) that matched no listed artifact: a typo, most
    likely, which a sync reports as an error rather than a successful run of nothing."""


def parse_selection(texts: Iterable[str], *, newest: int | None = None) -> Selection:
    """Parse ``--select`` values (a name, a glob, or a MatchSpec) and ``--newest``.

    :raises InvalidMatchSpec: for a spec that cannot be read, or that filters on something
        a channel listing cannot answer.
    """
    specs = []
    for text in texts:
        spec = parse_matchspec(text)
        unsupported = sorted({key for key, _ in spec.brackets} - _SUPPORTED_BRACKETS)
        if unsupported:
            raise InvalidMatchSpec(
                text,
                f"--select cannot filter on {', '.join(map(repr, unsupported))} "
                f"(supported: name, {', '.join(sorted(_SUPPORTED_BRACKETS))})",
            )
        if spec.channel is not None or spec.namespace is not None:
            raise InvalidMatchSpec(
                text, "--select cannot filter on a channel; give the channel as a SOURCE"
            )
        build_number = spec.bracket("build_number")
        if build_number is not None and _BUILD_NUMBER.fullmatch(build_number) is None:
            raise InvalidMatchSpec(text, f"build_number {build_number!r} is not [op]integer")
        specs.append(spec)
    if newest is not None and newest < 1:
        raise InvalidMatchSpec(str(newest), "--newest must be at least 1")
    return Selection(tuple(specs), newest)


def name_filter(selection: Selection) -> NameFilter | None:
    """Return which package names ``selection`` can select; None when it can select any.

    Only ``--select`` narrows the names: ``--newest`` compares the versions of each name,
    so it needs every record of a name, whatever the name.
    """
    if not selection.specs:
        return None
    names = {spec.name for spec in selection.specs}
    if "*" in names:
        return None
    patterns = tuple(sorted(name for name in names if _is_glob(name)))
    return NameFilter(frozenset(names.difference(patterns)), patterns)


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


def _build_number_matches(condition: str, build_number: int | None) -> bool:
    match = _BUILD_NUMBER.fullmatch(condition)
    if match is None or build_number is None:
        return False
    number = int(match["number"])
    operator = match["operator"] or "=="
    results = {
        "=": build_number == number,
        "==": build_number == number,
        "!=": build_number != number,
        "<": build_number < number,
        "<=": build_number <= number,
        ">": build_number > number,
        ">=": build_number >= number,
    }
    return results[operator]


def matches(spec: ParsedMatchSpec, artifact: Artifact) -> bool:
    """Return whether ``artifact`` is what ``spec`` asks for (name, version, build...)."""
    if not fnmatchcase(artifact.name.lower(), spec.name):
        return False
    if spec.version is not None and not version_matches(artifact.version, spec.version):
        return False
    if spec.build is not None and not pattern_matches(spec.build, artifact.build):
        return False
    if spec.subdir is not None and spec.subdir != artifact.subdir:
        return False
    build_number = spec.bracket("build_number")
    if build_number is not None and not _build_number_matches(build_number, artifact.build_number):
        return False
    filename = spec.bracket("fn")
    return filename is None or filename == artifact.filename


# --------------------------------------------------------------------------- newest N


def _version_order(left: str, right: str) -> int:
    # Versions conda cannot read sort below every real one (they are never "newest").
    left_ok = is_conda_version(left)
    right_ok = is_conda_version(right)
    if left_ok and right_ok:
        return compare_conda_versions(left, right)
    return (left_ok > right_ok) - (left_ok < right_ok) or (left > right) - (left < right)


def _newest_versions(versions: Iterable[str], count: int) -> set[str]:
    """Return the spellings of the ``count`` highest distinct versions (1.1 == 1.1.0)."""
    ordered = sorted(set(versions), key=functools.cmp_to_key(_version_order), reverse=True)
    kept: list[str] = []
    distinct = 0
    for version in ordered:
        if not kept or _version_order(version, kept[-1]) != 0:
            distinct += 1
        if distinct > count:
            break
        kept.append(version)
    return set(kept)


def select_artifacts(
    artifacts: Sequence[Artifact], selection: Selection, *, unusable: Iterable[str] = ()
) -> SelectionResult:
    """Apply ``--select`` (any spec matches), then ``--newest`` per subdir and name.

    Every spec is tried on every artifact, so that a term matching nothing is known.
    ``unusable`` names the packages the sources list but cannot offer (a record whose
    file is missing...): a term naming one of them matched something, and that
    something's problem is reported instead.

    ``--newest`` counts versions per ``(subdir, name)``, so every platform keeps its own
    newest builds; all builds of a kept version are kept.
    """
    selected: list[Artifact] = []
    skipped: list[tuple[Artifact, str]] = []
    used: set[int] = set()
    for artifact in artifacts:
        matching = {n for n, spec in enumerate(selection.specs) if matches(spec, artifact)}
        used |= matching
        if selection.specs and not matching:
            skipped.append((artifact, NOT_SELECTED))
        else:
            selected.append(artifact)
    listed = set(unusable)
    unmatched = tuple(
        spec.original
        for n, spec in enumerate(selection.specs)
        if n not in used and not any(fnmatchcase(name, spec.name) for name in listed)
    )
    if selection.newest is None:
        return SelectionResult(tuple(selected), tuple(skipped), unmatched)
    groups: dict[tuple[str, str], list[str]] = {}
    for artifact in selected:
        groups.setdefault((artifact.subdir, artifact.name), []).append(artifact.version)
    newest = {key: _newest_versions(versions, selection.newest) for key, versions in groups.items()}
    kept: list[Artifact] = []
    for artifact in selected:
        if artifact.version in newest[artifact.subdir, artifact.name]:
            kept.append(artifact)
        else:
            reason = f"older than the newest {selection.newest} version(s) of {artifact.name}"
            skipped.append((artifact, reason))
    return SelectionResult(tuple(kept), tuple(skipped), unmatched)
