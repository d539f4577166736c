"""Ask an environment's own Python for its facts: version, tags, install scheme, pip.

Everything that depends on the interpreter (markers, ``Requires-Python``, tags, the
``sysconfig`` scheme, bytecode) must come from the environment's interpreter, not from the one
running condawheel (docs/environments.md, "Resolution"; pip evaluates markers with the
running interpreter). So condawheel runs that interpreter once, in a subprocess, with a small probe.

The probe computes tags with ``packaging.tags`` *inside* the target interpreter: condawheel's
own copy of ``packaging`` is put on that interpreter's ``sys.path`` through a private directory
holding nothing else (:func:`isolated_packages`), so the environment's site-packages are not
mixed with condawheel's and an environment without ``packaging`` still works.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from packaging.tags import Tag, parse_tag

from condawheel.env.pip_hook_start import SWITCH as PIP_HOOK_SWITCH
from condawheel.env.tagconfig import InterpreterTags, own_abis
from condawheel.errors import InstallError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "InterpreterFacts",
    "find_python",
    "isolated_packages",
    "parse_probe_output",
    "probe_interpreter",
]

PROBE_TIMEOUT: Final = 120.0

# Runs in the target interpreter (any Python >= 3.8): no condawheel imports, JSON on stdout.
_PROBE = r"""
import json, os, platform, sys, sysconfig
sys.path.insert(0, sys.argv[1])
from packaging import tags
try:
    from importlib.metadata import version, PackageNotFoundError
    try:
        pip_version = version("pip")
    except PackageNotFoundError:
        pip_version = None
except ImportError:
    pip_version = None
print(json.dumps({
    "executable": sys.executable,
    "version": platform.python_version(),
    "implementation": sys.implementation.name,
    "interpreter": tags.interpreter_name() + tags.interpreter_version(),
    "platform": sysconfig.get_platform(),
    "sys_platform": sys.platform,
    "os_name": os.name,
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "paths": sysconfig.get_paths(),
    "platforms": list(tags.platform_tags()),
    "sys_tags": [str(tag) for tag in tags.sys_tags()],
    "pip": pip_version,
    "cache_tag": sys.implementation.cache_tag,
}))
"""


@dataclass(frozen=True)
class InterpreterFacts:
    """An environment's interpreter, as it describes itself.

    :param python: the path condawheel runs (``<prefix>/bin/python``); scripts' shebangs
        name it.
    :param paths: ``sysconfig.get_paths()`` of its default scheme (``purelib``,
        ``platlib``, ``scripts``, ``data``, ``include``...).
    :param sys_tags: ``packaging.tags.sys_tags()``, in its order.
    :param platforms: ``packaging.tags.platform_tags()``: its own platforms, best first.
    :param pip: the version of the pip installed in it, if any.
    """

    python: Path
    executable: str
    version: str
    implementation: str
    interpreter: str
    base_platform: str
    sys_platform: str
    os_name: str
    prefix: str
    base_prefix: str
    paths: Mapping[str, str]
    platforms: tuple[str, ...]
    sys_tags: tuple[Tag, ...]
    pip: str | None
    cache_tag: str | None

    @property
    def version_info(self) -> tuple[int, int]:
        """Return ``(major, minor)``."""
        major, minor = self.version.split(".")[:2]
        return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)

    @property
    def is_windows(self) -> bool:
        """Whether the interpreter runs on Windows (``Scripts/``, ``.exe`` launchers)."""
        return self.os_name == "nt"

    @property
    def is_venv(self) -> bool:
        """Whether ``sys.prefix`` differs from ``sys.base_prefix`` (a venv-style environment)."""
        return self.prefix != self.base_prefix

    @property
    def abbreviation(self) -> str:
        """Return the implementation's tag abbreviation (``cp``, ``pp``) for pip."""
        return self.interpreter.rstrip("0123456789")

    def tags(self) -> InterpreterTags:
        """Return the facts tag computation needs."""
        return InterpreterTags(
            interpreter=self.interpreter,
            version=self.version_info,
            abis=own_abis(self.interpreter, self.sys_tags),
            base_platform=self.base_platform,
            sys_tags=self.sys_tags,
        )

    def abis(self) -> tuple[str, ...]:
        """Return every ABI tag the interpreter accepts, in its order (for pip ``--abi``)."""
        return tuple(dict.fromkeys(tag.abi for tag in self.sys_tags))


def find_python(prefix: Path) -> Path:
    """Return the interpreter of an environment (``bin/python``, or ``python.exe`` on Windows).

    :raises InstallError: when the prefix has none.
    """
    for candidate in (
        prefix / "bin" / "python",
        prefix / "bin" / "python3",
        prefix / "python.exe",
        prefix / "Scripts" / "python.exe",
    ):
        if candidate.is_file():
            return candidate
    raise InstallError(
        str(prefix), "no Python interpreter in this environment (looked for bin/python)"
    )


def _package_directory(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    locations = None if spec is None else spec.submodule_search_locations
    if not locations:
        raise InstallError(name, f"the Python package {name!r} is not importable by condawheel")
    return Path(next(iter(locations)))


@contextlib.contextmanager
def isolated_packages(*names: str) -> Iterator[Path]:
    """Yield a temporary directory that holds only condawheel's copies of some packages.

    Put first on another interpreter's ``sys.path``, it lends that interpreter these
    pure-Python packages (``packaging``, ``pip``) without exposing the rest of condawheel's
    site-packages. Symbolic links where the file system allows them, copies otherwise.

    :raises InstallError: if one of the packages is not installed next to condawheel.
    """
    with tempfile.TemporaryDirectory(prefix="condawheel-lend-") as temporary:
        root = Path(temporary)
        for name in names:
            source = _package_directory(name)
            try:
                (root / name).symlink_to(source, target_is_directory=True)
            except OSError:  # Windows without the symlink privilege
                shutil.copytree(source, root / name)
        yield root


def _scrubbed_environment() -> dict[str, str]:
    # PYTHON* variables of the caller would change what the target interpreter imports
    # (it also runs with -I); PIP_* ones would change what pip resolves. The pip hook of a
    # hooked environment is switched off: the probe asks for the interpreter's own tags.
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PIP_", "__PYVENV_LAUNCHER__"))
    }
    environment[PIP_HOOK_SWITCH] = "0"
    return environment


def parse_probe_output(python: Path, text: str) -> InterpreterFacts:
    """Parse the probe's JSON into :class:`InterpreterFacts`.

    :raises InstallError: if the output is not what the probe prints.
    """
    try:
        raw = json.loads(text)
        paths = raw["paths"]
        facts = InterpreterFacts(
            python=python,
            executable=str(raw["executable"]),
            version=str(raw["version"]),
            implementation=str(raw["implementation"]),
            interpreter=str(raw["interpreter"]),
            base_platform=str(raw["platform"]).replace("-", "_").replace(".", "_"),
            sys_platform=str(raw["sys_platform"]),
            os_name=str(raw["os_name"]),
            prefix=str(raw["prefix"]),
            base_prefix=str(raw["base_prefix"]),
            paths={str(key): str(value) for key, value in paths.items()},
            platforms=tuple(str(item) for item in raw["platforms"]),
            sys_tags=tuple(tag for text_tag in raw["sys_tags"] for tag in parse_tag(str(text_tag))),
            pip=None if raw["pip"] is None else str(raw["pip"]),
            cache_tag=None if raw["cache_tag"] is None else str(raw["cache_tag"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InstallError(
            str(python), f"unexpected answer from the interpreter probe ({error!r})"
        ) from None
    return facts


def probe_interpreter(python: Path) -> InterpreterFacts:
    """Run an environment's interpreter once and return its facts.

    :raises InstallError: if the interpreter cannot be run or answers nonsense.
    """
    with isolated_packages("packaging") as lent:
        try:
            completed = subprocess.run(
                [str(python), "-I", "-c", _PROBE, str(lent)],
                capture_output=True,
                text=True,
                check=False,
                timeout=PROBE_TIMEOUT,
                env=_scrubbed_environment(),
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise InstallError(str(python), f"cannot run the interpreter: {error}") from None
    if completed.returncode != 0:
        last = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        raise InstallError(
            str(python),
            f"the interpreter probe failed with exit code {completed.returncode}: {last[0]}",
        )
    return parse_probe_output(python, completed.stdout)


def running_interpreter_is(python: Path) -> bool:
    """Return whether ``python`` is the interpreter running condawheel (for messages)."""
    try:
        return Path(sys.executable).resolve() == python.resolve()
    except OSError:
        return False
