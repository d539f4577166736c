"""Resolve a package's symbolic links as the operating system will (pure).

A link target is not judged by its text: ``up/../x`` means "the parent of wherever ``up``
points", which is not ``x`` when ``up`` is itself a link. POSIX path resolution
(POSIX.1-2017, section 4.13 "Pathname Resolution") walks a path one component at a time
and replaces each component that names a symbolic link by that link's contents, read
relative to the directory that holds it. :func:`resolve_symlink` does the same, over the
members of one package: a chain of links that climbs above the package root, or that
never ends, is found before anything is installed.

Components the package does not hold are taken as plain directories (what they are in
a conda prefix unless another package makes them links; the install side checks the
real file system).
"""

from __future__ import annotations

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
# Both separators: a link of a Windows package is read with "\" there.
_SEPARATORS = re.compile(r"[/\\]")
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

    :returns: where it leads; :class:`LinkOutside` if it leaves the prefix (an absolute
        target, or ``..`` above the root at any step); ``"loop"`` if resolving it
        follows more than :data:`MAX_LINK_HOPS` links; ``"empty"`` for an empty target.
    """
    target = tree.symlinks[link]
    if not target:
        return "empty"
    if _is_absolute(target):
        return LinkOutside()
    # Resolution starts in the link's own directory, which may itself be reached
    # through links of the package; ``pending`` is a stack, next component last.
    pending = [*reversed(_components(target)), *reversed(link.split("/")[:-1])]
    resolved: list[str] = []
    hops = 1
    through: str | None = None
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return LinkOutside(through)
            resolved.pop()
            continue
        path = "/".join([*resolved, part])
        inner = tree.symlinks.get(path)
        if inner is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            return "loop"
        if not inner:  # a link to nowhere: nothing below it resolves
            return ResolvedLink(path, "external")
        if _is_absolute(inner):
            return LinkOutside(path)
        # The inner link's target is read from the directory holding it: ``resolved``.
        pending.extend(reversed(_components(inner)))
        through = path
    final = "/".join(resolved)
    return ResolvedLink(final, tree.kind_of(final))


def _components(target: str) -> list[str]:
    return _SEPARATORS.split(target)


def _is_absolute(target: str) -> bool:
    return target.startswith(("/", "\\")) or _DRIVE.match(target) is not None
