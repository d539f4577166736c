"""Conda version specs translated to PEP 440 specifiers and PEP 508 requirements (pure).

What "exact" means. Conda and PEP 440 order some versions differently (``1.2a1`` sorts
below ``1.2.0a0`` in conda, ``1.1.1k`` below ``1.1.1``; CEP 33 versus PEP 440), so no
specifier can be right for every conda version. A translation is *exact* when, for every
candidate conda version ``c`` that conda and PEP 440 place alike against each version
written in the spec (:func:`~condawheel.conda.matchspec.pep440.pep440_agrees`), ``c`` matches
the conda spec if and only if ``conda_version_to_pep440(c)`` is in the specifier,
pre-releases included. *Widened* means "if" instead of "if and only if" (the specifier
admits more); *untranslatable* means nothing PEP 440 can say about the spec was kept (the
specifier is empty). Conda itself has no pre-release policy, so the specifiers describe
sets, not pip's pre-release preferences.

Where conda and py-rattler disagree (both are cited below), rattler is followed: it is the
reference implementation the differential tests run against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from condawheel.conda.matchspec.pep440 import map_version, plain_release
from condawheel.conda.matchspec.versions import compatible_prefix
from condawheel.conda.matchspec.versionspec import Clause, parse_version_spec
from condawheel.errors import InvalidMapping

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from condawheel.conda.matchspec.pep440 import MappedVersion
    from condawheel.conda.matchspec.versionspec import SpecNode

__all__ = ["Fidelity", "VersionTranslation", "to_requirement", "translate_version_spec"]

Fidelity: TypeAlias = Literal["exact", "widened", "untranslatable"]
"""How faithfully a conda version spec was translated (see the module docstring)."""

_RANK: Final[dict[Fidelity, int]] = {"exact": 0, "widened": 1, "untranslatable": 2}
_HULL_NOTE: Final = "'|' has no PEP 508 form: widened to the hull of the alternatives"


@dataclass(frozen=True)
class VersionTranslation:
    """A conda version spec as a PEP 440 ``SpecifierSet`` (empty: any version).

    ``fidelity`` and the domain it is promised on are described in the module docstring;
    ``notes`` say, for people, what was rewritten, widened or dropped, and why.
    """

    specifier: SpecifierSet
    fidelity: Fidelity
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Bound:
    version: Version
    inclusive: bool


@dataclass(frozen=True)
class _Piece:
    """A translated clause or group: its specifiers and the interval that contains them."""

    specifiers: tuple[str, ...] = ()
    lower: _Bound | None = None  # None: unbounded
    upper: _Bound | None = None
    interval: bool = True  # the specifiers admit exactly [lower, upper], no holes
    fidelity: Fidelity = "exact"
    notes: tuple[str, ...] = ()


def _worst(fidelities: Iterable[Fidelity]) -> Fidelity:
    return max(fidelities, key=_RANK.__getitem__, default="exact")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _dropped(fidelity: Fidelity, note: str) -> _Piece:
    return _Piece(interval=False, fidelity=fidelity, notes=(note,))


def _dev0(release: Version) -> Version:
    """Return the lowest PEP 440 version with this release: 1.2 -> 1.2.dev0."""
    return Version(f"{release.base_version}.dev0")


def _next_dev0(release: Version) -> Version:
    """Return the lowest version after every ``release.*``: 1.2 -> 1.3.dev0."""
    numbers = (*release.release[:-1], release.release[-1] + 1)
    epoch = f"{release.epoch}!" if release.epoch else ""
    return Version(f"{epoch}{'.'.join(map(str, numbers))}.dev0")


def _translate_prefix(clause: Clause, *, negated: bool) -> _Piece:
    release = plain_release(clause.literal)
    if release is None:
        note = f"{clause.text!r}: only a plain release can be a PEP 440 prefix; dropped"
        return _dropped("untranslatable", note)
    if negated:
        return _Piece((f"!={release}.*",), interval=False)
    # conda and rattler compare prefixes segment by segment, so 1.2.* admits 1.2a1 and
    # 1.2.post1 but not 1.20, as PEP 440's ==1.2.* does (PEP 440, "Version matching").
    lower = _Bound(_dev0(release), inclusive=True)
    upper = _Bound(_next_dev0(release), inclusive=False)
    return _Piece((f"=={release}.*",), lower, upper)


def _translate_compatible(clause: Clause, mapped: Version) -> _Piece:
    # rattler: ~=V is >=V and "starts with V minus its last segment" (~=1.2.3.dev0 wants
    # 1.2.3.*). PEP 440 drops the last *release* number instead (~=1.2.3.dev0 is ==1.2.*),
    # so ~= is kept only where both agree.
    lower = _Bound(mapped, inclusive=True)
    prefix_text = compatible_prefix(clause.literal)
    if prefix_text is None:
        # rattler reads ~=1 as >=1 within the same epoch (nothing is left to start with);
        # conda rejects it. The next epoch starts at (E+1)!0.dev0.
        upper = _Bound(Version(f"{mapped.epoch + 1}!0.dev0"), inclusive=False)
        specifiers = _render(lower, upper)
        note = f"{clause.text!r} read as {','.join(specifiers)!r} (rattler; conda rejects it)"
        return _Piece(specifiers, lower, upper, notes=(note,))
    prefix = plain_release(prefix_text)
    if prefix is None:
        note = f"{clause.text!r}: prefix {prefix_text!r} is not a plain release; kept '>='"
        return _Piece((f">={mapped}",), lower, interval=False, fidelity="widened", notes=(note,))
    upper = _Bound(_next_dev0(prefix), inclusive=False)
    if mapped.epoch == prefix.epoch and mapped.release[:-1] == prefix.release:
        return _Piece((f"~={mapped}",), lower, upper)
    return _Piece((f">={mapped}", f"=={prefix}.*"), lower, upper)


def _translate_unusual(clause: Clause, operator: str, mapped: MappedVersion) -> _Piece:
    """Translate a clause whose version PEP 440 spells or orders differently from conda."""
    version = mapped.version
    if mapped.rule == "local":
        if operator == "==":
            public = _Bound(Version(version.public), inclusive=True)
            return _Piece((f"=={version}",), public, public, interval=False)
        if operator == "!=":
            return _Piece((f"!={version}",), interval=False)
        note = f"{clause.text!r} dropped: PEP 440 allows a local label only with == and !="
        return _dropped("widened", note)
    reason = (
        f"conda sorts {clause.literal!r} below {version.public} (a release spelled with "
        f"letters, mapped to {version})"
        if mapped.rule == "lettered-release"
        else f"PEP 440 reads {clause.literal!r} as {version}, which conda sorts differently"
    )
    if operator == "==":
        # Every conda version equal to the literal maps to this version too, so the pin
        # admits at least what conda admits.
        public = _Bound(Version(version.public), inclusive=True)
        note = f"{clause.text!r} pinned as '=={version}': {reason}"
        return _Piece(
            (f"=={version}",), public, public, interval=False, fidelity="widened", notes=(note,)
        )
    return _dropped("widened", f"{clause.text!r} dropped: {reason}")


def _translate_ordering(clause: Clause, operator: str) -> _Piece:
    mapped = map_version(clause.literal)
    if mapped is None:
        return _dropped("untranslatable", f"{clause.text!r}: no PEP 440 form; dropped")
    if mapped.rule != "pep440":
        return _translate_unusual(clause, operator, mapped)
    if operator == "~=":
        return _translate_compatible(clause, mapped.version)
    return _translate_comparison(clause, operator, mapped.version)


def _translate_comparison(clause: Clause, operator: str, version: Version) -> _Piece:
    at = _Bound(version, inclusive=True)
    just = _Bound(version, inclusive=False)
    above, below = _render(just, None), _render(None, just)
    # PEP 440's >V also shuts out V's post-releases, and its <V V's pre-releases unless V
    # is one ("Exclusive ordered comparison"); conda's do not. <3.13.0a0 stays as it is.
    above_note = (f"{clause.text!r} written as {','.join(above)!r} to admit its post-releases",)
    below_note = (f"{clause.text!r} written as {','.join(below)!r} to admit its pre-releases",)
    pieces = {
        "==": _Piece((f"=={version}",), at, at),
        "!=": _Piece((f"!={version}",), interval=False),
        ">=": _Piece((f">={version}",), at),
        "<=": _Piece((f"<={version}",), upper=at),
        ">": _Piece(above, just, notes=above_note),
        "<": _Piece(below, upper=just, notes=() if version.is_prerelease else below_note),
    }
    return pieces[operator]


# Clauses of the form "op V.*": what the operator becomes, the fidelity, and why.
_STARRED: Final[dict[str, tuple[str, Fidelity, str]]] = {
    ">=": (">=", "exact", "conda and rattler ignore '.*' after '>='"),
    "<=": ("<=", "exact", "conda and rattler ignore '.*' after '<='"),
    "<": ("<", "exact", "conda and rattler ignore '.*' after '<'"),
    "==": ("==", "exact", "conda and rattler ignore '.*' after '=='"),
    # conda reads >1.2.* as >1.2, rattler as >=1.2: keep the wider reading.
    ">": (">=", "widened", "conda reads '>V.*' as '>V', rattler as '>=V': kept '>=V'"),
    # conda rejects ~=1.2.*; rattler reads it as ~=1.2.
    "~=": ("~=", "exact", "rattler ignores '.*' after '~=' (conda rejects it)"),
}


def _translate_clause(clause: Clause) -> _Piece:
    operator = clause.operator
    if operator in {"*", "regex", "glob"}:
        if operator == "*":
            return _Piece()
        return _dropped("untranslatable", f"{clause.text!r} has no PEP 440 form; dropped")
    if operator == "=" or (operator in {"", "!="} and clause.starred):
        return _translate_prefix(clause, negated=operator == "!=")
    if not clause.starred:
        return _translate_ordering(clause, operator or "==")  # a bare version is exact
    operator, fidelity, note = _STARRED[operator]
    piece = _translate_ordering(clause, operator)
    return _Piece(
        piece.specifiers,
        piece.lower,
        piece.upper,
        piece.interval and fidelity == "exact",
        _worst((piece.fidelity, fidelity)),
        (*piece.notes, f"{clause.text!r}: {note}"),
    )


def _lower_key(bound: _Bound | None) -> tuple[int, Version | None, bool]:
    # Sort key for lower bounds: unbounded first, and V before "just above V".
    return (0, None, False) if bound is None else (1, bound.version, not bound.inclusive)


def _upper_key(bound: _Bound | None) -> tuple[int, Version | None, bool]:
    # Sort key for upper bounds: "just below V" before V, and unbounded last.
    return (1, None, False) if bound is None else (0, bound.version, bound.inclusive)


def _is_empty(piece: _Piece) -> bool:
    lower, upper = piece.lower, piece.upper
    if lower is None or upper is None:
        return False
    if lower.version != upper.version:
        return lower.version > upper.version
    return not (lower.inclusive and upper.inclusive)


def _conjoin(pieces: Sequence[_Piece]) -> _Piece:
    lowers = [piece.lower for piece in pieces if piece.lower is not None]
    uppers = [piece.upper for piece in pieces if piece.upper is not None]
    return _Piece(
        _unique(spec for piece in pieces for spec in piece.specifiers),
        max(lowers, key=_lower_key, default=None),
        min(uppers, key=_upper_key, default=None),
        all(piece.interval for piece in pieces),
        _worst(piece.fidelity for piece in pieces),
        _unique(note for piece in pieces for note in piece.notes),
    )


def _gapless(pieces: Sequence[_Piece]) -> bool:
    ordered = sorted(pieces, key=lambda piece: _lower_key(piece.lower))
    reach = ordered[0].upper
    for piece in ordered[1:]:
        if reach is None:
            return True  # covered up to the top already
        lower = piece.lower
        if lower is not None and (
            lower.version > reach.version
            or (lower.version == reach.version and not (lower.inclusive or reach.inclusive))
        ):
            return False
        reach = max((reach, piece.upper), key=_upper_key)
    return True


def _disjoin(pieces: Sequence[_Piece]) -> _Piece:
    notes = _unique(note for piece in pieces for note in piece.notes)
    live = [piece for piece in pieces if not _is_empty(piece)]
    if len(live) <= 1:
        # At most one alternative can match anything: the union is that alternative.
        chosen = live[0] if live else pieces[0]
        return _Piece(
            chosen.specifiers, chosen.lower, chosen.upper, chosen.interval, chosen.fidelity, notes
        )
    lower = min((piece.lower for piece in live), key=_lower_key)
    upper = max((piece.upper for piece in live), key=_upper_key)
    if all(piece.interval and piece.fidelity == "exact" for piece in live) and _gapless(live):
        # The alternatives tile one range: its hull is their union (">=1,<2|>=2,<3").
        return _Piece(_render(lower, upper), lower, upper, notes=notes)
    fidelity = _worst(["widened", *(piece.fidelity for piece in live)])
    return _Piece(
        _render(lower, upper),
        lower,
        upper,
        interval=False,
        fidelity=fidelity,
        notes=(*notes, _HULL_NOTE),
    )


def _render(lower: _Bound | None, upper: _Bound | None) -> tuple[str, ...]:
    """Write an interval of PEP 440 versions (pre-releases included) as specifiers."""
    if lower and upper and lower == upper and lower.inclusive:
        return (f"=={lower.version}",)
    specifiers: list[str] = []
    if lower is not None:
        specifiers.append(f">={lower.version}")
        if not lower.inclusive:
            specifiers.append(f"!={lower.version}")
    if upper is not None:
        if upper.inclusive:
            specifiers.append(f"<={upper.version}")
        elif upper.version.is_prerelease:
            specifiers.append(f"<{upper.version}")
        else:
            # <V would also shut out V's pre-releases (PEP 440, "Exclusive ordered
            # comparison"); the interval holds them.
            specifiers.extend((f"<={upper.version}", f"!={upper.version}"))
    return tuple(specifiers)


def _translate_node(node: SpecNode) -> _Piece:
    if isinstance(node, Clause):
        return _translate_clause(node)
    pieces = [_translate_node(member) for member in node.members]
    return _conjoin(pieces) if node.joiner == "," else _disjoin(pieces)


def translate_version_spec(version_spec: str | None) -> VersionTranslation:
    """Translate a conda version spec to a PEP 440 ``SpecifierSet``.

    The spec is read as conda's ``VersionSpec`` reads it, where a bare ``1.2`` is exact
    (:class:`ParsedMatchSpec` has already written out the ``=`` form). ``None`` and ``*``
    are any version. ``1.2.*``, ``1.2*`` and ``=1.2`` become ``==1.2.*``; ``!=1.2.*`` stays;
    ``>=1.2.*`` is ``>=1.2``; ``,`` is AND; ``|`` becomes the narrowest single range that
    holds every alternative (``widened``, unless they tile it); regexes and infix globs are
    dropped (``untranslatable`` when nothing is left). ``<V`` and ``>V`` are written
    ``<=V,!=V`` and ``>=V,!=V`` because PEP 440 would shut out V's pre- and post-releases;
    ``<3.13.0a0`` stays as it is.

    :raises InvalidMatchSpec: for a version spec conda cannot read.
    """
    if version_spec is None:
        return VersionTranslation(SpecifierSet(), "exact")
    piece = _translate_node(parse_version_spec(version_spec, version_spec))
    fidelity = piece.fidelity
    if fidelity == "untranslatable" and piece.specifiers:
        fidelity = "widened"  # some clauses were dropped, the rest still narrows
    return VersionTranslation(SpecifierSet(",".join(piece.specifiers)), fidelity, piece.notes)


# A project name (PEP 508 "Names"); the same pattern ``packaging`` uses.
_PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def to_requirement(pypi_name: str, translation: VersionTranslation) -> Requirement:
    """Return the PEP 508 requirement ``<pypi_name><specifier>``.

    :raises InvalidMapping: for a name that is not a PEP 508 project name (the names come
        from the conda -> PyPI name mapping).
    """
    if not _PROJECT_NAME.fullmatch(pypi_name):
        raise InvalidMapping(pypi_name, f"{pypi_name!r} is not a PEP 508 project name")
    return Requirement(f"{pypi_name}{translation.specifier}")
