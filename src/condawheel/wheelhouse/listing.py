"""The SOURCE arguments of a sync: tell what each one is, and list what it offers."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from condawheel.conda.subdirs import KNOWN_SUBDIRS
from condawheel.errors import SourceError
from condawheel.io.http import file_url_to_path
from condawheel.wheelhouse.artifacts import (
    Artifact,
    ListingProblem,
    artifact_format,
    parse_artifact_filename,
)
from condawheel.wheelhouse.channels import (
    ChannelListing,
    list_folder_channel,
    list_http_channel,
)
from condawheel.wheelhouse.environments import (
    EnvironmentListing,
    is_environment,
    list_environment,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from condawheel.io.http import RetryPolicy
    from condawheel.wheelhouse.artifacts import NameFilter
    from condawheel.wheelhouse.channels import BlockSink

__all__ = ["SourceKind", "SyncSource", "classify_source", "list_source"]

SourceKind: TypeAlias = Literal["channel", "http-channel", "environment", "packages"]


@dataclass(frozen=True)
class SyncSource:
    """A SOURCE argument, classified."""

    kind: SourceKind
    location: str
    """An absolute path, or the URL without a trailing slash."""


def classify_source(text: str) -> SyncSource:
    """Tell what a SOURCE argument is.

    An ``http(s)://`` URL is an HTTP channel; a ``file:`` URL or a path is an environment
    (it has ``conda-meta/``), a channel folder (``<subdir>/`` folders), a folder of
    package files, or one ``.conda`` / ``.tar.bz2`` file.

    :raises SourceError: if it is none of those.
    """
    if text.startswith(("http://", "https://")):
        return SyncSource("http-channel", text.rstrip("/"))
    path = file_url_to_path(text) if text.startswith("file:") else Path(text)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError(text, "no such file or directory") from None
    except OSError as error:
        raise SourceError(text, f"cannot be read: {error.strerror or error}") from None
    resolved = str(path.resolve())
    if stat.S_ISDIR(info.st_mode):
        if is_environment(path):
            return SyncSource("environment", resolved)
        with os.scandir(path) as entries:
            loose = any(artifact_format(entry.name) and entry.is_file() for entry in entries)
        return SyncSource("packages" if loose else "channel", resolved)
    if artifact_format(path.name) is None:
        raise SourceError(text, "not a .conda or .tar.bz2 file, a channel, or a conda environment")
    return SyncSource("packages", resolved)


def _list_packages(
    location: str, subdirs: Sequence[str], wanted: NameFilter | None
) -> ChannelListing:
    """List one package file, or the package files of one folder."""
    path = Path(location)
    if path.is_dir():
        with os.scandir(path) as entries:
            files = sorted(
                Path(entry.path)
                for entry in entries
                if artifact_format(entry.name) and entry.is_file()
            )
    else:
        files = [path]
    artifacts: list[Artifact] = []
    problems: list[ListingProblem] = []
    for file in files:
        # A file in a "linux-64/" folder is a linux-64 package; elsewhere the subdir is
        # only known from inside the package (the converter reads it there).
        subdir = file.parent.name if file.parent.name in KNOWN_SUBDIRS else ""
        parsed = parse_artifact_filename(file.name)
        if wanted is not None and (parsed is None or not wanted(parsed.name)):
            continue  # not selected: not looked at, not reported
        if parsed is None:
            why = "not a conda package file name (<name>-<version>-<build>.conda|.tar.bz2)"
            problems.append(ListingProblem(location, str(file), file.name, subdir, why))
            continue
        if subdirs and subdir and subdir not in subdirs:
            why = f"subdir {subdir!r} is not among --subdir"
            problems.append(ListingProblem(location, str(file), file.name, subdir, why, "skipped"))
            continue
        artifacts.append(
            Artifact(
                source=location,
                kind="file",
                location=str(file),
                filename=file.name,
                subdir=subdir,
                name=parsed.name,
                version=parsed.version,
                build=parsed.build,
            )
        )
    scopes = tuple(sorted({artifact.subdir for artifact in artifacts}))
    return ChannelListing(location, tuple(artifacts), tuple(problems), scopes)


def list_source(
    source: SyncSource,
    *,
    subdirs: Sequence[str] = (),
    pkgs_dirs: Sequence[Path] = (),
    retry: RetryPolicy | None = None,
    wanted: NameFilter | None = None,
    cache_dir: Path | None = None,
    keep: bool = True,
    on_block: BlockSink | None = None,
) -> ChannelListing | EnvironmentListing:
    """List what ``source`` offers.

    :param subdirs: the subdirs to list (``--subdir``); empty: all.
    :param pkgs_dirs: package caches to search for an environment's artifacts.
    :param wanted: the package names to list (lower case; what ``--select`` can match);
        None: all. The others are not read, checked or reported.
    :param cache_dir: the download cache (shards and selections of repodata are kept there).
    :param keep: whether to write into that cache (a dry run only reads it).
    :param on_block: takes a channel's artifacts and problems a block at a time, as they
        are listed (the listing returned then holds only the rest); other sources are
        returned whole.
    :raises SourceError: if the source cannot be listed at all.
    """
    if source.kind == "http-channel":
        return list_http_channel(
            source.location,
            subdirs,
            policy=retry,
            wanted=wanted,
            cache_dir=cache_dir,
            keep=keep,
            on_block=on_block,
        )
    if source.kind == "channel":
        return list_folder_channel(
            Path(source.location),
            subdirs,
            wanted=wanted,
            cache_dir=cache_dir,
            keep=keep,
            on_block=on_block,
        )
    if source.kind == "environment":
        listing = list_environment(Path(source.location), pkgs_dirs)
        if wanted is not None:
            listing = type(listing)(
                listing.source,
                tuple(a for a in listing.artifacts if wanted(a.name)),
                listing.problems,
                listing.complete_scopes,
            )
        if not subdirs:
            return listing
        # An environment holds its platform's subdir and noarch; --subdir filters them.
        wanted_here = [a for a in listing.artifacts if a.subdir in subdirs]
        left_out = [
            ListingProblem(
                a.source, a.location, a.filename, a.subdir, "subdir not among --subdir", "skipped"
            )
            for a in listing.artifacts
            if a.subdir not in subdirs
        ]
        return type(listing)(
            listing.source,
            tuple(wanted_here),
            (*listing.problems, *left_out),
            listing.complete_scopes,
        )
    return _list_packages(source.location, subdirs, wanted)
