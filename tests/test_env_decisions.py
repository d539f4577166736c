"""Deciding an install, in memory: no wheel file, no prefix on disk, no interpreter run."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import pytest
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from condawheel.env.decisions import decide_installation, script_shebang
from condawheel.env.paths import LEADS_OUT, RealPaths, real_path
from condawheel.env.prefix import PrefixState
from condawheel.env.wheels import WheelContents
from condawheel.errors import InstallError
from condawheel.io.conda_meta import PrefixRecord
from condawheel.sidecar import load_sidecar
from env_support import MEMORY_FACTS, sidecar

ZSTD = "zstd-1.5.6-h0_0"
STATE = PrefixState(
    prefix=Path("/my env"),
    is_conda=True,
    records=(
        PrefixRecord(
            Path("/my env/conda-meta/z.json"),
            "zstd",
            "1.5.6",
            "h0_0",
            "linux-64",
            ("lib/libzstd.so.1",),
            MappingProxyType({}),
        ),
    ),
    owners=MappingProxyType({"lib/libzstd.so.1": ZSTD}),
)


class _Resolved(Mapping[str, "str | None"]):
    """RealPaths computed on demand from a table of links, as if surveyed."""

    def __init__(self, links: Mapping[str, str]) -> None:
        self.links = links

    def __getitem__(self, relative: str) -> str | None:
        return real_path(relative, self.links.get, roots=["/my env"])

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def real_paths(links: Mapping[str, str] | None = None) -> RealPaths:
    return RealPaths(_Resolved(links or {}))


def contents(
    name: str, members: list[str], symlinks: list[dict[str, str | None]] | None = None
) -> WheelContents:
    stem = f"{name}-1.0"
    document = sidecar(conda_name=name, symlinks=symlinks) if symlinks is not None else None
    return WheelContents(
        path=Path(f"{stem}-py3-none-conda_linux_64.whl"),
        filename=f"{stem}-py3-none-conda_linux_64.whl",
        name=canonicalize_name(name),
        display_name=name,
        version=Version("1.0"),
        build="",
        tags=frozenset({Tag("py3", "none", "conda_linux_64")}),
        dist_info=f"{stem}.dist-info",
        data_dir=f"{stem}.data",
        root_is_purelib=True,
        members=tuple(member.format(data=f"{stem}.data") for member in members),
        scripts=(),
        requires_external=(),
        sidecar=None if document is None else load_sidecar(name, json.dumps(document).encode()),
    )


def decide(wheel: WheelContents, links: Mapping[str, str] | None = None) -> None:
    decide_installation(
        [(wheel, True)],
        state=STATE,
        facts=MEMORY_FACTS,
        real_paths=real_paths(links),
        replacements={},
    )


def test_a_plain_wheel_is_decided_with_what_applying_needs() -> None:
    wheel = contents("plain", ["plain.py", "{data}/scripts/tool", "{data}/data/share/x"])
    installation = decide_installation(
        [(wheel, True)], state=STATE, facts=MEMORY_FACTS, real_paths=real_paths(), replacements={}
    )
    [item] = installation.installs
    assert Path("/my env/share/x") in item.destinations
    assert installation.relocation.prefix == "/my env"
    assert installation.script_shebang.startswith(b"#!/bin/sh\n")  # the prefix holds a space
    # Installed, its WHEEL lists a tag the interpreter accepts (pip check, uv).
    assert item.recorded_tags == (Tag("py3", "none", "linux_x86_64"),)


def test_the_owner_of_the_file_a_restored_link_leads_to_counts() -> None:
    alias = {"path": "share/alias", "wheel_path": None, "target": "../lib", "kind": "directory"}
    wheel = contents("alias", ["{data}/data/share/alias/libzstd.so.1"], [alias])
    with pytest.raises(InstallError) as caught:
        decide(wheel, {"share/alias": "../lib"})  # the survey counts the links to come
    assert (
        "would overwrite share/alias/libzstd.so.1 (that is lib/libzstd.so.1): it belongs to "
        f"the conda package {ZSTD}"
    ) in caught.value.reason


@pytest.mark.parametrize(
    ("links", "wheel", "message"),
    [
        (
            {"share/evil": "../.."},
            contents("through", ["{data}/data/share/evil/x"]),
            f"would write share/evil/x {LEADS_OUT}",
        ),
        (
            {"c0/up": "..", "share/evil": "../c0/up/../../x"},
            contents(
                "chain",
                ["chain.py"],
                [{"path": "share/evil", "wheel_path": None, "target": "../c0/up/../../x",
                  "kind": "directory"}],
            ),
            "symlink 'share/evil' -> '../c0/up/../../x' points outside the environment",
        ),
        (
            {},
            contents(
                "absolute",
                ["absolute.py"],
                [{"path": "lib/l", "wheel_path": None, "target": "C:\\\\x", "kind": "external"}],
            ),
            "symlink 'lib/l' -> 'C:\\\\\\\\x' is absolute",
        ),
        (
            {},
            contents(
                "empty",
                ["empty.py"],
                [{"path": "lib/e", "wheel_path": None, "target": "", "kind": "external"}],
            ),
            "symlink 'lib/e' has an empty target",
        ),
    ],
    ids=["write-through", "chain", "drive", "empty"],
)  # fmt: skip
def test_links_out_of_the_environment_are_refused(
    links: Mapping[str, str], wheel: WheelContents, message: str
) -> None:
    with pytest.raises(InstallError) as caught:
        decide(wheel, links)
    assert message in caught.value.reason


@pytest.mark.parametrize(
    ("interpreter", "windows", "expected"),
    [
        ("/env/bin/python", False, b"#!/env/bin/python\n"),
        ("C:\\my env\\python.exe", True, b"#!C:\\my env\\python.exe\n"),
        ("/my env/bin/python", False, b"#!/bin/sh\n'''exec' '/my env/bin/python' \"$0\" \"$@\"\n' '''\n"),
        ("/" + "d" * 116 + "/python", False, b"#!/" + b"d" * 116 + b"/python\n"),  # 127 bytes
        ("/" + "d" * 117 + "/python", False, b"#!/bin/sh\n'''exec' /" + b"d" * 117 + b"/python \"$0\" \"$@\"\n' '''\n"),
        ("/it's/python", False, b"#!/it's/python\n"),
        ("/it's here/python", False, b"#!/bin/sh\n'''exec' '/it'\"'\"'s here/python' \"$0\" \"$@\"\n' '''\n"),
    ],
)  # fmt: skip
def test_script_shebang(interpreter: str, windows: bool, expected: bytes) -> None:
    assert script_shebang(interpreter, windows=windows, limit=127) == expected
