"""Read the linkage facts of every binary in a folder: a built tree, an unpacked wheel (I/O).

The pure analysis reads one binary from a file object; this module finds the binaries of a
folder and hands each over open, so that only their headers and tables are read (a 500 MiB
library costs a few KiB of reads). Symbolic links that point at a binary inside the folder
count under their own name, as the loader opens a library by its soname link.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from condawheel.binaries.detect import analyze_binary, looks_like_binary
from condawheel.errors import SourceError

if TYPE_CHECKING:
    from condawheel.binaries.facts import BinaryFacts

__all__ = ["analyze_folder"]

_HEAD = 8  # enough for every magic looks_like_binary knows


def analyze_folder(root: Path) -> dict[str, BinaryFacts]:
    """Return the facts of every binary under ``root``, by ``/``-separated relative path.

    Regular files are sniffed by their first bytes and analysed when they are ELF, Mach-O
    or PE binaries. A symbolic link to such a file inside ``root`` gets the facts of its
    target under its own path; links leaving ``root``, dangling links and links to
    directories are not followed. The result is sorted by path.

    :raises SourceError: if ``root`` is not a directory, or a file of it cannot be read.
    """
    if not root.is_dir():
        raise SourceError(str(root), "not a directory")
    real_root = Path(os.path.realpath(root))
    found: dict[str, BinaryFacts] = {}
    links: dict[str, Path] = {}
    for relative, path in _walk(root):
        if path.is_symlink():
            links[relative] = path
            continue
        if not path.is_file():
            continue  # a FIFO, socket or device: opening a FIFO would block
        facts = _analyze_file(path)
        if facts is not None:
            found[relative] = facts
    for relative, link in links.items():
        target = Path(os.path.realpath(link))
        if target.is_relative_to(real_root):
            key = target.relative_to(real_root).as_posix()
            if key in found:
                found[relative] = found[key]
    return dict(sorted(found.items()))


def _walk(root: Path) -> list[tuple[str, Path]]:
    entries: list[tuple[str, Path]] = []

    def refuse(error: OSError) -> None:
        raise SourceError(str(root), f"cannot list {error.filename!r}: {error.strerror}")

    for directory, subdirectories, files in os.walk(root, onerror=refuse):
        here = Path(directory)
        subdirectories.sort()
        names = sorted(files) + [name for name in subdirectories if (here / name).is_symlink()]
        for name in names:
            path = here / name
            entries.append((path.relative_to(root).as_posix(), path))
    return entries


def _analyze_file(path: Path) -> BinaryFacts | None:
    try:
        with path.open("rb") as handle:
            if not looks_like_binary(handle.read(_HEAD)):
                return None
            return analyze_binary(handle)
    except OSError as error:
        raise SourceError(str(path), f"cannot read: {error.strerror or error}") from None
