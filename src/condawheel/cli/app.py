"""The ``condawheel`` command line: the typer application and its commands.

The commands live in one module per group (:mod:`~condawheel.cli.convert`,
:mod:`~condawheel.cli.wheelhouse`, :mod:`~condawheel.cli.environment`); they parse
arguments, call the library and print. :mod:`~condawheel.cli.funnel` maps errors to exit
codes, :mod:`~condawheel.cli.command` shapes the help.
"""

from __future__ import annotations

from typing import Annotated

import typer

from condawheel import __version__
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


app.command(
    "convert",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Convert conda packages into wheels.",
)(convert_command)
app.command(
    "inspect",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Print what a package's wheel would be, writing nothing.",
)(inspect_command)
app.command(
    "sync",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Convert channels, environments or packages into a wheelhouse.",
)(sync_command)
app.command(
    "index",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Write a wheelhouse's index (PEP 503, 691 and 658).",
)(index_command)
app.command(
    "tags",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="List the tags an environment accepts, best first.",
)(tags_command)
app.command(
    "install",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Install wheels into an environment, resolved with pip.",
)(install_command)
app.command(
    "uninstall",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Remove distributions that condawheel or pip installed.",
)(uninstall_command)

hook_app = typer.Typer(
    cls=Group,
    help="Environment hooks: tag configuration, activation scripts and the pip hook.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=_SETTINGS,
)
hook_app.command(
    "install",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Install wheels into an environment, resolved with pip.",
)(hook_install_command)
hook_app.command(
    "remove",
    cls=Command,
    context_settings=_SETTINGS,
    short_help="Remove what hook install wrote.",
)(hook_remove_command)
# What the pip hook runs for each conda wheel pip resolved; not for people to type.
hook_app.command("install-wheel", cls=Command, context_settings=_SETTINGS, hidden=True)(
    hook_install_wheel_command
)
app.add_typer(
    hook_app, name="hook", short_help="Environment hooks: tag configuration, activation, pip hook."
)
