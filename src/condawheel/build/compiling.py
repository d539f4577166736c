"""Run the build: pip with the environment's interpreter, set up as conda-build's does (I/O).

:func:`build_variables` is the environment a build sees, after conda-build's compiler
activation: ``$PREFIX/include`` in ``CPPFLAGS``/``CFLAGS``/``CXXFLAGS``, ``$PREFIX/lib`` in
``LDFLAGS`` as a link directory and a run path, and ``pkg-config`` looking in the prefix. The
run path is padded (``lib/./././...``, the same folder to the loader) so that the
``$ORIGIN``-relative path written over it later always fits (:mod:`condawheel.build.runpath`).

:func:`pip_wheel` runs ``python -m pip wheel --no-deps`` (PEP 517) with the environment's
interpreter, without build isolation unless asked (the build requirements come from the
environment, as conda packages, as in conda-build), with the environment's own pip cache
(:func:`condawheel.env.pipcache.environment_pip_cache`), and keeps the log: a failure is one
:class:`~condawheel.build.analysis.BuildError` line with the log's last lines attached.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from condawheel.build.analysis import BuildError
from condawheel.env.pip_hook_start import SWITCH as PIP_HOOK_SWITCH
from condawheel.env.pipcache import environment_pip_cache

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["PipOptions", "build_variables", "download_sdist", "pip_wheel"]

RUN_PATH_LENGTH: Final = 256
"""The least length of the build's run path string, room for any ``$ORIGIN/../..`` form."""
LOG_TAIL: Final = 30


@dataclass(frozen=True)
class PipOptions:
    """What a build passes on to pip."""

    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    isolation: bool = False
    """Let pip install the build requirements into an isolated environment (PEP 517)."""

    def arguments(self) -> list[str]:
        """Return the pip options these stand for."""
        arguments = []
        if self.index_url is not None:
            arguments += ["--index-url", self.index_url]
        for link in self.find_links:
            arguments += ["--find-links", link]
        if self.no_index:
            arguments.append("--no-index")
        return arguments


def padded_library_path(prefix: str) -> str:
    """Return ``<prefix>/lib`` spelt at least :data:`RUN_PATH_LENGTH` characters long."""
    path = f"{prefix}/lib"
    missing = max(0, RUN_PATH_LENGTH - len(path))
    return path + "/." * ((missing + 1) // 2)


def build_variables(prefix: str, inherited: Mapping[str, str]) -> dict[str, str]:
    """Return the process environment of a build in ``prefix`` (pure).

    The user's own flags come after condawheel's, so they can add to them.
    """
    include = f"-I{prefix}/include"
    library = f"{prefix}/lib"
    link = f"-Wl,-rpath,{padded_library_path(prefix)} -Wl,-rpath-link,{library} -L{library}"
    variables = dict(inherited)

    def add(name: str, value: str) -> None:
        own = inherited.get(name, "").strip()
        variables[name] = f"{value} {own}" if own else value

    add("CPPFLAGS", include)
    add("CFLAGS", include)
    add("CXXFLAGS", include)
    add("LDFLAGS", link)
    pkg_config = inherited.get("PKG_CONFIG_PATH")
    variables["PKG_CONFIG_PATH"] = f"{library}/pkgconfig" + (
        f"{os.pathsep}{pkg_config}" if pkg_config else ""
    )
    variables["PREFIX"] = prefix
    variables[PIP_HOOK_SWITCH] = "0"  # the hook is for installs; a build computes no tags
    variables["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    variables["PYTHONNOUSERSITE"] = "1"
    return variables


def _tail(log: Path) -> tuple[str, ...]:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    return tuple(lines[-LOG_TAIL:])


def _first_error(lines: Sequence[str]) -> str | None:
    for line in lines:
        text = line.strip()
        if "error:" in text.lower() and not text.lower().startswith("error: subprocess"):
            return text
    return None


def _run_pip(
    python: Path, arguments: list[str], variables: Mapping[str, str], log: Path, subject: str
) -> None:
    with log.open("wb") as output:
        completed = subprocess.run(
            [str(python), "-m", "pip", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=dict(variables),
            check=False,
        )
    if completed.returncode != 0:
        tail = _tail(log)
        try:
            everything = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            everything = list(tail)
        cause = _first_error(everything) or (tail[-1].strip() if tail else "no output")
        raise BuildError(
            subject,
            f"pip {arguments[0]} failed (exit {completed.returncode}): {cause}",
            log_tail=tail,
        )


def pip_wheel(
    python: Path,
    prefix: str,
    source: str,
    work: Path,
    options: PipOptions,
    *,
    subject: str,
    inherited: Mapping[str, str],
) -> Path:
    """Build ``source`` (a path or requirement) into one wheel in ``work``; return it.

    :raises BuildError: if pip fails (the reason names the first error line of its log)
        or makes no single wheel.
    """
    out = work / "wheel"
    out.mkdir()
    arguments = [
        "wheel",
        "--no-deps",
        "--no-input",
        "--wheel-dir",
        str(out),
        "--cache-dir",
        str(environment_pip_cache(prefix)),
        *options.arguments(),
    ]
    if not options.isolation:
        arguments.append("--no-build-isolation")
    arguments.append(source)
    _run_pip(python, arguments, build_variables(prefix, inherited), work / "build.log", subject)
    made = sorted(out.glob("*.whl"))
    if len(made) != 1:
        raise BuildError(subject, f"pip made {len(made)} wheels, not one")
    return made[0]


def download_sdist(
    python: Path,
    prefix: str,
    requirement: str,
    work: Path,
    options: PipOptions,
    *,
    inherited: Mapping[str, str],
) -> Path:
    """Download the source distribution ``requirement`` resolves to, from the indexes.

    :raises BuildError: if pip finds none.
    """
    out = work / "download"
    out.mkdir()
    arguments = [
        "download",
        "--no-deps",
        "--no-input",
        "--no-binary",
        ":all:",
        "--dest",
        str(out),
        "--cache-dir",
        str(environment_pip_cache(prefix)),
        *options.arguments(),
    ]
    if not options.isolation:  # pip prepares the sdist's metadata, with the build backend
        arguments.append("--no-build-isolation")
    arguments.append(requirement)
    variables = build_variables(prefix, inherited)
    _run_pip(python, arguments, variables, work / "download.log", requirement)
    found = sorted(out.iterdir())
    if len(found) != 1:
        raise BuildError(requirement, f"pip downloaded {len(found)} files, not one sdist")
    return found[0]
