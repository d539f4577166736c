"""Reading ELF / Mach-O / PE linkage facts, and resolving needed libraries like the loader."""

from __future__ import annotations

import io
import json
import os
import platform
import posixpath
import shutil
import struct
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, BinaryIO

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from hypothesis import given
from hypothesis import strategies as st

from condawheel.binaries import (
    BinaryFacts,
    LinkageAnalyzer,
    PackageLibraries,
    SonameProviders,
    analyze_binary,
    dependency_name,
    in_loader_directory,
    is_library_path,
    looks_like_binary,
    resolve_libraries,
)
from condawheel.sources import open_package

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from condawheel.ingest import BinaryAnalyzer

SITE = "lib/python3.12/site-packages"
MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}.get(
    platform.machine().lower(), platform.machine()
)


# ---------------------------------------------------------------- Helpers: real binaries


@dataclass(frozen=True)
class Built:
    """A tiny conda-like prefix compiled with gcc: prefix-relative path -> bytes."""

    root: Path
    files: Mapping[str, bytes]


def _gcc(*arguments: str | Path, cwd: Path) -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is required to build the test binaries: install gcc")
    # --no-as-needed: the same DT_NEEDED entries whatever the toolchain's default.
    command = [gcc, "-Wl,--no-as-needed", *map(str, arguments)]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stderr}")


RPATH, RUNPATH = "-Wl,--disable-new-dtags", "-Wl,--enable-new-dtags"
SHARED = ("-shared", "-fPIC")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("prefix")
    src = tmp_path_factory.mktemp("src")
    (src / "dep.c").write_text("int dep(void) { return 41; }\n")
    (src / "foo.c").write_text("int dep(void);\nint foo(void) { return dep() + 1; }\n")
    (src / "main.c").write_text("int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n")
    (src / "ext.c").write_text("int foo(void);\nint ext(void) { return foo(); }\n")
    for directory in ("lib", "bin", f"{SITE}/pkg"):
        (root / directory).mkdir(parents=True)
    lib, bin_, pkg = root / "lib", root / "bin", root / SITE / "pkg"
    _gcc(*SHARED, "-Wl,-soname,libdep.so.1", "-o", lib / "libdep.so.1", "dep.c", cwd=src)
    libfoo = ("foo.c", lib / "libdep.so.1", "-Wl,-rpath,$ORIGIN", RPATH)
    _gcc(*SHARED, "-Wl,-soname,libfoo.so.1", "-o", lib / "libfoo.so.1", *libfoo, cwd=src)
    main = ("main.c", lib / "libfoo.so.1", f"-Wl,-rpath-link,{lib}")
    _gcc("-o", bin_ / "prog-rpath", *main, "-Wl,-rpath,$ORIGIN/../lib", RPATH, cwd=src)
    _gcc("-o", bin_ / "prog-runpath", *main, "-Wl,-rpath,$ORIGIN/../lib", RUNPATH, cwd=src)
    _gcc("-o", bin_ / "prog-bare", *main, cwd=src)
    ext = (*SHARED, "ext.c", lib / "libfoo.so.1", f"-Wl,-rpath-link,{lib}")
    _gcc(*ext, "-o", pkg / "_ext.so", "-Wl,-rpath,$ORIGIN/../../..", RPATH, cwd=src)
    _gcc(*ext, "-o", pkg / "_bare.so", cwd=src)
    _gcc(*ext, "-o", pkg / "_runpath.so", "-Wl,-rpath,$ORIGIN", RUNPATH, cwd=src)
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    return Built(root, files)


def _facts(data: bytes) -> BinaryFacts:
    facts = analyze_binary(io.BytesIO(data))
    assert facts is not None
    return facts


def _analyzed(files: Mapping[str, bytes]) -> dict[str, BinaryFacts]:
    return {path: _facts(data) for path, data in files.items()}


# --------------------------------------------------------- Helpers: synthetic Mach-O, PE

LC_LOAD_DYLIB, LC_ID_DYLIB = 0xC, 0xD
LC_LOAD_WEAK_DYLIB, LC_RPATH, LC_REEXPORT_DYLIB = 0x80000018, 0x8000001C, 0x8000001F
LC_SEGMENT_64 = 0x19
CPU_X86_64, CPU_ARM64 = 0x01000007, 0x0100000C


def _padded(text: str, offset: int) -> bytes:
    raw = text.encode() + b"\0"
    return raw + b"\0" * (-(offset + len(raw)) % 8)


def dylib_command(name: str) -> bytes:
    # dylib: name offset (from the command start), timestamp, current, compatibility
    return struct.pack("<IIII", 24, 2, 0x10000, 0x10000) + _padded(name, 24)


def rpath_command(path: str) -> bytes:
    return struct.pack("<I", 12) + _padded(path, 12)


def macho(
    commands: list[tuple[int, bytes]], *, filetype: int = 6, cputype: int = CPU_X86_64
) -> bytes:
    """A 64-bit little-endian Mach-O image with the given load commands."""
    body = b"".join(struct.pack("<II", cmd, 8 + len(data)) + data for cmd, data in commands)
    header = struct.pack(
        "<IiiIIIII", 0xFEEDFACF, cputype, 3, filetype, len(commands), len(body), 0, 0
    )
    return header + body


def fat(*slices: bytes, archs: Iterable[tuple[int, int]] | None = None) -> bytes:
    """A universal binary holding ``slices`` at 4 KiB alignment (<mach-o/fat.h>)."""
    kinds = list(archs) if archs is not None else [struct.unpack_from("<ii", s, 4) for s in slices]
    offset = 0x1000
    entries, bodies = [], b""
    for (cputype, subtype), body in zip(kinds, slices, strict=True):
        entries.append(struct.pack(">iiIII", cputype, subtype, offset + len(bodies), len(body), 12))
        bodies += body + b"\0" * (-len(body) % 0x1000)
    header = struct.pack(">II", 0xCAFEBABE, len(slices)) + b"".join(entries)
    return header + b"\0" * (offset - len(header)) + bodies


def pe(
    imports: Sequence[str],
    delayed: Sequence[str] = (),
    export: str | None = None,
    *,
    machine: int = 0x8664,
    characteristics: int = 0x2022,
) -> bytes:
    """A PE32+ image whose one section holds import, delay-import and export tables."""
    rva = 0x1000
    imports_at = 0
    delayed_at = imports_at + 20 * (len(imports) + 1)
    export_at = delayed_at + 32 * (len(delayed) + 1)
    strings_at = export_at + 40
    strings = b""

    def string(text: str) -> int:
        nonlocal strings
        position = rva + strings_at + len(strings)
        strings += text.encode() + b"\0"
        return position

    content = b"".join(struct.pack("<IIIII", 0, 0, 0, string(n), rva) for n in imports)
    content += b"\0" * 20
    content += b"".join(struct.pack("<8I", 1, string(n), 0, 0, 0, 0, 0, 0) for n in delayed)
    content += b"\0" * 32
    name = string(export) if export else 0
    content += struct.pack("<IIHHIIIIIII", 0, 0, 0, 0, name, 1, 0, 0, 0, 0, 0)
    content += strings
    raw_size = len(content) + (-len(content) % 0x200)
    directories = [(0, 0)] * 16
    if export:
        directories[0] = (rva + export_at, 40)
    directories[1] = (rva + imports_at, 20 * (len(imports) + 1))
    if delayed:
        directories[13] = (rva + delayed_at, 32 * (len(delayed) + 1))
    optional = bytearray(112)
    struct.pack_into("<H", optional, 0, 0x20B)
    struct.pack_into("<Q", optional, 24, 0x180000000)
    struct.pack_into("<II", optional, 32, 0x1000, 0x200)
    struct.pack_into("<I", optional, 60, 0x200)
    struct.pack_into("<I", optional, 108, 16)
    optional += b"".join(struct.pack("<II", *d) for d in directories)
    section = b".rdata\0\0" + struct.pack("<IIII", len(content), rva, raw_size, 0x200) + bytes(16)
    coff = struct.pack("<HHIIIHH", machine, 1, 0, 0, 0, len(optional), characteristics)
    dos = bytearray(0x80)
    dos[:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    headers = bytes(dos) + b"PE\0\0" + coff + bytes(optional) + section
    return headers + b"\0" * (0x200 - len(headers)) + content + b"\0" * (raw_size - len(content))


def providers(*records: tuple[str, Iterable[str], Iterable[str]]) -> SonameProviders:
    return SonameProviders.from_packages(
        PackageLibraries(name, frozenset(paths), frozenset(depends))
        for name, paths, depends in records
    )


def elf(
    *needed: str,
    rpaths: tuple[str, ...] = (),
    runpaths: tuple[str, ...] = (),
    kind: str = "library",
) -> BinaryFacts:
    return BinaryFacts("elf", kind, ("x86_64",), needed=needed, rpaths=rpaths, runpaths=runpaths)  # type: ignore[arg-type]


# ------------------------------------------------------------------- Actual tests: ELF


class TestElf:
    def test_shared_library(self, built: Built) -> None:
        facts = _facts(built.files["lib/libfoo.so.1"])
        assert facts == BinaryFacts(
            "elf", "library", (MACHINE,), needed=("libdep.so.1", "libc.so.6"),
            rpaths=("$ORIGIN",), soname="libfoo.so.1",
        )  # fmt: skip

    def test_rpath_and_runpath_executables(self, built: Built) -> None:
        with_rpath = _facts(built.files["bin/prog-rpath"])
        with_runpath = _facts(built.files["bin/prog-runpath"])
        assert with_rpath.kind == with_runpath.kind == "executable"
        assert (with_rpath.rpaths, with_rpath.runpaths) == (("$ORIGIN/../lib",), ())
        assert (with_runpath.rpaths, with_runpath.runpaths) == ((), ("$ORIGIN/../lib",))
        assert with_rpath.needed == ("libfoo.so.1", "libc.so.6")
        assert with_rpath.soname is None

    def test_extension_module_without_search_path(self, built: Built) -> None:
        facts = _facts(built.files[f"{SITE}/pkg/_bare.so"])
        assert (facts.kind, facts.rpaths, facts.runpaths) == ("library", (), ())
        assert facts.needed == ("libfoo.so.1", "libc.so.6")

    def test_read_without_section_headers_like_the_loader(self, built: Built) -> None:
        data = bytearray(built.files["lib/libfoo.so.1"])
        struct.pack_into("<Q", data, 0x28, 0)  # e_shoff
        struct.pack_into("<HHH", data, 0x3A, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
        assert _facts(bytes(data)) == _facts(built.files["lib/libfoo.so.1"])

    @pytest.mark.parametrize("keep", [4, 20, 63, 64, 200, 1000, 3000, -1], ids=lambda k: f"keep{k}")
    def test_truncated(self, built: Built, keep: int) -> None:
        data = built.files["lib/libfoo.so.1"]
        facts = _facts(data[:keep])
        assert facts.format == "elf"
        assert facts.error is not None or facts.needed == _facts(data).needed

    def test_garbage_after_the_magic(self) -> None:
        facts = _facts(b"\x7fELF" + bytes(range(256)) * 4)
        assert facts.format == "elf"
        assert facts.error is not None
        assert facts.needed == ()

    def test_absurd_program_header_count(self, built: Built) -> None:
        data = bytearray(built.files["lib/libfoo.so.1"])
        struct.pack_into("<H", data, 0x38, 0xFFFE)  # e_phnum
        facts = _facts(bytes(data))
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
        facts = _facts(bytes(data))
        assert facts.needed == ("libc.so.6",)
        assert facts.error is not None
        assert "DT_NEEDED" in facts.error


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
        assert _facts(image) == BinaryFacts(
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
        facts = _facts(fat(x86, arm))
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
        facts = _facts(bytes(image))
        assert facts.needed == ()
        assert facts.error is not None
        assert "invalid size" in facts.error

    def test_name_offset_outside_the_command(self) -> None:
        command = struct.pack("<IIII", 4096, 0, 0, 0) + b"libz\0\0\0\0"
        facts = _facts(macho([(LC_LOAD_DYLIB, command)]))
        assert facts.error is not None
        assert "outside the command" in facts.error

    def test_absurd_counts(self) -> None:
        image = bytearray(macho([(LC_RPATH, rpath_command("@loader_path"))]))
        struct.pack_into("<II", image, 16, 0xFFFFFFFF, 0xFFFFFFF0)  # ncmds, sizeofcmds
        facts = _facts(bytes(image))
        assert facts.rpaths == ("@loader_path",)
        assert facts.error is not None

    @pytest.mark.parametrize("keep", [4, 12, 40, 60, 87], ids=lambda k: f"keep{k}")
    def test_truncated(self, keep: int) -> None:
        image = macho([(LC_LOAD_DYLIB, dylib_command("/usr/lib/libSystem.B.dylib"))])
        facts = _facts(image[:keep])
        assert facts.format == "macho"
        assert facts.error is not None


# -------------------------------------------------------------------- Actual tests: PE


class TestPe:
    def test_imports_delay_imports_and_export_name(self) -> None:
        image = pe(["KERNEL32.dll", "zlib.dll"], ["USER32.dll", "zlib.DLL"], "mine.dll")
        assert _facts(image) == BinaryFacts(
            "pe",
            "library",
            ("x86_64",),
            needed=("KERNEL32.dll", "zlib.dll", "USER32.dll"),
            optional=("USER32.dll",),
            soname="mine.dll",
        )

    def test_executable_and_machine(self) -> None:
        facts = _facts(pe(["KERNEL32.dll"], machine=0x14C, characteristics=0x0102))
        assert (facts.kind, facts.archs) == ("executable", ("x86",))

    def test_ms_dos_program_is_not_a_binary(self) -> None:
        assert analyze_binary(io.BytesIO(b"MZ" + bytes(200))) is None

    def test_import_name_outside_every_section(self) -> None:
        image = bytearray(pe(["KERNEL32.dll"]))
        struct.pack_into("<I", image, 0x200 + 12, 0x7FFF0000)  # Name RVA of the descriptor
        facts = _facts(bytes(image))
        assert facts.needed == ()
        assert facts.error is not None
        assert "in no section" in facts.error

    @pytest.mark.parametrize("keep", [0x84, 0x90, 0x100, 0x200, 0x210], ids=hex)
    def test_truncated(self, keep: int) -> None:
        facts = _facts(pe(["KERNEL32.dll"])[:keep])
        assert facts.format == "pe"
        assert facts.error is not None

    def test_truncated_before_the_pe_signature(self) -> None:
        assert analyze_binary(io.BytesIO(pe(["KERNEL32.dll"])[:0x82])) is None


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
        assert analyze_binary(stream) == _facts(data)

    def test_a_file_on_disk(self, built: Built) -> None:
        data = built.files[f"{SITE}/pkg/_ext.so"]
        with tempfile.TemporaryFile() as spooled:
            spooled.write(data)
            assert analyze_binary(spooled) == _facts(data)

    def test_read_errors_become_facts(self) -> None:
        class Failing(io.BytesIO):
            def read(self, size: int | None = -1, /) -> bytes:
                if self.tell() > 0:
                    raise OSError(5, "Input/output error")
                return super().read(size)

        facts = analyze_binary(Failing(b"\x7fELF" + bytes(100)))
        assert facts is not None
        assert facts.error is not None
        assert "Input/output error" in facts.error

    def test_threads_agree(self, built: Built) -> None:
        datas = list(built.files.values()) * 8
        expected = [_facts(data) for data in datas]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(_facts, datas)) == expected

    def test_analyzer_protocol(self, built: Built) -> None:
        analyzer: BinaryAnalyzer = LinkageAnalyzer()
        data = built.files["lib/libdep.so.1"]
        assert analyzer.wants(data[:64])
        assert not analyzer.wants(b"#!/usr/bin/env python\n")
        assert analyzer.analyze(io.BytesIO(data)) == _facts(data)

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


# ------------------------------------------------------------ Actual tests: resolution


class TestResolveElf:
    def test_built_prefix_resolves_like_the_loader(self, built: Built) -> None:
        report = resolve_libraries(_analyzed(built.files), declared=[])
        found = {
            (binary.path, library.name): (library.kind, library.location)
            for binary in report.binaries
            for library in binary.libraries
        }
        assert found[("bin/prog-rpath", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        assert found[("bin/prog-runpath", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        assert found[("lib/libfoo.so.1", "libdep.so.1")] == ("wheel", "lib/libdep.so.1")
        assert found[(f"{SITE}/pkg/_ext.so", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        # No search path of its own: the python executable's DT_RPATH ($ORIGIN/../lib).
        assert found[(f"{SITE}/pkg/_bare.so", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        # DT_RUNPATH $ORIGIN replaces every inherited DT_RPATH: lib/ is out of reach.
        assert found[(f"{SITE}/pkg/_runpath.so", "libfoo.so.1")] == ("unresolved", None)
        # An executable inherits nobody's RPATH.
        assert found[("bin/prog-bare", "libfoo.so.1")] == ("unresolved", None)
        assert found[("bin/prog-rpath", "libc.so.6")] == ("system", None)
        assert report.unresolved == ("libfoo.so.1",)

    @pytest.mark.parametrize(
        ("program", "runs"),
        [("prog-rpath", True), ("prog-runpath", True), ("prog-bare", False)],
    )
    def test_the_real_loader_agrees(self, built: Built, program: str, *, runs: bool) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LD_")}
        done = subprocess.run(
            [built.root / "bin" / program], env=environment, capture_output=True, check=False
        )
        assert (done.returncode == 0) is runs, done.stderr
        report = resolve_libraries(_analyzed(built.files), declared=[])
        binary = next(b for b in report.binaries if b.path == f"bin/{program}")
        assert all(library.kind != "unresolved" for library in binary.libraries) is runs

    def test_declared_dependency(self) -> None:
        binaries = {
            f"{SITE}/zstandard/backend_c.so": elf(
                "libzstd.so.1", "libc.so.6", rpaths=("$ORIGIN/../../..",)
            )
        }
        index = providers(
            ("zstd", ["lib/libzstd.so.1", "lib/libzstd.so.1.5.6", "lib/libzstd.so"], ["libgcc"])
        )
        report = resolve_libraries(binaries, declared=["python", "zstd"], providers=index)
        zstd, libc = report.binaries[0].libraries
        assert (zstd.kind, zstd.dependency, zstd.package, zstd.location) == (
            "dependency", "zstd", "zstd", "lib/libzstd.so.1",
        )  # fmt: skip
        assert "DT_RPATH '$ORIGIN/../../..'" in zstd.reason
        assert libc.kind == "system"
        assert (report.under_declared, report.over_declared) == ((), ())
        assert report.linked_dependencies == ("zstd",)
        assert report.unjudged_dependencies == ("python",)

    def test_wheel_before_dependency(self) -> None:
        binaries = {"lib/libz.so.1": elf(), f"{SITE}/m.so": elf("libz.so.1")}
        index = providers(("libzlib", ["lib/libz.so.1"], []))
        report = resolve_libraries(binaries, declared=["libzlib"], providers=index)
        library = report.binaries[1].libraries[0]
        assert (library.kind, library.location) == ("wheel", "lib/libz.so.1")
        assert report.over_declared == ("libzlib",)

    def test_undeclared_provider(self) -> None:
        binaries = {"lib/libmamba.so.2": elf("libbz2.so.1.0", rpaths=("$ORIGIN",))}
        index = providers(
            ("bzip2", ["lib/libbz2.so.1.0"], []),
            ("libarchive", ["lib/libarchive.so.13"], ["bzip2"]),
        )
        report = resolve_libraries(binaries, declared=["libarchive"], providers=index)
        library = report.binaries[0].libraries[0]
        assert library.kind == "unresolved"
        assert library.undeclared_providers == ("bzip2",)
        assert "'bzip2'" in library.reason
        assert "'libarchive'" in library.reason
        assert report.under_declared == ("libbz2.so.1.0",)
        assert report.over_declared == ("libarchive",)

    def test_manylinux_library_prefers_a_declared_provider(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libstdc++.so.6", "libgcc_s.so.1")}
        index = providers(
            ("libstdcxx", ["lib/libstdc++.so.6"], ["libgcc"]), ("libgcc", ["lib/libgcc_s.so.1"], [])
        )
        report = resolve_libraries(binaries, declared=["libstdcxx"], providers=index)
        stdcxx, gcc_s = report.binaries[0].libraries
        assert (stdcxx.kind, stdcxx.dependency) == ("dependency", "libstdcxx")
        assert (gcc_s.kind, gcc_s.undeclared_providers) == ("system", ("libgcc",))
        assert "manylinux" in gcc_s.reason
        assert report.under_declared == ()

    def test_through_a_package_without_libraries(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libgcc_s.so.1", "libgomp.so.1")}
        index = providers(
            ("libgcc-ng", [], ["libgcc"]),
            ("libgcc", ["lib/libgcc_s.so.1"], ["_openmp_mutex"]),
            ("_openmp_mutex", ["lib/libgomp.so.1"], []),
        )
        report = resolve_libraries(binaries, declared=["libgcc-ng"], providers=index)
        gcc_s, gomp = report.binaries[0].libraries
        assert (gcc_s.kind, gcc_s.dependency, gcc_s.package) == (
            "dependency",
            "libgcc-ng",
            "libgcc",
        )
        # libgcc ships libraries: its own dependencies are not followed.
        assert (gomp.kind, gomp.undeclared_providers) == ("unresolved", ("_openmp_mutex",))
        assert report.over_declared == ()

    def test_declared_but_off_the_search_path(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libfoo.so.1", runpaths=("$ORIGIN",))}
        index = providers(("foo", ["lib/libfoo.so.1"], []))
        report = resolve_libraries(binaries, declared=["foo"], providers=index)
        library = report.binaries[0].libraries[0]
        assert library.kind == "unresolved"
        assert "not on this binary's search path" in library.reason
        assert report.under_declared == ()

    def test_search_path_entries_the_loader_cannot_use_here(self) -> None:
        binaries = {
            "bin/tool": elf(
                "libx.so.1",
                rpaths=(
                    "$ORIGIN/../../../outside",
                    "$LIB/x",
                    "/usr/local/lib",
                    "relative/dir",
                    "$ORIGIN/../lib",
                ),
                kind="executable",
            ),
            "lib/libx.so.1": elf(),
        }
        library = resolve_libraries(binaries, declared=[]).binaries[0].libraries[0]
        assert (library.kind, library.location) == ("wheel", "lib/libx.so.1")
        binaries["bin/tool"] = replace(
            binaries["bin/tool"], rpaths=binaries["bin/tool"].rpaths[:-1]
        )
        library = resolve_libraries(binaries, declared=[]).binaries[0].libraries[0]
        assert library.kind == "unresolved"
        for problem in ("outside the conda prefix", "$LIB", "current directory"):
            assert problem in library.reason

    def test_absolute_search_path_into_the_build_prefix(self) -> None:
        placeholder = "/home/builder/_h_env_placehold_placehold"
        binaries = {
            f"{SITE}/m.so": elf("libx.so.1", runpaths=(f"{placeholder}/lib",)),
            "lib/libx.so.1": elf(),
        }
        report = resolve_libraries(binaries, declared=[], prefix_placeholders=[placeholder])
        assert report.binaries[1].libraries[0].location == "lib/libx.so.1"

    def test_incompatible_architecture_is_skipped(self) -> None:
        arm = BinaryFacts("elf", "library", ("aarch64",))
        binaries = {
            "lib/a/libx.so.1": arm,
            "lib/b/libx.so.1": elf(),
            "bin/t": elf(
                "libx.so.1", rpaths=("$ORIGIN/../lib/a", "$ORIGIN/../lib/b"), kind="executable"
            ),
        }
        library = resolve_libraries(binaries, declared=[]).binaries[0].libraries[0]
        assert (library.kind, library.location) == ("wheel", "lib/b/libx.so.1")

    def test_without_providers(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libzstd.so.1", "libm.so.6")}
        report = resolve_libraries(binaries, declared=["zstd"])
        zstd, libm = report.binaries[0].libraries
        assert zstd.kind == "unresolved"
        assert "no providers index" in zstd.reason
        assert libm.kind == "system"
        assert not report.providers_given
        assert (report.under_declared, report.over_declared) == ((), ())

    def test_over_declared_is_judged_only_for_known_library_packages(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libc.so.6")}
        index = providers(
            ("python", ["lib/libpython3.12.so.1.0"], []),
            ("cffi", [f"{SITE}/_cffi_backend.cpython-312-x86_64-linux-gnu.so"], []),
            ("python_abi", [], ["python"]),
            ("openssl", ["lib/libssl.so.3"], []),
        )
        declared = ["python", "cffi", "python_abi", "openssl", "unknown", "__glibc"]
        report = resolve_libraries(binaries, declared=declared, providers=index)
        assert report.over_declared == ("openssl",)
        assert report.unjudged_dependencies == ("unknown",)

    def test_unknown_declared_dependency_keeps_a_library_off_the_under_declared_list(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libmystery.so.3")}
        report = resolve_libraries(binaries, declared=["unknown"], providers=providers())
        assert report.unresolved == ("libmystery.so.3",)
        assert report.under_declared == ()
        report = resolve_libraries(binaries, declared=[], providers=providers())
        assert report.under_declared == ("libmystery.so.3",)

    def test_json_is_stable(self) -> None:
        binaries = {
            f"{SITE}/b.so": elf("libzstd.so.1", rpaths=("$ORIGIN/../..",)),
            f"{SITE}/a.so": elf("libc.so.6", "libnope.so.1"),
        }
        index = providers(("zstd", ["lib/libzstd.so.1"], []), ("nope", ["lib/libnope.so.1"], []))
        first = resolve_libraries(binaries, declared=["zstd", "a", "b"], providers=index)
        second = resolve_libraries(
            dict(reversed(binaries.items())), declared=["b", "a", "zstd"], providers=index
        )
        assert json.dumps(first.to_json()) == json.dumps(second.to_json())
        data = json.loads(json.dumps(first.to_json()))
        assert list(data) == [
            "providers_given", "binaries", "under_declared", "over_declared",
            "linked_dependencies", "unjudged_dependencies",
        ]  # fmt: skip
        assert [b["path"] for b in data["binaries"]] == [f"{SITE}/a.so", f"{SITE}/b.so"]
        assert data["unjudged_dependencies"] == ["a", "b"]
        assert data["under_declared"] == ["libnope.so.1"]


class TestResolveMachO:
    def test_rpath_dependency_and_system(self) -> None:
        binaries = {
            f"{SITE}/lib/lib_demo.dylib": BinaryFacts(
                "macho", "library", ("arm64",),
                needed=(
                    "@rpath/libc++.1.dylib", "/usr/lib/libSystem.B.dylib", "@rpath/libz.1.dylib"
                ),
                rpaths=("@loader_path/../../../",),
            ),
        }  # fmt: skip
        index = providers(
            ("libcxx", ["lib/libc++.1.dylib"], []), ("libzlib", ["lib/libz.1.dylib"], [])
        )
        report = resolve_libraries(binaries, declared=["libcxx"], providers=index)
        cxx, system, zlib = report.binaries[0].libraries
        assert (cxx.kind, cxx.location) == ("dependency", "lib/libc++.1.dylib")
        assert "LC_RPATH '@loader_path/../../../'" in cxx.reason
        assert system.kind == "system"
        assert (zlib.kind, zlib.undeclared_providers) == ("unresolved", ("libzlib",))

    def test_loader_and_executable_paths(self) -> None:
        binaries = {
            "lib/libz.1.dylib": BinaryFacts("macho", "library", ("x86_64",)),
            "bin/tool": BinaryFacts(
                "macho", "library", ("x86_64",), needed=("@executable_path/../lib/libz.1.dylib",)
            ),
            f"{SITE}/m.so": BinaryFacts(
                "macho",
                "library",
                ("x86_64",),
                needed=(
                    "@loader_path/../../libz.1.dylib",
                    "@rpath/libz.1.dylib",
                    "@rpath/libweak.dylib",
                ),
                optional=("@rpath/libweak.dylib",),
            ),
        }
        report = resolve_libraries(binaries, declared=[], providers=providers())
        by_path = {b.path: b.libraries for b in report.binaries}
        assert by_path["bin/tool"][0].location == "lib/libz.1.dylib"
        loader, rpath, weak = by_path[f"{SITE}/m.so"]
        assert loader.location == rpath.location == "lib/libz.1.dylib"
        assert "python executable" in rpath.reason
        assert (weak.kind, weak.optional) == ("unresolved", True)
        assert report.under_declared == ()


class TestResolvePe:
    def test_dll_search(self) -> None:
        binaries = {
            "Library/bin/zlib.dll": BinaryFacts("pe", "library", ("x86_64",)),
            "Lib/site-packages/m/_x.pyd": BinaryFacts(
                "pe", "library", ("x86_64",),
                needed=(
                    "ZLIB.dll", "KERNEL32.dll", "api-ms-win-crt-heap-l1-1-0.dll",
                    "VCRUNTIME140.dll", "python312.dll",
                ),
            ),
        }  # fmt: skip
        index = providers(
            ("vc", [], ["vc14_runtime"]),
            ("vc14_runtime", ["vcruntime140.dll", "Library/bin/vcruntime140.dll"], []),
            ("python", ["python312.dll"], []),
        )
        report = resolve_libraries(binaries, declared=["vc", "python"], providers=index)
        zlib, kernel, crt, vcruntime, python = report.binaries[0].libraries
        assert (zlib.kind, zlib.location) == ("wheel", "Library/bin/zlib.dll")
        assert kernel.kind == crt.kind == "system"
        assert (vcruntime.kind, vcruntime.dependency, vcruntime.package, vcruntime.location) == (
            "dependency", "vc", "vc14_runtime", "vcruntime140.dll",
        )  # fmt: skip
        assert (python.kind, python.dependency) == ("dependency", "python")
        assert report.over_declared == ()


# ------------------------------------------------------------------ Actual tests: helpers


@pytest.mark.parametrize(
    ("path", "library", "loader"),
    [
        ("lib/libz.so.1", True, True),
        ("lib/libz.so", True, True),
        ("lib/libstdc++.so.6.0.33-gdb.py", False, False),
        ("lib/libz.1.dylib", True, True),
        (f"{SITE}/_cffi_backend.cpython-312-x86_64-linux-gnu.so", True, False),
        ("Library/bin/zlib.dll", True, True),
        ("python312.dll", True, True),
        ("Lib/site-packages/x.pyd", True, False),
        ("lib/libz.a", False, False),
        ("lib/pkgconfig/zlib.pc", False, False),
    ],
)
def test_library_paths(path: str, *, library: bool, loader: bool) -> None:
    assert is_library_path(path) is library
    assert in_loader_directory(path) is loader


@pytest.mark.parametrize(
    ("spec", "name"),
    [("libgcc >=13", "libgcc"), ("python_abi 3.12.* *_cp312", "python_abi"), ("zstd", "zstd"),
     ("conda-forge::openssl>=3", "openssl"), ("numpy[version='>=1.2']", "numpy")],
)  # fmt: skip
def test_dependency_name(spec: str, name: str) -> None:
    assert dependency_name(spec) == name


# ------------------------------------------------------------- Actual tests: the corpus

C_EXTENSION_PACKAGES = [
    "cffi", "zstandard", "brotli-python", "libmambapy", "pycosat", "frozendict", "ruamel.yaml.clib",
]  # fmt: skip


@dataclass(frozen=True)
class CorpusPackage:
    depends: tuple[str, ...]
    binaries: dict[str, BinaryFacts]
    placeholders: tuple[str, ...]


def _read_corpus_package(path: Path) -> CorpusPackage:
    """Analyse every binary of a package at its installed path, symlinks as their targets."""
    binaries: dict[str, BinaryFacts] = {}
    links: dict[str, str] = {}
    depends: tuple[str, ...] = ()
    placeholders: set[str] = set()
    for member, body in open_package(path).members():
        if member.path == "info/index.json" and body is not None:
            depends = tuple(dependency_name(d) for d in json.loads(body.read())["depends"])
        elif member.path == "info/paths.json" and body is not None:
            entries = json.loads(body.read())["paths"]
            placeholders |= {e["prefix_placeholder"] for e in entries if "prefix_placeholder" in e}
        elif member.kind == "symlink" and member.link_target:
            links[member.path] = member.link_target
        elif body is not None and not member.path.startswith("info/"):
            data = body.read()
            if looks_like_binary(data[:8]) and (facts := analyze_binary(io.BytesIO(data))):
                binaries[member.path] = facts
    for link, target in links.items():
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
        if resolved in binaries:
            binaries[link] = binaries[resolved]
    return CorpusPackage(depends, binaries, tuple(sorted(placeholders)))


def _corpus_file(corpus: Path, pattern: str) -> Path:
    (found,) = sorted(corpus.glob(pattern))
    return found


@pytest.fixture(scope="module")
def channel_providers(corpus: Path) -> SonameProviders:
    from condawheel.binaries.providers import load_providers  # noqa: PLC0415 - corpus tests only

    return load_providers([corpus / "channel"])


@pytest.mark.corpus
@pytest.mark.parametrize("name", C_EXTENSION_PACKAGES)
def test_corpus_extension_packages_resolve(
    corpus: Path, channel_providers: SonameProviders, name: str
) -> None:
    package = _read_corpus_package(_corpus_file(corpus, f"channel/linux-64/{name}-[0-9]*"))
    # linux-64, not noarch: the conda path is the installed path.
    report = resolve_libraries(
        package.binaries, declared=package.depends, providers=channel_providers
    )
    assert report.unresolved == ()
    assert report.under_declared == ()
    assert all(b.facts.error is None for b in report.binaries)
    assert set(report.linked_dependencies) <= set(package.depends)
    for binary in report.binaries:
        assert binary.facts.needed
        assert len(binary.libraries) == len(binary.facts.needed)


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "library", "dependency"),
    [
        ("cffi", "libffi.so.8", "libffi"),
        ("zstandard", "libzstd.so.1", "zstd"),
        ("libmambapy", "libmamba.so.2", "libmamba"),
        ("libmambapy", "libfmt.so.11", "fmt"),
        ("libmambapy", "libstdc++.so.6", "libstdcxx"),
        ("libmambapy", "libgcc_s.so.1", "libgcc"),
    ],
)
def test_corpus_providers_are_the_declared_packages(
    corpus: Path, channel_providers: SonameProviders, name: str, library: str, dependency: str
) -> None:
    package = _read_corpus_package(_corpus_file(corpus, f"channel/linux-64/{name}-[0-9]*"))
    report = resolve_libraries(
        package.binaries, declared=package.depends, providers=channel_providers
    )
    (found,) = {
        (lib.kind, lib.dependency, lib.location)
        for b in report.binaries
        for lib in b.libraries
        if lib.name == library
    }
    assert found == ("dependency", dependency, f"lib/{library}")


@pytest.mark.corpus
def test_corpus_overlinking_is_found(corpus: Path, channel_providers: SonameProviders) -> None:
    # libmamba 1.5.12 links libbz2 (from bzip2, which libarchive depends on) without
    # declaring bzip2: conda-build's overlinking check would report the same.
    package = _read_corpus_package(_corpus_file(corpus, "channel/linux-64/libmamba-1.5.12-*"))
    report = resolve_libraries(
        package.binaries, declared=package.depends, providers=channel_providers
    )
    assert report.under_declared == ("libbz2.so.1.0",)
    library = next(lib for b in report.binaries for lib in b.libraries if lib.kind == "unresolved")
    assert library.undeclared_providers == ("bzip2",)
    assert "'libarchive'" in library.reason


@pytest.mark.corpus
def test_corpus_elf_facts_agree_with_section_headers(corpus: Path) -> None:
    """Reading through program headers gives what pyelftools reads through sections."""
    checked = 0
    for path in sorted((corpus / "channel" / "linux-64").iterdir()):
        for member, body in open_package(path).members():
            if body is None or member.path.startswith("info/"):
                continue
            data = body.read()
            if data[:4] != b"\x7fELF":
                continue
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
            facts = _facts(data)
            assert facts.error is None, member.path
            assert list(facts.needed) == expected["DT_NEEDED"], member.path
            assert list(facts.rpaths) == [p for p in expected["DT_RPATH"] if p], member.path
            assert list(facts.runpaths) == [p for p in expected["DT_RUNPATH"] if p], member.path
            assert facts.soname == next(iter(expected["DT_SONAME"]), None), member.path
            assert facts.archs == ("x86_64",)
            checked += 1
    assert checked > 100


@pytest.mark.corpus
def test_corpus_macos_zlib(corpus: Path) -> None:
    package = _read_corpus_package(corpus / "edge/conda+conda/zlib-1.2.11-h1de35cc_3.conda")
    facts = package.binaries["lib/libz.1.2.11.dylib"]
    assert (facts.format, facts.kind, facts.archs) == ("macho", "library", ("x86_64",))
    assert facts.soname == "@rpath/libz.1.dylib"
    assert facts.needed == ("/usr/lib/libSystem.B.dylib",)
    (placeholder,) = [p for p in package.placeholders if "_h_env_placehold" in p]
    # This old package stores its soname symlinks as empty members; paths.json says that
    # lib/libz.1.dylib is a link to this file (same sha256).
    package.binaries["lib/libz.1.dylib"] = facts
    assert facts.rpaths == (f"{placeholder}/lib", "@loader_path/")
    consumer = BinaryFacts(
        "macho",
        "library",
        ("x86_64",),
        needed=("@rpath/libz.1.dylib",),
        rpaths=(f"{placeholder}/lib",),
    )
    binaries = {**package.binaries, f"{SITE}/m.so": consumer}
    report = resolve_libraries(binaries, declared=[], prefix_placeholders=package.placeholders)
    by_path = {b.path: b for b in report.binaries}
    (library,) = by_path[f"{SITE}/m.so"].libraries
    assert (library.kind, library.location) == ("wheel", "lib/libz.1.dylib")
    assert f"LC_RPATH '{placeholder}/lib'" in library.reason
    assert by_path["lib/libz.1.2.11.dylib"].libraries[0].kind == "system"


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("file", "arch"),
    [("zlib-1.2.11-h62dcd97_3.conda", "x86"), ("2fb5900c-zlib-1.2.11-h62dcd97_3.conda", "x86_64")],
    ids=["win-32", "win-64"],
)
def test_corpus_windows_zlib(corpus: Path, file: str, arch: str) -> None:
    package = _read_corpus_package(corpus / "edge/conda+conda" / file)
    facts = package.binaries["Library/bin/zlib.dll"]
    assert (facts.format, facts.kind, facts.archs, facts.soname) == (
        "pe",
        "library",
        (arch,),
        "zlib.dll",
    )
    assert facts.needed == (
        "VCRUNTIME140.dll",
        "api-ms-win-crt-stdio-l1-1-0.dll",
        "api-ms-win-crt-heap-l1-1-0.dll",
        "api-ms-win-crt-convert-l1-1-0.dll",
        "api-ms-win-crt-runtime-l1-1-0.dll",
        "KERNEL32.dll",
    )
    report = resolve_libraries(package.binaries, declared=package.depends)
    libraries = {lib.name: lib for lib in report.binaries[0].libraries}
    # The Visual C++ runtime every Windows Python loads counts as the system's.
    assert (
        libraries["VCRUNTIME140.dll"].reason == "the Visual C++ runtime every Windows Python loads"
    )
    assert {lib.kind for lib in libraries.values()} == {"system"}


@pytest.mark.corpus
def test_corpus_macos_extension_universal(corpus: Path) -> None:
    slices = []
    for name in ("osx-64-baseballmetrics-0.1.0-0.conda", "osx-arm64-baseballmetrics-0.1.0-0.conda"):
        package = _read_corpus_package(corpus / "edge/jameslamb+pydistcheck" / name)
        (path,) = package.binaries
        assert path.endswith("site-packages/lib/lib_baseballmetrics.dylib")
        for member, body in open_package(corpus / "edge/jameslamb+pydistcheck" / name).members():
            if member.path == path and body is not None:
                slices.append(body.read())
    facts = _facts(fat(*slices))
    assert facts.archs == ("x86_64", "arm64")
    assert facts.needed == ("/usr/lib/libSystem.B.dylib",)
    assert facts.rpaths == ("@loader_path/lib", "@loader_path/../../../")
    assert facts.soname == "@rpath/lib_baseballmetrics.dylib"
    report = resolve_libraries({f"{SITE}/lib/lib_baseballmetrics.dylib": facts}, declared=[])
    assert [lib.kind for lib in report.binaries[0].libraries] == ["system"]
