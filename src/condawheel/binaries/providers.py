"""Build the ``--libs-from`` index of which conda packages ship which shared libraries (I/O).

A source is a conda environment prefix, whose ``conda-meta/*.json`` records list every
installed file, or a folder of conda packages (a channel with its subdirs, a package
cache), searched recursively for ``*.conda``, ``*.tar.bz2`` and extracted package
directories. Of a package only ``info/index.json`` (name, dependencies) and
``info/paths.json`` (CEP 34; ``info/files`` for packages older than conda-build 3) are
read: for a ``.conda`` that is the small ``info-*.tar.zst`` component and nothing else.
Symbolic links count like files, so the soname link ``lib/libzstd.so.1`` ->
``libzstd.so.1.5.6`` that ``paths.json`` lists as ``softlink`` is indexed by its own name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from condawheel.binaries.libraries import (
    PackageLibraries,
    SonameProviders,
    dependency_name,
    is_library_path,
)
from condawheel.conda.sources import (
    ARCHIVE_SUFFIXES,
    MAX_METADATA_BYTES,
    metadata_too_large,
    open_package,
    read_metadata,
    read_metadata_file,
)
from condawheel.errors import InvalidPackage, InvalidRecord, SourceError
from condawheel.io.conda_meta import CONDA_META, prefix_record_files, read_prefix_record
from condawheel.io.jsondata import JSONProblem, parse_json

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["SonameProviders", "load_providers", "read_package_libraries"]

_INDEX = "info/index.json"
_PATHS = "info/paths.json"
_FILES = "info/files"


class _BadRecordError(Exception):
    """A package record is unusable; the message says why."""


def load_providers(paths: Iterable[Path]) -> SonameProviders:
    """Index the shared libraries shipped by the packages of every source in ``paths``.

    A package that cannot be read is skipped, and the reason is kept in the result's
    ``warnings``.

    :param paths: conda environment prefixes, folders of conda packages, or single
        ``.conda`` / ``.tar.bz2`` packages.
    :raises SourceError: for a path that is none of those, or cannot be listed.
    """
    records: list[PackageLibraries] = []
    warnings: list[str] = []
    for path in paths:
        records.extend(_read_source(path, warnings))
    return SonameProviders.from_packages(records, warnings)


def _read_source(path: Path, warnings: list[str]) -> list[PackageLibraries]:
    subject = str(path)
    try:
        is_dir = path.is_dir()
        is_file = not is_dir and path.is_file()
        if is_dir and (path / CONDA_META).is_dir():
            return _read_environment(path, warnings)
        if is_dir and (path / "info" / "index.json").is_file():
            packages = [path]
        elif is_dir:
            packages = _find_packages(path)
            if not packages:
                raise SourceError(
                    subject,
                    "neither a conda environment (no conda-meta/) nor a folder of conda "
                    "packages (no .conda, .tar.bz2 or extracted package in it)",
                )
        elif is_file and path.name.endswith(ARCHIVE_SUFFIXES):
            packages = [path]
        elif is_file:
            raise SourceError(
                subject, "not a conda environment, a folder of conda packages or a package"
            )
        else:
            raise SourceError(subject, "no such file or directory")
    except OSError as error:
        raise SourceError(subject, f"cannot read: {error.strerror or error}") from None
    records = []
    for package in packages:
        record = _package_or_warning(package)
        if isinstance(record, str):
            warnings.append(record)
        else:
            records.append(record)
    return records


def _package_or_warning(path: Path) -> PackageLibraries | str:
    try:
        return read_package_libraries(path)
    except InvalidPackage as error:
        return f"{error}; skipped"


def _find_packages(root: Path) -> list[Path]:
    found: list[Path] = []

    def refuse(error: OSError) -> None:
        raise SourceError(str(root), f"cannot list {error.filename!r}: {error.strerror}")

    for directory, subdirectories, files in os.walk(root, onerror=refuse):
        here = Path(directory)
        descend = []
        for name in sorted(subdirectories):
            if name.startswith("."):  # .git, .cache, the .tmp of an indexer
                continue
            if (here / name / "info" / "index.json").is_file():
                found.append(here / name)  # an extracted package: do not walk its payload
            else:
                descend.append(name)
        subdirectories[:] = descend
        found.extend(here / name for name in sorted(files) if name.endswith(ARCHIVE_SUFFIXES))
    return found


def read_package_libraries(path: Path) -> PackageLibraries:
    """Read the name, dependencies and shared libraries of one package from its ``info/``.

    :param path: a ``.conda``, a ``.tar.bz2`` or an extracted package directory.
    :raises InvalidPackage: if the package or its metadata cannot be read.
    """
    try:
        info = _read_extracted(path) if path.is_dir() else _read_archive(path)
        return _package_record(info)
    except _BadRecordError as error:
        raise InvalidPackage(str(path), str(error)) from None
    except OSError as error:
        raise InvalidPackage(str(path), f"cannot read: {error.strerror or error}") from None


def _read_extracted(path: Path) -> dict[str, bytes]:
    info: dict[str, bytes] = {}
    for name in (_INDEX, _PATHS, _FILES):
        file = path / name
        if file.is_file():
            info[name] = read_metadata_file(str(path), file, name)
        if _INDEX in info and _PATHS in info:
            break
    return info


def _read_archive(path: Path) -> dict[str, bytes]:
    source = open_package(path)
    info: dict[str, bytes] = {}
    members = source.members()
    try:
        for member, body in members:
            if not member.path.startswith("info/"):
                if source.format == "conda":
                    break  # the pkg component: info/ is complete
                continue  # a .tar.bz2 normally starts with info/, but need not
            if member.path in {_INDEX, _PATHS, _FILES} and body is not None:
                if member.size > MAX_METADATA_BYTES:
                    raise _BadRecordError(
                        metadata_too_large(member.path, MAX_METADATA_BYTES, member.size)
                    )
                info[member.path] = read_metadata(str(path), member.path, body)
                if _INDEX in info and _PATHS in info:
                    break
    finally:
        close = getattr(members, "close", None)
        if close is not None:
            close()
    return info


def _package_record(info: dict[str, bytes]) -> PackageLibraries:
    if _INDEX not in info:
        raise _BadRecordError("no info/index.json")
    index = _json_object(info[_INDEX], _INDEX)
    files: object
    if _PATHS in info:
        files = _paths_json_files(_json_object(info[_PATHS], _PATHS))
    elif _FILES in info:
        files = info[_FILES].decode("utf-8", errors="surrogateescape").splitlines()
    else:
        raise _BadRecordError("neither info/paths.json nor info/files")
    return _record(index.get("name"), files, index.get("depends"), "info/index.json")


def _paths_json_files(paths: dict[str, object]) -> object:
    """Return the ``_path`` of every entry of a ``paths.json`` object (CEP 34)."""
    entries = paths.get("paths")
    if not isinstance(entries, list):
        return None
    return [entry.get("_path") if isinstance(entry, dict) else None for entry in entries]


def _record(name: object, files: object, depends: object, what: str) -> PackageLibraries:
    if not isinstance(name, str) or not name:
        raise _BadRecordError(f"{what} has no package name ({name!r})")
    if not isinstance(files, list):
        raise _BadRecordError(f"{what}: no list of files")
    return PackageLibraries(name=name, libraries=_libraries(files), depends=_depends(depends, what))


def _read_environment(prefix: Path, warnings: list[str]) -> list[PackageLibraries]:
    records = []
    for path in prefix_record_files(prefix):
        record = _environment_record(path)
        if isinstance(record, str):
            warnings.append(record)
        else:
            records.append(record)
    return records


def _environment_record(path: Path) -> PackageLibraries | str:
    """Read one ``conda-meta/<dist>.json`` record, or return why it was skipped."""
    try:
        record = read_prefix_record(path)
        return _record(
            record.name, list(record.files), record.document.get("depends"), "conda-meta record"
        )
    except InvalidRecord as error:
        return f"{error}; skipped"
    except _BadRecordError as error:
        return f"{path}: {error}; skipped"


def _json_object(raw: bytes, what: str) -> dict[str, object]:
    try:
        data = parse_json(raw)
    except JSONProblem as problem:
        raise _BadRecordError(f"{what} is {problem}") from None
    if not isinstance(data, dict):
        raise _BadRecordError(f"{what} is not a JSON object")
    return dict(data)


def _libraries(files: list[object]) -> frozenset[str]:
    libraries = set()
    for file in files:
        if not isinstance(file, str):
            raise _BadRecordError(f"a listed path is not a string ({file!r})")
        path = file.replace("\\", "/")
        if is_library_path(path):
            libraries.add(path)
    return frozenset(libraries)


def _depends(value: object, what: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(spec, str) for spec in value):
        raise _BadRecordError(f"{what}: 'depends' is not a list of strings")
    return frozenset(dependency_name(spec) for spec in value if spec.strip())
