"""Opening an environment: interpreter facts, contents and the tag configuration together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from conda_envs import find_python312, link_python_into
from condawheel.env.environment import environment_path, open_environment
from condawheel.env.tagconfig import CONFIG_NAME
from condawheel.errors import ConfigError, InstallError
from env_support import WheelSpec, install, make_wheel

if TYPE_CHECKING:
    from pathlib import Path


def _prefix(root: Path, *, conda: bool = True) -> Path:
    link_python_into(root, find_python312())
    if conda:
        (root / "conda-meta").mkdir()
    return root


def test_conda_environment_gets_default_conda_tags(tmp_path: Path) -> None:
    environment = open_environment(_prefix(tmp_path), system_config=None)
    assert environment.subdir == "linux-64"
    assert environment.entry is not None
    assert environment.entry.source == "default"
    assert environment.tags.conda_platforms == ("conda_linux_64", "conda")
    assert str(environment.tags.ordered[0]) == "cp312-cp312-conda_linux_64"


def test_configuration_overrides_the_default(tmp_path: Path) -> None:
    prefix = _prefix(tmp_path / "env")
    system = tmp_path / "system.cfg"
    system.write_text(json.dumps({"linux_x86_64": {"install": ["site_tag"]}}))
    environment = open_environment(prefix, system_config=system)
    assert environment.tags.conda_platforms == ("site_tag",)
    (prefix / CONFIG_NAME).write_text(
        json.dumps({"linux_x86_64": {"build": "condaforge_linux_64", "install": ["condaforge"]}})
    )
    environment = open_environment(prefix, system_config=system)
    assert environment.tags.conda_platforms == ("condaforge_linux_64", "condaforge")
    assert environment.config.sources == (str(system), str(prefix / CONFIG_NAME))
    (prefix / CONFIG_NAME).write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        open_environment(prefix, system_config=system)


def test_plain_environment_has_no_conda_tags(tmp_path: Path) -> None:
    environment = open_environment(_prefix(tmp_path, conda=False), system_config=None)
    assert environment.entry is None
    assert environment.tags.conda == ()
    assert not environment.state.is_conda


def test_interpreter_of_another_installation_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(find_python312())  # no pyvenv.cfg
    with pytest.raises(InstallError, match=r"reports sys\.prefix"):
        open_environment(tmp_path, system_config=None)
    with pytest.raises(InstallError, match="no such environment"):
        open_environment(tmp_path / "missing", system_config=None)


def test_a_prefix_spelled_with_dot_dot_is_normalised(tmp_path: Path) -> None:
    """`--prefix ../envs/b` must not put `..` into shebangs or the tags' report."""
    prefix = _prefix(tmp_path / "envs" / "b")
    work = tmp_path / "work"
    work.mkdir()
    spelled = work / ".." / "envs" / "b"
    environment = open_environment(spelled, system_config=None)
    assert environment.prefix == prefix
    wheel = make_wheel(
        tmp_path / "wh",
        WheelSpec(
            files={"demo/__init__.py": b"def main():\n    pass\n"},
            console_scripts={"demo": "demo:main"},
        ),
    )
    install(spelled, [wheel])
    shebang = (prefix / "bin" / "demo").read_bytes().splitlines()[0]
    assert shebang == f"#!{prefix}/bin/python".encode()
    variables = {key: value for key, value in os.environ.items() if key != "CONDA_PREFIX"}
    run = subprocess.run(
        [sys.executable, "-m", "condawheel", "tags", "--json", "--prefix", "../envs/b"],
        capture_output=True, text=True, check=False, env=variables, cwd=work,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["prefix"] == str(prefix)
    assert record["python"] == str(prefix / "bin" / "python")


def test_an_environment_path_keeps_symlinks_but_resolves_dotdot_as_the_os_does(
    tmp_path: Path,
) -> None:
    root = tmp_path.resolve()
    (root / "real" / "sub").mkdir(parents=True)
    (root / "real" / "env").mkdir()
    (root / "links").mkdir()
    (root / "links" / "L").symlink_to(root / "real" / "sub")
    (root / "links" / "env").mkdir()  # what a textual `..` would wrongly pick
    (root / "envlink").symlink_to(root / "real" / "env")

    assert environment_path(root / "links" / "L" / ".." / "env") == root / "real" / "env"
    assert environment_path(root / "envlink") == root / "envlink"  # spelling kept


@pytest.mark.parametrize(
    "command",
    [["tags"], ["install", "demo", "--wheelhouse", "W"], ["hook", "install", "--wheelhouse", "W"]],
    ids=["tags", "install", "hook-install"],
)
@pytest.mark.parametrize("with_python", [False, True], ids=["empty", "plain-python"])
def test_a_folder_without_conda_meta_is_not_a_conda_environment(
    tmp_path: Path, command: list[str], with_python: bool
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    if with_python:
        link_python_into(folder, find_python312())
    before = sorted(folder.rglob("*"))
    variables = {key: value for key, value in os.environ.items() if key != "CONDA_PREFIX"}
    run = subprocess.run(
        [sys.executable, "-m", "condawheel", *command, "--prefix", str(folder)],
        capture_output=True, text=True, check=False, env=variables, cwd=tmp_path,
    )  # fmt: skip
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == f"error: {folder}: not a conda environment (no conda-meta/)\n"
    assert sorted(folder.rglob("*")) == before
    assert not (tmp_path / "W").exists()
    with pytest.raises(InstallError, match=r"not a conda environment \(no conda-meta/\)"):
        open_environment(folder, system_config=None, conda_only=True)
