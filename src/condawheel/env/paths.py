r"""Paths inside an environment: both separators, and where a path lands through links.

Two rules keep every write inside the prefix:

* **Both separators, on every platform.** A wheel member or a ``conda.json`` path is
  judged with ``/`` *and* ``\`` as separators, and a drive (``C:``) or a leading
  separator counts as absolute: ``..\..\x`` is a plain name on Linux but a traversal on
  Windows, so it is refused everywhere (PEP 427 archive names use ``/``; a ``\`` in one is
  never a path a converter wrote).
* **Links are followed one component at a time**, as the operating system follows them
  (POSIX.1-2017, 4.13 "Pathname Resolution"): in ``share/evil/x``, ``share/evil`` is
  resolved first, and a ``..`` after a link climbs from the link's *target*, not from the
  folder holding the link. Normalising the text (``normpath``) judges another path than
  the one the system writes: ``a/up -> ..`` and ``share/evil -> ../a/up/../../outside``
  look inside as text and lead outside on disk. :func:`real_path` resolves a prefix-relative
  path through a table of links (those on disk, and those an install is about to
  create) and says where it really is, or that it leaves the prefix. A path that leaves
  the prefix on the way counts as outside even if it comes back: nothing above the
  prefix is the environment's to judge.

:func:`survey_real_paths` reads the links present on disk (the analysis); :func:`real_path` and
:class:`RealPaths` are pure.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "LEADS_OUT",
    "RealPaths",
    "climbs_out",
    "destination_query",
    "is_rooted",
    "link_query",
    "path_parts",
    "real_path",
    "really_inside",
    "survey_real_paths",
]

LEADS_OUT: Final = "outside the environment: a symbolic link on the way leads out of it"
# Linux's MAXSYMLINKS: more links than this on one path is a loop (ELOOP).
MAX_LINKS: Final = 40
_DRIVE: Final = re.compile(r"\A[A-Za-z]:")


def path_parts(text: str) -> tuple[str, ...]:
    r"""Split a path on ``/`` and ``\``, dropping empty and ``.`` parts (``..`` is kept)."""
    return tuple(part for part in re.split(r"[/\\]", text) if part not in {"", "."})


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


def real_path(
    relative: str,
    read_link: Callable[[str], str | None],
    *,
    roots: Iterable[str] = (),
) -> str | None:
    """Return where a prefix-relative path really is, following every link, or ``None``.

    Each component is looked up in turn; a link's target replaces it (relative to the
    folder it is in, which is already resolved), as the system does. ``None`` when the
    path climbs above the prefix, names an absolute place outside it, or meets more than
    :data:`MAX_LINKS` links (a loop).

    :param relative: a path relative to the prefix, read with both separators (an
        absolute one counts only if it names a place inside ``roots``).
    :param read_link: the target of the link at a resolved prefix-relative path, or
        ``None`` if that path is not a link.
    :param roots: absolute spellings of the prefix, for absolute link targets that point
        back into it.
    :return: the resolved prefix-relative POSIX path (``""`` for the prefix itself).
    """
    prefixes = tuple(root.rstrip("/") for root in roots)
    if is_rooted(relative):
        inside = _inside_root(relative, prefixes)
        if inside is None:
            return None
        relative = inside
    resolved: list[str] = []
    pending = list(reversed(path_parts(relative)))
    followed = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        candidate = "/".join((*resolved, part))
        target = read_link(candidate)
        if target is None:
            resolved.append(part)
            continue
        followed += 1
        if followed > MAX_LINKS:
            return None
        if is_rooted(target):
            inside = _inside_root(target, prefixes)
            if inside is None:
                return None
            resolved = []
            target = inside
        pending.extend(reversed(path_parts(target)))
    return "/".join(resolved)


def _inside_root(target: str, prefixes: tuple[str, ...]) -> str | None:
    normal = target.replace("\\", "/")
    for prefix in prefixes:
        if normal == prefix:
            return ""
        if normal.startswith(f"{prefix}/"):
            return normal[len(prefix) + 1 :]
    return None


def really_inside(path: Path, real_root: str) -> bool:
    """Return whether ``path``, resolved by the system (every link followed), is in ``real_root``.

    The check at the moment of writing or deleting, after deciding: a link that appeared
    in between is caught here.
    """
    return Path(os.path.realpath(path)).is_relative_to(real_root)


def destination_query(relative: str) -> str:
    """Return the path whose real path decides where ``relative`` is written: its folder.

    The last component is the file itself (written, or a link created); only the
    folders on the way are followed.
    """
    return posixpath.dirname(relative)


def link_query(relative: str, target: str) -> str:
    """Return the path whose real path is where a link at ``relative`` to ``target`` leads."""
    folder = posixpath.dirname(relative)
    return f"{folder}/{target}" if folder and not is_rooted(target) else target


@dataclass(frozen=True)
class RealPaths:
    """Where the paths an install or uninstall is about really are (an analysis report).

    ``places`` maps each queried prefix-relative path (see :func:`destination_query`,
    :func:`link_query`) to its real path, ``None`` when it leads outside the prefix;
    ``existing`` holds the real paths of destinations that exist on disk.
    """

    places: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))
    existing: frozenset[str] = frozenset()

    def destination(self, relative: str) -> str | None:
        """Return where a file or link at ``relative`` is written, ``None`` if outside."""
        folder = self.places[destination_query(relative)]
        if folder is None:
            return None
        name = posixpath.basename(relative)
        return f"{folder}/{name}" if folder else name

    def target(self, relative: str, target: str) -> str | None:
        """Return where a link at ``relative`` to ``target`` leads, ``None`` if outside."""
        return self.places[link_query(relative, target)]


def survey_real_paths(
    prefix: Path,
    destinations: Iterable[str],
    links: Iterable[tuple[str, str]] = (),
    *,
    pending: Mapping[str, str] | None = None,
    gone: frozenset[str] = frozenset(),
) -> RealPaths:
    """Resolve destinations and link targets against the links on disk and those to come.

    :param destinations: prefix-relative POSIX paths to be written (or removed).
    :param links: ``(path, target)`` of links whose targets must be judged.
    :param pending: links an install is about to create (path -> target): they count
        as present, ahead of what is on disk at that path.
    :param gone: prefix-relative paths about to be removed (a distribution being
        replaced): a link there no longer counts.
    """
    roots = (str(prefix), os.path.realpath(prefix))
    table: dict[str, str] = {}
    on_disk: dict[str, str | None] = {}

    def read_disk(relative: str) -> str | None:
        path = prefix / relative
        try:
            return str(path.readlink()) if path.is_symlink() else None
        except OSError:
            return None

    def read_link(relative: str) -> str | None:
        if relative in table:
            return table[relative]
        if relative in gone:
            return None
        if relative not in on_disk:
            on_disk[relative] = read_disk(relative)
        return on_disk[relative]

    # A link to come may itself sit below another link: register the shallow ones first,
    # each at the place its folder really is.
    for path, target in sorted((pending or {}).items(), key=lambda item: item[0].count("/")):
        folder = real_path(destination_query(path), read_link, roots=roots)
        if folder is not None:
            name = posixpath.basename(path)
            table[f"{folder}/{name}" if folder else name] = target
    places: dict[str, str | None] = {}
    wanted = list(destinations)
    for relative in wanted:
        query = destination_query(relative)
        if query not in places:
            places[query] = real_path(query, read_link, roots=roots)
    for path, target in links:
        query = link_query(path, target)
        if query not in places:
            places[query] = real_path(query, read_link, roots=roots)
    report = RealPaths(MappingProxyType(places))
    existing = frozenset(
        real
        for relative in wanted
        if (real := report.destination(relative)) is not None and os.path.lexists(prefix / real)
    )
    return RealPaths(MappingProxyType(places), existing)
