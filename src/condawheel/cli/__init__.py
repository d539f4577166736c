"""The ``condawheel`` command (console script ``condawheel = condawheel.cli:main``).

This module stays light: ``condawheel --version`` answers without importing typer,
rich or the converter; every other command line goes to :mod:`condawheel.cli.app`.
The conda plugin (:mod:`condawheel.cli.conda_plugin`) sits beside the command line:
like it, it drives the library from outside.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (the ``condawheel`` entry point); exit with its status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments in (["--version"], ["-V"]):
        from condawheel import __version__  # noqa: PLC0415 - the one thing --version needs

        sys.stdout.write(f"condawheel {__version__}\n")
        raise SystemExit(0)
    from condawheel.cli.app import app  # noqa: PLC0415 - typer only for real commands

    app(args=arguments, prog_name="condawheel")
