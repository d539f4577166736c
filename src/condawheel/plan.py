"""Plan a wheel from a conda package (pure): every decision is made here, none in the writer.

Input: the parsed ``info/`` (:class:`CondaPackage`), the payload facts gathered by the
single reading pass (:class:`Inventory`), the name mapping and the options. Output: a
frozen :class:`WheelPlan` that lists each wheel entry and where its bytes come from.
``condawheel inspect`` prints this plan; ``condawheel convert`` hands it to the writer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

from packaging.metadata import ExceptionGroup as MetadataErrors
from packaging.metadata import Metadata
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from condawheel import __version__, layout, tags
from condawheel.binaries import resolve_libraries
from condawheel.deps import DependencyTranslation, translate_dependencies
from condawheel.errors import InvalidMatchSpec, InvalidPackage, UnsupportedPackage
from condawheel.matchspec import conda_version_to_pep440
from condawheel.metadata import (
    LOOKS_UP_ITS_ENTRY_POINT,
    MetadataText,
    callable_path,
    egg_info_to_metadata,
    license_fields,
    metadata_version_at_least,
    read_scripts,
    render_scripts,
    render_wheel_file,
    synthesize_metadata,
    wrapper_target,
)
from condawheel.names import library_distribution_name
from condawheel.options import PlanOptions
from condawheel.sidecar import (
    SCHEMA_VERSION,
    SIDECAR_NAME,
    PlaceholderRecord,
    SourceArtifact,
    SymlinkRecord,
    dump_sidecar,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from condawheel.binaries import LibraryReport, SonameProviders
    from condawheel.condameta import (
        CondaPackage,
        JSONObject,
        JSONValue,
        PathEntry,
        RecordDependencies,
    )
    from condawheel.ingest import Inventory, PayloadFile
    from condawheel.names import NameMapping

__all__ = [
    "FromPayload",
    "Generated",
    "RewrittenScript",
    "Skipped",
    "WheelEntry",
    "WheelPlan",
    "plan_wheel",
]

_MIN_TIMESTAMP = 315532800  # 1980-01-01: the earliest date a zip entry can carry
_MAX_TIMESTAMP = 4354819199  # 2107-12-31
_BUILD_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.]")
_MAX_LINK_HOPS = 40  # as Linux's MAXSYMLINKS
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


@dataclass(frozen=True)
class FromPayload:
    """An entry whose bytes are a payload body, copied as compressed."""

    path: str


@dataclass(frozen=True)
class RewrittenScript:
    """A script whose first line becomes ``#!python`` (installers fill in the interpreter)."""

    path: str
    first_line_length: int
    new_first_line: bytes = b"#!python\n"


@dataclass(frozen=True)
class Generated:
    """An entry whose bytes the plan produced (METADATA, WHEEL, conda.json...)."""

    data: bytes = field(repr=False)


EntrySource: TypeAlias = "FromPayload | RewrittenScript | Generated"


@dataclass(frozen=True)
class WheelEntry:
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
    kind: Literal["python", "library"]
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
class _Distribution:
    kind: Literal["dist-info", "egg-info"]
    directory: str  # conda path of the .dist-info / .egg-info (dir or single file)
    files: Mapping[str, bytes]  # name inside the directory -> bytes
    metadata: MetadataText
    # name inside the wheel's .dist-info -> the payload path whose body it ships
    members: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Commands:
    """The wheel's script entry points, and where they differ from what the package says.

    ``scripts`` maps ``console_scripts``/``gui_scripts`` to ``{command: module:attr}``;
    ``original`` is the embedded ``entry_points.txt`` (rewritten only when ``changed``);
    ``wrappers`` are the conda paths of generated wrappers the wheel leaves out;
    ``notes`` record each disagreement for the sidecar.
    """

    scripts: Mapping[str, Mapping[str, str]]
    original: bytes | None = None
    changed: bool = False
    wrappers: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[JSONObject, ...] = ()

    def names(self) -> set[str]:
        """Every command the wheel declares."""
        return {name for commands in self.scripts.values() for name in commands}


def plan_wheel(
    package: CondaPackage,
    inventory: Inventory,
    *,
    source: SourceArtifact,
    mapping: NameMapping,
    options: PlanOptions | None = None,
    providers: SonameProviders | None = None,
    subject: str | None = None,
    record: RecordDependencies | None = None,
) -> WheelPlan:
    """Plan the wheel for one conda package.

    :param subject: how errors name the input (default: the artifact's file name).
    :param record: the ``depends`` / ``constrains`` of the record conda installs the
        package by (a channel's repodata, an environment's conda-meta); where they differ
        from ``index.json`` (a repodata patch), they are the wheel's dependencies, and the
        sidecar keeps both.
    :param providers: which conda packages ship which shared libraries (``--libs-from``);
        without it the external-library analysis records what each binary needs and what
        the wheel or the system provides, and does not judge the dependencies.
    :raises InvalidPackage: when the payload contradicts its metadata or is hostile.
    :raises UnsupportedPackage: when no single wheel can express the package.
    """
    planner = _Planner(
        package, inventory, source, mapping, options or PlanOptions(), providers, record=record
    )
    planner.subject = subject or source.filename
    return planner.plan()


class _Planner:
    def __init__(
        self,
        package: CondaPackage,
        inventory: Inventory,
        source: SourceArtifact,
        mapping: NameMapping,
        options: PlanOptions,
        providers: SonameProviders | None,
        *,
        record: RecordDependencies | None = None,
    ) -> None:
        self.package = package
        self.index = package.index
        # A record that agrees with index.json changes nothing, so that the wheel is the
        # one a plain convert of the file makes.
        self.record = record if record is not None and record.differs_from(self.index) else None
        self.depends = self.index.depends if self.record is None else self.record.depends
        self.constrains = self.index.constrains if self.record is None else self.record.constrains
        self.inventory = inventory
        self.files = inventory.by_path()
        self.source = source
        self.subject = source.filename
        self.mapping = mapping
        self.options = options
        self.providers = providers
        self.skipped: list[Skipped] = []
        self.warnings: list[str] = []
        self.problems: list[str] = []

    def plan(self) -> WheelPlan:
        self._check_stamp()
        found = layout.detect_layout(
            [item.path for item in self.inventory.payload],
            subdir=self.index.subdir,
            noarch=self._noarch(),
        )
        if isinstance(found, str):
            raise UnsupportedPackage(self.subject, found)
        self.layout = found
        listed = self._listed_paths()
        self._check_payload(listed)
        links = self._resolve_links(listed)
        if self.problems:
            raise InvalidPackage(self.subject, self.problems)
        distribution = self._embedded_distribution()
        if distribution is not None:
            distribution = _with_members(distribution)
            self.warnings.extend(distribution.notes)
            self._check_identity(distribution)
        kind = self._kind(distribution)
        display, name, version, version_rule = self._identity(distribution, kind)
        escaped = name.replace("-", "_")
        version_text = str(version)
        data_dir = f"{escaped}-{version_text}.data"
        dist_info = f"{escaped}-{version_text}.dist-info"
        commands = self._wrappers(listed, links, self._commands(distribution))
        deps = self._dependencies(distribution)
        files, placeholders, symlinks = self._map_payload(
            listed, links, data_dir, distribution, commands
        )
        choice = self._tags(kind, files, deps)
        libraries = self._libraries(files, deps, placeholders)
        build_tag = _BUILD_TAG_UNSAFE.sub("_", f"{self.index.build_number}_{self.index.build}")
        metadata = self._metadata(distribution, kind, display, version_text, deps)
        sidecar = self._sidecar(
            kind=kind,
            display=display,
            version=version_text,
            version_rule=version_rule,
            choice=choice,
            build_tag=build_tag,
            deps=deps,
            placeholders=placeholders,
            symlinks=symlinks,
            listed=listed,
            libraries=libraries,
            commands=commands,
        )
        dist_entries = self._dist_info_entries(
            dist_info=dist_info,
            distribution=distribution,
            metadata=metadata,
            sidecar=sidecar,
            choice=choice,
            build_tag=build_tag,
            commands=commands,
        )
        entries = _ordered(files, dist_entries)
        _check_unique(self.subject, entries, dist_info)
        return WheelPlan(
            filename=f"{escaped}-{version_text}-{build_tag}-{choice}.whl",
            name=name,
            display_name=display,
            version=version,
            build_tag=build_tag,
            tags=choice,
            dist_info=dist_info,
            kind=kind,
            entries=entries,
            metadata=metadata,
            sidecar=sidecar,
            skipped=tuple(sorted(self.skipped, key=lambda item: item.path)),
            warnings=tuple(self.warnings),
            date_time=self._date_time(),
        )

    def _noarch(self) -> Literal["python", "generic"] | None:
        if self.package.link is not None and self.package.link.noarch_type == "python":
            return "python"
        return self.index.noarch

    def _listed_paths(self) -> dict[str, PathEntry]:
        return {entry.path: entry for entry in self.package.paths}

    def _check_payload(self, listed: Mapping[str, PathEntry]) -> None:
        """Hold the payload to ``paths.json``: every listed file present and unaltered."""
        missing: list[str] = []
        for path, entry in listed.items():
            item = self.files.get(path)
            if entry.path_type == "directory":
                continue
            if item is None:
                missing.append(path)
                continue
            if item.kind == "directory":
                self.problems.append(f"{path!r} is listed as a file but is a directory")
                continue
            if item.kind != "file" or item.sha256 is None:
                continue  # links are checked once resolved; skipped bodies were not read
            # For a softlink, paths.json holds the hash of the final target (conda-build and
            # rattler-build agree on that; not on size_in_bytes, so size is not compared): a
            # regular file standing in for a link must still carry the target's bytes.
            if entry.sha256 and entry.sha256 != item.sha256:
                self.problems.append(
                    f"{path!r}: content sha256 {item.sha256[:12]}... does not match "
                    f"info/paths.json ({entry.sha256[:12]}...)"
                )
            elif (
                entry.path_type == "hardlink" and entry.size is not None and entry.size != item.size
            ):
                self.problems.append(
                    f"{path!r}: {item.size} bytes, but info/paths.json says {entry.size}"
                )
        if missing:
            shown = ", ".join(repr(path) for path in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""  # noqa: PLR2004
            listing = (
                "info/files" if self.package.paths_source == "info/files" else "info/paths.json"
            )
            self.problems.append(
                f"{listing} lists {len(missing)} file(s) the archive does not contain: "
                f"{shown}{more}"
            )
        for item in self.inventory.payload:
            if item.kind == "directory" or item.path in listed:
                continue
            if item.never_shipped is None:
                source = (
                    "info/paths.json" if self.package.paths_source == "paths.json" else "info/files"
                )
                self.skipped.append(
                    Skipped(item.path, f"not listed in {source}: conda does not install it")
                )

    def _resolve_links(
        self, listed: Mapping[str, PathEntry]
    ) -> dict[str, tuple[str, Literal["file", "directory", "external"]]]:
        """Resolve symbolic and hard links to ``(target path, kind)``; reject escapes."""
        resolved: dict[str, tuple[str, Literal["file", "directory", "external"]]] = {}
        directories = {
            "/".join(parts[:depth])
            for parts in (path.split("/") for path in self.files)
            for depth in range(1, len(parts))
        } | {item.path for item in self.inventory.payload if item.kind == "directory"}
        for item in self.inventory.payload:
            if item.kind == "hardlink" and item.path in listed:
                target = self.files.get(item.link_target or "")
                if target is None or target.kind != "file":
                    self.problems.append(
                        f"hard link {item.path!r} names a missing member {item.link_target!r}"
                    )
                    continue
                resolved[item.path] = (target.path, "file")
            if item.kind != "symlink" or item.path not in listed:
                continue
            current, hops = item, 0
            while True:
                target_path = layout.resolve_link(current.path, current.link_target or "")
                if target_path is None:
                    target_text = current.link_target
                    self.problems.append(
                        f"symlink {item.path!r} -> {target_text!r} points outside the package"
                        if target_text
                        else f"symlink {item.path!r} has an empty target"
                    )
                    break
                hops += 1
                target = self.files.get(target_path)
                if target is not None and target.kind == "symlink" and hops < _MAX_LINK_HOPS:
                    current = target
                    continue
                if target is not None and target.kind == "symlink":
                    self.problems.append(f"symlink {item.path!r} is part of a loop")
                elif target is not None and target.kind in ("file", "hardlink"):
                    resolved[item.path] = (target_path, "file")
                    self._check_link_hash(item.path, target_path, listed)
                elif target_path in directories:
                    resolved[item.path] = (target_path, "directory")
                else:
                    resolved[item.path] = (target_path, "external")
                break
        return resolved

    def _check_link_hash(
        self, link: str, target_path: str, listed: Mapping[str, PathEntry]
    ) -> None:
        entry = listed[link]
        target = self.files[target_path]
        if target.kind == "hardlink":
            target = self.files.get(target.link_target or "", target)
        if entry.sha256 and target.sha256 and entry.sha256 != target.sha256:
            self.problems.append(
                f"symlink {link!r}: its target's sha256 {target.sha256[:12]}... does not match "
                f"info/paths.json ({entry.sha256[:12]}...)"
            )

    def _embedded_distribution(self) -> _Distribution | None:
        """Find the package's own ``*.dist-info`` or ``*.egg-info`` (exactly one)."""
        site = self.layout.site_packages
        if site is None:
            return None
        groups: dict[str, dict[str, bytes]] = {}
        for path, data in self.inventory.metadata_files.items():
            if not path.startswith(site):
                continue
            top, _, rest = path[len(site) :].partition("/")
            groups.setdefault(site + top, {})[rest] = data
        distributions: dict[NormalizedName, _Distribution] = {}
        for directory, files in sorted(groups.items()):
            found = self._read_distribution(directory, files)
            if found is None:
                continue
            key = canonicalize_name(found.metadata.get("Name") or "")
            previous = distributions.get(key)
            # A dist-info beats an egg-info of the same project (a newer install record).
            if previous is None or (previous.kind == "egg-info" and found.kind == "dist-info"):
                distributions[key] = found
        if len(distributions) > 1:
            shown = ", ".join(
                sorted(d.directory.rsplit("/", 1)[-1] for d in distributions.values())
            )
            raise UnsupportedPackage(
                self.subject,
                f"holds several Python distributions ({shown}); a wheel carries exactly one "
                ".dist-info, so convert them from their own conda packages",
            )
        return next(iter(distributions.values()), None)

    def _read_distribution(
        self, directory: str, files: Mapping[str, bytes]
    ) -> _Distribution | None:
        try:
            if directory.endswith(".dist-info"):
                if "METADATA" not in files:
                    self.warnings.append(f"{directory}: no METADATA; ignored")
                    return None
                metadata = MetadataText.parse(files["METADATA"].decode("utf-8"))
                return _Distribution("dist-info", directory, files, metadata)
            if "" in files:  # a single-file egg-info: the PKG-INFO itself
                metadata = egg_info_to_metadata(files[""].decode("utf-8"), None)
                return _Distribution("egg-info", directory, {}, metadata)
            if "PKG-INFO" not in files:
                self.warnings.append(f"{directory}: no PKG-INFO; ignored")
                return None
            requires = files.get("requires.txt")
            metadata = egg_info_to_metadata(
                files["PKG-INFO"].decode("utf-8"), requires.decode("utf-8") if requires else None
            )
            return _Distribution("egg-info", directory, files, metadata)
        except (UnicodeDecodeError, ValueError) as error:
            raise InvalidPackage(
                self.subject, f"{directory}: unreadable metadata ({error})"
            ) from None

    def _check_identity(self, distribution: _Distribution) -> None:
        name = canonicalize_name(distribution.metadata.get("Name") or "")
        expected = {canonicalize_name(self.index.name), self.mapping.pypi_name(self.index.name)}
        if name not in expected:
            self.warnings.append(
                f"conda package {self.index.name!r} carries the Python distribution {name!r}; "
                "the wheel is named after the distribution"
            )

    def _kind(self, distribution: _Distribution | None) -> Literal["python", "library"]:
        if distribution is not None or self._noarch() == "python":
            return "python"
        site = self.layout.site_packages
        if site is None:
            return "library"
        importable = any(
            item.path.startswith(site)
            and (
                item.path.endswith(".py")
                or tags.is_extension_module(item.path)
                or "/" in item.path[len(site) :]
            )
            for item in self.inventory.payload
            if item.never_shipped is None
        )
        return "python" if importable else "library"

    def _identity(
        self, distribution: _Distribution | None, kind: Literal["python", "library"]
    ) -> tuple[str, NormalizedName, Version, str]:
        if distribution is not None:
            display = distribution.metadata.get("Name")
            raw_version = distribution.metadata.get("Version")
            if not display or not raw_version:
                raise InvalidPackage(
                    self.subject, f"{distribution.directory}: METADATA lacks Name or Version"
                )
            try:
                version = Version(raw_version)
            except InvalidVersion:
                raise InvalidPackage(
                    self.subject,
                    f"{distribution.directory}: Version {raw_version!r} is not PEP 440",
                ) from None
            return (
                display,
                canonicalize_name(display),
                version,
                f"from the embedded {distribution.kind}",
            )
        converted = conda_version_to_pep440(self.index.version)
        if converted is None:
            raise UnsupportedPackage(
                self.subject,
                f"conda version {self.index.version!r} has no PEP 440 form "
                "(see README, 'Versions')",
            )
        rule = (
            "conda version"
            if str(converted) == self.index.version
            else (f"conda version {self.index.version!r} mapped to PEP 440 (README, 'Versions')")
        )
        if kind == "python":
            display = self.mapping.pypi_name(self.index.name) or self.index.name
            return display, canonicalize_name(display), converted, rule
        name = library_distribution_name(self.index.name)
        return name, name, converted, rule

    def _commands(self, distribution: _Distribution | None) -> _Commands:
        """Reconcile the embedded ``entry_points.txt`` with link.json's entry points.

        For ``noarch: python`` packages conda creates the commands that link.json lists,
        never reading entry_points.txt; so link.json wins where the two disagree, and a
        command it lists that entry_points.txt lacks is added. Both are recorded.
        """
        original = distribution.files.get("entry_points.txt") if distribution else None
        link_points = self.package.link.entry_points if self.package.link else ()
        read = read_scripts(original)
        if read is None:
            if link_points:
                self.warnings.append(
                    f"{distribution.directory if distribution else ''}/entry_points.txt "
                    "cannot be parsed; kept as it is, without link.json's entry points"
                )
            return _Commands({}, original)
        console, gui = read["console_scripts"], read["gui_scripts"]
        changed = False
        notes: list[JSONObject] = []
        for point in link_points:
            conda_value = f"{point.module}:{point.function}"
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
            self.warnings.append(message)
            notes.append(
                {
                    "command": point.name,
                    "entry_points_txt": declared,
                    "conda": conda_value,
                    "source": "info/link.json",
                    "wheel": f"[console_scripts] {point}",
                }
            )
        return _Commands(
            {"console_scripts": console, "gui_scripts": gui},
            original,
            changed=changed,
            notes=tuple(notes),
        )

    def _wrappers(
        self,
        listed: Mapping[str, PathEntry],
        links: Mapping[str, tuple[str, Literal["file", "directory", "external"]]],
        commands: _Commands,
    ) -> _Commands:
        """Find the conda-generated wrappers that the wheel's entry points replace.

        A wrapper is left out only when it runs the callable the wheel declares for its
        command. Otherwise conda installs that script as the command (``bin/conda`` runs
        ``conda.cli:main`` where conda's entry_points.txt says ``conda.cli.main_pip:main``):
        the wheel ships the script and stops declaring the command, which installers would
        otherwise generate instead of it (pip even skips a script named like an entry point).
        """
        scripts = {section: dict(values) for section, values in commands.scripts.items()}
        wrappers: dict[str, str] = {}
        notes = list(commands.notes)
        changed = commands.changed
        for section, values in commands.scripts.items():
            for name, declared in sorted(values.items()):
                candidates = sorted(layout.entry_point_wrapper_names(self.layout, {name}))
                present = [path for path in candidates if self._body_of(path, listed, links)]
                scripts_found = [path for path in present if not path.endswith(".exe")]
                if not present:
                    continue
                if not scripts_found:  # a lone launcher: made from this same entry point
                    wrappers.update(dict.fromkeys(present, name))
                    continue
                script = scripts_found[0]
                body = self._body_of(script, listed, links)
                runs = wrapper_target(body.head if body else b"", name)
                if runs == LOOKS_UP_ITS_ENTRY_POINT or (
                    runs is not None and callable_path(runs) == callable_path(declared)
                ):
                    wrappers.update(dict.fromkeys(present, name))
                    continue
                del scripts[section][name]
                changed = True
                what = f"runs {runs}" if runs is not None else "is not a generated wrapper"
                self.warnings.append(
                    f"{script} {what}, but entry_points.txt declares '{name} = {declared}'; "
                    f"the wheel ships the script conda installs and does not declare {name!r}"
                )
                notes.append(
                    {
                        "command": name,
                        "entry_points_txt": declared,
                        "conda": runs if runs is not None else script,
                        "source": script,
                        "wheel": f"ships {', '.join(present)}; not in [{section}]",
                    }
                )
        return _Commands(scripts, commands.original, changed, wrappers, tuple(notes))

    def _body_of(
        self,
        path: str,
        listed: Mapping[str, PathEntry],
        links: Mapping[str, tuple[str, Literal["file", "directory", "external"]]],
    ) -> PayloadFile | None:
        """Return the payload file whose bytes ``path`` ships, if it is a listed file."""
        item = self.files.get(path)
        if path not in listed or item is None or item.never_shipped is not None:
            return None
        if item.kind == "file":
            return item
        target, kind = links.get(path, (path, "external"))
        return self.files[target] if kind == "file" else None

    def _dependencies(self, distribution: _Distribution | None) -> DependencyTranslation:
        metadata = distribution.metadata if distribution else None
        try:
            return translate_dependencies(
                self.depends,
                mapping=self.mapping,
                embedded_requires=None if metadata is None else metadata.get_all("Requires-Dist"),
                embedded_requires_python=None
                if metadata is None
                else metadata.get("Requires-Python"),
                subject=self.subject,
            )
        except InvalidMatchSpec as error:
            raise InvalidPackage(self.subject, error.reason) from None

    def _map_payload(
        self,
        listed: Mapping[str, PathEntry],
        links: Mapping[str, tuple[str, Literal["file", "directory", "external"]]],
        data_dir: str,
        distribution: _Distribution | None,
        commands: _Commands,
    ) -> tuple[list[WheelEntry], list[PlaceholderRecord], list[SymlinkRecord]]:
        wrappers = commands.wrappers
        entries: list[WheelEntry] = []
        placeholders: list[PlaceholderRecord] = []
        symlinks: list[SymlinkRecord] = []
        metadata_dir = distribution.directory if distribution else None
        for path, entry in sorted(listed.items()):
            item = self.files.get(path)
            if entry.path_type == "directory" or item is None:
                continue
            if item.never_shipped is not None:
                self.skipped.append(Skipped(path, item.never_shipped))
                continue
            if metadata_dir is not None and (
                path == metadata_dir or path.startswith(metadata_dir + "/")
            ):
                continue  # rebuilt as the wheel's .dist-info
            if (
                layout.is_metadata_candidate(path)
                and self.layout.site_packages
                and path.startswith(self.layout.site_packages)
            ):
                self.skipped.append(
                    Skipped(path, "metadata of another installation record; superseded")
                )
                continue
            command = wrappers.get(path)
            if command is not None:
                self.skipped.append(
                    Skipped(path, f"entry-point wrapper for {command!r}: installers regenerate it")
                )
                continue
            destination = self.layout.destination(path)
            top = destination.path.split("/", 1)[0]
            if destination.scheme == "root" and top.endswith(".data"):
                # Installers read every top-level *.data directory of a wheel as its data
                # directory: this would install files outside site-packages.
                raise InvalidPackage(
                    self.subject,
                    f"{path!r}: a {top!r} directory in site-packages would be a wheel "
                    "data directory (installed outside site-packages)",
                )
            arcname = {
                "root": destination.path,
                "scripts": f"{data_dir}/scripts/{destination.path}",
                "data": f"{data_dir}/data/{destination.path}",
            }[destination.scheme]
            body_path = self._link_body(item, arcname, links, symlinks)
            if body_path is None:
                continue
            body = self.files[body_path]
            executable = (
                bool(item.mode & 0o111) if item.kind != "symlink" else bool(body.mode & 0o111)
            )
            source: EntrySource = FromPayload(body_path)
            if destination.scheme == "scripts":
                first_line = body.head.split(b"\n", 1)[0]
                if layout.is_python_shebang(first_line) and b"\n" in body.head:
                    source = RewrittenScript(body_path, len(first_line) + 1)
                executable = True
            entries.append(WheelEntry(arcname, source, executable, origin=path))
            if entry.prefix_placeholder is not None and entry.file_mode is not None:
                placeholders.append(
                    PlaceholderRecord(path, arcname, entry.prefix_placeholder, entry.file_mode)
                )
            if layout.is_link_script(path):
                self.warnings.append(
                    f"{path}: conda link script; wheels cannot run it (recorded in {SIDECAR_NAME})"
                )
            elif layout.is_menu_file(path):
                self.warnings.append(
                    f"{path}: menuinst shortcut; no installer creates it from a wheel"
                )
        if placeholders:
            text = sum(1 for record in placeholders if record.file_mode == "text")
            binary = len(placeholders) - text
            self.warnings.append(
                f"{text} text and {binary} binary file(s) hold the build prefix; "
                "`condawheel install` relocates them, plain pip/installer do not"
            )
        outside = [record for record in symlinks if record.kind != "file"]
        if outside:
            self.warnings.append(
                f"{len(outside)} symlink(s) to directories or other packages' files are not in "
                "the wheel; `condawheel install` restores them"
            )
        return entries, placeholders, symlinks

    def _link_body(
        self,
        item: PayloadFile,
        arcname: str,
        links: Mapping[str, tuple[str, Literal["file", "directory", "external"]]],
        symlinks: list[SymlinkRecord],
    ) -> str | None:
        """Return whose body a payload entry ships, recording symlinks; ``None``: not shipped."""
        if item.kind not in ("symlink", "hardlink"):
            return item.path
        target, link_kind = links.get(item.path, (item.path, "external"))
        not_shipped = self.files[target].never_shipped if link_kind == "file" else None
        if not_shipped is not None:
            # A link to byte-code: the body is not in the wheel, so neither is the link (a
            # copy of stale byte-code under another name would be worse than nothing).
            reason = f"link to {target}, which is not shipped: {not_shipped}"
            self.skipped.append(Skipped(item.path, reason))
            self.warnings.append(f"{item.path}: {reason}; the link is not in the wheel")
            return None
        if item.kind == "symlink":
            wheel_path = arcname if link_kind == "file" else None
            symlinks.append(SymlinkRecord(item.path, wheel_path, item.link_target or "", link_kind))
        if link_kind == "file":
            return target
        what = "a directory" if link_kind == "directory" else "a file outside this package"
        self.skipped.append(Skipped(item.path, f"symlink to {what}: restored at install"))
        return None

    def _check_stamp(self) -> None:
        stamp = self.options.platform_stamp
        subdir = self.index.subdir
        if stamp is not None and subdir not in {stamp.subdir, "noarch"}:
            raise UnsupportedPackage(
                self.subject,
                f"a package for {subdir} cannot be made for an environment of {stamp.subdir} "
                f"(its build tag {stamp.tag!r} is for {stamp.subdir} packages)",
            )

    def _tags(
        self,
        kind: Literal["python", "library"],
        files: list[WheelEntry],
        deps: DependencyTranslation,
    ) -> tags.TagChoice:
        site = self.layout.site_packages
        extension_modules = (
            tuple(
                entry.arcname
                for entry in files
                if site is not None
                and entry.origin is not None
                and entry.origin.startswith(site)
                and tags.is_extension_module(entry.arcname)
            )
            if kind == "python"
            else ()
        )
        try:
            platform = tags.platform_tag(self.index.subdir, prefix=self.options.platform_prefix)
            stamp = self.options.platform_stamp
            if stamp is not None and self.index.subdir == stamp.subdir:
                platform = stamp.tag
            return tags.choose_tags(
                subdir=self.index.subdir,
                kind=kind,
                noarch_python=self._noarch() == "python",
                python=tags.PythonFacts(
                    site_version=self.layout.python_version,
                    free_threaded=self.layout.free_threaded,
                    extension_modules=extension_modules,
                    abi_pin=deps.abi_pin,
                    abi_pin_version=deps.abi_pin_version,
                    python_minimum=deps.python_minimum,
                ),
                platform=platform,
            )
        except ValueError as error:
            raise UnsupportedPackage(self.subject, str(error)) from None

    def _installed_path(self, entry: WheelEntry) -> str | None:
        """Return where a wheel entry lands, relative to the conda prefix."""
        if entry.origin is None:
            return None
        if self.layout.kind == "noarch-python":
            # conda links site-packages/ into the interpreter's lib/pythonX.Y/site-packages
            # (CEP 20); the version does not matter for $ORIGIN-relative lookups.
            if entry.origin.startswith("site-packages/"):
                return "lib/python3/" + entry.origin
            if entry.origin.startswith("python-scripts/"):
                return "bin/" + entry.origin.removeprefix("python-scripts/")
        return entry.origin

    def _libraries(
        self,
        files: list[WheelEntry],
        deps: DependencyTranslation,
        placeholders: list[PlaceholderRecord],
    ) -> LibraryReport:
        """Resolve every library each binary of the wheel needs (under/over-declaration)."""
        binaries = {}
        for entry in files:
            source = entry.source
            if isinstance(source, Generated):
                continue
            facts = self.files[source.path].binary
            installed = self._installed_path(entry)
            if facts is not None and installed is not None:
                binaries[installed] = facts
        declared = [record.name for record in deps.records if record.kind == "external"]
        report = resolve_libraries(
            binaries,
            declared=declared,
            providers=self.providers,
            prefix_placeholders=sorted({record.placeholder for record in placeholders}),
        )
        # Without --libs-from nothing was searched but the wheel and the system: an
        # unresolved library says nothing about the package (the sidecar keeps the facts).
        if report.unresolved and report.providers_given:
            self.warnings.append(
                f"binaries need libraries nothing provides: {', '.join(report.unresolved)}"
            )
        if report.under_declared:
            self.warnings.append(
                "under-declared: linked libraries come from undeclared packages: "
                + ", ".join(report.under_declared)
            )
        over = [name for name in report.over_declared if name not in _COMPILER_RUNTIMES]
        if over:
            self.warnings.append(
                f"over-declared: no binary links the libraries of {', '.join(over)}"
            )
        return report

    def _metadata(
        self,
        distribution: _Distribution | None,
        kind: Literal["python", "library"],
        display: str,
        version: str,
        deps: DependencyTranslation,
    ) -> bytes:
        if distribution is not None:
            document = distribution.metadata
            if deps.requires_python is not None:
                document = document.without("Requires-Python").with_fields(
                    [("Requires-Python", deps.requires_python)]
                )
            if distribution.kind == "egg-info":
                # The project's name and version stay as they are; the converted egg-info
                # only gains the fields below.
                pass
        else:
            licenses = [name for name, _ in self.package.license_files]
            document = synthesize_metadata(
                name=display,
                version=version,
                about=self.package.about,
                license_field=license_fields(self.index.license, self.package.about.license),
                license_files=licenses,
            )
            if deps.requires_python is not None and kind == "python":
                document = document.with_fields([("Requires-Python", deps.requires_python)])
            document = document.with_fields(("Requires-Dist", text) for text in deps.requires_dist)
        document = document.with_fields(
            ("Requires-External", text) for text in deps.requires_external
        )
        if deps.requires_external:
            document = metadata_version_at_least(document, (1, 2))
        rendered = document.render()
        try:
            Metadata.from_email(rendered, validate=True)
        except MetadataErrors as group:
            reasons = "; ".join(str(error) for error in group.exceptions)
            raise UnsupportedPackage(
                self.subject, f"METADATA does not validate: {reasons}"
            ) from None
        return rendered

    def _sidecar(
        self,
        *,
        kind: str,
        display: str,
        version: str,
        version_rule: str,
        choice: tags.TagChoice,
        build_tag: str,
        deps: DependencyTranslation,
        placeholders: list[PlaceholderRecord],
        symlinks: list[SymlinkRecord],
        listed: Mapping[str, PathEntry],
        libraries: LibraryReport,
        commands: _Commands,
    ) -> JSONObject:
        index = self.index
        link_scripts = sorted(path for path in listed if layout.is_link_script(path))
        menus = sorted(path for path in listed if layout.is_menu_file(path))
        document: JSONObject = {
            "schema_version": SCHEMA_VERSION,
            "generator": f"condawheel {__version__}",
            "source": self.source.to_json(),
            "package": {
                "name": index.name,
                "version": index.version,
                "build": index.build,
                "build_number": index.build_number,
                "subdir": index.subdir,
                "noarch": self._noarch(),
                "paths_source": self.package.paths_source,
            },
            "index": index.raw,
            "wheel": {
                "distribution": display,
                "kind": kind,
                "version": version,
                "version_rule": version_rule,
                "tags": str(choice),
                "tags_reason": choice.reason,
                "build_tag": build_tag,
                "layout": self.layout.kind,
            },
            "depends_from": "index.json" if self.record is None else self.record.origin,
            "dependencies": deps.to_json(),
            "constrains": _json_list(self.constrains),
            "run_exports": self.package.run_exports,
            "prefix_placeholders": [record.to_json() for record in placeholders],
            "symlinks": [record.to_json() for record in symlinks],
            "directories": _json_list(
                path for path, entry in listed.items() if entry.path_type == "directory"
            ),
            "link_scripts": _json_list(link_scripts),
            "menu_files": _json_list(menus),
            "entry_points": {
                **{
                    section: {name: values[name] for name in sorted(values)}
                    for section, values in commands.scripts.items()
                },
                # where entry_points.txt, link.json and the scripts conda installs disagree
                "disagreements": list(commands.notes),
            },
            "skipped": _skipped_summary(self.skipped),
            "warnings": _json_list(self.warnings, ordered=True),
            "libraries": libraries.to_json(),
        }
        if self.record is not None:
            # "index" keeps index.json as the package has it; these are what was used.
            document["record"] = {
                "depends": _json_list(self.record.depends, ordered=True),
                "constrains": _json_list(self.record.constrains, ordered=True),
            }
        return document

    def _dist_info_entries(
        self,
        *,
        dist_info: str,
        distribution: _Distribution | None,
        metadata: bytes,
        sidecar: JSONObject,
        choice: tags.TagChoice,
        build_tag: str,
        commands: _Commands,
    ) -> list[WheelEntry]:
        generated: dict[str, bytes] = {
            "METADATA": metadata,
            "WHEEL": render_wheel_file(
                generator=f"condawheel {__version__}",
                root_is_purelib=self.index.noarch is not None or self._noarch() == "python",
                tags=sorted(str(tag) for tag in choice.tags),
                build=build_tag,
            ),
            SIDECAR_NAME: dump_sidecar(sidecar),
        }
        copied = dict(distribution.members) if distribution is not None else {}
        if commands.changed:
            rendered = render_scripts(commands.original, commands.scripts)
            if rendered.strip():
                generated["entry_points.txt"] = rendered
            else:  # every command it declared is a script of conda's: nothing left
                copied.pop("entry_points.txt", None)
        if distribution is None:
            for name, data in self.package.license_files:
                generated[f"licenses/{name}"] = data
        entries = [
            WheelEntry(f"{dist_info}/{name}", Generated(data)) for name, data in generated.items()
        ]
        for name, path in copied.items():
            if name in generated:
                continue
            entries.append(WheelEntry(f"{dist_info}/{name}", FromPayload(path), origin=path))
        return entries

    def _date_time(self) -> tuple[int, int, int, int, int, int]:
        if self.options.source_date_epoch is not None:
            stamp = self.options.source_date_epoch
        elif self.index.timestamp_ms is not None:
            stamp = self.index.timestamp_ms // 1000
        else:
            stamp = _MIN_TIMESTAMP
        stamp = min(max(stamp, _MIN_TIMESTAMP), _MAX_TIMESTAMP)
        moment = time.gmtime(stamp)
        return (
            moment.tm_year,
            moment.tm_mon,
            moment.tm_mday,
            moment.tm_hour,
            moment.tm_min,
            moment.tm_sec,
        )


def _with_members(distribution: _Distribution) -> _Distribution:
    """Decide which embedded metadata files the wheel's ``.dist-info`` keeps, and where.

    A dist-info keeps everything but the installation records (RECORD, INSTALLER,
    REQUESTED, direct_url.json) and the files condawheel regenerates. Egg-info keeps what
    has a dist-info meaning (entry points, top-level names). ``License-File`` fields of
    METADATA older than 2.4 point at files in the .dist-info root, which core metadata 2.4
    (PEP 639) places under ``licenses/``: such METADATA is raised to 2.4 and the files move,
    as setuptools itself now writes them, so that the METADATA validates.
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
    metadata = distribution.metadata.without_placeholders()
    license_files = metadata.get_all("License-File")
    version = metadata.get("Metadata-Version") or "1.0"
    notes: list[str] = []
    if license_files and tuple(int(p) for p in version.split(".") if p.isdigit()) < (2, 4):
        fields: list[str] = []
        for name in license_files:
            if f"licenses/{name}" in kept:
                fields.append(name)
            elif name in kept:
                kept[f"licenses/{name}"] = kept.pop(name)
                fields.append(name)
            else:
                notes.append(f"{directory}: License-File {name!r} names no file; dropped")
        metadata = metadata.without("License-File").replaced("Metadata-Version", "2.4")
        metadata = metadata.with_fields(("License-File", name) for name in fields)
    return _Distribution(
        distribution.kind, directory, distribution.files, metadata, kept, tuple(notes)
    )


def _skipped_summary(skipped: list[Skipped]) -> JSONObject:
    counts: JSONObject = {}
    for reason in sorted({item.reason for item in skipped}):
        counts[reason] = sum(1 for item in skipped if item.reason == reason)
    return counts


def _json_list(items: Iterable[str], *, ordered: bool = False) -> list[JSONValue]:
    """Return strings as a JSON list, sorted unless their order means something."""
    values: list[JSONValue] = list(items if ordered else sorted(items))
    return values


def _ordered(files: list[WheelEntry], dist_entries: list[WheelEntry]) -> tuple[WheelEntry, ...]:
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
