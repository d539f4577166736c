"""Where a path lands through symbolic links: condawheel's resolver against the system's.

:func:`condawheel.env.paths.real_path` decides whether an install writes inside the prefix, so it
must agree with the operating system wherever it says "inside". Each example builds a small
tree of folders and symbolic links (relative ones with ``..``, chains, loops, absolute ones
into and out of the prefix) in a temporary folder, with room above the prefix and an
``outside`` folder beside it, and asks for random paths: when :func:`real_path` returns a place,
``os.path.realpath`` must find the very same place; when it returns ``None``, the system may
still be inside only by leaving the prefix and coming back, or through a loop.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from condawheel.env.paths import real_path, survey_real_paths

NAMES = st.sampled_from(["a", "b", "l", "m"])
PARTS = st.sampled_from(["a", "b", "l", "m", "..", "..", "."])


@st.composite
def relative_paths(draw: st.DrawFn, parts: st.SearchStrategy[str] = PARTS) -> str:
    return "/".join(draw(st.lists(parts, min_size=1, max_size=5)))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[str], dict[str, str]]:
    """Draw folders and links: ``(folders, {link path: target})``, paths prefix-relative."""
    folders = draw(st.lists(relative_paths(NAMES), max_size=4))
    links: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 5))):
        path = draw(relative_paths(NAMES))
        kind = draw(st.sampled_from(["relative", "relative", "relative", "inside", "outside"]))
        if kind == "relative":
            links[path] = draw(relative_paths())
        elif kind == "inside":
            links[path] = "{prefix}/" + draw(relative_paths(NAMES))
        else:
            links[path] = "{outside}"
    return folders, links


def _build(prefix: Path, outside: Path, folders: list[str], links: dict[str, str]) -> None:
    for folder in folders:
        path = prefix / folder
        if not os.path.lexists(path):
            path.mkdir(parents=True, exist_ok=True)
    for link, target in links.items():
        path = prefix / link
        if os.path.lexists(path) or not path.parent.is_dir() or path.parent.is_symlink():
            continue  # keep the drawn tree simple: links sit in real folders
        path.symlink_to(target.format(prefix=prefix, outside=outside))


@given(world=worlds(), queries=st.lists(relative_paths(), min_size=1, max_size=8))
def test_real_path_agrees_with_the_system(
    world: tuple[list[str], dict[str, str]], queries: list[str]
) -> None:
    folders, links = world
    with tempfile.TemporaryDirectory(prefix="real-paths-") as temporary:
        root = Path(temporary).resolve()
        prefix = root / "up" / "env"
        outside = root / "outside"
        prefix.mkdir(parents=True)
        outside.mkdir()
        _build(prefix, outside, folders, links)

        def read_link(relative: str) -> str | None:
            path = prefix / relative
            return str(path.readlink()) if path.is_symlink() else None

        real_paths = survey_real_paths(prefix, [f"{query}/x" for query in queries])
        for query in queries:
            real = real_path(query, read_link, roots=[str(prefix)])
            assert real_paths.destination(f"{query}/x") == (
                None if real is None else f"{real}/x" if real else "x"
            )
            if real is None:
                continue
            system = os.path.realpath(prefix / query)
            assert system == os.path.normpath(prefix / real), (query, links)
