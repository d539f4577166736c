"""The sample package of the README is what its script writes, and converts as documented."""

from __future__ import annotations

import importlib.util
import zipfile
from typing import TYPE_CHECKING

from condawheel.convert import convert
from condawheel.convert.names import default_mapping
from conftest import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE = REPO_ROOT / "samples" / "hello-condawheel-1.0.0-pyh4616a5c_0"


def _script() -> object:
    spec = importlib.util.spec_from_file_location(
        "make_sample", REPO_ROOT / "scripts" / "make_sample.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        # git records only the executable bit of a file
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mode & 0o111)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_committed_sample_is_what_the_script_writes(tmp_path: Path) -> None:
    written = _script().write(tmp_path)  # type: ignore[attr-defined]
    assert _tree(written) == _tree(SAMPLE)


def test_sample_converts_into_the_documented_wheel(tmp_path: Path) -> None:
    result = convert(SAMPLE, tmp_path, mapping=default_mapping())
    assert result.wheel.name == "hello_condawheel-1.0.0-0_pyh4616a5c_0-py3-none-conda.whl"
    with zipfile.ZipFile(result.wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read("hello_condawheel-1.0.0.dist-info/entry_points.txt")
    assert "hello_condawheel/__init__.py" in names
    assert "hello_condawheel-1.0.0.data/data/share/hello-condawheel/hello.conf" in names
    assert b"hello-condawheel = hello_condawheel:main" in entry_points
