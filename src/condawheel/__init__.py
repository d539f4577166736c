"""condawheel: convert conda packages into conda-tagged wheels.

The data flows through the modules in this order::

    sources    read .conda / .tar.bz2 / extracted directories as a stream of members
    condameta  parse info/*.json into a typed CondaPackage            (pure)
    ingest     one pass over the payload: hashes, facts, compressed bodies
    analysis   what the package is: payload checks, links, dist-info -> PackageAnalysis (pure)
    plan       layout + tags + names/deps + metadata -> WheelPlan     (pure)
    writer     WheelPlan -> a deterministic .whl, written atomically
    convert    the orchestration of the five stages for one input

and then, around a converted wheel, the wheelhouse (sync jobs, state, index) and the
environment side (tag configuration, install, relocation, hooks).
"""

from __future__ import annotations

__version__ = "0.1.0"
