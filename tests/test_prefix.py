"""Reading an environment: conda-meta records, file owners, installed distributions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name

from condawheel.env.prefix import read_conda_meta, read_prefix, relative_to_prefix
from condawheel.errors import InstallError

if TYPE_CHECKING:
    from pathlib import Path

SITE = "lib/python3.12/site-packages"


def write_record(
    prefix: Path, name: str, version: str, build: str, files: list[str], **extra: object
) -> None:
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    document = {"name": name, "version": version, "build": build, "files": files, **extra}
    (meta / f"{name}-{version}-{build}.json").write_text(json.dumps(document))


def write_dist_info(prefix: Path, name: str, version: str, installer: str | None) -> Path:
    directory = prefix / SITE / f"{name}-{version}.dist-info"
    directory.mkdir(parents=True)
    (directory / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    if installer is not None:
        (directory / "INSTALLER").write_text(installer + "\n")
    return directory


def test_read_prefix(tmp_path: Path) -> None:
    write_record(tmp_path, "zstd", "1.5.6", "ha6fb4c9_0", ["lib/libzstd.so.1"], subdir="linux-64")
    write_record(tmp_path, "libffi", "3.4.2", "h7f98852_5", ["lib/libffi.so.8"], subdir="linux-64")
    write_record(
        tmp_path,
        "requests",
        "2.32.3",
        "pyhd8ed1ab_1",
        [f"{SITE}/requests/__init__.py", f"{SITE}/requests-2.32.3.dist-info/METADATA"],
        subdir="noarch",
    )
    write_dist_info(tmp_path, "requests", "2.32.3", "conda")
    write_dist_info(tmp_path, "tqdm", "4.67.1", "condawheel")
    write_dist_info(tmp_path, "Flask", "3.0", "pip")
    egg = tmp_path / SITE / "old-1.0-py3.12.egg-info"
    egg.write_text("Metadata-Version: 1.0\nName: old\nVersion: 1.0\n")
    state = read_prefix(tmp_path, [tmp_path / SITE])
    assert state.is_conda
    assert state.owner("lib/libzstd.so.1") == "zstd-1.5.6-ha6fb4c9_0"
    assert state.owner("lib/libzstd.so") is None
    assert state.subdir() == "linux-64"
    assert state.record("libffi") is not None
    assert state.record("openssl") is None
    requests = state.distributions[canonicalize_name("requests")]
    assert (requests.installed_by, requests.conda_owner) == (
        "conda",
        "requests-2.32.3-pyhd8ed1ab_1",
    )
    assert state.distributions[canonicalize_name("tqdm")].installed_by == "condawheel"
    assert state.distributions[canonicalize_name("flask")].display_name == "Flask"
    assert state.distributions[canonicalize_name("old")].installed_by == "unknown"
    assert (
        state.distributions[canonicalize_name("old")].metadata_dir
        == f"{SITE}/old-1.0-py3.12.egg-info"
    )


def test_not_a_conda_environment(tmp_path: Path) -> None:
    state = read_prefix(tmp_path, [tmp_path / SITE])
    assert not state.is_conda
    assert state.records == ()
    assert state.distributions == {}
    assert state.subdir() is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "unreadable conda-meta record"),
        ("[]", "not a JSON object"),
        ('{"name": "x", "version": "1", "build": "0", "files": "a"}', "not a list of paths"),
        ('{"version": "1", "build": "0"}', "no string 'name'"),
    ],
)
def test_corrupt_record_is_an_error(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "x-1-0.json").write_text(content)
    with pytest.raises(InstallError, match=reason):
        read_conda_meta(tmp_path)


def test_relative_to_prefix(tmp_path: Path) -> None:
    assert relative_to_prefix(tmp_path, tmp_path / "lib" / "x.so") == "lib/x.so"
    assert relative_to_prefix(tmp_path, tmp_path / "lib" / ".." / ".." / "x") is None
    assert relative_to_prefix(tmp_path, tmp_path) == "."
