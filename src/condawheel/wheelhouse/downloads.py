"""HTTP for channels: fetch repodata and download artifacts, verified, retried and cached.

Downloads land in a content-addressed cache, ``<cache>/pkgs/<sha256>/<file name>`` (or
``md5-<md5>/`` when a channel gives no sha256), and only after their size, sha256 and md5
matched what the repodata promised: so a file in the cache is a verified file, and a
changed artifact on the server (new sha256) gets a new entry instead of a stale hit.
A download in progress is ``<cache>/pkgs/.condawheel-part-*``, locked (``flock``) by
the process writing it; a part whose lock can be taken belongs to a dead process and is
removed by :func:`clean_partial_downloads`. Only the standard library speaks HTTP here
(``urllib``: proxies from the environment, the system's CA certificates).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, TypeVar

from condawheel import __version__
from condawheel.errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "PART_PREFIX",
    "Expected",
    "RetryPolicy",
    "cached_download",
    "clean_partial_downloads",
    "default_cache_dir",
    "download_artifact",
    "fetch",
]

PART_PREFIX: Final = ".condawheel-part-"
USER_AGENT: Final = f"condawheel/{__version__}"
_CHUNK: Final = 1 << 20
_T = TypeVar("_T")
# Answers worth asking again: the server or a proxy is overloaded or restarting.
_TRANSIENT_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in all, waiting ``backoff * 2**n`` seconds between."""

    attempts: int = 4
    backoff: float = 0.5
    timeout: float = 60.0


@dataclass(frozen=True)
class Expected:
    """What the repodata promises about an artifact; ``None`` is not checked."""

    sha256: str | None = None
    md5: str | None = None
    size: int | None = None

    @property
    def cache_key(self) -> str | None:
        """The cache folder name: the sha256, else ``md5-<md5>``; None when neither is known."""
        if self.sha256:
            return self.sha256.lower()
        return f"md5-{self.md5.lower()}" if self.md5 else None


class _TransientError(Exception):
    """A failure that another attempt may not have."""


def default_cache_dir() -> Path:
    """Return ``$CONDAWHEEL_CACHE_DIR``, else the user cache folder's ``condawheel``."""
    configured = os.environ.get("CONDAWHEEL_CACHE_DIR")
    if configured:
        return Path(configured)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "condawheel" / "Cache" if base else Path.home() / ".condawheel"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "condawheel"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "condawheel"


def _request(url: str) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - http(s) only, checked by callers


def _retrying(
    url: str, policy: RetryPolicy, attempt: Callable[[], _T], *, sleep: Callable[[float], None]
) -> _T:
    last = ""
    for number in range(policy.attempts):
        if number:
            sleep(policy.backoff * 2 ** (number - 1))
        try:
            return attempt()
        except _TransientError as error:
            last = str(error)
    raise SourceError(url, f"{last} (gave up after {policy.attempts} attempts)")


def _open(url: str, policy: RetryPolicy) -> http.client.HTTPResponse | None:
    """Open ``url``; None for 404/410; raise _TransientError for what deserves a retry."""
    try:
        response = urllib.request.urlopen(_request(url), timeout=policy.timeout)  # noqa: S310
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in {404, 410}:
            return None
        if error.code in _TRANSIENT_STATUS:
            raise _TransientError(f"HTTP {error.code} {error.reason}") from None
        raise SourceError(url, f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        raise _TransientError(f"cannot connect: {reason}") from None
    if not isinstance(response, http.client.HTTPResponse):  # pragma: no cover - ftp: etc.
        response.close()
        raise SourceError(url, "not an HTTP(S) URL")
    return response


def fetch(
    url: str,
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes | None:
    """Return the body at ``url`` (repodata, channeldata), or None if the server has none.

    :raises SourceError: for an error that persists through the retries.
    """
    policy = policy or RetryPolicy()

    def attempt() -> bytes | None:
        response = _open(url, policy)
        if response is None:
            return None
        with response:
            try:
                return response.read()
            except (OSError, http.client.HTTPException) as error:
                raise _TransientError(f"connection broken while reading: {error}") from None

    return _retrying(url, policy, attempt, sleep=sleep)


def _lock_part(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":
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
        raise _TransientError(f"corrupt download: {'; '.join(problems)}")


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
    policy = policy or RetryPolicy()
    key = expected.cache_key
    if key is None:
        raise SourceError(url, "repodata.json gives no sha256 or md5: it cannot be verified")
    cached = cached_download(cache_dir, filename, expected)
    if cached is not None:
        return cached
    folder = cache_dir / "pkgs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SourceError(str(folder), f"cannot create the download cache: {error}") from None

    def attempt() -> Path:
        response = _open(url, policy)
        if response is None:
            raise SourceError(url, "not found on the server (HTTP 404), though repodata lists it")
        part = folder / f"{PART_PREFIX}{secrets.token_hex(8)}-{filename}"
        try:
            with response, part.open("xb") as out:
                _lock_part(out)
                sha256, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 - conda's checksum
                size = 0
                try:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        sha256.update(chunk)
                        md5.update(chunk)
                        size += len(chunk)
                except (OSError, http.client.HTTPException) as error:
                    raise _TransientError(f"connection broken while reading: {error}") from None
                _check(expected, size, sha256.hexdigest(), md5.hexdigest())
                out.flush()
                os.fsync(out.fileno())
                final = folder / key / filename
                final.parent.mkdir(exist_ok=True)
                # Verified bytes only: a concurrent download of the same key replaces
                # identical bytes, which readers cannot tell apart.
                part.replace(final)
                return final
        finally:
            with contextlib.suppress(OSError):
                part.unlink()

    return _retrying(url, policy, attempt, sleep=sleep)
