"""A Dask worker preload for the tests: counts how often the worker parses a run's names.

The name mapping must be parsed once per worker and run (by the run's worker plugin), not
once per task; :func:`parsed` tells how many times this worker has parsed one so far.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from condawheel.wheelhouse import cluster

if TYPE_CHECKING:
    from collections.abc import Sequence

    from distributed import Worker

    from condawheel.convert.names import NameMapping

_PARSES: list[int] = []
_parse_names = cluster._parse_names


def _counting(mappings: Sequence[tuple[str, str]]) -> NameMapping:
    _PARSES.append(len(mappings))
    return _parse_names(mappings)


def parsed() -> int:
    """Return how many times this worker has parsed a run's name mapping (run on a worker)."""
    return len(_PARSES)


def dask_setup(worker: Worker) -> None:  # noqa: ARG001 - distributed's preload hook
    # The name the plugin calls, in the module that calls it.
    cluster.__dict__["_parse_names"] = _counting
