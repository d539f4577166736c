"""Paths inside an environment: both separators on every platform (pure)."""

from __future__ import annotations

import pytest

from condawheel.env.paths import climbs_out, is_rooted, path_parts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a/b", ("a", "b")),
        ("a\\b", ("a", "b")),
        ("./a//b/", ("a", "b")),
        ("..\\..\\x", ("..", "..", "x")),
    ],
)
def test_path_parts(text: str, parts: tuple[str, ...]) -> None:
    assert path_parts(text) == parts


@pytest.mark.parametrize(
    ("text", "climbs"),
    [
        ("a/b", False),
        ("a/../b", False),
        ("a\\b", False),
        ("a\\..\\b", False),
        ("..", True),
        ("a/../../x", True),
        ("..\\..\\x", True),
        ("a\\..\\..\\x", True),
        ("/etc/passwd", True),
        ("\\etc", True),
        ("\\\\server\\share", True),
        ("C:\\x", True),
        ("c:x", True),
        ("ab:x", False),
    ],
)
def test_climbs_out(text: str, climbs: bool) -> None:
    assert climbs_out(text) is climbs


@pytest.mark.parametrize(
    ("text", "rooted"),
    [("/x", True), ("\\x", True), ("C:x", True), ("z:\\x", True), ("x", False), ("../x", False)],
)
def test_is_rooted(text: str, rooted: bool) -> None:
    assert is_rooted(text) is rooted
