"""Translate a conda package's dependencies into wheel metadata (pure).

Each ``depends`` MatchSpec becomes exactly one of:

* ``python`` -> ``Requires-Python`` (the conda spec is what the build was made for);
* ``python_abi`` -> the wheel's ABI tag only;
* a virtual package (``__glibc``, ``__osx``, ``__cuda``...) -> a system requirement, in
  the sidecar only;
* a Python distribution -> ``Requires-Dist`` under its PyPI name, unless the package's
  own METADATA already declares its dependencies (then METADATA wins and the conda view
  is recorded next to it);
* anything else (C libraries, compiler runtimes, data) -> ``Requires-External: <conda
  name> (<conda spec>)``.

Whether a conda name is a Python distribution is decided by the embedded METADATA
first, then the name mapping (``mappings/``), then the rule "unknown means external".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from condawheel.errors import InvalidMatchSpec
from condawheel.matchspec import (
    ParsedMatchSpec,
    VersionTranslation,
    parse_matchspec,
    translate_version_spec,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from condawheel.condameta import JSONObject
    from condawheel.names import NameMapping

__all__ = [
    "DependencyKind",
    "DependencyPlan",
    "DependencyRecord",
    "format_specifier",
    "plan_dependencies",
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
    fidelity: Literal["exact", "widened", "untranslatable"] = "exact"
    notes: tuple[str, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()  # build / channel / hashes ... kept here

    def to_json(self) -> JSONObject:
        """Return the sidecar form."""
        return {
            "spec": self.spec,
            "name": self.name,
            "kind": self.kind,
            "became": self.became,
            "fidelity": self.fidelity,
            "notes": list(self.notes),
            "dropped": dict(self.dropped),
        }


@dataclass(frozen=True)
class DependencyPlan:
    """Every dependency decision of one package."""

    requires_python: str | None
    requires_dist: tuple[str, ...]  # to add; empty when the embedded METADATA declares them
    requires_external: tuple[str, ...]
    records: tuple[DependencyRecord, ...]
    system_requirements: tuple[str, ...]
    abi_pin: str | None = None
    abi_pin_version: str | None = None
    python_minimum: tuple[int, int] | None = None
    comparison: tuple[JSONObject, ...] = field(default=())

    def to_json(self) -> JSONObject:
        """Return the sidecar form."""
        return {
            "requires_python": self.requires_python,
            "requires_dist_added": list(self.requires_dist),
            "requires_external": list(self.requires_external),
            "system_requirements": list(self.system_requirements),
            "depends": [record.to_json() for record in self.records],
            "metadata_vs_conda": list(self.comparison),
        }


def _dropped(parsed: ParsedMatchSpec) -> tuple[tuple[str, str], ...]:
    dropped = [("build", parsed.build)] if parsed.build else []
    if parsed.channel:
        dropped.append(("channel", parsed.channel))
    if parsed.subdir:
        dropped.append(("subdir", parsed.subdir))
    dropped.extend(
        (key, value) for key, value in parsed.brackets if key not in {"version", "build"}
    )
    return tuple(dropped)


_OPERATOR_ORDER = {">=": 0, ">": 0, "===": 1, "==": 1, "~=": 1, "!=": 2, "<=": 3, "<": 3}


def format_specifier(specifier: SpecifierSet) -> str:
    """Render a specifier set lower bounds first (``>=3.12,<3.13``), as people write them.

    ``str(SpecifierSet)`` sorts clauses alphabetically, which puts ``<`` before ``>=``.
    """
    clauses = sorted(specifier, key=lambda clause: (_OPERATOR_ORDER[clause.operator], str(clause)))
    return ",".join(str(clause) for clause in clauses)


def _external_text(parsed: ParsedMatchSpec) -> str:
    # Core metadata: "Requires-External: name (version)"; conda versions need not be PEP 440.
    version = parsed.version
    if version in (None, "", "*"):
        return parsed.name
    return f"{parsed.name} ({version})"


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


def plan_dependencies(
    depends: Sequence[str],
    *,
    mapping: NameMapping,
    embedded_requires: Sequence[str] | None,
    embedded_requires_python: str | None,
    subject: str,
) -> DependencyPlan:
    """Decide what each conda dependency becomes.

    :param embedded_requires: ``Requires-Dist`` of the package's own METADATA, or ``None``
        when it has none (no dist-info and no egg-info).
    :raises InvalidMatchSpec: for a dependency that is not a MatchSpec.
    """
    planner = _DependencyPlanner(mapping, embedded_requires)
    for spec in depends:
        try:
            parsed = parse_matchspec(spec)
        except InvalidMatchSpec as error:
            raise InvalidMatchSpec(subject, f"depends entry {spec!r}: {error.reason}") from None
        planner.add(spec, parsed, translate_version_spec(parsed.version))
    return planner.result(embedded_requires_python)


class _DependencyPlanner:
    """Accumulates the decisions of :func:`plan_dependencies`, one dependency at a time."""

    def __init__(self, mapping: NameMapping, embedded_requires: Sequence[str] | None) -> None:
        self.mapping = mapping
        self.declares = embedded_requires is not None
        self.embedded: dict[str, Requirement] = {}
        for text in embedded_requires or ():
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            self.embedded.setdefault(canonicalize_name(requirement.name), requirement)
        self.records: list[DependencyRecord] = []
        self.requires_dist: list[str] = []
        self.requires_external: list[str] = []
        self.system: list[str] = []
        self.comparison: list[JSONObject] = []
        self.python_specs: list[SpecifierSet] = []
        self.abi_pin: str | None = None
        self.abi_pin_version: str | None = None

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
            text = _external_text(parsed)
            self.requires_external.append(text)
            unknown = self.mapping.classify(name) == "unknown"
            note = (
                ("not in the name mapping: treated as a non-Python dependency",) if unknown else ()
            )
            self._record(spec, parsed, translation, "external", f"Requires-External: {text}", note)
        else:
            became = self._python_dependency(spec, pypi, translation)
            self._record(spec, parsed, translation, "python-distribution", became)

    def _python_dependency(self, spec: str, pypi: str, translation: VersionTranslation) -> str:
        text = f"{pypi}{format_specifier(translation.specifier)}"
        if not self.declares:
            self.requires_dist.append(text)
            return f"Requires-Dist: {text}"
        declared = self.embedded.get(pypi)
        if declared is None:
            self.comparison.append(
                {
                    "name": pypi,
                    "metadata": None,
                    "conda": spec,
                    "used": "metadata",
                    "why": "a dependency only the conda recipe adds; METADATA stays authoritative",
                }
            )
            return "not added: the package's METADATA does not declare it"
        if declared.specifier != translation.specifier:
            self.comparison.append(
                {
                    "name": pypi,
                    "metadata": str(declared),
                    "conda": spec,
                    "used": "metadata",
                    "why": "the project's METADATA is what pip resolves; conda's range is "
                    "kept here (repodata patches often tighten it)",
                }
            )
        return f"Requires-Dist (from METADATA): {declared}"

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
                dropped=_dropped(parsed),
            )
        )

    def result(self, embedded_requires_python: str | None) -> DependencyPlan:
        conda_names = {_python_name(r.name, self.mapping, self.embedded) for r in self.records}
        for pypi, requirement in sorted(self.embedded.items()):
            if pypi not in conda_names and requirement.marker is None:
                self.comparison.append(
                    {
                        "name": pypi,
                        "metadata": str(requirement),
                        "conda": None,
                        "used": "metadata",
                        "why": "declared by METADATA only (the conda package may provide it "
                        "under another name, or the recipe omits it)",
                    }
                )
        requires_python = embedded_requires_python
        if self.python_specs:
            combined = SpecifierSet()
            for specifier in self.python_specs:
                combined &= specifier
            requires_python = format_specifier(combined) or embedded_requires_python
        return DependencyPlan(
            requires_python=requires_python,
            requires_dist=tuple(self.requires_dist),
            requires_external=tuple(self.requires_external),
            records=tuple(self.records),
            system_requirements=tuple(self.system),
            abi_pin=self.abi_pin,
            abi_pin_version=self.abi_pin_version,
            python_minimum=_minimum(SpecifierSet(requires_python or "")),
            comparison=tuple(self.comparison),
        )


def _python_name(
    conda_name: str, mapping: NameMapping, embedded: dict[str, Requirement]
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
