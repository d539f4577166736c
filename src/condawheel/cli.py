"""The ``condawheel`` command: parse arguments, call the library, map errors to exit codes.

Exit codes: 0 everything succeeded; 1 some input failed (the others were still processed);
2 usage error. Results go to stdout (paths, or one JSON record per line with ``--json``);
diagnostics go to stderr. No business logic lives here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from condawheel import __version__
from condawheel.errors import CondawheelError
from condawheel.names import NameMapping, default_mapping, load_mapping
from condawheel.options import PlanOptions, PlatformStamp

if TYPE_CHECKING:
    from collections.abc import Iterator

    from condawheel.binaries import SonameProviders
    from condawheel.convert import ConversionResult
    from condawheel.env.hooks import HookResult
    from condawheel.env.install import InstallResult
    from condawheel.wheelhouse.index import IndexUpdate
    from condawheel.wheelhouse.outcomes import Outcome, SyncEvent, SyncReport

app = typer.Typer(
    name="condawheel",
    help="Convert conda packages into conda-tagged wheels.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    # Markdown joins a docstring's wrapped lines into paragraphs (rich mode keeps them).
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
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


def _debug_traceback(error: BaseException) -> None:
    """Print the traceback of an internal error when ``CONDAWHEEL_DEBUG=1`` asks for it.

    A catch-all that keeps a batch going says an internal error in one line; the traceback
    is what a bug report needs. An environment variable rather than ``-v``: ``sync -v``
    already means "every converted wheel", and a variable reaches every command alike.
    """
    _debug_print("".join(traceback.format_exception(error)))


def _debug_print(formatted: str, *, console: Console = _err) -> None:
    """Print a formatted traceback (one a sync worker sent back) if ``CONDAWHEEL_DEBUG=1``."""
    if os.environ.get("CONDAWHEEL_DEBUG") == "1":
        console.print(formatted.rstrip(), markup=False)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"condawheel {__version__}")
        raise typer.Exit


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version.",
            metavar=FLAG,
        ),
    ] = False,
) -> None:
    """Convert conda packages into conda-tagged wheels, and manage a shared wheelhouse."""


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
        help="Prefix of the conda platform tag: 'conda' gives conda_linux_64.",
    ),
]
# typer 0.29 shows a flag's type (`--json <bool>`) as if it took a value; an empty metavar
# shows nothing, as older typers did.
FLAG: Final = ""
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable output (JSON).", metavar=FLAG)
]
SystemConfigOption = Annotated[
    Path,
    typer.Option(
        "--system-config",
        help="The system-wide tag configuration, read before the environment's own.",
        dir_okay=False,
    ),
]
_SYSTEM_CONFIG = Path("/etc/python/binary-compatibility.cfg")
LibsFromOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--libs-from",
        metavar="PATH",
        help="Conda environment prefix, folder of conda packages, or package file that tells "
        "which package provides which shared library; repeatable.",
    ),
]


def _providers(paths: list[Path] | None) -> SonameProviders | None:
    if not paths:
        return None
    from condawheel.binaries.providers import load_providers  # noqa: PLC0415 - only when asked

    providers = load_providers(paths)
    for warning in providers.warnings:
        _err.print(f"[yellow]warning:[/yellow] {warning}", markup=True)
    return providers


def _mapping(extra: list[Path] | None) -> NameMapping:
    mapping = default_mapping()
    for path in extra or ():
        mapping = mapping.merged(load_mapping(path))
    return mapping


def _stamp_for(
    prefix: Path | None, platform_prefix: str, system_config: Path | None
) -> PlatformStamp | None:
    """Return the build tag an environment's wheels get, and its subdir (``--for-prefix``)."""
    if prefix is None:
        return None
    from condawheel.env.environment import build_stamp, open_environment  # noqa: PLC0415

    environment = open_environment(
        prefix, system_config=system_config, platform_prefix=platform_prefix
    )
    stamp = build_stamp(environment)
    if stamp is None:
        raise typer.BadParameter(
            f"{prefix}: no binary-compatibility.cfg entry or conda default for its platform",
            param_hint="--for-prefix",
        )
    return stamp


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


def _output_directory(output: Path) -> None:
    """Create the output directory, or make an unusable ``-o`` a usage error (exit 2)."""
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = (
            "exists and is not a directory"
            if isinstance(error, FileExistsError) or output.is_file()
            else f"cannot be created: {error.strerror or error}"
        )
        raise typer.BadParameter(f"{output} {reason}", param_hint="'-o' / '--output'") from None


def _skipped_json(path: Path, reason: str) -> str:
    return json.dumps({"input": str(path), "reason": reason, "status": "skipped"}, sort_keys=True)


def _report_skip(path: Path, reason: str, json_output: bool) -> None:
    _err.print(f"skipped {escape(f'{path}: {reason}')}", markup=True)
    if json_output:
        typer.echo(_skipped_json(path, reason))


def _result_json(
    path: Path, result: ConversionResult | None, error: str | None, *, note: str | None = None
) -> str:
    record: dict[str, object] = {"input": str(path)}
    if note is not None:
        record["note"] = note
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
        record.update(status="failed", error=error)
    return json.dumps(record, sort_keys=True)


def _report_wheels(
    path: Path,
    result: ConversionResult,
    note: str | None,
    counts: dict[str, int],
    *,
    json_output: bool,
) -> None:
    """Print each wheel one input made (several for a package split by distribution)."""
    for made in result.wheels:
        counts[made.status] += 1
        said = note or made.note
        if said is not None:
            _err.print(f"note: {escape(f'{path}: {said}')}", markup=True)
        for warning in made.plan.warnings:
            _err.print(f"[yellow]warning:[/yellow] {path.name}: {warning}", markup=True)
        if json_output:
            typer.echo(_result_json(path, made, None, note=said))
        else:
            typer.echo(str(made.wheel))


def _convert_summary(counts: dict[str, int], *, show_skipped: bool) -> str:
    skipped = f"{counts['skipped']} skipped, " if show_skipped else ""
    if counts["duplicate"]:
        skipped += f"{counts['duplicate']} duplicate(s), "
    written, unchanged, failed = counts["written"], counts["unchanged"], counts["failed"]
    return f"{written} written, {unchanged} unchanged, {skipped}{failed} failed"


@app.command()
def convert(
    packages: Annotated[
        list[Path],
        typer.Argument(
            help=".conda / .tar.bz2 files or extracted package directories.",
            exists=False,
            metavar="PACKAGE",
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Directory for the wheels (created if missing).")
    ] = Path(),
    mapping: MappingOption = None,
    platform_prefix: PrefixOption = "conda",
    json_output: JsonOption = False,
    libs_from: LibsFromOption = None,
    for_prefix: Annotated[
        Path | None,
        typer.Option(
            "--for-prefix",
            help="Stamp the platform tag that this environment's binary-compatibility.cfg "
            "names as its 'build' tag.",
            file_okay=False,
        ),
    ] = None,
    system_config: SystemConfigOption = _SYSTEM_CONFIG,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=0,
            help="Threads that compress while a package is read; 0: none besides the reader "
            "(default: one per core, one fewer for .tar.bz2).",
        ),
    ] = None,
) -> None:
    """Convert conda packages into wheels; a failed input does not stop the others.

    A .tar.bz2 given together with the .conda of the same package (same folder, same
    name-version-build) is skipped: both would make the same wheel name. If the .conda
    fails, the .tar.bz2 is converted instead.
    """
    from condawheel.convert import convert as convert_one  # noqa: PLC0415 - keep --help fast
    from condawheel.twins import (  # noqa: PLC0415
        pair_twins,
        preferred_reason,
        split_format,
        stand_in_reason,
        stand_ins,
    )

    options = _options(platform_prefix)
    with _errors_exit():
        names = _mapping(mapping)
        providers = _providers(libs_from)
        stamp = _stamp_for(for_prefix, platform_prefix, system_config)
        if stamp is not None:
            options = dataclasses.replace(options, platform_stamp=stamp)
    _output_directory(output)
    counts = {"written": 0, "unchanged": 0, "duplicate": 0, "skipped": 0, "failed": 0}
    # The same package is the same name-version-build in the same folder (compared
    # lexically: `./x.conda` and `x.tar.bz2` are twins; links are not followed).
    twins = pair_twins(
        [(os.path.abspath(path.parent), *split_format(path.name)) for path in packages]  # noqa: PTH100
    )
    # Each .tar.bz2 twin waits for its .conda: converted only if that one fails.
    standby: dict[int, list[int]] = {}
    for tar_bz2, conda in twins.items():
        standby.setdefault(conda, []).append(tar_bz2)
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

    def convert_input(path: Path, note: str | None = None) -> bool:
        progress.update(task, description=f"converting {path.name}")
        try:
            result = convert_one(
                path, output, mapping=names, options=options, threads=threads, providers=providers
            )
        except CondawheelError as error:
            counts["failed"] += 1
            _err.print(f"[red]error:[/red] {error}", markup=True)
            if json_output:
                typer.echo(_result_json(path, None, error.reason))
            progress.advance(task)
            return False
        except Exception as error:  # noqa: BLE001 - a bug on one input must not end the batch
            # Not bad input but a defect of condawheel: said as such, in one line, as the
            # sync workers do; the other inputs are still converted.
            counts["failed"] += 1
            reason = f"internal error: {type(error).__name__}: {error}"
            _err.print(f"[red]error:[/red] {escape(f'{path}: {reason}')}", markup=True)
            _debug_traceback(error)
            if json_output:
                typer.echo(_result_json(path, None, reason))
            progress.advance(task)
            return False
        _report_wheels(path, result, note, counts, json_output=json_output)
        progress.advance(task)
        return True

    with progress:
        task = progress.add_task("converting", total=len(packages))
        for position, path in enumerate(packages):
            if position in twins:
                continue  # decided right after its .conda
            converted = convert_input(path)
            waiting = dict.fromkeys(standby.pop(position, ()), position)
            chosen = stand_ins(waiting, () if converted else (position,))
            for tar_bz2 in waiting:
                if tar_bz2 in chosen:
                    convert_input(packages[tar_bz2], note=f"converted {stand_in_reason(path.name)}")
                    continue
                counts["skipped"] += 1
                _report_skip(packages[tar_bz2], preferred_reason(path.name), json_output)
                progress.advance(task)
    _err.print(_convert_summary(counts, show_skipped=bool(twins)), markup=False)
    # A .conda that failed fails the batch, though its .tar.bz2 made the wheel.
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
def inspect(
    package: Annotated[Path, typer.Argument(help="A .conda / .tar.bz2 file or package directory.")],
    mapping: MappingOption = None,
    platform_prefix: PrefixOption = "conda",
    json_output: JsonOption = False,
    libs_from: LibsFromOption = None,
    libs: Annotated[
        bool,
        typer.Option(
            "--libs", help="Show the external-library analysis of each binary.", metavar=FLAG
        ),
    ] = False,
) -> None:
    """Print the conversion plan of one package without writing anything."""
    from condawheel.convert import plan_packages  # noqa: PLC0415
    from condawheel.report import plans_as_json, plans_as_text  # noqa: PLC0415

    options = _options(platform_prefix)
    with _errors_exit():
        names = _mapping(mapping)
        providers = _providers(libs_from)
    try:
        plans = plan_packages(package, mapping=names, options=options, providers=providers)
    except CondawheelError as error:
        if json_output:  # as convert --json: the failed input still gets its record
            typer.echo(_result_json(package, None, error.reason))
        _fail(str(error))
    if json_output:
        typer.echo(json.dumps(plans_as_json(plans), indent=2, sort_keys=True))
    else:
        typer.echo(plans_as_text(plans, libraries=libs))


# Wheelhouse commands: sync, index.


class _SyncDisplay:
    """Progress bar (counts, sizes, time left) and diagnostics of a sync, on stderr.

    The bar shows only when stderr is a terminal; failures are printed as they happen.
    """

    def __init__(self, *, quiet: bool, show_bar: bool) -> None:
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[done]}/{task.fields[count]}"),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=_err,
            transient=True,
            disable=not show_bar,
        )
        self.task = self.progress.add_task("listing", total=None, done=0, count=0)
        self.done = 0
        self.reported: set[tuple[str, str]] = set()

    def __call__(self, event: SyncEvent) -> None:
        from condawheel.wheelhouse.outcomes import (  # noqa: PLC0415
            ArtifactFinished,
            Phase,
            Waiting,
            WorkPlanned,
        )

        if isinstance(event, Phase):
            # Phases change rarely: show each at once, even between the bar's refreshes.
            self.progress.update(self.task, description=event.name, refresh=True)
        elif isinstance(event, Waiting):
            who = f"process {event.holder}" if event.holder is not None else "another process"
            if not self.quiet:
                _err.print(f"waiting for the wheelhouse lock held by {who}...", markup=False)
        elif isinstance(event, WorkPlanned):
            total = max(event.size, 1)
            self.progress.update(self.task, total=total, count=event.artifacts, refresh=True)
        elif isinstance(event, ArtifactFinished):
            self.done += 1
            self.progress.update(self.task, advance=event.size, done=self.done)
            outcome = event.outcome
            if outcome.status in {"failed", "conflict"}:
                self.reported.add((outcome.source, outcome.location))
                _print_problem(outcome, console=self.progress.console)
                if event.traceback is not None:
                    _debug_print(event.traceback, console=self.progress.console)
            elif outcome.status == "converted" and outcome.in_place_of and not self.quiet:
                # After its .conda's error: the package has its wheel all the same.
                note = f"note: {outcome.location}: converted {outcome.reason}"
                self.progress.console.print(note, markup=False)


def _print_problem(outcome: Outcome, *, console: Console = _err) -> None:
    label = "conflict" if outcome.status == "conflict" else "error"
    console.print(f"[red]{label}:[/red] {outcome.location}: {outcome.reason}", markup=True)


def _write_report(path: Path, report: SyncReport) -> None:
    from condawheel.io.files import write_atomically  # noqa: PLC0415 - keep --help fast

    text = json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
    try:
        write_atomically(path, text.encode("utf-8"))  # readers never see half of it
    except OSError as error:
        _fail(f"{path}: cannot write the report: {error.strerror or error}")


def _check_report_folder(path: Path) -> None:
    """Refuse a ``--report`` file that could not be written, before any work is done."""
    folder = path.parent
    if not folder.is_dir():
        raise typer.BadParameter(
            f"{path}: its folder {folder} does not exist", param_hint="--report"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise typer.BadParameter(
            f"{path}: its folder {folder} is not writable", param_hint="--report"
        )


def _print_sync_results(
    report: SyncReport, display: _SyncDisplay, *, results: bool, warnings: bool
) -> None:
    """Print the results: ``results``, each converted wheel; ``warnings``, each warning."""
    for outcome in report.outcomes:
        if outcome.status == "converted" and outcome.wheel:
            if results:
                typer.echo(f"converted {report.wheelhouse / outcome.wheel}")
        elif outcome.status == "would-convert":
            typer.echo(f"would-convert {outcome.location}")
        elif (
            outcome.status in {"failed", "conflict"}
            and (outcome.source, outcome.location) not in display.reported
        ):
            _print_problem(outcome)  # listing problems are not shown while converting
        if warnings and not display.quiet:
            for warning in outcome.warnings:
                _err.print(f"[yellow]warning:[/yellow] {outcome.filename}: {warning}", markup=True)
    for pruned in report.pruned:
        verb = "pruned" if pruned.done else "would-prune"
        typer.echo(f"{verb} {report.wheelhouse / pruned.wheel}")
    if report.index is not None:
        for skipped in report.index.skipped:
            _err.print(f"[red]error:[/red] not indexed: {skipped}", markup=True)


@app.command("sync")
def sync_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Channel folders, channel URLs (http/https), conda environment prefixes, "
            "or .conda / .tar.bz2 files.",
            metavar="SOURCE",
            show_default=False,
        ),
    ],
    wheelhouse: Annotated[
        Path,
        typer.Option(
            "--wheelhouse",
            "-w",
            help="The wheelhouse (created if missing); default: $CONDAWHEEL_WHEELHOUSE, which "
            "`condawheel hook install` sets in an activated environment.",
            envvar="CONDAWHEEL_WHEELHOUSE",
            file_okay=False,
        ),
    ],
    subdir: Annotated[
        list[str] | None,
        typer.Option(
            "--subdir",
            metavar="SUBDIR",
            help="Channel subdir to sync (default: all found); repeatable.",
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            metavar="SPEC",
            help="Only packages matching this name, glob or MatchSpec ('numpy >=2', "
            "'py*', 'openssl 3.*'); repeatable, any may match.",
        ),
    ] = None,
    newest: Annotated[
        int | None,
        typer.Option("--newest", min=1, help="Only the newest N versions of each package."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Parallel conversions (default: cores)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change nothing.", metavar=FLAG)
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Remove wheels whose source is gone from the SOURCEs.", metavar=FLAG
        ),
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait", help="Fail at once if another run holds the wheelhouse.", metavar=FLAG
        ),
    ] = False,
    report_file: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write a JSON report of every artifact and its fate.", dir_okay=False
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Download cache (default: $CONDAWHEEL_CACHE_DIR or ~/.cache/condawheel).",
            file_okay=False,
        ),
    ] = None,
    pkgs_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--pkgs-dir",
            metavar="DIR",
            help="Package cache holding an environment's packages; repeatable.",
            file_okay=False,
        ),
    ] = None,
    mapping: MappingOption = None,
    platform_prefix: PrefixOption = "conda",
    for_prefix: Annotated[
        Path | None,
        typer.Option(
            "--for-prefix",
            help="Stamp this environment's configured build tag on packages of its subdir "
            "(refusing other subdirs'); default: the build tag that environment SOURCEs "
            "configure in binary-compatibility.cfg, if any.",
            file_okay=False,
        ),
    ] = None,
    system_config: SystemConfigOption = _SYSTEM_CONFIG,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report (JSON) instead of lines.", metavar=FLAG)
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No summary and no warnings on stderr.", metavar=FLAG),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Print every converted wheel and warning, also when not on a terminal.",
            metavar=FLAG,
        ),
    ] = False,
) -> None:
    """Convert channels, environments or packages into a shared, indexed wheelhouse.

    Each converted wheel is printed when stdout is a terminal, each warning when stderr
    is; errors, conflicts, pruned wheels and the summary always. --verbose prints them
    all on any stream; --report has them all.

    Exit status: 0 all synced; 1 some artifact failed or conflicted (the others were
    synced); 2 usage error.
    """
    from condawheel.errors import InvalidMatchSpec  # noqa: PLC0415 - keep --help fast
    from condawheel.ingest import default_threads  # noqa: PLC0415
    from condawheel.wheelhouse.selection import parse_selection  # noqa: PLC0415
    from condawheel.wheelhouse.sync import SyncOptions, sync  # noqa: PLC0415

    if report_file is not None:
        _check_report_folder(report_file)
    plan_options = _options(platform_prefix)
    try:
        selection = parse_selection(select or (), newest=newest)
    except InvalidMatchSpec as error:
        raise typer.BadParameter(str(error), param_hint="--select") from None
    with _errors_exit():
        stamp = _stamp_for(for_prefix, platform_prefix, system_config)
    if stamp is not None:
        plan_options = dataclasses.replace(plan_options, platform_stamp=stamp)
    options = SyncOptions(
        subdirs=tuple(subdir or ()),
        selection=selection,
        jobs=jobs or default_threads(),
        dry_run=dry_run,
        prune=prune,
        wait=not no_wait,
        plan_options=plan_options,
        mapping_files=tuple(mapping or ()),
        cache_dir=cache_dir,
        pkgs_dirs=tuple(pkgs_dir or ()),
        system_config=system_config,
    )
    display = _SyncDisplay(quiet=quiet, show_bar=sys.stderr.isatty() and not quiet)
    with _errors_exit(), display.progress:
        report = sync(sources, wheelhouse, options, on_event=display)
    if report_file is not None:
        _write_report(report_file, report)
    if json_output:
        typer.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        # Each stream on its own: someone watching it wants each line; a cron job, a CI
        # log or a redirected file wants problems and the summary.
        _print_sync_results(
            report,
            display,
            results=verbose or sys.stdout.isatty(),
            warnings=verbose or sys.stderr.isatty(),
        )
    if not quiet:
        _err.print(report.summary(), markup=False)
    if not report.ok:
        raise typer.Exit(1)


def _index_json(update: IndexUpdate) -> str:
    return json.dumps(
        {
            "written": list(update.written),
            "removed": list(update.removed),
            "views_written": list(update.views_written),
            "views_removed": list(update.views_removed),
            "skipped": [{"filename": s.filename, "reason": s.reason} for s in update.skipped],
            "indexed": update.indexed,
        },
        indent=2,
        sort_keys=True,
    )


@app.command("index")
def index_command(
    directory: Annotated[
        Path,
        typer.Argument(help="The wheelhouse folder.", exists=True, file_okay=False),
    ],
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash",
            help="Hash and check (CRCs) every wheel again; trust no cache.",
            metavar=FLAG,
        ),
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait", help="Fail at once if another run holds the wheelhouse.", metavar=FLAG
        ),
    ] = False,
    json_output: JsonOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summary on stderr.", metavar=FLAG)
    ] = False,
) -> None:
    """Write the PEP 503/691 index and PEP 658 metadata of every wheel in DIRECTORY.

    Ordinary wheels dropped into the folder are indexed too. A wheel file that cannot be
    indexed is an error (named on stderr, exit status 1), the others are still indexed.
    """
    from condawheel.wheelhouse.index import index_wheelhouse  # noqa: PLC0415
    from condawheel.wheelhouse.lock import WheelhouseLock  # noqa: PLC0415

    def waiting(holder: int | None) -> None:
        if not quiet:
            who = f"process {holder}" if holder is not None else "another process"
            _err.print(f"waiting for the wheelhouse lock held by {who}...", markup=False)

    with _errors_exit(), WheelhouseLock(directory, wait=not no_wait, on_wait=waiting):
        update = index_wheelhouse(directory, rehash=rehash)
    if json_output:
        typer.echo(_index_json(update))
    else:
        for path in (*update.written, *update.removed):
            typer.echo(str(directory / path))
    for skipped in update.skipped:
        _err.print(f"[red]error:[/red] not indexed: {skipped}", markup=True)
    if not quiet:
        _err.print(_index_summary(update), markup=False)
    if update.skipped:
        raise typer.Exit(1)


def _index_summary(update: IndexUpdate) -> str:
    """Return ``N wheels indexed, N files written, N removed[, N not indexed]``."""

    def count(number: int, noun: str) -> str:
        return f"{number} {noun}{'' if number == 1 else 's'}"

    parts = [
        f"{count(update.indexed, 'wheel')} indexed",
        f"{count(len(update.written), 'file')} written",
        f"{len(update.removed)} removed",
    ]
    if update.skipped:
        parts.append(f"{count(len(update.skipped), 'wheel')} not indexed")
    return ", ".join(parts)


# Environment commands: tags, install, uninstall, hook.

EnvPrefixOption = Annotated[
    Path | None,
    typer.Option(
        "--prefix",
        "-p",
        help="The environment (default: the active one, $CONDA_PREFIX).",
        file_okay=False,
    ),
]


def _environment_prefix(prefix: Path | None) -> Path:
    """Return the environment, absolute and without `..` (symlinks are kept as spelled)."""
    if prefix is None:
        active = os.environ.get("CONDA_PREFIX")
        if not active:
            raise typer.BadParameter(
                "no --prefix given and no active conda environment ($CONDA_PREFIX)",
                param_hint="--prefix",
            )
        prefix = Path(active)
    from condawheel.env.environment import environment_path  # noqa: PLC0415 - keep --help fast

    return environment_path(prefix)


@app.command("tags")
def tags_command(
    prefix: EnvPrefixOption = None,
    system_config: SystemConfigOption = _SYSTEM_CONFIG,
    json_output: JsonOption = False,
) -> None:
    """List the tags an environment accepts, most preferred first: conda tags, then its own."""
    from condawheel.env.environment import open_environment  # noqa: PLC0415 - keep --help fast

    target = _environment_prefix(prefix)
    with _errors_exit():
        environment = open_environment(target, system_config=system_config)
    tags = environment.tags
    if json_output:
        record = {
            "prefix": str(environment.prefix),
            "python": str(environment.facts.python),
            "python_version": environment.facts.version,
            "base_platform": environment.facts.base_platform,
            "config_sources": list(environment.config.sources),
            "entry_source": environment.entry.source if environment.entry else None,
            "build_platform": tags.build_platform,
            "conda_platforms": list(tags.conda_platforms),
            "conda_tags": [str(tag) for tag in tags.conda],
            "tags": [str(tag) for tag in tags.ordered],
        }
        typer.echo(json.dumps(record, indent=2))
        return
    for tag in tags.ordered:
        typer.echo(str(tag))
    source = environment.entry.source if environment.entry else "nothing configured"
    _err.print(
        f"{len(tags.conda)} conda tags ({', '.join(tags.conda_platforms) or 'none'}; from "
        f"{source}), then {len(tags.ordered) - len(tags.conda)} tags of "
        f"{environment.facts.python}",
        markup=False,
    )


def _install_json(result: InstallResult) -> str:
    plan = result.plan
    record = {
        "prefix": str(plan.prefix),
        "dry_run": result.dry_run,
        "pip": {
            "origin": result.resolution.pip.origin,
            "version": str(result.resolution.pip.version),
        },
        "installed": [
            {
                "name": item.contents.name,
                "version": str(item.contents.version),
                "wheel": item.contents.filename,
                "requested": item.requested,
                "replaces": None if item.replaces is None else item.replaces.version,
                "relocations": len(item.relocations),
                "symlinks": len(item.symlinks),
            }
            for item in plan.installs
        ],
        "already_installed": [
            {
                "name": item.name,
                "version": item.version,
                "installed_by": item.installed_by,
                "owner": item.owner,
                "reason": item.reason,
            }
            for item in plan.already
        ],
        "relocated": [str(path) for path in result.relocated],
        "bytecode": result.bytecode,
        "warnings": list(plan.warnings),
        "notes": list(result.notes),
    }
    return json.dumps(record, indent=2)


@app.command("install")
def install_command(
    requirements: Annotated[
        list[str],
        typer.Argument(help="Requirements (PEP 508), as for pip install.", metavar="REQUIREMENT"),
    ],
    prefix: EnvPrefixOption = None,
    wheelhouse: Annotated[
        Path | None,
        typer.Option(
            "--wheelhouse",
            "-w",
            help="A wheelhouse directory (default: $CONDAWHEEL_WHEELHOUSE, which "
            "`condawheel hook install` sets on activation).",
            file_okay=False,
        ),
    ] = None,
    index_url: Annotated[
        str | None, typer.Option("--index-url", help="A PEP 503 index to install from instead.")
    ] = None,
    prefer: Annotated[
        Literal["conda", "newest"],
        typer.Option(
            "--prefer",
            help="conda: a conda build wins over unmatched wheels; newest: the newest version "
            "wins, a conda build only at equal versions.",
        ),
    ] = "conda",
    ignore_external: Annotated[
        bool,
        typer.Option(
            "--ignore-external",
            help="Install even if Requires-External conda packages are missing.",
            metavar=FLAG,
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Resolve and check, but write nothing.", metavar=FLAG),
    ] = False,
    system_config: SystemConfigOption = _SYSTEM_CONFIG,
    json_output: JsonOption = False,
) -> None:
    """Install wheels (conda-tagged or not) into an environment, resolved with pip."""
    from condawheel.env.install import InstallOptions, install_requirements  # noqa: PLC0415
    from condawheel.env.resolve import PackageSource  # noqa: PLC0415

    target = _environment_prefix(prefix)
    if wheelhouse is not None and index_url is not None:
        raise typer.BadParameter("give --wheelhouse or --index-url, not both")
    if wheelhouse is None and index_url is None:
        configured = os.environ.get("CONDAWHEEL_WHEELHOUSE")
        if not configured:
            raise typer.BadParameter(
                "give --wheelhouse or --index-url (or set $CONDAWHEEL_WHEELHOUSE)"
            )
        wheelhouse = Path(configured)
    source = (
        PackageSource(wheelhouse=wheelhouse)
        if wheelhouse is not None
        else PackageSource(index_url=index_url)
    )
    options = InstallOptions(prefer=prefer, ignore_external=ignore_external, dry_run=dry_run)
    with _errors_exit():
        result = install_requirements(
            requirements,
            prefix=target,
            source=source,
            options=options,
            system_config=system_config,
        )
    for message in (*result.plan.warnings, *result.notes):
        _err.print(f"[yellow]warning:[/yellow] {message}", markup=True)
    if json_output:
        typer.echo(_install_json(result))
        return
    verb = "would install" if result.dry_run else "installed"
    for item in result.plan.installs:
        replaced = f", replacing {item.replaces.version}" if item.replaces else ""
        typer.echo(f"{verb} {item.label} ({item.contents.filename}{replaced})")
    for already in result.plan.already:
        typer.echo(f"not reinstalled: {already.name} {already.version}: {already.reason}")
    if result.relocated:
        _err.print(
            f"relocated {len(result.relocated)} file(s) to {result.plan.prefix}", markup=False
        )


@app.command("uninstall")
def uninstall_command(
    names: Annotated[list[str], typer.Argument(help="Distribution names.", metavar="NAME")],
    prefix: EnvPrefixOption = None,
    json_output: JsonOption = False,
) -> None:
    """Remove distributions that condawheel (or pip) installed, by their RECORD."""
    from condawheel.env.environment import open_environment  # noqa: PLC0415
    from condawheel.env.uninstall import uninstall  # noqa: PLC0415

    target = _environment_prefix(prefix)
    with _errors_exit():
        environment = open_environment(target, system_config=None)
        removed = uninstall(names, state=environment.state, facts=environment.facts)
    for item in removed:
        if json_output:
            typer.echo(
                json.dumps({"name": item.name, "version": item.version, "files": item.files})
            )
        else:
            typer.echo(f"removed {item.name} {item.version} ({item.files} files)")


hook_app = typer.Typer(
    help="Environment hooks: tag configuration, activation scripts and the pip hook.",
    no_args_is_help=True,
)
app.add_typer(hook_app, name="hook")


def _hook_output(result: HookResult, json_output: bool) -> None:
    if json_output:
        record = {
            "written": list(result.written),
            "unchanged": list(result.unchanged),
            "removed": list(result.removed),
            "kept": list(result.kept),
        }
        typer.echo(json.dumps(record, indent=2))
        return
    for path in result.written:
        typer.echo(f"wrote {path}")
    for path in result.removed:
        typer.echo(f"removed {path}")
    for note in result.notes:
        _err.print(f"[yellow]warning:[/yellow] {note}", markup=True)
    if not result.written and not result.removed:
        _err.print("nothing to do", markup=False)


@hook_app.command("install")
def hook_install_command(
    wheelhouse: Annotated[
        Path,
        typer.Option(
            "--wheelhouse",
            "-w",
            help="The wheelhouse activation points condawheel at.",
            file_okay=False,
        ),
    ],
    prefix: EnvPrefixOption = None,
    platform_prefix: PrefixOption = "conda",
    system_config: SystemConfigOption = _SYSTEM_CONFIG,
    json_output: JsonOption = False,
) -> None:
    """Write the environment's binary-compatibility.cfg, activation scripts and pip hook."""
    from condawheel.env.environment import open_environment  # noqa: PLC0415
    from condawheel.env.hooks import install_hook  # noqa: PLC0415
    from condawheel.env.piphook import compile_hook_module, hook_files_for  # noqa: PLC0415
    from condawheel.env.tagconfig import default_entry  # noqa: PLC0415
    from condawheel.errors import ConfigError  # noqa: PLC0415

    target = _environment_prefix(prefix)
    with _errors_exit():
        environment = open_environment(target, system_config=system_config)
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
        _err.print(
            "[yellow]warning:[/yellow] the pip hook's bytecode could not be written; "
            "each start of the environment's Python compiles it",
            markup=True,
        )
    _hook_output(result, json_output)


@hook_app.command("install-wheel", hidden=True)
def hook_install_wheel_command(
    wheel: Annotated[Path, typer.Argument(help="A wheel file pip resolved.", dir_okay=False)],
    prefix: EnvPrefixOption = None,
    requested: Annotated[
        bool, typer.Option("--requested", help="The user asked for it.", metavar=FLAG)
    ] = False,
    system_config: SystemConfigOption = _SYSTEM_CONFIG,
) -> None:
    """Install one conda wheel that pip resolved (what the pip hook runs)."""
    from condawheel.env.piphook import install_wheel_file  # noqa: PLC0415

    target = _environment_prefix(prefix)
    with _errors_exit():
        result = install_wheel_file(target, wheel, requested=requested, system_config=system_config)
    for message in result.notes:
        _err.print(f"condawheel: {message}", markup=False, soft_wrap=True)


@hook_app.command("remove")
def hook_remove_command(
    prefix: EnvPrefixOption = None,
    json_output: JsonOption = False,
) -> None:
    """Remove what `hook install` wrote (files changed since are kept)."""
    from condawheel.env.hooks import remove_hook  # noqa: PLC0415

    target = _environment_prefix(prefix)
    with _errors_exit():
        result = remove_hook(target)
    _hook_output(result, json_output)


def main() -> None:
    """Run the command line (the ``condawheel`` entry point)."""
    app()
