"""A file listed both as a v1 record and in CEP 48's ``v3`` section: one decision, any mode.

The v3 record wins, identity included, whether sync streams the channel (an existing
wheelhouse, neither ``--prune`` nor ``--newest``) or lists it whole first (a new
wheelhouse, ``--prune``), and whether ``v3`` comes before or after ``packages`` /
``packages.conda`` in the document. The wheels of the three modes are byte-identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from dataclasses import dataclass
from email.parser import BytesParser
from typing import TYPE_CHECKING, TypeAlias

import pytest

from builders import CondaSpec, FileSpec, build_conda, build_tar_bz2
from condawheel.io.http import RetryPolicy
from condawheel.wheelhouse.repodata import Repodata, parse_repodata, read_repodata
from condawheel.wheelhouse.sync import SyncOptions, sync
from syncing import serve

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from condawheel.wheelhouse.outcomes import SyncReport

NO_RETRY = RetryPolicy(attempts=1, backoff=0, timeout=30)
CONDA = CondaSpec(
    name="zeropkg",
    version="1.0",
    build="pyh0_0",
    subdir="noarch",
    noarch="python",
    depends=["python >=3.9"],
    files=[FileSpec("site-packages/zeropkg/__init__.py", b"VALUE = 0\n")],
)
BZ2 = CondaSpec(
    name="onepkg",
    version="2.0",
    build="pyh0_0",
    subdir="noarch",
    noarch="python",
    depends=["python >=3.9"],
    files=[FileSpec("site-packages/onepkg/__init__.py", b"VALUE = 1\n")],
)
WRONG_SHA256 = "0" * 64


@dataclass(frozen=True)
class Channel:
    root: Path
    source: str
    """What sync is given: the folder, or the URL of a loopback server of it."""


def _records(path: Path, spec: CondaSpec) -> tuple[dict[str, object], dict[str, object]]:
    """Return a v1 record and a v3 record of the same file; only v3 has extras and flags."""
    data = path.read_bytes()
    v1: dict[str, object] = {
        "name": spec.name,
        "version": spec.version,
        "build": spec.build,
        "build_number": 0,
        "subdir": "noarch",
        "noarch": "python",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "depends": ["python >=3.9"],
    }
    v3 = {
        **v1,
        "depends": ["python >=3.9", 'idna[version=">=3",when="__win"]'],
        "extra_depends": {"http": ["requests >=2.30"]},
        "flags": ["pure"],
    }
    return v1, v3


def write_channel(root: Path, *, v3_first: bool, sha256: dict[str, str] | None = None) -> None:
    """Write a channel whose repodata lists both packages in v1 and in v3.

    :param sha256: ``{"v1" | "v3": digest}``: what that section claims for the ``.conda``.
    """
    (root / "noarch").mkdir(parents=True)
    conda = build_conda(CONDA, root / "noarch")
    bz2 = build_tar_bz2(BZ2, root / "noarch")
    conda_v1, conda_v3 = _records(conda, CONDA)
    bz2_v1, bz2_v3 = _records(bz2, BZ2)
    for revision, digest in (sha256 or {}).items():
        (conda_v1 if revision == "v1" else conda_v3)["sha256"] = digest
    v1: dict[str, object] = {
        "packages": {bz2.name: bz2_v1},
        "packages.conda": {conda.name: conda_v1},
    }
    v3: dict[str, object] = {
        "v3": {
            "conda": {conda.name.removesuffix(".conda"): conda_v3},
            "tar.bz2": {bz2.name.removesuffix(".tar.bz2"): bz2_v3},
        }
    }
    # info first: the records are passed on a section at a time (the streamed listing).
    document = {"info": {"subdir": "noarch"}, **(v3 | v1 if v3_first else v1 | v3)}
    (root / "noarch" / "repodata.json").write_text(json.dumps(document))


@pytest.fixture(params=["folder", "http"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


ChannelMaker: TypeAlias = "Callable[..., Channel]"


@pytest.fixture
def channel_of(kind: str, tmp_path: Path) -> Iterator[ChannelMaker]:
    """Return what writes a channel and gives it as the kind of source asked."""
    with contextlib.ExitStack() as servers:
        made = 0

        def make(*, v3_first: bool, sha256: dict[str, str] | None = None) -> Channel:
            nonlocal made
            made += 1
            root = tmp_path / f"channel{made}"
            write_channel(root, v3_first=v3_first, sha256=sha256)
            if kind == "folder":
                return Channel(root, str(root))
            server = servers.enter_context(contextlib.contextmanager(serve)(root))
            return Channel(root, server.url)

        yield make


def run(channel: Channel, wheelhouse: Path, tmp_path: Path, *, prune: bool = False) -> SyncReport:
    settings = SyncOptions(jobs=1, retry=NO_RETRY, cache_dir=tmp_path / "cache", prune=prune)
    return sync([channel.source], wheelhouse, settings)


def three_modes(channel: Channel, tmp_path: Path) -> dict[str, tuple[SyncReport, Path]]:
    """Sync into a new wheelhouse, an existing one (streamed), and with --prune."""
    new = tmp_path / "new"
    streamed = tmp_path / "streamed"
    streamed.mkdir(parents=True)
    pruned = tmp_path / "pruned"
    pruned.mkdir(parents=True)
    return {
        "new": (run(channel, new, tmp_path), new),
        "streamed": (run(channel, streamed, tmp_path), streamed),
        "prune": (run(channel, pruned, tmp_path, prune=True), pruned),
    }


def wheels(wheelhouse: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(wheelhouse.glob("*.whl"))}


def metadata_and_sidecar(data: bytes, path: Path) -> tuple[dict[str, list[str]], dict[str, object]]:
    path.write_bytes(data)
    with zipfile.ZipFile(path) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        [sidecar] = [n for n in archive.namelist() if n.endswith(".dist-info/conda.json")]
        message = BytesParser().parsebytes(archive.read(metadata))
        fields: dict[str, list[str]] = {}
        for key, value in message.items():
            fields.setdefault(key, []).append(value)
        return fields, json.loads(archive.read(sidecar))


def statuses(report: SyncReport) -> list[tuple[str, str]]:
    return sorted((outcome.filename, outcome.status) for outcome in report.outcomes)


@pytest.mark.parametrize("v3_first", [False, True], ids=["v3-last", "v3-first"])
def test_the_v3_record_makes_the_same_wheels_whichever_way_sync_runs(
    channel_of: ChannelMaker, tmp_path: Path, *, v3_first: bool
) -> None:
    channel = channel_of(v3_first=v3_first)

    modes = three_modes(channel, tmp_path)

    made = {}
    for mode, (report, wheelhouse) in modes.items():
        assert report.ok, (mode, report.outcomes)
        # One outcome per file, as if the v1 record were not there.
        assert statuses(report) == [
            ("onepkg-2.0-pyh0_0.tar.bz2", "converted"),
            ("zeropkg-1.0-pyh0_0.conda", "converted"),
        ], mode
        made[mode] = wheels(wheelhouse)
    assert made["streamed"] == made["new"]
    assert made["prune"] == made["new"]
    assert len(made["new"]) == 2  # one wheel per package
    for name, data in made["new"].items():
        fields, sidecar = metadata_and_sidecar(data, tmp_path / name)
        assert fields["Provides-Extra"] == ["http"], name
        assert 'requests>=2.30; extra == "http"' in fields["Requires-Dist"], name
        source = sidecar["source"]
        assert isinstance(source, dict)
        assert source["flags"] == ["pure"], name

    # A re-sync of the streamed wheelhouse does nothing, and says so once per file.
    streamed = modes["streamed"][1]
    again = run(channel, streamed, tmp_path)
    assert again.ok, again.outcomes
    assert statuses(again) == [
        ("onepkg-2.0-pyh0_0.tar.bz2", "unchanged"),
        ("zeropkg-1.0-pyh0_0.conda", "unchanged"),
    ]
    assert wheels(streamed) == made["new"]


@pytest.mark.parametrize("v3_first", [False, True], ids=["v3-last", "v3-first"])
def test_the_v3_records_sha256_is_the_files_identity(
    channel_of: ChannelMaker, tmp_path: Path, *, v3_first: bool
) -> None:
    """A wrong v1 sha256 is not looked at; a wrong v3 sha256 fails that file alone."""
    right = channel_of(v3_first=v3_first, sha256={"v1": WRONG_SHA256})
    wrong = channel_of(v3_first=v3_first, sha256={"v3": WRONG_SHA256})

    converted = three_modes(right, tmp_path / "right")
    failed = three_modes(wrong, tmp_path / "wrong")

    made = {}
    for mode, (report, wheelhouse) in converted.items():
        assert report.ok, (mode, report.outcomes)
        assert statuses(report) == [
            ("onepkg-2.0-pyh0_0.tar.bz2", "converted"),
            ("zeropkg-1.0-pyh0_0.conda", "converted"),
        ], mode
        made[mode] = wheels(wheelhouse)
    assert made["streamed"] == made["new"] == made["prune"]
    for mode, (report, wheelhouse) in failed.items():
        assert not report.ok, mode
        assert statuses(report) == [
            ("onepkg-2.0-pyh0_0.tar.bz2", "converted"),  # the rest carries on
            ("zeropkg-1.0-pyh0_0.conda", "failed"),
        ], mode
        [failure] = [o for o in report.outcomes if o.status == "failed"]
        assert failure.reason is not None
        assert WRONG_SHA256 in failure.reason, mode
        assert [name.split("-")[0] for name in wheels(wheelhouse)] == ["onepkg"], mode


def test_a_dry_run_of_an_existing_wheelhouse_reports_each_file_once(
    channel_of: ChannelMaker, tmp_path: Path
) -> None:
    channel = channel_of(v3_first=False)
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()

    settings = SyncOptions(jobs=1, retry=NO_RETRY, cache_dir=tmp_path / "cache", dry_run=True)
    report = sync([channel.source], wheelhouse, settings)

    assert statuses(report) == [
        ("onepkg-2.0-pyh0_0.tar.bz2", "would-convert"),
        ("zeropkg-1.0-pyh0_0.conda", "would-convert"),
    ]
    assert list(wheelhouse.iterdir()) == []


@pytest.mark.parametrize("v3_first", [False, True], ids=["v3-last", "v3-first"])
def test_a_tar_bz2_twin_stands_in_for_a_conda_its_v3_record_fails(
    kind: str, tmp_path: Path, *, v3_first: bool
) -> None:
    """The twin rule sees the v3 records: the ``.tar.bz2`` is synced from its own."""
    root = tmp_path / "channel"
    (root / "noarch").mkdir(parents=True)
    conda_v1, conda_v3 = _records(build_conda(CONDA, root / "noarch"), CONDA)
    bz2_v1, bz2_v3 = _records(build_tar_bz2(CONDA, root / "noarch"), CONDA)
    conda_v3["sha256"] = WRONG_SHA256
    stem = CONDA.stem
    v1: dict[str, object] = {
        "packages": {f"{stem}.tar.bz2": bz2_v1},
        "packages.conda": {f"{stem}.conda": conda_v1},
    }
    v3: dict[str, object] = {"v3": {"conda": {stem: conda_v3}, "tar.bz2": {stem: bz2_v3}}}
    document = {"info": {"subdir": "noarch"}, **(v3 | v1 if v3_first else v1 | v3)}
    (root / "noarch" / "repodata.json").write_text(json.dumps(document))

    with contextlib.ExitStack() as stack:
        if kind == "folder":
            channel = Channel(root, str(root))
        else:
            server = stack.enter_context(contextlib.contextmanager(serve)(root))
            channel = Channel(root, server.url)
        modes = three_modes(channel, tmp_path)

    made = {}
    for mode, (report, wheelhouse) in modes.items():
        assert statuses(report) == [
            (f"{stem}.conda", "failed"),
            (f"{stem}.tar.bz2", "converted"),
        ], mode
        [stand_in] = [o for o in report.outcomes if o.status == "converted"]
        assert stand_in.in_place_of is not None, mode
        assert stand_in.in_place_of.endswith(f"{stem}.conda"), mode
        made[mode] = wheels(wheelhouse)
    assert made["streamed"] == made["new"] == made["prune"]
    [(name, data)] = made["new"].items()
    fields, _ = metadata_and_sidecar(data, tmp_path / name)
    assert fields["Provides-Extra"] == ["http"]  # the .tar.bz2's v3 record


def _passed_on(document: dict[str, object]) -> list[tuple[str, str | None]]:
    blocks: list[Repodata] = []
    read_repodata([json.dumps(document).encode()], subdir="noarch", where="r", sink=blocks.append)
    return [(r.filename, r.revision) for block in blocks for r in block.records] + [
        (p.filename, p.reason) for block in blocks for p in block.problems
    ]


def test_the_reader_passes_a_file_on_with_its_v3_record() -> None:
    good = {"name": "a", "version": "1", "build": "0", "depends": []}
    broken = {"name": "a", "version": "1"}  # no build
    v1 = {"packages.conda": {"a-1-0.conda": good, "b-1-0.conda": {**good, "name": "b"}}}
    v3 = {"v3": {"conda": {"a-1-0": good}}}
    info = {"info": {"subdir": "noarch"}}

    # v3 first: the later v1 record of the same file is not read, broken or not.
    assert _passed_on({**info, **v3, **v1}) == [("a-1-0.conda", "v3"), ("b-1-0.conda", None)]
    broken_v1 = {"packages.conda": {"a-1-0.conda": broken}}
    assert _passed_on({**info, **v3, **broken_v1}) == [("a-1-0.conda", "v3")]
    # v3 last: passed on again, as a v3 record, for the sync to let it replace the first.
    assert _passed_on({**info, **v1, **v3}) == [
        ("a-1-0.conda", None),
        ("b-1-0.conda", None),
        ("a-1-0.conda", "v3"),
    ]
    # Read whole (no info before the records): one record per file, v3's.
    whole = parse_repodata(json.dumps({**v1, **v3}).encode(), subdir="noarch", where="r")
    assert [(r.filename, r.revision) for r in whole.records] == [
        ("a-1-0.conda", "v3"),
        ("b-1-0.conda", None),
    ]
    # A broken v3 record stands for its file too: its problem, not the v1 record.
    broken_v3 = {"v3": {"conda": {"a-1-0": broken}}}
    whole = parse_repodata(json.dumps({**v1, **broken_v3}).encode(), subdir="noarch", where="r")
    assert [r.filename for r in whole.records] == ["b-1-0.conda"]
    assert [p.filename for p in whole.problems] == ["a-1-0.conda"]
