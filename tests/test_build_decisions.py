"""What a built wheel becomes, decided in memory; the writer's output; sources and flags."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

import pytest
from wheel.wheelfile import WheelFile

from binary_builders import SHARED, facts_of, gcc, providers
from condawheel.build import BuildError, classify_source
from condawheel.build.analysis import (
    BuildEnvironment,
    InstalledPackage,
    read_built_wheel,
)
from condawheel.build.compiling import RUN_PATH_LENGTH, build_variables, padded_library_path
from condawheel.build.decisions import (
    BuildProvenance,
    decide_build,
    external_declaration,
    retagged_filename,
)
from condawheel.build.writer import write_build
from condawheel.errors import WheelExistsError

PREFIX = "/env/prefix"
SITE = "lib/python3.12/site-packages"
PROVENANCE = BuildProvenance("sdist", "demo-1.0.tar.gz", "demo-1.0.tar.gz", "ab" * 32)


def environment(*packages: InstalledPackage) -> BuildEnvironment:
    return BuildEnvironment(
        prefix=PREFIX,
        prefix_spellings=(PREFIX,),
        python=Path(PREFIX, "bin", "python"),
        python_version="3.12.4",
        implementation="cpython",
        subdir="linux-64",
        build_platform="conda_linux_64",
        scheme={"purelib": SITE, "platlib": SITE, "scripts": "bin", "data": "."},
        packages={package.name: package for package in packages},
        pip="24.3.1",
    )


FOO = InstalledPackage("foo", "1.2.3", "h0_0", ("foo >=1.2.3,<1.3.0a0",))


def make_wheel(folder: Path, name: str, tag: str, files: dict[str, bytes]) -> Path:
    dist_info = f"{name}-1.0.dist-info"
    contents = {
        **files,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n\nHello.\n",
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\n"
            f"Tag: {tag}\n\n"
        ),
    }
    path = folder / f"{name}-1.0-{tag}.whl"
    with WheelFile(path, "w") as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
    return path


@pytest.fixture(scope="module")
def extension(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """An extension module linking libfoo.so.1, with an absolute run path into PREFIX."""
    folder = tmp_path_factory.mktemp("extension")
    (folder / "foo.c").write_text("int foo(void) { return 1; }\n")
    (folder / "demo.c").write_text("int foo(void);\nint demo(void) { return foo(); }\n")
    gcc(*SHARED, "-Wl,-soname,libfoo.so.1", "-o", folder / "libfoo.so.1", "foo.c", cwd=folder)
    run_path = padded_library_path(PREFIX)
    gcc(*SHARED, "-o", folder / "_demo.so", "demo.c", folder / "libfoo.so.1",
        f"-Wl,-rpath,{run_path}", cwd=folder)  # fmt: skip
    return (folder / "_demo.so").read_bytes()


# ------------------------------------------------------------------ decisions


@pytest.mark.parametrize(
    ("run_exports", "spec", "rule"),
    [
        (("foo >=1.2.3,<1.3.0a0",), ">=1.2.3,<1.3.0a0", "run_exports"),
        (("bar >=1", "foo 1.2.*"), "1.2.*", "run_exports"),
        (("bar >=1",), ">=1.2.3", "installed_version"),
        (("foo",), ">=1.2.3", "installed_version"),
        (("foo >=1,<2 [[",), ">=1.2.3", "installed_version"),
        ((), ">=1.2.3", "installed_version"),
    ],
)
def test_external_declaration(run_exports: tuple[str, ...], spec: str, rule: str) -> None:
    declared = external_declaration(InstalledPackage("foo", "1.2.3", "h0_0", run_exports))
    assert (declared.version_spec, declared.rule) == (spec, rule)
    assert declared.requires_external == f"foo ({spec})"


def test_a_pure_wheel_is_kept_as_built(tmp_path: Path) -> None:
    wheel = read_built_wheel(
        make_wheel(tmp_path, "pure", "py3-none-any", {"pure/__init__.py": b""})
    )
    plan = decide_build(wheel, environment(), providers(), PROVENANCE)
    assert plan.kept_as_built
    assert plan.filename == "pure-1.0-py3-none-any.whl"


def test_retagged_filename(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "demo", "cp312-cp312-manylinux_2_17_x86_64.linux_x86_64", {})
    wheel = read_built_wheel(path.rename(tmp_path / "demo-1.0-7-cp312-cp312-linux_x86_64.whl"))
    assert retagged_filename(wheel, "conda_linux_64") == "demo-1.0-7-cp312-cp312-conda_linux_64.whl"


def test_an_extension_is_retagged_declared_and_relative(tmp_path: Path, extension: bytes) -> None:
    member = "demo/_demo.cpython-312-x86_64-linux-gnu.so"
    path = make_wheel(tmp_path, "demo", "cp312-cp312-linux_x86_64", {member: extension})
    wheel = read_built_wheel(path)
    index = providers(("foo", ["lib/libfoo.so.1"], []))

    plan = decide_build(wheel, environment(FOO), index, PROVENANCE)

    assert plan.filename == "demo-1.0-cp312-cp312-conda_linux_64.whl"
    assert [item.requires_external for item in plan.declarations] == ["foo (>=1.2.3,<1.3.0a0)"]
    names = [item.name for item in plan.members]
    assert names == [
        "demo/_demo.cpython-312-x86_64-linux-gnu.so",
        "demo-1.0.dist-info/METADATA",
        "demo-1.0.dist-info/WHEEL",
        "demo-1.0.dist-info/conda.json",
    ]
    data = {item.name: item.data for item in plan.members}
    patched = data[member]
    assert patched is not None
    assert (facts_of(patched).runpaths or facts_of(patched).rpaths) == ("$ORIGIN/../../..",)
    metadata = data["demo-1.0.dist-info/METADATA"]
    assert metadata == (
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
        b"Requires-External: foo (>=1.2.3,<1.3.0a0)\n\nHello.\n"
    )
    assert data["demo-1.0.dist-info/WHEEL"] == (
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
        b"Tag: cp312-cp312-conda_linux_64\n\n"
    )
    ((where, change),) = plan.run_paths
    assert where == f"{SITE}/{member}"
    assert change.old == (padded_library_path(PREFIX),)


def test_a_library_from_nowhere_is_refused(tmp_path: Path, extension: bytes) -> None:
    path = make_wheel(tmp_path, "demo", "cp312-cp312-linux_x86_64", {"demo/_demo.so": extension})
    with pytest.raises(BuildError) as caught:
        decide_build(read_built_wheel(path), environment(), providers(), PROVENANCE)
    assert str(caught.value).startswith(
        f"{path.name}: {SITE}/demo/_demo.so links 'libfoo.so.1', which neither the build "
        "environment nor the system provides ("
    )


# ------------------------------------------------------------------ the writer


def test_the_written_wheel_is_deterministic_and_its_record_true(
    tmp_path: Path, extension: bytes
) -> None:
    path = make_wheel(tmp_path, "demo", "cp312-cp312-linux_x86_64",
                      {"demo/_demo.so": extension, "demo/__init__.py": b"x = 1\n"})  # fmt: skip
    wheel = read_built_wheel(path)
    index = providers(("foo", ["lib/libfoo.so.1"], []))
    plan = decide_build(wheel, environment(FOO), index, PROVENANCE, source_date_epoch=1_700_000_000)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    written = write_build(plan, path, first)
    assert written.status == "written"
    assert written.path.read_bytes() == write_build(plan, path, second).path.read_bytes()
    with WheelFile(written.path) as archive:  # checks every member against RECORD
        for name in archive.namelist():
            archive.read(name)
        infos = archive.infolist()
    assert infos[-1].filename == "demo-1.0.dist-info/RECORD"
    assert {info.date_time for info in infos} == {(2023, 11, 14, 22, 13, 20)}
    # The same bytes again: unchanged; other bytes under the name: never replaced.
    assert write_build(plan, path, first).status == "unchanged"
    other = decide_build(wheel, environment(FOO), index, PROVENANCE, source_date_epoch=0)
    with pytest.raises(WheelExistsError):
        write_build(other, path, first)
    assert sorted(item.name for item in first.iterdir()) == [written.path.name]
    with zipfile.ZipFile(written.path) as archive:
        assert archive.testzip() is None


# ------------------------------------------------------------------ sources and flags


@pytest.mark.parametrize(
    ("text", "is_dir", "is_file", "kind"),
    [
        ("project", True, False, "directory"),
        ("dist/demo-1.0-py3-none-any.whl", False, True, "wheel"),
        ("demo-1.0.tar.gz", False, True, "sdist"),
        ("demo-1.0.zip", False, True, "sdist"),
        ("demo>=1.0", False, False, "requirement"),
        ("demo[extra]==1.0", False, False, "requirement"),
    ],
)
def test_classify_source(text: str, is_dir: bool, is_file: bool, kind: str) -> None:
    assert classify_source(text, is_dir=is_dir, is_file=is_file) == kind


@pytest.mark.parametrize(
    ("text", "is_file", "reason"),
    [
        ("missing/demo-1.0.tar.gz", False, "no such file or folder"),
        ("demo-1.0.whl", False, "no such file or folder"),
        ("notes.txt", True, "not a wheel, an sdist"),
        ("demo >>= 1", False, "neither a path nor a requirement"),
    ],
)
def test_classify_source_refuses(text: str, is_file: bool, reason: str) -> None:
    with pytest.raises(BuildError) as caught:
        classify_source(text, is_dir=False, is_file=is_file)
    assert caught.value.subject == text
    assert reason in caught.value.reason


def test_build_variables_follow_conda_builds_activation() -> None:
    variables = build_variables(PREFIX, {"CFLAGS": "-O1", "PATH": "/bin"})
    assert variables["CFLAGS"] == f"-I{PREFIX}/include -O1"
    assert variables["CPPFLAGS"] == f"-I{PREFIX}/include"
    run_path = padded_library_path(PREFIX)
    assert variables["LDFLAGS"] == (
        f"-Wl,-rpath,{run_path} -Wl,-rpath-link,{PREFIX}/lib -L{PREFIX}/lib"
    )
    assert len(run_path) >= RUN_PATH_LENGTH
    assert posixpath.normpath(run_path) == f"{PREFIX}/lib"
    assert variables["PKG_CONFIG_PATH"] == f"{PREFIX}/lib/pkgconfig"
    assert variables["PATH"] == "/bin"
    assert variables["CONDAWHEEL_PIP_HOOK"] == "0"
