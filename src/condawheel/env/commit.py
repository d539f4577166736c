"""Commit a staged tree into the environment: link or rename, never write through a file.

Staged files are hard-linked into place, which fails instead of replacing an existing
file (a rename where the file system has no hard links, after checking the name is free).
Nothing is ever written *through* an existing file: conda environments hard-link files from
the package cache, and writing in place (installer's ``overwrite_existing=True``) corrupts
the cache and every other environment made from it. No file is placed in a folder that,
with every link followed, lies outside the prefix (:func:`condawheel.env.paths.really_inside`),
whatever appeared since deciding. :class:`Commit` records what was placed, so that a failed
commit is undone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from condawheel.env.paths import LEADS_OUT, really_inside
from condawheel.errors import InstallError

__all__ = ["Commit", "commit_staged"]


@dataclass
class Commit:
    """Files placed so far, to undo a failed commit.

    ``real_prefix``: the prefix as the system resolves it; nothing is placed in a folder
    that, with every link followed, lies outside it. ``trashed``: the files of replaced
    distributions, moved aside (``original``, ``kept``), put back by :meth:`undo`.
    """

    real_prefix: str
    placed: list[Path] = field(default_factory=list)
    checked: set[Path] = field(default_factory=set)
    created: list[Path] = field(default_factory=list)
    trashed: list[tuple[Path, Path]] = field(default_factory=list)

    def undo(self) -> None:
        """Remove what was placed and created, and put the replaced files back."""
        for path in reversed(self.placed):
            with contextlib.suppress(OSError):
                path.unlink()
        for directory in reversed(self.created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        for original, kept in reversed(self.trashed):
            with contextlib.suppress(OSError):
                original.parent.mkdir(parents=True, exist_ok=True)
                kept.replace(original)


def _make_parents(path: Path, commit: Commit) -> None:
    if path.parent not in commit.checked:
        if not really_inside(path.parent, commit.real_prefix):
            raise InstallError(str(path), LEADS_OUT)
        commit.checked.add(path.parent)
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir()
        commit.created.append(directory)


def _place(staged: Path, destination: Path, commit: Commit) -> None:
    _make_parents(destination, commit)
    if staged.is_symlink():
        destination.symlink_to(staged.readlink())  # fails if the name is taken
    else:
        try:
            # A hard link refuses to replace an existing name, atomically.
            os.link(staged, destination)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system: check, then move
            if os.path.lexists(destination):
                raise FileExistsError(destination) from None
            shutil.move(staged, destination)
    commit.placed.append(destination)


def commit_staged(staging: Path, anchor: Path, commit: Commit) -> None:
    """Place every file, link and folder of a staged tree at its path below ``anchor``.

    The staged tree mirrors absolute paths (installer's ``destdir`` rule), so ``anchor``
    is the file system's root (the prefix's drive on Windows).

    :raises OSError: when a name is taken or a file system refuses; the caller undoes.
    :raises InstallError: for a folder that leads out of the prefix; the caller undoes.
    """
    for root, directories, files in os.walk(staging):
        base = Path(root)
        destination_base = anchor / base.relative_to(staging)
        for name in sorted(files):
            _place(base / name, destination_base / name, commit)
        for name in sorted(directories):
            staged = base / name
            destination = destination_base / name
            if staged.is_symlink():
                _place(staged, destination, commit)
            elif not destination.exists():
                _make_parents(destination, commit)
                destination.mkdir()
                commit.created.append(destination)
        directories[:] = [name for name in directories if not (base / name).is_symlink()]
