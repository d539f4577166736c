"""Sharded repodata (CEP 16): the shard index, shards by name, and a cache by hash.

A sharded subdir serves ``repodata_shards.msgpack.zst``: a zstd-compressed msgpack map
of package name -> the sha256 of that name's shard, and the shards themselves at
``<shards_base_url><sha256 in hex>.msgpack.zst``, each one the ``packages`` /
``packages.conda`` records of one name (with ``sha256`` and ``md5`` as bytes). A shard's
name is the sha256 of its (compressed) bytes, so a shard once fetched and verified never
changes: shards are cached under ``<cache>/shards/`` by that hash, and a re-sync fetches
only the index and the shards whose hash changed. A sync with ``--select`` fetches only
the shards of the names it selects.

The parsing here is pure; fetching (HTTP or a folder) is the caller's, through
:class:`ShardSource`.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin

import msgspec

from condawheel.errors import SourceError
from condawheel.io.compressed import decompressed
from condawheel.io.files import write_atomically
from condawheel.wheelhouse.repodata import (
    MAX_REPODATA_RECORDS,
    NOT_A_FILENAME,
    RecordFields,
    RecordProblem,
    Repodata,
    RepodataRecord,
    check_filename,
    record_from_fields,
    too_many_records,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from condawheel.wheelhouse.artifacts import NameFilter

__all__ = [
    "MAX_SHARD_BYTES",
    "SHARD_INDEX_NAME",
    "ShardCache",
    "ShardIndex",
    "ShardSource",
    "parse_shard",
    "parse_shard_index",
    "read_shards",
]

SHARD_INDEX_NAME: Final = "repodata_shards.msgpack.zst"
MAX_SHARD_BYTES: Final = 64 << 20
"""The most bytes a shard index or a shard may have, compressed or not (conda-forge's
linux-64 index is under a megabyte, its largest shards a few)."""
_PARALLEL: Final = 8


class _ShardInfo(msgspec.Struct, forbid_unknown_fields=False):
    base_url: str | None = None
    shards_base_url: str | None = None


class _ShardIndexDocument(msgspec.Struct, forbid_unknown_fields=False):
    shards: dict[str, bytes]
    info: _ShardInfo = msgspec.field(default_factory=_ShardInfo)
    version: int = 1


class _ShardRecordFields(RecordFields, forbid_unknown_fields=False):
    """A shard's record: digests as bytes (CEP 16)."""

    sha256: bytes | None = None
    md5: bytes | None = None


class _ShardDocument(msgspec.Struct, forbid_unknown_fields=False):
    packages: dict[str, msgspec.Raw] = msgspec.field(default_factory=dict)
    packages_conda: dict[str, msgspec.Raw] = msgspec.field(
        default_factory=dict, name="packages.conda"
    )


_INDEX: Final = msgspec.msgpack.Decoder(_ShardIndexDocument)
_SHARD: Final = msgspec.msgpack.Decoder(_ShardDocument)
_RECORD: Final = msgspec.msgpack.Decoder(_ShardRecordFields)


@dataclass(frozen=True)
class ShardIndex:
    """A subdir's shard index."""

    shards: dict[str, str]
    """Package name -> the sha256 (hex) of its shard."""
    base_url: str | None
    """Where the artifacts are, relative to the index (CEP 15's ``base_url``)."""
    shards_base_url: str
    """Where the shards are, relative to the index."""


def _decompress(data: bytes, where: str) -> bytes:
    return b"".join(decompressed([data], "zst", limit=MAX_SHARD_BYTES, where=where))


def parse_shard_index(data: bytes, *, where: str) -> ShardIndex:
    """Read a ``repodata_shards.msgpack.zst`` (its compressed bytes).

    :raises SourceError: if it is not a shard index; a name whose hash is not 32 bytes
        is left out (its shard could not be named safely).
    """
    try:
        document = _INDEX.decode(_decompress(data, where))
    except (msgspec.DecodeError, RecursionError) as error:
        raise SourceError(where, f"not a shard index (CEP 16): {error}") from None
    shards = {
        name: digest.hex()
        for name, digest in document.shards.items()
        if len(digest) == hashlib.sha256().digest_size
    }
    info = document.info
    return ShardIndex(shards, info.base_url or None, info.shards_base_url or "./shards/")


def shard_url(index_url: str, index: ShardIndex, sha256: str) -> str:
    """Return the URL (or ``file:`` URL) of a shard, relative to its index's."""
    return urljoin(urljoin(index_url, index.shards_base_url), f"{sha256}.msgpack.zst")


def parse_shard(
    data: bytes,
    *,
    subdir: str,
    where: str,
    name: str | None = None,
    admit: Callable[[int], bool] | None = None,
) -> tuple[list[RepodataRecord], list[RecordProblem]]:
    """Read one shard (its compressed bytes): its records, and the problems of the others.

    :param name: the package name the index filed the shard under; a record of another
        name is a problem (a shard holds the records of one name).
    :param admit: told how many entries the shard has before any is decoded; if it
        answers False (the caller's limit is reached), none is: ``([], [])``.
    :raises SourceError: if it is not a shard.
    """
    try:
        document = _SHARD.decode(_decompress(data, where))
    except (msgspec.DecodeError, RecursionError) as error:
        raise SourceError(where, f"not a repodata shard (CEP 16): {error}") from None
    if admit is not None and not admit(len(document.packages) + len(document.packages_conda)):
        return [], []
    records: list[RepodataRecord] = []
    problems: list[RecordProblem] = []
    for entries in (document.packages, document.packages_conda):
        for filename, raw in entries.items():
            parsed = check_filename(filename)
            if parsed is None:
                problems.append(RecordProblem(filename, NOT_A_FILENAME))
                continue
            try:
                fields = _RECORD.decode(raw)
            except (msgspec.DecodeError, RecursionError) as error:
                problems.append(RecordProblem(filename, f"its shard record is not valid: {error}"))
                continue
            if name is not None and fields.name != name:
                why = f"its shard is the one of {name!r}, but its record is {fields.name!r}'s"
                problems.append(RecordProblem(filename, why))
                continue
            record = record_from_fields(
                filename,
                parsed,
                fields,
                sha256=fields.sha256.hex() if fields.sha256 is not None else None,
                md5=fields.md5.hex() if fields.md5 is not None else None,
                subdir=subdir,
            )
            if isinstance(record, str):
                problems.append(RecordProblem(filename, record))
            else:
                records.append(record)
    return records, problems


@dataclass(frozen=True)
class ShardCache:
    """Verified shards on disk, ``<cache>/shards/<sha256>.msgpack.zst``."""

    folder: Path
    writable: bool = True
    """False: read what is there, keep nothing new (a dry run)."""

    def get(self, sha256: str) -> bytes | None:
        """Return the cached shard of that hash, if there is an intact one."""
        path = self.folder / f"{sha256}.msgpack.zst"
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            with contextlib.suppress(OSError):
                path.unlink()  # damaged: fetched again
            return None
        return data

    def put(self, sha256: str, data: bytes) -> None:
        """Keep a verified shard; a cache that cannot be written is only slower."""
        if not self.writable:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(self.folder / f"{sha256}.msgpack.zst", data)


@dataclass(frozen=True)
class ShardSource:
    """How to get the bytes of a shard index and of shards (HTTP or a folder)."""

    get: Callable[[str], bytes | None]
    """URL -> bytes, or None if there is none; raises SourceError."""
    cache: ShardCache | None = None


@dataclass
class _EntryBudget:
    """The entries a subdir's shards may still hold, shared by the threads reading them."""

    left: int
    exceeded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, count: int) -> bool:
        """Take ``count`` entries; False once the limit is passed (then for every call)."""
        with self.lock:
            self.left -= count
            self.exceeded = self.exceeded or self.left < 0
            return not self.exceeded


def _shard_bytes(source: ShardSource, url: str, sha256: str) -> bytes:
    cached = source.cache.get(sha256) if source.cache is not None else None
    if cached is not None:
        return cached
    data = source.get(url)
    if data is None:
        raise SourceError(url, "the shard index names this shard, but there is none (HTTP 404)")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SourceError(url, "the shard's sha256 is not the one its name says (corrupt)")
    if source.cache is not None:
        source.cache.put(sha256, data)
    return data


def read_shards(
    source: ShardSource,
    index_url: str,
    index: ShardIndex,
    *,
    subdir: str,
    wanted: NameFilter | None,
    max_records: int = MAX_REPODATA_RECORDS,
) -> Repodata:
    """Read the shards of the names ``wanted`` (None: all) from ``index``.

    A shard that cannot be had, or is corrupt, is a problem of its name (one line); the
    other names are still read.

    :param max_records: the most entries (records, problems, shards that failed) all
        the shards together may have; each shard is counted before it is decoded, so
        that memory stays bounded however many entries each small shard packs.
    :raises SourceError: naming the index, if its shards list more than that.
    """
    names: Sequence[str] = sorted(name for name in index.shards if wanted is None or wanted(name))
    budget = _EntryBudget(max_records)

    def one(name: str) -> tuple[str, tuple[list[RepodataRecord], list[RecordProblem]] | str]:
        sha256 = index.shards[name]
        url = shard_url(index_url, index, sha256)
        if budget.exceeded:
            return name, ([], [])  # the listing fails as a whole: not worth fetching
        try:
            data = _shard_bytes(source, url, sha256)
            return name, parse_shard(data, subdir=subdir, where=url, name=name, admit=budget.admit)
        except SourceError as error:
            budget.admit(1)
            return name, error.reason

    records: list[RepodataRecord] = []
    problems: list[RecordProblem] = []
    unread: list[str] = []
    if len(names) > 1:
        with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
            results = list(pool.map(one, names))
    else:
        results = [one(name) for name in names]
    if budget.exceeded:
        raise too_many_records(index_url, max_records)
    for name, result in results:
        if isinstance(result, str):
            where = shard_url(index_url, index, index.shards[name])
            problems.append(RecordProblem("", result, location=where))
            unread.append(name)
            continue
        records.extend(result[0])
        problems.extend(result[1])
    return Repodata(index.base_url, tuple(records), tuple(problems), tuple(unread))
