"""Session-wide real conda environments for the environment-side tests (built with ``envs``).

``envs`` holds the offline py-rattler recipe of ``../shared/corpus/README.md``. This module
adds what the install tests share: one indexed copy of the corpus channel and one rattler
package cache for the whole session (every environment after the first is a warm install,
about a second), the two environments of the proof (A and B), and the interpreter to link.
Environments are hard-linked into the shared cache: a test must never write *into* an
existing file of one (condawheel itself never does).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from envs import find_python, index_channel, link_python, make_environment

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

ENV_A_SPECS = ("python 3.12.*", "cffi", "zstandard", "brotli-python", "requests", "tqdm", "pip")
# B: python, and the conda libraries that cffi's and zstandard's Requires-External name.
ENV_B_SPECS = ("python 3.12.*", "libffi", "zstd", "libgcc")


def find_python312() -> Path:
    """Return the machine's CPython 3.12 (conda-forge's cp312 builds need that minor)."""
    python = find_python("3.12")
    if python is None:
        pytest.fail("no CPython 3.12 on this machine; set CONDAWHEEL_PY312")
    return python


def link_python_into(prefix: Path, python: Path) -> None:
    """Make ``<prefix>/bin/python`` a venv-style link to a real interpreter (corpus README)."""
    link_python(prefix, python)


@dataclass(frozen=True)
class CondaEnvironments:
    """Makes conda environments from one indexed channel copy and one package cache."""

    channel: Path
    cache: Path
    python: Path

    def create(self, prefix: Path, specs: Sequence[str]) -> Path:
        """Create a conda environment at ``prefix`` holding the solved specs."""
        make_environment(self.channel, prefix, self.cache, specs, python=self.python)
        return prefix

    def package_files(self, prefix: Path) -> list[Path]:
        """Return the channel's package files of every record installed in ``prefix``."""
        files = []
        for record in sorted((prefix / "conda-meta").glob("*.json")):
            document = json.loads(record.read_text(encoding="utf-8"))
            files.append(self.channel / document["subdir"] / document["fn"])
        return files


_SHARED: dict[str, CondaEnvironments] = {}


@pytest.fixture(scope="session")
def conda_environments(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> CondaEnvironments:
    """One indexed channel and package cache for every test module of the session."""
    # Imported by several test modules; each import makes its own fixture definition, so
    # the instance is kept here to be built only once per session.
    if "default" not in _SHARED:
        root = tmp_path_factory.mktemp("conda-envs")
        channel = root / "channel"
        shutil.copytree(corpus / "channel", channel)  # indexing writes into the folder
        index_channel(channel)
        _SHARED["default"] = CondaEnvironments(channel, root / "cache", find_python312())
    return _SHARED["default"]
