"""Requirement files for ``condawheel install -r FILE`` (the subset of pip's format)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from condawheel.env.requirements import parse_requirements, read_requirements
from condawheel.errors import InstallError

if TYPE_CHECKING:
    from pathlib import Path


def test_comments_blank_lines_and_continuations() -> None:
    text = (
        "# the tools\n"
        "\n"
        "requests >=2.31  # pinned low\n"
        "numpy \\\n"
        "  >=1.26\n"
        "url#fragment\n"
        'tqdm; python_version >= "3.8"\n'
    )
    assert parse_requirements(text, origin="r.txt") == [
        (3, "requests >=2.31"),
        (4, "numpy   >=1.26"),
        (6, "url#fragment"),
        (7, 'tqdm; python_version >= "3.8"'),
    ]


@pytest.mark.parametrize(
    ("line", "option"),
    [
        ("-i https://pypi.org/simple", "-i"),
        ("--index-url https://pypi.org/simple", "--index-url"),
        ("--extra-index-url=https://x", "--extra-index-url"),
        ("-f ./wheels", "-f"),
        ("-c constraints.txt", "-c"),
        ("-e .", "-e"),
        ("requests==2.32.3 --hash=sha256:0123", "--hash"),
        ("--no-binary :all:", "--no-binary"),
    ],
)
def test_options_other_than_includes_are_refused_naming_the_line(line: str, option: str) -> None:
    with pytest.raises(InstallError) as raised:
        parse_requirements(f"requests\n{line}\n", origin="r.txt")
    assert raised.value.subject == "r.txt:2"
    assert raised.value.reason.startswith(f"{option} is not supported in a requirement file")


def test_includes_are_followed_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.txt").write_text("a\n-r sub/more.txt\n--requirement=sub/last.txt\nb\n")
    (tmp_path / "sub" / "more.txt").write_text("c\n-rlast.txt\n")
    (tmp_path / "sub" / "last.txt").write_text("d  # last\n")
    assert read_requirements(tmp_path / "top.txt") == ("a", "c", "d", "d", "b")


def test_unreadable_and_looping_files(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="no such file or directory"):
        read_requirements(tmp_path / "nope.txt")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(InstallError, match="not UTF-8 text"):
        read_requirements(tmp_path / "bad.txt")
    (tmp_path / "loop.txt").write_text("-r loop.txt\n")
    with pytest.raises(InstallError, match="include each other more than 10 deep"):
        read_requirements(tmp_path / "loop.txt")
