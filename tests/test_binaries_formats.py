"""Reading ELF / Mach-O / PE linkage facts: real gcc output, synthetic images, the corpus."""

from __future__ import annotations

import io
import struct
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from hypothesis import given
from hypothesis import strategies as st

from binary_builders import (
    CPU_ARM64,
    LC_ID_DYLIB,
    LC_LOAD_DYLIB,
    LC_LOAD_WEAK_DYLIB,
    LC_REEXPORT_DYLIB,
    LC_RPATH,
    LC_SEGMENT_64,
    MACHINE,
    SITE,
    Built,
    built,
    corpus_elf_files,
    dylib_command,
    facts_of,
    fat,
    macho,
    pe,
    read_corpus_package,
    rpath_command,
)
from condawheel.binaries import (
    BinaryFacts,
    LinkageAnalyzer,
    analyze_binary,
    looks_like_binary,
    resolve_libraries,
)
from condawheel.conda.sources import open_package

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from condawheel.convert.ingest import BinaryAnalyzer

__all__ = ["built"]  # a fixture, imported for pytest


# ------------------------------------------------------------------- Actual tests: ELF


class TestElf:
    def test_shared_library(self, built: Built) -> None:
        facts = facts_of(built.files["lib/libfoo.so.1"])
        assert facts == BinaryFacts(
            "elf", "library", (MACHINE,), needed=("libdep.so.1", "libc.so.6"),
            rpaths=("$ORIGIN",), soname="libfoo.so.1",
        )  # fmt: skip

    def test_rpath_and_runpath_executables(self, built: Built) -> None:
        with_rpath = facts_of(built.files["bin/prog-rpath"])
        with_runpath = facts_of(built.files["bin/prog-runpath"])
        assert with_rpath.kind == with_runpath.kind == "executable"
        assert (with_rpath.rpaths, with_rpath.runpaths) == (("$ORIGIN/../lib",), ())
        assert (with_runpath.rpaths, with_runpath.runpaths) == ((), ("$ORIGIN/../lib",))
        assert with_rpath.needed == ("libfoo.so.1", "libc.so.6")
        assert with_rpath.soname is None

    def test_extension_module_without_search_path(self, built: Built) -> None:
        facts = facts_of(built.files[f"{SITE}/pkg/_bare.so"])
        assert (facts.kind, facts.rpaths, facts.runpaths) == ("library", (), ())
        assert facts.needed == ("libfoo.so.1", "libc.so.6")

    def test_read_without_section_headers_like_the_loader(self, built: Built) -> None:
        data = bytearray(built.files["lib/libfoo.so.1"])
        struct.pack_into("<Q", data, 0x28, 0)  # e_shoff
        struct.pack_into("<HHH", data, 0x3A, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
        assert facts_of(bytes(data)) == facts_of(built.files["lib/libfoo.so.1"])

    @pytest.mark.parametrize("keep", [4, 20, 63, 64, 200, 1000, 3000, -1], ids=lambda k: f"keep{k}")
    def test_truncated(self, built: Built, keep: int) -> None:
        data = built.files["lib/libfoo.so.1"]
        facts = facts_of(data[:keep])
        assert facts.format == "elf"
        assert facts.error is not None or facts.needed == facts_of(data).needed

    def test_garbage_after_the_magic(self) -> None:
        facts = facts_of(b"\x7fELF" + bytes(range(256)) * 4)
        assert facts.format == "elf"
        assert facts.error is not None
        assert facts.needed == ()

    def test_absurd_program_header_count(self, built: Built) -> None:
        data = bytearray(built.files["lib/libfoo.so.1"])
        struct.pack_into("<H", data, 0x38, 0xFFFE)  # e_phnum
        facts = facts_of(bytes(data))
        assert facts.error is not None
        assert "program headers" in facts.error

    def test_dynamic_string_outside_the_table(self, built: Built) -> None:
        data = bytearray(built.files["lib/libfoo.so.1"])
        dynamic = next(
            s
            for s in ELFFile(io.BytesIO(bytes(data))).iter_segments()
            if s["p_type"] == "PT_DYNAMIC"
        )
        # Point the first DT_NEEDED (tag 1) at a string far beyond the string table.
        at = dynamic["p_offset"]
        while (tag := struct.unpack_from("<q", data, at)[0]) != 1:
            assert tag != 0, "no DT_NEEDED"
            at += 16
        struct.pack_into("<qQ", data, at, 1, 0x7FFFFFFF)
        facts = facts_of(bytes(data))
        assert facts.needed == ("libc.so.6",)
        assert facts.error is not None
        assert "DT_NEEDED" in facts.error


# ELF64 header fields (offset, struct format) and the PT_/DT_ numbers the edits below use.
_ELF_HEADER = {
    "e_type": (0x10, "<H"),
    "e_machine": (0x12, "<H"),
    "e_phoff": (0x20, "<Q"),
    "e_shoff": (0x28, "<Q"),
    "e_phentsize": (0x36, "<H"),
    "e_phnum": (0x38, "<H"),
}
_PT_DYNAMIC = 2
_DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_DEBUG = 1, 5, 10, 21


def _with_header(data: bytes, **fields: int) -> bytes:
    edited = bytearray(data)
    for name, value in fields.items():
        offset, layout = _ELF_HEADER[name]
        struct.pack_into(layout, edited, offset, value)
    return bytes(edited)


def _with_dynamic_segment(
    data: bytes, *, offset: int | None = None, size: int | None = None
) -> bytes:
    edited = bytearray(data)
    (phoff,) = struct.unpack_from("<Q", edited, 0x20)
    (count,) = struct.unpack_from("<H", edited, 0x38)
    at = next(
        phoff + 56 * index
        for index in range(count)
        if struct.unpack_from("<I", edited, phoff + 56 * index)[0] == _PT_DYNAMIC
    )
    if offset is not None:
        struct.pack_into("<Q", edited, at + 8, offset)  # p_offset
    if size is not None:
        struct.pack_into("<Q", edited, at + 32, size)  # p_filesz
    return bytes(edited)


def _with_dynamic_entry(
    data: bytes, tag: int, *, new_tag: int | None = None, value: int | None = None
) -> bytes:
    edited = bytearray(data)
    dynamic = next(
        s for s in ELFFile(io.BytesIO(data)).iter_segments() if s["p_type"] == "PT_DYNAMIC"
    )
    at = dynamic["p_offset"]
    while (found := struct.unpack_from("<qQ", edited, at))[0] != tag:
        assert found[0] != 0, f"no dynamic entry {tag}"
        at += 16
    struct.pack_into(
        "<qQ",
        edited,
        at,
        found[0] if new_tag is None else new_tag,
        found[1] if value is None else value,
    )
    return bytes(edited)


def _with_extended_phnum(data: bytes, *, real_count: int) -> bytes:
    """e_phnum PN_XNUM, and the real count in section header 0's sh_info (ELF gABI)."""
    edited = bytearray(_with_header(data, e_phnum=0xFFFF))
    (shoff,) = struct.unpack_from("<Q", edited, 0x28)
    struct.pack_into("<I", edited, shoff + 44, real_count)
    return bytes(edited)


class TestHostileElf:
    """Headers and dynamic sections edited into what a broken or hostile file holds.

    Each is read as far as the loader would, and says what is wrong: never an exception.
    """

    @pytest.mark.parametrize(
        ("machine", "arch"),
        [(21, "ppc64le"), (0x7777, "machine-30583")],
        ids=["ppc64le", "unknown"],
    )
    def test_the_machine_names_the_architecture(
        self, built: Built, machine: int, arch: str
    ) -> None:
        library = built.files["lib/libfoo.so.1"]
        facts = facts_of(_with_header(library, e_machine=machine))
        assert facts.archs == (arch,)
        assert facts.needed == facts_of(library).needed

    def test_an_object_file_has_no_program_headers(self, built: Built) -> None:
        facts = facts_of(
            _with_header(built.files["lib/libfoo.so.1"], e_type=1, e_phoff=0, e_phnum=0)
        )
        assert (facts.kind, facts.needed, facts.error) == ("object", (), None)

    def test_an_extended_program_header_count_is_read_from_section_header_0(
        self, built: Built
    ) -> None:
        library = built.files["lib/libfoo.so.1"]
        count = ELFFile(io.BytesIO(library))["e_phnum"]
        assert facts_of(_with_extended_phnum(library, real_count=count)) == facts_of(library)

    @pytest.mark.parametrize(
        ("edit", "error"),
        [
            (
                lambda data: _with_header(data, e_phnum=0xFFFF, e_shoff=0),
                "program headers: e_phnum is PN_XNUM but there is no section header 0",
            ),
            (
                lambda data: _with_header(data, e_phentsize=32),
                "program headers: e_phentsize is 32, expected 56",
            ),
            (
                lambda data: _with_header(data, e_phoff=len(data) - 56 * 3),
                "program headers truncated: 3 of 9 in the file",
            ),
            (
                lambda data: _with_dynamic_entry(data, _DT_STRTAB, new_tag=_DT_DEBUG),
                "dynamic section: DT_NEEDED or DT_RPATH entries but no DT_STRTAB",
            ),
            (
                lambda data: _with_dynamic_entry(data, _DT_STRTAB, value=0x7FFF0000),
                "dynamic section: DT_STRTAB address 0x7fff0000 is in no PT_LOAD segment",
            ),
            (
                lambda data: _with_dynamic_segment(data, offset=10**9),
                "dynamic section: PT_DYNAMIC at offset 1000000000 lies outside the file",
            ),
        ],
        ids=[
            "pn-xnum-without-sections",
            "phentsize",
            "truncated",
            "no-strtab",
            "strtab-address",
            "dynamic-outside",
        ],
    )
    def test_what_the_loader_could_not_follow_is_the_error(
        self, built: Built, edit: Callable[[bytes], bytes], error: str
    ) -> None:
        facts = facts_of(edit(built.files["lib/libfoo.so.1"]))
        assert (facts.format, facts.archs, facts.needed) == ("elf", ("x86_64",), ())
        assert facts.error == error

    def test_strings_past_the_string_table_size_are_refused_one_by_one(self, built: Built) -> None:
        # libfoo's strings: libdep.so.1 at 93, libc.so.6 at 105, then the soname and rpath.
        facts = facts_of(_with_dynamic_entry(built.files["lib/libfoo.so.1"], _DT_STRSZ, value=100))
        assert facts.needed == ()
        assert facts.error == (
            "DT_NEEDED is not NUL-terminated within 7 bytes; "
            "DT_NEEDED string offset 105 lies outside the string table; "
            "DT_SONAME string offset 115 lies outside the string table; "
            "DT_RPATH string offset 139 lies outside the string table"
        )

    def test_an_empty_name_is_left_out_and_the_rest_kept(self, built: Built) -> None:
        library = built.files["lib/libfoo.so.1"]
        last_byte = 146  # of libfoo's 147-byte string table: its final NUL, an empty name
        facts = facts_of(_with_dynamic_entry(library, _DT_NEEDED, value=last_byte))
        assert facts.needed == ("libc.so.6",)
        assert (facts.soname, facts.rpaths) == ("libfoo.so.1", ("$ORIGIN",))
        assert facts.error == "DT_NEEDED is empty"

    def test_an_absurd_dynamic_section_is_read_as_far_as_the_file_goes(self, built: Built) -> None:
        library = built.files["lib/libfoo.so.1"]
        facts = facts_of(_with_dynamic_segment(library, size=16 * 10000))
        assert facts.needed == facts_of(library).needed
        assert facts.error is not None
        assert facts.error.startswith(
            "10000 dynamic entries (absurd; read 8192); dynamic section truncated: "
        )


# ---------------------------------------------------------------- Actual tests: Mach-O


class TestMachO:
    def test_load_commands(self) -> None:
        image = macho(
            [
                (LC_ID_DYLIB, dylib_command("@rpath/libfoo.1.dylib")),
                (LC_LOAD_DYLIB, dylib_command("@rpath/libz.1.dylib")),
                (LC_LOAD_WEAK_DYLIB, dylib_command("@rpath/libweak.dylib")),
                (LC_REEXPORT_DYLIB, dylib_command("@rpath/libbar.dylib")),
                (LC_SEGMENT_64, bytes(64)),
                (LC_LOAD_DYLIB, dylib_command("/usr/lib/libSystem.B.dylib")),
                (LC_RPATH, rpath_command("@loader_path/../lib")),
            ]
        )
        assert facts_of(image) == BinaryFacts(
            "macho",
            "library",
            ("x86_64",),
            needed=(
                "@rpath/libz.1.dylib",
                "@rpath/libweak.dylib",
                "@rpath/libbar.dylib",
                "/usr/lib/libSystem.B.dylib",
            ),
            optional=("@rpath/libweak.dylib",),
            rpaths=("@loader_path/../lib",),
            soname="@rpath/libfoo.1.dylib",
        )

    def test_universal_binary(self) -> None:
        x86 = macho([(LC_LOAD_DYLIB, dylib_command("/usr/lib/libSystem.B.dylib"))])
        arm = macho([(LC_LOAD_DYLIB, dylib_command("/usr/lib/libc++.1.dylib"))], cputype=CPU_ARM64)
        facts = facts_of(fat(x86, arm))
        assert facts.archs == ("x86_64", "arm64")
        assert facts.needed == ("/usr/lib/libSystem.B.dylib", "/usr/lib/libc++.1.dylib")
        assert facts.error is None

    def test_universal_static_library_is_not_a_binary(self) -> None:
        archive = b"!<arch>\n" + bytes(64)
        assert analyze_binary(io.BytesIO(fat(archive, archive, archs=[(7, 3), (12, 0)]))) is None

    def test_java_class_file_is_not_a_binary(self) -> None:
        java = b"\xca\xfe\xba\xbe\x00\x00\x00\x41" + bytes(64)
        assert not looks_like_binary(java)
        assert analyze_binary(io.BytesIO(java)) is None

    def test_command_size_overflows(self) -> None:
        image = bytearray(macho([(LC_LOAD_DYLIB, dylib_command("@rpath/libz.1.dylib"))] * 2))
        struct.pack_into("<I", image, 32 + 4, 0xFFFF)  # cmdsize of the first command
        facts = facts_of(bytes(image))
        assert facts.needed == ()
        assert facts.error is not None
        assert "invalid size" in facts.error

    def test_name_offset_outside_the_command(self) -> None:
        command = struct.pack("<IIII", 4096, 0, 0, 0) + b"libz\0\0\0\0"
        facts = facts_of(macho([(LC_LOAD_DYLIB, command)]))
        assert facts.error is not None
        assert "outside the command" in facts.error

    def test_absurd_counts(self) -> None:
        image = bytearray(macho([(LC_RPATH, rpath_command("@loader_path"))]))
        struct.pack_into("<II", image, 16, 0xFFFFFFFF, 0xFFFFFFF0)  # ncmds, sizeofcmds
        facts = facts_of(bytes(image))
        assert facts.rpaths == ("@loader_path",)
        assert facts.error is not None

    def test_a_command_too_short_for_its_name(self) -> None:
        facts = facts_of(macho([(LC_LOAD_DYLIB, b"")]))
        assert (facts.needed, facts.error) == (
            (),
            "load command 0: command 0xc is too short (8 bytes)",
        )

    def test_a_slice_that_is_no_image_is_named_and_the_others_read(self) -> None:
        x86 = macho([(LC_LOAD_DYLIB, dylib_command("/usr/lib/libSystem.B.dylib"))])
        facts = facts_of(fat(x86, b"garbage" + bytes(30), archs=[(7, 3), (12, 0)]))
        assert (facts.archs, facts.needed) == (("x86_64",), ("/usr/lib/libSystem.B.dylib",))
        assert facts.error == "slice arm is not a Mach-O image"

    def test_a_universal_binary_cut_short(self) -> None:
        x86 = macho([(LC_LOAD_DYLIB, dylib_command("/usr/lib/libSystem.B.dylib"))])
        arm = macho([(LC_LOAD_DYLIB, dylib_command("/usr/lib/libc++.1.dylib"))], cputype=CPU_ARM64)
        whole = fat(x86, arm)
        facts = facts_of(whole[: 0x2000 + 40])  # the arm64 slice's header, not its commands
        assert facts.needed == ("/usr/lib/libSystem.B.dylib",)
        assert facts.error is not None
        assert facts.error.startswith("slice arm64 extends beyond the end of the file (truncated)")
        # Cut inside the table of slices: each missing entry is named.
        facts = facts_of(whole[:8])
        assert facts.error == (
            "fat_arch 0: fat_arch 0 (offset 8, 20 bytes) lies beyond the end of the file "
            "(8 bytes): truncated or corrupt; fat_arch 1: fat_arch 1 (offset 28, 20 bytes) "
            "lies beyond the end of the file (8 bytes): truncated or corrupt"
        )

    def test_absurd_count_of_64_bit_universal_slices(self) -> None:
        facts = facts_of(struct.pack(">II", 0xCAFEBABF, 1000) + bytes(100))
        assert (facts.format, facts.error) == ("macho", "1000 fat architectures (absurd)")

    @pytest.mark.parametrize("keep", [4, 12, 40, 60, 87], ids=lambda k: f"keep{k}")
    def test_truncated(self, keep: int) -> None:
        image = macho([(LC_LOAD_DYLIB, dylib_command("/usr/lib/libSystem.B.dylib"))])
        facts = facts_of(image[:keep])
        assert facts.format == "macho"
        assert facts.error is not None


# -------------------------------------------------------------------- Actual tests: PE


# Offsets in the images binary_builders.pe makes (PE32+; the MS-DOS header points at 0x80).
_PE_SECTION_COUNT = 0x86
_PE_OPTIONAL_SIZE = 0x94
_PE_MAGIC = 0x98
_PE_DIRECTORY_COUNT = _PE_MAGIC + 108  # NumberOfRvaAndSizes
_PE_SECTION = _PE_MAGIC + 112 + 16 * 8  # VirtualSize at +8, SizeOfRawData at +16
_PE_FIRST_IMPORT_NAME = 0x200 + 12


def _pe_with(image: bytes, *edits: tuple[int, str, int]) -> bytes:
    edited = bytearray(image)
    for offset, layout, value in edits:
        struct.pack_into(layout, edited, offset, value)
    return bytes(edited)


class TestPe:
    def test_imports_delay_imports_and_export_name(self) -> None:
        image = pe(["KERNEL32.dll", "zlib.dll"], ["USER32.dll", "zlib.DLL"], "mine.dll")
        assert facts_of(image) == BinaryFacts(
            "pe",
            "library",
            ("x86_64",),
            needed=("KERNEL32.dll", "zlib.dll", "USER32.dll"),
            optional=("USER32.dll",),
            soname="mine.dll",
        )

    def test_executable_and_machine(self) -> None:
        facts = facts_of(pe(["KERNEL32.dll"], machine=0x14C, characteristics=0x0102))
        assert (facts.kind, facts.archs) == ("executable", ("x86",))

    def test_ms_dos_program_is_not_a_binary(self) -> None:
        assert analyze_binary(io.BytesIO(b"MZ" + bytes(200))) is None

    def test_import_name_outside_every_section(self) -> None:
        image = bytearray(pe(["KERNEL32.dll"]))
        struct.pack_into("<I", image, _PE_FIRST_IMPORT_NAME, 0x7FFF0000)  # Name RVA
        facts = facts_of(bytes(image))
        assert facts.needed == ()
        assert facts.error is not None
        assert "in no section" in facts.error

    @pytest.mark.parametrize("keep", [0x84, 0x90, 0x100, 0x200, 0x210], ids=hex)
    def test_truncated(self, keep: int) -> None:
        facts = facts_of(pe(["KERNEL32.dll"])[:keep])
        assert facts.format == "pe"
        assert facts.error is not None

    def test_truncated_before_the_pe_signature(self) -> None:
        assert analyze_binary(io.BytesIO(pe(["KERNEL32.dll"])[:0x82])) is None

    def test_pe32_and_visual_c6_delay_load_descriptors(self) -> None:
        image = pe(["KERNEL32.dll"], ["USER32.dll"], magic=0x10B, machine=0x14C)
        expected = BinaryFacts(
            "pe",
            "library",
            ("x86",),
            needed=("KERNEL32.dll", "USER32.dll"),
            optional=("USER32.dll",),
        )
        assert facts_of(image) == expected
        # Visual C++ 6 wrote attributes 0 and an address (image base + RVA) for the name.
        descriptor = 0x200 + 20 * 2
        (name_rva,) = struct.unpack_from("<I", image, descriptor + 4)
        old_style = _pe_with(
            image, (descriptor, "<I", 0), (descriptor + 4, "<I", 0x10000000 + name_rva)
        )
        assert facts_of(old_style) == expected

    def test_a_name_in_the_headers_is_read_from_them(self) -> None:
        # An RVA below SizeOfHeaders is a file offset: 0x80 is the "PE" signature.
        facts = facts_of(_pe_with(pe(["KERNEL32.dll"]), (_PE_FIRST_IMPORT_NAME, "<I", 0x80)))
        assert (facts.needed, facts.error) == (("PE",), None)

    @pytest.mark.parametrize(
        "edit",
        [(_PE_DIRECTORY_COUNT, "<I", 1), (_PE_FIRST_IMPORT_NAME, "<I", 0)],
        ids=["no-import-directory", "descriptor-without-name"],
    )
    def test_imports_end_where_the_loader_stops(self, edit: tuple[int, str, int]) -> None:
        # NumberOfRvaAndSizes 1 lists the export directory alone; a nameless descriptor ends
        # the import table.
        facts = facts_of(_pe_with(pe(["KERNEL32.dll"]), edit))
        assert (facts.kind, facts.needed, facts.error) == ("library", (), None)

    @pytest.mark.parametrize(
        ("edits", "error"),
        [
            (((_PE_OPTIONAL_SIZE, "<H", 0),), "PE headers: no optional header"),
            (((_PE_MAGIC, "<H", 0x1234),), "PE headers: unknown optional header magic 0x1234"),
            (
                ((_PE_OPTIONAL_SIZE, "<H", 50),),
                "PE headers: optional header is 50 bytes, too short",
            ),
            (((_PE_SECTION_COUNT, "<H", 97),), "PE headers: 97 sections (the loader allows 96)"),
            (
                ((_PE_SECTION + 8, "<I", 0x1000), (_PE_SECTION + 16, "<I", 0x10)),
                (
                    "import directory: import directory entry 0 name (RVA 0x1070) "
                    "lies in zero-filled memory"
                ),
            ),
        ],
        ids=["no-optional-header", "magic", "short-optional-header", "sections", "zero-filled"],
    )
    def test_broken_headers_are_the_error(
        self, edits: tuple[tuple[int, str, int], ...], error: str
    ) -> None:
        facts = facts_of(_pe_with(pe(["KERNEL32.dll"]), *edits))
        assert (facts.format, facts.needed, facts.error) == ("pe", (), error)

    def test_an_endless_import_table_is_cut_off(self) -> None:
        facts = facts_of(pe([f"lib{n}.dll" for n in range(8193)]))
        assert len(facts.needed) == 8192
        assert facts.error == "import directory: more than 8192 entries (absurd)"


# --------------------------------------------------------- Actual tests: any binary


class TestAnyBinary:
    @pytest.mark.parametrize(
        "data",
        [b"", b"\x7fEL", b"#!/bin/sh\n", b"PK\x03\x04" + bytes(40), b"\xca\xfe\xba\xbe"],
        ids=["empty", "short", "script", "zip", "bare-fat-magic"],
    )
    def test_not_binaries(self, data: bytes) -> None:
        assert analyze_binary(io.BytesIO(data)) is None

    def test_non_seekable_stream(self, built: Built) -> None:
        class Pipe(io.RawIOBase):
            def __init__(self, data: bytes) -> None:
                self._data = io.BytesIO(data)

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
                chunk = self._data.read(min(len(buffer), 100))
                buffer[: len(chunk)] = chunk
                return len(chunk)

        data = built.files["lib/libfoo.so.1"]
        stream: BinaryIO = io.BufferedReader(Pipe(data))
        assert analyze_binary(stream) == facts_of(data)

    def test_a_file_on_disk(self, built: Built) -> None:
        data = built.files[f"{SITE}/pkg/_ext.so"]
        with tempfile.TemporaryFile() as spooled:
            spooled.write(data)
            assert analyze_binary(spooled) == facts_of(data)

    @pytest.mark.parametrize(
        ("data", "binary_format"),
        [
            (b"\x7fELF" + bytes(100), "elf"),
            (macho([(LC_LOAD_DYLIB, dylib_command("libz.1.dylib"))]), "macho"),
            (b"\xca\xfe\xba\xbe\x00\x00\x00\x01" + bytes(100), "macho"),
            (b"MZ" + bytes(100), "pe"),
        ],
        ids=["elf", "macho", "fat", "pe"],
    )
    def test_read_errors_become_the_error_of_the_format(
        self, data: bytes, binary_format: str
    ) -> None:
        class Failing(io.BytesIO):
            def read(self, size: int | None = -1, /) -> bytes:
                if self.tell() > 0:
                    raise OSError(5, "Input/output error")
                return super().read(size)

        facts = analyze_binary(Failing(data))
        assert facts == BinaryFacts(
            binary_format,  # type: ignore[arg-type]
            "other",
            (),
            error="cannot read the file: [Errno 5] Input/output error",
        )

    def test_a_file_that_cannot_be_read_at_all_is_no_binary(self) -> None:
        class Unreadable(io.BytesIO):
            def read(self, _size: int | None = -1, /) -> bytes:
                raise OSError(5, "Input/output error")

        assert analyze_binary(Unreadable(b"\x7fELF" + bytes(100))) is None

    def test_threads_agree(self, built: Built) -> None:
        datas = list(built.files.values()) * 8
        expected = [facts_of(data) for data in datas]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(facts_of, datas)) == expected

    def test_analyzer_protocol(self, built: Built) -> None:
        analyzer: BinaryAnalyzer = LinkageAnalyzer()
        data = built.files["lib/libdep.so.1"]
        assert analyzer.wants(data[:64])
        assert not analyzer.wants(b"#!/usr/bin/env python\n")
        assert analyzer.analyze(io.BytesIO(data)) == facts_of(data)

    @given(st.data())
    def test_mutated_binaries_never_raise(self, built: Built, data: st.DataObject) -> None:
        samples = [
            built.files["lib/libfoo.so.1"],
            macho(
                [
                    (LC_LOAD_DYLIB, dylib_command("@rpath/a.dylib")),
                    (LC_RPATH, rpath_command("@loader_path")),
                ]
            ),
            pe(["KERNEL32.dll", "b.dll"], ["c.dll"], "d.dll"),
        ]
        image = bytearray(data.draw(st.sampled_from(samples)))
        window = min(len(image), 4096)  # the headers and tables live near the start
        for position, value in data.draw(
            st.lists(st.tuples(st.integers(0, window - 1), st.integers(0, 255)), max_size=16)
        ):
            image[position] = value
        cut = data.draw(st.integers(0, len(image)))
        facts = analyze_binary(io.BytesIO(bytes(image[:cut])))
        if facts is not None:
            assert all(facts.needed)


# ------------------------------------------------------------- Actual tests: the corpus


@pytest.mark.corpus
def test_corpus_elf_facts_agree_with_section_headers(corpus: Path) -> None:
    """Reading through program headers gives what pyelftools reads through sections."""
    checked = 0
    for path, data in corpus_elf_files(corpus):
        expected: dict[str, list[str]] = {
            "DT_NEEDED": [],
            "DT_RPATH": [],
            "DT_RUNPATH": [],
            "DT_SONAME": [],
        }
        for section in ELFFile(io.BytesIO(data)).iter_sections():
            if isinstance(section, DynamicSection):
                for tag in section.iter_tags():
                    if tag.entry.d_tag in expected:
                        value = getattr(tag, tag.entry.d_tag[3:].lower())
                        expected[tag.entry.d_tag] += (
                            value.split(":") if "PATH" in tag.entry.d_tag else [value]
                        )
        facts = facts_of(data)
        assert facts.error is None, path
        assert list(facts.needed) == expected["DT_NEEDED"], path
        assert list(facts.rpaths) == [p for p in expected["DT_RPATH"] if p], path
        assert list(facts.runpaths) == [p for p in expected["DT_RUNPATH"] if p], path
        assert facts.soname == next(iter(expected["DT_SONAME"]), None), path
        assert facts.archs == ("x86_64",)
        checked += 1
    assert checked > 100


@pytest.mark.corpus
def test_corpus_macos_extension_universal(corpus: Path) -> None:
    slices = []
    for name in ("osx-64-baseballmetrics-0.1.0-0.conda", "osx-arm64-baseballmetrics-0.1.0-0.conda"):
        package = read_corpus_package(corpus / "edge/jameslamb+pydistcheck" / name)
        (path,) = package.binaries
        assert path.endswith("site-packages/lib/lib_baseballmetrics.dylib")
        for member, body in open_package(corpus / "edge/jameslamb+pydistcheck" / name).members():
            if member.path == path and body is not None:
                slices.append(body.read())
    facts = facts_of(fat(*slices))
    assert facts.archs == ("x86_64", "arm64")
    assert facts.needed == ("/usr/lib/libSystem.B.dylib",)
    assert facts.rpaths == ("@loader_path/lib", "@loader_path/../../../")
    assert facts.soname == "@rpath/lib_baseballmetrics.dylib"
    report = resolve_libraries({f"{SITE}/lib/lib_baseballmetrics.dylib": facts}, declared=[])
    assert [lib.kind for lib in report.binaries[0].libraries] == ["system"]
