"""Parsing info/index.json, paths.json (and the legacy files/has_prefix), link.json, about.json."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condawheel.conda.condameta import (
    LEGACY_PLACEHOLDER,
    EntryPoint,
    PathEntry,
    check_relative_path,
    parse_package,
)
from condawheel.errors import InvalidPackage

INDEX = {
    "name": "zlib",
    "version": "1.2.11",
    "build": "h7b6447c_3",
    "build_number": 3,
    "subdir": "linux-64",
    "depends": ["libgcc-ng >=7.3.0"],
    "license": "Zlib",
    "timestamp": 1542814326418,
    "app_entry": "ignored unknown key",
}


def _info(**files: object) -> dict[str, bytes]:
    out = {
        "index.json": json.dumps(INDEX).encode(),
        "paths.json": json.dumps({"paths_version": 1, "paths": []}).encode(),
    }
    for name, value in files.items():
        key = name.replace("__", ".").replace("_json", ".json")
        out[key] = value if isinstance(value, bytes) else json.dumps(value).encode()
    return out


def test_index_fields_and_unknown_keys_tolerated() -> None:
    package = parse_package("zlib.conda", _info())
    index = package.index
    assert (index.name, index.version, index.build, index.build_number) == (
        "zlib",
        "1.2.11",
        "h7b6447c_3",
        3,
    )
    assert index.subdir == "linux-64"
    assert index.noarch is None
    assert index.depends == ("libgcc-ng >=7.3.0",)
    assert index.timestamp_ms == 1542814326418
    assert index.raw["app_entry"] == "ignored unknown key"


def test_every_problem_is_reported_together() -> None:
    bad = dict(INDEX, version=None, build_number="three", subdir="Linux 64")
    del bad["name"]
    with pytest.raises(InvalidPackage) as caught:
        parse_package(
            "bad.conda",
            {
                "index.json": json.dumps(bad).encode(),
                "paths.json": b'{"paths_version": 2, "paths": []}',
            },
        )
    assert caught.value.problems == (
        "info/index.json: required field 'name' is missing",
        "info/index.json: required field 'version' is missing",
        "info/index.json: 'build_number' must be a non-negative integer, not 'three'",
        "info/index.json: invalid subdir 'Linux 64'",
        "info/paths.json: unsupported paths_version 2 (only 1 exists)",
    )
    assert str(caught.value).startswith(
        "bad.conda: info/index.json: required field 'name' is missing; "
    )


@pytest.mark.parametrize(
    ("extra", "subdir", "noarch"),
    [
        ({"noarch": "python", "subdir": "noarch"}, "noarch", "python"),
        ({"noarch": True, "subdir": None}, "noarch", "generic"),
        ({"noarch_python": True, "subdir": None}, "noarch", "python"),
        ({"subdir": None, "platform": "osx", "arch": "x86_64"}, "osx-64", None),
        ({"subdir": None, "platform": "linux", "arch": "aarch64"}, "linux-aarch64", None),
    ],
    ids=["noarch-python", "legacy-bool", "noarch-python-key", "osx-legacy", "aarch64-legacy"],
)
def test_subdir_and_noarch(extra: dict[str, object], subdir: str, noarch: str | None) -> None:
    index = {k: v for k, v in {**INDEX, **extra}.items() if v is not None or k != "subdir"}
    if extra.get("subdir", "") is None:
        index.pop("subdir", None)
    package = parse_package(
        "x",
        {
            "index.json": json.dumps(index).encode(),
            "paths.json": b'{"paths_version": 1, "paths": []}',
        },
    )
    assert (package.index.subdir, package.index.noarch) == (subdir, noarch)


def test_a_package_must_name_its_platform() -> None:
    index = {k: v for k, v in INDEX.items() if k != "subdir"}
    with pytest.raises(
        InvalidPackage, match=r"names no platform \(no 'subdir', 'platform' or 'arch'\)"
    ):
        parse_package(
            "x",
            {
                "index.json": json.dumps(index).encode(),
                "paths.json": b'{"paths_version": 1, "paths": []}',
            },
        )


def test_paths_json_entries() -> None:
    paths = {
        "paths_version": 1,
        "paths": [
            {
                "_path": "lib/libz.so.1.2.11",
                "path_type": "hardlink",
                "sha256": "a" * 64,
                "size_in_bytes": 10,
            },
            {
                "_path": "lib/libz.so",
                "path_type": "softlink",
                "sha256": "a" * 64,
                "size_in_bytes": 10,
            },
            {
                "_path": "lib/pkgconfig/zlib.pc",
                "file_mode": "text",
                "prefix_placeholder": "/opt/ph",
            },
            {"_path": "share/empty", "path_type": "directory"},
            {
                "_path": "bin/tool",
                "no_link": True,
                "prefix_placeholder": "/opt/ph",
                "file_mode": "binary",
            },
        ],
    }
    package = parse_package("z", _info(paths_json=paths))
    assert package.paths_source == "paths.json"
    assert package.paths == (
        PathEntry("lib/libz.so.1.2.11", "hardlink", "a" * 64, 10),
        PathEntry("lib/libz.so", "softlink", "a" * 64, 10),
        PathEntry("lib/pkgconfig/zlib.pc", file_mode="text", prefix_placeholder="/opt/ph"),
        PathEntry("share/empty", "directory"),
        PathEntry("bin/tool", file_mode="binary", prefix_placeholder="/opt/ph", no_link=True),
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"_path": "../etc/passwd"}, "path '../etc/passwd' has an empty, '.' or '..' component"),
        ({"_path": "/etc/passwd"}, "absolute path '/etc/passwd'"),
        ({"_path": "C:/Windows/x"}, "absolute path 'C:/Windows/x'"),
        ({"_path": "lib\\x.dll"}, "contains a backslash"),
        ({"_path": "a", "path_type": "fifo"}, "unknown path_type 'fifo'"),
        ({"_path": "a", "sha256": "xyz"}, "invalid sha256 'xyz'"),
        ({"_path": "a", "size_in_bytes": -1}, "invalid size_in_bytes -1"),
        (
            {"_path": "a", "prefix_placeholder": "/p", "file_mode": "weird"},
            "unknown file_mode 'weird'",
        ),
        ({"path": "a"}, "has no '_path' string"),
    ],
    ids=["dotdot", "absolute", "drive", "backslash", "type", "sha", "size", "mode", "key"],
)
def test_bad_paths_json_entries(entry: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidPackage) as caught:
        parse_package("p", _info(paths_json={"paths_version": 1, "paths": [entry]}))
    assert problem in str(caught.value)


def test_duplicate_paths_are_refused() -> None:
    with pytest.raises(InvalidPackage, match="listed twice"):
        parse_package(
            "p", _info(paths_json={"paths_version": 1, "paths": [{"_path": "a"}, {"_path": "a"}]})
        )


def test_legacy_files_and_has_prefix() -> None:
    info = {
        "index.json": json.dumps(INDEX).encode(),
        "files": b"bin/tool\nlib/libz.a\n./share/x.txt\n",
        "has_prefix": (
            b'bin/tool\n/opt/custom binary lib/libz.a\n"/opt/quoted place" text share/x.txt\n'
        ),
        "no_link": b"lib/libz.a\n",
    }
    package = parse_package("legacy", info)
    assert package.paths_source == "info/files"
    assert package.paths == (
        PathEntry("bin/tool", prefix_placeholder=LEGACY_PLACEHOLDER, file_mode="text"),
        PathEntry("lib/libz.a", prefix_placeholder="/opt/custom", file_mode="binary", no_link=True),
        PathEntry("share/x.txt", prefix_placeholder="/opt/quoted place", file_mode="text"),
    )


def test_missing_paths_and_files() -> None:
    with pytest.raises(InvalidPackage, match=r"neither info/paths\.json nor the legacy info/files"):
        parse_package("p", {"index.json": json.dumps(INDEX).encode()})


def test_link_json_entry_points() -> None:
    link = {
        "noarch": {"type": "python", "entry_points": ["tqdm = tqdm.cli:main", "x-y = a.b_c:d.e"]},
        "package_metadata_version": 1,
    }
    package = parse_package("p", _info(link_json=link))
    assert package.link is not None
    assert package.link.noarch_type == "python"
    assert package.link.entry_points == (
        EntryPoint("tqdm", "tqdm.cli", "main"),
        EntryPoint("x-y", "a.b_c", "d.e"),
    )


def test_link_json_entry_points_with_extras() -> None:
    """whl2conda copies entry_points.txt's deprecated extras into link.json (black's blackd)."""
    points = ["blackd=blackd:patched_main [d]", "x = a:b [one, two-2]"]
    link = {"noarch": {"type": "python", "entry_points": points}}
    package = parse_package("p", _info(link_json=link))
    assert package.link is not None
    assert package.link.entry_points == (
        EntryPoint("blackd", "blackd", "patched_main", ("d",)),
        EntryPoint("x", "a", "b", ("one", "two-2")),
    )
    assert str(package.link.entry_points[1]) == "x = a:b [one, two-2]"


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        ({"noarch": {"type": "python", "entry_points": ["bad"]}}, "invalid entry point 'bad'"),
        (
            {"noarch": {"type": "python", "entry_points": ["../x = a:b"]}},
            "invalid entry point '../x = a:b'",
        ),
        (
            {"noarch": {"type": "python", "entry_points": [".hidden = a:b"]}},
            "invalid entry point '.hidden = a:b'",
        ),
        (
            {"noarch": {"type": "python", "entry_points": ["x = a:b [d"]}},
            "invalid entry point 'x = a:b [d'",
        ),
        ({"package_metadata_version": 2}, "unsupported package_metadata_version 2"),
    ],
    ids=["no-equals", "slash", "dot", "unclosed-extras", "version"],
)
def test_bad_link_json(link: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidPackage, match=re.escape(problem)):
        parse_package("p", _info(link_json=link))


def test_about_and_run_exports() -> None:
    about = {
        "summary": "compression",
        "home": "https://zlib.net",
        "license": "Zlib",
        "extra": {"x": 1},
    }
    package = parse_package(
        "p", _info(about_json=about, run_exports_json=["zlib >=1.2.11,<1.3.0a0"])
    )
    assert package.about.summary == "compression"
    assert package.about.home == "https://zlib.net"
    assert package.run_exports == {"weak": ["zlib >=1.2.11,<1.3.0a0"]}


def test_invalid_json_is_named() -> None:
    with pytest.raises(InvalidPackage, match=r"info/index\.json is not valid JSON"):
        parse_package("p", {"index.json": b"{not json", "paths.json": b"{}"})


@pytest.mark.parametrize(
    ("path", "verdict"),
    [
        ("lib/x.so", None),
        ("", "empty path"),
        ("a//b", "path 'a//b' has an empty, '.' or '..' component"),
        ("a/./b", "path 'a/./b' has an empty, '.' or '..' component"),
        ("a\x00b", "path 'a\\x00b' contains a NUL byte"),
    ],
)
def test_check_relative_path(path: str, verdict: str | None) -> None:
    assert check_relative_path(path) == verdict


def test_dist_name_and_the_forms_of_features() -> None:
    package = parse_package("p", _info(index_json=dict(INDEX, track_features="mkl  debug,x")))
    assert package.index.dist_name == "zlib-1.2.11-h7b6447c_3"
    assert package.index.track_features == ("mkl", "debug", "x")
    listed = parse_package("p", _info(index_json=dict(INDEX, track_features=["mkl", 1])))
    assert listed.index.track_features == ("mkl", "1")
    assert parse_package("p", _info(index_json=dict(INDEX, depends=None))).index.depends == ()


@pytest.mark.parametrize(
    ("index", "problem"),
    [
        (dict(INDEX, name=3), "info/index.json: 'name' must be a string, not 3"),
        (dict(INDEX, name="Zlib"), "info/index.json: 'name' has invalid value 'Zlib'"),
        (dict(INDEX, depends="zlib"), "info/index.json: 'depends' must be a list of strings"),
        (dict(INDEX, constrains=[1]), "info/index.json: 'constrains' must be a list of strings"),
        (dict(INDEX, noarch="java"), "info/index.json: unknown noarch type 'java'"),
        (
            {**{k: v for k, v in INDEX.items() if k != "subdir"}, "platform": "linux"},
            "info/index.json: no 'subdir', and platform 'linux' / arch None do not name one",
        ),
        (
            {
                **{k: v for k, v in INDEX.items() if k != "subdir"},
                "platform": "linux",
                "arch": "sparc",
            },
            "info/index.json: no 'subdir', and platform 'linux' / arch 'sparc' do not name one",
        ),
        (["zlib"], "info/index.json must hold a JSON object, not list"),
    ],
    ids=["name-type", "name-value", "depends", "constrains", "noarch", "platform", "arch", "list"],
)
def test_bad_index_fields(index: object, problem: str) -> None:
    with pytest.raises(InvalidPackage) as caught:
        parse_package("p.conda", _info(index_json=index))
    assert caught.value.problems == (problem,)
    assert str(caught.value) == f"p.conda: {problem}"


def test_a_package_without_index_json_says_so() -> None:
    with pytest.raises(InvalidPackage) as caught:
        parse_package("p.conda", {"paths.json": b'{"paths_version": 1, "paths": []}'})
    assert caught.value.problems == ("info/index.json is missing",)


@pytest.mark.parametrize(
    ("paths", "problem"),
    [
        ({"paths_version": 1, "paths": {}}, "info/paths.json: 'paths' must be a list"),
        ({"paths_version": 1, "paths": ["a"]}, "info/paths.json entry 0 is not an object"),
        (
            {"paths_version": 1, "paths": [{"_path": "a", "prefix_placeholder": ""}]},
            "info/paths.json: 'a' has an invalid prefix_placeholder",
        ),
        ({"paths": []}, "info/paths.json has no paths_version (conda requires 1)"),
    ],
    ids=["paths-object", "entry-string", "empty-placeholder", "no-version"],
)
def test_bad_paths_json(paths: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidPackage) as caught:
        parse_package("p", _info(paths_json=paths))
    assert caught.value.problems == (problem,)


def test_a_placeholder_without_file_mode_is_text() -> None:
    paths = {"paths_version": 1, "paths": [{"_path": "etc/x.cfg", "prefix_placeholder": "/p"}]}
    (entry,) = parse_package("p", _info(paths_json=paths)).paths
    assert (entry.prefix_placeholder, entry.file_mode) == ("/p", "text")


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"files": b"lib/\xff\n"}, "info/files is not UTF-8"),
        (
            {"files": b"a\n", "has_prefix": b'"/opt/unclosed text a\n'},
            """info/has_prefix: cannot parse line '"/opt/unclosed text a'""",
        ),
        (
            {"files": b"a\n", "has_prefix": b"/opt/p a\n"},
            "info/has_prefix: cannot parse line '/opt/p a'",
        ),
        ({"files": b"../a\nb\n"}, "info/files: path '../a' has an empty, '.' or '..' component"),
    ],
    ids=["not-utf8", "unbalanced-quote", "two-fields", "unsafe-path"],
)
def test_bad_legacy_files(files: dict[str, bytes], problem: str) -> None:
    info = {"index.json": json.dumps(INDEX).encode(), **files}
    with pytest.raises(InvalidPackage) as caught:
        parse_package("legacy", info)
    assert caught.value.problems == (problem,)


def test_a_path_listed_twice_in_legacy_files_is_one_entry() -> None:
    info = {"index.json": json.dumps(INDEX).encode(), "files": b"lib/a\n./lib/a\nlib/b\n"}
    assert [entry.path for entry in parse_package("legacy", info).paths] == ["lib/a", "lib/b"]


@pytest.mark.parametrize(
    ("link", "noarch_type"),
    [({"noarch": "python"}, None), ({"noarch": {"type": "generic"}}, "generic")],
    ids=["noarch-string", "generic"],
)
def test_link_json_without_entry_points(link: dict[str, object], noarch_type: str | None) -> None:
    parsed = parse_package("p", _info(link_json=link)).link
    assert parsed is not None
    assert (parsed.noarch_type, parsed.entry_points) == (noarch_type, ())


def test_entry_points_that_are_no_list_are_refused() -> None:
    link = {"noarch": {"type": "python", "entry_points": "tqdm = tqdm.cli:main"}}
    with pytest.raises(InvalidPackage) as caught:
        parse_package("p", _info(link_json=link))
    assert caught.value.problems == ("info/link.json: 'entry_points' must be a list",)


@given(
    st.lists(
        st.sampled_from(["a", "b.py", ".", "..", "...", "", "C:", "c:x", "\\", "\x00", "\n", "é"]),
        max_size=5,
    ).map("/".join)
)
def test_check_relative_path_by_its_rules(path: str) -> None:
    # The one expression that accepts a path answers as the rules, checked one by one, do.
    parts = path.split("/")
    refused = (
        not path
        or "\x00" in path
        or "\\" in path
        or path.startswith("/")
        or (len(path) > 1 and path[0].isascii() and path[0].isalpha() and path[1] == ":")
        or any(part in {"", ".", ".."} for part in parts)
    )
    assert (check_relative_path(path) is not None) == refused
