"""The tags an installed conda wheel records (condawheel.env.wheeltags, pure parts).

What they achieve with real pip and uv is proven in test_uv.py and test_pip_hook.py.
"""

from __future__ import annotations

import json

import pytest
from packaging.tags import Tag

from condawheel.env.wheeltags import installed_tags, rewrite_wheel_file, sidecar_with_origin

OWN = frozenset(
    Tag(*text.split("-"))
    for text in (
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp312-cp312-linux_x86_64",
        "cp312-abi3-linux_x86_64",
        "py3-none-linux_x86_64",
        "cp312-none-any",
        "py3-none-any",
    )
)


@pytest.mark.parametrize(
    ("tags", "noarch", "expected"),
    [
        ("cp312-cp312-conda_linux_64", False, "cp312-cp312-linux_x86_64"),
        ("cp312-abi3-conda_linux_64", False, "cp312-abi3-linux_x86_64"),
        ("py3-none-conda_linux_64", False, "py3-none-linux_x86_64"),
        ("py3-none-conda", True, "py3-none-any"),
        ("cp312-none-conda", True, "cp312-none-any"),
        ("py3-none-any", True, None),  # an ordinary wheel keeps its tags
        ("cp313-cp313-conda_linux_64", False, None),  # nothing accepted: the truth stays
    ],
)
def test_installed_tags(tags: str, noarch: bool, expected: str | None) -> None:
    wheel_tags = frozenset({Tag(*tags.split("-"))})
    chosen = installed_tags(wheel_tags, OWN, base_platform="linux_x86_64", noarch=noarch)
    assert chosen == (None if expected is None else (Tag(*expected.split("-")),))


def test_the_wheel_file_and_the_sidecar_keep_everything_else() -> None:
    text = (
        "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-conda\nBuild: 1_a\n"
    )
    assert rewrite_wheel_file(text, [Tag("py3", "none", "any")]) == (
        "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-any\nBuild: 1_a\n"
    )
    sidecar = json.loads(
        sidecar_with_origin(
            b'{"schema_version": 1}', "x-1-py3-none-conda.whl", [Tag("py3", "none", "conda")]
        )
    )
    assert sidecar == {
        "schema_version": 1,
        "installed_from": {"wheel": "x-1-py3-none-conda.whl", "tags": ["py3-none-conda"]},
    }
