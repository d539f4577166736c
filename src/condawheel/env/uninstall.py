"""Remove installed distributions by their ``RECORD`` (never a file conda owns).

``RECORD`` lists every installed file relative to the directory holding the ``.dist-info``
(the "Recording installed projects" specification, PEP 376/627). Removing a distribution
removes those files (symbolic links as links, never what they point at), the bytecode
caches of its ``.py`` files (listed or not: installers and conda compile them without always
recording them), the empty directories left behind and the empty directories its
``conda.json`` recorded, stopping at the scheme roots and the prefix.

A distribution conda installed is refused (``conda remove`` owns it), and so is any
``RECORD`` path conda owns or that points outside the environment.
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

from condawheel.env.prefix import CONDA_META, relative_to_prefix
from condawheel.errors import InstallError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from condawheel.env.interpreter import InterpreterFacts
    from condawheel.env.prefix import InstalledDistribution, PrefixState

__all__ = [
    "RemovedDistribution",
    "UninstallPlan",
    "execute_uninstall",
    "plan_uninstall",
    "read_record_rows",
    "remove_empty_directories",
    "remove_paths",
    "uninstall",
]


@dataclass(frozen=True)
class UninstallPlan:
    """What removing one distribution deletes."""

    distribution: InstalledDistribution
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


def plan_uninstall(
    distribution: InstalledDistribution,
    rows: Sequence[str],
    *,
    state: PrefixState,
    roots: Iterable[Path],
    cache_tags: Iterable[str] = (),
) -> UninstallPlan:
    """Plan the removal of a distribution from its ``RECORD`` rows (pure).

    :param roots: directories never removed (the prefix, the scheme paths).
    :param cache_tags: bytecode cache tags to clean up (``cpython-312``).
    :raises InstallError: for a distribution conda installed, or a ``RECORD`` naming a
        file conda owns or a path outside the environment.
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
    base = (prefix / distribution.metadata_dir).parent
    files: dict[Path, None] = {}
    problems: list[str] = []
    tags = tuple(cache_tags)
    for row in rows:
        path = Path(os.path.normpath(base / Path(*posixpath.normpath(row).split("/"))))
        relative = relative_to_prefix(prefix, path)
        if relative is None:
            problems.append(f"RECORD lists {row!r}, outside the environment")
            continue
        owner = state.owner(relative)
        if owner is not None:
            problems.append(f"RECORD lists {relative!r}, which the conda package {owner} owns")
            continue
        files[path] = None
        if path.suffix == ".py":
            for cached in _bytecode_of(path, tags):
                files.setdefault(cached, None)
    if problems:
        raise InstallError(subject, "; ".join(problems) + "; nothing was removed")
    dist_dir = prefix / distribution.metadata_dir
    directories: dict[Path, None] = {dist_dir: None}
    sidecar = distribution.sidecar
    if sidecar is not None:
        for conda_path in sidecar.directories:
            directories[prefix / conda_path] = None
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
    return UninstallPlan(distribution, tuple(files), tuple(ordered))


def remove_paths(plan: UninstallPlan, *, trash: Path | None = None) -> list[tuple[Path, Path]]:
    """Delete a plan's files, then the directories left empty.

    With ``trash``, files are moved there instead (so that a failed install can put them
    back) and directories are kept: call :func:`remove_empty_directories` once done.

    :return: ``(original, trashed)`` pairs when a trash directory is used.
    """
    moved: list[tuple[Path, Path]] = []
    for position, path in enumerate(plan.files):
        if not os.path.lexists(path):
            continue
        if trash is not None:
            kept = trash / f"{position}-{path.name}"
            trash.mkdir(parents=True, exist_ok=True)
            path.replace(kept)
            moved.append((path, kept))
        else:
            path.unlink()
    if trash is None:
        remove_empty_directories(plan)
    return moved


def remove_empty_directories(plan: UninstallPlan) -> None:
    """Remove the plan's directories that are empty, deepest first."""
    for directory in plan.directories:
        _remove_empty(directory)


def _remove_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (or already gone): left as it is
        directory.rmdir()


def execute_uninstall(plan: UninstallPlan) -> RemovedDistribution:
    """Remove one distribution as planned."""
    remove_paths(plan)
    distribution = plan.distribution
    return RemovedDistribution(distribution.name, distribution.version, len(plan.files))


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


def plan_for(
    distribution: InstalledDistribution, state: PrefixState, facts: InterpreterFacts
) -> UninstallPlan:
    """Read a distribution's RECORD and plan its removal."""
    # A conda distribution is refused by plan_uninstall before its RECORD matters.
    rows = () if distribution.conda_owner else _record_of(state.prefix, distribution)
    tags = [facts.cache_tag] if facts.cache_tag else []
    return plan_uninstall(
        distribution, rows, state=state, roots=scheme_roots(facts), cache_tags=tags
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
    plans = []
    for name in names:
        distribution = state.distributions.get(canonicalize_name(name))
        if distribution is None:
            raise InstallError(name, _not_a_distribution(name, state))
        plans.append(plan_for(distribution, state, facts))
    if dry_run:
        return tuple(
            RemovedDistribution(plan.distribution.name, plan.distribution.version, len(plan.files))
            for plan in plans
        )
    return tuple(execute_uninstall(plan) for plan in plans)
