"""Conda versions as PEP 440 versions, and where the two orders agree (docs/reference.md, 2.3)."""

from __future__ import annotations

import pytest

from condawheel.conda.matchspec import conda_version_to_pep440, pep440_agrees


@pytest.mark.parametrize(
    ("conda", "pep440"),
    [
        pytest.param("1.2", "1.2", id="plain"),
        pytest.param("1.2.0", "1.2.0", id="zero-kept"),
        pytest.param("01.02", "1.2", id="leading-zeros"),
        pytest.param("1!2.0", "1!2.0", id="epoch"),
        pytest.param("1.0_1", "1.0.1", id="underscore"),
        pytest.param("1.0-1", "1.0.1", id="dash-is-not-post"),
        pytest.param("1.0RC1", "1.0rc1", id="case"),
        pytest.param("1.0.a1", "1.0a1", id="dotted-pre"),
        pytest.param("1.0alpha1", "1.0a1", id="alpha"),
        pytest.param("1.0post1", "1.0.post1", id="post"),
        pytest.param("1.0dev0", "1.0.dev0", id="dev"),
        pytest.param("1.0+local_1", "1.0+local.1", id="local"),
        pytest.param("1.1.1k", "1.1.1+k", id="openssl"),
        pytest.param("9d", "9+d", id="jpeg-9d"),
        pytest.param("9e", "9+e", id="jpeg-9e"),
        pytest.param("2025a", "2025+a", id="tzdata"),
        pytest.param("1.0rc", "1.0+rc", id="letters-without-number"),
        pytest.param("1!2.0a", "1!2.0+a", id="letters-with-epoch"),
        pytest.param("1.1.1_k", None, id="letters-in-own-segment"),
        pytest.param("1.0.1a1.1", None, id="pre-release-then-number"),
        pytest.param("1.0.1k.1", None, id="letters-then-number"),
        pytest.param("1_0-1", None, id="mixed-separators"),
        pytest.param("1..2", None, id="empty-segment"),
        pytest.param("1.2.*", None, id="glob"),
        pytest.param("1.0+a+b", None, id="two-locals"),
        pytest.param("x!1", None, id="bad-epoch"),
        pytest.param("", None, id="empty"),
    ],
)
def test_conda_version_to_pep440(conda: str, pep440: str | None) -> None:
    mapped = conda_version_to_pep440(conda)
    assert (None if mapped is None else str(mapped)) == pep440


@pytest.mark.parametrize(
    ("candidate", "literal", "prefix", "agrees"),
    [
        pytest.param("1.2.3", "1.2", False, True, id="plain"),
        pytest.param("2.0rc1", "2", False, True, id="pre-release-below"),
        pytest.param("1.2a1", "1.2.0a0", False, False, id="pre-release-positions"),
        pytest.param("1.2.dev0", "1.2a1", False, False, id="dev-versus-pre"),
        pytest.param("1.1.1k", "1.1.1", False, False, id="letters"),
        pytest.param("1.0+x", "1.0", False, False, id="local-against-public"),
        pytest.param("1.0+a", "1.0+x", False, True, id="local-against-local"),
        pytest.param("1.2.post1", "1.2.0.1", False, False, id="post-versus-longer"),
        pytest.param("1.2a1", "1.2", True, True, id="prefix-pre-release"),
        pytest.param("1.20", "1.2", True, True, id="prefix-component-wise"),
        pytest.param("1.2a1.post1", "1.2.0", True, False, id="prefix-run-on"),
        pytest.param("1.2a1", "1.2a", True, False, id="prefix-not-a-release"),
        pytest.param("1..2", "1.2", False, False, id="candidate-invalid"),
        pytest.param("1.0.1a1.1", "1.2", False, False, id="candidate-unmappable"),
    ],
)
def test_pep440_agrees(candidate: str, literal: str, prefix: bool, agrees: bool) -> None:
    assert pep440_agrees(candidate, literal, prefix=prefix) is agrees
