"""Where a wheel's files go in an environment: the install scheme and every destination.

Deciding an install needs every path it writes before anything is written (installer
raises ``FileExistsError`` only after writing the earlier files), so this module lists them
the way installer will write them: members by PEP 427's scheme mapping
(:mod:`condawheel.env.wheels`), the entry-point wrappers installer generates, installer's
own ``INSTALLER``/``REQUESTED``, and the symbolic links a converted wheel's ``conda.json``
restores.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from condawheel.env.wheels import (
    WheelContents,
    conda_path_destination,
    member_destination,
    script_destinations,
)
from condawheel.errors import InstallError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from condawheel.env.interpreter import InterpreterFacts

__all__ = [
    "install_scheme",
    "scheme_root",
    "sidecar_links",
    "wheel_destinations",
]


def install_scheme(facts: InterpreterFacts, distribution: str) -> dict[str, str]:
    """Return installer's scheme dictionary for a distribution in the environment.

    ``purelib``, ``platlib``, ``scripts`` and ``data`` are the interpreter's own
    ``sysconfig.get_paths()``. ``headers`` is what pip uses: in a venv-style environment
    ``sysconfig``'s ``include`` is the *base* interpreter's, so pip writes
    ``<prefix>/include/site/pythonX.Y/<name>`` (``pip/_internal/locations/_sysconfig.py``).
    """
    paths = facts.paths
    major, minor = facts.version_info
    if facts.is_venv:
        headers = Path(facts.prefix, "include", "site", f"python{major}.{minor}", distribution)
    else:
        headers = Path(paths["include"], distribution)
    return {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "data": paths["data"],
        "headers": str(headers),
    }


def scheme_root(contents: WheelContents, scheme: Mapping[str, str]) -> Path:
    """Return where the wheel's root goes, which holds its ``.dist-info`` (``Root-Is-Purelib``)."""
    return Path(scheme["purelib" if contents.root_is_purelib else "platlib"])


def wheel_destinations(
    contents: WheelContents, scheme: Mapping[str, str], *, windows: bool, requested: bool
) -> tuple[Path, ...]:
    """Return every file installer writes for a wheel (members, wrappers, metadata).

    :raises InstallError: for a member outside the scheme, or two files on one path.
    """
    found: dict[Path, str] = {}

    def claim(path: Path, what: str) -> None:
        if path in found:
            raise InstallError(
                contents.filename, f"{what} and {found[path]} would both be written to {path}"
            )
        found[path] = what

    for member in contents.members:
        destination = member_destination(contents, member, scheme)
        if destination is not None:
            claim(destination[1], repr(member))
    for path in script_destinations(contents, scheme, windows=windows):
        claim(path, f"the entry point {path.name!r}")
    root = scheme_root(contents, scheme)
    for extra in ("INSTALLER", "REQUESTED") if requested else ("INSTALLER",):
        path = root / contents.dist_info / extra
        if path not in found:  # a wheel must not carry them (PEP 427), but some do
            found[path] = extra
    return tuple(found)


def sidecar_links(
    contents: WheelContents, scheme: Mapping[str, str]
) -> tuple[tuple[Path, str], ...]:
    """Return where each symlink of a wheel's ``conda.json`` is restored, with its target.

    Links whose path is refused are left out (deciding reports them).
    """
    sidecar = contents.sidecar
    if sidecar is None:
        return ()
    found = []
    for link in sidecar.symlinks:
        try:
            if link.kind == "file" and link.wheel_path is not None:
                destination = member_destination(contents, link.wheel_path, scheme)
                if destination is None:
                    continue
                path = destination[1]
            else:
                path = conda_path_destination(contents, link.path, scheme)
        except InstallError:
            continue
        found.append((path, link.target))
    return tuple(found)
