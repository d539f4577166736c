"""``condawheel sync`` and ``condawheel index`` from the command line, in-process.

The engine has its own tests (test_sync.py); these are about the command: options and the
``--config`` file, what it prints and when, and its exit statuses.
"""

from __future__ import annotations

import contextlib
import json
import socket
from io import StringIO
from pathlib import Path

import msgspec
import pytest
from rich.console import Console
from rich.progress import Progress

from cli_runner import invoke
from condawheel.cli.wheelhouse import _SyncDisplay
from condawheel.wheelhouse.outcomes import ArtifactFinished, Outcome, Phase
from syncing import (
    SMALL_PACKAGES,
    add_pypi_wheels,
    condawheel_command,
    copy_channel,
)
from test_sync import run_on_terminal

pytestmark = pytest.mark.corpus

HPACK = "noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"
HPACK_WHEEL = "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"
PLUGGY = "noarch/pluggy-1.5.0-pyhd8ed1ab_1.conda"
PLUGGY_WHEEL = "pluggy-1.5.0-1_pyhd8ed1ab_1-py3-none-conda.whl"


def wheels(folder: Path) -> set[str]:
    return {path.name for path in folder.glob("*.whl")}


@pytest.fixture
def channel(corpus: Path, tmp_path: Path) -> Path:
    return copy_channel(corpus, tmp_path / "channel", [HPACK, PLUGGY])


@pytest.fixture(autouse=True)
def _no_wheelhouse_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONDAWHEEL_WHEELHOUSE", raising=False)


# --- --config FILE and ./condawheel.toml ----------------------------------------------------


@pytest.mark.usefixtures("channel")
def test_a_config_file_with_sources_wheelhouse_and_select(tmp_path: Path) -> None:
    job = tmp_path / "jobs" / "nightly.toml"
    job.parent.mkdir()
    job.write_text(
        '[sync]\nsources = ["../channel"]\nwheelhouse = "../W"\nselect = ["hpack"]\njobs = 1\n',
        encoding="utf-8",
    )
    run = invoke("sync", "--config", job, "--json")
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["counts"]["converted"] == 1
    assert wheels(tmp_path / "W") == {HPACK_WHEEL}
    # The paths in the file are relative to the file, not to where the job runs from.
    assert report["wheelhouse"] == str(tmp_path / "jobs" / ".." / "W")


def test_condawheel_toml_is_read_when_no_source_is_given(
    channel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "condawheel.toml").write_text(
        '[sync]\nsources = "channel"\nwheelhouse = "W"\njobs = 1\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    run = invoke("sync", "-q")
    assert run.exit_code == 0, run.stderr
    assert wheels(tmp_path / "W") == {HPACK_WHEEL, PLUGGY_WHEEL}
    # A SOURCE on the command line means the file is not read.
    other = invoke("sync", str(channel), "--select", "pluggy", "-q")
    assert other.exit_code == 2
    assert (
        other.stderr.splitlines()[-1]
        == "error: give --wheelhouse DIR (or set $CONDAWHEEL_WHEELHOUSE)"
    )


@pytest.mark.usefixtures("channel")
def test_options_on_the_command_line_win_over_the_file(tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text(
        '[sync]\nsources = ["channel"]\nwheelhouse = "W"\nselect = "hpack"\nnewest = 1\n',
        encoding="utf-8",
    )
    run = invoke("sync", "--config", job, "--select", "pluggy", "-w", tmp_path / "mine", "-q")
    assert run.exit_code == 0, run.stderr
    assert wheels(tmp_path / "mine") == {PLUGGY_WHEEL}
    assert not (tmp_path / "W").exists()


def test_the_file_wins_over_the_wheelhouse_variable_and_the_variable_serves_alone(
    channel: Path, tmp_path: Path
) -> None:
    job = tmp_path / "job.toml"
    job.write_text('[sync]\nsources = ["channel"]\nwheelhouse = "W"\n', encoding="utf-8")
    variable = {"CONDAWHEEL_WHEELHOUSE": str(tmp_path / "from-variable")}
    assert invoke("sync", "--config", job, "-q", env=variable).exit_code == 0
    assert wheels(tmp_path / "W") == {HPACK_WHEEL, PLUGGY_WHEEL}
    assert not (tmp_path / "from-variable").exists()
    assert invoke("sync", str(channel), "-q", "--select", "hpack", env=variable).exit_code == 0
    assert wheels(tmp_path / "from-variable") == {HPACK_WHEEL}


def test_no_prune_on_the_command_line_turns_off_the_files_prune(
    channel: Path, tmp_path: Path
) -> None:
    job = tmp_path / "job.toml"
    job.write_text('[sync]\nsources = ["channel"]\nwheelhouse = "W"\nprune = true\n')
    assert invoke("sync", "--config", job, "-q").exit_code == 0
    (channel / PLUGGY).unlink()
    kept = invoke("sync", "--config", job, "--no-prune", "-v")
    assert kept.exit_code == 0, kept.stderr
    assert wheels(tmp_path / "W") == {HPACK_WHEEL, PLUGGY_WHEEL}
    pruned = invoke("sync", "--config", job, "-v")
    assert pruned.exit_code == 0, pruned.stderr
    assert f"pruned {tmp_path / 'W' / PLUGGY_WHEEL}" in pruned.stdout.splitlines()
    assert wheels(tmp_path / "W") == {HPACK_WHEEL}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[sync]\nsources = ["channel"]\njobs = "two"\n',
            "job.toml:3: jobs must be a whole number",
        ),
        (
            '[sync]\nsources = ["channel"]\n\nwheelhose = "W"\n',
            "job.toml:4: unknown key 'wheelhose'",
        ),
    ],
    ids=["wrong-type", "unknown-key"],
)
def test_a_bad_config_file_names_the_line_and_the_key(
    text: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("job.toml").write_text(text, encoding="utf-8")
    run = invoke("sync", "--config", "job.toml", "-w", "W")
    assert run.exit_code == 1
    assert run.stderr.startswith(f"error: {message}")
    assert len(run.stderr.splitlines()) == 1
    assert not Path("W").exists()


def test_without_a_source_or_a_file_sync_says_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke("sync", "-w", "W")
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == "Usage: condawheel sync [OPTIONS] [SOURCE]..."
    assert run.stderr.splitlines()[-1] == (
        "error: give a SOURCE, or --config FILE, or write a condawheel.toml here"
    )


def _unreachable_schedulers(count: int) -> list[str]:
    """Addresses on loopback where no scheduler listens (ports just free)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [f"tcp://127.0.0.1:{probe.getsockname()[1]}" for probe in probes]


def test_the_scheduler_comes_from_the_option_then_the_file_then_the_environment(
    channel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # condawheel[dask], in the test group; distributed brings its settings into dask's.
    import dask  # noqa: PLC0415
    import distributed  # noqa: F401, PLC0415

    option, in_file, in_environment = _unreachable_schedulers(3)
    job = tmp_path / "job.toml"
    job.write_text(f'[sync]\nsources = ["channel"]\nscheduler = "{in_file}"\n')
    monkeypatch.setenv("CONDAWHEEL_SCHEDULER", in_environment)
    cases: list[tuple[list[str | Path], str]] = [
        ([channel], in_environment),
        (["--config", job], in_file),
        (["--config", job, "--scheduler", option], option),
    ]
    for args, address in cases:
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
            run = invoke("sync", *args, "-w", tmp_path / "W")
        assert run.exit_code == 1, run.stderr
        [line] = run.stderr.splitlines()
        assert line.startswith(f"error: {address}: cannot reach the Dask scheduler: ")
    assert not (tmp_path / "W").exists()


# --- What sync prints, and when --------------------------------------------------------------


def test_off_a_terminal_sync_prints_problems_and_the_summary_verbose_prints_all(
    channel: Path, tmp_path: Path
) -> None:
    (channel / "noarch" / "broken-1.0-0.conda").write_bytes(b"PK\x03\x04 truncated")
    run = invoke("sync", channel, "-w", tmp_path / "W", "-j", "1")
    assert run.exit_code == 1
    assert run.stdout == ""
    error, summary = run.stderr.splitlines()
    assert error.startswith(f"error: {channel / 'noarch' / 'broken-1.0-0.conda'}: ")
    assert summary.startswith("2 converted, 0 unchanged, 0 skipped, 1 failed, 0 conflicts in ")
    again = invoke("sync", channel, "-w", tmp_path / "W2", "-j", "1", "-v")
    assert sorted(again.stdout.splitlines()) == [
        f"converted {tmp_path / 'W2' / HPACK_WHEEL}",
        f"converted {tmp_path / 'W2' / PLUGGY_WHEEL}",
    ]
    quiet = invoke("sync", channel, "-w", tmp_path / "W3", "-j", "1", "-q")
    assert [line.split(":")[0] for line in quiet.stderr.splitlines()] == ["error"]


def _converted(wheel: str) -> ArtifactFinished:
    outcome = Outcome(
        source="channel", location=f"channel/{wheel}", filename=wheel, subdir="noarch",
        status="converted", wheel=wheel, warnings=("a warning",),
    )  # fmt: skip
    return ArtifactFinished(outcome, 10)


def test_each_converted_wheel_is_printed_as_it_lands(capsys: pytest.CaptureFixture[str]) -> None:
    display = _SyncDisplay(Path("W"), quiet=False, results=True, warnings=True)
    display(Phase("converting"))
    display(_converted("a.whl"))
    assert capsys.readouterr() == ("converted W/a.whl\n", "warning: a.whl: a warning\n")
    display(_converted("b.whl"))
    assert capsys.readouterr().out == "converted W/b.whl\n"
    # The final account does not repeat what was shown.
    report = type(
        "Report", (), {"outcomes": (_converted("a.whl").outcome,), "pruned": (), "index": None}
    )
    display.account(report)  # type: ignore[arg-type]
    assert capsys.readouterr() == ("", "")


def test_every_wheel_of_a_split_package_is_a_converted_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    display = _SyncDisplay(Path("W"), quiet=False, results=True, warnings=False)
    outcome = msgspec.structs.replace(
        _converted("a.whl").outcome, wheels=("a.whl", "b.whl", "lib.whl")
    )
    display(ArtifactFinished(outcome, 10))
    assert capsys.readouterr().out.splitlines() == [
        "converted W/a.whl",
        "converted W/b.whl",
        "converted W/lib.whl",
    ]


def test_a_dry_run_lines_held_back_come_out_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # stdout is no terminal here: would-convert lines go out in blocks, but never after
    # a line that came later, nor lost at the end.
    display = _SyncDisplay(Path("W"), quiet=False, results=True, warnings=False)
    display.start()
    would = [Outcome("s", f"/c/p{n}.conda", f"p{n}.conda", "", "would-convert") for n in range(3)]
    display.passed(would[0])
    display.passed(would[1])
    assert capsys.readouterr().out == ""
    display.show(_converted("a.whl").outcome)
    display.passed(would[2])
    display.stop()
    assert capsys.readouterr().out.splitlines() == [
        "would-convert /c/p0.conda",
        "would-convert /c/p1.conda",
        "converted W/a.whl",
        "would-convert /c/p2.conda",
    ]


def test_while_a_bar_is_shown_lines_go_above_it(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = StringIO()
    console = Console(file=terminal, force_terminal=True, width=100, color_system=None)
    display = _SyncDisplay(Path("W"), quiet=False, results=True, warnings=True)
    display.progress = Progress(console=console, transient=True)
    display.task = display.progress.add_task("converting", total=20, done=0, count=2)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    with display.progress:
        display(_converted("a.whl"))
        shown = terminal.getvalue()
    assert "converted W/a.whl" in shown
    assert "warning: a.whl: a warning" in shown


def test_on_a_terminal_converted_lines_come_while_the_bar_runs(
    corpus: Path, tmp_path: Path
) -> None:
    """As pip and uv do: each result above the bar as it lands, not all after the bar."""
    channel = copy_channel(corpus, tmp_path / "channel", SMALL_PACKAGES[:3])
    wheelhouse = tmp_path / "W"
    command = condawheel_command("sync", str(channel), "-w", str(wheelhouse), "-j", "1")
    code, text, _ = run_on_terminal(command, terminal="both")
    assert code == 0, text
    first = text.index("converted ")
    assert first < text.index("indexing"), text  # printed before the last phase began
    assert text.count(f"converted {wheelhouse}/") == 3


# --- index -----------------------------------------------------------------------------------


def test_index_in_process(tmp_path: Path) -> None:
    ordinary = add_pypi_wheels(tmp_path)
    run = invoke("index", tmp_path, "--json")
    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["indexed"] == len(ordinary)
    assert run.stderr.startswith(f"{len(ordinary)} wheels indexed, ")
    (tmp_path / "junk-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    broken = invoke("index", tmp_path, "-q")
    assert broken.exit_code == 1
    junk = "junk-1.0-py3-none-any.whl: not a readable zip archive: File is not a zip file"
    assert broken.stderr.splitlines() == [f"error: not indexed: {junk}"]
    missing = invoke("index", tmp_path / "nope")
    assert missing.exit_code == 2
    assert missing.stderr.splitlines()[-1] == (
        f"error: Invalid value for 'DIR': {tmp_path / 'nope'}: no such file or directory"
    )


def test_a_missing_source_says_so_as_typed(
    channel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke("sync", "./nope/", "channel", "-w", "W", "-j", "1")
    assert run.exit_code == 1
    assert run.stderr.splitlines()[0] == "error: ./nope/: no such file or directory"
    assert wheels(tmp_path / "W") == {HPACK_WHEEL, PLUGGY_WHEEL}
    assert channel.is_dir()
