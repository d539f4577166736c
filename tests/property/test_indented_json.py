"""Differential tests: :func:`condawheel.io.jsondata.indented_json` against :func:`json.dumps`.

Sidecars are dumped with json's C encoder and laid out by msgspec's formatter; the text
must be exactly what ``json.dumps(value, indent=2, sort_keys=True)`` writes, for any value:
every escape (control characters, quotes, non-ASCII with and without ``ensure_ascii``,
lone surrogates, which only json writes), every float spelling (``1e+16``, ``-0.0``, ``NaN``), big integers, empty
and nested containers, keys that sort by code point.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from condawheel.io.jsondata import JSONValue, indented_json

# Every code point, surrogates and controls included: json escapes some of them.
TEXT = st.text(st.characters(codec=None, categories=None), max_size=8)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=30,
)


@given(VALUES, st.booleans())
def test_indented_json_is_json_dumps(value: JSONValue, ensure_ascii: bool) -> None:
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    assert indented_json(value, ensure_ascii=ensure_ascii) == expected


def test_indented_json_layout_of_nested_and_empty_containers() -> None:
    value: JSONValue = {"b": [1, [], {}, {"x": [2.5, -0.0, 1e16]}], "a": "\u00e9\x01\u2028"}
    assert indented_json(value, ensure_ascii=False) == (
        "{\n"
        '  "a": "\u00e9\\u0001\u2028",\n'
        '  "b": [\n    1,\n    [],\n    {},\n    {\n      "x": [\n'
        "        2.5,\n        -0.0,\n        1e+16\n      ]\n    }\n  ]\n}"
    )


def test_indented_json_writes_what_json_has_no_token_for_as_json_does() -> None:
    assert indented_json([float("nan"), float("-inf")]) == "[\n  NaN,\n  -Infinity\n]"
