"""Probing an environment's own interpreter (a real subprocess, not the running Python)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from packaging.tags import Tag, sys_tags

from conda_envs import find_python312, link_python_into
from condawheel.env.interpreter import (
    find_python,
    isolated_packages,
    parse_probe_output,
    probe_interpreter,
)
from condawheel.errors import InstallError


def test_probe_reports_the_target_interpreter_not_the_running_one(tmp_path: Path) -> None:
    link_python_into(tmp_path, find_python312())
    facts = probe_interpreter(find_python(tmp_path))
    assert facts.python == tmp_path / "bin" / "python"
    assert facts.version_info == (3, 12)
    assert facts.interpreter == "cp312"
    assert Path(facts.prefix).samefile(tmp_path)
    assert facts.is_venv
    assert Path(facts.paths["purelib"]) == Path(facts.prefix, "lib/python3.12/site-packages")
    assert Path(facts.paths["data"]) == Path(facts.prefix)
    assert facts.sys_tags[0] == Tag("cp312", "cp312", facts.platforms[0])
    assert facts.abis()[:2] == ("cp312", "abi3")
    assert facts.tags().abis == ("cp312",)
    assert facts.cache_tag == "cpython-312"
    assert facts.abbreviation == "cp"
    if sys.version_info[:2] != (3, 12):  # the dev venv runs 3.11: the answer is not ours
        assert facts.interpreter != f"cp{sys.version_info[0]}{sys.version_info[1]}"


def test_probe_of_the_running_interpreter_agrees_with_packaging() -> None:
    facts = probe_interpreter(Path(sys.executable))
    assert facts.sys_tags == tuple(sys_tags())
    assert facts.pip is not None


def test_probe_failures(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="no Python interpreter"):
        find_python(tmp_path)
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho oops >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(InstallError, match="exit code 3: oops"):
        probe_interpreter(fake)
    with pytest.raises(InstallError, match="cannot run"):
        probe_interpreter(tmp_path / "missing")


def test_parse_probe_output_rejects_nonsense() -> None:
    with pytest.raises(InstallError, match="unexpected answer"):
        parse_probe_output(Path("python"), json.dumps({"version": "3.12.1"}))


def test_isolated_packages_lend_only_what_is_asked() -> None:
    with isolated_packages("packaging") as lent:
        assert sorted(item.name for item in lent.iterdir()) == ["packaging"]
        assert (lent / "packaging" / "tags.py").is_file()
    assert not lent.exists()
    with pytest.raises(InstallError, match="not importable"), isolated_packages("no_such_pkg_x"):
        pass
