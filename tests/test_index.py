"""Tests for condawheel.wheelhouse.index: golden pages, escaping, incremental runs, real pip."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pytest

from condawheel.errors import WheelhouseError
from condawheel.wheelhouse import (
    CACHE_PATH,
    FileStamp,
    IndexedWheel,
    build_index,
    index_wheelhouse,
    read_cache,
    scan_wheelhouse,
    write_index,
)
from condawheel.wheelhouse.index import metadata_file_name
from condawheel.wheelhouse.views import VIEW_DIRS
from syncing import pip_command

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from io import BytesIO
    from pathlib import Path
    from typing import BinaryIO

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64

# ---------------------------------------------------------------- helpers


def make_wheel(
    directory: Path,
    filename: str,
    *,
    requires_python: str | None = None,
    requires: Sequence[str] = (),
    metadata: bytes | None = None,
) -> Path:
    """Write a small, valid, reproducible wheel (PEP 427) and return its path."""
    name, version = filename.split("-")[:2]
    dist_info = f"{name}-{version}.dist-info"
    if metadata is None:
        lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        if requires_python is not None:
            lines.append(f"Requires-Python: {requires_python}")
        lines.extend(f"Requires-Dist: {requirement}" for requirement in requires)
        metadata = ("\n".join(lines) + "\n").encode()
    tag = "-".join(filename.removesuffix(".whl").split("-")[-3:])
    members = {
        f"{name.lower()}/__init__.py": b"",
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ).encode(),
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in members.items()
    ]
    members[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,", ""]).encode()
    return write_zip(directory / filename, members)


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        [member] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(member)


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``directory`` -> (inode, mtime_ns): what a rewrite would change."""
    return {
        path.relative_to(directory).as_posix(): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


# ---------------------------------------------------------------- golden output


GOLDEN_ROOT_HTML = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="pypi:repository-version" content="1.1">
<title>Simple index</title>
</head>
<body>
<a href="conda-pkg/">conda-pkg</a><br>
<a href="demo/">demo</a><br>
</body>
</html>
"""

GOLDEN_ROOT_JSON = """\
{
  "meta": {
    "api-version": "1.1"
  },
  "projects": [
    {
      "name": "conda-pkg"
    },
    {
      "name": "demo"
    }
  ]
}
"""

GOLDEN_DEMO_HTML = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="pypi:repository-version" content="1.1">
<title>Links for demo</title>
</head>
<body>
<h1>Links for demo</h1>
<a href="../../demo-1.0-py3-none-any.whl#sha256={sha}" data-requires-python="&gt;=3.8,&lt;4" \
data-core-metadata="sha256={meta}" data-dist-info-metadata="sha256={meta}">\
demo-1.0-py3-none-any.whl</a><br>
</body>
</html>
"""

GOLDEN_DEMO_JSON = """\
{{
  "files": [
    {{
      "core-metadata": {{
        "sha256": "{meta}"
      }},
      "filename": "demo-1.0-py3-none-any.whl",
      "hashes": {{
        "sha256": "{sha}"
      }},
      "requires-python": ">=3.8,<4",
      "size": {size},
      "url": "../../demo-1.0-py3-none-any.whl"
    }}
  ],
  "meta": {{
    "api-version": "1.1"
  }},
  "name": "demo",
  "versions": [
    "1.0"
  ]
}}
"""

GOLDEN_CONDA_HTML = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="pypi:repository-version" content="1.1">
<title>Links for conda-pkg</title>
</head>
<body>
<h1>Links for conda-pkg</h1>
<a href="../../conda_pkg-2.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl#sha256={sha}" \
data-core-metadata="sha256={meta}" data-dist-info-metadata="sha256={meta}">\
conda_pkg-2.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl</a><br>
</body>
</html>
"""

GOLDEN_CONDA_JSON = """\
{{
  "files": [
    {{
      "core-metadata": {{
        "sha256": "{meta}"
      }},
      "filename": "conda_pkg-2.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl",
      "hashes": {{
        "sha256": "{sha}"
      }},
      "size": {size},
      "url": "../../conda_pkg-2.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl"
    }}
  ],
  "meta": {{
    "api-version": "1.1"
  }},
  "name": "conda-pkg",
  "versions": [
    "2.1"
  ]
}}
"""

DEMO = "demo-1.0-py3-none-any.whl"
CONDA = "conda_pkg-2.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl"


@pytest.fixture
def two_wheels(tmp_path: Path) -> Path:
    make_wheel(tmp_path, DEMO, requires_python=">=3.8,<4")
    make_wheel(tmp_path, CONDA)
    return tmp_path


def _golden(template: str, wheel: Path) -> bytes:
    meta = hashlib.sha256(read_metadata(wheel)).hexdigest()
    text = template.format(sha=sha256_of(wheel), meta=meta, size=wheel.stat().st_size)
    return text.encode("ascii")


class TestGolden:
    def test_the_whole_tree_is_exactly_these_bytes(self, two_wheels: Path) -> None:
        update = index_wheelhouse(two_wheels)

        assert update.skipped == ()
        expected = {
            "simple/index.html": GOLDEN_ROOT_HTML.encode(),
            "simple/index.json": GOLDEN_ROOT_JSON.encode(),
            "simple/demo/index.html": _golden(GOLDEN_DEMO_HTML, two_wheels / DEMO),
            "simple/demo/index.json": _golden(GOLDEN_DEMO_JSON, two_wheels / DEMO),
            "simple/conda-pkg/index.html": _golden(GOLDEN_CONDA_HTML, two_wheels / CONDA),
            "simple/conda-pkg/index.json": _golden(GOLDEN_CONDA_JSON, two_wheels / CONDA),
        }
        for relative, content in expected.items():
            assert (two_wheels / relative).read_bytes() == content, relative
        for wheel in (DEMO, CONDA):
            # PEP 658: the metadata file is the METADATA member, byte for byte.
            assert (two_wheels / f"{wheel}.metadata").read_bytes() == read_metadata(
                two_wheels / wheel
            )
        published = {
            p.relative_to(two_wheels).as_posix() for p in two_wheels.rglob("*") if p.is_file()
        }
        # The views: the same project pages, split by conda tags; the same relative URLs.
        views = {
            "simple-plain/demo/index.html": "simple/demo/index.html",
            "simple-plain/demo/index.json": "simple/demo/index.json",
            "simple-conda/conda-pkg/index.html": "simple/conda-pkg/index.html",
            "simple-conda/conda-pkg/index.json": "simple/conda-pkg/index.json",
        }
        for view, page in views.items():
            assert (two_wheels / view).read_bytes() == expected[page], view
        roots = {f"{root}/index.{kind}" for root in VIEW_DIRS for kind in ("html", "json")}
        assert json.loads((two_wheels / "simple-plain/index.json").read_bytes())["projects"] == [
            {"name": "demo"}
        ]
        assert json.loads((two_wheels / "simple-conda/index.json").read_bytes())["projects"] == [
            {"name": "conda-pkg"}
        ]
        # Project pages before the project list, in each view.
        assert update.views_written == (
            "simple-plain/demo/index.html",
            "simple-plain/demo/index.json",
            "simple-plain/index.html",
            "simple-plain/index.json",
            "simple-conda/conda-pkg/index.html",
            "simple-conda/conda-pkg/index.json",
            "simple-conda/index.html",
            "simple-conda/index.json",
        )
        assert published == {
            *expected,
            *views,
            *roots,
            DEMO,
            CONDA,
            f"{DEMO}.metadata",
            f"{CONDA}.metadata",
            CACHE_PATH,
            "index.html",  # the front page, after the index pages (test_frontpage.py)
        }
        assert update.written == (
            f"{CONDA}.metadata",
            f"{DEMO}.metadata",
            *sorted(p for p in expected if p.count("/") == 2),
            "simple/index.html",
            "simple/index.json",
            "index.html",
        )
        assert update.projects_written == ("conda-pkg", "demo")

    def test_build_index_is_pure_and_order_independent(self) -> None:
        wheels = [
            IndexedWheel(f"demo-{v}-py3-none-any.whl", 10 + i, SHA_A, SHA_B)
            for i, v in enumerate(["1.10", "1.9", "1.0.post1", "2.0rc1", "1.0"])
        ]
        shuffled = [*reversed(wheels[2:]), *wheels[:2]]

        assert build_index(wheels) == build_index(shuffled)
        page = json.loads(build_index(wheels)["simple/demo/index.json"])
        # PEP 440 order, not lexical order.
        assert page["versions"] == ["1.0", "1.0.post1", "1.9", "1.10", "2.0rc1"]
        assert [f["filename"] for f in page["files"]] == [
            f"demo-{v}-py3-none-any.whl" for v in page["versions"]
        ]

    def test_empty_wheelhouse_has_an_empty_project_list(self) -> None:
        files = build_index([])

        assert set(files) == {"simple/index.html", "simple/index.json"}
        assert json.loads(files["simple/index.json"])["projects"] == []


# ---------------------------------------------------------------- escaping


class TestEscaping:
    def test_hostile_file_name_and_requires_python(self) -> None:
        # A build tag may hold any character but "-"; PEP 440 local versions carry "+".
        filename = "Odd.Name_x-1.0+cpu-1<b>&\"'#%?-py3-none-any.whl"
        wheel = IndexedWheel(filename, 1, SHA_A, SHA_B, requires_python='>=3.8,<4,!="x"&')

        files = build_index([wheel])
        page = files["simple/odd-name-x/index.html"].decode("ascii")

        quoted = "Odd.Name_x-1.0%2Bcpu-1%3Cb%3E%26%22%27%23%25%3F-py3-none-any.whl"
        assert f'href="../../{quoted}#sha256={SHA_A}"' in page
        assert 'data-requires-python="&gt;=3.8,&lt;4,!=&quot;x&quot;&amp;"' in page
        assert ">Odd.Name_x-1.0+cpu-1&lt;b&gt;&amp;&quot;&#x27;#%?-py3-none-any.whl</a>" in page
        document = json.loads(files["simple/odd-name-x/index.json"])
        [entry] = document["files"]
        assert entry["url"] == f"../../{quoted}"
        assert entry["filename"] == filename
        assert entry["requires-python"] == '>=3.8,<4,!="x"&'

    def test_non_ascii_is_escaped_so_pages_are_pure_ascii(self) -> None:
        wheel = IndexedWheel("demo-1.0-1é-py3-none-any.whl", 1, SHA_A, SHA_B, "≥3")

        files = build_index([wheel])

        for content in files.values():
            content.decode("ascii")
        page = files["simple/demo/index.html"].decode("ascii")
        assert "demo-1.0-1%C3%A9-py3-none-any.whl#" in page
        assert 'data-requires-python="&#8805;3"' in page
        assert json.loads(files["simple/demo/index.json"])["files"][0]["requires-python"] == "≥3"

    @pytest.mark.parametrize(
        ("wheel", "message"),
        [
            pytest.param(
                IndexedWheel("demo-1.0.whl", 1, SHA_A, SHA_B), "not a valid wheel", id="name"
            ),
            pytest.param(
                IndexedWheel("-1.0-py3-none-any.whl", 1, SHA_A, SHA_B), "not a valid", id="empty"
            ),
            pytest.param(
                IndexedWheel("démo-1.0-py3-none-any.whl", 1, SHA_A, SHA_B), "invalid", id="unicode"
            ),
            pytest.param(IndexedWheel(DEMO, 1, "A" * 64, SHA_B), "sha256 'AAAA", id="upper-hex"),
            pytest.param(
                IndexedWheel(DEMO, 1, SHA_A, '"><script>'), "metadata_sha256", id="inject"
            ),
        ],
    )
    def test_invalid_entries_are_refused(self, wheel: IndexedWheel, message: str) -> None:
        with pytest.raises(WheelhouseError, match=re.escape(message)):
            build_index([wheel])

    def test_a_file_name_is_listed_once(self) -> None:
        wheel = IndexedWheel(DEMO, 1, SHA_A, SHA_B)

        with pytest.raises(WheelhouseError, match="listed twice"):
            build_index([wheel, replace(wheel, sha256=SHA_C)])


# ---------------------------------------------------------------- incremental behaviour


class TestIncremental:
    def test_second_run_rewrites_nothing(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)
        before = snapshot(two_wheels)

        update = index_wheelhouse(two_wheels)

        assert update.written == update.removed == update.projects_written == ()
        assert snapshot(two_wheels) == before

    def test_adding_a_wheel_rewrites_only_its_project(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)
        before = snapshot(two_wheels)

        make_wheel(two_wheels, "demo-1.1-py3-none-any.whl")
        update = index_wheelhouse(two_wheels)

        assert update.written == (
            "demo-1.1-py3-none-any.whl.metadata",
            "simple/demo/index.html",
            "simple/demo/index.json",
            "index.html",
        )
        assert update.projects_written == ("demo",)
        after = snapshot(two_wheels)
        changed = {p for p in after if before.get(p) != after[p]}
        assert update.views_written == (
            "simple-plain/demo/index.html",
            "simple-plain/demo/index.json",
        )
        assert changed == {
            "demo-1.1-py3-none-any.whl",
            *update.written,
            *update.views_written,
            CACHE_PATH,
        }

    def test_a_new_project_also_rewrites_the_project_list(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)

        make_wheel(two_wheels, "zzz-1.0-py3-none-any.whl")
        update = index_wheelhouse(two_wheels)

        assert update.projects_written == ("zzz",)
        assert update.written[-3:] == ("simple/index.html", "simple/index.json", "index.html")

    def test_removing_the_last_wheel_removes_the_project(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)

        (two_wheels / CONDA).unlink()
        update = index_wheelhouse(two_wheels)

        assert update.removed == (
            "simple/conda-pkg/index.html",
            "simple/conda-pkg/index.json",
            f"{CONDA}.metadata",
        )
        assert update.projects_removed == ("conda-pkg",)
        assert update.written == ("simple/index.html", "simple/index.json", "index.html")
        assert not (two_wheels / "simple" / "conda-pkg").exists()
        assert b"conda-pkg" not in (two_wheels / "simple/index.html").read_bytes()

    def test_a_changed_page_on_disk_is_repaired(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)
        page = two_wheels / "simple/demo/index.html"
        expected = page.read_bytes()
        page.write_bytes(b"truncated")

        update = index_wheelhouse(two_wheels)

        assert update.written == ("simple/demo/index.html",)
        assert page.read_bytes() == expected

    def test_cached_wheels_are_not_opened(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)
        wheel = two_wheels / DEMO
        stamp = wheel.stat()
        # Same size and mtime, different bytes: only a run that opens the wheel can tell.
        wheel.write_bytes(b"\0" * stamp.st_size)
        os.utime(wheel, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))

        cached = index_wheelhouse(two_wheels)
        rehashed = index_wheelhouse(two_wheels, rehash=True)

        assert cached.skipped == ()
        assert cached.written == ()
        assert [s.filename for s in rehashed.skipped] == [DEMO]
        assert "not a readable zip archive" in rehashed.skipped[0].reason

    def test_a_rewritten_wheel_is_hashed_again(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)

        make_wheel(two_wheels, DEMO, requires_python=">=3.12")
        update = index_wheelhouse(two_wheels)

        assert update.projects_written == ("demo",)
        assert (
            b'data-requires-python="&gt;=3.12"'
            in (two_wheels / "simple/demo/index.html").read_bytes()
        )

    def test_a_deleted_metadata_file_is_written_again(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)
        (two_wheels / f"{DEMO}.metadata").unlink()

        update = index_wheelhouse(two_wheels)

        assert update.written == (f"{DEMO}.metadata",)
        assert (two_wheels / f"{DEMO}.metadata").read_bytes() == read_metadata(two_wheels / DEMO)

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param("{not json", id="garbage"),
            pytest.param("[" * 100_000 + "]" * 100_000, id="deep"),
            pytest.param('{"format": 2, "wheels": []}', id="other-format"),
            pytest.param('{"format": 1, "wheels": {}}', id="not-a-list"),
            pytest.param('{"format": 1, "wheels": [7, {"filename": 3}]}', id="bad-entries"),
        ],
    )
    def test_a_corrupt_cache_is_a_miss(self, two_wheels: Path, content: str) -> None:
        index_wheelhouse(two_wheels)
        pages = snapshot(two_wheels)
        del pages[CACHE_PATH]
        (two_wheels / CACHE_PATH).write_text(content)

        assert read_cache(two_wheels / CACHE_PATH) == {}
        update = index_wheelhouse(two_wheels)

        assert update.written == ()
        assert len(read_cache(two_wheels / CACHE_PATH)) == 2
        assert {p: s for p, s in snapshot(two_wheels).items() if p != CACHE_PATH} == pages

    def test_an_external_cache_supplies_the_hashes(self, two_wheels: Path) -> None:
        # What the wheelhouse state database does: keep the scan's cache, hand it back.
        first = scan_wheelhouse(two_wheels)
        write_index(two_wheels, first.wheels)
        assert {stamp.filename for stamp in first.cache} == {DEMO, CONDA}

        second = scan_wheelhouse(two_wheels, dict(first.cache))
        update = write_index(two_wheels, second.wheels)

        assert second.wheels == first.wheels
        assert second.written == ()
        assert update.written == ()

    def test_a_cache_entry_for_another_stamp_is_not_used(self, two_wheels: Path) -> None:
        stat = (two_wheels / DEMO).stat()
        wrong = IndexedWheel(DEMO, stat.st_size, SHA_A, SHA_B)
        cache = {FileStamp(DEMO, stat.st_size, stat.st_mtime_ns + 1): wrong}

        scan = scan_wheelhouse(two_wheels, cache)

        [demo] = [w for w in scan.wheels if w.filename == DEMO]
        assert demo.sha256 == sha256_of(two_wheels / DEMO)

    def test_leftovers_of_a_killed_run_are_removed(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)
        leftovers = [
            two_wheels / ".condawheel-index-0123456789abcdef",
            two_wheels / "simple" / ".condawheel-index-fedcba9876543210",
        ]
        for leftover in leftovers:
            leftover.write_bytes(b"partial")
        # A converter's temporary wheel is neither indexed nor touched.
        converting = two_wheels / f".condawheel-tmp-00ff-{DEMO}"
        converting.write_bytes(b"in progress")

        update = index_wheelhouse(two_wheels)

        assert update.written == ()
        assert update.skipped == ()
        assert not any(leftover.exists() for leftover in leftovers)
        assert converting.exists()

    def test_a_failed_write_raises_and_leaves_no_temporary_file(self, two_wheels: Path) -> None:
        (two_wheels / "simple" / "demo" / "index.html").mkdir(parents=True)

        with pytest.raises(WheelhouseError, match=r"index\.html: cannot write"):
            index_wheelhouse(two_wheels)
        assert not [
            p for p in (two_wheels / "simple").iterdir() if p.name.startswith(".condawheel")
        ]


# ---------------------------------------------------------------- broken wheels


LONG = "longname-1.0-1" + "b" * 219 + "-py3-none-any.whl"  # 250 characters


class TestLongNames:
    """Wheel names up to 255 bytes; ``.metadata`` after one of more than 246 cannot be stored."""

    def test_the_metadata_file_exists_only_where_its_name_fits(self) -> None:
        assert len(LONG) == 250
        assert metadata_file_name(DEMO) == f"{DEMO}.metadata"
        fits = "x" * (255 - len(".metadata"))
        assert metadata_file_name(fits) == f"{fits}.metadata"
        assert metadata_file_name(fits + "x") is None
        assert metadata_file_name(LONG) is None

    def test_a_long_wheel_is_listed_without_core_metadata(self, tmp_path: Path) -> None:
        make_wheel(tmp_path, LONG)
        make_wheel(tmp_path, "longname-1.0-py3-none-any.whl")

        update = index_wheelhouse(tmp_path)

        assert (update.indexed, update.skipped) == (2, ())
        assert sorted(path.name for path in tmp_path.glob("*.metadata")) == [
            "longname-1.0-py3-none-any.whl.metadata"
        ]
        page = (tmp_path / "simple/longname/index.html").read_text()
        [long_link] = [line for line in page.splitlines() if LONG in line and "href" in line]
        assert "core-metadata" not in long_link
        assert page.count("data-core-metadata") == 1  # the short one keeps it
        files = json.loads((tmp_path / "simple/longname/index.json").read_bytes())["files"]
        assert ["core-metadata" in entry for entry in files] == [False, True]

    def test_a_long_wheel_stays_cached_and_a_second_run_writes_nothing(
        self, tmp_path: Path
    ) -> None:
        make_wheel(tmp_path, LONG)
        index_wheelhouse(tmp_path)
        wheel = tmp_path / LONG
        stamp = wheel.stat()
        wheel.write_bytes(b"\0" * stamp.st_size)  # a cached wheel is not opened again
        os.utime(wheel, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))

        again = index_wheelhouse(tmp_path)

        assert (again.written, again.removed, again.skipped) == ((), (), ())


class TestBrokenWheels:
    def test_broken_wheels_are_skipped_with_a_reason(self, two_wheels: Path) -> None:
        (two_wheels / "not-a-wheel.whl").write_bytes(b"PK")
        (two_wheels / "truncated-1.0-py3-none-any.whl").write_bytes(
            make_wheel(two_wheels, "tmp-1.0-py3-none-any.whl").read_bytes()[:-30]
        )
        (two_wheels / "tmp-1.0-py3-none-any.whl").unlink()
        write_zip(two_wheels / "nometa-1.0-py3-none-any.whl", {"nometa/__init__.py": b""})
        write_zip(
            two_wheels / "twometa-1.0-py3-none-any.whl",
            {f"{n}-1.0.dist-info/METADATA": b"Name: twometa\nVersion: 1.0\n" for n in ("a", "b")},
        )
        make_wheel(
            two_wheels,
            "liar-1.0-py3-none-any.whl",
            metadata=b"Metadata-Version: 2.1\nName: other\nVersion: 1.0\n",
        )
        make_wheel(
            two_wheels,
            "older-2.0-py3-none-any.whl",
            metadata=b"Metadata-Version: 2.1\nName: older\nVersion: 1.0\n",
        )
        (two_wheels / "dir-1.0-py3-none-any.whl").mkdir()

        update = index_wheelhouse(two_wheels)

        reasons = {skipped.filename: skipped.reason for skipped in update.skipped}
        assert sorted(reasons) == sorted(
            [
                "not-a-wheel.whl",
                "truncated-1.0-py3-none-any.whl",
                "nometa-1.0-py3-none-any.whl",
                "twometa-1.0-py3-none-any.whl",
                "liar-1.0-py3-none-any.whl",
                "older-2.0-py3-none-any.whl",
                "dir-1.0-py3-none-any.whl",
            ]
        )
        assert reasons["dir-1.0-py3-none-any.whl"] == "not a regular file"
        assert reasons["not-a-wheel.whl"].startswith("not a valid wheel file name")
        assert reasons["truncated-1.0-py3-none-any.whl"].startswith("not a readable zip archive")
        assert "found []" in reasons["nometa-1.0-py3-none-any.whl"]
        assert "a-1.0.dist-info/METADATA" in reasons["twometa-1.0-py3-none-any.whl"]
        assert reasons["liar-1.0-py3-none-any.whl"] == (
            "METADATA Name 'other' is not the file name's project 'liar'"
        )
        assert reasons["older-2.0-py3-none-any.whl"] == (
            "METADATA Version '1.0' is not the file name's '2.0'"
        )
        assert str(update.skipped[0]) == f"{update.skipped[0].filename}: {update.skipped[0].reason}"
        # The good wheels are still indexed, and nothing of the broken ones is published.
        assert update.projects_written == ("conda-pkg", "demo")
        assert sorted(p.name for p in two_wheels.glob("*.metadata")) == [
            f"{CONDA}.metadata",
            f"{DEMO}.metadata",
        ]

    def test_a_wheel_that_breaks_leaves_the_index(self, two_wheels: Path) -> None:
        index_wheelhouse(two_wheels)

        (two_wheels / DEMO).write_bytes(b"not a zip any more")
        update = index_wheelhouse(two_wheels)

        assert [s.filename for s in update.skipped] == [DEMO]
        assert update.projects_removed == ("demo",)
        assert f"{DEMO}.metadata" in update.removed
        assert not (two_wheels / f"{DEMO}.metadata").exists()

    def test_oversized_metadata_is_refused(self, tmp_path: Path) -> None:
        from condawheel.wheelhouse import index as module  # noqa: PLC0415

        body = (
            b"Metadata-Version: 2.1\nName: big\nVersion: 1.0\n\n" + b"x" * module.MAX_METADATA_SIZE
        )
        make_wheel(tmp_path, "big-1.0-py3-none-any.whl", metadata=body)

        update = index_wheelhouse(tmp_path)

        assert [s.reason for s in update.skipped] == [
            f"big-1.0.dist-info/METADATA is larger than {module.MAX_METADATA_SIZE} bytes"
        ]


# ---------------------------------------------------------------- real pip


def pip_environment() -> dict[str, str]:
    """The environment minus every pip setting of this machine (pip.conf, PIP_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # pip then reads no configuration file at all
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
    )
    return env


@pytest.fixture(scope="session")
def pip() -> list[str]:
    """pip run by CPython 3.12: the cp312 wheels below are then refused for their platform."""
    return pip_command()


def run_pip(pip: list[str], target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # --target: pip 23 refuses --platform & co. without it, even with --dry-run (24.2 does not).
    command = [
        *pip,
        "install",
        "--dry-run",
        "--ignore-installed",
        "--no-cache-dir",
        "--target",
        str(target),
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=pip_environment(), timeout=120, check=False
    )


def selected(pip: list[str], target: Path, *args: str) -> list[str]:
    """Resolve with ``pip install --dry-run --report`` and return the chosen file names."""
    result = run_pip(pip, target, "--quiet", "--report", "-", *args)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    urls = [item["download_info"]["url"] for item in report["install"]]
    return sorted(unquote(url.rsplit("/", 1)[1]) for url in urls)


CONDA_DEMO = "demo-1.0-1_pyhd8ed1ab_1-py3-none-conda.whl"
CONDA_ONLY = "condaonly-2.0-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl"
PLUS = "plus-1.0+local-py3-none-any.whl"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheelhouse")
    make_wheel(directory, DEMO, requires_python=">=3.8", requires=["dep>=1"])
    make_wheel(directory, CONDA_DEMO, requires_python=">=3.8", requires=["dep>=1"])
    # Excluded by data-requires-python (escaped as &lt;3) on every Python 3.
    make_wheel(directory, "demo-2.0-py3-none-any.whl", requires_python="<3")
    make_wheel(directory, "dep-1.5-py3-none-any.whl")
    make_wheel(directory, CONDA_ONLY)
    make_wheel(directory, PLUS)  # "+" is percent-encoded in the links
    update = index_wheelhouse(directory)
    assert update.skipped == ()
    return directory


class _Server:
    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    def requests(self) -> list[str]:
        return re.findall(r'"GET (\S+) HTTP/1\.[01]" 200', self.log.read_text())


@pytest.fixture(scope="module")
def static_server(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    """``python -m http.server`` on a free loopback port, serving the wheelhouse as is."""
    log = tmp_path_factory.mktemp("server") / "access.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
            cwd=wheelhouse,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        # The first line names the port the server bound: "Serving HTTP on ... port N (...".
        banner = process.stdout.readline()
        match = re.search(r" port (\d+) ", banner)
        assert match, f"http.server did not start: {banner!r}"
        yield _Server(process, int(match.group(1)), log)
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def source_args(kind: str, wheelhouse: Path, server: _Server | None) -> list[str]:
    if kind == "file-index":
        # No --no-index here: it would make pip ignore --index-url as well.
        return ["--index-url", f"{wheelhouse.as_uri()}/simple"]
    if kind == "find-links":
        return ["--no-index", "--find-links", str(wheelhouse)]
    assert server is not None
    if kind == "http-index":
        return ["--index-url", f"http://127.0.0.1:{server.port}/simple"]
    return ["--no-index", "--find-links", f"http://127.0.0.1:{server.port}/"]


SOURCES = ["file-index", "find-links", "http-index", "http-find-links"]
CONDA_NOARCH = ["--only-binary=:all:", "--python-version", "3.12", "--platform", "conda"]
# A conda environment on linux-64 accepts both its subdir's wheels and noarch ones.
CONDA_LINUX_64 = [
    *["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp"],
    *["--abi", "cp312", "--platform", "conda_linux_64", "--platform", "conda"],
]


@pytest.fixture(params=SOURCES)
def source(request: pytest.FixtureRequest, wheelhouse: Path) -> list[str]:
    kind: str = request.param
    server = request.getfixturevalue("static_server") if kind.startswith("http") else None
    return source_args(kind, wheelhouse, server)


@pytest.mark.parametrize("kind", ["file-index", "find-links"])
def test_pip_installs_a_wheel_listed_without_core_metadata(
    pip: list[str], tmp_path: Path, kind: str
) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    make_wheel(wheelhouse, LONG)
    assert index_wheelhouse(wheelhouse).indexed == 1
    # pip reads METADATA from the wheel itself when the index names no metadata file.
    assert selected(pip, tmp_path / "target", *source_args(kind, wheelhouse, None), "longname") == [
        LONG
    ]


class TestPip:
    def test_plain_pip_selects_the_ordinary_wheels(
        self, pip: list[str], source: list[str], tmp_path: Path
    ) -> None:
        assert selected(pip, tmp_path, *source, "demo", "plus") == [
            DEMO,
            "dep-1.5-py3-none-any.whl",
            PLUS,
        ]

    def test_plain_pip_never_selects_a_conda_wheel(
        self, pip: list[str], source: list[str], tmp_path: Path
    ) -> None:
        result = run_pip(pip, tmp_path, *source, "condaonly")

        assert result.returncode != 0
        assert "No matching distribution found for condaonly" in result.stderr

    def test_the_control_the_same_wheel_tagged_manylinux_is_selected(
        self, pip: list[str], wheelhouse: Path, tmp_path: Path
    ) -> None:
        # So the conda platform tag, not the cp312 interpreter tag, keeps condaonly out.
        control = tmp_path / "control"
        control.mkdir()
        manylinux = CONDA_ONLY.replace("conda_linux_64", "manylinux2014_x86_64")
        (control / manylinux).write_bytes((wheelhouse / CONDA_ONLY).read_bytes())

        assert selected(pip, tmp_path, "--no-index", "--find-links", str(control), "condaonly") == [
            manylinux
        ]

    def test_the_conda_platform_prefers_the_conda_wheel_and_still_accepts_any(
        self, pip: list[str], source: list[str], tmp_path: Path
    ) -> None:
        # --platform replaces the platforms but packaging's compatible_tags still ends with
        # py3-none-any, after py3-none-conda: so the conda build wins, "dep" stays "any".
        assert selected(pip, tmp_path, *source, *CONDA_NOARCH, "demo") == [
            CONDA_DEMO,
            "dep-1.5-py3-none-any.whl",
        ]

    def test_the_conda_subdir_platforms_select_binary_and_noarch_conda_wheels(
        self, pip: list[str], source: list[str], tmp_path: Path
    ) -> None:
        assert selected(pip, tmp_path, *source, *CONDA_LINUX_64, "demo", "condaonly") == [
            CONDA_ONLY,
            CONDA_DEMO,
            "dep-1.5-py3-none-any.whl",
        ]

    def test_pip_reads_pep_658_metadata_over_file_urls(
        self, pip: list[str], wheelhouse: Path, tmp_path: Path
    ) -> None:
        result = run_pip(
            pip,
            tmp_path,
            "-v",
            "--report",
            os.devnull,
            *source_args("file-index", wheelhouse, None),
            "demo",
        )

        assert result.returncode == 0, result.stderr
        assert f"from {wheelhouse.as_uri()}/{DEMO}.metadata" in result.stdout

    def test_pip_resolves_from_pep_658_metadata_over_http(
        self, pip: list[str], wheelhouse: Path, static_server: _Server, tmp_path: Path
    ) -> None:
        already = len(static_server.requests())

        result = run_pip(
            pip,
            tmp_path,
            "--report",
            os.devnull,
            *source_args("http-index", wheelhouse, static_server),
            "demo",
        )

        assert result.returncode == 0, result.stderr
        requests = static_server.requests()[already:]
        # pip learnt about "dep" from demo's .metadata file, before it fetched any wheel
        # (pip < 26 downloads the chosen wheels after resolving, even with --dry-run).
        assert f"/{DEMO}.metadata" in requests
        assert "/dep-1.5-py3-none-any.whl.metadata" in requests
        wheels = [i for i, path in enumerate(requests) if path.endswith(".whl")]
        assert requests.index("/simple/dep/") < min(wheels, default=len(requests))


# ---------------------------------------------------------------- PEP 691 JSON


PEP_691_JSON = "application/vnd.pypi.simple.v1+json"


class _NegotiatingHandler(http.server.SimpleHTTPRequestHandler):
    """What ``map $http_accept`` does in an nginx config: index.json for JSON clients."""

    served: list[tuple[str, str]]

    def send_head(self) -> BytesIO | BinaryIO | None:
        if self.path.endswith("/") and PEP_691_JSON in self.headers.get("Accept", ""):
            candidate = os.path.join(self.translate_path(self.path), "index.json")  # noqa: PTH118
            if os.path.isfile(candidate):  # noqa: PTH113
                self.path += "index.json"
        return super().send_head()

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if os.fspath(path).endswith("index.json"):
            return PEP_691_JSON
        return super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        self.served.append((self.path, format % args))


@pytest.fixture
def negotiating_server(wheelhouse: Path) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    served: list[tuple[str, str]] = []
    handler = type("Handler", (_NegotiatingHandler,), {"served": served})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(wheelhouse))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_pip_reads_the_pep_691_json_pages(
    pip: list[str], negotiating_server: tuple[int, list[tuple[str, str]]], tmp_path: Path
) -> None:
    port, served = negotiating_server
    index = ["--index-url", f"http://127.0.0.1:{port}/simple"]

    assert selected(pip, tmp_path, *index, *CONDA_NOARCH, "demo", "plus") == [
        CONDA_DEMO,
        "dep-1.5-py3-none-any.whl",
        PLUS,
    ]
    paths = [path for path, _ in served]
    assert "/simple/demo/index.json" in paths
    assert "/simple/plus/index.json" in paths
    assert not [path for path in paths if path.endswith("index.html")]
    assert f"/{CONDA_DEMO}.metadata" in paths
