"""The ``condawheel`` command: parse arguments, call the library, map errors to exit codes.

Exit codes: 0 everything succeeded; 1 some input failed (the others were still processed);
2 usage error. Results go to stdout (paths, or one JSON record per line with ``--json``);
diagnostics go to stderr. No business logic lives here.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from condawheel import __version__
from condawheel.errors import CondawheelError
from condawheel.names import NameMapping, default_mapping, load_mapping
from condawheel.plan import PlanOptions

if TYPE_CHECKING:
    from collections.abc import Iterator

    from condawheel.binaries import SonameProviders
    from condawheel.convert import ConversionResult

app = typer.Typer(
    name="condawheel",
    help="Convert conda packages into conda-tagged wheels.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
# Diagnostics only; results are written with typer.echo, untouched by rich's markup.
_err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _fail(message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {message}", markup=True)
    raise typer.Exit(1)


@contextmanager
def _errors_exit() -> Iterator[None]:
    """Turn a :class:`CondawheelError` into exit code 1 (the only place that does)."""
    try:
        yield
    except CondawheelError as error:
        _fail(str(error))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"condawheel {__version__}")
        raise typer.Exit


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Convert conda packages into conda-tagged wheels, and manage a shared wheelhouse."""


MappingOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--mapping",
        help="Extra conda->PyPI name mapping (YAML, schema in mappings/README.md); repeatable, "
        "later files win.",
        exists=True,
        dir_okay=False,
    ),
]
PrefixOption = Annotated[
    str,
    typer.Option(
        "--platform-prefix",
        help="Prefix of the conda platform tag: 'conda' gives conda_linux_64.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON).")]
LibsFromOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--libs-from",
        help="Conda environment prefix, folder of conda packages, or package file that tells "
        "which package provides which shared library; repeatable.",
    ),
]


def _providers(paths: list[Path] | None) -> SonameProviders | None:
    if not paths:
        return None
    from condawheel.providers import load_providers  # noqa: PLC0415 - only when asked

    providers = load_providers(paths)
    for warning in providers.warnings:
        _err.print(f"[yellow]warning:[/yellow] {warning}", markup=True)
    return providers


def _mapping(extra: list[Path] | None) -> NameMapping:
    mapping = default_mapping()
    for path in extra or ():
        mapping = mapping.merged(load_mapping(path))
    return mapping


def _options(prefix: str) -> PlanOptions:
    from condawheel.tags import platform_tag  # noqa: PLC0415 - only to validate the prefix

    try:
        platform_tag("noarch", prefix=prefix)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--platform-prefix") from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        source_date_epoch = int(epoch) if epoch else None
    except ValueError:
        raise typer.BadParameter(f"SOURCE_DATE_EPOCH must be an integer, not {epoch!r}") from None
    return PlanOptions(platform_prefix=prefix, source_date_epoch=source_date_epoch)


def _result_json(path: Path, result: ConversionResult | None, error: CondawheelError | None) -> str:
    record: dict[str, object] = {"input": str(path)}
    if result is not None:
        record.update(
            status=result.status,
            wheel=str(result.wheel),
            sha256=result.sha256,
            size=result.size,
            name=result.plan.display_name,
            version=str(result.plan.version),
            tags=str(result.plan.tags),
            warnings=list(result.plan.warnings),
        )
    if error is not None:
        record.update(status="failed", error=error.reason)
    return json.dumps(record, sort_keys=True)


@app.command()
def convert(
    packages: Annotated[
        list[Path],
        typer.Argument(
            help=".conda / .tar.bz2 files or extracted package directories.", exists=False
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Directory for the wheels (created if missing).")
    ] = Path(),
    mapping: MappingOption = None,
    platform_prefix: PrefixOption = "conda",
    json_output: JsonOption = False,
    libs_from: LibsFromOption = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="Compression threads (default: cores).")
    ] = None,
) -> None:
    """Convert conda packages into wheels; a failed input does not stop the others."""
    from condawheel.convert import convert as convert_one  # noqa: PLC0415 - keep --help fast

    options = _options(platform_prefix)
    with _errors_exit():
        names = _mapping(mapping)
        providers = _providers(libs_from)
        output.mkdir(parents=True, exist_ok=True)
    failed = 0
    counts = {"written": 0, "unchanged": 0}
    show_progress = len(packages) > 1 and sys.stderr.isatty() and not json_output
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
        disable=not show_progress,
    )
    with progress:
        task = progress.add_task("converting", total=len(packages))
        for path in packages:
            progress.update(task, description=f"converting {path.name}")
            try:
                result = convert_one(
                    path,
                    output,
                    mapping=names,
                    options=options,
                    threads=threads,
                    providers=providers,
                )
            except CondawheelError as error:
                failed += 1
                _err.print(f"[red]error:[/red] {error}", markup=True)
                if json_output:
                    typer.echo(_result_json(path, None, error))
                progress.advance(task)
                continue
            counts[result.status] += 1
            for warning in result.plan.warnings:
                _err.print(f"[yellow]warning:[/yellow] {path.name}: {warning}", markup=True)
            if json_output:
                typer.echo(_result_json(path, result, None))
            else:
                typer.echo(str(result.wheel))
            progress.advance(task)
    _err.print(
        f"{counts['written']} written, {counts['unchanged']} unchanged, {failed} failed",
        markup=False,
    )
    if failed:
        raise typer.Exit(1)


@app.command()
def inspect(
    package: Annotated[Path, typer.Argument(help="A .conda / .tar.bz2 file or package directory.")],
    mapping: MappingOption = None,
    platform_prefix: PrefixOption = "conda",
    json_output: JsonOption = False,
    libs_from: LibsFromOption = None,
    libs: Annotated[
        bool, typer.Option("--libs", help="Show the external-library analysis of each binary.")
    ] = False,
) -> None:
    """Print the conversion plan of one package without writing anything."""
    from condawheel.convert import plan_package  # noqa: PLC0415
    from condawheel.report import plan_as_json, plan_as_text  # noqa: PLC0415

    options = _options(platform_prefix)
    with _errors_exit():
        plan = plan_package(
            package, mapping=_mapping(mapping), options=options, providers=_providers(libs_from)
        )
    if json_output:
        typer.echo(json.dumps(plan_as_json(plan), indent=2, sort_keys=True))
    else:
        typer.echo(plan_as_text(plan, libraries=libs))


# Wheelhouse commands (sync, index) go below this line.


# Environment commands (tags, install, uninstall, hook) go below this line.


def main() -> None:
    """Run the command line (the ``condawheel`` entry point)."""
    app()
