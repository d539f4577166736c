"""Differential tests: condawheel's symlink resolution against the operating system's.

Random packages are drawn from a small grammar of paths, files and symbolic links whose
targets mix names, ``.``, ``..`` and links to other links; they are laid out for real under
a prefix, and :func:`condawheel.links.resolve_symlink` must say where each link leads
as the file system does (``os.path.realpath``, which takes a missing directory for a plain
one, as the resolver does): a link it resolves must land exactly there, inside the prefix,
and a link it refuses as leaving the prefix must leave it. A chain too long or looping is
refused; the file system then fails to open it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from condawheel.links import LinkOutside, PackageTree, ResolvedLink, resolve_symlink

NAMES = st.sampled_from(["a", "b", "lib", "up"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)
TARGET_PARTS = st.sampled_from(["a", "b", "lib", "up", "..", "..", "."])
TARGETS = st.one_of(
    st.lists(TARGET_PARTS, min_size=1, max_size=6).map("/".join),
    st.sampled_from(["/etc", "/"]),
)
# The grammar's names never name the prefix's ancestors, so a path that leaves the prefix
# stays outside it wherever it stops (at '/' at the latest).
DEPTH = 3


@st.composite
def packages(draw: st.DrawFn) -> tuple[frozenset[str], dict[str, str]]:
    """Draw files and links that a file system can hold: every member is a leaf."""
    paths = draw(st.frozensets(PATHS, min_size=1, max_size=8))
    leaves = sorted(path for path in paths if not any(o.startswith(path + "/") for o in paths))
    kinds = draw(st.lists(st.booleans(), min_size=len(leaves), max_size=len(leaves)))
    links = {path: draw(TARGETS) for path, is_link in zip(leaves, kinds, strict=True) if is_link}
    assume(links)
    return frozenset(leaves) - links.keys(), links


def lay_out(prefix: Path, files: frozenset[str], links: dict[str, str]) -> None:
    for path in files:
        (prefix / path).parent.mkdir(parents=True, exist_ok=True)
        (prefix / path).write_text("x")
    for path, target in links.items():
        (prefix / path).parent.mkdir(parents=True, exist_ok=True)
        (prefix / path).symlink_to(target)


def members_of(files: frozenset[str], links: dict[str, str]) -> PackageTree:
    return PackageTree.of(
        [*((path, "file", None) for path in files), *((p, "symlink", t) for p, t in links.items())]
    )


@given(package=packages())
def test_resolution_agrees_with_the_operating_system(
    package: tuple[frozenset[str], dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    files, links = package
    tree = members_of(files, links)
    # A fresh numbered directory per example; pytest removes them all once, at the end.
    prefix = tmp_path_factory.mktemp("links").resolve().joinpath(*["d"] * DEPTH, "prefix")
    prefix.mkdir(parents=True)
    lay_out(prefix, files, links)
    for link in links:
        found = resolve_symlink(tree, link)
        place = prefix / link
        if found == "loop":
            with pytest.raises(OSError, match=r"Too many levels|No such file|Not a dir") as caught:
                place.stat()
            assert caught.value.errno in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR)
            continue
        real = Path(os.path.realpath(place))
        inside = real == prefix or prefix in real.parents
        if isinstance(found, ResolvedLink):
            assert real == (prefix / found.path if found.path else prefix)
            assert inside
        else:
            assert isinstance(found, LinkOutside)
            assert not inside
