"""Read the linkage facts of a Mach-O binary, thin or universal, as dyld reads them (pure).

The load commands are read with :mod:`struct` from the structures of ``<mach-o/loader.h>``,
``<mach-o/fat.h>`` and ``<mach/machine.h>``: the dylibs to load (``LC_LOAD_DYLIB`` and its
weak, re-export, lazy and upward variants), ``LC_RPATH`` and ``LC_ID_DYLIB``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from condawheel.binaries.facts import (
    BinaryFacts,
    BinaryKind,
    MalformedError,
    Reader,
    cstring,
    unique,
)

__all__ = [
    "FAT_MAGIC",
    "FAT_MAGIC_64",
    "MACHO_MAGICS",
    "MAX_FAT_ARCHES",
    "analyze_fat",
    "analyze_macho",
]

# mach_header magic as stored: (byte order, 64-bit) by the first four bytes.
MACHO_MAGICS: dict[bytes, tuple[str, bool]] = {
    b"\xfe\xed\xfa\xce": (">", False),
    b"\xce\xfa\xed\xfe": ("<", False),
    b"\xfe\xed\xfa\xcf": (">", True),
    b"\xcf\xfa\xed\xfe": ("<", True),
}
FAT_MAGIC = b"\xca\xfe\xba\xbe"
FAT_MAGIC_64 = b"\xca\xfe\xba\xbf"
# 0xCAFEBABE also starts Java class files, whose next word (the class-file version) is
# at least 45; LLVM's identify_magic() draws the line for universal binaries at 43.
MAX_FAT_ARCHES = 42
_AR_MAGIC = b"!<arch>\n"
# Far above the < 100 KiB of load commands of a large real library; bounds hostile input.
_MAX_LOAD_COMMANDS_BYTES = 4 << 20

# <mach-o/loader.h>
_LC_REQ_DYLD = 0x80000000
_LC_LOAD_DYLIB = 0xC
_LC_ID_DYLIB = 0xD
_LC_LOAD_WEAK_DYLIB = 0x18 | _LC_REQ_DYLD
_LC_RPATH = 0x1C | _LC_REQ_DYLD
_LC_REEXPORT_DYLIB = 0x1F | _LC_REQ_DYLD
_LC_LAZY_LOAD_DYLIB = 0x20
_LC_LOAD_UPWARD_DYLIB = 0x23 | _LC_REQ_DYLD
_DYLIB_LOADS = {
    _LC_LOAD_DYLIB,
    _LC_LOAD_WEAK_DYLIB,
    _LC_REEXPORT_DYLIB,
    _LC_LAZY_LOAD_DYLIB,
    _LC_LOAD_UPWARD_DYLIB,
}
_MACHO_KINDS: dict[int, BinaryKind] = {
    1: "object",  # MH_OBJECT
    2: "executable",  # MH_EXECUTE
    6: "library",  # MH_DYLIB
    8: "library",  # MH_BUNDLE (Python extension modules)
}
# <mach/machine.h>
_CPU_ARCH_ABI64 = 0x01000000
_CPU_ARCH_ABI64_32 = 0x02000000
_MACHO_ARCHS = {
    7: "i386",
    7 | _CPU_ARCH_ABI64: "x86_64",
    12: "arm",
    12 | _CPU_ARCH_ABI64: "arm64",
    12 | _CPU_ARCH_ABI64_32: "arm64_32",
    18: "ppc",
    18 | _CPU_ARCH_ABI64: "ppc64",
}
_MACHO_SUBARCHS = {(12 | _CPU_ARCH_ABI64, 2): "arm64e", (7 | _CPU_ARCH_ABI64, 8): "x86_64h"}


def _macho_arch(cputype: int, cpusubtype: int) -> str:
    subtype = cpusubtype & 0x00FFFFFF  # the high byte holds capability bits
    named = _MACHO_SUBARCHS.get((cputype, subtype)) or _MACHO_ARCHS.get(cputype)
    return named or f"cputype-{cputype:#x}"


@dataclass
class _Slice:
    arch: str
    kind: BinaryKind
    needed: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    rpaths: list[str] = field(default_factory=list)
    soname: str | None = None
    errors: list[str] = field(default_factory=list)


def analyze_macho(reader: Reader, _head: bytes) -> BinaryFacts:
    """Return the facts of the thin Mach-O image ``reader`` holds."""
    try:
        piece = _macho_slice(reader, 0, reader.size)
    except MalformedError as problem:
        return BinaryFacts("macho", "other", (), error=f"Mach-O header: {problem}")
    return _macho_facts([piece], [])


def _macho_facts(slices: list[_Slice], errors: list[str]) -> BinaryFacts:
    first = slices[0] if slices else None
    return BinaryFacts(
        "macho",
        first.kind if first else "other",
        tuple(piece.arch for piece in slices),
        needed=unique(name for piece in slices for name in piece.needed),
        optional=unique(name for piece in slices for name in piece.optional),
        rpaths=unique(path for piece in slices for path in piece.rpaths),
        soname=next((piece.soname for piece in slices if piece.soname), None),
        error="; ".join([*errors, *(e for piece in slices for e in piece.errors)]) or None,
    )


def _macho_slice(reader: Reader, base: int, size: int) -> _Slice:
    magic = reader.read_at(base, 4, "Mach-O magic")
    order, is_64 = MACHO_MAGICS[magic]
    header_size = 32 if is_64 else 28
    header = reader.read_at(base, header_size, "mach_header")
    _, cputype, cpusubtype, filetype, ncmds, sizeofcmds, _ = struct.unpack_from(
        f"{order}IiiIIII", header
    )
    piece = _Slice(_macho_arch(cputype, cpusubtype), _MACHO_KINDS.get(filetype, "other"))
    available = size - header_size
    if sizeofcmds > _MAX_LOAD_COMMANDS_BYTES:
        piece.errors.append(f"sizeofcmds {sizeofcmds} is absurd")
        sizeofcmds = min(available, _MAX_LOAD_COMMANDS_BYTES)
    if sizeofcmds > available:
        piece.errors.append(f"load commands truncated: {available} of {sizeofcmds} bytes present")
        sizeofcmds = max(available, 0)
    commands = reader.read_at(base + header_size, sizeofcmds, "load commands")
    position = 0
    for index in range(ncmds):
        if position + 8 > len(commands):
            piece.errors.append(f"load command {index} of {ncmds} lies beyond sizeofcmds")
            break
        cmd, cmdsize = struct.unpack_from(f"{order}II", commands, position)
        if cmdsize < 8 or position + cmdsize > len(commands):  # noqa: PLR2004
            piece.errors.append(f"load command {index} has an invalid size {cmdsize}")
            break
        body = commands[position : position + cmdsize]
        position += cmdsize
        try:
            _macho_command(order, cmd, body, piece)
        except MalformedError as problem:
            piece.errors.append(f"load command {index}: {problem}")
    return piece


def _macho_command(order: str, cmd: int, body: bytes, piece: _Slice) -> None:
    if cmd not in _DYLIB_LOADS and cmd not in {_LC_ID_DYLIB, _LC_RPATH}:
        return
    if len(body) < 12:  # noqa: PLR2004 - cmd, cmdsize and the lc_str offset
        raise MalformedError(f"command {cmd:#x} is too short ({len(body)} bytes)")
    (string_offset,) = struct.unpack_from(f"{order}I", body, 8)
    if not 12 <= string_offset < len(body):  # noqa: PLR2004
        raise MalformedError(f"string offset {string_offset} lies outside the command")
    text = cstring(body[string_offset:], f"command {cmd:#x} string")
    if cmd == _LC_RPATH:
        piece.rpaths.append(text)
    elif cmd == _LC_ID_DYLIB:
        piece.soname = text
    else:
        piece.needed.append(text)
        if cmd == _LC_LOAD_WEAK_DYLIB:
            piece.optional.append(text)


def analyze_fat(reader: Reader, head: bytes) -> BinaryFacts | None:
    """Return the facts of a universal binary, its slices merged; ``None`` if it is none.

    ``None`` for a Java class file (same magic) and a universal static library.
    """
    is_64 = head[:4] == FAT_MAGIC_64
    count = int.from_bytes(head[4:8], "big") if len(head) >= 8 else 0  # noqa: PLR2004
    if not is_64 and not 0 < count <= MAX_FAT_ARCHES:
        return None  # a Java class file, or not a universal binary at all
    if count > MAX_FAT_ARCHES:
        return BinaryFacts("macho", "other", (), error=f"{count} fat architectures (absurd)")
    entry = ">iiQQII" if is_64 else ">iiIII"
    entry_size = struct.calcsize(entry)
    errors: list[str] = []
    slices: list[_Slice] = []
    archives = 0
    for index in range(count):
        try:
            raw = reader.read_at(8 + index * entry_size, entry_size, f"fat_arch {index}")
            cputype, cpusubtype, offset, size = struct.unpack(entry, raw)[:4]
            arch = _macho_arch(cputype, cpusubtype)
            magic = reader.read_at(offset, min(8, size), f"slice {arch}")
            if magic.startswith(_AR_MAGIC):
                archives += 1
                continue
            if magic[:4] not in MACHO_MAGICS:
                errors.append(f"slice {arch} is not a Mach-O image")
                continue
            if offset + size > reader.size:
                errors.append(f"slice {arch} extends beyond the end of the file (truncated)")
                size = reader.size - offset
            slices.append(_macho_slice(reader, offset, size))
        except MalformedError as problem:
            errors.append(f"fat_arch {index}: {problem}")
    if archives and not slices and not errors:
        return None  # a universal static library: nothing the loader ever opens
    return _macho_facts(slices, errors)
