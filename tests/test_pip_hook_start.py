"""The pip hook's start-up module, run in this process with its import system put back after.

The proof is in ``test_pip_hook.py`` (real environments, where the module runs under its
installed name). Here ``sys.meta_path`` and ``sys.modules`` are this test's copies, and the
patches module is the one condawheel ships, under the name the hook imports it by.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec
from typing import TYPE_CHECKING, Any

import packaging
import packaging.tags
import pytest

from condawheel.env import pip_hook_patches as patches
from condawheel.env import pip_hook_start as start

if TYPE_CHECKING:
    from types import ModuleType

PATCHED = "_condawheel_pip_hook_patched"


@pytest.fixture(autouse=True)
def import_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's own finders, patches state and tags modules."""
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setitem(sys.modules, start.PATCHES, patches)
    monkeypatch.setattr(patches._State, "platforms", ("conda",))
    monkeypatch.setattr(patches._State, "warned", False)
    monkeypatch.delenv(start.SWITCH, raising=False)


def fresh_tags() -> ModuleType:
    spec = importlib.util.find_spec("packaging.tags")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finders() -> list[str]:
    return [type(finder).__name__ for finder in sys.meta_path]


def test_activate_puts_the_finder_first_once_and_patches_what_is_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    imported = fresh_tags()
    monkeypatch.setitem(sys.modules, "packaging.tags", imported)
    monkeypatch.delitem(sys.modules, "pip._vendor.packaging.tags", raising=False)

    start.activate()
    start.activate()

    assert finders()[0] == "TagsFinder"
    assert finders().count("TagsFinder") == 1
    assert getattr(imported, PATCHED) is True
    assert next(iter(imported.sys_tags())).platform == "conda"
    assert not hasattr(packaging.tags, PATCHED)  # this process's own module is untouched


def test_the_switch_turns_the_hook_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(start.SWITCH, "0")
    start.activate()
    assert "TagsFinder" not in finders()


def test_the_finder_hands_out_the_real_spec_with_a_patching_loader() -> None:
    finder = start.TagsFinder()
    sys.meta_path.insert(0, finder)
    assert finder.find_spec("json") is None

    # A submodule is looked for in its package's folders, as the import system asks.
    spec = finder.find_spec("packaging.tags", packaging.__path__)

    assert spec is not None
    assert spec.origin == packaging.tags.__file__
    loader: object = spec.loader
    assert isinstance(loader, start.PatchingLoader)
    # What the loader does not do itself is the real loader's.
    assert getattr(loader, "get_filename")("packaging.tags") == packaging.tags.__file__  # noqa: B009
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert getattr(module, PATCHED) is True
    assert next(iter(module.sys_tags())).platform == "conda"


def test_a_module_no_finder_knows_is_not_found() -> None:
    finder = start.TagsFinder()
    old_protocol: Any = object()  # a finder of the old protocol has no find_spec
    sys.meta_path[:] = [finder, old_protocol]
    assert finder.find_spec("packaging.tags", packaging.__path__) is None


def test_a_loader_without_create_module_lets_python_create_the_module() -> None:
    class OldLoader:
        def exec_module(self, module: ModuleType) -> None:
            module.marker = "executed"  # type: ignore[attr-defined]

    loader = start.PatchingLoader(OldLoader())
    assert loader.create_module(ModuleSpec("packaging.tags", None)) is None


def test_a_patches_module_that_fails_leaves_the_import_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, start.PATCHES)
    module = fresh_tags()

    start.patch(module)  # the patches module is not importable under its installed name here

    assert not hasattr(module, PATCHED)
    assert capsys.readouterr().err == (
        f"condawheel pip hook: {start.PATCHES} failed "
        f"(ModuleNotFoundError(\"No module named '{start.PATCHES}'\")); no conda tags\n"
    )
