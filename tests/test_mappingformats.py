"""--mapping reads pixi's, parselmouth's and conda-pypi's tables besides condawheel's YAML."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from condawheel.convert.mappingformats import ForeignTableError, read_foreign_table
from condawheel.convert.names import load_mapping
from condawheel.errors import InvalidMapping
from conftest import corpus_root

if TYPE_CHECKING:
    from pathlib import Path

    from condawheel.io.jsondata import JSONValue

# A small file of each form, as the tools write them.
PIXI: JSONValue = {
    "pytables": "tables",
    "zstd": None,
    "pyqt": ["pyqt5"],
    "ray-core": ["ray", "ray-cpp"],
}
PARSELMOUTH_COMPRESSED = {"pytables": "tables", "libzlib": None, "ruamel.yaml": "ruamel.yaml"}
PARSELMOUTH_RECORDS = [
    {
        "pypi_normalized_names": ["numpy"],
        "versions": {"numpy": "1.26.4"},
        "conda_name": "numpy",
        "package_name": "numpy-1.26.4-py311h64a7726_0.conda",
        "direct_url": [
            "https://github.com/numpy/numpy/releases/download/v1.26.4/numpy-1.26.4.tar.gz"
        ],
    },
    {"pypi_normalized_names": [], "conda_name": "libzlib", "package_name": "libzlib-1.3.1.conda"},
]
CONDA_PYPI = {
    "tables": {
        "pypi_name": "tables",
        "conda_name": "pytables",
        "import_name": "tables",
        "mapping_source": "regro-bot",
    },
    "my-package": {"conda_name": "my-package-conda"},
}


@pytest.mark.parametrize(
    ("document", "form", "expected"),
    [
        (PIXI, "flat", {"pytables": "tables", "zstd": None, "pyqt": "pyqt5"}),
        (
            PARSELMOUTH_COMPRESSED,
            "flat",
            {"pytables": "tables", "libzlib": None, "ruamel.yaml": "ruamel-yaml"},
        ),
        (PARSELMOUTH_RECORDS, "parselmouth", {"numpy": "numpy", "libzlib": None}),
        (PARSELMOUTH_RECORDS[0], "parselmouth", {"numpy": "numpy"}),
        (CONDA_PYPI, "conda-pypi", {"pytables": "tables", "my-package-conda": "my-package"}),
    ],
    ids=["pixi", "parselmouth-compressed", "parselmouth-records", "parselmouth-one", "conda-pypi"],
)
def test_each_form_is_recognised_and_read(document: object, form: str, expected: object) -> None:
    table = read_foreign_table(document)  # type: ignore[arg-type]
    assert table.format == form
    assert table.names == expected


def test_several_pypi_names_are_left_unknown() -> None:
    assert read_foreign_table(PIXI).ambiguous == ("ray-core",)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([1, 2], "expected a JSON object"),
        ({"pytables": 3}, "['pytables']: 3 is not a PyPI name"),
        ({"x": "not a name!"}, "is not a valid PyPI project name (PEP 508)"),
        ({"tables": {"pypi_name": "tables"}}, "missing 'conda_name' (conda-pypi form)"),
        ([{"conda_name": 1}], "conda_name 1 is not a string"),
    ],
)
def test_broken_tables_say_where(document: object, reason: str) -> None:
    with pytest.raises(ForeignTableError, match=None) as caught:
        read_foreign_table(document)  # type: ignore[arg-type]
    assert reason in str(caught.value)


def test_load_mapping_detects_the_form(tmp_path: Path) -> None:
    files = {
        "pixi.json": PIXI,
        "compressed_mapping.json": PARSELMOUTH_COMPRESSED,
        "records.json": PARSELMOUTH_RECORDS,
        "grayskull_pypi_mapping.json": CONDA_PYPI,
    }
    for name, document in files.items():
        (tmp_path / name).write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "mine.yaml").write_text("schema: 1\nnames:\n  pytables: tables\n")
    (tmp_path / "mine.json").write_text('{"schema": 1, "names": {"pytables": "tables"}}')
    forms = {}
    for path in sorted(tmp_path.iterdir()):
        mapping = load_mapping(path)
        (layer,) = mapping.layers
        forms[path.name] = layer.form
        assert layer.origin == str(path)
    assert forms == {
        "compressed_mapping.json": "flat",
        "grayskull_pypi_mapping.json": "conda-pypi",
        "mine.json": "condawheel",
        "mine.yaml": "condawheel",
        "pixi.json": "flat",
        "records.json": "parselmouth",
    }
    assert load_mapping(tmp_path / "pixi.json").lookup("zstd").kind == "external"
    assert load_mapping(tmp_path / "pixi.json").lookup("ray-core").kind == "unknown"


def test_a_foreign_table_is_held_to_conda_names(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"Not A Conda Name": "tables"}', encoding="utf-8")
    with pytest.raises(InvalidMapping) as caught:
        load_mapping(path)
    assert caught.value.subject == str(path)
    assert "is not a conda name" in caught.value.reason
    path.write_text('{"a": [[[[', encoding="utf-8")
    with pytest.raises(InvalidMapping, match="not valid JSON"):
        load_mapping(path)


def test_json_of_no_known_form_names_the_forms(tmp_path: Path) -> None:
    path = tmp_path / "numbers.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InvalidMapping) as caught:
        load_mapping(path)
    assert str(caught.value) == (
        f"{path}: expected a JSON object (pixi, parselmouth or conda-pypi form)"
    )


@pytest.mark.corpus
@pytest.mark.parametrize(
    "document",
    [{"cffi": None}, [{"conda_name": "cffi", "pypi_normalized_names": []}]],
    ids=["pixi", "parselmouth"],
)
def test_cli_mapping_takes_a_foreign_table(tmp_path: Path, document: object) -> None:
    """A pixi or parselmouth file marks cffi "not Python": it becomes Requires-External."""
    package = corpus_root() / "channel" / "linux-64" / "zstandard-0.23.0-py312hef9b889_1.conda"
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps(document), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "condawheel", "inspect", "--mapping", str(mapping), str(package)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Requires-External: cffi (>=1.11)" in done.stdout
