"""End to end on packages the tests build: mapping, metadata, safety, determinism."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.metadata import Metadata
from wheel.wheelfile import WheelFile

from builders import (
    PLACEHOLDER,
    CondaSpec,
    FileSpec,
    build_conda,
    build_directory,
    build_raw_tar_bz2,
    build_tar_bz2,
    python_package,
    raw_member,
    read_wheel,
)
from condawheel.convert import ConversionResult, convert
from condawheel.convert.names import NameMapping
from condawheel.errors import InvalidPackage, UnsupportedPackage, WheelExistsError
from condawheel.options import PlanOptions, PlatformStamp
from conftest import unmeasured_environment

if TYPE_CHECKING:
    from collections.abc import Callable

MAPPING = NameMapping.from_names({"requests": "requests", "libzlib": None}, origin="test")
BUILDERS: dict[str, Callable[[CondaSpec, Path], Path]] = {
    "conda": build_conda,
    "tar.bz2": build_tar_bz2,
    "directory": build_directory,
}


def _convert(
    spec: CondaSpec, tmp_path: Path, form: str = "conda", **options: object
) -> ConversionResult:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source_dir = Path(tempfile.mkdtemp(prefix=f"src-{form}-", dir=tmp_path))
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return convert(
        BUILDERS[form](spec, source_dir),
        out,
        mapping=MAPPING,
        options=PlanOptions(**options),  # type: ignore[arg-type]
    )


def _listing(tmp_path: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())


def test_python_package_layout(tmp_path: Path) -> None:
    result = _convert(python_package(), tmp_path)
    assert result.wheel.name == "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"
    files = read_wheel(result.wheel)
    assert sorted(files) == [
        "demo-1.0.data/data/lib/libdemo.so",
        "demo-1.0.data/data/lib/libdemo.so.1",
        "demo-1.0.data/data/share/demo/data.txt",
        "demo-1.0.dist-info/METADATA",
        "demo-1.0.dist-info/RECORD",
        "demo-1.0.dist-info/WHEEL",
        "demo-1.0.dist-info/conda.json",
        "demo-1.0.dist-info/entry_points.txt",
        "demo/__init__.py",
        "demo/_speedups.cpython-312-x86_64-linux-gnu.so",
    ]
    # The symlink is stored as a copy of its target, and recorded.
    assert (
        files["demo-1.0.data/data/lib/libdemo.so"] == files["demo-1.0.data/data/lib/libdemo.so.1"]
    )
    sidecar = json.loads(files["demo-1.0.dist-info/conda.json"])
    assert sidecar["symlinks"] == [
        {
            "kind": "file",
            "path": "lib/libdemo.so",
            "target": "libdemo.so.1",
            "wheel_path": "demo-1.0.data/data/lib/libdemo.so",
        }
    ]
    # The conda-build wrapper for the entry point is dropped; installers regenerate it.
    assert b"demo-cli = demo:main" in files["demo-1.0.dist-info/entry_points.txt"]
    skipped = {item.path: item.reason for item in result.plan.skipped}
    assert skipped["bin/demo-cli"] == "entry-point wrapper for 'demo-cli': installers regenerate it"
    assert (
        "byte-code"
        in skipped["lib/python3.12/site-packages/demo/__pycache__/__init__.cpython-312.pyc"]
    )
    # The placeholder of the dropped wrapper is not recorded: nothing left to relocate.
    assert sidecar["prefix_placeholders"] == []


def test_metadata_and_dependencies(tmp_path: Path) -> None:
    files = read_wheel(_convert(python_package(), tmp_path).wheel)
    metadata = Metadata.from_email(files["demo-1.0.dist-info/METADATA"], validate=True)
    assert metadata.requires_python is not None
    assert str(metadata.requires_python) in ("<3.13.0a0,>=3.12", ">=3.12,<3.13.0a0")
    assert [str(r) for r in metadata.requires_dist or []] == ["requests>=2"]
    assert metadata.requires_external == ["libzlib (>=1.3,<2.0a0)"]
    wheel_file = files["demo-1.0.dist-info/WHEEL"].decode()
    assert "Root-Is-Purelib: false" in wheel_file
    assert "Tag: cp312-cp312-conda_linux_64" in wheel_file
    assert "Build: 0_py312h1234567_0" in wheel_file


def test_record_is_verified_and_last(tmp_path: Path) -> None:
    result = _convert(python_package(), tmp_path)
    with WheelFile(result.wheel) as wheel:
        for name in wheel.namelist():
            wheel.read(name)  # raises on any hash mismatch
        assert wheel.namelist()[-1] == "demo-1.0.dist-info/RECORD"
    with zipfile.ZipFile(result.wheel) as archive:
        info = archive.getinfo("demo/__init__.py")
        assert (info.external_attr >> 16) & 0o777 == 0o644


def test_a_program_conda_would_not_make_executable_stays_so(tmp_path: Path) -> None:
    spec = CondaSpec(
        files=[
            FileSpec("bin/tool", b"#!/bin/sh\necho hi\n", mode=0o664),
            FileSpec("bin/run", b"#!/bin/sh\necho hi\n", mode=0o775),
        ]
    )
    result = _convert(spec, tmp_path)
    data = "conda_pkg_demo-1.0.data"
    with zipfile.ZipFile(result.wheel) as archive:
        assert (archive.getinfo(f"{data}/scripts/tool").external_attr >> 16) & 0o777 == 0o644
        assert (archive.getinfo(f"{data}/scripts/run").external_attr >> 16) & 0o777 == 0o755


def test_scripts_get_python_shebangs_and_executable_bits(tmp_path: Path) -> None:
    spec = CondaSpec(
        files=[
            FileSpec(
                "bin/tool",
                f"#!{PLACEHOLDER}/bin/python3.12\nprint('hi')\n".encode(),
                mode=0o755,
                placeholder=PLACEHOLDER,
            ),
            FileSpec(
                "bin/shell-tool",
                f"#!/bin/sh\necho {PLACEHOLDER}\n".encode(),
                mode=0o755,
                placeholder=PLACEHOLDER,
            ),
            FileSpec(
                "lib/pkgconfig/x.pc", f"prefix={PLACEHOLDER}\n".encode(), placeholder=PLACEHOLDER
            ),
        ]
    )
    result = _convert(spec, tmp_path)
    files = read_wheel(result.wheel)
    data = "conda_pkg_demo-1.0.data"
    assert files[f"{data}/scripts/tool"] == b"#!python\nprint('hi')\n"
    assert files[f"{data}/scripts/shell-tool"].startswith(b"#!/bin/sh\n")
    with zipfile.ZipFile(result.wheel) as archive:
        assert (archive.getinfo(f"{data}/scripts/shell-tool").external_attr >> 16) & 0o111
    sidecar = json.loads(files["conda_pkg_demo-1.0.dist-info/conda.json"])
    assert [
        (p["path"], p["wheel_path"], p["file_mode"]) for p in sidecar["prefix_placeholders"]
    ] == [
        ("bin/shell-tool", f"{data}/scripts/shell-tool", "text"),
        ("bin/tool", f"{data}/scripts/tool", "text"),
        ("lib/pkgconfig/x.pc", f"{data}/data/lib/pkgconfig/x.pc", "text"),
    ]
    assert any("hold the build prefix" in warning for warning in result.plan.warnings)


def test_library_package_gets_a_reserved_name(tmp_path: Path) -> None:
    spec = CondaSpec(
        name="zstd",
        version="1.5.6",
        build="h1234_0",
        files=[FileSpec("lib/libzstd.so.1", b"\x7fELF")],
    )
    result = _convert(spec, tmp_path)
    assert result.wheel.name == "conda_pkg_zstd-1.5.6-0_h1234_0-py3-none-conda_linux_64.whl"
    metadata = Metadata.from_email(
        read_wheel(result.wheel)["conda_pkg_zstd-1.5.6.dist-info/METADATA"], validate=True
    )
    assert metadata.name == "conda-pkg-zstd"
    assert metadata.license_expression == "BSD-3-Clause"


def test_noarch_python_with_link_json_entry_points(tmp_path: Path) -> None:
    spec = CondaSpec(
        name="tool",
        subdir="noarch",
        noarch="python",
        build="pyh0_0",
        depends=["python >=3.9", "requests >=2.0"],
        files=[
            FileSpec("site-packages/tool/__init__.py", b"def main(): return 0\n"),
            FileSpec("python-scripts/helper", b"#!/usr/bin/env python\nprint(1)\n", mode=0o755),
        ],
        link={
            "noarch": {"type": "python", "entry_points": ["tool = tool:main"]},
            "package_metadata_version": 1,
        },
    )
    result = _convert(spec, tmp_path)
    assert result.wheel.name == "tool-1.0-0_pyh0_0-py3-none-conda.whl"
    files = read_wheel(result.wheel)
    assert files["tool-1.0.dist-info/entry_points.txt"] == b"[console_scripts]\ntool = tool:main\n"
    assert files["tool-1.0.data/scripts/helper"] == b"#!python\nprint(1)\n"
    metadata = Metadata.from_email(files["tool-1.0.dist-info/METADATA"], validate=True)
    assert [str(r) for r in metadata.requires_dist or []] == ["requests>=2.0"]
    assert str(metadata.requires_python) == ">=3.9"
    assert "Root-Is-Purelib: true" in files["tool-1.0.dist-info/WHEEL"].decode()


def test_egg_info_becomes_a_dist_info(tmp_path: Path) -> None:
    site = "lib/python3.12/site-packages"
    egg = f"{site}/old-2.0-py3.12.egg-info"
    spec = CondaSpec(
        name="old",
        version="2.0",
        depends=["python_abi 3.12.* *_cp312"],
        files=[
            FileSpec(f"{site}/old.py", b"X = 1\n"),
            FileSpec(
                f"{egg}/PKG-INFO",
                b"Metadata-Version: 1.1\nName: old\nVersion: 2.0\nSummary: UNKNOWN\n",
            ),
            FileSpec(f"{egg}/requires.txt", b"six\n[test]\npytest\n"),
            FileSpec(f"{egg}/SOURCES.txt", b"old.py\n"),
            FileSpec(f"{egg}/top_level.txt", b"old\n"),
        ],
    )
    files = read_wheel(_convert(spec, tmp_path).wheel)
    assert sorted(n for n in files if "dist-info" in n) == [
        "old-2.0.dist-info/METADATA",
        "old-2.0.dist-info/RECORD",
        "old-2.0.dist-info/WHEEL",
        "old-2.0.dist-info/conda.json",
        "old-2.0.dist-info/top_level.txt",
    ]
    metadata = Metadata.from_email(files["old-2.0.dist-info/METADATA"], validate=True)
    assert metadata.summary is None  # setuptools' UNKNOWN placeholder dropped
    assert [str(r) for r in metadata.requires_dist or []] == ["six", 'pytest; extra == "test"']


def test_several_distributions_without_records_are_refused(tmp_path: Path) -> None:
    site = "lib/python3.12/site-packages"
    spec = CondaSpec(
        files=[
            FileSpec(
                f"{site}/a-1.dist-info/METADATA", b"Metadata-Version: 2.1\nName: a\nVersion: 1\n"
            ),
            FileSpec(
                f"{site}/b-1.dist-info/METADATA", b"Metadata-Version: 2.1\nName: b\nVersion: 1\n"
            ),
        ]
    )
    with pytest.raises(
        UnsupportedPackage,
        match=(
            r"holds several Python distributions \(a-1\.dist-info, b-1\.dist-info\), and "
            r"a-1\.dist-info has no RECORD to split the package by"
        ),
    ):
        _convert(spec, tmp_path)
    assert _listing(tmp_path / "out") == []


@pytest.mark.parametrize("form", sorted(BUILDERS))
def test_same_package_gives_the_same_payload_in_every_form(form: str, tmp_path: Path) -> None:
    reference = read_wheel(_convert(python_package(), tmp_path / "ref", "conda").wheel)
    other = read_wheel(_convert(python_package(), tmp_path / form, form).wheel)
    # Only the sidecar (it names the source artifact) and RECORD (its hash) differ.
    varying = {"demo-1.0.dist-info/conda.json", "demo-1.0.dist-info/RECORD"}
    assert {k: v for k, v in reference.items() if k not in varying} == {
        k: v for k, v in other.items() if k not in varying
    }


def test_tar_bz2_with_info_last_converts(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    path = build_tar_bz2(python_package(), tmp_path / "src", info_first=False)
    result = convert(path, tmp_path, mapping=MAPPING)
    assert result.wheel.name.startswith("demo-1.0-")


def test_byte_identical_output_and_timestamp_rules(tmp_path: Path) -> None:
    # One input converted twice: two builds of the spec may differ (the .conda's zip
    # entries carry the time they were written), and the sidecar records the input's hash.
    for folder in ("src", "a", "b"):
        (tmp_path / folder).mkdir()
    package = build_conda(python_package(), tmp_path / "src")
    first, second = (
        convert(package, tmp_path / out, mapping=MAPPING, options=PlanOptions())
        for out in ("a", "b")
    )
    assert first.wheel.read_bytes() == second.wheel.read_bytes()
    with zipfile.ZipFile(first.wheel) as archive:
        # the package's own timestamp (index.json, milliseconds)
        assert archive.infolist()[0].date_time == (2023, 11, 14, 22, 13, 20)
    pinned = _convert(python_package(), tmp_path / "c", source_date_epoch=1_000_000_000)
    with zipfile.ZipFile(pinned.wheel) as archive:
        assert archive.infolist()[0].date_time == (2001, 9, 9, 1, 46, 40)


def test_existing_identical_wheel_is_a_noop_and_different_one_is_kept(tmp_path: Path) -> None:
    first = _convert(python_package(), tmp_path)
    again = _convert(python_package(), tmp_path)
    assert (first.status, again.status) == ("written", "unchanged")
    before = first.wheel.read_bytes()
    changed = python_package(extra_files=[FileSpec("share/demo/new.txt", b"new\n")])
    with pytest.raises(WheelExistsError, match="a different wheel with this name already exists"):
        _convert(changed, tmp_path)
    assert first.wheel.read_bytes() == before
    assert [p.name for p in (tmp_path / "out").iterdir()] == [first.wheel.name]


def test_a_package_cache_folder_names_its_artifact_from_the_record_conda_left(
    tmp_path: Path,
) -> None:
    record = {
        "fn": "demo-1.0-py312_0.conda",
        "url": "https://conda.example/main/linux-64/demo-1.0-py312_0.conda",
        "channel": "https://conda.example/main",
        "subdir": "linux-64",
        "sha256": "a" * 64,
        "md5": "b" * 32,
        "size": 12345,
    }
    spec = python_package()
    spec.info_extra["repodata_record.json"] = json.dumps(record).encode()
    result = _convert(spec, tmp_path, "directory")
    source = json.loads(read_wheel(result.wheel)["demo-1.0.dist-info/conda.json"])["source"]
    assert source == {
        "filename": "demo-1.0-py312_0.conda",
        "format": "directory",
        "sha256": "a" * 64,
        "md5": "b" * 32,
        "size": 12345,
        "channel": "https://conda.example/main",
        "subdir": "linux-64",
        "url": "https://conda.example/main/linux-64/demo-1.0-py312_0.conda",
    }


def test_a_package_cache_folder_with_a_broken_record_is_refused(tmp_path: Path) -> None:
    spec = python_package()
    spec.info_extra["repodata_record.json"] = b"{not json"
    with pytest.raises(InvalidPackage) as raised:
        _convert(spec, tmp_path, "directory")
    assert raised.value.reason.startswith("info/repodata_record.json is not valid JSON")
    assert _listing(tmp_path / "out") == []


def test_a_file_that_is_no_wheel_at_the_wheels_name_is_kept(tmp_path: Path) -> None:
    first = _convert(python_package(), tmp_path)
    first.wheel.write_bytes(b"not a zip")
    with pytest.raises(WheelExistsError) as raised:
        _convert(python_package(), tmp_path)
    garbage = hashlib.sha256(b"not a zip").hexdigest()[:12]
    assert raised.value.subject.endswith(".conda")
    assert raised.value.reason.startswith(
        f"makes {first.wheel.name}, but a different wheel with this name already exists in "
        f"{tmp_path / 'out'} (sha256 {garbage}..., new "
    )
    assert raised.value.reason.endswith("; not overwritten")
    assert first.wheel.read_bytes() == b"not a zip"


def test_platform_prefix_option(tmp_path: Path) -> None:
    result = _convert(python_package(), tmp_path, platform_prefix="condaforge")
    assert result.wheel.name.endswith("-cp312-cp312-condaforge_linux_64.whl")


HOSTILE: list[tuple[str, list[FileSpec], str]] = [
    (
        "escaping-symlink",
        [FileSpec("lib/evil", symlink="../../../etc/passwd")],
        "symlink 'lib/evil' -> '../../../etc/passwd' points outside the package",
    ),
    (
        "absolute-symlink",
        [FileSpec("lib/evil", symlink="/etc/passwd")],
        "symlink 'lib/evil' -> '/etc/passwd' points outside the package",
    ),
    (
        "symlink-loop",
        [FileSpec("lib/a", symlink="b"), FileSpec("lib/b", symlink="a")],
        "symlink 'lib/a' is part of a loop",
    ),
]


@pytest.mark.parametrize(
    ("files", "reason"), [(f, r) for _, f, r in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
def test_hostile_links_are_refused(files: list[FileSpec], reason: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidPackage) as caught:
        _convert(CondaSpec(files=files), tmp_path)
    assert reason in caught.value.reason
    assert _listing(tmp_path / "out") == []


def test_paths_json_hash_mismatch_is_refused(tmp_path: Path) -> None:
    spec = CondaSpec(files=[FileSpec("share/a.txt", b"real content")])
    paths = spec.generated_paths_json()
    paths["paths"][0]["sha256"] = "0" * 64  # type: ignore[index]
    spec.paths_json = paths
    with pytest.raises(
        InvalidPackage, match=r"'share/a\.txt': content sha256 .* does not match info/paths\.json"
    ):
        _convert(spec, tmp_path)
    assert _listing(tmp_path / "out") == []


def test_unsupported_paths_version(tmp_path: Path) -> None:
    spec = CondaSpec(
        files=[FileSpec("share/a.txt", b"x")], paths_json={"paths_version": 2, "paths": []}
    )
    with pytest.raises(InvalidPackage, match=r"unsupported paths_version 2"):
        _convert(spec, tmp_path)


def test_non_pep440_versions_follow_the_documented_rule(tmp_path: Path) -> None:
    letters = _convert(
        CondaSpec(name="openssl", version="1.1.1k", files=[FileSpec("lib/libssl.so", b"x")]),
        tmp_path,
    )
    assert "-1.1.1+k-" in letters.wheel.name
    with pytest.raises(UnsupportedPackage, match=r"conda version '1\.0\.\*' has no PEP 440 form"):
        _convert(CondaSpec(name="odd", version="1.0.*", files=[]), tmp_path)


def test_hostile_tar_paths_leave_nothing_behind(tmp_path: Path) -> None:
    index = json.dumps({"name": "x", "version": "1", "build": "0", "subdir": "noarch"}).encode()
    path = build_raw_tar_bz2(
        tmp_path / "x-1-0.tar.bz2",
        [raw_member("info/index.json", index), raw_member("../../escape.txt", b"gotcha")],
    )
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidPackage, match=r"unsafe archive member"):
        convert(path, out, mapping=MAPPING)
    assert not (tmp_path.parent / "escape.txt").exists()
    assert list(out.iterdir()) == []


def test_absurd_member_size_is_refused(tmp_path: Path) -> None:
    from condawheel.convert.ingest import Limits  # noqa: PLC0415

    (tmp_path / "src").mkdir()
    path = build_conda(CondaSpec(files=[FileSpec("share/big.bin", b"x" * 4096)]), tmp_path / "src")
    with pytest.raises(InvalidPackage, match=r"claims 4096 bytes, above the 1024-byte limit"):
        convert(path, tmp_path, mapping=MAPPING, limits=Limits(max_file_size=1024))
    assert [p.name for p in tmp_path.iterdir()] == ["src"]


def test_unlisted_payload_is_not_shipped(tmp_path: Path) -> None:
    spec = CondaSpec(
        files=[FileSpec("share/listed.txt", b"a"), FileSpec("share/extra.txt", b"b", listed=False)]
    )
    result = _convert(spec, tmp_path)
    assert not any(name.endswith("extra.txt") for name in read_wheel(result.wheel))
    assert ("share/extra.txt", "not listed in info/paths.json: conda does not install it") in [
        (s.path, s.reason) for s in result.plan.skipped
    ]


def test_links_to_directories_and_other_packages_are_recorded(tmp_path: Path) -> None:
    spec = CondaSpec(
        files=[
            FileSpec("share/terminfo/x/xterm", b"xterm"),
            FileSpec("lib/terminfo", symlink="../share/terminfo"),
            FileSpec("bin/python", symlink="python3.12"),
        ]
    )
    result = _convert(spec, tmp_path)
    sidecar = json.loads(read_wheel(result.wheel)["conda_pkg_demo-1.0.dist-info/conda.json"])
    assert sorted((s["path"], s["kind"], s["wheel_path"]) for s in sidecar["symlinks"]) == [
        ("bin/python", "external", None),
        ("lib/terminfo", "directory", None),
    ]


def test_hardlinks_repeat_their_target(tmp_path: Path) -> None:
    spec = CondaSpec(
        files=[
            FileSpec("lib/libreal.so.1", b"\x7fELF real"),
            FileSpec("lib/libhard.so", hardlink="lib/libreal.so.1"),
        ]
    )
    entries = spec.generated_paths_json()["paths"]
    assert isinstance(entries, list)
    for entry in entries:
        entry.pop("sha256")
    spec.paths_json = {"paths_version": 1, "paths": entries}
    files = read_wheel(_convert(spec, tmp_path, "tar.bz2").wheel)
    assert files["conda_pkg_demo-1.0.data/data/lib/libhard.so"] == b"\x7fELF real"


def test_no_temporary_files_remain(tmp_path: Path) -> None:
    _convert(python_package(), tmp_path)
    leftovers = [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_wheel_name_of_250_characters_is_written_and_found_again(tmp_path: Path) -> None:
    # Issue 16, finding 11: the temporary file's name once carried the wheel's name, 33
    # characters more, so that names of 223 to 255 characters failed "File name too long".
    spec = CondaSpec(build="b" * 201, files=[FileSpec("share/demo/data.txt", b"data\n")])
    first = _convert(spec, tmp_path)
    assert len(first.wheel.name) == 250
    again = _convert(spec, tmp_path)
    assert (first.status, again.status) == ("written", "unchanged")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [first.wheel.name]


def test_a_write_failure_leaves_no_partial_file(tmp_path: Path) -> None:
    # The file-size limit makes the kernel refuse the write half-way (EFBIG), as a full
    # disk would; the conversion must fail and leave the output directory empty.
    big = CondaSpec(files=[FileSpec(f"share/f{i}.bin", os.urandom(50_000)) for i in range(8)])
    source = build_conda(big, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "from condawheel.convert import convert\n"
        "from condawheel.errors import CondawheelError\n"
        "from condawheel.convert.names import NameMapping\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))\n"
        "try:\n"
        "    convert(Path(sys.argv[1]), Path(sys.argv[2]), mapping=NameMapping.from_names({}))\n"
        "except CondawheelError as error:\n"
        "    print(type(error).__name__, error.__cause__.errno)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(source), str(out)],
        capture_output=True,
        text=True,
        check=False,
        env=unmeasured_environment(),  # 200 kB may leave no room for coverage data
    )
    assert run.stdout.strip() == "OutputError 27", run.stderr  # EFBIG, in the error family
    assert list(out.iterdir()) == []


def test_legacy_package_without_paths_json(tmp_path: Path) -> None:
    spec = CondaSpec(
        files=[FileSpec("bin/tool", b"#!/bin/sh\n", mode=0o755), FileSpec("share/x.txt", b"x")],
        omit_paths_json=True,
        info_extra={"files": b"bin/tool\nshare/x.txt\n", "has_prefix": b"share/x.txt\n"},
    )
    result = _convert(spec, tmp_path, "tar.bz2")
    sidecar = json.loads(read_wheel(result.wheel)["conda_pkg_demo-1.0.dist-info/conda.json"])
    assert sidecar["package"]["paths_source"] == "info/files"
    assert sidecar["prefix_placeholders"][0]["placeholder"] == PLACEHOLDER


def test_tar_members_of_unusual_types(tmp_path: Path) -> None:
    index = json.dumps({"name": "x", "version": "1", "build": "0", "subdir": "noarch"}).encode()
    path = build_raw_tar_bz2(
        tmp_path / "x-1-0.tar.bz2",
        [raw_member("info/index.json", index), raw_member("dev/fifo", kind=tarfile.FIFOTYPE)],
    )
    with pytest.raises(InvalidPackage, match=r"is a device, FIFO or other special file"):
        convert(path, tmp_path, mapping=MAPPING)


def test_configured_build_tag_is_stamped_on_platform_packages_only(tmp_path: Path) -> None:
    stamped = _convert(
        python_package(),
        tmp_path / "a",
        platform_stamp=PlatformStamp("linux-64", "conda_linux_64_site"),
    )
    assert stamped.wheel.name.endswith("-cp312-cp312-conda_linux_64_site.whl")
    noarch = CondaSpec(subdir="noarch", noarch="generic", files=[FileSpec("share/x.txt", b"x")])
    kept = _convert(
        noarch, tmp_path / "b", platform_stamp=PlatformStamp("linux-64", "conda_linux_64_site")
    )
    assert kept.wheel.name.endswith("-py3-none-conda.whl")


def test_a_stamp_refuses_packages_of_another_subdir(tmp_path: Path) -> None:
    # A linux-64 environment's build tag on a win-64 package would let it install into Linux.
    spec = CondaSpec(subdir="win-64", files=[FileSpec("Library/bin/zlib.dll", b"MZ")])
    stamp = PlatformStamp("linux-64", "conda_linux_64_site")
    with pytest.raises(
        UnsupportedPackage,
        match=r"a package for win-64 cannot be made for an environment of linux-64",
    ):
        _convert(spec, tmp_path, platform_stamp=stamp)
    assert list((tmp_path / "out").iterdir()) == []
    assert _convert(spec, tmp_path).wheel.name.endswith("-conda_win_64.whl")


def test_large_bodies_stream_in_blocks_identically_with_any_thread_count(tmp_path: Path) -> None:
    # Bodies above 8 MiB are not held in memory: they stream through block-parallel
    # deflate. Output must not depend on the thread count, and must round-trip.
    rng = __import__("random").Random(1)
    words = [b"alpha ", b"beta ", b"gamma\n", b"delta "]
    text = b"".join(rng.choice(words) for _ in range(1_800_000))[: 9 << 20]
    noise = rng.randbytes(9 << 20)  # incompressible: stored, not deflated
    spec = CondaSpec(files=[FileSpec("lib/big.txt", text), FileSpec("lib/noise.bin", noise)])
    source = build_conda(spec, tmp_path)
    wheels = []
    for threads in (1, 2):
        out = tmp_path / f"out{threads}"
        out.mkdir()
        wheels.append(convert(source, out, mapping=MAPPING, threads=threads).wheel)
    assert wheels[0].read_bytes() == wheels[1].read_bytes()
    with zipfile.ZipFile(wheels[0]) as archive:
        assert archive.testzip() is None
        assert archive.read("conda_pkg_demo-1.0.data/data/lib/big.txt") == text
        big = archive.getinfo("conda_pkg_demo-1.0.data/data/lib/big.txt")
        stored = archive.getinfo("conda_pkg_demo-1.0.data/data/lib/noise.bin")
    assert big.compress_type == zipfile.ZIP_DEFLATED
    assert big.compress_size < big.file_size // 3
    assert stored.compress_type == zipfile.ZIP_STORED
