"""Conda versions ordered as conda and rattler order them (CEP 33; docs/reference.md, 2.3)."""

from __future__ import annotations

import re

import pytest
from rattler import Version as RattlerVersion
from rattler.exceptions import InvalidVersionError

from condawheel.conda.matchspec import compare_conda_versions, is_conda_version
from condawheel.errors import InvalidMatchSpec


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        # docs/reference.md 2.3 and CEP 33; rattler is asserted to agree.
        pytest.param("1.0.0", "1.0", 0, id="padding"),
        pytest.param("1.0-1", "1.0.1", 0, id="dash-is-dot"),
        pytest.param("1.0_1", "1.0.1", 0, id="underscore-is-dot"),
        pytest.param("1.0.A1", "1.0.0a1", 0, id="case-and-implicit-zero"),
        pytest.param("1.1.1k", "1.1.1", -1, id="letters-below-release"),
        pytest.param("2021a", "2021", -1, id="tzdata-below-year"),
        pytest.param("2021", "2021.1", -1, id="year-below-point"),
        pytest.param("1.0+local", "1.0", -1, id="local-below"),
        pytest.param("1.0+0", "1.0", 0, id="local-zero"),
        pytest.param("1.1.post1", "1.1post1", -1, id="post-position"),
        pytest.param("1.0a1", "1.0.a1", -1, id="pre-position"),
        pytest.param("1.0rc1", "1.0c1", 1, id="rc-after-c"),
        pytest.param("1.0alpha1", "1.0a1", 1, id="alpha-after-a"),
        pytest.param("1.2a1", "1.2.0a0", -1, id="shorter-pre-release-first"),
        pytest.param("1.2.dev0", "1.2a1", 1, id="dotted-dev-after-pre"),
        pytest.param("1.2dev0", "1.2a1", -1, id="glued-dev-before-pre"),
        pytest.param("1.2post1", "1.2.1", 1, id="glued-post-after-patch"),
        pytest.param("0.4.1.rc", "0.4.1", -1, id="rc-below"),
        pytest.param("1.1dev1", "1.1a1", -1, id="dev-below-alpha"),
        pytest.param("1!1.0", "2.0", 1, id="epoch-first"),
    ],
)
def test_compare_conda_versions(left: str, right: str, order: int) -> None:
    assert compare_conda_versions(left, right) == order
    assert compare_conda_versions(right, left) == -order
    rattler_left, rattler_right = RattlerVersion(left), RattlerVersion(right)
    assert (rattler_left > rattler_right) - (rattler_left < rattler_right) == order


def test_compare_conda_versions_rejects() -> None:
    with pytest.raises(InvalidMatchSpec, match=re.escape("'1..2' is not a conda version")):
        compare_conda_versions("1..2", "1")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1.2", id="plain"),
        pytest.param("1!2.0+local_1", id="epoch-and-local"),
        pytest.param("2025a", id="letters"),
        pytest.param("V1.2", id="leading-letter"),
        pytest.param("1..2", id="empty-segment"),
        pytest.param("1.0_1-2", id="mixed-separators"),
        pytest.param("x!1", id="bad-epoch"),
        pytest.param("1.2.*", id="glob"),
        pytest.param("1.0+a+b", id="two-locals"),
        pytest.param("1.2$", id="stray-character"),
        pytest.param("", id="empty"),
    ],
)
def test_is_conda_version_agrees_with_rattler(text: str) -> None:
    try:
        RattlerVersion(text)
    except InvalidVersionError:
        expected = False
    else:
        expected = True
    assert is_conda_version(text) is expected
