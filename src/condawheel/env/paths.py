r"""Where a path in an environment really is, through the links on disk and those to come.

The operating system follows symbolic links one component at a time (POSIX.1-2017, 4.13
"Pathname Resolution"): in ``share/evil/x``, ``share/evil`` is resolved first, and a ``..``
after a link climbs from the link's *target*, not from the folder holding the link.
Normalising the text (``normpath``) judges another path than the one the system writes:
``a/up -> ..`` and ``share/evil -> ../a/up/../../outside`` look inside as text and lead
outside on disk. :func:`real_path` runs the system's walk
(:func:`condawheel.links.follow_links`) over a table of links (those on disk, and those an
install is about to create) and says where a prefix-relative path really is, or that it
leaves the prefix. A path that leaves the prefix on the way counts as outside even if it
comes back: nothing above the prefix is the environment's to judge. Path text is read
with both separators, as everywhere (:func:`condawheel.links.climbs_out`).

:func:`survey_real_paths` reads the links present on disk (the analysis); :func:`real_path`
and :class:`RealPaths` are pure; :func:`really_inside` is the check at the moment of
writing or deleting.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from condawheel.links import follow_links, is_rooted

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "LEADS_OUT",
    "RealPaths",
    "destination_query",
    "link_query",
    "real_path",
    "really_inside",
    "survey_real_paths",
]

LEADS_OUT: Final = "outside the environment: a symbolic link on the way leads out of it"


def real_path(
    relative: str,
    read_link: Callable[[str], str | None],
    *,
    roots: Iterable[str] = (),
) -> str | None:
    """Return where a prefix-relative path really is, following every link, or ``None``.

    The system's walk (:func:`condawheel.links.follow_links`) over the environment's
    links. ``None`` when the path climbs above the prefix, names an absolute place
    outside it, meets a link to nowhere, or meets more links than Linux follows (a loop).

    :param relative: a path relative to the prefix, read with both separators (an
        absolute one counts only if it names a place inside ``roots``).
    :param read_link: the target of the link at a resolved prefix-relative path, or
        ``None`` if that path is not a link.
    :param roots: absolute spellings of the prefix, for absolute link targets that point
        back into it.
    :return: the resolved prefix-relative POSIX path (``""`` for the prefix itself).
    """
    followed = follow_links(relative, read_link, roots=roots)
    return followed.path if followed.outcome == "inside" else None


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
