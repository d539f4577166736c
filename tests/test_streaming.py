"""A whole channel synced as a stream: no more than a block of records alive at a time."""

from __future__ import annotations

import gc
import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from condawheel.io.http import RetryPolicy
from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.outcomes import ConflictParty, Outcome, ReportWriter, SyncReport
from condawheel.wheelhouse.repodata import Repodata, read_repodata
from condawheel.wheelhouse.sync import SyncOptions, sync
from syncing import serve

if TYPE_CHECKING:
    from collections.abc import Iterator

    from syncing import ChannelServer

RECORDS = 30_000
"""About 14 MB of JSON: several of the blocks (4 MiB) a listing reads at a time."""


def _repodata(count: int, *, info_first: bool = True) -> bytes:
    records = {}
    for number in range(count):
        name, version, build = f"pkg{number // 10}", f"1.{number % 10}", f"py_{number}"
        filename = f"{name}-{version}-{build}.conda"
        digest = hashlib.sha256(filename.encode()).hexdigest()
        records[filename] = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": 0,
            "depends": ["python >=3.8", "libzlib >=1.3.1,<2.0a0", "openssl >=3.4.0,<4.0a0"],
            "license": "BSD-3-Clause",
            "md5": digest[:32],
            "sha256": digest,
            "size": 123456 + number,
            "subdir": "noarch",
            "timestamp": 1707225380409,
        }
    info = {"subdir": "noarch"}
    document = (
        {"info": info, "packages": {}, "packages.conda": records}
        if info_first
        else {"packages": {}, "packages.conda": records, "info": info}
    )
    return json.dumps(document).encode()


@pytest.fixture(scope="module")
def big_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big-channel")
    (root / "noarch").mkdir()
    (root / "noarch" / "repodata.json").write_bytes(_repodata(RECORDS))
    return root


@pytest.fixture
def server(big_channel: Path) -> Iterator[ChannelServer]:
    yield from serve(big_channel)


def _alive_artifacts() -> int:
    return sum(1 for thing in gc.get_objects() if isinstance(thing, Artifact))


def test_a_whole_channel_dry_run_holds_a_block_of_artifacts_at_most(
    server: ChannelServer, tmp_path: Path
) -> None:
    passed: list[str] = []
    alive: list[int] = []

    def on_outcome(outcome: Outcome) -> None:
        passed.append(outcome.status)
        if len(passed) % 2_000 == 1:
            alive.append(_alive_artifacts())

    options = SyncOptions(
        subdirs=("noarch",),
        dry_run=True,
        cache_dir=tmp_path / "cache",
        retry=RetryPolicy(attempts=1, backoff=0, timeout=30),
    )
    report = sync([server.url], tmp_path / "wheelhouse", options, on_outcome=on_outcome)

    assert passed == ["would-convert"] * RECORDS
    assert report.outcomes == ()  # passed on, not kept
    assert report.count("would-convert") == RECORDS
    assert report.ok
    # Outcomes were passed on while the document was read: never all records at once.
    assert len(alive) > 1
    assert max(alive) < RECORDS // 2, alive


def test_without_on_outcome_the_report_keeps_every_outcome_in_listing_order(
    server: ChannelServer, tmp_path: Path
) -> None:
    options = SyncOptions(subdirs=("noarch",), dry_run=True, cache_dir=tmp_path / "cache")
    report = sync([server.url], tmp_path / "wheelhouse", options)

    assert len(report.outcomes) == RECORDS
    assert report.count("would-convert") == RECORDS
    # The document's order: pkg0-1.0, pkg0-1.1, ..., pkg1-1.0...
    assert [o.filename for o in report.outcomes[:2]] == [
        "pkg0-1.0-py_0.conda",
        "pkg0-1.1-py_1.conda",
    ]


@pytest.mark.parametrize("info_first", [True, False])
def test_read_repodata_passes_records_on_a_block_at_a_time(*, info_first: bool) -> None:
    data = _repodata(RECORDS, info_first=info_first)
    chunks = [data[start : start + (1 << 20)] for start in range(0, len(data), 1 << 20)]
    consumed = 0

    def feed() -> Iterator[bytes]:
        nonlocal consumed
        for chunk in chunks:
            consumed += 1
            yield chunk

    blocks: list[tuple[int, int]] = []

    def sink(repodata: Repodata) -> None:
        blocks.append((len(repodata.records), consumed))

    result = read_repodata(feed(), subdir="noarch", where="repodata.json", sink=sink)

    assert result.records == ()
    assert sum(count for count, _ in blocks) == RECORDS
    if info_first:
        # Blocks went out while the document was still coming.
        assert len(blocks) > 1
        assert blocks[0][1] < len(chunks)
    else:
        # Without info first, the records wait for its base_url: all at the end.
        assert [when for _, when in blocks] == [len(chunks)]


def test_report_writer_writes_what_json_dumps_writes() -> None:
    outcomes = (
        Outcome("s", "/c/a.conda", "a.conda", "noarch", "would-convert", reason="new", size=3),
        Outcome(
            "s", '/c/ü "q".conda', "ü.conda", "linux-64", "converted", wheel="u.whl",
            sha256="a" * 64, size=5, wheels=("u.whl", "lib.whl"),
        ),
        Outcome("s", "/c/d.conda", "d.conda", "noarch", "unchanged", wheel="d.whl", wheels=("d.whl",)),
        Outcome("s", "/c/b.conda", "b.conda", "", "failed", reason="x\ny", warnings=("w", "é")),
        Outcome(
            "s", "/c/c.conda", "c.conda", "", "conflict",
            conflict_with=ConflictParty("c-1-py3-none-any.whl", note="made by hand"),
        ),
    )  # fmt: skip
    kept = SyncReport(Path("/w"), dry_run=True, outcomes=outcomes, seconds=1.5)
    expected = json.dumps(kept.to_json(), indent=2, sort_keys=True) + "\n"

    written = io.StringIO()
    ReportWriter(written).finish(kept)
    assert written.getvalue() == expected

    # The same outcomes passed on as they came, then counted: the same document.
    streamed = io.StringIO()
    writer = ReportWriter(streamed)
    for outcome in outcomes:
        writer.add(outcome)
    counts = {
        "would-convert": 1, "converted": 1, "unchanged": 1, "failed": 1, "conflict": 1,
        "warnings": 2,
    }  # fmt: skip
    writer.finish(SyncReport(Path("/w"), dry_run=True, outcomes=(), seconds=1.5, passed_on=counts))
    assert streamed.getvalue() == expected

    empty = io.StringIO()
    ReportWriter(empty).finish(SyncReport(Path("/w"), dry_run=True, outcomes=()))
    assert json.loads(empty.getvalue())["artifacts"] == []
    nothing = SyncReport(Path("/w"), dry_run=True, outcomes=())
    assert empty.getvalue() == json.dumps(nothing.to_json(), indent=2, sort_keys=True) + "\n"
