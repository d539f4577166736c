"""Links followed component by component, as the OS does; path text with both separators."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest

from condawheel.links import (
    MAX_LINK_HOPS,
    LinkOutside,
    PackageTree,
    ResolvedLink,
    climbs_out,
    is_rooted,
    path_parts,
    resolve_symlink,
)

if TYPE_CHECKING:
    from pathlib import Path

# The chain of the hostile-input report: 'up' names the prefix itself, so the '..' after
# it in 'share/evil' climb above the prefix although the text stays inside it.
DEEP = "a/b/c/d/e/f/g/h"
CHAIN = {
    f"{DEEP}/up": "../" * 7 + "..",
    "share/evil": f"../{DEEP}/up/" + "../" * 9 + "tmp/outside",
}


def tree(
    symlinks: dict[str, str], files: tuple[str, ...] = (), dirs: tuple[str, ...] = ()
) -> PackageTree:
    members = [
        *((path, "symlink", target) for path, target in symlinks.items()),
        *((path, "file", None) for path in files),
        *((path, "directory", None) for path in dirs),
    ]
    return PackageTree.of(members)


CASES: list[tuple[str, dict[str, str], tuple[str, ...], str, object]] = [
    (
        "sibling-file",
        {"lib/libz.so": "libz.so.1"},
        ("lib/libz.so.1",),
        "lib/libz.so",
        ResolvedLink("lib/libz.so.1", "file"),
    ),
    ("up-and-over", {"bin/x": "../lib/x"}, ("lib/x",), "bin/x", ResolvedLink("lib/x", "file")),
    (
        "implied-directory",
        {"lib/terminfo": "../share/terminfo"},
        ("share/terminfo/x/xterm",),
        "lib/terminfo",
        ResolvedLink("share/terminfo", "directory"),
    ),
    (
        "another-package",
        {"bin/python": "python3.12"},
        (),
        "bin/python",
        ResolvedLink("bin/python3.12", "external"),
    ),
    ("the-prefix-itself", {"lib/up": ".."}, (), "lib/up", ResolvedLink("", "directory")),
    ("text-escape", {"lib/evil": "../../etc/passwd"}, (), "lib/evil", LinkOutside()),
    ("absolute", {"lib/evil": "/etc/passwd"}, (), "lib/evil", LinkOutside()),
    ("drive-letter", {"Library/bin/x": "C:/Windows/x"}, (), "Library/bin/x", LinkOutside()),
    ("backslashes", {"Library/x": "..\\..\\..\\Windows"}, (), "Library/x", LinkOutside()),
    ("empty", {"lib/x": ""}, (), "lib/x", "empty"),
    ("loop", {"lib/a": "b", "lib/b": "a"}, (), "lib/a", "loop"),
    ("self", {"lib/a": "a"}, (), "lib/a", "loop"),
    # Each of these passes a check of the target's text.
    ("chain-of-the-report", CHAIN, (), "share/evil", LinkOutside(f"{DEEP}/up")),
    (
        "link-to-a-link-to-dotdot",
        {"lib/up": "..", "lib/sub/x": "../up/.."},
        (),
        "lib/sub/x",
        LinkOutside("lib/up"),
    ),
    (
        "inner-absolute",
        {"lib/abs": "/usr", "lib/x": "abs/lib"},
        (),
        "lib/x",
        LinkOutside("lib/abs"),
    ),
    ("loop-through-a-component", {"a": "b/x", "b": "a"}, (), "a", "loop"),
    (
        "through-a-linked-directory",
        {"lib64": "lib", "bin/z": "../lib64/libz.so.1"},
        ("lib/libz.so.1",),
        "bin/z",
        ResolvedLink("lib/libz.so.1", "file"),
    ),
    # The link's own directory is reached through a link: '..' is read from its target.
    (
        "in-a-linked-directory",
        {"lib": "opt/lib", "lib/x": "../y"},
        ("opt/y", "opt/lib/.keep"),
        "lib/x",
        ResolvedLink("opt/y", "file"),
    ),
]


@pytest.mark.parametrize(
    ("symlinks", "files", "link", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_resolve_symlink(
    symlinks: dict[str, str], files: tuple[str, ...], link: str, expected: object
) -> None:
    assert resolve_symlink(tree(symlinks, files), link) == expected


def chain(links: int) -> PackageTree:
    """Return ``lib/l0 -> l1 -> ... -> lib/l<links>``, a file: ``links`` links to follow."""
    return tree({f"lib/l{n}": f"l{n + 1}" for n in range(links)}, (f"lib/l{links}",))


def test_a_chain_as_long_as_linux_follows_resolves() -> None:
    # Linux follows 40 links in one path walk and fails the 41st with ELOOP.
    found = resolve_symlink(chain(MAX_LINK_HOPS), "lib/l0")
    assert found == ResolvedLink(f"lib/l{MAX_LINK_HOPS}", "file")
    assert resolve_symlink(chain(MAX_LINK_HOPS + 1), "lib/l0") == "loop"


def test_the_tree_knows_every_implied_directory() -> None:
    built = tree({"x/link": "y"}, ("a/b/c.txt",), ("empty",))
    assert built.directories == frozenset({"", "a", "a/b", "x", "empty"})
    assert built.files == frozenset({"a/b/c.txt"})
    assert built.kind_of("a/b") == "directory"
    assert built.kind_of("a/b/c.txt") == "file"
    assert built.kind_of("nowhere") == "external"


@pytest.mark.parametrize(
    "case",
    [
        case
        for case in CASES
        if case[0]
        in (
            "chain-of-the-report",
            "link-to-a-link-to-dotdot",
            "in-a-linked-directory",
            "through-a-linked-directory",
        )
    ],
    ids=lambda case: case[0],
)
def test_the_operating_system_agrees(
    case: tuple[str, dict[str, str], tuple[str, ...], str, object], tmp_path: Path
) -> None:
    # Lay the links out for real, deep enough below tmp_path that every '..' stays in
    # it, and ask the OS where each link leads.
    _, symlinks, files, link, expected = case
    prefix = tmp_path / "p/q/r/s/t/u/v/w/x/y/prefix"
    for path in files:
        (prefix / path).parent.mkdir(parents=True, exist_ok=True)
        (prefix / path).write_text("x")
    for path, target in sorted(symlinks.items(), key=lambda item: item[0].count("/")):
        place = prefix / path
        place.parent.mkdir(parents=True, exist_ok=True)
        place.symlink_to(target)
    real = os.path.realpath(prefix / link)
    inside = real.startswith(str(prefix.resolve()) + os.sep) or real == str(prefix.resolve())
    assert inside == isinstance(expected, ResolvedLink)
    if isinstance(expected, ResolvedLink):
        assert real == str(prefix.resolve() / expected.path)


@pytest.mark.skipif(sys.platform != "linux", reason="the limit is Linux's MAXSYMLINKS")
def test_linux_follows_as_many_links_as_the_limit(tmp_path: Path) -> None:
    for links in (MAX_LINK_HOPS, MAX_LINK_HOPS + 1):
        directory = tmp_path / str(links)
        directory.mkdir()
        (directory / f"l{links}").write_text("x")
        for n in range(links):
            (directory / f"l{n}").symlink_to(f"l{n + 1}")
        if links == MAX_LINK_HOPS:
            assert (directory / "l0").read_text() == "x"
        else:
            with pytest.raises(OSError, match="Too many levels of symbolic links"):
                (directory / "l0").read_text()


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
