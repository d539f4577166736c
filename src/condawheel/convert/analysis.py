"""Find out what a conda package is (pure): the facts the wheel plan decides on.

Input: the parsed ``info/`` (:class:`CondaPackage`) and the payload facts of the single
reading pass (:class:`Inventory`). Output: a frozen :class:`PackageAnalysis` that says what
the package holds, with no decision about the wheel: its layout, the payload held to
``paths.json``, every link resolved, the embedded ``.dist-info``/``.egg-info``, its
commands and the wrapper scripts conda-build made for them. Every problem found is
collected, and all of them are raised together in one error (``str()`` stays one line),
so that a broken package is reported once, not one problem per run.
"""

from __future__ import annotations

import csv
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from condawheel import tags
from condawheel.conda.matchspec import (
    conda_version_to_pep440,
    parse_matchspec,
    translate_version_spec,
)
from condawheel.convert import layout
from condawheel.convert.wheelmakers import recognise_wheel_tool
from condawheel.errors import InvalidMatchSpec, InvalidPackage, UnsupportedPackage
from condawheel.io.collector import cyclic_gc_paused
from condawheel.links import LinkOutside, PackageTree, ResolvedLink, resolve_symlink
from condawheel.metadata import MetadataText, egg_info_to_metadata, read_scripts, wrapper_target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.utils import NormalizedName

    from condawheel.conda.condameta import CondaPackage, IndexRecord, PathEntry, RecordDependencies
    from condawheel.convert.ingest import Inventory, PayloadFile
    from condawheel.convert.wheelmakers import MadeFromWheel
    from condawheel.sidecar import SourceArtifact

__all__ = [
    "DistributionPart",
    "EmbeddedDistribution",
    "PackageAnalysis",
    "Problem",
    "WrapperScripts",
    "analyze_package",
    "no_pep440_form",
    "problems_error",
    "raise_problems",
]

_SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One reason a package cannot be converted.

    :param unsupported: a valid package that no single wheel can express; otherwise the
        package itself is corrupt, inconsistent or hostile.
    """

    reason: str
    unsupported: bool = False


@dataclass(frozen=True)
class EmbeddedDistribution:
    """The package's own ``*.dist-info`` or ``*.egg-info``, as read from its payload.

    :param directory: its conda path (a directory, or a single-file egg-info).
    :param files: each file inside it by its name there (``""``: a single-file egg-info).
    :param metadata: METADATA, or PKG-INFO (and ``requires.txt``) converted to METADATA.
    :param name: the ``Name`` it declares.
    :param version: the ``Version`` it declares.
    """

    kind: Literal["dist-info", "egg-info"]
    directory: str
    files: Mapping[str, bytes]
    metadata: MetadataText
    name: str
    version: Version


@dataclass(frozen=True)
class DistributionPart:
    """One of several Python distributions a package holds, and the files its RECORD lists.

    :param paths: the listed conda paths that belong to it: its metadata directory and
        every file its RECORD names (PEP 376), relative to site-packages.
    :param scripts: its ``entry_points.txt`` script sections (see :class:`PackageAnalysis`).
    :param wrappers: the conda-build wrappers of its commands.
    """

    distribution: EmbeddedDistribution
    paths: frozenset[str]
    scripts: Mapping[str, Mapping[str, str]] | None
    wrappers: Mapping[str, WrapperScripts]


@dataclass(frozen=True)
class WrapperScripts:
    """The wrappers conda-build generated for one command, found in the package.

    :param paths: the candidate wrapper paths that the package ships as files.
    :param script: the first of them that is a script (not a ``.exe`` launcher).
    :param runs: what that script runs (``module:attr``), :data:`~condawheel.metadata.
        LOOKS_UP_ITS_ENTRY_POINT`, or ``None`` when it is a program of its own.
    """

    paths: tuple[str, ...]
    script: str | None
    runs: str | None


@dataclass(frozen=True)
class PackageAnalysis:
    """What one conda package is, as far as its wheel is concerned.

    :param subject: how errors name the package.
    :param record: the repodata or conda-meta record's dependencies when they differ from
        ``index.json`` (a repodata patch), else ``None``.
    :param listed: the ``paths.json`` entries by path: what conda installs.
    :param payload: what the reading pass learnt about each archive member, by path.
    :param unlisted: payload files that ``paths.json`` does not list (conda does not
        install them), other than those no wheel ever ships.
    :param links: each listed link: for ``file``, the payload path whose bytes it carries
        (hard links and links to files); else where it points, inside the prefix.
    :param distribution_notes: what was noticed while reading the embedded metadata.
    :param importable: site-packages holds importable Python code.
    :param conda_version: the conda version's PEP 440 form, if it has one.
    :param scripts: the script entry points ``entry_points.txt`` declares by section
        (empty without one; ``None`` if it cannot be parsed).
    :param wrappers: for each command named by ``entry_points.txt`` or ``link.json``,
        the generated wrappers the package ships.
    :param made_from_wheel: the tool that made the package from a wheel (whl2conda,
        conda-pypi), if it says so.
    :param parts: for a package holding several Python distributions, each of them with
        the files its RECORD lists (then ``distribution`` is ``None``); the plan makes one
        wheel per distribution and one for the files no RECORD lists.
    :param split_role: set on the analyses the plan derives for the wheels of a split
        package: ``"distribution"`` (one distribution's files) or ``"rest"`` (the others).
    :param rest_wheel: for a ``"distribution"`` part, the requirement on the wheel of the
        rest (``conda-pkg-pyqt==5.15.9``; ``None``: there is none).
    :param depends_override: the conda dependencies this wheel answers for, when it is
        one part of a split package.
    """

    subject: str
    package: CondaPackage
    source: SourceArtifact
    record: RecordDependencies | None
    noarch: Literal["python", "generic"] | None
    layout: layout.Layout
    listed: Mapping[str, PathEntry]
    payload: Mapping[str, PayloadFile]
    unlisted: tuple[str, ...]
    links: Mapping[str, ResolvedLink]
    distribution: EmbeddedDistribution | None
    distribution_notes: tuple[str, ...]
    importable: bool
    conda_version: Version | None
    scripts: Mapping[str, Mapping[str, str]] | None
    wrappers: Mapping[str, WrapperScripts] = field(default_factory=dict)
    made_from_wheel: MadeFromWheel | None = None
    parts: tuple[DistributionPart, ...] = ()
    split_role: Literal["distribution", "rest"] | None = None
    rest_wheel: str | None = None
    depends_override: tuple[str, ...] | None = None

    @property
    def index(self) -> IndexRecord:
        """The package's ``info/index.json``."""
        return self.package.index

    @property
    def depends(self) -> tuple[str, ...]:
        """The dependencies conda installs the package with (this part's, when split)."""
        if self.depends_override is not None:
            return self.depends_override
        return self.index.depends if self.record is None else self.record.depends

    @property
    def constrains(self) -> tuple[str, ...]:
        """The constraints conda installs the package with."""
        return self.index.constrains if self.record is None else self.record.constrains

    @property
    def listing_name(self) -> str:
        """The ``info/`` file that lists the payload."""
        return "info/paths.json" if self.package.paths_source == "paths.json" else "info/files"


@cyclic_gc_paused()
def analyze_package(
    package: CondaPackage,
    inventory: Inventory,
    *,
    source: SourceArtifact,
    subject: str | None = None,
    record: RecordDependencies | None = None,
) -> PackageAnalysis:
    """Find out what one conda package is, and every problem that stops its conversion.

    :param subject: how errors name the input (default: the artifact's file name).
    :param record: the ``depends`` / ``constrains`` of the record conda installs the
        package by (a channel's repodata, an environment's conda-meta).
    :raises InvalidPackage: when the payload contradicts its metadata or is hostile,
        listing every problem found (and any of the kind below).
    :raises UnsupportedPackage: when no single wheel can express the package.
    """
    subject = subject or source.filename
    index = package.index
    noarch = _noarch(package)
    listed = {entry.path: entry for entry in package.paths}
    payload = inventory.by_path()
    problems = list(_check_payload(package, listed, payload))
    links, link_problems = _resolve_links(inventory, listed, payload)
    problems += link_problems
    found = layout.detect_layout(
        [item.path for item in inventory.payload], subdir=index.subdir, noarch=noarch
    )
    if isinstance(found, str):  # nothing below can be known without the layout
        raise problems_error(subject, [*problems, Problem(found, unsupported=True)])
    distribution, several, notes, distribution_problems = _embedded_distribution(
        found, inventory.metadata_files
    )
    problems += distribution_problems
    owned, ownership_problems = _record_ownership(found, several, listed)
    problems += ownership_problems
    conda_version = conda_version_to_pep440(index.version)
    if conda_version is None and distribution is None and not distribution_problems:
        problems.append(Problem(no_pep440_form(index.version), unsupported=True))
    effective = record if record is not None and record.differs_from(index) else None
    problems += _check_depends(index.depends if effective is None else effective.depends)
    problems += _check_data_directories(found, listed, payload)
    raise_problems(subject, problems)
    original = distribution.files.get("entry_points.txt") if distribution else None
    scripts = read_scripts(original)
    parts = tuple(
        DistributionPart(
            part,
            paths,
            read_scripts(part.files.get("entry_points.txt")),
            _wrappers(
                package, found, read_scripts(part.files.get("entry_points.txt")), listed,
                payload, links, link_points=False,
            ),
        )
        for part, paths in owned
    )  # fmt: skip
    return PackageAnalysis(
        subject=subject,
        package=package,
        source=source,
        record=effective,
        noarch=noarch,
        layout=found,
        listed=listed,
        payload=payload,
        unlisted=tuple(
            item.path
            for item in inventory.payload
            if item.kind != "directory" and item.path not in listed and item.never_shipped is None
        ),
        links=links,
        distribution=distribution,
        distribution_notes=notes,
        importable=_importable(found, inventory),
        conda_version=conda_version,
        scripts=scripts,
        wrappers=_wrappers(package, found, scripts, listed, payload, links),
        made_from_wheel=None
        if distribution is None or distribution.kind != "dist-info"
        else recognise_wheel_tool(package.about.raw, distribution.files, distribution.metadata),
        parts=parts,
    )


def raise_problems(subject: str, problems: list[Problem]) -> None:
    """Raise every problem in one error (:func:`problems_error`), if there is any."""
    if problems:
        raise problems_error(subject, problems)


def problems_error(subject: str, problems: list[Problem]) -> InvalidPackage | UnsupportedPackage:
    """Return the one error that carries every problem, in the order they were found.

    :returns: :class:`InvalidPackage` if any problem is one of the package itself, else
        :class:`UnsupportedPackage` (every problem is one of expressing it as a wheel); the
        first problems in full, then how many more there are.
    """
    reasons = [problem.reason for problem in problems[:_SHOWN_PROBLEMS]]
    if len(problems) > _SHOWN_PROBLEMS:
        # A hostile package can hold millions of bad members: the line stays readable.
        reasons.append(f"and {len(problems) - _SHOWN_PROBLEMS} more problem(s)")
    if all(problem.unsupported for problem in problems):
        return UnsupportedPackage(subject, reasons)
    return InvalidPackage(subject, reasons)


def no_pep440_form(conda_version: str) -> str:
    """Say that a package without Python metadata has a version PEP 440 cannot express."""
    return f'conda version {conda_version!r} has no PEP 440 form (see docs/convert.md, "Versions")'


def _noarch(package: CondaPackage) -> Literal["python", "generic"] | None:
    if package.link is not None and package.link.noarch_type == "python":
        return "python"
    return package.index.noarch


def _check_payload(
    package: CondaPackage, listed: Mapping[str, PathEntry], payload: Mapping[str, PayloadFile]
) -> list[Problem]:
    """Hold the payload to ``paths.json``: every listed file present and unaltered."""
    problems: list[Problem] = []
    missing: list[str] = []
    for path, entry in listed.items():
        item = payload.get(path)
        if entry.path_type == "directory":
            continue
        if item is None:
            missing.append(path)
            continue
        if item.kind == "directory":
            problems.append(Problem(f"{path!r} is listed as a file but is a directory"))
            continue
        if item.kind != "file" or item.sha256 is None:
            continue  # links are checked once resolved; skipped bodies were not read
        # For a softlink, paths.json holds the hash of the final target (conda-build and
        # rattler-build agree on that; not on size_in_bytes, so size is not compared): a
        # regular file standing in for a link must still carry the target's bytes.
        if entry.sha256 and entry.sha256 != item.sha256:
            problems.append(
                Problem(
                    f"{path!r}: content sha256 {item.sha256[:12]}... does not match "
                    f"info/paths.json ({entry.sha256[:12]}...)"
                )
            )
        elif entry.path_type == "hardlink" and entry.size is not None and entry.size != item.size:
            problems.append(
                Problem(f"{path!r}: {item.size} bytes, but info/paths.json says {entry.size}")
            )
    if missing:
        shown = ", ".join(repr(path) for path in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""  # noqa: PLR2004
        listing = "info/files" if package.paths_source == "info/files" else "info/paths.json"
        problems.append(
            Problem(
                f"{listing} lists {len(missing)} file(s) the archive does not contain: "
                f"{shown}{more}"
            )
        )
    return problems


def _resolve_links(
    inventory: Inventory, listed: Mapping[str, PathEntry], payload: Mapping[str, PayloadFile]
) -> tuple[dict[str, ResolvedLink], list[Problem]]:
    """Resolve every listed hard and symbolic link; refuse those that leave the prefix.

    Symbolic links are followed component by component through the package's own links
    (:mod:`condawheel.links`), as the operating system will once they are installed.
    """
    resolved: dict[str, ResolvedLink] = {}
    problems: list[Problem] = []
    tree: PackageTree | None = None  # built for the first symbolic link: most have none
    for item in inventory.payload:
        if item.path not in listed or item.kind not in ("hardlink", "symlink"):
            continue
        if item.kind == "hardlink":
            target = payload.get(item.link_target or "")
            if target is None or target.kind != "file":
                problems.append(
                    Problem(f"hard link {item.path!r} names a missing member {item.link_target!r}")
                )
            else:
                resolved[item.path] = ResolvedLink(target.path, "file")
            continue
        if tree is None:
            tree = PackageTree.of(
                (member.path, member.kind, member.link_target) for member in inventory.payload
            )
        found = resolve_symlink(tree, item.path)
        if found == "empty":
            problems.append(Problem(f"symlink {item.path!r} has an empty target"))
        elif found == "loop":
            problems.append(Problem(f"symlink {item.path!r} is part of a loop"))
        elif isinstance(found, LinkOutside):
            through = "" if found.through is None else f" through the symlink {found.through!r}"
            problems.append(
                Problem(
                    f"symlink {item.path!r} -> {item.link_target!r} points outside the package"
                    + through
                )
            )
        elif found.kind == "file":
            body = _link_body(found.path, payload)
            resolved[item.path] = body
            if body.kind == "file":
                problems += _check_link_hash(item.path, body.path, listed, payload)
        else:
            resolved[item.path] = found
    return resolved, problems


def _link_body(path: str, payload: Mapping[str, PayloadFile]) -> ResolvedLink:
    """Return the file whose bytes a link to the file ``path`` carries (a hard link's)."""
    item = payload[path]
    if item.kind != "hardlink":
        return ResolvedLink(path, "file")
    target = payload.get(item.link_target or "")
    if target is None or target.kind != "file":
        return ResolvedLink(path, "external")  # a broken hard link: nothing to copy
    return ResolvedLink(target.path, "file")


def _check_link_hash(
    link: str, body: str, listed: Mapping[str, PathEntry], payload: Mapping[str, PayloadFile]
) -> list[Problem]:
    entry = listed[link]
    target = payload[body]
    if entry.sha256 and target.sha256 and entry.sha256 != target.sha256:
        return [
            Problem(
                f"symlink {link!r}: its target's sha256 {target.sha256[:12]}... does not "
                f"match info/paths.json ({entry.sha256[:12]}...)"
            )
        ]
    return []


def _embedded_distribution(
    found: layout.Layout, metadata_files: Mapping[str, bytes]
) -> tuple[
    EmbeddedDistribution | None, tuple[EmbeddedDistribution, ...], tuple[str, ...], list[Problem]
]:
    """Find the package's own ``*.dist-info`` or ``*.egg-info``.

    :returns: the distribution when there is one; the distributions when there are several
        dist-info directories, each with a RECORD to split the package by; notes about
        metadata directories ignored; and problems.
    """
    site = found.site_packages
    if site is None:
        return None, (), (), []
    groups: dict[str, dict[str, bytes]] = {}
    for path, data in metadata_files.items():
        if not path.startswith(site):
            continue
        top, _, rest = path[len(site) :].partition("/")
        groups.setdefault(site + top, {})[rest] = data
    notes: list[str] = []
    problems: list[Problem] = []
    distributions: dict[NormalizedName, _Metadata] = {}
    for directory, files in sorted(groups.items()):
        read = _read_metadata(directory, files)
        if isinstance(read, str):
            notes.append(read)
            continue
        if isinstance(read, Problem):
            problems.append(read)
            continue
        key = canonicalize_name(read.metadata.get("Name") or "")
        previous = distributions.get(key)
        # A dist-info beats an egg-info of the same project (a newer install record).
        if previous is None or (previous.kind == "egg-info" and read.kind == "dist-info"):
            distributions[key] = read
    if len(distributions) > 1:
        shown = ", ".join(sorted(d.directory.rsplit("/", 1)[-1] for d in distributions.values()))
        unsplittable = [d for d in distributions.values() if "RECORD" not in d.files]
        if unsplittable:
            problems.append(
                Problem(
                    f"holds several Python distributions ({shown}), and "
                    f"{unsplittable[0].directory.rsplit('/', 1)[-1]} has no RECORD to split "
                    "the package by; convert them from their own conda packages",
                    unsupported=True,
                )
            )
            return None, (), tuple(notes), problems
        several = [_identified(read) for read in distributions.values()]
        found_problems = [item for item in several if isinstance(item, Problem)]
        if problems or found_problems:
            return None, (), tuple(notes), problems + found_problems
        parts = tuple(item for item in several if isinstance(item, EmbeddedDistribution))
        return None, parts, tuple(notes), []
    chosen = next(iter(distributions.values()), None)
    if problems or chosen is None:
        return None, (), tuple(notes), problems
    identified = _identified(chosen)
    if isinstance(identified, Problem):
        return None, (), tuple(notes), [identified]
    return identified, (), tuple(notes), []


def _record_ownership(
    found: layout.Layout,
    distributions: tuple[EmbeddedDistribution, ...],
    listed: Mapping[str, PathEntry],
) -> tuple[list[tuple[EmbeddedDistribution, frozenset[str]]], list[Problem]]:
    """Say which listed files each distribution's RECORD names (PEP 376).

    RECORD paths are relative to site-packages; one that leaves it (``../../../bin/x``) is
    not followed: such files go with the files no RECORD names. A file two RECORDs name
    cannot be split.
    """
    site = found.site_packages
    if site is None or not distributions:
        return [], []
    owners: dict[str, str] = {}
    owned: list[tuple[EmbeddedDistribution, frozenset[str]]] = []
    problems: list[Problem] = []
    for distribution in distributions:
        paths = {path for path in listed if path.startswith(distribution.directory + "/")}
        for row in csv.reader(distribution.files["RECORD"].decode("utf-8", "replace").splitlines()):
            if not row or not row[0]:
                continue
            path = posixpath.normpath(site + row[0])
            if path.startswith(site) and path in listed:
                paths.add(path)
        for path in sorted(paths):
            other = owners.setdefault(path, distribution.name)
            if other != distribution.name:
                problems.append(
                    Problem(
                        f"{path!r} is named by the RECORDs of both {other} and "
                        f"{distribution.name}: the package cannot be split by them",
                        unsupported=True,
                    )
                )
        owned.append((distribution, frozenset(paths)))
    return owned, problems[:1]


@dataclass(frozen=True)
class _Metadata:
    kind: Literal["dist-info", "egg-info"]
    directory: str
    files: Mapping[str, bytes]
    metadata: MetadataText


def _read_metadata(directory: str, files: Mapping[str, bytes]) -> _Metadata | Problem | str:
    """Read one metadata directory; a ``str`` says why it is ignored."""
    try:
        if directory.endswith(".dist-info"):
            if "METADATA" not in files:
                return f"{directory}: no METADATA; ignored"
            metadata = MetadataText.parse(files["METADATA"].decode("utf-8"))
            return _Metadata("dist-info", directory, files, metadata)
        if "" in files:  # a single-file egg-info: the PKG-INFO itself
            metadata = egg_info_to_metadata(files[""].decode("utf-8"), None)
            return _Metadata("egg-info", directory, {}, metadata)
        if "PKG-INFO" not in files:
            return f"{directory}: no PKG-INFO; ignored"
        requires = files.get("requires.txt")
        metadata = egg_info_to_metadata(
            files["PKG-INFO"].decode("utf-8"), requires.decode("utf-8") if requires else None
        )
        return _Metadata("egg-info", directory, files, metadata)
    except (UnicodeDecodeError, ValueError) as error:
        return Problem(f"{directory}: unreadable metadata ({error})")


def _identified(read: _Metadata) -> EmbeddedDistribution | Problem:
    """Check the name and version the embedded metadata declares."""
    name = read.metadata.get("Name")
    raw_version = read.metadata.get("Version")
    if not name or not raw_version:
        return Problem(f"{read.directory}: METADATA lacks Name or Version")
    try:
        version = Version(raw_version)
    except InvalidVersion:
        return Problem(f"{read.directory}: Version {raw_version!r} is not PEP 440")
    return EmbeddedDistribution(read.kind, read.directory, read.files, read.metadata, name, version)


def _check_depends(depends: tuple[str, ...]) -> list[Problem]:
    """Check that every dependency is a MatchSpec (CEP 29) with a version conda reads."""
    return [Problem(reason) for spec in depends if (reason := _matchspec_problem(spec))]


def _matchspec_problem(spec: str) -> str | None:
    try:
        translate_version_spec(parse_matchspec(spec).version)
    except InvalidMatchSpec as error:
        return f"depends entry {spec!r}: {error.reason}"
    return None


def _check_data_directories(
    found: layout.Layout, listed: Mapping[str, PathEntry], payload: Mapping[str, PayloadFile]
) -> list[Problem]:
    """Refuse a ``*.data`` directory at the top of site-packages.

    Installers read every top-level ``*.data`` directory of a wheel as its data directory
    (PEP 427): its files would be installed outside site-packages.
    """
    problems: list[Problem] = []
    # Only a path that holds ".data" can have it end its top directory in site-packages.
    for path in sorted(path for path in listed if ".data" in path):
        entry, item = listed[path], payload.get(path)
        if entry.path_type == "directory" or item is None or item.never_shipped is not None:
            continue
        destination = found.destination(path)
        top = destination.path.split("/", 1)[0]
        if destination.scheme == "root" and top.endswith(".data"):
            problems.append(
                Problem(
                    f"{path!r}: a {top!r} directory in site-packages would be a wheel "
                    "data directory (installed outside site-packages)"
                )
            )
    return problems


def _importable(found: layout.Layout, inventory: Inventory) -> bool:
    """Return whether site-packages holds modules, extension modules or packages."""
    site = found.site_packages
    if site is None:
        return False
    return any(
        item.path.startswith(site)
        and (
            item.path.endswith(".py")
            or tags.is_extension_module(item.path)
            or "/" in item.path[len(site) :]
        )
        for item in inventory.payload
        if item.never_shipped is None
    )


def _body_of(
    path: str,
    listed: Mapping[str, PathEntry],
    payload: Mapping[str, PayloadFile],
    links: Mapping[str, ResolvedLink],
) -> PayloadFile | None:
    item = payload.get(path)
    if path not in listed or item is None or item.never_shipped is not None:
        return None
    if item.kind == "file":
        return item
    link = links.get(path)
    return payload[link.path] if link is not None and link.kind == "file" else None


def _wrappers(
    package: CondaPackage,
    found: layout.Layout,
    scripts: Mapping[str, Mapping[str, str]] | None,
    listed: Mapping[str, PathEntry],
    payload: Mapping[str, PayloadFile],
    links: Mapping[str, ResolvedLink],
    *,
    link_points: bool = True,
) -> dict[str, WrapperScripts]:
    """Find the wrappers conda-build generated for each command the package declares.

    :param link_points: count link.json's entry points too (not for one distribution
        of a split package: they are the package's, not its own).
    """
    commands = {name for values in (scripts or {}).values() for name in values}
    if link_points:
        commands.update(point.name for point in (package.link.entry_points if package.link else ()))
    wrappers: dict[str, WrapperScripts] = {}
    for command in sorted(commands):
        candidates = sorted(layout.entry_point_wrapper_names(found, {command}))
        present = [path for path in candidates if _body_of(path, listed, payload, links)]
        if not present:
            continue
        script = next((path for path in present if not path.endswith(".exe")), None)
        body = None if script is None else _body_of(script, listed, payload, links)
        runs = None if body is None else wrapper_target(body.head, command)
        wrappers[command] = WrapperScripts(tuple(present), script, runs)
    return wrappers
