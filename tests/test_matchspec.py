"""MatchSpecs (CEP 29) and their translation to PEP 440 (formats.md B.1-B.4)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from rattler import Version as RattlerVersion
from rattler import VersionSpec

from condawheel.errors import InvalidMapping, InvalidMatchSpec
from condawheel.matchspec import (
    Fidelity,
    ParsedMatchSpec,
    compare_conda_versions,
    conda_version_to_pep440,
    parse_matchspec,
    pep440_agrees,
    to_requirement,
    translate_version_spec,
    version_matches,
)

# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def spec(
    name: str,
    version: str | None = None,
    build: str | None = None,
    *,
    channel: str | None = None,
    subdir: str | None = None,
    namespace: str | None = None,
    brackets: tuple[tuple[str, str], ...] = (),
) -> ParsedMatchSpec:
    """Build the expected parse; ``original`` is filled in by the test."""
    return ParsedMatchSpec("", name, version, build, channel, subdir, namespace, brackets)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("numpy", spec("numpy"), id="name-only"),
        pytest.param("NumPy", spec("numpy"), id="name-lowercased"),
        pytest.param("ruamel.yaml", spec("ruamel.yaml"), id="name-with-dot"),
        pytest.param("_libgcc_mutex", spec("_libgcc_mutex"), id="name-underscore"),
        pytest.param("*", spec("*"), id="name-star"),
        pytest.param("* >=1", spec("*", ">=1"), id="name-star-with-version"),
        pytest.param("numpy 1.2", spec("numpy", "1.2"), id="space-bare-is-exact"),
        pytest.param("numpy 1.2 py*", spec("numpy", "1.2", "py*"), id="space-version-build"),
        pytest.param("numpy=1.2", spec("numpy", "1.2.*"), id="equals-is-fuzzy"),
        pytest.param("numpy =1.2", spec("numpy", "1.2.*"), id="space-equals-is-fuzzy"),
        pytest.param("numpy = 1.2", spec("numpy", "1.2.*"), id="spaced-equals-is-fuzzy"),
        pytest.param("numpy=1.2.*", spec("numpy", "1.2.*"), id="equals-star"),
        pytest.param("numpy=1.2*", spec("numpy", "1.2*"), id="equals-bare-star"),
        pytest.param("numpy=1.2=py*", spec("numpy", "1.2", "py*"), id="equals-build-is-exact"),
        pytest.param("numpy=1.2.3=0", spec("numpy", "1.2.3", "0"), id="equals-build-number"),
        pytest.param("numpy =1.2 py*", spec("numpy", "1.2", "py*"), id="equals-space-build"),
        pytest.param("numpy=1.2.*=py*", spec("numpy", "1.2.*", "py*"), id="fuzzy-with-build"),
        pytest.param("numpy==1.2", spec("numpy", "1.2"), id="double-equals"),
        pytest.param("numpy ==1.2.*", spec("numpy", "1.2.*"), id="double-equals-star"),
        pytest.param(
            "numpy ==1.2.* py_0", spec("numpy", "==1.2.*", "py_0"), id="double-eq-star-build"
        ),
        pytest.param("numpy ==1.2.*,<2", spec("numpy", "1.2.*,<2"), id="double-eq-star-and"),
        pytest.param("numpy==1.2=py_0", spec("numpy", "==1.2", "py_0"), id="double-eq-build"),
        # With ',' or '|' the '=' stays an operator on the first clause, build or not.
        pytest.param("numpy=1.2,<2", spec("numpy", "1.2.*,<2"), id="equals-and"),
        pytest.param("numpy=1.2|1.3", spec("numpy", "1.2.*|1.3"), id="equals-or"),
        pytest.param(
            "numpy =1.2|1.3 py_0", spec("numpy", "1.2.*|1.3", "py_0"), id="equals-or-build"
        ),
        pytest.param("numpy >=1.8,<2", spec("numpy", ">=1.8,<2"), id="range"),
        pytest.param("numpy>=1.8,<2", spec("numpy", ">=1.8,<2"), id="range-glued"),
        pytest.param("numpy >= 1.8 , < 2", spec("numpy", ">=1.8,<2"), id="range-spaced"),
        pytest.param("numpy >=1.8 , <2 py*", spec("numpy", ">=1.8,<2", "py*"), id="range-build"),
        pytest.param("numpy >=1.2=py*", spec("numpy", ">=1.2", "py*"), id="operator-eq-build"),
        pytest.param("numpy !=1.2", spec("numpy", "!=1.2"), id="not-equal"),
        pytest.param("numpy~=1.2.3", spec("numpy", "~=1.2.3"), id="compatible"),
        pytest.param(
            "python >=3.12,<3.13.0a0", spec("python", ">=3.12,<3.13.0a0"), id="python-pin"
        ),
        pytest.param(
            "python_abi 3.12.* *_cp312", spec("python_abi", "3.12.*", "*_cp312"), id="python-abi"
        ),
        pytest.param(
            "__glibc >=2.17,<3.0.a0", spec("__glibc", ">=2.17,<3.0.a0"), id="virtual-package"
        ),
        pytest.param(
            "libzlib >=1.2.13,<2.0a0", spec("libzlib", ">=1.2.13,<2.0a0"), id="run-export"
        ),
        pytest.param("numpy >=1.8,<2|==1.7", spec("numpy", ">=1.8,<2|==1.7"), id="or"),
        pytest.param(
            "numpy ( >=1 | <0.5 ),!=0.7", spec("numpy", "(>=1|<0.5),!=0.7"), id="parentheses"
        ),
        pytest.param("numpy * py*", spec("numpy", "*", "py*"), id="any-version-build-glob"),
        pytest.param("numpy 1.2 # pinned", spec("numpy", "1.2"), id="comment"),
        pytest.param("conda-forge::numpy", spec("numpy", channel="conda-forge"), id="channel"),
        pytest.param(
            "conda-forge/linux-64::numpy >=1",
            spec("numpy", ">=1", channel="conda-forge", subdir="linux-64"),
            id="channel-subdir",
        ),
        pytest.param(
            "conda-forge/label/dev::numpy",
            spec("numpy", channel="conda-forge/label/dev"),
            id="channel-label",
        ),
        pytest.param(
            "https://conda.anaconda.org/conda-forge/osx-arm64::numpy",
            spec("numpy", channel="https://conda.anaconda.org/conda-forge", subdir="osx-arm64"),
            id="channel-url-subdir",
        ),
        pytest.param(
            "conda-forge:ns:numpy 1.2",
            spec("numpy", "1.2", channel="conda-forge", namespace="ns"),
            id="channel-namespace",
        ),
        pytest.param("ns:numpy", spec("numpy", namespace="ns"), id="namespace-only"),
        pytest.param("*::numpy", spec("numpy"), id="any-channel"),
        pytest.param(
            "*/linux-64::numpy", spec("numpy", subdir="linux-64"), id="any-channel-subdir"
        ),
        pytest.param(
            "numpy[version='>=1.0']",
            spec("numpy", ">=1.0", brackets=(("version", ">=1.0"),)),
            id="bracket-version",
        ),
        pytest.param(
            "numpy 1.2[version='>=1.0']",
            spec("numpy", ">=1.0", brackets=(("version", ">=1.0"),)),
            id="bracket-overrides-version",
        ),
        pytest.param(
            "numpy 1.2 py*[build=cuda*]",
            spec("numpy", "1.2", "cuda*", brackets=(("build", "cuda*"),)),
            id="bracket-overrides-build",
        ),
        pytest.param(
            'numpy[version=">=1.0,<2", build=py_0]',
            spec(
                "numpy", ">=1.0,<2", "py_0", brackets=(("version", ">=1.0,<2"), ("build", "py_0"))
            ),
            id="bracket-double-quotes",
        ),
        pytest.param(
            "numpy[version=1.2 build=py*]",
            spec("numpy", "1.2", "py*", brackets=(("version", "1.2"), ("build", "py*"))),
            id="bracket-space-separated",
        ),
        pytest.param(
            "numpy[version=1.2,version=1.3]",
            spec("numpy", "1.3", brackets=(("version", "1.2"), ("version", "1.3"))),
            id="bracket-last-wins",
        ),
        pytest.param(
            "conda-forge::numpy[channel=bioconda]",
            spec("numpy", channel="bioconda", brackets=(("channel", "bioconda"),)),
            id="bracket-overrides-channel",
        ),
        pytest.param(
            "numpy[channel=conda-forge/linux-64]",
            spec(
                "numpy",
                channel="conda-forge",
                subdir="linux-64",
                brackets=(("channel", "conda-forge/linux-64"),),
            ),
            id="bracket-channel-subdir",
        ),
        pytest.param(
            "conda-forge/linux-64::numpy[subdir=osx-64]",
            spec("numpy", channel="conda-forge", subdir="osx-64", brackets=(("subdir", "osx-64"),)),
            id="bracket-overrides-subdir",
        ),
        pytest.param(
            "numpy[build_number='>=3', md5=D41D8CD98F00B204E9800998ECF8427E]",
            spec(
                "numpy",
                brackets=(
                    ("build_number", ">=3"),
                    ("md5", "D41D8CD98F00B204E9800998ECF8427E"),
                ),
            ),
            id="bracket-build-number-md5",
        ),
        pytest.param(
            "numpy[sha256=" + "ab" * 32 + "]",
            spec("numpy", brackets=(("sha256", "ab" * 32),)),
            id="bracket-sha256",
        ),
        pytest.param(
            "numpy[license=MIT, license_family=BSD, track_features=mkl, features='mkl blas']",
            spec(
                "numpy",
                brackets=(
                    ("license", "MIT"),
                    ("license_family", "BSD"),
                    ("track_features", "mkl"),
                    ("features", "mkl blas"),
                ),
            ),
            id="bracket-string-fields",
        ),
        pytest.param(
            "numpy[url=https://example.org/numpy-1.0-0.conda, fn=numpy-1.0-0.conda]",
            spec(
                "numpy",
                brackets=(
                    ("url", "https://example.org/numpy-1.0-0.conda"),
                    ("fn", "numpy-1.0-0.conda"),
                ),
            ),
            id="bracket-url-fn",
        ),
        pytest.param(
            'numpy >=2[when="python >=3.10", extras=[a, b]]',
            spec("numpy", ">=2", brackets=(("when", "python >=3.10"), ("extras", "a,b"))),
            id="bracket-when-extras",
        ),
        pytest.param("numpy[]", spec("numpy"), id="bracket-empty"),
    ],
)
def test_parse_matchspec(text: str, expected: ParsedMatchSpec) -> None:
    parsed = parse_matchspec(text)
    assert parsed == ParsedMatchSpec(
        text,
        expected.name,
        expected.version,
        expected.build,
        expected.channel,
        expected.subdir,
        expected.namespace,
        expected.brackets,
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty MatchSpec", id="empty"),
        pytest.param("   ", "empty MatchSpec", id="blank"),
        pytest.param("# numpy", "empty MatchSpec", id="only-comment"),
        pytest.param(">=1.2", "no package name", id="no-name"),
        pytest.param("[version=1.2]", "no package name", id="only-brackets"),
        pytest.param("nu$mpy", "invalid package name 'nu$mpy'", id="bad-name"),
        pytest.param("numpy=", "expected 'version [build]'", id="equals-nothing"),
        pytest.param("numpy=>=1.2", "no version in '>=1.2'", id="equals-operator"),
        pytest.param("numpy >=", "'>=' is not a version clause", id="dangling-operator"),
        pytest.param("numpy 1.2 py* extra", "expected 'version [build]'", id="three-parts"),
        pytest.param("numpy >1.8 <2", "invalid build string '<2'", id="range-without-comma"),
        pytest.param("numpy >=1.2,,<2", "unexpected ','", id="double-comma"),
        pytest.param("numpy (>=1.2", "unbalanced '('", id="open-parenthesis"),
        pytest.param("numpy 1.2..3", "'1.2..3' in '1.2..3' is not a conda version", id="dots"),
        pytest.param("numpy 1.0_1-2", "is not a conda version", id="mixed-separators"),
        pytest.param("numpy ~1.2", "'~1.2' is not a version clause", id="tilde"),
        pytest.param("numpy >=1.*.2", "mixes an operator and a glob", id="operator-glob"),
        pytest.param("numpy ^1\\.2", "must start '^' and end '$'", id="half-regex"),
        pytest.param("numpy ^1\\.(2$", "does not compile", id="broken-regex"),
        pytest.param("numpy[version=1.2", "unterminated '['", id="unclosed-bracket"),
        pytest.param("numpy]", "']' without '['", id="stray-bracket"),
        pytest.param("numpy[foo=bar]", "unknown bracket key 'foo'", id="unknown-key"),
        pytest.param("numpy[version]", "expected key=value", id="key-without-value"),
        pytest.param("numpy[version=]", "'version' has no value", id="empty-value"),
        pytest.param("numpy[build='py*]", "unterminated ' quote", id="open-quote"),
        pytest.param("numpy[md5=abc]", "md5 'abc' is not 32 hex digits", id="short-md5"),
        pytest.param("numpy[build_number=x]", "build_number 'x'", id="bad-build-number"),
        pytest.param("numpy[version='>=']", "'>=' is not a version clause", id="bad-bracket-ver"),
        pytest.param("numpy[build=x][version=1]", "only one bracket section", id="two-brackets"),
        pytest.param("numpy[build=x] 1.2", "only one bracket section", id="text-after-brackets"),
        pytest.param("a:b:c:numpy", "neither a name nor a URL", id="colon-channel"),
    ],
)
def test_parse_matchspec_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidMatchSpec) as caught:
        parse_matchspec(text)
    assert caught.value.subject == text
    assert reason in caught.value.reason
    assert str(caught.value) == f"{text}: {caught.value.reason}"


def test_bracket_returns_the_last_value() -> None:
    parsed = parse_matchspec("numpy[license=MIT, license=BSD]")
    assert parsed.bracket("license") == "BSD"
    assert parsed.bracket("md5") is None


# ---------------------------------------------------------------------------------------------
# Translation
# ---------------------------------------------------------------------------------------------

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
        # formats.md B.2, each checked against rattler and then against the translation.
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


# ---------------------------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------------------------


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
    ("left", "right", "order"),
    [
        # formats.md B.3 and CEP 33; rattler is asserted to agree.
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


# ---------------------------------------------------------------------------------------------
# Requirements
# ---------------------------------------------------------------------------------------------


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


# Matching on the conda side: version_matches agrees with rattler.

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
