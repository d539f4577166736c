"""``tags``, ``install``, ``uninstall`` and ``hook`` from the command line, in-process.

A real prefix (the machine's Python 3.12 linked in, a ``conda-meta`` folder) and real pip
resolving against a real wheelhouse or index: the flags pip users expect (``-r``,
``--no-deps``, ``-i``, ``--extra-index-url``, ``-U``, ``--dry-run``, ``-q``, ``-v``).
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from cli_runner import invoke
from conda_envs import find_python312, link_python_into
from env_support import SITE, WheelSpec, make_wheel, sidecar
from test_resolve import mixed_wheelhouse

if TYPE_CHECKING:
    from pathlib import Path

    from typer.testing import Result

__all__ = ["mixed_wheelhouse"]  # a fixture, imported for pytest

DEMO_CONDA = "demo-1.0-0_py_0-py3-none-conda.whl"
APP_CONDA = "app-1.0-0_py_0-py3-none-conda.whl"


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    root = tmp_path / "env"
    link_python_into(root, find_python312())
    (root / "conda-meta").mkdir()
    return root


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CONDAWHEEL_WHEELHOUSE", "CONDA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.chdir(tmp_path)


def install(prefix: Path, *args: str | Path) -> Result:
    return invoke("install", "-p", prefix, "--system-config", "no-system.cfg", *args)


def installed(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, result.stderr
    return {item["name"]: item["wheel"] for item in json.loads(result.stdout)["installed"]}


def origin(prefix: Path) -> str:
    code = "import demo; print(demo.ORIGIN)"
    done = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.slow
def test_install_from_a_requirement_file(
    prefix: Path, mixed_wheelhouse: Path, tmp_path: Path
) -> None:
    (tmp_path / "requirements.txt").write_text("# what the app needs\napp  # and its demo\n")
    done = install(prefix, "-r", "requirements.txt", "-w", mixed_wheelhouse, "--json")
    assert installed(done) == {"app": APP_CONDA, "demo": DEMO_CONDA}
    assert origin(prefix) == "conda"


@pytest.mark.slow
def test_install_no_deps_installs_the_requirement_alone(
    prefix: Path, mixed_wheelhouse: Path
) -> None:
    done = install(prefix, "app", "--no-deps", "-w", mixed_wheelhouse, "--json")
    assert installed(done) == {"app": APP_CONDA}
    assert not (prefix / SITE / "demo").exists()


@pytest.mark.slow
def test_install_dry_run_writes_nothing_and_says_what_it_would_do(
    prefix: Path, mixed_wheelhouse: Path
) -> None:
    done = install(prefix, "app", "--dry-run", "-w", mixed_wheelhouse)
    assert done.exit_code == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == [
        f"would install app 1.0 ({APP_CONDA})",
        f"would install demo 1.0 ({DEMO_CONDA})",
    ]
    assert not (prefix / SITE / "app").exists()


@pytest.mark.slow
def test_install_upgrade_replaces_what_is_installed(prefix: Path, mixed_wheelhouse: Path) -> None:
    assert installed(install(prefix, "demo==1.0", "-w", mixed_wheelhouse, "--json")) == {
        "demo": DEMO_CONDA
    }
    kept = install(prefix, "demo", "--prefer", "newest", "-w", mixed_wheelhouse)
    assert kept.stdout.splitlines() == [
        "not reinstalled: demo 1.0: already installed (by condawheel)"
    ]
    upgraded = install(prefix, "demo", "-U", "--prefer", "newest", "-w", mixed_wheelhouse)
    assert upgraded.exit_code == 0, upgraded.stderr
    assert upgraded.stdout.splitlines() == [
        "installed demo 1.1 (demo-1.1-py3-none-any.whl, replacing 1.0)"
    ]
    assert origin(prefix) == "any"


@pytest.mark.slow
def test_install_from_an_index_and_an_extra_index(
    prefix: Path, mixed_wheelhouse: Path, tmp_path: Path
) -> None:
    # A wheelhouse with the app only; its dependency comes from the extra index.
    apps = tmp_path / "apps"
    make_wheel(
        apps,
        WheelSpec(
            name="app",
            build="0_py_0",
            tag="py3-none-conda",
            files={"app/__init__.py": b""},
            requires_dist=["demo"],
            sidecar=sidecar(conda_name="app", noarch="python"),
        ),
    )
    index = (mixed_wheelhouse / "simple").as_uri()
    alone = install(prefix, "app", "-w", apps, "--dry-run")
    assert alone.exit_code == 1
    assert alone.stderr.startswith("error: pip: cannot resolve app: ")
    extra = install(prefix, "app", "-w", apps, "--extra-index-url", index, "--json", "-v")
    # The conda build of demo wins over the index's newer wheel: the preference rule sees
    # the extra index too.
    assert installed(extra) == {"app": APP_CONDA, "demo": DEMO_CONDA}
    assert "preferred the conda build of demo: " + DEMO_CONDA in extra.stderr.splitlines()
    assert extra.stderr.splitlines()[0].startswith("resolved by pip ")
    other = prefix.parent / "other"
    link_python_into(other, find_python312())
    (other / "conda-meta").mkdir()
    assert installed(install(other, "demo", "-i", index, "--json")) == {"demo": DEMO_CONDA}


def test_install_usage_errors(prefix: Path, tmp_path: Path) -> None:
    nothing = install(prefix, "-w", tmp_path)
    assert nothing.exit_code == 2
    assert nothing.stderr.splitlines()[-1] == "error: give a REQUIREMENT or -r FILE"
    (tmp_path / "empty.txt").write_text("# nothing yet\n")
    empty = install(prefix, "-r", "empty.txt", "-w", tmp_path)
    assert empty.exit_code == 2
    assert empty.stderr.splitlines()[-1] == "error: the requirement files list no requirement"
    (tmp_path / "index.txt").write_text("demo\n-i https://example.org/simple\n")
    option = install(prefix, "-r", "index.txt", "-w", tmp_path)
    assert option.exit_code == 1
    assert option.stderr.startswith("error: index.txt:2: -i is not supported in a requirement")
    both = install(prefix, "demo", "-w", tmp_path, "-i", "https://example.org/simple")
    assert both.exit_code == 2
    assert both.stderr.splitlines()[-1] == "error: give --wheelhouse or --index-url, not both"
    neither = install(prefix, "demo")
    assert neither.exit_code == 2
    assert "set $CONDAWHEEL_WHEELHOUSE" in neither.stderr
    no_prefix = invoke("install", "demo", "-w", tmp_path)
    assert no_prefix.exit_code == 2
    assert no_prefix.stderr.splitlines()[-1] == (
        "error: no --prefix given and no active conda environment ($CONDA_PREFIX)"
    )
    bad_choice = install(prefix, "demo", "--prefer", "oldest")
    assert bad_choice.stderr.splitlines()[-1] == (
        "error: Invalid value for '--prefer': 'oldest' is not one of 'conda', 'newest'"
    )


@pytest.mark.slow
def test_uninstall_dry_run_then_for_real(prefix: Path, mixed_wheelhouse: Path) -> None:
    assert installed(install(prefix, "demo", "-w", mixed_wheelhouse, "--json"))
    files = prefix / SITE / "demo" / "__init__.py"
    dry = invoke("uninstall", "demo", "-p", prefix, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.startswith("would remove demo 1.0 (")
    assert files.is_file()
    done = invoke("uninstall", "demo", "-p", prefix, "--json")
    assert done.exit_code == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["name"], record["version"], record["dry_run"]) == ("demo", "1.0", False)
    assert not files.exists()
    again = invoke("uninstall", "demo", "-p", prefix)
    assert again.exit_code == 1
    assert again.stderr.startswith("error: demo: ")


def test_tags_and_hooks(prefix: Path, tmp_path: Path) -> None:
    tags = invoke("tags", "-p", prefix, "--system-config", tmp_path / "none.cfg", "--json")
    assert tags.exit_code == 0, tags.stderr
    record = json.loads(tags.stdout)
    assert record["conda_tags"][0] == "cp312-cp312-conda_linux_64"
    text = invoke("tags", "-p", prefix, "--system-config", tmp_path / "none.cfg")
    assert text.stdout.splitlines()[0] == "cp312-cp312-conda_linux_64"
    assert text.stderr.startswith(
        f"{len(record['conda_tags'])} conda tags (conda_linux_64, conda; from default), then "
    )
    hooked = invoke("hook", "install", "-p", prefix, "-w", tmp_path / "W", "--json")
    assert hooked.exit_code == 0, hooked.stderr
    written = json.loads(hooked.stdout)["written"]
    assert "binary-compatibility.cfg" in written
    again = invoke("hook", "install", "-p", prefix, "-w", tmp_path / "W")
    assert again.stdout == ""
    assert again.stderr == "nothing to do\n"
    removed = invoke("hook", "remove", "-p", prefix)
    assert removed.exit_code == 0, removed.stderr
    # What was written goes, and the record of it.
    assert sorted(removed.stdout.splitlines()) == sorted(
        f"removed {path}" for path in [*written, "etc/condawheel/hook.json"]
    )
