"""The record conda solves with (repodata, conda-meta) gives a wheel's dependencies.

conda-forge patches its repodata after publication; the corpus's zstd pins ``libzlib
<1.3.0a0`` in its ``index.json`` while the channel's patched record says ``<2.0a0`` (the
corpus README). A synced wheel follows the record, a plain convert of the file follows
``index.json``, and a record that changes later never rewrites a wheel already there.
"""

from __future__ import annotations

import json
import zipfile
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any, Final

import pytest

from condawheel.convert import convert
from condawheel.convert.names import default_mapping
from condawheel.wheelhouse.channels import list_http_channel
from condawheel.wheelhouse.environments import list_environment
from condawheel.wheelhouse.repodata import RecordProblem, parse_repodata
from condawheel.wheelhouse.state import STATE_NAME
from condawheel.wheelhouse.sync import SyncOptions, sync
from envs import RELAXED_ZLIB_PIN, ZLIB_PIN, index_channel
from syncing import copy_channel, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from condawheel.wheelhouse.outcomes import SyncReport
    from syncing import ChannelServer

ZSTD_FILE: Final = "linux-64/zstd-1.5.6-ha6fb4c9_0.conda"
ZSTD_WHEEL: Final = "conda_pkg_zstd-1.5.6-0_ha6fb4c9_0-py3-none-conda_linux_64.whl"
PATCHED: Final = "libzlib (>=1.2.13,<2.0a0)"
ORIGINAL: Final = "libzlib (>=1.2.13,<1.3.0a0)"


def wheel_parts(wheel: Path) -> tuple[list[str], dict[str, Any]]:
    """Return the wheel's Requires-External values and its conda.json."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        sidecar = json.loads(archive.read(next(n for n in names if n.endswith("/conda.json"))))
    return BytesParser().parsebytes(metadata).get_all("Requires-External") or [], sidecar


def zstd_channel(corpus: Path, root: Path, *, indexed: bool, relax: bool = True) -> Path:
    channel = copy_channel(corpus, root / "channel", [ZSTD_FILE])
    if indexed:
        index_channel(channel, relax=relax)  # rattler's own index, then the conda-forge patch
    return channel


def repatch(channel: Path, old: str, new: str) -> None:
    repodata = channel / "linux-64" / "repodata.json"
    text = repodata.read_text(encoding="utf-8")
    assert old in text
    repodata.write_text(text.replace(old, new), encoding="utf-8")


def one_outcome(report: SyncReport) -> tuple[str, str | None, tuple[str, ...]]:
    """Status, wheel and the notes about a kept wheel (not the conversion's warnings)."""
    [outcome] = report.outcomes
    notes = tuple(warning for warning in outcome.warnings if warning.startswith("kept "))
    return outcome.status, outcome.wheel, notes


@pytest.mark.corpus
def test_a_patched_repodata_record_gives_the_wheel_its_depends(
    corpus: Path, tmp_path: Path
) -> None:
    channel = zstd_channel(corpus, tmp_path, indexed=True)
    wheelhouse = tmp_path / "wheelhouse"
    report = sync([str(channel)], wheelhouse, SyncOptions(jobs=1))
    assert one_outcome(report) == ("converted", ZSTD_WHEEL, ())

    requires, sidecar = wheel_parts(wheelhouse / ZSTD_WHEEL)
    assert PATCHED in requires
    assert ORIGINAL not in requires
    assert sidecar["depends_from"] == "repodata"
    assert ZLIB_PIN in sidecar["index"]["depends"]  # index.json as the package has it
    assert RELAXED_ZLIB_PIN in sidecar["record"]["depends"]
    assert sidecar["record"]["constrains"] == []
    # What each depends became is recorded for the record's specs.
    assert RELAXED_ZLIB_PIN in json.dumps(sidecar["dependencies"])
    assert ZLIB_PIN not in json.dumps(sidecar["dependencies"])


@pytest.mark.corpus
def test_without_a_record_index_json_gives_the_depends(corpus: Path, tmp_path: Path) -> None:
    # A folder without repodata.json, and a plain convert of the file.
    channel = zstd_channel(corpus, tmp_path, indexed=False)
    wheelhouse = tmp_path / "wheelhouse"
    assert one_outcome(sync([str(channel)], wheelhouse, SyncOptions(jobs=1)))[0] == "converted"
    (tmp_path / "out").mkdir()
    converted = convert(channel / ZSTD_FILE, tmp_path / "out", mapping=default_mapping())
    for wheel in (wheelhouse / ZSTD_WHEEL, converted.wheel):
        requires, sidecar = wheel_parts(wheel)
        assert ORIGINAL in requires
        assert PATCHED not in requires
        assert sidecar["depends_from"] == "index.json"
        assert "record" not in sidecar

    # An index whose record agrees with index.json (no patch) changes nothing either.
    unpatched = zstd_channel(corpus, tmp_path / "unpatched", indexed=True, relax=False)
    other = tmp_path / "other"
    assert one_outcome(sync([str(unpatched)], other, SyncOptions(jobs=1)))[0] == "converted"
    requires, sidecar = wheel_parts(other / ZSTD_WHEEL)
    assert ORIGINAL in requires
    assert sidecar["depends_from"] == "index.json"
    assert "record" not in sidecar


@pytest.mark.corpus
def test_a_later_patch_never_rewrites_the_wheel_and_says_so(corpus: Path, tmp_path: Path) -> None:
    channel = zstd_channel(corpus, tmp_path, indexed=True)
    wheelhouse = tmp_path / "wheelhouse"
    assert one_outcome(sync([str(channel)], wheelhouse, SyncOptions(jobs=1)))[0] == "converted"
    wheel = wheelhouse / ZSTD_WHEEL
    made = wheel.read_bytes()
    # The same record again: kept, nothing to say.
    assert one_outcome(sync([str(channel)], wheelhouse, SyncOptions(jobs=1))) == (
        "unchanged",
        ZSTD_WHEEL,
        (),
    )

    # The channel patches the record again: the wheel stays, with a note on the outcome.
    repatch(channel, RELAXED_ZLIB_PIN, "libzlib >=1.2.13,<3.0a0")
    status, _, warnings = one_outcome(sync([str(channel)], wheelhouse, SyncOptions(jobs=1)))
    assert status == "unchanged"
    [note] = warnings
    assert f"kept {ZSTD_WHEEL}, made with other depends/constrains than its repodata" in note
    assert "remove it and sync again" in note
    assert wheel.read_bytes() == made

    # Without the state, the wheel is adopted from its conda.json, with the same note.
    (wheelhouse / STATE_NAME).unlink()
    report = sync([str(channel)], wheelhouse, SyncOptions(jobs=1))
    [outcome] = report.outcomes
    assert one_outcome(report) == ("unchanged", ZSTD_WHEEL, (note,))
    assert outcome.reason is not None
    assert outcome.reason.startswith("adopted")
    assert wheel.read_bytes() == made
    # ... and the adopted row remembers what the wheel was made with.
    again = sync([str(channel)], wheelhouse, SyncOptions(jobs=1))
    assert one_outcome(again) == ("unchanged", ZSTD_WHEEL, (note,))

    # Removing the wheel rebuilds it from the record as it is now.
    wheel.unlink()
    assert one_outcome(sync([str(channel)], wheelhouse, SyncOptions(jobs=1))) == (
        "converted",
        ZSTD_WHEEL,
        (),
    )
    requires, _ = wheel_parts(wheel)
    assert "libzlib (>=1.2.13,<3.0a0)" in requires


@pytest.fixture
def patched_http_channel(corpus: Path, tmp_path: Path) -> Iterator[ChannelServer]:
    yield from serve(zstd_channel(corpus, tmp_path, indexed=True))


@pytest.mark.corpus
def test_an_http_channel_lists_the_patched_record(patched_http_channel: ChannelServer) -> None:
    listing = list_http_channel(patched_http_channel.url, ["linux-64"])
    [artifact] = listing.artifacts
    assert artifact.dependencies is not None
    assert artifact.dependencies.origin == "repodata"
    assert RELAXED_ZLIB_PIN in artifact.dependencies.depends


def test_records_without_depends_defer_to_index_json_and_malformed_ones_fail(
    tmp_path: Path,
) -> None:
    record = {"name": "a", "version": "1", "build": "0", "subdir": "noarch"}
    document = {
        "packages": {
            "a-1-0.tar.bz2": record,
            "b-1-0.tar.bz2": {**record, "name": "b", "depends": ["x"]},
            "c-1-0.tar.bz2": {**record, "name": "c", "depends": "x >=1"},
        }
    }
    repodata = parse_repodata(json.dumps(document).encode(), subdir="noarch", where="repodata.json")
    by_name = {item.name: item.dependencies for item in repodata.records}
    assert by_name["a"] is None
    assert by_name["b"] is not None
    assert (by_name["b"].depends, by_name["b"].constrains) == (("x",), ())
    assert repodata.problems == (
        RecordProblem("c-1-0.tar.bz2", "its repodata record's 'depends' is not a list of strings"),
    )

    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    (meta / "a-1-0.json").write_text(json.dumps({**record, "depends": [], "constrains": ["y"]}))
    (meta / "c-1-0.json").write_text(json.dumps({**record, "name": "c", "constrains": [1]}))
    (meta / "d-1-0.json").write_text(json.dumps({**record, "name": "d", "depends": [1]}))
    listing = list_environment(tmp_path / "env", [tmp_path / "no-cache"])
    found = {item.name: item.dependencies for item in listing.artifacts}
    assert found["c"] is None  # no depends: index.json's apply
    assert found["a"] is not None
    assert (found["a"].origin, found["a"].depends, found["a"].constrains) == (
        "conda-meta",
        (),
        ("y",),
    )
    assert [problem.reason for problem in listing.problems] == [
        "its conda-meta record's 'depends' is not a list of strings"
    ]
