"""Conda packages made from real PyPI wheels by whl2conda (tests only).

The wheels are pinned, fetched once with pip (``pip download --no-deps``) into the pytest
cache folder (``.pytest_cache/d/pypi-wheels``), and turned into ``.conda`` packages by
whl2conda itself (a test dependency), as a user of whl2conda would make them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["PINNED_WHEELS", "MadeFromWheels", "made_from_wheels"]

# Pure-Python wheels: every one is both a dependency test and a file-for-file test.
PINNED_WHEELS: Final = (
    "rich==13.9.4",
    "markdown-it-py==3.0.0",
    "mdurl==0.1.2",
    "pygments==2.18.0",
    "requests==2.32.3",
    "jinja2==3.1.4",
    "typer==0.15.1",
    "click==8.1.7",
    "shellingham==1.5.4",
    "urllib3==2.3.0",
    "ipykernel==6.29.5",
)


@dataclass(frozen=True)
class MadeFromWheels:
    """The pinned wheels and the conda packages whl2conda made of them, by project."""

    wheels: dict[str, Path]
    packages: dict[str, Path]


def download_wheels(requirements: Iterable[str], folder: Path) -> dict[str, Path]:
    """Fetch each pinned wheel into ``folder`` unless it is there; return them by project."""
    wanted = {line.split("==")[0]: line for line in requirements}
    missing = [line for name, line in wanted.items() if not _find(folder, name, line)]
    if missing:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--dest", str(folder), *missing],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"pip could not download {missing}: {done.stderr[-2000:]}")
    found = {name: _find(folder, name, line) for name, line in wanted.items()}
    return {name: path for name, path in found.items() if path is not None}


def _find(folder: Path, name: str, line: str) -> Path | None:
    stem = f"{name.replace('-', '_')}-{line.split('==')[1]}-"
    matches = [path for path in folder.glob("*.whl") if path.name.lower().startswith(stem)]
    return matches[0] if matches else None


def whl2conda(wheel: Path, out_dir: Path, *extra: str) -> Path:
    """Make a ``.conda`` of ``wheel`` with whl2conda; return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(out_dir.glob("*.conda"))
    environment = dict(os.environ, HOME=str(out_dir.parent))  # whl2conda's settings file
    done = subprocess.run(
        [sys.executable, "-m", "whl2conda", "convert", str(wheel), "--out-dir", str(out_dir),
         "--out-format", "V2", "--overwrite", "--quiet", "--ignore-pyproject",
         *extra],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (made,) = set(out_dir.glob("*.conda")) - before
    return made


@pytest.fixture(scope="session")
def made_from_wheels(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> MadeFromWheels:
    """The pinned PyPI wheels and their whl2conda packages (made once per session)."""
    # The pytest cache keeps the downloads between runs; without it, this session's.
    store = getattr(request.config, "cache", None)
    cache = (
        Path(store.mkdir("pypi-wheels"))
        if store is not None
        else tmp_path_factory.mktemp("pypi-wheels")
    )
    wheels = download_wheels(PINNED_WHEELS, cache)
    assert set(wheels) == {line.split("==")[0] for line in PINNED_WHEELS}
    out = tmp_path_factory.mktemp("whl2conda") / "noarch"
    packages = {name: whl2conda(wheel, out) for name, wheel in wheels.items()}
    return MadeFromWheels(wheels, packages)
