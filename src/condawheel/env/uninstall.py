"""Remove installed distributions by their ``RECORD`` (never a file conda owns).

``RECORD`` lists every installed file relative to the directory holding the ``.dist-info``
(the "Recording installed projects" specification, PEP 376/627). Removing a distribution
removes those files (symbolic links as links, never what they point at), the bytecode
caches of its ``.py`` files (listed or not: installers and conda compile them without always
recording them), the empty directories left behind and the empty directories its
``conda.json`` recorded, stopping at the scheme roots and the prefix.

A distribution conda installed is refused (``conda remove`` owns it), and so is any
``RECORD`` path conda owns or that points outside the environment. Paths are judged where
they really are, every link on the way followed (:mod:`condawheel.env.paths`): a file
reached through a link that leads out of the environment is never deleted, and a file
reached through a link inside it is removed at its real place and judged by its owner
there.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

from condawheel.env.paths import LEADS_OUT, RealPaths, really_inside, survey_real_paths
from condawheel.env.prefix import CONDA_META, relative_to_prefix
from condawheel.errors import InstallError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from condawheel.env.interpreter import InterpreterFacts
    from condawheel.env.prefix import InstalledDistribution, PrefixState

__all__ = [
    "Removal",
    "RemovedDistribution",
    "decide_removal",
    "read_record_rows",
    "removal_paths",
    "remove_distribution",
    "remove_empty_directories",
    "remove_paths",
    "uninstall",
]


@dataclass(frozen=True)
class Removal:
    """What removing one distribution deletes (each path where it really is, no link on the way)."""

    distribution: InstalledDistribution
    prefix: Path
    files: tuple[Path, ...]  # files and symbolic links, each exactly once
    directories: tuple[Path, ...]  # to remove if they end up empty, deepest first


@dataclass(frozen=True)
class RemovedDistribution:
    """One distribution removed."""

    name: NormalizedName
    version: str
    files: int

    def to_json(self) -> dict[str, object]:
        """Return the record ``condawheel uninstall --json`` prints."""
        return {"name": self.name, "version": self.version, "files": self.files}


def read_record_rows(record: bytes) -> tuple[str, ...]:
    """Return the paths a ``RECORD`` lists (CSV; the first column)."""
    reader = csv.reader(io.StringIO(record.decode("utf-8")))
    return tuple(row[0] for row in reader if row and row[0])


def _bytecode_of(path: Path, cache_tags: Iterable[str]) -> list[Path]:
    # PEP 3147: __pycache__/<stem>.<cache_tag>[.opt-N].pyc beside the source.
    cache = path.parent / "__pycache__"
    found = []
    for tag in cache_tags:
        stem = f"{path.stem}.{tag}"
        found += [cache / f"{stem}.pyc", *(cache / f"{stem}.opt-{level}.pyc" for level in (1, 2))]
    return found


def decide_removal(
    distribution: InstalledDistribution,
    rows: Sequence[str],
    *,
    state: PrefixState,
    roots: Iterable[Path],
    real_paths: RealPaths,
    cache_tags: Iterable[str] = (),
) -> Removal:
    """Decide the removal of a distribution from its ``RECORD`` rows (pure).

    :param roots: directories never removed (the prefix, the scheme paths).
    :param real_paths: where the rows, the ``.dist-info`` and the ``conda.json``
        directories really are (see :func:`removal_paths`).
    :param cache_tags: bytecode cache tags to clean up (``cpython-312``).
    :raises InstallError: for a distribution conda installed, or a ``RECORD`` naming a
        file conda owns or a path outside the environment (as text, or through a link).
    """
    prefix = state.prefix
    subject = distribution.metadata_dir
    if distribution.conda_owner is not None:
        raise InstallError(
            subject,
            f"{distribution.display_name} {distribution.version} was installed by the conda "
            f"package {distribution.conda_owner}; remove it with conda "
            f"(conda remove --prefix {prefix} {distribution.conda_owner.rsplit('-', 2)[0]})",
        )
    files: dict[Path, None] = {}
    problems: list[str] = []
    tags = tuple(cache_tags)
    for row in rows:
        relative = _row_path(prefix, distribution, row)
        real = None if relative is None else real_paths.destination(relative)
        if relative is None:
            problems.append(f"RECORD lists {row!r}, outside the environment")
            continue
        if real is None:
            problems.append(
                f"RECORD lists {row!r}, outside the environment through a symbolic link"
            )
            continue
        owner = state.owner(real)
        if owner is not None:
            problems.append(f"RECORD lists {real!r}, which the conda package {owner} owns")
            continue
        path = prefix / real
        files[path] = None
        if path.suffix == ".py":
            for cached in _bytecode_of(path, tags):
                files.setdefault(cached, None)
    dist_dir = real_paths.destination(distribution.metadata_dir)
    if dist_dir is None:
        problems.append(
            f"{distribution.metadata_dir} is reached through a link out of the environment"
        )
    if problems:
        raise InstallError(subject, "; ".join(problems) + "; nothing was removed")
    directories: dict[Path, None] = {prefix / str(dist_dir): None}
    sidecar = distribution.sidecar
    if sidecar is not None:
        for conda_path in sidecar.directories:
            real = real_paths.destination(conda_path)
            if real is not None:  # an empty directory elsewhere is not ours to remove
                directories[prefix / real] = None
    protected = {Path(os.path.normpath(root)) for root in (*roots, prefix)}
    for path in [*files, *directories]:
        parent = path.parent
        while parent not in protected and relative_to_prefix(prefix, parent) not in (None, "."):
            directories.setdefault(parent, None)
            parent = parent.parent
    ordered = sorted(
        (item for item in directories if item not in protected),
        key=lambda item: len(item.parts),
        reverse=True,
    )
    return Removal(distribution, prefix, tuple(files), tuple(ordered))


def _row_path(prefix: Path, distribution: InstalledDistribution, row: str) -> str | None:
    """Return a ``RECORD`` row's prefix-relative POSIX path (as text), ``None`` if outside."""
    base = (prefix / distribution.metadata_dir).parent
    path = Path(os.path.normpath(base / Path(*posixpath.normpath(row).split("/"))))
    return relative_to_prefix(prefix, path)


def removal_paths(
    prefix: Path, distribution: InstalledDistribution, rows: Sequence[str]
) -> list[str]:
    """Return the prefix-relative paths whose real paths deciding a removal needs."""
    wanted = [distribution.metadata_dir]
    wanted += [path for row in rows if (path := _row_path(prefix, distribution, row))]
    if distribution.sidecar is not None:
        wanted += list(distribution.sidecar.directories)
    return wanted


def remove_paths(
    removal: Removal,
    *,
    trash: Path | None = None,
    moved: list[tuple[Path, Path]] | None = None,
) -> list[tuple[Path, Path]]:
    """Delete a removal's files, then the directories left empty.

    With ``trash``, files are moved there instead (so that a failed install can put them
    back) and directories are kept: call :func:`remove_empty_directories` once done.

    :param moved: where to record each ``(original, trashed)`` pair as it is moved, so
        that a caller can put back what was moved before a failure.
    :return: the ``(original, trashed)`` pairs (``moved``, if given).
    :raises InstallError: for a file whose folder a link now leads out of the environment.
    """
    moved = [] if moved is None else moved
    real_prefix = os.path.realpath(removal.prefix)
    for position, path in enumerate(removal.files):
        if not os.path.lexists(path):
            continue
        if not really_inside(path.parent, real_prefix):  # a link appeared since deciding
            raise InstallError(str(path), LEADS_OUT)
        if trash is not None:
            kept = trash / f"{position}-{path.name}"
            trash.mkdir(parents=True, exist_ok=True)
            path.replace(kept)
            moved.append((path, kept))
        else:
            path.unlink()
    if trash is None:
        remove_empty_directories(removal)
    return moved


def remove_empty_directories(removal: Removal) -> None:
    """Remove the directories of a removal that are left empty, deepest first."""
    for directory in removal.directories:
        _remove_empty(directory)


def _remove_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (or already gone): left as it is
        directory.rmdir()


def remove_distribution(removal: Removal) -> RemovedDistribution:
    """Remove one distribution as decided."""
    remove_paths(removal)
    distribution = removal.distribution
    return RemovedDistribution(distribution.name, distribution.version, len(removal.files))


def _record_of(prefix: Path, distribution: InstalledDistribution) -> tuple[str, ...]:
    path = prefix / distribution.metadata_dir / "RECORD"
    try:
        return read_record_rows(path.read_bytes())
    except FileNotFoundError:
        raise InstallError(
            distribution.metadata_dir,
            "no RECORD: condawheel cannot tell which files belong to it",
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InstallError(distribution.metadata_dir, f"unreadable RECORD: {error}") from None


def scheme_roots(facts: InterpreterFacts) -> tuple[Path, ...]:
    """Return the directories an uninstall never removes: the scheme paths."""
    return tuple(Path(path) for path in facts.paths.values())


def removal_for(
    distribution: InstalledDistribution, state: PrefixState, facts: InterpreterFacts
) -> Removal:
    """Read a distribution's RECORD, see where its paths really are, and decide its removal."""
    # A conda distribution is refused by decide_removal before its RECORD matters.
    rows = () if distribution.conda_owner else _record_of(state.prefix, distribution)
    tags = [facts.cache_tag] if facts.cache_tag else []
    real_paths = survey_real_paths(state.prefix, removal_paths(state.prefix, distribution, rows))
    roots = scheme_roots(facts)
    # The scheme paths as the system resolves them too: removals are by real location.
    roots += tuple(Path(os.path.realpath(root)) for root in roots)
    return decide_removal(
        distribution, rows, state=state, roots=roots, real_paths=real_paths, cache_tags=tags
    )


def _not_a_distribution(name: str, state: PrefixState) -> str:
    """Say why ``name`` cannot be uninstalled: a conda package's name, or nothing installed."""
    wanted = canonicalize_name(name)
    for record in state.records:
        if canonicalize_name(record.name) == wanted:
            # A package without Python distribution (a C library, a tool): conda's, by name.
            return (
                f"a conda package ({CONDA_META}/{record.record_file}), not a distribution "
                f"condawheel or pip installed; remove it with conda "
                f"(conda remove --prefix {state.prefix} {record.name})"
            )
    return f"not installed in {state.prefix}"


def uninstall(
    names: Sequence[str], *, state: PrefixState, facts: InterpreterFacts, dry_run: bool = False
) -> tuple[RemovedDistribution, ...]:
    """Remove distributions by name; every one is checked before any is removed.

    :param dry_run: check and count, but remove nothing.
    :raises InstallError: for a name not installed, or a distribution conda owns.
    """
    removals = []
    for name in names:
        distribution = state.distributions.get(canonicalize_name(name))
        if distribution is None:
            raise InstallError(name, _not_a_distribution(name, state))
        removals.append(removal_for(distribution, state, facts))
    if dry_run:
        return tuple(
            RemovedDistribution(
                removal.distribution.name, removal.distribution.version, len(removal.files)
            )
            for removal in removals
        )
    return tuple(remove_distribution(removal) for removal in removals)
