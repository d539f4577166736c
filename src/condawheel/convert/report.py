"""Render a :class:`WheelPlan` for people (``inspect``) and for machines (``inspect --json``)."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from condawheel.convert.plan import FromPayload, Generated, RewrittenScript

if TYPE_CHECKING:
    from collections.abc import Sequence

    from condawheel.conda.condameta import JSONObject
    from condawheel.convert.plan import WheelEntry, WheelPlan

__all__ = [
    "external_dependencies_as_text",
    "plan_as_json",
    "plan_as_text",
    "plans_as_json",
    "plans_as_text",
]


def _entry_json(entry: WheelEntry) -> JSONObject:
    source = entry.source
    if isinstance(source, Generated):
        origin: JSONObject = {"generated": True, "size": len(source.data)}
    elif isinstance(source, RewrittenScript):
        origin = {"from": source.path, "rewrite": "shebang -> #!python"}
    else:
        assert isinstance(source, FromPayload)  # noqa: S101 - exhaustive over EntrySource
        origin = {"from": source.path}
    return {"path": entry.arcname, "executable": entry.executable, **origin}


def plan_as_json(plan: WheelPlan) -> JSONObject:
    """Return the plan as a JSON object (stable keys; the wheel's bytes are not included)."""
    return {
        "filename": plan.filename,
        "name": plan.display_name,
        "normalized_name": plan.name,
        "version": str(plan.version),
        "build_tag": plan.build_tag,
        "tags": str(plan.tags),
        "tags_reason": plan.tags.reason,
        "kind": plan.kind,
        "dist_info": plan.dist_info,
        "metadata": plan.metadata.decode("utf-8"),
        "entries": [_entry_json(entry) for entry in plan.entries],
        "skipped": [{"path": item.path, "reason": item.reason} for item in plan.skipped],
        "warnings": list(plan.warnings),
        "sidecar": plan.sidecar,
    }


def _scheme(arcname: str, plan: WheelPlan) -> str:
    if arcname.startswith(plan.dist_info + "/"):
        return ".dist-info"
    first, _, rest = arcname.partition("/")
    if first.endswith(".data"):
        return ".data/" + rest.partition("/")[0]
    return "root (site-packages)"


def libraries_as_text(plan: WheelPlan) -> list[str]:
    """Return the external-library analysis as lines: each binary, each needed library."""
    report = plan.sidecar.get("libraries")
    if not isinstance(report, dict):
        return []
    lines = ["", "external libraries:"]
    binaries = report.get("binaries")
    for binary in binaries if isinstance(binaries, list) else []:
        if not isinstance(binary, dict):
            continue
        lines.append(f"  {binary.get('path')} ({binary.get('format')})")
        libraries = binary.get("libraries")
        for library in libraries if isinstance(libraries, list) else []:
            if not isinstance(library, dict):
                continue
            where = library.get("package") or library.get("location") or library.get("reason")
            lines.append(f"    {library.get('name')!s:32} {library.get('kind')!s:11} {where}")
    for key in ("under_declared", "over_declared", "unjudged_dependencies"):
        values = report.get(key)
        if isinstance(values, list) and values:
            lines.append(f"  {key.replace('_', '-')}: {', '.join(str(v) for v in values)}")
    if not report.get("providers_given"):
        lines.append("  (no --libs-from given: dependencies were not judged)")
    return lines


def external_dependencies_as_text(plan: WheelPlan) -> list[str]:
    """Return each external dependency with its PEP 725 DepURL (and what it cannot say)."""
    dependencies = plan.sidecar.get("dependencies")
    records = dependencies.get("depends") if isinstance(dependencies, dict) else None
    lines: list[str] = []
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or record.get("kind") != "external":
            continue
        kept = record.get("conda_spec")
        suffix = f"  (conda spec kept: {kept})" if kept else ""
        lines.append(f"  {record.get('spec')!s:40} {record.get('depurl')}{suffix}")
    return ["", "external dependencies (PEP 725 DepURLs):", *lines] if lines else []


def _origin(entry: WheelEntry) -> str:
    source = entry.source
    if isinstance(source, Generated):
        return "  (generated)"
    if source.path == entry.arcname:
        return ""
    return f"  <- {source.path}"


def plan_as_text(plan: WheelPlan, *, libraries: bool = False, files: bool = False) -> str:
    """Return a human summary of the plan (with the library analysis, every file, if asked)."""
    lines = [
        f"wheel:    {plan.filename}",
        f"name:     {plan.display_name} {plan.version} ({plan.kind})",
        f"tags:     {plan.tags}  ({plan.tags.reason})",
        f"build:    {plan.build_tag}",
        "",
        "files:",
    ]
    by_scheme = Counter(_scheme(entry.arcname, plan) for entry in plan.entries)
    lines += [f"  {count:6d}  {scheme}" for scheme, count in sorted(by_scheme.items())]
    rewritten = [e.arcname for e in plan.entries if isinstance(e.source, RewrittenScript)]
    if rewritten:
        lines.append(f"  shebangs rewritten to #!python: {', '.join(rewritten)}")
    if files:
        lines += [f"  {entry.arcname}{_origin(entry)}" for entry in plan.entries]
    if plan.skipped:
        lines += ["", "not shipped:"]
        reasons = Counter(item.reason for item in plan.skipped)
        lines += [f"  {count:6d}  {reason}" for reason, count in sorted(reasons.items())]
    lines += ["", "METADATA:"]
    lines += [
        f"  {line}" for line in plan.metadata.decode("utf-8").split("\n\n", 1)[0].splitlines()
    ]
    sidecar = plan.sidecar
    lines += external_dependencies_as_text(plan)
    for key in ("prefix_placeholders", "symlinks", "link_scripts", "menu_files", "directories"):
        value = sidecar.get(key)
        if isinstance(value, list) and value:
            lines += ["", f"{key} ({len(value)}):"]
            lines += [f"  {json.dumps(item, sort_keys=True)}" for item in value[:20]]
            if len(value) > 20:  # noqa: PLR2004
                lines.append(f"  ... {len(value) - 20} more (inspect --json shows all)")
    if libraries:
        lines += libraries_as_text(plan)
    if plan.warnings:
        lines += ["", "warnings:"]
        lines += [f"  {warning}" for warning in plan.warnings]
    return "\n".join(lines)


def plans_as_json(plans: Sequence[WheelPlan]) -> JSONObject:
    """Return one plan as :func:`plan_as_json` does, several as ``{"wheels": [...]}``."""
    if len(plans) == 1:
        return plan_as_json(plans[0])
    return {"wheels": [plan_as_json(plan) for plan in plans]}


def plans_as_text(
    plans: Sequence[WheelPlan], *, libraries: bool = False, files: bool = False
) -> str:
    """Return each plan as :func:`plan_as_text` does, a split package's one after another."""
    if len(plans) == 1:
        return plan_as_text(plans[0], libraries=libraries, files=files)
    header = f"{len(plans)} wheels (one per Python distribution, and the other files):"
    texts = [plan_as_text(plan, libraries=libraries, files=files) for plan in plans]
    return "\n\n".join([header, *texts])
