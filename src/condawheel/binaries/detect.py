"""Tell binaries from other files by their magic, and read each in its own format (pure).

:func:`analyze_binary` is the one entry point for a single binary: it picks the reader of
:mod:`.elf`, :mod:`.macho` or :mod:`.pe` by the first bytes, and never raises for bad input.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, BinaryIO

from condawheel.binaries.elf_struct import read_elf_quickly
from condawheel.binaries.facts import BinaryFacts, BinaryFormat, MalformedError, Reader
from condawheel.binaries.macho import (
    FAT_MAGIC,
    FAT_MAGIC_64,
    MACHO_MAGICS,
    MAX_FAT_ARCHES,
    analyze_fat,
    analyze_macho,
)
from condawheel.binaries.pe import analyze_pe

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LinkageAnalyzer", "analyze_binary", "looks_like_binary"]

ELF_MAGIC = b"\x7fELF"


def _analyze_elf(reader: Reader, head: bytes) -> BinaryFacts:
    # A well-formed binary is read with struct alone, fifty times faster than through
    # pyelftools' decoders (docs/benchmarks.md, many small files); anything else by the
    # full reader. pyelftools is imported by the first such file, not by every command
    # that may convert: it is a fifth of a tiny conversion's imports.
    facts = read_elf_quickly(reader)
    if facts is not None:
        return facts
    from condawheel.binaries.elf import analyze_elf  # noqa: PLC0415

    return analyze_elf(reader, head)


_ANALYZERS: dict[bytes, Callable[[Reader, bytes], BinaryFacts | None]] = {
    ELF_MAGIC: _analyze_elf,
    **dict.fromkeys(MACHO_MAGICS, analyze_macho),
    FAT_MAGIC: analyze_fat,
    FAT_MAGIC_64: analyze_fat,
}


def looks_like_binary(head: bytes) -> bool:
    """Return whether a file starting with ``head`` (its first 8 bytes or more) may be a binary.

    Cheap and permissive: :func:`analyze_binary` makes the final decision.
    """
    magic = head[:4]
    if magic in {ELF_MAGIC, FAT_MAGIC_64} or magic in MACHO_MAGICS:
        return True
    if magic == FAT_MAGIC:
        return len(head) >= 8 and 0 < int.from_bytes(head[4:8], "big") <= MAX_FAT_ARCHES  # noqa: PLR2004
    return head[:2] == b"MZ"


class LinkageAnalyzer:
    """The :class:`~condawheel.convert.ingest.BinaryAnalyzer` here (stateless, thread-safe)."""

    def wants(self, head: bytes) -> bool:
        """Return whether a body starting with ``head`` may be a binary."""
        return looks_like_binary(head)

    def analyze(self, data: BinaryIO) -> BinaryFacts | None:
        """Return the facts of one binary, or ``None`` if it is not one after all."""
        return analyze_binary(data)


def analyze_binary(data: BinaryIO) -> BinaryFacts | None:
    """Read the linkage facts of an ELF, Mach-O or PE binary.

    Thread-safe; reads only the headers and tables it needs. A truncated or malformed
    binary yields facts whose ``error`` says what is wrong (with whatever was readable);
    an I/O error of ``data`` is reported the same way.

    :param data: the binary, opened for reading; a non-seekable stream is read into memory.
    :return: ``None`` when the bytes are not a binary of a known format after all (an
        MS-DOS program, a Java class file, a universal static library).
    """
    try:
        if not data.seekable():
            data = io.BytesIO(data.read())
        reader = Reader(data)
        head = reader.read_at(0, min(8, reader.size), "file header")
        analyze = _ANALYZERS.get(head[:4]) or (analyze_pe if head[:2] == b"MZ" else None)
        return analyze(reader, head) if analyze is not None else None
    except OSError as error:
        return _broken(data, f"cannot read the file: {error}")
    except MalformedError as error:  # a guard: each format catches its own
        return _broken(data, str(error))


def _broken(data: BinaryIO, error: str) -> BinaryFacts | None:
    try:
        data.seek(0)
        head = data.read(4)
    except OSError:
        return None
    binary_format: BinaryFormat
    if head == ELF_MAGIC:
        binary_format = "elf"
    elif head in MACHO_MAGICS or head in {FAT_MAGIC, FAT_MAGIC_64}:
        binary_format = "macho"
    elif head[:2] == b"MZ":
        binary_format = "pe"
    else:
        return None
    return BinaryFacts(binary_format, "other", (), error=error)
