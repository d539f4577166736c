"""uv and condawheel: what ``condawheel install`` installs is at peace with uv and pip check;
``uv lock`` over the plain view of a shared wheelhouse locks no conda-only version.

Real uv (from PyPI, a test dependency), real conda environments (py-rattler, the corpus),
offline with a private cache.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest

from conda_envs import CondaEnvironments, conda_environments
from pip_hook_support import (
    ENV_SPECS,
    condawheel,
    env_a_wheelhouse,
    pip,
    plain_wheel,
    site_packages,
    uv,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["conda_environments", "env_a_wheelhouse"]  # fixtures, imported for pytest


@pytest.fixture(scope="module")
def wheelhouse(env_a_wheelhouse: Path) -> Path:
    """Environment A's conda packages, converted by ``condawheel sync`` and indexed."""
    return env_a_wheelhouse


@pytest.mark.slow
@pytest.mark.corpus
def test_after_condawheel_install_pip_and_uv_are_at_peace(
    conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    prefix = conda_environments.create(tmp_path / "env", (*ENV_SPECS, "pip"))
    done = condawheel(
        "install", "cffi", "requests", "--prefix", str(prefix), "--wheelhouse", str(wheelhouse),
        "--system-config", str(tmp_path / "none"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    python = str(prefix / "bin" / "python")
    cache = tmp_path / "uv-cache"
    checked = pip(prefix, "check")
    assert checked.returncode == 0, checked.stdout
    uv_checked = uv("pip", "check", "--python", python, cache=cache)
    assert uv_checked.returncode == 0, uv_checked.stdout + uv_checked.stderr
    # uv keeps a distribution that satisfies the requirement: idna 3.10 from a conda wheel.
    idna = next(site_packages(prefix).glob("idna-*.dist-info"))
    kept = uv(
        "pip", "install", "--python", python, "--no-index", "--find-links", str(wheelhouse),
        "idna>=3", "cffi", cache=cache,
    )  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert "Uninstalled" not in kept.stderr
    assert "Installed" not in kept.stderr
    assert idna.is_dir()
    assert (idna / "INSTALLER").read_text() == "condawheel\n"
    listed = uv("pip", "list", "--python", python, "--format", "json", cache=cache)
    versions = {item["name"]: item["version"] for item in json.loads(listed.stdout)}
    assert (versions["cffi"], versions["idna"], versions["requests"]) == (
        "1.17.1",
        "3.10",
        "2.32.3",
    )
    pip_listed = pip(prefix, "list", "--format", "json")
    assert {item["name"].lower() for item in json.loads(pip_listed.stdout)} >= {
        "cffi",
        "idna",
        "requests",
    }
    # uv's tags are closed: uv itself never installs a conda wheel.
    refused = uv(
        "pip", "install", "--python", python, "--no-index", "--find-links", str(wheelhouse),
        "tqdm", cache=cache,
    )  # fmt: skip
    assert refused.returncode != 0
    assert (
        "no wheels with valid tags" in " ".join(refused.stderr.split())
        or "has no wheels" in refused.stderr
    )


@pytest.mark.slow
@pytest.mark.corpus
def test_a_universal_lock_over_the_plain_view_locks_no_conda_only_version(
    wheelhouse: Path, tmp_path: Path
) -> None:
    # One wheelhouse: conda's idna 3.10 (a conda wheel only) and an ordinary idna 3.7.
    shared = tmp_path / "W"
    shared.mkdir()
    shutil.copy(next(wheelhouse.glob("idna-3.10-*.whl")), shared)
    plain_wheel(shared, "idna", "3.7")
    indexed = condawheel("index", str(shared))
    assert indexed.returncode == 0, indexed.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["idna"]\n'
    )

    def locked(view: str) -> str:
        done = uv(
            "lock", "--no-config", "--directory", str(project),
            "--default-index", (shared / view).as_uri(), cache=tmp_path / "uv-cache",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lock = (project / "uv.lock").read_text()
        [version] = [
            block.split('version = "', 1)[1].split('"', 1)[0]
            for block in lock.split("[[package]]")
            if block.strip().startswith('name = "idna"')
        ]
        return version

    assert locked("simple") == "3.10"  # the whole index: a conda-only version gets locked
    assert locked("simple-plain") == "3.7"
    conda_view = json.loads((shared / "simple-conda" / "idna" / "index.json").read_text())
    assert [item["filename"] for item in conda_view["files"]] == [
        next(shared.glob("idna-3.10-*.whl")).name
    ]
