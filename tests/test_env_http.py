"""install's index pages and wheel downloads go through condawheel.io.http (issue 15, item 2)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from condawheel.env import install as install_module
from condawheel.env.resolve import ResolvedWheel, index_candidates
from condawheel.errors import InstallError
from syncing import ChannelServer, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

WHEEL = "demo-1.0-py3-none-any.whl"
BODY = b"not really a wheel, but bytes to download " * 100


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChannelServer]:
    root = tmp_path / "served"
    (root / "simple" / "demo").mkdir(parents=True)
    (root / "simple" / "demo" / "index.html").write_text(
        f'<html><body><a href="../../{WHEEL}">{WHEEL}</a></body></html>'
    )
    (root / WHEEL).write_bytes(BODY)
    yield from serve(root)


def resolved(server: ChannelServer, sha256: str | None) -> ResolvedWheel:
    return ResolvedWheel(
        name=canonicalize_name("demo"),
        version=Version("1.0"),
        url=f"{server.url}/{WHEEL}",
        filename=WHEEL,
        sha256=sha256,
        requested=True,
        is_direct=False,
        requires_dist=(),
    )


def test_an_index_page_is_retried_like_every_http_request(server: ChannelServer) -> None:
    server.controls.fail_first["/simple/demo/"] = 1

    [candidate] = index_candidates(f"{server.url}/simple", canonicalize_name("demo"))

    assert candidate.url == f"{server.url}/{WHEEL}"
    assert server.controls.requests.count("/simple/demo/") == 2
    assert (
        "application/vnd.pypi.simple.v1+json" in server.controls.headers["/simple/demo/"]["Accept"]
    )
    server.controls.fail_first["/simple/demo/"] = 10
    with pytest.raises(InstallError) as raised:
        index_candidates(f"{server.url}/simple", canonicalize_name("demo"))
    assert raised.value.subject == f"{server.url}/simple/demo/"
    assert raised.value.reason.startswith("cannot read the index: HTTP 503")


def test_a_wheel_download_is_verified_and_retried(server: ChannelServer, tmp_path: Path) -> None:
    good = hashlib.sha256(BODY).hexdigest()
    server.controls.corrupt[f"/{WHEEL}"] = b"other bytes"

    with pytest.raises(InstallError) as raised:
        install_module._download(resolved(server, good), tmp_path / WHEEL)

    assert raised.value.reason == (
        "cannot download the wheel: the downloaded wheel does not match its sha256 "
        "(gave up after 4 attempts)"
    )
    del server.controls.corrupt[f"/{WHEEL}"]
    path = install_module._download(resolved(server, good), tmp_path / WHEEL)
    assert path.read_bytes() == BODY
    missing = resolved(server, None)
    missing = ResolvedWheel(**{**missing.__dict__, "url": f"{server.url}/gone.whl"})
    with pytest.raises(InstallError, match="not found"):
        install_module._download(missing, tmp_path / "gone.whl")
