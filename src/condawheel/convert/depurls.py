"""External dependencies in PEP 725's vocabulary: a DepURL for each conda dependency (pure).

PEP 725 names a dependency outside PyPI with a DepURL (``dep:generic/zlib``, optionally
``@`` a PEP 440 version range: ``dep:generic/zlib@>=1.3.1,<2``); PEP 804 maps those names
to each ecosystem's packages. ``mappings/depurls.yaml`` is a dated snapshot of PEP 804's
conda-forge mapping inverted (conda name -> DepURL), made by ``scripts/update_mappings.py``.
A conda name it does not know gets ``dep:conda/<name>``. Both PEPs are drafts, and
``Requires-External`` stays the METADATA field: DepURLs are recorded in the sidecar only.

A DepURL's range cannot say everything a conda spec can: no alternatives (``|``), no
build strings, and none of ``!=``, ``~=``, ``===`` or wildcards (PEP 725). Such a spec
keeps its conda form next to a DepURL without version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from packaging.specifiers import Specifier, SpecifierSet

from condawheel.conda.matchspec import translate_version_spec
from condawheel.errors import InvalidMapping, InvalidMatchSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from condawheel.conda.condameta import JSONObject

__all__ = [
    "DEPURL_FILE",
    "DepURL",
    "depurl_for",
    "parse_depurl_table",
    "strict_bounds",
]

DEPURL_FILE: Final = "depurls.yaml"
"""The packaged snapshot in ``condawheel/mappings``."""

CONDA_FALLBACK: Final = "dep:conda/"
_DEPURL = re.compile(r"dep:[a-z0-9.+-]+/[^@\s]+")
_UNSUPPORTED = ("!=", "~=", "===")
_TOP_KEYS = ("schema", "generated", "source", "depurls")


@dataclass(frozen=True)
class DepURL:
    """The DepURL of one conda dependency, and what it could not carry.

    :param conda_spec: the conda spec kept beside a DepURL without version, when its
        version or build constraint has no DepURL form; ``None`` when the DepURL says all.
    :param source: where the name comes from: ``"pep-804"`` (the snapshot) or
        ``"fallback"`` (``dep:conda/<name>``).
    """

    depurl: str
    conda_spec: str | None
    source: str

    def to_json(self) -> JSONObject:
        """Return the sidecar form."""
        return {"depurl": self.depurl, "conda_spec": self.conda_spec, "source": self.source}


def parse_depurl_table(text: str, *, origin: str) -> Mapping[str, str]:
    """Read ``mappings/depurls.yaml``: conda name -> DepURL without version.

    :raises InvalidMapping: when the file breaks its schema (a broken install).
    """
    import yaml  # noqa: PLC0415 - imported when parsed: the CLI reads a cached copy

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidMapping(origin, f"not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict) or document.get("schema") != 1:
        raise InvalidMapping(origin, "expected a mapping with 'schema: 1'")
    unknown = sorted(set(document) - set(_TOP_KEYS))
    if unknown:
        raise InvalidMapping(origin, f"unknown top-level key {unknown[0]!r}")
    table = document.get("depurls")
    if not isinstance(table, dict):
        raise InvalidMapping(origin, "'depurls' must map conda names to DepURLs")
    for name, depurl in table.items():
        if (
            not isinstance(name, str)
            or not isinstance(depurl, str)
            or not _DEPURL.fullmatch(depurl)
        ):
            raise InvalidMapping(origin, f"depurls[{name!r}]: {depurl!r} is not a DepURL")
    return MappingProxyType(dict(table))


def strict_bounds(specifier: SpecifierSet) -> SpecifierSet:
    """Return ``specifier`` with ``<=V,!=V`` read as ``<V`` and ``>=V,!=V`` as ``>V``.

    The translation of conda specs writes conda's ``<V`` as ``<=V,!=V`` because conda's
    admits V's pre-releases; read back as a range, the two differ only in those, which
    pip does not pick by default.
    """
    clauses = {str(clause) for clause in specifier}
    excluded = {clause.version for clause in specifier if clause.operator == "!="}
    result: set[str] = set()
    for clause in specifier:
        version = clause.version
        if clause.operator in {"<=", ">="} and version in excluded:
            result.add(f"{clause.operator[0]}{version}")
        elif clause.operator == "!=" and {f"<={version}", f">={version}"} & clauses:
            continue
        else:
            result.add(str(clause))
    return SpecifierSet(",".join(sorted(result)))


def depurl_for(
    name: str, version: str | None, build: str | None, table: Mapping[str, str]
) -> DepURL:
    """Return the DepURL of the conda dependency ``name version build``.

    :param table: conda name -> DepURL (the PEP 804 snapshot).
    """
    base = table.get(name)
    source = "pep-804" if base is not None else "fallback"
    base = base if base is not None else CONDA_FALLBACK + name
    constrained_build = build not in (None, "", "*")
    spec = " ".join(part for part in (name, version, build) if part)
    if version in (None, "", "*") and not constrained_build:
        return DepURL(base, None, source)
    if constrained_build or "|" in (version or ""):
        return DepURL(base, spec, source)
    try:
        translation = translate_version_spec(version)
    except InvalidMatchSpec:
        return DepURL(base, spec, source)
    if translation.fidelity != "exact":
        return DepURL(base, spec, source)
    clauses = _range(strict_bounds(translation.specifier))
    if clauses is None:
        return DepURL(base, spec, source)
    return DepURL(f"{base}@{clauses}" if clauses else base, None, source)


_ORDER = {">=": 0, ">": 0, "==": 1, "<=": 2, "<": 2}


def _range(specifier: SpecifierSet) -> str | None:
    """Write ``specifier`` as a DepURL range, lower bounds first; ``None`` if it has none.

    ``==1.2.*`` is ``>=1.2,<1.3`` (PEP 440: a prefix match is that release range). The
    other operators packaging accepts are the range's own, and their versions parse.
    """
    clauses: list[Specifier] = []
    for clause in specifier:
        if clause.operator in _UNSUPPORTED:
            return None
        if clause.version.endswith(".*"):  # PEP 440: only == and != take a prefix
            prefix = _prefix_range(clause.version[:-2])
            if prefix is None:
                return None
            clauses.extend(prefix)
        else:
            clauses.append(clause)
    ordered = sorted(clauses, key=lambda clause: (_ORDER[clause.operator], clause.version))
    return ",".join(str(clause) for clause in ordered)


def _prefix_range(prefix: str) -> tuple[Specifier, Specifier] | None:
    """Return the release range of ``==<prefix>.*``; ``None`` for an epoch alone (``1!2``)."""
    release = prefix.split(".")
    if not release[-1].isdigit():
        return None
    upper = [*release[:-1], str(int(release[-1]) + 1)]
    return Specifier(f">={prefix}"), Specifier(f"<{'.'.join(upper)}")
