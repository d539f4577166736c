"""The pip hook's start-up part, run by every start of a hooked environment's interpreter.

``condawheel hook install`` copies this file into the environment's site-packages as
``_condawheel_pip_hook.py``, with ``_condawheel_pip_hook.pth`` (an ``import`` line) and its
PEP 829 twin ``_condawheel_pip_hook.start`` (the entry point ``_condawheel_pip_hook:activate``;
from Python 3.15 a ``.start`` file of the same name replaces the ``.pth`` import lines).

It is kept small because every process pays for it: it puts a finder first on
``sys.meta_path`` and nothing else. The finder acts on two module names, ``packaging.tags``
and pip's vendored ``pip._vendor.packaging.tags`` (every other import costs one set lookup);
when one of them has been executed, the patches module (:mod:`condawheel.env.pip_hook_patches`,
``_condawheel_pip_hook_patches``) is imported and wraps it. Standard library only, Python 3.8+,
no ``from __future__`` import (one module fewer to load). ``CONDAWHEEL_PIP_HOOK=0`` switches
the hook off in a process.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

SWITCH = "CONDAWHEEL_PIP_HOOK"
PATCHES = "_condawheel_pip_hook_patches"
TAG_MODULES = frozenset({"packaging.tags", "pip._vendor.packaging.tags"})


def activate() -> None:
    """Put the finder first on ``sys.meta_path`` (the ``.pth`` line and ``.start`` entry)."""
    if os.environ.get(SWITCH, "1") == "0":
        return
    if any(type(item).__name__ == "TagsFinder" for item in sys.meta_path):
        return
    sys.meta_path.insert(0, TagsFinder())
    for name in TAG_MODULES:  # imported before the hook (by another .pth file): patch now
        module = sys.modules.get(name)
        if module is not None:
            patch(module)


def patch(module: "ModuleType") -> None:
    """Let the patches module wrap a tags module; fail open with one line if it cannot."""
    try:
        __import__(PATCHES)
        sys.modules[PATCHES].patch_tags(module)
    except Exception as error:  # noqa: BLE001 - never break the import of packaging.tags
        try:
            sys.stderr.write(f"condawheel pip hook: {PATCHES} failed ({error!r}); no conda tags\n")
        except (AttributeError, OSError, ValueError):  # no usable stderr
            pass


class TagsFinder:
    """A meta path finder that lets the real finders work, then patches the tags modules."""

    def find_spec(
        self,
        fullname: str,
        path: "Sequence[str] | None" = None,
        target: "ModuleType | None" = None,
    ) -> "ModuleSpec | None":
        """Return the real spec of a tags module with a patching loader; ``None`` otherwise."""
        if fullname not in TAG_MODULES:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, TagsFinder):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec: ModuleSpec | None = find(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = PatchingLoader(spec.loader)  # type: ignore[assignment]
            return spec
        return None


class PatchingLoader:
    """Delegates to the real loader, and patches the module once it has been executed."""

    def __init__(self, loader: object) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> object:
        return getattr(self._loader, name)

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        """Let the real loader create the module (``None``: the default)."""
        create = getattr(self._loader, "create_module", None)
        if create is None:
            return None
        module: ModuleType | None = create(spec)
        return module

    def exec_module(self, module: "ModuleType") -> None:
        """Execute the module with the real loader, then patch it."""
        self._loader.exec_module(module)  # type: ignore[attr-defined]
        patch(module)
