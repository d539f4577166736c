"""A tiny run of the benchmark scripts, so that they keep working (not a timing test)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO_ROOT


@pytest.mark.corpus
def test_benchmarks_smoke() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), "--smoke"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "| condawheel: libstdcxx" in run.stdout
    assert "| no-op re-sync of 20 packages" in run.stdout
    assert "| python -c pass: with the hook" in run.stdout
    assert "| condawheel lists it, --select pkg0* (20 records)" in run.stdout
    assert "| condawheel --version" in run.stdout
    assert "| condawheel: mixed-2mb-1.0-h0_0.tar.bz2" in run.stdout
    assert "| sync 5 tiny packages --scheduler, 1 Dask worker" in run.stdout
