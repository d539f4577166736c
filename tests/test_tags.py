"""Tags: python/ABI from the package, platform from the subdir (design.md, "Tags")."""

from __future__ import annotations

import pytest
from packaging.tags import Tag

from condawheel.tags import (
    PythonFacts,
    choose_tags,
    extension_abi,
    is_extension_module,
    platform_tag,
)


@pytest.mark.parametrize(
    ("subdir", "prefix", "expected"),
    [
        ("linux-64", "conda", "conda_linux_64"),
        ("osx-arm64", "conda", "conda_osx_arm64"),
        ("win-64", "conda", "conda_win_64"),
        ("linux-aarch64", "condaforge", "condaforge_linux_aarch64"),
        ("noarch", "conda", "conda"),
    ],
)
def test_platform_tag(subdir: str, prefix: str, expected: str) -> None:
    assert platform_tag(subdir, prefix=prefix) == expected


@pytest.mark.parametrize("prefix", ["conda-forge", "Conda", "", "1conda"])
def test_platform_prefix_must_be_a_tag(prefix: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        platform_tag("linux-64", prefix=prefix)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("_cffi_backend.cpython-312-x86_64-linux-gnu.so", ("cp312", "cp312")),
        ("m.cpython-313t-x86_64-linux-gnu.so", ("cp313", "cp313t")),
        ("m.cpython-37m-x86_64-linux-gnu.so", ("cp37", "cp37m")),
        ("m.cpython-312-darwin.so", ("cp312", "cp312")),
        ("m.cp312-win_amd64.pyd", ("cp312", "cp312")),
        ("m.cp313t-win_amd64.pyd", ("cp313", "cp313t")),
        ("m.pypy39-pp73-x86_64-linux-gnu.so", ("pp39", "pypy39_pp73")),
        ("m.abi3.so", ("cp3", "abi3")),
        ("libfoo.so.1", None),
        ("m.py", None),
    ],
)
def test_extension_abi(name: str, expected: tuple[str, str] | None) -> None:
    assert extension_abi(name) == expected


def _choose(**facts: object) -> str:
    kind = facts.pop("kind", "python")
    noarch = facts.pop("noarch_python", False)
    subdir = facts.pop("subdir", "linux-64")
    choice = choose_tags(
        subdir=subdir,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        noarch_python=noarch,  # type: ignore[arg-type]
        python=PythonFacts(**facts),  # type: ignore[arg-type]
        platform="conda_linux_64" if subdir != "noarch" else "conda",
    )
    return str(choice)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            {"extension_modules": ("a.cpython-312-x86_64-linux-gnu.so",)},
            "cp312-cp312-conda_linux_64",
        ),
        (
            {
                "extension_modules": ("a.cpython-313t-x86_64-linux-gnu.so",),
                "site_version": "3.13",
                "free_threaded": True,
            },
            "cp313-cp313t-conda_linux_64",
        ),
        (
            {"extension_modules": ("a.abi3.so",), "python_minimum": (3, 9)},
            "cp39-abi3-conda_linux_64",
        ),
        (
            {"extension_modules": ("a.abi3.so", "b.cpython-312-x86_64-linux-gnu.so")},
            "cp312-cp312-conda_linux_64",
        ),
        (
            {"extension_modules": ("a.pypy39-pp73-x86_64-linux-gnu.so",)},
            "pp39-pypy39_pp73-conda_linux_64",
        ),
        ({"extension_modules": ("_ext.so",), "abi_pin": "*_cp312"}, "cp312-cp312-conda_linux_64"),
        ({"extension_modules": ("_ext.so",), "site_version": "2.7"}, "cp27-cp27mu-conda_linux_64"),
        ({"abi_pin": "*_cp312", "site_version": "3.12"}, "cp312-none-conda_linux_64"),
        ({"abi_pin": "*_cp313t", "site_version": "3.13"}, "cp313-none-conda_linux_64"),
        ({"site_version": "3.11"}, "cp311-none-conda_linux_64"),
        ({"noarch_python": True, "subdir": "noarch"}, "py3-none-conda"),
        ({"kind": "library"}, "py3-none-conda_linux_64"),
        ({"kind": "library", "subdir": "noarch"}, "py3-none-conda"),
        # abi3 without a python dependency: the site-packages version, else abi3's first.
        (
            {"extension_modules": ("a.abi3.so",), "site_version": "3.10"},
            "cp310-abi3-conda_linux_64",
        ),
        ({"extension_modules": ("a.abi3.so",)}, "cp32-abi3-conda_linux_64"),
        (
            {"extension_modules": ("_ext.so",), "abi_pin": "*_pypy39_pp73"},
            "pp39-pypy39_pp73-conda_linux_64",
        ),
        # A pin that names no ABI is no evidence: the site-packages version decides.
        (
            {"extension_modules": ("_ext.so",), "abi_pin": "*_cp3x", "site_version": "3.11"},
            "cp311-cp311-conda_linux_64",
        ),
        (
            {"extension_modules": ("_ext.so",), "site_version": "3.13", "free_threaded": True},
            "cp313-cp313t-conda_linux_64",
        ),
        (
            {"extension_modules": ("_ext.pyd",), "site_version": "3.7", "subdir": "win-64"},
            "cp37-cp37m-conda_linux_64",
        ),
        (
            {"extension_modules": ("_ext.pyd",), "site_version": "2.7", "subdir": "win-64"},
            "cp27-cp27m-conda_linux_64",
        ),
        # Pure Python with neither a pin nor a versioned site-packages works anywhere.
        ({"abi_pin": "*_cp3x"}, "py3-none-conda_linux_64"),
        ({}, "py3-none-conda_linux_64"),
    ],
    ids=[
        "cp312",
        "free-threaded",
        "abi3",
        "abi3-plus-specific",
        "pypy",
        "untagged-pin",
        "python2",
        "pure-pinned",
        "pure-pinned-ft",
        "pure-site",
        "noarch-python",
        "library",
        "noarch-generic",
        "abi3-site",
        "abi3-unbounded",
        "untagged-pypy-pin",
        "untagged-unreadable-pin",
        "untagged-free-threaded",
        "untagged-py37-windows",
        "untagged-py27-windows",
        "pure-unreadable-pin",
        "pure-nothing-known",
    ],
)
def test_choose_tags(facts: dict[str, object], expected: str) -> None:
    assert _choose(**facts) == expected


def test_mixed_abis_are_refused() -> None:
    with pytest.raises(ValueError, match="several ABIs"):
        _choose(
            extension_modules=(
                "a.cpython-311-x86_64-linux-gnu.so",
                "b.cpython-312-x86_64-linux-gnu.so",
            )
        )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("site-packages/pkg/_speedups.cpython-312-x86_64-linux-gnu.so", True),
        ("site-packages/pkg/_speedups.abi3.so", True),
        ("Lib/site-packages/pkg/_speedups.pyd", True),
        ("site-packages/pkg/_speedups.so", True),
        # A shared library beside the modules is not one: no module name is that.
        ("site-packages/pkg/libfoo.so.1", False),
        ("site-packages/pkg/lib-foo.so", False),
        ("site-packages/pkg/module.py", False),
    ],
)
def test_is_extension_module(name: str, expected: bool) -> None:
    assert is_extension_module(name) is expected


def test_extension_modules_of_no_known_python_are_refused() -> None:
    with pytest.raises(ValueError, match="Python version cannot be determined"):
        _choose(extension_modules=("_ext.so",))


def test_tag_set_round_trips_through_packaging() -> None:
    choice = choose_tags(
        subdir="linux-64",
        kind="python",
        noarch_python=False,
        python=PythonFacts(extension_modules=("a.cpython-312-x86_64-linux-gnu.so",)),
        platform="conda_linux_64",
    )
    assert choice.tags == frozenset({Tag("cp312", "cp312", "conda_linux_64")})
