"""Run paths of built binaries: what each entry becomes, and the patch written in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from binary_builders import SHARED, facts_of, gcc
from condawheel.build.runpath import RunPathError, decide_run_path, patch_run_path

if TYPE_CHECKING:
    from pathlib import Path

PREFIX = "/opt/envs/build"
EXTENSION = "lib/python3.12/site-packages/demo/_demo.so"


@pytest.mark.parametrize(
    ("entries", "new", "dropped"),
    [
        pytest.param([f"{PREFIX}/lib"], ["$ORIGIN/../../.."], [], id="prefix-lib"),
        pytest.param([f"{PREFIX}/lib/./././."], ["$ORIGIN/../../.."], [], id="padded"),
        pytest.param(
            [f"{PREFIX}/lib/python3.12/site-packages/demo"], ["$ORIGIN"], [], id="own-folder"
        ),
        pytest.param(["$ORIGIN/../lib"], ["$ORIGIN/../lib"], [], id="origin-kept"),
        pytest.param(
            ["/usr/local/pyenv/lib", f"{PREFIX}/lib"],
            ["$ORIGIN/../../.."],
            ["/usr/local/pyenv/lib"],
            id="outside-dropped",
        ),
        pytest.param(["lib"], [], ["lib"], id="cwd-relative-dropped"),
        pytest.param(
            [f"{PREFIX}/lib", f"{PREFIX}/lib/."], ["$ORIGIN/../../.."], [], id="no-repeats"
        ),
        pytest.param([f"{PREFIX}-other/lib"], [], [f"{PREFIX}-other/lib"], id="sibling-prefix"),
    ],
)
def test_decide_run_path(entries: list[str], new: list[str], dropped: list[str]) -> None:
    change = decide_run_path(entries, EXTENSION, [PREFIX])
    assert change.new == tuple(new)
    assert [entry for entry, _ in change.dropped] == dropped
    assert change.changed == (tuple(entries) != tuple(new))


def test_any_spelling_of_the_prefix_counts() -> None:
    change = decide_run_path(["/real/env/lib"], "lib/libx.so", ["/link/env", "/real/env"])
    assert change.new == ("$ORIGIN",)


def _library(tmp_path: Path, *flags: str) -> bytes:
    (tmp_path / "x.c").write_text("int x(void) { return 1; }\n")
    gcc(*SHARED, "-o", tmp_path / "libx.so", "x.c", *flags, cwd=tmp_path)
    return (tmp_path / "libx.so").read_bytes()


@pytest.mark.parametrize("dtags", ["--enable-new-dtags", "--disable-new-dtags"])
def test_the_patch_is_written_over_the_old_string(tmp_path: Path, dtags: str) -> None:
    long_path = "/opt/envs/build/lib" + "/." * 40
    data = _library(tmp_path, f"-Wl,{dtags}", f"-Wl,-rpath,{long_path}")
    patched = patch_run_path(data, ["$ORIGIN/../lib"])
    assert len(patched) == len(data)
    before, after = facts_of(data), facts_of(patched)
    assert (after.runpaths or after.rpaths) == ("$ORIGIN/../lib",)
    assert bool(after.runpaths) == bool(before.runpaths)
    assert after.needed == before.needed
    assert long_path.encode() not in patched
    (tmp_path / "patched.so").write_bytes(patched)  # still a library the linker accepts
    (tmp_path / "main.c").write_text("int x(void);\nint main(void) { return x() - 1; }\n")
    gcc("-o", tmp_path / "main", "main.c", tmp_path / "patched.so", cwd=tmp_path)


def test_a_longer_run_path_is_refused(tmp_path: Path) -> None:
    data = _library(tmp_path, "-Wl,-rpath,/o")
    with pytest.raises(RunPathError, match="longer than the built one"):
        patch_run_path(data, ["$ORIGIN/../lib"])


def test_no_run_path_to_rewrite(tmp_path: Path) -> None:
    with pytest.raises(RunPathError, match="no DT_RUNPATH or DT_RPATH"):
        patch_run_path(_library(tmp_path), ["$ORIGIN"])


def test_not_an_elf_file() -> None:
    with pytest.raises(RunPathError, match="unreadable ELF"):
        patch_run_path(b"\x7fELF" + b"\0" * 8, ["$ORIGIN"])
