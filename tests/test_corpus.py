"""Proof on the real corpus: every package converts into a valid, installable, isolated wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conda_package_streaming.package_streaming import stream_conda_component
from packaging.metadata import Metadata
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename
from wheel.wheelfile import WheelFile

from condawheel.convert import ConversionResult, convert
from condawheel.convert.names import default_mapping
from condawheel.sidecar import load_sidecar
from corpus_wheels import install_wheels, isolated_pip_env, make_prefix, python312, run_python

pytestmark = pytest.mark.corpus


def _packages(channel: Path) -> list[Path]:
    return sorted(p for p in channel.rglob("*") if p.name.endswith((".conda", ".tar.bz2")))


@pytest.fixture(scope="session")
def channel_wheels(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ConversionResult]:
    """Convert the whole corpus channel once; keyed by artifact file name."""
    out = tmp_path_factory.mktemp("wheelhouse")
    mapping = default_mapping()
    return {
        path.name: convert(path, out, mapping=mapping, threads=2)
        for path in _packages(corpus / "channel")
    }


def _dist_infos(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names if name.split("/", 1)[0].endswith(".dist-info")}


def test_every_channel_package_converts(
    corpus: Path, channel_wheels: dict[str, ConversionResult]
) -> None:
    assert len(channel_wheels) == len(_packages(corpus / "channel")) == 85


def test_every_wheel_is_valid(channel_wheels: dict[str, ConversionResult]) -> None:
    for result in channel_wheels.values():
        name, version, build, tags = parse_wheel_filename(result.wheel.name)
        assert build, result.wheel.name  # {build_number}_{build}
        assert all(tag.platform.startswith("conda") for tag in tags), result.wheel.name
        # WheelFile verifies every member against RECORD while reading it.
        with WheelFile(result.wheel) as wheel:
            names = wheel.namelist()
            for member in names:
                wheel.read(member)
        dist_infos = _dist_infos(names)
        assert dist_infos == {f"{name.replace('-', '_')}-{version}.dist-info"}, result.wheel.name
        dist_info = dist_infos.pop()
        with zipfile.ZipFile(result.wheel) as archive:
            metadata = Metadata.from_email(archive.read(f"{dist_info}/METADATA"), validate=True)
            sidecar = load_sidecar(result.wheel.name, archive.read(f"{dist_info}/conda.json"))
        assert metadata.name is not None
        assert str(metadata.version) == str(version)
        assert sidecar.source.sha256 is not None
        assert names[-1] == f"{dist_info}/RECORD"  # RECORD last of all
        assert not any(n.endswith(".pyc") or "/__pycache__/" in n for n in names)


def test_zstandard_carries_conda_s_licence_its_egg_info_lost(
    channel_wheels: dict[str, ConversionResult], corpus: Path
) -> None:
    """Its egg-info names a License-File that is not there; conda ships info/licenses/."""
    result = channel_wheels["zstandard-0.23.0-py312hef9b889_1.conda"]
    package = corpus / "channel" / "linux-64" / "zstandard-0.23.0-py312hef9b889_1.conda"
    # conda-build put this info/ file in the .conda's pkg component.
    (licence,) = [
        tar.extractfile(member).read()
        for component in ("info", "pkg")
        for tar, member in stream_conda_component(str(package), component=component)
        if member.name == "info/licenses/LICENSE"
    ]
    with zipfile.ZipFile(result.wheel) as archive:
        assert archive.read(f"{result.plan.dist_info}/licenses/LICENSE") == licence
        metadata = Metadata.from_email(archive.read(f"{result.plan.dist_info}/METADATA"))
    assert metadata.license_files == ["LICENSE"]


def test_krb5_ksu_stays_not_executable_as_conda_installs_it(
    channel_wheels: dict[str, ConversionResult], tmp_path: Path
) -> None:
    """krb5 ships bin/ksu as 0664 (the other programs 0775): the wheel keeps both modes."""
    result = channel_wheels["krb5-1.21.3-h659f571_0.conda"]
    scripts = f"{result.plan.name.replace('-', '_')}-{result.plan.version}.data/scripts"
    with zipfile.ZipFile(result.wheel) as archive:
        assert not (archive.getinfo(f"{scripts}/ksu").external_attr >> 16) & 0o111
        assert (archive.getinfo(f"{scripts}/kinit").external_attr >> 16) & 0o111
    # pypa/installer puts them in bin/ with those modes.
    prefix, scheme = make_prefix(tmp_path / "prefix", python312())
    install_wheels([result.wheel], scheme, prefix / "bin" / "python")
    assert not (prefix / "bin" / "ksu").stat().st_mode & 0o111
    assert (prefix / "bin" / "kinit").stat().st_mode & 0o111


def test_pysocks_dist_info_is_escaped_and_still_found_by_its_own_name(
    channel_wheels: dict[str, ConversionResult], corpus: Path, tmp_path: Path
) -> None:
    """conda installs PySocks-1.7.1.dist-info; the wheel uses the escaped name (docs/convert.md)."""
    package = corpus / "channel" / "noarch" / "pysocks-1.7.1-pyha55dd90_7.conda"
    own = {
        member.name.split("/")[-2]
        for _, member in stream_conda_component(str(package), component="pkg")
        if member.name.endswith(".dist-info/METADATA")
    }
    assert own == {"PySocks-1.7.1.dist-info"}
    result = channel_wheels[package.name]
    assert result.plan.dist_info == "pysocks-1.7.1.dist-info"
    prefix, scheme = make_prefix(tmp_path / "prefix", python312())
    install_wheels([result.wheel], scheme, prefix / "bin" / "python")
    found = run_python(
        prefix / "bin" / "python",
        "import importlib.metadata as m; d = m.distribution('PySocks'); "
        "print(d.metadata['Name'], d.version)",
    )
    assert found.stdout.split() == ["PySocks", "1.7.1"], found.stderr


def test_conversion_is_reproducible(
    corpus: Path, channel_wheels: dict[str, ConversionResult], tmp_path: Path
) -> None:
    mapping = default_mapping()
    for name in (
        "cffi-1.17.1-py312h06ac9bb_0.conda",
        "ncurses-6.5-h2d0b736_2.conda",
        "xz-5.2.6-h166bdaf_0.tar.bz2",
    ):
        source = next(p for p in _packages(corpus / "channel") if p.name == name)
        again = convert(source, tmp_path, mapping=mapping, threads=1)
        assert again.wheel.read_bytes() == channel_wheels[name].wheel.read_bytes(), name


def _supported_by_pip(python: Path) -> set[Tag]:
    """Return the tags a real pip on ``python`` accepts (``pip debug --verbose``)."""
    out = subprocess.run(
        [str(python), "-m", "pip", "debug", "--verbose"],
        capture_output=True,
        text=True,
        env=isolated_pip_env(),
        check=True,
    ).stdout
    tags: set[Tag] = set()
    for line in out.splitlines():
        parts = line.strip().split("-")
        if (
            len(parts) == 3
            and line.startswith("  ")
            and not line.strip().startswith(("sys.", "pip"))
        ):
            tags.add(Tag(*parts))
    return tags


def test_system_pip_never_selects_a_conda_wheel(
    channel_wheels: dict[str, ConversionResult], tmp_path: Path
) -> None:
    python = Path(sys.executable)
    supported = _supported_by_pip(python)
    assert Tag("py3", "none", "any") in supported  # the parse found pip's list
    for result in channel_wheels.values():
        _, _, _, tags = parse_wheel_filename(result.wheel.name)
        assert not (tags & supported), result.wheel.name
    # And a real install attempt fails the way users will see it.
    for name in ("requests-2.32.3-pyhd8ed1ab_1.conda", "cffi-1.17.1-py312h06ac9bb_0.conda"):
        wheel = channel_wheels[name].wheel
        run = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--target",
                str(tmp_path / "t"),
                str(wheel),
            ],
            capture_output=True,
            text=True,
            env=isolated_pip_env(),
            check=False,
        )
        assert run.returncode != 0
        assert "is not a supported wheel on this platform" in run.stderr


def _top_level_modules(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    modules = set()
    for name in names:
        top = name.split("/", 1)[0]
        if top.endswith((".dist-info", ".data", ".pth")):
            continue
        if "/" in name:
            modules.add(top)
        elif name.endswith(".py"):
            modules.add(name[:-3])
        elif ".cpython-" in name:
            modules.add(name.split(".", 1)[0])
    return {m for m in modules if m.isidentifier() and m != "_distutils_hack"}


@pytest.mark.slow
def test_wheels_install_and_import_with_python312(
    channel_wheels: dict[str, ConversionResult], tmp_path: Path
) -> None:
    python = python312()
    prefix, scheme = make_prefix(tmp_path / "prefix", python)
    # Everything the channel holds (Python packages and the C libraries they link) goes
    # into one prefix: .data/data/lib lands in <prefix>/lib, where $ORIGIN RPATHs look.
    # The python stub has no interpreter; xz 5.2 and liblzma 5.6 both ship liblzma.so.5
    # (the package cache holds both; a solver never installs the two together).
    skip = {"python-3.12.4-h194c7f8_0_cpython.conda", "xz-5.2.6-h166bdaf_0.tar.bz2"}
    wheels = [r.wheel for name, r in sorted(channel_wheels.items()) if name not in skip]
    install_wheels(wheels, scheme, prefix / "bin" / "python")
    assert (prefix / "lib" / "libzstd.so.1").exists()
    failures = {}
    for name, result in sorted(channel_wheels.items()):
        if result.plan.kind != "python":
            continue
        for module in sorted(_top_level_modules(result.wheel)):
            run = run_python(prefix / "bin" / "python", f"import {module}")
            if run.returncode != 0:
                failures[f"{name}: {module}"] = run.stderr.strip().splitlines()[-1:]
    assert not failures, json.dumps(failures, indent=1)
    # The C extensions really work, with the conda libraries the wheels brought along.
    check = run_python(
        prefix / "bin" / "python",
        "import zstandard, brotli, cffi; "
        "data = b'condawheel' * 1000; "
        "assert zstandard.ZstdDecompressor().decompress(zstandard.ZstdCompressor().compress(data)) == data; "
        "assert brotli.decompress(brotli.compress(data)) == data; "
        "ffi = cffi.FFI(); ffi.cdef('size_t strlen(const char *);'); "
        "assert ffi.dlopen(None).strlen(b'hello') == 5; print('ok')",
    )
    assert check.stdout.strip() == "ok", check.stderr
    entry_point = prefix / "bin" / "tqdm"
    assert entry_point.exists()
    ran = subprocess.run(
        [str(entry_point), "--version"], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "4.67.1"
    # conda's bin/conda is its own script, not the wrapper installers would make of its
    # dist-info's `conda = conda.cli.main_pip:main` (under which `conda list` fails).
    assert b"from conda.cli import main" in (prefix / "bin" / "conda").read_bytes()
    (prefix / "conda-meta").mkdir()
    (prefix / "conda-meta" / "history").touch()
    for args, expected in ((["--version"], "conda 24.11.3"), (["list", "--json"], "[]")):
        ran = subprocess.run(
            [str(prefix / "bin" / "conda"), *args], capture_output=True, text=True, check=False
        )
        assert (ran.returncode, ran.stdout.strip()) == (0, expected), ran.stderr
    shutil.rmtree(prefix)


EDGE_PLATFORMS = {
    "conda+conda/zlib-1.2.11-h62dcd97_3.conda": ("conda_win_32", "Library/bin/zlib.dll"),
    "conda+conda/10363f6c-zlib-1.2.11-h62dcd97_3.tar.bz2": ("conda_win_64", "Library/bin/zlib.dll"),
    "jameslamb+pydistcheck/osx-64-baseballmetrics-0.1.0-0.conda": (
        "conda_osx_64",
        "lib/lib_baseballmetrics.dylib",
    ),
    "jameslamb+pydistcheck/osx-arm64-baseballmetrics-0.1.0-0.tar.bz2": (
        "conda_osx_arm64",
        "lib/lib_baseballmetrics.dylib",
    ),
}


@pytest.mark.parametrize("relative", sorted(EDGE_PLATFORMS))
def test_other_platforms_convert_on_linux(corpus: Path, relative: str, tmp_path: Path) -> None:
    platform, expected = EDGE_PLATFORMS[relative]
    result = convert(corpus / "edge" / relative, tmp_path, mapping=default_mapping())
    _, _, _, tags = parse_wheel_filename(result.wheel.name)
    assert {tag.platform for tag in tags} == {platform}
    with zipfile.ZipFile(result.wheel) as archive:
        names = archive.namelist()
    assert any(name.endswith(expected) for name in names), names
    if platform.startswith("conda_win"):
        # Library/ keeps its place under the prefix: <name>.data/data/Library/bin/zlib.dll
        assert any(name.endswith(".data/data/Library/bin/zlib.dll") for name in names)
