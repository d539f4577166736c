"""The ``--libs-from`` index: environments, folders of packages, and broken sources."""

from __future__ import annotations

import json
import zipfile
from typing import TYPE_CHECKING, Any

import pytest

from builders import (
    CondaSpec,
    FileSpec,
    build_conda,
    build_directory,
    build_tar_bz2,
    zip_with,
)
from conda_envs import CondaEnvironments, conda_environments
from condawheel.binaries import (
    BinaryFacts,
    PackageLibraries,
    SonameProviders,
    resolve_libraries,
)
from condawheel.binaries.providers import load_providers, read_package_libraries
from condawheel.convert import plan_package
from condawheel.convert.names import default_mapping
from condawheel.errors import SourceError
from envs import make_environment

__all__ = ["conda_environments"]  # a fixture, imported for pytest

if TYPE_CHECKING:
    from pathlib import Path

# ---------------------------------------------------------------------------- Helpers

ZSTD = CondaSpec(
    name="zstd",
    version="1.5.6",
    build="ha6fb4c9_0",
    depends=["libgcc >=13", "libzlib >=1.3.1,<2.0a0"],
    files=[
        FileSpec("lib/libzstd.so.1.5.6", b"\x7fELF zstd"),
        FileSpec("lib/libzstd.so.1", symlink="libzstd.so.1.5.6"),
        FileSpec("lib/libzstd.so", symlink="libzstd.so.1.5.6"),
        FileSpec("lib/libzstd.a", b"!<arch>\n"),
        FileSpec("include/zstd.h", b"/* zstd */"),
        FileSpec("bin/zstd", b"\x7fELF tool", mode=0o755),
    ],
)
LIBGCC_NG = CondaSpec(
    name="libgcc-ng", version="14.2.0", build="h69a702a_1", depends=["libgcc 14.2.0 h77fa898_1"]
)
LIBFFI = CondaSpec(
    name="libffi",
    version="3.4.2",
    build="h7f98852_5",
    files=[
        FileSpec("lib/libffi.so.8.1.0", b"\x7fELF ffi"),
        FileSpec("lib/libffi.so.8", symlink="libffi.so.8.1.0"),
    ],
)
ZLIB_WIN = CondaSpec(
    name="zlib",
    version="1.2.11",
    build="h62dcd97_3",
    subdir="win-64",
    depends=["vc >=14.1,<15.0a0"],
    files=[
        FileSpec("Library/bin/zlib.dll", b"MZ zlib"),
        FileSpec("Library/lib/zlib.lib", b"lib"),
        FileSpec("zlib1.dll", b"MZ zlib"),
    ],
)


def _conda_meta(prefix: Path, stem: str, record: dict[str, object]) -> None:
    """Write a record; its version and build come from ``stem`` unless ``record`` gives them."""
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    parts = stem.rsplit("-", 2)
    version, build = parts[1:] if len(parts) == 3 else ("0", "0")
    (meta / f"{stem}.json").write_text(json.dumps({"version": version, "build": build, **record}))


# ----------------------------------------------------------------------- Actual tests


class TestFolderOfPackages:
    def test_channel_with_subdirs(self, tmp_path: Path) -> None:
        (tmp_path / "linux-64").mkdir()
        (tmp_path / "noarch").mkdir()
        (tmp_path / "win-64" / "nested").mkdir(parents=True)
        build_conda(ZSTD, tmp_path / "linux-64")
        build_tar_bz2(LIBGCC_NG, tmp_path / "noarch")
        build_directory(LIBFFI, tmp_path / "linux-64")
        build_conda(ZLIB_WIN, tmp_path / "win-64" / "nested")
        (tmp_path / "repodata.json").write_text("{}")
        index = load_providers([tmp_path])
        assert index.warnings == ()
        assert sorted(index.packages) == ["libffi", "libgcc-ng", "zlib", "zstd"]
        assert index.packages["zstd"] == {
            "lib/libzstd.so.1.5.6",
            "lib/libzstd.so.1",
            "lib/libzstd.so",
        }
        assert index.packages["libgcc-ng"] == frozenset()
        assert index.depends["zstd"] == {"libgcc", "libzlib"}
        assert index.depends["libgcc-ng"] == {"libgcc"}
        assert index.providers_of("libzstd.so.1") == {"zstd"}
        assert index.providers_of("libffi.so.8") == {"libffi"}
        assert index.providers_of("ZLIB.DLL") == {"zlib"}
        assert index.providers_of("zlib1.dll") == {"zlib"}
        assert index.packages_at("library/BIN/Zlib.dll", casefold=True) == (
            "Library/bin/zlib.dll",
            frozenset({"zlib"}),
        )
        assert index.loader_libraries("zstd") == (
            "lib/libzstd.so",
            "lib/libzstd.so.1",
            "lib/libzstd.so.1.5.6",
        )

    def test_hidden_folders_are_not_searched(self, tmp_path: Path) -> None:
        (tmp_path / ".tmp").mkdir()
        build_conda(ZSTD, tmp_path / ".tmp")
        build_conda(LIBFFI, tmp_path)
        assert sorted(load_providers([tmp_path]).packages) == ["libffi"]

    def test_only_the_info_component_of_a_conda_is_read(self, tmp_path: Path) -> None:
        built = build_conda(ZSTD, tmp_path)
        with zipfile.ZipFile(built) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        (pkg,) = [name for name in members if name.startswith("pkg-")]
        members[pkg] = b"not a zstd stream: reading the payload would fail"
        built.unlink()
        zip_with(built, members)
        index = load_providers([built])
        assert index.warnings == ()
        assert index.providers_of("libzstd.so.1") == {"zstd"}

    def test_tar_bz2_with_info_last(self, tmp_path: Path) -> None:
        record = read_package_libraries(build_tar_bz2(ZSTD, tmp_path, info_first=False))
        assert record.name == "zstd"
        assert "lib/libzstd.so.1" in record.libraries

    def test_package_older_than_paths_json(self, tmp_path: Path) -> None:
        old = CondaSpec(
            name="old",
            omit_paths_json=True,
            info_extra={"files": b"lib/libold.so.1\nlib/libold.so.1.0\nshare/old.txt\n"},
            files=[FileSpec("lib/libold.so.1.0", b"\x7fELF")],
        )
        record = read_package_libraries(build_tar_bz2(old, tmp_path))
        assert record.libraries == {"lib/libold.so.1", "lib/libold.so.1.0"}

    def test_unreadable_packages_are_skipped_with_a_warning(self, tmp_path: Path) -> None:
        build_conda(ZSTD, tmp_path)
        (tmp_path / "empty-1.0-0.conda").write_bytes(b"")
        (tmp_path / "garbage-1.0-0.tar.bz2").write_bytes(b"BZh91AY&SY" + bytes(100))
        build_tar_bz2(CondaSpec(name="nopaths", omit_paths_json=True), tmp_path)
        build_conda(CondaSpec(name="badpaths", paths_json={"paths": "no"}), tmp_path)
        build_conda(CondaSpec(name="badjson", info_extra={"index.json": b"{"}), tmp_path)
        deep = b"[" * 100_000 + b"]" * 100_000
        build_conda(CondaSpec(name="deepjson", info_extra={"paths.json": deep}), tmp_path)
        index = load_providers([tmp_path])
        assert sorted(index.packages) == ["zstd"]
        problems = "\n".join(index.warnings)
        assert len(index.warnings) == 6
        for name in (
            "empty-1.0-0.conda",
            "garbage-1.0-0.tar.bz2",
            "nopaths",
            "badpaths",
            "badjson",
            "deepjson",
        ):
            assert name in problems
        assert "neither info/paths.json nor info/files" in problems
        assert "not valid JSON" in problems
        assert "info/paths.json is not valid JSON (nested too deeply); skipped" in problems
        assert all(warning.endswith("; skipped") for warning in index.warnings)

    def test_one_package_file(self, tmp_path: Path) -> None:
        index = load_providers([build_tar_bz2(LIBFFI, tmp_path)])
        assert index.providers_of("libffi.so.8") == {"libffi"}

    def test_sources_merge(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a", tmp_path / "b"
        first.mkdir()
        second.mkdir()
        build_conda(ZSTD, first)
        newer = CondaSpec(
            name="zstd",
            version="1.5.7",
            files=[
                FileSpec("lib/libzstd.so.1.5.7", b"\x7fELF"),
                FileSpec("lib/libzstd.so.1", symlink="libzstd.so.1.5.7"),
            ],
        )
        build_conda(newer, second)
        index = load_providers([first, second])
        assert "lib/libzstd.so.1.5.7" in index.packages["zstd"]
        assert "lib/libzstd.so.1.5.6" in index.packages["zstd"]


class TestEnvironment:
    def test_conda_meta_records(self, tmp_path: Path) -> None:
        _conda_meta(
            tmp_path,
            "zstd-1.5.6-ha6fb4c9_0",
            {
                "name": "zstd",
                "depends": ["libgcc >=13"],
                "files": ["lib/libzstd.so.1", "include/zstd.h"],
            },
        )
        _conda_meta(
            tmp_path,
            "libffi-3.4.2-h7f98852_5",
            {"name": "libffi", "paths_data": {"paths": [{"_path": "lib/libffi.so.8"}]}},
        )
        _conda_meta(
            tmp_path,
            "python_abi-3.12-5_cp312",
            {"name": "python_abi", "files": [], "depends": ["python 3.12.*"]},
        )
        (tmp_path / "conda-meta" / "history").write_text("==> 2024-01-01 <==\n")
        (tmp_path / "conda-meta" / "broken-1-0.json").write_text("{")
        _conda_meta(tmp_path, "nameless-1-0", {"files": ["lib/libx.so"]})
        index = load_providers([tmp_path])
        assert sorted(index.packages) == ["libffi", "python_abi", "zstd"]
        assert index.providers_of("libzstd.so.1") == {"zstd"}
        assert index.providers_of("libffi.so.8") == {"libffi"}
        assert index.depends["python_abi"] == {"python"}
        assert len(index.warnings) == 2
        assert "broken-1-0.json" in index.warnings[0]
        assert "conda-meta record has no string 'name'" in index.warnings[1]

    def test_windows_paths(self, tmp_path: Path) -> None:
        _conda_meta(tmp_path, "zlib", {"name": "zlib", "files": ["Library\\bin\\zlib.dll"]})
        assert load_providers([tmp_path]).packages["zlib"] == {"Library/bin/zlib.dll"}

    def test_resolution_against_an_environment(self, tmp_path: Path) -> None:
        _conda_meta(tmp_path, "zstd", {"name": "zstd", "files": ["lib/libzstd.so.1"]})
        _conda_meta(tmp_path, "bzip2", {"name": "bzip2", "files": ["lib/libbz2.so.1.0"]})
        module = BinaryFacts(
            "elf", "library", ("x86_64",), needed=("libzstd.so.1", "libbz2.so.1.0")
        )
        report = resolve_libraries(
            {"lib/python3.12/site-packages/m.so": module},
            declared=["zstd"],
            providers=load_providers([tmp_path]),
        )
        assert [lib.kind for lib in report.binaries[0].libraries] == ["dependency", "unresolved"]
        assert report.under_declared == ("libbz2.so.1.0",)


@pytest.mark.parametrize(
    "make",
    ["missing", "plain-file", "empty-folder", "folder-without-packages"],
)
def test_not_a_source(tmp_path: Path, make: str) -> None:
    path = tmp_path / "source"
    if make == "plain-file":
        path.write_text("hello")
    elif make == "empty-folder":
        path.mkdir()
    elif make == "folder-without-packages":
        path.mkdir()
        (path / "README.md").write_text("hello")
        (path / "sub").mkdir()
    with pytest.raises(SourceError) as raised:
        load_providers([path])
    assert raised.value.subject == str(path)


# ---------------------------------------------------------------- Actual tests: corpus


@pytest.mark.corpus
def test_corpus_channel(corpus: Path) -> None:
    index = load_providers([corpus / "channel"])
    assert index.warnings == ()
    assert len(index.packages) == 85
    assert index.providers_of("libzstd.so.1") == {"zstd"}
    assert index.providers_of("libgcc_s.so.1") == {"libgcc"}
    assert index.providers_of("libstdc++.so.6") == {"libstdcxx"}
    # conda-forge's _openmp_mutex owns the soname link; libgomp ships the real file.
    assert index.providers_of("libgomp.so.1") == {"_openmp_mutex"}
    assert index.packages["libgcc-ng"] == frozenset()
    assert index.depends["libgcc-ng"] == {"libgcc"}
    assert index.loader_libraries("pycosat") == ()
    assert (
        "lib/python3.12/site-packages/pycosat.cpython-312-x86_64-linux-gnu.so"
        in (index.packages["pycosat"])
    )


@pytest.mark.corpus
def test_corpus_edge_packages(corpus: Path) -> None:
    index = load_providers([corpus / "edge"])
    # The deliberately broken archives are skipped, one warning each; the rest is read.
    assert index.warnings
    assert all(warning.endswith("; skipped") for warning in index.warnings)
    assert any("empty file" in warning for warning in index.warnings)
    assert {"Library/bin/zlib.dll", "lib/libz.1.dylib", "lib/libz.so.1"} <= index.packages["zlib"]
    assert index.providers_of("zlib.dll") == {"zlib"}


@pytest.mark.corpus
def test_a_real_environment_as_provider(
    conda_environments: CondaEnvironments, corpus: Path, tmp_path: Path
) -> None:
    """--libs-from PREFIX: a py-rattler-installed environment's conda-meta file lists."""
    prefix = tmp_path / "env"
    make_environment(
        conda_environments.channel, prefix, conda_environments.cache, ["zstd", "libgcc"]
    )
    index = load_providers([prefix])
    assert index.warnings == ()
    assert index.providers_of("libzstd.so.1") == {"zstd"}
    assert index.providers_of("libgcc_s.so.1") == {"libgcc"}
    assert "cffi" not in index.packages  # only what was installed
    package = corpus / "channel" / "linux-64" / "zstandard-0.23.0-py312hef9b889_1.conda"
    plan = plan_package(package, mapping=default_mapping(), providers=index)
    libraries: Any = plan.sidecar["libraries"]
    assert libraries["providers_given"] is True
    kinds = {
        (library["name"], library["kind"], library.get("dependency"))
        for binary in libraries["binaries"]
        for library in binary["libraries"]
    }
    assert ("libzstd.so.1", "dependency", "zstd") in kinds
    assert all(kind != "unresolved" for _, kind, _ in kinds), kinds


def _unresolved(plan: Any) -> set[str]:
    return {
        library["name"]
        for binary in plan.sidecar["libraries"]["binaries"]
        for library in binary["libraries"]
        if library["kind"] == "unresolved"
    }


@pytest.mark.corpus
def test_unprovided_libraries_are_warned_about_only_when_judged(
    corpus: Path, tmp_path: Path
) -> None:
    cffi = corpus / "channel" / "linux-64" / "cffi-1.17.1-py312h06ac9bb_0.conda"
    # No --libs-from: nothing but the wheel and the system was searched; no warning, and
    # the sidecar keeps the facts.
    unjudged = plan_package(cffi, mapping=default_mapping())
    libraries: Any = unjudged.sidecar["libraries"]
    assert libraries["providers_given"] is False
    assert _unresolved(unjudged) == {"libffi.so.8"}
    assert not [w for w in unjudged.warnings if "nothing provides" in w], unjudged.warnings
    # An index that lacks libffi: now the library was looked for and not found.
    folder = tmp_path / "providers"
    folder.mkdir()
    zstd = corpus / "channel" / "linux-64" / "zstd-1.5.6-ha6fb4c9_0.conda"
    (folder / zstd.name).write_bytes(zstd.read_bytes())
    judged = plan_package(cffi, mapping=default_mapping(), providers=load_providers([folder]))
    assert "binaries need libraries nothing provides: libffi.so.8" in judged.warnings


@pytest.mark.corpus
def test_the_visual_cpp_runtime_of_python_is_no_undeclared_library(corpus: Path) -> None:
    # setuptools (noarch) ships Windows launchers linking VCRUNTIME140.dll and declares
    # only python: every Windows Python loads that runtime, so nothing is under-declared.
    setuptools = corpus / "channel" / "noarch" / "setuptools-75.8.0-pyhff2d567_0.conda"
    index = load_providers([corpus / "channel"])
    for providers in (None, index):
        plan = plan_package(setuptools, mapping=default_mapping(), providers=providers)
        libraries: Any = plan.sidecar["libraries"]
        kinds = {
            library["kind"]
            for binary in libraries["binaries"]
            for library in binary["libraries"]
            if library["name"].casefold() == "vcruntime140.dll"
        }
        assert kinds == {"system"}
        assert libraries["under_declared"] == []
        assert not [w for w in plan.warnings if "declared" in w or "nothing provides" in w]
    # A C++ runtime DLL outside CPython's own stays judged.
    binaries = {
        "Library/bin/x.dll": BinaryFacts(
            "pe", "library", ("x86_64",), needed=("MSVCP140.dll", "VCRUNTIME140_1.dll")
        )
    }
    vc = SonameProviders.from_packages(
        [PackageLibraries("vc14_runtime", frozenset({"Library/bin/msvcp140.dll"}), frozenset())]
    )
    report = resolve_libraries(binaries, declared=["python"], providers=vc)
    assert report.under_declared == ("MSVCP140.dll",)
    assert [library.kind for library in report.binaries[0].libraries] == ["unresolved", "system"]
