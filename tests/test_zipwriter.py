"""The precompressed ZIP writer produces archives that zipfile reads back exactly."""

from __future__ import annotations

import io
import random
import zipfile
from typing import BinaryIO

import pytest

from condawheel.convert.spool import compress_body
from condawheel.convert.zipwriter import ZipWriter

DATE = (2024, 6, 1, 12, 30, 58)


def _write(
    entries: dict[str, tuple[bytes, int]], level: int = 6, out: io.BytesIO | None = None
) -> bytes:
    out = io.BytesIO() if out is None else out
    archive = ZipWriter(out)
    for name, (data, mode) in entries.items():
        body = compress_body(data, level)

        def write(stream: BinaryIO, payload: bytes = body.data) -> None:
            stream.write(payload)

        archive.add(
            name,
            method=body.method,
            crc32=body.crc32,
            size=body.size,
            compressed_size=len(body.data),
            date_time=DATE,
            mode=mode,
            write_body=write,
        )
    archive.close()
    return out.getvalue()


ENTRIES = {
    "pkg/__init__.py": (b"print('hello')\n" * 100, 0o644),
    "pkg.data/scripts/tool": (b"#!python\nimport pkg\n", 0o755),
    "random.bin": (bytes(range(256)) * 3, 0o644),
    "ünïcode/fïle.txt": ("é".encode() * 10, 0o644),
    "empty": (b"", 0o644),
}


def test_zipfile_reads_back_names_bytes_modes_and_dates() -> None:
    data = _write(ENTRIES)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every CRC verified
        assert archive.namelist() == list(ENTRIES)
        for name, (content, mode) in ENTRIES.items():
            info = archive.getinfo(name)
            assert archive.read(name) == content
            assert (info.external_attr >> 16) & 0o777 == mode
            assert info.date_time == DATE
            assert info.create_system == 3  # unix, so that modes are honoured


def test_incompressible_bodies_are_stored() -> None:
    noise = random.Random(0).randbytes(100_000)  # like already-compressed data
    data = _write({"noise.gz": (noise, 0o644), "text": (b"a" * 10000, 0o644)})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("noise.gz").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("text").compress_type == zipfile.ZIP_DEFLATED


def test_output_is_deterministic() -> None:
    assert _write(ENTRIES) == _write(ENTRIES)


@pytest.mark.parametrize("count", [0, 70000])
def test_entry_counts_including_zip64(count: int) -> None:
    entries = {f"f{i}": (b"", 0o644) for i in range(count)}
    data = _write(entries)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert len(archive.namelist()) == count


class _PastFourGiB(io.BytesIO):
    """A stream that reports positions 5 GiB further on, as if a large body came first."""

    def tell(self) -> int:
        return super().tell() + (5 << 30)


def test_offsets_past_32_bits_go_into_zip64_extra_fields() -> None:
    data = _write(ENTRIES, out=_PastFourGiB())
    # zipfile takes the 5 GiB the records claim as data prepended to the archive.
    with zipfile.ZipFile(io.BytesIO(data)) as read:
        assert read.testzip() is None
        for info in read.infolist():
            # ZIP64 extended information (APPNOTE 4.5.3): sizes, then the local header offset.
            assert info.extra[:4] == b"\x01\x00\x18\x00"
            assert int.from_bytes(info.extra[20:28], "little") == info.header_offset + (5 << 30)
            assert read.read(info) == ENTRIES[info.filename][0]
