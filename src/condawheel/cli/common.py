"""Options and argument handling that several commands share.

Heavy modules (the planner, the binaries analysis, the environment probe) are imported in
the functions that need them, so that ``--help`` and the commands that do not convert
start fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from condawheel.cli.funnel import UsageProblem, stderr
from condawheel.options import PlanOptions

if TYPE_CHECKING:
    from condawheel.binaries import SonameProviders
    from condawheel.convert.names import NameMapping
    from condawheel.options import PlatformStamp

__all__ = [
    "SYSTEM_CONFIG",
    "EnvPrefixOption",
    "JsonOption",
    "LibsFromOption",
    "MappingOption",
    "PrefixOption",
    "QuietOption",
    "SystemConfigOption",
    "VerboseOption",
    "environment_prefix",
    "load_names",
    "load_providers",
    "output_directory",
    "plan_options",
    "platform_stamp",
]

SYSTEM_CONFIG: Final = Path("/etc/python/binary-compatibility.cfg")

MappingOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--mapping",
        metavar="FILE",
        help="Extra conda->PyPI name mapping: condawheel's YAML (mappings/README.md), or a "
        "pixi, parselmouth or conda-pypi JSON table; repeatable, later files win.",
        exists=True,
        dir_okay=False,
    ),
]
PrefixOption = Annotated[
    str,
    typer.Option(
        "--platform-prefix",
        metavar="NAME",
        help="Prefix of the conda platform tag: 'conda' gives conda_linux_64.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON).")]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No summary and no warnings on stderr.")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Also say what was done to each input.")
]
SystemConfigOption = Annotated[
    Path,
    typer.Option(
        "--system-config",
        metavar="FILE",
        help="The system-wide tag configuration, read before the environment's own.",
        dir_okay=False,
    ),
]
LibsFromOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--libs-from",
        metavar="PATH",
        help="Conda environment prefix, folder of conda packages, or package file that tells "
        "which package provides which shared library; repeatable.",
    ),
]
EnvPrefixOption = Annotated[
    Path | None,
    typer.Option(
        "--prefix",
        "-p",
        metavar="DIR",
        help="The environment (default: the active one, $CONDA_PREFIX).",
        file_okay=False,
    ),
]


def load_providers(paths: list[Path] | None) -> SonameProviders | None:
    """Return which package provides which library (``--libs-from``), warning as it reads."""
    if not paths:
        return None
    from condawheel.binaries.providers import load_providers as load  # noqa: PLC0415 - only when asked

    providers = load(paths)
    for warning in providers.warnings:
        stderr.warning(warning)
    return providers


def load_names(extra: list[Path] | None) -> NameMapping:
    """Return the packaged name mapping with each ``--mapping FILE`` on top."""
    from condawheel.convert.names import default_mapping, load_mapping  # noqa: PLC0415
    from condawheel.io.cachedir import default_cache_dir  # noqa: PLC0415

    # The parsed packaged table is kept in the cache: a command line starts ~0.1 s sooner.
    mapping = default_mapping(cache=default_cache_dir())
    for path in extra or ():
        mapping = mapping.merged(load_mapping(path))
    return mapping


def platform_stamp(
    prefix: Path | None, platform_prefix: str, system_config: Path | None
) -> PlatformStamp | None:
    """Return the build tag an environment's wheels get, and its subdir (``--for-prefix``)."""
    if prefix is None:
        return None
    from condawheel.env.environment import stamp_for_prefix  # noqa: PLC0415

    stamp = stamp_for_prefix(prefix, system_config=system_config, platform_prefix=platform_prefix)
    if stamp is None:
        raise typer.BadParameter(
            f"{prefix}: no binary-compatibility.cfg entry or conda default for its platform",
            param_hint=["--for-prefix"],
        )
    return stamp


def plan_options(prefix: str) -> PlanOptions:
    """Return the conversion options of ``--platform-prefix`` and ``$SOURCE_DATE_EPOCH``."""
    from condawheel.tags import platform_tag  # noqa: PLC0415

    try:
        platform_tag("noarch", prefix=prefix)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=["--platform-prefix"]) from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        source_date_epoch = int(epoch) if epoch else None
    except ValueError:
        raise UsageProblem(f"SOURCE_DATE_EPOCH must be an integer, not {epoch!r}") from None
    return PlanOptions(platform_prefix=prefix, source_date_epoch=source_date_epoch)


def output_directory(output: Path) -> None:
    """Create the output directory, or make an unusable ``-o`` a usage error (exit 2)."""
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = (
            "exists and is not a directory"
            if isinstance(error, FileExistsError) or output.is_file()
            else f"cannot be created: {error.strerror or error}"
        )
        raise typer.BadParameter(f"{output} {reason}", param_hint=["-o", "--output"]) from None


def environment_prefix(prefix: Path | None) -> Path:
    """Return the environment, absolute and without `..` (symlinks are kept as spelled)."""
    if prefix is None:
        active = os.environ.get("CONDA_PREFIX")
        if not active:
            raise UsageProblem("no --prefix given and no active conda environment ($CONDA_PREFIX)")
        prefix = Path(active)
    from condawheel.env.environment import environment_path  # noqa: PLC0415 - keep --help fast

    return environment_path(prefix)
