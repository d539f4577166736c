"""PEP 725 DepURLs of external dependencies, from the PEP 804 conda-forge snapshot."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from condawheel.convert import plan_package
from condawheel.convert.deps import translate_dependencies
from condawheel.convert.depurls import DepURL, depurl_for, parse_depurl_table
from condawheel.convert.names import default_mapping
from condawheel.errors import InvalidMapping
from conftest import REPO_ROOT, corpus_root
from test_mappings_data import load_script

MAPPING = default_mapping()
TABLE = {"zlib": "dep:generic/zlib", "libblas": "dep:virtual/interface/blas"}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (("zlib", None, None), DepURL("dep:generic/zlib", None, "pep-804")),
        (("zlib", "*", None), DepURL("dep:generic/zlib", None, "pep-804")),
        (("zlib", ">=1.3.1,<2", None), DepURL("dep:generic/zlib@>=1.3.1,<2", None, "pep-804")),
        (("zlib", "1.3.*", None), DepURL("dep:generic/zlib@>=1.3,<1.4", None, "pep-804")),
        (("zlib", "1.3.1", None), DepURL("dep:generic/zlib@==1.3.1", None, "pep-804")),
        (
            ("zstd", ">=1.5.6,<1.6.0a0", None),
            DepURL("dep:conda/zstd@>=1.5.6,<1.6.0a0", None, "fallback"),
        ),
        # What a DepURL cannot say stays a conda spec next to it.
        (("zstd", "<2|>=3", None), DepURL("dep:conda/zstd", "zstd <2|>=3", "fallback")),
        (
            ("libblas", "*", "*_openblas"),
            DepURL("dep:virtual/interface/blas", "libblas * *_openblas", "pep-804"),
        ),
        (("zlib", "!=1.2.12", None), DepURL("dep:generic/zlib", "zlib !=1.2.12", "pep-804")),
        (("zlib", "~=1.2", None), DepURL("dep:generic/zlib", "zlib ~=1.2", "pep-804")),
        (("zlib", "!=1.*", None), DepURL("dep:generic/zlib", "zlib !=1.*", "pep-804")),
        # conda's <1.2.* is <=1.2,!=1.2 in PEP 440, which is <1.2 as a range.
        (("zlib", "<1.2.*", None), DepURL("dep:generic/zlib@<1.2", None, "pep-804")),
        (("zlib", "1!2.3.*", None), DepURL("dep:generic/zlib@>=1!2.3,<1!2.4", None, "pep-804")),
        # A prefix of an epoch alone has no next release to bound it.
        (("zlib", "1!2.*", None), DepURL("dep:generic/zlib", "zlib 1!2.*", "pep-804")),
        # Specs PEP 440 can only widen, or not say at all, keep their conda form.
        (("zlib", ">=1.2a", None), DepURL("dep:generic/zlib", "zlib >=1.2a", "pep-804")),
        (("zlib", "1.2.*.*", None), DepURL("dep:generic/zlib", "zlib 1.2.*.*", "pep-804")),
        # A spec that is not one: it is kept for a human to read, never guessed at.
        (("zlib", ">>1", None), DepURL("dep:generic/zlib", "zlib >>1", "pep-804")),
        (("zlib", None, "h0_1"), DepURL("dep:generic/zlib", "zlib h0_1", "pep-804")),
    ],
    ids=str,
)
def test_depurl_for(spec: tuple[str, str | None, str | None], expected: DepURL) -> None:
    assert depurl_for(*spec, table=TABLE) == expected


def test_every_external_dependency_has_a_depurl_in_the_sidecar() -> None:
    result = translate_dependencies(
        ["python >=3.12", "openssl >=3.3.1,<4.0a0", "zstd >=1.5|<1.4", "libzlib >=1.3"],
        mapping=MAPPING,
        embedded_requires=None,
        embedded_requires_python=None,
        subject="test",
    )
    document: Any = json.loads(json.dumps(result.to_json()))
    externals = {item["name"]: item for item in document["depends"] if item["kind"] == "external"}
    assert externals["openssl"]["depurl"] == "dep:generic/openssl@>=3.3.1,<4.0a0"
    assert externals["openssl"]["source"] == "pep-804"
    assert externals["zstd"]["depurl"] == "dep:conda/zstd"
    assert externals["zstd"]["conda_spec"] == "zstd >=1.5|<1.4"
    assert externals["libzlib"]["depurl"] == "dep:conda/libzlib@>=1.3"
    (python,) = [item for item in document["depends"] if item["kind"] == "python"]
    assert "depurl" not in python


@pytest.mark.corpus
def test_inspect_shows_the_depurls() -> None:
    package = corpus_root() / "channel" / "linux-64" / "krb5-1.21.3-h659f571_0.conda"
    done = subprocess.run(
        [sys.executable, "-m", "condawheel", "inspect", str(package)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "external dependencies (PEP 725 DepURLs):" in done.stdout
    assert "openssl >=3.3.1,<4.0a0" in done.stdout
    assert "dep:generic/openssl@>=3.3.1,<4.0a0" in done.stdout
    plan = plan_package(package, mapping=MAPPING)
    depends: Any = plan.sidecar["dependencies"]
    assert all(
        item["depurl"].startswith("dep:")
        for item in depends["depends"]
        if item["kind"] == "external"
    )


# ---------------------------------------------------------------- the packaged snapshot


def test_the_snapshot_is_dated_and_names_its_pinned_source() -> None:
    document = yaml.safe_load((REPO_ROOT / "mappings" / "depurls.yaml").read_text())
    script = load_script()
    source = document["source"]
    assert source["commit"] == script.PEP804.commit
    assert source["sha256"] == script.PEP804.sha256
    assert source["url"] == script.PEP804.url
    assert source["entries"] == len(document["depurls"])
    assert document["generated"]
    assert MAPPING.depurls == document["depurls"]
    assert MAPPING.depurls["openssl"] == "dep:generic/openssl"


def test_the_script_inverts_pep_804_s_mapping() -> None:
    data = {
        "schema_version": 1,
        "mappings": [
            {"id": "dep:generic/zlib", "specs": "zlib"},
            {"id": "dep:generic/libwebp", "specs": {"build": "x", "host": "y", "run": "libwebp"}},
            {"id": "dep:virtual/interface/blas", "specs": "libblas"},
            {"id": "dep:generic/openblas", "specs": "libblas * *_openblas"},
            {"id": "dep:virtual/compiler/c", "specs": {"build": ["{{ compiler('c') }}"]}},
            {"id": "dep:generic/raqm", "specs": []},
            {"id": "dep:generic/a", "specs": "both"},
            {"id": "dep:generic/b", "specs": "both"},
        ],
    }
    table, problems = load_script().read_pep804_mapping(json.dumps(data).encode())
    assert table == {
        "libblas": "dep:virtual/interface/blas",
        "libwebp": "dep:generic/libwebp",
        "zlib": "dep:generic/zlib",
    }
    assert problems == ["PEP 804: 'both' left out (dep:generic/a, dep:generic/b)"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("schema: 2\ndepurls: {}\n", "expected a mapping with 'schema: 1'"),
        ("schema: 1\ndepurls: []\n", "'depurls' must map conda names to DepURLs"),
        ("schema: 1\ndepurls: {zlib: pkg:generic/zlib}\n", "is not a DepURL"),
        ("schema: 1\nextra: 1\ndepurls: {}\n", "unknown top-level key 'extra'"),
        ("schema: 1\ndepurls: {zlib: [\n", "not valid YAML: while parsing"),
        ("- schema\n", "expected a mapping with 'schema: 1'"),
        (
            "schema: 1\ndepurls: {1: dep:generic/zlib}\n",
            "depurls[1]: 'dep:generic/zlib' is not a DepURL",
        ),
    ],
)
def test_a_broken_table_is_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_depurl_table(text, origin="depurls.yaml")
    assert reason in caught.value.reason
