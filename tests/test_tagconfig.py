"""binary-compatibility.cfg parsing and merging, and the ordered tags of an environment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags

from condawheel.env.tagconfig import (
    CONFIG_NAME,
    InterpreterTags,
    PlatformEntry,
    conda_subdir_for_platform,
    default_entry,
    environment_tags,
    load_tag_config,
    merge_tag_configs,
    own_abis,
    parse_tag_config,
    render_tag_config,
)
from condawheel.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

GALAXY = {  # the example of Galaxy's documentation (framework dependencies)
    "linux_x86_64_centos_6_7": {
        "build": "linux_x86_64_rhel_6",
        "install": ["linux_x86_64_rhel_6_7", "linux_x86_64_rhel_6"],
    }
}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param({}, {}, id="empty-object"),
        pytest.param(
            {"linux_x86_64": {"build": "conda_linux_64", "install": ["conda_linux_64", "conda"]}},
            {"linux_x86_64": ("conda_linux_64", ("conda_linux_64", "conda"))},
            id="conda",
        ),
        pytest.param(
            GALAXY,
            {
                "linux_x86_64_centos_6_7": (
                    "linux_x86_64_rhel_6",
                    ("linux_x86_64_rhel_6_7", "linux_x86_64_rhel_6"),
                )
            },
            id="galaxy-example",
        ),
        pytest.param(
            {"linux_x86_64": {"build": "conda_linux_64"}},
            {"linux_x86_64": ("conda_linux_64", ())},
            id="build-only",
        ),
        pytest.param(
            {"linux_x86_64": {"install": ["conda", "conda"]}},
            {"linux_x86_64": (None, ("conda",))},
            id="install-only-deduplicated",
        ),
        pytest.param(
            {"linux_x86_64": {}}, {"linux_x86_64": (None, ())}, id="entry-disabling-extras"
        ),
    ],
)
def test_parse_valid(
    document: dict[str, object], expected: dict[str, tuple[str | None, tuple[str, ...]]]
) -> None:
    config = parse_tag_config("cfg", json.dumps(document))
    assert {key: (entry.build, entry.install) for key, entry in config.entries.items()} == (
        expected
    )
    assert config.sources == ("cfg",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{", "not valid JSON", id="not-json"),
        pytest.param(
            "[" * 100_000 + "]" * 100_000, "not valid JSON (nested too deeply)", id="deep"
        ),
        pytest.param("[]", "must hold a JSON object of platforms, not list", id="list"),
        pytest.param('{"linux-x86_64": {}}', "'linux-x86_64'", id="key-not-a-tag"),
        pytest.param('{"Linux_x86_64": {}}', "not a platform tag", id="key-uppercase"),
        pytest.param('{"linux_x86_64": []}', "must map to an object", id="entry-list"),
        pytest.param('{"linux_x86_64": {"instal": []}}', "unknown key(s) 'instal'", id="typo"),
        pytest.param('{"linux_x86_64": {"build": 1}}', "must be a string, not int", id="build-int"),
        pytest.param(
            '{"linux_x86_64": {"build": "conda-linux-64"}}', "not a platform tag", id="build-dash"
        ),
        pytest.param(
            '{"linux_x86_64": {"install": "conda"}}', "must be a list", id="install-string"
        ),
        pytest.param(
            '{"linux_x86_64": {"install": ["conda", "a.b"]}}',
            "'install'[1] is 'a.b'",
            id="install-item-dot",
        ),
    ],
)
def test_parse_invalid_names_file_and_rule(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_tag_config("/etc/python/binary-compatibility.cfg", text)
    assert caught.value.subject == "/etc/python/binary-compatibility.cfg"
    assert CONFIG_NAME in caught.value.reason
    assert message in caught.value.reason


def test_merge_replaces_whole_entries_per_platform() -> None:
    system = parse_tag_config(
        "system",
        json.dumps(
            {
                "linux_x86_64": {"build": "rhel_7", "install": ["rhel_7"]},
                "linux_aarch64": {"install": ["rhel_7_aarch64"]},
            }
        ),
    )
    prefix = parse_tag_config("prefix", json.dumps({"linux_x86_64": {"install": ["conda"]}}))
    merged = merge_tag_configs(system, prefix)
    assert merged.sources == ("system", "prefix")
    # Galaxy's dict.update: the later file's entry replaces the whole entry (no build kept).
    assert merged.entry("linux_x86_64") == PlatformEntry(None, ("conda",), "prefix")
    assert merged.entry("linux_aarch64") == PlatformEntry(None, ("rhel_7_aarch64",), "system")
    assert merged.entry("win_amd64") is None


def test_load_reads_system_then_prefix(tmp_path: Path) -> None:
    system = tmp_path / "etc" / CONFIG_NAME
    system.parent.mkdir()
    system.write_text(json.dumps({"linux_x86_64": {"build": "a"}, "win_amd64": {"build": "b"}}))
    prefix = tmp_path / "env"
    prefix.mkdir()
    assert load_tag_config(prefix, system_path=system).entry("linux_x86_64") == PlatformEntry(
        "a", (), str(system)
    )
    (prefix / CONFIG_NAME).write_text(json.dumps({"linux_x86_64": {"build": "c"}}))
    config = load_tag_config(prefix, system_path=system)
    assert config.entry("linux_x86_64") == PlatformEntry("c", (), str(prefix / CONFIG_NAME))
    assert config.entry("win_amd64") == PlatformEntry("b", (), str(system))
    assert load_tag_config(prefix, system_path=None).sources == (str(prefix / CONFIG_NAME),)
    assert load_tag_config(None, system_path=tmp_path / "missing").entries == {}


def test_load_reports_malformed_prefix_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text('{"linux_x86_64": {"build": ["x"]}}')
    with pytest.raises(ConfigError, match=r"binary-compatibility\.cfg.*must be a string"):
        load_tag_config(tmp_path, system_path=None)


def test_render_round_trips() -> None:
    entries = {
        "linux_x86_64": PlatformEntry("conda_linux_64", ("conda_linux_64", "conda")),
        "linux_aarch64": PlatformEntry(None, ("conda",)),
    }
    text = render_tag_config(entries)
    parsed = parse_tag_config("x", text)
    assert {key: entry.to_json() for key, entry in parsed.entries.items()} == {
        key: entry.to_json() for key, entry in entries.items()
    }
    assert list(json.loads(text)) == ["linux_aarch64", "linux_x86_64"]


@pytest.mark.parametrize(
    ("entry", "platforms"),
    [
        pytest.param(PlatformEntry("b", ("i1", "i2")), ("b", "i1", "i2"), id="build-first"),
        pytest.param(PlatformEntry("i2", ("i1", "i2")), ("i1", "i2"), id="build-listed"),
        pytest.param(PlatformEntry(None, ("i1",)), ("i1",), id="no-build"),
    ],
)
def test_entry_platforms(entry: PlatformEntry, platforms: tuple[str, ...]) -> None:
    assert entry.platforms == platforms


@pytest.mark.parametrize(
    ("subdir", "prefix", "build", "install"),
    [
        ("linux-64", "conda", "conda_linux_64", ("conda_linux_64", "conda")),
        ("osx-arm64", "condaforge", "condaforge_osx_arm64", ("condaforge_osx_arm64", "condaforge")),
        ("win-64", "conda", "conda_win_64", ("conda_win_64", "conda")),
    ],
)
def test_default_entry(subdir: str, prefix: str, build: str, install: tuple[str, ...]) -> None:
    entry = default_entry(subdir, platform_prefix=prefix)
    assert (entry.build, entry.install, entry.source) == (build, install, "default")


def test_default_entry_rejects_a_bad_prefix() -> None:
    with pytest.raises(ConfigError, match="must match"):
        default_entry("linux-64", platform_prefix="conda-forge")


@pytest.mark.parametrize(
    ("platform", "subdir"),
    [
        ("linux_x86_64", "linux-64"),
        ("linux_aarch64", "linux-aarch64"),
        ("linux_ppc64le", "linux-ppc64le"),
        ("macosx_11_0_arm64", "osx-arm64"),
        ("macosx_10_13_x86_64", "osx-64"),
        ("win_amd64", "win-64"),
        ("win32", "win-32"),
        ("macosx_10_9_universal2", None),
        ("linux_mips", None),
    ],
)
def test_conda_subdir_for_platform(platform: str, subdir: str | None) -> None:
    assert conda_subdir_for_platform(platform) == subdir


def _cp312(platforms: list[str]) -> InterpreterTags:
    own = [
        *cpython_tags((3, 12), ["cp312"], platforms),
        *compatible_tags((3, 12), "cp312", platforms),
    ]
    return InterpreterTags("cp312", (3, 12), ("cp312",), "linux_x86_64", tuple(own))


def test_environment_tags_put_conda_first_then_the_interpreters_own() -> None:
    facts = _cp312(["linux_x86_64", "manylinux_2_17_x86_64"])
    tags = environment_tags(facts, default_entry("linux-64"))
    ordered = [str(tag) for tag in tags.ordered]
    assert ordered[:4] == [
        "cp312-cp312-conda_linux_64",
        "cp312-cp312-conda",
        "cp312-abi3-conda_linux_64",
        "cp312-abi3-conda",
    ]
    last_conda = max(i for i, tag in enumerate(ordered) if "conda" in tag)
    first_standard = ordered.index("cp312-cp312-linux_x86_64")
    assert last_conda < first_standard < ordered.index("cp312-cp312-manylinux_2_17_x86_64")
    assert ordered.index("py3-none-conda") < first_standard
    # -any tags are the interpreter's own, not conda's; every tag appears once.
    assert all(tag.platform != "any" for tag in tags.conda)
    assert len(ordered) == len(set(ordered))
    assert tags.build_platform == "conda_linux_64"
    assert tags.is_conda({Tag("py3", "none", "conda")})
    assert not tags.is_conda({Tag("py3", "none", "any"), Tag("cp312", "cp312", "linux_x86_64")})
    rank = tags.rank()
    assert rank[Tag("py3", "none", "conda")] < rank[Tag("cp312", "cp312", "manylinux_2_17_x86_64")]


def test_environment_tags_without_entry_are_the_interpreters_own() -> None:
    facts = _cp312(["linux_x86_64"])
    tags = environment_tags(facts, None)
    assert tags.conda == ()
    assert tags.ordered == facts.sys_tags
    assert not tags.is_conda(facts.sys_tags)


def test_environment_tags_for_pypy_use_generic_tags() -> None:
    facts = InterpreterTags("pp310", (3, 10), ("pypy310_pp73",), "linux_x86_64", ())
    tags = environment_tags(facts, PlatformEntry(None, ("conda_linux_64",)))
    assert [str(tag) for tag in tags.conda[:2]] == [
        "pp310-pypy310_pp73-conda_linux_64",
        "pp310-none-conda_linux_64",
    ]


def test_own_abis() -> None:
    facts = _cp312(["linux_x86_64"])
    assert own_abis("cp312", facts.sys_tags) == ("cp312",)
