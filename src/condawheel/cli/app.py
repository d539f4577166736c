"""The ``condawheel`` command line: the typer application and its commands.

The commands live in one module per group (:mod:`~condawheel.cli.convert`,
:mod:`~condawheel.cli.wheelhouse`, :mod:`~condawheel.cli.environment`); they parse
arguments, call the library and print. :mod:`~condawheel.cli.funnel` maps errors to exit
codes, :mod:`~condawheel.cli.command` shapes the help.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from condawheel import __version__
from condawheel.cli.build import build_command
from condawheel.cli.command import Command, Group
from condawheel.cli.convert import convert_command, inspect_command
from condawheel.cli.environment import (
    hook_install_command,
    hook_install_wheel_command,
    hook_remove_command,
    install_command,
    tags_command,
    uninstall_command,
)
from condawheel.cli.wheelhouse import index_command, sync_command

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["app"]

_SETTINGS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="condawheel",
    cls=Group,
    help="Convert conda packages into conda-tagged wheels, and manage a shared wheelhouse.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings=_SETTINGS,
)


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
            "-V",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Convert conda packages into conda-tagged wheels, and manage a shared wheelhouse."""


hook_app = typer.Typer(
    cls=Group,
    help="Environment hooks: tag configuration, activation scripts and the pip hook.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=_SETTINGS,
)

# Each command, and the line that describes it in its group's list of commands.
_COMMANDS: tuple[tuple[typer.Typer, str, Callable[..., None], str], ...] = (
    (app, "convert", convert_command, "Convert conda packages into wheels."),
    (app, "inspect", inspect_command, "Print what a package's wheel would be, writing nothing."),
    (app, "sync", sync_command, "Convert channels, environments or packages into a wheelhouse."),
    (app, "index", index_command, "Write a wheelhouse's index (PEP 503, 691 and 658)."),
    (app, "build", build_command, "Build sources into conda wheels of an environment."),
    (app, "tags", tags_command, "List the tags an environment accepts, best first."),
    (app, "install", install_command, "Install wheels into an environment, resolved with pip."),
    (app, "uninstall", uninstall_command, "Remove distributions that condawheel or pip installed."),
    (
        hook_app,
        "install",
        hook_install_command,
        "Write the tag configuration, activation scripts and pip hook.",
    ),
    (hook_app, "remove", hook_remove_command, "Remove what hook install wrote."),
)
for _group, _name, _function, _summary in _COMMANDS:
    _group.command(_name, cls=Command, context_settings=_SETTINGS, short_help=_summary)(_function)
# What the pip hook runs for each conda wheel pip resolved; not for people to type.
hook_app.command("install-wheel", cls=Command, context_settings=_SETTINGS, hidden=True)(
    hook_install_wheel_command
)
app.add_typer(
    hook_app, name="hook", short_help="Environment hooks: tag configuration, activation, pip hook."
)
