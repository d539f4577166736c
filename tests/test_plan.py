"""The wheel plan's decisions, one at a time, over an analysis made in memory (no archive)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from builders import (
    PLACEHOLDER,
    CondaSpec,
    FileSpec,
    build_conda,
    in_memory,
    noarch_tool,
    python_package,
)
from condawheel.conda.condameta import EntryPoint, LinkInfo, RecordDependencies
from condawheel.convert import plan_package
from condawheel.convert.analysis import PackageAnalysis, WrapperScripts, analyze_package
from condawheel.convert.distinfo import Commands, dist_info_members
from condawheel.convert.ingest import Limits
from condawheel.convert.names import NameMapping
from condawheel.convert.plan import (
    FromPayload,
    Generated,
    RewrittenScript,
    Skipped,
    check_content_size,
    check_platform_stamp,
    choose_wheel_tags,
    leave_out_wrappers,
    map_payload,
    plan_wheel,
    reconcile_commands,
    wheel_dependencies,
    wheel_identity,
    wheel_kind,
    zip_date_time,
)
from condawheel.errors import InvalidPackage, UnsupportedPackage
from condawheel.metadata import LOOKS_UP_ITS_ENTRY_POINT
from condawheel.options import PlanOptions, PlatformStamp
from condawheel.sidecar import SourceArtifact, SymlinkRecord

if TYPE_CHECKING:
    from pathlib import Path

SITE = "lib/python3.12/site-packages"
SOURCE = SourceArtifact(filename="demo-1.0-py312_0.conda", format="conda")
NO_NAMES = NameMapping.from_names({})


def analyze(spec: CondaSpec) -> PackageAnalysis:
    package, inventory = in_memory(spec)
    return analyze_package(package, inventory, source=SOURCE)


def library(*files: FileSpec, **fields: object) -> PackageAnalysis:
    return analyze(CondaSpec(name="libdemo", files=list(files), **fields))  # type: ignore[arg-type]


# ---------------------------------------------------------------- kind and identity


@pytest.mark.parametrize(
    ("analysis", "kind"),
    [
        (lambda: analyze(python_package()), "python"),
        (lambda: library(FileSpec(f"{SITE}/mod.py")), "python"),
        (lambda: library(FileSpec(f"{SITE}/paths.pth")), "library"),
        (lambda: library(FileSpec("lib/libdemo.so", b"x")), "library"),
    ],
    ids=["embedded-distribution", "importable-code", "pth-only", "no-site-packages"],
)
def test_wheel_kind(analysis: object, kind: str) -> None:
    assert callable(analysis)
    assert wheel_kind(analysis()) == kind


def test_noarch_python_is_always_a_python_wheel() -> None:
    analysis = library(FileSpec("share/x.txt"), subdir="noarch", noarch="python")
    assert wheel_kind(analysis) == "python"


def test_the_embedded_distribution_names_the_wheel() -> None:
    analysis = analyze(python_package(name="demo"))
    identity = wheel_identity(analysis, "python", NO_NAMES)
    assert (identity.display, identity.name, identity.version) == ("demo", "demo", Version("1.0"))
    assert identity.version_rule == "from the embedded dist-info"
    assert identity.notes == ()
    renamed = dataclasses.replace(
        analysis,
        package=dataclasses.replace(
            analysis.package, index=dataclasses.replace(analysis.index, name="py-demo")
        ),
    )
    assert wheel_identity(renamed, "python", NO_NAMES).notes == (
        (
            "conda package 'py-demo' carries the Python distribution 'demo'; "
            "the wheel is named after the distribution"
        ),
    )
    mapped = NameMapping.from_names({"py-demo": "demo"})
    assert wheel_identity(renamed, "python", mapped).notes == ()


def test_without_embedded_metadata_the_mapping_or_conda_name_names_the_wheel() -> None:
    analysis = library(FileSpec(f"{SITE}/mod.py"), version="2025a")
    mapped = NameMapping.from_names({"libdemo": "demo-py"})
    python = wheel_identity(analysis, "python", mapped)
    assert (python.display, python.name, python.version) == (
        "demo-py",
        "demo-py",
        Version("2025+a"),
    )
    assert python.version_rule == (
        "conda version '2025a' mapped to PEP 440 (docs/convert.md, \"Versions\")"
    )
    lib = wheel_identity(analysis, "library", mapped)
    assert (lib.name, lib.version_rule) == ("conda-pkg-libdemo", python.version_rule)


def test_an_analysis_without_any_pep440_version_is_unsupported() -> None:
    analysis = dataclasses.replace(library(FileSpec("lib/x.so", b"x")), conda_version=None)
    with pytest.raises(UnsupportedPackage, match=r"conda version '1\.0' has no PEP 440 form"):
        wheel_identity(analysis, "library", NO_NAMES)


# ---------------------------------------------------------------- commands


def tool_analysis(entry_points_txt: bytes | None, link_points: list[str]) -> PackageAnalysis:
    return analyze(noarch_tool(entry_points_txt, link_points))


def test_link_json_adds_the_commands_entry_points_txt_lacks() -> None:
    commands = reconcile_commands(
        tool_analysis(b"[console_scripts]\na = tool:a\n", ["a = tool:a", "b = tool:b"])
    )
    assert commands.scripts == {
        "console_scripts": {"a": "tool:a", "b": "tool:b"},
        "gui_scripts": {},
    }
    assert commands.changed
    assert commands.warnings == (
        (
            "info/link.json's entry point 'b = tool:b' is missing from entry_points.txt; "
            "added to [console_scripts]"
        ),
    )
    assert [note["command"] for note in commands.notes] == ["b"]


def test_link_json_wins_a_disagreement() -> None:
    commands = reconcile_commands(
        tool_analysis(b"[console_scripts]\na = tool.cli:a\n", ["a = tool:a"])
    )
    assert commands.scripts["console_scripts"] == {"a": "tool:a"}
    assert commands.warnings == (
        (
            "entry_points.txt declares 'a = tool.cli:a', but conda installs 'a = tool:a' "
            "(info/link.json); the wheel declares conda's"
        ),
    )


@pytest.mark.parametrize(
    "entry_points_txt",
    [b"[console_scripts]\na = tool:a\n", None],
    ids=["agreeing", "absent"],
)
def test_agreement_or_silence_changes_nothing_worth_a_warning(
    entry_points_txt: bytes | None,
) -> None:
    commands = reconcile_commands(tool_analysis(entry_points_txt, ["a = tool:a"]))
    assert commands.scripts["console_scripts"] == {"a": "tool:a"}
    assert commands.changed is (entry_points_txt is None)
    assert (commands.warnings, commands.notes) == ((), ())


def test_an_unparseable_entry_points_txt_is_kept_without_link_json() -> None:
    commands = reconcile_commands(tool_analysis(b"[console_scripts\nbroken", ["a = tool:a"]))
    assert (commands.scripts, commands.changed) == ({}, False)
    assert commands.warnings == (
        (
            "site-packages/tool-1.0.dist-info/entry_points.txt cannot be parsed; kept as it is, "
            "without link.json's entry points"
        ),
    )


def declared(name: str, value: str) -> Commands:
    return Commands({"console_scripts": {name: value}, "gui_scripts": {}})


@pytest.mark.parametrize(
    ("wrapper", "left_out"),
    [
        (WrapperScripts(("bin/demo",), "bin/demo", "demo.cli:main"), True),
        (WrapperScripts(("bin/demo",), "bin/demo", "demo:cli.main"), True),  # same callable
        (WrapperScripts(("bin/demo",), "bin/demo", LOOKS_UP_ITS_ENTRY_POINT), True),
        (WrapperScripts(("Scripts/demo.exe",), None, None), True),  # a lone launcher
        (WrapperScripts(("bin/demo",), "bin/demo", "other:main"), False),
        (WrapperScripts(("bin/demo",), "bin/demo", None), False),  # a program of its own
    ],
    ids=["same", "same-callable", "looks-up", "launcher", "other-callable", "program"],
)
def test_a_wrapper_is_left_out_only_when_it_runs_the_declared_callable(
    wrapper: WrapperScripts, left_out: bool
) -> None:
    analysis = dataclasses.replace(analyze(python_package()), wrappers={"demo": wrapper})
    commands = leave_out_wrappers(analysis, declared("demo", "demo.cli:main"))
    if left_out:
        assert commands.wrappers == dict.fromkeys(wrapper.paths, "demo")
        assert commands.scripts["console_scripts"] == {"demo": "demo.cli:main"}
        assert (commands.changed, commands.warnings) == (False, ())
        return
    assert (commands.wrappers, commands.scripts["console_scripts"]) == ({}, {})
    assert commands.changed
    what = "runs other:main" if wrapper.runs else "is not a generated wrapper"
    assert commands.warnings == (
        (
            f"bin/demo {what}, but entry_points.txt declares 'demo = demo.cli:main'; "
            "the wheel ships the script conda installs and does not declare 'demo'"
        ),
    )


# ---------------------------------------------------------------- dependencies


def test_dependencies_are_translated_from_the_record_conda_uses() -> None:
    analysis = analyze(python_package(depends=["libzlib >=1.3", "requests >=2"]))
    deps = wheel_dependencies(analysis, NameMapping.from_names({"requests": "requests"}))
    assert deps.requires_external == ("libzlib (>=1.3)",)
    assert deps.requires_dist == ()  # the embedded METADATA declares its own


def test_a_dependency_that_is_no_matchspec_is_invalid() -> None:
    analysis = analyze(CondaSpec(files=[FileSpec("lib/x.so", b"x")]))
    broken = dataclasses.replace(
        analysis, record=RecordDependencies("repodata", ("zlib >=>1",), ())
    )
    with pytest.raises(InvalidPackage, match=r"depends entry 'zlib >=>1'"):
        wheel_dependencies(broken, NO_NAMES)


# ---------------------------------------------------------------- the payload


def test_each_listed_path_goes_to_its_scheme() -> None:
    script = f"#!{PLACEHOLDER}/bin/python3.12\nprint('hi')\n".encode()
    analysis = analyze(
        CondaSpec(
            files=[
                FileSpec(f"{SITE}/demo/__init__.py", b""),
                FileSpec("bin/tool", script, mode=0o755, placeholder=PLACEHOLDER),
                FileSpec("bin/prog", b"\x7fELF", mode=0o755),
                FileSpec("share/doc.txt", b"doc"),
            ]
        )
    )
    mapped = map_payload(analysis, "demo-1.0.data", {})
    # in the order of the conda paths (the plan sorts the archive later)
    assert [(e.arcname, e.source, e.executable) for e in mapped.entries] == [
        ("demo-1.0.data/scripts/prog", FromPayload("bin/prog"), True),
        (
            "demo-1.0.data/scripts/tool",
            RewrittenScript("bin/tool", len(script.split(b"\n")[0]) + 1),
            True,
        ),
        ("demo/__init__.py", FromPayload(f"{SITE}/demo/__init__.py"), False),
        ("demo-1.0.data/data/share/doc.txt", FromPayload("share/doc.txt"), False),
    ]
    (placeholder,) = mapped.placeholders
    assert (placeholder.path, placeholder.wheel_path) == ("bin/tool", "demo-1.0.data/scripts/tool")
    assert mapped.warnings == (
        (
            "1 text and 0 binary file(s) hold the build prefix; "
            "`condawheel install` relocates them, plain pip/installer do not"
        ),
    )


def test_what_the_wheel_leaves_out_and_why() -> None:
    analysis = analyze(
        python_package(
            extra_files=[
                FileSpec(f"{SITE}/demo-0.9.egg-info/PKG-INFO", b"Name: demo\nVersion: 0.9\n"),
                FileSpec("lib/cached.pyc", symlink="python3.12/__pycache__/x.pyc"),
                FileSpec("lib/python3.12/__pycache__/x.pyc", b"\x00"),
                FileSpec("lib/terminfo", symlink="../share/demo"),
            ]
        )
    )
    mapped = map_payload(analysis, "demo-1.0.data", {"bin/demo-cli": "demo-cli"})
    assert set(mapped.skipped) == {
        Skipped("bin/demo-cli", "entry-point wrapper for 'demo-cli': installers regenerate it"),
        Skipped(
            "lib/cached.pyc",
            "link to lib/python3.12/__pycache__/x.pyc, which is not shipped: "
            "byte-code (installers compile their own)",
        ),
        Skipped("lib/python3.12/__pycache__/x.pyc", "byte-code (installers compile their own)"),
        Skipped(
            f"{SITE}/demo/__pycache__/__init__.cpython-312.pyc",
            "byte-code (installers compile their own)",
        ),
        Skipped(
            f"{SITE}/demo-0.9.egg-info/PKG-INFO",
            "metadata of another installation record; superseded",
        ),
        Skipped("lib/terminfo", "symlink to a directory: restored at install"),
    }
    assert not any(entry.origin and ".dist-info" in entry.origin for entry in mapped.entries)
    assert SymlinkRecord("lib/terminfo", None, "../share/demo", "directory") in mapped.symlinks
    assert mapped.warnings[-1] == (
        "1 symlink(s) to directories or other packages' files are not in the wheel; "
        "`condawheel install` restores them"
    )


# ---------------------------------------------------------------- tags and stamps


def test_a_stamp_is_for_packages_of_its_subdir_and_noarch() -> None:
    stamp = PlanOptions(platform_stamp=PlatformStamp("osx-arm64", "conda_osx_arm64_site"))
    with pytest.raises(UnsupportedPackage, match="a package for linux-64 cannot be made for"):
        check_platform_stamp(library(FileSpec("lib/x.so", b"x")), stamp)
    check_platform_stamp(library(FileSpec("share/x.txt"), subdir="noarch"), stamp)


def test_a_stamp_replaces_the_platform_tag_of_its_subdir() -> None:
    analysis = library(FileSpec("lib/x.so", b"x"))
    deps = wheel_dependencies(analysis, NO_NAMES)
    plain = choose_wheel_tags(analysis, "library", (), deps, PlanOptions())
    stamped = choose_wheel_tags(
        analysis,
        "library",
        (),
        deps,
        PlanOptions(platform_stamp=PlatformStamp("linux-64", "conda_linux_64_site")),
    )
    assert (str(plain), str(stamped)) == (
        "py3-none-conda_linux_64",
        "py3-none-conda_linux_64_site",
    )
    with pytest.raises(UnsupportedPackage, match="platform prefix 'conda-forge' must match"):
        choose_wheel_tags(analysis, "library", (), deps, PlanOptions(platform_prefix="conda-forge"))


@pytest.mark.parametrize(
    ("timestamp_ms", "epoch", "expected"),
    [
        (1_700_000_000_000, None, (2023, 11, 14, 22, 13, 20)),
        (1_700_000_000_000, 1_000_000_000, (2001, 9, 9, 1, 46, 40)),
        (None, None, (1980, 1, 1, 0, 0, 0)),
        (0, None, (1980, 1, 1, 0, 0, 0)),
        (None, 2**40, (2107, 12, 31, 23, 59, 59)),
    ],
    ids=["package", "option", "none", "before-1980", "after-2107"],
)
def test_zip_date_time(
    timestamp_ms: int | None, epoch: int | None, expected: tuple[int, ...]
) -> None:
    analysis = library(FileSpec("lib/x.so", b"x"))
    index = dataclasses.replace(analysis.index, timestamp_ms=timestamp_ms)
    analysis = dataclasses.replace(
        analysis, package=dataclasses.replace(analysis.package, index=index)
    )
    assert zip_date_time(analysis, PlanOptions(source_date_epoch=epoch)) == expected


# ---------------------------------------------------------------- sizes


def linked_analysis(copies: int) -> PackageAnalysis:
    files = [FileSpec("share/big.bin", bytes(1000))]
    files += [FileSpec(f"share/copy{n}", symlink="big.bin") for n in range(copies)]
    return analyze(CondaSpec(files=files))


def test_every_copy_counts_against_the_package_limit() -> None:
    analysis = linked_analysis(3)
    plan = plan_wheel(analysis, mapping=NO_NAMES)
    total = sum(
        len(entry.source.data) if isinstance(entry.source, Generated) else 1000
        for entry in plan.entries
    )
    check_content_size(analysis, plan.entries, Limits(max_total_size=total))
    with pytest.raises(InvalidPackage) as caught:
        check_content_size(analysis, plan.entries, Limits(max_total_size=total - 1))
    assert caught.value.reason == (
        f"the wheel's content would be {total} bytes, above the {total - 1}-byte limit "
        "(absurd size): each of its 3 link(s) is stored as a copy"
    )


def test_every_copy_counts_against_the_member_limit() -> None:
    analysis = linked_analysis(1)
    plan = plan_wheel(analysis, mapping=NO_NAMES)
    with pytest.raises(InvalidPackage) as caught:
        plan_wheel(analysis, mapping=NO_NAMES, limits=Limits(max_file_size=999))
    first = plan.entries[0]
    assert caught.value.reason == (
        f"{first.arcname!r} would hold 1000 bytes, above the 999-byte limit"
    )


# ---------------------------------------------------------------- the .dist-info


def test_license_files_move_under_licenses_for_core_metadata_2_4() -> None:
    directory = f"{SITE}/demo-1.0.dist-info"
    analysis = analyze(
        CondaSpec(
            files=[
                FileSpec(
                    f"{directory}/METADATA",
                    b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
                    b"License-File: LICENSE\nLicense-File: GONE\n",
                ),
                FileSpec(f"{directory}/LICENSE", b"text"),
                FileSpec(f"{directory}/RECORD", b""),
            ]
        )
    )
    assert analysis.distribution is not None
    members = dist_info_members(analysis.distribution)
    assert members.members == {"licenses/LICENSE": f"{directory}/LICENSE"}
    assert members.metadata.get("Metadata-Version") == "2.4"
    assert members.metadata.get_all("License-File") == ["LICENSE"]
    assert members.notes == (f"{directory}: License-File 'GONE' names no file; dropped",)


def test_conda_licences_are_carried_when_the_package_has_none_of_its_own() -> None:
    directory = f"{SITE}/demo-1.0.dist-info"
    spec = CondaSpec(
        files=[
            FileSpec(
                f"{directory}/METADATA",
                b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense-File: GONE\n",
            ),
            FileSpec(f"{directory}/RECORD", b""),
            FileSpec(f"{SITE}/demo/__init__.py", b""),
        ],
        info_extra={"licenses/LICENSE.txt": b"conda's licence text"},
    )
    plan = plan_wheel(analyze(spec), mapping=NO_NAMES)
    entries = {entry.arcname: entry.source for entry in plan.entries}
    assert entries["demo-1.0.dist-info/licenses/LICENSE.txt"] == Generated(b"conda's licence text")
    assert b"License-File: LICENSE.txt\n" in plan.metadata
    assert b"License-File: GONE" not in plan.metadata
    assert b"Metadata-Version: 2.4\n" in plan.metadata
    assert any("carries conda's info/licenses/ (LICENSE.txt)" in w for w in plan.warnings)


def test_a_package_with_its_own_licence_does_not_get_conda_s() -> None:
    directory = f"{SITE}/demo-1.0.dist-info"
    spec = CondaSpec(
        files=[
            FileSpec(f"{directory}/METADATA", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
            FileSpec(f"{directory}/LICENSE", b"its own"),
            FileSpec(f"{directory}/RECORD", b""),
            FileSpec(f"{SITE}/demo/__init__.py", b""),
        ],
        info_extra={"licenses/LICENSE.txt": b"conda's licence text"},
    )
    plan = plan_wheel(analyze(spec), mapping=NO_NAMES)
    names = {entry.arcname for entry in plan.entries}
    assert "demo-1.0.dist-info/LICENSE" in names
    assert "demo-1.0.dist-info/licenses/LICENSE.txt" not in names
    assert b"License-File" not in plan.metadata


# ---------------------------------------------------------------- the whole plan


def test_the_plan_in_memory_is_the_plan_of_the_archive(tmp_path: Path) -> None:
    spec = python_package()
    from_archive = plan_package(build_conda(spec, tmp_path), mapping=NO_NAMES)
    in_memory_plan = plan_wheel(analyze(spec), mapping=NO_NAMES)
    assert in_memory_plan.filename == from_archive.filename
    # Only the sidecar differs: it records the artifact's own digests.
    sidecar = f"{in_memory_plan.dist_info}/conda.json"
    assert [e for e in in_memory_plan.entries if e.arcname != sidecar] == [
        e for e in from_archive.entries if e.arcname != sidecar
    ]
    assert in_memory_plan.metadata == from_archive.metadata
    assert in_memory_plan.skipped == from_archive.skipped
    assert in_memory_plan.warnings == from_archive.warnings


def test_the_plan_lists_the_warnings_in_the_order_they_arise() -> None:
    analysis = analyze(python_package())
    link = LinkInfo(None, (EntryPoint("demo-extra", "demo", "extra"),), raw={})
    analysis = dataclasses.replace(
        analysis,
        package=dataclasses.replace(analysis.package, link=link),
        distribution_notes=("first: noticed while reading",),
    )
    plan = plan_wheel(analysis, mapping=NO_NAMES)
    assert plan.warnings[0] == "first: noticed while reading"
    assert plan.warnings[1].startswith("info/link.json's entry point 'demo-extra = demo:extra'")
    assert plan.sidecar["warnings"] == list(plan.warnings)
