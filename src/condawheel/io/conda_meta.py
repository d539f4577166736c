"""Read an environment's ``conda-meta/<name>-<version>-<build>.json`` records (I/O).

Each record is the package's (patched) repodata record plus what linking it did (conda's
and rattler's ``PrefixRecord``): conda, mamba, micromamba, rattler and pixi all write one
per installed package. The environment side (which files conda
owns), the wheelhouse (an environment as a sync source) and the library index
(``--libs-from``) all read them here, with one idea of what a valid record is.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from condawheel.errors import InvalidRecord
from condawheel.io.jsondata import JSONProblem, JSONValue, parse_json

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "CONDA_META",
    "MAX_RECORD_SIZE",
    "PrefixRecord",
    "parse_prefix_record",
    "prefix_record_files",
    "read_prefix_record",
]

CONDA_META: Final = "conda-meta"
MAX_RECORD_SIZE: Final = 256 << 20
"""The largest record read (bytes). The records of packages with 100,000 files are a few
MiB; a larger one is not a record conda wrote, and is refused before it fills memory."""


@dataclass(frozen=True)
class PrefixRecord:
    """One package installed in a conda environment, as its ``conda-meta`` record says."""

    path: Path
    """The record file."""
    name: str
    version: str
    build: str
    subdir: str | None
    """The record's ``subdir``; for older records, the folder of its ``url``."""
    files: tuple[str, ...]
    """Prefix-relative paths the package linked, ``/``-separated."""
    document: Mapping[str, JSONValue] = field(compare=False, repr=False)
    """The whole record (``sha256``, ``url``, ``depends``, ``link``...), as parsed."""

    @property
    def record_file(self) -> str:
        """Return the record's file name, for messages."""
        return self.path.name

    @property
    def dist_name(self) -> str:
        """Return ``name-version-build``, conda's name for the installed package."""
        return f"{self.name}-{self.version}-{self.build}"


def prefix_record_files(prefix: Path) -> tuple[Path, ...]:
    """Return the record files of the environment at ``prefix``, sorted by name.

    :raises OSError: if ``prefix/conda-meta`` cannot be listed (it may not exist).
    """
    directory = prefix / CONDA_META
    return tuple(sorted(path for path in directory.iterdir() if path.suffix == ".json"))


def read_prefix_record(path: Path) -> PrefixRecord:
    """Read and parse the record at ``path`` (see :func:`parse_prefix_record`).

    :raises InvalidRecord: if the file cannot be read, is not a regular file, is larger
        than :data:`MAX_RECORD_SIZE`, or is no valid record.
    """
    try:
        # O_NONBLOCK: a FIFO put at a record's name must not block the reader for ever.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
            data = handle.read(MAX_RECORD_SIZE + 1) if regular else b""
    except OSError as error:
        raise InvalidRecord(
            str(path), f"unreadable conda-meta record: {error.strerror or error}"
        ) from None
    if not regular:
        raise InvalidRecord(str(path), "conda-meta record is not a regular file")
    if len(data) > MAX_RECORD_SIZE:
        raise InvalidRecord(str(path), f"conda-meta record is larger than {MAX_RECORD_SIZE} bytes")
    return parse_prefix_record(path, data)


def _string(document: Mapping[str, JSONValue], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) and value else None


def _subdir(document: Mapping[str, JSONValue]) -> str | None:
    subdir = _string(document, "subdir")
    if subdir:
        return subdir
    # Older records: the URL's folder is the subdir (.../linux-64/name-1.0-0.tar.bz2).
    url = _string(document, "url")
    if url and "/" in url:
        return url.rsplit("/", 2)[-2] or None
    return None


def _listed_paths(document: Mapping[str, JSONValue]) -> JSONValue:
    files = document.get("files")
    if files is not None:
        return files
    # Newer records may carry only paths_data, shaped like info/paths.json (CEP 34).
    paths_data = document.get("paths_data")
    entries = paths_data.get("paths") if isinstance(paths_data, dict) else None
    if not isinstance(entries, list):
        return []
    return [entry.get("_path") if isinstance(entry, dict) else None for entry in entries]


def parse_prefix_record(path: Path, data: bytes) -> PrefixRecord:
    """Parse the bytes of the record at ``path`` (pure; ``path`` only names it).

    A record must be a JSON object with a non-empty string ``name``, ``version`` and
    ``build``; ``files`` (else ``paths_data``), when present, lists strings.

    :raises InvalidRecord: naming ``path`` and what is wrong.
    """
    subject = str(path)
    try:
        document = parse_json(data)
    except JSONProblem as error:
        raise InvalidRecord(subject, f"unreadable conda-meta record: {error}") from None
    if not isinstance(document, dict):
        raise InvalidRecord(subject, "conda-meta record is not a JSON object")
    identity = []
    for key in ("name", "version", "build"):
        value = _string(document, key)
        if value is None:
            raise InvalidRecord(subject, f"conda-meta record has no string {key!r}")
        identity.append(value)
    files = _listed_paths(document)
    if not isinstance(files, list) or not all(isinstance(item, str) for item in files):
        raise InvalidRecord(subject, "conda-meta record's 'files' is not a list of paths")
    return PrefixRecord(
        path=path,
        name=identity[0],
        version=identity[1],
        build=identity[2],
        subdir=_subdir(document),
        # conda writes '/' on every platform; normalise a stray '\' from Windows tools.
        files=tuple(item.replace("\\", "/") for item in files if isinstance(item, str)),
        document=document,
    )
