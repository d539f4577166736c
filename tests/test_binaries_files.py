"""The binaries of a folder, and a build made in a real conda environment resolved against it."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import pytest

from binary_builders import SHARED, SITE, Built, built, facts_of, gcc
from conda_envs import CondaEnvironments, conda_environments
from condawheel.binaries import resolve_in_environment, resolve_libraries
from condawheel.binaries.files import analyze_folder
from condawheel.binaries.providers import load_providers
from condawheel.errors import SourceError
from envs import make_environment

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["built", "conda_environments"]  # fixtures, imported for pytest


# ------------------------------------------------------------------ analyze_folder


def test_every_binary_of_a_folder(built: Built, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(built.root, root, symlinks=True)
    (root / "lib" / "libfoo.so").symlink_to("libfoo.so.1")  # the soname link
    (root / "lib" / "README").write_text("not a binary\n")
    (root / "bin" / "script").write_text("#!/bin/sh\nexit 0\n")
    outside = tmp_path / "outside.so"
    outside.write_bytes(built.files["lib/libdep.so.1"])
    (root / "lib" / "leaves.so").symlink_to(outside)
    (root / "lib" / "dangling.so").symlink_to("missing.so")
    (root / "lib" / "folder").symlink_to(root / SITE)
    os.mkfifo(root / "lib" / "pipe")  # opening it would block

    found = analyze_folder(root)

    assert list(found) == sorted([*built.files, "lib/libfoo.so"])
    for path, data in built.files.items():
        assert found[path] == facts_of(data), path
    assert found["lib/libfoo.so"] == found["lib/libfoo.so.1"]


def test_an_empty_folder_has_no_binaries(tmp_path: Path) -> None:
    assert analyze_folder(tmp_path) == {}


@pytest.mark.parametrize("make", ["missing", "file"])
def test_not_a_folder(tmp_path: Path, make: str) -> None:
    path = tmp_path / "thing"
    if make == "file":
        path.write_bytes(b"\x7fELF")
    with pytest.raises(SourceError) as caught:
        analyze_folder(path)
    assert str(caught.value) == f"{path}: not a directory"


def test_the_folder_resolves_as_it_is_installed(built: Built) -> None:
    report = resolve_libraries(analyze_folder(built.root), declared=[])
    assert report.unresolved == ("libfoo.so.1",)  # _runpath.so and prog-bare, as ld.so says


# ------------------------------------------------- a build against a real environment


@pytest.fixture(scope="module")
def environment(
    conda_environments: CondaEnvironments, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    prefix = tmp_path_factory.mktemp("build-env") / "env"
    make_environment(
        conda_environments.channel, prefix, conda_environments.cache, ["zstd", "libffi"]
    )
    return prefix


def _extension(
    tmp_path: Path, prefix: Path, *flags: str, name: str = "_demo.so"
) -> tuple[Path, str]:
    """Compile an extension module linking the environment's libzstd and a private library."""
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "mine.c").write_text("int mine(void) { return 1; }\n")
    (source / "demo.c").write_text(
        "unsigned ZSTD_versionNumber(void);\nint mine(void);\n"
        "unsigned demo(void) { return ZSTD_versionNumber() + mine(); }\n"
    )
    gcc(*SHARED, "-Wl,-soname,libmine.so.1", "-o", source / "libmine.so.1", "mine.c", cwd=source)
    tree = tmp_path / "tree"
    installed = f"{SITE}/demo/{name}"
    (tree / installed).parent.mkdir(parents=True, exist_ok=True)
    libraries = (prefix / "lib" / "libzstd.so.1", source / "libmine.so.1")
    gcc(*SHARED, "-o", tree / installed, "demo.c", *libraries, *flags, cwd=source)
    return tree, installed


@pytest.mark.corpus
@pytest.mark.slow
def test_a_build_resolves_to_the_packages_of_its_environment(
    environment: Path, tmp_path: Path
) -> None:
    tree, installed = _extension(tmp_path, environment)
    index = load_providers([environment])

    report = resolve_in_environment(analyze_folder(tree), index)

    (binary,) = report.binaries
    assert binary.path == installed
    libraries = {library.name: library for library in binary.libraries}
    zstd = libraries["libzstd.so.1"]
    assert (zstd.kind, zstd.package, zstd.dependency, zstd.location) == (
        "dependency", "zstd", "zstd", "lib/libzstd.so.1",
    )  # fmt: skip
    assert "python executable" in zstd.reason  # no RPATH of its own: bin/python's lib/
    assert libraries["libc.so.6"].kind == "system"
    assert libraries["libmine.so.1"].kind == "unresolved"
    assert report.linked_dependencies == ("zstd",)
    assert report.unresolved == ("libmine.so.1",)
    # Every package of the environment counts as declared: nothing is judged.
    assert (report.under_declared, report.over_declared) == ((), ())
    assert report.unjudged_dependencies == ()
    # The same binaries judged as a package declaring nothing: zstd is the missing one.
    undeclared = resolve_libraries(analyze_folder(tree), declared=[], providers=index)
    assert undeclared.under_declared == ("libmine.so.1", "libzstd.so.1")


@pytest.mark.corpus
@pytest.mark.slow
def test_an_absolute_run_path_into_the_environment(environment: Path, tmp_path: Path) -> None:
    flags = ("-Wl,--enable-new-dtags", f"-Wl,-rpath,{environment}/lib")
    tree, _ = _extension(tmp_path, environment, *flags)
    index = load_providers([environment])
    binaries = analyze_folder(tree)

    (binary,) = resolve_in_environment(binaries, index).binaries
    zstd = next(library for library in binary.libraries if library.name == "libzstd.so.1")
    # DT_RUNPATH hides the python executable's RPATH, and the absolute entry is not the
    # prefix's as far as the analysis knows: the build would not be relocatable.
    assert zstd.kind == "unresolved"
    assert "is outside the conda prefix" in zstd.reason

    (binary,) = resolve_in_environment(
        binaries, index, prefix_placeholders=[str(environment)]
    ).binaries
    zstd = next(library for library in binary.libraries if library.name == "libzstd.so.1")
    assert (zstd.kind, zstd.package) == ("dependency", "zstd")
    assert f"DT_RUNPATH '{environment}/lib'" in zstd.reason
