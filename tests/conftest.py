"""Shared fixtures: the corpus location, reproducible timestamps, hypothesis budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parent.parent

# CI runs the property tests with a fixed budget; `HYPOTHESIS_PROFILE=thorough` explores more.
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def corpus_root() -> Path:
    """Return the shared corpus of real conda packages (``$CONDAWHEEL_CORPUS`` overrides)."""
    configured = os.environ.get("CONDAWHEEL_CORPUS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "corpus"


def unmeasured_environment() -> dict[str, str]:
    """Return this process's environment for a child Python run under a small file-size limit.

    CI measures coverage in every Python child the tests start (coverage.py's ``patch =
    ["subprocess"]`` passes ``COVERAGE_PROCESS_CONFIG`` down). A child that may write only a
    few kB cannot write its coverage data either: it would leave a broken data file and a
    traceback on its stderr, so such a child is not measured.
    """
    return {key: value for key, value in os.environ.items() if key != "COVERAGE_PROCESS_CONFIG"}


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus directory; its absence is an error, not a skip: the corpus is the proof."""
    root = corpus_root()
    if not (root / "channel").is_dir():
        pytest.fail(f"corpus not found at {root}; set CONDAWHEEL_CORPUS")
    return root


@pytest.fixture(autouse=True)
def _reproducible_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's SOURCE_DATE_EPOCH from leaking into tests."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
