"""Deflated bodies are the same bytes on every machine: one pinned compressor, or none."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import zlib
from typing import TYPE_CHECKING

from builders import FileSpec, build_conda, python_package
from condawheel.convert.spool import DEFLATED, compress_body, crc32, deflate_block

if TYPE_CHECKING:
    from pathlib import Path


def _text() -> bytes:
    rng = random.Random(2026)
    words = [b"conda ", b"wheel ", b"prefix ", b"lib", b"\n", b"def ", b"0x0007 "]
    return b"".join(rng.choice(words) for _ in range(600_000))


def _binary() -> bytes:
    half = random.Random(2026).randbytes(1 << 20)
    return bytes(b for pair in zip(half, bytes(len(half)), strict=True) for b in pair)


def test_deflated_bodies_are_pinned_bytes() -> None:
    # The digests of zlib-ng 2.3's output at level 6 for bodies of several 1 MiB blocks.
    # They hold on every platform; a zlib-ng release that compresses differently changes
    # every wheel's bytes and makes this fail: say so in CHANGELOG.md, then update them.
    expected = {
        "text": "c37fc1f9a6a6caa716d799b2417b54517c36a37469786fac0c4e5da7bdb3cd47",
        "binary": "48dc83df6e2429cfb3255b791ea2c6fb2ab024bc2df4fc9ac9ac75bfc7a7eaf0",
    }
    for name, data in (("text", _text()), ("binary", _binary())):
        body = compress_body(data, 6)
        assert body.method == DEFLATED
        assert zlib.decompress(body.data, -15) == data
        assert body.crc32 == zlib.crc32(data) == crc32(data)
        assert hashlib.sha256(body.data).hexdigest() == expected[name], name


def test_a_body_of_one_block_is_deflated_as_by_a_compressor_object() -> None:
    # deflate_block compresses a whole small body in one call; the bytes must be those
    # of a compressor object fed the body and finished, as wheels were always written.
    from zlib_ng import zlib_ng  # noqa: PLC0415 - the reference, here only

    rng = random.Random(17)
    text = _text()
    bodies = [b"", b"x", bytes(5000), rng.randbytes(3000), rng.randbytes(300 << 10)]
    bodies += [text[: rng.randrange(1, 1 << 18)] for _ in range(20)]
    bodies += [bytes(rng.randrange(4) for _ in range(rng.randrange(1, 100_000))) for _ in range(5)]
    for level in range(10):
        for data in bodies:
            reference = zlib_ng.compressobj(level, zlib_ng.DEFLATED, -15)
            expected = reference.compress(data) + reference.flush(zlib.Z_FINISH)
            assert deflate_block(data, b"", level, final=True) == expected, (level, len(data))


def test_without_zlib_ng_no_wheel_is_written(tmp_path: Path) -> None:
    # Falling back to the interpreter's zlib would write other bytes under the same name.
    source = build_conda(
        python_package(extra_files=[FileSpec("share/x.txt", b"x" * 4096)]), tmp_path
    )
    out = tmp_path / "out"
    blocked = (
        "import sys; sys.modules['zlib_ng'] = None; "
        "from condawheel.cli import main; sys.argv[0] = 'condawheel'; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", blocked, "convert", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    error, summary = run.stderr.splitlines()
    assert error.startswith("error: zlib-ng: not installed; condawheel deflates wheel members")
    assert summary == "0 written, 0 unchanged, 1 failed"
    assert list(out.iterdir()) == []  # neither a wheel nor the spool is left
