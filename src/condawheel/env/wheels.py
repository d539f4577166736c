"""Read what installing a wheel involves, and where each of its files lands (scheme mapping).

Where files go follows the binary distribution format (PEP 427, "Installing a wheel"): the
archive root goes to ``purelib`` or ``platlib`` (``Root-Is-Purelib``), and
``<name>-<version>.data/<key>/...`` to the scheme path ``<key>`` (``purelib``, ``platlib``,
``headers``, ``scripts``, ``data``). pypa/installer does exactly this
(``installer._core._determine_scheme``) and also skips ``__pycache__`` members and generates a
wrapper script per ``[console_scripts]``/``[gui_scripts]`` entry point; the mapping here
mirrors it so that every destination can be checked *before* anything is written.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Final

from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)

from condawheel.errors import CondawheelError, InstallError, InvalidWheel
from condawheel.io.wheelfile import open_wheel
from condawheel.links import climbs_out
from condawheel.metadata import SCRIPT_SECTIONS, read_scripts
from condawheel.sidecar import SIDECAR_NAME, Sidecar, load_sidecar

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.tags import Tag
    from packaging.version import Version

__all__ = [
    "SCHEME_KEYS",
    "WheelContents",
    "conda_path_destination",
    "member_destination",
    "read_wheel",
    "script_destinations",
]

SCHEME_KEYS: Final = ("purelib", "platlib", "headers", "scripts", "data")
_PARSER = BytesHeaderParser()


@dataclass(frozen=True)
class WheelContents:
    """The parts of a wheel that decide where it installs and what it needs."""

    path: Path
    filename: str
    name: NormalizedName
    display_name: str
    version: Version
    build: str
    tags: frozenset[Tag]
    dist_info: str
    data_dir: str
    root_is_purelib: bool
    members: tuple[str, ...]  # file members (no directories), archive order
    scripts: tuple[str, ...]  # entry-point wrapper names
    requires_external: tuple[str, ...]
    sidecar: Sidecar | None = field(compare=False, repr=False)

    @property
    def noarch_python(self) -> bool:
        """Whether the wheel was made from a ``noarch: python`` conda package."""
        if self.sidecar is None:
            return False
        package = self.sidecar.document.get("package")
        return isinstance(package, dict) and package.get("noarch") == "python"


def _find_dist_info(subject: str, names: list[str], name: NormalizedName) -> str:
    tops = {item.split("/", 1)[0] for item in names if "/" in item}
    found = [
        top
        for top in tops
        if top.endswith(".dist-info")
        and canonicalize_name(top[: -len(".dist-info")].rpartition("-")[0]) == name
    ]
    if len(found) != 1:
        raise InstallError(
            subject,
            f"a wheel has exactly one {name}-<version>.dist-info directory; found {len(found)}",
        )
    return found[0]


def _entry_point_scripts(data: bytes | None) -> tuple[str, ...]:
    # installer writes one wrapper per console_scripts / gui_scripts entry (the entry
    # points specification); an entry_points.txt that cannot be parsed names none.
    scripts = read_scripts(data)
    if scripts is None:
        return ()
    return tuple(command for section in SCRIPT_SECTIONS for command in scripts[section])


def read_wheel(path: Path) -> WheelContents:
    """Read a wheel's name, tags, layout, entry points, ``Requires-External`` and sidecar.

    Every member is decompressed and checked against its CRC-32 first, so that a damaged
    wheel is refused before anything of it is installed.

    :raises InstallError: if the file is not a readable wheel.
    """
    subject = path.name
    try:
        name, version, build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as error:
        raise InstallError(subject, f"not a wheel file name: {error}") from None
    try:
        with open_wheel(path) as archive:
            dist_info = _find_dist_info(subject, list(archive.names), name)
            available = set(archive.names)

            def read(member: str) -> bytes | None:
                full = f"{dist_info}/{member}"
                return archive.read(full) if full in available else None

            archive.verify()
            wheel_file, metadata = read("WHEEL"), read("METADATA")
            entry_points, sidecar_data = read("entry_points.txt"), read(SIDECAR_NAME)
            members = archive.files
    except InvalidWheel as error:
        raise InstallError(subject, f"cannot read the wheel: {error.reason}") from None
    if wheel_file is None or metadata is None:
        raise InstallError(subject, f"{dist_info} lacks WHEEL or METADATA")
    wheel_headers = _PARSER.parsebytes(wheel_file)
    headers = _PARSER.parsebytes(metadata)
    sidecar = None
    if sidecar_data is not None:
        try:
            sidecar = load_sidecar(subject, sidecar_data)
        except CondawheelError as error:
            raise InstallError(subject, error.reason) from None
    stem = dist_info[: -len(".dist-info")]
    return WheelContents(
        path=path,
        filename=path.name,
        name=name,
        display_name=str(headers.get("Name") or name),
        version=version,
        build="".join(str(part) for part in build) if build else "",
        tags=tags,
        dist_info=dist_info,
        data_dir=f"{stem}.data",
        root_is_purelib=str(wheel_headers.get("Root-Is-Purelib", "")).strip().lower() == "true",
        members=members,
        scripts=_entry_point_scripts(entry_points),
        requires_external=tuple(str(item) for item in headers.get_all("Requires-External", [])),
        sidecar=sidecar,
    )


def member_destination(
    contents: WheelContents, member: str, scheme: Mapping[str, str]
) -> tuple[str, Path] | None:
    """Return ``(scheme key, absolute path)`` where a member installs, ``None`` if skipped.

    ``None`` for members under ``__pycache__/``, which installer refuses to install.

    :raises InstallError: for a member outside every scheme or escaping its scheme path.
    """
    parts = member.split("/")
    if "__pycache__" in parts[:-1]:
        return None
    root = "purelib" if contents.root_is_purelib else "platlib"
    key, relative = root, member
    if parts[0] == contents.data_dir:
        if len(parts) < 3 or parts[1] not in SCHEME_KEYS:  # noqa: PLR2004 - .data/<key>/<file>
            raise InstallError(
                contents.filename, f"{member!r} is not inside a valid .data sub-directory"
            )
        key, relative = parts[1], "/".join(parts[2:])
    return key, _inside(contents.filename, scheme[key], relative, shown=member)


def _inside(subject: str, base: str, relative: str, *, shown: str | None = None) -> Path:
    r"""Return ``relative`` under ``base``, refusing a path that leaves it.

    Judged with both separators on every platform (``..\..\x`` is a traversal on
    Windows), so that no platform installs what another would refuse.
    """
    normalised = posixpath.normpath(relative)
    if climbs_out(relative) or normalised in {"..", "."}:
        raise InstallError(subject, f"{shown or relative!r} would be written outside {base}")
    return Path(base, *normalised.split("/"))


def script_destinations(
    contents: WheelContents, scheme: Mapping[str, str], *, windows: bool
) -> tuple[Path, ...]:
    """Return the entry-point wrappers installer generates (``name``, or ``name.exe``)."""
    suffix = ".exe" if windows else ""
    return tuple(
        _inside(contents.filename, scheme["scripts"], f"{script}{suffix}")
        for script in contents.scripts
    )


def conda_path_destination(
    contents: WheelContents, conda_path: str, scheme: Mapping[str, str]
) -> Path:
    """Return where conda would have put a package path, in this environment's scheme.

    ``noarch: python`` packages hold ``site-packages/...`` and ``python-scripts/...``, which
    conda links into the interpreter's site-packages and ``bin/`` (CEP 20);
    every other path is relative to the prefix (the ``data`` scheme path).

    :raises InstallError: for a path escaping the environment.
    """
    if contents.noarch_python:
        for top, key in (("site-packages/", "purelib"), ("python-scripts/", "scripts")):
            if conda_path.startswith(top):
                return _inside(contents.filename, scheme[key], conda_path[len(top) :])
    return _inside(contents.filename, scheme["data"], conda_path)
