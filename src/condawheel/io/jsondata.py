"""Parse JSON documents from untrusted bytes into plain values, with bounded depth (pure)."""

from __future__ import annotations

import json
from typing import TypeAlias

import msgspec

__all__ = ["JSONObject", "JSONProblem", "JSONValue", "indented_json", "parse_json"]

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
JSONObject: TypeAlias = "dict[str, JSONValue]"


class JSONProblem(ValueError):
    """Bytes that are not a usable JSON document; ``str()`` is a short reason.

    Callers wrap it into the error of their own level (an invalid package, an unreadable
    source), naming the file: the reason alone does not say which document it was.
    """


def parse_json(data: bytes | str) -> JSONValue:
    """Return the JSON value encoded in ``data`` (UTF-8, RFC 8259).

    Nesting deeper than the interpreter's recursion limit makes :func:`json.loads` raise
    :class:`RecursionError`, which is not a :class:`ValueError`; hostile documents
    (``[[[[...]]]]``) would then escape every ``except ValueError``. It is turned into a
    :class:`JSONProblem` here, like every other way the bytes can be wrong.

    :raises JSONProblem: if ``data`` is not UTF-8, not JSON, or nested too deeply.
    """
    try:
        value: JSONValue = json.loads(data)
    except UnicodeDecodeError as error:
        raise JSONProblem(f"not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise JSONProblem(f"not valid JSON ({error})") from None
    except RecursionError:
        raise JSONProblem("not valid JSON (nested too deeply)") from None
    return value


def indented_json(value: JSONValue, *, ensure_ascii: bool = True) -> str:
    """Return ``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=...)``, made in C.

    With an indent, :mod:`json` encodes in Python, one call per value: a sidecar that lists
    30,000 files costs a third of a second. Without one it encodes in C. The compact text
    is then laid out by :func:`msgspec.json.format`, which copies every string and number
    token verbatim (json's own escapes and float spellings) and writes the whitespace
    json's indent writes: each item on its own line after a bare comma, ``": "`` after
    keys, ``[]`` and ``{}`` for empty containers. The text is the same, character for
    character (``tests/property/test_indented_json.py`` compares the two).
    Values JSON has no token for (``NaN``, ``Infinity``), or a string with a lone
    surrogate, stop the formatter: those go the way they always went.
    """
    compact = json.dumps(value, sort_keys=True, ensure_ascii=ensure_ascii, separators=(",", ":"))
    try:
        return msgspec.json.format(compact, indent=2)
    except (msgspec.DecodeError, UnicodeEncodeError):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
