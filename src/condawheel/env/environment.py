"""Open an environment: its interpreter's facts, its contents and its tag configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from condawheel.env.interpreter import InterpreterFacts, find_python, probe_interpreter
from condawheel.env.prefix import CONDA_META, PrefixState, read_conda_meta, read_prefix
from condawheel.env.tagconfig import (
    DEFAULT_SYSTEM_CONFIG,
    EnvironmentTags,
    PlatformEntry,
    TagConfig,
    base_platform_for_subdir,
    conda_subdir_for_platform,
    default_entry,
    environment_tags,
    load_tag_config,
)
from condawheel.errors import ConfigError, InstallError
from condawheel.options import PlatformStamp
from condawheel.tags import platform_tag

__all__ = [
    "Environment",
    "build_stamp",
    "configured_stamp",
    "environment_path",
    "open_environment",
    "stamp_for_prefix",
    "tag_entry",
]


def environment_path(prefix: Path) -> Path:
    """Return ``prefix`` absolute and without ``..``, as the shebangs and reports spell it.

    An environment reached through a symlink keeps the spelling its user chose; a path
    with ``..`` is resolved the way the OS resolves it (``link/..`` is the parent of the
    link's target, not the folder holding the link), so it cannot name another folder.
    """
    path = Path(prefix).absolute()
    return Path(os.path.realpath(path)) if ".." in path.parts else path


@dataclass(frozen=True)
class Environment:
    """Everything condawheel needs to know before installing into a prefix."""

    prefix: Path
    facts: InterpreterFacts
    state: PrefixState
    config: TagConfig
    entry: PlatformEntry | None
    tags: EnvironmentTags

    def to_json(self) -> dict[str, object]:
        """Return the record ``condawheel tags --json`` prints."""
        tags = self.tags
        return {
            "prefix": str(self.prefix),
            "python": str(self.facts.python),
            "python_version": self.facts.version,
            "base_platform": self.facts.base_platform,
            "config_sources": list(self.config.sources),
            "entry_source": self.entry.source if self.entry else None,
            "build_platform": tags.build_platform,
            "conda_platforms": list(tags.conda_platforms),
            "conda_tags": [str(tag) for tag in tags.conda],
            "tags": [str(tag) for tag in tags.ordered],
        }

    @property
    def subdir(self) -> str | None:
        """Return the conda subdir: from ``conda-meta`` records, else from the interpreter."""
        return self.state.subdir() or conda_subdir_for_platform(self.facts.base_platform)


def tag_entry(
    config: TagConfig,
    facts: InterpreterFacts,
    state: PrefixState,
    *,
    platform_prefix: str = "conda",
) -> PlatformEntry | None:
    """Return the configured entry for the interpreter, or a conda environment's default.

    A ``binary-compatibility.cfg`` entry for the interpreter's base platform wins. A conda
    environment (one with ``conda-meta/``) with no such entry gets the default conda tags
    of its subdir (``conda_linux_64``, then ``conda``), so that ``condawheel install``
    works before ``condawheel hook install`` wrote the file. Anything else gets none.
    """
    configured = config.entry(facts.base_platform)
    if configured is not None:
        return configured
    if not state.is_conda:
        return None
    subdir = state.subdir() or conda_subdir_for_platform(facts.base_platform)
    if subdir is None:
        return None
    return default_entry(subdir, platform_prefix=platform_prefix)


def open_environment(
    prefix: Path,
    *,
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG,
    platform_prefix: str = "conda",
    conda_only: bool = False,
) -> Environment:
    """Probe an environment's interpreter, read ``conda-meta`` and the tag configuration.

    :param system_config: the system-wide ``binary-compatibility.cfg`` (``None``: ignore).
    :param conda_only: refuse a folder without ``conda-meta/`` (the commands made for
        conda environments: ``tags``, ``install``, ``hook install``), before looking for
        its interpreter, so that the message names what is wrong with it.
    :raises InstallError: if the prefix is not a (conda) environment or has no usable
        interpreter.
    :raises ConfigError: for a malformed configuration file.
    """
    prefix = environment_path(prefix)
    if not prefix.is_dir():
        raise InstallError(str(prefix), "no such environment directory")
    if conda_only and not (prefix / CONDA_META).is_dir():
        raise InstallError(str(prefix), f"not a conda environment (no {CONDA_META}/)")
    facts = probe_interpreter(find_python(prefix))
    try:
        same = Path(facts.prefix).samefile(prefix)
    except OSError:
        same = False
    if not same:
        # Its scheme paths would point elsewhere: installing would write outside the prefix.
        raise InstallError(
            str(prefix),
            f"its interpreter reports sys.prefix {facts.prefix!r}, not this environment "
            "(a bin/python borrowed from another installation without a pyvenv.cfg?)",
        )
    prefix = Path(facts.prefix)  # the spelling the scheme paths use
    sites = [Path(facts.paths["purelib"]), Path(facts.paths["platlib"])]
    state = read_prefix(prefix, sites)
    config = load_tag_config(prefix, system_path=system_config)
    entry = tag_entry(config, facts, state, platform_prefix=platform_prefix)
    return Environment(
        prefix=prefix,
        facts=facts,
        state=state,
        config=config,
        entry=entry,
        tags=environment_tags(facts.tags(), entry),
    )


def build_stamp(environment: Environment) -> PlatformStamp | None:
    """Return what ``convert --for-prefix`` stamps: the build tag, for the environment's subdir.

    ``None`` when the environment has no build tag (no entry and not a conda environment)
    or no known conda subdir.
    """
    tag = environment.tags.build_platform
    subdir = environment.subdir
    if tag is None or subdir is None:
        return None
    return PlatformStamp(subdir, tag)


def stamp_for_prefix(
    prefix: Path,
    *,
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG,
    platform_prefix: str = "conda",
) -> PlatformStamp | None:
    """Return the stamp of ``--for-prefix``: the build tag an environment accepts, and its subdir.

    Unlike :func:`configured_stamp`, the conda default counts too: wheels made *for*
    an environment carry its build tag whatever it is.

    :raises InstallError: if the prefix has no usable interpreter.
    :raises ConfigError: for a malformed configuration file.
    """
    environment = open_environment(
        prefix, system_config=system_config, platform_prefix=platform_prefix
    )
    return build_stamp(environment)


def _may_configure_a_stamp(config: TagConfig, platform_prefix: str) -> bool:
    """Whether some entry names a build tag other than the conda default of its platform."""
    for base_platform, entry in config.entries.items():
        if entry.build is None:
            continue
        subdir = conda_subdir_for_platform(base_platform)
        try:
            default = None if subdir is None else platform_tag(subdir, prefix=platform_prefix)
        except ValueError as error:
            raise ConfigError(platform_prefix, str(error)) from None
        if entry.build != default:
            return True
    return False


def configured_stamp(
    prefix: Path,
    *,
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG,
    platform_prefix: str = "conda",
) -> PlatformStamp | None:
    """Return the stamp wheels made from this environment need, or ``None`` for the default.

    Only a ``binary-compatibility.cfg`` (the system's or the prefix's) that names a build
    tag other than the conda default (``conda_linux_64``) needs one. The configuration
    files are read first; when they configure such a tag, the entry is looked up by the
    base platform of the subdir that ``conda-meta`` records (``linux-64`` ->
    ``linux_x86_64``), so an environment of C libraries without a Python needs no
    interpreter. Only where the subdir does not decide the base platform (``osx-*``,
    whose base platform names a deployment target) or no record names a subdir is the
    interpreter run, as ``condawheel install`` would.

    :raises ConfigError: for a malformed configuration file.
    :raises InstallError: for an unreadable ``conda-meta`` record, or if the interpreter
        is needed and the prefix has none that works.
    """
    prefix = Path(prefix)
    config = load_tag_config(prefix, system_path=system_config)
    if not _may_configure_a_stamp(config, platform_prefix):
        return None
    subdir = PrefixState(prefix, is_conda=True, records=read_conda_meta(prefix)).subdir()
    base_platform = None if subdir is None else base_platform_for_subdir(subdir)
    if subdir is not None and base_platform is not None:
        entry = config.entry(base_platform)
        stamp = None if entry is None or entry.build is None else PlatformStamp(subdir, entry.build)
    else:
        try:
            environment = open_environment(
                prefix, system_config=system_config, platform_prefix=platform_prefix
            )
        except InstallError as error:
            raise InstallError(
                str(prefix),
                "which build tag of binary-compatibility.cfg applies takes its interpreter "
                f"(conda-meta names no subdir that decides it), and: {error.reason}",
            ) from None
        stamp = build_stamp(environment)
    if stamp is None or stamp.tag == platform_tag(stamp.subdir, prefix=platform_prefix):
        return None
    return stamp
