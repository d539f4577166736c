"""Tests for condawheel.wheelhouse.outcomes: the report of a sync."""

from __future__ import annotations

import json
from pathlib import Path

from condawheel.wheelhouse.index import IndexUpdate, SkippedWheel
from condawheel.wheelhouse.outcomes import ConflictParty, Outcome, Pruned, SyncReport


def outcome(status: str, **fields: object) -> Outcome:
    values: dict[str, object] = {
        "source": "/c",
        "location": "/c/noarch/a-1-0.conda",
        "filename": "a-1-0.conda",
        "subdir": "noarch",
        "status": status,
    }
    values.update(fields)
    return Outcome(**values)  # type: ignore[arg-type]


def test_summary_and_ok() -> None:
    report = SyncReport(
        Path("/w"),
        dry_run=False,
        outcomes=(outcome("converted"), outcome("unchanged"), outcome("skipped")),
        pruned=(Pruned("old.whl", "/c", "/c/x", "x", "e" * 64, done=True),),
        seconds=1.25,
    )

    assert report.ok
    assert report.summary() == (
        "1 converted, 1 unchanged, 1 skipped, 0 failed, 0 conflicts, 1 pruned in 1.2s"
    )
    assert not SyncReport(Path("/w"), dry_run=False, outcomes=(outcome("conflict"),)).ok
    dry = SyncReport(Path("/w"), dry_run=True, outcomes=(outcome("would-convert"),))
    assert dry.summary().startswith("1 to convert, 0 unchanged")
    # Warnings are counted: off a terminal the CLI prints only the summary.
    warned = SyncReport(
        Path("/w"),
        dry_run=False,
        outcomes=(outcome("converted", warnings=("x", "y")), outcome("converted")),
    )
    assert warned.summary() == (
        "2 converted, 0 unchanged, 0 skipped, 0 failed, 0 conflicts, 2 warnings in 0.0s"
    )


def test_the_report_names_both_sides_of_a_conflict() -> None:
    other = ConflictParty("a.whl", "/d", "/d/noarch/a-1-0.conda", "a-1-0.conda", "f" * 64)
    report = SyncReport(
        Path("/w"),
        dry_run=False,
        outcomes=(
            outcome("conflict", reason="r", wheel="a.whl", sha256="a" * 64, conflict_with=other),
        ),
        index=IndexUpdate(written=("simple/index.html",), skipped=(SkippedWheel("b.whl", "bad"),)),
    )

    document = json.loads(json.dumps(report.to_json()))

    [entry] = document["artifacts"]
    assert entry["status"] == "conflict"
    assert entry["location"] == "/c/noarch/a-1-0.conda"
    assert entry["conflict_with"]["location"] == "/d/noarch/a-1-0.conda"
    assert entry["conflict_with"]["sha256"] == "f" * 64
    assert document["counts"]["conflict"] == 1
    assert document["index"] == {
        "written": ["simple/index.html"],
        "removed": [],
        "skipped": [{"filename": "b.whl", "reason": "bad"}],
    }
    assert other.describe() == "/d/noarch/a-1-0.conda (sha256 ffffffffffff...)"
    assert ConflictParty("a.whl", note="an ordinary wheel").describe() == "an ordinary wheel"
