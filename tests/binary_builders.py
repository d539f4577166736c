"""Binaries for the linkage tests: a tiny prefix compiled with gcc, synthetic Mach-O and PE
images, facts and providers in short form, and corpus packages read at their installed paths.
"""

from __future__ import annotations

import io
import json
import platform
import posixpath
import shutil
import struct
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from condawheel.binaries import (
    BinaryFacts,
    PackageLibraries,
    SonameProviders,
    analyze_binary,
    dependency_name,
    looks_like_binary,
)
from condawheel.conda.sources import open_package

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

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


def gcc(*arguments: str | Path, cwd: Path) -> None:
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


_BUILT: dict[str, Built] = {}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The gcc-built prefix, compiled once per session."""
    # Imported by several test modules, each import makes its own fixture definition:
    # the instance is kept here so that it is compiled only once.
    if "prefix" not in _BUILT:
        _BUILT["prefix"] = _build(tmp_path_factory)
    return _BUILT["prefix"]


def _build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("prefix")
    src = tmp_path_factory.mktemp("src")
    (src / "dep.c").write_text("int dep(void) { return 41; }\n")
    (src / "foo.c").write_text("int dep(void);\nint foo(void) { return dep() + 1; }\n")
    (src / "main.c").write_text("int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n")
    (src / "ext.c").write_text("int foo(void);\nint ext(void) { return foo(); }\n")
    for directory in ("lib", "bin", f"{SITE}/pkg"):
        (root / directory).mkdir(parents=True)
    lib, bin_, pkg = root / "lib", root / "bin", root / SITE / "pkg"
    gcc(*SHARED, "-Wl,-soname,libdep.so.1", "-o", lib / "libdep.so.1", "dep.c", cwd=src)
    libfoo = ("foo.c", lib / "libdep.so.1", "-Wl,-rpath,$ORIGIN", RPATH)
    gcc(*SHARED, "-Wl,-soname,libfoo.so.1", "-o", lib / "libfoo.so.1", *libfoo, cwd=src)
    main = ("main.c", lib / "libfoo.so.1", f"-Wl,-rpath-link,{lib}")
    gcc("-o", bin_ / "prog-rpath", *main, "-Wl,-rpath,$ORIGIN/../lib", RPATH, cwd=src)
    gcc("-o", bin_ / "prog-runpath", *main, "-Wl,-rpath,$ORIGIN/../lib", RUNPATH, cwd=src)
    gcc("-o", bin_ / "prog-bare", *main, cwd=src)
    ext = (*SHARED, "ext.c", lib / "libfoo.so.1", f"-Wl,-rpath-link,{lib}")
    gcc(*ext, "-o", pkg / "_ext.so", "-Wl,-rpath,$ORIGIN/../../..", RPATH, cwd=src)
    gcc(*ext, "-o", pkg / "_bare.so", cwd=src)
    gcc(*ext, "-o", pkg / "_runpath.so", "-Wl,-rpath,$ORIGIN", RUNPATH, cwd=src)
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    return Built(root, files)


def facts_of(data: bytes) -> BinaryFacts:
    facts = analyze_binary(io.BytesIO(data))
    assert facts is not None
    return facts


def analyzed(files: Mapping[str, bytes]) -> dict[str, BinaryFacts]:
    return {path: facts_of(data) for path, data in files.items()}


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
    magic: int = 0x20B,
) -> bytes:
    """A PE32+ image whose one section holds import, delay-import and export tables.

    :param magic: 0x10B makes it a PE32 image (32-bit image base, at 0x10000000).
    """
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
    plus = magic == 0x20B
    optional = bytearray(112 if plus else 96)
    struct.pack_into("<H", optional, 0, magic)
    if plus:
        struct.pack_into("<Q", optional, 24, 0x180000000)
    else:
        struct.pack_into("<I", optional, 28, 0x10000000)
    struct.pack_into("<II", optional, 32, 0x1000, 0x200)
    struct.pack_into("<I", optional, 60, 0x200)
    struct.pack_into("<I", optional, 108 if plus else 92, 16)
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


# -------------------------------------------------------------- Helpers: corpus packages


@dataclass(frozen=True)
class CorpusPackage:
    depends: tuple[str, ...]
    binaries: dict[str, BinaryFacts]
    placeholders: tuple[str, ...]


def read_corpus_package(path: Path) -> CorpusPackage:
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


def corpus_elf_files(corpus: Path) -> Iterator[tuple[str, bytes]]:
    """Yield ``(member path, bytes)`` of every ELF file in the corpus's linux-64 packages."""
    for path in sorted((corpus / "channel" / "linux-64").iterdir()):
        for member, body in open_package(path).members():
            if body is None or member.path.startswith("info/"):
                continue
            data = body.read()
            if data[:4] == b"\x7fELF":
                yield member.path, data


def corpus_file(corpus: Path, pattern: str) -> Path:
    (found,) = sorted(corpus.glob(pattern))
    return found


# ------------------------------------------------------- Helpers: synthetic ELF images


def elf_image(
    *,
    elfclass: int = 64,
    little_endian: bool = True,
    machine: int = 62,
    elf_type: int = 3,
    needed: Sequence[str] = ("libc.so.6",),
    soname: str | None = "libx.so.1",
    rpath: str | None = None,
    runpath: str | None = "$ORIGIN",
    interpreter: bool = False,
) -> bytes:
    """An ELF image of either class and byte order, as a linker lays one out (gABI).

    The file header, the program headers (a PT_LOAD mapping the whole file at address
    0x1000, PT_DYNAMIC, and PT_INTERP if asked), the dynamic section, the string table.
    """
    order = "<" if little_endian else ">"
    wide = elfclass == 64
    header_size, phdr_size, dyn_size = (64, 56, 16) if wide else (52, 32, 8)
    base = 0x1000
    strings = bytearray(b"\0")

    def string(text: str) -> int:
        strings.extend(text.encode() + b"\0")
        return len(strings) - len(text) - 1

    entries = [(1, string(name)) for name in needed]
    for tag, text in ((14, soname), (15, rpath), (29, runpath)):
        if text is not None:
            entries.append((tag, string(text)))
    interp_text = b"/lib/ld-linux.so.2\0"
    segments = 3 if interpreter else 2
    dynamic_at = header_size + segments * phdr_size
    strings_at = dynamic_at + dyn_size * (len(entries) + 3)
    interp_at = strings_at + len(strings)
    size = interp_at + len(interp_text)
    entries += [(5, base + strings_at), (10, len(strings)), (0, 0)]
    dynamic = b"".join(struct.pack(order + ("qQ" if wide else "iI"), *e) for e in entries)
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if little_endian else 2, 1]) + bytes(9)
    layout = "HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"
    fields = (elf_type, machine, 1, 0, header_size, 0, 0, header_size, phdr_size, segments)
    header = ident + struct.pack(order + layout, *fields, 64 if wide else 40, 0, 0)

    def program(kind: int, offset: int, length: int, memory: int) -> bytes:
        address = base + offset
        if wide:
            values = (kind, 5, offset, address, address, length, memory, 8)
            return struct.pack(order + "IIQQQQQQ", *values)
        values = (kind, offset, address, address, length, memory, 5, 8)
        return struct.pack(order + "IIIIIIII", *values)

    # The loaded segment is larger in memory than in the file (.bss): the readers
    # must take p_filesz, not p_memsz.
    table = program(1, 0, size, size + 0x10000)
    table += program(2, dynamic_at, len(dynamic), len(dynamic) + 0x10000)
    if interpreter:
        table += program(3, interp_at, len(interp_text), len(interp_text))
    return header + table + dynamic + bytes(strings) + interp_text
