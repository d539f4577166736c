"""Tests for condawheel.sidecar: conda.json read back, refused whole when it is malformed."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from builders import CondaSpec, FileSpec, build_conda
from condawheel.convert import plan_package
from condawheel.convert.names import NameMapping
from condawheel.errors import InvalidPackage
from condawheel.sidecar import (
    PlaceholderRecord,
    SourceArtifact,
    SymlinkRecord,
    dump_sidecar,
    load_sidecar,
    used_dependencies,
)

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sidecar condawheel writes for a package with a placeholder, links and a folder."""
    spec = CondaSpec(
        depends=["libzlib >=1.3"],
        files=[
            FileSpec("etc/demo.cfg", f"prefix={PLACEHOLDER}\n".encode(), placeholder=PLACEHOLDER),
            FileSpec("lib/libdemo.so.1", b"\x7fELF not really"),
            FileSpec("lib/libdemo.so", symlink="libdemo.so.1"),
            FileSpec("share/demo/sub", symlink="../../lib"),
        ],
    )
    package = build_conda(spec, tmp_path_factory.mktemp("sidecar"))
    plan = plan_package(package, mapping=NameMapping.from_names({"libzlib": None}))
    return json.loads(dump_sidecar(plan.sidecar))  # type: ignore[no-any-return]


def test_what_install_acts_upon_is_read_back(document: dict[str, Any]) -> None:
    sidecar = load_sidecar("demo.whl", dump_sidecar(document))

    assert (sidecar.conda_name, sidecar.conda_version, sidecar.conda_build) == (
        "demo",
        "1.0",
        "py312_0",
    )
    assert sidecar.subdir == "linux-64"
    assert sidecar.source == SourceArtifact(
        "demo-1.0-py312_0.conda", "conda", document["source"]["sha256"], document["source"]["md5"]
    )
    assert sidecar.placeholders == (
        PlaceholderRecord(
            "etc/demo.cfg", document["prefix_placeholders"][0]["wheel_path"], PLACEHOLDER, "text"
        ),
    )
    assert {link.path: (link.kind, link.target) for link in sidecar.symlinks} == {
        "lib/libdemo.so": ("file", "libdemo.so.1"),
        "share/demo/sub": ("directory", "../../lib"),
    }
    assert all(isinstance(link, SymlinkRecord) for link in sidecar.symlinks)
    assert sidecar.document == document


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "conda.json is not valid JSON"),
        (b"[]", "conda.json must hold a JSON object"),
        (b'{"schema_version": 2}', "conda.json has unknown schema_version 2"),
        (b'{"schema_version": 1, "source": {}}', "conda.json lacks 'source' or 'package'"),
    ],
    ids=["json", "array", "schema", "no-package"],
)
def test_a_sidecar_that_is_none_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidPackage) as caught:
        load_sidecar("demo.whl", data)
    assert caught.value.subject == "demo.whl"
    assert caught.value.reason.startswith(reason)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["source"].update(filename=None), "source.filename must be a string"),
        (lambda d: d.update(prefix_placeholders={}), "'prefix_placeholders' must be a list"),
        (
            lambda d: d["prefix_placeholders"][0].update(file_mode="octal"),
            "prefix_placeholders[0] is malformed",
        ),
        (
            lambda d: d["prefix_placeholders"][0].update(placeholder=7),
            "placeholder must be a string",
        ),
        (lambda d: d["symlinks"].append("lib/x"), "symlinks[2] is malformed"),
        (lambda d: d["symlinks"][0].update(kind="hard"), "symlinks[0] is malformed"),
        (lambda d: d["symlinks"][0].update(target=None), "symlink target must be a string"),
        (lambda d: d.update(directories="share/empty"), "'directories' must be a list"),
        (lambda d: d["package"].update(name=3), "package.name must be a string"),
        (lambda d: d["package"].pop("subdir"), "package.subdir must be a string"),
    ],
    ids=[
        "filename",
        "placeholders-object",
        "file-mode",
        "placeholder",
        "symlink-string",
        "symlink-kind",
        "symlink-target",
        "directories",
        "package-name",
        "package-subdir",
    ],
)
def test_a_malformed_part_is_named(document: dict[str, Any], edit: Any, problem: str) -> None:
    broken = copy.deepcopy(document)
    edit(broken)
    with pytest.raises(InvalidPackage) as caught:
        load_sidecar("demo.whl", dump_sidecar(broken))
    assert caught.value.problems == (f"conda.json: {problem}",)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"record": {"depends": ["b"]}, "index": {"depends": ["a"], "constrains": ["c"]}},
            (("b",), ()),
        ),
        ({"index": {"depends": ["a"], "constrains": ["c"]}}, (("a",), ("c",))),
        ({"index": {"depends": None}}, ((), ())),
        ({"index": {"depends": "a"}}, None),
        ({"index": {"depends": [1]}}, None),
        ({}, None),
    ],
    ids=["record-wins", "index", "null", "string", "not-text", "neither"],
)
def test_used_dependencies(
    document: dict[str, Any], expected: tuple[tuple[str, ...], tuple[str, ...]] | None
) -> None:
    assert used_dependencies(document) == expected


def test_the_dump_is_deterministic_text(document: dict[str, Any]) -> None:
    data = dump_sidecar(document)
    assert data == dump_sidecar(json.loads(data))
    assert data.endswith(b"}\n")
    assert data.decode("utf-8").startswith('{\n  "')
