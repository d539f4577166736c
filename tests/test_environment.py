"""Opening an environment: interpreter facts, contents and the tag configuration together."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from conda_envs import find_python312, link_python_into
from condawheel.env.environment import open_environment
from condawheel.env.tagconfig import CONFIG_NAME
from condawheel.errors import ConfigError, InstallError

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
