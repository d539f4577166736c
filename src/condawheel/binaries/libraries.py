"""Where a conda prefix keeps its shared libraries, and which conda package ships which (pure).

The layout rules (which file names are libraries, which directories the loader searches by
name) and :class:`SonameProviders`, the index that resolution asks which package ships a
library. :mod:`condawheel.binaries.providers` fills the index from conda-meta records or
packages' ``info/``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "UNIX_EXECUTABLE_DIRECTORY",
    "UNIX_LIBRARY_DIRECTORY",
    "WINDOWS_DLL_DIRECTORIES",
    "PackageLibraries",
    "SonameProviders",
    "dependency_name",
    "in_loader_directory",
    "is_library_path",
    "is_pe_library_name",
]

_ELF_LIBRARY = re.compile(r"\.so(\.[0-9A-Za-z_]+)*$")
_PE_LIBRARY = re.compile(r"\.(dll|pyd)$", re.IGNORECASE)
# The directories conda activation puts on PATH, where DLLs of conda packages live
# (conda's activate: prefix, Library/mingw-w64/bin, Library/usr/bin, Library/bin,
# Scripts, bin); CPython's conda builds search them for extension modules' DLLs.
WINDOWS_DLL_DIRECTORIES = (
    "",
    "Library/mingw-w64/bin",
    "Library/usr/bin",
    "Library/bin",
    "Scripts",
    "bin",
)
_WINDOWS_DLL_DIRECTORIES_FOLDED = frozenset(d.casefold() for d in WINDOWS_DLL_DIRECTORIES)
# The unix prefix directory the python executable's RPATH points at, and where it lives.
UNIX_LIBRARY_DIRECTORY = "lib"
UNIX_EXECUTABLE_DIRECTORY = "bin"


def is_pe_library_name(name: str) -> bool:
    """Return whether ``name`` is a DLL or an extension module of Windows, by its suffix."""
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
    return directory == UNIX_LIBRARY_DIRECTORY and is_library_path(name)


def dependency_name(spec: str) -> str:
    """Return the package name of a conda dependency string (``"libgcc >=13"`` -> ``libgcc``)."""
    name = re.split(r"[\s\[=<>!~,]", spec.strip(), maxsplit=1)[0]
    return name.rsplit("::", 1)[-1]


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

    Build it with :func:`condawheel.binaries.providers.load_providers` or
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
                if is_pe_library_name(key):
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
        key = name.casefold() if is_pe_library_name(name) else name
        return self._by_name.get(key, frozenset())

    def loader_libraries(self, package: str) -> tuple[str, ...]:
        """Return the libraries ``package`` ships in loader directories, sorted."""
        return tuple(sorted(p for p in self.packages.get(package, ()) if in_loader_directory(p)))
