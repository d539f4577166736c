"""The one HTTP client of condawheel: retried, bounded in time and size, errors as SourceError.

Every command that speaks HTTP (sync's channels and downloads, install's index pages and
wheels) goes through :func:`read_url`, so that the rules hold everywhere:

* only ``http://`` and ``https://`` URLs are opened, and a redirect may lead only to
  another such URL (``urllib`` would follow one to ``ftp:``); ``file:`` URLs are the
  callers' business (:func:`file_url_to_path`), never this client's;
* an answer worth asking again (a dropped connection, HTTP 408/425/429/5xx, a body cut
  short, a download too slow for its deadline, or bytes the caller finds corrupt) is
  retried ``attempts`` times in all, waiting ``backoff * 2**n`` seconds in between;
  any other HTTP error is final, and 404/410 mean "there is none" (``None``);
* each read waits at most ``timeout`` seconds, and the whole body must arrive within
  the deadline of :meth:`RetryPolicy.deadline`, scaled to the size expected, so that a
  server sending one byte now and then cannot keep a sync (and its wheelhouse lock)
  for ever;
* a body longer than the caller's ``limit`` is refused, before it is all read;
* requests carry condawheel's ``User-Agent``; proxies come from the environment and
  certificates from the system, as ``urllib`` does.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Final, TypeVar
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

from condawheel import __version__
from condawheel.errors import SourceError
from condawheel.io.compressed import size_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

__all__ = [
    "USER_AGENT",
    "HTTPBody",
    "RetryPolicy",
    "TransientFailure",
    "fetch",
    "file_url_to_path",
    "is_http_url",
    "read_url",
]

USER_AGENT: Final = f"condawheel/{__version__}"
_CHUNK: Final = 1 << 20
_T = TypeVar("_T")
# Answers worth asking again: the server or a proxy is overloaded or restarting.
_TRANSIENT_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try, and how long to wait.

    ``attempts`` in all, waiting ``backoff * 2**n`` seconds between them; ``timeout``
    seconds at most for each read; and the deadline of each download: ``grace`` seconds
    plus one second for every ``min_rate`` bytes it is expected to have.
    """

    attempts: int = 4
    backoff: float = 0.5
    timeout: float = 60.0
    grace: float = 60.0
    min_rate: float = 64 * 1024

    def deadline(self, expected_size: int) -> float:
        """Return the seconds a download of ``expected_size`` bytes may take in all."""
        return self.grace + expected_size / self.min_rate


class _NotModified(Exception):
    """HTTP 304: the copy the caller has (``If-None-Match`` / ``If-Modified-Since``) is current."""


class TransientFailure(Exception):
    """A failure that another attempt may not have; :func:`read_url` tries again.

    A caller's ``consume`` raises it for bytes that arrived but are wrong (a digest that
    does not match): most of the time that is a broken transfer too.
    """


@dataclass
class HTTPBody:
    """The body of an answer, read in chunks, within its deadline and its limit."""

    url: str
    headers: Mapping[str, str]
    """The answer's headers (``ETag``, ``Content-Length``...)."""
    _response: http.client.HTTPResponse
    _policy: RetryPolicy
    _limit: int
    _expected: int | None

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in chunks of at most 1 MiB, as they arrive.

        :raises TransientFailure: if the connection breaks, or the deadline passes.
        :raises SourceError: if the body is longer than the limit.
        """
        length = self._response.length
        expected = self._expected if self._expected is not None else length
        if expected is not None and expected > self._limit:
            raise SourceError(self.url, f"is larger than the limit of {size_text(self._limit)}")
        # Without an expected size the deadline grows with what arrived: the average
        # speed after the grace period must stay at min_rate.
        started = time.monotonic()
        received = 0
        while True:
            try:
                # read1: one read from the socket at most, so that a trickle of bytes
                # comes back here (and meets the deadline) instead of filling a buffer.
                chunk = self._response.read1(_CHUNK)
            except (OSError, http.client.HTTPException) as error:
                raise TransientFailure(f"connection broken while reading: {error}") from None
            if not chunk:
                break
            received += len(chunk)
            if received > self._limit:
                raise SourceError(self.url, f"is larger than the limit of {size_text(self._limit)}")
            scale = expected if expected is not None else received
            allowed = self._policy.deadline(scale)
            elapsed = time.monotonic() - started
            if elapsed > allowed:
                raise TransientFailure(
                    f"too slow: {received} bytes in {elapsed:.1f} s, past the deadline of "
                    f"{allowed:.1f} s for {size_text(scale)}"
                )
            yield chunk
        if length is not None and received < length:  # a guard: http.client raises
            raise TransientFailure(f"connection broken: {received} of {length} bytes")

    def read(self) -> bytes:
        """Return the whole body (see :meth:`chunks`)."""
        return b"".join(self.chunks())


def is_http_url(url: str) -> bool:
    """Return whether ``url`` is an ``http://`` or ``https://`` URL (with a host)."""
    parts = urlsplit(url)
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def file_url_to_path(url: str) -> Path:
    """Return the local path of a ``file:`` URL.

    :raises SourceError: if it names a host (a file on another machine).
    """
    from pathlib import Path  # noqa: PLC0415 - only for the return value

    parts = urlsplit(url)
    if parts.netloc not in {"", "localhost"}:
        raise SourceError(url, "a file: URL must name a local path (no host)")
    return Path(url2pathname(parts.path))


class _HTTPOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to ``http(s)`` URLs only (``urllib`` also follows them to ftp:)."""

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
    ) -> IO[bytes] | None:
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urljoin(req.full_url, location)
            if not is_http_url(target):
                raise SourceError(
                    req.full_url, f"redirects to {target}, which is not an HTTP(S) URL"
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


_OPENER: Final = urllib.request.build_opener(_HTTPOnlyRedirects())


def _open(
    url: str, policy: RetryPolicy, headers: Mapping[str, str]
) -> http.client.HTTPResponse | None:
    """Open ``url``; None for 404/410; raise TransientFailure for what deserves a retry."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})  # noqa: S310 - http(s) only, checked by read_url
    try:
        response = _OPENER.open(request, timeout=policy.timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in {404, 410}:
            return None
        if error.code == 304:  # noqa: PLR2004 - Not Modified
            raise _NotModified from None
        if error.code in _TRANSIENT_STATUS:
            raise TransientFailure(f"HTTP {error.code} {error.reason}") from None
        raise SourceError(url, f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        raise TransientFailure(f"cannot connect: {reason}") from None
    if not isinstance(response, http.client.HTTPResponse):  # a guard: see is_http_url
        response.close()
        raise SourceError(url, "not an HTTP(S) URL")
    return response


def read_url(
    url: str,
    consume: Callable[[HTTPBody], _T],
    *,
    limit: int,
    policy: RetryPolicy | None = None,
    expected_size: int | None = None,
    headers: Mapping[str, str] | None = None,
    not_modified: Callable[[], _T] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> _T | None:
    """Open ``url`` and return what ``consume`` makes of its body; None for 404/410.

    ``consume`` is called again for each attempt, with a fresh body: it must start over
    (a parse, a file it writes), and may raise :class:`TransientFailure` itself.

    :param limit: the most bytes the body may have.
    :param expected_size: the size the caller knows (a repodata record's ``size``): the
        deadline is scaled to it, else to ``Content-Length``, else to what arrived.
    :param headers: extra request headers (``Accept``, ``If-None-Match``...).
    :param not_modified: what to return when the server answers 304 Not Modified to
        conditional ``headers`` (the caller's copy is current).
    :raises SourceError: if ``url`` is not an HTTP(S) URL, for an HTTP error that is not
        transient, or one that persists through the retries; the reason then says so.
    """
    if not is_http_url(url):
        raise SourceError(url, "not an HTTP(S) URL")
    policy = policy or RetryPolicy()
    last = ""
    for number in range(policy.attempts):
        if number:
            sleep(policy.backoff * 2 ** (number - 1))
        try:
            response = _open(url, policy, headers or {})
            if response is None:
                return None
            with response:
                answer = {key.lower(): value for key, value in response.headers.items()}
                body = HTTPBody(url, answer, response, policy, limit, expected_size)
                return consume(body)
        except _NotModified:
            if not_modified is None:
                why = "HTTP 304 Not Modified, to a request that was not conditional"
                raise SourceError(url, why) from None
            return not_modified()
        except TransientFailure as error:
            last = str(error)
    raise SourceError(url, f"{last} (gave up after {policy.attempts} attempts)")


def fetch(
    url: str,
    *,
    limit: int,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes | None:
    """Return the body at ``url`` (at most ``limit`` bytes), or None if the server has none.

    :raises SourceError: as :func:`read_url`.
    """
    return read_url(url, HTTPBody.read, limit=limit, policy=policy, sleep=sleep)
