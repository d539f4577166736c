"""Tests for condawheel.convert.spool: bodies compressed once, kept in an unnamed file, copied out."""

from __future__ import annotations

import hashlib
import os
import zlib
from typing import TYPE_CHECKING

import pytest

from condawheel.convert.spool import (
    DEFLATED,
    STORED,
    Blob,
    Spool,
    compress_body,
    packed_wins,
    worth_deflating,
)

if TYPE_CHECKING:
    from pathlib import Path

TEXT = b"the same line of text, over and over again\n" * 5000
NOISE = os.urandom(300 << 10)  # more than two probes of 64 KiB, and incompressible


@pytest.mark.parametrize(
    ("data", "method"),
    [
        (TEXT, DEFLATED),
        # Tried, and stored: deflate's own framing makes a few bytes longer.
        (b"tiny", STORED),
        (b"", STORED),
        (NOISE, STORED),
        # A compressible start is no promise: what the whole deflate saves decides (3%).
        (TEXT[: 70 << 10] + os.urandom(4 << 20), STORED),
    ],
    ids=["text", "tiny", "empty", "noise", "text-then-noise"],
)
def test_a_body_is_deflated_only_when_it_pays(data: bytes, method: int) -> None:
    body = compress_body(data, 6)

    assert body.method == method
    assert (body.size, body.crc32, body.sha256) == (
        len(data),
        zlib.crc32(data),
        hashlib.sha256(data).hexdigest(),
    )
    restored = body.data if method == STORED else zlib.decompress(body.data, -15)
    assert restored == data


def test_the_probe_judges_large_bodies_and_small_ones_are_always_tried() -> None:
    assert worth_deflating(NOISE[:1000], whole=True)
    assert not worth_deflating(NOISE, whole=True)
    assert worth_deflating(TEXT, whole=False)
    assert packed_wins(96, 100)
    assert not packed_wins(97, 100)


def test_bodies_are_read_back_and_copied_out(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        text = spool.append(compress_body(TEXT, 6))
        noise = spool.append(compress_body(NOISE, 6))
        assert (spool.read(text), spool.read(noise)) == (TEXT, NOISE)

        copied = tmp_path / "copied"
        with copied.open("wb") as out:
            out.write(b"head")
            spool.copy_into(text, out)
            spool.copy_into(noise, out)
            out.write(b"tail")
        assert copied.read_bytes() == b"head" + compress_body(TEXT, 6).data + NOISE + b"tail"
    # The spool is an unnamed file: nothing of it is left in its folder.
    assert [path.name for path in tmp_path.iterdir()] == ["copied"]


def test_a_copy_the_kernel_refuses_is_read_and_written_instead(tmp_path: Path) -> None:
    # copy_file_range refuses a destination opened for appending (EBADF): the copy falls
    # back to reading the spool and writing the bytes, with the same result.
    with Spool(tmp_path) as spool:
        noise = spool.append(compress_body(NOISE, 6))
        appended = tmp_path / "appended"
        appended.write_bytes(b"head")
        with appended.open("ab") as out:
            spool.copy_into(noise, out)
        assert appended.read_bytes() == b"head" + NOISE


def test_small_bodies_are_copied_in_any_order_while_the_spool_grows(tmp_path: Path) -> None:
    # Small bodies are sliced from a map of the spool; bodies spooled after the map was
    # made (deflate goes on while the wheel is written) must be read all the same.
    bodies = [b"body %d " % number * (number + 1) for number in range(40)]
    copied = tmp_path / "copied"
    with Spool(tmp_path) as spool, copied.open("wb") as out:
        blobs = [spool.append(compress_body(body, 6)) for body in bodies[:20]]
        spool.copy_into(blobs[19], out)
        blobs += [spool.append(compress_body(body, 6)) for body in bodies[20:]]
        for blob in reversed(blobs):
            spool.copy_into(blob, out)
    expected = [compress_body(body, 6).data for body in bodies]
    assert copied.read_bytes() == expected[19] + b"".join(reversed(expected))


def test_a_small_body_past_the_spool_s_end_is_an_error(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool, (tmp_path / "copied").open("wb") as out:
        body = spool.append(compress_body(TEXT, 6))
        ((offset, length),) = body.segments
        beyond = Blob(((offset + 10, length),), body.size, body.crc32, body.method, body.sha256)
        with pytest.raises(OSError, match="spool is shorter than its index"):
            spool.copy_into(beyond, out)
