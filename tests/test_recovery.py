"""What a sync finds in the wheelhouse: leftovers of killed runs, and wheels against records."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

import pytest

from condawheel.wheelhouse.recovery import check_wheels, recover_wheelhouse, wheels_present
from condawheel.wheelhouse.state import ConversionRecord
from env_support import WheelSpec, make_wheel

if TYPE_CHECKING:
    from pathlib import Path

KEY = "a" * 64


def _record(wheel: Path, **changes: object) -> ConversionRecord:
    info = wheel.stat()
    fields: dict[str, object] = {
        "artifact_key": KEY,
        "options_key": "o",
        "wheel": wheel.name,
        "wheel_size": info.st_size,
        "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "artifact_filename": "demo-1.0-0.conda",
        "artifact_source": "/channel",
        "artifact_scope": "noarch",
        "artifact_location": "/channel/noarch/demo-1.0-0.conda",
        "condawheel_version": "0",
        "options_json": "{}",
        "converted_at": 0.0,
        "wheel_mtime_ns": info.st_mtime_ns,
        **changes,
    }
    return ConversionRecord(**fields)  # type: ignore[arg-type]


def _touch(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path, WheelSpec(name="demo", files={"demo/__init__.py": b"x = 1\n"}))


def test_leftovers_of_killed_runs_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / ".condawheel-tmp-0123456789ab").write_bytes(b"half a wheel")
    (tmp_path / ".condawheel-tmp-stage-0123456789ab" / "0").mkdir(parents=True)
    (tmp_path / ".condawheel-tmp-stage-0123456789ab" / "0" / "x.whl").write_bytes(b"x")
    (tmp_path / ".condawheel-index-0123456789ab").write_bytes(b"the index's own")
    (tmp_path / "demo-1.0-py3-none-any.whl").write_bytes(b"a wheel")

    removed = recover_wheelhouse(tmp_path)

    assert sorted(removed) == [".condawheel-tmp-0123456789ab", ".condawheel-tmp-stage-0123456789ab"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".condawheel-index-0123456789ab",  # the index removes its own leftovers
        "demo-1.0-py3-none-any.whl",
    ]
    assert recover_wheelhouse(tmp_path) == []


def test_only_regular_wheel_files_are_present(tmp_path: Path, wheel: Path) -> None:
    (tmp_path / "folder.whl").mkdir()
    (tmp_path / ".hidden.whl").write_bytes(b"")
    (tmp_path / "notes.txt").write_bytes(b"")
    (tmp_path / "link.whl").symlink_to(wheel)
    (tmp_path / "dangling.whl").symlink_to(tmp_path / "nowhere.whl")

    present = wheels_present(tmp_path)

    assert sorted(present) == ["demo-1.0-0_h0-py3-none-conda_linux_64.whl", "link.whl"]


def test_a_wheel_of_the_recorded_stamp_is_trusted_without_reading_it(wheel: Path) -> None:
    record = _record(wheel)
    wheel.write_bytes(b"\0" * record.wheel_size)  # same size...
    os.utime(wheel, ns=(0, record.wheel_mtime_ns or 0))  # ...and mtime: not opened

    check = check_wheels(wheel.parent, [record], wheels_present(wheel.parent))

    assert (check.damaged, check.changed, check.restamp) == ({}, frozenset(), ())


def test_a_touched_wheel_is_verified_and_restamped(wheel: Path) -> None:
    record = _record(wheel)
    _touch(wheel)
    schema_1 = _record(wheel, wheel_mtime_ns=None, artifact_key="b" * 64)

    check = check_wheels(wheel.parent, [record, schema_1], wheels_present(wheel.parent))

    stamp = (wheel.name, wheel.stat().st_size, wheel.stat().st_mtime_ns)
    assert (check.damaged, check.changed, check.restamp) == ({}, frozenset(), (stamp,))


@pytest.mark.parametrize(
    ("content", "verdict"),
    [
        (b"\0" * 100, "damaged"),  # zero-filled by a power loss
        (b"", "damaged"),  # cut to nothing
        (None, "changed"),  # another readable wheel at its name
    ],
    ids=["zero-filled", "empty", "other-wheel"],
)
def test_a_wheel_that_is_not_what_was_recorded(
    tmp_path: Path, wheel: Path, content: bytes | None, verdict: str
) -> None:
    record = _record(wheel)
    if content is None:
        other = make_wheel(tmp_path / "other", WheelSpec(name="demo", files={"demo/b.py": b""}))
        wheel.write_bytes(other.read_bytes())
    else:
        wheel.write_bytes(content)

    # Two records of the wheel (other options): it is read once, and damaged once.
    check = check_wheels(wheel.parent, [record, record], wheels_present(wheel.parent))

    assert check.changed == frozenset({wheel.name})
    assert check.damaged == ({KEY: (wheel.name,)} if verdict == "damaged" else {})
    assert check.restamp == ()


def test_an_adopted_wheel_without_a_digest_is_intact_while_readable(wheel: Path) -> None:
    adopted = _record(wheel, wheel_sha256=None)
    _touch(wheel)
    check = check_wheels(wheel.parent, [adopted], wheels_present(wheel.parent))
    assert (check.changed, len(check.restamp)) == (frozenset(), 1)
    wheel.write_bytes(b"\0" * adopted.wheel_size)
    check = check_wheels(wheel.parent, [adopted], wheels_present(wheel.parent))
    assert check.damaged == {KEY: (wheel.name,)}


def test_a_missing_wheel_is_not_checked(wheel: Path) -> None:
    record = _record(wheel)
    wheel.unlink()
    assert check_wheels(wheel.parent, [record], {}) == check_wheels(wheel.parent, [], {})
