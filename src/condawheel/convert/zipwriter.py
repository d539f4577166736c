"""A minimal, deterministic ZIP writer for bodies that are already compressed.

:mod:`zipfile` compresses whatever it is given and cannot take deflate data produced
elsewhere; condawheel compresses each body once, in parallel, while the conda archive is
read (see :mod:`condawheel.convert.spool`), so it writes the container itself. Only what wheels
need is supported: stored and deflated entries, UTF-8 names, Unix modes, ZIP64 for large
archives. Layout per PKWARE's APPNOTE.TXT 6.3.x (sections 4.3.7, 4.3.12, 4.3.14-16, 4.5.3).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ZipEntry", "ZipWriter"]

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


@dataclass(frozen=True)
class ZipEntry:
    """The facts of one written entry, kept for the central directory."""

    name: bytes
    flags: int
    method: Literal[0, 8]
    dos_time: int
    dos_date: int
    crc32: int
    compressed_size: int
    size: int
    mode: int
    offset: int

    @property
    def zip64(self) -> bool:
        """Whether a size or the offset needs the ZIP64 extra field."""
        return max(self.size, self.compressed_size, self.offset) >= _LIMIT32


def _dos_date_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


class ZipWriter:
    """Write entries to a seekable binary file, then the central directory on :meth:`close`."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.entries: list[ZipEntry] = []
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
        write_body: Callable[[BinaryIO], None],
    ) -> None:
        """Add one entry whose compressed body ``write_body`` writes to the stream."""
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8_FLAG
        if date_time != self._date_time:  # every entry of a wheel has the same date
            self._date_time = date_time
            self._dos = _dos_date_time(date_time)
        dos_time, dos_date = self._dos
        offset = self.out.tell()
        big = size >= _LIMIT32 or compressed_size >= _LIMIT32
        extra = struct.pack("<HHQQ", 0x0001, 16, size, compressed_size) if big else b""
        # One write of the header, name and extra field: most entries are small.
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
        )
        write_body(self.out)
        self.entries.append(
            ZipEntry(
                encoded,
                flags,
                method,
                dos_time,
                dos_date,
                crc32,
                compressed_size,
                size,
                mode,
                offset,
            )
        )

    def close(self) -> None:
        """Write the central directory and its end records."""
        start = self.out.tell()
        for entry in self.entries:
            extra = b""
            if entry.zip64:
                values = [entry.size, entry.compressed_size, entry.offset]
                extra = struct.pack("<HH", 0x0001, 8 * len(values)) + struct.pack(
                    f"<{len(values)}Q", *values
                )
            self.out.write(
                _CENTRAL.pack(
                    0x02014B50,
                    _MADE_BY_UNIX | (45 if entry.zip64 else 20),
                    45 if entry.zip64 else 20,
                    entry.flags,
                    entry.method,
                    entry.dos_time,
                    entry.dos_date,
                    entry.crc32,
                    _LIMIT32 if entry.zip64 else entry.compressed_size,
                    _LIMIT32 if entry.zip64 else entry.size,
                    len(entry.name),
                    len(extra),
                    0,
                    0,
                    0,
                    (_S_IFREG | entry.mode) << 16,
                    _LIMIT32 if entry.zip64 else entry.offset,
                )
            )
            self.out.write(entry.name)
            self.out.write(extra)
        end = self.out.tell()
        size = end - start
        count = len(self.entries)
        if count >= _LIMIT16 or size >= _LIMIT32 or start >= _LIMIT32:
            self.out.write(_END64.pack(0x06064B50, 44, 45, 45, 0, 0, count, count, size, start))
            self.out.write(_LOCATOR64.pack(0x07064B50, 0, end, 1))
            self.out.write(_END.pack(0x06054B50, 0, 0, _LIMIT16, _LIMIT16, _LIMIT32, _LIMIT32, 0))
        else:
            self.out.write(_END.pack(0x06054B50, 0, 0, count, count, size, start, 0))
