"""Sharded repodata (CEP 16): channels indexed with shards by py-rattler, over loopback."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import msgspec
import pytest

from builders import CondaSpec, build_conda
from condawheel.errors import SourceError
from condawheel.io.http import RetryPolicy
from condawheel.wheelhouse.artifacts import NameFilter
from condawheel.wheelhouse.channels import list_folder_channel, list_http_channel
from condawheel.wheelhouse.repodata import NOT_A_FILENAME
from condawheel.wheelhouse.selection import parse_selection
from condawheel.wheelhouse.shards import (
    SHARD_INDEX_NAME,
    ShardCache,
    ShardSource,
    parse_shard,
    parse_shard_index,
    read_shards,
)
from condawheel.wheelhouse.sync import SyncOptions, sync
from envs import index_channel
from syncing import ChannelServer, cli_environment, condawheel_command, copy_channel, rebuild, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

NO_RETRY = RetryPolicy(attempts=1, backoff=0, timeout=30)
REQUESTS = "noarch/requests-2.32.3-pyhd8ed1ab_1.conda"


@pytest.fixture
def sharded(corpus: Path, tmp_path: Path) -> Path:
    """A copy of the corpus channel, indexed by rattler with shards (and repodata.json)."""
    channel = copy_channel(corpus, tmp_path / "channel")
    index_channel(channel, write_zst=True, write_shards=True, relax=False)
    return channel


@pytest.fixture
def server(sharded: Path) -> Iterator[ChannelServer]:
    yield from serve(sharded)


def shard_requests(server: ChannelServer) -> list[str]:
    return [path for path in server.controls.requests if "/shards/" in path]


def repodata_requests(server: ChannelServer) -> list[str]:
    return [path for path in server.controls.requests if "repodata.json" in path]


@pytest.mark.corpus
def test_select_fetches_the_index_and_only_the_selected_shards(
    server: ChannelServer, tmp_path: Path
) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    cache = tmp_path / "cache"
    env = cli_environment(CONDAWHEEL_CACHE_DIR=str(cache))

    run = subprocess.run(
        [*condawheel_command("sync", server.url, "-w", str(wheelhouse), "--select", "requests", "--json")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert [(a["filename"], a["status"]) for a in report["artifacts"]] == [
        ("requests-2.32.3-pyhd8ed1ab_1.conda", "converted")
    ]
    # No full repodata; the shard indexes of the subdirs; one shard (requests' own).
    assert repodata_requests(server) == []
    assert 1 <= len(shard_requests(server)) <= 4
    assert set(shard_requests(server)) == {
        f"/noarch/shards/{shard_hash(server.root, 'noarch', 'requests')}.msgpack.zst"
    }
    assert f"/{REQUESTS}" in server.controls.requests

    # A re-sync fetches the indexes again, and no shard: they are cached by their hash.
    server.controls.requests.clear()
    again = subprocess.run(
        [*condawheel_command("sync", server.url, "-w", str(wheelhouse), "--select", "requests", "--json")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [a["status"] for a in json.loads(again.stdout)["artifacts"]] == ["unchanged"]
    assert shard_requests(server) == []
    assert repodata_requests(server) == []
    assert "/noarch/repodata_shards.msgpack.zst" in server.controls.requests


def shard_hash(channel: Path, subdir: str, name: str) -> str:
    data = zstd.decompress((channel / subdir / SHARD_INDEX_NAME).read_bytes())
    digest = msgspec.msgpack.decode(data)["shards"][name]
    assert isinstance(digest, bytes)
    return digest.hex()


@pytest.mark.corpus
def test_a_resync_fetches_only_the_shards_whose_hash_changed(
    server: ChannelServer, sharded: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    wanted = NameFilter(frozenset({"requests", "idna", "h2"}))
    first = list_http_channel(server.url, policy=NO_RETRY, wanted=wanted, cache_dir=cache)
    assert sorted(a.name for a in first.artifacts) == ["h2", "idna", "requests"]
    assert len(shard_requests(server)) == 3
    old = shard_hash(sharded, "noarch", "h2")

    # A new build of h2 lands in the channel: its shard changes, the others do not.
    rebuild(
        sharded / "noarch" / "h2-4.1.0-pyhd8ed1ab_1.conda",
        sharded / "noarch",
        build="pyhd8ed1ab_2",
        build_number=2,
    )
    index_channel(sharded, write_zst=True, write_shards=True, relax=False)
    new = shard_hash(sharded, "noarch", "h2")
    assert new != old
    server.controls.requests.clear()

    again = list_http_channel(server.url, policy=NO_RETRY, wanted=wanted, cache_dir=cache)

    assert sorted(a.filename for a in again.artifacts if a.name == "h2") == [
        "h2-4.1.0-pyhd8ed1ab_1.conda",
        "h2-4.1.0-pyhd8ed1ab_2.conda",
    ]
    assert shard_requests(server) == [f"/noarch/shards/{new}.msgpack.zst"]
    assert repodata_requests(server) == []


@pytest.mark.corpus
def test_a_sharded_listing_is_the_repodata_listing(server: ChannelServer, sharded: Path) -> None:
    # Everything, through shards (a folder and HTTP), is what repodata.json lists.
    through_shards = list_http_channel(server.url, policy=NO_RETRY)
    assert repodata_requests(server) == []
    for subdir in ("noarch", "linux-64"):
        (sharded / subdir / SHARD_INDEX_NAME).rename(sharded / subdir / "hidden-index")
    through_repodata = list_http_channel(server.url, ["noarch", "linux-64"], policy=NO_RETRY)
    for subdir in ("noarch", "linux-64"):
        (sharded / subdir / "hidden-index").rename(sharded / subdir / SHARD_INDEX_NAME)
    from_folder = list_folder_channel(sharded)

    def key(listing: object) -> list[tuple[str, str, str | None, int | None]]:
        return sorted(
            (a.subdir, a.filename, a.sha256, a.size)
            for a in listing.artifacts  # type: ignore[attr-defined]
        )

    assert len(through_shards.artifacts) == 85
    assert key(through_shards) == key(through_repodata)
    assert sorted((a.subdir, a.filename) for a in from_folder.artifacts) == [
        (s, f) for s, f, _, _ in key(through_shards)
    ]
    assert through_shards.problems == ()
    assert from_folder.problems == ()


def test_a_corrupt_shard_is_its_names_problem_only(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    folder = channel / "noarch"
    folder.mkdir(parents=True)
    for name in ("alpha", "beta"):
        build_conda(CondaSpec(name=name, version="1.0", build="h0_0", subdir="noarch"), folder)
    index_channel(channel, write_shards=True, relax=False)
    beta = folder / "shards" / f"{shard_hash(channel, 'noarch', 'beta')}.msgpack.zst"
    beta.write_bytes(zstd.compress(b"other bytes"))

    listing = list_folder_channel(channel, wanted=NameFilter(frozenset({"alpha", "beta"})))

    assert [a.name for a in listing.artifacts] == ["alpha"]
    [problem] = listing.problems
    assert problem.location.endswith(beta.name)
    assert problem.reason == "the shard's sha256 is not the one its name says (corrupt)"


def test_a_missing_shard_is_its_names_problem_only(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    folder = channel / "noarch"
    folder.mkdir(parents=True)
    for name in ("alpha", "beta"):
        build_conda(CondaSpec(name=name, version="1.0", build="h0_0", subdir="noarch"), folder)
    index_channel(channel, write_shards=True, relax=False)
    beta = folder / "shards" / f"{shard_hash(channel, 'noarch', 'beta')}.msgpack.zst"
    beta.unlink()

    listing = list_folder_channel(channel, wanted=NameFilter(frozenset({"alpha", "beta"})))

    assert [a.name for a in listing.artifacts] == ["alpha"]
    [problem] = listing.problems
    assert problem.location.endswith(beta.name)
    assert problem.reason == "the shard index names this shard, but there is none (HTTP 404)"


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (b"\xc1", "MessagePack data is malformed"),
        (msgspec.msgpack.encode({"shards": [1, 2]}), "Expected `object`, got `array`"),
        (
            b"\x82"
            + msgspec.msgpack.encode("shards")
            + msgspec.msgpack.encode({})
            + msgspec.msgpack.encode("x")
            + b"\x91" * 200_000
            + b"\xc0",
            "maximum recursion depth exceeded",
        ),
    ],
    ids=["not-msgpack", "wrong-shape", "deep"],
)
def test_a_broken_shard_index_is_one_line(index: bytes, message: str) -> None:
    with pytest.raises(SourceError) as raised:
        parse_shard_index(zstd.compress(index), where="x/repodata_shards.msgpack.zst")
    assert raised.value.subject == "x/repodata_shards.msgpack.zst"
    assert raised.value.reason.startswith("not a shard index (CEP 16): ")
    assert message in raised.value.reason


def test_the_shards_of_a_subdir_hold_a_bounded_number_of_records() -> None:
    # Issue 16, finding 5, sharded: each shard is small, but there was no limit on what
    # the shards hold together, and a few kilobytes of zstd pack many thousand tiny records
    # (20 shards of 50 records here stand for 200,000 shards of a million).
    blobs: dict[str, bytes] = {}
    digests: dict[str, bytes] = {}
    for number in range(20):
        name = f"n{number}"
        records = {
            f"{name}-1-{build}.conda": {"name": name, "version": "1", "build": str(build)}
            for build in range(50)
        }
        blob = zstd.compress(msgspec.msgpack.encode({"packages.conda": records}))
        digests[name] = hashlib.sha256(blob).digest()
        blobs[f"x/shards/{digests[name].hex()}.msgpack.zst"] = blob
    index_url = "x/" + SHARD_INDEX_NAME
    index = parse_shard_index(
        zstd.compress(msgspec.msgpack.encode({"shards": digests})), where=index_url
    )
    fetched: list[str] = []

    def get(url: str) -> bytes:
        fetched.append(url)
        return blobs[url]

    def read(max_records: int) -> tuple[int, int]:
        fetched.clear()
        found = read_shards(
            ShardSource(get), index_url, index, subdir="noarch", wanted=None,
            max_records=max_records,
        )  # fmt: skip
        return len(found.records), len(fetched)

    assert read(1000) == (1000, 20)
    with pytest.raises(SourceError) as raised:
        read(120)
    assert raised.value.subject == index_url
    assert raised.value.reason == "lists more than 120 records, the limit for one subdir"
    # Each shard is counted before its records are decoded, and once the limit is passed
    # no other is fetched: the third shard passes it, while at most eight were in flight.
    assert len(fetched) <= 2 + 8


def test_hashes_that_are_not_sha256_are_left_out() -> None:
    index = msgspec.msgpack.encode({"shards": {"ok": b"\x01" * 32, "short": b"\x01" * 4}})
    parsed = parse_shard_index(zstd.compress(index), where="x")
    assert parsed.shards == {"ok": "01" * 32}
    assert parsed.shards_base_url == "./shards/"


@pytest.mark.corpus
def test_an_http_sync_of_a_sharded_channel_syncs_what_it_selects(
    server: ChannelServer, tmp_path: Path
) -> None:
    options = SyncOptions(jobs=1, retry=NO_RETRY, cache_dir=tmp_path / "cache",
                          selection=parse_selection(["idna", "h2"], newest=1))  # fmt: skip
    report = sync([server.url], tmp_path / "w", options)
    assert report.ok
    assert sorted(o.filename for o in report.outcomes) == [
        "h2-4.1.0-pyhd8ed1ab_1.conda",
        "idna-3.10-pyhd8ed1ab_1.conda",
    ]


@pytest.mark.corpus
def test_a_dry_run_reads_the_caches_and_writes_nothing_into_them(
    server: ChannelServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    selection = parse_selection(["idna"])
    options = SyncOptions(jobs=1, retry=NO_RETRY, cache_dir=cache, selection=selection)

    dry = sync([server.url], tmp_path / "w", replace(options, dry_run=True))

    assert [o.status for o in dry.outcomes] == ["would-convert"]
    assert not cache.exists() or not any(cache.rglob("*.msgpack*"))
    sync([server.url], tmp_path / "w", options)
    assert len(list((cache / "shards").glob("*.msgpack.zst"))) == 1
    server.controls.requests.clear()
    sync([server.url], tmp_path / "w", replace(options, dry_run=True))
    assert shard_requests(server) == []  # read from the cache


# ------------------------------------------------------------------ one shard, in memory


def shard(**packages: dict[str, object]) -> bytes:
    """A compressed shard holding ``packages`` (file name -> record) in "packages.conda"."""
    return zstd.compress(msgspec.msgpack.encode({"packages": {}, "packages.conda": packages}))


def shard_record(
    name: str = "alpha", version: str = "1.0", build: str = "h0_0"
) -> dict[str, object]:
    return {"name": name, "version": version, "build": build, "sha256": b"\x01" * 32, "depends": []}


def test_a_shards_records_and_the_problems_of_the_others() -> None:
    data = shard(
        **{
            "alpha-1.0-h0_0.conda": shard_record(),
            "alpha-2.0-h0_0.conda": shard_record(version="1.0"),
            "beta-1.0-h0_0.conda": shard_record("beta"),
            "alpha-3.0-h0_0.conda": {"name": "alpha", "version": 3},
            "not-a-conda-file.txt": shard_record(),
        }
    )

    records, problems = parse_shard(data, subdir="noarch", where="s.msgpack.zst", name="alpha")

    assert [(r.filename, r.sha256) for r in records] == [("alpha-1.0-h0_0.conda", "01" * 32)]
    reasons = {problem.filename: problem.reason for problem in problems}
    assert reasons["alpha-2.0-h0_0.conda"] == (
        "its repodata record is alpha-1.0-h0_0, not what its file name says"
    )
    assert reasons["beta-1.0-h0_0.conda"] == (
        "its shard is the one of 'alpha', but its record is 'beta''s"
    )
    assert reasons["alpha-3.0-h0_0.conda"].startswith("its shard record is not valid: ")
    assert reasons["not-a-conda-file.txt"] == NOT_A_FILENAME
    assert len(problems) == 4


def test_bytes_that_are_no_shard_are_one_line() -> None:
    with pytest.raises(SourceError) as raised:
        parse_shard(zstd.compress(b"\xc1"), subdir="noarch", where="s.msgpack.zst")
    assert raised.value.subject == "s.msgpack.zst"
    assert raised.value.reason.startswith("not a repodata shard (CEP 16): ")
    assert "\n" not in str(raised.value)


def test_the_shard_cache_keeps_verified_shards_only(tmp_path: Path) -> None:
    data = shard(**{"alpha-1.0-h0_0.conda": shard_record()})
    digest = hashlib.sha256(data).hexdigest()
    cache = ShardCache(tmp_path / "shards")
    assert cache.get(digest) is None
    cache.put(digest, data)
    assert cache.get(digest) == data
    # Damaged on disk: not returned, and removed so that it is fetched again.
    (tmp_path / "shards" / f"{digest}.msgpack.zst").write_bytes(data[:-1])
    assert cache.get(digest) is None
    assert list((tmp_path / "shards").iterdir()) == []
    # A dry run's cache keeps nothing; a cache that cannot be written is no error.
    ShardCache(tmp_path / "dry", writable=False).put(digest, data)
    assert not (tmp_path / "dry").exists()
    (tmp_path / "file").write_bytes(b"")
    ShardCache(tmp_path / "file" / "shards").put(digest, data)
