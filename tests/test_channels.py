"""Tests for condawheel.wheelhouse.channels: channel folders and HTTP channels."""

from __future__ import annotations

import bz2
import json
import sys
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, build_conda, build_tar_bz2
from condawheel.errors import SourceError
from condawheel.io.http import RetryPolicy
from condawheel.wheelhouse import channels as channels_module
from condawheel.wheelhouse.artifacts import NameFilter
from condawheel.wheelhouse.channels import (
    NOT_IN_REPODATA,
    list_folder_channel,
    list_http_channel,
)
from condawheel.wheelhouse.repodata import parse_repodata
from syncing import ChannelServer, record_of, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

NO_RETRY = RetryPolicy(attempts=1, backoff=0, timeout=10)


def make_channel(root: Path, *, repodata: bool) -> dict[str, dict[str, object]]:
    """Two subdirs, three packages; returns the repodata records by file name."""
    records: dict[str, dict[str, object]] = {}
    for subdir, spec in [
        ("linux-64", CondaSpec(name="alpha", version="1.0", build="h0_0")),
        ("linux-64", CondaSpec(name="beta-lib", version="2.1.post1", build="h1_3", build_number=3)),
        ("noarch", CondaSpec(name="gamma", version="0.1", build="py_0", subdir="noarch")),
    ]:
        folder = root / subdir
        folder.mkdir(parents=True, exist_ok=True)
        spec.subdir = subdir
        path = build_tar_bz2(spec, folder) if spec.name == "beta-lib" else build_conda(spec, folder)
        records[path.name] = record_of(path, spec)
    if repodata:
        for subdir in ("linux-64", "noarch"):
            document = {
                "info": {"subdir": subdir},
                "packages": {
                    fn: r
                    for fn, r in records.items()
                    if fn.endswith(".tar.bz2") and r["subdir"] == subdir
                },
                "packages.conda": {
                    fn: r
                    for fn, r in records.items()
                    if fn.endswith(".conda") and r["subdir"] == subdir
                },
                "repodata_version": 1,
            }
            (root / subdir / "repodata.json").write_text(json.dumps(document))
    return records


def summary(artifacts: tuple[object, ...]) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        (a.subdir, a.name, a.version, a.build, a.kind)  # type: ignore[attr-defined]
        for a in artifacts
    )


EXPECTED = [
    ("linux-64", "alpha", "1.0", "h0_0", "file"),
    ("linux-64", "beta-lib", "2.1.post1", "h1_3", "file"),
    ("noarch", "gamma", "0.1", "py_0", "file"),
]


def test_a_folder_without_repodata_is_listed_by_file_names(tmp_path: Path) -> None:
    make_channel(tmp_path, repodata=False)
    (tmp_path / ".tmp").mkdir()  # hidden folders (rattler's scratch) are not subdirs
    (tmp_path / "docs").mkdir()  # neither are folders without packages

    listing = list_folder_channel(tmp_path)

    assert summary(listing.artifacts) == EXPECTED
    assert listing.problems == ()
    assert listing.complete_scopes == ("linux-64", "noarch")
    alpha = next(a for a in listing.artifacts if a.name == "alpha")
    assert alpha.location == str(tmp_path / "linux-64" / "alpha-1.0-h0_0.conda")
    assert alpha.sha256 is None  # only the sync engine hashes files
    assert alpha.url == f"{tmp_path.as_uri()}/linux-64/alpha-1.0-h0_0.conda"


def test_a_folder_with_repodata_is_what_its_repodata_says(tmp_path: Path) -> None:
    records = make_channel(tmp_path, repodata=True)
    build_conda(CondaSpec(name="stray", version="1", build="0"), tmp_path / "noarch")
    (tmp_path / "noarch" / "gamma-0.1-py_0.conda").unlink()

    listing = list_folder_channel(tmp_path)

    assert summary(listing.artifacts) == EXPECTED[:2]
    beta = next(a for a in listing.artifacts if a.name == "beta-lib")
    assert beta.build_number == 3
    assert beta.sha256 == records[beta.filename]["sha256"]
    problems = {(p.filename, p.status, p.reason) for p in listing.problems}
    assert problems == {
        ("stray-1-0.conda", "skipped", NOT_IN_REPODATA),
        ("gamma-0.1-py_0.conda", "failed", "listed in repodata.json, but the file is missing"),
    }


def test_only_the_subdirs_asked_for_are_listed(tmp_path: Path) -> None:
    make_channel(tmp_path, repodata=False)

    listing = list_folder_channel(tmp_path, ["noarch", "osx-arm64"])

    assert summary(listing.artifacts) == EXPECTED[2:]
    assert listing.complete_scopes == ("noarch",)
    [problem] = listing.problems
    assert (problem.subdir, problem.reason) == ("osx-arm64", "no such subdir")


def test_bad_file_names_and_bad_repodata_are_problems(tmp_path: Path) -> None:
    (tmp_path / "linux-64").mkdir()
    (tmp_path / "linux-64" / "nodashes.conda").write_bytes(b"")
    (tmp_path / "noarch").mkdir()
    (tmp_path / "noarch" / "repodata.json").write_text("[1, 2]")

    listing = list_folder_channel(tmp_path)

    assert listing.artifacts == ()
    assert listing.complete_scopes == ("linux-64",)  # a subdir whose repodata is unreadable is not
    reasons = sorted(p.reason for p in listing.problems)
    assert reasons == [
        "not a conda package file name (<name>-<version>-<build>.conda|.tar.bz2)",
        "repodata must be a JSON object",
    ]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"packages": {"a-1-0.tar.bz2": "no"}}, "its repodata record is not an object"),
        ({"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1"}}}, "lacks build"),
        (
            {"packages.conda": {"../a-1-0.conda": {"name": "a", "version": "1", "build": "0"}}},
            "not a conda package file name",
        ),
        (
            {"packages.conda": {"a-1-0.whl": {"name": "a", "version": "1", "build": "0"}}},
            "not a conda package file name",
        ),
    ],
    ids=["not-object", "missing-field", "path-in-name", "not-conda"],
)
def test_parse_repodata_reports_unusable_records(document: dict[str, object], problem: str) -> None:
    repodata = parse_repodata(json.dumps(document).encode(), subdir="noarch", where="x")

    assert (repodata.base_url, repodata.records) == (None, ())
    [found] = repodata.problems
    assert problem in found.reason


def test_parse_repodata_reads_base_url_and_defaults_the_subdir() -> None:
    document = {
        "info": {"base_url": "https://cdn.example/channel/noarch/"},
        "packages.conda": {"a-1-0.conda": {"name": "a", "version": "1", "build": "0", "size": -1}},
    }
    repodata = parse_repodata(json.dumps(document).encode(), subdir="noarch", where="x")

    assert repodata.base_url == "https://cdn.example/channel/noarch/"
    [record] = repodata.records
    assert (record.subdir, record.size, record.sha256) == ("noarch", None, None)
    assert repodata.problems == ()


@pytest.mark.parametrize(
    "data", [b"{", b"\xff\xfe", b'{"packages": []}'], ids=["json", "utf8", "shape"]
)
def test_parse_repodata_refuses_what_is_not_repodata(data: bytes) -> None:
    with pytest.raises(SourceError):
        parse_repodata(data, subdir="noarch", where="x")


# ---------------------------------------------------------------------------- HTTP


@pytest.fixture
def http(tmp_path: Path) -> Iterator[tuple[ChannelServer, dict[str, dict[str, object]]]]:
    records = make_channel(tmp_path, repodata=True)
    yield from ((server, records) for server in serve(tmp_path))


def compress_repodata(root: Path, subdir: str, suffix: str) -> None:
    plain = root / subdir / "repodata.json"
    data = plain.read_bytes()
    packed = zstd.compress(data) if suffix == ".zst" else bz2.compress(data)
    (root / subdir / f"repodata.json{suffix}").write_bytes(packed)
    plain.unlink()


def test_an_http_channel_is_listed_from_its_repodata(
    http: tuple[ChannelServer, dict[str, dict[str, object]]],
) -> None:
    server, records = http
    compress_repodata(server.root, "linux-64", ".zst")
    compress_repodata(server.root, "noarch", ".bz2")

    listing = list_http_channel(server.url + "/", policy=NO_RETRY)

    assert listing.source == server.url
    assert [
        (a.subdir, a.name, a.kind) for a in sorted(listing.artifacts, key=lambda a: a.name)
    ] == [
        ("linux-64", "alpha", "url"),
        ("linux-64", "beta-lib", "url"),
        ("noarch", "gamma", "url"),
    ]
    alpha = next(a for a in listing.artifacts if a.name == "alpha")
    assert alpha.location == f"{server.url}/linux-64/alpha-1.0-h0_0.conda"
    assert alpha.sha256 == records["alpha-1.0-h0_0.conda"]["sha256"]
    assert alpha.size == records["alpha-1.0-h0_0.conda"]["size"]
    assert sorted(listing.complete_scopes) == ["linux-64", "noarch"]
    requested = server.controls.requests
    # Without channeldata.json every known subdir is probed; the compressed forms come first.
    assert "/channeldata.json" in requested
    assert "/osx-arm64/repodata.json.zst" in requested
    assert "/linux-64/repodata.json" not in requested


def test_channeldata_names_the_subdirs(
    http: tuple[ChannelServer, dict[str, dict[str, object]]],
) -> None:
    server, _ = http
    (server.root / "channeldata.json").write_text(json.dumps({"subdirs": ["noarch"]}))

    listing = list_http_channel(server.url, policy=NO_RETRY)

    assert [a.name for a in listing.artifacts] == ["gamma"]
    assert not any("linux-64" in path for path in server.controls.requests)


def test_a_subdir_asked_for_but_absent_is_a_problem(
    http: tuple[ChannelServer, dict[str, dict[str, object]]],
) -> None:
    server, _ = http

    listing = list_http_channel(server.url, ["noarch", "win-64"], policy=NO_RETRY)

    assert [a.name for a in listing.artifacts] == ["gamma"]
    [problem] = listing.problems
    assert problem.subdir == "win-64"
    assert "no repodata for subdir 'win-64'" in problem.reason
    assert listing.complete_scopes == ("noarch",)


def test_a_url_where_no_subdir_has_repodata_is_no_channel(
    http: tuple[ChannelServer, dict[str, dict[str, object]]],
) -> None:
    server, _ = http
    wrong = f"{server.url}/nope"  # the channel is the server's root, not this
    with pytest.raises(SourceError) as raised:
        list_http_channel(wrong + "/", policy=NO_RETRY)
    assert raised.value.subject == wrong
    assert raised.value.reason == (
        "not a channel (HTTP 404 for repodata_shards.msgpack.zst, repodata.json.zst, "
        "repodata.json, repodata.json.bz2 of any known subdir)"
    )
    # channeldata.json naming subdirs that have no repodata: no channel either.
    folder = server.root / "nope"
    folder.mkdir()
    (folder / "channeldata.json").write_text(json.dumps({"subdirs": ["noarch"]}))
    with pytest.raises(SourceError, match=r"of any subdir channeldata.json names\)$"):
        list_http_channel(wrong, policy=NO_RETRY)
    # A subdir asked for that has no repodata is that subdir's problem (the run fails),
    # as a missing subdir folder of a folder channel is.
    listing = list_http_channel(wrong, ["noarch"], policy=NO_RETRY)
    assert [(p.subdir, p.status) for p in listing.problems] == [("noarch", "failed")]
    # A real channel whose repodata lists nothing offers nothing, and that is fine.
    (folder / "noarch").mkdir()
    empty = {"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}}
    (folder / "noarch" / "repodata.json").write_text(json.dumps(empty))
    listing = list_http_channel(wrong, policy=NO_RETRY)
    assert (listing.artifacts, listing.problems, listing.complete_scopes) == ((), (), ("noarch",))


def test_base_url_points_the_downloads_elsewhere(
    http: tuple[ChannelServer, dict[str, dict[str, object]]],
) -> None:
    server, _ = http
    repodata = server.root / "noarch" / "repodata.json"
    document = json.loads(repodata.read_text())
    document["info"]["base_url"] = "../mirror/noarch/"
    repodata.write_text(json.dumps(document))

    listing = list_http_channel(server.url, ["noarch"], policy=NO_RETRY)

    assert [a.location for a in listing.artifacts] == [
        f"{server.url}/mirror/noarch/gamma-0.1-py_0.conda"
    ]


@pytest.mark.parametrize("subdirs", [None, ["noarch", "linux-64"]], ids=["probing", "explicit"])
def test_an_unreachable_server_is_one_error(subdirs: list[str] | None) -> None:
    with pytest.raises(SourceError) as raised:
        list_http_channel("http://127.0.0.1:9/", subdirs, policy=NO_RETRY)

    # The URL as given, then what was tried: not channeldata.json, which nobody typed.
    assert raised.value.subject == "http://127.0.0.1:9"
    assert raised.value.reason.startswith("cannot connect")
    first = "channeldata.json" if subdirs is None else "noarch/repodata_shards.msgpack.zst"
    assert raised.value.reason.endswith(
        f"(tried http://127.0.0.1:9/{first}; gave up after 1 attempts)"
    )


# ---------------------------------------------------------------------------- selections kept


def test_a_selection_of_unchanged_repodata_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_channel(tmp_path / "channel", repodata=True)
    cache = tmp_path / "cache"
    wanted = NameFilter(frozenset({"alpha"}))
    first = list_folder_channel(tmp_path / "channel", wanted=wanted, cache_dir=cache)
    assert [a.name for a in first.artifacts] == ["alpha"]
    assert len(list((cache / "repodata").glob("*.msgpack"))) == 2  # one per subdir

    def unread(*_: object, **__: object) -> None:
        raise AssertionError("read again")

    monkeypatch.setattr(channels_module, "read_repodata", unread)
    assert list_folder_channel(tmp_path / "channel", wanted=wanted, cache_dir=cache) == first
    # Another selection, or a changed file, is read.
    with pytest.raises(AssertionError, match="read again"):
        list_folder_channel(
            tmp_path / "channel", wanted=NameFilter(frozenset({"beta-lib"})), cache_dir=cache
        )
    monkeypatch.undo()
    repodata = tmp_path / "channel" / "linux-64" / "repodata.json"
    document = json.loads(repodata.read_text())
    del document["packages.conda"]["alpha-1.0-h0_0.conda"]
    repodata.write_text(json.dumps(document))
    changed = list_folder_channel(tmp_path / "channel", wanted=wanted, cache_dir=cache)
    assert changed.artifacts == ()


def test_an_unchanged_http_repodata_answers_304_and_is_not_downloaded(
    http: tuple[ChannelServer, dict[str, dict[str, object]]], tmp_path: Path
) -> None:
    server, _ = http
    cache = tmp_path / "cache"
    wanted = NameFilter(frozenset({"gamma"}))
    first = list_http_channel(
        server.url, ["noarch"], policy=NO_RETRY, wanted=wanted, cache_dir=cache
    )
    assert "If-Modified-Since" not in server.controls.headers["/noarch/repodata.json.zst"]

    again = list_http_channel(
        server.url, ["noarch"], policy=NO_RETRY, wanted=wanted, cache_dir=cache
    )

    assert again == first
    assert [a.name for a in again.artifacts] == ["gamma"]
    assert "If-Modified-Since" in server.controls.headers["/noarch/repodata.json"]
