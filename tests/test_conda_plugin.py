"""Proof of the conda plugin: a real conda 24.11 from the corpus runs it after its commands.

conda, its Python dependencies and the classic solver come from the corpus channel (a
py-rattler environment with the machine's Python 3.12 linked in); condawheel is installed
into it with that environment's pip, from this checkout (its PyPI dependencies from the
index pip is configured with). conda then creates, installs into and removes from a second
prefix, offline, from a ``file://`` copy of the channel.

The classic solver: conda-libmamba-solver's libcurl needs OpenSSL 3.2, but the linked
interpreter has already loaded the system's libssl when conda loads the solver plugin, so
the plugin fails to load (conda says so on stderr and goes on). The solver is not what
this proves.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conda_envs import CondaEnvironments, conda_environments
from syncing import run_condawheel

__all__ = ["conda_environments"]  # a fixture, imported for pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONDA_SPECS = ("python 3.12.*", "conda", "pip")


@dataclass(frozen=True)
class Conda:
    """A conda installation with condawheel installed, and a sandbox to run it in."""

    prefix: Path
    channel: Path
    home: Path

    def run(self, *args: str, wheelhouse: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``conda ARGS`` offline against the channel copy, in the sandbox."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CONDA", "_CE_", "CONDAWHEEL_", "PIP_"))
        }
        env.update(
            HOME=str(self.home),  # conda records environments in ~/.conda
            CONDARC=str(self.home / "condarc"),
            CONDA_PKGS_DIRS=str(self.home / "pkgs"),
            CONDA_SOLVER="classic",
            PYTHONNOUSERSITE="1",
        )
        if wheelhouse is not None:
            env["CONDAWHEEL_WHEELHOUSE"] = str(wheelhouse)
        return subprocess.run(
            [str(self.prefix / "bin" / "conda"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    def change(
        self, command: str, target: Path, *specs: str, wheelhouse: Path | None = None
    ) -> str:
        """Run ``conda COMMAND -p TARGET SPECS`` offline; return its stderr."""
        done = self.run(
            command, "-y", "-q", "-p", str(target), "--offline", "--override-channels",
            "-c", self.channel.as_uri(), *specs, wheelhouse=wheelhouse,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stderr


@pytest.fixture(scope="module")
def conda(conda_environments: CondaEnvironments, tmp_path_factory: pytest.TempPathFactory) -> Conda:
    """conda from the corpus, with condawheel (this checkout) installed by its own pip."""
    root = tmp_path_factory.mktemp("conda-plugin")
    prefix = conda_environments.create(root / "conda", CONDA_SPECS)
    # When the tests are measured (CI), coverage.py in conda's environment measures the
    # plugin where it runs, in conda's process (its .pth reads COVERAGE_PROCESS_CONFIG).
    measured = ["coverage"] if "COVERAGE_PROCESS_CONFIG" in os.environ else []
    installed = subprocess.run(
        [str(prefix / "bin" / "python"), "-m", "pip", "install", "-q", str(REPO_ROOT), *measured],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONNOUSERSITE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    home = root / "home"
    home.mkdir()
    (home / "condarc").write_text("channels: []\n", encoding="utf-8")
    return Conda(prefix, conda_environments.channel, home)


def condawheel_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("condawheel:")]


def records_of(prefix: Path) -> list[Path]:
    return sorted((prefix / "conda-meta").glob("*.json"))


@pytest.mark.slow
@pytest.mark.corpus
def test_conda_runs_the_plugin_after_changing_an_environment(conda: Conda, tmp_path: Path) -> None:
    version = conda.run("--version")
    assert version.stdout.strip() == "conda 24.11.3", version.stdout + version.stderr
    target, wheelhouse = tmp_path / "target", tmp_path / "W"

    # Without CONDAWHEEL_WHEELHOUSE the plugin does nothing and says nothing.
    stderr = conda.change("create", target, "python 3.12.*", "tqdm")
    assert condawheel_lines(stderr) == []
    assert not wheelhouse.exists()

    # With it, the environment conda changed is synced: every package it holds, once.
    stderr = conda.change("install", target, "zstandard", wheelhouse=wheelhouse)
    records = records_of(target)
    assert [line.split(": ", 2)[:2] for line in condawheel_lines(stderr)] == [
        ["condawheel", f"synced {target} into {wheelhouse}"]
    ]
    assert f": {len(records)} converted, 0 unchanged, 0 skipped, 0 failed" in stderr
    names = {path.name.split("-", 1)[0] for path in wheelhouse.glob("*.whl")}
    assert {"tqdm", "zstandard", "conda_pkg_zstd", "conda_pkg_python"} <= names
    # What `condawheel sync` of that prefix would have made is already there.
    done = run_condawheel("sync", str(target), "--wheelhouse", str(wheelhouse), "--json")
    assert done.returncode == 0, done.stderr
    counts = {key: value for key, value in json.loads(done.stdout)["counts"].items() if value}
    assert counts == {"unchanged": len(records)}


@pytest.mark.slow
@pytest.mark.corpus
def test_a_failed_sync_never_fails_the_conda_command(conda: Conda, tmp_path: Path) -> None:
    target, not_a_folder = tmp_path / "target", tmp_path / "W"
    conda.change("create", target, "python 3.12.*", "tqdm")
    not_a_folder.write_text("a file where the wheelhouse should be\n", encoding="utf-8")

    stderr = conda.change("remove", target, "tqdm", wheelhouse=not_a_folder)

    assert not (target / "bin" / "tqdm").exists()  # conda's command did its work
    lines = condawheel_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"condawheel: sync of {target} failed: ")
    assert not_a_folder.read_text(encoding="utf-8") == "a file where the wheelhouse should be\n"
