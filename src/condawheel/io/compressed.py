"""Decompress streams (zstd, bzip2) chunk by chunk, with a bound on what comes out.

A few kilobytes of zstd can expand to gigabytes; reading such a file whole and then
decompressing it whole is how memory runs out. Here every step asks the decompressor
for a bounded amount of output, and the total is checked against the caller's limit as
it grows, so that memory stays flat and a bomb is refused after ``limit`` bytes.
"""

from __future__ import annotations

import bz2
import sys
from typing import TYPE_CHECKING, Final, Literal, Protocol, TypeAlias

from condawheel.errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import ModuleType

__all__ = ["Encoding", "decompressed", "encoding_of", "size_text", "zstd_module"]

Encoding: TypeAlias = Literal["zst", "bz2", "identity"]
_STEP: Final = 1 << 20


class _Decompressor(Protocol):
    """What ``bz2.BZ2Decompressor`` and ``zstd.ZstdDecompressor`` have in common."""

    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def zstd_module() -> ModuleType | None:
    """Return a zstd module: the standard library's (3.14+), else ``backports.zstd``."""
    if sys.version_info >= (3, 14):
        from compression import zstd  # noqa: PLC0415 - optional, version-dependent
    else:
        try:
            from backports import zstd  # noqa: PLC0415 - optional, version-dependent
        except ImportError:  # pragma: no cover - a declared dependency before 3.14
            return None
    return zstd


def encoding_of(name: str) -> Encoding:
    """Return the compression a file name's suffix says (``.zst``, ``.bz2``, or none)."""
    if name.endswith(".zst"):
        return "zst"
    if name.endswith(".bz2"):
        return "bz2"
    return "identity"


def size_text(count: int) -> str:
    """Return a byte count as people read it (``2 GiB``, ``64 MiB``, ``12 bytes``)."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.4g} {unit}"
    return f"{count} bytes"


def _new(encoding: Encoding) -> _Decompressor:
    if encoding == "bz2":
        return bz2.BZ2Decompressor()
    zstd = zstd_module()
    if zstd is None:  # pragma: no cover - see zstd_module
        msg = "no zstd decompressor is installed"
        raise ValueError(msg)
    decompressor: _Decompressor = zstd.ZstdDecompressor()
    return decompressor


def decompressed(
    chunks: Iterable[bytes], encoding: Encoding, *, limit: int, where: str
) -> Iterator[bytes]:
    """Yield the decompressed bytes of ``chunks``, at most ``limit`` of them in all.

    Concatenated frames (streams) are read one after the other, as the command-line
    tools do.

    :raises SourceError: naming ``where``, if the data is corrupt or cut short, or
        decompresses to more than ``limit`` bytes.
    """
    total = 0

    def count(data: bytes) -> bytes:
        nonlocal total
        total += len(data)
        if total > limit:
            raise SourceError(where, f"decompresses to more than the limit of {size_text(limit)}")
        return data

    if encoding == "identity":
        for chunk in chunks:
            if chunk:
                yield count(chunk)
        return
    errors: tuple[type[Exception], ...] = (OSError, EOFError, ValueError)
    zstd = zstd_module() if encoding == "zst" else None
    if zstd is not None:
        errors = (*errors, zstd.ZstdError)
    try:
        decompressor = _new(encoding)
        started = False
        for chunk in chunks:
            pending = chunk
            while pending:
                if decompressor.eof:
                    # Another frame follows the one that ended.
                    decompressor = _new(encoding)
                out = decompressor.decompress(pending, _STEP)
                started = True
                if out:
                    yield count(out)
                while not decompressor.eof and not decompressor.needs_input:
                    out = decompressor.decompress(b"", _STEP)
                    if out:
                        yield count(out)
                # Only now is a frame that ended during the draining known to have
                # ended: what it left of the input is the next frame's beginning.
                pending = decompressor.unused_data if decompressor.eof else b""
        if not started or not decompressor.eof:
            raise SourceError(where, "cannot decompress: the data is cut short")
    except errors as error:
        raise SourceError(where, f"cannot decompress: {error}") from None
