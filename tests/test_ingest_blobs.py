"""Bodies still deflating after ``ingest`` returns: Blobs waits for them, and their failures.

The analysis and plan run while worker threads deflate the last bodies. These tests hold
the workers back at the spool (a real spool whose positioned writes wait for a gate, and
fail if told to) so that the deflate is certainly under way after the package is read.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import random
import threading
import weakref
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, FileSpec, build_conda
from condawheel.conda.sources import open_package
from condawheel.convert import convert
from condawheel.convert import core as convert_core
from condawheel.convert.blobs import Blobs
from condawheel.convert.ingest import ingest
from condawheel.convert.names import NameMapping
from condawheel.convert.splitting import plan_wheels
from condawheel.convert.spool import Spool
from condawheel.errors import OutputError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

MAPPING = NameMapping.from_names({}, origin="test")
# The longest a worker waits at the gate: a safety net against a hang, never reached
# when the code under test is right.
_GATE_TIMEOUT = 60.0


class _GatedSpool(Spool):
    """A spool whose writes from worker threads wait until the test opens the gate."""

    def __init__(self, directory: Path, *, fail: bool = False) -> None:
        super().__init__(directory)
        self.gate = threading.Event()
        self.fail = fail
        self.timed_out = False  # a worker gave up waiting: the gate was never opened

    def write_at(self, offset: int, data: bytes) -> int:
        if threading.current_thread() is not threading.main_thread():
            if not self.gate.wait(_GATE_TIMEOUT):
                self.timed_out = True
            if self.fail:
                raise OSError(errno.ENOSPC, "No space left on device")
        return super().write_at(offset, data)


def _many_files(count: int) -> CondaSpec:
    """A package of ``count`` small modules (several batches of small bodies)."""
    rng = random.Random(17)
    words = ["import", "def", "return", "class", "self", "value", "None", "\n", "    "]
    files = [
        FileSpec(
            f"lib/python3.12/site-packages/many/m{index:04d}.py",
            " ".join(rng.choice(words) for _ in range(rng.randrange(20, 400))).encode(),
        )
        for index in range(count)
    ]
    return CondaSpec(name="many", files=files)


def _held(tmp_path: Path, *, fail: bool = False) -> tuple[_GatedSpool, Blobs]:
    spool = _GatedSpool(tmp_path, fail=fail)
    return spool, Blobs(spool)


def test_facts_are_ready_while_the_bodies_are_still_deflating(tmp_path: Path) -> None:
    spec = _many_files(600)
    package = build_conda(spec, tmp_path)
    spool, blobs = _held(tmp_path)
    with spool, blobs:
        inventory = ingest(open_package(package), blobs=blobs, threads=1)
        # ingest returned with no deflated body in the spool (the workers are held).
        assert not spool.timed_out
        assert all(item.sha256 for item in inventory.payload if item.kind == "file")
        expected = {item.path: item.data for item in spec.files}
        facts = {item.path: item.sha256 for item in inventory.payload if item.kind == "file"}
        assert facts == {path: hashlib.sha256(data).hexdigest() for path, data in expected.items()}
        spool.gate.set()
        # Asked for in the opposite order to the archive's, each blob is its own body.
        for path in sorted(expected, reverse=True):
            blob = blobs.blob(path)
            assert spool.read(blob) == expected[path]
            assert blob.sha256 == facts[path]
            assert blob.size == len(expected[path])


def test_a_deflate_failing_after_the_read_surfaces_from_blobs(tmp_path: Path) -> None:
    spec = _many_files(300)
    package = build_conda(spec, tmp_path)
    spool, blobs = _held(tmp_path, fail=True)
    with spool, blobs:
        inventory = ingest(open_package(package), blobs=blobs, threads=1)
        assert not spool.timed_out
        assert all(item.sha256 for item in inventory.payload if item.kind == "file")
        spool.gate.set()
        with pytest.raises(OSError, match="No space left"):
            blobs.settle()


def test_closing_blobs_waits_for_the_workers_and_drops_the_rest(tmp_path: Path) -> None:
    spec = _many_files(600)
    package = build_conda(spec, tmp_path)
    spool, blobs = _held(tmp_path, fail=True)
    with spool:
        ingest(open_package(package), blobs=blobs, threads=1)
        workers = [t for t in threading.enumerate() if t.name.startswith("condawheel")]
        assert workers
        opener = threading.Timer(0.2, spool.gate.set)
        opener.start()
        blobs.close()  # the worker's failure belongs to a package that is given up
        opener.join()
        assert not any(worker.is_alive() for worker in workers)
    assert list(tmp_path.iterdir()) == [package]


def _after(function: Callable[..., object], then: Callable[[], None]) -> Callable[..., object]:
    def wrapped(*args: object, **kwargs: object) -> object:
        result = function(*args, **kwargs)
        then()
        return result

    return wrapped


@pytest.mark.parametrize("fail", [False, True])
def test_the_writer_waits_for_bodies_deflated_after_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, fail: bool
) -> None:
    # The workers are held until the plan is made, so the writer meets bodies still
    # deflating: it must wait for them (same wheel as with no threads at all) or, if a
    # worker fails, fail the package with nothing left in the output folder.
    spec = _many_files(600)
    package = build_conda(spec, tmp_path)
    reference = tmp_path / "reference"
    reference.mkdir()
    expected = convert(package, reference, mapping=MAPPING, threads=0).wheel.read_bytes()
    spools: list[_GatedSpool] = []

    def gated(directory: Path, *, level: int = 6) -> _GatedSpool:
        assert level == 6
        spools.append(_GatedSpool(directory, fail=fail))
        return spools[-1]

    monkeypatch.setattr(convert_core, "Spool", gated)

    def open_gate() -> None:
        spools[-1].gate.set()

    monkeypatch.setattr(convert_core, "plan_wheels", _after(plan_wheels, open_gate))
    out = tmp_path / "out"
    out.mkdir()
    if fail:
        with pytest.raises(OutputError, match=r"many-1\.0.*No space left on device"):
            convert(package, out, mapping=MAPPING, threads=2)
        assert list(out.iterdir()) == []
        return
    result = convert(package, out, mapping=MAPPING, threads=2)
    assert result.wheel.read_bytes() == expected
    assert [path.name for path in out.iterdir()] == [result.wheel.name]


class _FailingSpool(_GatedSpool):
    """Fails only the worker's write of the body that starts with ``_DOOMED``."""

    def write_at(self, offset: int, data: bytes) -> int:
        if data.startswith(_DOOMED):
            self.fail = True
            try:
                return super().write_at(offset, data)
            finally:
                self.fail = False
        if threading.current_thread() is not threading.main_thread():
            self.gate.wait(_GATE_TIMEOUT)
        return Spool.write_at(self, offset, data)


_DOOMED = b"doomed body\n"


def test_a_failed_body_no_wheel_ships_still_fails_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A body the plan leaves out (not listed in paths.json) is never asked for by the
    # writer; its worker's failure must not go unseen all the same.
    spec = _many_files(50)
    # Above the small-body size and incompressible: one task writes it as it is.
    doomed = _DOOMED + random.Random(3).randbytes(300 << 10)
    spec.files.append(FileSpec("share/many/unlisted.bin", doomed, listed=False))
    package = build_conda(spec, tmp_path)
    spools: list[_FailingSpool] = []

    def failing(directory: Path, *, level: int = 6) -> _FailingSpool:
        assert level == 6
        spools.append(_FailingSpool(directory))
        return spools[-1]

    def open_gate() -> None:
        spools[-1].gate.set()

    monkeypatch.setattr(convert_core, "Spool", failing)
    monkeypatch.setattr(convert_core, "plan_wheels", _after(plan_wheels, open_gate))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(OutputError, match=r"many-1\.0.*No space left on device"):
        convert(package, out, mapping=MAPPING, threads=2)
    assert list(out.iterdir()) == []
    assert not spools[-1].timed_out


class _Body:
    """Stands for a body in memory: bytes cannot be watched through a weak reference."""


def test_a_finished_task_lets_go_of_its_input_before_its_result_is_taken() -> None:
    # Bodies left to the workers at the end of the read must leave memory as the
    # workers finish them, while the plan is made, not when the writer collects them.
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from condawheel.convert.blobs import Task  # noqa: PLC0415 - the mechanism itself

    with ThreadPoolExecutor(max_workers=1) as pool:
        body = _Body()
        watch = weakref.ref(body)
        task = Task(pool, id, body)
        del body
        while not task.done():
            threading.Event().wait(0.01)
        gc.collect()
        assert watch() is None
        assert isinstance(task.result(), int)
        # Dropped work has no result, whoever asks.
        gate = threading.Event()
        blocker = Task(pool, gate.wait, _GATE_TIMEOUT)
        dropped = Task(pool, id, _Body())
        dropped.cancel()
        gate.set()
        assert blocker.result() is True
        dropped.steal()
        with pytest.raises(CancelledError):
            dropped.result()
