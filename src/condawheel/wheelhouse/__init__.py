"""The wheelhouse: conda-tagged and ordinary wheels side by side, with a pip-ready index."""

from __future__ import annotations

from condawheel.wheelhouse.index import (
    CACHE_PATH,
    METADATA_SUFFIX,
    SIMPLE_DIR,
    FileStamp,
    IndexedWheel,
    IndexUpdate,
    SkippedWheel,
    WheelhouseScan,
    build_index,
    index_wheelhouse,
    read_cache,
    scan_wheelhouse,
    write_cache,
    write_index,
)

__all__ = [
    "CACHE_PATH",
    "METADATA_SUFFIX",
    "SIMPLE_DIR",
    "FileStamp",
    "IndexUpdate",
    "IndexedWheel",
    "SkippedWheel",
    "WheelhouseScan",
    "build_index",
    "index_wheelhouse",
    "read_cache",
    "scan_wheelhouse",
    "write_cache",
    "write_index",
]
