"""MatchSpec strings read into their fields (CEP 29; docs/reference.md, 2.1 and 2.2)."""

from __future__ import annotations

import pytest

from condawheel.conda.matchspec import ParsedMatchSpec, parse_matchspec
from condawheel.errors import InvalidMatchSpec


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
