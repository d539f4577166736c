"""The pip hook's patches, run in this process on fresh copies of packaging's and pip's modules.

The proof is in ``test_pip_hook.py``: real conda environments and their real pips, where the
module runs under its installed name, out of reach of coverage measurement. These tests run
the same module here, on a fresh copy of ``packaging.tags`` (never the one this process
uses) and on the real pip of this virtual environment, whose patched attributes are put back
after each test. The hook's facts (``_State``: the platforms, what ``hook install``
recorded) are set in memory, as the environment's files would give them.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING

import packaging.tags
import pytest
from pip import __version__ as pip_version
from pip._internal.exceptions import InstallationError
from pip._internal.index import package_finder
from pip._internal.models.candidate import InstallationCandidate
from pip._internal.models.link import Link
from pip._internal.operations.install import wheel as pip_install_module
from pip._vendor.packaging.specifiers import SpecifierSet as PipSpecifierSet
from pip._vendor.packaging.tags import Tag as PipTag

from condawheel.env import pip_hook_patches as patches

if TYPE_CHECKING:
    from collections.abc import Iterable

PLATFORMS = ("conda_linux_64", "conda")
CONDA_WHEEL = "demo-1.0-0_py_0-py3-none-conda_linux_64.whl"


@pytest.fixture(autouse=True)
def state(monkeypatch: pytest.MonkeyPatch) -> type[patches._State]:
    """A process's hook state, fresh; pip's patched attributes put back afterwards."""
    fresh: dict[str, object] = {
        "warned": False,
        "data": None,
        "platforms": None,
        "pip_ready": None,
        "conda_files": {},
    }
    for name, value in fresh.items():
        monkeypatch.setattr(patches._State, name, value)
    monkeypatch.setattr(pip_install_module, "install_wheel", pip_install_module.install_wheel)
    evaluator = package_finder.CandidateEvaluator
    monkeypatch.setattr(evaluator, "_sort_key", evaluator._sort_key)
    monkeypatch.delenv(patches.PREFER, raising=False)
    return patches._State


def fresh_tags(name: str = "packaging.tags") -> ModuleType:
    """Return a new copy of a tags module, not the one in ``sys.modules``."""
    spec = importlib.util.find_spec(name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def texts(tags: Iterable[object]) -> list[str]:
    """Tags as text: two copies of a tags module have two Tag classes, never equal."""
    return [str(tag) for tag in tags]


def conda_block() -> list[str]:
    """The conda tags the hook puts first: what ``condawheel tags`` lists for PLATFORMS."""
    cpython = list(packaging.tags.cpython_tags(None, None, PLATFORMS))
    compatible = packaging.tags.compatible_tags(None, None, PLATFORMS)
    tags = cpython + [tag for tag in compatible if tag.platform != "any"]
    return texts(dict.fromkeys(tags))


# -------------------------------------------------------------------------- packaging.tags


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's tags")
def test_the_environments_conda_tags_come_first_then_the_interpreters(
    state: type[patches._State],
) -> None:
    state.platforms = PLATFORMS
    module = fresh_tags()
    patches.patch_tags(module)

    tags = texts(module.sys_tags())

    block = conda_block()
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    assert block[0] == f"cp{version}-cp{version}-{PLATFORMS[0]}"
    assert tags[: len(block)] == block
    own = texts(packaging.tags.sys_tags())
    assert tags[len(block) :] == [tag for tag in own if tag not in block]
    # Computed once per process: a second call gives the same tags.
    assert texts(module.sys_tags()) == tags


def test_questions_about_other_pythons_or_platforms_are_left_alone(
    state: type[patches._State],
) -> None:
    state.platforms = PLATFORMS
    module = fresh_tags()
    patches.patch_tags(module)
    real = packaging.tags

    assert texts(module.cpython_tags((3, 9))) == texts(real.cpython_tags((3, 9)))
    assert texts(module.cpython_tags(platforms=["linux_x86_64"])) == texts(
        real.cpython_tags(platforms=["linux_x86_64"])
    )
    assert texts(module.generic_tags("pp310")) == texts(real.generic_tags("pp310"))
    assert texts(module.generic_tags(abis=["none"])) == texts(real.generic_tags(abis=["none"]))
    own = f"{real.interpreter_name()}{real.interpreter_version()}"
    assert next(iter(module.generic_tags(own))).platform == PLATFORMS[0]
    assert module.cpython_tags.__wrapped__ is not module.cpython_tags


def test_patching_twice_wraps_once(state: type[patches._State]) -> None:
    state.platforms = PLATFORMS
    module = fresh_tags()
    patches.patch_tags(module)
    wrapped = module.cpython_tags
    patches.patch_tags(module)
    assert module.cpython_tags is wrapped


def test_without_conda_platforms_the_tags_are_the_interpreters(
    state: type[patches._State],
) -> None:
    state.platforms = ()
    module = fresh_tags()
    patches.patch_tags(module)
    assert texts(module.sys_tags()) == texts(packaging.tags.sys_tags())


def test_a_tags_module_of_another_shape_fails_open_with_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    strange = ModuleType("packaging.tags")
    patches.patch_tags(strange)
    patches.patch_tags(ModuleType("pip._vendor.packaging.tags"))

    assert not hasattr(strange, "cpython_tags")
    assert capsys.readouterr().err == (
        "condawheel pip hook: packaging.tags is not the packaging.tags it knows "
        "(module 'packaging.tags' has no attribute 'cpython_tags'); no conda tags\n"
    )


def test_tags_that_cannot_be_computed_fail_open(
    state: type[patches._State], capsys: pytest.CaptureFixture[str]
) -> None:
    state.platforms = (None,)  # type: ignore[assignment]  # what no configuration gives
    module = fresh_tags()
    patches.patch_tags(module)

    assert texts(module.sys_tags()) == texts(packaging.tags.sys_tags())
    warning = capsys.readouterr().err
    assert warning.startswith("condawheel pip hook: cannot compute the conda tags (")
    assert warning.endswith("); no conda tags\n")


# ------------------------------------------------------------------ the environment's facts


def test_the_platforms_come_from_the_recorded_default_and_the_files(
    state: type[patches._State], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(patches, "prefix", lambda: str(tmp_path))
    system = tmp_path / "system.cfg"
    state.data = {"system_config": str(system), "default_platforms": ["conda_linux_64"]}
    assert patches.conda_platforms() == ("conda_linux_64",)

    state.platforms = None
    system.write_text(f'{{"{patches.base_platform()}": {{"install": ["site_tag"]}}}}')
    assert patches.conda_platforms() == ("site_tag",)


def test_a_broken_configuration_warns_and_gives_no_platforms(
    state: type[patches._State],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(patches, "prefix", lambda: str(tmp_path))
    (tmp_path / patches.CONFIG_NAME).write_text("[]")
    state.data = {"system_config": "", "default_platforms": "conda"}

    assert patches.conda_platforms() == ()
    assert capsys.readouterr().err == (
        f"condawheel pip hook: {tmp_path / patches.CONFIG_NAME}: must hold a JSON object "
        "of platforms; no conda tags\n"
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (b'{"condawheel_python": "/usr/bin/python3"}', {"condawheel_python": "/usr/bin/python3"}),
        (b'["not", "an", "object"]', {}),
        (b"{broken", {}),
        (None, {}),
    ],
    ids=["recorded", "array", "broken", "missing"],
)
def test_what_hook_install_recorded_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: bytes | None, expected: object
) -> None:
    monkeypatch.setattr(patches, "prefix", lambda: str(tmp_path))
    if written is not None:
        data = tmp_path.joinpath(*patches.DATA_PATH)
        data.parent.mkdir(parents=True)
        data.write_bytes(written)
    assert patches.load_data() == expected
    assert patches.load_data() is patches.load_data()


def test_a_wheel_is_conda_by_its_platform_tags(state: type[patches._State]) -> None:
    state.platforms = PLATFORMS
    assert patches.is_conda_file(CONDA_WHEEL)
    assert patches.is_conda_file("demo-1.0-py3-none-any.conda.whl")
    assert not patches.is_conda_file("demo-1.0-py3-none-any.whl")
    assert not patches.is_conda_file("demo-1.0-py3-none-conda.tar.gz")


# --------------------------------------------------------------------------------- pip


def evaluator() -> package_finder.CandidateEvaluator:
    """pip's candidate evaluator, for a Python that takes both conda and plain wheels."""
    supported = [PipTag("py3", "none", platform) for platform in (*PLATFORMS, "any")]
    return package_finder.CandidateEvaluator("demo", supported, PipSpecifierSet())


def candidates() -> list[InstallationCandidate]:
    return [
        InstallationCandidate(
            "demo", "2.0", Link("https://example.invalid/demo-2.0-py3-none-any.whl")
        ),
        InstallationCandidate("demo", "1.0", Link(f"https://example.invalid/{CONDA_WHEEL}")),
    ]


@pytest.mark.parametrize(("prefer", "best"), [(None, "1.0"), ("newest", "2.0")])
def test_pips_own_tags_module_arms_pip_to_prefer_conda_builds(
    state: type[patches._State],
    monkeypatch: pytest.MonkeyPatch,
    prefer: str | None,
    best: str,
) -> None:
    alone = evaluator().sort_best_candidate(candidates())
    assert alone is not None
    assert str(alone.version) == "2.0"  # pip by itself takes the newest
    if prefer is not None:
        monkeypatch.setenv(patches.PREFER, prefer)
    state.platforms = PLATFORMS
    module = fresh_tags(patches.PIP_TAGS)
    patches.patch_tags(module)

    assert next(iter(module.sys_tags())).platform == PLATFORMS[0]
    assert state.pip_ready is True
    chosen = evaluator().sort_best_candidate(candidates())
    assert chosen is not None
    assert str(chosen.version) == best
    # Armed once: a second tags module does not wrap pip again.
    sort_key = package_finder.CandidateEvaluator._sort_key
    patches.patch_tags(fresh_tags(patches.PIP_TAGS))
    list(fresh_tags(patches.PIP_TAGS).sys_tags())
    assert package_finder.CandidateEvaluator._sort_key is sort_key


def test_a_pip_of_unknown_internals_gets_no_conda_tags(
    state: type[patches._State],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def install_wheel(wheel_path: str, name: str) -> None:  # another pip's signature
        del wheel_path, name

    monkeypatch.setattr(pip_install_module, "install_wheel", install_wheel)
    state.platforms = PLATFORMS
    module = fresh_tags(patches.PIP_TAGS)
    patches.patch_tags(module)

    assert [tag for tag in module.sys_tags() if tag.platform in PLATFORMS] == []
    assert state.pip_ready is False
    assert getattr(pip_install_module, "install_wheel") is install_wheel  # noqa: B009 - replaced

    assert capsys.readouterr().err == (
        f"condawheel pip hook: pip {pip_version} is not a pip whose internals this hook knows "
        "(pip._internal.operations.install.wheel.install_wheel(name, wheel_path, ...)); "
        "pip runs without conda tags (use `condawheel install` for conda wheels)\n"
    )


def own_scheme() -> SimpleNamespace:
    """pip's scheme for an install into the running environment itself."""
    return SimpleNamespace(**sysconfig.get_paths())


def test_pip_installs_other_wheels_itself_and_refuses_conda_wheels_it_cannot_place(
    state: type[patches._State], tmp_path: Path
) -> None:
    state.platforms = PLATFORMS
    installed: list[tuple[object, ...]] = []

    def pips_install_wheel(*arguments: object, **options: object) -> None:
        installed.append((*arguments, *options.values()))

    wrapped = patches._wrap_install_wheel(pips_install_wheel, InstallationError)
    plain = str(tmp_path / "demo-2.0-py3-none-any.whl")
    wrapped("demo", plain, own_scheme(), "demo==2.0", requested=True)
    assert installed == [("demo", plain, own_scheme(), "demo==2.0", True)]

    target = SimpleNamespace(**{key: str(tmp_path / key) for key in patches.SCHEME_KEYS})
    with pytest.raises(InstallationError) as raised:
        wrapped("demo", str(tmp_path / CONDA_WHEEL), target, "demo==1.0", requested=True)
    assert str(raised.value) == (
        f"condawheel: {CONDA_WHEEL} is a conda wheel; it installs only into the environment "
        f"itself, not into pip's purelib {str(tmp_path / 'purelib')!r} (--target, --prefix, "
        f"--root or --user): use `condawheel install demo --prefix {sys.prefix}`"
    )
    assert len(installed) == 1


def test_without_its_condawheel_a_conda_wheel_is_refused_with_a_pointer(
    state: type[patches._State], tmp_path: Path
) -> None:
    state.platforms = PLATFORMS
    gone = str(tmp_path / "gone" / "python")
    state.data = {"condawheel_python": gone}

    problem = patches.install_through_condawheel(
        "demo", str(tmp_path / CONDA_WHEEL), own_scheme(), requested=False
    )

    assert problem is not None
    assert problem.startswith(f"condawheel: {CONDA_WHEEL} is a conda wheel, which pip installs ")
    assert f"the condawheel that hooked this environment ({gone}) is gone" in problem
    assert problem.endswith(f"`condawheel install demo --prefix {sys.prefix}`")


def test_a_python_without_condawheel_is_as_good_as_gone(
    state: type[patches._State], tmp_path: Path
) -> None:
    # The interpreter alone, without this virtual environment's site-packages.
    base = str(Path(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}"))
    state.data = {"condawheel_python": base}
    problem = patches.install_through_condawheel(
        "demo", str(tmp_path / CONDA_WHEEL), own_scheme(), requested=False
    )
    assert problem is not None
    assert f"the condawheel that hooked this environment ({base}) is gone" in problem


def test_condawheels_refusal_becomes_pips_one_line_error(
    state: type[patches._State], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real condawheel (this one) asked to install into a folder that is no conda
    # environment: its refusal is what pip prints.
    monkeypatch.setattr(patches, "prefix", lambda: str(tmp_path))
    state.data = {"condawheel_python": sys.executable, "system_config": "/nonexistent.cfg"}
    wheel = tmp_path / CONDA_WHEEL
    wheel.write_bytes(b"not a zip")

    problem = patches.install_through_condawheel("demo", str(wheel), own_scheme(), requested=True)

    # condawheel's "error: " is taken off: pip puts its own "ERROR: " before the line.
    assert problem == (
        f"condawheel: {tmp_path}: no Python interpreter in this environment (looked for bin/python)"
    )
