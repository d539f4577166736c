"""List conda channels: folders (with or without repodata.json) and HTTP(S) URLs.

A channel is ``<channel>/<subdir>/``, each subdir holding ``*.conda`` / ``*.tar.bz2`` files
and, when indexed, ``repodata.json`` (CEP 15 for ``info.base_url``). Where repodata exists,
it *is* the channel, as for conda: a file it does not list is skipped, a file it lists
but which is missing fails, and each file must match the sha256, md5 and size it
promises, and its record's ``depends`` / ``constrains`` (a repodata patch's, where they
differ from the package's ``index.json``) are the wheel's. A folder subdir without
repodata is listed by its file names (``<name>-<version>-<build>.conda``). Over HTTP,
``repodata.json.zst`` is preferred (CEP 16's compressed form), then ``repodata.json``,
then ``repodata.json.bz2``; the subdirs are those ``channeldata.json`` names, or, without
it, every known subdir that has repodata. A URL where none has any is no channel.
"""

from __future__ import annotations

import bz2
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

from condawheel.condameta import RecordDependencies, record_dependencies
from condawheel.errors import SourceError
from condawheel.io.http import RetryPolicy, fetch
from condawheel.subdirs import KNOWN_SUBDIRS
from condawheel.wheelhouse.artifacts import (
    Artifact,
    ListingProblem,
    artifact_format,
    parse_artifact_filename,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from types import ModuleType

__all__ = [
    "ChannelListing",
    "RepodataRecord",
    "file_url_to_path",
    "list_folder_channel",
    "list_http_channel",
    "parse_repodata",
]

REPODATA_NAMES: Final = ("repodata.json", "repodata.json.zst", "repodata.json.bz2")
_HTTP_ORDER: Final = ("repodata.json.zst", "repodata.json", "repodata.json.bz2")
_PACKAGE_KEYS: Final = ("packages", "packages.conda")
# A repodata document over HTTP may not be longer than this (io.http refuses the rest).
_MAX_DOCUMENT: Final = 2 << 30
NOT_IN_REPODATA: Final = "not listed in repodata.json (conda would not install it either)"


@dataclass(frozen=True)
class RepodataRecord:
    """One package entry of ``repodata.json``."""

    filename: str
    name: str
    version: str
    build: str
    subdir: str
    build_number: int | None = None
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    dependencies: RecordDependencies | None = None
    """Its ``depends`` / ``constrains``: patched repodata may differ from ``index.json``."""


@dataclass(frozen=True)
class ChannelListing:
    """What a source offers.

    ``complete_scopes`` names the subdirs that were listed completely: only there may
    ``--prune`` conclude that an artifact is gone.
    """

    source: str
    artifacts: tuple[Artifact, ...] = ()
    problems: tuple[ListingProblem, ...] = ()
    complete_scopes: tuple[str, ...] = ()


def file_url_to_path(url: str) -> Path:
    """Return the local path of a ``file:`` URL."""
    parts = urlsplit(url)
    if parts.netloc not in {"", "localhost"}:
        raise SourceError(url, "a file: URL must name a local path (no host)")
    return Path(url2pathname(parts.path))


def _zstd() -> ModuleType | None:
    # compression.zstd is 3.14's stdlib; before that conda-package-streaming brings its
    # backport. Without either, .zst variants are simply not used.
    if sys.version_info >= (3, 14):
        from compression import zstd  # noqa: PLC0415 - optional, version-dependent
    else:
        try:
            from backports import zstd  # noqa: PLC0415 - optional, version-dependent
        except ImportError:  # pragma: no cover - installed with conda-package-streaming
            return None
    return zstd


def _decode(name: str, data: bytes) -> bytes:
    """Return the JSON bytes of a repodata variant; raise ValueError if undecodable."""
    if name.endswith(".bz2"):
        try:
            return bz2.decompress(data)
        except (OSError, EOFError) as error:
            msg = f"cannot decompress: {error}"
            raise ValueError(msg) from None
    if name.endswith(".zst"):
        zstd = _zstd()
        if zstd is None:  # pragma: no cover - see _zstd
            msg = "no zstd decompressor is installed"
            raise ValueError(msg)
        try:
            decoded: bytes = zstd.decompress(data)
        except (zstd.ZstdError, EOFError) as error:
            msg = f"cannot decompress: {error}"
            raise ValueError(msg) from None
        return decoded
    return data


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_repodata(
    data: bytes, *, subdir: str, where: str
) -> tuple[str | None, list[RepodataRecord], list[tuple[str, str]]]:
    """Read ``repodata.json`` bytes; pure.

    :param subdir: the subdir the file was found in (records without one get it).
    :param where: the file's location, for messages.
    :returns: ``info.base_url`` if set (CEP 15), the records, and ``(filename, reason)``
        for each record that cannot be used.
    :raises SourceError: if the document is not repodata at all.
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceError(where, f"not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise SourceError(where, "repodata must be a JSON object")
    info = document.get("info")
    base_url = _optional_text(info.get("base_url")) if isinstance(info, dict) else None
    records: list[RepodataRecord] = []
    problems: list[tuple[str, str]] = []
    for key in _PACKAGE_KEYS:
        packages = document.get(key, {})
        if not isinstance(packages, dict):
            raise SourceError(where, f"{key!r} must be an object of file name -> record")
        for filename, raw in packages.items():
            record = _record(filename, raw, subdir)
            if isinstance(record, str):
                problems.append((filename, record))
            else:
                records.append(record)
    return base_url, records, problems


def _record(filename: str, raw: object, subdir: str) -> RepodataRecord | str:
    if not isinstance(raw, dict):
        return "its repodata record is not an object"
    if "/" in filename or "\\" in filename or artifact_format(filename) is None:
        return "not a conda package file name (<name>-<version>-<build>.conda|.tar.bz2)"
    fields = {key: raw.get(key) for key in ("name", "version", "build")}
    missing = [key for key, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        return f"its repodata record lacks {', '.join(missing)}"
    dependencies = record_dependencies(raw, "repodata")
    if isinstance(dependencies, str):
        return dependencies
    number = raw.get("build_number")
    size = raw.get("size")
    return RepodataRecord(
        filename=filename,
        name=str(fields["name"]),
        version=str(fields["version"]),
        build=str(fields["build"]),
        subdir=_optional_text(raw.get("subdir")) or subdir,
        build_number=number if isinstance(number, int) else None,
        sha256=_optional_text(raw.get("sha256")),
        md5=_optional_text(raw.get("md5")),
        size=size if isinstance(size, int) and size >= 0 else None,
        dependencies=dependencies,
    )


# --------------------------------------------------------------------------- folders


def _subdirs_of(root: Path) -> list[str]:
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError as error:
        raise SourceError(str(root), f"cannot list the channel: {error.strerror}") from None
    found = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            names = [path.name for path in Path(entry.path).iterdir()]
        except OSError:
            continue
        if any(name in REPODATA_NAMES or artifact_format(name) for name in names):
            found.append(entry.name)
    return found


def _package_files(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:
        return sorted(
            entry.name
            for entry in entries
            if artifact_format(entry.name) and not entry.name.startswith(".") and entry.is_file()
        )


def list_folder_channel(root: Path, subdirs: Sequence[str] | None = None) -> ChannelListing:
    """List a channel folder.

    :param subdirs: the subdirs to list (a missing one is an error); default: every
        sub-folder holding packages or repodata.
    :raises SourceError: if ``root`` cannot be listed at all, or (without ``subdirs``)
        has no sub-folder holding packages or repodata: it is no channel (a channel
        whose repodata lists no package is one, and offers nothing).
    """
    root = root.resolve()
    source = str(root)
    wanted = list(subdirs) if subdirs else _subdirs_of(root)
    if not wanted:
        # Syncing a typo'd or empty folder (or a wheelhouse) must not look like success.
        raise SourceError(
            source,
            "not a channel (no subdir folder holds packages or repodata.json), "
            "a conda environment (conda-meta/), or package files",
        )
    artifacts: list[Artifact] = []
    problems: list[ListingProblem] = []
    complete: list[str] = []
    for subdir in wanted:
        folder = root / subdir
        if not folder.is_dir():
            problems.append(ListingProblem(source, str(folder), "", subdir, "no such subdir"))
            continue
        try:
            found, trouble = _list_folder_subdir(source, root, subdir)
        except SourceError as error:
            problems.append(ListingProblem(source, error.subject, "", subdir, error.reason))
            continue
        artifacts.extend(found)
        problems.extend(trouble)
        complete.append(subdir)
    return ChannelListing(source, tuple(artifacts), tuple(problems), tuple(complete))


def _list_folder_subdir(
    source: str, root: Path, subdir: str
) -> tuple[list[Artifact], list[ListingProblem]]:
    folder = root / subdir
    try:
        files = _package_files(folder)
    except OSError as error:
        raise SourceError(str(folder), f"cannot list: {error.strerror}") from None
    channel = root.as_uri()
    for name in REPODATA_NAMES:
        repodata = folder / name
        if repodata.is_file():
            break
    else:
        return _from_file_names(source, channel, folder, subdir, files)
    try:
        data = _decode(name, repodata.read_bytes())
    except (OSError, ValueError) as error:
        raise SourceError(str(repodata), f"cannot read: {error}") from None
    base_url, records, bad = parse_repodata(data, subdir=subdir, where=str(repodata))
    base = urljoin(folder.as_uri() + "/", base_url) if base_url else folder.as_uri() + "/"
    problems = [ListingProblem(source, str(folder / fn), fn, subdir, why) for fn, why in bad]
    listed = {record.filename for record in records} | {fn for fn, _ in bad}
    problems.extend(
        ListingProblem(source, str(folder / fn), fn, subdir, NOT_IN_REPODATA, "skipped")
        for fn in files
        if fn not in listed
    )
    present = set(files)
    artifacts = []
    for record in records:
        url = urljoin(base, record.filename)
        local = url.startswith("file:")
        location = str(file_url_to_path(url)) if local else url
        if local and record.filename not in present and not Path(location).is_file():
            why = "listed in repodata.json, but the file is missing"
            problems.append(ListingProblem(source, location, record.filename, subdir, why))
            continue
        artifacts.append(_artifact(source, channel, record, location, url, local=local))
    return artifacts, problems


def _from_file_names(
    source: str, channel: str, folder: Path, subdir: str, files: Iterable[str]
) -> tuple[list[Artifact], list[ListingProblem]]:
    artifacts: list[Artifact] = []
    problems: list[ListingProblem] = []
    # One Path per file costs a tenth of a no-op sync of 10,000 packages: join as text.
    folder_text = os.path.join(folder, "")  # noqa: PTH118 - a separator-terminated prefix
    for filename in files:
        parsed = parse_artifact_filename(filename)
        location = folder_text + filename
        if parsed is None:
            why = "not a conda package file name (<name>-<version>-<build>.conda|.tar.bz2)"
            problems.append(ListingProblem(source, location, filename, subdir, why))
            continue
        artifacts.append(
            Artifact(
                source=source,
                kind="file",
                location=location,
                filename=filename,
                subdir=subdir,
                name=parsed.name,
                version=parsed.version,
                build=parsed.build,
                channel=channel,
                url=f"{channel}/{subdir}/{filename}",
            )
        )
    return artifacts, problems


def _artifact(
    source: str, channel: str, record: RepodataRecord, location: str, url: str, *, local: bool
) -> Artifact:
    return Artifact(
        source=source,
        kind="file" if local else "url",
        location=location,
        filename=record.filename,
        subdir=record.subdir,
        name=record.name,
        version=record.version,
        build=record.build,
        build_number=record.build_number,
        channel=channel,
        url=url,
        sha256=record.sha256.lower() if record.sha256 else None,
        md5=record.md5.lower() if record.md5 else None,
        size=record.size,
        dependencies=record.dependencies,
    )


# --------------------------------------------------------------------------- HTTP


def _channel_subdirs(base: str, fetcher: Callable[[str], bytes | None]) -> list[str] | None:
    data = fetcher(base + "channeldata.json")
    if data is None:
        return None
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    subdirs = document.get("subdirs") if isinstance(document, dict) else None
    if not isinstance(subdirs, list):
        return None
    return [item for item in subdirs if isinstance(item, str) and item and "/" not in item]


def list_http_channel(
    url: str,
    subdirs: Sequence[str] | None = None,
    *,
    policy: RetryPolicy | None = None,
    fetcher: Callable[[str], bytes | None] | None = None,
) -> ChannelListing:
    """List a channel served over HTTP(S).

    :param subdirs: the subdirs to list (one without repodata is an error); default:
        those of ``channeldata.json``, or every known subdir that has repodata.
    :param fetcher: ``url -> body or None (404)``; default :func:`downloads.fetch`.
    :raises SourceError: if the channel cannot be reached at all (its first request,
        ``channeldata.json`` or the first subdir asked for, fails for good): one error
        then, instead of one per subdir probed; or if (without ``subdirs``) no subdir
        has repodata in any form: it is no channel (one whose repodata lists no package
        is one, and offers nothing). A subdir asked for without repodata is a problem of
        the listing, as a missing subdir folder is.
    """
    source = url.rstrip("/")
    base = source + "/"
    get = fetcher or (lambda address: fetch(address, limit=_MAX_DOCUMENT, policy=policy))
    explicit = bool(subdirs)
    named = None if explicit else _channel_subdirs(base, get)
    wanted = list(subdirs) if subdirs else (named or list(KNOWN_SUBDIRS))
    names = _HTTP_ORDER if _zstd() is not None else tuple(n for n in _HTTP_ORDER if "zst" not in n)
    artifacts: list[Artifact] = []
    problems: list[ListingProblem] = []
    complete: list[str] = []
    for position, subdir in enumerate(wanted):
        folder = f"{base}{subdir}/"
        try:
            found = _fetch_repodata(folder, names, get)
        except SourceError as error:
            if position == 0 and explicit and _unreachable(error):
                raise
            problems.append(ListingProblem(source, error.subject, "", subdir, error.reason))
            continue
        if found is None:
            if explicit:
                why = f"no repodata for subdir {subdir!r} ({', '.join(names)}: HTTP 404)"
                problems.append(ListingProblem(source, folder, "", subdir, why))
            continue
        where, data = found
        base_url, records, bad = parse_repodata(data, subdir=subdir, where=where)
        artifact_base = urljoin(folder, base_url) if base_url else folder
        problems.extend(ListingProblem(source, folder + fn, fn, subdir, why) for fn, why in bad)
        for record in records:
            address = urljoin(artifact_base, record.filename)
            local = address.startswith("file:")
            location = str(file_url_to_path(address)) if local else address
            artifacts.append(_artifact(source, source, record, location, address, local=local))
        complete.append(subdir)
    if not explicit and not complete and not problems:
        # Every subdir answered 404 for every repodata form: a mistyped URL, or a server
        # that is no channel. Syncing it must not look like success (as a folder).
        asked = "any subdir channeldata.json names" if named else "any known subdir"
        raise SourceError(source, f"not a channel (HTTP 404 for {', '.join(names)} of {asked})")
    return ChannelListing(source, tuple(artifacts), tuple(problems), tuple(complete))


def _unreachable(error: SourceError) -> bool:
    return error.reason.startswith("cannot connect")


def _fetch_repodata(
    folder: str, names: Sequence[str], get: Callable[[str], bytes | None]
) -> tuple[str, bytes] | None:
    for name in names:
        where = folder + name
        body = get(where)
        if body is None:
            continue
        try:
            return where, _decode(name, body)
        except ValueError as error:
            raise SourceError(where, str(error)) from None
    return None
