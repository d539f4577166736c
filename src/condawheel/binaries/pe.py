"""Read the linkage facts of a PE image as the Windows loader reads them (pure).

The import, delay-import and export directories are read with :mod:`struct` from the
structures of the Microsoft PE/COFF specification ("The .idata Section", "Delay-Load
Import Tables", "The .edata Section"), mapping relative virtual addresses to file offsets
through the section table as the loader does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from condawheel.binaries.facts import BinaryFacts, BinaryKind, MalformedError, Reader, unique

__all__ = ["analyze_pe"]

# Limits that bound the work a hostile file can cause.
_MAX_IMPORTS = 8192
_MAX_PE_SECTIONS = 96  # the Windows loader refuses images with more sections

_PE_ARCHS = {0x14C: "x86", 0x8664: "x86_64", 0xAA64: "arm64", 0x1C4: "arm", 0xA641: "arm64ec"}
_IMAGE_FILE_EXECUTABLE_IMAGE = 0x0002
_IMAGE_FILE_DLL = 0x2000
_PE32 = 0x10B
_PE32_PLUS = 0x20B
_DIRECTORY_EXPORT = 0
_DIRECTORY_IMPORT = 1
_DIRECTORY_DELAY_IMPORT = 13


@dataclass(frozen=True)
class _PeImage:
    reader: Reader
    sections: tuple[
        tuple[int, int, int, int], ...
    ]  # (VirtualAddress, VirtualSize, raw size, raw pointer)
    size_of_headers: int
    file_alignment: int

    def offset(self, rva: int, what: str) -> int:
        """Map a relative virtual address to a file offset, as pefile and the loader do."""
        for address, virtual_size, raw_size, raw_pointer in self.sections:
            span = max(virtual_size, raw_size)
            if address <= rva < address + span:
                if rva - address >= raw_size:
                    raise MalformedError(f"{what} (RVA {rva:#x}) lies in zero-filled memory")
                # The loader rounds PointerToRawData down to 512 when FileAlignment >= 512.
                aligned = raw_pointer & ~0x1FF if self.file_alignment >= 0x200 else raw_pointer  # noqa: PLR2004
                return aligned + rva - address
        if rva < self.size_of_headers:
            return rva
        raise MalformedError(f"{what} (RVA {rva:#x}) is in no section")

    def string(self, rva: int, what: str) -> str:
        return self.reader.cstring_at(self.offset(rva, what), 512, what)


def analyze_pe(reader: Reader, _head: bytes) -> BinaryFacts | None:
    """Return the facts of the PE image ``reader`` holds; ``None`` for an MS-DOS program."""
    if reader.size < 0x40:  # noqa: PLR2004 - the MS-DOS header
        return None
    (pe_offset,) = struct.unpack("<I", reader.read_at(0x3C, 4, "e_lfanew"))
    if pe_offset + 4 > reader.size or reader.read_at(pe_offset, 4, "PE signature") != b"PE\0\0":
        return None  # an MS-DOS program, or not a PE image
    try:
        return _pe_facts(reader, pe_offset)
    except MalformedError as problem:
        return BinaryFacts("pe", "other", (), error=f"PE headers: {problem}")


def _pe_facts(reader: Reader, pe_offset: int) -> BinaryFacts:
    coff = reader.read_at(pe_offset + 4, 20, "COFF header")
    machine, sections, _, _, _, optional_size, characteristics = struct.unpack("<HHIIIHH", coff)
    arch = _PE_ARCHS.get(machine, f"machine-{machine:#06x}")
    kind: BinaryKind = (
        "library"
        if characteristics & _IMAGE_FILE_DLL
        else "executable"
        if characteristics & _IMAGE_FILE_EXECUTABLE_IMAGE
        else "other"
    )
    optional_offset = pe_offset + 24
    optional = reader.read_at(optional_offset, optional_size, "optional header")
    if len(optional) < 2:  # noqa: PLR2004
        raise MalformedError("no optional header")
    (magic,) = struct.unpack_from("<H", optional, 0)
    if magic == _PE32:
        image_base_format, image_base_at, count_at, directories_at = "<I", 28, 92, 96
    elif magic == _PE32_PLUS:
        image_base_format, image_base_at, count_at, directories_at = "<Q", 24, 108, 112
    else:
        raise MalformedError(f"unknown optional header magic {magic:#x}")
    if len(optional) < directories_at:
        raise MalformedError(f"optional header is {len(optional)} bytes, too short")
    (image_base,) = struct.unpack_from(image_base_format, optional, image_base_at)
    (file_alignment,) = struct.unpack_from("<I", optional, 36)
    (size_of_headers,) = struct.unpack_from("<I", optional, 60)
    (directory_count,) = struct.unpack_from("<I", optional, count_at)

    def directory(index: int) -> int:
        at = directories_at + 8 * index
        if index >= directory_count or at + 8 > len(optional):
            return 0
        (rva,) = struct.unpack_from("<I", optional, at)
        return int(rva)

    if sections > _MAX_PE_SECTIONS:
        raise MalformedError(f"{sections} sections (the loader allows {_MAX_PE_SECTIONS})")
    table = reader.read_at(optional_offset + optional_size, 40 * sections, "section table")
    image = _PeImage(
        reader,
        tuple(_pe_section(table, index) for index in range(sections)),
        size_of_headers,
        file_alignment,
    )
    errors: list[str] = []
    # IMAGE_IMPORT_DESCRIPTOR: 20 bytes, Name at 12; ImgDelayDescr: 32 bytes, DllNameRVA at 4.
    needed = _pe_imports(
        image, directory(_DIRECTORY_IMPORT), entry_size=20, name_at=12, image_base=0, errors=errors
    )
    delayed = _pe_imports(
        image,
        directory(_DIRECTORY_DELAY_IMPORT),
        entry_size=32,
        name_at=4,
        image_base=image_base,
        errors=errors,
        delay=True,
    )
    soname = None
    export = directory(_DIRECTORY_EXPORT)
    if export:
        try:
            header = reader.read_at(
                image.offset(export, "export directory"), 40, "export directory"
            )
            (name_rva,) = struct.unpack_from("<I", header, 12)
            soname = image.string(name_rva, "export name") if name_rva else None
        except MalformedError as problem:
            errors.append(f"export directory: {problem}")
    return BinaryFacts(
        "pe",
        kind,
        (arch,),
        needed=unique([*needed, *delayed], casefold=True),
        optional=unique(
            name for name in delayed if name.casefold() not in {n.casefold() for n in needed}
        ),
        soname=soname,
        error="; ".join(errors) or None,
    )


def _pe_section(table: bytes, index: int) -> tuple[int, int, int, int]:
    # IMAGE_SECTION_HEADER: Name[8], VirtualSize, VirtualAddress, SizeOfRawData,
    # PointerToRawData, ...
    virtual_size, address, raw_size, raw_pointer = struct.unpack_from(
        "<IIII", table, 40 * index + 8
    )
    return address, virtual_size, raw_size, raw_pointer


def _pe_imports(
    image: _PeImage,
    rva: int,
    *,
    entry_size: int,
    name_at: int,
    image_base: int,
    errors: list[str],
    delay: bool = False,
) -> list[str]:
    what = "delay-import directory" if delay else "import directory"
    names: list[str] = []
    if not rva:
        return names
    try:
        start = image.offset(rva, what)
        for index in range(_MAX_IMPORTS):
            entry = image.reader.read_at(start + index * entry_size, entry_size, f"{what} entry")
            if not any(entry):
                return names
            (name_rva,) = struct.unpack_from("<I", entry, name_at)
            if not name_rva:
                return names
            if delay and not entry[0] & 1 and name_rva >= image_base:
                # Visual C++ 6 delay-load descriptors hold addresses, not RVAs (attributes 0).
                name_rva -= image_base
            names.append(image.string(name_rva, f"{what} entry {index} name"))
        errors.append(f"{what}: more than {_MAX_IMPORTS} entries (absurd)")
    except MalformedError as problem:
        errors.append(f"{what}: {problem}")
    return names
