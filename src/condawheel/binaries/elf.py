"""Read the linkage facts of an ELF binary as glibc's ``ld.so`` reads them (pure).

pyelftools decodes the identification, the header and the structures; the tables are
reached through the program headers only, as the dynamic loader does (``PT_DYNAMIC``, its
strings through ``DT_STRTAB`` mapped by a ``PT_LOAD`` segment), so a binary stripped of
its section headers reads the same. Reference: the System V ABI (gABI), "Dynamic Section".
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.common.utils import struct_parse
from elftools.elf.elffile import ELFFile

from condawheel.binaries.facts import BinaryFacts, BinaryKind, MalformedError, Reader, unique

__all__ = ["analyze_elf"]

# Limits far above any real binary (a large C++ library has < 100 program headers and a
# few hundred dynamic entries) that bound the work a hostile file can cause.
_MAX_PROGRAM_HEADERS = 1024
_MAX_DYNAMIC_ENTRIES = 8192
_MAX_STRING = 4096  # PATH_MAX: no library name or search path is longer

_ELF_ARCHS = {
    "EM_X86_64": "x86_64",
    "EM_386": "i686",
    "EM_AARCH64": "aarch64",
    "EM_ARM": "armv7l",
    "EM_S390": "s390x",
    "EM_RISCV": "riscv64",
    "EM_LOONGARCH": "loongarch64",
    "EM_PPC": "ppc",
    "EM_MIPS": "mips",
    "EM_IA_64": "ia64",
    "EM_SPARCV9": "sparc64",
}
# ELF class and data of x86_64/ppc64/riscv/s390 that change the platform's name.
_ELF_ARCH_VARIANTS = {
    ("EM_X86_64", 32): "x32",
    ("EM_RISCV", 32): "riscv32",
    ("EM_S390", 32): "s390",
    ("EM_MIPS", 64): "mips64",
}


def _elf_arch(machine: object, elfclass: int, *, little_endian: bool) -> str:
    if machine == "EM_PPC64":
        return "ppc64le" if little_endian else "ppc64"
    if isinstance(machine, str):
        return _ELF_ARCH_VARIANTS.get(
            (machine, elfclass), _ELF_ARCHS.get(machine, machine.removeprefix("EM_").lower())
        )
    return f"machine-{machine}"


_ELF_KINDS: dict[str, BinaryKind] = {
    "ET_EXEC": "executable",
    "ET_DYN": "library",
    "ET_REL": "object",
}
# The dynamic entries whose value is an offset into the dynamic string table.
_ELF_STRING_TAGS = frozenset({"DT_NEEDED", "DT_RPATH", "DT_RUNPATH", "DT_SONAME"})
_ELF_ERRORS = (MalformedError, ELFError, struct.error, ValueError)


def _int(value: object, what: str) -> int:
    if isinstance(value, int):
        return value
    raise MalformedError(f"{what} is not a number ({value!r})")


@dataclass
class _ElfDynamic:
    needed: list[str] = field(default_factory=list)
    rpaths: list[str] = field(default_factory=list)
    runpaths: list[str] = field(default_factory=list)
    soname: str | None = None
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Segment:
    type: object  # a PT_* name, or the number of a type pyelftools does not know
    offset: int
    address: int
    file_size: int


def analyze_elf(reader: Reader, _head: bytes) -> BinaryFacts:
    """Return the facts of the ELF binary ``reader`` holds (``_head``: its first bytes)."""
    try:
        # pyelftools checks the identification and decodes the header for the file's
        # class and byte order; its structs then decode the program headers and the
        # dynamic entries below.
        elf = ELFFile(reader.stream)
        arch = _elf_arch(elf["e_machine"], elf.elfclass, little_endian=elf.little_endian)
    except _ELF_ERRORS as problem:
        return BinaryFacts("elf", "other", (), error=f"unreadable ELF header: {problem}")
    kind = _ELF_KINDS.get(str(elf["e_type"]), "other")
    dynamic = _ElfDynamic()
    try:
        segments = _elf_segments(reader, elf, dynamic.errors)
    except _ELF_ERRORS as problem:
        return BinaryFacts("elf", kind, (arch,), error=f"program headers: {problem}")
    table = next((s for s in segments if s.type == "PT_DYNAMIC"), None)
    if table is not None:
        try:
            _elf_dynamic(reader, elf, segments, table, dynamic)
        except _ELF_ERRORS as problem:
            dynamic.errors.append(f"dynamic section: {problem}")
    if (
        kind == "library"
        and dynamic.soname is None
        and any(s.type == "PT_INTERP" for s in segments)
    ):
        kind = "executable"  # a position-independent executable
    return BinaryFacts(
        "elf",
        kind,
        (arch,),
        needed=unique(dynamic.needed),
        rpaths=tuple(dynamic.rpaths),
        runpaths=tuple(dynamic.runpaths),
        soname=dynamic.soname,
        error="; ".join(dynamic.errors) or None,
    )


def _elf_segments(reader: Reader, elf: ELFFile, errors: list[str]) -> list[_Segment]:
    """Read the program headers, as many as the file holds (up to the limit)."""
    structs = elf.structs
    count = _int(elf["e_phnum"], "e_phnum")
    offset = _int(elf["e_phoff"], "e_phoff")
    if count == 0 or offset == 0:
        return []  # no program headers: an object file
    if count == 0xFFFF:  # noqa: PLR2004 - PN_XNUM: the real count is sh_info of section 0
        count = _elf_extended_phnum(reader, elf)
    entry_size = structs.Elf_Phdr.sizeof()
    if elf["e_phentsize"] != entry_size:
        raise MalformedError(f"e_phentsize is {elf['e_phentsize']!r}, expected {entry_size}")
    if count > _MAX_PROGRAM_HEADERS:
        errors.append(f"{count} program headers (absurd; read {_MAX_PROGRAM_HEADERS})")
        count = _MAX_PROGRAM_HEADERS
    available = max(0, reader.size - offset) // entry_size
    if available < count:
        errors.append(f"program headers truncated: {available} of {count} in the file")
        count = available
    table = io.BytesIO(reader.read_at(offset, count * entry_size, "program headers"))
    segments = []
    for index in range(count):
        header = struct_parse(structs.Elf_Phdr, table, stream_pos=index * entry_size)
        segments.append(
            _Segment(
                header["p_type"],
                _int(header["p_offset"], "p_offset"),
                _int(header["p_vaddr"], "p_vaddr"),
                _int(header["p_filesz"], "p_filesz"),
            )
        )
    return segments


def _elf_extended_phnum(reader: Reader, elf: ELFFile) -> int:
    offset = _int(elf["e_shoff"], "e_shoff")
    size = elf.structs.Elf_Shdr.sizeof()
    if offset == 0:
        raise MalformedError("e_phnum is PN_XNUM but there is no section header 0")
    raw = reader.read_at(offset, size, "section header 0")
    return _int(struct_parse(elf.structs.Elf_Shdr, io.BytesIO(raw))["sh_info"], "sh_info")


def _elf_dynamic(
    reader: Reader,
    elf: ELFFile,
    segments: list[_Segment],
    table: _Segment,
    out: _ElfDynamic,
) -> None:
    """Read the dynamic entries, then their strings through DT_STRTAB, as ld.so does."""
    entries, string_table, string_table_size = _elf_dynamic_entries(reader, elf, table, out)
    if not entries:
        return
    if string_table is None:
        raise MalformedError("DT_NEEDED or DT_RPATH entries but no DT_STRTAB")
    start = next(
        (
            string_table - s.address + s.offset
            for s in segments
            if s.type == "PT_LOAD" and s.address <= string_table < s.address + s.file_size
        ),
        None,
    )
    if start is None:
        raise MalformedError(f"DT_STRTAB address {string_table:#x} is in no PT_LOAD segment")
    limit = reader.size - start
    if string_table_size is not None:
        limit = min(limit, string_table_size)
    for tag, offset in entries:
        if not 0 <= offset < limit:
            out.errors.append(f"{tag} string offset {offset} lies outside the string table")
            continue
        try:
            text = reader.cstring_at(start + offset, min(_MAX_STRING, limit - offset), tag)
        except MalformedError as problem:
            out.errors.append(str(problem))
            continue
        if tag == "DT_NEEDED":
            out.needed.append(text)
        elif tag == "DT_SONAME":
            out.soname = text
        else:
            paths = out.rpaths if tag == "DT_RPATH" else out.runpaths
            paths.extend(part for part in text.split(":") if part)


def _elf_dynamic_entries(
    reader: Reader, elf: ELFFile, table: _Segment, out: _ElfDynamic
) -> tuple[list[tuple[str, int]], int | None, int | None]:
    """Return the string-valued entries (tag, offset), DT_STRTAB and DT_STRSZ."""
    entry_size = elf.structs.Elf_Dyn.sizeof()
    count = table.file_size // entry_size
    if count > _MAX_DYNAMIC_ENTRIES:
        out.errors.append(f"{count} dynamic entries (absurd; read {_MAX_DYNAMIC_ENTRIES})")
        count = _MAX_DYNAMIC_ENTRIES
    if not 0 <= table.offset < reader.size:
        raise MalformedError(f"PT_DYNAMIC at offset {table.offset} lies outside the file")
    available = (reader.size - table.offset) // entry_size
    if available < count:
        out.errors.append(f"dynamic section truncated: {available} of {count} entries")
        count = available
    raw = io.BytesIO(reader.read_at(table.offset, count * entry_size, "dynamic section"))
    entries: list[tuple[str, int]] = []
    string_table = string_table_size = None
    for index in range(count):
        entry = struct_parse(elf.structs.Elf_Dyn, raw, stream_pos=index * entry_size)
        tag, value = entry["d_tag"], _int(entry["d_val"], "d_val")
        if tag == "DT_NULL":
            break
        if tag in _ELF_STRING_TAGS:
            entries.append((str(tag), value))
        elif tag == "DT_STRTAB":
            string_table = value
        elif tag == "DT_STRSZ":
            string_table_size = value
    return entries, string_table, string_table_size
