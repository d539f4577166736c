"""What a sync source offers: one model for channel files, downloads and installed packages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import translate
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable

    from condawheel.conda.condameta import RecordDependencies

__all__ = [
    "ARCHIVE_SUFFIXES",
    "Artifact",
    "ArtifactFormat",
    "ArtifactKind",
    "ListingProblem",
    "NameFilter",
    "PackageName",
    "artifact_format",
    "parse_artifact_filename",
]

ArtifactFormat: TypeAlias = Literal["conda", "tar.bz2"]
ArtifactKind: TypeAlias = Literal["file", "url", "installed"]
"""Where the bytes are: a local file, a URL to download, or a conda environment's record."""

# Longest suffix first: "x.tar.bz2" must not be read as a ".bz2" file.
ARCHIVE_SUFFIXES: Final[tuple[tuple[str, ArtifactFormat], ...]] = (
    (".tar.bz2", "tar.bz2"),
    (".conda", "conda"),
)
# conda's file names are "<name>-<version>-<build>.<ext>"; version and build hold no '-'
# (CEP 26 / conda-build), so the last two dashes split the three fields.
_STEM = re.compile(r"(?P<name>[^/\\]+)-(?P<version>[^-/\\]+)-(?P<build>[^-/\\]+)")


class PackageName(msgspec.Struct, frozen=True, gc=False):
    """The ``name-version-build`` triple a conda file name (or repodata record) carries."""

    name: str
    version: str
    build: str


@dataclass(frozen=True)
class NameFilter:
    """The package names a listing reads (those ``--select`` can match); others are skipped.

    A channel listing asks it before it decodes a record, so that a record no term can
    match is never read. Exact names are one set lookup, so thousands of names cost no
    more per record than a few; ``patterns`` are globs (``py*``), tried only on names
    that start with one of their literal prefixes.
    """

    exact: frozenset[str]
    patterns: tuple[str, ...] = ()
    _globs: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        globs = re.compile("|".join(translate(glob) for glob in self.patterns))
        prefixes = tuple(re.split(r"[*?\[]", glob, maxsplit=1)[0] for glob in self.patterns)
        object.__setattr__(self, "_globs", globs if self.patterns else None)
        object.__setattr__(self, "_prefixes", prefixes)

    def __call__(self, name: str) -> bool:
        """Return whether records of ``name`` may be selected (compared in lower case)."""
        name = name.lower()
        if name in self.exact:
            return True
        globs = self._globs
        return globs is not None and name.startswith(self._prefixes) and bool(globs.match(name))

    def keys(self, keys: Iterable[str]) -> list[str]:
        """Return the keys (file names, or CEP 48 stems) whose package name it wants.

        The name is what precedes the last two dashes (``<name>-<version>-<build>``).
        One pass in a list comprehension: for a million records, a function call per
        record would cost more than the decoding.
        """
        exact, globs, prefixes = self.exact, self._globs, self._prefixes
        if globs is None:
            return [key for key in keys if key.rsplit("-", 2)[0].lower() in exact]
        return [
            key
            for key in keys
            if (name := key.rsplit("-", 2)[0].lower()) in exact
            or (name.startswith(prefixes) and globs.match(name))
        ]


def artifact_format(filename: str) -> ArtifactFormat | None:
    """Return the archive format of a file name (``.conda`` or ``.tar.bz2``), if any."""
    for suffix, kind in ARCHIVE_SUFFIXES:
        if filename.endswith(suffix):
            return kind
    return None


def parse_artifact_filename(filename: str) -> PackageName | None:
    """Split ``cffi-1.17.1-py312h06ac9bb_0.conda`` into name, version and build.

    Return None for a name that is not ``<name>-<version>-<build>.conda|.tar.bz2``.
    """
    for suffix, _ in ARCHIVE_SUFFIXES:
        if filename.endswith(suffix):
            match = _STEM.fullmatch(filename[: -len(suffix)])
            if match is None:
                return None
            return PackageName(match["name"], match["version"], match["build"])
    return None


class Artifact(msgspec.Struct, frozen=True, gc=False):
    """One conda artifact a source offers, with everything known before opening it.

    ``sha256``, ``md5`` and ``size`` are what the source *claims* (repodata, a conda-meta
    record); a local file's real digest is computed by the sync engine and compared.

    A msgspec struct rather than a frozen dataclass: a whole channel's listing makes a
    million of them, and a struct is built in a twentieth of the time (no ``__setattr__``
    per field) and is not tracked by the cyclic garbage collector (it holds no cycle).
    """

    source: str
    """The SOURCE it was listed from, in canonical form (absolute path or URL)."""
    kind: ArtifactKind
    location: str
    """The file's path, the URL to download, or the conda-meta record of an installed one."""
    filename: str
    subdir: str
    name: str
    version: str
    build: str
    build_number: int | None = None
    channel: str | None = None
    url: str | None = None
    """The artifact's URL where known (repodata, conda-meta); recorded in the sidecar."""
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    alternatives: tuple[str, ...] = ()
    """Installed packages: the archives, then the extracted folders, that may hold it."""
    dependencies: RecordDependencies | None = None
    """The record's ``depends`` / ``constrains`` (repodata, conda-meta), which conda uses
    instead of ``index.json``'s; None where the source has no record (a folder of files)."""
    flags: tuple[str, ...] = ()
    """The record's CEP 45 variant flags."""
    purls: tuple[str, ...] = ()
    """The record's package URLs (``pkg:pypi/<name>`` names its PyPI project)."""
    revision: str | None = None
    """``v3`` when a record of CEP 48's ``v3`` section lists it (it replaces a v1 record
    of the same file: see docs/sync.md), else None."""

    @property
    def format(self) -> ArtifactFormat | None:
        """The archive format its file name says."""
        return artifact_format(self.filename)

    @property
    def stem(self) -> str:
        """``name-version-build``: the same package in either archive format."""
        return f"{self.name}-{self.version}-{self.build}"

    @property
    def display(self) -> str:
        """How messages name it: ``<subdir>/<filename>``."""
        return f"{self.subdir}/{self.filename}" if self.subdir else self.filename


@dataclass(frozen=True)
class ListingProblem:
    """Something a source offers that cannot be synced, found while listing it."""

    source: str
    location: str
    filename: str
    subdir: str
    reason: str
    status: Literal["failed", "skipped"] = "failed"
