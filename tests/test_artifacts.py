"""Tests for condawheel.wheelhouse.artifacts: conda file names and the artifact model."""

from __future__ import annotations

import pytest

from condawheel.wheelhouse.artifacts import (
    Artifact,
    PackageName,
    artifact_format,
    parse_artifact_filename,
)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("cffi-1.17.1-py312h06ac9bb_0.conda", PackageName("cffi", "1.17.1", "py312h06ac9bb_0")),
        (
            "ld_impl_linux-64-2.43-h712a8e2_2.conda",
            PackageName("ld_impl_linux-64", "2.43", "h712a8e2_2"),
        ),
        (
            "_libgcc_mutex-0.1-conda_forge.tar.bz2",
            PackageName("_libgcc_mutex", "0.1", "conda_forge"),
        ),
        (
            "python-3.12.4-h194c7f8_0_cpython.conda",
            PackageName("python", "3.12.4", "h194c7f8_0_cpython"),
        ),
        ("nodashes.conda", None),
        ("a-1.conda", None),
        ("a-1-0.whl", None),
        ("dir/a-1-0.conda", None),
    ],
)
def test_parse_artifact_filename(filename: str, expected: PackageName | None) -> None:
    assert parse_artifact_filename(filename) == expected


def test_format_stem_and_display() -> None:
    artifact = Artifact(
        source="/c",
        kind="file",
        location="/c/noarch/a-1-0.tar.bz2",
        filename="a-1-0.tar.bz2",
        subdir="noarch",
        name="a",
        version="1",
        build="0",
    )

    assert (artifact.format, artifact.stem, artifact.display) == (
        "tar.bz2",
        "a-1-0",
        "noarch/a-1-0.tar.bz2",
    )
    assert artifact_format("x.tar.bz2.part") is None
