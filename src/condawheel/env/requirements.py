"""Requirement files (``condawheel install -r FILE``), in the subset of pip's format it needs.

pip's format (the "Requirements File Format" of pip's documentation): one requirement
per line; ``#`` at the start of a line or after whitespace starts a comment; a line
ending in a backslash continues on the next; ``-r FILE`` / ``--requirement FILE`` includes
another file, relative to the including one. condawheel reads the requirements itself,
because its preference for conda builds (:mod:`condawheel.env.resolve`) needs every
requirement the user gave, and passes them to pip as arguments.

Other options (``-i``, ``--find-links``, ``-c``, ``-e``, ``--hash``...) are refused,
naming the line: sources are given on condawheel's command line, so that the preference
rule sees every source pip uses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from condawheel.errors import InstallError

__all__ = ["parse_requirements", "read_requirements"]

_COMMENT: Final = re.compile(r"(^|\s+)#.*$")
_INCLUDE: Final = re.compile(r"(?:-r|--requirement)(?:\s*=\s*|\s+|(?<=-r))(?P<file>\S.*)")
# An option: at the start of the line (-i URL), or after a requirement (--hash=...).
_OPTION: Final = re.compile(r"(?:^|\s)(--?[A-Za-z][\w-]*)")
_MAX_DEPTH: Final = 10


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Return ``(first line number, text)`` of each line after joining continuations."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.endswith("\\") and not _COMMENT.search(line):
            pending.append(line[:-1])
            continue
        pending.append(line)
        lines.append((start, "".join(pending)))
        pending = []
    if pending:
        lines.append((start, "".join(pending)))
    return lines


def parse_requirements(text: str, *, origin: str) -> list[tuple[int, str]]:
    """Return each line of a requirement file as ``(line number, text)``, comments removed.

    Include lines (``-r FILE``) are returned as they are; :func:`read_requirements`
    follows them.

    :raises InstallError: for an option other than ``-r``/``--requirement``.
    """
    found = []
    for number, line in _logical_lines(text):
        stripped = _COMMENT.sub("", line).strip()
        if not stripped:
            continue
        if _INCLUDE.fullmatch(stripped) is None:
            option = _OPTION.search(stripped)
            if option is not None:
                raise InstallError(
                    f"{origin}:{number}",
                    f"{option.group(1)} is not supported in a requirement file for condawheel "
                    "install (only requirements and -r FILE; sources go on the command line)",
                )
        found.append((number, stripped))
    return found


def read_requirements(path: Path, *, _depth: int = 0) -> tuple[str, ...]:
    """Return the requirements of a requirement file, following ``-r`` includes.

    :raises InstallError: when a file cannot be read, includes nest too deep, or a line
        has an option condawheel does not take (see the module docstring).
    """
    if _depth > _MAX_DEPTH:
        raise InstallError(
            str(path), f"requirement files include each other more than {_MAX_DEPTH} deep"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstallError(str(path), "no such file or directory") from None
    except UnicodeDecodeError as error:
        raise InstallError(str(path), f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise InstallError(str(path), f"cannot be read: {error.strerror or error}") from None
    requirements: list[str] = []
    for _, line in parse_requirements(text, origin=str(path)):
        include = _INCLUDE.fullmatch(line)
        if include is None:
            requirements.append(line)
            continue
        nested = Path(include.group("file").strip())
        nested = nested if nested.is_absolute() else path.parent / nested
        requirements += read_requirements(nested, _depth=_depth + 1)
    return tuple(requirements)
