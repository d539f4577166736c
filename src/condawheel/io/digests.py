"""Hash files and streams in fixed-size chunks: sha256, conda's md5, size, RECORD's form."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CHUNK_SIZE", "Digests", "hash_file", "hash_stream", "record_hash"]

CHUNK_SIZE: Final = 1 << 20
"""Bytes read at a time: memory stays flat whatever the file's size."""


@dataclass(frozen=True)
class Digests:
    """What hashing a file gave: its sha256 and size, and its md5 when asked for."""

    sha256: str
    """Lower-case hexadecimal sha256."""
    size: int
    """Bytes hashed."""
    md5: str | None = None
    """Lower-case hexadecimal md5 (conda records both), or None if not computed."""

    @property
    def record_hash(self) -> str:
        """Return the sha256 as a RECORD hash (see :func:`record_hash`)."""
        return record_hash(self.sha256)


def record_hash(sha256: str) -> str:
    """Return ``sha256=<urlsafe-base64 digest, no padding>``, RECORD's hash (PEP 376, PEP 427).

    :param sha256: a hexadecimal sha256 digest.
    """
    encoded = base64.urlsafe_b64encode(bytes.fromhex(sha256)).rstrip(b"=")
    return f"sha256={encoded.decode('ascii')}"


def hash_stream(handle: BinaryIO, *, md5: bool = False) -> Digests:
    """Hash what is left to read in ``handle``, chunk by chunk.

    :param md5: also compute the md5 (conda's older checksum; not a security measure).
    :raises OSError: if reading fails.
    """
    sha256 = hashlib.sha256()
    md5_digest = hashlib.md5(usedforsecurity=False) if md5 else None
    size = 0
    while chunk := handle.read(CHUNK_SIZE):
        sha256.update(chunk)
        if md5_digest is not None:
            md5_digest.update(chunk)
        size += len(chunk)
    return Digests(sha256.hexdigest(), size, None if md5_digest is None else md5_digest.hexdigest())


def hash_file(path: Path, *, md5: bool = False) -> Digests:
    """Hash the file at ``path`` (see :func:`hash_stream`).

    :raises OSError: if the file cannot be opened or read.
    """
    with path.open("rb") as handle:
        return hash_stream(handle, md5=md5)
