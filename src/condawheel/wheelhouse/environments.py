"""List what a conda environment holds: ``conda-meta/*.json`` records -> artifacts.

Each record (conda's ``PrefixRecord``; rattler writes the same keys) names the installed
package (``name``, ``version``, ``build``, ``subdir``, ``fn``, ``sha256``, ``md5``, ``url``),
its ``depends`` and ``constrains`` as conda solved with them (a channel's repodata patches
included; they become the wheel's dependencies) and, depending on the installer, where its
bytes came from:

* conda: ``package_tarball_full_path`` (the archive in a ``pkgs`` folder) and
  ``extracted_package_dir`` (its extracted copy beside it);
* rattler / pixi / mamba 2: ``extracted_package_dir`` only (rattler keeps no archive for
  ``file://`` channels, and its cache folders hold no ``info/repodata_record.json``);
* older conda: neither, only ``link.source`` (the extracted folder).

So an installed package may be found as an archive (the exact artifact: preferred, and
checked against the record's sha256 before use) or as an extracted folder (converted
with the record's digests as hints). The candidates are, in order: the recorded archive,
``<pkgs>/<fn>`` for every ``pkgs`` folder (those beside the recorded paths, the user's
``--pkgs-dir``, ``$CONDA_PKGS_DIRS``, the base environment's ``pkgs``, ``~/.conda/pkgs``,
rattler's cache), then the recorded and ``<pkgs>/<name>-<version>-<build>`` folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from condawheel.conda.condameta import record_dependencies
from condawheel.errors import InvalidRecord, SourceError
from condawheel.io.conda_meta import (
    CONDA_META,
    PrefixRecord,
    prefix_record_files,
    read_prefix_record,
)
from condawheel.wheelhouse.artifacts import Artifact, ListingProblem

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "ENVIRONMENT_SCOPE",
    "EnvironmentListing",
    "default_pkgs_dirs",
    "is_environment",
    "list_environment",
]

ENVIRONMENT_SCOPE: Final = ""
"""An environment is listed as one unit: its only scope (for ``--prune``)."""


@dataclass(frozen=True)
class EnvironmentListing:
    """What an environment holds (same shape as a channel listing)."""

    source: str
    artifacts: tuple[Artifact, ...]
    problems: tuple[ListingProblem, ...]
    complete_scopes: tuple[str, ...]


def is_environment(path: Path) -> bool:
    """Return whether ``path`` is a conda environment prefix (it has ``conda-meta/``)."""
    return (path / CONDA_META).is_dir()


def default_pkgs_dirs(prefix: Path, environ: Mapping[str, str]) -> tuple[Path, ...]:
    """Return the package caches conda, mamba and rattler use for ``prefix``, in order."""
    dirs: list[Path] = []
    configured = environ.get("CONDA_PKGS_DIRS")
    if configured:
        dirs.extend(Path(item).expanduser() for item in configured.split(",") if item.strip())
    dirs.append(prefix / "pkgs")  # the base environment's own cache
    if prefix.parent.name == "envs":
        dirs.append(prefix.parent.parent / "pkgs")  # <base>/envs/<name> -> <base>/pkgs
    home = Path(environ.get("HOME") or Path.home())
    dirs.append(home / ".conda" / "pkgs")
    rattler = environ.get("RATTLER_CACHE_DIR")
    dirs.append(
        Path(rattler) / "pkgs" if rattler else home / ".cache" / "rattler" / "cache" / "pkgs"
    )
    return tuple(dirs)


def _text(record: Mapping[str, object], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) and value else None


def _unique(paths: Iterable[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(paths))


def _locations(
    record: Mapping[str, object], filenames: Sequence[str], stem: str, pkgs_dirs: Sequence[Path]
) -> tuple[str, ...]:
    tarball = _text(record, "package_tarball_full_path")
    extracted = _text(record, "extracted_package_dir")
    link = record.get("link")
    link_source = _text(link, "source") if isinstance(link, dict) else None
    recorded_dirs = [Path(path) for path in (extracted, link_source) if path]
    near = [path.parent for path in recorded_dirs]
    if tarball:
        near.insert(0, Path(tarball).parent)
    search = _unique([*near, *pkgs_dirs])
    recorded = [Path(tarball)] if tarball else []
    archives = _unique([*recorded, *(d / name for d in search for name in filenames)])
    folders = _unique([*recorded_dirs, *(d / stem for d in search)])
    found = [path for path in archives if path.is_file()]
    found += [path for path in folders if (path / "info" / "index.json").is_file()]
    return tuple(str(path) for path in found)


def list_environment(prefix: Path, pkgs_dirs: Sequence[Path] = ()) -> EnvironmentListing:
    """List the packages installed in the environment at ``prefix``.

    :param pkgs_dirs: package caches to search before the default ones.
    :raises SourceError: if ``prefix/conda-meta`` cannot be listed.
    """
    prefix = prefix.resolve()
    source = str(prefix)
    try:
        paths = prefix_record_files(prefix)
    except OSError as error:
        raise SourceError(
            str(prefix / CONDA_META), f"cannot list: {error.strerror or error}"
        ) from None
    search = _unique([*pkgs_dirs, *default_pkgs_dirs(prefix, os.environ)])
    artifacts: list[Artifact] = []
    problems: list[ListingProblem] = []
    for path in paths:
        try:
            artifact = _artifact(source, read_prefix_record(path), search)
        except InvalidRecord as error:
            artifact = error.reason
        if isinstance(artifact, str):
            problems.append(ListingProblem(source, str(path), path.name, "", artifact))
        else:
            artifacts.append(artifact)
    return EnvironmentListing(source, tuple(artifacts), tuple(problems), (ENVIRONMENT_SCOPE,))


def _artifact(
    source: str, prefix_record: PrefixRecord, pkgs_dirs: Sequence[Path]
) -> Artifact | str:
    record = prefix_record.document
    name, version, build = prefix_record.name, prefix_record.version, prefix_record.build
    stem = prefix_record.dist_name
    url = _text(record, "url")
    # Without "fn" the URL's last segment is the file name (conda's own fallback); with
    # neither, the archive may be in either format.
    known = _text(record, "fn") or (url.rsplit("/", 1)[-1] if url else None)
    filenames = [known] if known else [f"{stem}.conda", f"{stem}.tar.bz2"]
    subdir = prefix_record.subdir
    if subdir is None:
        return "conda-meta record names no subdir"
    # conda-meta holds the record conda solved with (repodata patches included).
    dependencies = record_dependencies(record, "conda-meta")
    if isinstance(dependencies, str):
        return dependencies
    number = record.get("build_number")
    size = record.get("size")
    sha256, md5 = _text(record, "sha256"), _text(record, "md5")
    return Artifact(
        source=source,
        kind="installed",
        location=str(prefix_record.path),
        filename=filenames[0],
        subdir=subdir,
        name=name,
        version=version,
        build=build,
        build_number=number if isinstance(number, int) else None,
        channel=_text(record, "channel"),
        url=url,
        sha256=sha256.lower() if sha256 else None,
        md5=md5.lower() if md5 else None,
        size=size if isinstance(size, int) else None,
        alternatives=_locations(record, filenames, stem, pkgs_dirs),
        dependencies=dependencies,
    )
