"""Typed model of a conda package's ``info/`` files, parsed from bytes (pure).

References: CEP 34 (package contents), conda's ``conda/models/records.py`` and
``conda/gateways/disk/read.py`` (``read_paths_json``, ``read_has_prefix``,
``read_package_metadata``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

import msgspec

from condawheel.errors import InvalidPackage
from condawheel.io.collector import cyclic_gc_paused
from condawheel.io.jsondata import JSONProblem, parse_json

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "About",
    "CondaPackage",
    "EntryPoint",
    "FileMode",
    "IndexRecord",
    "JSONObject",
    "LinkInfo",
    "NoarchKind",
    "PathEntry",
    "PathType",
    "RecordDependencies",
    "RecordOrigin",
    "check_relative_path",
    "dependencies_key",
    "parse_package",
    "record_dependencies",
]

NoarchKind: TypeAlias = Literal["python", "generic"]
PathType: TypeAlias = Literal["hardlink", "softlink", "directory"]
FileMode: TypeAlias = Literal["text", "binary"]
RecordOrigin: TypeAlias = Literal["repodata", "conda-meta"]
JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
JSONObject: TypeAlias = "dict[str, JSONValue]"

# The constant placeholder of has_prefix lines that name only a path (conda's
# PREFIX_PLACEHOLDER in conda/base/constants.py).
LEGACY_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"

# CEP 26: names are lowercase [a-z0-9._-] (virtual packages start with "__"); builds are
# [a-zA-Z0-9_.+]. Versions are checked loosely: conda accepts more than CEP 26 describes
# in old packages, so only characters that would break file names are refused.
_NAME = re.compile(r"^[a-z0-9_][a-z0-9._-]*$")
_BUILD = re.compile(r"^[a-zA-Z0-9_.+]+$")
_VERSION = re.compile(r"^[A-Za-z0-9_.+!*]+$")
_SUBDIR = re.compile(r"^(noarch|[a-z0-9]+-[a-z0-9_]+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The entry points specification's ``name = module:attr [extra, ...]``: the extras are
# deprecated but still written (black's ``blackd = blackd:patched_main [d]``, which
# whl2conda copies into link.json as it is).
_ENTRY_POINT = re.compile(
    r"^\s*(?P<name>[^=\s/\\][^=\s/\\]*)\s*=\s*"
    r"(?P<module>[A-Za-z_][\w.]*)\s*:\s*(?P<function>[A-Za-z_][\w.]*)\s*"
    r"(?:\[(?P<extras>\s*[\w.-]+\s*(?:,\s*[\w.-]+\s*)*)\])?\s*$"
)

# Legacy index.json records (before conda-build 3) have platform/arch but no subdir.
_LEGACY_ARCH = {
    "x86_64": "64",
    "x86": "32",
    "aarch64": "aarch64",
    "arm64": "arm64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "armv6l": "armv6l",
    "armv7l": "armv7l",
}


@dataclass(frozen=True)
class IndexRecord:
    """``info/index.json``: the package's identity and dependencies."""

    name: str
    version: str
    build: str
    build_number: int
    subdir: str
    noarch: NoarchKind | None
    depends: tuple[str, ...]
    constrains: tuple[str, ...]
    license: str | None
    license_family: str | None
    timestamp_ms: int | None
    track_features: tuple[str, ...]
    raw: JSONObject = field(compare=False, repr=False)

    @property
    def dist_name(self) -> str:
        """Return the conda ``name-version-build`` string."""
        return f"{self.name}-{self.version}-{self.build}"


class RecordDependencies(msgspec.Struct, frozen=True, gc=False):
    """The ``depends`` and ``constrains`` of a record conda solves with.

    A channel's ``repodata.json`` entry, or the environment's ``conda-meta/<pkg>.json``
    copy of it, may differ from the package's own ``info/index.json``: channels patch
    their repodata after publication (conda-forge loosens or tightens pins), and conda
    uses the patched record, never ``index.json``, once the package is published.
    A msgspec struct, not a frozen dataclass: a whole channel's listing makes one per
    record, and a struct is built many times faster.
    """

    origin: RecordOrigin
    depends: tuple[str, ...]
    constrains: tuple[str, ...]
    extra_depends: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """CEP 44 optional dependency groups: ``(group, specs)``, sorted by group."""

    def differs_from(self, index: IndexRecord) -> bool:
        """Return whether it says something else than ``index.json`` (order aside).

        ``index.json``'s own ``extra-depends`` are not read: a record with groups always
        says more.
        """
        return bool(self.extra_depends) or dependencies_key(
            self.depends, self.constrains
        ) != dependencies_key(index.depends, index.constrains)


def dependencies_key(depends: tuple[str, ...], constrains: tuple[str, ...]) -> str:
    """Return a short digest of a package's ``depends`` and ``constrains`` (order aside).

    The wheelhouse state keeps it to notice a record that changed after its wheel was made.
    """
    text = json.dumps([sorted(depends), sorted(constrains)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_dependencies(
    raw: Mapping[str, object], origin: RecordOrigin
) -> RecordDependencies | str | None:
    """Read ``depends`` / ``constrains`` of a repodata or conda-meta record.

    :returns: the lists; ``None`` if the record has no ``depends`` (``index.json``'s then
        apply); a reason if they are not lists of strings. A missing ``constrains`` is
        empty (repodata omits it then).
    """
    if "depends" not in raw:
        return None
    lists = []
    for key in ("depends", "constrains"):
        value = raw.get(key)
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return f"its {origin} record's {key!r} is not a list of strings"
        lists.append(tuple(value))
    return RecordDependencies(origin, lists[0], lists[1])


# A msgspec struct, not a dataclass: one is made per member of a package, and a frozen
# dataclass costs about 1-1.5 us to make where this costs 0.1 (30,000-60,000 members).
class PathEntry(msgspec.Struct, frozen=True):
    """One ``paths.json`` entry (or one ``info/files`` line in a legacy package)."""

    path: str
    path_type: PathType = "hardlink"
    sha256: str | None = None
    size: int | None = None
    file_mode: FileMode | None = None
    prefix_placeholder: str | None = None
    no_link: bool = False


@dataclass(frozen=True)
class EntryPoint:
    """A console script ``name = module:function [extras]``."""

    name: str
    module: str
    function: str
    extras: tuple[str, ...] = ()

    @property
    def value(self) -> str:
        """Return what follows ``name =``: the object reference and its extras."""
        extras = f" [{', '.join(self.extras)}]" if self.extras else ""
        return f"{self.module}:{self.function}{extras}"

    def __str__(self) -> str:
        """Return the ``entry_points.txt`` spelling."""
        return f"{self.name} = {self.value}"


@dataclass(frozen=True)
class LinkInfo:
    """``info/link.json`` (``package_metadata_version`` 1)."""

    noarch_type: NoarchKind | None
    entry_points: tuple[EntryPoint, ...]
    raw: JSONObject = field(compare=False, repr=False)


@dataclass(frozen=True)
class About:
    """The fields of ``info/about.json`` that reach wheel metadata."""

    summary: str | None = None
    description: str | None = None
    home: str | None = None
    dev_url: str | None = None
    doc_url: str | None = None
    license: str | None = None
    raw: JSONObject = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class CondaPackage:
    """Everything condawheel knows about a package from its ``info/`` directory."""

    index: IndexRecord
    paths: tuple[PathEntry, ...]
    paths_source: Literal["paths.json", "info/files"]
    link: LinkInfo | None
    about: About
    run_exports: JSONObject
    license_files: tuple[tuple[str, bytes], ...]
    repodata_record: JSONObject | None


@cyclic_gc_paused()
def parse_package(subject: str, info_files: Mapping[str, bytes]) -> CondaPackage:
    """Parse the ``info/`` files of one package into a :class:`CondaPackage`.

    :param subject: how to name the package in errors (usually its file name).
    :param info_files: ``info/``-relative paths (``"index.json"``) to their bytes.
    :raises InvalidPackage: listing every problem found, not only the first.
    """
    problems: list[str] = []
    index = _parse_index(info_files, problems)
    paths, paths_source = _parse_paths(info_files, problems)
    link = _parse_link(info_files, problems)
    about = _parse_about(info_files, problems)
    run_exports = _load_object(info_files, "run_exports.json", problems, required=False)
    record = _load_object(info_files, "repodata_record.json", problems, required=False)
    if problems or index is None:
        raise InvalidPackage(subject, problems or ["info/index.json is unusable"])
    if isinstance(run_exports, list):  # CEP 34: a bare list means {"weak": [...]}
        run_exports = {"weak": run_exports}
    licenses = tuple(
        sorted(
            (name.removeprefix("licenses/"), data)
            for name, data in info_files.items()
            if name.startswith("licenses/") and not name.endswith("/")
        )
    )
    return CondaPackage(
        index=index,
        paths=paths,
        paths_source=paths_source,
        link=link,
        about=about,
        run_exports=run_exports if isinstance(run_exports, dict) else {},
        license_files=licenses,
        repodata_record=record if isinstance(record, dict) else None,
    )


# What check_relative_path accepts, as one expression: the answer for every member of a
# package in one call (its checks below say why a path is refused). No drive letter at
# the start; components without '/', '\\' or NUL that are neither '' nor '.' nor '..'.
_SAFE_COMPONENT = r"(?!\.\.?(?:/|\Z))[^/\\\x00]+"
_SAFE_RELATIVE_PATH = re.compile(
    rf"(?![A-Za-z]:){_SAFE_COMPONENT}(?:/{_SAFE_COMPONENT})*", re.DOTALL
)


def check_relative_path(path: str) -> str | None:
    """Return why ``path`` is not a safe prefix-relative path, or ``None`` if it is.

    conda paths are relative, ``/``-separated (even on Windows, paths.json v1) and must
    stay inside the prefix: no absolute paths, drive letters, ``..`` or empty components.
    """
    if _SAFE_RELATIVE_PATH.fullmatch(path):
        return None
    if not path:
        return "empty path"
    if "\x00" in path:
        return f"path {path!r} contains a NUL byte"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        return f"absolute path {path!r}"
    if "\\" in path:
        return f"path {path!r} contains a backslash (paths are '/'-separated)"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"path {path!r} has an empty, '.' or '..' component"
    return None


def _load_object(
    info_files: Mapping[str, bytes], name: str, problems: list[str], *, required: bool
) -> JSONValue:
    data = info_files.get(name)
    if data is None:
        if required:
            problems.append(f"info/{name} is missing")
        return None
    try:
        value = parse_json(data)
    except JSONProblem as problem:
        problems.append(f"info/{name} is {problem}")
        return None
    if not isinstance(value, dict) and not (name == "run_exports.json" and isinstance(value, list)):
        problems.append(f"info/{name} must hold a JSON object, not {type(value).__name__}")
        return None
    return value


def _str_field(
    raw: JSONObject, key: str, problems: list[str], *, pattern: re.Pattern[str] | None = None
) -> str | None:
    value = raw.get(key)
    if value is None:
        problems.append(f"info/index.json: required field {key!r} is missing")
        return None
    if not isinstance(value, str):
        problems.append(f"info/index.json: {key!r} must be a string, not {value!r}")
        return None
    if pattern is not None and not pattern.match(value):
        problems.append(f"info/index.json: {key!r} has invalid value {value!r}")
        return None
    return value


def _optional_str(raw: JSONObject, key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None


def _str_list(raw: JSONObject, key: str, problems: list[str]) -> tuple[str, ...]:
    value = raw.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"info/index.json: {key!r} must be a list of strings")
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _features(raw: JSONObject, key: str) -> tuple[str, ...]:
    # conda accepts a space- or comma-separated string, or (rarely) a list.
    value = raw.get(key)
    if isinstance(value, str):
        return tuple(part for part in re.split(r"[\s,]+", value) if part)
    if isinstance(value, list):
        return tuple(str(part) for part in value)
    return ()


def _noarch(raw: JSONObject, problems: list[str]) -> NoarchKind | None:
    value = raw.get("noarch")
    # conda's NoarchField coerces legacy booleans: true means "generic".
    if value is True:
        return "generic"
    if value in (None, False, ""):
        # conda-build 2 wrote "noarch_python": true instead.
        return "python" if raw.get("noarch_python") is True else None
    if value in ("python", "generic"):
        return "python" if value == "python" else "generic"
    problems.append(f"info/index.json: unknown noarch type {value!r}")
    return None


def _subdir(raw: JSONObject, noarch: NoarchKind | None, problems: list[str]) -> str | None:
    subdir = raw.get("subdir")
    if isinstance(subdir, str) and subdir:
        if not _SUBDIR.match(subdir):
            problems.append(f"info/index.json: invalid subdir {subdir!r}")
            return None
        return subdir
    if noarch is not None:
        return "noarch"
    platform, arch = raw.get("platform"), raw.get("arch")
    if isinstance(platform, str) and isinstance(arch, str) and arch in _LEGACY_ARCH:
        return f"{platform}-{_LEGACY_ARCH[arch]}"
    if platform is None and arch is None:
        problems.append("info/index.json names no platform (no 'subdir', 'platform' or 'arch')")
    else:
        problems.append(
            f"info/index.json: no 'subdir', and platform {platform!r} / arch {arch!r} "
            "do not name one"
        )
    return None


def _parse_index(info_files: Mapping[str, bytes], problems: list[str]) -> IndexRecord | None:
    loaded = _load_object(info_files, "index.json", problems, required=True)
    if not isinstance(loaded, dict):
        return None
    raw: JSONObject = loaded
    before = len(problems)
    name = _str_field(raw, "name", problems, pattern=_NAME)
    version = _str_field(raw, "version", problems, pattern=_VERSION)
    build = _str_field(raw, "build", problems, pattern=_BUILD)
    build_number = raw.get("build_number", 0)
    if isinstance(build_number, bool) or not isinstance(build_number, int) or build_number < 0:
        problems.append(
            f"info/index.json: 'build_number' must be a non-negative integer, not {build_number!r}"
        )
        build_number = 0
    noarch = _noarch(raw, problems)
    subdir = _subdir(raw, noarch, problems)
    depends = _str_list(raw, "depends", problems)
    constrains = _str_list(raw, "constrains", problems)
    timestamp = raw.get("timestamp")
    # Each field that is None put its problem on the list.
    if len(problems) > before or name is None or version is None or build is None or subdir is None:
        return None
    return IndexRecord(
        name=name,
        version=version,
        build=build,
        build_number=build_number,
        subdir=subdir,
        noarch=noarch,
        depends=depends,
        constrains=constrains,
        license=_optional_str(raw, "license"),
        license_family=_optional_str(raw, "license_family"),
        timestamp_ms=timestamp if isinstance(timestamp, int) and timestamp > 0 else None,
        track_features=_features(raw, "track_features"),
        raw=raw,
    )


def _parse_paths(
    info_files: Mapping[str, bytes], problems: list[str]
) -> tuple[tuple[PathEntry, ...], Literal["paths.json", "info/files"]]:
    if "paths.json" in info_files:
        plain = _plain_paths_json(info_files["paths.json"])
        if plain is not None:
            return plain, "paths.json"
        return _parse_paths_json(info_files, problems), "paths.json"
    if "files" in info_files:
        return _parse_legacy_files(info_files, problems), "info/files"
    problems.append("neither info/paths.json nor the legacy info/files is present")
    return (), "paths.json"


class _ListedPath(msgspec.Struct, frozen=True, gc=False):
    """A ``paths.json`` entry of the plain kind, as conda-build and rattler-build write it."""

    path: str = msgspec.field(name="_path")
    path_type: Literal["hardlink", "softlink", "directory"] = "hardlink"
    sha256: str | None = None
    size_in_bytes: int | None = None
    prefix_placeholder: str | None = None
    file_mode: Literal["text", "binary"] | None = None
    no_link: object = False  # only ``true`` counts, as in _parse_path_entry


class _PathsListing(msgspec.Struct, frozen=True, gc=False):
    paths_version: Literal[1]
    paths: list[_ListedPath]


_PATHS_LISTING = msgspec.json.Decoder(_PathsListing)


def _plain_paths_json(data: bytes) -> tuple[PathEntry, ...] | None:
    """Read a ``paths.json`` that has nothing wrong with it, without a dict per entry.

    A package of 30,000 files spends a tenth of a second in :func:`json.loads` building
    dictionaries and in checking each one's fields by hand; msgspec checks the types in
    C while it decodes. Anything this reading does not accept (another type anywhere, a
    path that is unsafe or listed twice, a bad digest, JSON that only :mod:`json`
    reads) returns ``None``: :func:`_parse_paths_json` then reads the document the
    thorough way, which names every problem. Both give equal entries for what this one
    accepts: the checks below are :func:`_parse_path_entry`'s.
    """
    try:
        listing = _PATHS_LISTING.decode(data)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    entries = []
    seen: set[str] = set()
    for raw in listing.paths:
        path = raw.path.removeprefix("./")
        sha256, size, placeholder = raw.sha256, raw.size_in_bytes, raw.prefix_placeholder
        if (
            path in seen
            or check_relative_path(path) is not None
            or (sha256 is not None and not _SHA256.match(sha256))
            or (size is not None and size < 0)
            or placeholder == ""
        ):
            return None
        seen.add(path)
        file_mode = None if placeholder is None else (raw.file_mode or "text")
        no_link = raw.no_link is True
        entries.append(
            PathEntry(path, raw.path_type, sha256, size, file_mode, placeholder, no_link)
        )
    return tuple(entries)


def _parse_paths_json(
    info_files: Mapping[str, bytes], problems: list[str]
) -> tuple[PathEntry, ...]:
    loaded = _load_object(info_files, "paths.json", problems, required=True)
    if not isinstance(loaded, dict):
        return ()
    version = loaded.get("paths_version")
    if version != 1:
        # conda refuses every other version too (read_paths_json).
        if version is None:
            problems.append("info/paths.json has no paths_version (conda requires 1)")
        else:
            problems.append(
                f"info/paths.json: unsupported paths_version {version!r} (only 1 exists)"
            )
        return ()
    raw_entries = loaded.get("paths")
    if not isinstance(raw_entries, list):
        problems.append("info/paths.json: 'paths' must be a list")
        return ()
    entries: list[PathEntry] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_entries):
        entry = _parse_path_entry(position, raw, problems)
        if entry is None:
            continue
        if entry.path in seen:
            problems.append(f"info/paths.json: {entry.path!r} is listed twice")
            continue
        seen.add(entry.path)
        entries.append(entry)
    return tuple(entries)


def _parse_path_entry(position: int, raw: JSONValue, problems: list[str]) -> PathEntry | None:
    where = f"info/paths.json entry {position}"
    if not isinstance(raw, dict):
        problems.append(f"{where} is not an object")
        return None
    path = raw.get("_path")
    if not isinstance(path, str):
        problems.append(f"{where} has no '_path' string")
        return None
    path = path.removeprefix("./")
    unsafe = check_relative_path(path)
    if unsafe is not None:
        problems.append(f"info/paths.json: {unsafe}")
        return None
    path_type = raw.get("path_type", "hardlink")
    if path_type not in ("hardlink", "softlink", "directory"):
        problems.append(f"info/paths.json: {path!r} has unknown path_type {path_type!r}")
        return None
    sha256 = raw.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256)):
        problems.append(f"info/paths.json: {path!r} has an invalid sha256 {sha256!r}")
        return None
    size = raw.get("size_in_bytes")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        problems.append(f"info/paths.json: {path!r} has an invalid size_in_bytes {size!r}")
        return None
    placeholder = raw.get("prefix_placeholder")
    file_mode = raw.get("file_mode")
    if placeholder is not None:
        if not isinstance(placeholder, str) or not placeholder:
            problems.append(f"info/paths.json: {path!r} has an invalid prefix_placeholder")
            return None
        if file_mode is None:
            file_mode = "text"
    if file_mode is not None and file_mode not in ("text", "binary"):
        problems.append(f"info/paths.json: {path!r} has unknown file_mode {file_mode!r}")
        return None
    return PathEntry(
        path=path,
        path_type="softlink"
        if path_type == "softlink"
        else ("directory" if path_type == "directory" else "hardlink"),
        sha256=sha256,
        size=size,
        file_mode=None if placeholder is None else ("binary" if file_mode == "binary" else "text"),
        prefix_placeholder=placeholder,
        no_link=raw.get("no_link") is True,
    )


def _decode_lines(info_files: Mapping[str, bytes], name: str, problems: list[str]) -> list[str]:
    data = info_files.get(name)
    if data is None:
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"info/{name} is not UTF-8")
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parse_legacy_files(
    info_files: Mapping[str, bytes], problems: list[str]
) -> tuple[PathEntry, ...]:
    # Packages built before paths.json (conda-build < 2.0): conda rebuilds the path list
    # from info/files + info/has_prefix + info/no_link (read_has_prefix, read_no_link).
    placeholders: dict[str, tuple[str, FileMode]] = {}
    for line in _decode_lines(info_files, "has_prefix", problems):
        try:
            parts = shlex.split(line, posix=True)
        except ValueError:
            problems.append(f"info/has_prefix: cannot parse line {line!r}")
            continue
        if len(parts) == 1:
            placeholders[parts[0]] = (LEGACY_PLACEHOLDER, "text")
        elif len(parts) == 3 and parts[1] in ("text", "binary"):  # noqa: PLR2004
            placeholders[parts[2]] = (parts[0], "binary" if parts[1] == "binary" else "text")
        else:
            problems.append(f"info/has_prefix: cannot parse line {line!r}")
    no_link = set(_decode_lines(info_files, "no_link", problems))
    entries: list[PathEntry] = []
    seen: set[str] = set()
    for raw_path in _decode_lines(info_files, "files", problems):
        path = raw_path.removeprefix("./")
        unsafe = check_relative_path(path)
        if unsafe is not None:
            problems.append(f"info/files: {unsafe}")
            continue
        if path in seen:
            continue
        seen.add(path)
        placeholder, mode = placeholders.get(path, (None, None))
        entries.append(
            PathEntry(
                path=path,
                prefix_placeholder=placeholder,
                file_mode=mode,
                no_link=path in no_link,
            )
        )
    return tuple(entries)


def _parse_link(info_files: Mapping[str, bytes], problems: list[str]) -> LinkInfo | None:
    loaded = _load_object(info_files, "link.json", problems, required=False)
    if not isinstance(loaded, dict):
        return None
    version = loaded.get("package_metadata_version", 1)
    if version != 1:
        problems.append(
            f"info/link.json: unsupported package_metadata_version {version!r} (only 1 exists)"
        )
        return None
    noarch = loaded.get("noarch")
    noarch_type: NoarchKind | None = None
    entry_points: list[EntryPoint] = []
    if isinstance(noarch, dict):
        kind = noarch.get("type")
        noarch_type = "python" if kind == "python" else ("generic" if kind == "generic" else None)
        raw_points = noarch.get("entry_points", [])
        if not isinstance(raw_points, list):
            problems.append("info/link.json: 'entry_points' must be a list")
            raw_points = []
        for raw_point in raw_points:
            match = _ENTRY_POINT.match(raw_point) if isinstance(raw_point, str) else None
            if match is None or match["name"].startswith("."):
                problems.append(f"info/link.json: invalid entry point {raw_point!r}")
                continue
            extras = tuple(part.strip() for part in (match["extras"] or "").split(",") if part)
            entry_points.append(
                EntryPoint(match["name"], match["module"], match["function"], extras)
            )
    return LinkInfo(noarch_type=noarch_type, entry_points=tuple(entry_points), raw=loaded)


def _parse_about(info_files: Mapping[str, bytes], problems: list[str]) -> About:
    loaded = _load_object(info_files, "about.json", problems, required=False)
    if not isinstance(loaded, dict):
        return About()
    return About(
        summary=_optional_str(loaded, "summary"),
        description=_optional_str(loaded, "description"),
        home=_optional_str(loaded, "home"),
        dev_url=_optional_str(loaded, "dev_url"),
        doc_url=_optional_str(loaded, "doc_url"),
        license=_optional_str(loaded, "license"),
        raw=loaded,
    )
