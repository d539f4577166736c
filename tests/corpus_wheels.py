"""Shared helpers for tests that convert the real corpus and run real pip / installer."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile

from envs import link_python

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def python312() -> Path:
    """Return the machine's CPython 3.12 (conda-forge's cp312 builds need it)."""
    from conda_envs import find_python312  # noqa: PLC0415 - one place finds interpreters

    return find_python312()


def isolated_pip_env() -> dict[str, str]:
    """Environment for a pip that reads no user/site configuration and no network index."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def make_prefix(root: Path, python: Path) -> tuple[Path, dict[str, str]]:
    """Create a fresh prefix whose interpreter is ``python`` and return its install scheme.

    A bare prefix with ``bin/python`` linked venv-style (corpus README), so that
    ``sys.prefix`` is the prefix and no activate scripts collide with packages' files.
    """
    link_python(root, python)
    probe = (
        "import json, sysconfig; "
        f"print(json.dumps(sysconfig.get_paths(vars={{'base': {str(root)!r}, "
        f"'platbase': {str(root)!r}}})))"
    )
    out = subprocess.run(
        [str(root / "bin" / "python"), "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    paths = json.loads(out)
    scheme = {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "headers": str(Path(paths["include"]) / "site"),
        "scripts": paths["scripts"],
        "data": paths["data"],
    }
    return root, scheme


def install_wheels(wheels: Iterable[Path], scheme: Mapping[str, str], python: Path) -> None:
    """Install wheels with pypa/installer (no tag check: it trusts the caller, as designed)."""
    for wheel in wheels:
        destination = SchemeDictionaryDestination(
            dict(scheme), interpreter=str(python), script_kind="posix"
        )
        with WheelFile.open(wheel) as source:
            install(source, destination, additional_metadata={})


def run_python(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run code with an interpreter, isolated from the test process's environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=env, check=False
    )
