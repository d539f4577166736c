"""Resolving needed libraries like the loader: search paths, providers, the corpus."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from binary_builders import (
    SITE,
    Built,
    analyzed,
    built,
    corpus_file,
    elf,
    providers,
    read_corpus_package,
)
from condawheel.binaries import (
    BinaryFacts,
    SonameProviders,
    dependency_name,
    in_loader_directory,
    is_library_path,
    resolve_libraries,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["built"]  # a fixture, imported for pytest


# ------------------------------------------------------------ Actual tests: resolution


class TestResolveElf:
    def test_built_prefix_resolves_like_the_loader(self, built: Built) -> None:
        report = resolve_libraries(analyzed(built.files), declared=[])
        found = {
            (binary.path, library.name): (library.kind, library.location)
            for binary in report.binaries
            for library in binary.libraries
        }
        assert found[("bin/prog-rpath", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        assert found[("bin/prog-runpath", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        assert found[("lib/libfoo.so.1", "libdep.so.1")] == ("wheel", "lib/libdep.so.1")
        assert found[(f"{SITE}/pkg/_ext.so", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        # No search path of its own: the python executable's DT_RPATH ($ORIGIN/../lib).
        assert found[(f"{SITE}/pkg/_bare.so", "libfoo.so.1")] == ("wheel", "lib/libfoo.so.1")
        # DT_RUNPATH $ORIGIN replaces every inherited DT_RPATH: lib/ is out of reach.
        assert found[(f"{SITE}/pkg/_runpath.so", "libfoo.so.1")] == ("unresolved", None)
        # An executable inherits nobody's RPATH.
        assert found[("bin/prog-bare", "libfoo.so.1")] == ("unresolved", None)
        assert found[("bin/prog-rpath", "libc.so.6")] == ("system", None)
        assert report.unresolved == ("libfoo.so.1",)

    @pytest.mark.parametrize(
        ("program", "runs"),
        [("prog-rpath", True), ("prog-runpath", True), ("prog-bare", False)],
    )
    def test_the_real_loader_agrees(self, built: Built, program: str, *, runs: bool) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LD_")}
        done = subprocess.run(
            [built.root / "bin" / program], env=environment, capture_output=True, check=False
        )
        assert (done.returncode == 0) is runs, done.stderr
        report = resolve_libraries(analyzed(built.files), declared=[])
        binary = next(b for b in report.binaries if b.path == f"bin/{program}")
        assert all(library.kind != "unresolved" for library in binary.libraries) is runs

    def test_declared_dependency(self) -> None:
        binaries = {
            f"{SITE}/zstandard/backend_c.so": elf(
                "libzstd.so.1", "libc.so.6", rpaths=("$ORIGIN/../../..",)
            )
        }
        index = providers(
            ("zstd", ["lib/libzstd.so.1", "lib/libzstd.so.1.5.6", "lib/libzstd.so"], ["libgcc"])
        )
        report = resolve_libraries(binaries, declared=["python", "zstd"], providers=index)
        zstd, libc = report.binaries[0].libraries
        assert (zstd.kind, zstd.dependency, zstd.package, zstd.location) == (
            "dependency", "zstd", "zstd", "lib/libzstd.so.1",
        )  # fmt: skip
        assert "DT_RPATH '$ORIGIN/../../..'" in zstd.reason
        assert libc.kind == "system"
        assert (report.under_declared, report.over_declared) == ((), ())
        assert report.linked_dependencies == ("zstd",)
        assert report.unjudged_dependencies == ("python",)

    def test_wheel_before_dependency(self) -> None:
        binaries = {"lib/libz.so.1": elf(), f"{SITE}/m.so": elf("libz.so.1")}
        index = providers(("libzlib", ["lib/libz.so.1"], []))
        report = resolve_libraries(binaries, declared=["libzlib"], providers=index)
        library = report.binaries[1].libraries[0]
        assert (library.kind, library.location) == ("wheel", "lib/libz.so.1")
        assert report.over_declared == ("libzlib",)

    def test_undeclared_provider(self) -> None:
        binaries = {"lib/libmamba.so.2": elf("libbz2.so.1.0", rpaths=("$ORIGIN",))}
        index = providers(
            ("bzip2", ["lib/libbz2.so.1.0"], []),
            ("libarchive", ["lib/libarchive.so.13"], ["bzip2"]),
        )
        report = resolve_libraries(binaries, declared=["libarchive"], providers=index)
        library = report.binaries[0].libraries[0]
        assert library.kind == "unresolved"
        assert library.undeclared_providers == ("bzip2",)
        assert "'bzip2'" in library.reason
        assert "'libarchive'" in library.reason
        assert report.under_declared == ("libbz2.so.1.0",)
        assert report.over_declared == ("libarchive",)

    def test_manylinux_library_prefers_a_declared_provider(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libstdc++.so.6", "libgcc_s.so.1")}
        index = providers(
            ("libstdcxx", ["lib/libstdc++.so.6"], ["libgcc"]), ("libgcc", ["lib/libgcc_s.so.1"], [])
        )
        report = resolve_libraries(binaries, declared=["libstdcxx"], providers=index)
        stdcxx, gcc_s = report.binaries[0].libraries
        assert (stdcxx.kind, stdcxx.dependency) == ("dependency", "libstdcxx")
        assert (gcc_s.kind, gcc_s.undeclared_providers) == ("system", ("libgcc",))
        assert "manylinux" in gcc_s.reason
        assert report.under_declared == ()

    def test_through_a_package_without_libraries(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libgcc_s.so.1", "libgomp.so.1")}
        index = providers(
            ("libgcc-ng", [], ["libgcc"]),
            ("libgcc", ["lib/libgcc_s.so.1"], ["_openmp_mutex"]),
            ("_openmp_mutex", ["lib/libgomp.so.1"], []),
        )
        report = resolve_libraries(binaries, declared=["libgcc-ng"], providers=index)
        gcc_s, gomp = report.binaries[0].libraries
        assert (gcc_s.kind, gcc_s.dependency, gcc_s.package) == (
            "dependency",
            "libgcc-ng",
            "libgcc",
        )
        # libgcc ships libraries: its own dependencies are not followed.
        assert (gomp.kind, gomp.undeclared_providers) == ("unresolved", ("_openmp_mutex",))
        assert report.over_declared == ()

    def test_declared_but_off_the_search_path(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libfoo.so.1", runpaths=("$ORIGIN",))}
        index = providers(("foo", ["lib/libfoo.so.1"], []))
        report = resolve_libraries(binaries, declared=["foo"], providers=index)
        library = report.binaries[0].libraries[0]
        assert library.kind == "unresolved"
        assert "not on this binary's search path" in library.reason
        assert report.under_declared == ()

    def test_search_path_entries_the_loader_cannot_use_here(self) -> None:
        binaries = {
            "bin/tool": elf(
                "libx.so.1",
                rpaths=(
                    "$ORIGIN/../../../outside",
                    "$LIB/x",
                    "/usr/local/lib",
                    "relative/dir",
                    "$ORIGIN/../lib",
                ),
                kind="executable",
            ),
            "lib/libx.so.1": elf(),
        }
        library = resolve_libraries(binaries, declared=[]).binaries[0].libraries[0]
        assert (library.kind, library.location) == ("wheel", "lib/libx.so.1")
        binaries["bin/tool"] = replace(
            binaries["bin/tool"], rpaths=binaries["bin/tool"].rpaths[:-1]
        )
        library = resolve_libraries(binaries, declared=[]).binaries[0].libraries[0]
        assert library.kind == "unresolved"
        for problem in ("outside the conda prefix", "$LIB", "current directory"):
            assert problem in library.reason

    def test_absolute_search_path_into_the_build_prefix(self) -> None:
        placeholder = "/home/builder/_h_env_placehold_placehold"
        binaries = {
            f"{SITE}/m.so": elf("libx.so.1", runpaths=(f"{placeholder}/lib",)),
            "lib/libx.so.1": elf(),
        }
        report = resolve_libraries(binaries, declared=[], prefix_placeholders=[placeholder])
        assert report.binaries[1].libraries[0].location == "lib/libx.so.1"

    def test_incompatible_architecture_is_skipped(self) -> None:
        arm = BinaryFacts("elf", "library", ("aarch64",))
        binaries = {
            "lib/a/libx.so.1": arm,
            "lib/b/libx.so.1": elf(),
            "bin/t": elf(
                "libx.so.1", rpaths=("$ORIGIN/../lib/a", "$ORIGIN/../lib/b"), kind="executable"
            ),
        }
        library = resolve_libraries(binaries, declared=[]).binaries[0].libraries[0]
        assert (library.kind, library.location) == ("wheel", "lib/b/libx.so.1")

    def test_without_providers(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libzstd.so.1", "libm.so.6")}
        report = resolve_libraries(binaries, declared=["zstd"])
        zstd, libm = report.binaries[0].libraries
        assert zstd.kind == "unresolved"
        assert "no providers index" in zstd.reason
        assert libm.kind == "system"
        assert not report.providers_given
        assert (report.under_declared, report.over_declared) == ((), ())

    def test_over_declared_is_judged_only_for_known_library_packages(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libc.so.6")}
        index = providers(
            ("python", ["lib/libpython3.12.so.1.0"], []),
            ("cffi", [f"{SITE}/_cffi_backend.cpython-312-x86_64-linux-gnu.so"], []),
            ("python_abi", [], ["python"]),
            ("openssl", ["lib/libssl.so.3"], []),
        )
        declared = ["python", "cffi", "python_abi", "openssl", "unknown", "__glibc"]
        report = resolve_libraries(binaries, declared=declared, providers=index)
        assert report.over_declared == ("openssl",)
        assert report.unjudged_dependencies == ("unknown",)

    def test_unknown_declared_dependency_keeps_a_library_off_the_under_declared_list(self) -> None:
        binaries = {f"{SITE}/m.so": elf("libmystery.so.3")}
        report = resolve_libraries(binaries, declared=["unknown"], providers=providers())
        assert report.unresolved == ("libmystery.so.3",)
        assert report.under_declared == ()
        report = resolve_libraries(binaries, declared=[], providers=providers())
        assert report.under_declared == ("libmystery.so.3",)

    def test_json_is_stable(self) -> None:
        binaries = {
            f"{SITE}/b.so": elf("libzstd.so.1", rpaths=("$ORIGIN/../..",)),
            f"{SITE}/a.so": elf("libc.so.6", "libnope.so.1"),
        }
        index = providers(("zstd", ["lib/libzstd.so.1"], []), ("nope", ["lib/libnope.so.1"], []))
        first = resolve_libraries(binaries, declared=["zstd", "a", "b"], providers=index)
        second = resolve_libraries(
            dict(reversed(binaries.items())), declared=["b", "a", "zstd"], providers=index
        )
        assert json.dumps(first.to_json()) == json.dumps(second.to_json())
        data = json.loads(json.dumps(first.to_json()))
        assert list(data) == [
            "providers_given", "binaries", "under_declared", "over_declared",
            "linked_dependencies", "unjudged_dependencies",
        ]  # fmt: skip
        assert [b["path"] for b in data["binaries"]] == [f"{SITE}/a.so", f"{SITE}/b.so"]
        assert data["unjudged_dependencies"] == ["a", "b"]
        assert data["under_declared"] == ["libnope.so.1"]


class TestSharedSearches:
    """Binaries resolve a library once per directory and search path; nothing else is shared."""

    @staticmethod
    def _kinds(binaries: dict[str, BinaryFacts]) -> dict[str, tuple[str, str | None]]:
        report = resolve_libraries(binaries, declared=[])
        return {
            binary.path: (binary.libraries[0].kind, binary.libraries[0].location)
            for binary in report.binaries
            if binary.libraries
        }

    def test_same_search_path_in_other_directories(self) -> None:
        binaries = {
            "lib/a/x.so": elf("libfoo.so.1", runpaths=("$ORIGIN",)),
            "lib/b/y.so": elf("libfoo.so.1", runpaths=("$ORIGIN",)),
            "lib/b/z.so": elf("libfoo.so.1", runpaths=("$ORIGIN",)),
            "lib/b/libfoo.so.1": elf(),
        }
        kinds = self._kinds(binaries)
        assert kinds["lib/a/x.so"] == ("unresolved", None)
        assert kinds["lib/b/y.so"] == kinds["lib/b/z.so"] == ("wheel", "lib/b/libfoo.so.1")

    def test_other_search_paths_in_one_directory(self) -> None:
        binaries = {
            "lib/a/x.so": elf("libfoo.so.1", runpaths=("$ORIGIN",)),
            "lib/a/y.so": elf("libfoo.so.1", runpaths=("$ORIGIN/../b",)),
            "lib/a/z.so": elf("libfoo.so.1", rpaths=("$ORIGIN/../b",)),
            "lib/a/w.so": elf("libfoo.so.1", rpaths=("$ORIGIN",)),
            "lib/b/libfoo.so.1": elf(),
        }
        kinds = self._kinds(binaries)
        assert kinds["lib/a/x.so"] == kinds["lib/a/w.so"] == ("unresolved", None)
        assert kinds["lib/a/y.so"] == kinds["lib/a/z.so"] == ("wheel", "lib/b/libfoo.so.1")

    def test_other_formats_architectures_and_kinds_in_one_directory(self) -> None:
        arm = BinaryFacts("elf", "library", ("aarch64",), needed=("libfoo.so.1",))
        binaries = {
            "lib/python3.12/x.so": elf("libfoo.so.1"),
            "lib/python3.12/y.so": arm,
            # An executable inherits no DT_RPATH from the python executable.
            "lib/python3.12/z": elf("libfoo.so.1", kind="executable"),
            # A DLL searches its own directory and PATH's, never lib/.
            "lib/python3.12/w.dll": BinaryFacts("pe", "library", ("x86_64",), ("libfoo.so.1",)),
            "lib/libfoo.so.1": elf(),
        }
        kinds = self._kinds(binaries)
        assert kinds["lib/python3.12/w.dll"] == ("unresolved", None)
        assert kinds["lib/python3.12/x.so"] == ("wheel", "lib/libfoo.so.1")
        assert kinds["lib/python3.12/y.so"] == ("unresolved", None)
        assert kinds["lib/python3.12/z"] == ("unresolved", None)

    def test_weak_and_strong_links_in_one_directory(self) -> None:
        def dylib(*optional: str) -> BinaryFacts:
            needed = ("@rpath/libfoo.dylib",)
            return BinaryFacts("macho", "library", ("arm64",), needed=needed, optional=optional)

        report = resolve_libraries(
            {"lib/a.dylib": dylib("@rpath/libfoo.dylib"), "lib/b.dylib": dylib()}, declared=[]
        )
        weak, strong = (binary.libraries[0] for binary in report.binaries)
        assert (weak.optional, strong.optional) == (True, False)
        assert weak.reason.startswith("optional (weak): ")
        assert strong.reason == weak.reason.removeprefix("optional (weak): ")


class TestResolveMachO:
    def test_rpath_dependency_and_system(self) -> None:
        binaries = {
            f"{SITE}/lib/lib_demo.dylib": BinaryFacts(
                "macho", "library", ("arm64",),
                needed=(
                    "@rpath/libc++.1.dylib", "/usr/lib/libSystem.B.dylib", "@rpath/libz.1.dylib"
                ),
                rpaths=("@loader_path/../../../",),
            ),
        }  # fmt: skip
        index = providers(
            ("libcxx", ["lib/libc++.1.dylib"], []), ("libzlib", ["lib/libz.1.dylib"], [])
        )
        report = resolve_libraries(binaries, declared=["libcxx"], providers=index)
        cxx, system, zlib = report.binaries[0].libraries
        assert (cxx.kind, cxx.location) == ("dependency", "lib/libc++.1.dylib")
        assert "LC_RPATH '@loader_path/../../../'" in cxx.reason
        assert system.kind == "system"
        assert (zlib.kind, zlib.undeclared_providers) == ("unresolved", ("libzlib",))

    def test_loader_and_executable_paths(self) -> None:
        binaries = {
            "lib/libz.1.dylib": BinaryFacts("macho", "library", ("x86_64",)),
            "bin/tool": BinaryFacts(
                "macho", "library", ("x86_64",), needed=("@executable_path/../lib/libz.1.dylib",)
            ),
            f"{SITE}/m.so": BinaryFacts(
                "macho",
                "library",
                ("x86_64",),
                needed=(
                    "@loader_path/../../libz.1.dylib",
                    "@rpath/libz.1.dylib",
                    "@rpath/libweak.dylib",
                ),
                optional=("@rpath/libweak.dylib",),
            ),
        }
        report = resolve_libraries(binaries, declared=[], providers=providers())
        by_path = {b.path: b.libraries for b in report.binaries}
        assert by_path["bin/tool"][0].location == "lib/libz.1.dylib"
        loader, rpath, weak = by_path[f"{SITE}/m.so"]
        assert loader.location == rpath.location == "lib/libz.1.dylib"
        assert "python executable" in rpath.reason
        assert (weak.kind, weak.optional) == ("unresolved", True)
        assert report.under_declared == ()


class TestResolvePe:
    def test_dll_search(self) -> None:
        binaries = {
            "Library/bin/zlib.dll": BinaryFacts("pe", "library", ("x86_64",)),
            "Lib/site-packages/m/_x.pyd": BinaryFacts(
                "pe", "library", ("x86_64",),
                needed=(
                    "ZLIB.dll", "KERNEL32.dll", "api-ms-win-crt-heap-l1-1-0.dll",
                    "VCRUNTIME140.dll", "python312.dll",
                ),
            ),
        }  # fmt: skip
        index = providers(
            ("vc", [], ["vc14_runtime"]),
            ("vc14_runtime", ["vcruntime140.dll", "Library/bin/vcruntime140.dll"], []),
            ("python", ["python312.dll"], []),
        )
        report = resolve_libraries(binaries, declared=["vc", "python"], providers=index)
        zlib, kernel, crt, vcruntime, python = report.binaries[0].libraries
        assert (zlib.kind, zlib.location) == ("wheel", "Library/bin/zlib.dll")
        assert kernel.kind == crt.kind == "system"
        assert (vcruntime.kind, vcruntime.dependency, vcruntime.package, vcruntime.location) == (
            "dependency", "vc", "vc14_runtime", "vcruntime140.dll",
        )  # fmt: skip
        assert (python.kind, python.dependency) == ("dependency", "python")
        assert report.over_declared == ()


# ------------------------------------------------------------------ Actual tests: helpers


@pytest.mark.parametrize(
    ("path", "library", "loader"),
    [
        ("lib/libz.so.1", True, True),
        ("lib/libz.so", True, True),
        ("lib/libstdc++.so.6.0.33-gdb.py", False, False),
        ("lib/libz.1.dylib", True, True),
        (f"{SITE}/_cffi_backend.cpython-312-x86_64-linux-gnu.so", True, False),
        ("Library/bin/zlib.dll", True, True),
        ("python312.dll", True, True),
        ("Lib/site-packages/x.pyd", True, False),
        ("lib/libz.a", False, False),
        ("lib/pkgconfig/zlib.pc", False, False),
    ],
)
def test_library_paths(path: str, *, library: bool, loader: bool) -> None:
    assert is_library_path(path) is library
    assert in_loader_directory(path) is loader


@pytest.mark.parametrize(
    ("spec", "name"),
    [("libgcc >=13", "libgcc"), ("python_abi 3.12.* *_cp312", "python_abi"), ("zstd", "zstd"),
     ("conda-forge::openssl>=3", "openssl"), ("numpy[version='>=1.2']", "numpy")],
)  # fmt: skip
def test_dependency_name(spec: str, name: str) -> None:
    assert dependency_name(spec) == name


# ------------------------------------------------------------- Actual tests: the corpus

C_EXTENSION_PACKAGES = [
    "cffi", "zstandard", "brotli-python", "libmambapy", "pycosat", "frozendict", "ruamel.yaml.clib",
]  # fmt: skip


@pytest.fixture(scope="module")
def channel_providers(corpus: Path) -> SonameProviders:
    from condawheel.binaries.providers import load_providers  # noqa: PLC0415 - corpus tests only

    return load_providers([corpus / "channel"])


@pytest.mark.corpus
@pytest.mark.parametrize("name", C_EXTENSION_PACKAGES)
def test_corpus_extension_packages_resolve(
    corpus: Path, channel_providers: SonameProviders, name: str
) -> None:
    package = read_corpus_package(corpus_file(corpus, f"channel/linux-64/{name}-[0-9]*"))
    # linux-64, not noarch: the conda path is the installed path.
    report = resolve_libraries(
        package.binaries, declared=package.depends, providers=channel_providers
    )
    assert report.unresolved == ()
    assert report.under_declared == ()
    assert all(b.facts.error is None for b in report.binaries)
    assert set(report.linked_dependencies) <= set(package.depends)
    for binary in report.binaries:
        assert binary.facts.needed
        assert len(binary.libraries) == len(binary.facts.needed)


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "library", "dependency"),
    [
        ("cffi", "libffi.so.8", "libffi"),
        ("zstandard", "libzstd.so.1", "zstd"),
        ("libmambapy", "libmamba.so.2", "libmamba"),
        ("libmambapy", "libfmt.so.11", "fmt"),
        ("libmambapy", "libstdc++.so.6", "libstdcxx"),
        ("libmambapy", "libgcc_s.so.1", "libgcc"),
    ],
)
def test_corpus_providers_are_the_declared_packages(
    corpus: Path, channel_providers: SonameProviders, name: str, library: str, dependency: str
) -> None:
    package = read_corpus_package(corpus_file(corpus, f"channel/linux-64/{name}-[0-9]*"))
    report = resolve_libraries(
        package.binaries, declared=package.depends, providers=channel_providers
    )
    (found,) = {
        (lib.kind, lib.dependency, lib.location)
        for b in report.binaries
        for lib in b.libraries
        if lib.name == library
    }
    assert found == ("dependency", dependency, f"lib/{library}")


@pytest.mark.corpus
def test_corpus_overlinking_is_found(corpus: Path, channel_providers: SonameProviders) -> None:
    # libmamba 1.5.12 links libbz2 (from bzip2, which libarchive depends on) without
    # declaring bzip2: conda-build's overlinking check would report the same.
    package = read_corpus_package(corpus_file(corpus, "channel/linux-64/libmamba-1.5.12-*"))
    report = resolve_libraries(
        package.binaries, declared=package.depends, providers=channel_providers
    )
    assert report.under_declared == ("libbz2.so.1.0",)
    library = next(lib for b in report.binaries for lib in b.libraries if lib.kind == "unresolved")
    assert library.undeclared_providers == ("bzip2",)
    assert "'libarchive'" in library.reason


@pytest.mark.corpus
def test_corpus_macos_zlib(corpus: Path) -> None:
    package = read_corpus_package(corpus / "edge/conda+conda/zlib-1.2.11-h1de35cc_3.conda")
    facts = package.binaries["lib/libz.1.2.11.dylib"]
    assert (facts.format, facts.kind, facts.archs) == ("macho", "library", ("x86_64",))
    assert facts.soname == "@rpath/libz.1.dylib"
    assert facts.needed == ("/usr/lib/libSystem.B.dylib",)
    (placeholder,) = [p for p in package.placeholders if "_h_env_placehold" in p]
    # This old package stores its soname symlinks as empty members; paths.json says that
    # lib/libz.1.dylib is a link to this file (same sha256).
    package.binaries["lib/libz.1.dylib"] = facts
    assert facts.rpaths == (f"{placeholder}/lib", "@loader_path/")
    consumer = BinaryFacts(
        "macho",
        "library",
        ("x86_64",),
        needed=("@rpath/libz.1.dylib",),
        rpaths=(f"{placeholder}/lib",),
    )
    binaries = {**package.binaries, f"{SITE}/m.so": consumer}
    report = resolve_libraries(binaries, declared=[], prefix_placeholders=package.placeholders)
    by_path = {b.path: b for b in report.binaries}
    (library,) = by_path[f"{SITE}/m.so"].libraries
    assert (library.kind, library.location) == ("wheel", "lib/libz.1.dylib")
    assert f"LC_RPATH '{placeholder}/lib'" in library.reason
    assert by_path["lib/libz.1.2.11.dylib"].libraries[0].kind == "system"


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("file", "arch"),
    [("zlib-1.2.11-h62dcd97_3.conda", "x86"), ("2fb5900c-zlib-1.2.11-h62dcd97_3.conda", "x86_64")],
    ids=["win-32", "win-64"],
)
def test_corpus_windows_zlib(corpus: Path, file: str, arch: str) -> None:
    package = read_corpus_package(corpus / "edge/conda+conda" / file)
    facts = package.binaries["Library/bin/zlib.dll"]
    assert (facts.format, facts.kind, facts.archs, facts.soname) == (
        "pe",
        "library",
        (arch,),
        "zlib.dll",
    )
    assert facts.needed == (
        "VCRUNTIME140.dll",
        "api-ms-win-crt-stdio-l1-1-0.dll",
        "api-ms-win-crt-heap-l1-1-0.dll",
        "api-ms-win-crt-convert-l1-1-0.dll",
        "api-ms-win-crt-runtime-l1-1-0.dll",
        "KERNEL32.dll",
    )
    report = resolve_libraries(package.binaries, declared=package.depends)
    libraries = {lib.name: lib for lib in report.binaries[0].libraries}
    # The Visual C++ runtime every Windows Python loads counts as the system's.
    assert (
        libraries["VCRUNTIME140.dll"].reason == "the Visual C++ runtime every Windows Python loads"
    )
    assert {lib.kind for lib in libraries.values()} == {"system"}
