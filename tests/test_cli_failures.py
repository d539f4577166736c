"""`condawheel convert` when an input cannot be written: one line each, the batch goes on.

The failing input is named with its reason on one line, leaves nothing behind, and the
other inputs are still converted. The commands run in-process, but for the full disk,
which needs a process of its own to limit.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest

from builders import FileSpec, build_conda, python_package
from cli_runner import invoke
from conftest import corpus_root

if TYPE_CHECKING:
    from pathlib import Path

IDNA = "idna-3.10-pyhd8ed1ab_1.conda"
IDNA_WHEEL = "idna-3.10-1_pyhd8ed1ab_1-py3-none-conda.whl"
DEMO_WHEEL = "demo-1.0-0_py312h1234567_0-cp312-cp312-conda_linux_64.whl"


@pytest.fixture
def idna() -> Path:
    return corpus_root() / "channel" / "noarch" / IDNA


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    return build_conda(python_package(), src)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.corpus
@pytest.mark.parametrize("obstacle", ["directory", "broken-symlink"])
def test_something_in_the_way_of_the_wheel_fails_that_input_only(
    obstacle: str, idna: Path, demo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    in_the_way = out / IDNA_WHEEL
    if obstacle == "directory":
        in_the_way.mkdir()
        what = "a directory"
    else:
        in_the_way.symlink_to(tmp_path / "nowhere")
        what = "a broken symbolic link"
    run = invoke("convert", idna, demo, "-o", out)
    assert run.exit_code == 1
    assert _error_lines(run.stderr) == [
        f"error: {idna}: makes {IDNA_WHEEL}, but {what} of this name is in {out}; not overwritten"
    ]
    assert "Traceback" not in run.stderr
    assert run.stdout.splitlines() == [str(out / DEMO_WHEEL)]
    assert sorted(p.name for p in out.iterdir()) == sorted([DEMO_WHEEL, IDNA_WHEEL])
    assert in_the_way.is_symlink() == (obstacle == "broken-symlink")
    assert "1 written, 0 unchanged, 1 failed" in run.stderr


@pytest.mark.corpus
def test_a_full_disk_fails_the_large_input_and_converts_the_small_one(
    idna: Path, tmp_path: Path
) -> None:
    # RLIMIT_FSIZE (`ulimit -f`) makes writes past 1 MiB fail with EFBIG, as a full disk
    # fails with ENOSPC: libstdcxx's wheel (13 MiB) cannot be written, idna's (0.1 MiB) can.
    big = corpus_root() / "channel" / "linux-64" / "libstdcxx-14.2.0-hc0a3c3a_1.conda"
    out = tmp_path / "out"
    limit = 1 << 20

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run(
        [sys.executable, "-m", "condawheel", "convert", str(big), str(idna), "-o", str(out)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        preexec_fn=limited,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    # The compressed bodies are spooled into the output directory while the package is
    # read, so the limit strikes before the plan names the wheel.
    assert _error_lines(run.stderr) == [f"error: {big}: cannot write into {out}: File too large"]
    assert "Traceback" not in run.stderr
    assert run.stdout.splitlines() == [str(out / IDNA_WHEEL)]
    # no partial wheel, no spool, no temporary file
    assert [p.name for p in out.iterdir()] == [IDNA_WHEEL]


def test_a_link_to_byte_code_is_left_out_with_a_warning(tmp_path: Path) -> None:
    site = "lib/python3.12/site-packages"
    pyc = f"{site}/demo/__pycache__/extra.cpython-312.pyc"
    spec = python_package(
        extra_files=[
            FileSpec(pyc, b"\x00pyc"),
            FileSpec("share/demo/compiled", symlink=f"../../{pyc}"),
        ]
    )
    src = tmp_path / "src"
    src.mkdir()
    package = build_conda(spec, src)
    out = tmp_path / "out"
    run = invoke("convert", package, "-o", out)
    assert run.exit_code == 0, run.stderr
    assert (
        f"warning: {package.name}: share/demo/compiled: link to {pyc}, which is not shipped: "
        "byte-code (installers compile their own); the link is not in the wheel"
    ) in run.stderr
    with zipfile.ZipFile(out / DEMO_WHEEL) as wheel:
        names = wheel.namelist()
    assert "demo-1.0.data/data/share/demo/compiled" not in names
    assert not any(name.endswith(".pyc") for name in names)


def test_output_that_is_a_file_is_a_usage_error(demo: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a directory\n")
    run = invoke("convert", demo, "-o", taken)
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert f"{taken} exists and is not a directory" in run.stderr
    assert taken.read_text() == "not a directory\n"


def test_a_different_wheel_of_the_same_name_names_the_input(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("convert", demo, "-o", out).exit_code == 0
    before = (out / DEMO_WHEEL).read_bytes()
    other_src = tmp_path / "other"
    other_src.mkdir()
    changed = build_conda(
        python_package(extra_files=[FileSpec("share/demo/new.txt", b"new\n")]), other_src
    )
    run = invoke("convert", changed, "-o", out)
    assert run.exit_code == 1
    (line,) = _error_lines(run.stderr)
    assert line.startswith(
        f"error: {changed}: makes {DEMO_WHEEL}, but a different wheel with this name already "
        f"exists in {out} (sha256 "
    )
    assert line.endswith("...); not overwritten")
    assert (out / DEMO_WHEEL).read_bytes() == before
    assert [p.name for p in out.iterdir()] == [DEMO_WHEEL]
