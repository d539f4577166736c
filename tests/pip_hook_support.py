"""Helpers of the pip-hook and uv tests: run condawheel, an environment's pip, uv; find pips."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conda_envs import ENV_A_SPECS, CondaEnvironments
from env_support import WheelSpec, make_wheel
from envs import find_python

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

REPO = Path(__file__).resolve().parent.parent
HOOK = "_condawheel_pip_hook"
ENV_SPECS = ("python 3.12.*", "libffi", "zstd", "libgcc", "packaging")


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without pip/uv/hook settings, plus ``extra``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "UV_", "CONDAWHEEL_", "PYTHON"))
    }
    environment["PIP_CONFIG_FILE"] = os.devnull
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    environment.update(extra or {})
    return environment


def condawheel(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run ``condawheel`` (the one under test) as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "condawheel", *arguments],
        capture_output=True,
        text=True,
        check=False,
        env=clean_environment(),
    )


def python_of(prefix: Path) -> Path:
    return prefix / "bin" / "python"


def run_python(
    prefix: Path, *arguments: str, extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the environment's own interpreter."""
    return subprocess.run(
        [str(python_of(prefix)), *arguments],
        capture_output=True,
        text=True,
        check=False,
        env=clean_environment(extra),
    )


def pip(
    prefix: Path, *arguments: str, extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the environment's own pip, as ``python -m pip``."""
    return run_python(prefix, "-m", "pip", *arguments, extra=extra)


def uv(*arguments: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """Run the real uv of the test environment, offline, with a private cache."""
    executable = Path(sys.executable).parent / "uv"
    return subprocess.run(
        [str(executable), *arguments],
        capture_output=True,
        text=True,
        check=False,
        env=clean_environment({"UV_CACHE_DIR": str(cache), "UV_OFFLINE": "1"}),
    )


def error_lines(stderr: str) -> list[str]:
    """pip's ``ERROR:`` lines."""
    return [line for line in stderr.splitlines() if line.startswith("ERROR:")]


def hook_install(prefix: Path, wheelhouse: Path, system_config: Path) -> None:
    done = condawheel(
        "hook", "install", "--prefix", str(prefix), "--wheelhouse", str(wheelhouse),
        "--system-config", str(system_config),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def site_packages(prefix: Path) -> Path:
    [site] = prefix.glob("lib/python3.*/site-packages")
    return site


def fetched_wheels() -> Path:
    configured = os.environ.get("CONDAWHEEL_TEST_WHEELS")
    return Path(configured) if configured else REPO / ".cache" / "test-wheels"


def pip_wheel(which: str) -> Path:
    """Return the fetched pip wheel: ``oldest`` (22.2) or ``newest`` (highest version)."""
    found = sorted(
        fetched_wheels().glob("pip-*-py3-none-any.whl"),
        key=lambda path: tuple(int(part) for part in re.findall(r"\d+", path.name.split("-")[1])),
    )
    wanted = (
        [path for path in found if path.name.startswith("pip-22.2-")]
        if which == "oldest"
        else found[-1:]
    )
    if not wanted:
        pytest.fail(
            f"no {which} pip wheel in {fetched_wheels()}; run `python scripts/fetch_test_wheels.py` "
            "(it downloads pip 22.2 and the newest pip; the tests stay offline)"
        )
    return wanted[0]


def install_pip(prefix: Path, wheel: Path) -> None:
    """Install a pip wheel into an environment that has none (with the test suite's pip)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python_of(prefix)), "install",
         "--no-index", "--no-deps", "--quiet", str(wheel)],
        capture_output=True, text=True, check=False, env=clean_environment(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def make_flavoured_environment(
    conda_environments: CondaEnvironments, prefix: Path, flavour: str
) -> Path:
    """A conda environment with the pip of a flavour: conda-forge's, the oldest, the newest.

    The oldest supported pip (22.2) does not run on Python 3.12, so its environment holds
    conda's C libraries and a CPython 3.11 linked in (the corpus's only interpreter
    package is for 3.12).
    """
    if flavour == "conda-forge":
        return conda_environments.create(prefix, (*ENV_SPECS, "pip"))
    if flavour == "newest":
        conda_environments.create(prefix, ENV_SPECS)
        install_pip(prefix, pip_wheel("newest"))
        return prefix
    python = find_python("3.11")
    if python is None:
        pytest.fail("no CPython 3.11 on this machine (pip 22.2 needs Python <= 3.11)")
    environment = CondaEnvironments(conda_environments.channel, conda_environments.cache, python)
    environment.create(prefix, ("libffi", "zstd", "libgcc"))
    install_pip(prefix, pip_wheel("oldest"))
    return prefix


def pip_version(prefix: Path) -> str:
    done = run_python(prefix, "-c", "import pip; print(pip.__version__)")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def replace_file(path: Path, data: bytes) -> None:
    """Replace a file by a new one (never writing through a hard link of the cache)."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def run_checked(arguments: Sequence[str]) -> str:
    done = subprocess.run(list(arguments), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


_SHARED: dict[str, Path] = {}


@pytest.fixture(scope="session")
def env_a_wheelhouse(
    conda_environments: CondaEnvironments, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Environment A's conda packages, converted by ``condawheel sync`` and indexed (once)."""
    # Imported by several test modules (each import is a fixture definition of its own).
    if "wheelhouse" not in _SHARED:
        root = tmp_path_factory.mktemp("env-a-wheelhouse")
        env_a = conda_environments.create(root / "A", ENV_A_SPECS)
        done = condawheel(
            "sync", str(env_a), "--wheelhouse", str(root / "W"),
            "--system-config", str(root / "no-system.cfg"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        _SHARED["wheelhouse"] = root / "W"
    return _SHARED["wheelhouse"]


def plain_wheel(folder: Path, name: str, version: str) -> Path:
    """An ordinary ``py3-none-any`` wheel of a project, holding an empty package."""
    spec = WheelSpec(
        name=name,
        version=version,
        build=None,
        tag="py3-none-any",
        files={f"{name}/__init__.py": b""},
    )
    return make_wheel(folder, spec)
