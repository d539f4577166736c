"""Tests for condawheel.convert.names: the mapping schema, precedence, lookups, library names."""

from __future__ import annotations

import json
import re
import string
import textwrap
from typing import TYPE_CHECKING

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import NormalizedName, canonicalize_name

from condawheel.convert.names import (
    DEFAULT_MAPPING_FILES,
    NameLookup,
    NameMapping,
    default_mapping,
    library_distribution_name,
    load_mapping,
    parse_mapping,
)
from condawheel.errors import InvalidMapping, InvalidPackage, UnsupportedPackage

if TYPE_CHECKING:
    from pathlib import Path

OVERRIDES = "condawheel/mappings/overrides.yaml"
GENERATED = "condawheel/mappings/conda-pypi.yaml"


def python(conda_name: str, pypi_name: str, origin: str) -> NameLookup:
    return NameLookup(conda_name, "python", NormalizedName(pypi_name), origin)


def doc(body: str) -> str:
    return textwrap.dedent(body).lstrip("\n")


# ---------------------------------------------------------------------------- parsing


def test_parse_minimal_document() -> None:
    mapping = parse_mapping(
        doc("""
            schema: 1
            names:
              pytables: tables
              zstd: null
              libfoo: ~
              libbar:
            """),
        origin="m.yaml",
    )
    assert mapping.as_dict() == {
        "pytables": "tables",
        "zstd": None,
        "libfoo": None,
        "libbar": None,
    }
    assert mapping.origins == ("m.yaml",)
    assert mapping.sources == ()
    assert mapping.layers[0].generated is None


def test_parse_header() -> None:
    mapping = parse_mapping(
        doc("""
            schema: 1
            generated: '2026-11-21'
            sources:
            - package: conda-pypi
              version: 0.13.1
              file: conda_pypi/grayskull_pypi_mapping.json
              url: https://example.invalid/conda_pypi-0.13.1-py3-none-any.whl
              license: MIT
              sha256: 3b1e38c5c39b6246d5a808742ef539b8726bfb256155b1f4baab3f342ce6238c
              upstream: regro/cf-graph-countyfair
              entries: 3
            names: {}
            """),
        origin="m.yaml",
    )
    (layer,) = mapping.layers
    assert layer.generated == "2026-11-21"
    (source,) = mapping.sources
    assert (source.package, source.version, source.license, source.entries) == (
        "conda-pypi",
        "0.13.1",
        "MIT",
        3,
    )
    assert source.sha256 is not None
    assert source.sha256.startswith("3b1e")


def test_parse_unquoted_date_is_accepted() -> None:
    mapping = parse_mapping("schema: 1\ngenerated: 2026-01-02\nnames: {}\n", origin="m")
    assert mapping.layers[0].generated == "2026-01-02"


def test_parse_keeps_conda_names_exact() -> None:
    mapping = parse_mapping(
        doc("""
            schema: 1
            names:
              typing_extensions: typing-extensions
              ruamel.yaml: ruamel-yaml
            """),
        origin="m",
    )
    assert mapping.classify("typing_extensions") == "python"
    assert mapping.classify("typing-extensions") == "unknown"
    assert mapping.classify("ruamel.yaml") == "python"
    assert mapping.classify("ruamel_yaml") == "unknown"
    assert mapping.classify("Typing_Extensions") == "unknown"


def test_quoted_yaml_keywords_are_names() -> None:
    mapping = parse_mapping(
        "schema: 1\nnames:\n  'yes': 'no'\n  'null': 'true'\n  '2048': '2048'\n", origin="m"
    )
    assert mapping.as_dict() == {"yes": "no", "null": "true", "2048": "2048"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(
            "schema: 1\nnames: [\n",
            "not valid YAML: did not find expected node content (line 3, column 1)",
            id="yaml-syntax",
        ),
        pytest.param(
            "schema: 1\nnames:\n  foo: bar\n  foo: baz\n",
            "not valid YAML: duplicate key 'foo' (line 4, column 3)",
            id="duplicate-name",
        ),
        pytest.param(
            "schema: 1\nschema: 1\nnames: {}\n",
            "not valid YAML: duplicate key 'schema' (line 2, column 1)",
            id="duplicate-top-level-key",
        ),
        pytest.param(
            "",
            "the document must be a mapping with keys 'schema' and 'names', got null",
            id="empty",
        ),
        pytest.param(
            "- zstd\n",
            "the document must be a mapping with keys 'schema' and 'names', got list",
            id="list",
        ),
        pytest.param(
            "schema: 1\nnames: {}\nnmes: {}\n",
            "unknown top-level key 'nmes' (allowed: generated, names, schema, sources)",
            id="unknown-key",
        ),
        pytest.param(
            "names: {}\n", "missing top-level key 'schema' (expected 1)", id="missing-schema"
        ),
        pytest.param(
            "schema: 2\nnames: {}\n",
            "unsupported schema 2 (this condawheel reads schema 1)",
            id="schema-2",
        ),
        pytest.param(
            "schema: true\nnames: {}\n",
            "unsupported schema True (this condawheel reads schema 1)",
            id="schema-bool",
        ),
        pytest.param(
            "schema: '1'\nnames: {}\n",
            "unsupported schema '1' (this condawheel reads schema 1)",
            id="schema-str",
        ),
        pytest.param("schema: 1\n", "missing top-level key 'names'", id="missing-names"),
        pytest.param(
            "schema: 1\nnames:\n- zstd\n",
            "'names' must be a mapping of conda name to PyPI name or null, got list",
            id="names-list",
        ),
        pytest.param(
            "schema: 1\nnames:\n",
            "'names' must be a mapping of conda name to PyPI name or null, got null",
            id="names-null",
        ),
        pytest.param(
            "schema: 1\nnames:\n  yes: foo\n",
            "names: key True (bool) is not a string; "
            "quote names that YAML reads as booleans, numbers or dates",
            id="key-bool",
        ),
        pytest.param(
            "schema: 1\nnames:\n  1.5: foo\n",
            "names: key 1.5 (float) is not a string; "
            "quote names that YAML reads as booleans, numbers or dates",
            id="key-float",
        ),
        pytest.param(
            "schema: 1\nnames:\n  Foo: foo\n",
            "names: 'Foo' is not a conda name (must match ^[a-z0-9_][a-z0-9._-]*$)",
            id="key-uppercase",
        ),
        pytest.param(
            "schema: 1\nnames:\n  -foo: foo\n",
            "names: '-foo' is not a conda name (must match ^[a-z0-9_][a-z0-9._-]*$)",
            id="key-leading-dash",
        ),
        pytest.param(
            'schema: 1\nnames:\n  "foo\\n": foo\n',
            "names: 'foo\\n' is not a conda name (must match ^[a-z0-9_][a-z0-9._-]*$)",
            id="key-trailing-newline",
        ),
        pytest.param(
            "schema: 1\nnames:\n  typing_extensions: Typing_Extensions\n",
            "names['typing_extensions']: PyPI name 'Typing_Extensions' is not canonical "
            "(write 'typing-extensions'; PEP 503 normalization)",
            id="value-not-canonical",
        ),
        pytest.param(
            "schema: 1\nnames:\n  ruamel.yaml: ruamel.yaml\n",
            "names['ruamel.yaml']: PyPI name 'ruamel.yaml' is not canonical "
            "(write 'ruamel-yaml'; PEP 503 normalization)",
            id="value-dotted",
        ),
        pytest.param(
            "schema: 1\nnames:\n  foo: foo bar\n",
            "names['foo']: 'foo bar' is not a valid PyPI project name (PEP 508)",
            id="value-space",
        ),
        pytest.param(
            "schema: 1\nnames:\n  foo: foo-\n",
            "names['foo']: 'foo-' is not a valid PyPI project name (PEP 508)",
            id="value-trailing-dash",
        ),
        pytest.param(
            "schema: 1\nnames:\n  foo: no\n",
            "names['foo']: False (bool) is not a PyPI name or null; "
            "quote names that YAML reads as booleans, numbers or dates",
            id="value-bool",
        ),
        pytest.param(
            "schema: 1\nnames:\n  foo: 2048\n",
            "names['foo']: 2048 (int) is not a PyPI name or null; "
            "quote names that YAML reads as booleans, numbers or dates",
            id="value-int",
        ),
        pytest.param(
            "schema: 1\nnames:\n  foo: [bar]\n",
            "names['foo']: ['bar'] (list) is not a PyPI name or null; "
            "quote names that YAML reads as booleans, numbers or dates",
            id="value-list",
        ),
        pytest.param(
            "schema: 1\ngenerated: yesterday\nnames: {}\n",
            "'generated' must be a date (YYYY-MM-DD), got 'yesterday'",
            id="generated",
        ),
        pytest.param(
            "schema: 1\nsources: {}\nnames: {}\n",
            "'sources' must be a list of mappings, got dict",
            id="sources-dict",
        ),
        pytest.param(
            "schema: 1\nsources: [x]\nnames: {}\n",
            "sources[0] must be a mapping, got str",
            id="source-str",
        ),
        pytest.param(
            "schema: 1\nsources:\n- package: x\nnames: {}\n",
            "sources[0]: missing key 'version'",
            id="source-missing-key",
        ),
        pytest.param(
            "schema: 1\nsources:\n- {package: x, version: 3.2, file: f, url: u, license: MIT}\n"
            "names: {}\n",
            "sources[0]: 'version' must be a non-empty string, got 3.2",
            id="source-version-float",
        ),
        pytest.param(
            "schema: 1\nsources:\n- {package: x, version: '1', file: f, url: u, license: MIT,"
            " lisence: MIT}\nnames: {}\n",
            "sources[0]: unknown key 'lisence' "
            "(allowed: package, version, file, url, license, sha256, upstream, entries)",
            id="source-unknown-key",
        ),
        pytest.param(
            "schema: 1\nsources:\n- {package: x, version: '1', file: f, url: u, license: MIT,"
            " sha256: ABC}\nnames: {}\n",
            "sources[0]: 'sha256' must be 64 lowercase hex digits, got 'ABC'",
            id="source-sha256",
        ),
        pytest.param(
            "schema: 1\nsources:\n- {package: x, version: '1', file: f, url: u, license: MIT,"
            " entries: -1}\nnames: {}\n",
            "sources[0]: 'entries' must be a non-negative integer, got -1",
            id="source-entries",
        ),
    ],
)
def test_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_mapping(text, origin="my-mapping.yaml")
    assert caught.value.subject == "my-mapping.yaml"
    assert caught.value.reason == reason
    assert str(caught.value) == f"my-mapping.yaml: {reason}"
    assert "\n" not in str(caught.value)


def test_parse_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^m: missing top-level key 'names'$"):
        parse_mapping("schema: 1\n", origin="m")


def test_parse_refuses_python_tags() -> None:
    with pytest.raises(InvalidMapping, match="not valid YAML: could not determine a constructor"):
        parse_mapping("schema: 1\nnames: !!python/object:os.system {}\n", origin="m")


def test_control_characters_give_one_line() -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_mapping("schema: 1\nnames: {}\n\x07", origin="m")
    assert caught.value.reason.startswith("not valid YAML: unacceptable character #x0007")
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------- lookups


@pytest.fixture
def small() -> NameMapping:
    return NameMapping.from_names(
        {"pytables": "tables", "zstd": None, "python-zstd": "zstd"}, origin="small"
    )


def test_lookup_kinds(small: NameMapping) -> None:
    assert small.lookup("pytables") == python("pytables", "tables", "small")
    assert small.lookup("zstd") == NameLookup("zstd", "external", None, "small")
    assert small.lookup("numpy") == NameLookup("numpy", "unknown", None, None)
    assert [small.classify(n) for n in ("pytables", "zstd", "numpy")] == [
        "python",
        "external",
        "unknown",
    ]
    assert small.pypi_name("python-zstd") == "zstd"
    assert small.pypi_name("zstd") is None
    assert small.pypi_name("numpy") is None


def test_from_names_validates() -> None:
    with pytest.raises(InvalidMapping) as caught:
        NameMapping.from_names({"foo": "Foo"}, origin="api")
    assert str(caught.value) == (
        "api: names['foo']: PyPI name 'Foo' is not canonical (write 'foo'; PEP 503 normalization)"
    )


def test_from_names_copies_its_input() -> None:
    names: dict[str, str | None] = {"pytables": "tables"}
    mapping = NameMapping.from_names(names)
    names["pytables"] = "other"
    assert mapping.pypi_name("pytables") == "tables"
    with pytest.raises(TypeError):
        mapping.layers[0].names["x"] = None  # type: ignore[index]


def test_empty_mapping_knows_nothing() -> None:
    assert NameMapping().lookup("numpy").kind == "unknown"
    assert NameMapping().as_dict() == {}


def test_reverse_lookup_is_many_to_one() -> None:
    mapping = NameMapping.from_names(
        {"matplotlib": "matplotlib", "matplotlib-base": "matplotlib", "zstd": None}
    )
    assert mapping.conda_names("Matplotlib") == ("matplotlib", "matplotlib-base")
    assert mapping.conda_names("zstd") == ()


# ---------------------------------------------------------------------------- precedence


def test_merged_other_wins() -> None:
    base = NameMapping.from_names(
        {"psycopg2": "psycopg2-binary", "zstd": "zstd", "graphviz": None, "numpy": "numpy"},
        origin="base",
    )
    fixes = NameMapping.from_names(
        {"psycopg2": "psycopg2", "zstd": None, "graphviz": "graphviz"}, origin="fixes"
    )
    merged = base.merged(fixes)
    assert merged.lookup("psycopg2") == python("psycopg2", "psycopg2", "fixes")
    assert merged.lookup("zstd") == NameLookup("zstd", "external", None, "fixes")
    assert merged.lookup("graphviz") == python("graphviz", "graphviz", "fixes")
    assert merged.lookup("numpy") == python("numpy", "numpy", "base")
    assert merged.origins == ("base", "fixes")
    # merged() returns a new value; neither input changes.
    assert base.pypi_name("psycopg2") == "psycopg2-binary"
    assert fixes.classify("numpy") == "unknown"
    # The other order gives the other answer.
    assert fixes.merged(base).pypi_name("psycopg2") == "psycopg2-binary"


def test_three_layers() -> None:
    one = NameMapping.from_names({"a": "one", "b": "one", "c": "one"}, origin="1")
    two = NameMapping.from_names({"b": "two", "c": "two"}, origin="2")
    three = NameMapping.from_names({"c": None}, origin="3")
    merged = one.merged(two).merged(three)
    assert merged == one.merged(two.merged(three))
    assert merged.as_dict() == {"a": "one", "b": "two", "c": None}
    assert [merged.lookup(n).origin for n in "abc"] == ["1", "2", "3"]


conda_names = st.from_regex(r"[a-z0-9_][a-z0-9._-]{0,12}", fullmatch=True)
pypi_names = st.from_regex(r"[a-z0-9]{1,5}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)
tables = st.dictionaries(conda_names, st.none() | pypi_names, max_size=8)


@given(tables, tables)
def test_merged_matches_dict_update(
    first: dict[str, str | None], second: dict[str, str | None]
) -> None:
    merged = NameMapping.from_names(first).merged(NameMapping.from_names(second))
    expected = {**first, **second}
    assert merged.as_dict() == expected
    for name, value in expected.items():
        assert merged.pypi_name(name) == value
        assert merged.classify(name) == ("external" if value is None else "python")


@given(tables)
def test_yaml_round_trip(names: dict[str, str | None]) -> None:
    # safe_dump quotes whatever YAML would misread ('null', 'yes', '1e5', '0x1f', ...).
    text = yaml.safe_dump({"schema": 1, "names": names})
    assert parse_mapping(text, origin="dump").as_dict() == names


# ---------------------------------------------------------------------------- loaders


def test_load_mapping(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("schema: 1\nnames:\n  libfoo-python: foo\n", encoding="utf-8")
    mapping = default_mapping().merged(load_mapping(path))
    assert mapping.lookup("libfoo-python") == python("libfoo-python", "foo", str(path))
    assert mapping.origins[-1] == str(path)


def test_load_mapping_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(InvalidMapping) as caught:
        load_mapping(path)
    assert str(caught.value) == f"{path}: cannot be read: No such file or directory"


def test_load_mapping_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"schema: 1\nnames: {caf\xe9: x}\n")
    with pytest.raises(InvalidMapping) as caught:
        load_mapping(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (invalid continuation byte)"


def test_load_mapping_reports_its_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("schema: 1\nnames:\n  zstd: Zstd\n", encoding="utf-8")
    with pytest.raises(InvalidMapping, match=r"bad\.yaml: names\['zstd'\]: PyPI name 'Zstd'"):
        load_mapping(path)


@pytest.fixture(scope="module")
def default() -> NameMapping:
    return default_mapping()


def test_default_mapping_layers(default: NameMapping) -> None:
    assert default.origins == (GENERATED, OVERRIDES)
    assert {source.package for source in default.sources} == {"conda-pypi", "grayskull"}


# formats.md F.4: verified PyPI <-> conda-forge pairs, as far as the shipped data covers them.
F4_PYTHON = [
    ("pytorch", "torch", OVERRIDES),
    ("msgpack-python", "msgpack", OVERRIDES),
    ("matplotlib-base", "matplotlib", OVERRIDES),
    ("matplotlib", "matplotlib", OVERRIDES),
    ("opencv", "opencv-python", OVERRIDES),
    ("pytables", "tables", OVERRIDES),
    ("pyqt", "pyqt5", OVERRIDES),
    ("typing_extensions", "typing-extensions", OVERRIDES),
    ("typing-extensions", "typing-extensions", OVERRIDES),
    ("python-graphviz", "graphviz", OVERRIDES),
    ("docker-py", "docker", GENERATED),
    ("python-duckdb", "duckdb", GENERATED),
    ("redis-py", "redis", GENERATED),
    ("psycopg2", "psycopg2", OVERRIDES),
    ("python-tzdata", "tzdata", OVERRIDES),
    ("ray-core", "ray", GENERATED),
    ("seaborn-base", "seaborn", GENERATED),
    ("airflow", "apache-airflow", GENERATED),
    ("python-zstd", "zstd", OVERRIDES),
    ("cython-blis", "blis", GENERATED),
    ("python-kubernetes", "kubernetes", GENERATED),
    ("python-igraph", "igraph", GENERATED),
    ("python-build", "build", GENERATED),
    ("python-installer", "installer", GENERATED),
    ("ruamel.yaml", "ruamel-yaml", GENERATED),
    ("qtconsole-base", "qtconsole", GENERATED),
    ("python-kaleido", "kaleido", GENERATED),  # grayskull only
    ("pywin32-on-windows", "pywin32", GENERATED),  # grayskull only
    ("brotli-python", "brotli", OVERRIDES),
    ("tbb4py", "tbb", OVERRIDES),
    ("py-xgboost", "xgboost", OVERRIDES),
    ("vtk-base", "vtk", OVERRIDES),
    ("pyarrow-core", "pyarrow", OVERRIDES),
    ("numpy", "numpy", GENERATED),
    # Same-name distributions the generated table lacks (mappings/README.md).
    ("scipy", "scipy", OVERRIDES),
    ("ruamel.yaml.clib", "ruamel-yaml-clib", OVERRIDES),
    ("ruamel_yaml", "ruamel-yaml-conda", OVERRIDES),
    ("libmambapy", "libmambapy", OVERRIDES),
]


@pytest.mark.parametrize(
    ("conda_name", "pypi_name", "origin"),
    [pytest.param(*case, id=case[0]) for case in F4_PYTHON],
)
def test_default_python_names(
    default: NameMapping, conda_name: str, pypi_name: str, origin: str
) -> None:
    assert default.lookup(conda_name) == python(conda_name, pypi_name, origin)


@pytest.mark.parametrize(
    "conda_name", ["zstd", "tzdata", "graphviz", "brotli", "tbb", "cmake", "pandoc"]
)
def test_default_external_names(default: NameMapping, conda_name: str) -> None:
    """C libraries and tools whose names PyPI uses for something else."""
    assert default.lookup(conda_name) == NameLookup(conda_name, "external", None, OVERRIDES)


@pytest.mark.parametrize("conda_name", ["libzlib", "openssl", "yaml", "mamba", "Numpy", "ipopt"])
def test_default_unknown_names(default: NameMapping, conda_name: str) -> None:
    assert default.classify(conda_name) == "unknown"


def test_default_drops_ambiguous_and_hash_entries(default: NameMapping) -> None:
    generated = default.layers[0].names
    # Ambiguous in the source (several PyPI names): left to the overrides.
    assert "cyipopt" not in generated
    assert default.pypi_name("cyipopt") == "cyipopt"
    # cf-graph's hash "names" are not PyPI names.
    assert "django-jsoneditor" not in generated
    hashes = [v for v in generated.values() if v is not None and re.fullmatch("[0-9a-f]{32,}", v)]
    assert hashes == []


def test_default_mapping_is_a_fresh_value() -> None:
    assert default_mapping() == default_mapping()
    assert default_mapping() is not default_mapping()


def test_the_parsed_default_mapping_is_kept_in_the_cache(tmp_path: Path) -> None:
    parsed = default_mapping()
    cache = tmp_path / "cache"
    assert default_mapping(cache=cache) == parsed  # parsed, then kept
    kept = sorted((cache / "mappings").iterdir())
    assert len(kept) == len(DEFAULT_MAPPING_FILES) + 1  # and the DepURL table
    assert default_mapping(cache=cache) == parsed  # read back
    assert default_mapping(cache=cache).depurls == parsed.depurls
    assert [layer.form for layer in default_mapping(cache=cache).layers] == [
        layer.form for layer in parsed.layers
    ]
    # A damaged or foreign file is passed over and written again.
    for path in kept[:2]:
        path.write_text('{"names": {"zstd": 1}, "depurls": {"zstd": 1}, "sources": []}')
    kept[2].write_text("{not json")
    assert default_mapping(cache=cache) == parsed
    assert default_mapping(cache=cache).depurls == parsed.depurls
    assert default_mapping(cache=cache).origins == parsed.origins
    # A cache that cannot be written is no error.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be\n")
    assert default_mapping(cache=blocked) == parsed


@pytest.mark.parametrize(
    "damaged",
    [
        {"names": [], "generated": None, "sources": []},
        {"names": {}, "generated": 20261121, "sources": []},
        {"names": {"zstd": 1}, "generated": None, "sources": []},
        {"names": {}, "generated": None, "sources": [], "form": 1},
        {"names": {}, "generated": None, "sources": [{"package": "x"}]},
    ],
    ids=["names-list", "generated-number", "value-number", "form-number", "source-incomplete"],
)
def test_a_cached_layer_of_the_wrong_shape_is_parsed_again(
    tmp_path: Path, damaged: dict[str, object]
) -> None:
    parsed = default_mapping()
    cache = tmp_path / "cache"
    default_mapping(cache=cache)
    for path in (cache / "mappings").iterdir():
        path.write_text(json.dumps(damaged))
    again = default_mapping(cache=cache)
    assert again == parsed
    assert [layer.generated for layer in again.layers] == [
        layer.generated for layer in parsed.layers
    ]


# ---------------------------------------------------------------------------- library names


@pytest.mark.parametrize(
    ("conda_name", "expected"),
    [
        ("zstd", "conda-pkg-zstd"),
        ("openssl", "conda-pkg-openssl"),
        ("libzlib", "conda-pkg-libzlib"),
        ("_openmp_mutex", "conda-pkg-openmp-mutex"),
        ("libgcc-ng", "conda-pkg-libgcc-ng"),
        ("ca-certificates", "conda-pkg-ca-certificates"),
        ("font-ttf-dejavu-sans-mono", "conda-pkg-font-ttf-dejavu-sans-mono"),
        ("r-base", "conda-pkg-r-base"),
        ("gst-plugins-base", "conda-pkg-gst-plugins-base"),
        ("libstdcxx", "conda-pkg-libstdcxx"),
        ("7zip", "conda-pkg-7zip"),
    ],
)
def test_library_distribution_name(conda_name: str, expected: str) -> None:
    assert library_distribution_name(conda_name) == expected


def test_library_name_differs_from_the_pypi_project(default: NameMapping) -> None:
    # conda zstd is the C library; PyPI zstd is the binding (conda python-zstd).
    assert library_distribution_name("zstd") != default.pypi_name("python-zstd")


@pytest.mark.parametrize(
    ("conda_name", "error", "message"),
    [
        (
            "Zstd",
            InvalidPackage,
            "Zstd: conda name 'Zstd' does not match ^[a-z0-9_][a-z0-9._-]*$",
        ),
        ("", InvalidPackage, ": conda name '' does not match ^[a-z0-9_][a-z0-9._-]*$"),
        (
            "foo/bar",
            InvalidPackage,
            "foo/bar: conda name 'foo/bar' does not match ^[a-z0-9_][a-z0-9._-]*$",
        ),
        (
            "foo_",
            UnsupportedPackage,
            "foo_: library distribution name 'conda-pkg-foo-' is not a valid PyPI name (PEP 508)",
        ),
    ],
)
def test_library_distribution_name_errors(
    conda_name: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        library_distribution_name(conda_name)
    assert str(caught.value) == message


@given(st.from_regex(r"[a-z0-9_][a-z0-9._-]{0,20}[a-z0-9]|[a-z0-9]", fullmatch=True))
def test_library_names_are_valid_prefixed_pypi_names(conda_name: str) -> None:
    name = library_distribution_name(conda_name)
    assert name == canonicalize_name(name, validate=True)
    assert name.startswith("conda-pkg-")
    assert set(name) <= set(string.ascii_lowercase + string.digits + "-")
