from __future__ import annotations

import pytest

from condawheel.io.jsondata import JSONProblem, parse_json


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": [1, 2.5, true, null, "x"]}', {"a": [1, 2.5, True, None, "x"]}),
        ("[]", []),
        (b'"\xc3\xa9"', "\u00e9"),
    ],
    ids=["object", "text", "utf8"],
)
def test_parse_json_values(data: bytes | str, expected: object) -> None:
    assert parse_json(data) == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{", "not valid JSON (Expecting property name"),
        (b'"\xff"', "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON (nested too deeply)"),
        (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "not valid JSON (nested too deeply)"),
    ],
    ids=["truncated", "not-utf8", "deep-list", "deep-object"],
)
def test_parse_json_problems_are_value_errors(data: bytes, reason: str) -> None:
    with pytest.raises(JSONProblem) as caught:
        parse_json(data)
    assert str(caught.value).startswith(reason)
    assert isinstance(caught.value, ValueError)
