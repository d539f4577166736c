"""The file-mapping table of design.md, for unix, Windows and noarch: python layouts."""

from __future__ import annotations

import pytest

from condawheel.convert.layout import (
    Destination,
    Layout,
    detect_layout,
    entry_point_wrapper_names,
    is_link_script,
    is_metadata_candidate,
    is_python_shebang,
    never_shipped,
)

UNIX = Layout("unix", "lib/python3.12/site-packages/", "3.12")
FREE_THREADED = Layout("unix", "lib/python3.13t/site-packages/", "3.13", free_threaded=True)
WINDOWS = Layout("windows", "Lib/site-packages/", None)
NOARCH = Layout("noarch-python", "site-packages/", None)


@pytest.mark.parametrize(
    ("layout", "path", "expected"),
    [
        (
            UNIX,
            "lib/python3.12/site-packages/cffi/__init__.py",
            Destination("root", "cffi/__init__.py"),
        ),
        (UNIX, "bin/openssl", Destination("scripts", "openssl")),
        (UNIX, "bin/sub/tool", Destination("data", "bin/sub/tool")),
        (UNIX, "lib/libz.so.1", Destination("data", "lib/libz.so.1")),
        (UNIX, "include/zlib.h", Destination("data", "include/zlib.h")),
        (UNIX, "share/man/man1/x.1", Destination("data", "share/man/man1/x.1")),
        (UNIX, "etc/conda/activate.d/x.sh", Destination("data", "etc/conda/activate.d/x.sh")),
        (
            UNIX,
            "lib/python3.12/lib-dynload/x.so",
            Destination("data", "lib/python3.12/lib-dynload/x.so"),
        ),
        (FREE_THREADED, "lib/python3.13t/site-packages/m.py", Destination("root", "m.py")),
        (WINDOWS, "Lib/site-packages/zlib_ext.pyd", Destination("root", "zlib_ext.pyd")),
        (WINDOWS, "Scripts/tool.exe", Destination("scripts", "tool.exe")),
        (WINDOWS, "Library/bin/zlib.dll", Destination("data", "Library/bin/zlib.dll")),
        (WINDOWS, "Library/include/zlib.h", Destination("data", "Library/include/zlib.h")),
        (NOARCH, "site-packages/tqdm/std.py", Destination("root", "tqdm/std.py")),
        (NOARCH, "python-scripts/tool", Destination("scripts", "tool")),
        (NOARCH, "share/jupyter/x.json", Destination("data", "share/jupyter/x.json")),
        (NOARCH, "bin/not-a-script-dir", Destination("data", "bin/not-a-script-dir")),
    ],
)
def test_destination(layout: Layout, path: str, expected: Destination) -> None:
    assert layout.destination(path) == expected


@pytest.mark.parametrize(
    ("paths", "subdir", "noarch", "expected"),
    [
        (["site-packages/x.py"], "noarch", "python", NOARCH),
        (["site-packages/x.py"], "linux-64", "python", NOARCH),  # CEP 20 abi3 packages
        (["Lib/site-packages/x.py"], "win-64", None, WINDOWS),
        (["lib/python3.12/site-packages/x.py", "bin/x"], "linux-64", None, UNIX),
        (["lib/python3.13t/site-packages/m.py"], "linux-64", None, FREE_THREADED),
        (["lib/libz.so"], "linux-64", None, Layout("unix", None, None)),
        (
            ["lib/python3.10/site-packages/a.py"],
            "osx-arm64",
            None,
            Layout("unix", "lib/python3.10/site-packages/", "3.10"),
        ),
        (
            ["lib/pypy3.9/site-packages/a.py"],
            "linux-64",
            None,
            Layout("unix", "lib/pypy3.9/site-packages/", "3.9"),
        ),
    ],
)
def test_detect_layout(paths: list[str], subdir: str, noarch: str | None, expected: Layout) -> None:
    assert detect_layout(paths, subdir=subdir, noarch=noarch) == expected  # type: ignore[arg-type]


def test_two_python_versions_are_ambiguous() -> None:
    found = detect_layout(
        ["lib/python3.11/site-packages/a.py", "lib/python3.12/site-packages/a.py"],
        subdir="linux-64",
        noarch=None,
    )
    assert (
        found
        == "site-packages for several Python versions (python3.11, python3.12); a wheel targets one"
    )


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("info/index.json", "conda metadata (summarised in conda.json)"),
        (
            "lib/python3.12/site-packages/x/__pycache__/a.cpython-312.pyc",
            "byte-code (installers compile their own)",
        ),
        ("site-packages/old.pyc", "byte-code (installers compile their own)"),
        ("__pycache__/x", "byte-code (installers compile their own)"),
        ("lib/python3.12/site-packages/x.py", None),
        ("share/info/readme", None),
    ],
)
def test_never_shipped(path: str, reason: str | None) -> None:
    assert never_shipped(path) == reason


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("lib/python3.12/site-packages/cffi-1.17.1.dist-info/METADATA", True),
        ("site-packages/tqdm-4.67.1.dist-info/entry_points.txt", True),
        ("Lib/site-packages/x-1.dist-info/licenses/LICENSE", True),
        ("lib/python3.12/site-packages/zstandard-0.23.0-py3.12.egg-info/PKG-INFO", True),
        ("lib/python2.7/site-packages/pkg-1.0-py2.7.egg-info", True),
        ("site-packages/setuptools/_vendor/wheel-0.43.0.dist-info/METADATA", False),
        ("share/x-1.dist-info/METADATA", False),
        ("lib/python3.12/site-packages/x.dist-info", False),
    ],
)
def test_metadata_candidates(path: str, *, expected: bool) -> None:
    assert is_metadata_candidate(path) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"#!/opt/anaconda1anaconda2anaconda3/bin/python", True),
        (b"#!/home/conda/feedstock/_h_env_placehold/bin/python3.12", True),
        (b"#!/usr/bin/env python3", True),
        (b"#!/usr/bin/env -S python3 -u", True),
        (b"#!/usr/bin/python3.13t", True),
        (b"#!python", True),
        (b"#!/bin/sh", False),
        (b"#!/opt/prefix/bin/perl", False),
        (b"#!/opt/prefix/bin/python-config-helper", False),
        (b"\x7fELF", False),
    ],
)
def test_python_shebangs(line: bytes, *, expected: bool) -> None:
    assert is_python_shebang(line) is expected


def test_wrapper_names() -> None:
    assert entry_point_wrapper_names(UNIX, {"tool"}) == {"bin/tool": "tool"}
    assert entry_point_wrapper_names(WINDOWS, {"tool"}) == {
        "Scripts/tool-script.py": "tool",
        "Scripts/tool-script.pyw": "tool",
        "Scripts/tool.exe": "tool",
    }
    assert entry_point_wrapper_names(NOARCH, {"tool"}) == {}


def test_link_scripts() -> None:
    assert is_link_script("bin/.demo-post-link.sh")
    assert is_link_script("Scripts/.demo-pre-unlink.bat")
    assert not is_link_script("bin/demo-post-link.sh")
