"""``condawheel sync --config FILE``: a sync job described in a TOML file's ``[sync]`` table.

Cron jobs and systemd timers keep their sync in a file rather than in a long command
line::

    [sync]
    sources = ["https://conda.anaconda.org/conda-forge", "../envs/work"]
    wheelhouse = "/srv/wheelhouse"
    select = ["numpy >=2", "requests"]
    newest = 2
    subdir = ["linux-64", "noarch"]
    jobs = 4
    platform_prefix = "conda"
    mapping = ["names.yaml"]
    prune = true

``sources``, ``select``, ``subdir`` and ``mapping`` take a string or an array of strings;
``newest`` and ``jobs`` a whole number of at least 1; ``prune`` true or false; the others a
string. ``scheduler`` (a Dask scheduler address) is read like the others. Relative paths
(``wheelhouse``, ``mapping``, and sources that are not URLs) are relative to the file, so
the job does not depend on the directory it runs from. An unknown key or a value of the
wrong type is an error naming the file, the line and the key: TOML readers give no line
numbers for values, so the line is found in the text (the key's ``key =`` line in the
``[sync]`` table).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from condawheel.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_CONFIG", "KEYS", "SyncConfig", "load_sync_config", "parse_sync_config"]

DEFAULT_CONFIG: Final = Path("condawheel.toml")
"""Read by ``condawheel sync`` given neither a SOURCE nor ``--config``, when it exists."""

KEYS: Final = (
    "sources",
    "wheelhouse",
    "select",
    "newest",
    "subdir",
    "jobs",
    "platform_prefix",
    "mapping",
    "scheduler",
    "prune",
)
_URL: Final = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://|file:")
_TABLE: Final = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


@dataclass(frozen=True)
class SyncConfig:
    """The ``[sync]`` table of a configuration file; None (or empty) where it says nothing."""

    origin: str
    sources: tuple[str, ...] = ()
    wheelhouse: Path | None = None
    select: tuple[str, ...] = ()
    newest: int | None = None
    subdir: tuple[str, ...] = ()
    jobs: int | None = None
    platform_prefix: str | None = None
    mapping: tuple[Path, ...] = ()
    scheduler: str | None = None
    prune: bool | None = None


def _line_of(text: str, key: str) -> int | None:
    """Return the line that sets ``key`` in the ``[sync]`` table (1-based), if found."""
    table = None
    assignment = re.compile(
        rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*="""
    )
    dotted = re.compile(rf"""\s*"?sync"?\s*\.\s*"?{re.escape(key)}"?\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header is not None and not line.lstrip().startswith("[["):
            table = header.group(1).strip().strip("\"'")
            continue
        if (table == "sync" and assignment.match(line)) or (table is None and dotted.match(line)):
            return number
    return None


def _kind(value: object) -> str:
    """Name a TOML value's type as TOML does."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _relative_to(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


class _Table:
    """The ``[sync]`` table being read: typed getters whose errors name the line."""

    def __init__(self, table: Mapping[str, object], text: str, origin: str) -> None:
        self.table = table
        self.source = text
        self.origin = origin

    def fail(self, key: str, reason: str) -> ConfigError:
        line = _line_of(self.source, key)
        return ConfigError(f"{self.origin}:{line}" if line is not None else self.origin, reason)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, ())
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise self.fail(
                key, f"{key} must be a string or an array of strings, not {_kind(value)}"
            )
        return tuple(str(item) for item in items)

    def count(self, key: str) -> int | None:
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            found = (
                str(value)
                if isinstance(value, int) and not isinstance(value, bool)
                else _kind(value)
            )
            raise self.fail(key, f"{key} must be a whole number of 1 or more, not {found}")
        return value

    def text(self, key: str) -> str | None:
        value = self.table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            found = "an empty string" if value == "" else _kind(value)
            raise self.fail(key, f"{key} must be a non-empty string, not {found}")
        return value

    def flag(self, key: str) -> bool | None:
        value = self.table.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(key, f"{key} must be true or false, not {_kind(value)}")


def parse_sync_config(text: str, *, origin: str, base: Path) -> SyncConfig:
    """Parse a configuration file's text into its ``[sync]`` table (pure).

    :param origin: names the file in error messages.
    :param base: the folder that relative paths in the file are relative to.
    :raises ConfigError: for text that is not TOML, no ``[sync]`` table, an unknown key or
        a value of the wrong type; the message names the line and the key.
    """
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - the standard library's reader, from 3.11
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # noqa: PLC0415

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(origin, f"not valid TOML: {error}") from None
    found = document.get("sync")
    if not isinstance(found, dict):
        raise ConfigError(origin, "no [sync] table")
    table = _Table(found, text, origin)
    for key in found:
        if key not in KEYS:
            raise table.fail(key, f"unknown key {key!r} in [sync] (known: {', '.join(KEYS)})")
    wheelhouse = table.text("wheelhouse")
    return SyncConfig(
        origin=origin,
        sources=tuple(
            source if _URL.match(source) else str(_relative_to(base, source))
            for source in table.strings("sources")
        ),
        wheelhouse=None if wheelhouse is None else _relative_to(base, wheelhouse),
        select=table.strings("select"),
        newest=table.count("newest"),
        subdir=table.strings("subdir"),
        jobs=table.count("jobs"),
        platform_prefix=table.text("platform_prefix"),
        mapping=tuple(_relative_to(base, item) for item in table.strings("mapping")),
        scheduler=table.text("scheduler"),
        prune=table.flag("prune"),
    )


def load_sync_config(path: Path) -> SyncConfig:
    """Read ``path`` and return its ``[sync]`` table; relative paths in it are made absolute.

    :raises ConfigError: when the file cannot be read, or see :func:`parse_sync_config`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(str(path), f"not UTF-8 text ({error.reason})") from None
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file or directory") from None
    except OSError as error:
        raise ConfigError(str(path), f"cannot be read: {error.strerror or error}") from None
    return parse_sync_config(text, origin=str(path), base=path.absolute().parent)
