"""How condawheel's commands present themselves: help as pip and uv write it, plain values.

typer's own help shows Python types (``<list[Path]>``, ``<int range>``, ``<bool>`` on
flags) and puts required arguments in braces (``{PACKAGE}...``). condawheel's help is
plain text in the layout pip, uv and click share: the usage line names arguments in
capitals (``PACKAGE...``, ``[NAME]...`` when optional), each option shows one placeholder
in capitals (``DIR``, ``FILE``, ``PATH``, ``N``, ``URL``...) and flags show none.

typer (0.29) also converts every value through a pydantic ``TypeAdapter``, which costs
the import of pydantic (about 0.1 s) on every run and words errors as pydantic does
("Value error, ...", "Input should be a valid integer, unable to parse string as an
integer"). condawheel's values are plain: text, paths, whole numbers and fixed choices,
so :class:`Coercion` converts them, and words the errors, itself.
"""

from __future__ import annotations

import textwrap
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import typer
from typer.core import TyperCommand, TyperGroup

from condawheel.cli.funnel import exit_codes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from typer._click import Context, HelpFormatter, Parameter

__all__ = ["Coercion", "Command", "Group", "help_record", "usage_piece"]

_TYPE_PLACEHOLDERS: Final[dict[object, str]] = {Path: "PATH", int: "N", str: "TEXT"}
_NAME_COLUMN: Final = 30  # click's: longer names take a line of their own


def _element_type(annotation: object) -> object:
    """Return the type of one value: ``list[Path]`` -> ``Path``."""
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0]
    return annotation


def _placeholder(param: Parameter) -> str:
    """Return the placeholder an option's value is shown with (its metavar, in capitals)."""
    if param.metavar:
        return param.metavar
    annotation = _element_type(getattr(getattr(param, "type_descriptor", None), "annotation", str))
    if typing.get_origin(annotation) is Literal:
        return "|".join(str(choice) for choice in typing.get_args(annotation))
    return _TYPE_PLACEHOLDERS.get(annotation, (param.name or "value").upper())


def usage_piece(param: Parameter) -> str:
    """Return how an argument appears on the usage line: ``NAME``, ``[NAME]``, ``NAME...``."""
    name = param.metavar or (param.name or "").upper()
    shown = name if param.required else f"[{name}]"
    return f"{shown}..." if param.nargs == -1 else shown


def _is_flag(param: Parameter) -> bool:
    return bool(getattr(param, "is_flag", False) or getattr(param, "count", False))


def help_record(param: Parameter) -> tuple[str, str] | None:
    """Return the ``(names, help)`` row of a parameter in the help, or None if hidden."""
    if getattr(param, "hidden", False):
        return None
    if param.param_type_name == "argument":
        names = usage_piece(param)
    else:
        short_first = sorted(param.opts, key=lambda option: option.startswith("--"))
        names = ", ".join(short_first)
        if not _is_flag(param):
            names = f"{names} {_placeholder(param)}"
        if param.secondary_opts:  # a flag that can be turned off: --prune / --no-prune
            names = f"{names} / {', '.join(param.secondary_opts)}"
    extras = []
    envvar = param.envvar if getattr(param, "show_envvar", True) else None
    if isinstance(envvar, str):
        extras.append(f"env: {envvar}")
    default = param.default
    show_default = getattr(param, "show_default", False)
    if isinstance(show_default, str):
        extras.append(f"default: {show_default}")
    elif show_default and not _is_flag(param) and default not in (None, "", (), []):
        extras.append(f"default: {default}")
    if param.required and param.param_type_name == "option":
        extras.append("required")
    text = getattr(param, "help", None) or ""
    if extras:
        text = f"{text}  [{'; '.join(extras)}]" if text else f"[{'; '.join(extras)}]"
    return names, text


class Coercion:
    """Turn the text of a command-line value into the parameter's type, with our wording.

    Stands in for typer's pydantic-based conversion (see the module docstring); typer
    calls :meth:`coerce` for every value, given or default, of every parameter but the
    boolean flags (which click sets itself).
    """

    def __init__(self, annotation: object, info: object = None) -> None:
        self.info = info
        self.convert = self._converter(_element_type(annotation))

    def _converter(self, kind: object) -> Callable[[object, Parameter], object]:
        if kind is Path:
            return lambda value, _: self._path(value)
        if kind is int:
            return _whole_number
        if typing.get_origin(kind) is Literal:
            choices = typing.get_args(kind)
            return lambda value, _: _choice(value, choices)
        return lambda value, _: value

    def _path(self, value: object) -> Path:
        """Return the path, checked as the option declares (``exists``, ``file_okay``...).

        Messages name the path as the user typed it (``./x/`` stays ``./x/``).
        """
        if isinstance(value, Path):
            return value  # a default
        path = Path(str(value))
        exists = getattr(self.info, "exists", False)
        file_okay = getattr(self.info, "file_okay", True)
        dir_okay = getattr(self.info, "dir_okay", True)
        if exists and not path.exists():
            msg = f"{value}: no such file or directory"
            raise ValueError(msg)
        if not file_okay and path.exists() and not path.is_dir():
            msg = f"{value}: not a directory"
            raise ValueError(msg)
        if not dir_okay and path.is_dir():
            msg = f"{value}: is a directory"
            raise ValueError(msg)
        return path

    def coerce(self, value: object, param: Parameter, ctx: Context) -> object:
        """Return the converted value; raise :class:`typer.BadParameter` for a bad one."""
        several = param.multiple or param.nargs == -1
        if value is None:
            return () if several else None
        try:
            if several:
                assert isinstance(value, (list, tuple))  # noqa: S101 - click collects them
                return [self.convert(item, param) for item in value]
            return self.convert(value, param)
        except ValueError as error:
            hint = param.opts if param.param_type_name == "option" else [usage_piece(param)]
            raise typer.BadParameter(str(error), ctx=ctx, param_hint=hint) from None


def _whole_number(value: object, param: Parameter) -> int:
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value), 10)
        except ValueError:
            msg = f"{value!r} is not a whole number"
            raise ValueError(msg) from None
    least = getattr(param, "min", None)
    most = getattr(param, "max", None)
    if least is not None and number < least:
        msg = f"{number} is less than {least}"
        raise ValueError(msg)
    if most is not None and number > most:
        msg = f"{number} is more than {most}"
        raise ValueError(msg)
    return number


def _choice(value: object, choices: Sequence[object]) -> object:
    if value in choices:
        return value
    shown = ", ".join(repr(choice) for choice in choices)
    msg = f"{value!r} is not one of {shown}"
    raise ValueError(msg)


def _use_plain_coercion(params: Sequence[Parameter]) -> None:
    """Give each typer parameter a :class:`Coercion` (typer builds its own lazily)."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        # typer keeps the converter in `_runtime_param` and builds it on first use; where
        # a typer has no such slot, its own conversion stays (slower, pydantic's words).
        if descriptor is not None and getattr(param, "_runtime_param", "absent") is None:
            param._runtime_param = Coercion(  # type: ignore[attr-defined]  # noqa: SLF001
                descriptor.annotation, getattr(descriptor, "parameter_info", None)
            )


def _parse_with_context(
    parse: Callable[[Context, list[str]], list[str]], ctx: Context, args: list[str]
) -> list[str]:
    """Parse; a usage error of the parser (``-o`` without its value) learns its command.

    click's parser raises some usage errors without a context, and a usage error without
    one prints no usage line.
    """
    try:
        return parse(ctx, args)
    except typer.TyperException as error:
        if getattr(error, "ctx", "none expected") is None:
            error.ctx = ctx  # type: ignore[attr-defined]
        raise


def _format_parameters(
    command: TyperCommand | TyperGroup, ctx: Context, formatter: HelpFormatter
) -> None:
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = help_record(param)
        if record is not None:
            (arguments if param.param_type_name == "argument" else options).append(record)
    if arguments:
        with formatter.section("Arguments"):
            _write_rows(formatter, arguments)
    if options:
        with formatter.section("Options"):
            _write_rows(formatter, options)


def _write_rows(formatter: HelpFormatter, rows: Sequence[tuple[str, str]]) -> None:
    """Write ``name  help`` rows as click's ``write_dl`` does, never breaking at a hyphen.

    click wraps at hyphens, which cuts a path in two (``/etc/python/binary-`` and
    ``compatibility.cfg`` on two lines) and a copied path with it.
    """
    names = min(max(len(name) for name, _ in rows), _NAME_COLUMN) + 2
    indent = " " * formatter.current_indent
    width = max(formatter.width - formatter.current_indent - names, 20)
    for name, text in rows:
        lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
        if len(name) + 2 > names:  # a long name takes a line of its own
            formatter.write(f"{indent}{name}\n")
        else:
            first = lines.pop(0) if lines else ""
            formatter.write(f"{indent}{name:<{names}}{first}".rstrip() + "\n")
        for line in lines:
            formatter.write(f"{indent}{'':<{names}}{line}\n")


class Command(TyperCommand):
    """A condawheel command: plain help, plain values."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        """Return ``[OPTIONS]`` and the arguments, as :func:`usage_piece` shows them."""
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [
            usage_piece(param)
            for param in self.get_params(ctx)
            if param.param_type_name == "argument"
        ]

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Write usage, description and parameters as plain text."""
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        _format_parameters(self, ctx, formatter)
        self.format_epilog(ctx, formatter)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Parse with :class:`Coercion` converting the values."""
        _use_plain_coercion(self.get_params(ctx))
        return _parse_with_context(super().parse_args, ctx, args)


class Group(TyperGroup):
    """A group of commands (``condawheel``, ``condawheel hook``): plain help, one funnel."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Write usage, description, options and commands as plain text."""
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        _format_parameters(self, ctx, formatter)
        self.format_commands(ctx, formatter)
        self.format_epilog(ctx, formatter)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Parse with :class:`Coercion` converting the values."""
        _use_plain_coercion(self.get_params(ctx))
        return _parse_with_context(super().parse_args, ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: object,
    ) -> object:
        """Run the command line through :func:`~condawheel.cli.funnel.exit_codes`.

        The console script and typer's test runner both come through here, so the
        mapping of errors to exit codes is tested as it runs.
        """
        del standalone_mode  # always exits: the funnel decides how
        with exit_codes():
            code = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            raise SystemExit(code if isinstance(code, int) else 0)
