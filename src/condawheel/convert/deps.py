"""Translate a conda package's dependencies into wheel metadata (pure).

Each ``depends`` MatchSpec becomes exactly one of:

* ``python`` -> ``Requires-Python`` (the conda spec is what the build was made for);
* ``python_abi`` -> the wheel's ABI tag only;
* a virtual package (``__glibc``, ``__osx``, ``__cuda``...) -> a system requirement, in
  the sidecar only;
* a Python distribution -> ``Requires-Dist`` under its PyPI name (``[extras=[a]]`` as
  ``name[a]``, ``[when=...]`` as a marker where PEP 508 has one). Where the package's
  own METADATA declares its dependencies, the wheel requires what conda installs except
  where METADATA states a condition with an environment marker (:func:`_decide`); where
  the two differ, both views are recorded in ``metadata_vs_conda``;
* anything else (C libraries, compiler runtimes, data) -> ``Requires-External: <conda
  name> (<conda spec>)``, one line per name (the specs ANDed), or one line per spec
  when one of them has ``|`` alternatives: parentheses inside the parentheses would trip
  every simple reader of the field; and its PEP 725 DepURL in the sidecar
  (:mod:`condawheel.convert.depurls`).

Whether a conda name is a Python distribution is decided by the embedded METADATA
first, then the name mapping (``mappings/``), then the rule "unknown means external".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from condawheel.conda.matchspec import (
    Fidelity,
    ParsedMatchSpec,
    VersionTranslation,
    parse_matchspec,
    translate_version_spec,
)
from condawheel.convert.depurls import DepURL, depurl_for, strict_bounds
from condawheel.convert.markers import separate_extras, without_extras
from condawheel.errors import InvalidMatchSpec

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from condawheel.conda.condameta import JSONObject
    from condawheel.convert.names import NameMapping

__all__ = [
    "DependencyKind",
    "DependencyRecord",
    "DependencyTranslation",
    "format_specifier",
    "translate_dependencies",
]

DependencyKind: TypeAlias = Literal[
    "python", "python_abi", "virtual", "python-distribution", "external"
]


@dataclass(frozen=True)
class DependencyRecord:
    """One conda dependency and what it became in the wheel."""

    spec: str
    name: str
    kind: DependencyKind
    became: str
    fidelity: Fidelity = "exact"
    notes: tuple[str, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()  # build / channel / hashes ... kept here
    depurl: DepURL | None = None  # PEP 725's name for an external dependency

    def to_json(self) -> JSONObject:
        """Return the sidecar form."""
        document: JSONObject = {
            "spec": self.spec,
            "name": self.name,
            "kind": self.kind,
            "became": self.became,
            "fidelity": self.fidelity,
            "notes": list(self.notes),
            "dropped": dict(self.dropped),
        }
        if self.depurl is not None:
            document.update(self.depurl.to_json())
        return document


@dataclass(frozen=True)
class DependencyTranslation:
    """What each conda dependency of one package becomes in the wheel, and why."""

    requires_python: str | None
    requires_dist: tuple[str, ...]  # to add; empty when the embedded METADATA declares them
    requires_external: tuple[str, ...]
    records: tuple[DependencyRecord, ...]
    system_requirements: tuple[str, ...]
    abi_pin: str | None = None
    abi_pin_version: str | None = None
    python_minimum: tuple[int, int] | None = None
    comparison: tuple[JSONObject, ...] = field(default=())
    provides_extra: tuple[str, ...] = ()
    """The CEP 44 optional dependency groups that became extras (``Provides-Extra``)."""
    extra_records: tuple[tuple[str, DependencyRecord], ...] = ()
    """``(group, record)`` of each dependency of an optional group."""

    def to_json(self) -> JSONObject:
        """Return the sidecar form."""
        document: JSONObject = {
            "requires_python": self.requires_python,
            "requires_dist_added": list(self.requires_dist),
            "requires_external": list(self.requires_external),
            "system_requirements": list(self.system_requirements),
            "depends": [record.to_json() for record in self.records],
            "metadata_vs_conda": list(self.comparison),
        }
        if self.extra_records:  # only then: other sidecars stay as they were
            document["provides_extra"] = list(self.provides_extra)
            document["extra_depends"] = [
                {"group": group, **record.to_json()} for group, record in self.extra_records
            ]
        return document


def _dropped(parsed: ParsedMatchSpec, kept: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """Return the MatchSpec fields the wheel's metadata does not carry (sidecar only).

    :param kept: bracket keys translated into the requirement (``extras``, ``when``).
    """
    dropped = [("build", parsed.build)] if parsed.build else []
    if parsed.channel:
        dropped.append(("channel", parsed.channel))
    if parsed.subdir:
        dropped.append(("subdir", parsed.subdir))
    dropped.extend(
        (key, value)
        for key, value in parsed.brackets
        if key not in {"version", "build"} and key not in kept
    )
    return tuple(dropped)


_OPERATOR_ORDER = {">=": 0, ">": 0, "===": 1, "==": 1, "~=": 1, "!=": 2, "<=": 3, "<": 3}


def format_specifier(specifier: SpecifierSet) -> str:
    """Render a specifier set lower bounds first (``>=3.12,<3.13``), as people write them.

    ``str(SpecifierSet)`` sorts clauses alphabetically, which puts ``<`` before ``>=``.
    """
    clauses = sorted(specifier, key=lambda clause: (_OPERATOR_ORDER[clause.operator], str(clause)))
    return ",".join(str(clause) for clause in clauses)


def _minimum(specifier: SpecifierSet) -> tuple[int, int] | None:
    floors = []
    for clause in specifier:
        if clause.operator in (">=", ">", "==", "~=", "==="):
            release = clause.version.rstrip(".*").split(".")
            try:
                floors.append((int(release[0]), int(release[1]) if len(release) > 1 else 0))
            except ValueError:
                continue
    return max(floors) if floors else None


# ------------------------------------------------------------ brackets: extras and when

# CEP 43 conditions on a virtual package that PEP 508 markers can state (docs/reference.md, 2.4).
_PLATFORM_MARKERS: Final = {
    "__win": 'sys_platform == "win32"',
    "__linux": 'sys_platform == "linux"',
    "__osx": 'sys_platform == "darwin"',
    "__unix": 'sys_platform != "win32"',
}
_EXTRA_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class _Condition:
    """What a MatchSpec's ``[when=...]`` became: a PEP 508 marker, or a note why not."""

    marker: str | None = None
    kept: bool = False  # the marker states the condition exactly (or there was none)
    note: str | None = None


def _when_marker(when: str | None) -> _Condition:
    """Translate a CEP 43 ``when`` condition into a PEP 508 marker where one says the same.

    ``__win``, ``__linux``, ``__osx`` and ``__unix`` without a version are platforms;
    ``python <spec>`` is ``python_full_version`` compared clause by clause, when the spec
    translates exactly. Anything else (another package being installed, ``__osx >=11``,
    ``__cuda``) has no marker: the requirement is kept unconditional.
    """
    if when is None:
        return _Condition(kept=True)
    unconditional = (
        f"condition [when={when!r}] has no PEP 508 marker: the requirement is kept "
        "unconditional (installed even where conda would skip it)"
    )
    try:
        condition = parse_matchspec(when)
    except InvalidMatchSpec:
        return _Condition(note=unconditional)
    bare = condition.version in (None, "", "*") and not condition.build and not condition.brackets
    if condition.name in _PLATFORM_MARKERS and bare:
        return _Condition(_PLATFORM_MARKERS[condition.name], kept=True)
    if condition.name == "python" and not condition.build and not condition.brackets:
        translation = translate_version_spec(condition.version)
        if translation.fidelity == "exact":
            clauses = [
                f'python_full_version {clause.operator} "{clause.version}"'
                for clause in sorted(
                    translation.specifier,
                    key=lambda clause: (_OPERATOR_ORDER[clause.operator], str(clause)),
                )
            ]
            return _Condition(" and ".join(clauses) or None, kept=True)
    return _Condition(note=unconditional)


def _extras(value: str | None) -> tuple[tuple[str, ...], str | None]:
    """Return the PEP 508 extras of a CEP 44 ``extras=[...]`` bracket, or a note why not."""
    if value is None:
        return (), None
    extras = tuple(canonicalize_name(item.strip()) for item in value.split(",") if item.strip())
    if all(_EXTRA_NAME.fullmatch(extra) for extra in extras):
        return extras, None
    return (), f"extras [{value}] are not PEP 508 extra names: dropped"


@dataclass(frozen=True)
class _CondaRequirement:
    """One conda dependency on a Python distribution, written as PEP 508."""

    spec: str
    text: str  # the requirement as written into METADATA (lower bounds first)
    requirement: Requirement
    translation: VersionTranslation
    notes: tuple[str, ...]
    fidelity: Fidelity
    kept_brackets: frozenset[str]


def _conda_requirement(
    spec: str,
    pypi: str,
    parsed: ParsedMatchSpec,
    translation: VersionTranslation,
    *,
    extra: str | None = None,
) -> _CondaRequirement:
    extras, extras_note = _extras(parsed.bracket("extras"))
    condition = _when_marker(parsed.bracket("when"))
    text = pypi
    if extras:
        text += f"[{','.join(extras)}]"
    text += format_specifier(translation.specifier)
    # A dependency of an optional group (CEP 44) applies when the extra is asked for.
    if extra is not None and condition.marker:
        text += f'; ({condition.marker}) and extra == "{extra}"'
    elif extra is not None:
        text += f'; extra == "{extra}"'
    elif condition.marker:
        text += f"; {condition.marker}"
    notes = [*translation.notes]
    fidelity = translation.fidelity
    kept = set()
    if extras:
        kept.add("extras")
    elif extras_note:
        notes.append(extras_note)
        fidelity = "untranslatable"
    if condition.kept:
        kept.add("when")
    elif condition.note:
        notes.append(condition.note)
        fidelity = "untranslatable"
    return _CondaRequirement(
        spec, text, Requirement(text), translation, tuple(notes), fidelity, frozenset(kept)
    )


# ------------------------------------------------------------ METADATA versus conda


def _key(requirement: Requirement) -> tuple[tuple[str, ...], str, str]:
    extras = tuple(sorted(canonicalize_name(extra) for extra in requirement.extras))
    marker = str(requirement.marker) if requirement.marker is not None else ""
    return extras, str(strict_bounds(requirement.specifier)), marker


def _only_under(requirements: Sequence[Requirement]) -> str:
    markers = [str(item.marker) for item in requirements if item.marker is not None]
    return "where " + " or where ".join(markers) if markers else "always"


def _needs_extra(requirement: Requirement) -> bool:
    """Return whether ``requirement`` applies only when an extra is requested."""
    separated = separate_extras(requirement.marker)
    return separated is not None and bool(separated.extras)


@dataclass(frozen=True)
class _PythonDecision:
    """What the wheel requires of one Python distribution, and the sidecar's account.

    :param added: ``Requires-Dist`` lines the wheel adds to METADATA (none: METADATA's
        own lines stand).
    :param comparison: the ``metadata_vs_conda`` entry; ``None`` when the two agree.
    """

    added: tuple[str, ...]
    comparison: JSONObject | None


def _decide(
    pypi: str, metadata: Sequence[Requirement], conda: Sequence[_CondaRequirement]
) -> _PythonDecision:
    """Decide what the wheel requires of ``pypi``, given METADATA's and conda's views.

    The rule (docs/convert.md, "Dependencies"): the wheel requires what conda installs,
    except where METADATA states, with an environment marker, what the recipe could not.
    So METADATA stands wherever it requires the name outside any extra (always, or under
    a platform or Python condition). Where it requires the name only under extras, or not
    at all, and conda installs it, the wheel adds a requirement: METADATA's own without
    its extra (environment markers kept) when conda installs it always, else conda's.
    The extra's own lines stay, so ``name[extra]`` still means what it meant.
    conda's ``depends`` are those of the record conda installs by (a channel's repodata or
    an environment's conda-meta, patches included) where the caller has one, else the
    package's ``index.json`` (the recipe).
    """
    outside = [requirement for requirement in metadata if not _needs_extra(requirement)]
    if outside or not conda:
        return _PythonDecision((), _compare(pypi, metadata, conda))
    added: list[str] | None = None
    if metadata and all(item.requirement.marker is None for item in conda):
        unconditional = [without_extras(requirement) for requirement in metadata]
        if all(text is not None for text in unconditional):
            added = [text for text in unconditional if text is not None]
    used = "metadata-without-extra" if added is not None else "conda"
    if added is None:
        added = [item.text for item in conda]
    added = list(dict.fromkeys(added))
    if metadata:
        difference = "condition"
        why = (
            f"conda requires it always, METADATA only {_only_under(metadata)}: conda has "
            "no optional dependencies, so the recipe installs the extra's packages always. "
            "The wheel requires what conda installs: "
            + (
                "METADATA's requirement without the extra (its environment markers kept)"
                if used == "metadata-without-extra"
                else "conda's requirement"
            )
            + "; the extra's own lines stay"
        )
    else:
        difference = "only-conda"
        why = (
            "only the conda recipe requires it; conda installs it with the package, so the "
            "wheel requires it too"
        )
    return _PythonDecision(
        tuple(added), _comparison_entry(pypi, metadata, conda, difference, why, used, added)
    )


def _comparison_entry(  # noqa: PLR0917 - one entry's fields, named where called
    pypi: str,
    metadata: Sequence[Requirement],
    conda: Sequence[_CondaRequirement],
    difference: str,
    why: str,
    used: str,
    wheel: Sequence[str],
) -> JSONObject:
    return {
        "name": pypi,
        "difference": difference,
        "metadata": [str(requirement) for requirement in metadata],
        "conda": [item.spec for item in conda],
        "conda_as_pep508": [item.text for item in conda],
        "conda_fidelity": [item.fidelity for item in conda],
        "used": used,
        "wheel": list(wheel),
        "why": why,
    }


def _compare(
    pypi: str, metadata: Sequence[Requirement], conda: Sequence[_CondaRequirement]
) -> JSONObject | None:
    """Say how METADATA and conda differ about ``pypi`` where METADATA stands.

    :returns: ``None`` when they agree.
    """
    wanted = [item.requirement for item in conda]
    if sorted(map(_key, metadata)) == sorted(map(_key, wanted)):
        return None
    unconditional = [requirement for requirement in metadata if requirement.marker is None]
    conda_unconditional = [requirement for requirement in wanted if requirement.marker is None]
    if not conda:
        if all(_needs_extra(requirement) for requirement in metadata):
            # An optional dependency conda does not list: neither installs it by default.
            return None
        difference = "only-metadata"
        if unconditional:
            why = (
                "only METADATA requires it (the conda package may provide it under another "
                "name, or the recipe omits it); the wheel keeps it"
            )
        else:
            why = (
                f"METADATA requires it only {_only_under(metadata)}, and conda's depends do "
                "not list it: a condition the recipe cannot state; the wheel keeps METADATA's"
            )
    elif conda_unconditional and not unconditional:
        difference = "condition"
        why = (
            f"conda requires it always, METADATA only {_only_under(metadata)}: conda's "
            "depends have no markers (CEP 43's [when=...] aside), so the recipe lists it "
            "for every platform and interpreter. The wheel follows METADATA's environment "
            "marker"
        )
    elif (
        unconditional
        and conda_unconditional
        and _ranges(unconditional) != _ranges(conda_unconditional)
    ):
        difference = "range"
        why = (
            "both require it always, with different version ranges; the wheel keeps "
            "METADATA's (the project's own, what pip resolves) and records the recipe's "
            "range here"
        )
    else:
        difference = "condition"
        why = (
            "the unconditional requirements agree but the conditional ones differ "
            "(markers, extras or [when=...] brackets); the wheel keeps METADATA's"
        )
    return _comparison_entry(
        pypi, metadata, conda, difference, why, "metadata", [str(item) for item in metadata]
    )


def _ranges(requirements: Sequence[Requirement]) -> tuple[frozenset[str], SpecifierSet]:
    combined = SpecifierSet()
    extras: set[str] = set()
    for requirement in requirements:
        combined &= requirement.specifier
        extras |= {canonicalize_name(extra) for extra in requirement.extras}
    return frozenset(extras), strict_bounds(combined)


# ------------------------------------------------------------ external libraries


def _has_version(version: str | None) -> bool:
    return version not in (None, "", "*")


def _external_texts(name: str, versions: Sequence[str | None]) -> tuple[str, ...]:
    """Return the ``Requires-External`` values for every conda spec on ``name``.

    Core metadata: ``name (version)``, where the version need not be PEP 440. Specs
    without ``|`` are ANDed into one conda version spec, their repeated clauses written
    once. A ``|`` spec cannot join them without nested parentheses (``zstd (>=1.5,(<2|>=3))``),
    which simple readers of the field (a regular expression up to the first ``)``) get
    wrong: then each spec keeps its own line, and the lines hold together.
    """
    if any(version is not None and "|" in version for version in versions):
        lines = [_external_text(name, version) for version in versions]
        return tuple(dict.fromkeys(lines))
    clauses: list[str] = []
    for version in versions:
        if version is not None and _has_version(version):
            clauses.extend(clause.strip() for clause in version.split(","))
    unique = list(dict.fromkeys(clauses))
    return (f"{name} ({','.join(unique)})" if unique else name,)


def _external_text(name: str, version: str | None) -> str:
    """Return the ``Requires-External`` value of one conda spec."""
    return f"{name} ({version})" if _has_version(version) else name


# ------------------------------------------------------------ the translation


def translate_dependencies(
    depends: Sequence[str],
    *,
    mapping: NameMapping,
    embedded_requires: Sequence[str] | None,
    embedded_requires_python: str | None,
    subject: str,
    extras: Sequence[tuple[str, Sequence[str]]] = (),
) -> DependencyTranslation:
    """Decide what each conda dependency becomes.

    :param embedded_requires: ``Requires-Dist`` of the package's own METADATA, or ``None``
        when it has none (no dist-info and no egg-info).
    :param extras: the record's optional dependency groups (CEP 44 ``extra_depends``):
        each becomes an extra (``Provides-Extra``), its Python distributions
        ``Requires-Dist`` lines with ``extra == "<group>"``, unless the package has its
        own METADATA, whose extras are the project's own (the groups are then only in
        the sidecar). What an extra cannot say (a non-Python dependency, a Python
        version) is only in the sidecar.
    :raises InvalidMatchSpec: for a dependency that is not a MatchSpec.
    """
    translator = _DependencyTranslator(mapping, embedded_requires)
    for spec in depends:
        parsed = _parsed(spec, "depends", subject)
        translator.add(spec, parsed, translate_version_spec(parsed.version))
    for group, specs in extras:
        where = f"extra_depends[{group!r}]"
        translator.add_group(group, [(spec, _parsed(spec, where, subject)) for spec in specs])
    return translator.result(embedded_requires_python)


def _parsed(spec: str, where: str, subject: str) -> ParsedMatchSpec:
    try:
        return parse_matchspec(spec)
    except InvalidMatchSpec as error:
        raise InvalidMatchSpec(subject, f"{where} entry {spec!r}: {error.reason}") from None


class _DependencyTranslator:
    """Accumulates the decisions of :func:`translate_dependencies`, one dependency at a time."""

    def __init__(self, mapping: NameMapping, embedded_requires: Sequence[str] | None) -> None:
        self.mapping = mapping
        self.declares = embedded_requires is not None
        # Every requirement METADATA writes for a name (markers, extras), in its order.
        self.embedded: dict[str, list[Requirement]] = {}
        for text in embedded_requires or ():
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            self.embedded.setdefault(canonicalize_name(requirement.name), []).append(requirement)
        self.records: list[DependencyRecord] = []
        self.python_records: list[tuple[int, str, _CondaRequirement]] = []
        self.external: dict[str, list[str | None]] = {}
        self.external_records: list[tuple[int, str, str | None]] = []  # record, name, version
        self.conda_python: dict[str, list[_CondaRequirement]] = {}
        self.system: list[str] = []
        self.python_specs: list[SpecifierSet] = []
        self.abi_pin: str | None = None
        self.abi_pin_version: str | None = None
        self.provides_extra: list[str] = []
        self.extra_requires: list[str] = []
        self.extra_records: list[tuple[str, DependencyRecord]] = []

    def add_group(self, group: str, specs: Sequence[tuple[str, ParsedMatchSpec]]) -> None:
        """Add an optional dependency group (CEP 44) as the extra of the same name."""
        extra = canonicalize_name(group)  # PEP 685 normalises extra names so
        usable = _EXTRA_NAME.fullmatch(extra) is not None and not self.declares
        if usable and extra not in self.provides_extra:
            self.provides_extra.append(extra)
        for spec, parsed in specs:
            translation = translate_version_spec(parsed.version)
            pypi = (
                None
                if parsed.name.startswith("__")
                else _python_name(parsed.name, self.mapping, self.embedded)
            )
            if pypi is None or parsed.name in {"python", "python_abi"}:
                became = f"not in METADATA: an extra cannot require {parsed.name!r} (non-Python)"
                record = DependencyRecord(spec, parsed.name, "external", became, "untranslatable")
            elif not usable:
                why = (
                    "the package's METADATA declares its own extras"
                    if self.declares
                    else f"{group!r} is not a PEP 508 extra name"
                )
                record = DependencyRecord(
                    spec, parsed.name, "python-distribution", f"not added: {why}", "untranslatable"
                )
            else:
                wanted = _conda_requirement(spec, pypi, parsed, translation, extra=extra)
                self.extra_requires.append(wanted.text)
                record = DependencyRecord(
                    spec=spec,
                    name=parsed.name,
                    kind="python-distribution",
                    became=f"Requires-Dist: {wanted.text}",
                    fidelity=wanted.fidelity,
                    notes=wanted.notes,
                    dropped=_dropped(parsed, wanted.kept_brackets),
                )
            self.extra_records.append((group, record))

    def add(self, spec: str, parsed: ParsedMatchSpec, translation: VersionTranslation) -> None:
        name = parsed.name
        if name == "python":
            self.python_specs.append(translation.specifier)
            self._record(spec, parsed, translation, "python", "Requires-Python")
        elif name == "python_abi":
            self.abi_pin, self.abi_pin_version = parsed.build, parsed.version
            self._record(spec, parsed, translation, "python_abi", "wheel tags")
        elif name.startswith("__"):
            self.system.append(spec)
            self._record(spec, parsed, translation, "virtual", "system requirement (sidecar)")
        elif (pypi := _python_name(name, self.mapping, self.embedded)) is None:
            self.external.setdefault(name, []).append(parsed.version)
            unknown = self.mapping.classify(name) == "unknown"
            note = (
                ("not in the name mapping: treated as a non-Python dependency",) if unknown else ()
            )
            # Which line carries this spec is known once every spec of the name is seen.
            self.external_records.append((len(self.records), name, parsed.version))
            self._record(spec, parsed, translation, "external", "Requires-External", note)
            depurl = depurl_for(name, parsed.version, parsed.build, self.mapping.depurls)
            self.records[-1] = replace(self.records[-1], depurl=depurl)
        else:
            wanted = _conda_requirement(spec, pypi, parsed, translation)
            self.conda_python.setdefault(pypi, []).append(wanted)
            # What it became is known once every dependency on the name is seen.
            self.python_records.append((len(self.records), pypi, wanted))
            self.records.append(
                DependencyRecord(
                    spec=spec,
                    name=parsed.name,
                    kind="python-distribution",
                    became="",
                    fidelity=wanted.fidelity,
                    notes=wanted.notes,
                    dropped=_dropped(parsed, wanted.kept_brackets),
                )
            )

    def _python_decisions(self) -> dict[str, _PythonDecision]:
        """Decide every Python distribution named by conda or by METADATA."""
        if not self.declares:
            return {
                pypi: _PythonDecision(tuple(item.text for item in wanted), None)
                for pypi, wanted in self.conda_python.items()
            }
        return {
            pypi: _decide(pypi, self.embedded.get(pypi, []), self.conda_python.get(pypi, []))
            for pypi in sorted(self.embedded.keys() | self.conda_python.keys())
        }

    def _python_became(
        self, decision: _PythonDecision, pypi: str, wanted: _CondaRequirement
    ) -> str:
        if not self.declares:
            return f"Requires-Dist: {wanted.text}"
        if decision.added:
            return "Requires-Dist: " + " & ".join(decision.added)
        declared = self.embedded.get(pypi, [])
        return "Requires-Dist (from METADATA): " + " & ".join(str(item) for item in declared)

    def _record(
        self,
        spec: str,
        parsed: ParsedMatchSpec,
        translation: VersionTranslation,
        kind: DependencyKind,
        became: str,
        extra_notes: tuple[str, ...] = (),
    ) -> None:
        self.records.append(
            DependencyRecord(
                spec=spec,
                name=parsed.name,
                kind=kind,
                became=became,
                fidelity=translation.fidelity,
                notes=(*translation.notes, *extra_notes),
                dropped=_dropped(parsed, frozenset()),
            )
        )

    def result(self, embedded_requires_python: str | None) -> DependencyTranslation:
        requires_python = embedded_requires_python
        if self.python_specs:
            combined = SpecifierSet()
            for specifier in self.python_specs:
                combined &= specifier
            if not _same_specifiers(combined, embedded_requires_python):
                requires_python = format_specifier(combined) or embedded_requires_python
        external = {
            name: _external_texts(name, versions) for name, versions in self.external.items()
        }
        records = list(self.records)
        decisions = self._python_decisions()
        for index, pypi, wanted in self.python_records:
            became = self._python_became(decisions[pypi], pypi, wanted)
            records[index] = replace(records[index], became=became)
        requires_dist = [
            text
            for pypi in (self.conda_python if not self.declares else decisions)
            for text in decisions[pypi].added
        ]
        requires_dist.extend(self.extra_requires)  # the optional groups' (CEP 44), last
        for index, name, version in self.external_records:
            texts = external[name]
            # The sidecar says exactly which METADATA line carries the spec.
            text = texts[0] if len(texts) == 1 else _external_text(name, version)
            records[index] = replace(records[index], became=f"Requires-External: {text}")
        return DependencyTranslation(
            requires_python=requires_python,
            requires_dist=tuple(dict.fromkeys(requires_dist)),
            requires_external=tuple(text for texts in external.values() for text in texts),
            records=tuple(records),
            system_requirements=tuple(self.system),
            abi_pin=self.abi_pin,
            abi_pin_version=self.abi_pin_version,
            python_minimum=_minimum(SpecifierSet(requires_python or "")),
            comparison=tuple(
                decision.comparison
                for decision in decisions.values()
                if decision.comparison is not None
            ),
            provides_extra=tuple(self.provides_extra),
            extra_records=tuple(self.extra_records),
        )


def _python_name(
    conda_name: str, mapping: NameMapping, embedded: Mapping[str, object]
) -> str | None:
    """Return the PyPI name of a conda dependency, or ``None`` if it is not Python.

    An explicit "not Python" in the mapping wins (conda ``zstd`` is the C library even if
    METADATA requires the PyPI binding ``zstd``); then the mapping's PyPI name; then the
    package's own METADATA naming it; anything else is unknown and treated as external,
    because putting a C library into Requires-Dist would send pip after an unrelated project.
    """
    if mapping.classify(conda_name) == "external":
        return None
    mapped = mapping.pypi_name(conda_name)
    if mapped is not None:
        return mapped
    same = canonicalize_name(conda_name)
    if same in embedded:
        return same
    return None


def _same_specifiers(combined: SpecifierSet, written: str | None) -> bool:
    """Say whether METADATA's ``Requires-Python`` already says what conda's ``python`` does.

    It is then kept as the project wrote it (``>=2.7, !=3.0.*``), not re-spelt.
    """
    if written is None:
        return False
    try:
        return SpecifierSet(written) == combined
    except InvalidSpecifier:
        return False
