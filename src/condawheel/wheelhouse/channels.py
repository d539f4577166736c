"""List conda channels: folders (with or without repodata) and HTTP(S) URLs, selection first.

A channel is ``<channel>/<subdir>/``, each subdir holding ``*.conda`` / ``*.tar.bz2`` files
and, when indexed, repodata. Where repodata exists, it *is* the channel, as for conda: a
file it does not list is skipped, a file it lists but which is missing fails, each file
must match the sha256, md5 and size it promises, and its record's ``depends`` /
``constrains`` (a repodata patch's, where they differ from the package's ``index.json``)
are the wheel's. A folder subdir without repodata is listed by its file names.

Repodata comes, in order of preference, from CEP 16 shards (``repodata_shards.msgpack.zst``:
only the shards of the names asked for are read), then ``repodata.json`` in one of its
forms (over HTTP ``.zst`` first, CEP 16's compressed form, then plain, then ``.bz2``;
in a folder plain first). Over HTTP the subdirs are those ``channeldata.json`` names, or,
without it, every known subdir that has repodata (only the sharded ones, if any is).

Selection first: given the names ``--select`` can match (``wanted``), records of other
names are not decoded, not checked and not reported, and their files are not looked at.

What a channel may name is bounded (CEP 26, CEP 15): subdirs are ``noarch`` or
``<os>-<arch>``, file names ``<name>-<version>-<build>.<ext>`` (no ``/``, ``%`` or ``:``),
digests 64 (sha256) or 32 (md5) hexadecimal digits; and a remote channel's artifacts are
downloaded over HTTP(S) only, wherever its ``base_url`` points.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias
from urllib.parse import urljoin, urlsplit

import msgspec

from condawheel.conda.subdirs import KNOWN_SUBDIRS, is_subdir
from condawheel.errors import SourceError
from condawheel.io.compressed import decompressed, encoding_of, zstd_module
from condawheel.io.http import RetryPolicy, fetch, file_url_to_path, is_http_url, read_url
from condawheel.wheelhouse.artifacts import (
    Artifact,
    ListingProblem,
    artifact_format,
    parse_artifact_filename,
)
from condawheel.wheelhouse.repodata import (
    MAX_REPODATA_BYTES,
    NOT_A_FILENAME,
    Repodata,
    RepodataRecord,
    read_repodata,
)
from condawheel.wheelhouse.repodata_cache import CachedListing, RepodataCache, http_validator
from condawheel.wheelhouse.shards import (
    MAX_SHARD_BYTES,
    SHARD_INDEX_NAME,
    ShardCache,
    ShardSource,
    parse_shard_index,
    read_shards,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from condawheel.io.http import HTTPBody
    from condawheel.wheelhouse.artifacts import NameFilter
    from condawheel.wheelhouse.repodata import RecordSink

    BlockSink: TypeAlias = Callable[[Sequence[Artifact], Sequence[ListingProblem]], None]
    """Takes the artifacts and problems of a block of a listing, as it is read."""

__all__ = [
    "MAX_CHANNELDATA_BYTES",
    "MAX_REPODATA_BYTES",
    "NOT_IN_REPODATA",
    "REPODATA_NAMES",
    "ChannelListing",
    "list_folder_channel",
    "list_http_channel",
]

REPODATA_NAMES: Final = ("repodata.json", "repodata.json.zst", "repodata.json.bz2")
_HTTP_ORDER: Final = ("repodata.json.zst", "repodata.json", "repodata.json.bz2")
MAX_CHANNELDATA_BYTES: Final = 256 << 20
"""The most bytes ``channeldata.json`` may have (conda-forge's has tens of megabytes)."""
NOT_IN_REPODATA: Final = "not listed in repodata.json (conda would not install it either)"
MISSING: Final = "listed in repodata.json, but the file is missing"
_READ_CHUNK: Final = 1 << 20


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


class _Channeldata(msgspec.Struct, forbid_unknown_fields=False):
    subdirs: list[str] | None = None


_CHANNELDATA: Final = msgspec.json.Decoder(_Channeldata)


def _artifact(
    source: str, channel: str, record: RepodataRecord, location: str, url: str, *, local: bool
) -> Artifact:
    # Positional: a whole channel makes a million of them, and keywords cost a tenth more.
    return Artifact(
        source,
        "file" if local else "url",
        location,
        record.filename,
        record.subdir,
        record.name,
        record.version,
        record.build,
        record.build_number,
        channel,
        url,
        record.sha256,
        record.md5,
        record.size,
        (),
        record.dependencies,
        record.flags,
        record.purls,
        record.revision,
    )


def _artifact_base(folder_url: str, base_url: str | None, *, remote: bool, where: str) -> str:
    """Return the URL the records' file names are relative to (CEP 15's ``base_url``).

    :raises SourceError: if ``base_url`` leads where this channel may not send downloads:
        anything but HTTP(S) for a remote channel (a ``file:`` URL would make sync read
        this machine's files), anything but HTTP(S) or ``file:`` for a folder.
    """
    # Without a base_url, the folder of the document that lists the records.
    base = urljoin(folder_url, base_url) if base_url else urljoin(folder_url, ".")
    if is_http_url(base):
        return base
    if not remote and urlsplit(base).scheme == "file":
        return base
    allowed = "HTTP(S)" if remote else "HTTP(S) or file:"
    raise SourceError(
        where, f"its base_url {base_url!r} is not an {allowed} URL (a channel's artifacts are)"
    )


def _joiner(base: str) -> Callable[[str], str]:
    """Return how a record's file name becomes its URL under ``base``.

    File names are CEP 26 file names (checked when read: no ``/``, ``%``, ``:``), so under
    a base that ends in ``/`` and has no query or fragment, joining is appending; that is
    a tenth of ``urljoin``'s cost, which a million records would feel.
    """
    parts = urlsplit(base)
    if base.endswith("/") and not parts.query and not parts.fragment:
        return base.__add__
    return lambda filename: urljoin(base, filename)


# --------------------------------------------------------------------------- folders


def _file_chunks(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_READ_CHUNK):
                yield chunk
    except OSError as error:
        raise SourceError(str(path), f"cannot read: {error.strerror or error}") from None


def _read_folder_repodata(
    path: Path,
    subdir: str,
    wanted: NameFilter | None,
    cache: RepodataCache | None = None,
    sink: RecordSink | None = None,
) -> Repodata:
    where = str(path)
    validator = None
    if cache is not None and wanted is not None:
        try:
            info = path.stat()
        except OSError as error:
            raise SourceError(where, f"cannot read: {error.strerror or error}") from None
        validator = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
        cached = cache.load(where, wanted)
        if cached is not None and cached.validator == validator:
            return cached.repodata
    chunks = decompressed(
        _file_chunks(path), encoding_of(path.name), limit=MAX_REPODATA_BYTES, where=where
    )
    repodata = read_repodata(chunks, subdir=subdir, where=where, wanted=wanted, sink=sink)
    if cache is not None and validator is not None:
        cache.save(where, wanted, validator, {}, repodata)
    return repodata


def _read_local(url: str, limit: int) -> bytes | None:
    path = file_url_to_path(url)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SourceError(str(path), f"cannot read: {error.strerror or error}") from None
    if len(data) > limit:
        raise SourceError(str(path), "is larger than the limit for it")
    return data


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


def list_folder_channel(
    root: Path,
    subdirs: Sequence[str] | None = None,
    *,
    wanted: NameFilter | None = None,
    cache_dir: Path | None = None,
    keep: bool = True,
    on_block: BlockSink | None = None,
) -> ChannelListing:
    """List a channel folder.

    :param subdirs: the subdirs to list (a missing one is an error); default: every
        sub-folder holding packages or repodata.
    :param wanted: the package names to list; None: all.
    :param cache_dir: where a selection's records are kept until the repodata changes
        (``<cache_dir>/repodata/``); None: not kept.
    :param keep: whether to write into the cache (a dry run only reads it).
    :param on_block: takes the artifacts and problems as they are listed, a block at a
        time (a whole channel's ``repodata.json`` is not held in memory); the listing
        returned then holds only its complete scopes. Artifacts already passed on stay
        so when the rest of their subdir fails (a document cut short).
    :raises SourceError: if ``root`` cannot be listed at all, or (without ``subdirs``)
        has no sub-folder holding packages or repodata: it is no channel (a channel
        whose repodata lists no package is one, and offers nothing).
    """
    root = root.resolve()
    source = str(root)
    wanted_subdirs = list(subdirs) if subdirs else _subdirs_of(root)
    if not wanted_subdirs:
        # Syncing a typo'd or empty folder (or a wheelhouse) must not look like success.
        raise SourceError(
            source,
            "not a channel (no subdir folder holds packages or repodata.json), "
            "a conda environment (conda-meta/), or package files",
        )
    artifacts: list[Artifact] = []
    problems: list[ListingProblem] = []
    complete: list[str] = []
    cache = RepodataCache(cache_dir / "repodata", keep) if cache_dir is not None else None

    places: dict[str, int] | None = None
    """Location -> index in ``artifacts``; made when the first v3 record comes."""

    def collect(found: Sequence[Artifact], trouble: Sequence[ListingProblem]) -> None:
        nonlocal places
        problems.extend(trouble)
        for artifact in found:
            if places is None and artifact.revision is not None:
                places = {listed.location: n for n, listed in enumerate(artifacts)}
            if places is None:
                artifacts.append(artifact)
                continue
            # A v3 record of a file whose v1 record was passed on replaces it (CEP 48).
            earlier = places.get(artifact.location)
            if earlier is not None and artifact.revision and not artifacts[earlier].revision:
                artifacts[earlier] = artifact
                continue
            places.setdefault(artifact.location, len(artifacts))
            artifacts.append(artifact)

    sink = on_block or collect
    for subdir in wanted_subdirs:
        folder = root / subdir
        if not is_subdir(subdir):
            why = "not a conda subdir name (CEP 26: noarch or <os>-<arch>)"
            sink((), (ListingProblem(source, str(folder), "", subdir, why),))
            continue
        if not folder.is_dir():
            sink((), (ListingProblem(source, str(folder), "", subdir, "no such subdir"),))
            continue
        try:
            _list_folder_subdir(source, root, subdir, wanted, cache, sink)
        except SourceError as error:
            sink((), (ListingProblem(source, error.subject, "", subdir, error.reason),))
            continue
        complete.append(subdir)
    return ChannelListing(source, tuple(artifacts), tuple(problems), tuple(complete))


def _folder_repodata(
    folder: Path,
    subdir: str,
    wanted: NameFilter | None,
    cache: RepodataCache | None,
    sink: RecordSink | None,
) -> Repodata | None:
    """Read the subdir's repodata: its shards, else its repodata.json; None if none.

    ``sink`` takes the records of a ``repodata.json`` as they are read (see
    :func:`~condawheel.wheelhouse.repodata.read_repodata`); shards are returned whole.
    """
    index_path = folder / SHARD_INDEX_NAME
    if index_path.is_file():
        index_url = index_path.as_uri()
        data = _read_local(index_url, MAX_SHARD_BYTES)
        if data is not None:
            index = parse_shard_index(data, where=str(index_path))
            shards = ShardSource(lambda url: _read_local(url, MAX_SHARD_BYTES))
            return read_shards(shards, index_url, index, subdir=subdir, wanted=wanted)
    for name in REPODATA_NAMES:
        path = folder / name
        if path.is_file():
            return _read_folder_repodata(path, subdir, wanted, cache, sink)
    return None


def _list_folder_subdir(
    source: str,
    root: Path,
    subdir: str,
    wanted: NameFilter | None,
    cache: RepodataCache | None,
    on_block: BlockSink,
) -> None:
    folder = root / subdir
    try:
        files = _package_files(folder)
    except OSError as error:
        raise SourceError(str(folder), f"cannot list: {error.strerror}") from None
    channel = root.as_uri()
    folder_url = folder.as_uri() + "/"
    present = frozenset(files)
    unlisted = set(files)
    unread: set[str] = set()

    def take(repodata: Repodata) -> None:
        base = _artifact_base(folder_url, repodata.base_url, remote=False, where=str(folder))
        unread.update(repodata.unread)
        found, trouble = _folder_block(
            source, channel, folder, subdir, repodata, base=base, present=present
        )
        unlisted.difference_update(record.filename for record in repodata.records)
        unlisted.difference_update(problem.filename for problem in repodata.problems)
        on_block(found, trouble)

    # A whole channel streams (bounded memory); a selection is kept in the cache, whole.
    repodata = _folder_repodata(folder, subdir, wanted, cache, take if wanted is None else None)
    if repodata is None:
        on_block(*_from_file_names(source, channel, folder, subdir, files, wanted))
        return
    take(repodata)
    problems = []
    for filename in sorted(unlisted):
        parsed = parse_artifact_filename(filename)
        if wanted is not None and (parsed is None or not wanted(parsed.name)):
            continue  # not selected: not reported either
        if parsed is not None and parsed.name in unread:
            continue  # its shard failed: that is its problem
        location = str(folder / filename)
        problems.append(
            ListingProblem(source, location, filename, subdir, NOT_IN_REPODATA, "skipped")
        )
    on_block((), problems)


def _folder_block(
    source: str,
    channel: str,
    folder: Path,
    subdir: str,
    repodata: Repodata,
    *,
    base: str,
    present: frozenset[str],
) -> tuple[list[Artifact], list[ListingProblem]]:
    """Return the artifacts and problems of a block of a folder's records.

    A record whose file is not in the folder is missing, one problem each; only a
    ``base_url`` that points elsewhere makes its file worth a look on disk.
    """
    problems = [
        ListingProblem(
            source, problem.location or str(folder / problem.filename), problem.filename,
            subdir, problem.reason, problem.status,
        )
        for problem in repodata.problems
    ]  # fmt: skip
    artifacts = []
    join = _joiner(base)
    elsewhere = base != folder.as_uri() + "/"
    for record in repodata.records:
        url = join(record.filename)
        local = url.startswith("file:")
        location = str(file_url_to_path(url)) if local else url
        if (
            local
            and record.filename not in present
            and (not elsewhere or not Path(location).is_file())
        ):
            problems.append(ListingProblem(source, location, record.filename, subdir, MISSING))
            continue
        artifacts.append(_artifact(source, channel, record, location, url, local=local))
    return artifacts, problems


def _from_file_names(
    source: str,
    channel: str,
    folder: Path,
    subdir: str,
    files: Iterable[str],
    wanted: NameFilter | None,
) -> tuple[list[Artifact], list[ListingProblem]]:
    artifacts: list[Artifact] = []
    problems: list[ListingProblem] = []
    # One Path per file costs a tenth of a no-op sync of 10,000 packages: join as text.
    folder_text = os.path.join(folder, "")  # noqa: PTH118 - a separator-terminated prefix
    for filename in files:
        parsed = parse_artifact_filename(filename)
        location = folder_text + filename
        if parsed is None:
            if wanted is None:
                problems.append(ListingProblem(source, location, filename, subdir, NOT_A_FILENAME))
            continue
        if wanted is not None and not wanted(parsed.name):
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


# --------------------------------------------------------------------------- HTTP


@dataclass
class _Remote:
    """One HTTP channel being listed: its address, how to ask it, its caches."""

    source: str
    policy: RetryPolicy
    cache: ShardCache | None
    listings: RepodataCache | None

    def get(self, url: str, limit: int) -> bytes | None:
        return fetch(url, limit=limit, policy=self.policy)

    def unreachable(self, error: SourceError) -> SourceError:
        """Name the channel as the user gave it, then what was tried.

        The subject is never a file the user did not type (``channeldata.json``).
        """
        reason, _, attempts = error.reason.partition(" (gave up after ")
        tried = f"tried {error.subject}"
        detail = f"{tried}; gave up after {attempts}" if attempts else f"{tried})"
        return SourceError(self.source, f"{reason} ({detail}")


def _unreachable(error: SourceError) -> bool:
    return error.reason.startswith("cannot connect")


def _channel_subdirs(
    remote: _Remote, base: str, problems: list[ListingProblem]
) -> list[str] | None:
    """Return the subdirs ``channeldata.json`` names, or None without a usable one."""
    url = base + "channeldata.json"
    try:
        data = remote.get(url, MAX_CHANNELDATA_BYTES)
    except SourceError as error:
        # The first request of the run: a channel that cannot be reached at all.
        raise remote.unreachable(error) from None
    if data is None:
        return None
    try:
        document = _CHANNELDATA.decode(data)
    except RecursionError:
        why = "not valid JSON (nested too deeply); every known subdir is tried instead"
        problems.append(ListingProblem(remote.source, url, "", "", why))
        return None
    except msgspec.DecodeError as error:
        why = f"not valid channeldata ({error}); every known subdir is tried instead"
        problems.append(ListingProblem(remote.source, url, "", "", why))
        return None
    if document.subdirs is None:
        return None
    named = []
    for subdir in document.subdirs:
        if is_subdir(subdir):
            named.append(subdir)
        else:
            why = f"names the subdir {subdir!r}, which is not a conda subdir (CEP 26); ignored"
            problems.append(ListingProblem(remote.source, url, "", "", why))
    return named


class _Once:
    """Pass each entry of a document to a sink once, across attempts to read it."""

    def __init__(self, sink: RecordSink) -> None:
        self.sink = sink
        self.passed = 0
        """Entries passed on by every attempt so far."""
        self.attempt = 0
        """Entries the current attempt has read."""

    def __call__(self, repodata: Repodata) -> None:
        records, problems = repodata.records, repodata.problems
        start = self.attempt
        self.attempt += len(records) + len(problems)
        skip = max(0, self.passed - start)
        if skip >= len(records) + len(problems):
            return
        self.passed = self.attempt
        kept_records = records[skip:]
        kept_problems = problems[max(0, skip - len(records)) :]
        self.sink(Repodata(repodata.base_url, kept_records, kept_problems))


def _http_shards(
    remote: _Remote, folder: str, subdir: str
) -> tuple[str, Callable[[NameFilter | None], Repodata]] | None:
    """Fetch a subdir's shard index; return its URL and how to read its shards."""
    url = folder + SHARD_INDEX_NAME
    data = remote.get(url, MAX_SHARD_BYTES)
    if data is None:
        return None
    index = parse_shard_index(data, where=url)
    shards = ShardSource(lambda address: remote.get(address, MAX_SHARD_BYTES), remote.cache)

    def read(wanted: NameFilter | None) -> Repodata:
        return read_shards(shards, url, index, subdir=subdir, wanted=wanted)

    return url, read


def _http_repodata(
    remote: _Remote,
    folder: str,
    names: Sequence[str],
    subdir: str,
    wanted: NameFilter | None,
    sink: RecordSink | None = None,
) -> Repodata | None:
    """Stream the first form of ``repodata.json`` the server has; None if it has none.

    ``sink`` takes the records as they are read (see :func:`read_repodata`); an attempt
    that starts over after a broken connection passes on only what the ones before did not.
    """
    listings = remote.listings
    for name in names:
        url = folder + name
        cached = listings.load(url, wanted) if listings is not None else None
        once = None if sink is None else _Once(sink)

        def parse(
            body: HTTPBody, url: str = url, name: str = name, once: _Once | None = once
        ) -> Repodata:
            chunks = decompressed(
                body.chunks(), encoding_of(name), limit=MAX_REPODATA_BYTES, where=url
            )
            if once is not None:
                once.attempt = 0
            repodata = read_repodata(chunks, subdir=subdir, where=url, wanted=wanted, sink=once)
            validator = http_validator(body.headers)
            if listings is not None and validator is not None:
                listings.save(url, wanted, validator[0], validator[1], repodata)
            return repodata

        def unchanged(cached: CachedListing | None = cached) -> Repodata | None:
            return cached.repodata if cached is not None else None

        repodata = read_url(
            url,
            parse,
            limit=MAX_REPODATA_BYTES,
            policy=remote.policy,
            headers=cached.headers if cached is not None else None,
            not_modified=unchanged,
        )
        if repodata is not None:
            return repodata
    return None


def _http_block(
    source: str, folder: str, repodata: Repodata, index_url: str
) -> tuple[list[Artifact], list[ListingProblem]]:
    """Return the artifacts and problems of a block of an HTTP subdir's records."""
    subdir = folder.rstrip("/").rsplit("/", 1)[-1]
    artifact_base = _artifact_base(index_url, repodata.base_url, remote=True, where=index_url)
    trouble = [
        ListingProblem(
            source, problem.location or folder + problem.filename, problem.filename,
            subdir, problem.reason, problem.status,
        )
        for problem in repodata.problems
    ]  # fmt: skip
    join = _joiner(artifact_base)
    found = []
    for record in repodata.records:
        address = join(record.filename)
        found.append(_artifact(source, source, record, address, address, local=False))
    return found, trouble


def list_http_channel(  # noqa: C901 - the order of what a channel offers
    url: str,
    subdirs: Sequence[str] | None = None,
    *,
    policy: RetryPolicy | None = None,
    wanted: NameFilter | None = None,
    cache_dir: Path | None = None,
    keep: bool = True,
    on_block: BlockSink | None = None,
) -> ChannelListing:
    """List a channel served over HTTP(S).

    :param subdirs: the subdirs to list (one without repodata is an error); default:
        those of ``channeldata.json``, or every known subdir that has repodata.
    :param wanted: the package names to list (lower case); None: all.
    :param cache_dir: where shards are cached (``<cache_dir>/shards/``), and a
        selection's records until the repodata changes (``<cache_dir>/repodata/``);
        None: nothing is kept.
    :param keep: whether to write into the cache (a dry run only reads it).
    :param on_block: takes the artifacts and problems as they are listed, a block at a
        time (see :func:`list_folder_channel`).
    :raises SourceError: if the channel cannot be reached at all (its first request
        fails for good): one error then, naming ``url`` and what was tried, instead of
        one per subdir probed; or if (without ``subdirs``) no subdir has repodata in any
        form: it is no channel (one whose repodata lists no package is one, and offers
        nothing). A subdir asked for without repodata is a problem of the listing, as a
        missing subdir folder is.
    """
    source = url.rstrip("/")
    base = source + "/"
    shards = ShardCache(cache_dir / "shards", keep) if cache_dir is not None else None
    listings = RepodataCache(cache_dir / "repodata", keep) if cache_dir is not None else None
    remote = _Remote(source, policy or RetryPolicy(), shards, listings)
    problems: list[ListingProblem] = []
    explicit = bool(subdirs)
    named = None if explicit else _channel_subdirs(remote, base, problems)
    asked = list(subdirs) if subdirs else (named or list(KNOWN_SUBDIRS))
    usable = []
    for subdir in asked:
        if is_subdir(subdir):
            usable.append(subdir)
        else:
            why = "not a conda subdir name (CEP 26: noarch or <os>-<arch>)"
            problems.append(ListingProblem(source, base + subdir, "", subdir, why))
    names = _HTTP_ORDER if zstd_module() is not None else ("repodata.json", "repodata.json.bz2")
    artifacts: list[Artifact] = []
    complete: list[str] = []
    sharded: dict[str, tuple[str, Callable[[NameFilter | None], Repodata]]] = {}
    failed: set[str] = set()
    for subdir in usable:
        try:
            found = _http_shards(remote, f"{base}{subdir}/", subdir)
        except SourceError as error:
            if not sharded and not failed and explicit and _unreachable(error):
                raise remote.unreachable(error) from None
            problems.append(ListingProblem(source, error.subject, "", subdir, error.reason))
            failed.add(subdir)
            continue
        if found is not None:
            sharded[subdir] = found
    for subdir in usable:
        if subdir in failed:
            continue
        folder = f"{base}{subdir}/"

        def take(repodata: Repodata, index_url: str, folder: str = folder) -> None:
            found, trouble = _http_block(source, folder, repodata, index_url)
            if on_block is None:
                problems.extend(trouble)
                artifacts.extend(found)
            else:
                on_block(found, trouble)

        try:
            if subdir in sharded:
                index_url, read = sharded[subdir]
                repodata: Repodata | None = read(wanted)
            elif sharded and not explicit:
                continue  # a sharded channel: the subdirs without an index are not its
            else:
                index_url = folder
                # A whole channel streams (bounded memory); a selection is kept, whole.
                sink = (
                    functools.partial(take, index_url=folder)
                    if on_block is not None and wanted is None
                    else None
                )
                repodata = _http_repodata(remote, folder, names, subdir, wanted, sink)
            if repodata is None:
                if explicit:
                    tried = ", ".join((SHARD_INDEX_NAME, *names))
                    why = f"no repodata for subdir {subdir!r} ({tried}: HTTP 404)"
                    problems.append(ListingProblem(source, folder, "", subdir, why))
                continue
            take(repodata, index_url)
        except SourceError as error:
            problems.append(ListingProblem(source, error.subject, "", subdir, error.reason))
            continue
        complete.append(subdir)
    if not explicit and not complete and not any(p.subdir for p in problems):
        # Every subdir answered 404 for every repodata form: a mistyped URL, or a server
        # that is no channel. Syncing it must not look like success (as a folder).
        scope = "any subdir channeldata.json names" if named else "any known subdir"
        tried = ", ".join((SHARD_INDEX_NAME, *names))
        raise SourceError(source, f"not a channel (HTTP 404 for {tried} of {scope})")
    return ChannelListing(source, tuple(artifacts), tuple(problems), tuple(complete))
