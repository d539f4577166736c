"""Commands: the wheel declares the entry points whose scripts conda would install.

conda-build's wrappers are left out only when the wheel's entry point runs the same
callable; where entry_points.txt, link.json and the scripts disagree, what conda installs
wins and the disagreement is recorded in conda.json with a warning.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from builders import PLACEHOLDER, CondaSpec, FileSpec, build_conda, noarch_tool, read_wheel
from condawheel.convert import ConversionResult, convert
from condawheel.convert.names import NameMapping, default_mapping
from condawheel.metadata import (
    LOOKS_UP_ITS_ENTRY_POINT,
    callable_path,
    read_scripts,
    render_scripts,
    wrapper_target,
)
from conftest import corpus_root

if TYPE_CHECKING:
    from pathlib import Path

# conda-build's wrapper (conda_build/windows.py and post.py write the same body; the
# Windows one has no shebang, the launcher runs it with the prefix's python).
WRAPPER = (
    "# -*- coding: utf-8 -*-\nimport re\nimport sys\n\nfrom {module} import {function}\n\n"
    "if __name__ == '__main__':\n"
    "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
    "    sys.exit({function}())\n"
)
SETUPTOOLS_SCRIPT = (
    "#!/opt/python\n# EASY-INSTALL-ENTRY-SCRIPT: 'foo==1.0','console_scripts','foo'\n"
    "import re\nimport sys\nfrom pkg_resources import load_entry_point\n\n"
    "if __name__ == '__main__':\n"
    "    sys.exit(load_entry_point('foo==1.0', 'console_scripts', 'foo')())\n"
)


def _convert(spec: CondaSpec, tmp_path: Path) -> ConversionResult:
    src = tmp_path / "src"
    src.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return convert(build_conda(spec, src), out, mapping=NameMapping.from_names({}))


def _sidecar(wheel: dict[str, bytes]) -> dict[str, object]:
    (name,) = [n for n in wheel if n.endswith(".dist-info/conda.json")]
    loaded: dict[str, object] = json.loads(wheel[name])
    return loaded


def test_wrapper_targets_and_callable_paths() -> None:
    conda_build = WRAPPER.format(module="foo.cli", function="main").encode()
    assert wrapper_target(conda_build, "foo") == "foo.cli:main"
    assert wrapper_target(SETUPTOOLS_SCRIPT.encode(), "foo") == LOOKS_UP_ITS_ENTRY_POINT
    assert wrapper_target(SETUPTOOLS_SCRIPT.encode(), "bar") is None
    # distlib's wrapper of 'tool = pkg.mod:Cli.run'
    distlib = b"import sys\nfrom pkg.mod import Cli\nif __name__ == '__main__':\n    sys.exit(Cli.run())\n"
    assert wrapper_target(distlib, "tool") == "pkg.mod:Cli.run"
    assert wrapper_target(b'#!/bin/sh\nexec python -m foo "$@"\n', "foo") is None
    # link.json and entry_points.txt often split one callable differently
    assert callable_path("charset_normalizer:cli.cli_detect") == callable_path(
        "charset_normalizer.cli:cli_detect"
    )
    assert callable_path("conda.cli.main_pip:main") != callable_path("conda.cli:main")
    assert callable_path("a.b:c [extra]") == "a.b.c"


def test_render_scripts_keeps_other_sections() -> None:
    original = b"[console_scripts]\nold = m:old\n\n[conda]\nplugin = m.plugin\n"
    rendered = render_scripts(original, {"console_scripts": {"new": "m:new", "a": "m:a"}})
    assert read_scripts(rendered) == {
        "console_scripts": {"a": "m:a", "new": "m:new"},
        "gui_scripts": {},
    }
    assert b"[conda]\nplugin = m.plugin\n" in rendered
    assert read_scripts(b"[broken") is None


@pytest.mark.corpus
def test_condas_own_script_is_shipped_instead_of_its_entry_point(tmp_path: Path) -> None:
    # bin/conda runs conda.cli.main; conda's dist-info says conda.cli.main_pip:main. A wheel
    # that let installers regenerate bin/conda from entry_points.txt made `conda list` fail.
    package = corpus_root() / "channel" / "linux-64" / "conda-24.11.3-py312h7900ff3_0.conda"
    result = convert(package, tmp_path, mapping=default_mapping())
    wheel = read_wheel(result.wheel)
    script = wheel["conda-24.11.3.data/scripts/conda"]
    assert script.startswith(b"#!python\n")
    assert b"    from conda.cli import main\n    sys.exit(main())" in script
    # the only command it declared is conda's script: no entry_points.txt remains
    assert "conda-24.11.3.dist-info/entry_points.txt" not in wheel
    sidecar = _sidecar(wheel)
    assert sidecar["entry_points"] == {
        "console_scripts": {},
        "gui_scripts": {},
        "disagreements": [
            {
                "command": "conda",
                "entry_points_txt": "conda.cli.main_pip:main",
                "conda": "conda.cli:main",
                "source": "bin/conda",
                "wheel": "ships bin/conda; not in [console_scripts]",
            }
        ],
    }
    assert (
        "bin/conda runs conda.cli:main, but entry_points.txt declares "
        "'conda = conda.cli.main_pip:main'; the wheel ships the script conda installs and "
        "does not declare 'conda'"
    ) in result.plan.warnings


@pytest.mark.corpus
def test_matching_wrappers_are_still_left_out(tmp_path: Path) -> None:
    # mamba's bin/mamba is conda-build's wrapper of mamba.mamba:main, as its dist-info says.
    package = corpus_root() / "channel" / "linux-64" / "mamba-1.5.12-py312h9460a1c_0.conda"
    result = convert(package, tmp_path, mapping=default_mapping())
    wheel = read_wheel(result.wheel)
    assert not any(".data/scripts/" in name for name in wheel)
    assert b"mamba = mamba.mamba:main" in wheel["mamba-1.5.12.dist-info/entry_points.txt"]
    skipped = {item.path: item.reason for item in result.plan.skipped}
    assert skipped["bin/mamba"] == "entry-point wrapper for 'mamba': installers regenerate it"
    assert _sidecar(wheel)["entry_points"] == {
        "console_scripts": {"mamba": "mamba.mamba:main"},
        "gui_scripts": {},
        "disagreements": [],
    }


def _windows_package(script_module: str) -> CondaSpec:
    site = "Lib/site-packages"
    return CondaSpec(
        name="foo",
        subdir="win-64",
        build="py312h0_0",
        depends=["python >=3.12,<3.13.0a0", "python_abi 3.12.* *_cp312"],
        files=[
            FileSpec(f"{site}/foo/__init__.py", b"def main(): pass\n"),
            FileSpec(f"{site}/foo/cli.py", b"def main(): pass\n"),
            FileSpec(
                f"{site}/foo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
            ),
            FileSpec(
                f"{site}/foo-1.0.dist-info/entry_points.txt", b"[console_scripts]\nfoo = foo:main\n"
            ),
            FileSpec(
                "Scripts/foo-script.py",
                WRAPPER.format(module=script_module, function="main").encode(),
            ),
            FileSpec("Scripts/foo.exe", b"MZ conda launcher"),
            FileSpec("Scripts/other.bat", b"@echo off\n"),
        ],
    )


def test_windows_wrapper_pair_is_left_out_when_it_runs_the_entry_point(tmp_path: Path) -> None:
    result = _convert(_windows_package("foo"), tmp_path)
    wheel = read_wheel(result.wheel)
    assert sorted(n for n in wheel if ".data/scripts/" in n) == ["foo-1.0.data/scripts/other.bat"]
    skipped = {item.path for item in result.plan.skipped}
    assert {"Scripts/foo-script.py", "Scripts/foo.exe"} <= skipped
    assert wheel["foo-1.0.dist-info/entry_points.txt"] == b"[console_scripts]\nfoo = foo:main\n"
    assert result.plan.warnings == ()


def test_windows_wrapper_pair_that_runs_something_else_is_kept(tmp_path: Path) -> None:
    result = _convert(_windows_package("foo.cli"), tmp_path)
    wheel = read_wheel(result.wheel)
    # the launcher and its script stay together, and the wheel no longer declares 'foo'
    assert sorted(n for n in wheel if ".data/scripts/" in n) == [
        "foo-1.0.data/scripts/foo-script.py",
        "foo-1.0.data/scripts/foo.exe",
        "foo-1.0.data/scripts/other.bat",
    ]
    assert "foo-1.0.dist-info/entry_points.txt" not in wheel
    (note,) = _sidecar(wheel)["entry_points"]["disagreements"]  # type: ignore[index]
    assert note["source"] == "Scripts/foo-script.py"
    assert note["conda"] == "foo.cli:main"
    assert any(
        w.startswith("Scripts/foo-script.py runs foo.cli:main") for w in result.plan.warnings
    )


def test_link_json_entry_points_missing_from_entry_points_txt_are_added(tmp_path: Path) -> None:
    spec = noarch_tool(
        b"[console_scripts]\na = tool:a\n\n[tool.plugins]\np = tool\n",
        ["a = tool:a", "b = tool:b"],
    )
    result = _convert(spec, tmp_path)
    wheel = read_wheel(result.wheel)
    assert read_scripts(wheel["tool-1.0.dist-info/entry_points.txt"]) == {
        "console_scripts": {"a": "tool:a", "b": "tool:b"},
        "gui_scripts": {},
    }
    assert b"[tool.plugins]\np = tool\n" in wheel["tool-1.0.dist-info/entry_points.txt"]
    assert result.plan.warnings == (
        (
            "info/link.json's entry point 'b = tool:b' is missing from entry_points.txt; "
            "added to [console_scripts]"
        ),
    )
    (note,) = _sidecar(wheel)["entry_points"]["disagreements"]  # type: ignore[index]
    assert note == {
        "command": "b",
        "entry_points_txt": None,
        "conda": "tool:b",
        "source": "info/link.json",
        "wheel": "[console_scripts] b = tool:b",
    }


def test_link_json_wins_a_disagreement_with_entry_points_txt(tmp_path: Path) -> None:
    spec = noarch_tool(b"[console_scripts]\na = tool:a\n", ["a = tool.cli:a"])
    result = _convert(spec, tmp_path)
    wheel = read_wheel(result.wheel)
    assert wheel["tool-1.0.dist-info/entry_points.txt"] == b"[console_scripts]\na = tool.cli:a\n"
    assert result.plan.warnings == (
        (
            "entry_points.txt declares 'a = tool:a', but conda installs 'a = tool.cli:a' "
            "(info/link.json); the wheel declares conda's"
        ),
    )


def test_agreeing_or_absent_entry_points_txt_is_not_a_disagreement(tmp_path: Path) -> None:
    # charset-normalizer spells one callable two ways; no entry_points.txt at all is the
    # ordinary synthesised case.
    same = _convert(
        noarch_tool(b"[console_scripts]\na = tool:cli.a\n", ["a = tool.cli:a"]), tmp_path / "a"
    )
    assert same.plan.warnings == ()
    assert read_wheel(same.wheel)["tool-1.0.dist-info/entry_points.txt"] == (
        b"[console_scripts]\na = tool:cli.a\n"
    )
    absent = _convert(noarch_tool(None, ["a = tool:a"]), tmp_path / "b")
    assert absent.plan.warnings == ()
    assert read_wheel(absent.wheel)["tool-1.0.dist-info/entry_points.txt"] == (
        b"[console_scripts]\na = tool:a\n"
    )


def test_unix_script_that_is_no_wrapper_keeps_its_command(tmp_path: Path) -> None:
    site = "lib/python3.12/site-packages"
    spec = CondaSpec(
        depends=["python_abi 3.12.* *_cp312"],
        files=[
            FileSpec(f"{site}/demo/__init__.py", b"def main(): pass\n"),
            FileSpec(
                f"{site}/demo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            ),
            FileSpec(
                f"{site}/demo-1.0.dist-info/entry_points.txt",
                b"[console_scripts]\ndemo = demo:main\nother = demo:main\n",
            ),
            FileSpec("bin/demo", b"#!/bin/sh\nexec echo conda's own demo\n", mode=0o755),
            FileSpec(
                "bin/other",
                f"#!{PLACEHOLDER}/bin/python\n".encode()
                + WRAPPER.format(module="demo", function="main").encode(),
                mode=0o755,
                placeholder=PLACEHOLDER,
            ),
        ],
    )
    result = _convert(spec, tmp_path)
    wheel = read_wheel(result.wheel)
    assert wheel["demo-1.0.data/scripts/demo"] == b"#!/bin/sh\nexec echo conda's own demo\n"
    assert "demo-1.0.data/scripts/other" not in wheel
    assert wheel["demo-1.0.dist-info/entry_points.txt"] == b"[console_scripts]\nother = demo:main\n"
    assert result.plan.warnings[0] == (
        "bin/demo is not a generated wrapper, but entry_points.txt declares 'demo = demo:main'; "
        "the wheel ships the script conda installs and does not declare 'demo'"
    )
