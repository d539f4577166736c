"""Differential tests: condawheel's conda -> PEP 440 translation against py-rattler.

py-rattler decides whether a conda version matches a conda version spec; ``packaging``
decides whether the mapped version is in the translated ``SpecifierSet``. They must agree
wherever the translation says it is exact, on the candidates the module's contract covers:
versions that conda and PEP 440 place alike against every version written in the spec
(:func:`condawheel.conda.matchspec.pep440_agrees`). A widened translation must admit at least what
conda admits. The model behind ``pep440_agrees`` is itself checked against rattler below.

The candidates are each spec version's whole neighbourhood (its release extended, bumped,
moved to another epoch, with pre-, post-, dev- and local suffixes), because that is where
conda and PEP 440 part ways; a few unrelated versions come on top.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import Specifier
from packaging.version import Version
from rattler import MatchSpec, VersionSpec
from rattler import Version as RattlerVersion
from rattler.exceptions import InvalidVersionSpecError

from condawheel.conda.matchspec import (
    VersionTranslation,
    compare_conda_versions,
    conda_version_to_pep440,
    parse_matchspec,
    pep440_agrees,
    translate_version_spec,
)

# Small numbers, so that versions collide on releases as often as the tricky cases need.
NUMBERS = st.sampled_from(["0", "0", "1", "1", "2", "3", "10"])
SEPARATORS = st.sampled_from([".", ".", ".", ".", "_", "-"])


@st.composite
def releases(draw: st.DrawFn, *, separator: str | None = None) -> str:
    """Draw ``1``, ``1.2``, ``1_0_3``, ``1!2.0`` ... (one separator kind per version)."""
    numbers = draw(st.lists(NUMBERS, min_size=1, max_size=4))
    joiner = separator if separator is not None else draw(SEPARATORS)
    epoch = draw(st.sampled_from(["", "", "", "", "", "", "", "", "1!"]))
    return epoch + joiner.join(numbers)


SUFFIXES = st.one_of(
    st.just(""),
    st.just(""),
    st.just(""),
    st.builds("{}{}".format, st.sampled_from(["a", "b", "rc"]), NUMBERS),  # 1.2rc1
    st.builds(".{}{}".format, st.sampled_from(["a", "b", "rc"]), NUMBERS),  # 1.2.rc1
    st.builds("{}{}".format, st.sampled_from(["dev", ".dev", "post", ".post"]), NUMBERS),
    st.builds(
        "{}{}.{}{}".format,
        st.sampled_from(["a", "rc"]),
        NUMBERS,
        st.sampled_from(["post", "dev"]),
        NUMBERS,
    ),
    st.sampled_from(["k", "a", "e"]),  # releases spelled with letters: 1.1.1k, 2025a
    st.sampled_from(["+x", "+1", "c1", "alpha1"]),  # local labels, respelled pre-releases
)


@st.composite
def versions(draw: st.DrawFn) -> str:
    """Draw a conda version, from plain releases to the spellings conda and PEP 440 differ on."""
    suffix: str = draw(SUFFIXES)
    return draw(releases()) + suffix


RELEASE_PART = re.compile(r"(?:\d+!)?\d+(?:[._-]\d+)*")
# What the rules are about: 2.0rc1 and 2.post1 against <2 and >2, 1.2a1 against 1.2.*,
# 1.1.1k against 1.1.1, 1.2+a against 1.2+x, 1.2.dev0 against 1.2a1.
TRICKY_SUFFIXES = (
    "", ".0", "rc1", "a0", ".a1", "a1.post1", "dev0", ".dev0", "post1", ".post1", "k",
    "+x", "+a",
)  # fmt: skip


def release_of(version: str) -> str:
    """Return the leading release of a version, '.'-separated: ``1_2rc1`` -> ``1.2``."""
    match = RELEASE_PART.match(version)
    return re.sub("[_-]", ".", match.group()) if match else "1"


def neighbourhood(literal: str) -> list[str]:
    """Return the versions next to ``literal``: its release cut, extended, bumped, re-epoched."""
    release = release_of(literal)
    head, _, last = release.rpartition(".")
    bumped = f"{head}.{int(last) + 1}" if head else str(int(last.rpartition("!")[2]) + 1)
    stems = [literal, release, f"{release}.0", bumped]
    if head:
        stems.append(head)
    if "!" not in release:
        stems.append(f"1!{release}")
    return [
        stem + suffix
        for stem in stems
        for suffix in TRICKY_SUFFIXES
        if not ("+" in stem and "+" in suffix)  # one local label at most
    ]


@dataclass(frozen=True)
class Spec:
    """A version spec, with the versions it compares against (and whether as a prefix)."""

    text: str
    literals: tuple[tuple[str, bool], ...]


PREFIX_FORMS = ["{}.*", "{}*", "={}", "!={}.*", ">={}.*", "<{}.*", "<={}.*", "=={}.*", ">{}.*"]
OPERATORS = ["", "==", "!=", "<", "<=", ">", ">="]


@st.composite
def clauses(draw: st.DrawFn, pool: tuple[str, ...] = ()) -> Spec:
    """Draw one clause of every kind conda has, often about the versions in ``pool``."""
    from_pool = bool(pool) and draw(st.booleans())
    version = draw(st.sampled_from(pool)) if from_pool else draw(versions())
    kind = draw(st.sampled_from(["order"] * 6 + ["prefix"] * 2 + ["compatible"] * 2 + ["any"]))
    if kind == "any":
        # A glob with no PEP 440 form now and then (rattler refuses those outright).
        return Spec(draw(st.sampled_from(["*", "*", "*", "1.*.3"])), ())
    if kind == "prefix":
        release = release_of(version)
        form = draw(st.sampled_from(PREFIX_FORMS))
        relational = form[0] in "<>" or form.startswith("==")
        return Spec(form.format(release), ((release, not relational),))
    if kind == "compatible":
        # '.'-separated, so that the prefix (all but the last segment) is easy to name.
        literal = release_of(version) + draw(st.sampled_from(["", "", "rc1", ".post1", ".dev0"]))
        prefix = literal.rpartition(".")[0]
        literals = ((literal, False), (prefix, True)) if prefix else ((literal, False),)
        return Spec(f"~={literal}", literals)
    return Spec(draw(st.sampled_from(OPERATORS)) + version, ((version, False),))


def _join(parts: list[Spec], joiner: str) -> Spec:
    text = joiner.join(
        f"({part.text})" if "," in part.text or "|" in part.text else part.text for part in parts
    )
    return Spec(text, tuple(literal for part in parts for literal in part.literals))


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    """Draw a spec of clauses joined by ',' and '|', about a few related versions."""
    pool = draw(st.lists(versions(), min_size=1, max_size=3))
    pool += draw(st.lists(st.sampled_from(neighbourhood(pool[0])), max_size=3))
    return draw(
        st.recursive(
            clauses(tuple(pool)),
            lambda children: st.builds(
                _join, st.lists(children, min_size=2, max_size=3), st.sampled_from([",", "|"])
            ),
            max_leaves=4,
        )
    )


def _judge(spec: Spec, translation: VersionTranslation, candidate: str) -> str:
    """Compare rattler and packaging on one candidate; return what happened."""
    try:
        conda_match = VersionSpec(spec.text).matches(RattlerVersion(candidate))
    except InvalidVersionSpecError:
        # rattler refuses globs such as 1.*.3 ("regex constraints are not supported").
        assert "1.*.3" in spec.text, spec.text
        return "rattler refuses the spec"
    if translation.fidelity == "untranslatable":
        return "untranslatable"
    mapped = conda_version_to_pep440(candidate)
    if mapped is None:
        return "candidate unmappable"
    for literal, prefix in spec.literals:
        if conda_version_to_pep440(literal) is None:
            continue  # its clause was dropped: no promise depends on it
        if not pep440_agrees(candidate, literal, prefix=prefix):
            return "candidate ordered apart"
    pep_match = translation.specifier.contains(mapped, prereleases=True)
    detail = f"{spec.text!r} -> {translation}; candidate {candidate!r} -> {mapped}"
    if translation.fidelity == "exact":
        assert pep_match == conda_match, f"rattler says {conda_match}: {detail}"
    else:
        assert pep_match or not conda_match, f"widened but narrower: {detail}"
    return f"compared ({translation.fidelity})"


def _check(spec: Spec, fresh: list[str], outcomes: Counter[str]) -> None:
    translation = translate_version_spec(spec.text)
    near = [version for literal, _ in spec.literals for version in neighbourhood(literal)]
    for candidate in dict.fromkeys([*near, *fresh]):
        outcomes[_judge(spec, translation, candidate)] += 1


def _assert_not_vacuous(outcomes: Counter[str]) -> None:
    # Most candidates must really be compared, exact translations included.
    total = sum(outcomes.values())
    assert outcomes["compared (exact)"] + outcomes["compared (widened)"] >= total // 2, outcomes
    assert outcomes["compared (exact)"] >= total // 4, outcomes
    assert outcomes["compared (widened)"] > 0, outcomes


@pytest.mark.parametrize(
    "spec_strategy",
    [pytest.param(clauses(), id="clauses"), pytest.param(specs(), id="specs")],
)
def test_translations_agree_with_rattler(spec_strategy: st.SearchStrategy[Spec]) -> None:
    outcomes: Counter[str] = Counter()

    @given(spec=spec_strategy, fresh=st.lists(versions(), max_size=3))
    def check(spec: Spec, fresh: list[str]) -> None:
        _check(spec, fresh, outcomes)

    check()
    _assert_not_vacuous(outcomes)


def _sign(left: Version | RattlerVersion, right: Version | RattlerVersion) -> int:
    return (left > right) - (left < right)  # type: ignore[operator]


@given(left=versions(), right=versions())
def test_conda_order_is_rattlers(left: str, right: str) -> None:
    for candidate in [right, *neighbourhood(left)]:
        expected = _sign(RattlerVersion(candidate), RattlerVersion(left))
        assert compare_conda_versions(candidate, left) == expected, (candidate, left)


@given(literal=versions())
def test_agreement_on_order_is_real(literal: str) -> None:
    bound = conda_version_to_pep440(literal)
    for candidate in neighbourhood(literal):
        if not pep440_agrees(candidate, literal):
            continue
        mapped = conda_version_to_pep440(candidate)
        assert mapped is not None
        assert bound is not None
        if bound.local is None:
            mapped = Version(mapped.public)
        conda_sign = _sign(RattlerVersion(candidate), RattlerVersion(literal))
        assert _sign(mapped, bound) == conda_sign, (candidate, literal)


@given(release=releases(separator="."))
def test_agreement_on_prefixes_is_real(release: str) -> None:
    prefix = Specifier(f"=={conda_version_to_pep440(release)}.*")
    for candidate in neighbourhood(release):
        if not pep440_agrees(candidate, release, prefix=True):
            continue
        mapped = conda_version_to_pep440(candidate)
        assert mapped is not None
        conda_match = VersionSpec(f"{release}.*").matches(RattlerVersion(candidate))
        assert prefix.contains(mapped, prereleases=True) == conda_match, (candidate, release)


def _assert_same_versions(text: str, candidates: set[str]) -> None:
    ours, theirs = parse_matchspec(text), MatchSpec(text)
    assert ours.build == theirs.build, text
    assert ours.version is not None
    assert theirs.version is not None
    for candidate in candidates:
        expected = VersionSpec(theirs.version).matches(RattlerVersion(candidate))
        matched = VersionSpec(ours.version).matches(RattlerVersion(candidate))
        assert matched == expected, (text, ours.version, theirs.version, candidate)


@given(spec=specs(), form=st.sampled_from(["pkg {}", "pkg {} py_0", "pkg{}", "pkg{}=py_0"]))
def test_matchspec_versions_are_rattlers(spec: Spec, form: str) -> None:
    # The parser's half: "name version [build]" means what rattler says it means.
    if "1.*.3" in spec.text or (form.startswith("pkg{") and spec.text[0] not in "<>=!~"):
        return
    near = {version for literal, _ in spec.literals for version in neighbourhood(literal)}
    _assert_same_versions(form.format(spec.text), near)


@given(
    equals=st.sampled_from(["=", " =", "==", " =="]),
    version=versions(),
    tail=st.sampled_from(["", "", ".*", "*", "=py_0", " py_0", ",<10", "|2.*", ".*=py_0"]),
)
def test_equals_forms_are_rattlers(equals: str, version: str, tail: str) -> None:
    # "pkg=1.2" is fuzzy, "pkg=1.2=py_0" exact, "pkg=1.2,<10" fuzzy first; "pkg ==1.2.*" is
    # fuzzy but "pkg ==1.2.* py_0" exact (conda and rattler).
    if "+" in version and tail in {".*", "*", ".*=py_0"}:
        return  # 1.2+x.* is not a version spec in rattler either
    _assert_same_versions(f"pkg{equals}{version}{tail}", {*neighbourhood(version), "2.5"})
