"""Read the linkage facts of a well-formed ELF binary with :mod:`struct` alone (pure).

pyelftools (:mod:`.elf`) builds its whole set of structure decoders for every file it
opens: about a millisecond per file, which is most of the cost of a package of thousands
of small extension modules. The few fields the dynamic loader needs sit at fixed places
(System V gABI, "ELF Header", "Program Header", "Dynamic Section"), so this reader takes
them directly, the same way :mod:`.elf` reaches them: the program headers, ``PT_DYNAMIC``,
and the strings through ``DT_STRTAB`` mapped by a ``PT_LOAD`` segment.

It only answers for a binary that reads without a single problem on a machine whose
name it knows; for anything else (a truncated or inconsistent structure, ``PN_XNUM``, an
unknown machine) it returns ``None`` and :mod:`.elf` reads the file, so every error
message and every partial result stays pyelftools' and :mod:`.elf`'s.
``tests/test_binaries_formats.py`` checks both readers agree on every binary this one
answers for.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from condawheel.binaries.facts import BinaryFacts, BinaryKind, MalformedError, Reader, unique

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["read_elf_quickly"]

# e_machine values (gABI, "ELF Header") and the platform names condawheel uses for them;
# the same names :mod:`.elf` derives from pyelftools' EM_* names.
_ARCHS: Final = {
    62: "x86_64",  # EM_X86_64
    3: "i686",  # EM_386
    183: "aarch64",  # EM_AARCH64
    40: "armv7l",  # EM_ARM
    22: "s390x",  # EM_S390
    243: "riscv64",  # EM_RISCV
    258: "loongarch64",  # EM_LOONGARCH
    20: "ppc",  # EM_PPC
    8: "mips",  # EM_MIPS
    50: "ia64",  # EM_IA_64
    43: "sparc64",  # EM_SPARCV9
}
_EM_PPC64: Final = 21
# (e_machine, ELF class) pairs whose platform name differs from the machine's.
_ARCH_VARIANTS: Final = {(62, 32): "x32", (243, 32): "riscv32", (22, 32): "s390", (8, 64): "mips64"}
_KINDS: Final[dict[int, BinaryKind]] = {1: "object", 2: "executable", 3: "library"}
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ = 0, 1, 5, 10
_DT_SONAME, _DT_RPATH, _DT_RUNPATH = 14, 15, 29
_STRING_TAGS: Final = {
    _DT_NEEDED: "DT_NEEDED",
    _DT_SONAME: "DT_SONAME",
    _DT_RPATH: "DT_RPATH",
    _DT_RUNPATH: "DT_RUNPATH",
}
# The same bounds as :mod:`.elf`: a file beyond them is read there, which says so.
_MAX_PROGRAM_HEADERS = 1024
_MAX_DYNAMIC_ENTRIES = 8192
_MAX_STRING = 4096
_PN_XNUM = 0xFFFF


class _Layout:
    """The structures of one ELF class and byte order (gABI figures 4-3, 5-1, 5-9)."""

    def __init__(self, elfclass: int, order: str) -> None:
        wide = elfclass == 64  # noqa: PLR2004 - ELFCLASS64
        self.elfclass = elfclass
        # e_type .. e_shstrndx, after the 16 bytes of e_ident.
        self.header = struct.Struct(order + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"))
        # p_type, then p_flags before the offsets in ELF64 and after them in ELF32.
        self.program = struct.Struct(order + ("IIQQQQQQ" if wide else "IIIIIIII"))
        self.dynamic = struct.Struct(order + ("qQ" if wide else "iI"))
        self.wide = wide

    def segment(self, raw: bytes, at: int) -> tuple[int, int, int, int]:
        """Return ``(p_type, p_offset, p_vaddr, p_filesz)`` of the entry at ``at``."""
        fields = self.program.unpack_from(raw, at)
        if self.wide:
            return fields[0], fields[2], fields[3], fields[5]
        return fields[0], fields[1], fields[2], fields[4]


_LAYOUTS: Final = {
    (1, 1): _Layout(32, "<"),
    (1, 2): _Layout(32, ">"),
    (2, 1): _Layout(64, "<"),
    (2, 2): _Layout(64, ">"),
}


class _Unusual(Exception):
    """The binary needs the full reader (:mod:`.elf`): it is not plainly well formed."""


def read_elf_quickly(reader: Reader) -> BinaryFacts | None:
    """Return the facts of the ELF binary ``reader`` holds, or ``None`` to read it fully.

    :return: ``None`` whenever the full reader would report a problem or decode a
        structure differently; then :func:`condawheel.binaries.elf.analyze_elf` answers.
    """
    try:
        return _read(reader)
    except (_Unusual, MalformedError, struct.error):
        return None


def _read(reader: Reader) -> BinaryFacts:
    ident = reader.read_at(0, 16, "e_ident")
    layout = _LAYOUTS.get((ident[4], ident[5]))  # EI_CLASS, EI_DATA
    if ident[:4] != b"\x7fELF" or layout is None:
        raise _Unusual
    header = layout.header.unpack(reader.read_at(16, layout.header.size, "ELF header"))
    e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize, e_phnum = header[:10]
    arch = _arch(e_machine, layout.elfclass, little_endian=ident[5] == 1)
    segments = _segments(reader, layout, e_phoff, e_phentsize, e_phnum)
    kind = _KINDS.get(e_type, "other")
    needed: list[str] = []
    rpaths: list[str] = []
    runpaths: list[str] = []
    soname = None
    table = next((s for s in segments if s[0] == _PT_DYNAMIC), None)
    if table is not None:
        for tag, text in _dynamic_strings(reader, layout, segments, table):
            if tag == _DT_NEEDED:
                needed.append(text)
            elif tag == _DT_SONAME:
                soname = text
            else:
                paths = rpaths if tag == _DT_RPATH else runpaths
                paths.extend(part for part in text.split(":") if part)
    if kind == "library" and soname is None and any(s[0] == _PT_INTERP for s in segments):
        kind = "executable"  # a position-independent executable
    return BinaryFacts(
        "elf",
        kind,
        (arch,),
        needed=unique(needed),
        rpaths=tuple(rpaths),
        runpaths=tuple(runpaths),
        soname=soname,
    )


def _arch(machine: int, elfclass: int, *, little_endian: bool) -> str:
    if machine == _EM_PPC64:
        return "ppc64le" if little_endian else "ppc64"
    name = _ARCHS.get(machine)
    if name is None:
        raise _Unusual
    return _ARCH_VARIANTS.get((machine, elfclass), name)


def _segments(
    reader: Reader, layout: _Layout, offset: int, entry_size: int, count: int
) -> list[tuple[int, int, int, int]]:
    if count == 0 or offset == 0:
        return []  # no program headers: an object file
    if (
        count == _PN_XNUM
        or count > _MAX_PROGRAM_HEADERS
        or entry_size != layout.program.size
        or offset + count * entry_size > reader.size
    ):
        raise _Unusual
    raw = reader.read_at(offset, count * entry_size, "program headers")
    return [layout.segment(raw, index * entry_size) for index in range(count)]


def _dynamic_strings(
    reader: Reader,
    layout: _Layout,
    segments: Sequence[tuple[int, int, int, int]],
    table: tuple[int, int, int, int],
) -> list[tuple[int, str]]:
    """Return the string-valued dynamic entries, their strings read through DT_STRTAB."""
    _, offset, _, file_size = table
    entry_size = layout.dynamic.size
    count = file_size // entry_size
    if (
        count > _MAX_DYNAMIC_ENTRIES
        or not 0 <= offset < reader.size
        or offset + count * entry_size > reader.size
    ):
        raise _Unusual
    raw = reader.read_at(offset, count * entry_size, "dynamic section")
    entries: list[tuple[int, int]] = []
    string_table = string_table_size = None
    for tag, value in layout.dynamic.iter_unpack(raw):
        if tag == _DT_NULL:
            break
        if tag in _STRING_TAGS:
            entries.append((tag, value))
        elif tag == _DT_STRTAB:
            string_table = value
        elif tag == _DT_STRSZ:
            string_table_size = value
    if not entries:
        return []
    if string_table is None:
        raise _Unusual
    start = next(
        (
            string_table - address + at
            for kind, at, address, size in segments
            if kind == _PT_LOAD and address <= string_table < address + size
        ),
        None,
    )
    if start is None:
        raise _Unusual
    limit = reader.size - start
    if string_table_size is not None:
        limit = min(limit, string_table_size)
    strings = []
    for tag, at in entries:
        if not 0 <= at < limit:
            raise _Unusual
        text = reader.cstring_at(start + at, min(_MAX_STRING, limit - at), _STRING_TAGS[tag])
        strings.append((tag, text))
    return strings
