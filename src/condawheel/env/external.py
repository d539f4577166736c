"""Check a converted wheel's ``Requires-External`` against the conda packages present (pure).

``condawheel convert`` writes each non-Python conda dependency as ``Requires-External:
<conda name> (<conda version spec>)`` (core metadata 1.2; see ``condawheel.convert.deps``). In a
wheel that carries a ``conda.json`` sidecar those are conda package names, so they can be
checked: a requirement is met by a conda package of that name whose version matches the spec,
whether conda installed it (``conda-meta/``) or condawheel did (a wheel converted from that
conda package, already installed or in the same install).

Version matching uses the spec's PEP 440 translation (``condawheel.conda.matchspec``) applied to
the installed version's PEP 440 form. For specs translated *exactly* that is conda's answer;
a *widened* translation may accept a version conda would refuse, and an untranslatable spec
or version is not held against the environment (it is reported as unchecked).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from condawheel.conda.matchspec import is_conda_version, version_matches
from condawheel.errors import InvalidMatchSpec

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "ExternalProblem",
    "ExternalProvider",
    "ExternalRequirement",
    "check_external",
    "install_command",
    "parse_requires_external",
    "version_satisfies",
]

_REQUIRES_EXTERNAL = re.compile(
    r"^\s*(?P<name>[^\s(;]+)\s*(?:\((?P<spec>[^)]*)\))?\s*(?:;\s*(?P<marker>.*))?$"
)


@dataclass(frozen=True)
class ExternalRequirement:
    """One ``Requires-External`` value: a conda package name and an optional version spec."""

    name: str
    version_spec: str | None
    text: str

    def matchspec(self) -> str:
        """Return the conda MatchSpec that asks for it (``libffi >=3.4,<4.0a0``)."""
        return self.name if self.version_spec is None else f"{self.name} {self.version_spec}"


@dataclass(frozen=True)
class ExternalProvider:
    """A conda package present in the environment (or about to be).

    :param origin: ``conda`` for a ``conda-meta`` record, otherwise the wheel that
        carries it (a ``conda-pkg-*`` wheel converted from that conda package).
    """

    name: str
    version: str
    label: str
    origin: str = "conda"


@dataclass(frozen=True)
class ExternalProblem:
    """A requirement of one wheel that the environment does not meet."""

    wheel: str  # "cffi 1.17.1"
    requirement: ExternalRequirement
    kind: Literal["missing", "mismatch", "unchecked"]
    found: ExternalProvider | None = None

    def describe(self, prefix: str) -> str:
        """Return one sentence naming the package and the command that would install it."""
        wanted = self.requirement.matchspec()
        if self.kind == "unchecked":
            assert self.found is not None  # noqa: S101 - "unchecked" always names a provider
            return (
                f"{self.wheel} requires the conda package {wanted!r}; {self.found.label} is "
                "present but its version cannot be compared with that spec (not checked)"
            )
        if self.kind == "mismatch" and self.found is not None:
            where = "installed by conda" if self.found.origin == "conda" else self.found.origin
            return (
                f"{self.wheel} requires the conda package {wanted!r}, but the environment "
                f"has {self.found.label} ({where}); change it with: "
                f"{install_command(prefix, [self.requirement])}"
            )
        return (
            f"{self.wheel} requires the conda package {wanted!r}, which is not installed in "
            f"the environment; install it with: {install_command(prefix, [self.requirement])}"
        )


def parse_requires_external(text: str) -> ExternalRequirement | None:
    """Parse ``name (spec)``; ``None`` for a value that is not of that form."""
    match = _REQUIRES_EXTERNAL.match(text)
    if match is None:
        return None
    spec = match["spec"]
    spec = spec.strip() if spec is not None else None
    return ExternalRequirement(match["name"], spec or None, text.strip())


def version_satisfies(version: str, spec: str | None) -> bool | None:
    """Return whether a conda version matches a conda version spec; ``None``: cannot tell.

    Judged on the conda side (CEP 29 ordering), not through a PEP 440 translation, which
    may be wider than the spec.
    """
    if spec is None or spec.strip() in {"", "*"}:
        return True
    if not is_conda_version(version):
        return None
    try:
        return version_matches(version, spec)
    except InvalidMatchSpec:
        return None


def install_command(prefix: str, requirements: Iterable[ExternalRequirement]) -> str:
    """Return the conda command that installs the requirements into ``prefix``.

    mamba and micromamba take the same arguments; pixi users add the specs to the manifest.
    """
    specs = " ".join(shlex.quote(item.matchspec()) for item in requirements)
    return f"conda install --prefix {shlex.quote(prefix)} {specs}"


def check_external(
    wheel: str,
    requirements: Sequence[ExternalRequirement],
    providers: Iterable[ExternalProvider],
) -> tuple[ExternalProblem, ...]:
    """Return the requirements of one wheel that the providers do not meet."""
    by_name: dict[str, list[ExternalProvider]] = {}
    for provider in providers:
        by_name.setdefault(provider.name, []).append(provider)
    problems: list[ExternalProblem] = []
    for requirement in requirements:
        present = by_name.get(requirement.name, [])
        if not present:
            problems.append(ExternalProblem(wheel, requirement, "missing"))
            continue
        answers = [
            (version_satisfies(item.version, requirement.version_spec), item) for item in present
        ]
        if any(answer is True for answer, _ in answers):
            continue
        unknown = [item for answer, item in answers if answer is None]
        if unknown:
            problems.append(ExternalProblem(wheel, requirement, "unchecked", unknown[0]))
        else:
            problems.append(ExternalProblem(wheel, requirement, "mismatch", present[0]))
    return tuple(problems)
