"""The environment's own pip cache, named in the environment's pip configuration file.

pip keys its wheel cache by the interpreter's name and version only
(``pip/_internal/cache.py``), not by where the interpreter comes from: a wheel pip builds
with a conda environment's Python 3.12, linked against the environment's libraries and
tagged ``linux_x86_64``, is found again by the system Python 3.12's pip, which installs it
and fails at import. ``condawheel hook install`` therefore gives the environment a cache of
its own: pip reads ``<sys.prefix>/pip.conf`` (``pip.ini`` on Windows) as its *site*
configuration, after the global and user files, so its ``cache-dir`` applies to the
environment's pip and to no other interpreter's. ``condawheel build`` passes the same folder
on pip's command line, which wins over every configuration file and environment variable.

This works without the pip hook (:mod:`condawheel.env.piphook`), and with any pip since 10.
``PIP_CACHE_DIR`` or ``PIP_CONFIG_FILE`` set by the user still win over the file (pip's
order); that is their choice.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Final

from condawheel.env.hooks import HookFile

__all__ = ["PIP_CACHE_FOLDER", "environment_pip_cache", "pip_cache_file", "pip_config_name"]

PIP_CACHE_FOLDER: Final = "var/cache/pip"
"""The environment's pip cache, relative to its prefix."""


def environment_pip_cache(prefix: str | PurePath) -> Path:
    """Return the pip cache folder of the environment at ``prefix``."""
    return Path(prefix, *PIP_CACHE_FOLDER.split("/"))


def pip_config_name(*, windows: bool) -> str:
    """Return the name of pip's site configuration file in ``sys.prefix``."""
    return "pip.ini" if windows else "pip.conf"


def pip_cache_file(prefix: str | PurePath, *, windows: bool) -> HookFile:
    """Render the environment's pip configuration file, naming its own cache (pure)."""
    text = (
        "# condawheel hook: written by `condawheel hook install`, removed by `condawheel hook "
        "remove`.\n"
        "# This environment's pip keeps its own cache: wheels built here link this "
        "environment's\n# conda libraries and must not reach another Python's pip.\n"
        f"[global]\ncache-dir = {environment_pip_cache(prefix)}\n"
    )
    return HookFile(pip_config_name(windows=windows), text.encode())
