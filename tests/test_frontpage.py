"""The wheelhouse's front page: what it shows, escaped, deterministic, cheap when unchanged.

The page in a real browser, over the corpus wheelhouse: test_sync.py.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

import pytest

from builders import PLACEHOLDER, FileSpec, build_conda, python_package
from condawheel.wheelhouse.frontpage import (
    MAX_ITEMS,
    MAX_TEXT,
    LastSync,
    summarize_wheel,
    with_last_sync,
)
from condawheel.wheelhouse.index import (
    CACHE_PATH,
    build_front_page,
    index_wheelhouse,
    read_cache,
    recorded_last_sync,
    scan_wheelhouse,
)
from condawheel.wheelhouse.state import STATE_NAME
from condawheel.wheelhouse.sync import SyncOptions, sync
from env_support import WheelSpec, make_wheel, sidecar
from pages import HOSTILE_TEXTS, PageReader, hostile_wheel, injected

if TYPE_CHECKING:
    from pathlib import Path

DEMO_WHEEL = "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"
PLAIN = WheelSpec(name="plain", version="2.0", build=None, tag="py3-none-any")


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    """A wheelhouse that one sync of a folder of packages fed, with an ordinary wheel."""
    packages = tmp_path / "packages"
    packages.mkdir()
    # A file holding the build prefix: a warning of the conversion.
    config = FileSpec("etc/demo.cfg", f"prefix={PLACEHOLDER}\n".encode(), placeholder=PLACEHOLDER)
    build_conda(python_package(extra_files=[config]), packages)
    wheelhouse = tmp_path / "W"
    make_wheel(wheelhouse, PLAIN)
    report = sync([str(packages)], wheelhouse, SyncOptions(jobs=1))
    assert report.ok, report.outcomes
    return wheelhouse


def page_of(wheelhouse: Path) -> PageReader:
    return PageReader((wheelhouse / "index.html").read_bytes())


def last_sync_text(reader: PageReader) -> str:
    [row] = [text for text in reader.texts if text.startswith("Started ")]
    return row


class TestWhatItShows:
    def test_each_wheel_with_its_conda_package_tags_external_dependencies_and_warnings(
        self, synced: Path
    ) -> None:
        reader = page_of(synced)

        assert reader.projects() == ["demo", "plain"]
        [(name, cells)] = reader.wheels("demo").items()
        assert name == DEMO_WHEEL
        link, tags, origin, external, warnings = cells
        assert tags.text == "cp312-cp312-conda_linux_64"
        # A folder of loose packages is no channel: the subdir alone says where it was.
        assert origin.text.split("\n") == [
            "demo 1.0 py312h1234567_0",
            "linux-64",
            "demo-1.0-py312h1234567_0.conda",
        ]
        assert external.items == ["libzlib (>=1.3,<2.0a0)"]
        # The warnings the conversion printed, as conda.json keeps them.
        assert any("hold the build prefix" in item for item in warnings.items), warnings
        assert link.text.endswith("KiB")
        [plain] = reader.wheels("plain").values()
        assert [cell.text for cell in plain[1:]] == [
            "py3-none-any",
            "not a conda wheel",
            "none",
            "none",
        ]

    def test_the_wheel_links_are_find_links_entries(self, synced: Path) -> None:
        # pip --find-links W parses W/*.html: the links are the wheels, with their sha256.
        scan = scan_wheelhouse(synced)
        expected = sorted(f"{wheel.filename}#sha256={wheel.sha256}" for wheel in scan.wheels)

        links = page_of(synced).links()

        assert sorted(link for link in links if ".whl" in link) == expected
        assert "simple/" in links
        assert "simple/demo/" in links

    def test_the_last_sync_says_when_and_what(self, synced: Path) -> None:
        recorded = recorded_last_sync(synced)
        assert recorded is not None
        assert (recorded.converted, recorded.unchanged, recorded.failed) == (1, 0, 0)
        assert recorded.warnings >= 1

        text = last_sync_text(page_of(synced))

        assert text.startswith("Started 20")
        assert " UTC, took " in text
        assert "1 converted, 0 unchanged, 0 skipped, 0 failed, 0 conflicts, 0 pruned;" in text

    def test_without_a_sync_the_page_says_so(self, tmp_path: Path) -> None:
        make_wheel(tmp_path, PLAIN)

        update = index_wheelhouse(tmp_path)

        assert "index.html" in update.written
        assert not (tmp_path / STATE_NAME).exists()  # index never creates a state
        assert "No condawheel sync has been recorded" in page_of(tmp_path).text


class TestDeterministic:
    def test_index_renders_the_page_the_sync_wrote(self, synced: Path) -> None:
        # The sync described its wheel from the conversion, the index reads it back from
        # the wheel (--rehash: no cache): the same bytes.
        page = (synced / "index.html").read_bytes()

        assert index_wheelhouse(synced).written == ()
        (synced / "index.html").unlink()
        assert index_wheelhouse(synced, rehash=True).written == ("index.html",)
        assert (synced / "index.html").read_bytes() == page

    def test_the_same_wheels_and_last_sync_give_the_same_bytes(self, synced: Path) -> None:
        wheels = scan_wheelhouse(synced).wheels
        last = LastSync(started=1.7e9, seconds=2.5, converted=1)

        assert build_front_page(wheels, last) == build_front_page(wheels[::-1], last)
        assert b"2023-11-14 22:13:20 UTC" in build_front_page(wheels, last)

    def test_the_cache_keeps_each_summary(self, synced: Path) -> None:
        cached = read_cache(synced / CACHE_PATH)

        assert {wheel.filename: wheel.summary is not None for wheel in cached.values()} == {
            DEMO_WHEEL: True,
            PLAIN.filename: True,
        }
        # A cache of the format before summaries is a miss, never a page without them.
        document = json.loads((synced / CACHE_PATH).read_text())
        (synced / CACHE_PATH).write_text(json.dumps({**document, "format": 1}))
        assert read_cache(synced / CACHE_PATH) == {}
        for entry in document["wheels"]:
            entry["summary"] = None
        (synced / CACHE_PATH).write_text(json.dumps(document))
        assert read_cache(synced / CACHE_PATH) == {}


class TestCheapWhenUnchanged:
    def test_a_no_op_sync_rewrites_only_the_last_sync(self, synced: Path) -> None:
        packages = synced.parent / "packages"
        before = (synced / "index.html").read_bytes()
        first = last_sync_text(page_of(synced))

        report = sync([str(packages)], synced, SyncOptions(jobs=1))

        assert report.index is not None
        assert report.index.written == ("index.html",)
        after = (synced / "index.html").read_bytes()
        assert after != before
        assert last_sync_text(page_of(synced)) != first
        assert "0 converted, 1 unchanged" in last_sync_text(page_of(synced))
        # What the whole render gives for these wheels and that last sync: the same bytes.
        recorded = recorded_last_sync(synced)
        assert recorded is not None
        assert after == build_front_page(scan_wheelhouse(synced).wheels, recorded)
        assert after == with_last_sync(before, recorded)

    def test_a_page_edited_by_hand_is_rendered_again(self, synced: Path) -> None:
        page = synced / "index.html"
        page.write_bytes(b"<html>edited</html>")

        report = sync([str(synced.parent / "packages")], synced, SyncOptions(jobs=1))

        assert report.index is not None
        assert "index.html" in report.index.written
        assert b"edited" not in page.read_bytes()
        assert page_of(synced).projects() == ["demo", "plain"]

    def test_a_removed_page_is_written_again(self, synced: Path) -> None:
        (synced / "index.html").unlink()

        sync([str(synced.parent / "packages")], synced, SyncOptions(jobs=1))

        assert page_of(synced).projects() == ["demo", "plain"]

    def test_a_page_that_is_not_ours_is_not_spliced(self) -> None:
        begin, end = b"<!-- condawheel:last-sync -->", b"<!-- /condawheel:last-sync -->"
        assert with_last_sync(b"<html>no markers</html>", None) is None
        assert with_last_sync(b"<html>" + begin + b"cut short", None) is None
        assert with_last_sync(end + b"the wrong way round" + begin, None) is None


class TestHostileInput:
    def test_hostile_names_metadata_and_conda_json_are_text_never_markup(
        self, synced: Path
    ) -> None:
        hostile_wheel(synced)

        update = index_wheelhouse(synced)

        assert update.skipped == ()
        page = (synced / "index.html").read_bytes()
        page.decode("ascii")  # pure ASCII: no charset to guess
        reader = PageReader(page)
        assert injected(reader) == []
        for text in HOSTILE_TEXTS:
            assert text in reader.text, text
        assert reader.projects() == ["demo", "evil", "plain"]
        # The marker inside a warning is escaped: the last-sync part can still be replaced.
        assert with_last_sync(page, None) is not None

    def test_an_unreadable_conda_json_is_said_not_fatal(self, tmp_path: Path) -> None:
        path = make_wheel(tmp_path, WheelSpec(name="broken", sidecar={"package": "oops"}))

        update = index_wheelhouse(tmp_path)

        assert update.skipped == ()
        [cells] = page_of(tmp_path).wheels("broken").values()
        assert cells[0].text.startswith(path.name)
        assert cells[2].text == "conda.json not readable: conda.json has no 'package' object"

    def test_what_one_wheel_shows_is_bounded(self, tmp_path: Path) -> None:
        many = sidecar(conda_name="many")
        many["warnings"] = ["w" * 2000] * 5000
        spec = WheelSpec(name="many", sidecar=many, requires_external=["x" * 2000] * 500)

        make_wheel(tmp_path, spec)
        index_wheelhouse(tmp_path)

        [cells] = page_of(tmp_path).wheels("many").values()
        for cell in (cells[3], cells[4]):
            assert len(cell.items) == MAX_ITEMS
            assert all(len(item) <= MAX_TEXT for item in cell.items)
        assert cells[4].items[-1] == f"... and {5000 - MAX_ITEMS + 1} more"
        assert cells[3].items[-1] == f"... and {500 - MAX_ITEMS + 1} more"
        assert (tmp_path / "index.html").stat().st_size < 200_000

    def test_a_summary_of_a_wheel_without_conda_json(self) -> None:
        summary = summarize_wheel(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", None)

        assert (summary.origin, summary.external, summary.warnings) == (None, (), ())


class TestLastSyncRecord:
    @pytest.mark.parametrize(
        "document",
        [
            pytest.param(None, id="none"),
            pytest.param({"started": "today", "seconds": 1}, id="started-text"),
            pytest.param({"started": float("nan"), "seconds": 1}, id="nan"),
            pytest.param({"started": 1e300, "seconds": 1}, id="far-future"),
            pytest.param({"started": 1, "seconds": 1, "converted": -1}, id="negative"),
            pytest.param({"started": 1, "seconds": 1, "failed": True}, id="bool"),
        ],
    )
    def test_a_malformed_record_is_no_record(self, document: object) -> None:
        assert LastSync.from_json(document) is None

    def test_a_record_reads_back(self) -> None:
        record = LastSync(started=1.5, seconds=0.25, converted=3, pruned=1, warnings=2)

        assert LastSync.from_json(json.loads(json.dumps(record.to_json()))) == record

    def test_an_unreadable_state_is_no_record(self, synced: Path) -> None:
        (synced / STATE_NAME).write_bytes(b"not sqlite at all" * 100)

        assert recorded_last_sync(synced) is None
        index_wheelhouse(synced)
        assert "No condawheel sync has been recorded" in page_of(synced).text
        # index never repairs, replaces or sets aside the state: that is sync's business.
        assert (synced / STATE_NAME).read_bytes() == b"not sqlite at all" * 100
        with pytest.raises(sqlite3.DatabaseError):
            sqlite3.connect(synced / STATE_NAME).execute("SELECT 1 FROM meta").fetchall()
