"""Conda versions matched against version specs on the conda side, as rattler does (CEP 29)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rattler import Version as RattlerVersion
from rattler import VersionSpec

from condawheel.conda.matchspec import pattern_matches, version_matches

# The version specs rattler reads; regex and mid-version globs are conda-only (below).
SPECS = [
    "*", "1.2", "==1.2", "!=1.2", "<1.2", "<=1.2", ">1.2", ">=1.2", "1.2.*", "=1.2", "1.2*",
    "!=1.2.*", ">=1.2,<2", ">=1.2,<2|>=3", "(>=1,<1.5)|2.*", "~=1.2", "~=1.2.3", ">1.2.*",
    ">=1.2.*", "<2.*", "==1.2.*", "1.1.1k", ">=1.1.1", "<1.2a0", ">=1!1.0",
]  # fmt: skip
VERSIONS = [
    "1", "1.2", "1.2.0", "1.2.3", "1.2a1", "1.2.dev0", "1.2.post1", "1.20", "1.3", "1.5",
    "2.0", "2.1", "3.0", "1.1.1k", "1.1.1", "1.1.1l", "0.9", "1!1.0", "1.2+local", "1.2_1",
]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS)
def test_version_matching_agrees_with_rattler(spec: str) -> None:
    rattler_spec = VersionSpec(spec)
    for version in VERSIONS:
        expected = rattler_spec.matches(RattlerVersion(version))
        assert version_matches(version, spec) == expected, (version, spec)


@given(
    st.lists(st.sampled_from(["0", "1", "2", "3", "10"]), min_size=1, max_size=3).map(".".join),
    st.sampled_from(SPECS),
)
def test_version_matching_agrees_with_rattler_on_releases(version: str, spec: str) -> None:
    assert version_matches(version, spec) == VersionSpec(spec).matches(RattlerVersion(version))


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        ("^1\\.2\\..*$", "1.2.3", True),
        ("^1\\.2\\..*$", "1.20", False),
        ("1.*.3", "1.2.3", True),
        ("1.*.3", "1.2.4", False),
        ("*", "not a version!", True),
        (">=1", "not a version!", False),
    ],
    ids=["regex", "regex-no", "glob", "glob-no", "any-invalid", "invalid"],
)
def test_conda_only_version_forms(spec: str, version: str, *, expected: bool) -> None:
    assert version_matches(version, spec) is expected


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        pytest.param("py*", "py312h1234_0", True, id="glob"),
        pytest.param("*_cp312", "h1234_cp312", True, id="glob-suffix"),
        pytest.param("py*", "PY312", False, id="glob-case-sensitive"),
        pytest.param("^py3[0-9]+_0$", "py312_0", True, id="regex"),
        pytest.param("^py3[0-9]+_0$", "py312_1", False, id="regex-anchored"),
        pytest.param("^py3", "^py3", True, id="unanchored-is-a-glob"),
    ],
)
def test_pattern_matches(pattern: str, text: str, *, expected: bool) -> None:
    assert pattern_matches(pattern, text) is expected
