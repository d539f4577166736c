"""What a build works with: the environment that built it, and the wheel it made (I/O + models).

:func:`describe_environment` turns an opened environment into a :class:`BuildEnvironment`
(its prefix, subdir and build tag, where a wheel's files install, and every conda package
with its ``run_exports``); :func:`read_built_wheel` reads a wheel into a
:class:`BuiltWheel` (name, tags, ``WHEEL``, ``METADATA``, every member, and the bytes of
its binaries). Both are plain frozen values; :mod:`condawheel.build.decisions` decides on
them without touching the file system.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from condawheel.binaries.detect import looks_like_binary
from condawheel.env.destinations import install_scheme
from condawheel.errors import CondawheelError, InvalidWheel
from condawheel.io.digests import hash_file
from condawheel.io.wheelfile import open_wheel

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.tags import Tag
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from condawheel.env.environment import Environment
    from condawheel.env.prefix import CondaRecord

__all__ = [
    "BuildEnvironment",
    "BuildError",
    "BuiltMember",
    "BuiltWheel",
    "InstalledPackage",
    "describe_environment",
    "read_built_wheel",
]

_HEAD = 8  # enough for every magic looks_like_binary knows


class BuildError(CondawheelError):
    """A source could not be built into a conda wheel.

    ``log_tail`` holds the last lines of the build's log, for ``-v``.
    """

    def __init__(self, subject: str, reason: str, log_tail: tuple[str, ...] = ()) -> None:
        super().__init__(subject, reason)
        self.log_tail = log_tail


@dataclass(frozen=True)
class InstalledPackage:
    """A conda package of the build environment, as its ``conda-meta`` record says."""

    name: str
    version: str
    build: str
    run_exports: tuple[str, ...]
    """Its weak and strong ``run_exports`` (conda-build's pins for what links it)."""


@dataclass(frozen=True)
class BuildEnvironment:
    """The conda environment a build runs in."""

    prefix: str
    """The prefix as its interpreter spells it (``sys.prefix``)."""
    prefix_spellings: tuple[str, ...]
    """Every absolute spelling of the prefix a build may record (as given, resolved)."""
    python: Path
    python_version: str
    implementation: str
    subdir: str
    build_platform: str
    """The platform tag built wheels get: the ``build`` of ``binary-compatibility.cfg``."""
    scheme: Mapping[str, str]
    """Prefix-relative POSIX folder per wheel scheme key (``platlib`` ...)."""
    packages: Mapping[str, InstalledPackage]
    pip: str | None

    @property
    def python_package(self) -> InstalledPackage | None:
        """Return the conda ``python`` record, if conda installed the interpreter's package."""
        return self.packages.get("python")


@dataclass(frozen=True)
class BuiltMember:
    """One file of a built wheel."""

    name: str
    executable: bool


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel as a build made it."""

    path: Path
    sha256: str
    name: NormalizedName
    version: Version
    build_tag: str
    tags: frozenset[Tag]
    dist_info: str
    data_dir: str
    root_is_purelib: bool
    members: tuple[BuiltMember, ...]
    wheel_file: bytes
    metadata: bytes
    binaries: Mapping[str, bytes]
    """The bytes of every member that looks like an ELF, Mach-O or PE binary."""

    @property
    def is_pure(self) -> bool:
        """Whether every tag is for any platform (``py3-none-any``): portable as it is."""
        return all(tag.platform == "any" for tag in self.tags)


def _relative(prefix: str, path: str) -> str:
    return PurePosixPath(*Path(path).relative_to(prefix).parts).as_posix()


def _run_exports(record: CondaRecord) -> tuple[str, ...]:
    raw = record.document.get("run_exports")
    if not isinstance(raw, dict):
        # Older records do not carry them; the extracted package's info/ does.
        extracted = record.document.get("extracted_package_dir")
        raw = None
        if isinstance(extracted, str):
            try:
                raw = json.loads(Path(extracted, "info", "run_exports.json").read_bytes())
            except (OSError, ValueError):
                raw = None
    if isinstance(raw, list):  # the oldest form: a list, meaning weak exports
        raw = {"weak": raw}
    if not isinstance(raw, dict):
        return ()
    specs: list[str] = []
    for kind in ("strong", "weak"):
        listed = raw.get(kind)
        if isinstance(listed, list):
            specs.extend(item for item in listed if isinstance(item, str))
    return tuple(specs)


def describe_environment(environment: Environment) -> BuildEnvironment:
    """Describe an opened conda environment for building in it.

    :raises BuildError: if it is no conda environment with a known subdir and build tag.
    """
    subject = str(environment.prefix)
    subdir = environment.subdir
    build_platform = environment.tags.build_platform
    if not environment.state.is_conda or subdir is None or build_platform is None:
        raise BuildError(
            subject,
            "not a conda environment with a build tag (no conda-meta/, or no subdir and "
            "binary-compatibility.cfg entry for its platform)",
        )
    facts = environment.facts
    prefix = facts.prefix
    scheme = {
        key: _relative(prefix, path)
        for key, path in install_scheme(facts, "{name}").items()
        if Path(path).is_relative_to(prefix)
    }
    spellings = {prefix, str(environment.prefix), os.path.realpath(prefix)}
    packages = {
        record.name: InstalledPackage(
            record.name, record.version, record.build, _run_exports(record)
        )
        for record in environment.state.records
    }
    return BuildEnvironment(
        prefix=prefix,
        prefix_spellings=tuple(sorted(spellings)),
        python=facts.python,
        python_version=facts.version,
        implementation=facts.implementation,
        subdir=subdir,
        build_platform=build_platform,
        scheme=scheme,
        packages=packages,
        pip=facts.pip,
    )


def read_built_wheel(path: Path) -> BuiltWheel:
    """Read a wheel: its name and tags, ``WHEEL``, ``METADATA``, members and binaries.

    The bytes of members that look like binaries are kept (they may need their run path
    rewritten), the others are not: the writer reads them again, each checked against its
    CRC-32 as it is read.

    :raises BuildError: if the file is not a readable wheel.
    """
    subject = path.name
    try:
        name, version, build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as error:
        raise BuildError(subject, f"not a wheel file name: {error}") from None
    try:
        with open_wheel(path) as archive:
            infos = archive.infos()
            dist_infos = {
                info.filename.split("/")[0]
                for info in infos
                if info.filename.split("/")[0].endswith(".dist-info")
            }
            if len(dist_infos) != 1:
                raise BuildError(subject, f"has {len(dist_infos)} .dist-info folders, not one")
            (dist_info,) = dist_infos
            members: list[BuiltMember] = []
            binaries: dict[str, bytes] = {}
            for info in infos:
                if info.is_dir():
                    continue
                mode = info.external_attr >> 16
                members.append(BuiltMember(info.filename, bool(mode & 0o111)))
                if info.filename.startswith(f"{dist_info}/"):
                    continue
                head = archive.read_head(info.filename, _HEAD)
                if looks_like_binary(head):
                    binaries[info.filename] = archive.read(info.filename)
            wheel_file = archive.read(f"{dist_info}/WHEEL")
            metadata = archive.read(f"{dist_info}/METADATA")
    except InvalidWheel as error:
        raise BuildError(subject, f"cannot read the wheel: {error.reason}") from None
    headers = wheel_file.decode("utf-8", errors="replace").splitlines()
    root_is_purelib = any(
        line.partition(":")[0].strip().lower() == "root-is-purelib"
        and line.partition(":")[2].strip().lower() == "true"
        for line in headers
    )
    return BuiltWheel(
        path=path,
        sha256=hash_file(path).sha256,
        name=name,
        version=version,
        build_tag="".join(str(part) for part in build) if build else "",
        tags=tags,
        dist_info=dist_info,
        data_dir=dist_info[: -len(".dist-info")] + ".data",
        root_is_purelib=root_is_purelib,
        members=tuple(members),
        wheel_file=wheel_file,
        metadata=metadata,
        binaries=binaries,
    )


def installed_path(wheel: BuiltWheel, member: str, scheme: Mapping[str, str]) -> str | None:
    """Return where a member installs, relative to the prefix; ``None`` outside the prefix."""
    parts = member.split("/")
    key, rest = ("purelib" if wheel.root_is_purelib else "platlib"), member
    if parts[0] == wheel.data_dir and len(parts) > 2:  # noqa: PLR2004 - .data/<key>/<file>
        key, rest = parts[1], "/".join(parts[2:])
    folder = scheme.get(key)
    if folder is None:
        return None
    folder = folder.replace("{name}", str(wheel.name))
    return posixpath.normpath(posixpath.join(folder, rest))
