"""Tests for condawheel.wheelhouse.lock: one writer at a time, freed when its holder dies."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from condawheel.errors import WheelhouseError
from condawheel.wheelhouse.lock import LOCK_NAME, WheelhouseLock

if TYPE_CHECKING:
    from pathlib import Path

HOLD = """
import sys, time
from pathlib import Path
from condawheel.wheelhouse.lock import WheelhouseLock
lock = WheelhouseLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_second_holder_fails_at_once_with_no_wait(tmp_path: Path) -> None:
    locked = pytest.raises(WheelhouseError, match=f"locked by process {os.getpid()}")
    with WheelhouseLock(tmp_path), locked:
        WheelhouseLock(tmp_path, wait=False).acquire()
    # Released: it can be taken again, and the pid is gone from the file.
    with WheelhouseLock(tmp_path, wait=False):
        pass
    assert (tmp_path / LOCK_NAME).read_text() == ""


def test_a_waiting_holder_gets_the_lock_when_it_is_released(tmp_path: Path) -> None:
    order: list[str] = []
    waited: list[int | None] = []
    first = WheelhouseLock(tmp_path)
    first.acquire()

    def second() -> None:
        with WheelhouseLock(tmp_path, on_wait=waited.append):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    deadline = time.monotonic() + 10
    while not waited and time.monotonic() < deadline:
        time.sleep(0.01)
    order.append("first releases")
    first.release()
    thread.join(timeout=10)

    assert waited == [os.getpid()]
    assert order == ["first releases", "second"]


def test_a_holder_killed_with_sigkill_frees_the_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(WheelhouseError, match=f"locked by process {holder.pid}"):
            WheelhouseLock(tmp_path, wait=False).acquire()
    finally:
        holder.kill()
        holder.communicate(timeout=10)

    with WheelhouseLock(tmp_path, wait=False):
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"


def test_a_missing_wheelhouse_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WheelhouseError, match="cannot open the lock file"):
        WheelhouseLock(tmp_path / "missing").acquire()


@pytest.mark.parametrize("written", [b"not a pid\n", b"\xff\xfe\n"], ids=["text", "not-ascii"])
def test_a_holder_whose_pid_cannot_be_read_is_another_process(
    tmp_path: Path, written: bytes
) -> None:
    with WheelhouseLock(tmp_path) as held:
        held.path.write_bytes(written)
        assert held.holder() is None
        with pytest.raises(WheelhouseError) as caught:
            WheelhouseLock(tmp_path, wait=False).acquire()
    assert str(caught.value) == (
        f"{tmp_path}: the wheelhouse is locked by another process (a sync or index run); "
        "not waiting because of --no-wait"
    )


def test_releasing_a_lock_not_held_does_nothing(tmp_path: Path) -> None:
    lock = WheelhouseLock(tmp_path)
    lock.release()
    with lock:
        pass
    lock.release()
    # Still free for the next holder, and the file stays: the lock belongs to it.
    with WheelhouseLock(tmp_path, wait=False):
        assert (tmp_path / LOCK_NAME).is_file()


def test_a_holder_with_nobody_to_tell_waits_all_the_same(tmp_path: Path) -> None:
    first = WheelhouseLock(tmp_path)
    first.acquire()
    released: list[bool] = []

    def release_first() -> None:
        released.append(True)
        first.release()

    timer = threading.Timer(0.2, release_first)
    timer.start()
    try:
        with WheelhouseLock(tmp_path):  # no on_wait
            # Had it not waited, the first holder would still hold the lock here.
            assert released == [True]
    finally:
        timer.join(timeout=10)
