"""The conda platform subdirs condawheel knows: one table for channels and MatchSpecs (pure)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["KNOWN_SUBDIRS", "is_subdir"]

KNOWN_SUBDIRS: Final = (
    "noarch", "linux-64", "linux-aarch64", "linux-ppc64le", "linux-s390x", "linux-armv6l",
    "linux-armv7l", "linux-32", "linux-ppc64", "linux-riscv64", "osx-64", "osx-arm64",
    "win-64", "win-32", "win-arm64", "freebsd-64", "emscripten-wasm32", "wasi-wasm32", "zos-z",
)  # fmt: skip
"""conda's ``context.known_subdirs``, in the order a channel's subdirs are tried when none
is named (``noarch`` first, then the most common platforms)."""

# CEP 26: a subdir is "noarch" or "<os>-<arch>" of lower-case letters and digits, at most
# 32 characters; nothing else may become a path or a URL component.
_SUBDIR: Final = re.compile(r"noarch|[a-z0-9]+-[a-z0-9]+")
_MAX_SUBDIR: Final = 32


def is_subdir(text: str) -> bool:
    """Return whether ``text`` is a conda subdir name (CEP 26), such as ``linux-64``."""
    return len(text) <= _MAX_SUBDIR and _SUBDIR.fullmatch(text) is not None
