"""``condawheel convert`` and ``inspect``, in-process; a few in a real process.

Most tests run the command line in this process (``cli_runner.invoke``) so that coverage
sees it; the ones marked "process" run it as users do, for what only a real process
shows: the console script, exit statuses and the split of stdout and stderr.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest

from builders import CondaSpec, FileSpec, build_conda, build_tar_bz2, python_package
from cli_runner import invoke, run_process
from conftest import corpus_root
from syncing import condawheel_command
from test_sync import run_on_terminal


@pytest.fixture
def packages(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    broken = src / "broken-1.0-0.conda"
    broken.write_bytes(b"")
    return {
        "python": build_conda(python_package(), src),
        "library": build_tar_bz2(
            CondaSpec(name="zlibish", files=[FileSpec("lib/libz.so.1", b"\x7fELF")]), src
        ),
        "broken": broken,
    }


def test_convert_batch_keeps_going_and_exits_1(packages: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = invoke("convert", packages["python"], packages["broken"], packages["library"], "-o", out)
    assert run.exit_code == 1
    # stdout: one result per converted input, nothing else
    assert run.stdout.splitlines() == [
        str(out / "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"),
        str(out / "conda_pkg_zlibish-1.0-0_py312_0-py3-none-conda_linux_64.whl"),
    ]
    # stderr: the failure in one line naming the input, and the summary
    assert f"error: {packages['broken']}: empty file" in run.stderr
    assert "2 written, 0 unchanged, 1 failed" in run.stderr


def test_convert_json_records(packages: dict[str, Path], tmp_path: Path) -> None:
    run = invoke(
        "convert", "--json", packages["python"], packages["broken"], "-o", tmp_path / "out"
    )
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(r["input"], r["status"]) for r in records] == [
        (str(packages["python"]), "written"),
        (str(packages["broken"]), "failed"),
    ]
    assert records[0]["tags"] == "cp312-cp312-conda_linux_64"
    assert (
        records[0]["sha256"] == hashlib.sha256(Path(records[0]["wheel"]).read_bytes()).hexdigest()
    )
    assert records[1]["error"] == "empty file"
    # Converting again is a no-op: identical bytes are "unchanged", exit 0.
    again = invoke("convert", "--json", packages["python"], "-o", tmp_path / "out")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["status"] == "unchanged"


def test_inspect_writes_nothing(
    packages: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke("inspect", packages["python"])
    assert run.exit_code == 0, run.stderr
    assert "wheel:    demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl" in run.stdout
    assert "entry-point wrapper for 'demo-cli': installers regenerate it" in run.stdout
    plan = json.loads(invoke("inspect", "--json", packages["python"]).stdout)
    assert plan["filename"] == "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"
    assert plan["sidecar"]["package"]["name"] == "demo"
    assert {e["path"] for e in plan["entries"]} >= {
        "demo/__init__.py",
        "demo-1.0.dist-info/METADATA",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"] or sorted(
        p.name for p in tmp_path.iterdir()
    ) == ["src"]


def test_inspect_error_exit_code(packages: dict[str, Path]) -> None:
    run = invoke("inspect", packages["broken"])
    assert run.exit_code == 1
    assert run.stdout == ""
    assert run.stderr.strip() == f"error: {packages['broken']}: empty file"


def test_inspect_json_failure_is_a_record(packages: dict[str, Path]) -> None:
    """As `convert --json`: a failed input still gets its record on stdout."""
    run = invoke("inspect", "--json", packages["broken"])
    assert run.exit_code == 1
    assert json.loads(run.stdout) == {
        "input": str(packages["broken"]),
        "status": "failed",
        "error": "empty file",
    }
    assert run.stderr.strip() == f"error: {packages['broken']}: empty file"


@pytest.mark.corpus
def test_convert_prefers_the_conda_twin_in_one_batch(tmp_path: Path) -> None:
    """Both formats of one package make one wheel name: the .conda is converted, as by sync."""
    edge = corpus_root() / "edge" / "conda+conda"
    tar_bz2 = edge / "zlib-1.2.11-h62dcd97_3.tar.bz2"
    conda = edge / "zlib-1.2.11-h62dcd97_3.conda"
    other = corpus_root() / "channel" / "linux-64" / "xz-5.2.6-h166bdaf_0.tar.bz2"  # no twin
    out = tmp_path / "out"
    run = invoke("convert", "--json", tar_bz2, conda, other, "-o", out)
    assert run.exit_code == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    # The .tar.bz2 waits for its .conda (it stands in if that one fails), whatever the order.
    assert [(r["input"], r["status"]) for r in records] == [
        (str(conda), "written"),
        (str(tar_bz2), "skipped"),
        (str(other), "written"),
    ]
    assert records[1]["reason"] == f"same package as {conda.name} (.conda preferred)"
    assert f"skipped {tar_bz2}: same package as {conda.name} (.conda preferred)" in run.stderr
    assert "2 written, 0 unchanged, 1 skipped, 0 failed" in run.stderr
    wheels = sorted(p.name for p in out.iterdir())
    assert wheels == sorted(Path(r["wheel"]).name for r in records if "wheel" in r)
    with zipfile.ZipFile(out / Path(records[0]["wheel"]).name) as wheel:
        (sidecar,) = (n for n in wheel.namelist() if n.endswith(".dist-info/conda.json"))
        assert json.loads(wheel.read(sidecar))["source"]["filename"] == conda.name
    # Without the rule the .tar.bz2 alone makes a different wheel of that name: refused.
    alone = invoke("convert", tar_bz2, "-o", out)
    assert alone.exit_code == 1
    assert "a different wheel with this name already exists" in alone.stderr


@pytest.mark.corpus
def test_convert_falls_back_to_the_tar_bz2_when_the_conda_fails(tmp_path: Path) -> None:
    """conda-press's test-deps .conda is malformed; its .tar.bz2 converts on its own."""
    edge = corpus_root() / "edge" / "conda-incubator+conda-press"
    conda = edge / "test-deps-0.0.1-py_0.conda"
    tar_bz2 = edge / "test-deps-0.0.1-py_0.tar.bz2"
    out = tmp_path / "out"

    run = invoke("convert", "--json", conda, tar_bz2, "-o", out)

    # The batch still fails: an input (the .conda) is bad; the package has its wheel.
    assert run.exit_code == 1, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(r["input"], r["status"]) for r in records] == [
        (str(conda), "failed"),
        (str(tar_bz2), "written"),
    ]
    assert records[0]["error"].startswith("not a conda package: no info/index.json")
    assert records[1]["note"] == f"converted in place of the failed {conda.name}"
    assert [p.name for p in out.iterdir()] == [Path(records[1]["wheel"]).name]
    lines = run.stderr.splitlines()
    assert lines[0].startswith(f"error: {conda}: not a conda package")
    assert lines[1] == f"note: {tar_bz2}: converted in place of the failed {conda.name}"
    assert lines[-1] == "1 written, 0 unchanged, 0 skipped, 1 failed"


@pytest.mark.parametrize(
    "args",
    [["convert"], ["convert", "x.conda", "--platform-prefix", "conda-forge"], ["no-such-command"]],
    ids=["missing-argument", "bad-prefix", "unknown-command"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    run = invoke(*args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith("Usage: condawheel")


@pytest.mark.corpus
def test_inspect_libs_with_providers() -> None:
    channel = corpus_root() / "channel"
    run = invoke(
        "inspect",
        "--libs",
        "--libs-from",
        channel,
        channel / "linux-64" / "zstandard-0.23.0-py312hef9b889_1.conda",
    )
    assert run.exit_code == 0, run.stderr
    assert "libzstd.so.1" in run.stdout
    assert "dependency  zstd" in run.stdout
    assert "unresolved" not in run.stdout


def test_convert_for_an_environment_stamps_its_build_tag(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    from conda_envs import find_python312, link_python_into  # noqa: PLC0415
    from env_support import conda_record  # noqa: PLC0415

    prefix = tmp_path / "env"
    link_python_into(prefix, find_python312())
    conda_record(prefix, "zstd", "1.5.6", "ha6fb4c9_0", {"lib/libzstd.so.1": b"\x7fELF"})
    config = {
        "linux_x86_64": {"build": "conda_linux_64_site", "install": ["conda_linux_64", "conda"]}
    }
    (prefix / "binary-compatibility.cfg").write_text(json.dumps(config))
    run = invoke("convert", packages["python"], "--for-prefix", prefix, "-o", tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.strip().endswith(
        "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64_site.whl"
    )


@pytest.mark.corpus
def test_convert_for_an_environment_refuses_another_subdirs_package(tmp_path: Path) -> None:
    from conda_envs import find_python312, link_python_into  # noqa: PLC0415
    from env_support import conda_record  # noqa: PLC0415

    prefix = tmp_path / "env"
    link_python_into(prefix, find_python312())
    conda_record(prefix, "zstd", "1.5.6", "ha6fb4c9_0", {"lib/libzstd.so.1": b"\x7fELF"})
    config = {"linux_x86_64": {"build": "site_linux_64", "install": ["conda_linux_64", "conda"]}}
    (prefix / "binary-compatibility.cfg").write_text(json.dumps(config))
    win32 = corpus_root() / "edge" / "conda+conda" / "zlib-1.2.11-h62dcd97_3.conda"
    channel = corpus_root() / "channel"
    linux = channel / "linux-64" / "libzlib-1.3.1-hb9d3cd8_2.conda"
    noarch = channel / "noarch" / "idna-3.10-pyhd8ed1ab_1.conda"
    out = tmp_path / "out"
    refused = invoke("convert", win32, "--for-prefix", prefix, "-o", out)
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert (
        f"error: {win32}: a package for win-32 cannot be made for an environment of linux-64"
        in (refused.stderr)
    )
    assert list(out.iterdir()) == []
    converted = invoke("convert", linux, noarch, "--for-prefix", prefix, "-o", out)
    assert converted.exit_code == 0, converted.stderr
    stamped, kept = (Path(line).name for line in converted.stdout.splitlines())
    assert stamped.endswith("-py3-none-site_linux_64.whl")
    assert kept == "idna-3.10-1_pyhd8ed1ab_1-py3-none-conda.whl"


@pytest.mark.corpus
def test_mapping_file_changes_what_a_dependency_becomes(tmp_path: Path) -> None:
    """--mapping FILE is a layer on top of the packaged table: here it marks cffi "not Python"."""
    package = corpus_root() / "channel" / "linux-64" / "zstandard-0.23.0-py312hef9b889_1.conda"
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("schema: 1\nnames:\n  cffi: null\n", encoding="utf-8")
    plain = invoke("inspect", package)
    mapped = invoke("inspect", "--mapping", mapping, package)
    assert plain.exit_code == 0, plain.stderr
    assert mapped.exit_code == 0, mapped.stderr
    assert "Requires-External: cffi (>=1.11)" not in plain.stdout
    assert "Requires-External: cffi (>=1.11)" in mapped.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: 1\nnames:\n  cffi: CFFI\n", encoding="utf-8")
    refused = invoke("inspect", "--mapping", broken, package)
    assert refused.exit_code != 0
    assert str(broken) in refused.stderr
    assert refused.stdout == ""


def _defect(*_args: object, **_kwargs: object) -> None:
    # Stands for a bug in the converter: no input makes the real one raise a KeyError.
    known: dict[str, int] = {}
    known["a key the code forgot"] += 1


@pytest.mark.parametrize(("debug", "shown"), [("1", True), ("", False)], ids=["debug", "plain"])
def test_condawheel_debug_shows_the_traceback_a_sync_worker_sent_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: str, shown: bool
) -> None:
    package = build_conda(python_package(), tmp_path)
    # In process (one job runs in the engine), so that the stand-in defect reaches it.
    monkeypatch.setattr("condawheel.wheelhouse.workers.convert", _defect)
    wheelhouse = tmp_path / "wheelhouse"

    result = invoke(
        "sync", package, "-w", wheelhouse, "--jobs", "1", env={"CONDAWHEEL_DEBUG": debug}
    )

    assert result.exit_code == 1, result.output
    why = f"error: {package}: internal error: KeyError: 'a key the code forgot'"
    assert why in result.stderr
    assert ("Traceback (most recent call last):" in result.stderr) is shown
    assert ("in _defect" in result.stderr) is shown


# --- In a real process: what only a process shows ---------------------------------------


def test_process_batch_splits_its_streams_and_exits_1(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = run_process(
        "convert", packages["python"], packages["broken"], packages["library"], "-o", out
    )
    assert run.returncode == 1
    # stdout: one result per converted input, nothing else
    assert run.stdout.splitlines() == [
        str(out / "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"),
        str(out / "conda_pkg_zlibish-1.0-0_py312_0-py3-none-conda_linux_64.whl"),
    ]
    # stderr: the failure in one line naming the input, and the summary
    assert run.stderr.splitlines() == [
        f"error: {packages['broken']}: empty file",
        "2 written, 0 unchanged, 1 failed",
    ]


def test_process_on_a_terminal_a_bar_runs_and_diagnostics_stay_above_it(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = condawheel_command(
        "convert", str(packages["python"]), str(packages["broken"]), str(packages["library"]),
        "-o", str(out),
    )  # fmt: skip
    code, text, stdout = run_on_terminal(command, terminal="stderr")
    assert code == 1
    # The bar names what it converts, done/total; it is transient, the rest is printed.
    assert re.search(r"converting ━+ [0-3]/3", text), text
    assert f"error: {packages['broken']}: empty file" in text
    assert "2 written, 0 unchanged, 1 failed" in text
    assert stdout.splitlines() == [
        str(out / "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"),
        str(out / "conda_pkg_zlibish-1.0-0_py312_0-py3-none-conda_linux_64.whl"),
    ]


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--version"], 0),
        (["-V"], 0),
        (["convert", "-h"], 0),
        ([], 2),
        (["convert"], 2),
        (["convert", "x.conda", "-o"], 2),
        (["no-such-command"], 2),
        (["inspect", "nope.conda"], 1),
    ],
    ids=["version", "V", "help", "nothing", "no-package", "o-without-value", "unknown", "missing"],
)
def test_process_exit_statuses_of_the_console_script(args: list[str], status: int) -> None:
    run = run_process(*args, console_script=True)
    assert run.returncode == status, run.stderr
    assert "Traceback" not in run.stderr


def test_process_version_names_the_package_version() -> None:
    from condawheel import __version__  # noqa: PLC0415

    run = run_process("--version", console_script=True)
    assert run.stdout == f"condawheel {__version__}\n"
    assert run.stderr == ""
    # The same answer through typer when --version comes with other arguments.
    assert invoke("--version", "convert").stdout == f"condawheel {__version__}\n"


# --- Messages: paths as typed, a missing path, -q and -v -----------------------------------


@pytest.mark.parametrize("command", ["convert", "inspect"])
def test_a_missing_path_says_so_as_typed(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for typed in ("./samples/nope/", "nope.conda"):
        run = invoke(command, typed, *(["-o", "out"] if command == "convert" else []))
        assert run.exit_code == 1
        assert f"error: {typed}: no such file or directory" in run.stderr.splitlines()
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_output_option_without_a_value_prints_the_usage_line() -> None:
    run = invoke("convert", "x.conda", "-o")
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[0] == "Usage: condawheel convert [OPTIONS] PACKAGE..."
    assert lines[1] == "Try 'condawheel convert --help' for help."
    assert lines[-1] == "error: Option '-o' requires an argument."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threads", "many"], "Invalid value for '--threads': 'many' is not a whole number"),
        (["--threads", "-1"], "Invalid value for '--threads': -1 is less than 0"),
        (["--platform-prefix", "conda-forge"], "Invalid value for '--platform-prefix': "),
        (["--mapping", "no.yaml"], "Invalid value for '--mapping': no.yaml: no such file or"),
        (["--for-prefix", "f.txt"], "Invalid value for '--for-prefix': f.txt: not a directory"),
    ],
    ids=["not-a-number", "below-minimum", "bad-prefix", "missing-mapping", "file-for-dir"],
)
def test_bad_values_are_usage_errors_in_our_words(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.txt").write_text("a file\n")
    run = invoke("convert", "x.conda", *args)
    assert run.exit_code == 2
    error = run.stderr.splitlines()[-1]
    assert error.startswith(f"error: {message}")
    assert "Value error" not in run.stderr
    assert "Input should be" not in run.stderr


def test_convert_quiet_and_verbose(packages: dict[str, Path], tmp_path: Path) -> None:
    library = packages["library"]  # its conversion warns (a library without a Python tag)
    loud = invoke("convert", library, "-o", tmp_path / "a", "-v")
    assert loud.exit_code == 0, loud.stderr
    wheel = "conda_pkg_zlibish-1.0-0_py312_0-py3-none-conda_linux_64.whl"
    assert f"written {wheel} (" in loud.stderr
    assert f"from {library}" in loud.stderr
    assert loud.stderr.splitlines()[-1] == "1 written, 0 unchanged, 0 failed"
    quiet = invoke("convert", library, "-o", tmp_path / "b", "-q")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert quiet.stdout == f"{tmp_path / 'b' / wheel}\n"


def test_convert_prints_the_output_folder_as_typed(
    packages: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke("convert", packages["python"], "-o", "./out/")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "./out/demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl\n"


def test_inspect_quiet_names_the_wheel_and_verbose_lists_the_files(
    packages: dict[str, Path],
) -> None:
    quiet = invoke("inspect", "-q", packages["python"])
    assert quiet.stdout == "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl\n"
    plain = invoke("inspect", packages["python"]).stdout
    verbose = invoke("inspect", "-v", packages["python"]).stdout
    assert "  demo/__init__.py  <- lib/python3.12/site-packages/demo/__init__.py" in verbose
    assert "  demo-1.0.dist-info/METADATA  (generated)" in verbose
    assert "demo/__init__.py" not in plain


def test_an_internal_error_is_one_line_and_the_batch_goes_on(
    packages: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A defect on one input is said as such; with CONDAWHEEL_DEBUG=1 its traceback too."""
    import condawheel.convert  # noqa: PLC0415

    real = condawheel.convert.convert

    def fails_on_the_library(path: Path, *args: object, **kwargs: object) -> object:
        if path == packages["library"]:
            message = "a defect"
            raise RuntimeError(message)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(condawheel.convert, "convert", fails_on_the_library)
    out = tmp_path / "out"
    run = invoke("convert", packages["library"], packages["python"], "-o", out)
    assert run.exit_code == 1
    assert (
        f"error: {packages['library']}: internal error: RuntimeError: a defect"
        in run.stderr.splitlines()
    )
    assert "Traceback" not in run.stderr
    assert len(run.stdout.splitlines()) == 1
    debug = invoke(
        "convert", packages["library"], "-o", tmp_path / "other", env={"CONDAWHEEL_DEBUG": "1"}
    )
    assert "Traceback (most recent call last)" in debug.stderr


def test_main_answers_version_without_typer_and_runs_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from condawheel import __version__  # noqa: PLC0415
    from condawheel.cli import main  # noqa: PLC0415

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"condawheel {__version__}\n"
    with pytest.raises(SystemExit) as done:
        main(["inspect", "-h"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("Usage: condawheel inspect [OPTIONS] PACKAGE\n")
    with pytest.raises(SystemExit) as done:
        main(["inspect"])
    assert done.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "error: Missing argument 'PACKAGE'."


def test_without_output_the_wheel_is_named_in_the_current_folder(
    packages: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke("convert", packages["python"], "--json")
    assert run.exit_code == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["wheel"] == "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"
    assert (tmp_path / record["wheel"]).is_file()
