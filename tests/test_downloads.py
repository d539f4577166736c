"""Tests for condawheel.wheelhouse.downloads: verified, retried, cached HTTP downloads."""

from __future__ import annotations

import fcntl
import hashlib
import os
from typing import TYPE_CHECKING

import pytest

from condawheel.errors import SourceError
from condawheel.io.http import RetryPolicy
from condawheel.wheelhouse.downloads import (
    PART_PREFIX,
    Expected,
    cached_download,
    clean_partial_downloads,
    default_cache_dir,
    download_artifact,
)
from syncing import ChannelServer, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

BODY = b"conda package bytes " * 1000
FILENAME = "demo-1.0-0.conda"
EXPECTED = Expected(
    sha256=hashlib.sha256(BODY).hexdigest(),
    md5=hashlib.md5(BODY).hexdigest(),  # noqa: S324 - conda's checksum
    size=len(BODY),
)
FAST = RetryPolicy(attempts=3, backoff=0.0, timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChannelServer]:
    root = tmp_path / "served"
    (root / "noarch").mkdir(parents=True)
    (root / "noarch" / FILENAME).write_bytes(BODY)
    yield from serve(root)


def url_of(server: ChannelServer) -> str:
    return f"{server.url}/noarch/{FILENAME}"


def test_a_download_is_verified_and_cached_by_its_sha256(
    server: ChannelServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"

    path = download_artifact(url_of(server), cache, FILENAME, EXPECTED, policy=FAST)

    assert path == cache / "pkgs" / EXPECTED.sha256 / FILENAME  # type: ignore[operator]
    assert path.read_bytes() == BODY
    again = download_artifact(url_of(server), cache, FILENAME, EXPECTED, policy=FAST)
    assert again == path
    assert server.controls.requests == [f"/noarch/{FILENAME}"]  # the second came from the cache
    assert list((cache / "pkgs").glob(f"{PART_PREFIX}*")) == []


@pytest.mark.parametrize(
    ("served", "expected", "message"),
    [
        (BODY[:-1] + b"!", EXPECTED, "sha256 "),
        (BODY[:-1] + b"!", Expected(md5=EXPECTED.md5), "md5 "),
        (BODY[:-10], EXPECTED, f"size {len(BODY) - 10} is not the {len(BODY)}"),
    ],
    ids=["sha256", "md5", "size"],
)
def test_a_corrupt_download_is_retried_then_refused(
    server: ChannelServer, tmp_path: Path, served: bytes, expected: Expected, message: str
) -> None:
    server.controls.corrupt[f"/noarch/{FILENAME}"] = served
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=0.5, timeout=10)
    cache = tmp_path / "cache"

    with pytest.raises(SourceError) as raised:
        download_artifact(
            url_of(server), tmp_path, FILENAME, expected, policy=policy, sleep=sleeps.append
        )

    assert raised.value.subject == url_of(server)
    assert raised.value.reason.startswith("corrupt download: ")
    assert message in raised.value.reason
    assert "does not match repodata.json's" in raised.value.reason or "size" in message
    assert raised.value.reason.endswith("(gave up after 3 attempts)")
    assert sleeps == [0.5, 1.0]
    assert list(cache.rglob(FILENAME)) == []
    assert list(cache.rglob(f"{PART_PREFIX}*")) == []


def test_transient_server_errors_are_retried(server: ChannelServer, tmp_path: Path) -> None:
    server.controls.fail_first[f"/noarch/{FILENAME}"] = 2

    path = download_artifact(url_of(server), tmp_path, FILENAME, EXPECTED, policy=FAST)

    assert path.read_bytes() == BODY
    assert server.controls.requests.count(f"/noarch/{FILENAME}") == 3


def test_a_missing_file_is_not_retried(server: ChannelServer, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found on the server"):
        download_artifact(
            f"{server.url}/noarch/other-1-0.conda",
            tmp_path,
            "other-1-0.conda",
            EXPECTED,
            policy=FAST,
        )

    assert server.controls.requests == ["/noarch/other-1-0.conda"]


def test_an_artifact_without_digests_cannot_be_downloaded(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no sha256 or md5"):
        download_artifact("http://127.0.0.1:9/x.conda", tmp_path, "x.conda", Expected(size=1))


@pytest.mark.parametrize(
    "expected",
    [
        Expected(sha256="../../etc"),
        Expected(sha256="a" * 63 + "/"),
        Expected(md5="../" + "0" * 29),
        Expected(sha256="g" * 64),
    ],
    ids=["dots", "slash", "md5-dots", "not-hex"],
)
def test_digests_that_are_not_hexadecimal_never_become_a_cache_path(
    tmp_path: Path, expected: Expected
) -> None:
    # Issue 16, finding 9: a repodata sha256 of "../.." made sync read a local file.
    outside = tmp_path / "etc" / FILENAME
    outside.parent.mkdir()
    outside.write_bytes(BODY)
    cache = tmp_path / "cache" / "x"

    assert expected.cache_key is None
    assert cached_download(cache, FILENAME, expected) is None
    with pytest.raises(SourceError, match="no sha256 or md5"):
        download_artifact("http://127.0.0.1:9/x.conda", cache, FILENAME, expected)


def test_a_trickling_download_is_given_up_at_its_deadline(
    server: ChannelServer, tmp_path: Path
) -> None:
    server.controls.trickle[f"/noarch/{FILENAME}"] = 0.01
    # 20,000 bytes at 1 MB/s are due after 0.22 s; one byte every 10 ms is 200 s.
    policy = RetryPolicy(attempts=2, backoff=0.0, timeout=10, grace=0.2, min_rate=1e6)

    with pytest.raises(SourceError) as raised:
        download_artifact(url_of(server), tmp_path, FILENAME, EXPECTED, policy=policy)

    assert raised.value.reason.startswith("too slow: ")
    assert f"for {len(BODY) / 1024:.4g} KiB" in raised.value.reason
    assert raised.value.reason.endswith("(gave up after 2 attempts)")
    assert list((tmp_path / "pkgs").iterdir()) == []  # no part, no entry


def test_a_longer_body_than_promised_is_cut_off(server: ChannelServer, tmp_path: Path) -> None:
    server.controls.corrupt[f"/noarch/{FILENAME}"] = BODY * 3

    with pytest.raises(SourceError) as raised:
        download_artifact(url_of(server), tmp_path, FILENAME, EXPECTED, policy=FAST)

    assert f"more than the {len(BODY)} bytes that repodata.json promises" in raised.value.reason


def test_only_parts_of_dead_processes_are_cleaned(tmp_path: Path) -> None:
    folder = tmp_path / "pkgs"
    folder.mkdir()
    dead = folder / f"{PART_PREFIX}dead-{FILENAME}"
    dead.write_bytes(b"half")
    alive = folder / f"{PART_PREFIX}alive-{FILENAME}"
    kept = folder / "keep-me.conda"
    kept.write_bytes(b"x")
    with alive.open("wb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # a download in progress holds its part
        removed = clean_partial_downloads(tmp_path)

        assert removed == 1
        assert not dead.exists()
        assert alive.exists()
        assert kept.exists()


def test_the_default_cache_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONDAWHEEL_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("CONDAWHEEL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "condawheel"
    assert os.fspath(default_cache_dir()).endswith("condawheel")


@pytest.mark.parametrize("filename", ["../demo-1.0-0.conda", "a\\b.conda", "", ".", ".."])
def test_a_file_name_that_is_a_path_is_refused(tmp_path: Path, filename: str) -> None:
    url = f"http://127.0.0.1:9/noarch/{filename}"
    with pytest.raises(SourceError) as raised:
        download_artifact(url, tmp_path / "cache", filename, EXPECTED)

    assert str(raised.value) == f"{url}: {filename!r} is not a file name"
    assert not (tmp_path / "cache").exists()


def test_a_cache_that_cannot_be_made_names_its_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_bytes(b"a file where the cache folder should be")

    with pytest.raises(SourceError) as raised:
        download_artifact("http://127.0.0.1:9/x.conda", cache, FILENAME, EXPECTED)

    assert raised.value.subject == str(cache / "pkgs")
    assert raised.value.reason.startswith("cannot create the download cache: ")
    assert "\n" not in str(raised.value)


def test_a_cached_copy_of_the_wrong_size_is_downloaded_again(
    server: ChannelServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    stale = cache / "pkgs" / str(EXPECTED.sha256) / FILENAME
    stale.parent.mkdir(parents=True)
    stale.write_bytes(BODY[:100])
    assert cached_download(cache, FILENAME, EXPECTED) is None

    path = download_artifact(url_of(server), cache, FILENAME, EXPECTED, policy=FAST)

    assert path == stale
    assert path.read_bytes() == BODY
    assert server.controls.requests == [f"/noarch/{FILENAME}"]


def test_cleaning_a_cache_without_downloads_removes_nothing(tmp_path: Path) -> None:
    assert clean_partial_downloads(tmp_path / "never-made") == 0
    # A part that cannot be opened as a file is not ours to remove.
    odd = tmp_path / "pkgs" / f"{PART_PREFIX}odd"
    odd.mkdir(parents=True)
    assert clean_partial_downloads(tmp_path) == 0
    assert odd.is_dir()
