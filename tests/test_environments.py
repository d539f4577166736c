"""Tests for condawheel.wheelhouse.environments: conda-meta records -> artifacts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, build_conda, build_directory
from condawheel.errors import SourceError
from condawheel.wheelhouse.environments import (
    default_pkgs_dirs,
    is_environment,
    list_environment,
)

if TYPE_CHECKING:
    from pathlib import Path

SPEC = CondaSpec(name="demo", version="1.0", build="h0_0", subdir="linux-64")


def write_record(prefix: Path, **fields: object) -> Path:
    record: dict[str, object] = {
        "name": "demo",
        "version": "1.0",
        "build": "h0_0",
        "build_number": 0,
        "subdir": "linux-64",
        "fn": "demo-1.0-h0_0.conda",
        "sha256": "A" * 64,
        "md5": "b" * 32,
        "size": 42,
        "channel": "https://conda.anaconda.org/conda-forge/",
        "url": "https://conda.anaconda.org/conda-forge/linux-64/demo-1.0-h0_0.conda",
        "files": [],
    }
    record.update(fields)
    record = {key: value for key, value in record.items() if value is not None}
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    path = meta / "demo-1.0-h0_0.json"
    path.write_text(json.dumps(record))
    (meta / "history").write_text("")  # conda's history file is not a record
    return path


@pytest.fixture(autouse=True)
def _no_real_package_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No package cache of this machine may be found."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CONDA_PKGS_DIRS", raising=False)
    monkeypatch.delenv("RATTLER_CACHE_DIR", raising=False)


def test_a_conda_record_points_at_its_archive_then_its_folder(tmp_path: Path) -> None:
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    archive = build_conda(SPEC, pkgs)
    folder = build_directory(SPEC, pkgs)
    prefix = tmp_path / "env"
    record = write_record(
        prefix, package_tarball_full_path=str(archive), extracted_package_dir=str(folder)
    )

    listing = list_environment(prefix)

    [artifact] = listing.artifacts
    assert (artifact.kind, artifact.location, artifact.filename) == (
        "installed",
        str(record),
        archive.name,
    )
    assert (artifact.name, artifact.version, artifact.build, artifact.subdir) == (
        "demo",
        "1.0",
        "h0_0",
        "linux-64",
    )
    assert artifact.sha256 == "a" * 64  # lower-cased
    assert (artifact.md5, artifact.size, artifact.build_number) == ("b" * 32, 42, 0)
    assert artifact.alternatives == (str(archive), str(folder))
    assert listing.complete_scopes == ("",)
    assert listing.source == str(prefix.resolve())
    assert is_environment(prefix)


def test_a_rattler_record_has_only_its_extracted_folder(tmp_path: Path) -> None:
    cache = tmp_path / "rattler-cache"
    cache.mkdir()
    folder = build_directory(SPEC, cache)
    prefix = tmp_path / "env"
    write_record(prefix, extracted_package_dir=str(folder), link={"source": str(folder), "type": 1})

    [artifact] = list_environment(prefix).artifacts

    assert artifact.alternatives == (str(folder),)


def test_the_pkgs_folders_are_searched(tmp_path: Path) -> None:
    user_pkgs = tmp_path / "user-pkgs"
    user_pkgs.mkdir()
    archive = build_conda(SPEC, user_pkgs)
    base = tmp_path / "base"
    (base / "pkgs").mkdir(parents=True)
    folder = build_directory(SPEC, base / "pkgs")
    prefix = base / "envs" / "work"
    write_record(prefix, extracted_package_dir=str(tmp_path / "gone" / "demo-1.0-h0_0"))

    [artifact] = list_environment(prefix, [user_pkgs]).artifacts

    # --pkgs-dir first; then <base>/pkgs, as for an environment under <base>/envs.
    assert artifact.alternatives == (str(archive), str(folder))


def test_a_package_found_nowhere_has_no_alternatives(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    write_record(prefix, sha256=None, fn=None, subdir=None)

    [artifact] = list_environment(prefix).artifacts

    assert artifact.alternatives == ()
    assert artifact.filename == "demo-1.0-h0_0.conda"  # from the URL
    assert artifact.subdir == "linux-64"  # from the URL too
    assert artifact.sha256 is None


def test_folders_of_other_packages_do_not_count(tmp_path: Path) -> None:
    impostor = build_directory(CondaSpec(name="other", version="1", build="0"), tmp_path)
    (tmp_path / "demo-1.0-h0_0").mkdir()  # an empty folder with the right name
    prefix = tmp_path / "env"
    write_record(prefix, extracted_package_dir=str(impostor))

    [artifact] = list_environment(prefix, [tmp_path]).artifacts

    # The listing only checks that a folder is a package; the worker checks which one.
    assert artifact.alternatives == (str(impostor),)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "unreadable conda-meta record"),
        ("[]", "conda-meta record is not a JSON object"),
        ('{"name": "demo"}', "conda-meta record has no string 'version'"),
        ('{"name": "a", "version": "1", "build": "0"}', "names no subdir"),
    ],
    ids=["json", "not-object", "fields", "subdir"],
)
def test_bad_records_are_problems(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "bad.json").write_text(content)

    listing = list_environment(tmp_path)

    assert listing.artifacts == ()
    [problem] = listing.problems
    assert reason in problem.reason


def test_a_prefix_without_conda_meta_is_an_error(tmp_path: Path) -> None:
    assert not is_environment(tmp_path)
    with pytest.raises(SourceError, match="cannot list"):
        list_environment(tmp_path)


def test_default_pkgs_dirs(tmp_path: Path) -> None:
    prefix = tmp_path / "base" / "envs" / "work"
    environ = {"HOME": str(tmp_path), "CONDA_PKGS_DIRS": "/a,/b", "RATTLER_CACHE_DIR": "/r"}

    assert default_pkgs_dirs(prefix, environ) == (
        tmp_path / "/a",
        tmp_path / "/b",
        prefix / "pkgs",
        tmp_path / "base" / "pkgs",
        tmp_path / ".conda" / "pkgs",
        tmp_path / "/r" / "pkgs",
    )
