"""Linkage facts of ELF, Mach-O and PE binaries, and where each needed library comes from.

The package reads binaries and decides where their libraries come from, in layers:

* :mod:`.facts`, :mod:`.elf`, :mod:`.macho`, :mod:`.pe` and :mod:`.detect`:
  :func:`analyze_binary` reads one binary from a seekable file object and returns its
  :class:`BinaryFacts` (the libraries it needs, its run-time search paths, its own
  name). Every read is bounded by the file size and by fixed limits, so hostile input
  costs bounded time and memory and yields facts carrying an ``error``.
* :mod:`.libraries`: where a conda prefix keeps libraries, and :class:`SonameProviders`,
  which conda package ships which library.
* :mod:`.policy`: the libraries the host system provides, per format, kept as data.
* :mod:`.search` and :mod:`.resolution`: :func:`resolve_libraries` decides, for every
  library every binary of one wheel needs, whether the loader finds it inside the wheel,
  in a declared conda dependency, in the operating system, or nowhere, by walking the
  same search path as the loader.

All of these are pure. The package's I/O is imported on its own: :mod:`.providers` reads
conda-meta records and packages' ``info/`` into the index, and :mod:`.files` finds and reads
the binaries of a folder. A build in a conda environment (a wheel's binaries against the
environment that built it) composes them::

    facts = analyze_folder(installed_tree)          # prefix-relative path -> BinaryFacts
    report = resolve_in_environment(facts, load_providers([prefix]))
    report.linked_dependencies, report.unresolved   # conda packages to declare; errors
"""

from __future__ import annotations

from condawheel.binaries.detect import LinkageAnalyzer, analyze_binary, looks_like_binary
from condawheel.binaries.facts import BinaryFacts, BinaryFormat, BinaryKind
from condawheel.binaries.libraries import (
    PackageLibraries,
    SonameProviders,
    dependency_name,
    in_loader_directory,
    is_library_path,
)
from condawheel.binaries.resolution import (
    BinaryReport,
    LibraryReport,
    Resolution,
    ResolvedLibrary,
    resolve_in_environment,
    resolve_libraries,
)

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
    "resolve_in_environment",
    "resolve_libraries",
]
