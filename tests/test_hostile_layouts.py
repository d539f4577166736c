"""Hostile layouts that would make a valid-looking wheel do something conda never does."""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, FileSpec, build_conda, build_directory, build_tar_bz2
from condawheel.convert import convert, plan_package
from condawheel.convert.ingest import Limits
from condawheel.convert.names import NameMapping
from condawheel.errors import InvalidPackage

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SITE = "lib/python3.12/site-packages"


def test_a_data_directory_inside_site_packages_is_refused(tmp_path: Path) -> None:
    # At the wheel's root, demo-1.0.data/scripts/evil would be installed into bin/.
    spec = CondaSpec(
        depends=["python_abi 3.12.* *_cp312"],
        files=[
            FileSpec(f"{SITE}/demo/__init__.py", b""),
            FileSpec(
                f"{SITE}/demo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            ),
            FileSpec(f"{SITE}/demo-1.0.data/scripts/evil", b"#!/bin/sh\n", mode=0o755),
        ],
    )
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidPackage) as caught:
        convert(build_conda(spec, tmp_path), out, mapping=NameMapping.from_names({}))
    assert caught.value.reason == (
        f"'{SITE}/demo-1.0.data/scripts/evil': a 'demo-1.0.data' directory in site-packages "
        "would be a wheel data directory (installed outside site-packages)"
    )
    assert list(out.iterdir()) == []


def test_a_package_directory_whose_info_is_a_symlink_is_refused(tmp_path: Path) -> None:
    package = build_directory(CondaSpec(files=[FileSpec("share/x.txt", b"x")]), tmp_path)
    elsewhere = tmp_path / "elsewhere-info"
    shutil.move(package / "info", elsewhere)
    (package / "info").symlink_to(elsewhere)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidPackage) as caught:
        convert(package, out, mapping=NameMapping.from_names({}))
    assert caught.value.subject == str(package)
    assert caught.value.reason == "info/ is a symbolic link; a package's metadata must be inside it"
    assert list(out.iterdir()) == []


DEEP = "a/b/c/d/e/f/g/h"
# The chain of the hostile-input report: 'up' points at the prefix itself, so the nine
# '..' after it in 'share/evil' climb above the prefix, although a check of the target's
# text alone ends inside it ('tmp/outside').
EVIL_TARGET = f"../{DEEP}/up/" + "../" * 9 + "tmp/outside"
LINK_CHAINS: list[tuple[str, list[FileSpec], str]] = [
    (
        "chain-of-the-report",
        [
            FileSpec("share/x.txt", b"x"),
            FileSpec(f"{DEEP}/up", symlink="../" * 7 + ".."),
            FileSpec("share/evil", symlink=EVIL_TARGET),
        ],
        (
            f"symlink 'share/evil' -> {EVIL_TARGET!r} points outside the package "
            f"through the symlink '{DEEP}/up'"
        ),
    ),
    (
        "link-to-a-link-to-dotdot",
        [
            FileSpec("lib/x.txt", b"x"),
            FileSpec("lib/up", symlink=".."),
            FileSpec("lib/sub/evil", symlink="../up/../etc"),
        ],
        (
            "symlink 'lib/sub/evil' -> '../up/../etc' points outside the package "
            "through the symlink 'lib/up'"
        ),
    ),
    (
        "loop-through-a-component",
        [FileSpec("share/x.txt", b"x"), FileSpec("a", symlink="b/x"), FileSpec("b", symlink="a")],
        "symlink 'a' is part of a loop",
    ),
]


@pytest.mark.parametrize("build", [build_conda, build_tar_bz2, build_directory])
@pytest.mark.parametrize(
    ("files", "reason"),
    [case[1:] for case in LINK_CHAINS],
    ids=[case[0] for case in LINK_CHAINS],
)
def test_links_are_judged_through_the_links_of_the_package(
    files: list[FileSpec], reason: str, build: Callable[[CondaSpec, Path], Path], tmp_path: Path
) -> None:
    (tmp_path / "src").mkdir()
    package = build(CondaSpec(files=files), tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidPackage) as caught:
        convert(package, out, mapping=NameMapping.from_names({}))
    assert caught.value.subject == str(package)
    assert reason in caught.value.problems
    assert "\n" not in str(caught.value)
    assert list(out.iterdir()) == []


COPIES = 40
# One body of 1 MiB of zeros, which the archive compresses to almost nothing, and forty
# links to it: the payload is 1 MiB, but a wheel stores every link as a full copy.
LINKED_BODIES: list[tuple[str, FileSpec]] = [
    ("symlinks", FileSpec("share/copy{n}.bin", symlink="big.bin")),
    ("hardlinks", FileSpec("share/copy{n}.bin", hardlink="share/big.bin")),
]


@pytest.mark.parametrize(
    "link", [link for _, link in LINKED_BODIES], ids=[name for name, _ in LINKED_BODIES]
)
def test_link_copies_count_against_the_size_limits(link: FileSpec, tmp_path: Path) -> None:
    files = [FileSpec("share/big.bin", bytes(1 << 20))]
    files += [
        FileSpec(link.path.format(n=n), symlink=link.symlink, hardlink=link.hardlink)
        for n in range(COPIES)
    ]
    spec = CondaSpec(files=files)
    paths = spec.generated_paths_json()["paths"]
    assert isinstance(paths, list)
    for entry in paths:
        entry.pop("sha256")  # the builder cannot hash a hard link's target
    spec.paths_json = {"paths_version": 1, "paths": paths}
    (tmp_path / "src").mkdir()
    package = build_tar_bz2(spec, tmp_path / "src")
    assert package.stat().st_size < 64 << 10
    limit = 32 << 20  # far above the payload, below its copies
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidPackage) as caught:
        convert(
            package, out, mapping=NameMapping.from_names({}), limits=Limits(max_total_size=limit)
        )
    assert re.fullmatch(
        rf"the wheel's content would be (\d+) bytes, above the {limit}-byte limit "
        rf"\(absurd size\): each of its {COPIES} link\(s\) is stored as a copy",
        caught.value.reason,
    )
    assert list(out.iterdir()) == []
    with pytest.raises(InvalidPackage, match="the wheel's content would be"):
        plan_package(
            package, mapping=NameMapping.from_names({}), limits=Limits(max_total_size=limit)
        )
    # Within the limits, the same package converts, every copy in full.
    written = convert(package, out, mapping=NameMapping.from_names({}))
    assert written.wheel.stat().st_size < 1 << 20
    assert (
        sum(1 for entry in written.plan.entries if entry.origin and "copy" in entry.origin)
        == COPIES
    )
