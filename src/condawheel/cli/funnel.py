"""The one place where errors become exit codes, and the lines that go to stderr.

Exit codes: 0 everything succeeded; 1 some input failed (:class:`CondawheelError`, or
:class:`SomeInputsFailed` after a batch that went on with the others); 2 usage error
(typer's usage errors, including :class:`typer.BadParameter` raised by a command); 130
interrupted. :func:`exit_codes` wraps every command (see
:meth:`condawheel.cli.command.Group.main`), so a command never picks a number itself.

Diagnostics (``error:``, ``warning:``, ``note:`` and plain lines) go to stderr through
:data:`stderr`; while a rich progress bar is on the terminal they are printed above it
(:meth:`Stderr.above`). Results go to stdout with :func:`typer.echo`.
"""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

import typer

from condawheel.errors import CondawheelError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from rich.console import Console

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SomeInputsFailed",
    "Stderr",
    "UsageProblem",
    "exit_codes",
    "stderr",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report it

_COLOURS: Final = {"error": "red", "conflict": "red", "warning": "yellow"}


class SomeInputsFailed(Exception):
    """A batch finished, and some of its inputs failed (each already reported): exit 1."""


class UsageProblem(typer.BadParameter):
    """A command line that cannot work, said in our words (exit 2, with the usage line)."""

    def format_message(self) -> str:
        """Return the message as given (no "Invalid value" prefix)."""
        return self.message


class Stderr:
    """Diagnostics on stderr, one line each; above a live progress bar while there is one."""

    def __init__(self) -> None:
        self._live: Console | None = None
        self._stdout: tuple[object, bool] | None = None
        """The stdout last written to, and whether it is a terminal (asked once)."""

    @contextmanager
    def above(self, console: Console) -> Iterator[None]:
        """Print through ``console`` (a live progress bar's), so lines land above the bar."""
        previous, self._live = self._live, console
        try:
            yield
        finally:
            self._live = previous

    def line(self, text: str, *, label: str | None = None) -> None:
        """Print ``label: text`` (the label coloured on a terminal), or just ``text``."""
        if self._live is not None:
            from rich.text import Text  # noqa: PLC0415 - rich only while a bar is shown

            shown = Text(text)
            if label is not None:
                shown = Text.assemble((f"{label}:", _COLOURS.get(label, "")), " ", shown)
            self._live.print(shown, highlight=False, soft_wrap=True)
            return
        if label is not None:
            text = f"{typer.style(f'{label}:', fg=_COLOURS.get(label))} {text}"
        typer.echo(text, err=True)

    def result(self, text: str) -> None:
        """Print a result on stdout (above a live bar when stdout is the terminal too).

        Written as it is, without a flush per line where stdout is no terminal: a dry
        run of a whole channel prints a million lines.
        """
        self.results((text,))

    def results(self, texts: Sequence[str]) -> None:
        """Print results on stdout: above a live bar on a terminal, else in one write."""
        stdout = sys.stdout
        if self._stdout is None or self._stdout[0] is not stdout:
            self._stdout = (stdout, stdout is None or stdout.isatty())
        if self._stdout[1]:
            for text in texts:
                if self._live is not None:
                    self._live.print(text, markup=False, highlight=False, soft_wrap=True)
                else:
                    typer.echo(text)
            return
        try:
            stdout.write("\n".join(texts) + "\n")
        except UnicodeEncodeError:  # a path the stream's encoding cannot show
            for text in texts:
                typer.echo(text)

    def error(self, text: str) -> None:
        """Print ``error: text``."""
        self.line(text, label="error")

    def warning(self, text: str) -> None:
        """Print ``warning: text``."""
        self.line(text, label="warning")

    def note(self, text: str) -> None:
        """Print ``note: text``."""
        self.line(text, label="note")

    def debug_traceback(self, error: BaseException) -> None:
        """Print the traceback of an internal error when ``CONDAWHEEL_DEBUG=1`` asks for it.

        A catch-all that keeps a batch going says an internal error in one line; the
        traceback is what a bug report needs. An environment variable rather than ``-v``:
        ``sync -v`` already means "every converted wheel", and a variable reaches every
        command alike.
        """
        self.debug_text("".join(traceback.format_exception(error)))

    def debug_text(self, formatted: str) -> None:
        """Print a formatted traceback (one a sync worker sent back) if ``CONDAWHEEL_DEBUG=1``."""
        if os.environ.get("CONDAWHEEL_DEBUG") == "1":
            self.line(formatted.rstrip())


stderr: Final = Stderr()


def _show_usage_error(error: typer.TyperException) -> None:
    """Print a usage error as click does (usage line, hint), with our ``error:`` label."""
    ctx = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":  # its message is the whole help
        typer.echo(error.format_message(), err=True)
        return
    if ctx is not None:
        typer.echo(ctx.get_usage(), err=True)
        if ctx.command.get_help_option(ctx) is not None:
            typer.echo(f"Try '{ctx.command_path} {ctx.help_option_names[-1]}' for help.", err=True)
        typer.echo("", err=True)
    stderr.error(error.format_message())


@contextmanager
def exit_codes() -> Iterator[None]:
    """Run a command line, turning what it raises into an exit code (as ``SystemExit``).

    The model is pypa/build's ``_handle_build_error``: each family of errors is mapped
    here and nowhere else. A bug is not mapped: its traceback is what a report needs.
    """
    try:
        yield
    except CondawheelError as error:
        stderr.error(str(error))
        raise SystemExit(EXIT_FAILED) from None
    except SomeInputsFailed:
        raise SystemExit(EXIT_FAILED) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except typer.Abort:
        stderr.line("Aborted.")
        raise SystemExit(EXIT_FAILED) from None
    except KeyboardInterrupt:
        stderr.line("Interrupted.")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except typer.TyperException as error:  # typer's usage errors (bad options, arguments)
        _show_usage_error(error)
        raise SystemExit(getattr(error, "exit_code", EXIT_USAGE)) from None
    except BrokenPipeError:
        # The reader went away (`condawheel ... | head`): nothing more can be said to it.
        sys.stderr = sys.stdout = open(os.devnull, "w")  # noqa: SIM115, PTH123 - until exit
        raise SystemExit(EXIT_FAILED) from None
