"""Remember what a repodata document offered a selection, until the document changes.

A no-op re-sync of a slice of a million-record channel must not pay for the million
records again. So the records a selection got from a ``repodata.json`` are kept in
``<cache>/repodata/``, with what identifies the document's version: for a file, its
size, mtime and inode; over HTTP, the ``ETag`` and ``Last-Modified`` the server gave,
sent back as ``If-None-Match`` / ``If-Modified-Since`` so that an unchanged document
answers 304 and is not even downloaded. Only selections are kept (a listing of a whole
channel is as large as the channel): the key is the document's location, the names the
selection reads, and condawheel's version. A cache entry that cannot be read is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import msgspec

from condawheel import __version__
from condawheel.io.files import write_atomically
from condawheel.wheelhouse.repodata import Repodata  # noqa: TC001 - msgspec decodes into it

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from condawheel.wheelhouse.artifacts import NameFilter

__all__ = ["CachedListing", "RepodataCache", "http_validator"]

_MAX_ENTRY_BYTES: Final = 512 << 20


class CachedListing(msgspec.Struct):
    """One document's selection, and the version of the document it was read from."""

    validator: str
    """``<size>:<mtime_ns>:<inode>`` of a file; the ``ETag`` / ``Last-Modified`` of a URL."""
    headers: dict[str, str]
    """The conditional request headers that ask whether a URL changed since."""
    repodata: Repodata


_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(CachedListing)


def http_validator(headers: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    """Return the validator of an answer, and the headers that ask about it again."""
    etag = headers.get("etag")
    modified = headers.get("last-modified")
    ask: dict[str, str] = {}
    if etag:
        ask["If-None-Match"] = etag
    if modified:
        ask["If-Modified-Since"] = modified
    if not ask:
        return None
    return f"{etag or ''}|{modified or ''}", ask


@dataclass(frozen=True)
class RepodataCache:
    """Selections of repodata documents, ``<folder>/<key>.msgpack``."""

    folder: Path
    writable: bool = True
    """False: read what is there, keep nothing new (a dry run)."""

    def _path(self, location: str, wanted: NameFilter) -> Path:
        key = json.dumps([__version__, location, sorted(wanted.exact), list(wanted.patterns)])
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.msgpack"

    def load(self, location: str, wanted: NameFilter | None) -> CachedListing | None:
        """Return what was kept for ``location`` read with ``wanted``, if anything."""
        if wanted is None:
            return None
        path = self._path(location, wanted)
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_ENTRY_BYTES + 1)
            if len(data) > _MAX_ENTRY_BYTES:
                return None
            return _DECODER.decode(data)
        except (OSError, msgspec.DecodeError, RecursionError):
            return None

    def save(
        self,
        location: str,
        wanted: NameFilter | None,
        validator: str,
        headers: Mapping[str, str],
        repodata: Repodata,
    ) -> None:
        """Keep a selection; a cache that cannot be written only makes the next run slower."""
        if wanted is None or not self.writable:
            return
        entry = CachedListing(validator, dict(headers), repodata)
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(self._path(location, wanted), _ENCODER.encode(entry))
