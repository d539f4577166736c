"""The shipped system-library policy (data) and the parser that validates policy documents."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

from condawheel.binaries import resolve_libraries
from condawheel.binaries.facts import BinaryFacts
from condawheel.binaries.policy import POLICY_RESOURCE, default_policy, parse_policy
from condawheel.errors import ConfigError

ORIGIN = "policy.json"


def shipped() -> dict[str, Any]:
    data = resources.files("condawheel.binaries").joinpath(POLICY_RESOURCE).read_bytes()
    document = json.loads(data)
    assert isinstance(document, dict)
    return document


def minimal() -> dict[str, Any]:
    group = {"name": "g", "reason": "r", "about": "a", "names": ["x"]}
    return {
        "policy_version": 1,
        "formats": {
            name: {"case_sensitive": name != "pe", "groups": [dict(group)]}
            for name in ("elf", "macho", "pe")
        },
    }


# ------------------------------------------------------------- the shipped data file


def test_the_shipped_policy_parses() -> None:
    policy = default_policy()
    assert set(policy.formats) == {"elf", "macho", "pe"}
    assert [group.name for group in policy.formats["elf"].groups] == ["glibc", "manylinux"]
    assert [group.name for group in policy.formats["pe"].groups] == ["python-runtime", "windows"]
    assert default_policy() is policy  # read once per process


@pytest.mark.parametrize("binary_format", ["elf", "macho", "pe"])
def test_the_shipped_names_are_sorted(binary_format: str) -> None:
    # Sorted lists keep reviews of data changes readable.
    for group in shipped()["formats"][binary_format]["groups"]:
        names = group.get("names", [])
        assert names == sorted(names), group["name"]
        assert group["about"].endswith("."), group["name"]


@pytest.mark.parametrize(
    ("binary_format", "shape"),
    [
        ("elf", re.compile(r"^(lib|ld)[\w+.-]*\.so(\.\d+)+$")),
        ("pe", re.compile(r"^[a-z0-9_]+\.(dll|drv)$")),
    ],
)
def test_the_shipped_names_look_like_libraries_of_their_format(
    binary_format: str, shape: re.Pattern[str]
) -> None:
    for group in shipped()["formats"][binary_format]["groups"]:
        for name in group.get("names", []):
            assert shape.match(name), name


def test_the_shipped_macos_prefixes_are_absolute_directories() -> None:
    (group,) = shipped()["formats"]["macho"]["groups"]
    assert group["prefixes"] == ["/usr/lib/", "/System/"]


@pytest.mark.parametrize(
    ("binary_format", "name", "reason"),
    [
        ("elf", "libc.so.6", "part of glibc, which the host system provides"),
        ("elf", "ld-linux-x86-64.so.2", "part of glibc, which the host system provides"),
        ("elf", "ld64.so.2", "part of glibc, which the host system provides"),
        ("elf", "libstdc++.so.6", "allowed as a system library by the manylinux policy"),
        ("elf", "libz.so.1", "allowed as a system library by the manylinux policy"),
        ("elf", "libcrypt.so.1", None),  # left the manylinux list with PEP 571
        ("elf", "libzstd.so.1", None),
        ("elf", "LIBC.SO.6", None),  # ELF names are case-sensitive
        ("elf", "ld-linux-x86-64.so.2.evil", None),  # patterns match whole names
        ("macho", "/usr/lib/libSystem.B.dylib", "a macOS system library"),
        ("macho", "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation",
         "a macOS system library"),
        ("macho", "@rpath/libz.1.dylib", None),
        ("macho", "/usr/local/lib/libz.dylib", None),
        ("pe", "KERNEL32.dll", "a Windows system DLL"),
        ("pe", "api-ms-win-crt-heap-l1-1-0.dll", "a Windows system DLL"),
        ("pe", "API-MS-WIN-CORE-SYNCH-L1-2-0.DLL", "a Windows system DLL"),
        ("pe", "winspool.drv", "a Windows system DLL"),
        ("pe", "VCRUNTIME140.dll", "the Visual C++ runtime every Windows Python loads"),
        ("pe", "vcruntime140_1.dll", "the Visual C++ runtime every Windows Python loads"),
        ("pe", "msvcp140.dll", None),  # the rest of vc14_runtime must be declared
        ("pe", "zlib.dll", None),
    ],
)  # fmt: skip
def test_reasons(binary_format: Any, name: str, reason: str | None) -> None:
    assert default_policy().reason(binary_format, name) == reason


def test_resolution_takes_another_policy() -> None:
    document = minimal()
    document["formats"]["elf"]["groups"][0] = {
        "name": "site",
        "reason": "provided by this site's base image",
        "about": "A site's own list.",
        "names": ["libzstd.so.1"],
    }
    policy = parse_policy(json.dumps(document), origin=ORIGIN)
    binaries = {"lib/python3.12/site-packages/m.so": BinaryFacts(
        "elf", "library", ("x86_64",), needed=("libzstd.so.1", "libc.so.6")
    )}  # fmt: skip
    zstd, libc = resolve_libraries(binaries, declared=[], policy=policy).binaries[0].libraries
    assert (zstd.kind, zstd.reason) == ("system", "provided by this site's base image")
    assert libc.kind == "unresolved"
    default = resolve_libraries(binaries, declared=[]).binaries[0].libraries
    assert [library.kind for library in default] == ["unresolved", "system"]


# ------------------------------------------------------------------ invalid documents


DELETE = object()
GROUP = ("formats", "elf", "groups", 0)
SECOND_GROUP = ("formats", "elf", "groups", 1)


def _changed(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """Return the minimal document with the value at ``path`` replaced (or deleted)."""
    document = minimal()
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    elif isinstance(parent, list) and path[-1] == len(parent):
        parent.append(value)
    else:
        parent[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("policy_version",), 2, "policy_version must be 1, not 2"),
        (("rules",), [], "the document: unknown key 'rules'"),
        (("formats", "pe"), DELETE, "formats: pe missing"),
        (("formats", "wasm"), {}, "formats: unknown key 'wasm'"),
        (("formats", "elf", "case_sensitive"), "yes", "formats.elf.case_sensitive must be true or false"),
        (("formats", "elf", "groups"), [], "formats.elf.groups must be a non-empty list"),
        ((*GROUP, "libraries"), [], "formats.elf.groups[0]: unknown key 'libraries'"),
        ((*GROUP, "reason"), DELETE, "formats.elf.groups[0].reason must be a non-empty string"),
        ((*GROUP, "about"), " ", "formats.elf.groups[0].about must be a non-empty string"),
        ((*GROUP, "names"), [], "formats.elf.groups[0] lists no names, prefixes or patterns"),
        ((*GROUP, "names"), ["x", 3], "formats.elf.groups[0].names must be a list of non-empty strings"),
        ((*GROUP, "names"), ["x", "x"], "formats.elf.groups[0].names lists a string twice"),
        ((*GROUP, "patterns"), ["lib(.so"], "formats.elf.groups[0].patterns: 'lib(.so' is not a regular expression"),
        (SECOND_GROUP, {"name": "g", "reason": "r", "about": "a", "names": ["y"]}, "formats.elf: two groups have the same name"),
        (SECOND_GROUP, {"name": "h", "reason": "r", "about": "a", "names": ["x"]}, "formats.elf: 'x' is in both 'g' and 'h'"),
        (("formats", "pe", "groups", 0, "names"), ["KERNEL32.dll"], "formats.pe.groups[0].names: 'KERNEL32.dll' must be lower case"),
    ],
    ids=[
        "version", "unknown-top", "missing-format", "unknown-format", "case-flag", "no-groups",
        "unknown-group-key", "no-reason", "empty-about", "nothing-listed", "not-strings", "twice",
        "bad-pattern", "same-group-name", "two-groups", "upper-case-pe",
    ],
)  # fmt: skip
def test_invalid_documents_name_the_field(
    path: tuple[str | int, ...], value: object, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(json.dumps(_changed(path, value)), origin=ORIGIN)
    assert caught.value.subject == ORIGIN
    assert caught.value.reason.startswith(reason)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[" * 100_000, "not valid JSON (nested too deeply)"),
        (b"{", "not valid JSON"),
        (b"[]", "the document must be a JSON object"),
    ],
    ids=["deep", "truncated", "not-an-object"],
)
def test_unreadable_documents(data: bytes, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(data, origin=ORIGIN)
    assert caught.value.reason.startswith(reason)
