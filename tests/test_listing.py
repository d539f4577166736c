"""Tests for condawheel.wheelhouse.listing: what a SOURCE is, and what it offers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, build_conda
from condawheel.errors import SourceError
from condawheel.wheelhouse.artifacts import NameFilter
from condawheel.wheelhouse.listing import SyncSource, classify_source, list_source

if TYPE_CHECKING:
    from pathlib import Path


def test_each_kind_of_source_is_recognised(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    (channel / "noarch").mkdir(parents=True)
    build_conda(CondaSpec(subdir="noarch"), channel / "noarch")
    loose = tmp_path / "downloads"
    loose.mkdir()
    package = build_conda(CondaSpec(), loose)
    environment = tmp_path / "env"
    (environment / "conda-meta").mkdir(parents=True)

    assert classify_source("https://conda.example/forge/") == SyncSource(
        "http-channel", "https://conda.example/forge"
    )
    assert classify_source(str(channel)) == SyncSource("channel", str(channel))
    assert classify_source(channel.as_uri()) == SyncSource("channel", str(channel))
    assert classify_source(str(loose)) == SyncSource("packages", str(loose))
    assert classify_source(str(package)) == SyncSource("packages", str(package))
    assert classify_source(str(environment)) == SyncSource("environment", str(environment))


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing", "no such file or directory"), ("notes.txt", "not a .conda or .tar.bz2 file")],
)
def test_what_is_no_source_is_an_error(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("hello")

    with pytest.raises(SourceError, match=message):
        classify_source(str(tmp_path / name))


def test_package_files_take_their_subdir_from_their_folder(tmp_path: Path) -> None:
    (tmp_path / "linux-64").mkdir()
    in_subdir = build_conda(CondaSpec(name="a"), tmp_path / "linux-64")
    loose = build_conda(CondaSpec(name="b"), tmp_path)
    (tmp_path / "odd.conda").write_bytes(b"")

    one = list_source(SyncSource("packages", str(in_subdir)))
    folder = list_source(SyncSource("packages", str(tmp_path)))
    filtered = list_source(SyncSource("packages", str(in_subdir)), subdirs=["osx-64"])

    assert [(a.name, a.subdir) for a in one.artifacts] == [("a", "linux-64")]
    assert one.complete_scopes == ("linux-64",)
    assert [(a.name, a.subdir) for a in folder.artifacts] == [("b", "")]
    assert [p.filename for p in folder.problems] == ["odd.conda"]
    assert loose.name == "b-1.0-py312_0.conda"
    assert filtered.artifacts == ()
    assert [(p.status, p.reason) for p in filtered.problems] == [
        ("skipped", "subdir 'linux-64' is not among --subdir")
    ]


def test_subdir_filters_an_environment(tmp_path: Path) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    for name, subdir in (("a", "linux-64"), ("b", "noarch")):
        record = {"name": name, "version": "1", "build": "0", "subdir": subdir, "sha256": "0" * 64}
        (meta / f"{name}-1-0.json").write_text(json.dumps(record))

    listing = list_source(SyncSource("environment", str(tmp_path)), subdirs=["noarch"])

    assert [a.name for a in listing.artifacts] == ["b"]
    assert [(p.filename, p.status) for p in listing.problems] == [("a-1-0.conda", "skipped")]


def test_every_kind_of_source_lists_only_the_wanted_names(tmp_path: Path) -> None:
    # Issue 13: what --select cannot match is not listed, checked or reported.
    loose = tmp_path / "loose"
    loose.mkdir()
    build_conda(CondaSpec(name="keep"), loose)
    build_conda(CondaSpec(name="other"), loose)
    (loose / "odd.conda").write_bytes(b"")  # a problem, but of no wanted name
    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    for name in ("keep", "other"):
        record = {
            "name": name,
            "version": "1",
            "build": "0",
            "subdir": "noarch",
            "sha256": "0" * 64,
        }
        (meta / f"{name}-1-0.json").write_text(json.dumps(record))
    wanted = NameFilter(frozenset({"keep"}))

    packages = list_source(SyncSource("packages", str(loose)), wanted=wanted)
    environment = list_source(SyncSource("environment", str(tmp_path / "env")), wanted=wanted)

    assert [(a.name, p) for a in packages.artifacts for p in [packages.problems]] == [("keep", ())]
    assert [a.name for a in environment.artifacts] == ["keep"]
