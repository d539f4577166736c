"""Version specs read into trees of clauses (CEP 29; docs/reference.md, 2.2)."""

from __future__ import annotations

import pytest

from condawheel.conda.matchspec.versionspec import Clause, Group, SpecNode, parse_version_spec
from condawheel.errors import InvalidMatchSpec

AT_LEAST_1 = Clause(">=1", ">=", "1")
BELOW_2 = Clause("<2", "<", "2")
PREFIX_3 = Clause("3.*", "", "3", starred=True)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        pytest.param("*", Clause("*", "*", ""), id="any"),
        pytest.param("1.2", Clause("1.2", "", "1.2"), id="bare"),
        pytest.param("=1.2", Clause("=1.2", "=", "1.2"), id="fuzzy"),
        pytest.param("1.2*", Clause("1.2*", "", "1.2", starred=True), id="star"),
        pytest.param(">= 1", Clause(">= 1", ">=", "1"), id="space-after-operator"),
        pytest.param("1.*.3", Clause("1.*.3", "glob", "1.*.3"), id="glob"),
        pytest.param("^1\\.2$", Clause("^1\\.2$", "regex", "^1\\.2$"), id="regex"),
        pytest.param(">=1,<2", Group(",", (AT_LEAST_1, BELOW_2)), id="and"),
        pytest.param(
            ">=1,<2|3.*",
            Group("|", (Group(",", (AT_LEAST_1, BELOW_2)), PREFIX_3)),
            id="and-binds-tighter",
        ),
        pytest.param(
            "3.*|>=1,<2",
            Group("|", (PREFIX_3, Group(",", (AT_LEAST_1, BELOW_2)))),
            id="and-binds-tighter-on-the-right",
        ),
        pytest.param(
            ">=1,(<2|3.*)",
            Group(",", (AT_LEAST_1, Group("|", (BELOW_2, PREFIX_3)))),
            id="parentheses-group",
        ),
        pytest.param(">=1|<2|3.*", Group("|", (AT_LEAST_1, BELOW_2, PREFIX_3)), id="or-is-flat"),
        pytest.param("((>=1))", AT_LEAST_1, id="nested-parentheses"),
    ],
)
def test_parse_version_spec(text: str, tree: SpecNode) -> None:
    assert parse_version_spec(text, text) == tree


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty version spec", id="empty"),
        pytest.param(">=1,", "ends where a version was expected", id="trailing-comma"),
        pytest.param(">=1|,<2", "unexpected ','", id="joiners-in-a-row"),
        pytest.param("(>=1", "unbalanced '('", id="open-parenthesis"),
        pytest.param(">=1)", "unexpected ')'", id="close-parenthesis"),
        pytest.param("()", "unexpected ')'", id="empty-parentheses"),
    ],
)
def test_parse_version_spec_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidMatchSpec) as caught:
        parse_version_spec(text, "numpy " + text)
    assert caught.value.subject == "numpy " + text
    assert reason in caught.value.reason
