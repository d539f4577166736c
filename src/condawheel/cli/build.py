"""The ``build`` command: sources built with an environment's Python become its conda wheels."""

from __future__ import annotations

import json
import sys
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import Annotated

import typer

from condawheel.cli.common import (
    SYSTEM_CONFIG,
    EnvPrefixOption,
    JsonOption,
    PrefixOption,
    SystemConfigOption,
    environment_prefix,
    plan_options,
)
from condawheel.cli.funnel import SomeInputsFailed, UsageProblem, stderr

__all__ = ["build_command"]


def build_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Requirements (from the indexes), sdists, source folders or built wheels.",
            metavar="SOURCE...",
        ),
    ],
    prefix: EnvPrefixOption = None,
    wheelhouse: Annotated[
        Path | None,
        typer.Option(
            "--wheelhouse",
            "-w",
            metavar="DIR",
            help="Publish into this wheelhouse (locked, indexed).",
            file_okay=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Write the wheels into this folder instead.",
            file_okay=False,
        ),
    ] = None,
    index_url: Annotated[
        str | None,
        typer.Option("--index-url", metavar="URL", help="The index requirements come from."),
    ] = None,
    find_links: Annotated[
        list[str] | None,
        typer.Option(
            "--find-links", metavar="PATH", help="A folder or page of sdists; repeatable."
        ),
    ] = None,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Use no index, only --find-links.")
    ] = False,
    isolation: Annotated[
        bool,
        typer.Option(
            "--build-isolation",
            help="Let pip install the build requirements apart (default: the environment's).",
        ),
    ] = False,
    system_config: SystemConfigOption = SYSTEM_CONFIG,
    platform_prefix: PrefixOption = "conda",
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show a failed build's last log lines.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Build sources with an environment's Python into conda wheels of that environment.

    Binaries get run paths relative to themselves, the environment's build tag, and a
    Requires-External for each conda package they link. Pure wheels stay as they are.
    """
    from rich.console import Console  # noqa: PLC0415 - keep --help fast

    from condawheel.build import (  # noqa: PLC0415
        BuildError,
        BuildOptions,
        Destination,
        PipOptions,
        build_sources,
    )

    if wheelhouse is not None and output is None:
        destination = Destination(wheelhouse, wheelhouse=True)
    elif output is not None and wheelhouse is None:
        destination = Destination(output, wheelhouse=False)
    else:
        raise UsageProblem("give exactly one of --wheelhouse and --output/-o")
    options = BuildOptions(
        pip=PipOptions(index_url, tuple(find_links or ()), no_index=no_index, isolation=isolation),
        source_date_epoch=plan_options(platform_prefix).source_date_epoch,
        system_config=system_config,
        platform_prefix=platform_prefix,
    )
    target = environment_prefix(prefix)
    if sys.stderr.isatty():  # a spinner naming the step; nothing in a file or pipe
        console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
        with console.status("building...") as status:
            report = build_sources(sources, target, destination, options, progress=status.update)
    else:
        report = build_sources(sources, target, destination, options)
    for outcome in report.outcomes:
        if json_output:
            typer.echo(json.dumps(outcome.to_json(), sort_keys=True))
        elif outcome.wheel is not None:
            typer.echo(str(outcome.wheel))
        if outcome.error is not None:
            stderr.error(str(outcome.error))
            if verbose and isinstance(outcome.error, BuildError):
                for line in outcome.error.log_tail:
                    stderr.line(f"  {line}")
    if report.failed:
        raise SomeInputsFailed
