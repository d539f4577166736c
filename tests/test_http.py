"""Tests for condawheel.io.http: the one HTTP client (retries, deadline, limits, redirects)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from condawheel import __version__
from condawheel.errors import SourceError
from condawheel.io.http import (
    USER_AGENT,
    HTTPBody,
    RetryPolicy,
    TransientFailure,
    fetch,
    file_url_to_path,
    is_http_url,
    read_url,
)
from syncing import ChannelServer, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

BODY = b"0123456789" * 20
FAST = RetryPolicy(attempts=2, backoff=0.0, timeout=10)
LIMIT = 1 << 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChannelServer]:
    root = tmp_path / "served"
    root.mkdir()
    (root / "body.bin").write_bytes(BODY)
    yield from serve(root)


def test_fetch_returns_the_body_or_none_for_404(server: ChannelServer) -> None:
    assert fetch(f"{server.url}/body.bin", limit=LIMIT, policy=FAST) == BODY
    assert fetch(f"{server.url}/missing.bin", limit=LIMIT, policy=FAST) is None
    assert server.controls.headers["/body.bin"]["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("condawheel/")
    assert USER_AGENT.endswith(__version__)


def test_a_body_over_the_limit_is_refused(server: ChannelServer) -> None:
    with pytest.raises(SourceError) as raised:
        fetch(f"{server.url}/body.bin", limit=len(BODY) - 1, policy=FAST)

    assert raised.value.subject == f"{server.url}/body.bin"
    assert raised.value.reason == f"is larger than the limit of {len(BODY) - 1} bytes"
    assert server.controls.requests == ["/body.bin"]  # final: not retried


def test_a_trickling_server_meets_the_overall_deadline(server: ChannelServer) -> None:
    # One byte every 20 ms never trips the 10 s per-read timeout; the deadline for 200
    # bytes (0.2 s + 200 / 2000 s) does, on each of the two attempts.
    server.controls.trickle["/body.bin"] = 0.02
    policy = RetryPolicy(attempts=2, backoff=0.0, timeout=10, grace=0.2, min_rate=2000)
    started = time.monotonic()

    with pytest.raises(SourceError) as raised:
        fetch(f"{server.url}/body.bin", limit=LIMIT, policy=policy)

    assert time.monotonic() - started < 3  # 200 bytes would take 4 s per attempt
    assert raised.value.reason.startswith("too slow: ")
    assert "past the deadline of 0.3 s for 200 bytes" in raised.value.reason
    assert raised.value.reason.endswith("(gave up after 2 attempts)")
    assert server.controls.requests == ["/body.bin", "/body.bin"]


def test_a_slow_download_within_its_deadline_completes(server: ChannelServer) -> None:
    server.controls.trickle["/body.bin"] = 0.001
    assert fetch(f"{server.url}/body.bin", limit=LIMIT, policy=FAST) == BODY


def test_the_deadline_scales_with_the_size() -> None:
    policy = RetryPolicy(grace=60, min_rate=64 * 1024)
    assert policy.deadline(0) == 60
    assert policy.deadline(64 * 1024 * 100) == 160


def test_redirects_lead_to_http_only(server: ChannelServer) -> None:
    server.controls.redirect["/elsewhere"] = "/body.bin"
    server.controls.redirect["/local"] = "file:///etc/passwd"
    server.controls.redirect["/ftp"] = "ftp://127.0.0.1/x"

    assert fetch(f"{server.url}/elsewhere", limit=LIMIT, policy=FAST) == BODY
    for path in ("/local", "/ftp"):
        with pytest.raises(SourceError, match="which is not an HTTP\\(S\\) URL"):
            fetch(f"{server.url}{path}", limit=LIMIT, policy=FAST)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "http:///x", "x"])
def test_only_http_urls_are_opened(url: str) -> None:
    assert not is_http_url(url)
    with pytest.raises(SourceError, match="not an HTTP\\(S\\) URL"):
        fetch(url, limit=LIMIT)


def test_a_consumer_can_ask_for_another_attempt(server: ChannelServer) -> None:
    seen: list[bytes] = []

    def consume(body: HTTPBody) -> bytes:
        data = body.read()
        seen.append(data)
        if len(seen) == 1:
            raise TransientFailure("corrupt download: try again")
        return data

    assert read_url(f"{server.url}/body.bin", consume, limit=LIMIT, policy=FAST) == BODY
    assert seen == [BODY, BODY]


def test_transient_answers_are_retried_then_given_up(server: ChannelServer) -> None:
    server.controls.fail_first["/body.bin"] = 1
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=0.5, timeout=10)
    assert fetch(f"{server.url}/body.bin", limit=LIMIT, policy=policy, sleep=sleeps.append) == BODY
    assert sleeps == [0.5]

    server.controls.fail_first["/body.bin"] = 5
    with pytest.raises(SourceError) as raised:
        fetch(f"{server.url}/body.bin", limit=LIMIT, policy=policy, sleep=sleeps.append)
    assert raised.value.reason == "HTTP 503 try again (gave up after 3 attempts)"


def test_not_modified_returns_what_the_caller_has(server: ChannelServer) -> None:
    first = read_url(f"{server.url}/body.bin", lambda body: dict(body.headers), limit=LIMIT)
    assert first is not None
    modified = first["last-modified"]

    again = read_url(
        f"{server.url}/body.bin",
        lambda _: "downloaded again",
        limit=LIMIT,
        headers={"If-Modified-Since": modified},
        not_modified=lambda: "kept",
    )

    assert again == "kept"


def test_file_urls_name_local_paths_only(tmp_path: Path) -> None:
    assert file_url_to_path(tmp_path.as_uri()) == tmp_path
    with pytest.raises(SourceError, match="no host"):
        file_url_to_path("file://server/share/x")
