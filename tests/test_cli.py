"""The command line, run as users run it: a real process, real streams, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from builders import CondaSpec, FileSpec, build_conda, build_tar_bz2, python_package
from conftest import corpus_root


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "condawheel", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


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
    run = _run("convert", packages["python"], packages["broken"], packages["library"], "-o", out)
    assert run.returncode == 1
    # stdout: one result per converted input, nothing else
    assert run.stdout.splitlines() == [
        str(out / "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"),
        str(out / "conda_pkg_zlibish-1.0-0_py312_0-py3-none-conda_linux_64.whl"),
    ]
    # stderr: the failure in one line naming the input, and the summary
    assert f"error: {packages['broken']}: empty file" in run.stderr
    assert "2 written, 0 unchanged, 1 failed" in run.stderr


def test_convert_json_records(packages: dict[str, Path], tmp_path: Path) -> None:
    run = _run("convert", "--json", packages["python"], packages["broken"], "-o", tmp_path / "out")
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(r["input"], r["status"]) for r in records] == [
        (str(packages["python"]), "written"),
        (str(packages["broken"]), "failed"),
    ]
    assert records[0]["tags"] == "cp312-cp312-conda_linux_64"
    assert (
        records[0]["sha256"]
        == __import__("hashlib").sha256(Path(records[0]["wheel"]).read_bytes()).hexdigest()
    )
    assert records[1]["error"] == "empty file"
    # Converting again is a no-op: identical bytes are "unchanged", exit 0.
    again = _run("convert", "--json", packages["python"], "-o", tmp_path / "out")
    assert again.returncode == 0
    assert json.loads(again.stdout)["status"] == "unchanged"


def test_inspect_writes_nothing(packages: dict[str, Path], tmp_path: Path) -> None:
    run = _run("inspect", packages["python"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "wheel:    demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl" in run.stdout
    assert "entry-point wrapper for 'demo-cli': installers regenerate it" in run.stdout
    plan = json.loads(_run("inspect", "--json", packages["python"]).stdout)
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
    run = _run("inspect", packages["broken"])
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.strip() == f"error: {packages['broken']}: empty file"


def test_inspect_json_failure_is_a_record(packages: dict[str, Path]) -> None:
    """As `convert --json`: a failed input still gets its record on stdout."""
    run = _run("inspect", "--json", packages["broken"])
    assert run.returncode == 1
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
    run = _run("convert", "--json", tar_bz2, conda, other, "-o", out)
    assert run.returncode == 0, run.stderr
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
    alone = _run("convert", tar_bz2, "-o", out)
    assert alone.returncode == 1
    assert "a different wheel with this name already exists" in alone.stderr


@pytest.mark.corpus
def test_convert_falls_back_to_the_tar_bz2_when_the_conda_fails(tmp_path: Path) -> None:
    """conda-press's test-deps .conda is malformed; its .tar.bz2 converts on its own."""
    edge = corpus_root() / "edge" / "conda-incubator+conda-press"
    conda = edge / "test-deps-0.0.1-py_0.conda"
    tar_bz2 = edge / "test-deps-0.0.1-py_0.tar.bz2"
    out = tmp_path / "out"

    run = _run("convert", "--json", conda, tar_bz2, "-o", out)

    # The batch still fails: an input (the .conda) is bad; the package has its wheel.
    assert run.returncode == 1, run.stderr
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
    assert _run(*args).returncode == 2


def test_version() -> None:
    run = _run("--version")
    assert run.returncode == 0
    assert run.stdout.startswith("condawheel ")


@pytest.mark.corpus
def test_inspect_libs_with_providers() -> None:
    channel = corpus_root() / "channel"
    run = _run(
        "inspect",
        "--libs",
        "--libs-from",
        channel,
        channel / "linux-64" / "zstandard-0.23.0-py312hef9b889_1.conda",
    )
    assert run.returncode == 0, run.stderr
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
    run = _run("convert", packages["python"], "--for-prefix", prefix, "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
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
    refused = _run("convert", win32, "--for-prefix", prefix, "-o", out)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert (
        f"error: {win32}: a package for win-32 cannot be made for an environment of linux-64"
        in (refused.stderr)
    )
    assert list(out.iterdir()) == []
    converted = _run("convert", linux, noarch, "--for-prefix", prefix, "-o", out)
    assert converted.returncode == 0, converted.stderr
    stamped, kept = (Path(line).name for line in converted.stdout.splitlines())
    assert stamped.endswith("-py3-none-site_linux_64.whl")
    assert kept == "idna-3.10-1_pyhd8ed1ab_1-py3-none-conda.whl"


@pytest.mark.corpus
def test_mapping_file_changes_what_a_dependency_becomes(tmp_path: Path) -> None:
    """--mapping FILE is a layer on top of the packaged table: here it marks cffi "not Python"."""
    package = corpus_root() / "channel" / "linux-64" / "zstandard-0.23.0-py312hef9b889_1.conda"
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("schema: 1\nnames:\n  cffi: null\n", encoding="utf-8")
    plain = _run("inspect", package)
    mapped = _run("inspect", "--mapping", mapping, package)
    assert plain.returncode == 0, plain.stderr
    assert mapped.returncode == 0, mapped.stderr
    assert "Requires-External: cffi (>=1.11)" not in plain.stdout
    assert "Requires-External: cffi (>=1.11)" in mapped.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: 1\nnames:\n  cffi: CFFI\n", encoding="utf-8")
    refused = _run("inspect", "--mapping", broken, package)
    assert refused.returncode != 0
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
    from typer.testing import CliRunner  # noqa: PLC0415

    from condawheel.cli.app import app  # noqa: PLC0415

    package = build_conda(python_package(), tmp_path)
    # In process (one job runs in the engine), so that the stand-in defect reaches it.
    monkeypatch.setattr("condawheel.wheelhouse.workers.convert", _defect)
    wheelhouse = tmp_path / "wheelhouse"

    result = CliRunner().invoke(
        app,
        ["sync", str(package), "-w", str(wheelhouse), "--jobs", "1"],
        env={"CONDAWHEEL_DEBUG": debug, "COLUMNS": "200"},
    )

    assert result.exit_code == 1, result.output
    why = f"error: {package}: internal error: KeyError: 'a key the code forgot'"
    assert why in result.stderr
    assert ("Traceback (most recent call last):" in result.stderr) is shown
    assert ("in _defect" in result.stderr) is shown
