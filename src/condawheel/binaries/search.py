"""The loader's search for one needed library, as prefix-relative candidate paths (pure).

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
package's prefix placeholders (``paths.json``); other absolute paths are outside the prefix.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, TypeAlias

from condawheel.binaries.libraries import (
    UNIX_EXECUTABLE_DIRECTORY,
    UNIX_LIBRARY_DIRECTORY,
    WINDOWS_DLL_DIRECTORIES,
)

if TYPE_CHECKING:
    from condawheel.binaries.facts import BinaryFacts

__all__ = ["Candidate", "loader_candidates", "normalize"]

# A prefix-relative path the loader tries, and how the search reached it.
Candidate: TypeAlias = tuple[str, str]


def loader_candidates(
    path: str, facts: BinaryFacts, name: str, placeholders: tuple[str, ...]
) -> tuple[list[Candidate], list[str]]:
    """Return the prefix-relative paths the loader tries for ``name`` in order, and notes.

    :param path: the binary's installed prefix-relative path.
    :param placeholders: absolute prefixes that stand for the conda prefix (build prefixes).
    :return: the candidates, and notes on search-path entries that could not be used.
    """
    notes: list[str] = []
    here = posixpath.dirname(path)
    if facts.format == "elf":
        if "/" in name:  # a path, not a soname: ld.so opens it as it is
            inside = _inside_prefix(name, placeholders) if name.startswith("/") else None
            if inside is None:
                notes.append("a DT_NEEDED path outside the conda prefix")
                return [], notes
            return [(inside, "its DT_NEEDED path")], notes
        return _joined(_elf_directories(here, facts, placeholders, notes), name), notes
    if facts.format == "macho":
        return _macho_candidates(here, facts, name, placeholders, notes), notes
    return _joined(_pe_directories(here, facts), name), notes


def _joined(directories: list[Candidate], name: str) -> list[Candidate]:
    joined = []
    for directory, how in directories:
        candidate = normalize(posixpath.join(directory, name))
        if candidate:
            joined.append((candidate, how))
    return joined


def _elf_directories(
    here: str, facts: BinaryFacts, placeholders: tuple[str, ...], notes: list[str]
) -> list[Candidate]:
    # glibc ignores DT_RPATH (the object's and its loaders') when DT_RUNPATH is present.
    tag, entries = ("DT_RUNPATH", facts.runpaths) if facts.runpaths else ("DT_RPATH", facts.rpaths)
    directories: list[Candidate] = []
    for entry in entries:
        directory, problem = _expand_elf(entry, here, placeholders)
        if directory is None:
            notes.append(f"{tag} {entry!r} {problem}")
        else:
            directories.append((directory, f"{tag} {entry!r}"))
    if not facts.runpaths and facts.kind != "executable":
        directories.append(
            (UNIX_LIBRARY_DIRECTORY, "the DT_RPATH '$ORIGIN/../lib' of the python executable")
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
    inside = normalize(expanded)
    return (inside, "") if inside is not None else (None, "points outside the conda prefix")


def _pe_directories(here: str, facts: BinaryFacts) -> list[Candidate]:
    directories = [(here, "the DLL's own directory")]
    if facts.kind == "executable":
        directories.append((here, "the application directory"))
    directories.append(("", "the application directory (python.exe)"))
    directories.extend(
        (directory, f"the environment's PATH directory {directory}/")
        for directory in WINDOWS_DLL_DIRECTORIES
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
    here: str, facts: BinaryFacts, name: str, placeholders: tuple[str, ...], notes: list[str]
) -> list[Candidate]:
    executable_dir = here if facts.kind == "executable" else UNIX_EXECUTABLE_DIRECTORY
    if name.startswith("@rpath/"):
        directories = []
        for entry in facts.rpaths:
            directory = _expand_macho(entry, here, executable_dir, placeholders)
            if directory is None:
                notes.append(f"LC_RPATH {entry!r} is outside the conda prefix")
            else:
                directories.append((directory, f"LC_RPATH {entry!r}"))
        if facts.kind != "executable":
            directories.append(
                (
                    UNIX_LIBRARY_DIRECTORY,
                    "the LC_RPATH '@loader_path/../lib' of the python executable",
                )
            )
        return _joined(directories, name.removeprefix("@rpath/"))
    expanded = _expand_macho(name, here, executable_dir, placeholders)
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
            return normalize(posixpath.join(directory or ".", entry[len(token) :].lstrip("/")))
    if entry.startswith("/"):
        return _inside_prefix(entry, placeholders)
    return None


def _inside_prefix(absolute: str, placeholders: tuple[str, ...]) -> str | None:
    for placeholder in placeholders:
        if absolute == placeholder:
            return ""
        if absolute.startswith(placeholder + "/"):
            return normalize(absolute[len(placeholder) + 1 :])
    return None


def normalize(path: str) -> str | None:
    """Normalize a prefix-relative path (``""`` is the prefix); ``None`` if it leaves it."""
    if path.startswith("/"):
        return None
    normalized = posixpath.normpath(path) if path else "."
    if normalized == ".":
        return ""
    if normalized == ".." or normalized.startswith("../"):
        return None
    return normalized
