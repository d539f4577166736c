"""Decide what a built wheel becomes: kept as it is, or a conda wheel of its environment (pure).

A pure wheel (every tag for platform ``any``) is portable and stays as it is. Any other wheel
was built against the environment, so it becomes a conda wheel of it:

* every ELF binary's run path is made ``$ORIGIN``-relative (:mod:`condawheel.build.runpath`);
* every binary is read with the linkage analysis and each needed library resolved against
  the environment (:func:`condawheel.binaries.resolve_in_environment`): inside the wheel, a
  conda package of the environment, or the system's allowed set; anything else refuses the
  build, naming the library;
* the platform tag becomes the environment's build tag (``conda_linux_64``, or what its
  ``binary-compatibility.cfg`` names), python and ABI tags stay;
* each linked conda package becomes ``Requires-External: <name> (<spec>)`` (core metadata
  1.2): the package's own ``run_exports`` spec of itself when it has one (the range
  conda-build would pin a conda package to), else ``>=`` the installed version;
* ``conda.json`` records where the wheel came from.

:func:`decide_build` returns a :class:`BuildPlan` that the writer carries out unchanged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.tags import Tag

from condawheel.binaries import analyze_binary, resolve_in_environment
from condawheel.build.analysis import BuildError, installed_path
from condawheel.build.runpath import RunPathError, decide_run_path, patch_run_path
from condawheel.conda.matchspec.parsing import parse_matchspec
from condawheel.convert.plan import zip_date_time_of
from condawheel.errors import InvalidMatchSpec
from condawheel.sidecar import SCHEMA_VERSION, SIDECAR_NAME, dump_sidecar

if TYPE_CHECKING:
    from condawheel.binaries import BinaryFacts, LibraryReport, SonameProviders
    from condawheel.build.analysis import BuildEnvironment, BuiltWheel, InstalledPackage
    from condawheel.build.runpath import RunPathChange
    from condawheel.io.jsondata import JSONObject, JSONValue

__all__ = [
    "BuildPlan",
    "BuildProvenance",
    "ExternalDeclaration",
    "PlannedMember",
    "decide_build",
    "external_declaration",
    "retagged_filename",
]

SourceKind = Literal["requirement", "sdist", "directory", "wheel"]


@dataclass(frozen=True)
class BuildProvenance:
    """Where a built wheel came from, for its sidecar."""

    kind: SourceKind
    given: str
    """The source as the user gave it (a requirement, a path)."""
    filename: str | None
    """The sdist's or wheel's file name; ``None`` for a source directory."""
    sha256: str | None


@dataclass(frozen=True)
class ExternalDeclaration:
    """One conda package a built wheel links, and how it is declared."""

    package: InstalledPackage
    version_spec: str
    rule: Literal["run_exports", "installed_version"]

    @property
    def requires_external(self) -> str:
        """Return the ``Requires-External`` value (``zstd (>=1.5.6,<1.6.0a0)``)."""
        return f"{self.package.name} ({self.version_spec})"

    def to_json(self) -> JSONObject:
        """Return the sidecar form."""
        return {
            "name": self.package.name,
            "version": self.package.version,
            "build": self.package.build,
            "requires_external": self.requires_external,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class PlannedMember:
    """One member of the output wheel: copied from the built wheel, or these bytes."""

    name: str
    executable: bool
    data: bytes | None = None
    """``None``: the built wheel's member of the same name, unchanged."""


@dataclass(frozen=True)
class BuildPlan:
    """Everything the writer needs, decided: the output's name and every member in order."""

    filename: str
    kept_as_built: bool
    """A pure wheel: the built file itself is published, byte for byte."""
    members: tuple[PlannedMember, ...]
    record_path: str
    date_time: tuple[int, int, int, int, int, int]
    declarations: tuple[ExternalDeclaration, ...] = ()
    run_paths: tuple[tuple[str, RunPathChange], ...] = ()


def external_declaration(package: InstalledPackage) -> ExternalDeclaration:
    """Decide the ``Requires-External`` range of one linked conda package.

    The package's own ``run_exports`` entry naming itself is the range conda-build puts on
    whatever links it (``zstd >=1.5.6,<1.6.0a0``: same ABI); without one, ``>=`` the
    installed version, as the build may use anything up to that version's API.
    """
    for spec in package.run_exports:
        try:
            parsed = parse_matchspec(spec)
        except InvalidMatchSpec:
            continue
        if parsed.name == package.name and parsed.version:
            return ExternalDeclaration(package, parsed.version, "run_exports")
    return ExternalDeclaration(package, f">={package.version}", "installed_version")


def retagged_filename(wheel: BuiltWheel, platform: str) -> str:
    """Return the wheel's file name with every platform tag replaced by ``platform``."""
    interpreters = sorted({tag.interpreter for tag in wheel.tags})
    abis = sorted({tag.abi for tag in wheel.tags})
    stem = wheel.path.name.split("-")
    parts = [stem[0], stem[1]]
    if wheel.build_tag:
        parts.append(wheel.build_tag)
    parts.extend([".".join(interpreters), ".".join(abis), platform])
    return "-".join(parts) + ".whl"


def _retagged_wheel_file(wheel: BuiltWheel, platform: str) -> bytes:
    lines = wheel.wheel_file.decode("utf-8").splitlines()
    kept = [line for line in lines if line.strip() and not line.lower().startswith("tag:")]
    tags = sorted({Tag(tag.interpreter, tag.abi, platform) for tag in wheel.tags}, key=str)
    return ("\n".join([*kept, *(f"Tag: {tag}" for tag in tags)]) + "\n\n").encode()


def _with_requires_external(metadata: bytes, values: tuple[str, ...]) -> bytes:
    """Add ``Requires-External`` headers at the end of METADATA's header block."""
    if not values:
        return metadata
    text = metadata.decode("utf-8")
    head, separator, body = text.partition("\n\n")
    present = {line.strip() for line in head.splitlines()}
    added = [f"Requires-External: {value}" for value in values]
    head = "\n".join([head.rstrip("\n"), *(line for line in added if line not in present)])
    return (head + (separator + body if separator else "\n")).encode()


def _binaries(
    wheel: BuiltWheel, environment: BuildEnvironment
) -> tuple[dict[str, BinaryFacts], dict[str, bytes], list[tuple[str, RunPathChange]]]:
    """Make run paths relative; return the facts by installed path, patched bodies, changes."""
    facts_by_path: dict[str, BinaryFacts] = {}
    patched: dict[str, bytes] = {}
    changes: list[tuple[str, RunPathChange]] = []
    problems: list[str] = []
    for member, data in sorted(wheel.binaries.items()):
        where = installed_path(wheel, member, environment.scheme)
        facts = analyze_binary(io.BytesIO(data))
        if facts is None or where is None:
            continue
        if facts.error is not None:
            problems.append(f"{member}: {facts.error}")
            continue
        if facts.format == "elf" and (facts.runpaths or facts.rpaths):
            change = decide_run_path(
                facts.runpaths or facts.rpaths, where, environment.prefix_spellings
            )
            if change.changed:
                try:
                    data = patch_run_path(data, change.new)  # noqa: PLW2901 - the shipped bytes
                except RunPathError as error:
                    problems.append(f"{member}: cannot make its run path relative: {error}")
                    continue
                patched[member] = data
                reread = analyze_binary(io.BytesIO(data))
                facts = reread if reread is not None else facts
            changes.append((where, change))
        elif facts.format == "macho" and any(
            entry.startswith(spelling)
            for entry in facts.rpaths
            for spelling in environment.prefix_spellings
        ):
            problems.append(
                f"{member}: an LC_RPATH into the build environment ({facts.rpaths[0]!r}); "
                "rewriting Mach-O run paths is not supported"
            )
            continue
        facts_by_path[where] = facts
    if problems:
        raise BuildError(wheel.path.name, "; ".join(problems))
    return facts_by_path, patched, changes


def _check_resolved(wheel: BuiltWheel, report: LibraryReport) -> None:
    missing = [
        f"{binary.path} links {library.name!r}, which neither the build environment nor the "
        f"system provides ({library.reason})"
        for binary in report.binaries
        for library in binary.libraries
        if library.kind == "unresolved" and not library.optional
    ]
    if missing:
        raise BuildError(wheel.path.name, "; ".join(missing))


def _sidecar(
    wheel: BuiltWheel,
    environment: BuildEnvironment,
    provenance: BuildProvenance,
    declarations: tuple[ExternalDeclaration, ...],
    changes: list[tuple[str, RunPathChange]],
    report: LibraryReport,
) -> bytes:
    python = environment.python_package
    run_paths: list[JSONValue] = [
        {
            "path": path,
            "built": list(change.old),
            "shipped": list(change.new),
            "dropped": [{"entry": entry, "reason": reason} for entry, reason in change.dropped],
        }
        for path, change in changes
    ]
    document: JSONObject = {
        "schema_version": SCHEMA_VERSION,
        "origin": "build",
        "source": {
            "kind": provenance.kind,
            "given": provenance.given,
            "filename": provenance.filename or provenance.given,
            "format": provenance.kind,
            "sha256": provenance.sha256,
        },
        "built_wheel": {"filename": wheel.path.name, "sha256": wheel.sha256},
        "package": {
            "name": str(wheel.name),
            "version": str(wheel.version),
            "build": wheel.build_tag,
            "subdir": environment.subdir,
        },
        "environment": {
            "subdir": environment.subdir,
            "build_platform": environment.build_platform,
            "python": {
                "implementation": environment.implementation,
                "version": environment.python_version,
                "conda_package": None
                if python is None
                else {"name": python.name, "version": python.version, "build": python.build},
            },
        },
        "linked_packages": [declaration.to_json() for declaration in declarations],
        "run_paths": run_paths,
        "external_libraries": report.to_json(),
    }
    return dump_sidecar(document)


def decide_build(
    wheel: BuiltWheel,
    environment: BuildEnvironment,
    providers: SonameProviders,
    provenance: BuildProvenance,
    *,
    source_date_epoch: int | None = None,
) -> BuildPlan:
    """Decide what a wheel built in ``environment`` becomes (see the module docstring).

    :param providers: the environment's library index
        (:func:`condawheel.binaries.providers.load_providers` on its prefix).
    :raises BuildError: naming every binary whose run path cannot be made relative, and
        every library that resolves neither to the environment nor to the system.
    """
    date_time = zip_date_time_of(source_date_epoch)
    record_path = f"{wheel.dist_info}/RECORD"
    if wheel.is_pure:
        return BuildPlan(
            wheel.path.name,
            kept_as_built=True,
            members=(),
            record_path=record_path,
            date_time=date_time,
        )
    facts, patched, changes = _binaries(wheel, environment)
    report = resolve_in_environment(facts, providers, prefix_placeholders=())
    _check_resolved(wheel, report)
    declarations = tuple(
        external_declaration(environment.packages[name])
        for name in report.linked_dependencies
        if name in environment.packages
    )
    generated = {
        f"{wheel.dist_info}/WHEEL": _retagged_wheel_file(wheel, environment.build_platform),
        f"{wheel.dist_info}/METADATA": _with_requires_external(
            wheel.metadata, tuple(item.requires_external for item in declarations)
        ),
        f"{wheel.dist_info}/{SIDECAR_NAME}": _sidecar(
            wheel, environment, provenance, declarations, changes, report
        ),
    }
    executable = {member.name: member.executable for member in wheel.members}
    names = [
        member.name
        for member in wheel.members
        if member.name != record_path and member.name not in generated
    ]
    # The .dist-info last, as wheel and pip write it, RECORD last of all (PEP 427).
    ordered = sorted(
        [*names, *generated], key=lambda name: (name.startswith(f"{wheel.dist_info}/"), name)
    )
    members = tuple(
        PlannedMember(
            name,
            executable.get(name, False),
            generated.get(name, patched.get(name)),
        )
        for name in ordered
    )
    return BuildPlan(
        filename=retagged_filename(wheel, environment.build_platform),
        kept_as_built=False,
        members=members,
        record_path=record_path,
        date_time=date_time,
        declarations=declarations,
        run_paths=tuple(changes),
    )
