"""Linkage facts of ELF, Mach-O and PE binaries, and where each needed library comes from (pure).

Two layers, both free of file-system access:

* :func:`analyze_binary` reads one binary from a seekable file object and returns its
  :class:`BinaryFacts`: the libraries it needs, its run-time search paths and its own
  name. ELF is read with pyelftools, through the program headers only, as the dynamic
  loader does (``PT_DYNAMIC``, strings through ``DT_STRTAB`` mapped by ``PT_LOAD``), so
  a binary stripped of its section headers reads the same. Mach-O load commands (thin
  and universal binaries) and PE import tables are read with :mod:`struct` from the
  structures documented in ``<mach-o/loader.h>``, ``<mach-o/fat.h>`` and the Microsoft
  PE/COFF specification. Every read is bounded by the file size and by fixed limits, so
  hostile input costs bounded time and memory and yields facts carrying an ``error``.
* :func:`resolve_libraries` decides, for every library every binary of one wheel needs,
  whether the loader finds it inside the wheel, in a declared conda dependency, in the
  operating system, or nowhere, by walking the same search path as the loader.

How the search path is modelled (paths are relative to the conda prefix):

* ELF (glibc ``ld.so``): a name with a ``/`` is a path; otherwise ``DT_RPATH`` (ignored
  when ``DT_RUNPATH`` is present), then ``DT_RUNPATH``, then the system directories.
  ``$ORIGIN`` is the binary's installed directory. An object that has no ``DT_RUNPATH``
  also inherits the ``DT_RPATH`` of the executable that loads it: conda-build gives the
  python executable (``bin/python3.X``) the RPATH ``$ORIGIN/../lib``, which is why a
  conda extension module finds ``lib/`` even without an RPATH of its own.
* Mach-O (dyld): ``@rpath/`` is tried against the binary's ``LC_RPATH`` entries and then
  those of the python executable (``@loader_path/../lib``); ``@loader_path`` is the
  binary's directory and ``@executable_path`` is ``bin/``. Absolute names under
  ``/usr/lib/`` and ``/System/`` live in the operating system.
* PE (``LoadLibraryExW`` as CPython calls it for extension modules): the DLL's own
  directory, the application directory (the prefix, where ``python.exe`` lives), and the
  directories ``conda activate`` puts on ``PATH``; names are case-insensitive.

Not modelled: the RPATHs of intermediate loaders (conda-build gives every binary its own),
libraries already loaded under the same soname, ``LD_LIBRARY_PATH`` / ``DYLD_*`` / ``PATH``
of a particular machine.

Absolute search paths inside the build prefix are understood when the caller passes the
package's prefix placeholders (``paths.json``); other absolute paths are outside the wheel.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Literal, TypeAlias

from elftools.common.exceptions import ELFError
from elftools.common.utils import struct_parse
from elftools.elf.elffile import ELFFile

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping

    from condawheel.condameta import JSONObject, JSONValue

__all__ = [
    "BinaryFacts",
    "BinaryFormat",
    "BinaryKind",
    "BinaryReport",
    "LibraryReport",
    "LinkageAnalyzer",
    "PackageLibraries",
    "Resolution",
    "ResolvedLibrary",
    "SonameProviders",
    "analyze_binary",
    "dependency_name",
    "in_loader_directory",
    "is_library_path",
    "looks_like_binary",
    "resolve_libraries",
]

BinaryFormat: TypeAlias = Literal["elf", "macho", "pe"]
BinaryKind: TypeAlias = Literal["executable", "library", "object", "other"]
Resolution: TypeAlias = Literal["wheel", "system", "dependency", "unresolved"]

# Limits far above any real binary (a large C++ library has < 100 program headers, a few
# hundred dynamic entries and < 100 KiB of Mach-O load commands) that bound the work a
# hostile file can cause.
_MAX_PROGRAM_HEADERS = 1024
_MAX_DYNAMIC_ENTRIES = 8192
_MAX_STRING = 4096  # PATH_MAX: no library name or search path is longer
_MAX_LOAD_COMMANDS_BYTES = 4 << 20
_MAX_IMPORTS = 8192
_MAX_PE_SECTIONS = 96  # the Windows loader refuses images with more sections

_ELF_MAGIC = b"\x7fELF"
# mach_header magic as stored: (byte order, 64-bit) by the first four bytes.
_MACHO_MAGICS: dict[bytes, tuple[str, bool]] = {
    b"\xfe\xed\xfa\xce": (">", False),
    b"\xce\xfa\xed\xfe": ("<", False),
    b"\xfe\xed\xfa\xcf": (">", True),
    b"\xcf\xfa\xed\xfe": ("<", True),
}
_FAT_MAGIC = b"\xca\xfe\xba\xbe"
_FAT_MAGIC_64 = b"\xca\xfe\xba\xbf"
# 0xCAFEBABE also starts Java class files, whose next word (the class-file version) is
# at least 45; LLVM's identify_magic() draws the line for universal binaries at 43.
_MAX_FAT_ARCHES = 42
_AR_MAGIC = b"!<arch>\n"


class _MalformedError(Exception):
    """A structure of the binary is inconsistent; the message says which and why."""


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


@dataclass(frozen=True)
class PackageLibraries:
    """The shared libraries one conda package ships (``paths.json`` or ``conda-meta``)."""

    name: str
    # Prefix-relative paths of every file that :func:`is_library_path` accepts.
    libraries: frozenset[str]
    # Names of the package's run dependencies.
    depends: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SonameProviders:
    """Which conda packages ship which shared libraries: the ``--libs-from`` index.

    Build it with :func:`condawheel.providers.load_providers` or
    :meth:`from_packages`. A package present with no libraries is *known* to ship none.
    """

    packages: Mapping[str, frozenset[str]]
    depends: Mapping[str, frozenset[str]]
    warnings: tuple[str, ...] = ()
    _by_path: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    _by_casefolded_path: dict[str, tuple[str, frozenset[str]]] = field(
        init=False, repr=False, compare=False
    )
    _by_name: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the libraries by path, by case-folded path and by file name."""
        by_path: dict[str, set[str]] = {}
        for package, paths in self.packages.items():
            for path in paths:
                by_path.setdefault(path, set()).add(package)
        by_name: dict[str, set[str]] = {}
        folded: dict[str, tuple[str, set[str]]] = {}
        for path, names in sorted(by_path.items()):
            folded.setdefault(path.casefold(), (path, set()))[1].update(names)
            if in_loader_directory(path):
                key = posixpath.basename(path)
                if _is_pe_library_name(key):
                    key = key.casefold()
                by_name.setdefault(key, set()).update(names)
        object.__setattr__(self, "_by_path", {k: frozenset(v) for k, v in by_path.items()})
        object.__setattr__(
            self,
            "_by_casefolded_path",
            {key: (path, frozenset(names)) for key, (path, names) in folded.items()},
        )
        object.__setattr__(self, "_by_name", {k: frozenset(v) for k, v in by_name.items()})

    @classmethod
    def from_packages(
        cls, packages: Iterable[PackageLibraries], warnings: Iterable[str] = ()
    ) -> SonameProviders:
        """Merge package records (several builds of one name are united)."""
        libraries: dict[str, set[str]] = {}
        depends: dict[str, set[str]] = {}
        for record in packages:
            libraries.setdefault(record.name, set()).update(record.libraries)
            depends.setdefault(record.name, set()).update(record.depends)
        return cls(
            packages={name: frozenset(paths) for name, paths in sorted(libraries.items())},
            depends={name: frozenset(names) for name, names in sorted(depends.items())},
            warnings=tuple(warnings),
        )

    def packages_at(self, path: str, *, casefold: bool = False) -> tuple[str, frozenset[str]]:
        """Return the file at prefix-relative ``path`` as shipped, and the packages shipping it.

        :param casefold: compare paths case-insensitively (Windows).
        """
        if casefold:
            return self._by_casefolded_path.get(path.casefold(), (path, frozenset()))
        return path, self._by_path.get(path, frozenset())

    def providers_of(self, name: str) -> frozenset[str]:
        """Return the packages that ship a library called ``name`` in a loader directory."""
        key = name.casefold() if _is_pe_library_name(name) else name
        return self._by_name.get(key, frozenset())

    def loader_libraries(self, package: str) -> tuple[str, ...]:
        """Return the libraries ``package`` ships in loader directories, sorted."""
        return tuple(sorted(p for p in self.packages.get(package, ()) if in_loader_directory(p)))


# --------------------------------------------------------------------------- detection


def looks_like_binary(head: bytes) -> bool:
    """Return whether a file starting with ``head`` (its first 8 bytes or more) may be a binary.

    Cheap and permissive: :func:`analyze_binary` makes the final decision.
    """
    magic = head[:4]
    if magic in {_ELF_MAGIC, _FAT_MAGIC_64} or magic in _MACHO_MAGICS:
        return True
    if magic == _FAT_MAGIC:
        return len(head) >= 8 and 0 < int.from_bytes(head[4:8], "big") <= _MAX_FAT_ARCHES  # noqa: PLR2004
    return head[:2] == b"MZ"


class LinkageAnalyzer:
    """The :class:`condawheel.ingest.BinaryAnalyzer` of this module (stateless, thread-safe)."""

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
        reader = _Reader(data)
        head = reader.read_at(0, min(8, reader.size), "file header")
        analyze = _ANALYZERS.get(head[:4]) or (_analyze_pe if head[:2] == b"MZ" else None)
        return analyze(reader, head) if analyze is not None else None
    except OSError as error:
        return _broken(data, f"cannot read the file: {error}")
    except _MalformedError as error:  # pragma: no cover - each format catches its own
        return _broken(data, str(error))


def _broken(data: BinaryIO, error: str) -> BinaryFacts | None:
    try:
        data.seek(0)
        head = data.read(4)
    except OSError:
        return None
    binary_format: BinaryFormat
    if head == _ELF_MAGIC:
        binary_format = "elf"
    elif head in _MACHO_MAGICS or head in {_FAT_MAGIC, _FAT_MAGIC_64}:
        binary_format = "macho"
    elif head[:2] == b"MZ":
        binary_format = "pe"
    else:
        return None
    return BinaryFacts(binary_format, "other", (), error=error)


class _Reader:
    """Random access to a binary where every read is checked against the file size."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.size = stream.seek(0, io.SEEK_END)

    def read_at(self, offset: int, size: int, what: str) -> bytes:
        if offset < 0 or size < 0 or offset + size > self.size:
            raise _MalformedError(
                f"{what} (offset {offset}, {size} bytes) lies beyond the end of the file "
                f"({self.size} bytes): truncated or corrupt"
            )
        self.stream.seek(offset)
        chunks = []
        left = size
        while left:
            chunk = self.stream.read(left)
            if not chunk:
                raise _MalformedError(f"{what}: the file ended early (truncated)")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def cstring_at(self, offset: int, limit: int, what: str) -> str:
        """Read a NUL-terminated string of at most ``limit`` bytes."""
        if offset < 0 or offset >= self.size:
            raise _MalformedError(f"{what} at offset {offset} lies outside the file")
        data = self.read_at(offset, min(limit, self.size - offset), what)
        return _cstring(data, what)


def _cstring(data: bytes, what: str) -> str:
    end = data.find(b"\0")
    if end < 0:
        raise _MalformedError(f"{what} is not NUL-terminated within {len(data)} bytes")
    if end == 0:
        raise _MalformedError(f"{what} is empty")
    # Names are bytes to the loader; keep undecodable ones distinct and printable.
    return data[:end].decode("utf-8", errors="backslashreplace")


def _unique(names: Iterable[str], *, casefold: bool = False) -> tuple[str, ...]:
    seen: set[str] = set()
    kept = []
    for name in names:
        key = name.casefold() if casefold else name
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return tuple(kept)


# ------------------------------------------------------------------------------- ELF

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
_ELF_ERRORS = (_MalformedError, ELFError, struct.error, ValueError)


def _int(value: object, what: str) -> int:
    if isinstance(value, int):
        return value
    raise _MalformedError(f"{what} is not a number ({value!r})")


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


def _analyze_elf(reader: _Reader, _head: bytes) -> BinaryFacts:
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
        needed=_unique(dynamic.needed),
        rpaths=tuple(dynamic.rpaths),
        runpaths=tuple(dynamic.runpaths),
        soname=dynamic.soname,
        error="; ".join(dynamic.errors) or None,
    )


def _elf_segments(reader: _Reader, elf: ELFFile, errors: list[str]) -> list[_Segment]:
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
        raise _MalformedError(f"e_phentsize is {elf['e_phentsize']!r}, expected {entry_size}")
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


def _elf_extended_phnum(reader: _Reader, elf: ELFFile) -> int:
    offset = _int(elf["e_shoff"], "e_shoff")
    size = elf.structs.Elf_Shdr.sizeof()
    if offset == 0:
        raise _MalformedError("e_phnum is PN_XNUM but there is no section header 0")
    raw = reader.read_at(offset, size, "section header 0")
    return _int(struct_parse(elf.structs.Elf_Shdr, io.BytesIO(raw))["sh_info"], "sh_info")


def _elf_dynamic(
    reader: _Reader,
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
        raise _MalformedError("DT_NEEDED or DT_RPATH entries but no DT_STRTAB")
    start = next(
        (
            string_table - s.address + s.offset
            for s in segments
            if s.type == "PT_LOAD" and s.address <= string_table < s.address + s.file_size
        ),
        None,
    )
    if start is None:
        raise _MalformedError(f"DT_STRTAB address {string_table:#x} is in no PT_LOAD segment")
    limit = reader.size - start
    if string_table_size is not None:
        limit = min(limit, string_table_size)
    for tag, offset in entries:
        if not 0 <= offset < limit:
            out.errors.append(f"{tag} string offset {offset} lies outside the string table")
            continue
        try:
            text = reader.cstring_at(start + offset, min(_MAX_STRING, limit - offset), tag)
        except _MalformedError as problem:
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
    reader: _Reader, elf: ELFFile, table: _Segment, out: _ElfDynamic
) -> tuple[list[tuple[str, int]], int | None, int | None]:
    """Return the string-valued entries (tag, offset), DT_STRTAB and DT_STRSZ."""
    entry_size = elf.structs.Elf_Dyn.sizeof()
    count = table.file_size // entry_size
    if count > _MAX_DYNAMIC_ENTRIES:
        out.errors.append(f"{count} dynamic entries (absurd; read {_MAX_DYNAMIC_ENTRIES})")
        count = _MAX_DYNAMIC_ENTRIES
    if not 0 <= table.offset < reader.size:
        raise _MalformedError(f"PT_DYNAMIC at offset {table.offset} lies outside the file")
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


# ----------------------------------------------------------------------------- Mach-O

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


def _analyze_macho(reader: _Reader, _head: bytes) -> BinaryFacts:
    try:
        piece = _macho_slice(reader, 0, reader.size)
    except _MalformedError as problem:
        return BinaryFacts("macho", "other", (), error=f"Mach-O header: {problem}")
    return _macho_facts([piece], [])


def _macho_facts(slices: list[_Slice], errors: list[str]) -> BinaryFacts:
    first = slices[0] if slices else None
    return BinaryFacts(
        "macho",
        first.kind if first else "other",
        tuple(piece.arch for piece in slices),
        needed=_unique(name for piece in slices for name in piece.needed),
        optional=_unique(name for piece in slices for name in piece.optional),
        rpaths=_unique(path for piece in slices for path in piece.rpaths),
        soname=next((piece.soname for piece in slices if piece.soname), None),
        error="; ".join([*errors, *(e for piece in slices for e in piece.errors)]) or None,
    )


def _macho_slice(reader: _Reader, base: int, size: int) -> _Slice:
    magic = reader.read_at(base, 4, "Mach-O magic")
    order, is_64 = _MACHO_MAGICS[magic]
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
        except _MalformedError as problem:
            piece.errors.append(f"load command {index}: {problem}")
    return piece


def _macho_command(order: str, cmd: int, body: bytes, piece: _Slice) -> None:
    if cmd not in _DYLIB_LOADS and cmd not in {_LC_ID_DYLIB, _LC_RPATH}:
        return
    if len(body) < 12:  # noqa: PLR2004 - cmd, cmdsize and the lc_str offset
        raise _MalformedError(f"command {cmd:#x} is too short ({len(body)} bytes)")
    (string_offset,) = struct.unpack_from(f"{order}I", body, 8)
    if not 12 <= string_offset < len(body):  # noqa: PLR2004
        raise _MalformedError(f"string offset {string_offset} lies outside the command")
    text = _cstring(body[string_offset:], f"command {cmd:#x} string")
    if cmd == _LC_RPATH:
        piece.rpaths.append(text)
    elif cmd == _LC_ID_DYLIB:
        piece.soname = text
    else:
        piece.needed.append(text)
        if cmd == _LC_LOAD_WEAK_DYLIB:
            piece.optional.append(text)


def _analyze_fat(reader: _Reader, head: bytes) -> BinaryFacts | None:
    is_64 = head[:4] == _FAT_MAGIC_64
    count = int.from_bytes(head[4:8], "big") if len(head) >= 8 else 0  # noqa: PLR2004
    if not is_64 and not 0 < count <= _MAX_FAT_ARCHES:
        return None  # a Java class file, or not a universal binary at all
    if count > _MAX_FAT_ARCHES:
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
            if magic[:4] not in _MACHO_MAGICS:
                errors.append(f"slice {arch} is not a Mach-O image")
                continue
            if offset + size > reader.size:
                errors.append(f"slice {arch} extends beyond the end of the file (truncated)")
                size = reader.size - offset
            slices.append(_macho_slice(reader, offset, size))
        except _MalformedError as problem:
            errors.append(f"fat_arch {index}: {problem}")
    if archives and not slices and not errors:
        return None  # a universal static library: nothing the loader ever opens
    return _macho_facts(slices, errors)


# --------------------------------------------------------------------------------- PE

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
    reader: _Reader
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
                    raise _MalformedError(f"{what} (RVA {rva:#x}) lies in zero-filled memory")
                # The loader rounds PointerToRawData down to 512 when FileAlignment >= 512.
                aligned = raw_pointer & ~0x1FF if self.file_alignment >= 0x200 else raw_pointer  # noqa: PLR2004
                return aligned + rva - address
        if rva < self.size_of_headers:
            return rva
        raise _MalformedError(f"{what} (RVA {rva:#x}) is in no section")

    def string(self, rva: int, what: str) -> str:
        return self.reader.cstring_at(self.offset(rva, what), 512, what)


def _analyze_pe(reader: _Reader, _head: bytes) -> BinaryFacts | None:
    if reader.size < 0x40:  # noqa: PLR2004 - the MS-DOS header
        return None
    (pe_offset,) = struct.unpack("<I", reader.read_at(0x3C, 4, "e_lfanew"))
    if pe_offset + 4 > reader.size or reader.read_at(pe_offset, 4, "PE signature") != b"PE\0\0":
        return None  # an MS-DOS program, or not a PE image
    try:
        return _pe_facts(reader, pe_offset)
    except _MalformedError as problem:
        return BinaryFacts("pe", "other", (), error=f"PE headers: {problem}")


def _pe_facts(reader: _Reader, pe_offset: int) -> BinaryFacts:
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
        raise _MalformedError("no optional header")
    (magic,) = struct.unpack_from("<H", optional, 0)
    if magic == _PE32:
        image_base_format, image_base_at, count_at, directories_at = "<I", 28, 92, 96
    elif magic == _PE32_PLUS:
        image_base_format, image_base_at, count_at, directories_at = "<Q", 24, 108, 112
    else:
        raise _MalformedError(f"unknown optional header magic {magic:#x}")
    if len(optional) < directories_at:
        raise _MalformedError(f"optional header is {len(optional)} bytes, too short")
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
        raise _MalformedError(f"{sections} sections (the loader allows {_MAX_PE_SECTIONS})")
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
        except _MalformedError as problem:
            errors.append(f"export directory: {problem}")
    return BinaryFacts(
        "pe",
        kind,
        (arch,),
        needed=_unique([*needed, *delayed], casefold=True),
        optional=_unique(
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
    except _MalformedError as problem:
        errors.append(f"{what}: {problem}")
    return names


_ANALYZERS: dict[bytes, Callable[[_Reader, bytes], BinaryFacts | None]] = {
    _ELF_MAGIC: _analyze_elf,
    **dict.fromkeys(_MACHO_MAGICS, _analyze_macho),
    _FAT_MAGIC: _analyze_fat,
    _FAT_MAGIC_64: _analyze_fat,
}


# ------------------------------------------------------------------------- libraries

_ELF_LIBRARY = re.compile(r"\.so(\.[0-9A-Za-z_]+)*$")
_PE_LIBRARY = re.compile(r"\.(dll|pyd)$", re.IGNORECASE)
# The directories conda activation puts on PATH, where DLLs of conda packages live
# (conda's activate: prefix, Library/mingw-w64/bin, Library/usr/bin, Library/bin,
# Scripts, bin); CPython's conda builds search them for extension modules' DLLs.
_WINDOWS_DLL_DIRECTORIES = (
    "",
    "Library/mingw-w64/bin",
    "Library/usr/bin",
    "Library/bin",
    "Scripts",
    "bin",
)
_WINDOWS_DLL_DIRECTORIES_FOLDED = frozenset(d.casefold() for d in _WINDOWS_DLL_DIRECTORIES)
# The unix prefix directory the python executable's RPATH points at, and where it lives.
_UNIX_LIBRARY_DIRECTORY = "lib"
_UNIX_EXECUTABLE_DIRECTORY = "bin"


def _is_pe_library_name(name: str) -> bool:
    return _PE_LIBRARY.search(name) is not None


def is_library_path(path: str) -> bool:
    """Return whether a package file is a shared library or loadable module, by its name."""
    name = posixpath.basename(path)
    return bool(_ELF_LIBRARY.search(name) or name.endswith(".dylib") or _PE_LIBRARY.search(name))


def in_loader_directory(path: str) -> bool:
    """Return whether ``path`` is a library where the loader finds it by name in a conda prefix.

    ``lib/`` on unix (the python executable's RPATH), and the ``PATH`` directories of an
    activated environment for DLLs. Extension modules under ``site-packages`` are not.
    """
    directory, name = posixpath.split(path)
    if _PE_LIBRARY.search(name):
        return directory.casefold() in _WINDOWS_DLL_DIRECTORIES_FOLDED
    return directory == _UNIX_LIBRARY_DIRECTORY and is_library_path(name)


def dependency_name(spec: str) -> str:
    """Return the package name of a conda dependency string (``"libgcc >=13"`` -> ``libgcc``)."""
    name = re.split(r"[\s\[=<>!~,]", spec.strip(), maxsplit=1)[0]
    return name.rsplit("::", 1)[-1]


# ---------------------------------------------------------------------- system libraries

# glibc's own libraries: conda never ships them, the host provides them (``__glibc``).
_GLIBC = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "librt.so.1",
        "libpthread.so.0",
        "libutil.so.1",
        "libresolv.so.2",
        "libnsl.so.1",
        "libanl.so.1",
        "libmvec.so.1",
        "libBrokenLocale.so.1",
        "libthread_db.so.1",
        "libc_malloc_debug.so.0",
    }
)
# The program interpreters glibc installs (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1,
# ld-linux.so.2, ld-linux-armhf.so.3, ld64.so.1 (s390x), ld64.so.2 (ppc64le), ...).
_GLIBC_INTERPRETER = re.compile(r"^(ld-linux[-\w.]*|ld64)\.so\.\d+$")
# The other libraries of the manylinux policy (PEP 600; auditwheel's manylinux_2_17
# lib_whitelist, the same as PEP 599's list plus libatomic, libanl, libexpat, libz).
# libcrypt.so.1 left the list with PEP 571; conda ships libcrypt.so.2 (libxcrypt).
_MANYLINUX = frozenset(
    {
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "libatomic.so.1",
        "libX11.so.6",
        "libXext.so.6",
        "libXrender.so.1",
        "libICE.so.6",
        "libSM.so.6",
        "libGL.so.1",
        "libgobject-2.0.so.0",
        "libgthread-2.0.so.0",
        "libglib-2.0.so.0",
        "libexpat.so.1",
        "libz.so.1",
    }
)
# macOS: dyld's shared cache holds /usr/lib and the system frameworks.
_MACOS_SYSTEM_PREFIXES = ("/usr/lib/", "/System/")
# Windows: DLLs of every supported Windows (System32), the API sets, and the Universal
# CRT (part of Windows 10+; conda's ``ucrt`` package provides it where it is missing).
_WINDOWS_API_SETS = ("api-ms-win-", "ext-ms-win-")
_WINDOWS_SYSTEM = frozenset(
    {
        "advapi32.dll", "avrt.dll", "bcrypt.dll", "cfgmgr32.dll", "comctl32.dll",
        "comdlg32.dll", "crypt32.dll", "cryptbase.dll", "d2d1.dll", "d3d11.dll",
        "d3d12.dll", "d3d9.dll", "dbghelp.dll", "dnsapi.dll", "dwmapi.dll", "dwrite.dll",
        "dxgi.dll", "gdi32.dll", "gdiplus.dll", "glu32.dll", "hid.dll", "imagehlp.dll",
        "imm32.dll", "iphlpapi.dll", "kernel32.dll", "kernelbase.dll", "mpr.dll",
        "msimg32.dll", "mscoree.dll", "msvcrt.dll", "mswsock.dll", "ncrypt.dll",
        "netapi32.dll", "normaliz.dll", "ntdll.dll", "ole32.dll", "oleacc.dll",
        "oleaut32.dll", "opengl32.dll", "powrprof.dll", "propsys.dll", "psapi.dll",
        "rpcrt4.dll", "secur32.dll", "setupapi.dll", "shcore.dll", "shell32.dll",
        "shlwapi.dll", "sspicli.dll", "ucrtbase.dll", "user32.dll", "userenv.dll",
        "usp10.dll", "uxtheme.dll", "version.dll", "winhttp.dll", "wininet.dll",
        "winmm.dll", "winspool.drv", "wintrust.dll", "wldap32.dll", "ws2_32.dll",
        "wsock32.dll", "wtsapi32.dll",
    }
)  # fmt: skip


# The Visual C++ runtime CPython itself is linked against (3.5+): wherever a Windows Python
# runs, these are loaded (python.org bundles them; conda's python needs vc14_runtime), as
# manylinux takes libstdc++ for granted. msvcp140.dll and the rest of vc14_runtime are not:
# a C++ library must still declare them.
_WINDOWS_PYTHON_RUNTIME = frozenset({"vcruntime140.dll", "vcruntime140_1.dll"})


def _system_reason(binary_format: BinaryFormat, name: str) -> str | None:
    if binary_format == "elf":
        if name in _GLIBC or _GLIBC_INTERPRETER.match(name):
            return "part of glibc, which the host system provides"
        return "allowed as a system library by the manylinux policy" if name in _MANYLINUX else None
    if binary_format == "macho":
        return "a macOS system library" if name.startswith(_MACOS_SYSTEM_PREFIXES) else None
    folded = name.casefold()
    if folded in _WINDOWS_PYTHON_RUNTIME:
        return "the Visual C++ runtime every Windows Python loads"
    system = folded in _WINDOWS_SYSTEM or folded.startswith(_WINDOWS_API_SETS)
    return "a Windows system DLL" if system else None


# ------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class ResolvedLibrary:
    """Where one needed library of one binary comes from."""

    name: str
    kind: Resolution
    # How it was found, or why it was not.
    reason: str
    # wheel / dependency: the prefix-relative path the loader opens.
    location: str | None = None
    # dependency: the declared conda dependency that brings the library.
    dependency: str | None = None
    # dependency: the conda package that ships it; differs from ``dependency`` when the
    # declared dependency is a package without libraries (``libgcc-ng`` -> ``libgcc``).
    package: str | None = None
    # Conda packages that ship the library but are not declared (system / unresolved).
    undeclared_providers: tuple[str, ...] = ()
    # A Mach-O weak dylib or PE delay-loaded DLL: the binary loads without it.
    optional: bool = False

    def to_json(self) -> JSONObject:
        """Return a JSON object with a fixed key order, leaving out empty fields."""
        data: JSONObject = {"name": self.name, "kind": self.kind}
        for key, value in (
            ("location", self.location),
            ("dependency", self.dependency),
            ("package", self.package),
        ):
            if value is not None:
                data[key] = value
        if self.undeclared_providers:
            data["undeclared_providers"] = _json_list(self.undeclared_providers)
        if self.optional:
            data["optional"] = True
        data["reason"] = self.reason
        return data


@dataclass(frozen=True)
class BinaryReport:
    """One binary of the wheel, at its installed path, and its resolved libraries."""

    path: str
    facts: BinaryFacts
    libraries: tuple[ResolvedLibrary, ...]

    def to_json(self) -> JSONObject:
        """Return a JSON object with a fixed key order, leaving out empty fields."""
        facts = self.facts
        data: JSONObject = {
            "path": self.path,
            "format": facts.format,
            "kind": facts.kind,
            "archs": _json_list(facts.archs),
        }
        if facts.soname is not None:
            data["soname"] = facts.soname
        if facts.rpaths:
            data["rpaths"] = _json_list(facts.rpaths)
        if facts.runpaths:
            data["runpaths"] = _json_list(facts.runpaths)
        if facts.error is not None:
            data["error"] = facts.error
        data["libraries"] = [library.to_json() for library in self.libraries]
        return data


@dataclass(frozen=True)
class LibraryReport:
    """The external-library analysis of one wheel."""

    binaries: tuple[BinaryReport, ...]
    # Needed libraries that no declared dependency provides and that are neither in the
    # wheel nor system libraries; judged only with a providers index.
    under_declared: tuple[str, ...]
    # Declared dependencies that ship shared libraries (in loader directories) which no
    # binary of the wheel links, as conda-build's overdepending check reports them.
    over_declared: tuple[str, ...]
    # Declared dependencies that provide at least one linked library.
    linked_dependencies: tuple[str, ...]
    # Declared dependencies the providers index does not know, so not judged.
    unjudged_dependencies: tuple[str, ...]
    providers_given: bool

    @property
    def unresolved(self) -> tuple[str, ...]:
        """Return the names of all needed libraries that resolved to nothing, sorted."""
        return tuple(
            sorted(
                {
                    library.name
                    for binary in self.binaries
                    for library in binary.libraries
                    if library.kind == "unresolved"
                }
            )
        )

    def to_json(self) -> JSONObject:
        """Return the sidecar form: fixed key order, binaries sorted by path, sorted lists."""
        binaries: list[JSONValue] = [binary.to_json() for binary in self.binaries]
        return {
            "providers_given": self.providers_given,
            "binaries": binaries,
            "under_declared": _json_list(self.under_declared),
            "over_declared": _json_list(self.over_declared),
            "linked_dependencies": _json_list(self.linked_dependencies),
            "unjudged_dependencies": _json_list(self.unjudged_dependencies),
        }


def _json_list(values: Iterable[str]) -> list[JSONValue]:
    items: list[JSONValue] = []
    items.extend(values)
    return items


# Interpreters host extension modules rather than being linked by them: never over-declared.
_INTERPRETERS = frozenset({"python", "pypy", "pypy3"})
_METAPACKAGE_DEPTH = 4


@dataclass(frozen=True)
class _Context:
    wheel: Mapping[str, BinaryFacts]
    wheel_folded: Mapping[str, tuple[str, BinaryFacts]]
    providers: SonameProviders | None
    # conda package -> the declared dependency that brings it (itself, or a declared
    # package without libraries of its own that depends on it)
    effective: Mapping[str, str]
    declared: frozenset[str]
    unjudged: tuple[str, ...]
    placeholders: tuple[str, ...]


def resolve_libraries(
    binaries: Mapping[str, BinaryFacts],
    *,
    declared: Collection[str],
    providers: SonameProviders | None = None,
    prefix_placeholders: Collection[str] = (),
) -> LibraryReport:
    """Resolve every library every binary of one wheel needs, as the loader would.

    Each library resolves to the first match along the binary's search path (a file of
    this wheel, else a file that a declared dependency ships), else to the system when it
    is a system library, else to ``unresolved`` with the reason.

    :param binaries: installed prefix-relative path -> facts, for every binary of the
        wheel; symbolic links included under their own names.
    :param declared: names of the package's declared conda dependencies.
    :param providers: the ``--libs-from`` index; without it only the wheel and the system
        are searched, and neither under- nor over-declaration is judged.
    :param prefix_placeholders: the package's prefix placeholders, so that absolute
        search paths into the build prefix are understood.
    """
    declared_names = frozenset(declared)
    wheel: dict[str, BinaryFacts] = {}
    for path, facts in binaries.items():
        normalized = _normalize(path)
        if normalized:
            wheel[normalized] = facts
    context = _Context(
        wheel=wheel,
        wheel_folded={path.casefold(): (path, facts) for path, facts in sorted(wheel.items())},
        providers=providers,
        effective=_effective_providers(declared_names, providers),
        declared=declared_names,
        unjudged=tuple(
            sorted(
                name
                for name in declared_names
                if providers is not None
                and name not in providers.packages
                and not name.startswith("__")  # virtual packages ship nothing
            )
        ),
        placeholders=tuple(p.rstrip("/") for p in prefix_placeholders if p.strip("/")),
    )
    reports = tuple(
        BinaryReport(
            path, facts, tuple(_resolve(path, facts, name, context) for name in facts.needed)
        )
        for path, facts in sorted(wheel.items())
    )
    return _summarize(reports, context)


def _effective_providers(
    declared: frozenset[str], providers: SonameProviders | None
) -> dict[str, str]:
    effective = {name: name for name in sorted(declared)}
    if providers is None:
        return effective
    # A declared package that ships no library at all (libgcc-ng, libstdcxx-ng, vc, ...)
    # stands for its dependencies: follow them, a few levels deep.
    frontier = [(name, name) for name in sorted(declared) if _ships_nothing(providers, name)]
    for _ in range(_METAPACKAGE_DEPTH):
        following = []
        for package, root in frontier:
            for child in sorted(providers.depends.get(package, ())):
                if child not in effective:
                    effective[child] = root
                    if _ships_nothing(providers, child):
                        following.append((child, root))
        frontier = following
    return effective


def _ships_nothing(providers: SonameProviders, name: str) -> bool:
    return name in providers.packages and not providers.packages[name]


def _resolve(path: str, facts: BinaryFacts, name: str, context: _Context) -> ResolvedLibrary:
    optional = name in facts.optional
    candidates, notes = _candidates(path, facts, name, context)
    casefold = facts.format == "pe"  # Windows file names are case-insensitive
    undeclared: set[str] = set()
    for candidate, how in candidates:
        location, found = _in_wheel(candidate, context, casefold=casefold)
        if found is not None:
            if _compatible(facts, found):
                return ResolvedLibrary(
                    name,
                    "wheel",
                    f"in this wheel, found through {how}",
                    location=location,
                    optional=optional,
                )
            notes.append(f"skipped {location}, built for {'/'.join(found.archs) or '?'}")
            continue
        if context.providers is None:
            continue
        location, shipped = context.providers.packages_at(candidate, casefold=casefold)
        bringing = sorted(
            shipped & context.effective.keys(),
            key=lambda package: (context.effective[package] != package, package),
        )
        if bringing:
            package = bringing[0]
            dependency = context.effective[package]
            through = "" if dependency == package else f" (through declared {dependency!r})"
            return ResolvedLibrary(
                name,
                "dependency",
                f"shipped by {package!r}{through}, found through {how}",
                location=location,
                dependency=dependency,
                package=package,
                optional=optional,
            )
        undeclared |= shipped
    if context.providers is not None:
        undeclared |= context.providers.providers_of(posixpath.basename(name)) - set(
            context.effective
        )
    system = _system_reason(facts.format, name)
    if system is not None:
        if undeclared:
            system += f"; also shipped by undeclared {_quoted(undeclared)}"
        return ResolvedLibrary(
            name,
            "system",
            system,
            undeclared_providers=tuple(sorted(undeclared)),
            optional=optional,
        )
    reason = _unresolved_reason(name, candidates, undeclared, notes, context)
    if optional:
        reason = f"optional ({'delay-loaded' if casefold else 'weak'}): {reason}"
    return ResolvedLibrary(
        name,
        "unresolved",
        reason,
        undeclared_providers=tuple(sorted(undeclared)),
        optional=optional,
    )


def _in_wheel(
    candidate: str, context: _Context, *, casefold: bool
) -> tuple[str, BinaryFacts | None]:
    if casefold:
        return context.wheel_folded.get(candidate.casefold(), (candidate, None))
    return candidate, context.wheel.get(candidate)


def _unresolved_reason(
    name: str,
    candidates: list[tuple[str, str]],
    undeclared: set[str],
    notes: list[str],
    context: _Context,
) -> str:
    searched = _unique(_directory(candidate) for candidate, _ in candidates)
    details = "; ".join([*([f"searched {', '.join(searched)}"] if searched else []), *notes])
    suffix = f" ({details})" if details else ""
    providers = context.providers
    if providers is None:
        return f"not in this wheel and not a system library; no providers index given{suffix}"
    declared_elsewhere = providers.providers_of(posixpath.basename(name)) & context.effective.keys()
    if declared_elsewhere:
        return (
            f"declared {_quoted(declared_elsewhere)} ships it, but not on this binary's "
            f"search path{suffix}"
        )
    if undeclared:
        parents = sorted(
            dependency
            for dependency in context.declared
            if undeclared & providers.depends.get(dependency, frozenset())
        )
        comes_with = f"; it comes in through declared {_quoted(parents)}" if parents else ""
        return f"shipped by {_quoted(undeclared)}, which is not declared{comes_with}{suffix}"
    if context.unjudged:
        return (
            f"no known conda package ships it; declared {_quoted(context.unjudged)} "
            f"are not in the providers index{suffix}"
        )
    return f"no known conda package ships it{suffix}"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in sorted(names))


def _directory(candidate: str) -> str:
    return (posixpath.dirname(candidate) or ".") + "/"


def _compatible(binary: BinaryFacts, library: BinaryFacts) -> bool:
    # The loader skips a file of another format, class or machine, and searches on.
    if binary.format != library.format:
        return False
    return not binary.archs or not library.archs or bool(set(binary.archs) & set(library.archs))


def _candidates(
    path: str, facts: BinaryFacts, name: str, context: _Context
) -> tuple[list[tuple[str, str]], list[str]]:
    """Return the prefix-relative paths the loader tries for ``name`` in order, and notes."""
    notes: list[str] = []
    here = posixpath.dirname(path)
    if facts.format == "elf":
        if "/" in name:  # a path, not a soname: ld.so opens it as it is
            inside = _inside_prefix(name, context.placeholders) if name.startswith("/") else None
            if inside is None:
                notes.append("a DT_NEEDED path outside the conda prefix")
                return [], notes
            return [(inside, "its DT_NEEDED path")], notes
        return _joined(_elf_directories(here, facts, context, notes), name), notes
    if facts.format == "macho":
        return _macho_candidates(here, facts, name, context, notes), notes
    return _joined(_pe_directories(here, facts), name), notes


def _joined(directories: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    joined = []
    for directory, how in directories:
        candidate = _normalize(posixpath.join(directory, name))
        if candidate:
            joined.append((candidate, how))
    return joined


def _elf_directories(
    here: str, facts: BinaryFacts, context: _Context, notes: list[str]
) -> list[tuple[str, str]]:
    # glibc ignores DT_RPATH (the object's and its loaders') when DT_RUNPATH is present.
    tag, entries = ("DT_RUNPATH", facts.runpaths) if facts.runpaths else ("DT_RPATH", facts.rpaths)
    directories: list[tuple[str, str]] = []
    for entry in entries:
        directory, problem = _expand_elf(entry, here, context.placeholders)
        if directory is None:
            notes.append(f"{tag} {entry!r} {problem}")
        else:
            directories.append((directory, f"{tag} {entry!r}"))
    if not facts.runpaths and facts.kind != "executable":
        directories.append(
            (_UNIX_LIBRARY_DIRECTORY, "the DT_RPATH '$ORIGIN/../lib' of the python executable")
        )
    return directories


_ELF_TOKEN = re.compile(r"\$(\{(?P<braced>[A-Z]+)\}|(?P<bare>[A-Z]+))")


def _expand_elf(entry: str, here: str, placeholders: tuple[str, ...]) -> tuple[str | None, str]:
    """Expand one RPATH/RUNPATH entry into a prefix-relative directory, or say why not."""
    origin: list[bool] = []
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        variable = match.group("braced") or match.group("bare")
        if variable == "ORIGIN":
            origin.append(True)
            return here or "."
        unknown.append(variable)  # $LIB, $PLATFORM: their value depends on the host
        return match.group(0)

    expanded = _ELF_TOKEN.sub(substitute, entry)
    if unknown:
        return None, f"uses ${unknown[0]}, which depends on the host"
    if expanded.startswith("/"):
        inside = _inside_prefix(expanded, placeholders)
        return (inside, "") if inside is not None else (None, "is outside the conda prefix")
    if not origin:
        return None, "is relative to the current directory"
    inside = _normalize(expanded)
    return (inside, "") if inside is not None else (None, "points outside the conda prefix")


def _pe_directories(here: str, facts: BinaryFacts) -> list[tuple[str, str]]:
    directories = [(here, "the DLL's own directory")]
    if facts.kind == "executable":
        directories.append((here, "the application directory"))
    directories.append(("", "the application directory (python.exe)"))
    directories.extend(
        (directory, f"the environment's PATH directory {directory}/")
        for directory in _WINDOWS_DLL_DIRECTORIES
        if directory
    )
    seen: set[str] = set()
    unique = []
    for directory, how in directories:
        if directory.casefold() not in seen:
            seen.add(directory.casefold())
            unique.append((directory, how))
    return unique


def _macho_candidates(
    here: str, facts: BinaryFacts, name: str, context: _Context, notes: list[str]
) -> list[tuple[str, str]]:
    executable_dir = here if facts.kind == "executable" else _UNIX_EXECUTABLE_DIRECTORY
    if name.startswith("@rpath/"):
        directories = []
        for entry in facts.rpaths:
            directory = _expand_macho(entry, here, executable_dir, context.placeholders)
            if directory is None:
                notes.append(f"LC_RPATH {entry!r} is outside the conda prefix")
            else:
                directories.append((directory, f"LC_RPATH {entry!r}"))
        if facts.kind != "executable":
            directories.append(
                (
                    _UNIX_LIBRARY_DIRECTORY,
                    "the LC_RPATH '@loader_path/../lib' of the python executable",
                )
            )
        return _joined(directories, name.removeprefix("@rpath/"))
    expanded = _expand_macho(name, here, executable_dir, context.placeholders)
    if expanded is None:
        if name.startswith("/"):
            notes.append("an absolute install name outside the conda prefix")
        return []
    return [(expanded, "its install name")]


def _expand_macho(
    entry: str, here: str, executable_dir: str, placeholders: tuple[str, ...]
) -> str | None:
    for token, directory in (("@loader_path", here), ("@executable_path", executable_dir)):
        if entry == token or entry.startswith(token + "/"):
            return _normalize(posixpath.join(directory or ".", entry[len(token) :].lstrip("/")))
    if entry.startswith("/"):
        return _inside_prefix(entry, placeholders)
    return None


def _inside_prefix(absolute: str, placeholders: tuple[str, ...]) -> str | None:
    for placeholder in placeholders:
        if absolute == placeholder:
            return ""
        if absolute.startswith(placeholder + "/"):
            return _normalize(absolute[len(placeholder) + 1 :])
    return None


def _normalize(path: str) -> str | None:
    """Normalize a prefix-relative path (``""`` is the prefix); ``None`` if it leaves it."""
    if path.startswith("/"):
        return None
    normalized = posixpath.normpath(path) if path else "."
    if normalized == ".":
        return ""
    if normalized == ".." or normalized.startswith("../"):
        return None
    return normalized


def _summarize(reports: tuple[BinaryReport, ...], context: _Context) -> LibraryReport:
    providers = context.providers
    linked = sorted(
        {
            library.dependency
            for report in reports
            for library in report.libraries
            if library.kind == "dependency" and library.dependency is not None
        }
    )
    under: set[str] = set()
    over: list[str] = []
    if providers is not None:
        for report in reports:
            for library in report.libraries:
                if library.kind != "unresolved" or library.optional:
                    continue
                declared_ships = providers.providers_of(posixpath.basename(library.name)) & (
                    context.effective.keys()
                )
                # A declared dependency may ship it off the search path: not under-declared.
                # Without any shipper, only sure when every declared dependency is known.
                if not declared_ships and (library.undeclared_providers or not context.unjudged):
                    under.add(library.name)
        if any(report.facts.kind != "object" for report in reports):
            over = sorted(
                name
                for name in context.declared
                if name not in _INTERPRETERS
                and name not in linked
                and providers.loader_libraries(name)
            )
    return LibraryReport(
        binaries=reports,
        under_declared=tuple(sorted(under)),
        over_declared=tuple(over),
        linked_dependencies=tuple(linked),
        unjudged_dependencies=context.unjudged,
        providers_given=providers is not None,
    )
