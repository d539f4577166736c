"""Tests for condawheel.wheelhouse.selection: --select MatchSpecs and --newest N."""

from __future__ import annotations

import pytest

from condawheel.errors import InvalidMatchSpec
from condawheel.wheelhouse.artifacts import Artifact
from condawheel.wheelhouse.selection import (
    matches,
    parse_selection,
    select_artifacts,
)


def artifact(
    name: str = "numpy",
    version: str = "2.0.1",
    build: str = "py312h1234567_0",
    *,
    subdir: str = "linux-64",
    build_number: int | None = 0,
) -> Artifact:
    return Artifact(
        source="/channel",
        kind="file",
        location=f"/channel/{subdir}/{name}-{version}-{build}.conda",
        filename=f"{name}-{version}-{build}.conda",
        subdir=subdir,
        name=name,
        version=version,
        build=build,
        build_number=build_number,
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("numpy", True),
        ("num*", True),
        ("scipy", False),
        ("numpy >=2", True),
        ("numpy <2", False),
        ("numpy 2.0.* py312*", True),
        ("numpy * py311*", False),
        ("numpy=2.0.1=py312h1234567_0", True),
        ("numpy=2.0=py312h1234567_0", False),  # "=V=B" pins V exactly (CEP 29)
        ("numpy * ^py312h.*_0$", True),
        ("numpy[subdir=linux-64]", True),
        ("numpy[subdir=osx-64]", False),
        ("numpy[build_number='>=1']", False),
        ("numpy[build_number=0]", True),
        ("numpy[fn=numpy-2.0.1-py312h1234567_0.conda]", True),
        ("NumPy", True),
    ],
)
def test_matches(spec: str, *, expected: bool) -> None:
    [parsed] = parse_selection([spec]).specs
    assert matches(parsed, artifact()) is expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("numpy[md5=0123456789abcdef0123456789abcdef]", "cannot filter on 'md5'"),
        ("conda-forge::numpy", "give the channel as a SOURCE"),
        ("numpy >=>2", "numpy >=>2"),
        ("numpy[build_number='>=x']", "build_number"),
    ],
    ids=["md5", "channel", "bad-version", "bad-build-number"],
)
def test_selection_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidMatchSpec, match=message):
        parse_selection([spec])


def test_the_supported_fields_are_listed_once() -> None:
    with pytest.raises(InvalidMatchSpec) as raised:
        parse_selection(["numpy[md5=0123456789abcdef0123456789abcdef]"])
    assert raised.value.reason.endswith(
        "(supported: name, build, build_number, fn, subdir, version)"
    )


def test_terms_that_match_nothing_are_named() -> None:
    items = [artifact(), artifact(name="scipy", version="1.14")]
    selection = parse_selection(["numpy >=2", "tqd", "scipy >=2", "sc*"], newest=1)

    result = select_artifacts(items, selection)

    assert result.unmatched == ("tqd", "scipy >=2")  # in the order given
    assert [a.name for a in result.selected] == ["numpy", "scipy"]
    assert select_artifacts(items, parse_selection([])).unmatched == ()


def test_newest_must_be_positive() -> None:
    with pytest.raises(InvalidMatchSpec, match="at least 1"):
        parse_selection([], newest=0)


def test_newest_keeps_every_build_of_the_newest_versions_per_subdir_and_name() -> None:
    items = [
        artifact(version="1.26.4"),
        artifact(version="2.0.1", build="a_0"),
        artifact(version="2.0.1", build="b_0"),
        artifact(version="2.0.01", build="c_0"),  # == 2.0.1 for conda: the same version
        artifact(version="1.26.4", subdir="osx-64"),
        artifact(name="scipy", version="1.14"),
    ]

    result = select_artifacts(items, parse_selection(["numpy"], newest=1))

    assert [(a.subdir, a.version, a.build) for a in result.selected] == [
        ("linux-64", "2.0.1", "a_0"),
        ("linux-64", "2.0.1", "b_0"),
        ("linux-64", "2.0.01", "c_0"),
        ("osx-64", "1.26.4", "py312h1234567_0"),
    ]
    reasons = {(a.name, a.version): why for a, why in result.skipped}
    assert reasons == {
        ("numpy", "1.26.4"): "older than the newest 1 version(s) of numpy",
        ("scipy", "1.14"): "not selected by --select",
    }


def test_newest_follows_conda_ordering_pre_releases_included() -> None:
    # conda has no pre-release policy: 2.1.0rc1 sorts above 2.0.1 (and below 2.1.0).
    items = [artifact(version="2.0.1"), artifact(version="2.1.0rc1"), artifact(version="1.9")]

    result = select_artifacts(items, parse_selection([], newest=2))

    assert [a.version for a in result.selected] == ["2.0.1", "2.1.0rc1"]


def test_without_filters_everything_is_selected() -> None:
    items = [artifact(), artifact(name="scipy")]
    assert select_artifacts(items, parse_selection([])).selected == tuple(items)
