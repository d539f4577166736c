"""Helper processes that deflate small bodies: the same bytes, their failures, their end.

A package of many small files hands its batches of small bodies to helper processes
(condawheel.convert.deflater) once it has shown enough of them. These tests run real
helpers (real processes, real pipes, a real spool) and compare what they write with
what the worker threads write.
"""

from __future__ import annotations

import contextlib
import io
import json
import marshal
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from concurrent.futures import CancelledError, Future
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, FileSpec, build_conda
from condawheel.convert import ConversionResult, convert
from condawheel.convert import deflate as deflate_module
from condawheel.convert import deflater as deflater_module
from condawheel.convert import ingest as ingest_module
from condawheel.convert.deflater import DeflateHelpers, HelperFailed, Placed
from condawheel.convert.names import NameMapping
from condawheel.convert.spool import DEFLATED, STORED, Spool, deflate_bodies, deflate_bound
from conftest import unmeasured_environment

if TYPE_CHECKING:
    from pathlib import Path

MAPPING = NameMapping.from_names({}, origin="test")
# Enough small files that helpers take over part of them (ingest._HELPERS_AFTER_BODIES).
_MANY = ingest_module._HELPERS_AFTER_BODIES * 3


def _bodies(seed: int, count: int) -> list[bytes]:
    """Small bodies of every kind a batch meets: text, random, empty, runs of one byte."""
    rng = random.Random(seed)
    words = [b"import", b"def", b"return", b"self", b"value", b"\n", b"    ", b"0.5"]
    bodies: list[bytes] = []
    for index in range(count):
        kind = index % 4
        if kind == 0:
            bodies.append(b" ".join(rng.choice(words) for _ in range(rng.randrange(0, 600))))
        elif kind == 1:
            bodies.append(rng.randbytes(rng.randrange(0, 5000)))  # stored: deflate won't pay
        elif kind == 2:
            bodies.append(b"")
        else:
            bodies.append(bytes([rng.randrange(256)]) * rng.randrange(1, 70_000))
    return bodies


def _spooled(spool: Spool, offset: int, length: int) -> bytes:
    return os.pread(spool.fileno(), length, offset)


def test_helpers_write_the_bytes_the_threads_write(tmp_path: Path) -> None:
    batches = [_bodies(seed, 90) for seed in range(6)]
    with Spool(tmp_path) as spool:
        helpers = DeflateHelpers(spool.fileno(), spool.level, 2)
        try:
            submitted = []
            for bodies in batches:
                offset = spool.reserve(sum(deflate_bound(len(body)) for body in bodies))
                submitted.append(helpers.submit(offset, bodies))
            placed = [future.result(timeout=60) for future in submitted]
        finally:
            helpers.close()
        for bodies, batch in zip(batches, placed, strict=True):
            joined, expected = deflate_bodies(bodies, spool.level)
            assert [(length, method) for _, length, method in batch] == expected
            written = b"".join(_spooled(spool, offset, length) for offset, length, _ in batch)
            assert written == joined
            for body, (offset, length, method) in zip(bodies, batch, strict=True):
                stored = _spooled(spool, offset, length)
                assert (zlib.decompress(stored, -15) if method == DEFLATED else stored) == body
        assert {method for batch in placed for _, _, method in batch} == {STORED, DEFLATED}


def _many_files(count: int) -> CondaSpec:
    rng = random.Random(31)
    words = ["import", "def", "return", "class", "self", "value", "None", "\n", "    "]
    return CondaSpec(
        name="many",
        files=[
            FileSpec(
                f"lib/python3.12/site-packages/many/m{index:05d}.py",
                " ".join(rng.choice(words) for _ in range(rng.randrange(5, 200))).encode(),
            )
            for index in range(count)
        ],
    )


class _Started:
    """Records the helpers a conversion starts (the real ones) and the batches they get."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, kill: bool = False) -> None:
        self.helpers: list[DeflateHelpers] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.batches: list[Future[list[Placed]]] = []
        real_start, real_submit = DeflateHelpers.__init__, DeflateHelpers.submit

        def start(helpers: DeflateHelpers, *args: object, **kwargs: object) -> None:
            real_start(helpers, *args, **kwargs)  # type: ignore[arg-type]
            self.helpers.append(helpers)
            for helper in helpers._helpers:
                self.processes.append(helper.process)
                if kill:
                    helper.process.kill()
                    helper.process.wait()

        def submit(
            helpers: DeflateHelpers, offset: int, bodies: list[bytes]
        ) -> Future[list[Placed]]:
            future = real_submit(helpers, offset, bodies)
            self.batches.append(future)
            return future

        monkeypatch.setattr(DeflateHelpers, "__init__", start)
        monkeypatch.setattr(DeflateHelpers, "submit", submit)

    def deflated(self) -> int:
        """Batches a helper deflated (not taken back, not failed)."""
        return sum(
            1 for f in self.batches if f.done() and not f.cancelled() and f.exception() is None
        )

    def failed(self) -> int:
        """Batches a helper failed."""
        return sum(
            1 for f in self.batches if f.done() and not f.cancelled() and f.exception() is not None
        )


def _converted_twice(
    tmp_path: Path, package: Path, *, level: int = 6, **second: object
) -> tuple[bytes, ConversionResult, Path]:
    """Convert in one thread, then with two threads (and helpers); return both."""
    alone, shared = tmp_path / "one-thread", tmp_path / "helpers"
    alone.mkdir()
    shared.mkdir()
    expected = convert(package, alone, mapping=MAPPING, threads=0, level=level)
    made = convert(package, shared, mapping=MAPPING, threads=2, level=level, **second)  # type: ignore[arg-type]
    return expected.wheel.read_bytes(), made, shared


def test_many_small_files_make_the_same_wheel_with_helpers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = build_conda(_many_files(_MANY), tmp_path)
    started = _Started(monkeypatch)
    expected, made, out = _converted_twice(tmp_path, package)
    assert started.helpers, "the package did not reach the helpers"
    assert started.deflated() > 0, "no batch was deflated by a helper"
    assert made.wheel.read_bytes() == expected
    # The helpers ended with the package, and nothing but the wheel is left.
    assert all(process.returncode == 0 for process in started.processes)
    assert [path.name for path in out.iterdir()] == [made.wheel.name]


def test_zlib_default_level_goes_to_the_helpers_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = build_conda(_many_files(_MANY), tmp_path)
    started = _Started(monkeypatch)
    expected, made, _ = _converted_twice(tmp_path, package, level=-1)
    assert started.deflated() > 0
    assert made.wheel.read_bytes() == expected


def test_a_helper_that_dies_leaves_its_batches_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = build_conda(_many_files(_MANY), tmp_path)
    started = _Started(monkeypatch, kill=True)
    expected, made, out = _converted_twice(tmp_path, package)
    assert started.failed() > 0, "no batch went to the dead helper"
    assert made.wheel.read_bytes() == expected
    assert [path.name for path in out.iterdir()] == [made.wheel.name]


def test_a_helper_that_cannot_start_python_leaves_its_batches_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An executable that is no Python (a frozen or embedded interpreter's): the process
    # starts, then ends at once.
    package = build_conda(_many_files(_MANY), tmp_path)
    started = _Started(monkeypatch)
    false = shutil.which("false")
    assert false is not None
    monkeypatch.setattr(sys, "executable", false)  # one thread (threads=0) starts none
    expected, made, _ = _converted_twice(tmp_path, package)
    assert started.helpers
    assert started.deflated() == 0
    assert made.wheel.read_bytes() == expected


def test_a_search_path_entry_that_is_not_text_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = build_conda(_many_files(_MANY), tmp_path)
    started = _Started(monkeypatch)
    monkeypatch.setattr(sys, "path", [*sys.path, tmp_path])  # a Path, which marshal refuses
    expected, made, _ = _converted_twice(tmp_path, package)
    assert started.deflated() > 0
    assert made.wheel.read_bytes() == expected


def test_without_a_python_to_run_helpers_the_threads_do_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = build_conda(_many_files(_MANY), tmp_path)
    started = _Started(monkeypatch)
    monkeypatch.setattr(sys, "executable", "")
    expected, made, _ = _converted_twice(tmp_path, package)
    assert made.wheel.read_bytes() == expected
    assert started.helpers == []  # none could start; the worker threads deflated all
    assert started.batches == []


def test_a_helper_that_cannot_write_says_why(tmp_path: Path) -> None:
    read_only = tmp_path / "read-only"
    read_only.write_bytes(b"")
    fd = os.open(read_only, os.O_RDONLY)
    try:
        helpers = DeflateHelpers(fd, 6, 1)
        try:
            first = helpers.submit(0, [b"some text " * 50])
            with pytest.raises(HelperFailed, match="Bad file descriptor"):
                first.result(timeout=60)
            # The helper has ended; what comes after fails too, and says so.
            with pytest.raises(HelperFailed):
                helpers.submit(0, [b"more"]).result(timeout=60)
        finally:
            helpers.close()
    finally:
        os.close(fd)


def test_closing_with_batches_under_way_ends_the_helpers(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        helpers = DeflateHelpers(spool.fileno(), spool.level, 1)
        processes = [helper.process for helper in helpers._helpers]
        bodies = [random.Random(5).randbytes(200_000) for _ in range(4)]
        futures = [
            helpers.submit(spool.reserve(sum(deflate_bound(len(b)) for b in bodies)), bodies)
            for _ in range(40)
        ]
        taken_back = futures[-1].cancel()  # not sent yet: the last of forty batches
        helpers.close()  # killed: work under way is wanted no more
        assert taken_back
        assert [process.returncode for process in processes] == [-signal.SIGKILL]
        for future in futures:
            assert future.done()
            if not future.cancelled():
                # done, or failed: killed while it worked on this batch
                with contextlib.suppress(HelperFailed):
                    future.result()
        with pytest.raises(CancelledError):
            futures[-1].result()


def test_a_helper_imports_the_deflate_module_and_little_else() -> None:
    # A helper starts as the package of many small files is read, on the core the
    # reading thread shares: the converter (0.15 s), the spool or even typing there
    # would delay the helper and take CPU from the reading thread.
    program = deflater_module._PROGRAM.replace(
        "raise SystemExit(run_helper(int(sys.argv[1])))",
        "print(json.dumps(sorted(sys.modules)))",
    ).replace("import sys, marshal;", "import sys, marshal, json;")
    search_path = marshal.dumps(list(sys.path))
    shown = subprocess.run(
        [sys.executable, "-I", "-c", program, "0", search_path.hex()],
        capture_output=True,
        text=True,
        check=True,
        # Unmeasured: coverage.py, started in a measured child, imports typing itself.
        env=unmeasured_environment(),
    ).stdout
    loaded = set(json.loads(shown))
    ours = {name for name in loaded if name.startswith("condawheel")}
    assert ours == {
        "condawheel",
        "condawheel.convert",
        "condawheel.convert.deflate",
        "condawheel.errors",
    }
    for heavy in ("typing", "dataclasses", "tempfile", "subprocess", "concurrent.futures"):
        assert heavy not in loaded, heavy


def _request(offset: int, level: int, bodies: list[bytes]) -> bytes:
    sizes = struct.pack(f"<{len(bodies)}I", *map(len, bodies))
    return struct.pack("<QII", offset, level, len(bodies)) + sizes + b"".join(bodies)


def _serve(monkeypatch: pytest.MonkeyPatch, spool_fd: int, requests: bytes) -> tuple[bytes, object]:
    """Run a helper's loop here, on ``requests``; return its replies."""
    replies = io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(requests)))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(replies))
    handler = signal.getsignal(signal.SIGINT)
    try:
        deflate_module.serve(spool_fd)
        ignored = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, handler)
    return replies.getvalue(), ignored


def test_the_helper_protocol_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _bodies(1, 20), _bodies(2, 7)
    with Spool(tmp_path) as spool:
        requests = _request(0, 6, first) + _request(1 << 20, 1, second)
        replies, ignored = _serve(monkeypatch, spool.fileno(), requests)
        assert ignored == signal.SIG_IGN  # Ctrl-C is the converting process's
        at = 0
        for offset, level, bodies in ((0, 6, first), (1 << 20, 1, second)):
            joined, placed = deflate_bodies(bodies, level)
            (error_length,) = struct.unpack_from("<I", replies, at)
            assert error_length == 0
            values = struct.unpack_from(f"<{2 * len(bodies)}I", replies, at + 4)
            assert list(zip(values[::2], values[1::2], strict=True)) == placed
            assert _spooled(spool, offset, len(joined)) == joined
            at += 4 + 8 * len(bodies)
        assert at == len(replies)


def test_the_helper_refuses_a_request_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Spool(tmp_path) as spool:
        cut = _request(0, 6, _bodies(3, 5))[:-1]
        with pytest.raises(EOFError, match="cut short"):
            _serve(monkeypatch, spool.fileno(), cut)


def test_the_helper_refuses_a_request_without_its_bodies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Spool(tmp_path) as spool:
        header_only = _request(0, 6, _bodies(4, 3))[: struct.calcsize("<QII") + 12]
        with pytest.raises(EOFError, match="cut short"):
            _serve(monkeypatch, spool.fileno(), header_only)
