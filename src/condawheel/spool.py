"""Compressed member bodies, held in an anonymous temporary file until the wheel is written.

The payload of a conda archive is read once. Each body is hashed and deflated as it
streams past (in worker threads: zlib and hashlib release the GIL) and appended here; the
writer later copies the compressed bytes into the zip in the order the plan chose. So the
unavoidable work (decompress, hash, deflate) happens once, and memory does not grow with
the package: bodies live on disk, not in RAM.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from typing_extensions import Self

__all__ = ["DEFLATED", "STORED", "Blob", "CompressedBody", "Spool", "compress_body"]

STORED: Literal[0] = 0  # zip compression methods (APPNOTE.TXT 4.4.5)
DEFLATED: Literal[8] = 8
CHUNK = 1 << 20
# Already-compressed bodies (.gz, .png, .zst, packed data) gain nothing from deflate, and
# deflating them is its slowest case (~60 MB/s against ~500 MB/s for text). A cheap probe
# of the first 64 KiB at level 1 decides: a body whose probe does not shrink below the
# ratio is stored as is. A body held in memory and deflated anyway is also stored when
# the whole result does not shrink below it. Both choices depend only on the bytes, so
# output stays reproducible.
_STORE_RATIO = 0.97
_PROBE = 64 << 10


@dataclass(frozen=True)
class Blob:
    """Where one compressed body sits in the spool, and what it decompresses to."""

    offset: int
    compressed_size: int
    size: int
    crc32: int
    method: Literal[0, 8]
    sha256: str


@dataclass(frozen=True)
class CompressedBody:
    """A body compressed in memory, not yet appended to a spool."""

    data: bytes
    size: int
    crc32: int
    method: Literal[0, 8]
    sha256: str


def _deflater(level: int) -> zlib._Compress:
    # Raw deflate (wbits -15): the zip container supplies its own header and CRC.
    return zlib.compressobj(level, zlib.DEFLATED, -15)


def compress_body(data: bytes, level: int) -> CompressedBody:
    """Hash and compress one whole body (thread-safe; the work releases the GIL)."""
    digest = hashlib.sha256(data).hexdigest()
    crc = zlib.crc32(data)
    # Small bodies are cheaper to deflate whole than to probe first.
    if len(data) <= 2 * _PROBE or not incompressible(data[:_PROBE]):
        deflater = _deflater(level)
        packed = deflater.compress(data) + deflater.flush()
        if len(packed) < len(data) * _STORE_RATIO:
            return CompressedBody(packed, len(data), crc, DEFLATED, digest)
    return CompressedBody(data, len(data), crc, STORED, digest)


def incompressible(probe: bytes) -> bool:
    """Return whether a body starting with ``probe`` is not worth deflating."""
    if len(probe) < 256:  # noqa: PLR2004 - tiny bodies are judged by the whole deflate
        return False
    deflater = zlib.compressobj(1, zlib.DEFLATED, -15)
    return len(deflater.compress(probe) + deflater.flush()) >= len(probe) * _STORE_RATIO


class Spool:
    """An append-only file of compressed bodies, removed when closed (or on a crash).

    :param directory: where the temporary file lives; the output directory keeps it on
        the same disk as the wheel and out of a RAM-backed ``/tmp``.
    :param level: the zlib compression level; a part of the output, so a parameter.
    """

    def __init__(self, directory: Path | None, *, level: int = 6) -> None:
        self.level = level
        # An unnamed temporary file: nothing is left behind, even after SIGKILL.
        self._file: BinaryIO = tempfile.TemporaryFile(  # noqa: SIM115 - closed by close()
            dir=directory, prefix=".condawheel-spool-"
        )
        self._end = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the spool."""
        self._file.close()

    def append(self, body: CompressedBody) -> Blob:
        """Append a body compressed by :func:`compress_body`."""
        offset = self._end
        self._file.seek(offset)
        self._file.write(body.data)
        self._end += len(body.data)
        return Blob(offset, len(body.data), body.size, body.crc32, body.method, body.sha256)

    def append_stream(self, first: bytes, rest: _Reader, size: int) -> tuple[Blob, bytes]:
        """Hash and deflate a large body chunk by chunk, straight into the spool.

        :param first: the first chunk, already read (it decides stored versus deflated).
        :param rest: a reader for the remaining ``size - len(first)`` bytes.
        :returns: the blob, and the first chunk (callers keep its head).
        """
        offset = self._end
        self._file.seek(offset)
        digest = hashlib.sha256()
        crc = 0
        stored = incompressible(first[:_PROBE])
        deflater = None if stored else _deflater(self.level)
        written = 0
        remaining = size
        chunk = first
        while True:
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            remaining -= len(chunk)
            out = chunk if deflater is None else deflater.compress(chunk)
            self._file.write(out)
            written += len(out)
            if remaining <= 0:
                break
            chunk = rest.read(min(CHUNK, remaining))
            if not chunk:
                msg = f"body ended {remaining} bytes early"
                raise EOFError(msg)
        if deflater is not None:
            tail = deflater.flush()
            self._file.write(tail)
            written += len(tail)
        self._end += written
        method: Literal[0, 8] = STORED if stored else DEFLATED
        return Blob(offset, written, size, crc, method, digest.hexdigest()), first

    def read(self, blob: Blob) -> bytes:
        """Return the decompressed body of ``blob`` (for the few bodies a plan rewrites)."""
        self._file.seek(blob.offset)
        packed = self._file.read(blob.compressed_size)
        if blob.method == STORED:
            return packed
        return zlib.decompress(packed, -15)

    def copy_into(self, blob: Blob, out: BinaryIO) -> None:
        """Copy the compressed bytes of ``blob`` to the current position of ``out``."""
        out.flush()
        source = self._file.fileno()
        target = out.fileno()
        remaining = blob.compressed_size
        offset = blob.offset
        copy_range = getattr(os, "copy_file_range", None)
        if copy_range is not None:
            # Kernel-side copy; it writes at the descriptor's position, so the buffered
            # object's idea of the position is re-synchronised afterwards.
            try:
                while remaining > 0:
                    copied = copy_range(source, target, remaining, offset)
                    if copied == 0:
                        break
                    offset += copied
                    remaining -= copied
            except OSError:
                pass  # e.g. across file systems on older kernels: read/write the rest
            out.seek(0, os.SEEK_END)
            if remaining == 0:
                return
        self._file.seek(offset)
        while remaining > 0:
            chunk = self._file.read(min(CHUNK, remaining))
            if not chunk:  # pragma: no cover - the spool is our own file
                msg = "spool is shorter than its index"
                raise OSError(msg)
            out.write(chunk)
            remaining -= len(chunk)


class _Reader(Protocol):
    """A readable body (structurally :class:`condawheel.sources.MemberReader`)."""

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes."""
        ...
