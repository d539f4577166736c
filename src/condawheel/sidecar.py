"""The sidecar ``<name>-<version>.dist-info/conda.json``: what a wheel cannot express.

It records the source artifact, the original ``index.json``, every dependency and what it
became, prefix placeholders, symlinks, empty directories, link scripts, menu files and the
external-library analysis. ``condawheel install`` reads it back to relocate placeholders
and restore links. A file, not a sub-directory: sub-directories of ``.dist-info`` are
reserved (binary distribution format). Its schema is versioned by ``schema_version``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from condawheel.errors import InvalidPackage
from condawheel.io.jsondata import JSONProblem, indented_json, parse_json

if TYPE_CHECKING:
    from condawheel.conda.condameta import JSONObject, JSONValue

__all__ = [
    "SCHEMA_VERSION",
    "SIDECAR_NAME",
    "PlaceholderRecord",
    "Sidecar",
    "SourceArtifact",
    "SymlinkRecord",
    "dump_sidecar",
    "load_sidecar",
    "used_dependencies",
]

SIDECAR_NAME = "conda.json"
SCHEMA_VERSION = 1
SymlinkKind: TypeAlias = Literal["file", "directory", "external"]


@dataclass(frozen=True)
class SourceArtifact:
    """The conda artifact a wheel was made from."""

    filename: str
    format: Literal["conda", "tar.bz2", "directory"]
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    channel: str | None = None
    subdir: str | None = None
    url: str | None = None
    flags: tuple[str, ...] = ()
    """The record's CEP 45 variant flags."""
    purls: tuple[str, ...] = ()
    """The record's package URLs (``pkg:pypi/<name>``...)."""

    def to_json(self) -> JSONObject:
        """Return the JSON form (``None`` fields kept, so readers see every key).

        ``flags`` and ``purls`` appear only when the record has them, so that the
        sidecar of an artifact without them is what it always was.
        """
        document: JSONObject = {
            "filename": self.filename,
            "format": self.format,
            "sha256": self.sha256,
            "md5": self.md5,
            "size": self.size,
            "channel": self.channel,
            "subdir": self.subdir,
            "url": self.url,
        }
        if self.flags:
            document["flags"] = list(self.flags)
        if self.purls:
            document["purls"] = list(self.purls)
        return document


@dataclass(frozen=True)
class PlaceholderRecord:
    """A file holding the build prefix, to be relocated at install (conda's ``has_prefix``)."""

    path: str  # the conda path, relative to the prefix (as installed by conda)
    wheel_path: str  # where it is in the wheel (its installed place follows the scheme)
    placeholder: str
    file_mode: Literal["text", "binary"]

    def to_json(self) -> JSONObject:
        """Return the JSON form."""
        return {
            "path": self.path,
            "wheel_path": self.wheel_path,
            "placeholder": self.placeholder,
            "file_mode": self.file_mode,
        }


@dataclass(frozen=True)
class SymlinkRecord:
    """A symbolic link of the conda package.

    ``file``: stored as a copy of its target's bytes under ``wheel_path``; ``directory``
    and ``external`` (the target is another package's file): not in the wheel, restored
    by ``condawheel install``.
    """

    path: str
    wheel_path: str | None
    target: str
    kind: SymlinkKind

    def to_json(self) -> JSONObject:
        """Return the JSON form."""
        return {
            "path": self.path,
            "wheel_path": self.wheel_path,
            "target": self.target,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Sidecar:
    """The parts of ``conda.json`` that the install side acts upon."""

    source: SourceArtifact
    conda_name: str
    conda_version: str
    conda_build: str
    subdir: str
    placeholders: tuple[PlaceholderRecord, ...]
    symlinks: tuple[SymlinkRecord, ...]
    directories: tuple[str, ...]
    document: JSONObject

    @property
    def built(self) -> bool:
        """Whether the wheel was built in a conda environment (``condawheel build``).

        Its ``package`` is the Python distribution, not a conda package: it provides no
        conda package to other wheels' ``Requires-External``, and conda installs none.
        """
        return self.document.get("origin") == "build"


def dump_sidecar(document: JSONObject) -> bytes:
    """Serialise a sidecar deterministically (sorted keys, two-space indent, UTF-8)."""
    return (indented_json(document, ensure_ascii=False) + "\n").encode()


def used_dependencies(document: JSONObject) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Return the ``depends`` and ``constrains`` a wheel was made with, from its sidecar.

    Those of ``record`` (a patched repodata or conda-meta record) where the sidecar has
    one, otherwise ``index.json``'s. ``None`` if the sidecar does not say.
    """
    lists = document.get("record")
    if not isinstance(lists, dict):
        lists = document.get("index")
    if not isinstance(lists, dict):
        return None
    found = []
    for key in ("depends", "constrains"):
        value = lists.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return None
        found.append(tuple(item for item in value if isinstance(item, str)))
    return found[0], found[1]


def _text(value: JSONValue, where: str, problems: list[str]) -> str:
    if isinstance(value, str):
        return value
    problems.append(f"{where} must be a string")
    return ""


def _optional(value: JSONValue) -> str | None:
    return value if isinstance(value, str) else None


def _list(document: JSONObject, key: str, problems: list[str]) -> list[JSONValue]:
    value = document.get(key, [])
    if isinstance(value, list):
        return value
    problems.append(f"{key!r} must be a list")
    return []


def load_sidecar(subject: str, data: bytes) -> Sidecar:
    """Parse a ``conda.json`` written by :func:`dump_sidecar`.

    :raises InvalidPackage: if it is not a sidecar of a schema version this code knows.
    """
    try:
        document = parse_json(data)
    except JSONProblem as error:
        raise InvalidPackage(subject, f"{SIDECAR_NAME} is {error}") from None
    if not isinstance(document, dict):
        raise InvalidPackage(subject, f"{SIDECAR_NAME} must hold a JSON object")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InvalidPackage(subject, f"{SIDECAR_NAME} has unknown schema_version {version!r}")
    problems: list[str] = []
    source_raw = document.get("source")
    package_raw = document.get("package")
    if not isinstance(source_raw, dict) or not isinstance(package_raw, dict):
        raise InvalidPackage(subject, f"{SIDECAR_NAME} lacks 'source' or 'package'")
    source_format = source_raw.get("format")
    source = SourceArtifact(
        filename=_text(source_raw.get("filename"), "source.filename", problems),
        format="tar.bz2"
        if source_format == "tar.bz2"
        else ("directory" if source_format == "directory" else "conda"),
        sha256=_optional(source_raw.get("sha256")),
        md5=_optional(source_raw.get("md5")),
    )
    placeholders = []
    for position, item in enumerate(_list(document, "prefix_placeholders", problems)):
        if not isinstance(item, dict) or item.get("file_mode") not in ("text", "binary"):
            problems.append(f"prefix_placeholders[{position}] is malformed")
            continue
        placeholders.append(
            PlaceholderRecord(
                path=_text(item.get("path"), "placeholder path", problems),
                wheel_path=_text(item.get("wheel_path"), "placeholder wheel_path", problems),
                placeholder=_text(item.get("placeholder"), "placeholder", problems),
                file_mode="binary" if item.get("file_mode") == "binary" else "text",
            )
        )
    symlinks = []
    for position, item in enumerate(_list(document, "symlinks", problems)):
        kind = item.get("kind") if isinstance(item, dict) else None
        if not isinstance(item, dict) or kind not in ("file", "directory", "external"):
            problems.append(f"symlinks[{position}] is malformed")
            continue
        wheel_path = item.get("wheel_path")
        symlinks.append(
            SymlinkRecord(
                path=_text(item.get("path"), "symlink path", problems),
                wheel_path=wheel_path if isinstance(wheel_path, str) else None,
                target=_text(item.get("target"), "symlink target", problems),
                kind="file"
                if kind == "file"
                else ("directory" if kind == "directory" else "external"),
            )
        )
    directories = tuple(
        item for item in _list(document, "directories", problems) if isinstance(item, str)
    )
    name = _text(package_raw.get("name"), "package.name", problems)
    version = _text(package_raw.get("version"), "package.version", problems)
    build = _text(package_raw.get("build"), "package.build", problems)
    subdir = _text(package_raw.get("subdir"), "package.subdir", problems)
    if problems:
        raise InvalidPackage(subject, [f"{SIDECAR_NAME}: {problem}" for problem in problems])
    return Sidecar(
        source=source,
        conda_name=name,
        conda_version=version,
        conda_build=build,
        subdir=subdir,
        placeholders=tuple(placeholders),
        symlinks=tuple(symlinks),
        directories=directories,
        document=document,
    )
