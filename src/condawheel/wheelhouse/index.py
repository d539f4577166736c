"""The wheelhouse index: PEP 503 / PEP 691 pages and PEP 658 metadata files, written atomically.

Layout (``W`` is the wheelhouse directory)::

    W/<wheel>.whl                  the wheels, conda-tagged and ordinary, side by side
    W/<wheel>.whl.metadata         PEP 658: the bytes of the wheel's *.dist-info/METADATA
    W/simple/index.html            PEP 503 project list
    W/simple/index.json            PEP 691 project list
    W/simple/<project>/index.html  PEP 503 file list: ../../<wheel>#sha256=..., PEP 658/714
    W/simple/<project>/index.json  PEP 691 (api-version 1.1) file list, same relative URLs
    W/simple/.cache.json           stat -> hashes cache of :func:`index_wheelhouse`
    W/simple-plain/, W/simple-conda/   the same pages for the wheels without conda tags, and
                                   for the conda wheels alone (:mod:`condawheel.wheelhouse.views`)
    W/index.html                   the front page, for people
                                   (:mod:`condawheel.wheelhouse.frontpage`)

Why (pip 23.2, 24.2 and 26.3 read and run against this layout):

* ``--index-url file://W/simple``: pip turns a ``file:`` URL naming a directory into
  ``<dir>/index.html`` (``pip._internal.index.collector._get_index_content``, whose comment
  notes that there is no standard file name for PEP 691 JSON); pip never reads JSON from
  ``file:``. So the HTML page must be ``index.html``.
* Over HTTP pip asks ``Accept: application/vnd.pypi.simple.v1+json,
  application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.01`` and accepts only those three
  types. A static server (``python -m http.server``, nginx or S3 defaults) cannot negotiate:
  it answers ``GET /simple/<project>/`` with ``index.html`` as ``text/html``, which pip
  parses; a ``.json`` file would be served as ``application/json`` and be refused.
* Hence the JSON form is a second file, ``index.json``, beside the HTML. Clients that want
  JSON fetch it by name; a server that can negotiate maps the ``Accept`` header onto it
  (nginx: ``map $http_accept $simple_index`` feeding ``index $simple_index;`` plus
  ``types { application/vnd.pypi.simple.v1+json json; }``), or serves ``simple/`` a second
  time with ``index.json`` as its index (PEP 691 "endpoint configuration"). Relative URLs
  resolve alike from ``simple/<p>/`` and ``simple/<p>/index.json``.
* File links point at the wheelhouse root, so ``W`` also works as ``--find-links W``: pip
  lists that directory and parses its top-level ``*.html`` files only
  (``_FlatDirectorySource``), so ``simple/`` is not read twice and ``.metadata`` files are
  skipped as an unsupported extension.
* PEP 714: HTML carries ``data-core-metadata`` and the legacy ``data-dist-info-metadata``
  with the same value (pip before 23.2 reads only the latter); JSON carries only
  ``core-metadata``, because pip 22.3 - 23.1 crash on ``dist-info-metadata`` in JSON. With
  either, pip fetches ``<file URL>.metadata`` (over ``file:`` too) and resolves without
  downloading wheels; pip 26 then downloads nothing at all for ``--dry-run``.
* Every character of a file name outside RFC 3986 "unreserved" is percent-encoded in URLs,
  ``+`` of local versions included (S3 reads a literal ``+`` in a path as a space); text
  and attributes are HTML-escaped and pages are pure ASCII, so no charset is guessed.

Incremental and crash-safe: :func:`build_index` renders every page in memory (pure and
cheap); :func:`write_index` compares each page with the bytes on disk and writes only those
that differ, each to a temporary file renamed into place, so readers never see a partial
file and an unchanged wheelhouse rewrites nothing. Metadata files are written before the
pages that advertise them, project pages before the project list, and stale pages and
metadata files are removed only after the pages that listed them; the front page is
written after the index pages. Callers hold the wheelhouse lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Final
from urllib.parse import quote

from packaging.metadata import parse_email
from packaging.utils import (
    InvalidName,
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from condawheel.errors import InvalidWheel, WheelhouseError
from condawheel.io.digests import hash_stream
from condawheel.io.files import NAME_MAX, write_atomically
from condawheel.io.jsondata import JSONProblem, parse_json
from condawheel.io.wheelfile import open_wheel
from condawheel.sidecar import SIDECAR_NAME
from condawheel.wheelhouse.frontpage import (
    FRONT_PAGE,
    MAX_SIDECAR_SIZE,
    LastSync,
    WheelSummary,
    render_front_page,
    summarize_wheel,
    summary_from_json,
    with_last_sync,
)
from condawheel.wheelhouse.state import LAST_SYNC, read_state_meta
from condawheel.wheelhouse.views import PLAIN_DIR, VIEW_DIRS, is_plain_wheel

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from pathlib import Path

    from packaging.utils import NormalizedName

__all__ = [
    "CACHE_PATH",
    "METADATA_SUFFIX",
    "SIMPLE_DIR",
    "FileStamp",
    "IndexUpdate",
    "IndexedWheel",
    "SkippedWheel",
    "WheelhouseScan",
    "build_front_page",
    "build_index",
    "describe_known_wheel",
    "index_wheelhouse",
    "metadata_file_name",
    "read_cache",
    "recorded_last_sync",
    "refresh_last_sync",
    "scan_wheelhouse",
    "write_cache",
    "write_index",
]

SIMPLE_DIR: Final = "simple"
CACHE_PATH: Final = "simple/.cache.json"
METADATA_SUFFIX: Final = ".metadata"
# PEP 629 / PEP 691: 1.1 is PEP 700 (JSON "versions" and per-file "size").
REPOSITORY_VERSION: Final = "1.1"
# A METADATA member larger than this is treated as hostile (PyPI's largest are a few MiB).
MAX_METADATA_SIZE: Final = 16 << 20
# 2: each entry also holds the wheel's front-page summary.
_CACHE_FORMAT = 2
_PAGES = ("index.html", "index.json")
# Temporary files of the index. Not the converter's ``.condawheel-tmp-`` (writer.TEMP_PREFIX):
# a run removes leftovers of its own kind only, never a wheel being written. Both start with
# ".condawheel-", which scan_wheelhouse ignores like every hidden file.
TEMP_PREFIX: Final = ".condawheel-index-"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class IndexedWheel:
    """What the index says about one wheel: enough to list it without opening it."""

    filename: str
    """The wheel's file name in the wheelhouse root (PEP 427)."""
    size: int
    """The wheel's size in bytes (PEP 700 ``size``)."""
    sha256: str
    """Lower-case hex sha256 of the whole wheel file."""
    metadata_sha256: str
    """Lower-case hex sha256 of ``<filename>.metadata``, the wheel's METADATA (PEP 658)."""
    requires_python: str | None = None
    """The METADATA ``Requires-Python`` value, as written there."""
    summary: WheelSummary | None = None
    """What the front page shows about it (None: not read; shown as not a conda wheel)."""


@dataclass(frozen=True)
class FileStamp:
    """The cache key of a wheel: what one ``stat`` says about it.

    condawheel never replaces a wheel by different bytes (it refuses to), and a file dropped
    over another by hand changes its size or modification time; so an unchanged stamp is
    taken to mean unchanged bytes. ``index_wheelhouse(..., rehash=True)`` trusts nothing.
    """

    filename: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SkippedWheel:
    """A ``*.whl`` file the index leaves out, and why."""

    filename: str
    reason: str

    def __str__(self) -> str:
        """Return the one-line warning ``<filename>: <reason>``."""
        return f"{self.filename}: {self.reason}"


@dataclass(frozen=True)
class WheelhouseScan:
    """What :func:`scan_wheelhouse` found, and the cache content that describes it now."""

    wheels: tuple[IndexedWheel, ...]
    """Every indexable wheel, sorted by file name."""
    skipped: tuple[SkippedWheel, ...] = ()
    cache: Mapping[FileStamp, IndexedWheel] = field(default_factory=dict)
    """Stamp -> entry for every wheel in ``wheels``: what a cache should hold from now on."""
    written: tuple[str, ...] = ()
    """Metadata files (re)written, relative to the wheelhouse."""


@dataclass(frozen=True)
class IndexUpdate:
    """What an index run changed; paths are relative to the wheelhouse, ``/``-separated."""

    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    projects_written: tuple[NormalizedName, ...] = ()
    """Projects whose pages were created or rewritten."""
    projects_removed: tuple[NormalizedName, ...] = ()
    """Projects whose pages were removed because none of their wheels is left."""
    views_written: tuple[str, ...] = ()
    """Pages of the plain and conda views (``simple-plain/``, ``simple-conda/``) written."""
    views_removed: tuple[str, ...] = ()
    skipped: tuple[SkippedWheel, ...] = ()
    indexed: int = 0
    """How many wheels the index lists."""

    def to_json(self) -> dict[str, object]:
        """Return the record ``condawheel index --json`` prints."""
        return {
            "written": list(self.written),
            "removed": list(self.removed),
            "views_written": list(self.views_written),
            "views_removed": list(self.views_removed),
            "skipped": [{"filename": s.filename, "reason": s.reason} for s in self.skipped],
            "indexed": self.indexed,
        }

    def summary(self) -> str:
        """Return ``N wheels indexed, N files written, N removed[, N not indexed]``."""

        def count(number: int, noun: str) -> str:
            return f"{number} {noun}{'' if number == 1 else 's'}"

        parts = [
            f"{count(self.indexed, 'wheel')} indexed",
            f"{count(len(self.written), 'file')} written",
            f"{len(self.removed)} removed",
        ]
        if self.skipped:
            parts.append(f"{count(len(self.skipped), 'wheel')} not indexed")
        return ", ".join(parts)


class _UnusableWheelError(WheelhouseError):
    """A ``*.whl`` file that cannot be indexed; it becomes a :class:`SkippedWheel`."""


# What _parse_project raises for a name that is no wheel's (packaging's, both ValueErrors):
# caught by name, so that a bug is never reported as a bad file name.
_INVALID_NAME: Final = (InvalidWheelFilename, InvalidName)


def _parse_project(filename: str) -> tuple[NormalizedName, Version]:
    # The name becomes a path segment of simple/ and must be nameable in a requirement,
    # so it must also be a valid core-metadata Name (packaging < 26.3 accepts e.g. "").
    name, version, _, _ = parse_wheel_filename(filename)
    canonicalize_name(filename.partition("-")[0], validate=True)
    return name, version


def metadata_file_name(filename: str) -> str | None:
    """Return the name of a wheel's PEP 658 metadata file, or ``None`` if it cannot have one.

    A wheel's name may be as long as a file name can be (:data:`NAME_MAX` bytes), and
    ``.metadata`` appended to one of more than 246 bytes makes a name that no common file
    system stores. Such a wheel is listed without ``core-metadata``: PEP 658 makes the file
    optional, and installers then read METADATA from the wheel itself.
    """
    name = filename + METADATA_SUFFIX
    return name if len(name.encode()) <= NAME_MAX else None


def _is_hex_sha256(value: str) -> bool:
    return len(value) == 64 and _HEX.issuperset(value)  # noqa: PLR2004 - 256 bits in hex


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def _url(filename: str) -> str:
    # The project pages live two levels below the wheelhouse root.
    return "../../" + quote(filename, safe="")


def _html(title: str, body: list[str]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        '<meta charset="utf-8">',
        f'<meta name="pypi:repository-version" content="{REPOSITORY_VERSION}">',
        f"<title>{_text(title)}</title>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines).encode("ascii", "xmlcharrefreplace")


def _json(document: dict[str, object]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("ascii")


def _file_anchor(wheel: IndexedWheel) -> str:
    attributes = [f'href="{_text(_url(wheel.filename))}#sha256={wheel.sha256}"']
    if wheel.requires_python is not None:
        attributes.append(f'data-requires-python="{_text(wheel.requires_python)}"')
    if metadata_file_name(wheel.filename) is not None:
        # PEP 714: the new name is required; pip before 23.2 reads only the old one.
        attributes.append(f'data-core-metadata="sha256={wheel.metadata_sha256}"')
        attributes.append(f'data-dist-info-metadata="sha256={wheel.metadata_sha256}"')
    return f"<a {' '.join(attributes)}>{_text(wheel.filename)}</a><br>"


def _file_json(wheel: IndexedWheel) -> dict[str, object]:
    entry: dict[str, object] = {
        "filename": wheel.filename,
        "url": _url(wheel.filename),
        "hashes": {"sha256": wheel.sha256},
        "size": wheel.size,
    }
    if metadata_file_name(wheel.filename) is not None:
        # PEP 714: never the old "dist-info-metadata" key in JSON (pip 22.3 - 23.1 crash on it).
        entry["core-metadata"] = {"sha256": wheel.metadata_sha256}
    if wheel.requires_python is not None:
        entry["requires-python"] = wheel.requires_python
    return entry


def _by_project(
    wheels: Iterable[IndexedWheel],
) -> list[tuple[NormalizedName, list[tuple[Version, IndexedWheel]]]]:
    """Group ``wheels`` by project, projects by name and files by version, then file name.

    :raises WheelhouseError: as :func:`build_index`.
    """
    projects: dict[NormalizedName, list[tuple[Version, IndexedWheel]]] = {}
    seen: set[str] = set()
    for wheel in wheels:
        if wheel.filename in seen:
            raise WheelhouseError(wheel.filename, "listed twice; a file name is indexed once")
        seen.add(wheel.filename)
        for label, value in (("sha256", wheel.sha256), ("metadata_sha256", wheel.metadata_sha256)):
            if not _is_hex_sha256(value):
                raise WheelhouseError(
                    wheel.filename, f"{label} {value!r} is not lower-case hex sha256"
                )
        try:
            project, version = _parse_project(wheel.filename)
        except _INVALID_NAME as error:
            raise WheelhouseError(wheel.filename, f"not a valid wheel file name: {error}") from None
        projects.setdefault(project, []).append((version, wheel))
    return [
        (name, sorted(projects[name], key=lambda item: (item[0], item[1].filename)))
        for name in sorted(projects)
    ]


def build_index(wheels: Iterable[IndexedWheel], *, root: str = SIMPLE_DIR) -> dict[str, bytes]:
    """Render the whole ``simple/`` tree for ``wheels``; pure and deterministic.

    Projects and files are sorted (files by version, then file name) and nothing depends
    on the clock, so the same wheels always give the same bytes.

    :param wheels: every wheel of the wheelhouse (the index lists exactly these).
    :param root: the index folder, ``simple`` or a view's (:mod:`condawheel.wheelhouse.views`).
    :returns: path relative to the wheelhouse (``simple/<project>/index.html``, ...) -> bytes,
        sorted by path.
    :raises WheelhouseError: if a file name is not a valid wheel name, a hash is not hex
        sha256, or a file name is listed twice.
    """
    projects = _by_project(wheels)
    names = [name for name, _ in projects]
    files = {
        f"{root}/index.html": _html(
            "Simple index", [f'<a href="{quote(name)}/">{name}</a><br>' for name in names]
        ),
        f"{root}/index.json": _json(
            {"meta": {"api-version": REPOSITORY_VERSION}, "projects": [{"name": n} for n in names]}
        ),
    }
    for name, ordered in projects:
        title = f"Links for {name}"
        files[f"{root}/{name}/index.html"] = _html(
            title, [f"<h1>{_text(title)}</h1>", *(_file_anchor(wheel) for _, wheel in ordered)]
        )
        files[f"{root}/{name}/index.json"] = _json(
            {
                "meta": {"api-version": REPOSITORY_VERSION},
                "name": name,
                "versions": list(dict.fromkeys(str(version) for version, _ in ordered)),
                "files": [_file_json(wheel) for _, wheel in ordered],
            }
        )
    return dict(sorted(files.items()))


def build_front_page(wheels: Iterable[IndexedWheel], last_sync: LastSync | None) -> bytes:
    """Render the front page ``index.html`` for ``wheels``; pure and deterministic.

    :raises WheelhouseError: as :func:`build_index`.
    """
    projects = [(name, [wheel for _, wheel in items]) for name, items in _by_project(wheels)]
    return render_front_page(projects, last_sync)


def _is_metadata_member(name: str) -> bool:
    # PEP 427: exactly one {name}-{version}.dist-info/ at the root of the archive.
    directory, slash, base = name.partition("/")
    return bool(slash) and directory.endswith(".dist-info") and base == "METADATA"


def _read_metadata(filename: str, handle: BinaryIO, *, verify: bool) -> tuple[bytes, WheelSummary]:
    """Return the wheel's METADATA and its front-page summary (from METADATA and conda.json).

    ``verify``: also check every member (see wheel_damage).

    :raises InvalidWheel: if the wheel cannot be read, or METADATA is too large.
    """
    with open_wheel(handle, subject=filename) as archive:
        members = [name for name in archive.names if _is_metadata_member(name)]
        if len(members) != 1:
            raise _UnusableWheelError(
                filename, f"needs exactly one *.dist-info/METADATA (PEP 427), found {members!r}"
            )
        data = archive.read(members[0], limit=MAX_METADATA_SIZE)
        sidecar_name = members[0].rpartition("/")[0] + "/" + SIDECAR_NAME
        sidecar, problem = None, None
        if sidecar_name in archive.names:
            try:
                sidecar = archive.read(sidecar_name, limit=MAX_SIDECAR_SIZE)
            except InvalidWheel as error:
                problem = error.reason  # the page says so (and --rehash reports damage)
        damage = archive.damage() if verify else None
    if damage is not None:
        raise _UnusableWheelError(filename, damage)
    return data, summarize_wheel(data, sidecar, problem=problem)


def _requires_python(
    filename: str, metadata: bytes, project: NormalizedName, version: Version
) -> str | None:
    # pip refuses a distribution whose METADATA names another project or version than its
    # link (MetadataInconsistent), and that would break every resolution of the project.
    raw, _ = parse_email(metadata)
    name = raw.get("name")
    if name is None or canonicalize_name(name) != project:
        raise _UnusableWheelError(
            filename, f"METADATA Name {name!r} is not the file name's project {project!r}"
        )
    try:
        declared = Version(raw.get("version", ""))
    except InvalidVersion:
        declared = None
    if declared != version:
        raise _UnusableWheelError(
            filename,
            f"METADATA Version {raw.get('version')!r} is not the file name's {str(version)!r}",
        )
    return raw.get("requires_python")


def describe_known_wheel(
    directory: Path, filename: str, *, sha256: str, metadata: bytes, summary: WheelSummary
) -> tuple[FileStamp, IndexedWheel]:
    """Describe a wheel whose digest, METADATA and summary are already known, for the cache.

    A sync has just made the wheel: reading it back to hash it and find its METADATA would
    repeat work. Writes the PEP 658 ``.metadata`` file as :func:`scan_wheelhouse` would.
    ``summary``: :func:`~condawheel.wheelhouse.frontpage.summarize_wheel` of its METADATA
    and ``conda.json``.

    :raises WheelhouseError: if the wheel cannot be stat-ed or the metadata file written.
    """
    try:
        project, version = _parse_project(filename)
        info = (directory / filename).stat()
        requires_python = _requires_python(filename, metadata, project, version)
    except (*_INVALID_NAME, OSError, _UnusableWheelError) as error:
        raise WheelhouseError(str(directory / filename), f"cannot be indexed: {error}") from None
    metadata_name = metadata_file_name(filename)
    if metadata_name is not None:
        _write_if_changed(directory / metadata_name, metadata, directory)
    wheel = IndexedWheel(
        filename=filename,
        size=info.st_size,
        sha256=sha256,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
        requires_python=requires_python,
        summary=summary,
    )
    return FileStamp(filename, info.st_size, info.st_mtime_ns), wheel


def _read_wheel(path: Path, *, verify: bool) -> tuple[FileStamp, IndexedWheel, bytes]:
    filename = path.name
    try:
        project, version = _parse_project(filename)
    except _INVALID_NAME as error:
        raise _UnusableWheelError(filename, f"not a valid wheel file name: {error}") from None
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            digest = hash_stream(handle)
            metadata, summary = _read_metadata(filename, handle, verify=verify)
    except OSError as error:
        raise _UnusableWheelError(filename, f"cannot be read: {error.strerror or error}") from None
    wheel = IndexedWheel(
        filename=filename,
        size=info.st_size,
        sha256=digest.sha256,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
        requires_python=_requires_python(filename, metadata, project, version),
        summary=summary,
    )
    return FileStamp(filename, info.st_size, info.st_mtime_ns), wheel, metadata


def _replace(path: Path, data: bytes, temp_dir: Path) -> None:
    """Write ``data`` to a temporary file in ``temp_dir`` and rename it onto ``path``."""
    try:
        write_atomically(path, data, prefix=TEMP_PREFIX, temp_folder=temp_dir)
    except OSError as error:
        raise WheelhouseError(str(path), f"cannot write: {error.strerror or error}") from None


def _write_if_changed(path: Path, data: bytes, temp_dir: Path) -> bool:
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass  # missing or unreadable: (re)write it
    _mkdir(path.parent)
    _replace(path, data, temp_dir)
    return True


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WheelhouseError(str(path), f"cannot create: {error.strerror or error}") from None


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise WheelhouseError(str(path), f"cannot remove: {error.strerror or error}") from None
    return True


def _list(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as error:
        raise WheelhouseError(str(directory), f"cannot list: {error.strerror or error}") from None


def _has_metadata_file(path: Path) -> bool:
    try:
        # METADATA is never empty (Metadata-Version, Name and Version are required).
        return path.stat().st_size > 0
    except OSError:
        return False


def scan_wheelhouse(
    directory: Path, cache: Mapping[FileStamp, IndexedWheel] | None = None, *, verify: bool = False
) -> WheelhouseScan:
    """Describe every ``*.whl`` in ``directory`` and write its PEP 658 ``.metadata`` file.

    A wheel whose stamp is in ``cache`` (and whose metadata file exists) is not opened;
    any other is hashed once and only its METADATA member is decompressed. A file that
    cannot be indexed (bad name, unreadable zip, no or several METADATA, METADATA naming
    another project or version) is reported in ``skipped``, never raised. Hidden files
    (the converter's temporary wheels) are ignored; leftovers of a killed index run are
    removed, so the caller must hold the wheelhouse lock.

    :param directory: the wheelhouse root; subdirectories are not scanned.
    :param cache: stamps -> entries from an earlier scan (:func:`read_cache`, or the
        wheelhouse state database); entries for files that changed are simply not used.
    :param verify: also decompress every member of each wheel opened and check its CRC
        (:func:`~condawheel.io.wheelfile.wheel_damage`); a damaged wheel is skipped.
    :raises WheelhouseError: if the directory cannot be listed or a metadata file written.
    """
    known = cache if cache is not None else {}
    wheels: list[IndexedWheel] = []
    skipped: list[SkippedWheel] = []
    fresh: dict[FileStamp, IndexedWheel] = {}
    written: list[str] = []
    for entry in _list(directory):
        name = entry.name
        if name.startswith(TEMP_PREFIX):
            _remove(directory / name)
            continue
        if name.startswith(".") or not name.endswith(".whl"):
            continue
        metadata_name = metadata_file_name(name)
        try:
            info = entry.stat()
        except OSError as error:
            skipped.append(SkippedWheel(name, f"cannot be read: {error.strerror or error}"))
            continue
        if not stat.S_ISREG(info.st_mode):  # a directory, or a FIFO that would block open()
            skipped.append(SkippedWheel(name, "not a regular file"))
            continue
        stamp = FileStamp(name, info.st_size, info.st_mtime_ns)
        cached = known.get(stamp)
        if (
            cached is not None
            and (cached.filename, cached.size) == (name, info.st_size)
            and (metadata_name is None or _has_metadata_file(directory / metadata_name))
        ):
            wheels.append(cached)
            fresh[stamp] = cached
            continue
        try:
            stamp, wheel, metadata = _read_wheel(directory / name, verify=verify)
        except (_UnusableWheelError, InvalidWheel) as error:
            skipped.append(SkippedWheel(name, error.reason))
            continue
        if metadata_name is not None and _write_if_changed(
            directory / metadata_name, metadata, directory
        ):
            written.append(metadata_name)
        wheels.append(wheel)
        fresh[stamp] = wheel
    return WheelhouseScan(tuple(wheels), tuple(skipped), fresh, tuple(written))


def write_index(
    directory: Path, wheels: Iterable[IndexedWheel], *, last_sync: LastSync | None = None
) -> IndexUpdate:
    """Bring ``directory/simple/``, the ``.metadata`` files and the front page in line.

    Only pages whose bytes change are written (each atomically: temporary file, then
    rename), project pages before the project list, the views, then the front page
    (``index.html``); then pages of projects that have no wheel left, and
    ``<wheel>.metadata`` files of wheels not in ``wheels``, are removed. The metadata files
    of ``wheels`` must already exist (:func:`scan_wheelhouse` writes them).

    :param directory: the wheelhouse root.
    :param wheels: every wheel to list; anything not listed is removed from the index.
    :param last_sync: what the front page says of the last sync (None: none recorded).
    :raises WheelhouseError: if ``wheels`` is inconsistent (see :func:`build_index`) or a
        file cannot be written or removed.
    """
    wheels = tuple(wheels)
    written, removed = _write_tree(directory, SIMPLE_DIR, wheels)
    views_written: list[str] = []
    views_removed: list[str] = []
    for root in VIEW_DIRS:
        plain = root == PLAIN_DIR
        subset = [wheel for wheel in wheels if is_plain_wheel(wheel.filename) == plain]
        done = _write_tree(directory, root, subset)
        views_written += done[0]
        views_removed += done[1]
    if _write_if_changed(directory / FRONT_PAGE, build_front_page(wheels, last_sync), directory):
        written.append(FRONT_PAGE)
    listed = {wheel.filename + METADATA_SUFFIX for wheel in wheels}
    for entry in _list(directory):
        name = entry.name
        stale = name.endswith(".whl" + METADATA_SUFFIX) and name not in listed
        if stale and not name.startswith(".") and _remove(directory / name):
            removed.append(name)
    return IndexUpdate(
        written=tuple(written),
        removed=tuple(removed),
        projects_written=_projects(written),
        projects_removed=_projects(removed),
        views_written=tuple(views_written),
        views_removed=tuple(views_removed),
        indexed=len(wheels),
    )


def _write_tree(
    directory: Path, root: str, wheels: Sequence[IndexedWheel]
) -> tuple[list[str], list[str]]:
    """Write one index tree (``simple/`` or a view); return the pages written and removed."""
    files = build_index(wheels, root=root)
    index_root = directory / root
    pages = {f"{root}/{page}" for page in _PAGES}
    # Project pages first (a stable sort puts the two root pages last): the project list
    # must not name a project before its page exists.
    written = [
        relative
        for relative in sorted(files, key=lambda relative: relative in pages)
        if _write_if_changed(directory / relative, files[relative], index_root)
    ]
    projects = {_project_of(relative, root) for relative in files} - {None}
    return written, _remove_stale_pages(index_root, projects, root)


def _project_of(relative: str, root: str = SIMPLE_DIR) -> str | None:
    parts = relative.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == root else None  # noqa: PLR2004


def _projects(paths: Iterable[str]) -> tuple[NormalizedName, ...]:
    return tuple(sorted({canonicalize_name(p) for p in map(_project_of, paths) if p is not None}))


def _remove_stale_pages(simple: Path, projects: set[str | None], root: str) -> list[str]:
    removed: list[str] = []
    for entry in _list(simple):
        name = entry.name
        if name.startswith(TEMP_PREFIX):
            _remove(simple / name)  # the leftover of a killed run
        elif name not in projects and entry.is_dir(follow_symlinks=False):
            removed.extend(
                f"{root}/{name}/{page}" for page in _PAGES if _remove(simple / name / page)
            )
            with contextlib.suppress(OSError):  # other files in it are not ours: leave them
                (simple / name).rmdir()
    return removed


def _cache_entry(raw: object) -> tuple[FileStamp, IndexedWheel] | None:
    if not isinstance(raw, dict):
        return None
    filename, size, mtime_ns = raw.get("filename"), raw.get("size"), raw.get("mtime_ns")
    sha256, metadata_sha256 = raw.get("sha256"), raw.get("metadata_sha256")
    requires_python = raw.get("requires_python")
    summary = summary_from_json(raw.get("summary"))
    if not (
        isinstance(filename, str)
        and isinstance(size, int)
        and isinstance(mtime_ns, int)
        and isinstance(sha256, str)
        and _is_hex_sha256(sha256)
        and isinstance(metadata_sha256, str)
        and _is_hex_sha256(metadata_sha256)
        and (requires_python is None or isinstance(requires_python, str))
        and summary is not None
    ):
        return None
    wheel = IndexedWheel(filename, size, sha256, metadata_sha256, requires_python, summary)
    return FileStamp(filename, size, mtime_ns), wheel


def read_cache(path: Path) -> dict[FileStamp, IndexedWheel]:
    """Load a cache written by :func:`write_cache`; anything unreadable is just a miss.

    A missing, corrupt or other-format file gives an empty cache, and malformed entries
    are dropped: the cost of a bad cache is re-hashing, never a wrong index.
    """
    try:
        document = parse_json(path.read_bytes())
    except (OSError, JSONProblem):
        return {}
    if not isinstance(document, dict) or document.get("format") != _CACHE_FORMAT:
        return {}
    entries = document.get("wheels")
    if not isinstance(entries, list):
        return {}
    return dict(entry for raw in entries if (entry := _cache_entry(raw)) is not None)


def write_cache(path: Path, cache: Mapping[FileStamp, IndexedWheel]) -> bool:
    """Store ``cache`` as deterministic JSON at ``path`` (atomically, only if it changed).

    :returns: whether the file was written.
    :raises WheelhouseError: if the file cannot be written.
    """
    entries = [
        {
            "filename": stamp.filename,
            "size": stamp.size,
            "mtime_ns": stamp.mtime_ns,
            "sha256": wheel.sha256,
            "metadata_sha256": wheel.metadata_sha256,
            "requires_python": wheel.requires_python,
            # None is never read back as a summary: such an entry is a miss, and re-read.
            "summary": None if wheel.summary is None else wheel.summary.to_json(),
        }
        for stamp, wheel in sorted(cache.items(), key=lambda item: item[0].filename)
    ]
    return _write_if_changed(path, _json({"format": _CACHE_FORMAT, "wheels": entries}), path.parent)


def refresh_last_sync(directory: Path, last_sync: LastSync) -> bool | None:
    """Put ``last_sync`` into the front page in place, when no wheel changed; whether it was.

    Reads and rewrites one file instead of rendering the page from every wheel's summary.

    :returns: None if the page is missing or not one this condawheel rendered (the caller
        then writes the whole index); else whether the page was written.
    :raises WheelhouseError: if the page cannot be written.
    """
    page = directory / FRONT_PAGE
    try:
        current = page.read_bytes()
    except OSError:
        return None
    fresh = with_last_sync(current, last_sync)
    if fresh is None:
        return None
    if fresh == current:
        return False
    _replace(page, fresh, directory)
    return True


def recorded_last_sync(directory: Path) -> LastSync | None:
    """Return what the wheelhouse state says the last sync did (None: nothing readable)."""
    text = read_state_meta(directory, LAST_SYNC)
    if text is None:
        return None
    try:
        return LastSync.from_json(parse_json(text))
    except JSONProblem:
        return None


def index_wheelhouse(
    directory: Path,
    *,
    rehash: bool = False,
    exclude: Collection[str] = (),
    last_sync: LastSync | None = None,
) -> IndexUpdate:
    """Scan ``directory`` and bring its index up to date, using ``simple/.cache.json``.

    This is ``condawheel index DIR``; ``sync`` calls it too, with the ``last_sync`` it is
    about to record. A caller with its own cache calls :func:`scan_wheelhouse` and
    :func:`write_index` itself instead.

    :param rehash: ignore the cache, hash every wheel again and verify it (every member's
        CRC): a damaged wheel is skipped, so reported and no longer listed (the cache is
        then rewritten). Damage that keeps a wheel's size and mtime is seen only so.
    :param exclude: wheel file names to leave out although present (about to be pruned:
        the index stops listing a wheel before its file goes).
    :param last_sync: what the front page says of the last sync; None: what the
        wheelhouse state recorded (:func:`recorded_last_sync`).
    :raises WheelhouseError: if the wheelhouse cannot be listed or the index written.
    """
    cache_path = directory / CACHE_PATH
    scan = scan_wheelhouse(directory, {} if rehash else read_cache(cache_path), verify=rehash)
    if last_sync is None:
        last_sync = recorded_last_sync(directory)
    update = write_index(
        directory, [w for w in scan.wheels if w.filename not in exclude], last_sync=last_sync
    )
    write_cache(
        cache_path, {stamp: w for stamp, w in scan.cache.items() if stamp.filename not in exclude}
    )
    return IndexUpdate(
        written=(*scan.written, *update.written),
        removed=update.removed,
        projects_written=update.projects_written,
        projects_removed=update.projects_removed,
        views_written=update.views_written,
        views_removed=update.views_removed,
        skipped=scan.skipped,
        indexed=update.indexed,
    )
