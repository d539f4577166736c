"""Tag configuration: ``binary-compatibility.cfg``, and the ordered tags an environment accepts.

The file format is the one Nick Coghlan proposed on distutils-sig in July 2015 and Galaxy's
pip and wheel forks implemented: a JSON object mapping an interpreter's *base platform*
(``sysconfig.get_platform()`` with ``-`` and ``.`` turned into ``_``, PEP 425) to the tags
that interpreter may also use::

    {"linux_x86_64": {"build": "conda_linux_64", "install": ["conda_linux_64", "conda"]}}

``build`` is the platform tag a wheel built for this interpreter is stamped with; ``install``
lists extra platform tags it accepts, most preferred first. The system file
(``/etc/python/binary-compatibility.cfg``) is read first, then the environment's
``<prefix>/binary-compatibility.cfg``; as in Galaxy (``dict.update``), an entry of the
later file replaces the earlier file's entry for the same base platform as a whole.

Everything here but :func:`load_tag_config` is pure: the interpreter's facts come in as an
:class:`InterpreterTags` gathered by :mod:`condawheel.env.interpreter`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from packaging.tags import Tag, compatible_tags, cpython_tags, generic_tags

from condawheel.errors import ConfigError
from condawheel.io.jsondata import JSONProblem, parse_json
from condawheel.tags import platform_tag

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_SYSTEM_CONFIG",
    "EnvironmentTags",
    "InterpreterTags",
    "PlatformEntry",
    "TagConfig",
    "base_platform_for_subdir",
    "conda_subdir_for_platform",
    "default_entry",
    "environment_tags",
    "load_tag_config",
    "merge_tag_configs",
    "parse_tag_config",
    "render_tag_config",
]

CONFIG_NAME: Final = "binary-compatibility.cfg"
DEFAULT_SYSTEM_CONFIG: Final = Path("/etc/python") / CONFIG_NAME
# PEP 425: a platform tag is get_platform() with '-' and '.' replaced by '_'; packaging
# lowercases tags and reads '.' as a compressed tag set, so one platform is [a-z0-9_]+.
_PLATFORM = re.compile(r"[a-z0-9_]+")
_ENTRY_KEYS: Final = frozenset({"build", "install"})


@dataclass(frozen=True)
class PlatformEntry:
    """The tags configured for one base platform.

    :param build: the platform tag to stamp on wheels built for this interpreter.
    :param install: extra platform tags the interpreter accepts, most preferred first.
    :param source: the file the entry was read from (``"default"`` when none was).
    """

    build: str | None
    install: tuple[str, ...]
    source: str = "default"

    @property
    def platforms(self) -> tuple[str, ...]:
        """Return the accepted extra platforms: ``build`` first unless listed, then ``install``.

        A wheel stamped with the build tag was made for this very interpreter, so it is
        always installable, whether or not the file repeats it under ``install``.
        """
        listed = [] if self.build is None or self.build in self.install else [self.build]
        return _unique([*listed, *self.install])

    def to_json(self) -> dict[str, object]:
        """Return the entry as it is written in ``binary-compatibility.cfg``."""
        document: dict[str, object] = {}
        if self.build is not None:
            document["build"] = self.build
        document["install"] = list(self.install)
        return document


@dataclass(frozen=True)
class TagConfig:
    """A parsed (or merged) ``binary-compatibility.cfg``: base platform -> entry."""

    entries: Mapping[str, PlatformEntry] = field(default_factory=lambda: MappingProxyType({}))
    sources: tuple[str, ...] = ()  # the files read, in order

    def entry(self, base_platform: str) -> PlatformEntry | None:
        """Return the entry for an interpreter's base platform, if one is configured."""
        return self.entries.get(base_platform)


@dataclass(frozen=True)
class InterpreterTags:
    """What tag computation needs to know about an interpreter (gathered by running it).

    :param interpreter: its PEP 425 interpreter tag, ``cp312``.
    :param version: ``(major, minor)``.
    :param abis: its own ABI tags, most specific first, without ``abi3``/``none``.
    :param base_platform: ``sysconfig.get_platform()`` as a tag, ``linux_x86_64``.
    :param sys_tags: ``packaging.tags.sys_tags()`` as that interpreter computes them.
    """

    interpreter: str
    version: tuple[int, int]
    abis: tuple[str, ...]
    base_platform: str
    sys_tags: tuple[Tag, ...]

    @property
    def is_cpython(self) -> bool:
        """Whether the interpreter is CPython (``cp`` tags, abi3 applies)."""
        return self.interpreter.startswith("cp")


@dataclass(frozen=True)
class EnvironmentTags:
    """The ordered tags of an environment: configured conda tags, then standard ones."""

    conda: tuple[Tag, ...]
    standard: tuple[Tag, ...]
    conda_platforms: tuple[str, ...]
    build_platform: str | None

    @property
    def ordered(self) -> tuple[Tag, ...]:
        """Return every accepted tag, most preferred first (a tag appears once)."""
        seen = set(self.conda)
        return (*self.conda, *(tag for tag in self.standard if tag not in seen))

    def rank(self) -> dict[Tag, int]:
        """Return each accepted tag's position in :attr:`ordered` (lower is preferred)."""
        return {tag: position for position, tag in enumerate(self.ordered)}

    def is_conda(self, tags: Iterable[Tag]) -> bool:
        """Return whether any of a wheel's tags names one of the configured conda platforms."""
        platforms = set(self.conda_platforms)
        return any(tag.platform in platforms for tag in tags)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _problem(subject: str, reason: str) -> ConfigError:
    return ConfigError(subject, f"{CONFIG_NAME}: {reason}")


def _platform_value(subject: str, where: str, value: object) -> str:
    if not isinstance(value, str):
        raise _problem(subject, f"{where} must be a string, not {type(value).__name__}")
    if not _PLATFORM.fullmatch(value):
        raise _problem(
            subject,
            f"{where} is {value!r}, which is not a platform tag "
            "(lowercase letters, digits and '_': PEP 425)",
        )
    return value


def parse_tag_config(subject: str, text: str) -> TagConfig:
    """Parse the text of a ``binary-compatibility.cfg``.

    :param subject: the file's name, for error messages.
    :raises ConfigError: naming the file and the rule broken, for anything but a JSON
        object of ``platform -> {"build": tag, "install": [tag, ...]}`` (both keys optional).
    """
    try:
        document = parse_json(text)
    except JSONProblem as error:
        raise _problem(subject, str(error)) from None
    if not isinstance(document, dict):
        raise _problem(
            subject, f"must hold a JSON object of platforms, not {type(document).__name__}"
        )
    entries: dict[str, PlatformEntry] = {}
    for key, raw in document.items():
        base = _platform_value(subject, f"key {key!r}", key)
        if not isinstance(raw, dict):
            raise _problem(subject, f"{base!r} must map to an object with 'build' and 'install'")
        unknown = sorted(set(raw) - _ENTRY_KEYS)
        if unknown:
            raise _problem(
                subject,
                f"{base!r} has unknown key(s) {', '.join(map(repr, unknown))}; "
                "only 'build' and 'install' are defined",
            )
        build = raw.get("build")
        if build is not None:
            build = _platform_value(subject, f"{base!r} 'build'", build)
        install_raw = raw.get("install", [])
        if not isinstance(install_raw, list):
            raise _problem(subject, f"{base!r} 'install' must be a list of platform tags")
        install = tuple(
            _platform_value(subject, f"{base!r} 'install'[{position}]", item)
            for position, item in enumerate(install_raw)
        )
        entries[base] = PlatformEntry(build, _unique(install), subject)
    return TagConfig(MappingProxyType(entries), (subject,))


def merge_tag_configs(*configs: TagConfig) -> TagConfig:
    """Merge configurations; a later one's entry replaces an earlier one's for that platform."""
    entries: dict[str, PlatformEntry] = {}
    sources: list[str] = []
    for config in configs:
        entries.update(config.entries)
        sources.extend(config.sources)
    return TagConfig(MappingProxyType(entries), tuple(sources))


def render_tag_config(entries: Mapping[str, PlatformEntry]) -> str:
    """Render entries as a ``binary-compatibility.cfg`` (sorted keys, two-space indent)."""
    document = {key: entries[key].to_json() for key in sorted(entries)}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _read_optional(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"cannot read {CONFIG_NAME}: {error}") from None


def load_tag_config(
    prefix: Path | None, *, system_path: Path | None = DEFAULT_SYSTEM_CONFIG
) -> TagConfig:
    """Read the system file, then the environment's own file, which overrides it.

    Missing files are simply absent; unreadable or malformed ones are errors.

    :param prefix: the environment (its ``binary-compatibility.cfg``), or ``None``.
    :param system_path: the system-wide file; ``None`` to ignore it (tests, sandboxes).
    :raises ConfigError: for an unreadable or malformed file.
    """
    configs = []
    for path in (system_path, None if prefix is None else prefix / CONFIG_NAME):
        if path is None:
            continue
        text = _read_optional(path)
        if text is not None:
            configs.append(parse_tag_config(str(path), text))
    return merge_tag_configs(*configs)


def default_entry(subdir: str, *, platform_prefix: str = "conda") -> PlatformEntry:
    """Return the entry a conda environment of ``subdir`` gets when nothing is configured.

    ``linux-64`` -> build ``conda_linux_64``, install ``conda_linux_64`` then ``conda``
    (the platform tag of ``noarch`` packages, see :func:`condawheel.tags.platform_tag`).

    :raises ConfigError: for a platform prefix that cannot be part of a tag.
    """
    try:
        build = platform_tag(subdir, prefix=platform_prefix)
        noarch = platform_tag("noarch", prefix=platform_prefix)
    except ValueError as error:
        raise ConfigError(platform_prefix, str(error)) from None
    return PlatformEntry(build, _unique([build, noarch]), "default")


# sysconfig.get_platform() -> conda subdir, for the platforms conda-forge builds for.
_SUBDIRS: Final = (
    (re.compile(r"linux_x86_64"), "linux-64"),
    (re.compile(r"linux_i686"), "linux-32"),
    (re.compile(r"linux_(aarch64|ppc64le|s390x|armv6l|armv7l|riscv64)"), "linux-{0}"),
    (re.compile(r"macosx_\d+_\d+_x86_64"), "osx-64"),
    (re.compile(r"macosx_\d+_\d+_arm64"), "osx-arm64"),
    (re.compile(r"win_amd64"), "win-64"),
    (re.compile(r"win32"), "win-32"),
    (re.compile(r"win_arm64"), "win-arm64"),
)


def conda_subdir_for_platform(base_platform: str) -> str | None:
    """Return the conda subdir of an interpreter's base platform (``linux_x86_64`` -> ``linux-64``).

    ``None`` for platforms conda has no subdir for (``macosx_*_universal2``, ...).
    """
    for pattern, subdir in _SUBDIRS:
        match = pattern.fullmatch(base_platform)
        if match is not None:
            return subdir.format(*match.groups())
    return None


# conda subdir -> sysconfig.get_platform() as a tag, where the subdir alone decides it. A
# macOS base platform also names a deployment target (macosx_11_0_arm64), which only the
# interpreter knows.
_BASE_PLATFORMS: Final = {
    "linux-64": "linux_x86_64",
    "linux-32": "linux_i686",
    **{
        f"linux-{arch}": f"linux_{arch}"
        for arch in ("aarch64", "ppc64le", "s390x", "armv6l", "armv7l", "riscv64")
    },
    "win-64": "win_amd64",
    "win-32": "win32",
    "win-arm64": "win_arm64",
}


def base_platform_for_subdir(subdir: str) -> str | None:
    """Return the base platform of a conda subdir's interpreters (``linux-64`` -> ``linux_x86_64``).

    The reverse of :func:`conda_subdir_for_platform`, for the subdirs whose base platform
    does not depend on the interpreter; ``None`` for the others (``osx-*``, unknown ones).
    """
    return _BASE_PLATFORMS.get(subdir)


def environment_tags(facts: InterpreterTags, entry: PlatformEntry | None) -> EnvironmentTags:
    """Return an interpreter's ordered tags: configured conda tags first, then its own.

    The conda block is what ``packaging.tags`` generates for the interpreter's version and
    ABIs on each configured platform (``cp312-cp312-conda_linux_64``, ...,
    ``cp312-abi3-conda``, ..., ``py3-none-conda``); ``-any`` tags belong to the standard
    block, which is the interpreter's own ``sys_tags()`` (PEP 425 order, computed by that
    interpreter, not by the one running condawheel).
    """
    platforms = entry.platforms if entry is not None else ()
    conda: list[Tag] = []
    if platforms:
        if facts.is_cpython:
            conda.extend(cpython_tags(facts.version, facts.abis, platforms))
        else:
            conda.extend(generic_tags(facts.interpreter, facts.abis, platforms))
        conda.extend(
            tag
            for tag in compatible_tags(facts.version, facts.interpreter, platforms)
            if tag.platform != "any"
        )
    return EnvironmentTags(
        conda=tuple(dict.fromkeys(conda)),
        standard=facts.sys_tags,
        conda_platforms=platforms,
        build_platform=entry.build if entry is not None else None,
    )


def own_abis(interpreter: str, sys_tags: Sequence[Tag]) -> tuple[str, ...]:
    """Return an interpreter's own ABI tags from its ``sys_tags`` (not ``abi3``/``none``)."""
    return _unique(
        tag.abi
        for tag in sys_tags
        if tag.interpreter == interpreter and tag.abi not in {"abi3", "abi3t", "none"}
    )
