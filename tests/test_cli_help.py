"""The help of every command reads like pip's and uv's: no braces, no Python types."""

from __future__ import annotations

import re

import pytest
import typer.main

from cli_runner import invoke
from condawheel.cli.app import app


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the application, as the words that reach it."""
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _command_paths()
# What the pip hook runs; not listed, but its help is plain too.
HIDDEN = {("hook", "install-wheel")}
TOP_LEVEL = ("convert", "inspect", "sync", "index", "build", "tags", "install", "uninstall", "hook")
# What typer shows when left alone: its type names, in angle brackets or not.
PYTHON_TYPES = re.compile(
    r"<[^>]*>|\b(list|tuple|dict)\[|\b(Path|bool|int|str|float)\b|int range|\bTEXT\b"
)
PLACEHOLDER = re.compile(r"^\s+(?:-\w, )?--[\w-]+(?:, --[\w-]+)?(?: / --[\w-]+)? ([^\s/]\S*)")


def test_every_command_is_walked() -> None:
    assert {" ".join(path) for path in COMMANDS} == {
        "",
        *TOP_LEVEL,
        "hook install",
        "hook install-wheel",
        "hook remove",
    }


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "condawheel")
def test_help_has_no_braces_and_no_python_types(path: tuple[str, ...]) -> None:
    run = invoke(*path, "--help")
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    assert text.startswith(f"Usage: {' '.join(('condawheel', *path))} [OPTIONS]")
    assert "{" not in text
    assert "}" not in text
    assert PYTHON_TYPES.search(text) is None, PYTHON_TYPES.search(text)
    # One placeholder style: capitals (DIR, FILE, PATH, N, URL...), or the choices.
    for line in text.splitlines():
        match = PLACEHOLDER.match(line)
        if match is not None:
            placeholder = match.group(1)
            assert placeholder.isupper() or "|" in placeholder, line
    assert invoke(*path, "-h").stdout == text


def test_usage_lines_name_arguments_in_capitals() -> None:
    usage = {" ".join(path): invoke(*path, "--help").stdout.splitlines()[0] for path in COMMANDS}
    assert usage["convert"] == "Usage: condawheel convert [OPTIONS] PACKAGE..."
    assert usage["inspect"] == "Usage: condawheel inspect [OPTIONS] PACKAGE"
    assert usage["sync"] == "Usage: condawheel sync [OPTIONS] [SOURCE]..."
    assert usage["index"] == "Usage: condawheel index [OPTIONS] DIR"
    assert usage["install"] == "Usage: condawheel install [OPTIONS] [REQUIREMENT]..."
    assert usage["uninstall"] == "Usage: condawheel uninstall [OPTIONS] NAME..."
    assert usage["hook"] == "Usage: condawheel hook [OPTIONS] COMMAND [ARGS]..."


def test_sync_wheelhouse_is_not_marked_required() -> None:
    text = invoke("sync", "--help").stdout
    (line,) = (line for line in text.splitlines() if "--wheelhouse" in line)
    assert line.split()[:3] == ["-w,", "--wheelhouse", "DIR"]
    assert "required" not in text
    assert "$CONDAWHEEL_WHEELHOUSE" in text


def test_flags_show_no_placeholder_and_options_show_one() -> None:
    text = invoke("install", "--help").stdout
    lines = {
        line.split()[0].rstrip(","): line.split()
        for line in text.splitlines()[1:]
        if line.startswith("  -")
    }
    assert lines["-r"][:3] == ["-r,", "--requirement", "FILE"]
    assert lines["-i"][:3] == ["-i,", "--index-url", "URL"]
    assert lines["--extra-index-url"][:2] == ["--extra-index-url", "URL"]
    assert lines["-U"][:3] == ["-U,", "--upgrade", "Install"]
    assert lines["--no-deps"][:2] == ["--no-deps", "Install"]
    assert lines["--dry-run"][:2] == ["--dry-run", "Resolve"]
    assert lines["--prefer"][:2] == ["--prefer", "conda|newest"]


def test_the_top_level_help_lists_the_commands_and_completion() -> None:
    text = invoke("--help").stdout
    assert "--install-completion" in text
    commands = text.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in commands] == list(TOP_LEVEL)
    assert not any(line.endswith("...") for line in commands)


def test_no_command_prints_the_help_and_exits_2() -> None:
    run = invoke()
    assert run.exit_code == 2
    assert run.stderr.startswith("Usage: condawheel [OPTIONS] COMMAND [ARGS]...")
    assert run.stdout == ""


def test_unknown_command_and_option_are_usage_errors() -> None:
    typo = invoke("conver")
    assert typo.exit_code == 2
    assert (
        typo.stderr.splitlines()[-1] == "error: No such command 'conver'. Did you mean 'convert'?"
    )
    unknown = invoke("convert", "--frobnicate", "x.conda")
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines()[0] == "Usage: condawheel convert [OPTIONS] PACKAGE..."
    assert unknown.stderr.splitlines()[-1] == "error: No such option: --frobnicate"


def test_shell_completion_answers() -> None:
    """Completion is on: the shell asks through a variable, typer answers."""
    run = invoke(
        env={
            "_CONDAWHEEL_COMPLETE": "complete_bash",
            "COMP_WORDS": "condawheel con",
            "COMP_CWORD": "1",
        }
    )
    assert run.exit_code == 0
    assert run.stdout.split() == ["convert"]


def test_each_command_is_listed_with_its_own_summary() -> None:
    """A group lists each command with the line that says what that command does."""
    summaries = {}
    for path in COMMANDS:
        if not path or path in HIDDEN:
            continue
        listing = invoke(*path[:-1], "--help").stdout.split("Commands:\n", 1)[1]
        line = next(row for row in listing.splitlines() if row.split()[0] == path[-1])
        summaries[" ".join(path)] = line.split(None, 1)[1]
        description = invoke(*path, "--help").stdout.split("\n\n", 2)[1]
        first_word = description.split()[0].lower()
        assert summaries[" ".join(path)].split()[0].lower() == first_word, (path, description)
    assert len(set(summaries.values())) == len(summaries)
    assert summaries["hook install"] == (
        "Write the tag configuration, activation scripts and pip hook."
    )


def test_long_defaults_are_never_cut_at_a_hyphen() -> None:
    text = invoke("tags", "--help").stdout
    assert "/etc/python/binary-compatibility.cfg]" in text
    assert "--prune / --no-prune" in invoke("sync", "--help").stdout


def test_a_long_option_takes_a_line_of_its_own() -> None:
    from typer._click.formatting import HelpFormatter  # noqa: PLC0415

    from condawheel.cli.command import _write_rows  # noqa: PLC0415

    formatter = HelpFormatter(width=60)
    long_name = "-a, --a-very-long-option-name-here VALUE"
    _write_rows(formatter, [(long_name, "Help that wraps because it is long."), ("-b", "short")])
    assert formatter.getvalue().splitlines() == [
        long_name,
        " " * 32 + "Help that wraps because it",
        " " * 32 + "is long.",
        "-b" + " " * 30 + "short",
    ]
