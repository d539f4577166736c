"""Tests for condawheel.wheelhouse.repodata: streamed, selection-first, bounded repodata reading."""

from __future__ import annotations

import bz2
import json
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condawheel.errors import SourceError
from condawheel.io.compressed import Encoding, decompressed
from condawheel.wheelhouse import repodata as repodata_module
from condawheel.wheelhouse.artifacts import NameFilter
from condawheel.wheelhouse.repodata import (
    MAX_VALUE_BYTES,
    NOT_A_FILENAME,
    V3_WHEEL,
    RecordProblem,
    Repodata,
    parse_repodata,
    read_repodata,
)

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

SHA = "ab" * 32


def record(
    name: str, version: str = "1.0", build: str = "h0_0", **extra: object
) -> dict[str, object]:
    return {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "depends": ["python >=3.9"],
        "sha256": SHA,
        "md5": "cd" * 16,
        "size": 10,
        "subdir": "linux-64",
        **extra,
    }


def document(count: int = 5) -> dict[str, object]:
    return {
        "info": {"subdir": "linux-64"},
        "packages": {"old-1.0-h0_0.tar.bz2": record("old")},
        "packages.conda": {
            f"pkg{n}-1.{n}-h0_0.conda": record(f"pkg{n}", f"1.{n}") for n in range(count)
        },
        "removed": ["gone-1-0.conda"],
        "repodata_version": 1,
    }


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def names(repodata: Repodata) -> list[str]:
    return sorted(item.filename for item in repodata.records)


def test_records_are_read_with_the_fields_condawheel_uses() -> None:
    repodata = parse_repodata(json.dumps(document()).encode(), subdir="linux-64", where="r")

    assert names(repodata) == [
        "old-1.0-h0_0.tar.bz2",
        *(f"pkg{n}-1.{n}-h0_0.conda" for n in range(5)),
    ]
    pkg = next(item for item in repodata.records if item.name == "pkg3")
    assert (pkg.version, pkg.build, pkg.build_number, pkg.size) == ("1.3", "h0_0", 0, 10)
    assert (pkg.sha256, pkg.md5, pkg.subdir, pkg.revision) == (SHA, "cd" * 16, "linux-64", None)
    assert pkg.dependencies is not None
    assert pkg.dependencies.depends == ("python >=3.9",)
    assert repodata.problems == ()


@given(
    chunk=st.integers(min_value=1, max_value=4096),
    indent=st.sampled_from([None, 0, 1, 2, 4]),
    count=st.integers(min_value=0, max_value=40),
)
def test_any_chunking_and_layout_reads_the_same_records(
    chunk: int, indent: int | None, count: int
) -> None:
    data = json.dumps(document(count), indent=indent, sort_keys=indent == 2).encode()
    whole = parse_repodata(data, subdir="linux-64", where="r")

    assert read_repodata(chunked(data, chunk), subdir="linux-64", where="r") == whole
    assert len(whole.records) == count + 1


def test_selection_first_reads_and_reports_only_wanted_names() -> None:
    doc = document(50)
    packages = doc["packages.conda"]
    assert isinstance(packages, dict)
    packages["broken-1-0.conda"] = "not a record"
    packages["bad name!-1-0.conda"] = record("x")
    packages["pkg7-9.9-h0_0.conda"] = {"name": "pkg7"}  # selected, and lacking fields
    data = json.dumps(doc).encode()

    selected = parse_repodata(
        data, subdir="linux-64", where="r", wanted=NameFilter(frozenset({"pkg7"}))
    )

    assert names(selected) == ["pkg7-1.7-h0_0.conda"]
    assert selected.problems == (
        RecordProblem("pkg7-9.9-h0_0.conda", "its repodata record lacks version"),
    )
    everything = parse_repodata(data, subdir="linux-64", where="r")
    assert {problem.filename for problem in everything.problems} == {
        "broken-1-0.conda",
        "bad name!-1-0.conda",
        "pkg7-9.9-h0_0.conda",
    }
    globbed = parse_repodata(
        data, subdir="linux-64", where="r", wanted=NameFilter(frozenset(), ("pkg4*",))
    )
    assert names(globbed) == [
        "pkg4-1.4-h0_0.conda",
        *(f"pkg{n}-1.{n}-h0_0.conda" for n in range(40, 50)),
    ]


def test_text_that_looks_like_a_cut_between_records_is_not_one() -> None:
    # A string holding "}, "<name>-<v>-<b>.conda": {" and a nested object followed by a
    # key with two dashes: the fast cut fails there, and the records are read exactly.
    tricky = '}, "evil-1-0.conda": {"name": "evil", "version": "1", "build": "0"'
    doc = {
        "packages.conda": {
            "a-1-h0_0.conda": record("a", "1", license=tricky),
            "b-1-h0_0.conda": record("b", "1", extra={"x-y-z": {"k": 1}, "p-q-r": {"k": 2}}),
            "c-1-h0_0.conda": record("c", "1"),
        }
    }
    data = json.dumps(doc).encode()

    for size in (7, 64, len(data)):
        repodata = read_repodata(chunked(data, size), subdir="linux-64", where="r")
        assert names(repodata) == ["a-1-h0_0.conda", "b-1-h0_0.conda", "c-1-h0_0.conda"]


@pytest.mark.parametrize(
    ("filename", "why"),
    [
        ("file:%2Ftmp%2Fsecret%2Fprivate-1.0-h0_0.conda", NOT_A_FILENAME),
        ("../up-1.0-h0_0.conda", NOT_A_FILENAME),
        ("sub/dir-1.0-h0_0.conda", NOT_A_FILENAME),
        ("ok-1.0-h0_0.whl", NOT_A_FILENAME),
        ("x" * 200 + "-1.0-h0_0.conda", NOT_A_FILENAME),
    ],
    ids=["file-url", "dotdot", "slash", "wheel", "too-long"],
)
def test_file_names_must_be_cep26_file_names(filename: str, why: str) -> None:
    data = json.dumps({"packages.conda": {filename: record("ok")}}).encode()

    repodata = parse_repodata(data, subdir="noarch", where="r")

    assert repodata.records == ()
    assert repodata.problems == (RecordProblem(filename, why),)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"sha256": "../.."}, "its repodata record's sha256 is not 64 hexadecimal digits"),
        ({"md5": "x" * 32}, "its repodata record's md5 is not 32 hexadecimal digits"),
        ({"subdir": ".."}, "its repodata record's subdir '..' is not a conda subdir (CEP 26)"),
        ({"name": "other"}, "its repodata record is other-1.0-h0_0, not what its file name says"),
        (
            {"size": "big"},
            "its repodata record's 'size' is not valid (Expected `int | null`, got `str`)",
        ),
        ({"depends": [["x"]]}, "its repodata record's 'depends' is not a list of strings"),
        ({"version": ""}, "its repodata record lacks version"),
    ],
    ids=["sha256", "md5", "subdir", "name", "size", "depends", "empty-version"],
)
def test_record_fields_are_checked(fields: dict[str, object], why: str) -> None:
    data = json.dumps(
        {"packages.conda": {"ok-1.0-h0_0.conda": {**record("ok"), **fields}}}
    ).encode()

    repodata = parse_repodata(data, subdir="noarch", where="r")

    assert repodata.problems == (RecordProblem("ok-1.0-h0_0.conda", why),)


def test_a_record_that_is_no_object_and_an_empty_document() -> None:
    data = b'{"packages.conda": {"a-1-0.conda": [1], "b-1-h0_0.conda": {}}}'
    repodata = parse_repodata(data, subdir="noarch", where="r")
    assert repodata.records == ()
    assert repodata.problems[0] == RecordProblem(
        "a-1-0.conda", "its repodata record is not an object"
    )
    assert parse_repodata(b" {} ", subdir="noarch", where="r").records == ()


def test_the_v3_section_adds_records_and_notes_wheels() -> None:
    doc = document(1)
    doc["v3"] = {
        "conda": {
            "pkg0-1.0-h0_0": record(
                "pkg0",
                depends=['python[when="__unix"]'],
                extra_depends={"test": ["pytest >=8"]},
                flags=["cuda", "blas:mkl", "Not A Flag"],
                purls=["pkg:pypi/pkg-zero"],
            ),
            "new-2-h1_0": record("new", "2", "h1_0"),
        },
        "tar.bz2": {},
        "whl": {"requests-2.32.5-py3-none-any": record("requests", "2.32.5", "py3_0")},
        "future": {"odd-1-0": record("odd", "1", "0")},
    }
    repodata = parse_repodata(json.dumps(doc, indent=1).encode(), subdir="linux-64", where="r")

    assert names(repodata) == ["new-2-h1_0.conda", "old-1.0-h0_0.tar.bz2", "pkg0-1.0-h0_0.conda"]
    v3 = next(item for item in repodata.records if item.name == "pkg0")
    assert v3.revision == "v3"  # the v3 record replaces the v1 record of the same file
    assert v3.dependencies is not None
    assert v3.dependencies.depends == ('python[when="__unix"]',)
    assert v3.dependencies.extra_depends == (("test", ("pytest >=8",)),)
    assert (v3.flags, v3.purls) == (("cuda", "blas:mkl"), ("pkg:pypi/pkg-zero",))
    assert repodata.problems == (
        RecordProblem("requests-2.32.5-py3-none-any.whl", V3_WHEEL, "skipped"),
    )


def test_documents_that_are_not_repodata_are_one_line_errors() -> None:
    cases = {
        b"": "repodata must be a JSON object",
        b"[1]": "repodata must be a JSON object",
        b'{"packages": []}': "'packages' must be an object of file name -> record",
        b'{"packages": {"a-1-0.conda": {}': "not valid JSON (cut short at byte 31)",
        b'{"info": {}} trailing': "not valid JSON (trailing data at byte 13)",
        b'{"info": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}": "its info is not valid JSON (nested too deeply)",
        b'{"packages.conda": {"a-1-0.conda": {"name": "a\xff"}}}': "not valid JSON",
        b'{"packages" 1}': "not valid JSON (expected ':' at byte 12)",
        b'{"info": {} "x": 1}': "not valid JSON (expected ',' or '}' at byte 12)",
        b"{1: 2}": "not valid JSON (expected a string at byte 1)",
        b'{"a\\q": 1}': "not valid JSON (JSON is malformed: invalid escape character",
        b'{"\xff": 1}': "not valid JSON (Invalid UTF-8 encoded string at byte 1)",
        b'{"packages.conda": {"a-1-0.conda": 1 "b": 2}}': (
            "not valid JSON (expected ',' or '}' at byte 37)"
        ),
    }
    for data, why in cases.items():
        with pytest.raises(SourceError) as raised:
            parse_repodata(data, subdir="noarch", where="channel/noarch/repodata.json")
        assert raised.value.subject == "channel/noarch/repodata.json"
        assert raised.value.reason.startswith(why), (data[:40], raised.value.reason)
        assert "\n" not in str(raised.value)


def test_deep_nesting_in_a_record_is_that_records_problem() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    data = (
        '{"packages.conda": {"a-1-h0_0.conda": {"name": "a", "version": "1", "build": "h0_0", '
        f'"depends": {deep}}}, "b-1-h0_0.conda": {json.dumps(record("b", "1"))}}}}}'
    ).encode()

    repodata = parse_repodata(data, subdir="noarch", where="r")

    assert names(repodata) == ["b-1-h0_0.conda"]
    [problem] = repodata.problems
    assert problem.filename == "a-1-h0_0.conda"


def test_one_value_may_not_exceed_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_VALUE_BYTES == 64 << 20
    monkeypatch.setattr(repodata_module, "MAX_VALUE_BYTES", 1 << 20)  # a faster test
    huge = b'{"removed": ["' + b"x" * (1 << 20) + b'"]}'

    with pytest.raises(SourceError, match="is larger than the limit of 1 MiB"):
        read_repodata(chunked(huge, 1 << 16), subdir="noarch", where="r")
    fits = b'{"removed": ["' + b"x" * ((1 << 20) - 10) + b'"]}'
    assert read_repodata(chunked(fits, 1 << 16), subdir="noarch", where="r").records == ()


def test_decompression_is_bounded_and_stops_at_the_limit() -> None:
    # Issue 16, finding 5: 50 KB of .zst used to expand whole in memory.
    bomb = zstd.compress(b"{" + b" " * (64 << 20))
    assert len(bomb) < 50_000
    produced = 0
    with pytest.raises(SourceError) as raised:
        for chunk in decompressed([bomb], "zst", limit=8 << 20, where="r.json.zst"):
            assert len(chunk) <= 1 << 20
            produced += len(chunk)
    assert raised.value.reason == "decompresses to more than the limit of 8 MiB"
    assert produced <= 8 << 20
    with pytest.raises(SourceError, match="cut short"):
        list(decompressed([bomb[:1000]], "zst", limit=1 << 30, where="r.json.zst"))
    with pytest.raises(SourceError, match="cannot decompress"):
        list(decompressed([b"not zstd at all"], "zst", limit=1 << 30, where="r.json.zst"))
    two_frames = zstd.compress(b'{"info": ') + zstd.compress(b"{}}")
    assert b"".join(decompressed([two_frames], "zst", limit=100, where="r")) == b'{"info": {}}'


def test_a_document_keeps_a_bounded_number_of_records() -> None:
    # Issue 16, finding 5: the 2 GiB limit on the bytes is no limit on memory, which
    # grows with the records kept (about a kilobyte each, however short their JSON).
    records = {
        f"a{n}-1-0.conda": {"name": f"a{n}", "version": "1", "build": "0"} for n in range(99)
    }
    data = json.dumps({"packages": {"no name.tar.bz2": {}}, "packages.conda": records}).encode()

    kept = read_repodata(chunked(data, 64), subdir="noarch", where="r", max_records=100)
    assert (len(kept.records), len(kept.problems)) == (99, 1)
    with pytest.raises(SourceError) as raised:
        read_repodata(chunked(data, 64), subdir="noarch", where="r", max_records=99)
    assert raised.value.reason == "lists more than 99 records, the limit for one subdir"
    # What a selection leaves out is never kept, so it does not count.
    selected = read_repodata(
        [data], subdir="noarch", where="r", wanted=NameFilter(frozenset({"a7"})), max_records=1
    )
    assert [record.name for record in selected.records] == ["a7"]


@pytest.mark.parametrize("encoding", ["zst", "bz2"])
@pytest.mark.parametrize("chunk_size", [1 << 30, 1 << 16, 7], ids=["whole", "64KiB", "7B"])
def test_a_frame_longer_than_one_step_is_followed_by_the_next(
    encoding: Encoding, chunk_size: int
) -> None:
    # pzstd and pbzip2 write several frames (streams). A frame whose output takes more
    # than one 1 MiB step used to end while being drained, and the rest of the input,
    # the next frames, was silently dropped: repodata came out cut short.
    compress = zstd.compress if encoding == "zst" else bz2.compress
    parts = [b'{"packages": {}, "x": "' + b"a" * (3 << 20), b"b" * 10, b'"}']
    data = b"".join(compress(part) for part in parts)
    out = b"".join(decompressed(chunked(data, chunk_size), encoding, limit=1 << 30, where="r"))
    assert out == b"".join(parts)
    document = read_repodata(
        decompressed(chunked(data, chunk_size), encoding, limit=1 << 30, where="r"),
        subdir="noarch",
        where="r",
    )
    assert document.records == ()
