"""The ``[sync]`` table of ``condawheel sync --config FILE`` (pure parsing, and the reader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condawheel.cli.sync_config import KEYS, SyncConfig, load_sync_config, parse_sync_config
from condawheel.errors import ConfigError

BASE = Path("/jobs")

FULL = """\
# the nightly job
[sync]
sources = ["https://conda.anaconda.org/conda-forge/", "../envs/work", "/srv/channel", "file:///srv/other"]
wheelhouse = "wheelhouse"
select = ["numpy >=2", "requests"]
newest = 2
subdir = ["linux-64", "noarch"]
jobs = 4
platform_prefix = "condaforge"
mapping = ["names.yaml", "/etc/condawheel/site.yaml"]
scheduler = "tcp://scheduler:8786"
prune = true

[other]
ignored = "not ours"
"""


def test_every_key_is_read_and_relative_paths_are_relative_to_the_file() -> None:
    config = parse_sync_config(FULL, origin="job.toml", base=BASE)
    assert config == SyncConfig(
        origin="job.toml",
        sources=(
            "https://conda.anaconda.org/conda-forge/",
            "/jobs/../envs/work",
            "/srv/channel",
            "file:///srv/other",
        ),
        wheelhouse=Path("/jobs/wheelhouse"),
        select=("numpy >=2", "requests"),
        newest=2,
        subdir=("linux-64", "noarch"),
        jobs=4,
        platform_prefix="condaforge",
        mapping=(Path("/jobs/names.yaml"), Path("/etc/condawheel/site.yaml")),
        scheduler="tcp://scheduler:8786",
        prune=True,
    )
    assert set(KEYS) == {
        "sources", "wheelhouse", "select", "newest", "subdir", "jobs", "platform_prefix",
        "mapping", "scheduler", "prune",
    }  # fmt: skip


def test_a_list_key_also_takes_one_string_and_absent_keys_say_nothing() -> None:
    config = parse_sync_config('[sync]\nsources = "ch"\nsubdir = "noarch"\n', origin="f", base=BASE)
    assert config.sources == ("/jobs/ch",)
    assert config.subdir == ("noarch",)
    assert (config.wheelhouse, config.jobs, config.newest, config.prune) == (None, None, None, None)
    assert (config.select, config.mapping, config.platform_prefix) == ((), (), None)


def test_the_table_may_be_written_with_dotted_keys() -> None:
    config = parse_sync_config('sync.jobs = 3\nsync.sources = ["a"]\n', origin="f", base=BASE)
    assert (config.jobs, config.sources) == (3, ("/jobs/a",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[sync]\nsources = ['a']\n\njobs = 'four'\n",
            "f:4: jobs must be a whole number of 1 or more, not a string",
        ),
        ("[sync]\njobs = 0\n", "f:2: jobs must be a whole number of 1 or more, not 0"),
        (
            "[sync]\nnewest = true\n",
            "f:2: newest must be a whole number of 1 or more, not a boolean",
        ),
        ("[sync]\nnewest = 1.5\n", "f:2: newest must be a whole number of 1 or more, not a float"),
        (
            "[sync]\nsources = 3\n",
            "f:2: sources must be a string or an array of strings, not an integer",
        ),
        (
            "[sync]\nselect = ['a', 1]\n",
            "f:2: select must be a string or an array of strings, not an array",
        ),
        (
            "[sync]\nwheelhouse = ['a']\n",
            "f:2: wheelhouse must be a non-empty string, not an array",
        ),
        (
            "[sync]\nplatform_prefix = ''\n",
            "f:2: platform_prefix must be a non-empty string, not an empty string",
        ),
        ("[sync]\nprune = 'yes'\n", "f:2: prune must be true or false, not a string"),
        (
            "[sync]\nscheduler = {address = 'x'}\n",
            "f:2: scheduler must be a non-empty string, not a table",
        ),
        (
            "[sync]\n  \"jobs\" = 'x'\n",
            "f:2: jobs must be a whole number of 1 or more, not a string",
        ),
        ("sync.prune = 1\n", "f:1: prune must be true or false, not an integer"),
    ],
    ids=lambda value: value.split("\n")[-2] if "\n" in value else value[:20],
)
def test_a_wrong_type_names_the_line_and_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_sync_config(text, origin="f", base=BASE)
    assert str(raised.value) == message


def test_an_unknown_key_names_its_line_and_the_known_ones() -> None:
    text = "[other]\nwheelhose = 1\n\n[sync]\nsources = ['a']\nwheelhose = 'W'\n"
    with pytest.raises(ConfigError) as raised:
        parse_sync_config(text, origin="job.toml", base=BASE)
    assert str(raised.value).startswith(
        "job.toml:6: unknown key 'wheelhose' in [sync] (known: sources, wheelhouse, "
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[other]\nx = 1\n", "f: no [sync] table"),
        ("sync = 3\n", "f: no [sync] table"),
        ("[sync\n", "f: not valid TOML: "),
    ],
    ids=["no-table", "not-a-table", "not-toml"],
)
def test_a_file_without_a_sync_table_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_sync_config(text, origin="f", base=BASE)
    assert str(raised.value).startswith(message)


def test_load_reads_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    job = tmp_path / "jobs" / "nightly.toml"
    job.write_text('[sync]\nsources = ["channel"]\nwheelhouse = "../W"\n', encoding="utf-8")
    config = load_sync_config(job)
    assert config.sources == (str(tmp_path / "jobs" / "channel"),)
    assert config.wheelhouse == tmp_path / "jobs" / ".." / "W"
    assert config.origin == str(job)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file or directory"), (b"\xff[sync]\n", "not UTF-8 text")],
    ids=["missing", "not-utf8"],
)
def test_load_of_an_unreadable_file(content: bytes | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / "job.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as raised:
        load_sync_config(path)
    assert str(raised.value).startswith(f"{path}: {message}")
