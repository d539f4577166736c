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
from condawheel.wheelhouse.outcomes import (
    ArtifactFinished,
    ConflictParty,
    Outcome,
    Phase,
    Pruned,
    Status,
    SyncEvent,
    SyncReport,
    Waiting,
    WorkPlanned,
)
from condawheel.wheelhouse.selection import Selection, parse_selection
from condawheel.wheelhouse.sync import SyncOptions, sync

__all__ = [
    "CACHE_PATH",
    "METADATA_SUFFIX",
    "SIMPLE_DIR",
    "ArtifactFinished",
    "ConflictParty",
    "FileStamp",
    "IndexUpdate",
    "IndexedWheel",
    "Outcome",
    "Phase",
    "Pruned",
    "Selection",
    "SkippedWheel",
    "Status",
    "SyncEvent",
    "SyncOptions",
    "SyncReport",
    "Waiting",
    "WheelhouseScan",
    "WorkPlanned",
    "build_index",
    "index_wheelhouse",
    "parse_selection",
    "read_cache",
    "scan_wheelhouse",
    "sync",
    "write_cache",
    "write_index",
]
