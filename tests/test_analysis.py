"""analyze_package: what a package is, and every problem with it at once (no archive written)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from builders import CondaSpec, FileSpec, build_conda, in_memory, python_package
from condawheel.conda.condameta import RecordDependencies
from condawheel.conda.sources import open_package
from condawheel.convert.analysis import PackageAnalysis, WrapperScripts, analyze_package
from condawheel.convert.ingest import ingest
from condawheel.errors import InvalidPackage, UnsupportedPackage
from condawheel.links import ResolvedLink
from condawheel.sidecar import SourceArtifact

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

SITE = "lib/python3.12/site-packages"
SOURCE = SourceArtifact(filename="demo-1.0-py312_0.conda", format="conda")


def analyze(spec: CondaSpec, record: RecordDependencies | None = None) -> PackageAnalysis:
    package, inventory = in_memory(spec)
    return analyze_package(package, inventory, source=SOURCE, record=record)


def refusal(spec: CondaSpec) -> InvalidPackage | UnsupportedPackage:
    with pytest.raises((InvalidPackage, UnsupportedPackage)) as caught:
        analyze(spec)
    error = caught.value
    assert isinstance(error, InvalidPackage | UnsupportedPackage)
    assert error.subject == SOURCE.filename
    assert "\n" not in str(error)
    return error


def dist_info(name: str, version: str = "1.0", site: str = SITE) -> FileSpec:
    return FileSpec(
        f"{site}/{name}-{version}.dist-info/METADATA",
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
    )


def with_paths(spec: CondaSpec, changes: Mapping[str, Mapping[str, object]]) -> CondaSpec:
    """Return ``spec`` whose generated paths.json entries are updated by path."""
    paths = spec.generated_paths_json()
    entries = paths["paths"]
    assert isinstance(entries, list)
    for entry in entries:
        entry.update(changes.get(entry["_path"], {}))
    spec.paths_json = paths
    return spec


def test_the_in_memory_facts_are_what_the_reading_pass_finds(tmp_path: Path) -> None:
    spec = python_package(extra_files=[FileSpec("lib/libhard.so", hardlink="lib/libdemo.so.1")])
    package, inventory = in_memory(spec)
    read = ingest(open_package(build_conda(spec, tmp_path)), blobs=None)
    fields = ("kind", "size", "mode", "sha256", "link_target", "head", "never_shipped")

    def facts(items: object) -> dict[str, tuple[object, ...]]:
        assert isinstance(items, tuple)
        return {item.path: tuple(getattr(item, name) for name in fields) for item in items}

    assert facts(inventory.payload) == facts(read.payload)
    assert inventory.metadata_files == read.metadata_files
    assert package.paths == analyze_package(package, read, source=SOURCE).package.paths


def test_every_problem_is_reported_together() -> None:
    spec = CondaSpec(
        depends=["numpy >=>1"],
        files=[
            FileSpec("share/a.txt", b"real content"),
            FileSpec("lib/evil", symlink="../../etc/passwd"),
            FileSpec(f"{SITE}/demo-1.0.data/scripts/evil", b"#!/bin/sh\n"),
        ],
    )
    error = refusal(with_paths(spec, {"share/a.txt": {"sha256": "0" * 64}}))
    assert isinstance(error, InvalidPackage)
    digest = hashlib.sha256(b"real content").hexdigest()
    assert error.problems[:2] == (
        (
            f"'share/a.txt': content sha256 {digest[:12]}... does not match info/paths.json "
            "(000000000000...)"
        ),
        "symlink 'lib/evil' -> '../../etc/passwd' points outside the package",
    )
    assert error.problems[2].startswith("depends entry 'numpy >=>1': ")
    assert error.problems[3:] == (
        (
            f"'{SITE}/demo-1.0.data/scripts/evil': a 'demo-1.0.data' directory in "
            "site-packages would be a wheel data directory (installed outside site-packages)"
        ),
    )
    assert error.reason == "; ".join(error.problems)


def test_only_problems_of_expressing_the_package_make_it_unsupported() -> None:
    spec = CondaSpec(files=[dist_info("alpha"), dist_info("beta")])
    error = refusal(spec)
    assert isinstance(error, UnsupportedPackage)
    assert error.problems == (
        (
            "holds several Python distributions (alpha-1.0.dist-info, beta-1.0.dist-info), and "
            "alpha-1.0.dist-info has no RECORD to split the package by; convert them from their "
            "own conda packages"
        ),
    )


def test_an_unusable_layout_is_reported_with_the_payload_problems() -> None:
    spec = CondaSpec(
        files=[
            FileSpec("lib/python3.11/site-packages/a.py"),
            FileSpec("lib/python3.12/site-packages/a.py"),
        ]
    )
    paths = spec.generated_paths_json()
    assert isinstance(paths["paths"], list)
    paths["paths"].append({"_path": "share/gone.txt", "path_type": "hardlink"})
    spec.paths_json = paths
    error = refusal(spec)
    assert isinstance(error, InvalidPackage)
    assert error.problems == (
        "info/paths.json lists 1 file(s) the archive does not contain: 'share/gone.txt'",
        "site-packages for several Python versions (python3.11, python3.12); a wheel targets one",
    )


def test_missing_files_are_summarised() -> None:
    spec = CondaSpec(files=[FileSpec("share/kept.txt")])
    paths = spec.generated_paths_json()
    assert isinstance(paths["paths"], list)
    paths["paths"] += [{"_path": f"share/{n}.txt", "path_type": "hardlink"} for n in range(5)]
    spec.paths_json = paths
    assert refusal(spec).problems == (
        (
            "info/paths.json lists 5 file(s) the archive does not contain: "
            "'share/0.txt', 'share/1.txt', 'share/2.txt' and 2 more"
        ),
    )


def test_a_listed_file_must_be_a_file_of_its_size() -> None:
    spec = CondaSpec(files=[FileSpec("share/a.txt", b"abc"), FileSpec("share/b.txt", b"b")])
    spec = with_paths(spec, {"share/a.txt": {"size_in_bytes": 4}, "share/b.txt": {"sha256": None}})
    assert refusal(spec).problems == ("'share/a.txt': 3 bytes, but info/paths.json says 4",)


def test_links_resolve_to_the_body_they_carry_or_where_they_point() -> None:
    spec = CondaSpec(
        files=[
            FileSpec("lib/libz.so.1", b"\x7fELF z"),
            FileSpec("lib/libz.so", symlink="libz.so.1"),
            FileSpec("lib/libhard.so", hardlink="lib/libz.so.1"),
            FileSpec("lib/libsoft.so", symlink="libhard.so"),
            FileSpec("share/terminfo/x/xterm", b"xterm"),
            FileSpec("lib/terminfo", symlink="../share/terminfo"),
            FileSpec("bin/python", symlink="python3.12"),
        ]
    )
    entries = spec.generated_paths_json()["paths"]
    assert isinstance(entries, list)
    for entry in entries:
        entry.pop("sha256")  # the builder cannot hash through a hard link
    spec.paths_json = {"paths_version": 1, "paths": entries}
    assert analyze(spec).links == {
        "lib/libz.so": ResolvedLink("lib/libz.so.1", "file"),
        "lib/libhard.so": ResolvedLink("lib/libz.so.1", "file"),
        # a link to a hard link carries the hard link's body
        "lib/libsoft.so": ResolvedLink("lib/libz.so.1", "file"),
        "lib/terminfo": ResolvedLink("share/terminfo", "directory"),
        "bin/python": ResolvedLink("bin/python3.12", "external"),
    }


def test_link_problems() -> None:
    spec = CondaSpec(
        files=[
            FileSpec("lib/real", b"real"),
            FileSpec("lib/hard", hardlink="lib/nowhere"),
            FileSpec("lib/soft", symlink="real"),
        ]
    )
    spec = with_paths(spec, {"lib/soft": {"sha256": "f" * 64}, "lib/hard": {"sha256": None}})
    digest = hashlib.sha256(b"real").hexdigest()
    assert refusal(spec).problems == (
        "hard link 'lib/hard' names a missing member 'lib/nowhere'",
        (
            f"symlink 'lib/soft': its target's sha256 {digest[:12]}... does not match "
            "info/paths.json (ffffffffffff...)"
        ),
    )


def test_the_embedded_dist_info_is_read_with_its_name_and_version() -> None:
    analysis = analyze(python_package())
    distribution = analysis.distribution
    assert distribution is not None
    assert (distribution.kind, distribution.directory) == (
        "dist-info",
        f"{SITE}/demo-1.0.dist-info",
    )
    assert (distribution.name, distribution.version) == ("demo", Version("1.0"))
    assert set(distribution.files) == {
        "METADATA",
        "RECORD",
        "INSTALLER",
        "direct_url.json",
        "entry_points.txt",
    }
    assert analysis.scripts == {"console_scripts": {"demo-cli": "demo:main"}, "gui_scripts": {}}


def test_a_single_file_egg_info_is_a_distribution() -> None:
    egg = FileSpec(f"{SITE}/old-2.0.egg-info", b"Metadata-Version: 1.1\nName: old\nVersion: 2.0\n")
    distribution = analyze(CondaSpec(files=[egg])).distribution
    assert distribution is not None
    assert (distribution.kind, distribution.name, distribution.files) == ("egg-info", "old", {})


def test_a_dist_info_beats_an_egg_info_of_the_same_project() -> None:
    egg = FileSpec(f"{SITE}/demo-0.9.egg-info/PKG-INFO", b"Name: demo\nVersion: 0.9\n")
    distribution = analyze(CondaSpec(files=[egg, dist_info("demo")])).distribution
    assert distribution is not None
    assert (distribution.kind, distribution.version) == ("dist-info", Version("1.0"))


def test_metadata_directories_without_metadata_are_noted_and_ignored() -> None:
    spec = CondaSpec(
        files=[
            FileSpec(f"{SITE}/demo-1.0.dist-info/RECORD", b""),
            FileSpec(f"{SITE}/demo-1.0.egg-info/SOURCES.txt", b""),
        ]
    )
    analysis = analyze(spec)
    assert analysis.distribution is None
    assert analysis.distribution_notes == (
        f"{SITE}/demo-1.0.dist-info: no METADATA; ignored",
        f"{SITE}/demo-1.0.egg-info: no PKG-INFO; ignored",
    )


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        (b"\xff\xfe", "unreadable metadata ('utf-8' codec can't decode byte 0xff"),
        (b"Metadata-Version: 2.1\nName: demo\n", "METADATA lacks Name or Version"),
        (b"Name: demo\nVersion: one\n", "Version 'one' is not PEP 440"),
    ],
    ids=["unreadable", "no-version", "not-pep440"],
)
def test_unusable_embedded_metadata_is_a_problem(metadata: bytes, reason: str) -> None:
    spec = CondaSpec(files=[FileSpec(f"{SITE}/demo-1.0.dist-info/METADATA", metadata)])
    (problem,) = refusal(spec).problems
    assert problem.startswith(f"{SITE}/demo-1.0.dist-info: {reason}")


def test_a_conda_version_without_pep440_form_needs_embedded_metadata() -> None:
    error = refusal(CondaSpec(version="1.0.*", files=[FileSpec("lib/libx.so", b"x")]))
    assert isinstance(error, UnsupportedPackage)
    assert error.problems == (
        "conda version '1.0.*' has no PEP 440 form (see docs/convert.md, \"Versions\")",
    )
    analysis = analyze(CondaSpec(version="1.0.*", files=[dist_info("demo")]))
    assert analysis.conda_version is None
    assert analysis.distribution is not None


def test_a_record_counts_only_where_it_differs_from_index_json() -> None:
    spec = CondaSpec(depends=["libzlib >=1.2"], files=[FileSpec("lib/libx.so", b"x")])
    same = RecordDependencies("repodata", ("libzlib >=1.2",), ())
    patched = RecordDependencies("repodata", ("libzlib >=1.3",), ())
    assert analyze(spec, same).record is None
    assert analyze(spec, same).depends == ("libzlib >=1.2",)
    assert analyze(spec, patched).record == patched
    assert analyze(spec, patched).depends == ("libzlib >=1.3",)
    bad = RecordDependencies("repodata", ("libzlib >=>1",), ())
    with pytest.raises(InvalidPackage, match=r"depends entry 'libzlib >=>1'"):
        analyze(spec, bad)


def test_unlisted_files_are_known_but_not_installed() -> None:
    spec = CondaSpec(
        files=[
            FileSpec("share/listed.txt", b"a"),
            FileSpec("share/extra.txt", b"b", listed=False),
            FileSpec("share/__pycache__/x.cpython-312.pyc", b"c", listed=False),
        ]
    )
    assert analyze(spec).unlisted == ("share/extra.txt",)


@pytest.mark.parametrize(
    ("path", "importable"),
    [
        (f"{SITE}/mod.py", True),
        (f"{SITE}/pkg/data.txt", True),
        (f"{SITE}/_ext.cpython-312-x86_64-linux-gnu.so", True),
        (f"{SITE}/paths.pth", False),
        # byte-code is never shipped: its directory does not make a package
        (f"{SITE}/__pycache__/mod.cpython-312.pyc", False),
    ],
    ids=["module", "package", "extension", "pth-only", "byte-code-directory"],
)
def test_importable_code_in_site_packages(path: str, importable: bool) -> None:
    spec = CondaSpec(files=[FileSpec(f"{SITE}/keep.pth"), FileSpec(path, b"x")])
    assert analyze(spec).importable is importable


def test_the_wrappers_of_each_command_are_found_with_what_they_run() -> None:
    assert analyze(python_package()).wrappers == {
        "demo-cli": WrapperScripts(("bin/demo-cli",), "bin/demo-cli", "demo:main")
    }


def test_a_lone_launcher_is_a_wrapper_without_a_script() -> None:
    site = "Lib/site-packages"
    spec = CondaSpec(
        subdir="win-64",
        files=[
            dist_info("foo", site=site),
            FileSpec(
                f"{site}/foo-1.0.dist-info/entry_points.txt", b"[console_scripts]\nfoo = foo:main\n"
            ),
            FileSpec("Scripts/foo.exe", b"MZ launcher"),
        ],
    )
    assert analyze(spec).wrappers == {"foo": WrapperScripts(("Scripts/foo.exe",), None, None)}


def test_an_unparseable_entry_points_txt_declares_nothing() -> None:
    broken = FileSpec(f"{SITE}/demo-1.0.dist-info/entry_points.txt", b"[console_scripts\nx")
    analysis = analyze(CondaSpec(files=[dist_info("demo"), broken]))
    assert analysis.scripts is None
    assert analysis.wrappers == {}


def test_the_analysis_is_frozen() -> None:
    analysis = analyze(python_package())
    with pytest.raises(dataclasses.FrozenInstanceError):
        analysis.subject = "other"  # type: ignore[misc]


def test_a_link_to_a_broken_hard_link_carries_nothing() -> None:
    spec = CondaSpec(
        files=[
            FileSpec("lib/hard", hardlink="lib/nowhere", listed=False),
            FileSpec("lib/soft", symlink="hard"),
        ]
    )
    assert analyze(with_paths(spec, {"lib/soft": {"sha256": None}})).links == {
        "lib/soft": ResolvedLink("lib/hard", "external")
    }


def test_a_flood_of_problems_stays_one_readable_line() -> None:
    spec = CondaSpec(files=[FileSpec(f"lib/l{n:02}", symlink="/etc/passwd") for n in range(25)])
    error = refusal(spec)
    assert len(error.problems) == 21
    assert error.problems[0] == "symlink 'lib/l00' -> '/etc/passwd' points outside the package"
    assert error.problems[-1] == "and 5 more problem(s)"
