"""condawheel uninstall: remove by RECORD, never a conda-owned file, links not followed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name

from condawheel.env.environment import open_environment
from condawheel.env.paths import survey_real_paths
from condawheel.env.uninstall import decide_removal, read_record_rows, removal_paths, uninstall
from condawheel.errors import InstallError
from env_support import SITE, ZSTD, WheelSpec, conda_record, install, make_wheel, prefix, sidecar

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["prefix"]  # the fixture, imported for pytest


def demo_wheel(tmp_path: Path) -> Path:
    spec = WheelSpec(
        name="demo",
        files={
            "demo/__init__.py": b"def main():\n    pass\n",
            "demo/sub/mod.py": b"X = 1\n",
            "{data}/data/lib/pkgconfig/demo.pc": b"prefix=/x\n",
            "{data}/data/share/demo/readme": b"hi\n",
        },
        console_scripts={"demo": "demo:main"},
        sidecar=sidecar(
            symlinks=[
                # A link to a directory full of conda's files: removing the link must not
                # follow it.
                {
                    "path": "share/demo-lib",
                    "wheel_path": None,
                    "target": "../lib",
                    "kind": "directory",
                }
            ],
            directories=["share/demo/empty"],
        ),
    )
    return make_wheel(tmp_path / "wh", spec)


def test_uninstall_removes_what_was_installed(prefix: Path, tmp_path: Path) -> None:
    (prefix / SITE).mkdir(parents=True)  # a scheme root: it stays
    before = sorted(str(path.relative_to(prefix)) for path in prefix.rglob("*"))
    install(prefix, [demo_wheel(tmp_path)])
    root = open_environment(prefix, system_config=None).prefix
    assert (root / SITE / "demo/__pycache__/__init__.cpython-312.pyc").is_file()
    assert (root / "share/demo-lib").is_symlink()
    environment = open_environment(prefix, system_config=None)
    removed = uninstall(["Demo"], state=environment.state, facts=environment.facts)
    assert [(item.name, item.version) for item in removed] == [("demo", "1.0")]
    after = sorted(str(path.relative_to(prefix)) for path in prefix.rglob("*"))
    assert after == before
    assert (prefix / "lib/libzstd.so.1").read_bytes() == b"\x7fELF zstd"


def test_uninstall_refuses_conda_distributions(prefix: Path) -> None:
    conda_record(
        prefix,
        "tqdm",
        "4.67.1",
        "pyhd8ed1ab_1",
        {f"{SITE}/tqdm-4.67.1.dist-info/METADATA": b"Name: tqdm\nVersion: 4.67.1\n"},
    )
    environment = open_environment(prefix, system_config=None)
    with pytest.raises(InstallError) as caught:
        uninstall(["tqdm"], state=environment.state, facts=environment.facts)
    assert "installed by the conda package tqdm-4.67.1-pyhd8ed1ab_1" in caught.value.reason
    assert f"conda remove --prefix {environment.prefix} tqdm" in caught.value.reason
    with pytest.raises(InstallError, match="not installed"):
        uninstall(["nope"], state=environment.state, facts=environment.facts)


def test_uninstall_names_a_conda_package_without_distribution(prefix: Path) -> None:
    """zstd (a C library conda installed) is no Python distribution: conda removes it."""
    environment = {key: value for key, value in os.environ.items() if key != "CONDA_PREFIX"}
    refused = subprocess.run(
        [sys.executable, "-m", "condawheel", "uninstall", "zstd", "--prefix", str(prefix)],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.strip() == (
        f"error: zstd: a conda package (conda-meta/{ZSTD}.json), not a distribution "
        f"condawheel or pip installed; remove it with conda (conda remove --prefix {prefix} zstd)"
    )
    assert (prefix / "lib/libzstd.so.1").read_bytes() == b"\x7fELF zstd"


def _hand_made(prefix: Path, record: str) -> None:
    dist_info = prefix / SITE / "evil-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Name: evil\nVersion: 1.0\n")
    (dist_info / "INSTALLER").write_text("pip\n")
    (dist_info / "RECORD").write_text(record)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("../../../lib/libzstd.so.1,,", f"which the conda package {ZSTD} owns"),
        ("../../../../../outside,,", "outside the environment"),
    ],
)
def test_uninstall_refuses_dangerous_records(prefix: Path, row: str, reason: str) -> None:
    _hand_made(prefix, f"evil-1.0.dist-info/METADATA,,\n{row}\n")
    environment = open_environment(prefix, system_config=None)
    with pytest.raises(InstallError, match=reason):
        uninstall(["evil"], state=environment.state, facts=environment.facts)
    assert (prefix / "lib/libzstd.so.1").exists()
    assert (prefix / SITE / "evil-1.0.dist-info/METADATA").exists()  # nothing was removed


def test_uninstall_never_deletes_through_a_link_that_leads_outside(
    prefix: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("not the environment's")
    root = open_environment(prefix, system_config=None).prefix
    (root / "share").mkdir()
    (root / "share/evil").symlink_to(outside)
    _hand_made(root, "evil-1.0.dist-info/METADATA,,\n../../../share/evil/x.txt,,\n")
    environment = open_environment(prefix, system_config=None)
    with pytest.raises(InstallError) as caught:
        uninstall(["evil"], state=environment.state, facts=environment.facts)
    assert (
        "RECORD lists '../../../share/evil/x.txt', outside the environment through a "
        "symbolic link; nothing was removed"
    ) in str(caught.value)
    assert (outside / "x.txt").read_text() == "not the environment's"
    assert (root / SITE / "evil-1.0.dist-info/METADATA").exists()


def test_uninstall_follows_links_inside_to_the_real_file(prefix: Path) -> None:
    root = open_environment(prefix, system_config=None).prefix
    (root / "share/real").mkdir(parents=True)
    (root / "share/real/x.txt").write_text("mine")
    (root / "share/alias").symlink_to("real")
    _hand_made(root, "evil-1.0.dist-info/METADATA,,\n../../../share/alias/x.txt,,\n")
    (root / "lib/alias").symlink_to(".")
    environment = open_environment(prefix, system_config=None)
    uninstall(["evil"], state=environment.state, facts=environment.facts)
    assert not (root / "share/real/x.txt").exists()
    assert (root / "share/alias").is_symlink()  # the link is not the distribution's
    # The owner of the file a link leads to is the owner that counts.
    shutil.rmtree(root / SITE / "evil-1.0.dist-info")  # what RECORD did not list
    _hand_made(root, "evil-1.0.dist-info/METADATA,,\n../../../lib/alias/libzstd.so.1,,\n")
    environment = open_environment(prefix, system_config=None)
    with pytest.raises(InstallError, match=f"'lib/libzstd.so.1', which the conda package {ZSTD}"):
        uninstall(["evil"], state=environment.state, facts=environment.facts)
    assert (root / "lib/libzstd.so.1").exists()


def test_uninstall_without_record(prefix: Path) -> None:
    _hand_made(prefix, "")
    (prefix / SITE / "evil-1.0.dist-info" / "RECORD").unlink()
    environment = open_environment(prefix, system_config=None)
    with pytest.raises(InstallError, match="no RECORD"):
        uninstall(["evil"], state=environment.state, facts=environment.facts)


def test_decide_removal_cleans_bytecode_and_directories(prefix: Path) -> None:
    _hand_made(prefix, "")
    environment = open_environment(prefix, system_config=None)
    rows = read_record_rows(
        b"evil/a.py,sha256=x,1\nevil/deep/b.txt,,\nevil-1.0.dist-info/RECORD,,\n"
    )
    distribution = environment.state.distributions[canonicalize_name("evil")]
    removal = decide_removal(
        distribution,
        rows,
        state=environment.state,
        roots=[environment.prefix / SITE],
        real_paths=survey_real_paths(
            environment.prefix, removal_paths(environment.prefix, distribution, rows)
        ),
        cache_tags=["cpython-312"],
    )
    site = environment.prefix / SITE
    assert site / "evil/__pycache__/a.cpython-312.pyc" in removal.files
    assert site / "evil/__pycache__/a.cpython-312.opt-1.pyc" in removal.files
    assert removal.directories[:2] == (site / "evil/deep", site / "evil/__pycache__") or set(
        removal.directories[:2]
    ) == {site / "evil/deep", site / "evil/__pycache__"}
    assert site not in removal.directories
    assert environment.prefix not in removal.directories


def test_uninstall_command(prefix: Path, tmp_path: Path) -> None:
    install(prefix, [demo_wheel(tmp_path)])
    environment = {key: value for key, value in os.environ.items() if key != "CONDA_PREFIX"}
    done = subprocess.run(
        [sys.executable, "-m", "condawheel", "uninstall", "demo", "--prefix", str(prefix)],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("removed demo 1.0 (")
    again = subprocess.run(
        [sys.executable, "-m", "condawheel", "uninstall", "demo", "--prefix", str(prefix)],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    assert again.returncode == 1
    assert "not installed" in again.stderr
