"""Tests for the shipped mappings/*.yaml and the script that generates conda-pypi.yaml."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from packaging.utils import InvalidName, canonicalize_name

from condawheel.convert.names import DEFAULT_MAPPING_FILES, default_mapping, parse_mapping

if TYPE_CHECKING:
    from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent
MAPPINGS = REPO_ROOT / "mappings"
GENERATED = MAPPINGS / "conda-pypi.yaml"
OVERRIDES = MAPPINGS / "overrides.yaml"
# Checked here with its own expression, independently of condawheel.convert.names.
CONDA_NAME = re.compile(r"^[a-z0-9_][a-z0-9._-]*\Z")


def raw(path: Path) -> dict[str, object]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def raw_names(path: Path) -> dict[str, str | None]:
    names = raw(path)["names"]
    assert isinstance(names, dict)
    return names


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "update_mappings", REPO_ROOT / "scripts" / "update_mappings.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["update_mappings"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script()


# ---------------------------------------------------------------------------- both files


@pytest.mark.parametrize("file_name", DEFAULT_MAPPING_FILES)
def test_file_follows_the_schema(file_name: str) -> None:
    path = MAPPINGS / file_name
    document = raw(path)
    assert document["schema"] == 1
    names = document["names"]
    assert isinstance(names, dict)
    assert names, "an empty table is a broken regeneration"
    bad_keys = [key for key in names if not (isinstance(key, str) and CONDA_NAME.match(key))]
    assert bad_keys == []
    bad_values = []
    for key, value in names.items():
        if value is None:
            continue
        try:
            canonical = canonicalize_name(value, validate=True)
        except InvalidName:
            canonical = None
        if canonical != value:
            bad_values.append((key, value))
    assert bad_values == []
    # The library's own reader agrees, and sees every entry.
    assert parse_mapping(path.read_text(encoding="utf-8"), origin=file_name).as_dict() == names


@pytest.mark.parametrize("file_name", DEFAULT_MAPPING_FILES)
def test_no_duplicate_keys(file_name: str) -> None:
    # safe_load keeps the last of two equal keys; count the key lines themselves.
    text = (MAPPINGS / file_name).read_text(encoding="utf-8")
    body = text[text.index("\nnames:\n") :]
    keys = re.findall(r"^  ([^\s#:][^:]*):", body, re.MULTILINE)
    assert len(keys) == len(set(keys)) == len(raw_names(MAPPINGS / file_name))


def test_default_mapping_reads_the_shipped_files() -> None:
    expected = {**raw_names(GENERATED), **raw_names(OVERRIDES)}
    assert default_mapping().as_dict() == expected


# ---------------------------------------------------------------------------- generated file


def test_generated_header_records_source_and_date() -> None:
    document = raw(GENERATED)
    assert list(document) == ["schema", "generated", "sources", "names"]
    generated = document["generated"]
    assert isinstance(generated, str)
    assert dt.date.fromisoformat(generated) >= dt.date(2026, 1, 1)
    sources = document["sources"]
    assert isinstance(sources, list)
    assert [source["package"] for source in sources] == ["conda-pypi", "grayskull"]
    for source in sources:
        assert set(source) == {
            "package",
            "version",
            "file",
            "url",
            "sha256",
            "license",
            "upstream",
            "entries",
        }
        wheel = canonicalize_name(source["package"]).replace("-", "_")
        assert source["url"].startswith("https://")
        assert source["url"].endswith(f"/{wheel}-{source['version']}-py3-none-any.whl")
        assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
        assert source["license"]
        assert "UNKNOWN" not in source["license"]
        assert isinstance(source["entries"], int)
        assert source["entries"] > 0
    assert sources[0]["license"].startswith("MIT")
    assert sources[1]["license"] == "Apache-2.0"


def test_generated_is_sorted_and_has_no_nulls() -> None:
    names = raw_names(GENERATED)
    assert list(names) == sorted(names)
    assert None not in names.values()
    assert len(names) > 12000


def test_generated_file_is_what_the_script_renders(script: ModuleType) -> None:
    """The shipped file is byte-for-byte the script's output for its own header and data."""
    document = raw(GENERATED)
    rendered = script.render(raw_names(GENERATED), document["sources"], document["generated"])
    assert rendered == GENERATED.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- overrides


def test_overrides_are_hand_curated() -> None:
    assert set(raw(OVERRIDES)) == {"schema", "names"}


def test_every_override_says_why() -> None:
    """Each entry has a comment on its line or a comment block right above it."""
    lines = OVERRIDES.read_text(encoding="utf-8").splitlines()
    start = lines.index("names:")
    uncommented = []
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if not re.match(r"^  [^\s#]", line):
            continue
        above = lines[number - 1].strip()
        if "#" not in line and not above.startswith("#"):
            uncommented.append(line.strip())
    assert uncommented == []


def test_overrides_win() -> None:
    mapping = default_mapping()
    overrides = raw_names(OVERRIDES)
    for name, value in overrides.items():
        lookup = mapping.lookup(name)
        assert lookup.origin == "condawheel/mappings/overrides.yaml", name
        assert lookup.pypi_name == value, name
    # At least one override contradicts the generated table (else the test proves nothing).
    generated = raw_names(GENERATED)
    assert any(name in generated and generated[name] != overrides[name] for name in overrides)


def test_override_nulls_are_not_python_anywhere() -> None:
    """A null override must not be contradicted by another override's PyPI name."""
    overrides = raw_names(OVERRIDES)
    nulls = {name for name, value in overrides.items() if value is None}
    assert nulls
    assert nulls.isdisjoint(name for name, value in overrides.items() if value is not None)


# ---------------------------------------------------------------------------- the script


def test_build_names_rules(script: ModuleType) -> None:
    first = [
        ("pytables", "Tables"),
        ("pyqt", "PyQt4"),
        ("pyqt", "pyqt5"),
        ("typing_extensions", "typing_extensions"),
        ("django-jsoneditor", "0164e082b29777fbc56c2373b68da93d23a29a040787e7f1c65e1562f133"),
        ("Bad", "bad"),
    ]
    second = [("pyqt", "pyqt5"), ("pytables", "pytables"), ("python-lmdb", "lmdb")]
    names, problems = script.build_names([("first", first), ("second", second)])
    assert names == {
        "python-lmdb": "lmdb",  # only the second source knows it
        "pytables": "tables",  # the first source decides
        "typing_extensions": "typing-extensions",  # canonicalised; the key stays exact
    }
    assert list(names) == sorted(names)
    assert problems == [
        (
            "first: 'django-jsoneditor': dropped hash name "
            "'0164e082b29777fbc56c2373b68da93d23a29a040787e7f1c65e1562f133'"
        ),
        "first: 'pyqt' is ambiguous (pyqt4, pyqt5): dropped",
        "first: dropped invalid pair 'Bad' -> 'bad'",
    ]


def test_render_is_deterministic_and_parses(script: ModuleType) -> None:
    names = {"yes": "no", "null": "true", "a": "b", "1e5": "2048"}
    sources = [
        {
            "package": "p",
            "version": "1.0",
            "file": "f.json",
            "url": "https://example.invalid/p-1.0-py3-none-any.whl",
            "sha256": "0" * 64,
            "license": "MIT",
            "upstream": "somewhere",
            "entries": 4,
        }
    ]
    text = script.render(names, sources, "2026-01-02")
    assert text == script.render(dict(reversed(names.items())), sources, "2026-01-02")
    mapping = parse_mapping(text, origin="rendered")
    assert mapping.as_dict() == names
    assert list(raw_names_of(text)) == sorted(names)
    assert mapping.layers[0].generated == "2026-01-02"
    assert mapping.sources[0].entries == 4


def raw_names_of(text: str) -> dict[str, str | None]:
    names = yaml.safe_load(text)["names"]
    assert isinstance(names, dict)
    return names
