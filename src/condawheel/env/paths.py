r"""Paths inside an environment, judged with both separators on every platform.

A wheel member or a ``conda.json`` path is judged with ``/`` *and* ``\`` as separators,
and a drive (``C:``) or a leading separator counts as absolute: ``..\..\x`` is a plain
name on Linux but a traversal on Windows, so it is refused everywhere (PEP 427 archive
names use ``/``; a ``\`` in one is never a path a converter wrote).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "climbs_out",
    "is_rooted",
    "path_parts",
]

_DRIVE: Final = re.compile(r"\A[A-Za-z]:")


def path_parts(text: str) -> tuple[str, ...]:
    r"""Split a path on ``/`` and ``\``, dropping empty and ``.`` parts (``..`` is kept)."""
    return tuple(part for part in re.split(r"[/\\]", text) if part not in {"", "."})


def is_rooted(text: str) -> bool:
    r"""Return whether a path is absolute on some platform (``/x``, ``\x``, ``C:x``)."""
    return text.startswith(("/", "\\")) or _DRIVE.match(text) is not None


def climbs_out(text: str) -> bool:
    r"""Return whether a relative path, read with either separator, leaves its folder.

    ``..\..\x``, ``a/../../x``, ``/etc`` and ``C:\x`` do; ``a/../b`` and ``a\b`` do not.
    """
    if is_rooted(text):
        return True
    depth = 0
    for part in path_parts(text):
        depth += -1 if part == ".." else 1
        if depth < 0:
            return True
    return False
