"""Which wheels the plain and conda views of the index list (condawheel.wheelhouse.views)."""

from __future__ import annotations

import pytest

from condawheel.wheelhouse.views import is_plain_wheel


@pytest.mark.parametrize(
    ("filename", "plain"),
    [
        ("demo-1.0-py3-none-any.whl", True),
        ("numpy-2.2.1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("numpy-2.2.1-cp312-cp312-musllinux_1_2_aarch64.whl", True),
        ("numpy-2.2.1-cp312-cp312-macosx_14_0_arm64.whl", True),
        ("numpy-2.2.1-cp312-cp312-win_amd64.whl", True),
        ("numpy-2.2.1-cp312-cp312-win32.whl", True),
        ("numpy-2.2.1-cp312-cp312-linux_x86_64.whl", True),
        ("numpy-2.2.1-cp313-cp313-ios_13_0_arm64_iphoneos.whl", True),
        ("numpy-2.2.1-cp313-cp313-android_24_arm64_v8a.whl", True),
        ("numpy-2.2.1-cp313-cp313-pyodide_2025_0_wasm32.whl", True),
        ("x-1.0-cp312-cp312-freebsd_14_1_release_amd64.whl", True),
        ("idna-3.10-1_pyhd8ed1ab_1-py3-none-conda.whl", False),
        ("cffi-1.17.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl", False),
        ("cffi-1.17.1-0_h0-cp312-cp312-condaforge_osx_arm64.whl", False),
        # A compressed tag set with one conda platform is a conda wheel.
        ("odd-1.0-py3-none-conda.manylinux_2_17_x86_64.whl", False),
    ],
)
def test_the_views_split_wheels_by_platform(filename: str, plain: bool) -> None:
    assert is_plain_wheel(filename) is plain
