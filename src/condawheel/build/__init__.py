"""Wheels built in a conda environment, made into conda wheels of that environment.

:func:`build_sources` is ``condawheel build``: :mod:`.compiling` runs pip with the
environment's interpreter, :mod:`.analysis` reads the environment and the built wheel,
:mod:`.decisions` decides what the wheel becomes (pure; run paths through :mod:`.runpath`),
and :mod:`.writer` writes and publishes it.
"""

from __future__ import annotations

from condawheel.build.analysis import BuildError
from condawheel.build.compiling import PipOptions
from condawheel.build.core import (
    BuildOptions,
    BuildOutcome,
    BuildReport,
    Destination,
    build_sources,
    classify_source,
)

__all__ = [
    "BuildError",
    "BuildOptions",
    "BuildOutcome",
    "BuildReport",
    "Destination",
    "PipOptions",
    "build_sources",
    "classify_source",
]
