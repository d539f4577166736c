"""Repodata v3 (CEP 48) end to end: a channel's v3 records become the wheels' metadata.

``[when=...]`` becomes a marker, ``extra_depends`` extras (CEP 44), ``flags`` (CEP 45) go to
the sidecar, a ``pkg:pypi/`` purl names the project, and ``v3.whl`` wheels are skipped
with a note (a wheel is not converted, nor copied: see docs/sync.md).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from email.parser import BytesParser
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, FileSpec, build_conda
from condawheel.convert.deps import translate_dependencies
from condawheel.convert.names import default_mapping, pypi_name_from_purls
from condawheel.io.http import RetryPolicy
from condawheel.wheelhouse.repodata import V3_WHEEL
from condawheel.wheelhouse.sync import SyncOptions, sync
from syncing import ChannelServer, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NO_RETRY = RetryPolicy(attempts=1, backoff=0, timeout=30)
SPEC = CondaSpec(
    name="zeropkg",
    version="1.0",
    build="pyh0_0",
    subdir="noarch",
    noarch="python",
    depends=["python >=3.9"],
    files=[FileSpec("site-packages/zeropkg/__init__.py", b"VALUE = 0\n")],
)


@pytest.fixture
def v3_channel(tmp_path: Path) -> Iterator[ChannelServer]:
    root = tmp_path / "channel"
    (root / "noarch").mkdir(parents=True)
    package = build_conda(SPEC, root / "noarch")
    data = package.read_bytes()
    record = {
        "name": SPEC.name,
        "version": SPEC.version,
        "build": SPEC.build,
        "build_number": 0,
        "subdir": "noarch",
        "noarch": "python",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "depends": ["python >=3.9", 'idna[version=">=3",when="__win"]'],
        "extra_depends": {"http": ["requests >=2.30"], "native": ["libzlib >=1.3"]},
        "flags": ["pure", "release:stable"],
        "purls": ["pkg:pypi/zero-pkg@1.0"],
    }
    repodata = {
        "info": {"subdir": "noarch", "repodata_revisions": {"v3": {"n_packages": 2}}},
        "packages": {},
        "packages.conda": {},
        "v3": {
            "conda": {package.name.removesuffix(".conda"): record},
            "whl": {
                "requests-2.32.5-py3-none-any": {
                    "name": "requests",
                    "version": "2.32.5",
                    "build": "py3_0",
                    "depends": [],
                }
            },
        },
        "repodata_version": 1,
    }
    (root / "noarch" / "repodata.json").write_text(json.dumps(repodata))
    yield from serve(root)


def wheel_metadata(wheel: Path) -> tuple[dict[str, list[str]], dict[str, object]]:
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        [sidecar] = [n for n in archive.namelist() if n.endswith(".dist-info/conda.json")]
        message = BytesParser().parsebytes(archive.read(metadata))
        fields: dict[str, list[str]] = {}
        for key, value in message.items():
            fields.setdefault(key, []).append(value)
        return fields, json.loads(archive.read(sidecar))


def test_a_v3_record_becomes_markers_extras_flags_and_the_purl_name(
    v3_channel: ChannelServer, tmp_path: Path
) -> None:
    wheelhouse = tmp_path / "wheelhouse"

    report = sync(
        [v3_channel.url], wheelhouse, SyncOptions(jobs=1, retry=NO_RETRY, cache_dir=tmp_path / "c")
    )

    assert report.ok, report.outcomes
    statuses = sorted((o.filename, o.status, o.reason) for o in report.outcomes)
    assert statuses == [
        ("requests-2.32.5-py3-none-any.whl", "skipped", V3_WHEEL),
        ("zeropkg-1.0-pyh0_0.conda", "converted", None),
    ]
    [wheel] = wheelhouse.glob("*.whl")
    assert wheel.name.startswith("zero_pkg-1.0-")  # the purl's name, not the conda name
    fields, sidecar = wheel_metadata(wheel)
    assert fields["Name"] == ["zero-pkg"]
    assert fields["Provides-Extra"] == ["http", "native"]  # native: a group of C libraries
    assert fields["Requires-Dist"] == [
        'idna>=3; sys_platform == "win32"',
        'requests>=2.30; extra == "http"',
    ]
    source = sidecar["source"]
    assert isinstance(source, dict)
    assert source["flags"] == ["pure", "release:stable"]
    assert source["purls"] == ["pkg:pypi/zero-pkg@1.0"]
    record = sidecar["record"]
    assert isinstance(record, dict)
    assert record["extra_depends"] == {"http": ["requests >=2.30"], "native": ["libzlib >=1.3"]}
    dependencies = sidecar["dependencies"]
    assert isinstance(dependencies, dict)
    native = [item for item in dependencies["extra_depends"] if item["group"] == "native"]
    assert native[0]["became"] == "not in METADATA: an extra cannot require 'libzlib' (non-Python)"


def test_extras_with_conditions_and_metadata_that_declares_its_own() -> None:
    mapping = default_mapping()
    plan = translate_dependencies(
        [],
        mapping=mapping,
        embedded_requires=None,
        embedded_requires_python=None,
        subject="x",
        extras=[("Socks_Proxy", ['pysocks[when="__unix"]']), ("bad name!", ["idna"])],
    )
    assert plan.provides_extra == ("socks-proxy",)
    assert plan.requires_dist == ('pysocks; (sys_platform != "win32") and extra == "socks-proxy"',)
    assert plan.extra_records[1][1].became == "not added: 'bad name!' is not a PEP 508 extra name"

    declared = translate_dependencies(
        [],
        mapping=mapping,
        embedded_requires=["idna"],
        embedded_requires_python=None,
        subject="x",
        extras=[("http", ["requests"])],
    )
    assert (declared.provides_extra, declared.requires_dist) == ((), ())
    assert declared.extra_records[0][1].became == (
        "not added: the package's METADATA declares its own extras"
    )


@pytest.mark.parametrize(
    ("purls", "name"),
    [
        (["pkg:pypi/Zero_Pkg@1.0?x=y#sub"], "zero-pkg"),
        (["pkg:github/a/b", "pkg:pypi/one"], "one"),
        (["pkg:pypi/one", "pkg:pypi/two"], None),
        (["pkg:pypi/not%20valid!"], None),
        (["pkg:conda/x"], None),
        ([], None),
    ],
)
def test_a_purl_names_at_most_one_pypi_project(purls: list[str], name: str | None) -> None:
    assert pypi_name_from_purls(purls) == name
