"""``condawheel sync`` and ``condawheel index``: the shared, indexed wheelhouse."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from condawheel.cli.common import (
    SYSTEM_CONFIG,
    JsonOption,
    MappingOption,
    SystemConfigOption,
    plan_options,
    platform_stamp,
)
from condawheel.cli.funnel import SomeInputsFailed, UsageProblem, stderr
from condawheel.cli.sync_config import DEFAULT_CONFIG, SyncConfig, load_sync_config

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.progress import Progress, TaskID

    from condawheel.wheelhouse.outcomes import Outcome, ReportWriter, SyncEvent, SyncReport

__all__ = ["index_command", "sync_command"]


def _problem(outcome: Outcome) -> None:
    stderr.line(
        f"{outcome.location}: {outcome.reason}",
        label="conflict" if outcome.status == "conflict" else "error",
    )


_LINES_PER_WRITE: Final = 512


class _SyncDisplay:
    """What a sync shows while it runs: a progress bar, and each result as it lands.

    Each stream is judged on its own: a ``converted`` line when stdout is a terminal
    (``results``), a warning when stderr is one (``warnings``); ``--verbose`` sets both.
    The bar shows only when stderr is a terminal; lines are printed above it.
    """

    def __init__(self, wheelhouse: Path, *, quiet: bool, results: bool, warnings: bool) -> None:
        self.wheelhouse = wheelhouse
        self.quiet = quiet
        self.results = results
        self.warnings = warnings and not quiet
        self.shown: set[tuple[str, str]] = set()
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.done = 0
        self.batched = False
        """Whether ``would-convert`` lines go out a few hundred at a time (stdout is no
        terminal: it is block-buffered anyway, and a dry run of a channel has a million)."""
        self.lines: list[str] = []

    def start(self) -> None:
        """Put the progress bar on stderr (a terminal, and not ``--quiet``)."""
        self.batched = sys.stdout is not None and not sys.stdout.isatty()
        if self.quiet or not sys.stderr.isatty():
            return
        from rich.console import Console  # noqa: PLC0415 - rich only for a bar
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[done]}/{task.fields[count]}"),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True, highlight=False, soft_wrap=True, emoji=False),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.progress.add_task("listing", total=None, done=0, count=0)
        self.progress.start()

    def stop(self) -> None:
        """Print the lines held back; take the bar off the terminal."""
        self.flush_lines()
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: SyncEvent) -> None:
        from condawheel.wheelhouse.outcomes import (  # noqa: PLC0415
            ArtifactFinished,
            Phase,
            Waiting,
            WorkPlanned,
        )

        if isinstance(event, Waiting):
            who = f"process {event.holder}" if event.holder is not None else "another process"
            if not self.quiet:
                stderr.line(f"waiting for the wheelhouse lock held by {who}...")
        elif self.progress is not None and self.task is not None:
            if isinstance(event, Phase):
                # Phases change rarely: show each at once, even between the bar's refreshes.
                self.progress.update(self.task, description=event.name, refresh=True)
            elif isinstance(event, WorkPlanned):
                total = max(event.size, 1)
                self.progress.update(self.task, total=total, count=event.artifacts, refresh=True)
            elif isinstance(event, ArtifactFinished):
                self.done += 1
                self.progress.update(self.task, advance=event.size, done=self.done)
        if isinstance(event, ArtifactFinished):
            self.show(event.outcome, traceback=event.traceback)

    def show(self, outcome: Outcome, *, traceback: str | None = None) -> None:
        """Print what became of one artifact, once (as it lands, or in the final account).

        :param traceback: of an internal error a sync worker sent back with a failure.
        """
        key = (outcome.source, outcome.location)
        if key in self.shown:
            return
        self.shown.add(key)
        self.flush_lines()
        if self.progress is None:
            self._show(outcome, traceback)
            return
        with stderr.above(self.progress.console):
            self._show(outcome, traceback)

    def passed(self, outcome: Outcome) -> None:
        """Print an outcome the sync passed on as it was final (unless shown already).

        Not remembered: a streamed sync of a whole channel passes on a million.
        """
        if self.shown and (outcome.source, outcome.location) in self.shown:
            return
        if self.progress is None:
            if self.batched and outcome.status == "would-convert" and not outcome.warnings:
                self.lines.append(f"would-convert {outcome.location}")
                if len(self.lines) >= _LINES_PER_WRITE:
                    self.flush_lines()
                return
            self.flush_lines()
            self._show(outcome, None)
            return
        with stderr.above(self.progress.console):
            self._show(outcome, None)

    def flush_lines(self) -> None:
        """Print the ``would-convert`` lines held back."""
        if self.lines:
            stderr.results(self.lines)
            self.lines.clear()

    def _show(self, outcome: Outcome, traceback: str | None) -> None:
        if outcome.status in {"failed", "conflict"}:
            _problem(outcome)
            if traceback is not None:
                stderr.debug_text(traceback)
        elif outcome.status == "converted" and outcome.wheel:
            if outcome.in_place_of and not self.quiet:
                # After its .conda's error: the package has its wheel all the same.
                stderr.note(f"{outcome.location}: converted {outcome.reason}")
            if self.results:
                # A split package made several wheels: each is a result.
                for wheel in outcome.wheels or (outcome.wheel,):
                    stderr.result(f"converted {self.wheelhouse / wheel}")
        elif outcome.status == "would-convert":
            stderr.result(f"would-convert {outcome.location}")
        if self.warnings:
            for warning in outcome.warnings:
                stderr.warning(f"{outcome.filename}: {warning}")

    def account(self, report: SyncReport) -> None:
        """Print what was not shown as it happened: listing problems, pruning, the index."""
        for outcome in report.outcomes:
            self.show(outcome)
        for pruned in report.pruned:
            verb = "pruned" if pruned.done else "would-prune"
            stderr.result(f"{verb} {report.wheelhouse / pruned.wheel}")
        if report.index is not None:
            for skipped in report.index.skipped:
                stderr.error(f"not indexed: {skipped}")


def _report_writers(
    stack: contextlib.ExitStack[bool | None], report_file: Path | None, *, json_output: bool
) -> dict[str, ReportWriter]:
    """Open the report's destinations: ``--report FILE`` and stdout for ``--json``.

    The file replaces ``--report FILE`` atomically when the run ends, so readers never
    see half of it.
    """
    from condawheel.errors import OutputError  # noqa: PLC0415
    from condawheel.io.files import atomic_output  # noqa: PLC0415
    from condawheel.wheelhouse.outcomes import ReportWriter  # noqa: PLC0415

    writers: dict[str, ReportWriter] = {}
    if report_file is not None:
        try:
            handle = stack.enter_context(atomic_output(report_file))
        except OSError as error:
            why = f"cannot write the report: {error.strerror or error}"
            raise OutputError(str(report_file), why) from None
        text = stack.enter_context(io.TextIOWrapper(handle, encoding="utf-8", newline="\n"))
        writers["report"] = ReportWriter(text)
    if json_output:
        writers["stdout"] = ReportWriter(sys.stdout)
    return writers


def _finish_reports(
    writers: Mapping[str, ReportWriter], report: SyncReport, report_file: Path | None
) -> None:
    """Write the end of each report; a write that failed is an error naming its file."""
    from condawheel.errors import OutputError  # noqa: PLC0415

    for target, writer in writers.items():
        try:
            writer.finish(report)
        except OSError as error:  # noqa: PERF203 - one or two reports, at the end
            where = str(report_file) if target == "report" else "stdout"
            why = f"cannot write the report: {error.strerror or error}"
            raise OutputError(where, why) from None


def _check_report_folder(path: Path) -> None:
    """Refuse a ``--report`` file that could not be written, before any work is done."""
    folder = path.parent
    if not folder.is_dir():
        raise typer.BadParameter(
            f"{path}: its folder {folder} does not exist", param_hint=["--report"]
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise typer.BadParameter(
            f"{path}: its folder {folder} is not writable", param_hint=["--report"]
        )


def _job_file(config: Path | None, *, given_sources: bool) -> SyncConfig:
    """Return the job file's ``[sync]`` table (an empty one when there is no file).

    The file is ``--config FILE``, else ``./condawheel.toml`` when no SOURCE is given.
    """
    if config is None and not given_sources and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    if config is None:
        return SyncConfig(origin="")
    return load_sync_config(config)


def _wheelhouse_from_environment() -> Path:
    configured = os.environ.get("CONDAWHEEL_WHEELHOUSE")
    if not configured:
        raise UsageProblem("give --wheelhouse DIR (or set $CONDAWHEEL_WHEELHOUSE)")
    return Path(configured)


def sync_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Channel folders, channel URLs (http/https), conda environment prefixes, "
            "or .conda / .tar.bz2 files.",
            metavar="SOURCE",
            show_default=False,
        ),
    ] = None,
    wheelhouse: Annotated[
        Path | None,
        typer.Option(
            "--wheelhouse",
            "-w",
            metavar="DIR",
            help="The wheelhouse (created if missing); default: $CONDAWHEEL_WHEELHOUSE, which "
            "condawheel hook install sets in an activated environment.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
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
        typer.Option(
            "--newest", metavar="N", min=1, help="Only the newest N versions of each package."
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", metavar="N", min=1, help="Parallel conversions (default: cores)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")
    ] = False,
    prune: Annotated[
        bool | None,
        typer.Option(
            "--prune/--no-prune",
            help="Remove wheels whose source is gone from the SOURCEs (default: no).",
            show_default=False,
        ),
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Fail at once if another run holds the wheelhouse.")
    ] = False,
    report_file: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help="Write a JSON report of every artifact and its fate.",
            dir_okay=False,
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            metavar="DIR",
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
    platform_prefix: Annotated[
        str | None,
        typer.Option(
            "--platform-prefix",
            metavar="NAME",
            help="Prefix of the conda platform tag: 'conda' gives conda_linux_64.",
            show_default="conda",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Read the job from this TOML file's [sync] table; options given here win "
            "(default: ./condawheel.toml when no SOURCE is given).",
            dir_okay=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Convert on the workers of this Dask scheduler (tcp://HOST:PORT) instead "
            "of this machine's cores; needs condawheel[dask]. The wheelhouse and local "
            "sources must be on a filesystem the workers share. Default: "
            "$CONDAWHEEL_SCHEDULER.",
            show_default=False,
        ),
    ] = None,
    for_prefix: Annotated[
        Path | None,
        typer.Option(
            "--for-prefix",
            metavar="DIR",
            help="Stamp this environment's configured build tag on packages of its subdir "
            "(refusing other subdirs'); default: the build tag that environment SOURCEs "
            "configure in binary-compatibility.cfg, if any.",
            file_okay=False,
        ),
    ] = None,
    system_config: SystemConfigOption = SYSTEM_CONFIG,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report (JSON) instead of lines.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summary and no warnings on stderr.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Print every converted wheel and warning, also when not on a terminal.",
        ),
    ] = False,
) -> None:
    """Convert channels, environments or packages into a shared, indexed wheelhouse.

    Each converted wheel is printed as it lands when stdout is a terminal, each warning
    when stderr is; errors, conflicts, pruned wheels and the summary always. --verbose
    prints them all on any stream; --report has them all.

    Exit status: 0 all synced; 1 some artifact failed or conflicted (the others were
    synced); 2 usage error.
    """
    from condawheel.convert.ingest import default_threads  # noqa: PLC0415
    from condawheel.errors import InvalidMatchSpec  # noqa: PLC0415 - keep --help fast
    from condawheel.wheelhouse.selection import parse_selection  # noqa: PLC0415
    from condawheel.wheelhouse.sync import SyncOptions, sync  # noqa: PLC0415

    job = _job_file(config, given_sources=bool(sources))
    # The command line wins over the file, the file over the environment variable.
    sources = list(sources or job.sources)
    if not sources:
        raise UsageProblem(f"give a SOURCE, or --config FILE, or write a {DEFAULT_CONFIG} here")
    wheelhouse = wheelhouse or job.wheelhouse or _wheelhouse_from_environment()
    scheduler = scheduler or job.scheduler or os.environ.get("CONDAWHEEL_SCHEDULER") or None
    if report_file is not None:
        _check_report_folder(report_file)
    platform_prefix = platform_prefix or job.platform_prefix or "conda"
    options = plan_options(platform_prefix)
    try:
        selection = parse_selection(select or job.select, newest=newest or job.newest)
    except InvalidMatchSpec as error:
        raise typer.BadParameter(str(error), param_hint=["--select"]) from None
    stamp = platform_stamp(for_prefix, platform_prefix, system_config)
    if stamp is not None:
        options = dataclasses.replace(options, platform_stamp=stamp)
    sync_options = SyncOptions(
        subdirs=tuple(subdir or job.subdir),
        selection=selection,
        jobs=jobs or job.jobs or default_threads(),
        dry_run=dry_run,
        prune=bool(job.prune if prune is None else prune),
        wait=not no_wait,
        plan_options=options,
        mapping_files=tuple(mapping or job.mapping),
        cache_dir=cache_dir,
        pkgs_dirs=tuple(pkgs_dir or ()),
        system_config=system_config,
        scheduler=scheduler,
    )
    # Each stream on its own: someone watching it wants each line; a cron job, a CI log
    # or a redirected file wants problems and the summary.
    display = _SyncDisplay(
        wheelhouse,
        quiet=quiet,
        results=not json_output and (verbose or sys.stdout.isatty()),
        warnings=not json_output and (verbose or sys.stderr.isatty()),
    )
    display.start()
    with contextlib.ExitStack() as stack:
        writers = _report_writers(stack, report_file, json_output=json_output)

        def passed(outcome: Outcome) -> None:
            for writer in writers.values():
                writer.add(outcome)
            if not json_output:
                display.passed(outcome)

        try:
            report = sync(sources, wheelhouse, sync_options, on_event=display, on_outcome=passed)
        finally:
            display.stop()
        _finish_reports(writers, report, report_file)
    if not json_output:
        display.account(report)
    if not quiet:
        stderr.line(report.summary())
    if not report.ok:
        raise SomeInputsFailed


def index_command(
    directory: Annotated[
        Path,
        typer.Argument(
            help="The wheelhouse folder.",
            metavar="DIR",
            exists=True,
            file_okay=False,
            show_default=False,
        ),
    ],
    rehash: Annotated[
        bool,
        typer.Option("--rehash", help="Hash and check (CRCs) every wheel again; trust no cache."),
    ] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Fail at once if another run holds the wheelhouse.")
    ] = False,
    json_output: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Write the PEP 503/691 index and PEP 658 metadata of every wheel in DIR.

    Ordinary wheels dropped into the folder are indexed too. A wheel file that cannot be
    indexed is an error (named on stderr, exit status 1), the others are still indexed.
    """
    from condawheel.wheelhouse.index import index_wheelhouse  # noqa: PLC0415
    from condawheel.wheelhouse.lock import WheelhouseLock  # noqa: PLC0415

    def waiting(holder: int | None) -> None:
        if not quiet:
            who = f"process {holder}" if holder is not None else "another process"
            stderr.line(f"waiting for the wheelhouse lock held by {who}...")

    with WheelhouseLock(directory, wait=not no_wait, on_wait=waiting):
        update = index_wheelhouse(directory, rehash=rehash)
    if json_output:
        typer.echo(json.dumps(update.to_json(), indent=2, sort_keys=True))
    else:
        for path in (*update.written, *update.removed):
            typer.echo(str(directory / path))
    for skipped in update.skipped:
        stderr.error(f"not indexed: {skipped}")
    if not quiet:
        stderr.line(update.summary())
    if update.skipped:
        raise SomeInputsFailed
