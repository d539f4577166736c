"""Bombs given to real ``condawheel`` processes: their peak memory is bounded (issue 16).

The regression tests of findings 3 and 5 measure Python's allocations (tracemalloc) in
this process, with lowered limits. Here the real command runs with its real limits in a
child process, and what is bounded is its peak resident memory as the kernel counts it
(``ru_maxrss`` of the child), so that the decompressors' and parsers' C allocations count
too. Each bomb expands to far more than the bound, so that reading it whole would fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from builders import CondaSpec, build_conda, ustar_header
from syncing import ChannelServer, cli_environment, condawheel_command, record_of, serve

if TYPE_CHECKING:
    from collections.abc import Iterator

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

MiB = 1 << 20


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int
    """The child's peak resident memory, in bytes."""


# Started by a small launcher rather than by pytest: a child's peak resident memory counts
# what it had before exec, and a child forked from a pytest that has run the whole suite
# starts with all of pytest's memory. The launcher writes the peak of its own child.
_LAUNCHER: Final = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(*args: str) -> Run:
    """Run ``python -m condawheel ARGS``; return its output and peak resident memory."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "maxrss"
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(report), *condawheel_command(*args)],
            capture_output=True,
            text=True,
            env=cli_environment(),
            check=False,
        )
        # ru_maxrss is in KiB on Linux.
        peak = int(report.read_text()) * 1024
    return Run(done.returncode, done.stdout, done.stderr, peak)


def error_lines(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChannelServer]:
    root = tmp_path / "served"
    (root / "noarch").mkdir(parents=True)
    yield from serve(root)


def test_convert_refuses_a_metadata_json_of_half_a_gibibyte_in_bounded_memory(
    tmp_path: Path,
) -> None:
    # Finding 3: 3 MB of .conda whose metadata.json inflates to 3 GiB took 6.2 GiB.
    package = build_conda(CondaSpec(), tmp_path)
    bomb = tmp_path / "bomb" / package.name
    bomb.parent.mkdir()
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            if info.filename != "metadata.json":
                target.writestr(info, source.read(info))
        member = zipfile.ZipInfo("metadata.json", date_time=(2020, 1, 1, 0, 0, 0))
        member.compress_type = zipfile.ZIP_DEFLATED
        with target.open(member, "w", force_zip64=True) as body:
            body.write(b'{"conda_pkg_format_version": 2, "pad": "')
            for _ in range(512):
                body.write(b" " * MiB)
            body.write(b'"}')
    assert bomb.stat().st_size < 5 * MiB

    run = run_measured("convert", str(bomb), "-o", str(tmp_path / "out"))

    assert run.returncode == 1
    assert error_lines(run) == [
        (
            f"error: {bomb}: metadata file 'metadata.json' holds more than 64 MiB (67108864 bytes), "
            "the limit for a metadata file"
        )
    ]
    assert list((tmp_path / "out").iterdir()) == []
    assert run.peak_rss < 192 * MiB  # the limit, a few buffers and the interpreter


def test_sync_refuses_a_repodata_value_of_half_a_gibibyte_in_bounded_memory(
    server: ChannelServer,
) -> None:
    # Finding 5: 50 KB of .zst took 4.7 GiB. One string of 512 MiB in the top-level object.
    compressor = zstd.ZstdCompressor()
    parts = [compressor.compress(b'{"packages": {}, "padding": "')]
    parts.extend(compressor.compress(b"x" * MiB) for _ in range(512))
    parts.append(compressor.compress(b'"}', compressor.FLUSH_FRAME))
    (server.root / "noarch" / "repodata.json.zst").write_bytes(b"".join(parts))

    wheelhouse = server.root.parent / "w"
    run = run_measured("sync", server.url, "-w", str(wheelhouse), "--subdir", "noarch", "--dry-run")

    assert run.returncode == 1
    assert error_lines(run) == [
        (
            f"error: {server.url}/noarch/repodata.json.zst: a value at byte 28 is larger than the "
            "limit of 64 MiB"
        )
    ]
    assert run.peak_rss < 384 * MiB  # the 64 MiB value scanned in growing windows


def test_sync_reads_repodata_of_many_large_frames_in_bounded_memory(
    server: ChannelServer, tmp_path: Path
) -> None:
    # pzstd writes one frame per piece. Each frame here decompresses to 64 MiB (of the
    # whitespace JSON allows), the last one holds a record: reading every frame to its end
    # (a frame longer than one decompression step used to drop the frames after it) with
    # the memory of a few blocks.
    package = build_conda(CondaSpec(name="last", subdir="noarch"), server.root / "noarch")
    record = json.dumps({package.name: record_of(package, CondaSpec(name="last"))}).encode()
    frames = [zstd.compress(b'{"packages.conda": ')]
    frames.extend(zstd.compress(b" " * (64 * MiB)) for _ in range(4))
    frames.append(zstd.compress(record + b"}"))
    (server.root / "noarch" / "repodata.json.zst").write_bytes(b"".join(frames))

    run = run_measured(
        "sync", server.url, "-w", str(tmp_path / "w"), "--subdir", "noarch", "--dry-run", "--json"
    )

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert [artifact["filename"] for artifact in report["artifacts"]] == [package.name]
    assert run.peak_rss < 192 * MiB  # 256 MiB of document, read a few MiB at a time


@pytest.mark.parametrize(("kind", "what"), [(b"x", "pax"), (b"L", "GNU long name")])
def test_convert_refuses_an_extended_tar_header_of_half_a_gibibyte_in_bounded_memory(
    tmp_path: Path, kind: bytes, what: str
) -> None:
    """tarfile reads a pax or GNU long-name header whole: one of 512 MiB is refused unread."""
    package = build_conda(CondaSpec(), tmp_path)
    bomb = tmp_path / "bomb" / package.name
    bomb.parent.mkdir()
    size = 512 * MiB
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            if not info.filename.startswith("pkg-"):
                target.writestr(info, source.read(info))
                continue
            member = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            with target.open(member, "w", force_zip64=True) as body:
                compressor = zstd.ZstdCompressor()
                body.write(compressor.compress(ustar_header(b"././@LongName", kind, size)))
                record = f"{size} comment=".encode()
                body.write(compressor.compress(record))
                for _ in range(size // MiB - 1):
                    body.write(compressor.compress(b"a" * MiB))
                body.write(compressor.compress(b"a" * (MiB - len(record) - 1) + b"\n"))
                body.write(compressor.flush())
    assert bomb.stat().st_size < 5 * MiB, what

    run = run_measured("convert", str(bomb), "-o", str(tmp_path / "out"))

    assert run.returncode == 1
    assert error_lines(run) == [
        (
            f"error: {bomb}: corrupt archive (an extended header of {size} bytes, over the "
            "1 MiB limit)"
        )
    ]
    assert list((tmp_path / "out").iterdir()) == []
    assert run.peak_rss < 192 * MiB
