"""The environment commands: ``tags``, ``install``, ``uninstall`` and ``hook``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from condawheel.cli.common import (
    SYSTEM_CONFIG,
    EnvPrefixOption,
    JsonOption,
    PrefixOption,
    SystemConfigOption,
    environment_prefix,
)
from condawheel.cli.funnel import UsageProblem, stderr

if TYPE_CHECKING:
    from condawheel.env.hooks import HookResult
    from condawheel.env.install import InstallResult

__all__ = [
    "hook_install_command",
    "hook_install_wheel_command",
    "hook_remove_command",
    "install_command",
    "tags_command",
    "uninstall_command",
]


def tags_command(
    prefix: EnvPrefixOption = None,
    system_config: SystemConfigOption = SYSTEM_CONFIG,
    json_output: JsonOption = False,
) -> None:
    """List the tags an environment accepts, most preferred first: conda tags, then its own."""
    from condawheel.env.environment import open_environment  # noqa: PLC0415 - keep --help fast

    environment = open_environment(
        environment_prefix(prefix), system_config=system_config, conda_only=True
    )
    if json_output:
        typer.echo(json.dumps(environment.to_json(), indent=2))
        return
    tags = environment.tags
    for tag in tags.ordered:
        typer.echo(str(tag))
    source = environment.entry.source if environment.entry else "nothing configured"
    stderr.line(
        f"{len(tags.conda)} conda tags ({', '.join(tags.conda_platforms) or 'none'}; from "
        f"{source}), then {len(tags.ordered) - len(tags.conda)} tags of "
        f"{environment.facts.python}"
    )


def install_command(
    requirements: Annotated[
        list[str] | None,
        typer.Argument(
            help="Requirements (PEP 508), as for pip install.",
            metavar="REQUIREMENT",
            show_default=False,
        ),
    ] = None,
    requirement_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--requirement",
            "-r",
            metavar="FILE",
            help="Install the requirements of this file (pip's format: one per line, "
            "comments, -r FILE); repeatable.",
            dir_okay=False,
        ),
    ] = None,
    prefix: EnvPrefixOption = None,
    wheelhouse: Annotated[
        Path | None,
        typer.Option(
            "--wheelhouse",
            "-w",
            metavar="DIR",
            help="A wheelhouse directory (default: $CONDAWHEEL_WHEELHOUSE, which "
            "condawheel hook install sets on activation).",
            file_okay=False,
        ),
    ] = None,
    index_url: Annotated[
        str | None,
        typer.Option(
            "--index-url",
            "-i",
            metavar="URL",
            help="A PEP 503 index to install from instead of a wheelhouse.",
        ),
    ] = None,
    extra_index_urls: Annotated[
        list[str] | None,
        typer.Option(
            "--extra-index-url",
            metavar="URL",
            help="Another PEP 503 index to install from as well; repeatable.",
        ),
    ] = None,
    no_deps: Annotated[
        bool, typer.Option("--no-deps", help="Install the requirements, not their dependencies.")
    ] = False,
    upgrade: Annotated[
        bool,
        typer.Option(
            "--upgrade", "-U", help="Install the newest versions, also of what is installed."
        ),
    ] = False,
    prefer: Annotated[
        Literal["conda", "newest"],
        typer.Option(
            "--prefer",
            metavar="conda|newest",
            help="conda: a conda build wins over unmatched wheels; newest: the newest version "
            "wins, a conda build only at equal versions.",
        ),
    ] = "conda",
    ignore_external: Annotated[
        bool,
        typer.Option(
            "--ignore-external",
            help="Install even if Requires-External conda packages are missing.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Resolve and check, but write nothing.")
    ] = False,
    system_config: SystemConfigOption = SYSTEM_CONFIG,
    json_output: JsonOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No warnings and no notes on stderr.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also say how pip resolved, and which conda builds won."
        ),
    ] = False,
) -> None:
    """Install wheels (conda-tagged or not) into an environment, resolved with pip."""
    from condawheel.env.install import InstallOptions, install_requirements  # noqa: PLC0415
    from condawheel.env.requirements import read_requirements  # noqa: PLC0415
    from condawheel.env.resolve import PackageSource  # noqa: PLC0415

    target = environment_prefix(prefix)
    wanted = [*(requirements or ())]
    for path in requirement_files or ():
        wanted += read_requirements(path)
    if not wanted:
        if requirement_files:
            raise UsageProblem("the requirement files list no requirement")
        raise UsageProblem("give a REQUIREMENT or -r FILE")
    if wheelhouse is not None and index_url is not None:
        raise UsageProblem("give --wheelhouse or --index-url, not both")
    if wheelhouse is None and index_url is None:
        configured = os.environ.get("CONDAWHEEL_WHEELHOUSE")
        if not configured:
            raise UsageProblem("give --wheelhouse or --index-url (or set $CONDAWHEEL_WHEELHOUSE)")
        wheelhouse = Path(configured)
    source = PackageSource(
        wheelhouse=wheelhouse, index_url=index_url, extra_index_urls=tuple(extra_index_urls or ())
    )
    options = InstallOptions(
        prefer=prefer,
        ignore_external=ignore_external,
        dry_run=dry_run,
        no_deps=no_deps,
        upgrade=upgrade,
    )
    result = install_requirements(
        wanted, prefix=target, source=source, options=options, system_config=system_config
    )
    if not quiet:
        for message in (*result.installation.warnings, *result.notes):
            stderr.warning(message)
    if verbose:
        _explain_resolution(result)
    if json_output:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    verb = "would install" if result.dry_run else "installed"
    for item in result.installation.installs:
        replaced = f", replacing {item.replaces.version}" if item.replaces else ""
        typer.echo(f"{verb} {item.label} ({item.contents.filename}{replaced})")
    for already in result.installation.already:
        typer.echo(f"not reinstalled: {already.name} {already.version}: {already.reason}")
    if result.relocated and not quiet:
        stderr.line(f"relocated {len(result.relocated)} file(s) to {result.installation.prefix}")


def _explain_resolution(result: InstallResult) -> None:
    """Say on stderr which pip resolved, in how many rounds, and which conda builds won."""
    resolution = result.resolution
    rounds = f"{resolution.rounds} round{'s' if resolution.rounds != 1 else ''}"
    stderr.line(f"resolved by pip {resolution.pip.version} ({resolution.pip.origin}'s) in {rounds}")
    for name, candidate in sorted(resolution.pins.items()):
        stderr.line(f"preferred the conda build of {name}: {candidate.filename}")


def uninstall_command(
    names: Annotated[
        list[str],
        typer.Argument(help="Distribution names.", metavar="NAME", show_default=False),
    ],
    prefix: EnvPrefixOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and say what would go, but remove nothing.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Remove distributions that condawheel (or pip) installed, by their RECORD."""
    from condawheel.env.environment import open_environment  # noqa: PLC0415
    from condawheel.env.uninstall import uninstall  # noqa: PLC0415

    environment = open_environment(environment_prefix(prefix), system_config=None)
    removed = uninstall(names, state=environment.state, facts=environment.facts, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for item in removed:
        if json_output:
            typer.echo(json.dumps({**item.to_json(), "dry_run": dry_run}))
        else:
            typer.echo(f"{verb} {item.name} {item.version} ({item.files} files)")


def _hook_output(result: HookResult, json_output: bool) -> None:
    if json_output:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    for path in result.written:
        typer.echo(f"wrote {path}")
    for path in result.removed:
        typer.echo(f"removed {path}")
    for note in result.notes:
        stderr.warning(note)
    if not result.written and not result.removed:
        stderr.line("nothing to do")


def hook_install_command(
    wheelhouse: Annotated[
        Path,
        typer.Option(
            "--wheelhouse",
            "-w",
            metavar="DIR",
            help="The wheelhouse activation points condawheel at.",
            file_okay=False,
            show_default=False,
        ),
    ],
    prefix: EnvPrefixOption = None,
    platform_prefix: PrefixOption = "conda",
    system_config: SystemConfigOption = SYSTEM_CONFIG,
    json_output: JsonOption = False,
) -> None:
    """Write the environment's binary-compatibility.cfg, activation scripts and pip hook."""
    from condawheel.env.environment import open_environment  # noqa: PLC0415
    from condawheel.env.hooks import install_hook  # noqa: PLC0415
    from condawheel.env.piphook import compile_hook_module, hook_files_for  # noqa: PLC0415
    from condawheel.env.tagconfig import default_entry  # noqa: PLC0415
    from condawheel.errors import ConfigError  # noqa: PLC0415

    environment = open_environment(
        environment_prefix(prefix), system_config=system_config, conda_only=True
    )
    subdir = environment.subdir
    if subdir is None:
        raise ConfigError(
            environment.facts.base_platform, "no conda subdir is known for this platform"
        )
    entry = default_entry(subdir, platform_prefix=platform_prefix)
    result = install_hook(
        environment.prefix,
        wheelhouse,
        base_platform=environment.facts.base_platform,
        entry=entry,
        extra_files=hook_files_for(
            environment, system_config=system_config, default_platforms=entry.platforms
        ),
    )
    if not compile_hook_module(environment):
        stderr.warning(
            "the pip hook's bytecode could not be written; "
            "each start of the environment's Python compiles it"
        )
    _hook_output(result, json_output)


def hook_install_wheel_command(
    wheel: Annotated[
        Path,
        typer.Argument(
            help="A wheel file pip resolved.", metavar="WHEEL", dir_okay=False, show_default=False
        ),
    ],
    prefix: EnvPrefixOption = None,
    requested: Annotated[bool, typer.Option("--requested", help="The user asked for it.")] = False,
    system_config: SystemConfigOption = SYSTEM_CONFIG,
) -> None:
    """Install one conda wheel that pip resolved (what the pip hook runs)."""
    from condawheel.env.piphook import install_wheel_file  # noqa: PLC0415

    result = install_wheel_file(
        environment_prefix(prefix), wheel, requested=requested, system_config=system_config
    )
    for message in result.notes:
        stderr.line(f"condawheel: {message}")


def hook_remove_command(
    prefix: EnvPrefixOption = None,
    json_output: JsonOption = False,
) -> None:
    """Remove what hook install wrote (files changed since are kept)."""
    from condawheel.env.hooks import remove_hook  # noqa: PLC0415

    result = remove_hook(environment_prefix(prefix))
    _hook_output(result, json_output)
