"""The conda platform subdirs condawheel knows: one table for channels and MatchSpecs (pure)."""

from __future__ import annotations

from typing import Final

__all__ = ["KNOWN_SUBDIRS"]

KNOWN_SUBDIRS: Final = (
    "noarch", "linux-64", "linux-aarch64", "linux-ppc64le", "linux-s390x", "linux-armv6l",
    "linux-armv7l", "linux-32", "linux-ppc64", "linux-riscv64", "osx-64", "osx-arm64",
    "win-64", "win-32", "win-arm64", "freebsd-64", "emscripten-wasm32", "wasi-wasm32", "zos-z",
)  # fmt: skip
"""conda's ``context.known_subdirs``, in the order a channel's subdirs are tried when none
is named (``noarch`` first, then the most common platforms)."""
