"""Where a path in an environment really is, through the links on disk and those to come."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from condawheel.env.paths import real_path, survey_real_paths

if TYPE_CHECKING:
    from pathlib import Path


# Links as a table: path (resolved, prefix-relative) -> target.
LINKS = {
    "c0/c1/up": "../..",
    "share/evil": "../c0/c1/up/../../../outside",
    "share/alias": "../lib",
    "lib/self": ".",
    "loop/a": "b",
    "loop/b": "a",
    "abs/in": "/env/lib",
    "abs/out": "/etc",
}


@pytest.mark.parametrize(
    ("relative", "real"),
    [
        ("lib/x", "lib/x"),
        ("share/alias/x", "lib/x"),
        ("share/alias/../include", "include"),  # '..' climbs from the target, lib/
        ("lib/self/self/x", "lib/x"),
        ("c0/c1/up", ""),
        ("c0/c1/up/lib", "lib"),
        ("share/evil", None),  # as text share/../c0/c1/up/../../../outside stays inside
        ("share/evil/x.txt", None),
        ("..", None),
        ("lib/../../x", None),
        ("loop/a/x", None),
        ("abs/in/x", "lib/x"),
        ("abs/out", None),
        ("/env/share/alias/x", "lib/x"),
        ("/etc/passwd", None),
    ],
)
def test_real_path_follows_links_component_by_component(relative: str, real: str | None) -> None:
    assert real_path(relative, LINKS.get, roots=["/env"]) == real


def test_survey_counts_links_to_come_and_forgets_links_going(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / "lib").mkdir(parents=True)
    (prefix / "lib/old.so").write_bytes(b"")
    (prefix / "share").mkdir()
    (prefix / "share/gone").symlink_to("../lib")
    real_paths = survey_real_paths(
        prefix,
        ["share/new/old.so", "share/gone/x", "share/new/deeper/y", "share/stays/z"],
        [("share/new/deeper", "../include"), ("share/new/out", "../../x")],
        pending={"share/new": "../lib", "share/new/deeper": "../include"},
        gone=frozenset({"share/gone"}),
    )
    assert real_paths.destination("share/new/old.so") == "lib/old.so"
    assert real_paths.destination("share/gone/x") == "share/gone/x"  # removed first
    # share/new/deeper is registered where its folder really is, lib/, and leads from there.
    assert real_paths.destination("share/new/deeper/y") == "include/y"
    assert real_paths.target("share/new/deeper", "../include") == "include"
    assert real_paths.target("share/new/out", "../../x") is None  # from lib/: above the prefix
    assert real_paths.destination("share/stays/z") == "share/stays/z"
    assert real_paths.existing == frozenset({"lib/old.so"})
