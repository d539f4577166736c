"""Resolve a package's symbolic links to where they lead inside the prefix (pure).

A link is followed, link after link, until it names something that is not a link of
the package; one that leaves the prefix or never ends is refused before anything is
installed.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "MAX_LINK_HOPS",
    "LinkKind",
    "LinkOutside",
    "PackageTree",
    "ResolvedLink",
    "resolve_symlink",
]

LinkKind: TypeAlias = Literal["file", "directory", "external"]

# Linux follows at most 40 links while resolving one path (MAXSYMLINKS), then fails
# with ELOOP: a longer chain is as unusable as a loop.
MAX_LINK_HOPS = 40
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class PackageTree:
    """The paths of a package as a file system holds them once it is installed.

    :param files: regular files and hard links.
    :param directories: directories, listed or implied by the paths below them; ``""``
        is the package root (the prefix).
    :param symlinks: each symbolic link and its target, as stored.
    """

    files: frozenset[str]
    directories: frozenset[str]
    symlinks: Mapping[str, str]

    @classmethod
    def of(cls, members: Iterable[tuple[str, str, str | None]]) -> PackageTree:
        """Build the tree from ``(path, kind, link target)`` of every member."""
        files: set[str] = set()
        directories: set[str] = {""}
        symlinks: dict[str, str] = {}
        for path, kind, target in members:
            parts = path.split("/")
            directories.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
            if kind == "symlink":
                symlinks[path] = target or ""
            elif kind == "directory":
                directories.add(path)
            else:
                files.add(path)
        return cls(frozenset(files), frozenset(directories), symlinks)

    def kind_of(self, path: str) -> LinkKind:
        """Return what ``path`` (resolved, no link in it) is in this package."""
        if path in self.files:
            return "file"
        return "directory" if path in self.directories else "external"


@dataclass(frozen=True)
class ResolvedLink:
    """Where a symbolic link of the package leads, inside the prefix.

    :param path: the resolved package path (``""``: the prefix itself).
    :param kind: ``file`` (a file of this package), ``directory`` (one of its
        directories) or ``external`` (something this package does not hold).
    """

    path: str
    kind: LinkKind


@dataclass(frozen=True)
class LinkOutside:
    """A link that leads outside the prefix.

    :param through: the other link of the package whose target takes the path out, or
        ``None`` when the link's own target does.
    """

    through: str | None = None


def resolve_symlink(
    tree: PackageTree, link: str
) -> ResolvedLink | LinkOutside | Literal["loop", "empty"]:
    """Follow the symbolic link ``link`` of ``tree`` to where it leads.

    :returns: where it leads; :class:`LinkOutside` if it leaves the prefix;
        ``"loop"`` if resolving it follows more than :data:`MAX_LINK_HOPS` links;
        ``"empty"`` for an empty target.
    """
    current, hops = link, 0
    while True:
        target = tree.symlinks[current]
        if not target:
            return "empty"
        if _is_absolute(target):
            return LinkOutside()
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
        if joined == ".." or joined.startswith(("../", "/")):
            return LinkOutside()
        hops += 1
        if joined in tree.symlinks and hops < MAX_LINK_HOPS:
            current = joined
            continue
        if joined in tree.symlinks:
            return "loop"
        return ResolvedLink(joined, tree.kind_of(joined))


def _is_absolute(target: str) -> bool:
    return target.startswith("/") or _DRIVE.match(target) is not None
