"""Tests for condawheel.wheelhouse.state: the SQLite state file of a wheelhouse."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from condawheel.errors import WheelhouseError
from condawheel.wheelhouse.state import (
    RACY_NS,
    SCHEMA_VERSION,
    STATE_NAME,
    ConversionRecord,
    FileDigest,
    Offer,
    SidecarKey,
    WheelhouseState,
)
from conftest import unmeasured_environment


def record(key: str = "a" * 64, wheel: str = "demo-1.0-py3-none-conda.whl") -> ConversionRecord:
    return ConversionRecord(
        artifact_key=key,
        options_key="options",
        wheel=wheel,
        wheel_size=123,
        wheel_sha256="f" * 64,
        artifact_filename="demo-1.0-0.conda",
        artifact_source="/channel",
        artifact_scope="noarch",
        artifact_location="/channel/noarch/demo-1.0-0.conda",
        condawheel_version="0.1.0",
        options_json="{}",
        converted_at=1.5,
        wheel_mtime_ns=456,
    )


def test_everything_written_is_read_back(tmp_path: Path) -> None:
    digest = FileDigest("/channel/noarch/demo-1.0-0.conda", 10, 20, 30, "s" * 64, "m" * 32, 99)
    offer = Offer("/channel", "noarch", "/channel/noarch/demo-1.0-0.conda", "a" * 64)
    sidecar = SidecarKey("other-1.0-py3-none-any.whl", 5, 6, None)
    with WheelhouseState.open(tmp_path) as state, state.transaction():
        state.record_conversions([record()])
        state.add_offers([offer])
        state.record_file_digests([digest])
        state.record_sidecar_keys([sidecar])
        state.set_meta({"last": "x"})

    with WheelhouseState.open(tmp_path) as state:
        assert state.conversions() == [record()]
        assert state.offers() == [offer]
        assert state.file_digests() == {digest.path: digest}
        assert state.sidecar_keys() == {sidecar.wheel: sidecar}
        assert state.meta("last") == "x"
        assert state.set_aside is None


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with WheelhouseState.open(tmp_path) as state:
        with pytest.raises(RuntimeError), state.transaction():
            state.record_conversions([record()])
            raise RuntimeError
        assert state.conversions() == []


def test_a_transaction_killed_midway_is_rolled_back(tmp_path: Path) -> None:
    # A real process dies (SIGKILL-like os._exit) between two writes of one transaction.
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from condawheel.wheelhouse.state import WheelhouseState
        from test_state import record
        state = WheelhouseState.open(Path({str(tmp_path)!r}))
        with state.transaction():
            state.record_conversions([record("a" * 64)])
        with state.transaction():
            state.record_conversions([record("b" * 64, "other.whl")])
            os._exit(9)
        """
    )
    tests = str(Path(__file__).parent)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tests, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": tests, "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 9, result.stderr

    with WheelhouseState.open(tmp_path) as state:
        assert [r.artifact_key for r in state.conversions()] == ["a" * 64]


def test_replacing_offers_touches_only_the_listed_scopes(tmp_path: Path) -> None:
    old = [
        Offer("/c", "linux-64", "/c/linux-64/a.conda", "1"),
        Offer("/c", "noarch", "/c/noarch/b.conda", "2"),
        Offer("/d", "linux-64", "/d/linux-64/a.conda", "1"),
    ]
    new = [Offer("/c", "linux-64", "/c/linux-64/z.conda", "9")]
    with WheelhouseState.open(tmp_path) as state:
        with state.transaction():
            state.add_offers(old)
        with state.transaction():
            state.replace_offers("/c", ["linux-64"], new)

        assert sorted(state.offers(), key=lambda o: o.location) == sorted(
            [*old[1:], *new], key=lambda o: o.location
        )


def test_forgetting_a_wheel_drops_its_records(tmp_path: Path) -> None:
    with WheelhouseState.open(tmp_path) as state:
        with state.transaction():
            state.record_conversions([record()])
            state.record_conversions([record("b" * 64, "other.whl")])
            state.record_sidecar_keys([SidecarKey("demo-1.0-py3-none-conda.whl", 1, 2, None)])
        with state.transaction():
            state.forget_wheel("demo-1.0-py3-none-conda.whl")

        assert [r.wheel for r in state.conversions()] == ["other.whl"]
        assert state.sidecar_keys() == {}


@pytest.mark.parametrize(
    "content",
    [b"not a database at all, just some bytes" * 50, b""],
    ids=["garbage", "empty"],
)
def test_an_unreadable_state_file_is_set_aside(tmp_path: Path, content: bytes) -> None:
    (tmp_path / STATE_NAME).write_bytes(content)

    with WheelhouseState.open(tmp_path) as state:
        if content:
            assert state.set_aside is not None
            assert state.set_aside.read_bytes() == content
        assert state.conversions() == []


def test_a_state_file_of_another_schema_is_set_aside(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '999')")
    db.close()

    with WheelhouseState.open(tmp_path) as state:
        assert state.set_aside is not None
        assert state.meta("schema") == str(SCHEMA_VERSION)


# Schema 1 as condawheel 0.1 wrote it: no wheel mtime, no dependencies digest.
SCHEMA_1_CONVERSIONS = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
CREATE TABLE conversions (
    artifact_key TEXT NOT NULL, options_key TEXT NOT NULL, wheel TEXT NOT NULL,
    wheel_size INTEGER NOT NULL, wheel_sha256 TEXT, artifact_filename TEXT NOT NULL,
    artifact_source TEXT NOT NULL, artifact_scope TEXT NOT NULL,
    artifact_location TEXT NOT NULL, condawheel_version TEXT NOT NULL,
    options_json TEXT NOT NULL, converted_at REAL NOT NULL,
    PRIMARY KEY (artifact_key, options_key)
);
CREATE TABLE sidecar_keys (wheel TEXT PRIMARY KEY, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, artifact_key TEXT);
"""


def test_a_schema_1_state_is_migrated_in_place(tmp_path: Path) -> None:
    old = replace(record(), wheel_mtime_ns=None)
    db = sqlite3.connect(tmp_path / STATE_NAME)
    db.executescript(SCHEMA_1_CONVERSIONS)
    db.execute(
        "INSERT INTO conversions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            old.artifact_key, old.options_key, old.wheel, old.wheel_size, old.wheel_sha256,
            old.artifact_filename, old.artifact_source, old.artifact_scope,
            old.artifact_location, old.condawheel_version, old.options_json, old.converted_at,
        ),
    )  # fmt: skip
    db.commit()
    db.close()

    with WheelhouseState.open(tmp_path) as state:
        assert state.set_aside is None  # kept, not rebuilt
        assert state.meta("schema") == str(SCHEMA_VERSION) == "3"
        assert state.conversions() == [old]  # the mtime is not known yet
        with state.transaction():
            state.record_wheel_stamps([(old.wheel, old.wheel_size + 1, 7), (old.wheel, 123, 9)])
        assert state.conversions() == [replace(old, wheel_mtime_ns=9)]  # only the same size


def test_a_schema_1_state_gains_the_dependencies_digest_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.executescript(SCHEMA_1_CONVERSIONS)
        old = record()
        db.execute(
            "INSERT INTO conversions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [getattr(old, name) for name in list(old.__dataclass_fields__)[:12]],
        )
        db.execute("INSERT INTO sidecar_keys VALUES ('x-1.0-py3-none-conda.whl', 1, 2, 'k')")
    db.close()

    with WheelhouseState.open(tmp_path) as state:
        assert state.set_aside is None
        assert state.meta("schema") == "3"
        assert state.conversions() == [replace(record(), wheel_mtime_ns=None)]  # unknown yet
        # A cache that did not say which wheels are split ones: read them again.
        assert state.sidecar_keys() == {}
        with state.transaction():
            state.record_conversions([replace(record(), depends_key="d" * 16)])
    with WheelhouseState.open(tmp_path) as state:
        assert [item.depends_key for item in state.conversions()] == ["d" * 16]


# Schema 2 as condawheel wrote it before split packages were synced (here, as it
# migrated schema 1): one row per artifact and options, no split flag in sidecar_keys.
SCHEMA_2 = (
    SCHEMA_1_CONVERSIONS.replace("'schema', '1'", "'schema', '2'")
    + """
ALTER TABLE conversions ADD COLUMN wheel_mtime_ns INTEGER;
ALTER TABLE conversions ADD COLUMN depends_key TEXT;
ALTER TABLE sidecar_keys ADD COLUMN depends_key TEXT;
"""
)


def test_a_schema_2_state_keeps_its_rows_and_takes_several_wheels_per_artifact(
    tmp_path: Path,
) -> None:
    old = [record("a" * 64), record("b" * 64, "other-1.0-py3-none-conda.whl")]
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.executescript(SCHEMA_2)
        db.executemany(
            "INSERT INTO conversions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[getattr(item, name) for name in item.__dataclass_fields__] for item in old],
        )
        db.execute("INSERT INTO sidecar_keys VALUES ('x-1.0-py3-none-conda.whl', 1, 2, 'k', NULL)")
        db.execute("INSERT INTO meta VALUES ('index_signature', 'abc')")
    db.close()

    with WheelhouseState.open(tmp_path) as state:
        assert state.set_aside is None
        assert state.meta("schema") == "3"
        assert state.conversions() == old
        assert state.sidecar_keys() == {}
        assert state.meta("index_signature") is None
        split = [
            record("a" * 64, "pyqt5-5.15.9-0_0-cp312-none-conda_linux_64.whl"),
            record("a" * 64, "conda_pkg_pyqt-5.15.9-0_0-py3-none-conda_linux_64.whl"),
        ]
        with state.transaction():
            state.record_conversions(split)
            state.record_sidecar_keys(
                [SidecarKey("x-1.0-py3-none-conda.whl", 1, 2, "k", split=True)]
            )
        # The artifact's new wheels replace its old one; the order they were made is kept.
        assert state.conversions() == [old[1], *split]
        assert state.sidecar_keys()["x-1.0-py3-none-conda.whl"].split
    with WheelhouseState.open(tmp_path) as state:  # opened again: nothing more to migrate
        assert state.conversions() == [old[1], *split]


@pytest.mark.parametrize("lacking", ["wheel_mtime_ns", "depends_key"])
def test_a_schema_2_state_lacking_a_column_gains_it(tmp_path: Path, lacking: str) -> None:
    # Development builds wrote schema 2 with only one of the two columns schema 2 adds.
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.executescript(SCHEMA_1_CONVERSIONS.replace("'schema', '1'", "'schema', '2'"))
        other = "depends_key" if lacking == "wheel_mtime_ns" else "wheel_mtime_ns"
        kind = "TEXT" if other == "depends_key" else "INTEGER"
        db.execute(f"ALTER TABLE conversions ADD COLUMN {other} {kind}")
    db.close()

    with WheelhouseState.open(tmp_path) as state:
        assert state.set_aside is None
        with state.transaction():
            state.record_conversions([replace(record(), depends_key="d" * 16)])
        assert state.conversions() == [replace(record(), depends_key="d" * 16)]


def test_migrating_drops_the_index_signature(tmp_path: Path) -> None:
    # Schema 1 did not remember which wheels the index left out: index once more.
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.executescript(SCHEMA_1_CONVERSIONS)
        db.execute("INSERT INTO meta VALUES ('index_signature', 'abc')")
    db.close()

    with WheelhouseState.open(tmp_path) as state:
        assert state.meta("index_signature") is None


def test_an_io_error_while_migrating_keeps_the_state_file(tmp_path: Path) -> None:
    # A real process whose file size limit stops the migration's write (a full disk).
    with sqlite3.connect(tmp_path / STATE_NAME) as db:
        db.executescript(SCHEMA_1_CONVERSIONS)
        db.executemany(
            "INSERT INTO sidecar_keys VALUES (?, 1, 2, NULL)",
            [(f"w{number}-1.0-py3-none-any.whl",) for number in range(200)],
        )
    db.close()
    before = (tmp_path / STATE_NAME).read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from condawheel.errors import WheelhouseError
        from condawheel.wheelhouse.state import WheelhouseState
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
        try:
            WheelhouseState.open(Path({str(tmp_path)!r}))
        except WheelhouseError as error:
            print(error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env=unmeasured_environment(),  # 2000 bytes leave no room for coverage data
    )
    assert result.returncode == 0, result.stderr
    assert "cannot open the state file" in result.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == [STATE_NAME]  # not set aside
    assert (tmp_path / STATE_NAME).read_bytes() == before


def test_a_state_that_cannot_be_created_is_a_wheelhouse_error(tmp_path: Path) -> None:
    with pytest.raises(WheelhouseError, match="cannot open the state file"):
        WheelhouseState.open(tmp_path / "missing" / "folder")


def test_a_digest_is_trusted_only_for_the_same_stamp_outside_the_racy_window() -> None:
    now = time.time_ns()
    settled = FileDigest("/f", 10, now - 2 * RACY_NS, 7, "s", "m", now)
    fresh = FileDigest("/f", 10, now, 7, "s", "m", now)

    assert settled.still_valid(10, now - 2 * RACY_NS, 7)
    assert not settled.still_valid(11, now - 2 * RACY_NS, 7)  # size
    assert not settled.still_valid(10, now, 7)  # modified
    assert not settled.still_valid(10, now - 2 * RACY_NS, 8)  # replaced by another file
    # Hashed in the same tick it was written: it may still change without a new stamp.
    assert not fresh.still_valid(10, now, 7)
