"""The choices a user makes for a conversion: light data that any command can import.

The CLI, the wheelhouse and the environment side build these before anything is
converted, so this module imports nothing but the standard library: ``condawheel
--version`` must not load the planner or the binary readers to parse its options.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PlanOptions", "PlatformStamp"]


@dataclass(frozen=True)
class PlatformStamp:
    """The platform tag an environment's wheels are built with, and the subdir it is for.

    ``binary-compatibility.cfg``'s ``build`` entry names a tag for one interpreter, so it
    describes packages of that environment's conda subdir only: a ``win-32`` package
    stamped with a ``linux-64`` environment's tag would install into Linux.

    :param subdir: the environment's conda subdir (``linux-64``).
    :param tag: the platform tag its packages get (``conda_linux_64_site``).
    """

    subdir: str
    tag: str


@dataclass(frozen=True)
class PlanOptions:
    """Choices a user makes; everything else follows from the package.

    :param platform_prefix: the tag prefix (``conda`` -> ``conda_linux_64``).
    :param platform_stamp: wheels made for one environment (``convert --for-prefix``):
        packages of its subdir get its build tag instead of the prefix's; ``noarch``
        packages keep the noarch tag, as pure wheels keep ``any``; a package of any other
        subdir is refused.
    :param source_date_epoch: the zip timestamp; ``None`` uses the package's own build
        time (``index.json`` ``timestamp``), which keeps output reproducible.
    """

    platform_prefix: str = "conda"
    platform_stamp: PlatformStamp | None = None
    source_date_epoch: int | None = None
