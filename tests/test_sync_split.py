"""``condawheel sync`` lands every wheel of a package split by its Python distributions.

A package holding several Python distributions converts to one wheel per distribution and
a library wheel for the other files (tests/test_splitting.py). Here the real CLI syncs
such a package, built by the tests, from a folder channel and from a real HTTP channel on
loopback; real pip installs a distribution from the wheelhouse's index and gets the wheels
it requires. Then what a sync does on later runs: nothing, a repair, a prune, a conflict,
and a state from before split packages were synced.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from dataclasses import replace
from typing import TYPE_CHECKING, Final

import pytest

from builders import build_conda, build_tar_bz2, python_package, two_distributions
from conda_envs import find_python312
from condawheel.wheelhouse.frontpage import FRONT_PAGE
from condawheel.wheelhouse.landing import IDENTICAL, REPAIRED
from condawheel.wheelhouse.state import STATE_NAME
from envs import index_channel
from syncing import CONDA_LINUX_64_PIP, cli_environment, pip_command, serve, wheelhouse_digest
from test_sync import artifacts, by_status, counts, indexed_files, sync_cli, wheel_files

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from builders import CondaSpec

SPEC = two_distributions()
ALPHA: Final = "alpha-2.0-0_py312h0_0-cp312-none-conda_linux_64.whl"
BETA: Final = "beta-2.0-0_py312h0_0-cp312-none-conda_linux_64.whl"
LIBRARY: Final = "conda_pkg_splitdemo-2.0-0_py312h0_0-py3-none-conda_linux_64.whl"
WHEELS: Final = [ALPHA, BETA, LIBRARY]
"""In the order the converter makes them: the distributions, then the library wheel."""


def _channel(root: Path, *specs: CondaSpec) -> Path:
    """A channel with each package as ``.conda`` and ``.tar.bz2``, indexed by rattler."""
    folder = root / "linux-64"
    folder.mkdir(parents=True)
    for spec in specs:
        build_conda(spec, folder)
        build_tar_bz2(spec, folder)
    (root / "noarch").mkdir()
    index_channel(root, relax=False)
    return root


@pytest.fixture(params=["folder", "http"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The split package's channel: a folder, or served over HTTP on loopback."""
    root = _channel(tmp_path / "channel", SPEC)
    if request.param == "folder":
        yield str(root)
        return
    for server in serve(root):
        yield server.url


def _split_outcome(report: dict[str, object]) -> dict[str, object]:
    """The outcome of the split package's ``.conda``; its ``.tar.bz2`` twin is skipped."""
    [twin] = by_status(report, "skipped")
    assert str(twin["filename"]).endswith(".tar.bz2")
    [outcome] = [entry for entry in artifacts(report) if entry["status"] != "skipped"]
    return outcome


def _pip_install(wheelhouse: Path, target: Path, *requirements: str) -> None:
    """Install with real pip from the wheelhouse's PEP 503 index, into ``target``."""
    done = subprocess.run(
        [*pip_command(), "install", "--isolated", "--no-cache-dir", "--target", str(target),
         "--index-url", f"{wheelhouse.as_uri()}/simple", *CONDA_LINUX_64_PIP, *requirements],
        capture_output=True, text=True, env=cli_environment(), timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_split_package_lands_every_wheel_and_pip_installs_them_together(
    source: str, tmp_path: Path
) -> None:
    wheelhouse = tmp_path / "W"
    code, report, stderr = sync_cli(source, "-w", str(wheelhouse))

    assert code == 0, stderr
    assert counts(report) == {"converted": 1, "skipped": 1}
    outcome = _split_outcome(report)
    assert str(outcome["filename"]).endswith(".conda")
    assert (outcome["wheel"], outcome["wheels"]) == (ALPHA, WHEELS)
    assert wheel_files(wheelhouse) == set(WHEELS)
    # Every wheel is indexed (PEP 503/691 pages, its core metadata) and on the front page.
    assert indexed_files(wheelhouse) == set(WHEELS)
    for wheel in WHEELS:
        assert (wheelhouse / f"{wheel}.metadata").is_file()
    front_page = (wheelhouse / FRONT_PAGE).read_text()
    assert all(wheel in front_page for wheel in WHEELS)

    # The distribution wheel pulls in the other distribution and the library wheel.
    target = tmp_path / "target"
    _pip_install(wheelhouse, target, "alpha")
    installed = sorted(path.name for path in target.glob("*.dist-info"))
    assert installed == [
        "alpha-2.0.dist-info",
        "beta-2.0.dist-info",
        "conda_pkg_splitdemo-2.0.dist-info",
    ]
    # The library wheel's program (pip --target keeps no lib/ beside its own).
    assert (target / "bin" / "splitdemo-tool").read_bytes() == b"#!/bin/sh\necho tool\n"
    done = subprocess.run(
        [str(find_python312()), "-c", "import alpha; print(alpha.VALUE)"],
        capture_output=True, text=True, env={"PYTHONPATH": str(target)}, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "beta\n"), done.stderr


@pytest.fixture
def synced(tmp_path: Path) -> tuple[Path, Path]:
    """A folder channel of the split package, synced once: (channel, wheelhouse)."""
    channel = _channel(tmp_path / "channel", SPEC)
    wheelhouse = tmp_path / "W"
    code, _, stderr = sync_cli(str(channel), "-w", str(wheelhouse))
    assert code == 0, stderr
    assert wheel_files(wheelhouse) == set(WHEELS)
    return channel, wheelhouse


def _digests(wheelhouse: Path) -> dict[str, str]:
    return {
        wheel: hashlib.sha256((wheelhouse / wheel).read_bytes()).hexdigest() for wheel in WHEELS
    }


def test_a_second_sync_does_nothing(synced: tuple[Path, Path]) -> None:
    channel, wheelhouse = synced
    before = wheelhouse_digest(wheelhouse)
    stamps = {wheel: (wheelhouse / wheel).stat().st_mtime_ns for wheel in WHEELS}

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0, stderr
    assert counts(report) == {"unchanged": 1, "skipped": 1}
    outcome = _split_outcome(report)
    assert (outcome["wheel"], outcome["wheels"], outcome.get("reason")) == (ALPHA, WHEELS, None)
    assert wheelhouse_digest(wheelhouse) == before
    assert {wheel: (wheelhouse / wheel).stat().st_mtime_ns for wheel in WHEELS} == stamps


def test_a_missing_or_damaged_wheel_is_made_again_with_its_siblings(
    synced: tuple[Path, Path],
) -> None:
    channel, wheelhouse = synced
    made = _digests(wheelhouse)
    inode = (wheelhouse / ALPHA).stat().st_ino

    (wheelhouse / LIBRARY).unlink()
    _, planned, _ = sync_cli(str(channel), "-w", str(wheelhouse), "--dry-run")
    assert (_split_outcome(planned)["status"], _split_outcome(planned)["reason"]) == (
        "would-convert",
        f"its wheel {LIBRARY} is missing",
    )
    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0, stderr
    outcome = _split_outcome(report)
    assert outcome["status"] == "converted"
    assert outcome["wheels"] == WHEELS
    assert _digests(wheelhouse) == made  # the same bytes: a conversion is reproducible
    assert (wheelhouse / ALPHA).stat().st_ino == inode  # the intact ones were left alone
    assert indexed_files(wheelhouse) == set(WHEELS)

    (wheelhouse / BETA).write_bytes(b"PK\x03\x04 cut short by a power loss")
    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0, stderr
    outcome = _split_outcome(report)
    assert (outcome["status"], outcome["reason"]) == ("converted", REPAIRED)
    assert _digests(wheelhouse) == made
    assert counts(sync_cli(str(channel), "-w", str(wheelhouse))[1]) == {
        "unchanged": 1,
        "skipped": 1,
    }


def test_a_lost_state_finds_the_wheels_identical_instead_of_adopting_one(
    synced: tuple[Path, Path],
) -> None:
    # Whether every wheel of a split package landed before a crash is not known from one
    # of them: the artifact is converted again, and the wheels there are identical.
    channel, wheelhouse = synced
    made = _digests(wheelhouse)
    (wheelhouse / STATE_NAME).unlink()

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0, stderr
    outcome = _split_outcome(report)
    assert (outcome["status"], outcome["reason"], outcome["wheels"]) == (
        "unchanged",
        IDENTICAL,
        WHEELS,
    )
    assert _digests(wheelhouse) == made
    assert _split_outcome(sync_cli(str(channel), "-w", str(wheelhouse))[1]).get("reason") is None


def test_prune_removes_every_wheel_of_a_package_gone_from_its_channel(
    synced: tuple[Path, Path],
) -> None:
    channel, wheelhouse = synced
    shutil.rmtree(channel)
    _channel(channel, python_package())  # the split package is gone, another came

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse), "--prune")

    assert code == 0, stderr
    pruned = report["pruned"]
    assert isinstance(pruned, list)
    assert sorted(item["wheel"] for item in pruned) == sorted(WHEELS)
    assert {item["status"] for item in pruned} == {"pruned"}
    assert not wheel_files(wheelhouse) & set(WHEELS)
    assert not indexed_files(wheelhouse) & set(WHEELS)
    assert not (wheelhouse / "simple" / "alpha").exists()


def test_a_conflict_on_one_wheel_lands_none_of_them(tmp_path: Path) -> None:
    # Someone else's beta wheel: the same name, other bytes (another build of the package).
    other = two_distributions()
    other.files = [
        replace(file, data=b"VALUE = 1\n") if file.path.endswith("beta/__init__.py") else file
        for file in other.files
    ]
    elsewhere = tmp_path / "elsewhere"
    code, _, stderr = sync_cli(
        str(_channel(elsewhere / "channel", other)), "-w", str(elsewhere / "W")
    )
    assert code == 0, stderr
    wheelhouse = tmp_path / "W"
    wheelhouse.mkdir()
    planted = shutil.copyfile(elsewhere / "W" / BETA, wheelhouse / BETA).read_bytes()
    channel = _channel(tmp_path / "channel", SPEC)

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 1
    [conflict] = by_status(report, "conflict")
    assert conflict["wheel"] == BETA
    assert conflict["wheels"] == []
    reason = str(conflict["reason"])
    assert reason.startswith(f"it makes {BETA}, but a different wheel of that name is already")
    assert reason.endswith("not overwritten; so none of the 3 wheels it makes landed")
    assert f"conflict: {conflict['location']}: {reason}" in stderr.splitlines()
    assert wheel_files(wheelhouse) == {BETA}  # neither alpha nor the library wheel
    assert (wheelhouse / BETA).read_bytes() == planted
    assert indexed_files(wheelhouse) == {BETA}

    (wheelhouse / BETA).unlink()
    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))
    assert code == 0, stderr
    assert wheel_files(wheelhouse) == set(WHEELS)


def _as_schema_2(state: Path) -> None:
    """Rewrite a state file as condawheel wrote it before split packages were synced."""
    with sqlite3.connect(state) as db:
        db.executescript(
            """
            CREATE TABLE before (
                artifact_key TEXT NOT NULL, options_key TEXT NOT NULL, wheel TEXT NOT NULL,
                wheel_size INTEGER NOT NULL, wheel_sha256 TEXT,
                artifact_filename TEXT NOT NULL, artifact_source TEXT NOT NULL,
                artifact_scope TEXT NOT NULL, artifact_location TEXT NOT NULL,
                condawheel_version TEXT NOT NULL, options_json TEXT NOT NULL,
                converted_at REAL NOT NULL, wheel_mtime_ns INTEGER, depends_key TEXT,
                PRIMARY KEY (artifact_key, options_key)
            );
            INSERT INTO before SELECT artifact_key, options_key, wheel, wheel_size,
                wheel_sha256, artifact_filename, artifact_source, artifact_scope,
                artifact_location, condawheel_version, options_json, converted_at,
                wheel_mtime_ns, depends_key FROM conversions;
            DROP TABLE conversions;
            ALTER TABLE before RENAME TO conversions;
            CREATE INDEX conversions_by_wheel ON conversions (wheel);
            ALTER TABLE sidecar_keys DROP COLUMN split;
            UPDATE meta SET value = '2' WHERE key = 'schema';
            """
        )
    db.close()


def test_a_wheelhouse_of_the_previous_schema_keeps_its_wheels_and_takes_split_ones(
    tmp_path: Path,
) -> None:
    channel = tmp_path / "channel"
    _channel(channel, python_package())
    wheelhouse = tmp_path / "W"
    assert sync_cli(str(channel), "-w", str(wheelhouse))[0] == 0
    [wheel] = wheel_files(wheelhouse)
    stamp = (wheelhouse / wheel).stat().st_mtime_ns
    _as_schema_2(wheelhouse / STATE_NAME)

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0, stderr
    assert counts(report) == {"unchanged": 1, "skipped": 1}  # not converted again
    assert (wheelhouse / wheel).stat().st_mtime_ns == stamp
    with sqlite3.connect(wheelhouse / STATE_NAME) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("3",)
    db.close()

    build_conda(SPEC, channel / "linux-64")  # a .conda alone, no twin
    index_channel(channel, relax=False)
    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))
    assert code == 0, stderr
    assert counts(report) == {"converted": 1, "unchanged": 1, "skipped": 1}
    assert wheel_files(wheelhouse) == {wheel, *WHEELS}
    assert counts(sync_cli(str(channel), "-w", str(wheelhouse))[1]) == {
        "unchanged": 2,
        "skipped": 1,
    }
