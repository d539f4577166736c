"""uv and condawheel: what ``condawheel install`` installs is at peace with uv and pip check;
``uv lock`` over the plain view of a shared wheelhouse locks no conda-only version.

Real uv (from PyPI, a test dependency), real conda environments (py-rattler, the corpus),
offline with a private cache.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest
from packaging.tags import Tag

from conda_envs import ENV_A_SPECS, CondaEnvironments, conda_environments
from condawheel.env.wheeltags import installed_tags, rewrite_wheel_file, sidecar_with_origin
from env_support import WheelSpec, make_wheel
from pip_hook_support import ENV_SPECS, condawheel, pip, site_packages, uv

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["conda_environments"]  # a fixture, imported for pytest

OWN = frozenset(
    Tag(*text.split("-"))
    for text in (
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp312-cp312-linux_x86_64",
        "cp312-abi3-linux_x86_64",
        "py3-none-linux_x86_64",
        "cp312-none-any",
        "py3-none-any",
    )
)


@pytest.mark.parametrize(
    ("tags", "noarch", "expected"),
    [
        ("cp312-cp312-conda_linux_64", False, "cp312-cp312-linux_x86_64"),
        ("cp312-abi3-conda_linux_64", False, "cp312-abi3-linux_x86_64"),
        ("py3-none-conda_linux_64", False, "py3-none-linux_x86_64"),
        ("py3-none-conda", True, "py3-none-any"),
        ("cp312-none-conda", True, "cp312-none-any"),
        ("py3-none-any", True, None),  # an ordinary wheel keeps its tags
        ("cp313-cp313-conda_linux_64", False, None),  # nothing accepted: the truth stays
    ],
)
def test_installed_tags(tags: str, noarch: bool, expected: str | None) -> None:
    wheel_tags = frozenset({Tag(*tags.split("-"))})
    chosen = installed_tags(wheel_tags, OWN, base_platform="linux_x86_64", noarch=noarch)
    assert chosen == (None if expected is None else (Tag(*expected.split("-")),))


def test_the_wheel_file_and_the_sidecar_keep_everything_else() -> None:
    text = (
        "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-conda\nBuild: 1_a\n"
    )
    assert rewrite_wheel_file(text, [Tag("py3", "none", "any")]) == (
        "Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-any\nBuild: 1_a\n"
    )
    sidecar = json.loads(
        sidecar_with_origin(
            b'{"schema_version": 1}', "x-1-py3-none-conda.whl", [Tag("py3", "none", "conda")]
        )
    )
    assert sidecar == {
        "schema_version": 1,
        "installed_from": {"wheel": "x-1-py3-none-conda.whl", "tags": ["py3-none-conda"]},
    }


@pytest.fixture(scope="module")
def wheelhouse(
    conda_environments: CondaEnvironments, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    root = tmp_path_factory.mktemp("uv-wheelhouse")
    env_a = conda_environments.create(root / "A", ENV_A_SPECS)
    done = condawheel(
        "sync", str(env_a), "--wheelhouse", str(root / "W"),
        "--system-config", str(root / "no-system.cfg"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root / "W"


@pytest.mark.slow
@pytest.mark.corpus
def test_after_condawheel_install_pip_and_uv_are_at_peace(
    conda_environments: CondaEnvironments, wheelhouse: Path, tmp_path: Path
) -> None:
    prefix = conda_environments.create(tmp_path / "env", (*ENV_SPECS, "pip"))
    done = condawheel(
        "install", "cffi", "requests", "--prefix", str(prefix), "--wheelhouse", str(wheelhouse),
        "--system-config", str(tmp_path / "none"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    python = str(prefix / "bin" / "python")
    cache = tmp_path / "uv-cache"
    checked = pip(prefix, "check")
    assert checked.returncode == 0, checked.stdout
    uv_checked = uv("pip", "check", "--python", python, cache=cache)
    assert uv_checked.returncode == 0, uv_checked.stdout + uv_checked.stderr
    # uv keeps a distribution that satisfies the requirement: idna 3.10 from a conda wheel.
    idna = next(site_packages(prefix).glob("idna-*.dist-info"))
    kept = uv(
        "pip", "install", "--python", python, "--no-index", "--find-links", str(wheelhouse),
        "idna>=3", "cffi", cache=cache,
    )  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert "Uninstalled" not in kept.stderr
    assert "Installed" not in kept.stderr
    assert idna.is_dir()
    assert (idna / "INSTALLER").read_text() == "condawheel\n"
    listed = uv("pip", "list", "--python", python, "--format", "json", cache=cache)
    versions = {item["name"]: item["version"] for item in json.loads(listed.stdout)}
    assert (versions["cffi"], versions["idna"], versions["requests"]) == (
        "1.17.1",
        "3.10",
        "2.32.3",
    )
    pip_listed = pip(prefix, "list", "--format", "json")
    assert {item["name"].lower() for item in json.loads(pip_listed.stdout)} >= {
        "cffi",
        "idna",
        "requests",
    }
    # uv's tags are closed: uv itself never installs a conda wheel.
    refused = uv(
        "pip", "install", "--python", python, "--no-index", "--find-links", str(wheelhouse),
        "tqdm", cache=cache,
    )  # fmt: skip
    assert refused.returncode != 0
    assert (
        "no wheels with valid tags" in " ".join(refused.stderr.split())
        or "has no wheels" in refused.stderr
    )


@pytest.mark.slow
@pytest.mark.corpus
def test_a_universal_lock_over_the_plain_view_locks_no_conda_only_version(
    wheelhouse: Path, tmp_path: Path
) -> None:
    # One wheelhouse: conda's idna 3.10 (a conda wheel only) and an ordinary idna 3.7.
    shared = tmp_path / "W"
    shared.mkdir()
    shutil.copy(next(wheelhouse.glob("idna-3.10-*.whl")), shared)
    make_wheel(
        shared,
        WheelSpec(
            name="idna",
            version="3.7",
            build=None,
            tag="py3-none-any",
            files={"idna/__init__.py": b""},
        ),
    )
    indexed = condawheel("index", str(shared))
    assert indexed.returncode == 0, indexed.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["idna"]\n'
    )

    def locked(view: str) -> str:
        done = uv(
            "lock", "--no-config", "--directory", str(project),
            "--default-index", (shared / view).as_uri(), cache=tmp_path / "uv-cache",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lock = (project / "uv.lock").read_text()
        [version] = [
            block.split('version = "', 1)[1].split('"', 1)[0]
            for block in lock.split("[[package]]")
            if block.strip().startswith('name = "idna"')
        ]
        return version

    assert locked("simple") == "3.10"  # the whole index: a conda-only version gets locked
    assert locked("simple-plain") == "3.7"
    conda_view = json.loads((shared / "simple-conda" / "idna" / "index.json").read_text())
    assert [item["filename"] for item in conda_view["files"]] == [
        next(shared.glob("idna-3.10-*.whl")).name
    ]
