"""The one atomic write: short temporary names, replace or never overwrite, no leftovers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from condawheel.io.files import (
    NAME_MAX,
    TEMP_PREFIX,
    atomic_output,
    link_new,
    temporary_name,
    temporary_path,
    write_atomically,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_temporary_names_are_short_and_fresh() -> None:
    names = {temporary_name() for _ in range(1000)}
    assert len(names) == 1000
    assert all(name.startswith(TEMP_PREFIX) for name in names)
    # Independent of any destination's name: a 255-byte wheel name still fits beside it.
    assert {len(name) for name in names} == {len(TEMP_PREFIX) + 12}
    assert temporary_name(".other-").startswith(".other-")


def test_write_atomically_replaces_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [path.name for path in tmp_path.iterdir()] == ["page.html"]


def test_a_destination_name_of_the_longest_length_is_written(tmp_path: Path) -> None:
    target = tmp_path / ("w" * (NAME_MAX - 4) + ".whl")
    write_atomically(target, b"data")
    assert target.read_bytes() == b"data"
    with temporary_path(tmp_path) as temp:
        temp.write_bytes(b"data")
        assert not link_new(temp, target)
    assert sorted(path.name for path in tmp_path.iterdir()) == [target.name]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="half way"), atomic_output(target) as handle:
        handle.write(b"half")
        raise RuntimeError("half way")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_a_rename_the_file_system_refuses_is_an_os_error_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    occupied = tmp_path / "occupied"
    (occupied / "inside").mkdir(parents=True)
    with pytest.raises(OSError, match="directory"):
        write_atomically(occupied, b"data")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["occupied"]
    assert occupied.is_dir()


def test_the_temporary_folder_can_be_another_one_of_the_same_file_system(tmp_path: Path) -> None:
    (tmp_path / "simple" / "demo").mkdir(parents=True)
    page = tmp_path / "simple" / "demo" / "index.html"
    write_atomically(page, b"<html>", prefix=".index-", temp_folder=tmp_path / "simple")
    assert page.read_bytes() == b"<html>"
    assert sorted(path.name for path in (tmp_path / "simple").iterdir()) == ["demo"]


def test_link_new_never_replaces_what_is_there(tmp_path: Path) -> None:
    target = tmp_path / "demo-1.0-py3-none-any.whl"
    with temporary_path(tmp_path) as temp:
        temp.write_bytes(b"first")
        assert link_new(temp, target)
        assert not temp.exists()
    with temporary_path(tmp_path) as temp:
        temp.write_bytes(b"second")
        assert not link_new(temp, target)
        assert temp.read_bytes() == b"second"  # left for the caller to compare
    assert target.read_bytes() == b"first"
    assert [path.name for path in tmp_path.iterdir()] == [target.name]  # temp removed on exit


def test_link_new_refuses_a_broken_symbolic_link_too(tmp_path: Path) -> None:
    target = tmp_path / "demo.whl"
    target.symlink_to(tmp_path / "nowhere")
    with temporary_path(tmp_path) as temp:
        temp.write_bytes(b"data")
        assert not link_new(temp, target)
    assert target.is_symlink()
    assert not (tmp_path / "nowhere").exists()
