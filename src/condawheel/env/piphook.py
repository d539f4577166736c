"""The pip hook's files, and the install that pip hands conda wheels to.

``condawheel hook install`` writes, next to the configuration and activation scripts
(:mod:`condawheel.env.hooks` records and removes them all alike):

* ``<site-packages>/_condawheel_pip_hook.py`` and ``_condawheel_pip_hook_patches.py``:
  :mod:`condawheel.env.pip_hook_start` (the finder every start loads) and
  :mod:`condawheel.env.pip_hook_patches` (imported only by processes that import a
  ``packaging.tags``), copied verbatim: standard library only, as condawheel need not be
  importable there; with their bytecode (:func:`compile_hook_module`);
* ``<site-packages>/_condawheel_pip_hook.pth``: ``import`` line that activates it at start-up,
  and ``_condawheel_pip_hook.start``, the same as a PEP 829 entry point (Python 3.15 and
  later run the ``.start`` file instead of the ``.pth`` import line of the same name);
* ``etc/condawheel/pip-hook.json``: what the hook cannot compute cheaply or at all: the
  interpreter of the condawheel that hooked the environment (run as a subprocess to install
  conda wheels), the system configuration file it was told to read, and the conda platforms
  of the environment's default entry (for a configuration without one).

Why condawheel is *recorded* rather than imported: it is usually installed once (pipx, a
system virtual environment) and serves many conda environments that do not contain it. If
that condawheel is gone, the hook refuses conda wheels with a pointer instead of letting pip
install them half-way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final

from condawheel.env.environment import open_environment
from condawheel.env.hooks import HookFile
from condawheel.env.install import apply_installation, decide_for_environment
from condawheel.env.pip_hook_patches import DATA_PATH
from condawheel.env.pip_hook_patches import MODULE_NAME as PATCHES_MODULE
from condawheel.env.pip_hook_start import SWITCH as PIP_HOOK_SWITCH
from condawheel.env.pipcache import pip_cache_file
from condawheel.env.tagconfig import DEFAULT_SYSTEM_CONFIG
from condawheel.env.wheels import read_wheel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from condawheel.env.decisions import Installation
    from condawheel.env.environment import Environment

__all__ = [
    "DATA_FILE",
    "HOOK_MODULE",
    "WheelFileInstall",
    "compile_hook_module",
    "hook_files_for",
    "install_wheel_file",
    "render_pip_hook",
    "site_packages",
]

HOOK_MODULE: Final = "_condawheel_pip_hook"
DATA_FILE: Final = "/".join(DATA_PATH)
_DATA_VERSION: Final = 1
_COMPILE: Final = (
    "import py_compile, sys\nfor path in sys.argv[1:]: py_compile.compile(path, doraise=True)"
)


def site_packages(environment: Environment) -> str:
    """Return the environment's ``purelib`` relative to its prefix, POSIX (the hook's home)."""
    purelib = Path(environment.facts.paths["purelib"])
    return PurePosixPath(*purelib.relative_to(environment.prefix).parts).as_posix()


def _source(name: str) -> bytes:
    return resources.files("condawheel.env").joinpath(name).read_bytes()


def render_pip_hook(
    site: str,
    *,
    condawheel_python: str,
    system_config: Path | None,
    default_platforms: Sequence[str],
) -> tuple[HookFile, ...]:
    """Render the pip hook's files (pure but for reading the packaged runtime module).

    :param site: the environment's site-packages, relative to the prefix (POSIX).
    :param condawheel_python: the interpreter running this condawheel (``sys.executable``).
    :param system_config: the system ``binary-compatibility.cfg`` to read (``None``: none).
    :param default_platforms: the conda platforms of the environment's default entry.
    """
    data = {
        "schema_version": _DATA_VERSION,
        "condawheel_python": condawheel_python,
        "system_config": None if system_config is None else str(system_config),
        "default_platforms": list(default_platforms),
    }
    header = f"# condawheel hook: pip accepts this conda environment's tags ({HOOK_MODULE}.py)\n"
    return (
        HookFile(f"{site}/{HOOK_MODULE}.py", _source("pip_hook_start.py")),
        HookFile(f"{site}/{PATCHES_MODULE}.py", _source("pip_hook_patches.py")),
        HookFile(
            f"{site}/{HOOK_MODULE}.pth",
            f"{header}import {HOOK_MODULE} as hook; hook.activate()\n".encode(),
        ),
        HookFile(f"{site}/{HOOK_MODULE}.start", f"{header}{HOOK_MODULE}:activate\n".encode()),
        HookFile(DATA_FILE, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()),
    )


def hook_files_for(
    environment: Environment, *, system_config: Path | None, default_platforms: Sequence[str]
) -> tuple[HookFile, ...]:
    """Return the pip hook's files for an opened environment, recording this condawheel.

    With them, the environment's pip configuration file naming its own pip cache
    (:mod:`condawheel.env.pipcache`), which protects the system Python's pip whether or
    not the hook itself works.
    """
    return (
        *render_pip_hook(
            site_packages(environment),
            condawheel_python=sys.executable,
            system_config=system_config,
            default_platforms=default_platforms,
        ),
        pip_cache_file(environment.prefix, windows=environment.facts.is_windows),
    )


def compile_hook_module(environment: Environment) -> bool:
    """Write the hook modules' bytecode with the environment's interpreter; return if done.

    Every start of that interpreter imports the start-up module. Without bytecode it is
    compiled each time wherever bytecode is not written: a read-only environment, or
    ``PYTHONDONTWRITEBYTECODE`` set. pip compiles what it installs for the same reason.
    ``hook remove`` deletes the bytecode with the modules.
    """
    site = Path(environment.facts.paths["purelib"])
    modules = [str(site / f"{name}.py") for name in (HOOK_MODULE, PATCHES_MODULE)]
    try:
        done = subprocess.run(
            [str(environment.facts.python), "-I", "-c", _COMPILE, *modules],
            capture_output=True,
            check=False,
            env={**os.environ, PIP_HOOK_SWITCH: "0"},
        )
    except OSError:
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class WheelFileInstall:
    """What installing one wheel file that pip resolved did."""

    installation: Installation
    relocated: tuple[Path, ...]
    notes: tuple[str, ...]


def install_wheel_file(
    prefix: Path,
    wheel: Path,
    *,
    requested: bool,
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG,
) -> WheelFileInstall:
    """Install one wheel file into an environment as ``condawheel install`` would, unresolved.

    The hook calls this (``condawheel hook install-wheel``) for each conda wheel pip has
    resolved: pip chose it and has moved aside any distribution it replaces, so only the
    checks and the faithful install are left.

    :raises InstallError: for anything ``condawheel install`` refuses (a file conda owns...).
    :raises ExternalDependencyError: for unmet ``Requires-External``.
    """
    environment = open_environment(prefix, system_config=system_config)
    installation = decide_for_environment(environment, [(read_wheel(wheel), requested)])
    relocated, _, warnings = apply_installation(installation, environment.facts)
    notes = [f"{item.name} {item.version}: {item.reason}" for item in installation.already]
    return WheelFileInstall(installation, relocated, (*installation.warnings, *notes, *warnings))
