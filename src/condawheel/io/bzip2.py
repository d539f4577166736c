"""Decompress a bzip2 file on several cores, checked as strictly as libbz2 checks it.

A bzip2 stream is a chain of blocks of at most 900 kB, each compressed on its own and
carrying the CRC of its data; the stream ends with a marker and the combination of the
blocks' CRCs. indexed_bzip2 decodes blocks in parallel in C++ threads that release the
GIL, so a ``.tar.bz2`` is no longer limited to one core's decompression speed.

The decompressed bytes are the same whichever decoder produces them, so choosing the
decoder never changes a wheel. What the parallel decoder checks is kept equal to libbz2:

* every block's CRC (indexed_bzip2 checks it while decoding);
* the stream's combined CRC, which indexed_bzip2 1.7 does not check: once the file is
  read to its end, :class:`Bzip2Reader` reads every block's stored CRC at the offsets the
  decoder recorded, combines them as libbz2 does, and compares the result with the
  stream's stored CRC;
* any failure of the parallel decoder (truncated or corrupt data) hands over to the
  standard library's :mod:`bz2`, which re-reads the file to the same position and raises
  its own error there, or carries on if the data was good after all.

Without indexed_bzip2 (no wheel for the platform), :mod:`bz2` does all the work, with
the same output, on one core.
"""

from __future__ import annotations

import bz2
import os
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Bzip2Reader", "parallel_decoder_available"]

_BLOCK_MAGIC: Final = 0x314159265359
_END_MAGIC: Final = 0x177245385090
_SKIP_CHUNK: Final = 1 << 20


class _Decoder(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


def parallel_decoder_available() -> bool:
    """Return whether indexed_bzip2 can be imported here."""
    try:
        import indexed_bzip2  # noqa: F401, PLC0415 - imported only where bzip2 is read
    except ImportError:  # pragma: no cover - the dependency is installed with condawheel
        return False
    return True


def _looks_like_bzip2(head: bytes) -> bool:
    """Return whether ``head`` starts a bzip2 stream: ``BZh1``-``BZh9``, then a marker.

    Anything else goes to :mod:`bz2`, whose message names the problem; indexed_bzip2
    would take it for trailing garbage and print a warning of its own.
    """
    if len(head) < 10 or head[:3] != b"BZh" or head[3:4] not in b"123456789":  # noqa: PLR2004
        return False
    return int.from_bytes(head[4:10], "big") in {_BLOCK_MAGIC, _END_MAGIC}


class Bzip2Reader:
    """A readable bzip2 file: ``read`` and ``close``, like :class:`bz2.BZ2File`.

    :param threads: decoding threads; 1 (or no indexed_bzip2) uses :mod:`bz2` alone.
    """

    def __init__(self, path: Path, *, threads: int) -> None:
        self._path = path
        self._position = 0
        self._verified = False
        self._parallel = False
        decoder: _Decoder | None = None
        if threads > 1 and parallel_decoder_available():
            with path.open("rb") as handle:
                head = handle.read(10)
            if _looks_like_bzip2(head):
                import indexed_bzip2  # noqa: PLC0415 - only .tar.bz2 needs it

                decoder = indexed_bzip2.open(str(path), parallelization=threads)
                self._parallel = True
        self._decoder: _Decoder = decoder if decoder is not None else bz2.BZ2File(path)

    @property
    def parallel(self) -> bool:
        """Whether the parallel decoder is reading (it hands over to :mod:`bz2` on errors)."""
        return self._parallel

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` decompressed bytes (all when negative).

        :raises OSError, EOFError: as :mod:`bz2` does, for corrupt or truncated data.
        """
        if self._parallel:
            try:
                data = self._decoder.read(size)
            except (RuntimeError, ValueError):
                self._hand_over()
                data = self._decoder.read(size)
            else:
                if not data and size != 0:
                    self._verify_stream_crcs()
        else:
            data = self._decoder.read(size)
        self._position += len(data)
        return data

    def drain(self) -> None:
        """Read to the end of the file, so that every CRC, the last ones too, is checked.

        A tar reader stops at the end-of-archive marker, before the end of the stream.
        """
        while self.read(_SKIP_CHUNK):
            pass

    def close(self) -> None:
        """Close the decoder and the file."""
        self._decoder.close()

    def _hand_over(self) -> None:
        """Continue with :mod:`bz2` from the current position (the parallel decoder failed)."""
        self._decoder.close()
        self._parallel = False
        self._decoder = bz2.BZ2File(self._path)
        left = self._position
        while left > 0:
            skipped = self._decoder.read(min(left, _SKIP_CHUNK))
            if not skipped:  # pragma: no cover - bz2 raises before the data ends early
                break
            left -= len(skipped)

    def _verify_stream_crcs(self) -> None:
        """Check each stream's stored CRC against its blocks' CRCs (libbz2's last check).

        The decoder records the bit offset of every block and end-of-stream marker. Each
        block's CRC sits 48 bits after its offset and was checked against its data while
        decoding; each end marker is followed by the stream's combined CRC.

        :raises OSError: when a stream's CRC does not match, or the offsets do not
            describe whole streams (then :mod:`bz2` re-reads the file to decide).
        """
        if self._verified:
            return
        self._verified = True
        offsets = sorted(self._decoder.block_offsets())  # type: ignore[attr-defined]
        combined = 0
        streams = 0
        blocks_in_stream = 0
        descriptor = os.open(self._path, os.O_RDONLY)
        try:
            for offset in offsets:
                magic, crc = _marker_at(descriptor, offset)
                if magic == _BLOCK_MAGIC:
                    combined = (((combined << 1) | (combined >> 31)) & 0xFFFFFFFF) ^ crc
                    blocks_in_stream += 1
                elif magic == _END_MAGIC:
                    if crc != combined:
                        msg = (
                            f"bzip2 stream CRC {crc:08x} does not match its blocks' "
                            f"CRCs ({combined:08x})"
                        )
                        raise OSError(msg)
                    combined, blocks_in_stream, streams = 0, 0, streams + 1
        finally:
            os.close(descriptor)
        if streams == 0 or blocks_in_stream:
            # Not the shape this check knows (another indexed_bzip2 version?): let libbz2
            # read the whole file, so that its checks still apply.
            self._check_with_bz2()

    def _check_with_bz2(self) -> None:
        with bz2.BZ2File(self._path) as reader:
            while reader.read(_SKIP_CHUNK):
                pass


def _marker_at(descriptor: int, bit_offset: int) -> tuple[int, int]:
    """Return the 48-bit marker and the 32-bit CRC that follow it at ``bit_offset``."""
    start, shift = divmod(bit_offset, 8)
    needed = (shift + 80 + 7) // 8
    raw = os.pread(descriptor, needed, start)
    if len(raw) < needed:  # the end of the file: no marker there
        return 0, 0
    value = int.from_bytes(raw.ljust(11, b"\0"), "big")
    value = (value >> (8 - shift)) & ((1 << 80) - 1)
    return value >> 32, value & 0xFFFFFFFF
