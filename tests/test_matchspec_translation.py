"""Version specs translated to PEP 440 and PEP 508 (docs/reference.md, 2.2 and 2.4)."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from rattler import Version as RattlerVersion
from rattler import VersionSpec

from condawheel.conda.matchspec import (
    Fidelity,
    conda_version_to_pep440,
    parse_matchspec,
    to_requirement,
    translate_version_spec,
)
from condawheel.errors import InvalidMapping, InvalidMatchSpec

HULL = "'|' has no PEP 508 form: widened to the hull of the alternatives"


@pytest.mark.parametrize(
    ("conda", "pep440", "fidelity", "note"),
    [
        pytest.param(None, "", "exact", None, id="none-is-any"),
        pytest.param("*", "", "exact", None, id="star-is-any"),
        pytest.param("1.2", "==1.2", "exact", None, id="bare-is-exact"),
        pytest.param("==1.2", "==1.2", "exact", None, id="double-equals"),
        pytest.param("1.2.*", "==1.2.*", "exact", None, id="dot-star-prefix"),
        pytest.param("1.2*", "==1.2.*", "exact", None, id="star-prefix"),
        pytest.param("=1.2", "==1.2.*", "exact", None, id="equals-prefix"),
        pytest.param("1.2.0.*", "==1.2.0.*", "exact", None, id="zero-prefix"),
        pytest.param("1!1.2.*", "==1!1.2.*", "exact", None, id="epoch-prefix"),
        pytest.param("!=1.2", "!=1.2", "exact", None, id="not-equal-is-exact"),
        pytest.param("!=1.2.*", "!=1.2.*", "exact", None, id="not-prefix"),
        pytest.param("~=1.2.3", "~=1.2.3", "exact", None, id="compatible"),
        pytest.param("~=1.2", "~=1.2", "exact", None, id="compatible-two"),
        pytest.param("~=1.2.3rc1", "~=1.2.3rc1", "exact", None, id="compatible-pre"),
        # rattler drops the last *segment*; PEP 440 the last release number.
        pytest.param("~=1.2.post1", ">=1.2.post1,==1.2.*", "exact", None, id="compatible-post"),
        pytest.param("~=1.2.3.dev0", ">=1.2.3.dev0,==1.2.3.*", "exact", None, id="compatible-dev"),
        pytest.param("~=1", ">=1,<1!0.dev0", "exact", "rattler", id="compatible-one"),
        pytest.param("~=1.2.*", "~=1.2", "exact", "rattler ignores", id="compatible-star"),
        pytest.param(">=1.2", ">=1.2", "exact", None, id="at-least"),
        pytest.param("<=1.2", "<=1.2", "exact", None, id="at-most"),
        pytest.param(">=1.2.*", ">=1.2", "exact", "ignore '.*' after '>='", id="at-least-star"),
        pytest.param("<=1.2.*", "<=1.2", "exact", "ignore '.*'", id="at-most-star"),
        pytest.param("==1.2.*", "==1.2", "exact", "ignore '.*'", id="double-equals-star"),
        pytest.param("<1.2.*", "<=1.2,!=1.2", "exact", "ignore '.*'", id="below-star"),
        pytest.param(">1.2.*", ">=1.2", "widened", "rattler as '>=V'", id="above-star"),
        pytest.param(">1.2", ">=1.2,!=1.2", "exact", "post-releases", id="above"),
        pytest.param("<1.2", "<=1.2,!=1.2", "exact", "pre-releases", id="below"),
        pytest.param(">=1.8,<2", ">=1.8,<=2,!=2", "exact", "pre-releases", id="range"),
        pytest.param("<3.13.0a0", "<3.13.0a0", "exact", None, id="below-pre-release"),
        pytest.param(">=3.12,<3.13.0a0", ">=3.12,<3.13.0a0", "exact", None, id="python-pin"),
        pytest.param(">=2.17,<3.0.a0", ">=2.17,<3.0a0", "exact", None, id="glibc-pin"),
        pytest.param(">=1.2a1", ">=1.2a1", "exact", None, id="pre-release-bound"),
        pytest.param(">=1.8,<2|==1.7", ">=1.7,<=2,!=2", "widened", HULL, id="or-hull"),
        pytest.param("1.2|1.3", ">=1.2,<=1.3", "widened", HULL, id="or-pins"),
        pytest.param("1.2 | 1.3", ">=1.2,<=1.3", "widened", HULL, id="or-spaced"),
        pytest.param("1.2.*|1.3.*", ">=1.2.dev0,<1.4.dev0", "exact", None, id="or-tiles"),
        pytest.param(">=1,<2|>=2,<3", ">=1,<=3,!=3", "exact", "pre-releases", id="or-touching"),
        pytest.param("<1|>1", "", "widened", HULL, id="or-with-a-hole"),
        pytest.param("(>=1|<0.5),!=1.5", "!=1.5", "widened", HULL, id="or-inside-and"),
        pytest.param("!=1.2|!=1.3", "", "widened", HULL, id="or-of-holes"),
        pytest.param(">2,<1", ">=2,!=2,<=1,!=1", "exact", "post-releases", id="empty-range"),
        pytest.param("1.*.3", "", "untranslatable", "no PEP 440 form", id="infix-glob"),
        pytest.param("^1\\.2\\..*$", "", "untranslatable", "no PEP 440 form", id="regex"),
        pytest.param("1.2a.*", "", "untranslatable", "plain release", id="letter-prefix"),
        pytest.param(">=1,1.*.3", ">=1", "widened", "no PEP 440 form", id="partly-glob"),
        pytest.param("1.2.*|1.*.3", "", "untranslatable", HULL, id="or-with-glob"),
        pytest.param("1.0-1", "==1.0.1", "exact", None, id="dash-separator"),
        pytest.param("1.0_1", "==1.0.1", "exact", None, id="underscore-separator"),
        pytest.param("==1.1.1k", "==1.1.1+k", "widened", "pinned as", id="letters-pinned"),
        pytest.param("2025a", "==2025+a", "widened", "pinned as", id="tzdata-pinned"),
        pytest.param(">=1.1.1k", "", "widened", "sorts '1.1.1k' below 1.1.1", id="letters-bound"),
        pytest.param(">=1.1.1k,<1.1.2", "<=1.1.2,!=1.1.2", "widened", "dropped", id="letters-half"),
        pytest.param("==1.0c1", "==1.0rc1", "widened", "sorts differently", id="respelled-pin"),
        pytest.param(">=1.0c1", "", "widened", "sorts differently", id="respelled-bound"),
        pytest.param("1.0+local", "==1.0+local", "exact", None, id="local-pin"),
        pytest.param(">=1.0+local", "", "widened", "only with == and !=", id="local-bound"),
    ],
)
def test_translate_version_spec(
    conda: str | None, pep440: str, fidelity: Fidelity, note: str | None
) -> None:
    translation = translate_version_spec(conda)
    assert translation.specifier == SpecifierSet(pep440)
    assert translation.fidelity == fidelity
    if note is None:
        assert translation.notes == ()
    else:
        assert any(note in line for line in translation.notes), translation.notes


@pytest.mark.parametrize(
    ("conda", "version", "matches"),
    [
        # docs/reference.md 2.2, each checked against rattler and then against the translation.
        pytest.param("1.2", "1.2.0", True, id="exact-equals-padded"),
        pytest.param("1.2", "1.2.1", False, id="exact-not-patch"),
        pytest.param("=1.2", "1.2.7", True, id="fuzzy-patch"),
        pytest.param("1.2.*", "1.2", True, id="fuzzy-itself"),
        pytest.param("1.2*", "1.20", False, id="fuzzy-component-wise"),
        pytest.param("1.2.*", "1.2a1", True, id="fuzzy-pre-release"),
        pytest.param("1.2.0.*", "1.2a1", True, id="fuzzy-zero-pre-release"),
        pytest.param("!=1.2", "1.2.0", False, id="not-equal-exact"),
        pytest.param("!=1.2", "1.2.1", True, id="not-equal-patch"),
        pytest.param("!=1.2.*", "1.2.1", False, id="not-prefix"),
        pytest.param("~=1.2.3", "1.2.9", True, id="compatible-in"),
        pytest.param("~=1.2.3", "1.3", False, id="compatible-out"),
        pytest.param(">=1.2.*", "1.2", True, id="star-ignored"),
        pytest.param("<2", "2.0rc1", True, id="below-admits-pre-release"),
        pytest.param("<2", "2.0.dev0", True, id="below-admits-dev"),
        pytest.param("<2", "2.0", False, id="below-excludes-itself"),
        pytest.param("<2", "2.0.post1", False, id="below-excludes-post"),
        pytest.param(">1.2", "1.2.post1", True, id="above-admits-post"),
        pytest.param(">1.2", "1.2", False, id="above-excludes-itself"),
        pytest.param("<3.13.0a0", "3.12.9", True, id="idiom-below"),
        pytest.param("<3.13.0a0", "3.13.0rc1", False, id="idiom-excludes-rc"),
        pytest.param("<3.13.0a0", "3.13.0", False, id="idiom-excludes-release"),
        pytest.param(">=1.8,<2|==1.7", "1.7", True, id="or-left"),
        pytest.param(">=1.8,<2|==1.7", "1.9", True, id="or-right"),
        pytest.param("1!1.2.*", "1.2.3", False, id="epoch-prefix"),
        pytest.param("~=1", "1!2", False, id="compatible-one-epoch"),
    ],
)
def test_translation_keeps_conda_semantics(conda: str, version: str, matches: bool) -> None:
    assert VersionSpec(conda).matches(RattlerVersion(version)) is matches
    mapped = conda_version_to_pep440(version)
    assert mapped is not None
    assert translate_version_spec(conda).specifier.contains(mapped, prereleases=True) is matches


@pytest.mark.parametrize(
    "conda",
    [
        pytest.param("", id="empty"),
        pytest.param(">=", id="operator-only"),
        pytest.param("1.2,", id="trailing-comma"),
        pytest.param("1.2|", id="trailing-bar"),
        pytest.param("(1.2", id="open-parenthesis"),
        pytest.param("1.2)", id="close-parenthesis"),
        pytest.param("1.2 1.3", id="two-versions"),
        pytest.param("=*", id="equals-star"),
    ],
)
def test_translate_rejects(conda: str) -> None:
    with pytest.raises(InvalidMatchSpec) as caught:
        translate_version_spec(conda)
    assert caught.value.subject == conda


@pytest.mark.parametrize(
    ("text", "pep440"),
    [
        pytest.param("numpy 1.2", "==1.2", id="space-form-exact"),
        pytest.param("numpy=1.2", "==1.2.*", id="equals-form-fuzzy"),
        pytest.param("numpy=1.2=py*", "==1.2", id="equals-form-with-build-exact"),
        pytest.param("numpy=1.2,<2", "==1.2.*,<=2,!=2", id="equals-form-and"),
        pytest.param("numpy ==1.2.*", "==1.2.*", id="double-equals-star-is-fuzzy"),
        pytest.param("numpy ==1.2.* py_0", "==1.2", id="double-equals-star-build-is-exact"),
        pytest.param("numpy[version='==1.2.*']", "==1.2", id="bracket-double-equals-star"),
        pytest.param("python_abi 3.12.* *_cp312", "==3.12.*", id="python-abi"),
    ],
)
def test_parse_then_translate(text: str, pep440: str) -> None:
    parsed = parse_matchspec(text)
    assert translate_version_spec(parsed.version).specifier == SpecifierSet(pep440)


@pytest.mark.parametrize(
    ("name", "conda", "requirement"),
    [
        pytest.param("numpy", ">=1.8,<2", "numpy!=2,<=2,>=1.8", id="range"),
        pytest.param("numpy", None, "numpy", id="any"),
        pytest.param("typing-extensions", "4.12.*", "typing-extensions==4.12.*", id="prefix"),
        pytest.param("Pillow", "<3.13.0a0", "Pillow<3.13.0a0", id="name-kept"),
    ],
)
def test_to_requirement(name: str, conda: str | None, requirement: str) -> None:
    made = to_requirement(name, translate_version_spec(conda))
    assert made == Requirement(requirement)
    assert str(made) == requirement


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("-numpy", id="leading-dash"),
        pytest.param("numpy-", id="trailing-dash"),
        pytest.param("num py", id="space"),
        pytest.param("", id="empty"),
        pytest.param("numpy>=1", id="specifier-in-name"),
    ],
)
def test_to_requirement_rejects_bad_names(name: str) -> None:
    with pytest.raises(InvalidMapping, match="not a PEP 508 project name"):
        to_requirement(name, translate_version_spec(None))
