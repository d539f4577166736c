"""Parse JSON documents from untrusted bytes into plain values, with bounded depth (pure)."""

from __future__ import annotations

import json
from typing import TypeAlias

__all__ = ["JSONObject", "JSONProblem", "JSONValue", "parse_json"]

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
