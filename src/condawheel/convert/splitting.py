"""Plan the wheels of one conda package: one, or one per Python distribution it holds (pure).

A wheel carries exactly one ``.dist-info`` (PEP 427). A conda package that holds several
Python distributions (conda-forge's ``pyqt`` ships PyQt5 and its tools, ``ray-core``
several projects) is split by their RECORDs (PEP 376): each distribution becomes a wheel
of its own files, and the files no RECORD names (libraries, programs, data) become one
library wheel, ``conda-pkg-<conda name>``, that every distribution wheel requires at the
package's version. Each conda dependency goes to the wheel whose METADATA names it; the
rest (C libraries, what no METADATA names) to the library wheel, or to every
distribution wheel when there is none.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from condawheel.conda.matchspec import parse_matchspec
from condawheel.convert.analysis import no_pep440_form
from condawheel.convert.names import library_distribution_name
from condawheel.convert.plan import plan_wheel
from condawheel.errors import InvalidMatchSpec, UnsupportedPackage
from condawheel.io.collector import cyclic_gc_paused

if TYPE_CHECKING:
    from condawheel.binaries import SonameProviders
    from condawheel.convert.analysis import DistributionPart, PackageAnalysis
    from condawheel.convert.ingest import Limits
    from condawheel.convert.names import NameMapping
    from condawheel.convert.plan import WheelPlan
    from condawheel.options import PlanOptions

__all__ = ["plan_wheels"]


@cyclic_gc_paused()
def plan_wheels(
    analysis: PackageAnalysis,
    *,
    mapping: NameMapping,
    options: PlanOptions | None = None,
    providers: SonameProviders | None = None,
    limits: Limits | None = None,
) -> tuple[WheelPlan, ...]:
    """Plan every wheel of one analysed package (see :func:`~condawheel.convert.plan.plan_wheel`).

    :returns: one plan, or for a split package one per distribution and then the
        library wheel of the other files, if there are any.
    :raises UnsupportedPackage: when the package cannot be expressed as wheels.
    """
    if not analysis.parts:
        return (
            plan_wheel(
                analysis, mapping=mapping, options=options, providers=providers, limits=limits
            ),
        )
    parts = analysis.parts
    claimed = set().union(*(part.paths for part in parts))
    wrappers = {path for part in parts for found in part.wrappers.values() for path in found.paths}
    rest = {
        path: entry
        for path, entry in analysis.listed.items()
        if path not in claimed and path not in wrappers
    }
    # Byte-code no RECORD names is never shipped: it makes no library wheel by itself.
    has_rest = any(
        entry.path_type != "directory"
        and (item := analysis.payload.get(path)) is not None
        and item.never_shipped is None
        for path, entry in rest.items()
    )
    requirement = None
    if has_rest:
        if analysis.conda_version is None:
            raise UnsupportedPackage(analysis.subject, no_pep440_form(analysis.index.version))
        name = library_distribution_name(analysis.index.name)
        requirement = f"{name}=={analysis.conda_version}"
    shares, rest_depends = _share_depends(analysis, mapping, has_rest=has_rest)
    package = dataclasses.replace(analysis.package, link=None)  # link.json: the package's
    derived = [
        dataclasses.replace(
            analysis,
            package=package,
            distribution=part.distribution,
            listed={path: entry for path, entry in analysis.listed.items() if path in part.paths},
            unlisted=(),
            scripts=part.scripts,
            wrappers=part.wrappers,
            parts=(),
            importable=True,
            split_role="distribution",
            rest_wheel=requirement,
            depends_override=shares[index],
        )
        for index, part in enumerate(parts)
    ]
    if has_rest:
        derived.append(
            dataclasses.replace(
                analysis,
                package=package,
                distribution=None,
                listed=rest,
                scripts={section: {} for section in ("console_scripts", "gui_scripts")},
                wrappers={},
                parts=(),
                importable=False,
                split_role="rest",
                depends_override=rest_depends,
            )
        )
    return tuple(
        plan_wheel(item, mapping=mapping, options=options, providers=providers, limits=limits)
        for item in derived
    )


def _share_depends(
    analysis: PackageAnalysis, mapping: NameMapping, *, has_rest: bool
) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """Give each conda dependency to the wheels that answer for it.

    ``python``, ``python_abi`` and virtual packages go to every wheel (tags, Python
    range, system). A Python distribution goes to each distribution wheel whose METADATA
    names it; everything else to the library wheel, or, without one, to every
    distribution wheel.
    """
    named = [_required_names(part) for part in analysis.parts]
    shares: list[list[str]] = [[] for _ in analysis.parts]
    rest: list[str] = []
    for spec in analysis.depends:
        try:
            name = parse_matchspec(spec).name
        except InvalidMatchSpec:
            name = spec.split()[0] if spec.split() else spec
        if name in {"python", "python_abi"} or name.startswith("__"):
            for share in shares:
                share.append(spec)
            rest.append(spec)
            continue
        pypi = mapping.pypi_name(name) or canonicalize_name(name)
        owners = [index for index, names in enumerate(named) if pypi in names]
        if not owners:
            if has_rest:
                rest.append(spec)
                continue
            owners = list(range(len(shares)))
        for index in owners:
            shares[index].append(spec)
    return [tuple(share) for share in shares], tuple(rest)


def _required_names(part: DistributionPart) -> frozenset[str]:
    texts = part.distribution.metadata.get_all("Requires-Dist")
    return frozenset(name for text in texts if (name := _requirement_name(text)) is not None)


def _requirement_name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None
