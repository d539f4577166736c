"""Download artifacts from HTTP channels into a verified, content-addressed cache.

Downloads land in ``<cache>/pkgs/<sha256>/<file name>`` (or ``md5-<md5>/`` when a channel
gives no sha256), and only after their size, sha256 and md5 matched what the repodata
promised: so a file in the cache is a verified file, and a changed artifact on the server
(new sha256) gets a new entry instead of a stale hit. A download in progress is
``<cache>/pkgs/.condawheel-part-*``, locked (``flock``) by the process writing it; a part
whose lock can be taken belongs to a dead process and is removed by
:func:`clean_partial_downloads`. HTTP itself is :mod:`condawheel.io.http`'s: retries, the
per-read timeout and the overall deadline (scaled to the size the repodata promises).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from condawheel.errors import SourceError
from condawheel.io.cachedir import default_cache_dir
from condawheel.io.files import temporary_path
from condawheel.io.http import RetryPolicy, TransientFailure, read_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from condawheel.io.http import HTTPBody

__all__ = [
    "MAX_ARTIFACT_BYTES",
    "PART_PREFIX",
    "Expected",
    "cached_download",
    "clean_partial_downloads",
    "default_cache_dir",
    "download_artifact",
    "is_md5",
    "is_sha256",
]

PART_PREFIX: Final = ".condawheel-part-"
# A conda artifact larger than the converter's own per-package limit could not be
# converted anyway: no download may be longer.
MAX_ARTIFACT_BYTES: Final = 64 << 30
_SHA256: Final = re.compile(r"[0-9a-fA-F]{64}")
_MD5: Final = re.compile(r"[0-9a-fA-F]{32}")


def is_sha256(text: str) -> bool:
    """Return whether ``text`` is a sha256 in hexadecimal (64 digits, either case)."""
    return _SHA256.fullmatch(text) is not None


def is_md5(text: str) -> bool:
    """Return whether ``text`` is an md5 in hexadecimal (32 digits, either case)."""
    return _MD5.fullmatch(text) is not None


@dataclass(frozen=True)
class Expected:
    """What the repodata promises about an artifact; ``None`` is not checked."""

    sha256: str | None = None
    md5: str | None = None
    size: int | None = None

    @property
    def cache_key(self) -> str | None:
        """The cache folder name: the sha256, else ``md5-<md5>``; None when neither is known.

        Digests become a path here, so only hexadecimal ones of the right length count:
        a repodata ``sha256`` of ``../..`` must not name a folder outside the cache.
        """
        if self.sha256 and is_sha256(self.sha256):
            return self.sha256.lower()
        if self.md5 and is_md5(self.md5):
            return f"md5-{self.md5.lower()}"
        return None


def _lock_part(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows only; CI runs on Linux
        return True  # Windows refuses to delete an open file: the part is safe anyway
    import fcntl  # noqa: PLC0415 - POSIX only

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def clean_partial_downloads(cache_dir: Path) -> int:
    """Remove downloads left behind by killed processes; return how many.

    A part that another process is still writing is locked by it and left alone.
    """
    folder = cache_dir / "pkgs"
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(PART_PREFIX):
            continue
        try:
            with Path(entry.path).open("rb") as handle:
                if not _lock_part(handle):
                    continue
                Path(entry.path).unlink()
                removed += 1
        except OSError:
            continue
    return removed


def _check(expected: Expected, size: int, sha256: str, md5: str) -> None:
    problems = []
    if expected.size is not None and size != expected.size:
        problems.append(f"size {size} is not the {expected.size} that repodata.json promises")
    if expected.sha256 and sha256 != expected.sha256.lower():
        problems.append(f"sha256 {sha256} does not match repodata.json's {expected.sha256.lower()}")
    if expected.md5 and md5 != expected.md5.lower():
        problems.append(f"md5 {md5} does not match repodata.json's {expected.md5.lower()}")
    if problems:
        # A mismatch is retried like a broken connection: it is one, most of the time.
        raise TransientFailure(f"corrupt download: {'; '.join(problems)}")


def cached_download(cache_dir: Path, filename: str, expected: Expected) -> Path | None:
    """Return the verified cached copy of an artifact, if the cache holds one."""
    key = expected.cache_key
    if key is None:
        return None
    path = cache_dir / "pkgs" / key / filename
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return path if expected.size is None or size == expected.size else None


def download_artifact(
    url: str,
    cache_dir: Path,
    filename: str,
    expected: Expected,
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Return a verified local copy of the artifact at ``url``, downloading it if needed.

    :raises SourceError: if the artifact cannot be downloaded, or its bytes never match
        ``expected`` (the message names the digest that differs).
    """
    key = expected.cache_key
    if key is None:
        raise SourceError(url, "repodata.json gives no sha256 or md5: it cannot be verified")
    if "/" in filename or "\\" in filename or filename in {"", ".", ".."}:
        raise SourceError(url, f"{filename!r} is not a file name")
    cached = cached_download(cache_dir, filename, expected)
    if cached is not None:
        return cached
    folder = cache_dir / "pkgs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SourceError(str(folder), f"cannot create the download cache: {error}") from None

    # The part's name says whose download it is (a CEP 26 file name has at most 211
    # characters, so the name stays under the file systems' 255).
    prefix = f"{PART_PREFIX}{filename}-"

    def save(body: HTTPBody) -> Path:
        with temporary_path(folder, prefix=prefix) as part, part.open("xb") as out:
            _lock_part(out)
            sha256, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 - conda's checksum
            size = 0
            for chunk in body.chunks():
                out.write(chunk)
                sha256.update(chunk)
                md5.update(chunk)
                size += len(chunk)
                if expected.size is not None and size > expected.size:
                    # Bounded disk use: the rest cannot make it right.
                    raise TransientFailure(
                        f"corrupt download: more than the {expected.size} bytes "
                        "that repodata.json promises"
                    )
            _check(expected, size, sha256.hexdigest(), md5.hexdigest())
            out.flush()
            os.fsync(out.fileno())
            final = folder / key / filename
            final.parent.mkdir(exist_ok=True)
            # Verified bytes only: a concurrent download of the same key replaces
            # identical bytes, which readers cannot tell apart.
            part.replace(final)
            return final

    # The size the repodata promises scales the deadline (see io.http.RetryPolicy).
    path = read_url(
        url,
        save,
        limit=MAX_ARTIFACT_BYTES,
        policy=policy,
        expected_size=expected.size,
        sleep=sleep,
    )
    if path is None:
        raise SourceError(url, "not found on the server (HTTP 404), though repodata lists it")
    return path
