"""The one conda-meta record reader, and what each of its readers makes of a bad record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from condawheel.binaries.providers import load_providers
from condawheel.env.prefix import read_conda_meta
from condawheel.errors import InstallError, InvalidRecord
from condawheel.io.conda_meta import (
    MAX_RECORD_SIZE,
    PrefixRecord,
    parse_prefix_record,
    prefix_record_files,
    read_prefix_record,
)
from condawheel.wheelhouse.environments import list_environment
from condawheel.wheelhouse.sync import SyncOptions, sync

RECORD = Path("conda-meta/zstd-1.5.6-ha6fb4c9_0.json")
DEEP = b'{"name": "zstd", "depends": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _parse(document: object) -> PrefixRecord:
    return parse_prefix_record(RECORD, json.dumps(document).encode())


def test_a_record_as_conda_writes_it() -> None:
    record = _parse(
        {
            "name": "zstd",
            "version": "1.5.6",
            "build": "ha6fb4c9_0",
            "subdir": "linux-64",
            "files": ["lib/libzstd.so.1", "Library\\bin\\zstd.dll"],
            "sha256": "ab" * 32,
        }
    )
    assert (record.name, record.version, record.build, record.subdir) == (
        "zstd",
        "1.5.6",
        "ha6fb4c9_0",
        "linux-64",
    )
    assert record.files == ("lib/libzstd.so.1", "Library/bin/zstd.dll")
    assert (record.dist_name, record.record_file) == ("zstd-1.5.6-ha6fb4c9_0", RECORD.name)
    assert record.document["sha256"] == "ab" * 32


def test_older_and_newer_record_shapes() -> None:
    older = _parse(
        {"name": "a", "version": "1", "build": "0", "url": "https://x/c/osx-arm64/a-1-0.conda"}
    )
    assert (older.subdir, older.files) == ("osx-arm64", ())
    newer = _parse(
        {"name": "a", "version": "1", "build": "0", "paths_data": {"paths": [{"_path": "bin/a"}]}}
    )
    assert newer.files == ("bin/a",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{", "unreadable conda-meta record: not valid JSON (Expecting"),
        (b"\xff", "unreadable conda-meta record: not UTF-8"),
        (DEEP, "unreadable conda-meta record: not valid JSON (nested too deeply)"),
        (b"[]", "conda-meta record is not a JSON object"),
        (b'{"version": "1", "build": "0"}', "conda-meta record has no string 'name'"),
        (
            b'{"name": "a", "version": "", "build": "0"}',
            "conda-meta record has no string 'version'",
        ),
        (
            b'{"name": "a", "version": "1", "build": "0", "files": "lib/a"}',
            "conda-meta record's 'files' is not a list of paths",
        ),
        (
            b'{"name": "a", "version": "1", "build": "0", "paths_data": {"paths": [{}]}}',
            "conda-meta record's 'files' is not a list of paths",
        ),
    ],
    ids=[
        "truncated",
        "not-utf8",
        "deep",
        "not-object",
        "no-name",
        "empty-version",
        "files",
        "paths-data",
    ],
)
def test_a_bad_record_is_one_line_naming_the_file(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_prefix_record(RECORD, data)
    assert str(caught.value).startswith(f"{RECORD}: {reason}")
    assert "\n" not in str(caught.value)


def test_reading_is_bounded_and_lists_only_records(tmp_path: Path) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "history").write_text("==> 2024-01-01 <==\n")
    (meta / "b-1-0.json").write_text('{"name": "b", "version": "1", "build": "0"}')
    (meta / "a-1-0.json").write_text('{"name": "a", "version": "1", "build": "0"}')
    assert [path.name for path in prefix_record_files(tmp_path)] == ["a-1-0.json", "b-1-0.json"]
    assert read_prefix_record(meta / "a-1-0.json").name == "a"
    with pytest.raises(InvalidRecord, match="unreadable conda-meta record: No such file"):
        read_prefix_record(meta / "missing.json")
    huge = meta / "huge-1-0.json"
    with huge.open("wb") as handle:
        handle.truncate(MAX_RECORD_SIZE + 1)  # sparse: nothing of it is in memory or on disk
    with pytest.raises(InvalidRecord, match=f"larger than {MAX_RECORD_SIZE} bytes"):
        read_prefix_record(huge)
    with pytest.raises(FileNotFoundError):
        prefix_record_files(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        # Opening a FIFO for reading the usual way would block for ever.
        ("fifo", "conda-meta record is not a regular file"),
        ("folder", "unreadable conda-meta record: Is a directory"),
    ],
)
def test_what_is_no_regular_file_is_refused_without_reading_it(
    tmp_path: Path, kind: str, reason: str
) -> None:
    record = tmp_path / "conda-meta" / "zstd-1.5.6-ha6fb4c9_0.json"
    record.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(record)
    else:
        record.mkdir()
    with pytest.raises(InstallError) as caught:
        read_conda_meta(tmp_path)
    assert str(caught.value) == f"{record}: {reason}"


def _environment_with_a_deep_record(tmp_path: Path) -> Path:
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "zstd-1.5.6-ha6fb4c9_0.json").write_bytes(DEEP)
    return prefix


def test_every_reader_of_an_environment_says_which_record_is_too_deep(tmp_path: Path) -> None:
    # Issue 16, finding 6: deep nesting raised RecursionError, a traceback in sync and tags.
    prefix = _environment_with_a_deep_record(tmp_path)
    record = prefix / "conda-meta" / "zstd-1.5.6-ha6fb4c9_0.json"
    why = "unreadable conda-meta record: not valid JSON (nested too deeply)"
    with pytest.raises(InstallError) as caught:
        read_conda_meta(prefix)
    assert str(caught.value) == f"{record}: {why}"
    [problem] = list_environment(prefix).problems
    assert (problem.location, problem.reason) == (str(record.resolve()), why)
    assert load_providers([prefix]).warnings == (f"{record}: {why}; skipped",)


def test_a_sync_of_that_environment_fails_that_record_only(tmp_path: Path) -> None:
    prefix = _environment_with_a_deep_record(tmp_path)
    report = sync([str(prefix)], tmp_path / "wheelhouse", SyncOptions(jobs=1, system_config=None))
    [outcome] = report.outcomes
    assert (outcome.status, outcome.filename) == ("failed", "zstd-1.5.6-ha6fb4c9_0.json")
    assert outcome.reason == "unreadable conda-meta record: not valid JSON (nested too deeply)"
