"""Environment hooks: binary-compatibility.cfg and activation scripts, written and removed."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from conda_envs import find_python312, link_python_into
from condawheel.env.hooks import (
    BACKUP_VARIABLE,
    STATE_PATH,
    VARIABLE,
    install_hook,
    remove_hook,
    render_scripts,
)
from condawheel.env.tagconfig import CONFIG_NAME, PlatformEntry, default_entry, load_tag_config
from condawheel.errors import ConfigError
from conftest import unmeasured_environment

if TYPE_CHECKING:
    from pathlib import Path

ENTRY = default_entry("linux-64")
TRICKY = "/data/wheel house/it's $HOME `here` \\ 100%!"
POSIX_SHELLS = [shell for shell in ("sh", "bash", "dash", "zsh") if shutil.which(shell)]


def files_of(prefix: Path) -> list[str]:
    return sorted(str(path.relative_to(prefix)) for path in prefix.rglob("*") if path.is_file())


def test_install_then_remove_is_idempotent(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "W"
    prefix = tmp_path / "env"
    prefix.mkdir()
    first = install_hook(prefix, wheelhouse, base_platform="linux_x86_64", entry=ENTRY)
    assert CONFIG_NAME in first.written
    assert "etc/conda/activate.d/condawheel.sh" in first.written
    assert len(first.written) == 13  # the config and 6 shells x (activate, deactivate)
    config = load_tag_config(prefix, system_path=None)
    assert config.entry("linux_x86_64") == PlatformEntry(
        "conda_linux_64", ("conda_linux_64", "conda"), str(prefix / CONFIG_NAME)
    )
    second = install_hook(prefix, wheelhouse, base_platform="linux_x86_64", entry=ENTRY)
    assert second.written == ()
    assert len(second.unchanged) == 13
    # Another wheelhouse rewrites the scripts only.
    third = install_hook(prefix, tmp_path / "W2", base_platform="linux_x86_64", entry=ENTRY)
    assert CONFIG_NAME not in third.written
    assert len(third.written) == 6  # only activation names the wheelhouse
    removed = remove_hook(prefix)
    assert CONFIG_NAME in removed.removed
    assert STATE_PATH in removed.removed
    assert files_of(prefix) == []
    assert list(prefix.iterdir()) == [prefix / "etc"] or list(prefix.iterdir()) == []
    again = remove_hook(prefix)
    assert again.removed == ()


def test_remove_restores_an_existing_configuration(tmp_path: Path) -> None:
    prefix = tmp_path
    original = {
        "linux_x86_64": {"build": "site_tag", "install": ["site_tag"]},
        "linux_aarch64": {"install": ["other"]},
    }
    (prefix / CONFIG_NAME).write_text(json.dumps(original))
    install_hook(prefix, tmp_path / "W", base_platform="linux_x86_64", entry=ENTRY)
    merged = load_tag_config(prefix, system_path=None)
    assert merged.entry("linux_x86_64") is not None
    assert merged.entry("linux_x86_64").build == "conda_linux_64"  # type: ignore[union-attr]
    assert merged.entry("linux_aarch64") is not None
    install_hook(prefix, tmp_path / "W", base_platform="linux_x86_64", entry=ENTRY)  # again
    remove_hook(prefix)
    restored = json.loads((prefix / CONFIG_NAME).read_text())
    assert restored == original


def test_remove_keeps_what_someone_changed(tmp_path: Path) -> None:
    prefix = tmp_path
    install_hook(prefix, tmp_path / "W", base_platform="linux_x86_64", entry=ENTRY)
    edited = prefix / "etc/conda/activate.d/condawheel.sh"
    edited.write_text(edited.read_text() + "echo mine\n")
    (prefix / CONFIG_NAME).write_text(json.dumps({"linux_x86_64": {"install": ["mine"]}}))
    result = remove_hook(prefix)
    assert set(result.kept) == {"etc/conda/activate.d/condawheel.sh", CONFIG_NAME}
    assert edited.exists()
    assert "mine" in (prefix / CONFIG_NAME).read_text()
    assert not (prefix / "etc/conda/deactivate.d/condawheel.sh").exists()


def test_install_refuses_foreign_files_and_bad_configuration(tmp_path: Path) -> None:
    prefix = tmp_path
    (prefix / "etc/conda/deactivate.d").mkdir(parents=True)
    (prefix / "etc/conda/deactivate.d/condawheel.xsh").write_text("# someone else's\n")
    theirs = {"linux_aarch64": {"build": "site_aarch64", "install": []}}
    (prefix / CONFIG_NAME).write_text(json.dumps(theirs))
    with pytest.raises(ConfigError, match=r"condawheel\.xsh: exists and was not written by"):
        install_hook(prefix, tmp_path / "W", base_platform="linux_x86_64", entry=ENTRY)
    # Refused before anything was written: no script, no state, the configuration as it was.
    assert files_of(prefix) == [CONFIG_NAME, "etc/conda/deactivate.d/condawheel.xsh"]
    assert json.loads((prefix / CONFIG_NAME).read_text()) == theirs
    assert (prefix / "etc/conda/deactivate.d/condawheel.xsh").read_text() == "# someone else's\n"
    (prefix / "etc/conda/deactivate.d/condawheel.xsh").unlink()
    (prefix / CONFIG_NAME).write_text("[1]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        install_hook(prefix, tmp_path / "W", base_platform="linux_x86_64", entry=ENTRY)
    with pytest.raises(ConfigError, match="control characters"):
        render_scripts("/a\nb")


def test_a_hook_state_too_deep_to_parse_is_one_line(tmp_path: Path) -> None:
    install_hook(tmp_path, tmp_path / "W", base_platform="linux_x86_64", entry=ENTRY)
    (tmp_path / STATE_PATH).write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ConfigError) as caught:
        remove_hook(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / STATE_PATH}: unreadable hook state: not valid JSON (nested too deeply)"
    )


def test_remove_without_state_removes_only_marked_scripts(tmp_path: Path) -> None:
    install_hook(tmp_path, tmp_path / "W", base_platform="linux_x86_64", entry=ENTRY)
    (tmp_path / STATE_PATH).unlink()
    (tmp_path / "etc/conda/activate.d/other.sh").write_text("export OTHER=1\n")
    result = remove_hook(tmp_path)
    assert len(result.removed) == 12
    assert (tmp_path / "etc/conda/activate.d/other.sh").exists()
    assert (tmp_path / CONFIG_NAME).exists()  # without a state, its origin is unknown


@pytest.mark.parametrize("shell", POSIX_SHELLS)
@pytest.mark.parametrize("previous", [None, "/previous/wheelhouse"])
def test_posix_scripts_export_and_restore(tmp_path: Path, shell: str, previous: str | None) -> None:
    scripts = {item.path: item.content for item in render_scripts(TRICKY)}
    activate = tmp_path / "activate.sh"
    deactivate = tmp_path / "deactivate.sh"
    activate.write_bytes(scripts["etc/conda/activate.d/condawheel.sh"])
    deactivate.write_bytes(scripts["etc/conda/deactivate.d/condawheel.sh"])
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CONDA")}
    environment.pop(VARIABLE, None)
    if previous is not None:
        environment[VARIABLE] = previous
    script = (
        f'. "{activate}"; printf "%s\\n" "${VARIABLE}"; . "{deactivate}"; '
        f'printf "%s|%s\\n" "${{{VARIABLE}-unset}}" "${{{BACKUP_VARIABLE}-unset}}"'
    )
    done = subprocess.run(
        [shell, "-c", script], capture_output=True, text=True, check=True, env=environment
    )
    active, after = done.stdout.splitlines()
    assert active == TRICKY
    assert after == f"{previous or 'unset'}|unset"


def test_other_shells_quote_the_wheelhouse() -> None:
    scripts = {
        item.path.rsplit(".", 1)[1] + item.path.split("/")[2]: item.content
        for item in render_scripts(TRICKY)
    }
    assert (
        b"setenv CONDAWHEEL_WHEELHOUSE '/data/wheel house/it'\"'\"'s $HOME `here` \\ 100%'\\!"
        in (scripts["cshactivate.d"])
    )
    assert (
        b"set -gx CONDAWHEEL_WHEELHOUSE '/data/wheel house/it\\'s $HOME `here` \\\\ 100%!'"
        in (scripts["fishactivate.d"])
    )
    assert (
        b"$Env:CONDAWHEEL_WHEELHOUSE = '/data/wheel house/it''s $HOME `here` \\ 100%!'"
        in (scripts["ps1activate.d"])
    )
    assert (
        b'@SET "CONDAWHEEL_WHEELHOUSE=/data/wheel house/it\'s $HOME `here` \\ 100%%!"\r\n'
        in (scripts["batactivate.d"])
    )
    assert json.dumps(TRICKY).encode() in scripts["xshactivate.d"]
    assert b"unsetenv CONDAWHEEL_WHEELHOUSE" in scripts["cshdeactivate.d"]
    assert b"set -e CONDAWHEEL_WHEELHOUSE" in scripts["fishdeactivate.d"]
    assert b"Remove-Item Env:CONDAWHEEL_WHEELHOUSE" in scripts["ps1deactivate.d"]
    assert b'SET "CONDAWHEEL_WHEELHOUSE="' in scripts["batdeactivate.d"]
    assert b"del $CONDAWHEEL_WHEELHOUSE" in scripts["xshdeactivate.d"]


def test_hook_commands(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    link_python_into(prefix, find_python312())
    (prefix / "conda-meta").mkdir()
    environment = {key: value for key, value in os.environ.items() if key != "CONDA_PREFIX"}

    def condawheel(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "condawheel", *arguments],
            capture_output=True, text=True, check=False, env=environment,
        )  # fmt: skip

    wheelhouse = tmp_path / "W"
    done = condawheel(
        "hook", "install", "--prefix", str(prefix), "--wheelhouse", str(wheelhouse),
        "--platform-prefix", "condaforge", "--system-config", str(tmp_path / "no"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {CONFIG_NAME}" in done.stdout.splitlines()
    tags = condawheel(
        "tags", "--prefix", str(prefix), "--system-config", str(tmp_path / "no"), "--json"
    )
    assert json.loads(tags.stdout)["conda_platforms"] == ["condaforge_linux_64", "condaforge"]
    activate = (prefix / "etc/conda/activate.d/condawheel.sh").read_text()
    assert f"export {VARIABLE}='{wheelhouse}'" in activate
    # condawheel install reads the wheelhouse from the variable activation sets.
    environment[VARIABLE] = str(wheelhouse)
    wheelhouse.mkdir()
    dry = condawheel("install", "nothing-here", "--prefix", str(prefix), "--dry-run")
    assert dry.returncode == 1
    assert "nothing-here" in dry.stderr
    missing = condawheel("install", "x", "--prefix", str(prefix), "--index-url", "file:///x",
                         "--wheelhouse", str(wheelhouse))  # fmt: skip
    assert missing.returncode == 2
    removed = condawheel("hook", "remove", "--prefix", str(prefix), "--json")
    assert removed.returncode == 0, removed.stderr
    assert CONFIG_NAME in json.loads(removed.stdout)["removed"]
    assert not (prefix / CONFIG_NAME).exists()


def _hook_cli(
    prefix: Path, *arguments: str, limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    # A file-size limit leaves no room for coverage data (conftest.unmeasured_environment).
    base = os.environ if limit is None else unmeasured_environment()
    environment = {key: value for key, value in base.items() if key != "CONDA_PREFIX"}

    def limited() -> None:  # `ulimit -f`: a write past `limit` bytes fails with EFBIG
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "condawheel", "hook", *arguments, "--prefix", str(prefix)],
        capture_output=True, text=True, check=False, env=environment, preexec_fn=limited,
    )  # fmt: skip


def _snapshot(prefix: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(prefix)): path.read_bytes()
        for path in sorted(prefix.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def test_hook_install_refuses_a_directory_in_the_way(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    link_python_into(prefix, find_python312())
    (prefix / "conda-meta").mkdir()
    theirs = {"linux_aarch64": {"build": "site_aarch64", "install": []}}
    (prefix / CONFIG_NAME).write_text(json.dumps(theirs))
    in_the_way = prefix / "etc/conda/activate.d/condawheel.fish"
    in_the_way.mkdir(parents=True)
    before = _snapshot(prefix)
    run = _hook_cli(prefix, "install", "--wheelhouse", str(tmp_path / "W"))
    assert run.returncode == 1
    assert run.stderr.strip() == (
        f"error: {in_the_way}: is a directory where condawheel writes a file; move it away; "
        "nothing was written"
    )
    assert _snapshot(prefix) == before
    assert in_the_way.is_dir()
    assert not (prefix / STATE_PATH).exists()


def test_a_hook_install_failing_part_way_is_undone_by_hook_remove(tmp_path: Path) -> None:
    """The state (the intent) is written first: whatever fails after it, remove undoes it."""
    prefix = tmp_path / "env"
    link_python_into(prefix, find_python312())
    (prefix / "conda-meta").mkdir()
    # Many entries of other platforms make the configuration larger than the state, so
    # that a file-size limit between the two lets the state be written and fails the
    # configuration, as a disk filling up between the two writes would.
    theirs = {f"platform_{n}": {"install": [f"tag_{n}" * 8]} for n in range(200)}
    (prefix / CONFIG_NAME).write_text(json.dumps(theirs))
    before = _snapshot(prefix)
    limit = 8192
    assert len((prefix / CONFIG_NAME).read_bytes()) > limit
    run = _hook_cli(prefix, "install", "-w", str(tmp_path / "W"), limit=limit)
    assert run.returncode == 1
    assert run.stderr.strip() == (
        f"error: {prefix / CONFIG_NAME}: cannot be written: File too large; "
        "`condawheel hook remove` undoes what was written"
    )
    assert (prefix / STATE_PATH).is_file()  # the intent, written first
    after = _snapshot(prefix)
    assert after.pop(STATE_PATH)
    assert after == before  # no temporary file left, the configuration untouched
    removed = _hook_cli(prefix, "remove", "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["kept"] == []
    assert removed.stderr == ""
    assert _snapshot(prefix) == before


def test_remove_takes_the_scripts_an_unfinished_reinstall_left(tmp_path: Path) -> None:
    """A reinstall records the scripts it replaces: left in place by a failure, still ours."""
    prefix = tmp_path
    install_hook(prefix, tmp_path / "W1", base_platform="linux_x86_64", entry=ENTRY)
    script = prefix / "etc/conda/activate.d/condawheel.sh"
    first = script.read_bytes()
    install_hook(prefix, tmp_path / "W2", base_platform="linux_x86_64", entry=ENTRY)
    script.write_bytes(first)  # as if the second install failed before rewriting it
    again = install_hook(prefix, tmp_path / "W2", base_platform="linux_x86_64", entry=ENTRY)
    assert again.written == ("etc/conda/activate.d/condawheel.sh",)
    script.write_bytes(first)
    result = remove_hook(prefix)
    assert result.kept == ()
    assert not script.exists()
    assert files_of(prefix) == []
