"""The parallel bzip2 reader: the same bytes as the standard library, and the same checks."""

from __future__ import annotations

import bz2
import random
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, FileSpec, build_tar_bz2
from condawheel.conda.sources import TarBz2Source, open_package
from condawheel.convert import convert
from condawheel.convert.names import NameMapping
from condawheel.errors import InvalidPackage
from condawheel.io.bzip2 import Bzip2Reader
from condawheel.io.cpus import usable_cores

if TYPE_CHECKING:
    from pathlib import Path

# Level 1 makes 100 kB blocks: a few hundred kB of data spans several blocks.
_DATA = b"".join(
    random.Random(7).choice([b"alpha ", b"beta ", b"gamma\n", b"\x00\x01\x02"])
    for _ in range(120_000)
)
_PACKED = bz2.compress(_DATA, 1)


def _read(path: Path, *, threads: int = 2, chunk: int = 50_000) -> tuple[bytes, bool]:
    reader = Bzip2Reader(path, threads=threads)
    try:
        parts = []
        while part := reader.read(chunk):
            parts.append(part)
        return b"".join(parts), reader.parallel
    finally:
        reader.close()


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "data.bz2"
    path.write_bytes(data)
    return path


def test_several_blocks_and_streams_read_as_the_standard_library_reads_them(
    tmp_path: Path,
) -> None:
    two_streams = _PACKED + bz2.compress(b"second stream " * 20_000, 1)
    for packed in (_PACKED, two_streams, bz2.compress(b"")):
        path = _write(tmp_path, packed)
        data, parallel = _read(path)
        assert data == bz2.decompress(packed)
        assert parallel  # no hand-over to bz2 on good data


def test_one_thread_or_a_foreign_head_uses_the_standard_library(tmp_path: Path) -> None:
    assert _read(_write(tmp_path, _PACKED), threads=1) == (_DATA, False)
    with pytest.raises(OSError, match="Invalid data stream"):
        _read(_write(tmp_path, b"BZh9garbage-garbage"))


def test_a_wrong_stream_crc_is_found(tmp_path: Path) -> None:
    # The stream's CRC is the last 32 bits before the padding: flip a bit of it. Each
    # block's data is intact, so only the combined-CRC check can notice.
    damaged = bytearray(_PACKED)
    damaged[-2] ^= 0x01
    with pytest.raises(OSError, match=r"bzip2 stream CRC [0-9a-f]{8} does not match its blocks'"):
        _read(_write(tmp_path, bytes(damaged)))
    with pytest.raises(OSError, match="Invalid data stream"):
        bz2.decompress(bytes(damaged))  # libbz2 refuses it too


def test_damaged_or_truncated_data_fails_with_the_standard_library_s_error(
    tmp_path: Path,
) -> None:
    damaged = bytearray(_PACKED)
    damaged[len(damaged) // 2] ^= 0x10
    with pytest.raises(OSError, match="Invalid data stream"):
        _read(_write(tmp_path, bytes(damaged)))
    with pytest.raises(EOFError):
        _read(_write(tmp_path, _PACKED[: len(_PACKED) // 2]))


def _package(tmp_path: Path) -> Path:
    spec = CondaSpec(files=[FileSpec("share/demo/data.txt", _DATA)])
    return build_tar_bz2(spec, tmp_path)


def test_tar_bz2_members_do_not_depend_on_the_decoder(tmp_path: Path) -> None:
    package = _package(tmp_path)

    def members(threads: int) -> list[tuple[str, bytes | None]]:
        source = TarBz2Source(package, threads=threads)
        return [(m.path, None if b is None else b.read()) for m, b in source.members()]

    assert members(1) == members(2)


def test_a_package_whose_stream_crc_is_wrong_is_refused(tmp_path: Path) -> None:
    package = _package(tmp_path)
    damaged = bytearray(package.read_bytes())
    damaged[-2] ^= 0x01
    package.write_bytes(bytes(damaged))
    # The tar ends before the stream does: the source reads on to check the end too.
    with pytest.raises(InvalidPackage, match="bzip2 stream CRC") as caught:
        for _member, body in TarBz2Source(package, threads=2).members():
            if body is not None:
                body.read()
    assert caught.value.subject == str(package)


def test_the_same_wheel_whichever_decoder_and_thread_count(tmp_path: Path) -> None:
    # Several 900 kB bzip2 blocks (level 9), text and incompressible bytes. threads=0 (a
    # sync worker's one core) decodes with the standard library's bz2; the default
    # decodes on every core: the wheels are byte-identical.
    text = _DATA * 3
    noise = random.Random(3).randbytes(1 << 20)
    spec = CondaSpec(
        files=[FileSpec("share/demo/data.txt", text), FileSpec("share/demo/noise.bin", noise)]
    )
    package = build_tar_bz2(spec, tmp_path)
    for threads, expected in ((None, usable_cores()), (1, 1)):
        source = open_package(package, bzip2_threads=threads)
        assert isinstance(source, TarBz2Source)
        assert source.threads == expected
    mapping = NameMapping.from_names({}, origin="test")
    wheels = []
    for threads in (0, None, 2):
        out = tmp_path / f"out-{threads}"
        out.mkdir()
        wheels.append(convert(package, out, mapping=mapping, threads=threads).wheel)
    assert len({wheel.read_bytes() for wheel in wheels}) == 1
