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
import threading
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Literal

if TYPE_CHECKING:
    from pathlib import Path

    from typing_extensions import Self

__all__ = [
    "BLOCK",
    "DEFLATED",
    "STORED",
    "WINDOW",
    "Blob",
    "CompressedBody",
    "Spool",
    "block_bounds",
    "compress_body",
    "deflate_block",
    "deflate_bound",
    "deflate_into",
    "deflate_range",
    "deflate_range_into",
    "packed_wins",
    "worth_deflating",
]

STORED: Literal[0] = 0  # zip compression methods (APPNOTE.TXT 4.4.5)
DEFLATED: Literal[8] = 8
CHUNK = 1 << 20
# Bodies are deflated in blocks of this size, each primed with the 32 KiB before it and
# ended with a sync flush (pigz's scheme): the blocks concatenate into one valid deflate
# stream, and one large file can be compressed on several cores. The block size is part
# of the output, so it is fixed.
BLOCK = 1 << 20
WINDOW = 32 << 10
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
    """Where one compressed body sits in the spool, and what it decompresses to.

    ``segments`` are ``(offset, length)`` ranges whose concatenation is the compressed
    body: each block is written by the worker that compressed it, into a slot reserved
    for it, so a body is contiguous only when it was written in one piece.
    """

    segments: tuple[tuple[int, int], ...]
    size: int
    crc32: int
    method: Literal[0, 8]
    sha256: str

    @property
    def compressed_size(self) -> int:
        """The size of the compressed body."""
        return sum(length for _, length in self.segments)


@dataclass(frozen=True)
class CompressedBody:
    """A body compressed in memory, not yet appended to a spool."""

    data: bytes
    size: int
    crc32: int
    method: Literal[0, 8]
    sha256: str


def deflate_block(block: bytes, dictionary: bytes, level: int, *, final: bool) -> bytes:
    """Deflate one block of a body as a piece of a single raw deflate stream.

    :param dictionary: the (up to) 32 KiB of the body just before ``block``: back
        references may reach into it, as they would in one continuous stream, and the
        decompressor has those bytes because it just produced them.
    :param final: the last block ends the stream; the others end with a sync flush (an
        empty stored block), so the next block starts on a byte boundary.
    """
    # Raw deflate (wbits -15): the zip container supplies its own header and CRC.
    if dictionary:
        deflater = zlib.compressobj(
            level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, dictionary
        )
    else:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    return deflater.compress(block) + deflater.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def block_bounds(size: int) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` of every block of a body of ``size`` bytes."""
    return [(start, min(start + BLOCK, size)) for start in range(0, max(size, 1), BLOCK)]


def deflate_range(data: bytes, start: int, end: int, level: int) -> bytes:
    """Deflate ``data[start:end]``, one block of ``data``, with its dictionary."""
    window = data[max(0, start - WINDOW) : start]
    return deflate_block(data[start:end], window, level, final=end >= len(data))


def compress_body(data: bytes, level: int) -> CompressedBody:
    """Hash and compress one whole body, block by block (thread-safe; releases the GIL)."""
    digest = hashlib.sha256(data).hexdigest()
    crc = zlib.crc32(data)
    # Small bodies are cheaper to deflate whole than to probe first.
    if len(data) <= 2 * _PROBE or not incompressible(data[:_PROBE]):
        packed = b"".join(deflate_range(data, a, b, level) for a, b in block_bounds(len(data)))
        if len(packed) < len(data) * _STORE_RATIO:
            return CompressedBody(packed, len(data), crc, DEFLATED, digest)
    return CompressedBody(data, len(data), crc, STORED, digest)


def deflate_bound(size: int) -> int:
    """Return the most bytes deflating ``size`` bytes as one block can produce.

    zlib's ``deflateBound`` for stored blocks, plus the 5-byte sync-flush marker and
    margin: the size of the slot reserved for a block before it is compressed.
    """
    return size + (size >> 12) + (size >> 14) + (size >> 25) + 64


def deflate_into(
    spool: Spool, offset: int, block: bytes, dictionary: bytes, level: int, *, final: bool
) -> int:
    """Deflate one block into its reserved slot of the spool; return the bytes written."""
    return spool.write_at(offset, deflate_block(block, dictionary, level, final=final))


def deflate_range_into(
    spool: Spool, offset: int, data: bytes, start: int, end: int, level: int
) -> int:
    """Deflate block ``data[start:end]`` (see :func:`deflate_range`) into its slot."""
    return spool.write_at(offset, deflate_range(data, start, end, level))


def worth_deflating(data: bytes, *, whole: bool) -> bool:
    """Return whether a body should be deflated, judging by its probe (see _STORE_RATIO).

    :param whole: ``data`` is the whole body (small bodies skip the probe).
    """
    if whole and len(data) <= 2 * _PROBE:
        return True
    return not incompressible(data[:_PROBE])


def packed_wins(packed_size: int, size: int) -> bool:
    """Return whether deflated bytes are worth keeping over storing the body."""
    return packed_size < size * _STORE_RATIO


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
        self._fd = self._file.fileno()
        self._end = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the spool."""
        self._file.close()

    def reserve(self, size: int) -> int:
        """Reserve room for ``size`` bytes and return its offset (unused room stays a hole)."""
        with self._lock:
            offset = self._end
            self._end += size
        return offset

    def write_at(self, offset: int, data: bytes) -> int:
        """Write ``data`` at ``offset`` (thread-safe: a positioned write) and return its size."""
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view = view[written:]
            offset += written
        return len(data)

    def append(self, body: CompressedBody) -> Blob:
        """Append a body compressed by :func:`compress_body`."""
        offset = self.reserve(len(body.data))
        self.write_at(offset, body.data)
        return Blob(((offset, len(body.data)),), body.size, body.crc32, body.method, body.sha256)

    def read(self, blob: Blob) -> bytes:
        """Return the decompressed body of ``blob`` (for the few bodies a plan rewrites)."""
        packed = b"".join(os.pread(self._fd, length, offset) for offset, length in blob.segments)
        if blob.method == STORED:
            return packed
        return zlib.decompress(packed, -15)

    def copy_into(self, blob: Blob, out: BinaryIO) -> None:
        """Copy the compressed bytes of ``blob`` to the current position of ``out``."""
        out.flush()
        for offset, length in blob.segments:
            self._copy_range(offset, length, out)

    def _copy_range(self, offset: int, remaining: int, out: BinaryIO) -> None:
        target = out.fileno()
        copy_range = getattr(os, "copy_file_range", None)
        if copy_range is not None:
            # Kernel-side copy; it writes at the descriptor's position, so the buffered
            # object's idea of the position is re-synchronised afterwards.
            try:
                while remaining > 0:
                    copied = copy_range(self._fd, target, remaining, offset)
                    if copied == 0:
                        break
                    offset += copied
                    remaining -= copied
            except OSError:
                pass  # e.g. across file systems on older kernels: read/write the rest
            out.seek(0, os.SEEK_END)
            if remaining == 0:
                return
        while remaining > 0:
            chunk = os.pread(self._fd, min(CHUNK, remaining), offset)
            if not chunk:  # pragma: no cover - the spool is our own file
                msg = "spool is shorter than its index"
                raise OSError(msg)
            out.write(chunk)
            offset += len(chunk)
            remaining -= len(chunk)
