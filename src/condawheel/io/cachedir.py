"""Where condawheel keeps what it can make again: downloads, the parsed name mapping."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["default_cache_dir"]


def default_cache_dir() -> Path:
    """Return ``$CONDAWHEEL_CACHE_DIR``, else the user cache folder's ``condawheel``."""
    configured = os.environ.get("CONDAWHEEL_CACHE_DIR")
    if configured:
        return Path(configured)
    if sys.platform == "win32":  # pragma: no cover - Windows only; CI runs on Linux
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "condawheel" / "Cache" if base else Path.home() / ".condawheel"
    if sys.platform == "darwin":  # pragma: no cover - macOS only; CI runs on Linux
        return Path.home() / "Library" / "Caches" / "condawheel"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "condawheel"
