"""Compressed member bodies, held in an anonymous temporary file until the wheel is written.

The payload of a conda archive is read once. Each body is hashed and deflated as it
streams past (in worker threads: zlib and hashlib release the GIL) and appended here; the
writer later copies the compressed bytes into the zip in the order the plan chose. So the
unavoidable work (decompress, hash, deflate) happens once, and memory does not grow with
the package: bodies live on disk, not in RAM.

Bodies are deflated with zlib-ng (the ``zlib-ng`` wheel, which bundles one zlib-ng
version), not with the standard library's zlib: at the same level zlib-ng takes 1.25 to
5.7 times less CPU for sizes within a few percent (docs/benchmarks.md), and the bytes of
a wheel then depend on that one library, not on whichever zlib the Python was built
with (zlib itself, or a distribution's zlib-ng-compat, which compress the same input to
other bytes). zlib-ng computes its match hash in portable C on every architecture;
SIMD only speeds up comparisons whose results are exact, so the output does not depend
on the CPU.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import tempfile
import threading
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Literal

from condawheel.convert.deflate import (
    BLOCK,
    CHUNK,
    DEFLATED,
    STORED,
    WINDOW,
    block_bounds,
    crc32,
    deflate_block,
    deflate_bodies,
    deflate_bound,
    deflate_range,
    packed_wins,
    worth_deflating,
    write_all_at,
)

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
    "crc32",
    "deflate_block",
    "deflate_bodies",
    "deflate_bound",
    "deflate_into",
    "deflate_range",
    "deflate_range_into",
    "packed_wins",
    "worth_deflating",
]


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
        if len(self.segments) == 1:  # most bodies
            return self.segments[0][1]
        return sum(length for _, length in self.segments)


@dataclass(frozen=True)
class CompressedBody:
    """A body compressed in memory, not yet appended to a spool."""

    data: bytes
    size: int
    crc32: int
    method: Literal[0, 8]
    sha256: str


def compress_body(data: bytes, level: int) -> CompressedBody:
    """Hash and compress one whole body, block by block (thread-safe; releases the GIL)."""
    digest = hashlib.sha256(data).hexdigest()
    crc = crc32(data)
    # Small bodies are cheaper to deflate whole than to probe first.
    if worth_deflating(data, whole=True):
        packed = b"".join(deflate_range(data, a, b, level) for a, b in block_bounds(len(data)))
        if packed_wins(len(packed), len(data)):
            return CompressedBody(packed, len(data), crc, DEFLATED, digest)
    return CompressedBody(data, len(data), crc, STORED, digest)


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
        # The spool mapped read-only, as long as it was when mapped (only the writer's
        # thread copies); None before the first small copy or where mapping fails.
        self._map: mmap.mmap | None = None
        self._mappable = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the spool."""
        if self._map is not None:
            self._map.close()  # before the file: a mapped file cannot be removed on Windows
            self._map = None
        self._file.close()

    def reserve(self, size: int) -> int:
        """Reserve room for ``size`` bytes and return its offset (unused room stays a hole)."""
        with self._lock:
            offset = self._end
            self._end += size
        return offset

    def write_at(self, offset: int, data: bytes) -> int:
        """Write ``data`` at ``offset`` (thread-safe: a positioned write) and return its size."""
        write_all_at(self._fd, offset, data)
        return len(data)

    def fileno(self) -> int:
        """Return the spool's file descriptor (a helper process writes bodies through it)."""
        return self._fd

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

    def small_body(self, blob: Blob) -> bytes | None:
        """Return the compressed bytes of a small body (see :meth:`copy_into`), else None."""
        segments = blob.segments
        if len(segments) == 1 and segments[0][1] <= CHUNK:
            offset, length = segments[0]
            return self._small_body(offset, length)
        return None

    def copy_into(self, blob: Blob, out: BinaryIO) -> None:
        """Copy the compressed bytes of ``blob`` to the current position of ``out``.

        A small body (one segment, at most :data:`CHUNK` bytes) is sliced from a memory
        map of the spool and written through ``out``'s buffer: a kernel-side copy would
        cost a flush, a copy and a seek for each body of a package of small files, and a
        read each costs a system call (the wheel's order is not the spool's, so reading
        ahead does not serve the next body).
        """
        small = self.small_body(blob)
        if small is not None:
            out.write(small)
            return
        out.flush()
        for offset, length in blob.segments:
            self._copy_range(offset, length, out)

    def _small_body(self, offset: int, length: int) -> bytes:
        end = offset + length
        if self._mappable and (self._map is None or end > len(self._map)):
            self._remap()
        # Without a map (a file system that cannot map files), a read of the body.
        mapped = self._map
        data = os.pread(self._fd, length, offset) if mapped is None else mapped[offset:end]
        if len(data) < length:  # a guard: the spool is our own file
            msg = "spool is shorter than its index"
            raise OSError(msg)
        return data

    def _remap(self) -> None:
        """Map the spool as long as it is now (bodies written since the last map)."""
        if self._map is not None:
            self._map.close()
            self._map = None
        size = os.fstat(self._fd).st_size
        if size == 0:  # an empty file cannot be mapped
            return
        try:
            self._map = mmap.mmap(self._fd, size, access=mmap.ACCESS_READ)
        except (OSError, ValueError, OverflowError):
            self._mappable = False

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
            if not chunk:  # a guard: the spool is our own file
                msg = "spool is shorter than its index"
                raise OSError(msg)
            out.write(chunk)
            offset += len(chunk)
            remaining -= len(chunk)
