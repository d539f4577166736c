"""Wheel-name collisions: two conda names, one distribution; one artifact, two file names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from conftest import corpus_root
from syncing import run_condawheel

if TYPE_CHECKING:
    from pathlib import Path

PYDISTCHECK = "edge/jameslamb+pydistcheck"
IDNA = "channel/noarch/idna-3.10-pyhd8ed1ab_1.conda"
pytestmark = pytest.mark.corpus


def _convert(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "condawheel", "convert", *map(str, arguments)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def _two_conda_names(folder: Path) -> tuple[Path, Path]:
    """debug-baseballmetrics ships the distribution baseballmetrics, as baseballmetrics does."""
    folder.mkdir(parents=True)
    pair = []
    for name in (
        "osx-64-baseballmetrics-0.1.0-0.conda",
        "osx-64-debug-baseballmetrics-0.1.0-0.conda",
    ):
        pair.append(folder / name.removeprefix("osx-64-"))
        shutil.copy(corpus_root() / PYDISTCHECK / name, pair[-1])
    return pair[0], pair[1]


def _hash_prefixed_copy(folder: Path) -> tuple[Path, Path]:
    """One artifact under its own name and under a content-hash-prefixed copy's."""
    folder.mkdir(parents=True)
    original = folder / "idna-3.10-pyhd8ed1ab_1.conda"
    shutil.copy(corpus_root() / IDNA, original)
    copy = folder / "d7a472c9-idna-3.10-pyhd8ed1ab_1.conda"
    shutil.copy(original, copy)
    return original, copy


def test_convert_says_why_two_conda_names_make_one_wheel(tmp_path: Path) -> None:
    first, second = _two_conda_names(tmp_path / "in")
    done = _convert(first, second, "-o", tmp_path / "out")
    assert done.returncode == 1
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert str(second) in error
    assert "the conda package 'baseballmetrics'" in error
    assert "'debug-baseballmetrics' carries the same Python distribution 'baseballmetrics'" in error
    assert "separate folders (-o)" in error  # the way out
    # ...and the way out works.
    done = _convert(second, "-o", tmp_path / "other")
    assert done.returncode == 0, done.stderr


def test_convert_takes_a_renamed_copy_for_a_duplicate(tmp_path: Path) -> None:
    original, copy = _hash_prefixed_copy(tmp_path / "in")
    done = _convert(original, copy, "-o", tmp_path / "out", "--json")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [record["status"] for record in records] == ["written", "duplicate"]
    assert records[1]["wheel"] == records[0]["wheel"]
    assert "the same artifact as idna-3.10-pyhd8ed1ab_1.conda" in records[1]["note"]
    assert "1 written, 0 unchanged, 1 duplicate(s), 0 failed" in done.stderr
    assert len(list((tmp_path / "out").iterdir())) == 1


def _sync(folder: Path, wheelhouse: Path) -> tuple[int, Any]:
    done = run_condawheel("sync", str(folder), "-w", str(wheelhouse), "--json")
    return done.returncode, json.loads(done.stdout)


def test_sync_says_why_two_conda_names_make_one_wheel(tmp_path: Path) -> None:
    _two_conda_names(tmp_path / "channel" / "osx-64")
    code, report = _sync(tmp_path / "channel", tmp_path / "W")
    assert code == 1
    (conflict,) = [item for item in report["artifacts"] if item["status"] == "conflict"]
    # Which of the two lands first is the workers' order; the other one is told why.
    ours = conflict["filename"].removesuffix("-0.1.0-0.conda")
    (other,) = {"baseballmetrics", "debug-baseballmetrics"} - {ours}
    reason = conflict["reason"]
    assert f"{ours!r} and {other!r} carry the same Python distribution (baseballmetrics)" in reason
    assert "separate wheelhouses" in reason


def test_sync_skips_a_renamed_copy_as_a_duplicate(tmp_path: Path) -> None:
    _hash_prefixed_copy(tmp_path / "channel" / "noarch")
    code, report = _sync(tmp_path / "channel", tmp_path / "W")
    assert code == 0, report
    statuses = sorted(item["status"] for item in report["artifacts"])
    assert statuses == ["converted", "skipped"]
    (skipped,) = [item for item in report["artifacts"] if item["status"] == "skipped"]
    assert "same artifact as" in skipped["reason"]
    assert len(list((tmp_path / "W").glob("*.whl"))) == 1


def test_a_copy_synced_after_its_original_is_a_duplicate_not_a_conflict(tmp_path: Path) -> None:
    """The wheel made from the original (by convert) stands for its renamed copy too."""
    original, _ = _hash_prefixed_copy(tmp_path / "channel" / "noarch")
    original.unlink()
    wheelhouse = tmp_path / "W"
    done = _convert(corpus_root() / IDNA, "-o", wheelhouse)
    assert done.returncode == 0, done.stderr
    code, report = _sync(tmp_path / "channel", wheelhouse)
    assert code == 0, report
    (item,) = report["artifacts"]
    # The sidecar names the artifact by its sha256: the wheel is adopted, not rebuilt.
    assert item["status"] == "unchanged"
    assert len(list(wheelhouse.glob("*.whl"))) == 1
