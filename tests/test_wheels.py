"""Reading a wheel for installation, and where each of its files lands (PEP 427 schemes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condawheel.env.wheels import (
    conda_path_destination,
    member_destination,
    read_wheel,
    script_destinations,
)
from condawheel.errors import InstallError
from env_support import WheelSpec, make_wheel, sidecar

SCHEME = {
    "purelib": "/env/lib/python3.12/site-packages",
    "platlib": "/env/lib/python3.12/site-packages-plat",
    "scripts": "/env/bin",
    "data": "/env",
    "headers": "/env/include/site/python3.12/demo",
}


def test_read_wheel(tmp_path: Path) -> None:
    spec = WheelSpec(
        name="Demo.Pkg",
        files={"demo/__init__.py": b"", "{data}/data/lib/libdemo.so": b"\x7fELF"},
        requires_external=["libffi (>=3.4)", "libgcc"],
        console_scripts={"demo": "demo:main"},
        sidecar=sidecar(conda_name="demo-pkg"),
        root_is_purelib=False,
    )
    contents = read_wheel(make_wheel(tmp_path, spec))
    assert contents.name == "demo-pkg"
    assert contents.display_name == "Demo.Pkg"
    assert contents.build == "0_h0"
    assert contents.dist_info == "demo_pkg-1.0.dist-info"
    assert contents.data_dir == "demo_pkg-1.0.data"
    assert not contents.root_is_purelib
    assert contents.scripts == ("demo",)
    assert contents.requires_external == ("libffi (>=3.4)", "libgcc")
    assert contents.sidecar is not None
    assert contents.sidecar.conda_name == "demo-pkg"
    assert "demo_pkg-1.0.data/data/lib/libdemo.so" in contents.members


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("demo/__init__.py", ("purelib", "/env/lib/python3.12/site-packages/demo/__init__.py")),
        ("demo-1.0.data/data/lib/libdemo.so", ("data", "/env/lib/libdemo.so")),
        ("demo-1.0.data/scripts/tool", ("scripts", "/env/bin/tool")),
        ("demo-1.0.data/headers/demo.h", ("headers", "/env/include/site/python3.12/demo/demo.h")),
        (
            "demo-1.0.data/platlib/_x.so",
            ("platlib", "/env/lib/python3.12/site-packages-plat/_x.so"),
        ),
        ("demo/__pycache__/x.cpython-312.pyc", None),
    ],
)
def test_member_destination(tmp_path: Path, member: str, expected: tuple[str, str] | None) -> None:
    contents = read_wheel(make_wheel(tmp_path, WheelSpec()))
    found = member_destination(contents, member, SCHEME)
    assert found == (None if expected is None else (expected[0], Path(expected[1])))


@pytest.mark.parametrize(
    "member",
    ["demo-1.0.data/lib/x.so", "demo-1.0.data/data/../../etc/passwd", "demo-1.0.data/nothing/x"],
)
def test_member_destination_refuses_bad_members(tmp_path: Path, member: str) -> None:
    contents = read_wheel(make_wheel(tmp_path, WheelSpec()))
    with pytest.raises(InstallError):
        member_destination(contents, member, SCHEME)


@pytest.mark.parametrize(
    ("entry_points", "scripts"),
    [
        (b"[gui_scripts]\nViewer = m:gui\n[console_scripts]\nTool = m:cli\n", ("Tool", "Viewer")),
        (b"[other]\nplugin = m:p\n", ()),
        (b"no section header\n", ()),
        (b"[console_scripts]\n\xff = m:f\n", ()),
    ],
    ids=["both-kinds-case-kept", "no-scripts", "unparsable", "not-utf8"],
)
def test_entry_point_wrappers_are_read_like_the_converter_reads_them(
    tmp_path: Path, entry_points: bytes, scripts: tuple[str, ...]
) -> None:
    spec = WheelSpec(files={"demo-1.0.dist-info/entry_points.txt": entry_points})
    assert read_wheel(make_wheel(tmp_path, spec)).scripts == scripts


@pytest.mark.parametrize(
    ("member", "key"),
    [
        ("..\\..\\x", "purelib"),
        ("demo\\..\\..\\x", "purelib"),
        ("demo-1.0.data/data/..\\..\\etc\\passwd", "data"),
        ("demo-1.0.data/scripts/..\\..\\x", "scripts"),
        ("\\\\server\\share\\x", "purelib"),
        ("C:\\Windows\\x", "purelib"),
        ("demo-1.0.data/data/C:x", "data"),
    ],
)
def test_member_destination_judges_both_separators(tmp_path: Path, member: str, key: str) -> None:
    """A backslash is a separator on Windows: what would traverse there is refused anywhere."""
    contents = read_wheel(make_wheel(tmp_path, WheelSpec()))
    with pytest.raises(InstallError) as caught:
        member_destination(contents, member, SCHEME)
    assert str(caught.value) == (
        f"{contents.filename}: {member!r} would be written outside {SCHEME[key]}"
    )


def test_a_backslash_that_stays_inside_is_a_name(tmp_path: Path) -> None:
    contents = read_wheel(make_wheel(tmp_path, WheelSpec()))
    assert member_destination(contents, "demo/a\\b.txt", SCHEME) == (
        "purelib",
        Path(SCHEME["purelib"], "demo", "a\\b.txt"),
    )
    with pytest.raises(InstallError, match="outside"):
        conda_path_destination(contents, "share\\..\\..\\x", SCHEME)


def test_scripts_and_conda_paths(tmp_path: Path) -> None:
    noarch = read_wheel(
        make_wheel(
            tmp_path / "a",
            WheelSpec(console_scripts={"a": "m:f", "b": "m:g"}, sidecar=sidecar(noarch="python")),
        )
    )
    assert script_destinations(noarch, SCHEME, windows=False) == (
        Path("/env/bin/a"),
        Path("/env/bin/b"),
    )
    assert script_destinations(noarch, SCHEME, windows=True)[0] == Path("/env/bin/a.exe")
    assert conda_path_destination(noarch, "site-packages/demo/data", SCHEME) == Path(
        "/env/lib/python3.12/site-packages/demo/data"
    )
    assert conda_path_destination(noarch, "python-scripts/x", SCHEME) == Path("/env/bin/x")
    assert conda_path_destination(noarch, "share/x", SCHEME) == Path("/env/share/x")
    arch = read_wheel(make_wheel(tmp_path / "b", WheelSpec(sidecar=sidecar())))
    assert conda_path_destination(arch, "site-packages/x", SCHEME) == Path("/env/site-packages/x")
    with pytest.raises(InstallError, match="outside"):
        conda_path_destination(arch, "../x", SCHEME)


def test_read_wheel_errors(tmp_path: Path) -> None:
    bad_name = tmp_path / "not-a-wheel.zip"
    bad_name.write_bytes(b"")
    with pytest.raises(InstallError, match="not a wheel file name"):
        read_wheel(bad_name)
    not_zip = tmp_path / "demo-1.0-py3-none-any.whl"
    not_zip.write_bytes(b"nope")
    with pytest.raises(InstallError, match="cannot read the wheel"):
        read_wheel(not_zip)
    bad_sidecar = make_wheel(tmp_path / "s", WheelSpec(sidecar={"schema_version": 99}))
    with pytest.raises(InstallError, match="schema_version"):
        read_wheel(bad_sidecar)
