"""Plan a wheel from an analysed conda package (pure): every decision, none in the writer.

Input: a :class:`~condawheel.convert.analysis.PackageAnalysis` (what the package is), the name
mapping and the options. Output: a frozen :class:`WheelPlan` that lists each wheel entry
and where its bytes come from. Each decision is a small function over the analysis that
returns a frozen value; :func:`plan_wheel` calls them in order and assembles the plan.
``condawheel inspect`` prints this plan; ``condawheel convert`` hands it to the writer.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

import msgspec
from packaging.utils import NormalizedName, canonicalize_name

from condawheel import tags
from condawheel.binaries import resolve_libraries
from condawheel.convert import layout
from condawheel.convert.analysis import no_pep440_form
from condawheel.convert.deps import translate_dependencies
from condawheel.convert.distinfo import (
    Commands,
    WheelIdentity,
    dist_info_files,
    dist_info_members,
    dist_info_stem,
    sidecar_document,
    wheel_metadata,
)
from condawheel.convert.ingest import Limits
from condawheel.convert.names import library_distribution_name, pypi_name_from_purls
from condawheel.errors import InvalidMatchSpec, InvalidPackage, UnsupportedPackage
from condawheel.links import ResolvedLink
from condawheel.metadata import LOOKS_UP_ITS_ENTRY_POINT, callable_path
from condawheel.options import PlanOptions
from condawheel.sidecar import SIDECAR_NAME, PlaceholderRecord, SymlinkRecord

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.version import Version

    from condawheel.binaries import LibraryReport, SonameProviders
    from condawheel.conda.condameta import JSONObject
    from condawheel.convert.analysis import PackageAnalysis
    from condawheel.convert.deps import DependencyTranslation
    from condawheel.convert.ingest import PayloadFile
    from condawheel.convert.names import NameMapping
    from condawheel.metadata import MetadataText

__all__ = [
    "FromPayload",
    "Generated",
    "PayloadMapping",
    "RewrittenScript",
    "Skipped",
    "WheelEntry",
    "WheelPlan",
    "check_content_size",
    "check_platform_stamp",
    "choose_wheel_tags",
    "leave_out_wrappers",
    "library_report",
    "map_payload",
    "plan_wheel",
    "reconcile_commands",
    "wheel_dependencies",
    "wheel_identity",
    "wheel_kind",
    "zip_date_time",
    "zip_date_time_of",
]

WheelKind: TypeAlias = Literal["python", "library"]

_MIN_TIMESTAMP = 315532800  # 1980-01-01: the earliest date a zip entry can carry
_MAX_TIMESTAMP = 4354819199  # 2107-12-31
_BUILD_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.]")
# Compiler runtimes that conda-build's run_exports add to nearly every compiled package:
# declaring them without linking them is normal (conda-build says "this is not a
# problem"), so they are recorded in the sidecar but not warned about.
_COMPILER_RUNTIMES = frozenset(
    {
        "libgcc",
        "libgcc-ng",
        "libstdcxx",
        "libstdcxx-ng",
        "libgomp",
        "_openmp_mutex",
        "libcxx",
        "vc",
        "vc14_runtime",
        "vs2015_runtime",
        "ucrt",
    }
)


# A msgspec struct, not a dataclass: one is made per member of a package, and a frozen
# dataclass costs about 1-1.5 us to make where this costs 0.1 (30,000-60,000 members).
class FromPayload(msgspec.Struct, frozen=True):
    """An entry whose bytes are a payload body, copied as compressed."""

    path: str


class RewrittenScript(msgspec.Struct, frozen=True):
    """A script whose first line becomes ``#!python`` (installers fill in the interpreter)."""

    path: str
    first_line_length: int
    new_first_line: bytes = b"#!python\n"


@dataclass(frozen=True)
class Generated:
    """An entry whose bytes the plan produced (METADATA, WHEEL, conda.json...)."""

    data: bytes = field(repr=False)


EntrySource: TypeAlias = "FromPayload | RewrittenScript | Generated"


class WheelEntry(msgspec.Struct, frozen=True):
    """One file of the wheel."""

    arcname: str
    source: EntrySource
    executable: bool = False
    origin: str | None = None  # the conda path it comes from, for humans


@dataclass(frozen=True)
class Skipped:
    """A payload path that is not shipped, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class WheelPlan:
    """Everything the writer needs; writing it makes no decisions."""

    filename: str
    name: NormalizedName
    display_name: str
    version: Version
    build_tag: str
    tags: tags.TagChoice
    dist_info: str
    kind: WheelKind
    entries: tuple[WheelEntry, ...]  # in archive order; RECORD comes last, from the writer
    metadata: bytes = field(repr=False)
    sidecar: JSONObject = field(repr=False)
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...]
    date_time: tuple[int, int, int, int, int, int]

    @property
    def record_path(self) -> str:
        """The RECORD file's archive name (PEP 376)."""
        return f"{self.dist_info}/RECORD"


@dataclass(frozen=True)
class PayloadMapping:
    """Where each listed payload path goes in the wheel, and what is left out.

    :param entries: the payload's wheel entries (the ``.dist-info`` comes later).
    :param placeholders: the shipped files that hold the build prefix.
    :param symlinks: every symbolic link shipped or left for the installer to restore.
    :param skipped: the listed paths the wheel does not ship, and why.
    :param warnings: what a user should know about the mapping, in path order.
    """

    entries: tuple[WheelEntry, ...]
    placeholders: tuple[PlaceholderRecord, ...]
    symlinks: tuple[SymlinkRecord, ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...]


def plan_wheel(
    analysis: PackageAnalysis,
    *,
    mapping: NameMapping,
    options: PlanOptions | None = None,
    providers: SonameProviders | None = None,
    limits: Limits | None = None,
) -> WheelPlan:
    """Plan the wheel for one analysed conda package.

    :param providers: which conda packages ship which shared libraries (``--libs-from``);
        without it the external-library analysis records what each binary needs and what
        the wheel or the system provides, and does not judge the dependencies.
    :param limits: the size limits the wheel's content is held to (every link's copy
        counted in full).
    :raises InvalidPackage: when the wheel's content would exceed ``limits``.
    :raises UnsupportedPackage: when no single wheel can express the package.
    """
    options = options or PlanOptions()
    check_platform_stamp(analysis, options)
    distribution = analysis.distribution
    members = (
        None
        if distribution is None
        else dist_info_members(
            distribution,
            analysis.made_from_wheel,
            [name for name, _ in analysis.package.license_files],
        )
    )
    kind = wheel_kind(analysis)
    identity = wheel_identity(analysis, kind, mapping)
    commands = leave_out_wrappers(analysis, reconcile_commands(analysis))
    deps = wheel_dependencies(analysis, mapping, None if members is None else members.metadata)
    escaped = identity.name.replace("-", "_")
    stem = dist_info_stem(distribution, analysis.made_from_wheel, identity)
    data_dir = f"{stem}.data"
    dist_info = f"{stem}.dist-info"
    mapped = map_payload(analysis, data_dir, commands.wrappers)
    choice = choose_wheel_tags(analysis, kind, mapped.entries, deps, options)
    libraries, library_warnings = library_report(
        analysis, mapped.entries, deps, mapped.placeholders, providers
    )
    build_tag = _BUILD_TAG_UNSAFE.sub("_", f"{analysis.index.build_number}_{analysis.index.build}")
    metadata = wheel_metadata(analysis, members, kind, identity, deps)
    warnings = (
        *analysis.distribution_notes,
        *(members.notes if members is not None else ()),
        *identity.notes,
        *commands.warnings,
        *mapped.warnings,
        *library_warnings,
    )
    skipped = (
        *(
            Skipped(path, f"not listed in {analysis.listing_name}: conda does not install it")
            for path in analysis.unlisted
        ),
        *mapped.skipped,
    )
    sidecar = sidecar_document(
        analysis,
        kind=kind,
        identity=identity,
        choice=choice,
        build_tag=build_tag,
        deps=deps,
        placeholders=mapped.placeholders,
        symlinks=mapped.symlinks,
        libraries=libraries,
        commands=commands,
        skipped_reasons=[item.reason for item in skipped],
        warnings=warnings,
    )
    generated, copied = dist_info_files(
        analysis,
        members=members,
        metadata=metadata,
        sidecar=sidecar,
        root_is_purelib=analysis.index.noarch is not None or analysis.noarch == "python",
        wheel_tags=sorted(str(tag) for tag in choice.tags),
        build_tag=build_tag,
        commands=commands,
    )
    dist_entries = [
        *(WheelEntry(f"{dist_info}/{name}", Generated(data)) for name, data in generated.items()),
        *(
            WheelEntry(f"{dist_info}/{name}", FromPayload(path), origin=path)
            for name, path in copied.items()
        ),
    ]
    entries = _ordered(mapped.entries, dist_entries)
    _check_unique(analysis.subject, entries, dist_info)
    check_content_size(analysis, entries, limits or Limits())
    return WheelPlan(
        filename=f"{escaped}-{identity.version}-{build_tag}-{choice}.whl",
        name=identity.name,
        display_name=identity.display,
        version=identity.version,
        build_tag=build_tag,
        tags=choice,
        dist_info=dist_info,
        kind=kind,
        entries=entries,
        metadata=metadata,
        sidecar=sidecar,
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        warnings=warnings,
        date_time=zip_date_time(analysis, options),
    )


def check_platform_stamp(analysis: PackageAnalysis, options: PlanOptions) -> None:
    """Refuse a package of another subdir than the environment the wheel is made for.

    :raises UnsupportedPackage: when the stamp's subdir is neither the package's nor
        ``noarch``.
    """
    stamp = options.platform_stamp
    subdir = analysis.index.subdir
    if stamp is not None and subdir not in {stamp.subdir, "noarch"}:
        raise UnsupportedPackage(
            analysis.subject,
            f"a package for {subdir} cannot be made for an environment of {stamp.subdir} "
            f"(its build tag {stamp.tag!r} is for {stamp.subdir} packages)",
        )


def wheel_kind(analysis: PackageAnalysis) -> WheelKind:
    """Decide whether the wheel is a Python distribution or a library wheel.

    It is a Python distribution if the package embeds one, is ``noarch: python``, or
    holds importable code in site-packages.
    """
    if analysis.split_role == "rest":  # the files of a split package no RECORD names
        return "library"
    if analysis.distribution is not None or analysis.noarch == "python":
        return "python"
    return "python" if analysis.importable else "library"


def wheel_identity(
    analysis: PackageAnalysis, kind: WheelKind, mapping: NameMapping
) -> WheelIdentity:
    """Decide the wheel's distribution name and version, and the rule they follow.

    The embedded distribution's own Name and Version win; else a Python package takes its
    PyPI name from its record's ``pkg:pypi/`` purl, else from the mapping, and a library a
    ``conda_pkg_`` name (both with the conda version in its PEP 440 form).
    """
    index = analysis.index
    distribution = analysis.distribution
    if distribution is not None:
        name = canonicalize_name(distribution.name)
        expected = {
            canonicalize_name(index.name),
            mapping.pypi_name(index.name),
            pypi_name_from_purls(analysis.source.purls),
        }
        notes = (
            ()
            if name in expected
            else (
                (
                    f"conda package {index.name!r} carries the Python distribution {name!r}; "
                    "the wheel is named after the distribution"
                ),
            )
        )
        return WheelIdentity(
            distribution.name,
            name,
            distribution.version,
            f"from the embedded {distribution.kind}",
            notes,
        )
    converted = analysis.conda_version
    if converted is None:
        raise UnsupportedPackage(analysis.subject, no_pep440_form(index.version))
    rule = (
        "conda version"
        if str(converted) == index.version
        else f'conda version {index.version!r} mapped to PEP 440 (docs/convert.md, "Versions")'
    )
    if kind == "python":
        # A record's purl (pkg:pypi/<name>) says which PyPI project this is, before the
        # mapping table guesses it.
        display = (
            pypi_name_from_purls(analysis.source.purls)
            or mapping.pypi_name(index.name)
            or index.name
        )
        return WheelIdentity(display, canonicalize_name(display), converted, rule)
    name = library_distribution_name(index.name)
    return WheelIdentity(name, name, converted, rule)


def reconcile_commands(analysis: PackageAnalysis) -> Commands:
    """Reconcile the embedded ``entry_points.txt`` with link.json's entry points.

    For ``noarch: python`` packages conda creates the commands that link.json lists,
    never reading entry_points.txt; so link.json wins where the two disagree, and a
    command it lists that entry_points.txt lacks is added. Both are recorded.
    """
    distribution = analysis.distribution
    original = distribution.files.get("entry_points.txt") if distribution else None
    link = analysis.package.link
    link_points = link.entry_points if link else ()
    if analysis.scripts is None:
        warnings = (
            (
                (
                    f"{distribution.directory if distribution else ''}/entry_points.txt "
                    "cannot be parsed; kept as it is, without link.json's entry points"
                ),
            )
            if link_points
            else ()
        )
        return Commands({}, original, warnings=warnings)
    console = dict(analysis.scripts["console_scripts"])
    gui = dict(analysis.scripts["gui_scripts"])
    changed = False
    notes: list[JSONObject] = []
    warnings_found: list[str] = []
    for point in link_points:
        conda_value = point.value
        declared = console.get(point.name)
        if declared is not None and callable_path(declared) == callable_path(conda_value):
            continue
        console[point.name] = conda_value
        changed = True
        if original is None:
            continue  # no entry_points.txt: link.json's entry points are the only source
        if declared is None:
            message = (
                f"info/link.json's entry point '{point}' is missing from entry_points.txt; "
                "added to [console_scripts]"
            )
        else:
            message = (
                f"entry_points.txt declares '{point.name} = {declared}', but conda installs "
                f"'{point}' (info/link.json); the wheel declares conda's"
            )
        warnings_found.append(message)
        notes.append(
            {
                "command": point.name,
                "entry_points_txt": declared,
                "conda": conda_value,
                "source": "info/link.json",
                "wheel": f"[console_scripts] {point}",
            }
        )
    return Commands(
        {"console_scripts": console, "gui_scripts": gui},
        original,
        changed=changed,
        notes=tuple(notes),
        warnings=tuple(warnings_found),
    )


def leave_out_wrappers(analysis: PackageAnalysis, commands: Commands) -> Commands:
    """Decide which conda-generated wrappers the wheel's entry points replace.

    A wrapper is left out only when it runs the callable the wheel declares for its
    command. Otherwise conda installs that script as the command (``bin/conda`` runs
    ``conda.cli:main`` where conda's entry_points.txt says ``conda.cli.main_pip:main``):
    the wheel ships the script and stops declaring the command, which installers would
    otherwise generate instead of it (pip even skips a script named like an entry point).
    """
    scripts = {section: dict(values) for section, values in commands.scripts.items()}
    wrappers: dict[str, str] = {}
    notes = list(commands.notes)
    warnings = list(commands.warnings)
    changed = commands.changed
    for section, values in commands.scripts.items():
        for name, declared in sorted(values.items()):
            found = analysis.wrappers.get(name)
            if found is None:
                continue
            runs = found.runs
            if found.script is None or (  # a lone launcher: made from this same entry point
                runs == LOOKS_UP_ITS_ENTRY_POINT
                or (runs is not None and callable_path(runs) == callable_path(declared))
            ):
                wrappers.update(dict.fromkeys(found.paths, name))
                continue
            del scripts[section][name]
            changed = True
            what = f"runs {runs}" if runs is not None else "is not a generated wrapper"
            warnings.append(
                f"{found.script} {what}, but entry_points.txt declares '{name} = {declared}'; "
                f"the wheel ships the script conda installs and does not declare {name!r}"
            )
            notes.append(
                {
                    "command": name,
                    "entry_points_txt": declared,
                    "conda": runs if runs is not None else found.script,
                    "source": found.script,
                    "wheel": f"ships {', '.join(found.paths)}; not in [{section}]",
                }
            )
    return Commands(
        scripts, commands.original, changed, wrappers, tuple(notes), warnings=tuple(warnings)
    )


def wheel_dependencies(
    analysis: PackageAnalysis, mapping: NameMapping, metadata: MetadataText | None = None
) -> DependencyTranslation:
    """Translate the package's conda dependencies into the wheel's (see :mod:`deps`).

    :param metadata: the METADATA the wheel starts from (the embedded one, as
        :func:`~condawheel.convert.distinfo.dist_info_members` keeps it), if the package has one.
    """
    if metadata is None and analysis.distribution is not None:
        metadata = analysis.distribution.metadata
    try:
        translation = translate_dependencies(
            analysis.depends,
            mapping=mapping,
            embedded_requires=None if metadata is None else metadata.get_all("Requires-Dist"),
            embedded_requires_python=None if metadata is None else metadata.get("Requires-Python"),
            subject=analysis.subject,
            extras=analysis.record.extra_depends if analysis.record is not None else (),
        )
    except InvalidMatchSpec as error:  # the analysis reports them all; this is one
        raise InvalidPackage(analysis.subject, error.reason) from None
    if analysis.rest_wheel is None:
        return translation
    # One distribution of a split package needs the files that no RECORD names.
    requires = (*translation.requires_dist, analysis.rest_wheel)
    return dataclasses.replace(translation, requires_dist=requires)


def map_payload(
    analysis: PackageAnalysis, data_dir: str, wrappers: Mapping[str, str]
) -> PayloadMapping:
    """Decide where each listed payload path goes in the wheel, or why it is left out.

    Site-packages goes to the wheel root, programs to ``<data_dir>/scripts``, the rest to
    ``<data_dir>/data`` (PEP 427 schemes); Python scripts get a ``#!python`` first line.

    :param wrappers: the generated wrappers the wheel's entry points replace.
    """
    entries: list[WheelEntry] = []
    placeholders: list[PlaceholderRecord] = []
    symlinks: list[SymlinkRecord] = []
    skipped: list[Skipped] = []
    warnings: list[str] = []
    found = analysis.layout
    metadata_dir = analysis.distribution.directory if analysis.distribution else None
    listed = analysis.listed
    for path in sorted(listed):  # the names alone sort three times faster than the pairs
        entry, item = listed[path], analysis.payload.get(path)
        if entry.path_type == "directory" or item is None:
            continue
        if item.never_shipped is not None:
            skipped.append(Skipped(path, item.never_shipped))
            continue
        if metadata_dir is not None and (
            path == metadata_dir or path.startswith(metadata_dir + "/")
        ):
            continue  # rebuilt as the wheel's .dist-info
        if (
            layout.is_metadata_candidate(path)
            and found.site_packages
            and path.startswith(found.site_packages)
        ):
            skipped.append(Skipped(path, "metadata of another installation record; superseded"))
            continue
        command = wrappers.get(path)
        if command is not None:
            skipped.append(
                Skipped(path, f"entry-point wrapper for {command!r}: installers regenerate it")
            )
            continue
        destination = found.destination(path)
        arcname = (
            destination.path
            if destination.scheme == "root"
            else f"{data_dir}/{destination.scheme}/{destination.path}"
        )
        body = _link_body(analysis, item, arcname, symlinks, skipped, warnings)
        if body is None:
            continue
        # The member's own mode, as conda installs it: a program in bin/ that the package
        # ships without an executable bit (krb5's ksu, 0664) stays so; installers make
        # .data/scripts files executable only when the wheel says so (PEP 427 leaves it
        # to the archive's mode).
        executable = bool(item.mode & 0o111) if item.kind != "symlink" else bool(body.mode & 0o111)
        source: EntrySource = FromPayload(body.path)
        if destination.scheme == "scripts":
            first_line = body.head.split(b"\n", 1)[0]
            if layout.is_python_shebang(first_line) and b"\n" in body.head:
                source = RewrittenScript(body.path, len(first_line) + 1)
        entries.append(WheelEntry(arcname, source, executable, origin=path))
        if entry.prefix_placeholder is not None and entry.file_mode is not None:
            placeholders.append(
                PlaceholderRecord(path, arcname, entry.prefix_placeholder, entry.file_mode)
            )
        if layout.is_link_script(path):
            warnings.append(
                f"{path}: conda link script; wheels cannot run it (recorded in {SIDECAR_NAME})"
            )
        elif layout.is_menu_file(path):
            warnings.append(f"{path}: menuinst shortcut; no installer creates it from a wheel")
    if placeholders:
        text = sum(1 for record in placeholders if record.file_mode == "text")
        binary = len(placeholders) - text
        warnings.append(
            f"{text} text and {binary} binary file(s) hold the build prefix; "
            "`condawheel install` relocates them, plain pip/installer do not"
        )
    outside = [record for record in symlinks if record.kind != "file"]
    if outside:
        warnings.append(
            f"{len(outside)} symlink(s) to directories or other packages' files are not in "
            "the wheel; `condawheel install` restores them"
        )
    return PayloadMapping(
        tuple(entries), tuple(placeholders), tuple(symlinks), tuple(skipped), tuple(warnings)
    )


def _link_body(
    analysis: PackageAnalysis,
    item: PayloadFile,
    arcname: str,
    symlinks: list[SymlinkRecord],
    skipped: list[Skipped],
    warnings: list[str],
) -> PayloadFile | None:
    """Return whose body a payload entry ships, recording symlinks; ``None``: not shipped."""
    if item.kind not in ("symlink", "hardlink"):
        return item
    link = analysis.links.get(item.path) or ResolvedLink(item.path, "external")
    target, link_kind = link.path, link.kind
    body = analysis.payload[target] if link_kind == "file" else None
    if body is not None and body.never_shipped is not None:
        # A link to byte-code: the body is not in the wheel, so neither is the link (a
        # copy of stale byte-code under another name would be worse than nothing).
        reason = f"link to {target}, which is not shipped: {body.never_shipped}"
        skipped.append(Skipped(item.path, reason))
        warnings.append(f"{item.path}: {reason}; the link is not in the wheel")
        return None
    if item.kind == "symlink":
        wheel_path = arcname if link_kind == "file" else None
        symlinks.append(SymlinkRecord(item.path, wheel_path, item.link_target or "", link_kind))
    if body is not None:
        return body
    what = "a directory" if link_kind == "directory" else "a file outside this package"
    skipped.append(Skipped(item.path, f"symlink to {what}: restored at install"))
    return None


def choose_wheel_tags(
    analysis: PackageAnalysis,
    kind: WheelKind,
    entries: tuple[WheelEntry, ...],
    deps: DependencyTranslation,
    options: PlanOptions,
) -> tags.TagChoice:
    """Choose the wheel's tags from its layout, extension modules and dependencies.

    :raises UnsupportedPackage: when no tag expresses the package (see :mod:`tags`).
    """
    site = analysis.layout.site_packages
    extension_modules = (
        tuple(
            entry.arcname
            for entry in entries
            if site is not None
            and entry.origin is not None
            and entry.origin.startswith(site)
            and tags.is_extension_module(entry.arcname)
        )
        if kind == "python"
        else ()
    )
    subdir = analysis.index.subdir
    try:
        platform = tags.platform_tag(subdir, prefix=options.platform_prefix)
        stamp = options.platform_stamp
        if stamp is not None and subdir == stamp.subdir:
            platform = stamp.tag
        return tags.choose_tags(
            subdir=subdir,
            kind=kind,
            noarch_python=analysis.noarch == "python",
            python=tags.PythonFacts(
                site_version=analysis.layout.python_version,
                free_threaded=analysis.layout.free_threaded,
                extension_modules=extension_modules,
                abi_pin=deps.abi_pin,
                abi_pin_version=deps.abi_pin_version,
                python_minimum=deps.python_minimum,
            ),
            platform=platform,
        )
    except ValueError as error:
        raise UnsupportedPackage(analysis.subject, str(error)) from None


def _installed_path(analysis: PackageAnalysis, entry: WheelEntry) -> str | None:
    """Return where a wheel entry lands, relative to the conda prefix."""
    if entry.origin is None:
        return None
    if analysis.layout.kind == "noarch-python":
        # conda links site-packages/ into the interpreter's lib/pythonX.Y/site-packages
        # (CEP 20); the version does not matter for $ORIGIN-relative lookups.
        if entry.origin.startswith("site-packages/"):
            return "lib/python3/" + entry.origin
        if entry.origin.startswith("python-scripts/"):
            return "bin/" + entry.origin.removeprefix("python-scripts/")
    return entry.origin


def library_report(
    analysis: PackageAnalysis,
    entries: tuple[WheelEntry, ...],
    deps: DependencyTranslation,
    placeholders: tuple[PlaceholderRecord, ...],
    providers: SonameProviders | None,
) -> tuple[LibraryReport, tuple[str, ...]]:
    """Resolve every library each binary of the wheel needs (under/over-declaration).

    :returns: the report, and the warnings it calls for.
    """
    binaries = {}
    for entry in entries:
        source = entry.source
        if isinstance(source, Generated):
            continue
        facts = analysis.payload[source.path].binary
        if facts is None:
            continue
        installed = _installed_path(analysis, entry)
        if installed is not None:
            binaries[installed] = facts
    declared = [record.name for record in deps.records if record.kind == "external"]
    report = resolve_libraries(
        binaries,
        declared=declared,
        providers=providers,
        prefix_placeholders=sorted({record.placeholder for record in placeholders}),
    )
    warnings: list[str] = []
    # Without --libs-from nothing was searched but the wheel and the system: an
    # unresolved library says nothing about the package (the sidecar keeps the facts).
    if report.unresolved and report.providers_given:
        warnings.append(f"binaries need libraries nothing provides: {', '.join(report.unresolved)}")
    if report.under_declared:
        warnings.append(
            "under-declared: linked libraries come from undeclared packages: "
            + ", ".join(report.under_declared)
        )
    over = [name for name in report.over_declared if name not in _COMPILER_RUNTIMES]
    if over:
        warnings.append(f"over-declared: no binary links the libraries of {', '.join(over)}")
    return report, tuple(warnings)


def zip_date_time(
    analysis: PackageAnalysis, options: PlanOptions
) -> tuple[int, int, int, int, int, int]:
    """Choose the timestamp of every zip entry: the option, else the package's build time.

    Zip entries carry dates from 1980 to 2107; a timestamp outside is clamped.
    """
    if options.source_date_epoch is not None:
        stamp = options.source_date_epoch
    elif analysis.index.timestamp_ms is not None:
        stamp = analysis.index.timestamp_ms // 1000
    else:
        stamp = _MIN_TIMESTAMP
    return zip_date_time_of(stamp)


def zip_date_time_of(stamp: int | None) -> tuple[int, int, int, int, int, int]:
    """Return a zip entry's date for a Unix time (``None``: 1980-01-01), clamped to 1980-2107."""
    stamp = min(max(_MIN_TIMESTAMP if stamp is None else stamp, _MIN_TIMESTAMP), _MAX_TIMESTAMP)
    moment = time.gmtime(stamp)
    return (
        moment.tm_year,
        moment.tm_mon,
        moment.tm_mday,
        moment.tm_hour,
        moment.tm_min,
        moment.tm_sec,
    )


def check_content_size(
    analysis: PackageAnalysis, entries: tuple[WheelEntry, ...], limits: Limits
) -> None:
    """Hold the wheel's content to the size limits, every copy counted.

    A wheel stores each symbolic or hard link to a file as a copy of that file, so a small
    archive whose links all name one large body would expand far beyond what its own
    payload declared. Each entry counts for its full size, however often its body repeats.

    :raises InvalidPackage: when one entry or the whole content exceeds ``limits``.
    """
    payload = analysis.payload
    total = 0
    for entry in entries:
        source = entry.source
        # A payload body as it is, the entry of nearly every file, without a call.
        size = (
            payload[source.path].size
            if type(source) is FromPayload
            else _entry_size(payload, entry)
        )
        if size > limits.max_file_size:
            raise InvalidPackage(
                analysis.subject,
                f"{entry.arcname!r} would hold {size} bytes, above the "
                f"{limits.max_file_size}-byte limit",
            )
        total += size
    if total > limits.max_total_size:
        # Counted only for the message: the links are why the content grew.
        copies = sum(
            origin is not None and origin.kind in ("symlink", "hardlink")
            for origin in (payload.get(entry.origin or "") for entry in entries)
        )
        raise InvalidPackage(
            analysis.subject,
            f"the wheel's content would be {total} bytes, above the {limits.max_total_size}-"
            f"byte limit (absurd size): each of its {copies} link(s) is stored as a copy",
        )


def _entry_size(payload: Mapping[str, PayloadFile], entry: WheelEntry) -> int:
    source = entry.source
    if isinstance(source, Generated):
        return len(source.data)
    size = payload[source.path].size
    if isinstance(source, RewrittenScript):
        return size - source.first_line_length + len(source.new_first_line)
    return size


def _ordered(
    files: tuple[WheelEntry, ...], dist_entries: list[WheelEntry]
) -> tuple[WheelEntry, ...]:
    # Sorted, with the .dist-info last (PEP 427 recommends it at the end of the archive so
    # that a streaming reader meets the payload first); RECORD is appended by the writer.
    return (
        *sorted(files, key=lambda entry: entry.arcname),
        *sorted(dist_entries, key=lambda entry: entry.arcname),
    )


def _check_unique(subject: str, entries: tuple[WheelEntry, ...], dist_info: str) -> None:
    seen: set[str] = set()
    for entry in entries:
        folded = entry.arcname
        if folded in seen or folded == f"{dist_info}/RECORD":
            raise UnsupportedPackage(subject, f"two files would be stored as {folded!r}")
        seen.add(folded)
