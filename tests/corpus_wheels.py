"""Shared helpers for tests that convert the real corpus and run real pip / installer."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def python312() -> Path:
    """Return the machine's CPython 3.12 (conda-forge's cp312 builds need it)."""
    candidates = [
        Path(os.environ["CONDAWHEEL_PYTHON312"]) if "CONDAWHEEL_PYTHON312" in os.environ else None,
        *sorted(
            Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"), "versions").glob(
                "3.12*/bin/python3.12"
            )
        ),
        Path("/usr/bin/python3.12"),
        Path("/usr/local/bin/python3.12"),
    ]
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate
    msg = "no CPython 3.12 found: set CONDAWHEEL_PYTHON312"
    raise RuntimeError(msg)


def isolated_pip_env() -> dict[str, str]:
    """Environment for a pip that reads no user/site configuration and no network index."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def make_prefix(root: Path, python: Path) -> tuple[Path, dict[str, str]]:
    """Create a fresh prefix (a venv of ``python``) and return it with its install scheme."""
    # A bare prefix whose interpreter is a link to ``python`` plus a pyvenv.cfg, so that
    # sys.prefix is the prefix (corpus README); no activate scripts to collide with.
    (root / "bin").mkdir(parents=True)
    real = python.resolve()
    for name in ("python", "python3", f"python{_version(real)}"):
        (root / "bin" / name).symlink_to(real)
    (root / "pyvenv.cfg").write_text(
        f"home = {real.parent}\ninclude-system-site-packages = false\n", encoding="utf-8"
    )
    probe = (
        "import json, sysconfig; "
        f"print(json.dumps(sysconfig.get_paths(vars={{'base': {str(root)!r}, "
        f"'platbase': {str(root)!r}}})))"
    )
    out = subprocess.run(
        [str(root / "bin" / "python"), "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    import json  # noqa: PLC0415

    paths = json.loads(out)
    scheme = {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "headers": str(Path(paths["include"]) / "site"),
        "scripts": paths["scripts"],
        "data": paths["data"],
    }
    return root, scheme


def _version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


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


def host_sysconfig_platform() -> str:
    """Return this interpreter's platform tag (for messages)."""
    return sysconfig.get_platform()


def running_python() -> Path:
    """Return the interpreter running the tests (it has pip and installer)."""
    return Path(sys.executable)
