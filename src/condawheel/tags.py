"""Choose a converted wheel's compatibility tags (pure).

Python and ABI come from the package, the platform from its conda subdir. PEP 425 tags
are ``python-abi-platform``. The platform is private to conda so that no system pip ever
selects the wheel: ``conda_<subdir>`` with ``-`` replaced by ``_``
(``conda_linux_64``), or plain ``conda`` for ``noarch`` packages. PEP 425 asks only that a
platform tag be a lowercase identifier, and no installer knows these unless told. The
python/ABI pair comes from the extension modules' file-name suffixes (PEP 3149, PEP 3147
``EXT_SUFFIX``), then from the ``python_abi`` pin, then from the site-packages directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from packaging.tags import Tag, parse_tag

__all__ = [
    "PythonFacts",
    "TagChoice",
    "choose_tags",
    "extension_abi",
    "is_extension_module",
    "platform_tag",
]

_PREFIX = re.compile(r"^[a-z][a-z0-9_]*$")
_CPYTHON_SUFFIX = re.compile(r"\.cpython-(?P<major>\d)(?P<minor>\d+)(?P<flags>[a-z]*)-[^./]+\.so$")
_WINDOWS_SUFFIX = re.compile(r"\.cp(?P<major>\d)(?P<minor>\d+)(?P<flags>t?)-win[a-z0-9_]*\.pyd$")
_PYPY_SUFFIX = re.compile(r"\.pypy(?P<major>\d)(?P<minor>\d+)-pp(?P<pp>\d+)-[^./]+\.so$")
_ABI3_SUFFIX = re.compile(r"\.abi3\.so$")
_PLAIN_EXTENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.(?:so|pyd)$")
# python_abi build strings: "5_cp312", "7_cp313t", "4_pypy39_pp73".
_ABI_PIN = re.compile(r"(?:^|_)(?P<abi>cp(?P<cpver>\d+)t?|pypy(?P<ppver>\d+)_pp\d+)$")


@dataclass(frozen=True)
class PythonFacts:
    """What a package says about the Python it was built for."""

    site_version: str | None = None  # "3.12" from lib/python3.12/site-packages
    free_threaded: bool = False  # lib/python3.13t
    extension_modules: tuple[str, ...] = ()  # file names of extension modules
    abi_pin: str | None = None  # python_abi's build glob, e.g. "*_cp312"
    abi_pin_version: str | None = None  # python_abi's version, e.g. "3.12"
    python_minimum: tuple[int, int] | None = None  # lower bound of the python dependency


@dataclass(frozen=True)
class TagChoice:
    """The chosen tag triple, and why."""

    interpreter: str
    abi: str
    platform: str
    reason: str

    @property
    def tags(self) -> frozenset[Tag]:
        """Return the expanded tag set (PEP 425 compressed tag sets)."""
        return parse_tag(f"{self.interpreter}-{self.abi}-{self.platform}")

    def __str__(self) -> str:
        """Return the compressed tag triple, as in a wheel file name."""
        return f"{self.interpreter}-{self.abi}-{self.platform}"


def platform_tag(subdir: str, *, prefix: str = "conda") -> str:
    """Return the private conda platform tag for a subdir.

    ``linux-64`` -> ``conda_linux_64``; ``noarch`` -> ``conda``. PEP 425 platform tags are
    ``[a-z0-9_]``, so the prefix must be too (``condaforge``, not ``conda-forge``).

    :raises ValueError: for a prefix that cannot be part of a tag.
    """
    if not _PREFIX.match(prefix):
        msg = f"platform prefix {prefix!r} must match [a-z][a-z0-9_]* (PEP 425 tags)"
        raise ValueError(msg)
    if subdir == "noarch":
        return prefix
    return f"{prefix}_{subdir.replace('-', '_')}"


def is_extension_module(name: str) -> bool:
    """Return whether a site-packages file name looks like a Python extension module."""
    if ".so" not in name and ".pyd" not in name:
        return False  # what every pattern below needs, without a regular expression
    base = name.rsplit("/", 1)[-1]
    return (
        extension_abi(base) is not None
        or _ABI3_SUFFIX.search(base) is not None
        or _PLAIN_EXTENSION.match(base) is not None
    )


def extension_abi(name: str) -> tuple[str, str] | None:
    """Return ``(interpreter, abi)`` from an extension module's tagged suffix, if any.

    ``x.cpython-312-x86_64-linux-gnu.so`` -> ``("cp312", "cp312")``; ``-313t-`` ->
    ``cp313t``; ``x.cp312-win_amd64.pyd`` -> ``("cp312", "cp312")``;
    ``x.pypy39-pp73-x86_64-linux-gnu.so`` -> ``("pp39", "pypy39_pp73")``;
    ``x.abi3.so`` -> ``("cp3", "abi3")`` (the minimum minor version is found elsewhere).
    """
    base = name.rsplit("/", 1)[-1]
    if match := _CPYTHON_SUFFIX.search(base):
        version = f"{match['major']}{match['minor']}"
        return f"cp{version}", f"cp{version}{match['flags']}"
    if match := _WINDOWS_SUFFIX.search(base):
        version = f"{match['major']}{match['minor']}"
        return f"cp{version}", f"cp{version}{match['flags']}"
    if match := _PYPY_SUFFIX.search(base):
        version = f"{match['major']}{match['minor']}"
        return f"pp{version}", f"pypy{version}_pp{match['pp']}"
    if _ABI3_SUFFIX.search(base):
        return "cp3", "abi3"
    return None


def _pin_abi(facts: PythonFacts) -> tuple[str, str] | None:
    if facts.abi_pin is None:
        return None
    match = _ABI_PIN.search(facts.abi_pin.lstrip("*"))
    if match is None:
        return None
    abi = match["abi"]
    if match["cpver"]:
        return f"cp{match['cpver']}", abi
    return f"pp{match['ppver']}", abi


def _default_cpython_abi(version: str, *, free_threaded: bool, subdir: str) -> str:
    major, _, minor = version.partition(".")
    number = f"{major}{minor}"
    if free_threaded:
        return f"cp{number}t"
    if (int(major), int(minor or 0)) >= (3, 8):
        return f"cp{number}"
    # Before 3.8 the pymalloc flag "m" was in every CPython ABI; Python 2 conda builds on
    # Linux were UCS-4 ("mu").
    if major == "2" and subdir.startswith("linux"):
        return f"cp{number}mu"
    return f"cp{number}m"


def choose_tags(
    *,
    subdir: str,
    kind: Literal["python", "library"],
    noarch_python: bool,
    python: PythonFacts,
    platform: str,
) -> TagChoice:
    """Choose the wheel's ``python-abi-platform`` tag triple.

    :param kind: ``"library"`` for packages without Python code (they work with any
        Python, so ``py3-none``).
    :param noarch_python: the package is ``noarch: python`` (CEP 20 abi3 packages too).
    :param platform: the platform tag from :func:`platform_tag` (or a configured one).
    """
    found = {pair for name in python.extension_modules if (pair := extension_abi(name))}
    if len(found) > 1 and ("cp3", "abi3") in found:
        found.discard(("cp3", "abi3"))  # version-specific modules make the wheel specific
    if len(found) > 1:
        shown = ", ".join(sorted(f"{i}-{a}" for i, a in found))
        msg = f"extension modules for several ABIs ({shown})"
        raise ValueError(msg)
    if found:
        interpreter, found_abi = found.pop()
        if found_abi == "abi3":
            minimum = python.python_minimum or _version_tuple(python.site_version) or (3, 2)
            return TagChoice(
                f"cp{minimum[0]}{minimum[1]}",
                "abi3",
                platform,
                "abi3 extension modules; minimum Python from the python dependency",
            )
        return TagChoice(interpreter, found_abi, platform, "extension module suffixes (PEP 3149)")
    if python.extension_modules:
        # Untagged extension modules (Python 2 era, Windows .pyd): the ABI comes from the
        # python_abi pin or the site-packages directory.
        pinned = _pin_abi(python)
        if pinned is not None:
            return TagChoice(*pinned, platform, "untagged extension modules; python_abi pin")
        if python.site_version is not None:
            number = python.site_version.replace(".", "")
            default_abi = _default_cpython_abi(
                python.site_version, free_threaded=python.free_threaded, subdir=subdir
            )
            return TagChoice(
                f"cp{number}",
                default_abi,
                platform,
                "untagged extension modules; site-packages version",
            )
        msg = "extension modules whose Python version cannot be determined"
        raise ValueError(msg)
    if kind == "library" or noarch_python:
        return TagChoice("py3", "none", platform, "no extension modules")
    pinned = _pin_abi(python)
    if pinned is not None:
        return TagChoice(
            pinned[0], "none", platform, "pure Python built for one interpreter (python_abi pin)"
        )
    if python.site_version is not None:
        number = python.site_version.replace(".", "")
        return TagChoice(
            f"cp{number}", "none", platform, "pure Python in a versioned site-packages"
        )
    return TagChoice("py3", "none", platform, "no extension modules")


def _version_tuple(version: str | None) -> tuple[int, int] | None:
    if version is None:
        return None
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)
