"""A file listed both as a v1 record and in CEP 48's ``v3`` section: one decision, any mode.

The v3 record wins, identity included, whether sync streams the channel (an existing
wheelhouse, neither ``--prune`` nor ``--newest``) or lists it whole first (a new
wheelhouse, ``--prune``), and whether ``v3`` comes before or after ``packages`` /
``packages.conda`` in the document. The wheels of every mode are byte-identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeAlias

import pytest

from builders import CondaSpec, FileSpec, build_conda, build_tar_bz2
from condawheel.wheelhouse.repodata import Repodata, parse_repodata, read_repodata
from condawheel.wheelhouse.selection import parse_selection
from condawheel.wheelhouse.sync import SyncOptions, sync
from syncing import serve
from test_repodata_v3 import NO_RETRY, SPEC, wheel_metadata

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from condawheel.wheelhouse.outcomes import SyncReport

CONDA = SPEC
BZ2 = replace(
    SPEC,
    name="onepkg",
    version="2.0",
    files=[FileSpec("site-packages/onepkg/__init__.py", b"VALUE = 1\n")],
)
BOTH_CONVERTED = [
    ("onepkg-2.0-pyh0_0.tar.bz2", "converted"),
    ("zeropkg-1.0-pyh0_0.conda", "converted"),
]
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


def write_channel(
    root: Path, *, v3_first: bool, sha256: dict[str, str] | None = None, twin: bool = False
) -> None:
    """Write a channel whose repodata lists both its packages in v1 and in v3.

    :param sha256: ``{"v1" | "v3": digest}``: what that section claims for the ``.conda``.
    :param twin: the ``.tar.bz2`` is the ``.conda``'s twin, not another package.
    """
    (root / "noarch").mkdir(parents=True)
    other = CONDA if twin else BZ2
    conda = build_conda(CONDA, root / "noarch")
    bz2 = build_tar_bz2(other, root / "noarch")
    conda_v1, conda_v3 = _records(conda, CONDA)
    bz2_v1, bz2_v3 = _records(bz2, other)
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

        def make(
            *, v3_first: bool, sha256: dict[str, str] | None = None, twin: bool = False
        ) -> Channel:
            nonlocal made
            made += 1
            root = tmp_path / f"channel{made}"
            write_channel(root, v3_first=v3_first, sha256=sha256, twin=twin)
            if kind == "folder":
                return Channel(root, str(root))
            server = servers.enter_context(contextlib.contextmanager(serve)(root))
            return Channel(root, server.url)

        yield make


def run(
    channel: Channel, wheelhouse: Path, tmp_path: Path, *, prune: bool = False, select: bool = False
) -> SyncReport:
    settings = SyncOptions(
        jobs=1,
        retry=NO_RETRY,
        cache_dir=tmp_path / "cache",
        prune=prune,
        selection=parse_selection(["*pkg"] if select else []),
    )
    return sync([channel.source], wheelhouse, settings)


def sync_modes(channel: Channel, tmp_path: Path) -> dict[str, tuple[SyncReport, Path]]:
    """Sync into a new wheelhouse, an existing one (streamed), with --prune, and with
    --select (streamed, but each document is read whole)."""
    modes = {name: tmp_path / name for name in ("new", "streamed", "prune", "select")}
    for name in ("streamed", "prune", "select"):
        modes[name].mkdir(parents=True)
    return {
        "new": (run(channel, modes["new"], tmp_path), modes["new"]),
        "streamed": (run(channel, modes["streamed"], tmp_path), modes["streamed"]),
        "prune": (run(channel, modes["prune"], tmp_path, prune=True), modes["prune"]),
        "select": (run(channel, modes["select"], tmp_path, select=True), modes["select"]),
    }


def wheels(wheelhouse: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(wheelhouse.glob("*.whl"))}


def metadata_and_sidecar(data: bytes, path: Path) -> tuple[dict[str, list[str]], dict[str, object]]:
    path.write_bytes(data)
    return wheel_metadata(path)


def statuses(report: SyncReport) -> list[tuple[str, str]]:
    return sorted((outcome.filename, outcome.status) for outcome in report.outcomes)


def same_wheels(
    modes: dict[str, tuple[SyncReport, Path]], expected: list[tuple[str, str]]
) -> dict[str, bytes]:
    """Check that every mode reports ``expected`` (one outcome per file) and made the same
    wheels; return them."""
    made = {}
    for mode, (report, wheelhouse) in modes.items():
        assert statuses(report) == expected, (mode, report.outcomes)
        made[mode] = wheels(wheelhouse)
    for mode, made_there in made.items():
        assert made_there == made["new"], mode
    return made["new"]


@pytest.mark.parametrize("v3_first", [False, True], ids=["v3-last", "v3-first"])
def test_the_v3_record_makes_the_same_wheels_whichever_way_sync_runs(
    channel_of: ChannelMaker, tmp_path: Path, *, v3_first: bool
) -> None:
    channel = channel_of(v3_first=v3_first)

    modes = sync_modes(channel, tmp_path)

    made = same_wheels(modes, BOTH_CONVERTED)
    assert len(made) == 2  # one wheel per package
    for name, data in made.items():
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
    assert wheels(streamed) == made


@pytest.mark.parametrize("v3_first", [False, True], ids=["v3-last", "v3-first"])
def test_the_v3_records_sha256_is_the_files_identity(
    channel_of: ChannelMaker, tmp_path: Path, *, v3_first: bool
) -> None:
    """A wrong v1 sha256 is not looked at; a wrong v3 sha256 fails that file alone."""
    right = channel_of(v3_first=v3_first, sha256={"v1": WRONG_SHA256})
    wrong = channel_of(v3_first=v3_first, sha256={"v3": WRONG_SHA256})

    converted = sync_modes(right, tmp_path / "right")
    failed = sync_modes(wrong, tmp_path / "wrong")

    same_wheels(converted, BOTH_CONVERTED)
    # The rest carries on.
    same_wheels(failed, [BOTH_CONVERTED[0], ("zeropkg-1.0-pyh0_0.conda", "failed")])
    for mode, (report, wheelhouse) in failed.items():
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
    channel_of: ChannelMaker, tmp_path: Path, *, v3_first: bool
) -> None:
    """The twin rule sees the v3 records: the ``.tar.bz2`` is synced from its own."""
    channel = channel_of(v3_first=v3_first, sha256={"v3": WRONG_SHA256}, twin=True)

    modes = sync_modes(channel, tmp_path)

    stem = CONDA.stem
    expected = [(f"{stem}.conda", "failed"), (f"{stem}.tar.bz2", "converted")]
    [(name, data)] = same_wheels(modes, expected).items()
    for mode, (report, _) in modes.items():
        [stand_in] = [o for o in report.outcomes if o.status == "converted"]
        assert stand_in.in_place_of == str(channel.root / "noarch" / f"{stem}.conda") or (
            stand_in.in_place_of == f"{channel.source}/noarch/{stem}.conda"
        ), mode
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
