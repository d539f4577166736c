"""Which libraries the host system provides, per binary format, with the reason shown (pure).

The lists are data, shipped beside this module as ``system-libraries.json`` (read through
:mod:`importlib.resources`, as auditwheel ships its manylinux policy), so that changing
what counts as a system library is a reviewed change of data, not of code. Each format
holds ordered groups (glibc, then the rest of the manylinux policy; the Visual C++ runtime
of Python, then Windows' own DLLs; ...); the first group that lists a name gives the
reason a report shows. ``docs/convert.md`` ("External libraries") describes the schema.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Final

from condawheel.errors import ConfigError
from condawheel.io.jsondata import JSONProblem, parse_json

if TYPE_CHECKING:
    from collections.abc import Mapping

    from condawheel.binaries.facts import BinaryFormat
    from condawheel.io.jsondata import JSONValue

__all__ = [
    "POLICY_RESOURCE",
    "FormatPolicy",
    "SystemLibraryGroup",
    "SystemPolicy",
    "default_policy",
    "parse_policy",
]

POLICY_RESOURCE: Final = "system-libraries.json"
_POLICY_VERSION = 1
_FORMATS: tuple[BinaryFormat, ...] = ("elf", "macho", "pe")
_GROUP_KEYS = frozenset({"name", "reason", "about", "names", "prefixes", "patterns"})


@dataclass(frozen=True)
class SystemLibraryGroup:
    """Libraries the host provides for one reason: by exact name, name prefix or pattern."""

    name: str
    # The text reports show for a library of this group.
    reason: str
    # Why the group is there, and where its list comes from.
    about: str
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    # Matched against the whole name (``re.fullmatch``).
    patterns: tuple[re.Pattern[str], ...] = ()

    def lists(self, name: str) -> bool:
        """Return whether this group lists ``name`` (already case-folded if it must be)."""
        return (
            name in self.names
            or name.startswith(self.prefixes)
            or any(pattern.fullmatch(name) for pattern in self.patterns)
        )


@dataclass(frozen=True)
class FormatPolicy:
    """The groups of one binary format, in the order they are tried."""

    # False for PE: Windows file names are case-insensitive, and the data is lower case.
    case_sensitive: bool
    groups: tuple[SystemLibraryGroup, ...]


@dataclass(frozen=True)
class SystemPolicy:
    """Which libraries the host system provides, for every binary format."""

    formats: Mapping[BinaryFormat, FormatPolicy]

    def reason(self, binary_format: BinaryFormat, name: str) -> str | None:
        """Return why the host provides library ``name`` of a ``binary_format`` binary.

        :return: the reason of the first group that lists it; ``None`` if none does.
        """
        policy = self.formats[binary_format]
        key = name if policy.case_sensitive else name.casefold()
        return next((group.reason for group in policy.groups if group.lists(key)), None)


@functools.cache
def default_policy() -> SystemPolicy:
    """Return the shipped policy (``system-libraries.json``), read once per process.

    :raises ConfigError: if the packaged file is missing or invalid (a broken install).
    """
    origin = f"condawheel/binaries/{POLICY_RESOURCE}"
    try:
        raw = resources.files("condawheel.binaries").joinpath(POLICY_RESOURCE).read_bytes()
    except OSError as error:
        raise ConfigError(origin, f"cannot read the packaged policy: {error}") from None
    return parse_policy(raw, origin=origin)


def parse_policy(data: bytes | str, *, origin: str) -> SystemPolicy:
    """Parse and validate a system-library policy document.

    :param origin: names the document in errors.
    :raises ConfigError: naming the first field that breaks the schema.
    """
    try:
        document = parse_json(data)
    except JSONProblem as problem:
        raise ConfigError(origin, str(problem)) from None
    top = _object(origin, document, "the document", {"policy_version", "about", "formats"})
    if "about" in top:
        _text(origin, top["about"], "about")
    if top.get("policy_version") != _POLICY_VERSION:
        raise ConfigError(
            origin,
            f"policy_version must be {_POLICY_VERSION}, not {top.get('policy_version')!r}",
        )
    formats = _object(origin, top.get("formats"), "formats", set(_FORMATS))
    missing = [name for name in _FORMATS if name not in formats]
    if missing:
        raise ConfigError(origin, f"formats: {', '.join(missing)} missing")
    return SystemPolicy(
        {name: _format(origin, formats[name], f"formats.{name}") for name in _FORMATS}
    )


def _format(origin: str, value: JSONValue, where: str) -> FormatPolicy:
    entry = _object(origin, value, where, {"case_sensitive", "groups"})
    case_sensitive = entry.get("case_sensitive")
    if not isinstance(case_sensitive, bool):
        raise ConfigError(origin, f"{where}.case_sensitive must be true or false")
    groups = entry.get("groups")
    if not isinstance(groups, list) or not groups:
        raise ConfigError(origin, f"{where}.groups must be a non-empty list")
    parsed = tuple(
        _group(origin, group, f"{where}.groups[{index}]", case_sensitive=case_sensitive)
        for index, group in enumerate(groups)
    )
    names = [group.name for group in parsed]
    if len(set(names)) != len(names):
        raise ConfigError(origin, f"{where}: two groups have the same name")
    listed: dict[str, str] = {}
    for group in parsed:
        for name in sorted(group.names):
            if name in listed:
                raise ConfigError(
                    origin, f"{where}: {name!r} is in both {listed[name]!r} and {group.name!r}"
                )
            listed[name] = group.name
    return FormatPolicy(case_sensitive, parsed)


def _group(
    origin: str, value: JSONValue, where: str, *, case_sensitive: bool
) -> SystemLibraryGroup:
    entry = _object(origin, value, where, _GROUP_KEYS)
    name, reason, about = (
        _text(origin, entry.get(key), f"{where}.{key}") for key in ("name", "reason", "about")
    )
    lists = {
        key: _strings(origin, entry.get(key, []), f"{where}.{key}", case_sensitive=case_sensitive)
        for key in ("names", "prefixes", "patterns")
    }
    if not any(lists.values()):
        raise ConfigError(origin, f"{where} lists no names, prefixes or patterns")
    patterns = tuple(_pattern(origin, pattern, where) for pattern in lists["patterns"])
    return SystemLibraryGroup(
        name=name,
        reason=reason,
        about=about,
        names=frozenset(lists["names"]),
        prefixes=tuple(lists["prefixes"]),
        patterns=patterns,
    )


def _pattern(origin: str, pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ConfigError(
            origin, f"{where}.patterns: {pattern!r} is not a regular expression ({error})"
        ) from None


def _object(
    origin: str, value: JSONValue, where: str, keys: set[str] | frozenset[str]
) -> dict[str, JSONValue]:
    if not isinstance(value, dict):
        raise ConfigError(origin, f"{where} must be a JSON object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise ConfigError(origin, f"{where}: unknown key {unknown[0]!r}")
    return value


def _text(origin: str, value: JSONValue, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(origin, f"{where} must be a non-empty string")
    return value


def _strings(origin: str, value: JSONValue, where: str, *, case_sensitive: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(origin, f"{where} must be a list of non-empty strings")
    strings = [item for item in value if isinstance(item, str)]
    if len(set(strings)) != len(strings):
        raise ConfigError(origin, f"{where} lists a string twice")
    if not case_sensitive:
        # Names are compared case-folded: data that is not would never match.
        folded = next((item for item in strings if item != item.casefold()), None)
        if folded is not None and not where.endswith(".patterns"):
            raise ConfigError(origin, f"{where}: {folded!r} must be lower case (case-insensitive)")
    return strings
