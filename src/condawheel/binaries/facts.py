"""What the dynamic loader reads from one binary, and the bounded reader the formats share (pure).

The format modules (:mod:`.elf`, :mod:`.macho`, :mod:`.pe`) read a binary only through
:class:`Reader`, whose every read is checked against the file size, and raise
:class:`MalformedError` for an inconsistent structure; each turns that into
:class:`BinaryFacts` carrying an ``error``, so hostile input never escapes as an exception.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Literal, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "BinaryFacts",
    "BinaryFormat",
    "BinaryKind",
    "MalformedError",
    "Reader",
    "cstring",
    "unique",
]

BinaryFormat: TypeAlias = Literal["elf", "macho", "pe"]
BinaryKind: TypeAlias = Literal["executable", "library", "object", "other"]


@dataclass(frozen=True)
class BinaryFacts:
    """What the dynamic loader reads from one binary."""

    format: BinaryFormat
    kind: BinaryKind
    # One architecture per slice: uname-style for ELF (``x86_64``, ``aarch64``,
    # ``ppc64le``), lipo-style for Mach-O (``x86_64``, ``arm64``), and ``x86_64`` /
    # ``x86`` / ``arm64`` for PE. Derived from e_machine, EI_CLASS and EI_DATA for ELF.
    archs: tuple[str, ...]
    # Libraries the loader must find, in load order: DT_NEEDED sonames, Mach-O dylib
    # install names (LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, ...), PE
    # import and delay-import DLL names.
    needed: tuple[str, ...] = ()
    # The subset of ``needed`` that may be missing at load time: Mach-O weak dylibs and
    # PE delay-loaded DLLs.
    optional: tuple[str, ...] = ()
    # ELF DT_RPATH entries (split at ``:``) or Mach-O LC_RPATH paths.
    rpaths: tuple[str, ...] = ()
    # ELF DT_RUNPATH entries.
    runpaths: tuple[str, ...] = ()
    # DT_SONAME, LC_ID_DYLIB, or the name in the PE export directory.
    soname: str | None = None
    # Why the facts are incomplete, when the binary is truncated or malformed.
    error: str | None = None


class MalformedError(Exception):
    """A structure of the binary is inconsistent; the message says which and why."""


class Reader:
    """Random access to a binary where every read is checked against the file size."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.size = stream.seek(0, io.SEEK_END)

    def read_at(self, offset: int, size: int, what: str) -> bytes:
        """Read exactly ``size`` bytes at ``offset``, or say why the file does not hold them.

        :raises MalformedError: if the range lies outside the file or the file ends early.
        """
        if offset < 0 or size < 0 or offset + size > self.size:
            raise MalformedError(
                f"{what} (offset {offset}, {size} bytes) lies beyond the end of the file "
                f"({self.size} bytes): truncated or corrupt"
            )
        self.stream.seek(offset)
        chunks = []
        left = size
        while left:
            chunk = self.stream.read(left)
            if not chunk:
                raise MalformedError(f"{what}: the file ended early (truncated)")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def cstring_at(self, offset: int, limit: int, what: str) -> str:
        """Read a NUL-terminated string of at most ``limit`` bytes."""
        if offset < 0 or offset >= self.size:
            raise MalformedError(f"{what} at offset {offset} lies outside the file")
        data = self.read_at(offset, min(limit, self.size - offset), what)
        return cstring(data, what)


def cstring(data: bytes, what: str) -> str:
    """Return the NUL-terminated, non-empty string at the start of ``data``.

    :raises MalformedError: if there is no NUL or the string is empty.
    """
    end = data.find(b"\0")
    if end < 0:
        raise MalformedError(f"{what} is not NUL-terminated within {len(data)} bytes")
    if end == 0:
        raise MalformedError(f"{what} is empty")
    # Names are bytes to the loader; keep undecodable ones distinct and printable.
    return data[:end].decode("utf-8", errors="backslashreplace")


def unique(names: Iterable[str], *, casefold: bool = False) -> tuple[str, ...]:
    """Return ``names`` without repetitions, first occurrence kept (in load order)."""
    seen: set[str] = set()
    kept = []
    for name in names:
        key = name.casefold() if casefold else name
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return tuple(kept)
