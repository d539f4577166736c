"""Deflating bodies as a wheel stores them: the functions, and a helper process's loop.

Everything here depends on the bytes alone, so a body deflated by a worker thread, the
reading thread or a helper process (:mod:`.deflater`) comes out the same. Bodies are
deflated with zlib-ng (the ``zlib-ng`` wheel, which bundles one zlib-ng version), not with
the standard library's zlib: see :mod:`.spool`. The module imports little (no
:mod:`typing` at run time): a helper process imports it, and only it, at start.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
import zlib

from condawheel.errors import MissingDependency

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Literal, Protocol

    class _Deflater(Protocol):
        def compress(self, data: bytes, /) -> bytes: ...

        def flush(self, mode: int = ..., /) -> bytes: ...


__all__ = [
    "BLOCK",
    "CHUNK",
    "DEFLATED",
    "REQUEST",
    "STORED",
    "U32",
    "WINDOW",
    "block_bounds",
    "crc32",
    "deflate_block",
    "deflate_bodies",
    "deflate_bound",
    "deflate_range",
    "incompressible",
    "packed_wins",
    "run_helper",
    "serve",
    "worth_deflating",
    "write_all_at",
]

# A helper's requests and replies (see :mod:`.deflater` for the protocol).
REQUEST = struct.Struct("<QiI")  # offset, level (signed: zlib's default is -1), count
U32 = struct.Struct("<I")

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
# deflating them is its slowest case. A cheap probe of the first 64 KiB at level 2 decides
# (zlib-ng's level 1 uses fixed Huffman codes only, too coarse a judge): a body whose
# probe does not shrink below the ratio is stored as is. A body held in memory and
# deflated anyway is also stored when the whole result does not shrink below it. Both
# choices depend only on the bytes, so output stays reproducible.
_STORE_RATIO = 0.97
_PROBE = 64 << 10
_PROBE_LEVEL = 2
_ONE_CALL_LEVEL = 2  # see deflate_block


try:
    from zlib_ng import zlib_ng as _zlib_ng
except ImportError:  # pragma: no cover - a dependency; tested in a process that blocks it
    _ZLIB_NG = False
else:
    _ZLIB_NG = True


def _deflater(level: int, dictionary: bytes = b"") -> _Deflater:
    """Return a raw deflate compressor of zlib-ng, the only deflate wheels are written with.

    Raw deflate (wbits -15): the zip container supplies its own header and CRC. Falling
    back to the standard library's zlib would silently change the bytes of every wheel,
    so zlib-ng's absence is an error instead.

    :raises MissingDependency: if the ``zlib-ng`` package is not installed.
    """
    _require_zlib_ng()
    if dictionary:
        return _zlib_ng.compressobj(
            level, _zlib_ng.DEFLATED, -15, 8, _zlib_ng.Z_DEFAULT_STRATEGY, dictionary
        )
    return _zlib_ng.compressobj(level, _zlib_ng.DEFLATED, -15)


def _require_zlib_ng() -> None:
    if not _ZLIB_NG:  # pragma: no cover - tested in a process that blocks the import
        raise MissingDependency(
            "zlib-ng",
            "not installed; condawheel deflates wheel members with it so that a wheel's "
            "bytes are the same on every machine (pip install zlib-ng)",
        )


def crc32(data: bytes, value: int = 0) -> int:
    """Return the CRC-32 of ``data`` (ISO 3309, as zip needs), continuing from ``value``.

    The CRC is defined by its polynomial, so every implementation gives the same value:
    zlib-ng's is several times faster than older zlibs', and the standard library's
    stands in where zlib-ng is missing.
    """
    if not _ZLIB_NG:  # pragma: no cover - see above
        return zlib.crc32(data, value)
    return _zlib_ng.crc32(data, value)


def deflate_block(block: bytes, dictionary: bytes, level: int, *, final: bool) -> bytes:
    """Deflate one block of a body as a piece of a single raw deflate stream.

    :param dictionary: the (up to) 32 KiB of the body just before ``block``: back
        references may reach into it, as they would in one continuous stream, and the
        decompressor has those bytes because it just produced them.
    :param final: the last block ends the stream; the others end with a sync flush (an
        empty stored block), so the next block starts on a byte boundary.
    """
    if final and not dictionary and level >= _ONE_CALL_LEVEL:
        # A body of one block (most bodies): one call, which makes the same bytes as a
        # compressor fed the block and finished (tests/test_deflate_output.py), with
        # less Python per body and one release of the GIL instead of two, which counts
        # when workers deflate small bodies while the reading thread runs Python. Not
        # at levels 0 and 1: zlib-ng's stored and quick strategies mark a block as the
        # last one when the call that opens it finishes the stream, so there one call
        # makes other bytes.
        _require_zlib_ng()
        return _zlib_ng.compress(block, level, -15)
    deflater = _deflater(level, dictionary)
    return deflater.compress(block) + deflater.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def block_bounds(size: int) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` of every block of a body of ``size`` bytes."""
    return [(start, min(start + BLOCK, size)) for start in range(0, max(size, 1), BLOCK)]


def deflate_range(data: bytes, start: int, end: int, level: int) -> bytes:
    """Deflate ``data[start:end]``, one block of ``data``, with its dictionary."""
    window = data[max(0, start - WINDOW) : start]
    return deflate_block(data[start:end], window, level, final=end >= len(data))


def deflate_bound(size: int) -> int:
    """Return the most bytes deflating ``size`` bytes as one block can produce.

    zlib's ``deflateBound`` for stored blocks, plus the 5-byte sync-flush marker and
    margin: the size of the slot reserved for a block before it is compressed.
    """
    return size + (size >> 12) + (size >> 14) + (size >> 25) + 64


def deflate_bodies(
    bodies: list[bytes], level: int
) -> tuple[bytes, list[tuple[int, Literal[0, 8]]]]:
    """Deflate small bodies each on its own, and join the results for one write.

    Each body is deflated exactly as a body of its own would be (one block, no
    dictionary, :func:`deflate_range`), or kept as it is when deflate does not pay: so
    where a body is deflated (a worker thread, the reading thread or a helper process,
    :mod:`condawheel.convert.deflater`) never changes its bytes.

    :return: the joined bodies, and each one's stored length and zip method.
    """
    kept: list[bytes] = []
    placed: list[tuple[int, Literal[0, 8]]] = []
    for data in bodies:
        stored: bytes = data
        method: Literal[0, 8] = STORED
        if worth_deflating(data, whole=True):
            packed = deflate_range(data, 0, len(data), level)
            if packed_wins(len(packed), len(data)):
                stored, method = packed, DEFLATED
        kept.append(stored)
        placed.append((len(stored), method))
    return b"".join(kept), placed


def write_all_at(fd: int, offset: int, data: bytes) -> None:
    """Write all of ``data`` at ``offset`` of the file ``fd`` (a positioned write)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


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
    deflater = _deflater(_PROBE_LEVEL)
    return len(deflater.compress(probe) + deflater.flush()) >= len(probe) * _STORE_RATIO


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """Read ``size`` bytes; ``None`` at the end of the input before any of them."""
    data = stream.read(size)
    if not data and size:
        return None
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            msg = "request cut short"
            raise EOFError(msg)
        data += more
    return data


def _read_part(stream: BinaryIO, size: int) -> bytes:
    """Read the rest of a request that has begun."""
    data = _read_exactly(stream, size)
    if data is None:
        msg = "request cut short"
        raise EOFError(msg)
    return data


def run_helper(spool_fd: int) -> int:
    """Run a helper process (see :func:`serve`); return its exit status.

    A converting process that goes away cuts its requests short or closes the pipe of
    the replies: the helper ends then, with a status and no traceback.
    """
    try:
        serve(spool_fd)
    except (EOFError, BrokenPipeError):
        return 1
    return 0


def serve(spool_fd: int) -> None:
    """Run a helper: deflate each batch from standard input into the spool, until its end.

    Runs in the helper process. Ctrl-C reaches the whole process group; the converting
    process decides what happens, and the helper ends when its input does.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while (head := _read_exactly(requests, REQUEST.size)) is not None:
        offset, level, count = REQUEST.unpack(head)
        sizes = struct.unpack(f"<{count}I", _read_part(requests, 4 * count))
        joined = _read_part(requests, sum(sizes))
        bodies: list[bytes] = []
        start = 0
        for size in sizes:
            bodies.append(joined[start : start + size])
            start += size
        try:
            packed, placed = deflate_bodies(bodies, level)
            write_all_at(spool_fd, offset, packed)
        except OSError as error:
            reason = (error.strerror or str(error)).encode("utf-8", "replace")
            replies.write(U32.pack(len(reason)) + reason)
            replies.flush()
            return
        flat = [value for pair in placed for value in pair]
        replies.write(U32.pack(0) + struct.pack(f"<{len(flat)}I", *flat))
        replies.flush()
