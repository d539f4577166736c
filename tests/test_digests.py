"""The one chunked hashing helper: sha256, md5, size, and RECORD's form of the sha256."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import TYPE_CHECKING

import pytest

from condawheel.io.digests import CHUNK_SIZE, Digests, hash_file, hash_stream, record_hash

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + CHUNK_SIZE // 2],
    ids=["empty", "one", "chunk-1", "chunk", "chunk+1", "two-and-a-half"],
)
def test_hash_file_matches_hashlib_across_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path = tmp_path / "artifact.conda"
    path.write_bytes(data)
    digests = hash_file(path, md5=True)
    assert digests == Digests(
        hashlib.sha256(data).hexdigest(),
        size,
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )
    assert hash_file(path).md5 is None


def test_hash_stream_hashes_what_is_left() -> None:
    handle = io.BytesIO(b"headbody")
    handle.read(4)
    assert hash_stream(handle) == Digests(hashlib.sha256(b"body").hexdigest(), 4)


def test_record_hash_is_urlsafe_base64_without_padding() -> None:
    # PEP 376 / PEP 427: sha256=<urlsafe_b64encode(digest) without trailing '='>.
    empty = hashlib.sha256(b"").hexdigest()
    assert record_hash(empty) == "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
    data = b"\xfb\xff" * 100  # digest bytes that encode to '-' and '_' somewhere
    digest = hashlib.sha256(data).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert Digests(digest.hex(), len(data)).record_hash == f"sha256={expected}"


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "missing")
