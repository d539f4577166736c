r"""Resolve symbolic links as the operating system will, and judge path text (pure).

A link target is not judged by its text: ``up/../x`` means "the parent of wherever ``up``
points", which is not ``x`` when ``up`` is itself a link. POSIX path resolution
(POSIX.1-2017, section 4.13 "Pathname Resolution") walks a path one component at a time
and replaces each component that names a symbolic link by that link's contents, read
relative to the directory that holds it. :func:`follow_links` is that walk, over any table
of links: :func:`resolve_symlink` runs it over the members of one package, so that a chain
of links that climbs above the package root, or that never ends, is found before anything
is installed; the install side runs it over the links of an environment
(:mod:`condawheel.env.paths`).

Components the package does not hold are taken as plain directories (what they are in
a conda prefix unless another package makes them links; the install side checks the
real file system).

Path text is read with both ``/`` and ``\`` as separators, and a drive (``C:``) or a
leading separator counts as absolute, on every platform: ``..\..\x`` is a plain name on
Linux but a traversal on Windows (:func:`climbs_out`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "MAX_LINK_HOPS",
    "Followed",
    "LinkKind",
    "LinkOutside",
    "PackageTree",
    "ResolvedLink",
    "climbs_out",
    "follow_links",
    "is_rooted",
    "path_parts",
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
            # Every directory in the set has its parents in it too, so the walk up from a
            # path stops at the first one already there (siblings share all of theirs).
            parent = path.rpartition("/")[0]
            while parent not in directories:
                directories.add(parent)
                parent = parent.rpartition("/")[0]
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
    if is_rooted(target):
        return LinkOutside()
    # Resolution starts in the link's own directory, which may itself be reached
    # through links of the package.
    folder = link.rpartition("/")[0]
    start = f"{folder}/{target}" if folder else target
    followed = follow_links(start, tree.symlinks.get, hops=1)
    if followed.outcome == "loop":
        return "loop"
    if followed.outcome == "outside" or followed.path is None:
        return LinkOutside(followed.through)
    if followed.outcome == "nowhere":
        return ResolvedLink(followed.path, "external")
    return ResolvedLink(followed.path, tree.kind_of(followed.path))


@dataclass(frozen=True)
class Followed:
    """Where walking a path through symbolic links ended.

    :param path: the resolved path (``""``: the root), when ``outcome`` is ``inside`` or
        ``nowhere``.
    :param outcome: ``inside``; ``nowhere`` (a link with an empty target was met at
        ``path``: nothing below it resolves); ``outside`` (``..`` above the root, or an
        absolute target not under one of the roots); ``loop`` (more than
        :data:`MAX_LINK_HOPS` links).
    :param through: the last link followed before the path left the root, if any.
    """

    path: str | None
    outcome: Literal["inside", "nowhere", "outside", "loop"]
    through: str | None = None


def follow_links(
    path: str,
    read_link: Callable[[str], str | None],
    *,
    roots: Iterable[str] = (),
    hops: int = 0,
) -> Followed:
    r"""Resolve a root-relative path one component at a time, as the system does.

    Each component that names a link (``read_link`` returns its target) is replaced by
    the link's target, read from the folder holding it, which is resolved already; a
    ``..`` climbs from there. Both ``/`` and ``\`` separate components.

    :param path: the path, relative to the root (an absolute one counts only if it is
        under one of ``roots``).
    :param read_link: the target of the link at a resolved root-relative path, or
        ``None`` if that path is not a link.
    :param roots: absolute spellings of the root: an absolute target under one of them
        leads back inside (an environment's own absolute links); any other is outside.
    :param hops: links already followed to get here (the link being resolved counts).
    """
    prefixes = tuple(root.replace("\\", "/").rstrip("/") for root in roots)
    if is_rooted(path):
        inside = _under_root(path, prefixes)
        if inside is None:
            return Followed(None, "outside")
        path = inside
    pending = list(reversed(path_parts(path)))
    resolved: list[str] = []
    through: str | None = None
    while pending:
        part = pending.pop()
        if part == "..":
            if not resolved:
                return Followed(None, "outside", through)
            resolved.pop()
            continue
        candidate = "/".join((*resolved, part))
        target = read_link(candidate)
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            return Followed(None, "loop", through)
        if not target:  # a link to nowhere: nothing below it resolves
            return Followed(candidate, "nowhere", through)
        if is_rooted(target):
            inside = _under_root(target, prefixes)
            if inside is None:
                return Followed(None, "outside", candidate)
            resolved = []
            target = inside
        pending.extend(reversed(path_parts(target)))
        through = candidate
    return Followed("/".join(resolved), "inside", through)


def _under_root(target: str, prefixes: tuple[str, ...]) -> str | None:
    normal = target.replace("\\", "/")
    for prefix in prefixes:
        if normal == prefix:
            return ""
        if normal.startswith(f"{prefix}/"):
            return normal[len(prefix) + 1 :]
    return None


def path_parts(text: str) -> tuple[str, ...]:
    r"""Split a path on ``/`` and ``\``, dropping empty and ``.`` parts (``..`` is kept)."""
    return tuple(part for part in _SEPARATORS.split(text) if part not in {"", "."})


def is_rooted(text: str) -> bool:
    r"""Return whether a path is absolute on some platform (``/x``, ``\x``, ``C:x``)."""
    return text.startswith(("/", "\\")) or _DRIVE.match(text) is not None


def climbs_out(text: str) -> bool:
    r"""Return whether a relative path, read with either separator, leaves its folder.

    ``..\..\x``, ``a/../../x``, ``/etc`` and ``C:\x`` do; ``a/../b`` and ``a\b`` do not.
    """
    if is_rooted(text):
        return True
    depth = 0
    for part in path_parts(text):
        depth += -1 if part == ".." else 1
        if depth < 0:
            return True
    return False
