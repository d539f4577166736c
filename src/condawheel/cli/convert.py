"""``condawheel convert`` and ``condawheel inspect``: packages into wheels, or their plans."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from condawheel.cli.common import (
    SYSTEM_CONFIG,
    JsonOption,
    LibsFromOption,
    MappingOption,
    PrefixOption,
    SystemConfigOption,
    load_names,
    load_providers,
    output_directory,
    plan_options,
    platform_stamp,
)
from condawheel.cli.funnel import SomeInputsFailed, stderr
from condawheel.errors import CondawheelError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from condawheel.convert import ConversionResult

__all__ = ["convert_command", "inspect_command"]

Outcome = Literal["written", "unchanged", "duplicate", "skipped", "failed"]


def _spelled(raw: str, error: CondawheelError) -> str:
    """Return the error's line, naming the input as the user typed it."""
    if error.subject == str(Path(raw)):
        return f"{raw}: {error.reason}"
    return str(error)


class _Batch:
    """Counts, progress and output of one ``convert`` run (the command decides nothing)."""

    def __init__(self, *, total: int, json_output: bool, quiet: bool, verbose: bool) -> None:
        self.counts: dict[Outcome, int] = dict.fromkeys(
            ("written", "unchanged", "duplicate", "skipped", "failed"), 0
        )
        self.json_output = json_output
        self.quiet = quiet
        self.verbose = verbose
        self.total = total
        self.advance: Callable[[str], None] = lambda _: None

    def show_progress(self) -> bool:
        """Whether a progress bar helps: several inputs, a person watching stderr."""
        return self.total > 1 and sys.stderr.isatty() and not self.json_output

    def record(self, record: dict[str, object]) -> None:
        if self.json_output:
            typer.echo(json.dumps(record, sort_keys=True))

    def failed(self, raw: str, reason: str, line: str) -> None:
        self.counts["failed"] += 1
        stderr.error(line)
        self.record({"input": raw, "status": "failed", "error": reason})

    def skipped(self, raw: str, reason: str) -> None:
        self.counts["skipped"] += 1
        stderr.line(f"skipped {raw}: {reason}")
        self.record({"input": raw, "reason": reason, "status": "skipped"})

    def converted(
        self, raw: str, result: ConversionResult, folder: str | None, note: str | None = None
    ) -> None:
        """Report each wheel one input made (several for a package split by distribution).

        :param folder: the output folder as the user typed it (None: the current one).
        """
        for made in result.wheels:
            self.counts[made.status] += 1
            said = note or made.note
            if said is not None:
                stderr.note(f"{raw}: {said}")
            if not self.quiet:
                for warning in made.plan.warnings:
                    stderr.warning(f"{made.source.name}: {warning}")
            if self.verbose:
                stderr.line(f"{made.status} {made.wheel.name} ({made.size} bytes) from {raw}")
            # The wheel's path as the user spelled the folder (`-o ./out/` -> ./out/NAME).
            wheel = made.wheel.name if folder is None else os.path.join(folder, made.wheel.name)  # noqa: PTH118
            if self.json_output:
                record = {**made.to_json(), "input": raw, "wheel": wheel}
                if said is not None:
                    record["note"] = said
                self.record(record)
            else:
                stderr.result(wheel)

    def summary(self, *, twins: bool) -> str:
        counts = self.counts
        skipped = f"{counts['skipped']} skipped, " if twins else ""
        if counts["duplicate"]:
            skipped += f"{counts['duplicate']} duplicate(s), "
        return (
            f"{counts['written']} written, {counts['unchanged']} unchanged, {skipped}"
            f"{counts['failed']} failed"
        )


def convert_command(
    packages: Annotated[
        list[str],
        typer.Argument(
            help=".conda / .tar.bz2 files or extracted package directories.",
            metavar="PACKAGE",
            show_default=False,
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            metavar="DIR",
            help="Directory for the wheels (created if missing).",
            show_default=".",
        ),
    ] = None,
    mapping: MappingOption = None,
    platform_prefix: PrefixOption = "conda",
    json_output: JsonOption = False,
    libs_from: LibsFromOption = None,
    for_prefix: Annotated[
        Path | None,
        typer.Option(
            "--for-prefix",
            metavar="DIR",
            help="Stamp the platform tag that this environment's binary-compatibility.cfg "
            "names as its 'build' tag.",
            file_okay=False,
        ),
    ] = None,
    system_config: SystemConfigOption = SYSTEM_CONFIG,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            metavar="N",
            min=0,
            help="Threads that compress while a package is read, and for a package of many "
            "small files N-1 helper processes (at least one, at most four); 0: everything in "
            "the reading thread (default: one per core).",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No warnings and no summary on stderr.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Say on stderr what became of each input (written or not)."
        ),
    ] = False,
) -> None:
    """Convert conda packages into wheels; a failed input does not stop the others.

    A .tar.bz2 given together with the .conda of the same package (same folder, same
    name-version-build) is skipped: both would make the same wheel name. If the .conda
    fails, the .tar.bz2 is converted instead.
    """
    from condawheel.conda.twins import (  # noqa: PLC0415
        pair_twins,
        preferred_reason,
        split_format,
        stand_in_reason,
        stand_ins,
    )
    from condawheel.convert import convert  # noqa: PLC0415 - the converter, only to convert

    options = plan_options(platform_prefix)
    names = load_names(mapping)
    providers = load_providers(libs_from)
    stamp = platform_stamp(for_prefix, platform_prefix, system_config)
    if stamp is not None:
        options = dataclasses.replace(options, platform_stamp=stamp)
    out_dir = Path(output or ".")
    output_directory(out_dir)
    paths = [Path(raw) for raw in packages]
    # The same package is the same name-version-build in the same folder (compared
    # lexically: `./x.conda` and `x.tar.bz2` are twins; links are not followed).
    twins = pair_twins(
        [(os.path.abspath(path.parent), *split_format(path.name)) for path in paths]  # noqa: PTH100
    )
    # Each .tar.bz2 twin waits for its .conda: converted only if that one fails.
    standby: dict[int, list[int]] = {}
    for tar_bz2, conda in twins.items():
        standby.setdefault(conda, []).append(tar_bz2)
    run = _Batch(total=len(packages), json_output=json_output, quiet=quiet, verbose=verbose)

    def convert_input(position: int, note: str | None = None) -> bool:
        raw, path = packages[position], paths[position]
        run.advance(f"converting {path.name}")
        try:
            result = convert(
                path, out_dir, mapping=names, options=options, threads=threads, providers=providers
            )
        except CondawheelError as error:
            run.failed(raw, error.reason, _spelled(raw, error))
            return False
        except Exception as error:  # noqa: BLE001 - a bug on one input must not end the batch
            # Not bad input but a defect of condawheel: said as such, in one line, as the
            # sync workers do; the other inputs are still converted.
            reason = f"internal error: {type(error).__name__}: {error}"
            run.failed(raw, reason, f"{raw}: {reason}")
            stderr.debug_traceback(error)
            return False
        run.converted(raw, result, output, note)
        return True

    with _progress(run):
        for position, path in enumerate(paths):
            if position in twins:
                continue  # decided right after its .conda
            converted = convert_input(position)
            waiting = dict.fromkeys(standby.pop(position, ()), position)
            chosen = stand_ins(waiting, () if converted else (position,))
            for tar_bz2 in waiting:
                if tar_bz2 in chosen:
                    convert_input(tar_bz2, note=f"converted {stand_in_reason(path.name)}")
                else:
                    run.advance("skipped")
                    run.skipped(packages[tar_bz2], preferred_reason(path.name))
    if not quiet:
        stderr.line(run.summary(twins=bool(twins)))
    # A .conda that failed fails the batch, though its .tar.bz2 made the wheel.
    if run.counts["failed"]:
        raise SomeInputsFailed


@contextmanager
def _progress(run: _Batch) -> Iterator[None]:
    """Show a transient progress bar on stderr while converting, diagnostics above it."""
    if not run.show_progress():
        yield
        return
    from rich.console import Console  # noqa: PLC0415 - rich only for a bar
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True, highlight=False, soft_wrap=True, emoji=False),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    task = progress.add_task("converting", total=run.total)
    started = False

    def advance(description: str) -> None:
        nonlocal started
        if started:
            progress.advance(task)
        started = True
        progress.update(task, description=description)

    with progress, stderr.above(progress.console):
        run.advance = advance
        yield


def inspect_command(
    package: Annotated[
        str,
        typer.Argument(
            help="A .conda / .tar.bz2 file or package directory.",
            metavar="PACKAGE",
            show_default=False,
        ),
    ],
    mapping: MappingOption = None,
    platform_prefix: PrefixOption = "conda",
    json_output: JsonOption = False,
    libs_from: LibsFromOption = None,
    libs: Annotated[
        bool, typer.Option("--libs", help="Show the external-library analysis of each binary.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the name of each wheel.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list every file of the wheel.")
    ] = False,
) -> None:
    """Print the conversion plan of one package without writing anything."""
    from condawheel.convert import plan_packages  # noqa: PLC0415
    from condawheel.convert.report import plans_as_json, plans_as_text  # noqa: PLC0415

    options = plan_options(platform_prefix)
    names = load_names(mapping)
    providers = load_providers(libs_from)
    try:
        plans = plan_packages(Path(package), mapping=names, options=options, providers=providers)
    except CondawheelError as error:
        if json_output:  # as convert --json: the failed input still gets its record
            record = {"input": package, "status": "failed", "error": error.reason}
            typer.echo(json.dumps(record, sort_keys=True))
        stderr.error(_spelled(package, error))
        raise SomeInputsFailed from None
    if json_output:
        typer.echo(json.dumps(plans_as_json(plans), indent=2, sort_keys=True))
    elif quiet:
        for plan in plans:
            typer.echo(plan.filename)
    else:
        typer.echo(plans_as_text(plans, libraries=libs, files=verbose))
