"""The wheelhouse state file: which source artifact made which wheel, in SQLite.

``<wheelhouse>/.condawheel-state.sqlite`` holds

* ``conversions``: artifact key (``sha256`` hex, or ``md5:<hex>`` when a source offers
  no sha256) and options key -> the wheels it produced, one row each (its size, sha256
  and mtime when it landed), with the condawheel version, the options that produced
  it, and the digest of the ``depends`` / ``constrains`` it was made with (a source's
  record may change them later: a repodata patch). A package holding several Python
  distributions makes several wheels (docs/convert.md, "split"); their rows are
  written and replaced together;
* ``offers``: which source offered which artifact key at which location; ``--prune``
  removes the wheels of keys that no source offers any more;
* ``file_digests``: ``(path, size, mtime_ns, inode)`` -> sha256 and md5 of local files, so
  that a no-op sync of a local channel opens no package file;
* ``sidecar_keys``: for wheels the state does not list, the source sha256 their
  ``conda.json`` names (the stamp-keyed result of opening them once), so that a wheel
  that landed just before a crash is adopted instead of converted again (and the digest of
  the dependencies they were made with, and whether it is one of a split package's);
* ``meta``: the schema version, the index signature, and what the last sync did
  (:data:`LAST_SYNC`, shown on the wheelhouse's front page).

The wheel files are the truth and this file is an index of them: a row whose wheel is
missing is redone, a wheel without a row is adopted, and a state file that is corrupt or
of an unknown schema is set aside and rebuilt. SQLite's rollback journal makes every
transaction atomic, also under SIGKILL. Writers hold the wheelhouse lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from condawheel.errors import WheelhouseError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from typing_extensions import Self

__all__ = [
    "LAST_SYNC",
    "STATE_NAME",
    "ConversionRecord",
    "FileDigest",
    "Offer",
    "SidecarKey",
    "WheelhouseState",
    "read_state_meta",
]

STATE_NAME: Final = ".condawheel-state.sqlite"
LAST_SYNC: Final = "last_sync"
"""The ``meta`` key of the last sync's counts and time (JSON), which ``index`` also shows."""
SCHEMA_VERSION: Final = 3
# A file modified within this window of being hashed may change again within the same
# mtime tick without changing its stamp (git's "racy clean" problem): hash it again later.
RACY_NS: Final = 2_000_000_000

_CONVERSIONS_TABLE: Final = """
    artifact_key TEXT NOT NULL,
    options_key TEXT NOT NULL,
    wheel TEXT NOT NULL,
    wheel_size INTEGER NOT NULL,
    wheel_sha256 TEXT,
    artifact_filename TEXT NOT NULL,
    artifact_source TEXT NOT NULL,
    artifact_scope TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    condawheel_version TEXT NOT NULL,
    options_json TEXT NOT NULL,
    converted_at REAL NOT NULL,
    wheel_mtime_ns INTEGER,
    depends_key TEXT,
    PRIMARY KEY (artifact_key, options_key, wheel)
"""
_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS conversions ({_CONVERSIONS_TABLE});
CREATE INDEX IF NOT EXISTS conversions_by_wheel ON conversions (wheel);
CREATE TABLE IF NOT EXISTS offers (
    source TEXT NOT NULL,
    scope TEXT NOT NULL,
    location TEXT NOT NULL,
    artifact_key TEXT NOT NULL,
    PRIMARY KEY (source, location)
);
CREATE TABLE IF NOT EXISTS file_digests (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    hashed_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sidecar_keys (
    wheel TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    artifact_key TEXT,
    depends_key TEXT,
    split INTEGER NOT NULL DEFAULT 0
);
"""

# Schema 1 -> 2: the wheel mtime of conversions; the dependencies digest of conversions
# and of untracked wheels. Schema 2 -> 3: whether an untracked wheel is one of a split
# package's. (table, column, type), added where missing.
_ADDED_COLUMNS: Final = (
    ("conversions", "wheel_mtime_ns", "INTEGER"),
    ("conversions", "depends_key", "TEXT"),
    ("sidecar_keys", "depends_key", "TEXT"),
    ("sidecar_keys", "split", "INTEGER NOT NULL DEFAULT 0"),
)
# The columns of ``conversions`` in the order of ConversionRecord's fields, spelled out
# in each statement (literal SQL: nothing is pasted into a query).
_SELECT_CONVERSIONS: Final = (
    "SELECT artifact_key, options_key, wheel, wheel_size, wheel_sha256, artifact_filename, "
    "artifact_source, artifact_scope, artifact_location, condawheel_version, options_json, "
    "converted_at, wheel_mtime_ns, depends_key FROM conversions ORDER BY rowid"
)
_INSERT_CONVERSION: Final = (
    "INSERT OR REPLACE INTO conversions (artifact_key, options_key, wheel, wheel_size, "
    "wheel_sha256, artifact_filename, artifact_source, artifact_scope, artifact_location, "
    "condawheel_version, options_json, converted_at, wheel_mtime_ns, depends_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_COPY_CONVERSIONS: Final = (
    "INSERT INTO conversions_by_wheel_new (artifact_key, options_key, wheel, wheel_size, "
    "wheel_sha256, artifact_filename, artifact_source, artifact_scope, artifact_location, "
    "condawheel_version, options_json, converted_at, wheel_mtime_ns, depends_key) "
    "SELECT artifact_key, options_key, wheel, wheel_size, wheel_sha256, artifact_filename, "
    "artifact_source, artifact_scope, artifact_location, condawheel_version, options_json, "
    "converted_at, wheel_mtime_ns, depends_key FROM conversions"
)


@dataclass(frozen=True)
class ConversionRecord:
    """One artifact converted with one set of options, and one wheel it produced.

    A split package (several Python distributions) has one record per wheel, all with
    the same ``artifact_key`` and ``options_key``.
    """

    artifact_key: str
    options_key: str
    wheel: str
    wheel_size: int
    wheel_sha256: str | None
    artifact_filename: str
    artifact_source: str
    artifact_scope: str
    """The unit of the source it was listed in (a channel's subdir; "" for an environment)."""
    artifact_location: str
    condawheel_version: str
    options_json: str
    converted_at: float
    wheel_mtime_ns: int | None = None
    """The wheel file's mtime when recorded (``None``: recorded by schema 1, size only)."""
    depends_key: str | None = None
    """:func:`~condawheel.conda.condameta.dependencies_key` of the depends and constrains the
    wheel was made with; None where unknown (recorded by an older condawheel)."""


@dataclass(frozen=True)
class Offer:
    """A source offered an artifact at a location (``scope``: the subdir it was listed in)."""

    source: str
    scope: str
    location: str
    artifact_key: str


@dataclass(frozen=True)
class FileDigest:
    """The sha256 of a local file as it was when hashed (its stamp)."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str
    md5: str
    hashed_ns: int

    def still_valid(self, size: int, mtime_ns: int, inode: int) -> bool:
        """Return whether a file with this stamp can be trusted to hold the same bytes."""
        return (self.size, self.mtime_ns, self.inode) == (
            size,
            mtime_ns,
            inode,
        ) and self.hashed_ns - self.mtime_ns > RACY_NS


@dataclass(frozen=True)
class SidecarKey:
    """What an untracked wheel's ``conda.json`` names as its source (None: not a conda wheel)."""

    wheel: str
    size: int
    mtime_ns: int
    artifact_key: str | None
    depends_key: str | None = None
    """The digest of the depends and constrains its ``conda.json`` says it was made with."""
    split: bool = False
    """Whether it is one of the wheels of a package split by its Python distributions:
    such a wheel is never adopted alone (whether its siblings all landed is unknown)."""


def _unknown_schema(found: object) -> None:
    msg = f"state schema {found!r}, this condawheel writes {SCHEMA_VERSION}"
    raise sqlite3.DatabaseError(msg)


def _missing_columns(connection: sqlite3.Connection) -> list[tuple[str, str, str]]:
    present: dict[str, set[str]] = {}
    for table, _, _ in _ADDED_COLUMNS:
        if table not in present:
            rows = connection.execute(f"PRAGMA table_info({table})")
            present[table] = {row[1] for row in rows}
    return [item for item in _ADDED_COLUMNS if item[1] not in present[item[0]]]


def _one_row_per_artifact(connection: sqlite3.Connection) -> bool:
    """Whether ``conversions`` is keyed by artifact and options alone (schema 1 and 2)."""
    keyed = {row[1] for row in connection.execute("PRAGMA table_info(conversions)") if row[5]}
    return "wheel" not in keyed


def _key_conversions_by_wheel(connection: sqlite3.Connection) -> None:
    """Rebuild ``conversions`` with the wheel in its primary key, keeping every row.

    SQLite cannot change a table's primary key in place: the documented way is a new
    table, a copy, and a rename (https://sqlite.org/lang_altertable.html, "Making Other
    Kinds Of Table Schema Changes"). The rename comes before the index, which went with
    the old table.
    """
    connection.execute(f"CREATE TABLE conversions_by_wheel_new ({_CONVERSIONS_TABLE})")
    connection.execute(_COPY_CONVERSIONS)
    connection.execute("DROP TABLE conversions")
    connection.execute("ALTER TABLE conversions_by_wheel_new RENAME TO conversions")
    connection.execute("CREATE INDEX IF NOT EXISTS conversions_by_wheel ON conversions (wheel)")


def _needs_migration(connection: sqlite3.Connection, schema: str | None) -> bool:
    return (
        schema != str(SCHEMA_VERSION)
        or bool(_missing_columns(connection))
        or _one_row_per_artifact(connection)
    )


def _migrate(connection: sqlite3.Connection) -> None:
    """Bring a schema 1 or 2 state (or one lacking a column) to schema 3 in place.

    Not merely compatible: older writers insert rows by position and replace an
    artifact's one row, so an older condawheel must see the new schema and set the file
    aside rather than write wrong rows. Every conversion row is kept: a wheelhouse is not
    converted again. The index signature is dropped so that the next sync runs the
    index once and records which wheels it could not index (schema 1 did not keep that);
    the sidecar cache is emptied, since it did not say which wheels are split ones.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated it meanwhile.
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if _needs_migration(connection, None if row is None else row[0]):
            for table, column, kind in _missing_columns(connection):
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            if _one_row_per_artifact(connection):
                _key_conversions_by_wheel(connection)
            connection.execute("DELETE FROM sidecar_keys")
            connection.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),)
            )
            connection.execute("DELETE FROM meta WHERE key = 'index_signature'")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit mode; transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
    connection = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous = FULL")
        connection.executescript(_SCHEMA)
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        elif row[0] not in {"1", "2", str(SCHEMA_VERSION)}:
            _unknown_schema(row[0])
        elif _needs_migration(connection, row[0]):
            _migrate(connection)
    except BaseException:
        connection.close()
        raise
    return connection


class WheelhouseState:
    """The state database of one wheelhouse (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self.set_aside: Path | None = None
        """Where an unreadable state file was moved, if :meth:`open` had to."""

    @classmethod
    def open(cls, directory: Path) -> WheelhouseState:
        """Open (or create) the state file of ``directory``.

        A file SQLite cannot read, or of another schema, is renamed to
        ``<name>.unreadable-<time>`` and a new one is started: the wheels are the truth and
        the new state adopts them.

        :raises WheelhouseError: if no state file can be created.
        """
        path = directory / STATE_NAME
        set_aside = None
        try:
            try:
                connection = _connect(path)
            except sqlite3.OperationalError:
                raise  # I/O, a full disk, a lock: the file itself may be fine, keep it
            except sqlite3.DatabaseError:
                set_aside = path.with_name(f"{path.name}.unreadable-{time.time_ns()}")
                path.replace(set_aside)
                with contextlib.suppress(FileNotFoundError):
                    path.with_name(path.name + "-journal").unlink()
                connection = _connect(path)
        except (sqlite3.Error, OSError) as error:
            raise WheelhouseError(str(path), f"cannot open the state file: {error}") from None
        state = cls(connection, path)
        state.set_aside = set_aside
        return state

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them land, or (after a crash or an error) none."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise WheelhouseError(str(self.path), f"cannot update the state: {error}") from None

    # ------------------------------------------------------------------ reads

    def conversions(self) -> list[ConversionRecord]:
        """Return every conversion record."""
        # In the order they were recorded: a split package's wheels as the converter made them.
        rows = self._db.execute(_SELECT_CONVERSIONS)
        return [ConversionRecord(*row) for row in rows]

    def offers(self) -> list[Offer]:
        """Return every offer."""
        rows = self._db.execute("SELECT source, scope, location, artifact_key FROM offers")
        return [Offer(*row) for row in rows]

    def file_digests(self) -> dict[str, FileDigest]:
        """Return the digest cache by path."""
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, inode, sha256, md5, hashed_ns FROM file_digests"
        )
        return {row[0]: FileDigest(*row) for row in rows}

    def sidecar_keys(self) -> dict[str, SidecarKey]:
        """Return the sidecar cache of untracked wheels by file name."""
        rows = self._db.execute(
            "SELECT wheel, size, mtime_ns, artifact_key, depends_key, split FROM sidecar_keys"
        )
        return {
            wheel: SidecarKey(wheel, size, mtime_ns, key, depends, split=bool(split))
            for wheel, size, mtime_ns, key, depends, split in rows
        }

    def meta(self, key: str) -> str | None:
        """Return a value of the ``meta`` table."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ writes
    # Callers wrap these in transaction(); each statement is atomic on its own too.

    def record_conversions(self, records: Sequence[ConversionRecord]) -> None:
        """Make ``records`` the wheels of their ``(artifact_key, options_key)`` pairs.

        An artifact converted with one set of options made one wheel, or several (a split
        package): all of them are recorded at once, and replace what was recorded before.
        """
        pairs = {(record.artifact_key, record.options_key) for record in records}
        self._db.executemany(
            "DELETE FROM conversions WHERE artifact_key = ? AND options_key = ?", pairs
        )
        for record in records:
            self._insert_conversion(record)

    def _insert_conversion(self, record: ConversionRecord) -> None:
        self._db.execute(
            _INSERT_CONVERSION,
            (
                record.artifact_key,
                record.options_key,
                record.wheel,
                record.wheel_size,
                record.wheel_sha256,
                record.artifact_filename,
                record.artifact_source,
                record.artifact_scope,
                record.artifact_location,
                record.condawheel_version,
                record.options_json,
                record.converted_at,
                record.wheel_mtime_ns,
                record.depends_key,
            ),
        )
        self._db.execute("DELETE FROM sidecar_keys WHERE wheel = ?", (record.wheel,))

    def record_wheel_stamps(self, stamps: Iterable[tuple[str, int, int]]) -> None:
        """Record ``(wheel, size, mtime_ns)``: the mtime, where the size is the recorded one."""
        self._db.executemany(
            "UPDATE conversions SET wheel_mtime_ns = ? WHERE wheel = ? AND wheel_size = ?",
            ((mtime_ns, wheel, size) for wheel, size, mtime_ns in stamps),
        )

    def forget_wheel(self, wheel: str) -> None:
        """Drop every conversion record that names ``wheel``."""
        self._db.execute("DELETE FROM conversions WHERE wheel = ?", (wheel,))
        self._db.execute("DELETE FROM sidecar_keys WHERE wheel = ?", (wheel,))

    def add_offers(self, offers: Iterable[Offer]) -> None:
        """Record offers (a location offers one artifact: the newest record wins)."""
        self._db.executemany(
            "INSERT OR REPLACE INTO offers VALUES (?, ?, ?, ?)",
            ((o.source, o.scope, o.location, o.artifact_key) for o in offers),
        )

    def replace_offers(self, source: str, scopes: Iterable[str], offers: Iterable[Offer]) -> None:
        """Make ``offers`` the only offers of ``source`` in ``scopes`` (a complete listing)."""
        self._db.executemany(
            "DELETE FROM offers WHERE source = ? AND scope = ?",
            ((source, scope) for scope in scopes),
        )
        self.add_offers(offers)

    def record_file_digests(self, digests: Iterable[FileDigest]) -> None:
        """Remember local files' digests by stamp."""
        self._db.executemany(
            "INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((d.path, d.size, d.mtime_ns, d.inode, d.sha256, d.md5, d.hashed_ns) for d in digests),
        )

    def forget_file_digests(self, paths: Iterable[str]) -> None:
        """Drop digests of files that are gone."""
        self._db.executemany("DELETE FROM file_digests WHERE path = ?", ((p,) for p in paths))

    def record_sidecar_keys(self, keys: Iterable[SidecarKey]) -> None:
        """Remember what untracked wheels' sidecars say."""
        self._db.executemany(
            "INSERT OR REPLACE INTO sidecar_keys (wheel, size, mtime_ns, artifact_key, "
            "depends_key, split) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (k.wheel, k.size, k.mtime_ns, k.artifact_key, k.depends_key, int(k.split))
                for k in keys
            ),
        )

    def forget_sidecar_keys(self, wheels: Iterable[str]) -> None:
        """Drop cached sidecar keys of wheels that are gone or now tracked."""
        self._db.executemany("DELETE FROM sidecar_keys WHERE wheel = ?", ((w,) for w in wheels))

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Set values of the ``meta`` table."""
        self._db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items())
        )


def stamp_of(path: Path) -> tuple[int, int, int]:
    """Return ``(size, mtime_ns, inode)`` of a file, the digest cache's key."""
    info = os.stat(path)  # noqa: PTH116 - one syscall, the fields we key on
    return info.st_size, info.st_mtime_ns, info.st_ino


def read_state_meta(directory: Path, key: str) -> str | None:
    """Return a ``meta`` value of ``directory``'s state, read-only; None if there is none.

    For readers that must not create, migrate or set aside a state (``condawheel index``):
    a missing, unreadable or locked state file is simply no answer.
    """
    path = directory / STATE_NAME
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return None if row is None else str(row[0])
