"""Several syncs at once, and syncs killed with SIGKILL: the wheelhouse stays consistent.

Real processes (the CLI, as cron runs it), real signals, the real lock; the reference is
an uninterrupted sync of the same channel, compared file by file (sha256 of every wheel,
metadata file and index page).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
import zipfile
from typing import TYPE_CHECKING, Final

import pytest

from condawheel.wheelhouse.downloads import PART_PREFIX
from condawheel.wheelhouse.lock import WheelhouseLock
from envs import index_channel
from syncing import (
    SMALL_PACKAGES,
    cli_environment,
    condawheel_command,
    copy_channel,
    hidden_leftovers,
    run_condawheel,
    serve,
    wheelhouse_digest,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

GROUP_EXIT_SECONDS: Final = 15


@pytest.fixture(scope="module")
def channel(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_channel(corpus, tmp_path_factory.mktemp("small") / "channel", SMALL_PACKAGES)


@pytest.fixture(scope="module")
def reference(
    channel: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], float]:
    """The wheelhouse an uninterrupted sync makes, and how long that sync took."""
    wheelhouse = tmp_path_factory.mktemp("reference")
    started = time.monotonic()
    result = run_condawheel("sync", str(channel), "-w", str(wheelhouse), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    digest = wheelhouse_digest(wheelhouse)
    assert len([name for name in digest if name.endswith(".whl")]) == len(SMALL_PACKAGES)
    return digest, time.monotonic() - started


def start_sync(channel: Path | str, wheelhouse: Path, *extra: str) -> subprocess.Popen[str]:
    # A session of its own, so that the test can tell when every worker is gone too.
    return subprocess.Popen(
        condawheel_command("sync", str(channel), "-w", str(wheelhouse), "--json", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_environment(),
        start_new_session=True,
    )


def wait_for_group_exit(group: int) -> bool:
    """Wait until no process of ``group`` is left; return whether that happened."""
    deadline = time.monotonic() + GROUP_EXIT_SECONDS
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def kill_hard(process: subprocess.Popen[str]) -> None:
    """SIGKILL the sync; its workers must follow on their own (they die with their parent)."""
    process.kill()
    process.communicate(timeout=30)
    orphans_gone = wait_for_group_exit(process.pid)
    if not orphans_gone:
        os.killpg(process.pid, signal.SIGKILL)  # clean up the group this test started
    assert orphans_gone, "worker processes outlived the killed sync"


def assert_consistent_after_crash(wheelhouse: Path, reference: dict[str, str]) -> None:
    """What a reader sees after a crash: only complete wheels, only existing ones listed."""
    for wheel in wheelhouse.glob("*.whl"):
        assert reference[wheel.name] == wheelhouse_digest(wheelhouse)[wheel.name], wheel.name
        with zipfile.ZipFile(wheel) as archive:
            assert archive.testzip() is None
    simple = wheelhouse / "simple"
    if (simple / "index.json").is_file():
        for project in json.loads((simple / "index.json").read_text())["projects"]:
            page = simple / project["name"] / "index.json"
            assert page.is_file(), project  # a project is listed only once its page exists
            for item in json.loads(page.read_text())["files"]:
                assert (wheelhouse / item["filename"]).is_file(), item["filename"]


def first_wheel_landed(wheelhouse: Path) -> bool:
    return any(wheelhouse.glob("*.whl"))


def staging_in_use(wheelhouse: Path) -> bool:
    try:
        return any(path.is_file() for path in wheelhouse.glob(".condawheel-tmp-stage-*/*/*"))
    except FileNotFoundError:  # the engine removed a job's folder while glob listed it
        return False  # not this poll; the next one looks again


def index_started(wheelhouse: Path) -> bool:
    return (wheelhouse / "simple").is_dir()


def half_the_wheels_landed(wheelhouse: Path) -> bool:
    return len(list(wheelhouse.glob("*.whl"))) >= len(SMALL_PACKAGES) // 2


EVENTS: Final[dict[str, Callable[[Path], bool]]] = {
    "first-wheel-landed": first_wheel_landed,
    "mid-conversion": staging_in_use,
    "half-the-wheels": half_the_wheels_landed,
    "index-being-written": index_started,
}
SEEDS: Final = (0, 1, 2, 3, 4)


def kill_points() -> list[str]:
    return [f"seed-{seed}" for seed in SEEDS] + [f"event-{name}" for name in EVENTS]


@pytest.mark.parametrize("point", kill_points())
def test_a_sync_killed_at_any_point_then_rerun_matches_an_uninterrupted_one(
    channel: Path, reference: tuple[dict[str, str], float], tmp_path: Path, point: str
) -> None:
    expected, duration = reference
    wheelhouse = tmp_path / "wheelhouse"
    process = start_sync(channel, wheelhouse, "--jobs", "2")
    if point.startswith("seed-"):
        # Deterministic "random" moments over the whole length of a run.
        time.sleep(random.Random(int(point.removeprefix("seed-"))).uniform(0.1, duration))
    else:
        reached = EVENTS[point.removeprefix("event-")]
        deadline = time.monotonic() + 60
        while not (wheelhouse.is_dir() and reached(wheelhouse)) and process.poll() is None:
            assert time.monotonic() < deadline, f"{point} never happened"
            time.sleep(0.002)
    kill_hard(process)
    assert_consistent_after_crash(wheelhouse, expected)

    result = run_condawheel("sync", str(channel), "-w", str(wheelhouse), "--jobs", "2")

    assert result.returncode == 0, result.stderr
    assert wheelhouse_digest(wheelhouse) == expected
    assert hidden_leftovers(wheelhouse) == []


def test_concurrent_syncs_serialise_and_each_wheel_is_made_once(
    channel: Path, reference: tuple[dict[str, str], float], tmp_path: Path
) -> None:
    expected, _ = reference
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    syncs = [start_sync(channel, wheelhouse, "--jobs", "1") for _ in range(3)]
    indexer = subprocess.Popen(
        condawheel_command("index", str(wheelhouse)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_environment(),
    )

    results = [process.communicate(timeout=300) for process in syncs]
    indexer.communicate(timeout=300)

    assert [process.returncode for process in syncs] == [0, 0, 0], [err for _, err in results]
    assert indexer.returncode == 0
    reports = [json.loads(out) for out, _ in results]
    converted = sorted(
        item["filename"]
        for report in reports
        for item in report["artifacts"]
        if item["status"] == "converted"
    )
    # One run converted each artifact; the runs that waited for the lock found them done.
    assert converted == sorted(path.rsplit("/", 1)[1] for path in SMALL_PACKAGES)
    assert wheelhouse_digest(wheelhouse) == expected
    assert hidden_leftovers(wheelhouse) == []


def test_a_second_sync_waits_for_the_lock_or_fails_with_no_wait(
    channel: Path, tmp_path: Path
) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    with WheelhouseLock(wheelhouse):
        refused = run_condawheel("sync", str(channel), "-w", str(wheelhouse), "--no-wait")
        waiting = start_sync(channel, wheelhouse, "--jobs", "1")
        # It says whom it waits for, and waits.
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert waiting.poll() is None
        assert not any(wheelhouse.glob("*.whl"))

    out, err = waiting.communicate(timeout=300)

    assert refused.returncode == 1
    assert f"locked by process {os.getpid()}" in refused.stderr
    assert "--no-wait" in refused.stderr
    assert line.strip() == f"waiting for the wheelhouse lock held by process {os.getpid()}..."
    assert waiting.returncode == 0, err
    assert json.loads(out)["counts"]["converted"] == len(SMALL_PACKAGES)


def test_a_sync_killed_mid_download_leaves_a_part_the_next_run_removes(
    channel: Path, tmp_path: Path
) -> None:
    served = shutil.copytree(channel, tmp_path / "served")
    index_channel(served, relax=False)
    stalled = "/noarch/pluggy-1.5.0-pyhd8ed1ab_1.conda"
    cache, wheelhouse = tmp_path / "cache", tmp_path / "wheelhouse"
    for server in serve(served):
        release = threading.Event()
        server.controls.stall[stalled] = release
        process = start_sync(server.url, wheelhouse, "--jobs", "2", "--cache-dir", str(cache))
        deadline = time.monotonic() + 60
        while not list(cache.glob(f"pkgs/{PART_PREFIX}*pluggy*")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.01)
        kill_hard(process)
        release.set()
        assert list(cache.glob(f"pkgs/{PART_PREFIX}*"))  # the killed download's leftover

        result = run_condawheel(
            "sync", server.url, "-w", str(wheelhouse), "--cache-dir", str(cache), "--json"
        )

        assert result.returncode == 0, result.stderr
        assert list(cache.glob(f"pkgs/{PART_PREFIX}*")) == []
        assert len(list(wheelhouse.glob("*.whl"))) == len(SMALL_PACKAGES)
        assert_consistent_after_crash(wheelhouse, wheelhouse_digest(wheelhouse))
        assert hidden_leftovers(wheelhouse) == []
