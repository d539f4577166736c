"""Hostile layouts that would make a valid-looking wheel do something conda never does."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, FileSpec, build_conda, build_directory
from condawheel.convert import convert
from condawheel.errors import InvalidPackage
from condawheel.names import NameMapping

if TYPE_CHECKING:
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
