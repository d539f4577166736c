"""Differential test: RECORD's text from :func:`condawheel.convert.writer.record_text` is csv's.

Rows are joined as they are unless a field holds a character csv treats specially; any
row of any text must come out as :func:`csv.writer` writes it (quoted, doubled quotes,
carriage returns as this Python's csv handles them), and a NUL must fail as csv fails.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condawheel.convert.writer import record_text

# Mostly names a wheel has, now and then one of csv's special characters in any field.
FIELD = st.one_of(
    *[st.text(st.sampled_from("abz/._-0123456789é"), max_size=12)] * 4,
    st.text(st.sampled_from('a,"\r\n\x00 \t'), max_size=6),
)
ROWS = st.lists(st.tuples(FIELD, FIELD, FIELD), max_size=8)


def _csv(rows: list[tuple[str, str, str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@given(ROWS)
def test_record_text_is_what_csv_writes(rows: list[tuple[str, str, str]]) -> None:
    try:
        expected = _csv(rows)
    except csv.Error:  # a NUL, which csv refuses on Python 3.10
        with pytest.raises(csv.Error):
            record_text(rows)
        return
    assert record_text(rows) == expected


def test_plain_rows_are_joined_and_special_ones_quoted() -> None:
    assert record_text([("a/b.py", "sha256=x", "3"), ("R", "", "")]) == "a/b.py,sha256=x,3\nR,,\n"
    assert record_text([('a,"b', "h", "1")]) == '"a,""b",h,1\n'
