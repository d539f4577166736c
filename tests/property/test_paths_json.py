"""Differential tests: the quick reading of ``info/paths.json`` against the thorough one.

The quick reading (msgspec, no dict per entry) may decline a document, and then the
thorough reading (the one that names every problem) reads it; but whatever the quick
reading accepts, it must read exactly as the thorough one does, with no problem. Random
documents mix every field's valid values with wrong types, unsafe paths, duplicates,
bad digests, negative or boolean sizes, empty placeholders, JSON only :mod:`json` reads
(``NaN``), and real packages' listings must all take the quick way.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from conda_package_streaming.package_streaming import stream_conda_component
from hypothesis import given
from hypothesis import strategies as st

# The two readings are private to condameta; only their agreement is tested here.
from condawheel.conda.condameta import _parse_paths_json, _plain_paths_json, parse_package

if TYPE_CHECKING:
    from pathlib import Path

MISSING = object()
DIGEST = "0123456789abcdef" * 4
# What each field may hold in a document both readings accept, and what it may not.
VALID: dict[str, list[object]] = {
    "_path": ["lib/a.so", "bin/x", "./lib/b", "site-packages/p/__init__.py", "sp ace/\u00e9"],
    "path_type": [MISSING, "hardlink", "softlink", "directory"],
    "sha256": [MISSING, DIGEST, None],
    "size_in_bytes": [MISSING, 0, 10, None, 2**70],
    "prefix_placeholder": [MISSING, "/opt/build_env", None],
    "file_mode": [MISSING, "text", "binary", None],
    "no_link": [MISSING, True, False],
    "extra": [MISSING],
}
WRONG: dict[str, list[object]] = {
    "_path": [MISSING, "../up", "/abs", "a//b", "", "a\\b", "C:/x", "a/./b", "nul\x00", None, 7],
    "path_type": ["weird", None, 1],
    "sha256": [DIGEST.upper(), DIGEST[:10], DIGEST + "\n", 5],
    "size_in_bytes": [-1, True, 1.5, 2.0, "3", float("nan")],
    "prefix_placeholder": ["", 3],
    "file_mode": ["other", 1],
    "no_link": [1, "true", None, [True]],
    "extra": ["ignored", {"nested": [1, 2]}],
}


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A valid listing, then (one time in two) one thing made wrong in it."""
    paths: list[object] = []
    for number in range(draw(st.integers(0, 4))):
        entry = {key: draw(st.sampled_from(values)) for key, values in VALID.items()}
        entry["_path"] = f"{entry['_path']}{number}"  # unique
        paths.append(entry)
    document: dict[str, object] = {"paths_version": 1, "paths": paths}
    change = draw(st.sampled_from(["none", "none", *["field"] * 5, "entry", "top", "twice"]))
    if change == "field" and paths:
        entry = draw(st.sampled_from(paths))
        key = draw(st.sampled_from(sorted(WRONG)))
        entry[key] = draw(st.sampled_from(WRONG[key]))
    elif change == "entry":
        paths.insert(
            draw(st.integers(0, len(paths))), draw(st.sampled_from([5, "lib/a", [], None]))
        )
    elif change == "top":
        document[draw(st.sampled_from(["paths_version", "paths"]))] = draw(
            st.sampled_from([2, True, 1.0, None, "1", {"not": "a list"}])
        )
    elif change == "twice" and paths:
        paths.append(dict(draw(st.sampled_from(paths))))
    text = json.dumps(
        {**document, "paths": [
            {key: value for key, value in entry.items() if value is not MISSING}
            if isinstance(entry, dict) else entry
            for entry in paths
        ]}
    )  # fmt: skip
    if draw(st.booleans()):  # a duplicate key: the last one wins in both readings
        text = text.replace('"_path":', '"_path": "lib/first", "_path":', 1)
    return text.encode()


def _thorough(data: bytes) -> tuple[object, list[str]]:
    problems: list[str] = []
    return _parse_paths_json({"paths.json": data}, problems), problems


@given(documents())
def test_what_the_quick_reading_accepts_it_reads_as_the_thorough_one(data: bytes) -> None:
    quick = _plain_paths_json(data)
    if quick is not None:
        assert _thorough(data) == (quick, [])


@pytest.mark.parametrize(
    ("key", "value"),
    [(key, value) for key, values in WRONG.items() for value in values],
    ids=lambda item: repr(item)[:20],
)
def test_each_wrong_value_is_declined_or_read_alike(key: str, value: object) -> None:
    entry = {"_path": "lib/a.so", "sha256": DIGEST, "size_in_bytes": 3, key: value}
    listing = [{key: item for key, item in entry.items() if item is not MISSING}]
    data = json.dumps({"paths_version": 1, "paths": listing}).encode()
    quick = _plain_paths_json(data)
    assert quick is None or _thorough(data) == (quick, [])


@given(st.lists(st.sampled_from(["lib/a.so", "bin/x", "./etc/c", "share/d e/é"]), unique=True))
def test_plain_listings_take_the_quick_way(paths: list[str]) -> None:
    entries = [{"_path": path, "path_type": "hardlink", "sha256": DIGEST, "size_in_bytes": 1}
               for path in paths]  # fmt: skip
    data = json.dumps({"paths_version": 1, "paths": entries}).encode()
    quick = _plain_paths_json(data)
    assert quick is not None
    assert _thorough(data) == (quick, [])


@pytest.mark.corpus
def test_every_corpus_listing_takes_the_quick_way(corpus: Path) -> None:
    read = 0
    for package in sorted((corpus / "channel").rglob("*.conda")):
        with package.open("rb") as stream:
            for tar, member in stream_conda_component(package.name, stream, "info"):
                if member.name == "info/paths.json":
                    data = tar.extractfile(member).read()
                    quick = _plain_paths_json(data)
                    assert quick is not None, package.name
                    assert _thorough(data) == (quick, []), package.name
                    read += 1
    assert read > 10


def test_a_listing_the_quick_reading_declines_is_still_read() -> None:
    # paths_version true equals 1 for the thorough reading, which conda's also accepts.
    data = b'{"paths_version": true, "paths": [{"_path": "lib/a", "size_in_bytes": 2}]}'
    assert _plain_paths_json(data) is None
    files = {"paths.json": data, "index.json": b'{"name": "a", "version": "1", "build": "0",'
             b' "build_number": 0, "subdir": "linux-64"}'}  # fmt: skip
    assert [entry.path for entry in parse_package("a", files).paths] == ["lib/a"]
