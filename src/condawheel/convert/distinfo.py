"""Decide what the wheel's ``.dist-info`` holds (pure): METADATA, WHEEL, the sidecar, the rest.

The wheel plan (:mod:`condawheel.convert.plan`) calls these once it has decided the wheel's name,
tags, dependencies and payload: they keep what the embedded metadata directory says of the
project, add what conda knows, and render the generated files. References: PEP 427
(``WHEEL``, ``RECORD`` last), PEP 639 (``licenses/``, core metadata 2.4), the entry points
specification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.metadata import ExceptionGroup as MetadataErrors
from packaging.metadata import Metadata
from packaging.utils import canonicalize_name

from condawheel import __version__
from condawheel.convert import layout
from condawheel.convert.wheelmakers import restore_requirements
from condawheel.errors import UnsupportedPackage
from condawheel.metadata import (
    license_fields,
    metadata_version_at_least,
    render_scripts,
    render_wheel_file,
    synthesize_metadata,
)
from condawheel.sidecar import SCHEMA_VERSION, SIDECAR_NAME, dump_sidecar

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from condawheel.binaries import LibraryReport
    from condawheel.conda.condameta import JSONObject, JSONValue
    from condawheel.convert.analysis import EmbeddedDistribution, PackageAnalysis
    from condawheel.convert.deps import DependencyTranslation
    from condawheel.convert.wheelmakers import MadeFromWheel
    from condawheel.metadata import MetadataText
    from condawheel.sidecar import PlaceholderRecord, SymlinkRecord
    from condawheel.tags import TagChoice

__all__ = [
    "Commands",
    "DistInfoMembers",
    "WheelIdentity",
    "dist_info_files",
    "dist_info_members",
    "dist_info_stem",
    "sidecar_document",
    "validation_faults",
    "wheel_metadata",
]


@dataclass(frozen=True)
class WheelIdentity:
    """The wheel's distribution name and version, and the rule they come from.

    :param display: the name as the project spells it (METADATA ``Name``).
    :param notes: what a user should know about the choice.
    """

    display: str
    name: NormalizedName
    version: Version
    version_rule: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Commands:
    """The wheel's script entry points, and where they differ from what the package says.

    ``scripts`` maps ``console_scripts``/``gui_scripts`` to ``{command: module:attr}``;
    ``original`` is the embedded ``entry_points.txt`` (rewritten only when ``changed``);
    ``wrappers`` are the conda paths of generated wrappers the wheel leaves out;
    ``notes`` record each disagreement for the sidecar, ``warnings`` for the user.
    """

    scripts: Mapping[str, Mapping[str, str]]
    original: bytes | None = None
    changed: bool = False
    wrappers: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[JSONObject, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DistInfoMembers:
    """What the wheel keeps of the embedded metadata directory.

    :param metadata: its METADATA as the wheel starts from (before dependencies).
    :param members: each kept file: its name inside the wheel's ``.dist-info`` -> the
        payload path whose body it ships.
    :param notes: what a user should know about what was dropped.
    :param conda_licences: conda's ``info/licenses/`` files the wheel carries (as
        ``licenses/<name>``), the package having none of its own.
    :param inherited_faults: the fields a wheel's own METADATA already fails validation
        on (a package made from a wheel), which the converted wheel keeps as they are.
    """

    metadata: MetadataText
    members: Mapping[str, str]
    notes: tuple[str, ...] = ()
    conda_licences: tuple[str, ...] = ()
    inherited_faults: frozenset[str] = frozenset()


# The name part of a dist-info directory as the binary distribution format specification
# lets a consumer meet it: letters, digits, "_" and, from its earlier versions, ".".
_DIRECTORY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]*$")


def dist_info_stem(
    distribution: EmbeddedDistribution | None,
    made_from_wheel: MadeFromWheel | None,
    identity: WheelIdentity,
) -> str:
    """Return ``{name}-{version}`` of the wheel's ``.dist-info`` and ``.data`` directories.

    The specification's escaped form (``pysocks``, ``backports_tarfile``), except for a
    package made from a wheel: its dist-info keeps the name the wheel gave it
    (``PySocks-1.7.1.dist-info``, ``backports.tarfile-1.2.0.dist-info``), which pip
    installs as it is, so that the wheel and the installed files are the original's.
    """
    escaped = f"{identity.name.replace('-', '_')}-{identity.version}"
    if made_from_wheel is None or distribution is None or distribution.kind != "dist-info":
        return escaped
    own = distribution.directory.rsplit("/", 1)[-1].removesuffix(".dist-info")
    name, _, version = own.rpartition("-")
    if (
        _DIRECTORY_NAME.match(name)
        and canonicalize_name(name) == identity.name
        and version == str(identity.version)
    ):
        return own
    return escaped


def dist_info_members(
    distribution: EmbeddedDistribution,
    made_from_wheel: MadeFromWheel | None = None,
    conda_licences: Sequence[str] = (),
) -> DistInfoMembers:
    """Decide which embedded metadata files the wheel's ``.dist-info`` keeps, and where.

    A dist-info keeps everything but the installation records (RECORD, INSTALLER,
    REQUESTED, direct_url.json) and the files condawheel regenerates. Egg-info keeps what
    has a dist-info meaning (entry points, top-level names); licence files are placed by
    :func:`_licence_files`. A package made from a wheel gets the wheel's own requirements
    back (:mod:`condawheel.convert.wheelmakers`).

    :param conda_licences: the names of the package's ``info/licenses/`` files.
    """
    directory = distribution.directory
    if distribution.kind == "egg-info":
        kept = {
            name: f"{directory}/{name}"
            for name in sorted(distribution.files)
            if name in ("entry_points.txt", "top_level.txt")
        }
    else:
        drop = layout.INSTALLATION_RECORDS | {"METADATA", "WHEEL", SIDECAR_NAME}
        kept = {
            name: f"{directory}/{name}"
            for name in sorted(distribution.files)
            if name and name not in drop
        }
    metadata = distribution.metadata
    notes: list[str] = []
    inherited: frozenset[str] = frozenset()
    if made_from_wheel is None:
        metadata = metadata.without_placeholders()
    else:
        # The wheel's own METADATA, which pip installed the wheel with: its UNKNOWN
        # placeholders are what the wheel said, and so are its faults.
        metadata, restored = restore_requirements(metadata, made_from_wheel)
        notes.extend(restored)
    folded = metadata.folded_fields
    if folded:
        # RFC 5322 folding: the value is the same, read unfolded by email parsers and pip.
        metadata = metadata.unfolded()
        names = ", ".join(sorted(set(folded)))
        notes.append(f"{directory}: folded header line(s) written on one line: {names}")
    if made_from_wheel is not None:
        faults = validation_faults(metadata.render())
        inherited = frozenset(faults)
        # License-File below 2.4 is what most wheels of before PEP 639 have: not worth a word.
        told = [reason for name, reason in faults.items() if name != "license-file"]
        if told:
            reasons = "; ".join(told)
            notes.append(f"{directory}: the wheel's METADATA is kept as it is: {reasons}")
    metadata, licences = _licence_files(
        metadata, kept, directory, made_from_wheel=made_from_wheel, conda_licences=conda_licences
    )
    notes.extend(licences.notes)
    return DistInfoMembers(metadata, kept, tuple(notes), licences.carried, inherited)


def validation_faults(metadata: bytes) -> dict[str, str]:
    """Return what ``packaging`` finds wrong with METADATA, by field (empty: it validates)."""
    try:
        Metadata.from_email(metadata, validate=True)
    except MetadataErrors as group:
        return {str(getattr(error, "field", "")): str(error) for error in group.exceptions}
    return {}


@dataclass(frozen=True)
class _Licences:
    carried: tuple[str, ...]  # conda's info/licenses/ files the wheel carries instead
    notes: tuple[str, ...]


_LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING", "NOTICE")


def _licence_files(
    metadata: MetadataText,
    kept: dict[str, str],
    directory: str,
    *,
    made_from_wheel: MadeFromWheel | None,
    conda_licences: Sequence[str],
) -> tuple[MetadataText, _Licences]:
    """Decide where the licence files go and which ``License-File`` fields name them.

    ``License-File`` of METADATA older than 2.4 names a file at the .dist-info root,
    which core metadata 2.4 (PEP 639) places under ``licenses/``: such METADATA is raised
    to 2.4 and the files move, as setuptools now writes them, so that it validates; a
    package made from a wheel keeps its wheel's layout. A field naming no file is dropped.
    A package whose own metadata carries no licence text at all gets conda's
    ``info/licenses/`` files (the package's licence as its recipe ships it).
    """
    names = metadata.get_all("License-File")
    version = metadata.get("Metadata-Version") or "1.0"
    below_24 = tuple(int(part) for part in version.split(".") if part.isdigit()) < (2, 4)
    move = below_24 and made_from_wheel is None
    notes: list[str] = []
    fields: list[str] = []
    for name in names:
        if f"licenses/{name}" in kept:
            fields.append(name)
        elif below_24 and name in kept:
            if move:
                kept[f"licenses/{name}"] = kept.pop(name)
            fields.append(name)
        else:
            notes.append(f"{directory}: License-File {name!r} names no file; dropped")
    own = bool(fields) or (
        not names and any(name.upper().startswith(_LICENCE_NAMES) for name in kept)
    )
    carried = (
        () if own else tuple(name for name in conda_licences if f"licenses/{name}" not in kept)
    )
    if carried:
        notes.append(
            f"{directory}: no licence file of its own; the wheel carries conda's "
            f"info/licenses/ ({', '.join(carried)})"
        )
    if fields != names or carried or (move and names):
        metadata = metadata.without("License-File")
        if (move and names) or carried:
            metadata = metadata_version_at_least(metadata, (2, 4))
        metadata = metadata.with_fields(("License-File", name) for name in [*fields, *carried])
    return metadata, _Licences(carried, tuple(notes))


def wheel_metadata(
    analysis: PackageAnalysis,
    members: DistInfoMembers | None,
    kind: str,
    identity: WheelIdentity,
    deps: DependencyTranslation,
) -> bytes:
    """Render the wheel's METADATA: the embedded one with conda's additions, or a new one.

    :raises UnsupportedPackage: when the result is not valid core metadata.
    """
    if members is not None:
        document = members.metadata
        if deps.requires_python not in (None, document.get("Requires-Python")):
            # in place: the field keeps its position among the project's
            document = document.replaced("Requires-Python", deps.requires_python)
        # What conda installs that METADATA does not require outside an extra.
        document = document.with_fields(("Requires-Dist", text) for text in deps.requires_dist)
        if deps.requires_dist:
            document = metadata_version_at_least(document, (1, 2))
        # An egg-info's name and version stay as they are; it only gains the fields below.
    else:
        package = analysis.package
        document = synthesize_metadata(
            name=identity.display,
            version=str(identity.version),
            about=package.about,
            license_field=license_fields(package.index.license, package.about.license),
            license_files=[name for name, _ in package.license_files],
        )
        if deps.requires_python is not None and kind == "python":
            document = document.with_fields([("Requires-Python", deps.requires_python)])
        document = document.with_fields(("Provides-Extra", name) for name in deps.provides_extra)
        document = document.with_fields(("Requires-Dist", text) for text in deps.requires_dist)
    document = document.with_fields(("Requires-External", text) for text in deps.requires_external)
    if deps.requires_external:
        document = metadata_version_at_least(document, (1, 2))
    rendered = document.render()
    # A wheel's own faults (License-File or License-Expression below 2.4, as hatchling
    # and setuptools wrote them before PEP 639 was final) stay: pip installs the wheel.
    inherited = members.inherited_faults if members is not None else frozenset()
    errors = {
        name: reason
        for name, reason in validation_faults(rendered).items()
        if name not in inherited
    }
    if errors:
        reasons = "; ".join(errors.values())
        raise UnsupportedPackage(analysis.subject, f"METADATA does not validate: {reasons}")
    return rendered


def sidecar_document(
    analysis: PackageAnalysis,
    *,
    kind: str,
    identity: WheelIdentity,
    choice: TagChoice,
    build_tag: str,
    deps: DependencyTranslation,
    placeholders: Sequence[PlaceholderRecord],
    symlinks: Sequence[SymlinkRecord],
    libraries: LibraryReport,
    commands: Commands,
    skipped_reasons: Sequence[str],
    warnings: Sequence[str],
) -> JSONObject:
    """Return ``conda.json``: what the wheel cannot express, and every decision's reason."""
    index = analysis.index
    listed = analysis.listed
    record = analysis.record
    document: JSONObject = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"condawheel {__version__}",
        "source": analysis.source.to_json(),
        "package": {
            "name": index.name,
            "version": index.version,
            "build": index.build,
            "build_number": index.build_number,
            "subdir": index.subdir,
            "noarch": analysis.noarch,
            "paths_source": analysis.package.paths_source,
        },
        "index": index.raw,
        "wheel": {
            "distribution": identity.display,
            "kind": kind,
            "version": str(identity.version),
            "version_rule": identity.version_rule,
            "tags": str(choice),
            "tags_reason": choice.reason,
            "build_tag": build_tag,
            "layout": analysis.layout.kind,
        },
        # whl2conda / conda-pypi: the package was made from a wheel (docs/convert.md)
        "made_from_wheel": None
        if analysis.made_from_wheel is None
        else analysis.made_from_wheel.to_json(),
        # one of the wheels of a package holding several distributions (docs/convert.md)
        "split": None
        if analysis.split_role is None
        else {"role": analysis.split_role, "requires": analysis.rest_wheel},
        "depends_from": "index.json" if record is None else record.origin,
        "dependencies": deps.to_json(),
        "constrains": _json_list(analysis.constrains),
        "run_exports": analysis.package.run_exports,
        "prefix_placeholders": [item.to_json() for item in placeholders],
        "symlinks": [item.to_json() for item in symlinks],
        "directories": _json_list(
            path for path, entry in listed.items() if entry.path_type == "directory"
        ),
        "link_scripts": _json_list(path for path in listed if layout.is_link_script(path)),
        "menu_files": _json_list(path for path in listed if layout.is_menu_file(path)),
        "entry_points": {
            **{
                section: {name: values[name] for name in sorted(values)}
                for section, values in commands.scripts.items()
            },
            # where entry_points.txt, link.json and the scripts conda installs disagree
            "disagreements": list(commands.notes),
        },
        "skipped": {
            reason: sum(1 for item in skipped_reasons if item == reason)
            for reason in sorted(set(skipped_reasons))
        },
        "warnings": _json_list(warnings, ordered=True),
        "libraries": libraries.to_json(),
    }
    if record is not None:
        # "index" keeps index.json as the package has it; these are what was used.
        used: JSONObject = {
            "depends": _json_list(record.depends, ordered=True),
            "constrains": _json_list(record.constrains, ordered=True),
        }
        if record.extra_depends:  # CEP 44 groups, as the record gives them
            used["extra_depends"] = {group: list(specs) for group, specs in record.extra_depends}
        document["record"] = used
    return document


def dist_info_files(
    analysis: PackageAnalysis,
    *,
    members: DistInfoMembers | None,
    metadata: bytes,
    sidecar: JSONObject,
    root_is_purelib: bool,
    wheel_tags: Sequence[str],
    build_tag: str,
    commands: Commands,
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Decide the files of the wheel's ``.dist-info`` (RECORD aside: the writer's).

    :returns: the generated files by name, and the embedded files kept by name (-> the
        payload path whose body each ships).
    """
    generated: dict[str, bytes] = {
        "METADATA": metadata,
        "WHEEL": render_wheel_file(
            generator=f"condawheel {__version__}",
            root_is_purelib=root_is_purelib,
            tags=list(wheel_tags),
            build=build_tag,
        ),
        SIDECAR_NAME: dump_sidecar(sidecar),
    }
    copied = dict(members.members) if members is not None else {}
    if commands.changed:
        rendered = render_scripts(commands.original, commands.scripts)
        if rendered.strip():
            generated["entry_points.txt"] = rendered
        else:  # every command it declared is a script of conda's: nothing left
            copied.pop("entry_points.txt", None)
    carried = None if members is None else set(members.conda_licences)
    for name, data in analysis.package.license_files:
        if carried is None or name in carried:
            generated[f"licenses/{name}"] = data
    return generated, {name: path for name, path in copied.items() if name not in generated}


def _json_list(items: Iterable[str], *, ordered: bool = False) -> list[JSONValue]:
    """Return strings as a JSON list, sorted unless their order means something."""
    values: list[JSONValue] = list(items if ordered else sorted(items))
    return values
