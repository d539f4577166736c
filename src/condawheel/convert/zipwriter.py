"""A minimal, deterministic ZIP writer for bodies that are already compressed.

:mod:`zipfile` compresses whatever it is given and cannot take deflate data produced
elsewhere; condawheel compresses each body once, in parallel, while the conda archive is
read (see :mod:`condawheel.convert.spool`), so it writes the container itself. Only what wheels
need is supported: stored and deflated entries, UTF-8 names, Unix modes, ZIP64 for large
archives. Layout per PKWARE's APPNOTE.TXT 6.3.x (sections 4.3.7, 4.3.12, 4.3.14-16, 4.5.3).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, BinaryIO, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ZipWriter"]

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_LIMIT32 = 0xFFFFFFFF
_LIMIT16 = 0xFFFF
_UTF8_FLAG = 0x0800
_MADE_BY_UNIX = 3 << 8
_S_IFREG = 0o100000


def _dos_date_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


class ZipWriter:
    """Write entries to a seekable binary file, then the central directory on :meth:`close`."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        # Each entry's central directory record, packed as the entry is added: everything
        # it holds is known then, and close() writes them all at once.
        self._central: list[bytes] = []
        self._date_time: tuple[int, int, int, int, int, int] | None = None
        self._dos = (0, 0)

    def add(
        self,
        name: str,
        *,
        method: Literal[0, 8],
        crc32: int,
        size: int,
        compressed_size: int,
        date_time: tuple[int, int, int, int, int, int],
        mode: int,
        write_body: Callable[[BinaryIO], None] | None = None,
        body: bytes = b"",
    ) -> None:
        """Add one entry: its compressed ``body``, or what ``write_body`` writes to the stream.

        A body given as bytes goes out in the same write as the entry's header: most
        entries of a wheel are small, and one write each counts for 30,000 of them.
        """
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8_FLAG
        if date_time != self._date_time:  # every entry of a wheel has the same date
            self._date_time = date_time
            self._dos = _dos_date_time(date_time)
        dos_time, dos_date = self._dos
        offset = self.out.tell()
        big = size >= _LIMIT32 or compressed_size >= _LIMIT32
        extra = struct.pack("<HHQQ", 0x0001, 16, size, compressed_size) if big else b""
        # One write of the header, name and extra field (and a body given as bytes).
        self.out.write(
            _LOCAL.pack(
                0x04034B50,
                45 if big else 20,
                flags,
                method,
                dos_time,
                dos_date,
                crc32,
                _LIMIT32 if big else compressed_size,
                _LIMIT32 if big else size,
                len(encoded),
                len(extra),
            )
            + encoded
            + extra
            + body
        )
        if write_body is not None:
            write_body(self.out)
        # Its central directory record (4.3.12): a size or the offset past 32 bits moves
        # all three into the ZIP64 extra field (4.5.3).
        zip64 = big or offset >= _LIMIT32
        extra = struct.pack("<HHQQQ", 0x0001, 24, size, compressed_size, offset) if zip64 else b""
        self._central.append(
            _CENTRAL.pack(
                0x02014B50,
                _MADE_BY_UNIX | (45 if zip64 else 20),
                45 if zip64 else 20,
                flags,
                method,
                dos_time,
                dos_date,
                crc32,
                _LIMIT32 if zip64 else compressed_size,
                _LIMIT32 if zip64 else size,
                len(encoded),
                len(extra),
                0,
                0,
                0,
                (_S_IFREG | mode) << 16,
                _LIMIT32 if zip64 else offset,
            )
            + encoded
            + extra
        )

    def close(self) -> None:
        """Write the central directory and its end records."""
        start = self.out.tell()
        self.out.write(b"".join(self._central))
        end = self.out.tell()
        size = end - start
        count = len(self._central)
        if count >= _LIMIT16 or size >= _LIMIT32 or start >= _LIMIT32:
            self.out.write(_END64.pack(0x06064B50, 44, 45, 45, 0, 0, count, count, size, start))
            self.out.write(_LOCATOR64.pack(0x07064B50, 0, end, 1))
            self.out.write(_END.pack(0x06054B50, 0, 0, _LIMIT16, _LIMIT16, _LIMIT32, _LIMIT32, 0))
        else:
            self.out.write(_END.pack(0x06054B50, 0, 0, count, count, size, start, 0))
