"""The one rule for a package given as .conda and .tar.bz2 (pure)."""

from __future__ import annotations

import pytest

from condawheel.conda.twins import (
    TwinCandidate,
    pair_twins,
    preferred_reason,
    split_format,
    stand_in_reason,
    stand_ins,
)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("zstd-1.5.6-h0_0.conda", ("zstd-1.5.6-h0_0", "conda")),
        ("zstd-1.5.6-h0_0.tar.bz2", ("zstd-1.5.6-h0_0", "tar.bz2")),
        ("zstd-1.5.6-h0_0", ("zstd-1.5.6-h0_0", None)),
        ("zstd.tar.bz2.conda", ("zstd.tar.bz2", "conda")),
    ],
    ids=["conda", "tar-bz2", "folder", "conda-last"],
)
def test_split_format(filename: str, expected: tuple[str, str | None]) -> None:
    assert split_format(filename) == expected


def test_a_tar_bz2_is_paired_with_the_conda_of_the_same_place_only() -> None:
    candidates: list[TwinCandidate] = [
        ("a", "zstd-1-0", "tar.bz2"),  # 0: twin of 2
        ("b", "zstd-1-0", "tar.bz2"),  # 1: another place, no twin
        ("a", "zstd-1-0", "conda"),  # 2
        ("a", "zstd-1-1", "tar.bz2"),  # 3: another build, no twin
        ("a", "zstd-1-0", None),  # 4: a folder of that name is no format
        ("a", "zstd-1-0", "tar.bz2"),  # 5: given twice, twin of 2 too
    ]
    assert pair_twins(candidates) == {0: 2, 5: 2}
    assert pair_twins(
        [("a", "x-1-0", "tar.bz2"), ("a", "x-1-0", "conda"), ("a", "x-1-0", "conda")]
    ) == {0: 2}
    assert pair_twins([]) == {}


def test_a_twin_stands_in_only_for_a_failed_conda() -> None:
    twins = {0: 2, 5: 2, 7: 6}
    assert stand_ins(twins, []) == ()
    assert stand_ins(twins, [2]) == (0, 5)
    assert stand_ins(twins, {6, 2, 0}) == (0, 5, 7)
    assert stand_ins(twins, [0]) == ()  # a failed .tar.bz2 has no stand-in


def test_what_each_side_says() -> None:
    assert preferred_reason("zstd-1-0.conda") == "same package as zstd-1-0.conda (.conda preferred)"
    assert stand_in_reason("zstd-1-0.conda") == "in place of the failed zstd-1-0.conda"
