"""Promises of the conversion checked against the real corpus packages they are about.

Link scripts, menuinst files, the source artifact's checksums, binary prefix placeholders,
license files, the order of the archive and SOURCE_DATE_EPOCH: each is compared with what
the package itself holds, read independently with conda-package-streaming.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
from conda_package_streaming.package_streaming import stream_conda_component

from builders import read_wheel
from condawheel.convert import ConversionResult, convert
from condawheel.convert.names import default_mapping
from conftest import corpus_root

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.corpus

CHANNEL = corpus_root() / "channel"
EDGE = corpus_root() / "edge"
LIBCURL = CHANNEL / "linux-64" / "libcurl-8.11.1-h332b0f4_0.conda"


def _convert(path: Path, out: Path) -> ConversionResult:
    out.mkdir(parents=True, exist_ok=True)
    return convert(path, out, mapping=default_mapping())


def _sidecar(result: ConversionResult) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        read_wheel(result.wheel)[f"{result.plan.dist_info}/conda.json"]
    )
    return loaded


def _members(path: Path) -> dict[str, bytes]:
    """Every regular file of a package, whichever component holds it.

    (conda-build put libcurl's ``info/licenses/`` into the pkg component of its .conda.)
    """
    found: dict[str, bytes] = {}
    streams = (
        [stream_conda_component(str(path), component=c) for c in ("info", "pkg")]
        if path.name.endswith(".conda")
        else [stream_conda_component(str(path))]
    )
    for stream in streams:
        for tar, member in stream:
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                found[member.name] = handle.read()
    return found


def test_link_scripts_are_recorded_with_a_warning(tmp_path: Path) -> None:
    package = EDGE / "conda+rattler" / "link-scripts-0.1.0-h4616a5c_0.tar.bz2"
    result = _convert(package, tmp_path)
    scripts = ["bin/.link-scripts-post-link.sh", "bin/.link-scripts-pre-unlink.sh"]
    assert _sidecar(result)["link_scripts"] == scripts
    for script in scripts:
        assert (
            f"{script}: conda link script; wheels cannot run it (recorded in conda.json)"
            in result.plan.warnings
        )


def test_menu_files_are_recorded_with_a_warning(tmp_path: Path) -> None:
    package = EDGE / "conda+menuinst" / "package_1-0.1-0.tar.bz2"
    result = _convert(package, tmp_path)
    assert _sidecar(result)["menu_files"] == ["Menu/package_1.json"]
    assert result.plan.warnings == (
        "Menu/package_1.json: menuinst shortcut; no installer creates it from a wheel",
    )
    wheel = read_wheel(result.wheel)
    menu = _members(package)["Menu/package_1.json"]
    assert wheel["conda_pkg_package_1-0.1.data/data/Menu/package_1.json"] == menu


@pytest.mark.parametrize(
    "package", [LIBCURL, CHANNEL / "linux-64" / "xz-5.2.6-h166bdaf_0.tar.bz2"], ids=lambda p: p.name
)
def test_the_sidecar_names_the_source_artifact_exactly(package: Path, tmp_path: Path) -> None:
    source = _sidecar(_convert(package, tmp_path))["source"]
    data = package.read_bytes()
    assert source == {
        **source,
        "filename": package.name,
        "format": "conda" if package.name.endswith(".conda") else "tar.bz2",
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),  # noqa: S324 - conda's own checksum
        "size": len(data),
    }


def test_binary_prefix_placeholders_are_recorded(tmp_path: Path) -> None:
    result = _convert(LIBCURL, tmp_path)
    paths = json.loads(_members(LIBCURL)["info/paths.json"])["paths"]
    expected = {
        (entry["_path"], entry["prefix_placeholder"])
        for entry in paths
        if entry.get("file_mode") == "binary"
    }
    assert expected  # libcurl.so holds its build prefix in binary form
    recorded = _sidecar(result)["prefix_placeholders"]
    binary = [record for record in recorded if record["file_mode"] == "binary"]
    assert {(r["path"], r["placeholder"]) for r in binary} == expected
    wheel = read_wheel(result.wheel)
    for record in binary:
        assert record["placeholder"].encode() in wheel[record["wheel_path"]]
    assert "2 text and 1 binary file(s) hold the build prefix" in result.plan.warnings[0]


def test_license_files_land_in_dist_info_licenses(tmp_path: Path) -> None:
    # A library: conda's info/licenses/; a Python package: its dist-info's License-File.
    library = _convert(LIBCURL, tmp_path / "a")
    info = _members(LIBCURL)
    wheel = read_wheel(library.wheel)
    assert (
        wheel["conda_pkg_libcurl-8.11.1.dist-info/licenses/COPYING"]
        == (info["info/licenses/COPYING"])
    )
    assert b"License-File: COPYING" in wheel["conda_pkg_libcurl-8.11.1.dist-info/METADATA"]
    requests = CHANNEL / "noarch" / "requests-2.32.3-pyhd8ed1ab_1.conda"
    python = read_wheel(_convert(requests, tmp_path / "b").wheel)
    embedded = _members(requests)["site-packages/requests-2.32.3.dist-info/LICENSE"]
    assert python["requests-2.32.3.dist-info/licenses/LICENSE"] == embedded
    assert "requests-2.32.3.dist-info/LICENSE" not in python


@pytest.mark.parametrize(
    "package",
    [LIBCURL, CHANNEL / "linux-64" / "conda-24.11.3-py312h7900ff3_0.conda"],
    ids=lambda p: p.name,
)
def test_entries_are_sorted_with_dist_info_last_and_record_last(
    package: Path, tmp_path: Path
) -> None:
    result = _convert(package, tmp_path)
    with zipfile.ZipFile(result.wheel) as archive:
        names = archive.namelist()
    dist_info = f"{result.plan.dist_info}/"
    payload = [name for name in names if not name.startswith(dist_info)]
    metadata = [name for name in names if name.startswith(dist_info)]
    assert names == [*payload, *metadata]
    assert payload == sorted(payload)
    assert metadata[-1] == f"{dist_info}RECORD"
    assert metadata[:-1] == sorted(metadata[:-1])


def test_source_date_epoch_sets_the_timestamps_through_the_cli(tmp_path: Path) -> None:
    package = CHANNEL / "noarch" / "idna-3.10-pyhd8ed1ab_1.conda"

    def stamps(out: Path, epoch: str | None) -> set[tuple[int, ...]]:
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
        if epoch is not None:
            env["SOURCE_DATE_EPOCH"] = epoch
        run = subprocess.run(
            [sys.executable, "-m", "condawheel", "convert", str(package), "-o", str(out)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        with zipfile.ZipFile(run.stdout.strip()) as archive:
            return {info.date_time for info in archive.infolist()}

    assert stamps(tmp_path / "pinned", "1000000000") == {(2001, 9, 9, 1, 46, 40)}
    own = stamps(tmp_path / "own", None)
    assert len(own) == 1
    assert own != {(2001, 9, 9, 1, 46, 40)}
