"""Conda packages made from real PyPI wheels by whl2conda (tests only).

The pinned wheels are fetched before the tests by ``scripts/fetch_test_wheels.py`` (the
tests stay offline) into ``.cache/test-wheels`` (``$CONDAWHEEL_TEST_WHEELS``), and turned
into ``.conda`` packages by whl2conda itself (a test dependency), as a user of whl2conda
would make them.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from pip_hook_support import fetched_wheels

__all__ = ["PINNED_WHEELS", "MadeFromWheels", "made_from_wheels"]


def _pinned() -> tuple[str, ...]:
    """Return the list the fetching script downloads (one list for both)."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "fetch_test_wheels.py"
    spec = importlib.util.spec_from_file_location("fetch_test_wheels", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pinned: tuple[str, ...] = module.MADE_FROM_WHEELS
    return pinned


PINNED_WHEELS: Final = _pinned()


@dataclass(frozen=True)
class MadeFromWheels:
    """The pinned wheels and the conda packages whl2conda made of them, by project."""

    wheels: dict[str, Path]
    packages: dict[str, Path]


def pinned_wheel(folder: Path, line: str) -> Path:
    """Return the fetched wheel of one pin (``name==version``); fail saying how to get it."""
    name, version = line.split("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    found = [path for path in folder.glob("*.whl") if path.name.lower().startswith(stem)]
    if not found:
        pytest.fail(
            f"no {line} wheel in {folder}; run `python scripts/fetch_test_wheels.py` "
            "(the tests stay offline)"
        )
    return found[0]


def whl2conda(wheel: Path, out_dir: Path, *extra: str, out_format: str = "V2") -> Path:
    """Make a conda package of ``wheel`` with whl2conda (V2: ``.conda``); return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "*.conda" if out_format == "V2" else "*.tar.bz2"
    before = set(out_dir.glob(suffix))
    environment = dict(os.environ, HOME=str(out_dir.parent))  # whl2conda's settings file
    done = subprocess.run(
        [sys.executable, "-m", "whl2conda", "convert", str(wheel), "--out-dir", str(out_dir),
         "--out-format", out_format, "--overwrite", "--quiet", "--ignore-pyproject",
         *extra],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (made,) = set(out_dir.glob(suffix)) - before
    return made


@pytest.fixture(scope="session")
def made_from_wheels(tmp_path_factory: pytest.TempPathFactory) -> MadeFromWheels:
    """The pinned PyPI wheels and their whl2conda packages (made once per session)."""
    folder = fetched_wheels()
    wheels = {line.split("==")[0]: pinned_wheel(folder, line) for line in PINNED_WHEELS}
    out = tmp_path_factory.mktemp("whl2conda") / "noarch"
    packages = {name: whl2conda(wheel, out) for name, wheel in wheels.items()}
    return MadeFromWheels(wheels, packages)
