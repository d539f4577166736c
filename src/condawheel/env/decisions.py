"""Decide what installing wheels into an environment does, and refuse what must not happen.

Pure: the wheels' contents, the environment's state (:mod:`condawheel.env.prefix`), the
interpreter's facts and where each path really lands (:mod:`condawheel.env.paths`) go in;
a frozen :class:`Installation` comes out, and applying it makes no decision. Every
destination of every wheel is judged before anything is written:

* a file a conda package owns (``conda-meta/*.json`` ``files``) is never overwritten, and
  neither is ``conda-meta/`` itself: the install is refused, naming the owner;
* a file that exists and belongs to no distribution being replaced, and a file two wheels
  write, are refused;
* a file written, or a link restored, through a link that leads out of the environment
  is refused; the owner of the file a link leads to is the owner that counts;
* a distribution conda installed is reported, not reinstalled, and so is a
  ``conda-pkg-*`` wheel whose conda package conda installed; a different version of
  either is refused (wheels never replace conda packages);
* each ``Requires-External`` of a converted wheel is checked against the conda packages
  present and the converted wheels installed along (:mod:`condawheel.env.external`).

It also decides what applying needs: the relocation target of the environment, the first
line of ``#!python`` scripts (:func:`script_shebang`), and the tags each installed conda
wheel's ``WHEEL`` lists (:func:`condawheel.env.wheeltags.tags_to_record`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from packaging.version import InvalidVersion, Version

from condawheel.env.destinations import install_scheme, wheel_destinations
from condawheel.env.external import (
    ExternalProblem,
    ExternalProvider,
    check_external,
    parse_requires_external,
)
from condawheel.env.paths import LEADS_OUT, RealPaths
from condawheel.env.prefix import (
    CONDA_META,
    InstalledDistribution,
    PrefixState,
    relative_to_prefix,
)
from condawheel.env.relocate import RelocationTarget
from condawheel.env.uninstall import Removal
from condawheel.env.wheels import WheelContents, conda_path_destination, member_destination
from condawheel.env.wheeltags import tags_to_record
from condawheel.errors import ExternalDependencyError, InstallError
from condawheel.links import is_rooted

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from packaging.tags import Tag
    from packaging.utils import NormalizedName

    from condawheel.env.interpreter import InterpreterFacts
    from condawheel.sidecar import Sidecar

__all__ = [
    "AlreadyInstalled",
    "Installation",
    "Relocation",
    "RestoredSymlink",
    "WheelInstall",
    "decide_installation",
    "script_shebang",
]

_SHOWN_PATHS: Final = 3
# How a directory from conda.json is marked among the paths the wheels claim.
_AS_DIRECTORY: Final = " (as an empty directory)"


@dataclass(frozen=True)
class Relocation:
    """A file whose build-prefix placeholder is replaced by the environment's prefix."""

    path: Path
    placeholder: str
    file_mode: Literal["text", "binary"]


@dataclass(frozen=True)
class RestoredSymlink:
    """A symbolic link recorded in ``conda.json``, restored at ``path``.

    ``replaces_copy``: the wheel carried the target's bytes under the link's name (a
    ``file`` link); the copy is replaced by the link.
    """

    path: Path
    target: str
    replaces_copy: bool


@dataclass(frozen=True)
class WheelInstall:
    """One wheel to install, with everything decided."""

    contents: WheelContents
    requested: bool
    scheme: Mapping[str, str]
    destinations: tuple[Path, ...]
    relocations: tuple[Relocation, ...]
    symlinks: tuple[RestoredSymlink, ...]
    directories: tuple[Path, ...]
    replaces: InstalledDistribution | None = None
    removal: Removal | None = None
    recorded_tags: tuple[Tag, ...] | None = None  # for WHEEL, if not its own (wheeltags)

    @property
    def label(self) -> str:
        """Return ``name version`` for messages."""
        return f"{self.contents.display_name} {self.contents.version}"


@dataclass(frozen=True)
class AlreadyInstalled:
    """A resolved distribution that is not installed again, and why."""

    name: NormalizedName
    version: str
    installed_by: str
    owner: str | None
    reason: str


@dataclass(frozen=True)
class Installation:
    """Everything an install will do, decided; applying it makes no decision."""

    prefix: Path
    installs: tuple[WheelInstall, ...]
    already: tuple[AlreadyInstalled, ...]
    external: tuple[ExternalProblem, ...]  # ignored problems (--ignore-external) and unchecked
    relocation: RelocationTarget  # the prefix placeholders become, and the system's rules
    script_shebang: bytes  # the first line(s) of ``#!python`` scripts, see script_shebang()
    warnings: tuple[str, ...] = ()


def script_shebang(interpreter: str, *, windows: bool, limit: int) -> bytes:
    """Return what replaces a ``#!python`` first line: the interpreter, or a trampoline.

    A shebang cannot hold a path with a space, nor be longer than the kernel reads
    (``limit``). There, as distlib (pip's entry points), pypa/installer's entry points and
    conda's noarch entry points do, the script starts under ``/bin/sh``, which runs the
    interpreter on it; Python reads the next two lines as one string literal. The path is
    quoted for the shell as installer quotes it, so that the wrappers installer writes
    beside these scripts look the same. Windows reads no shebang: the line stays plain.
    """
    simple = f"#!{interpreter}\n".encode()
    if windows or (" " not in interpreter and len(simple) <= limit):
        return simple
    quoted = shlex.quote(interpreter).encode()
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''\n"


def _relocation_target(facts: InterpreterFacts, prefix: Path) -> RelocationTarget:
    if facts.is_windows:
        return RelocationTarget(str(prefix), "windows")
    return RelocationTarget(
        str(prefix), "linux" if facts.sys_platform.startswith("linux") else "other"
    )


def _link_target_problem(
    prefix: Path, link: Path, target: str, real_paths: RealPaths
) -> str | None:
    relative = relative_to_prefix(prefix, link)
    # Named by its path in the environment: many links share a last name.
    shown = relative if relative is not None else str(link)
    if not target:
        return f"symlink {shown!r} has an empty target"
    if is_rooted(target):
        return f"symlink {shown!r} -> {target!r} is absolute"
    if relative is None or real_paths.target(relative, target) is None:
        return f"symlink {shown!r} -> {target!r} points outside the environment"
    return None


def _sidecar_actions(
    contents: WheelContents,
    scheme: Mapping[str, str],
    prefix: Path,
    real_paths: RealPaths,
    problems: list[str],
) -> tuple[tuple[Relocation, ...], tuple[RestoredSymlink, ...], tuple[Path, ...]]:
    sidecar = contents.sidecar
    if sidecar is None:
        return (), (), ()
    members = set(contents.members)
    relocations = []
    for record in sidecar.placeholders:
        destination = member_destination(contents, record.wheel_path, scheme)
        if record.wheel_path not in members or destination is None:
            problems.append(f"conda.json names {record.wheel_path!r}, which the wheel lacks")
            continue
        relocations.append(Relocation(destination[1], record.placeholder, record.file_mode))
    symlinks = []
    for link in sidecar.symlinks:
        if link.kind == "file" and link.wheel_path is not None:
            destination = member_destination(contents, link.wheel_path, scheme)
            if link.wheel_path not in members or destination is None:
                problems.append(f"conda.json names {link.wheel_path!r}, which the wheel lacks")
                continue
            path, replaces_copy = destination[1], True
        else:
            path, replaces_copy = conda_path_destination(contents, link.path, scheme), False
        problem = _link_target_problem(prefix, path, link.target, real_paths)
        if problem is not None:
            problems.append(problem)
            continue
        symlinks.append(RestoredSymlink(path, link.target, replaces_copy))
    directories = tuple(
        conda_path_destination(contents, directory, scheme) for directory in sidecar.directories
    )
    return tuple(relocations), tuple(symlinks), directories


def _wheel_provider(sidecar: Sidecar, origin: str) -> ExternalProvider:
    """Return the conda package a conda wheel stands for, as an external provider."""
    return ExternalProvider(
        sidecar.conda_name,
        sidecar.conda_version,
        f"{sidecar.conda_name}-{sidecar.conda_version}-{sidecar.conda_build}",
        origin,
    )


def _providers(state: PrefixState, installs: Iterable[WheelContents]) -> list[ExternalProvider]:
    providers = [
        ExternalProvider(record.name, record.version, record.dist_name, "conda")
        for record in state.records
    ]
    providers.extend(
        _wheel_provider(
            distribution.sidecar, f"installed from the wheel {distribution.display_name}"
        )
        for distribution in state.distributions.values()
        if distribution.sidecar is not None and not distribution.sidecar.built
    )
    providers.extend(
        _wheel_provider(contents.sidecar, f"from the wheel {contents.filename}, installed now")
        for contents in installs
        if contents.sidecar is not None and not contents.sidecar.built
    )
    return providers


def _same_version(left: str, right: Version) -> bool:
    try:
        return Version(left) == right
    except InvalidVersion:
        return left == str(right)


def _already_installed(
    contents: WheelContents, state: PrefixState, problems: list[str]
) -> AlreadyInstalled | InstalledDistribution | None:
    """Decide whether a wheel is installed already, or replaces a distribution.

    Returns the reason to skip it, the distribution it replaces, or ``None`` (new).
    """
    prefix = state.prefix
    installed = state.distributions.get(contents.name)
    if installed is not None and installed.conda_owner is not None:
        if _same_version(installed.version, contents.version):
            return AlreadyInstalled(
                contents.name,
                installed.version,
                "conda",
                installed.conda_owner,
                f"installed by the conda package {installed.conda_owner}",
            )
        conda_name = installed.conda_owner.rsplit("-", 2)[0]
        problems.append(
            f"{contents.display_name} {installed.version} is installed by the conda package "
            f"{installed.conda_owner} and the resolve chose {contents.version}; wheels never "
            f"replace conda packages: change it with conda (conda install --prefix {prefix} "
            f"'{conda_name}') or ask for {contents.display_name}=={installed.version}"
        )
        return None
    sidecar = contents.sidecar
    if sidecar is not None and sidecar.built:
        sidecar = None  # built here, from no conda package
    record = state.record(sidecar.conda_name) if sidecar is not None else None
    if sidecar is not None and record is not None:
        if record.version == sidecar.conda_version and record.build == sidecar.conda_build:
            return AlreadyInstalled(
                contents.name,
                str(contents.version),
                "conda",
                record.dist_name,
                f"made from the conda package {record.dist_name}, which conda installed",
            )
        problems.append(
            f"{contents.filename} was made from the conda package {sidecar.conda_name}-"
            f"{sidecar.conda_version}-{sidecar.conda_build}, but conda installed "
            f"{record.dist_name}; wheels never replace conda packages"
        )
        return None
    if installed is None:
        return None
    # As pip: a distribution installed at the resolved version is kept, whatever its build
    # (pip >= 23.3 leaves it out of the report itself; condawheel decides the same for older
    # pip, which resolves as if nothing were installed). `uninstall` first to swap builds.
    if _same_version(installed.version, contents.version):
        return AlreadyInstalled(
            contents.name,
            installed.version,
            installed.installed_by,
            None,
            f"already installed (by {installed.installed_by})",
        )
    return installed


def _summarise(grouped: Mapping[tuple[str, str], list[str]], template: str) -> list[str]:
    messages = []
    for (wheel, reason), paths in grouped.items():
        shown = ", ".join(paths[:_SHOWN_PATHS])
        more = f" and {len(paths) - _SHOWN_PATHS} more" if len(paths) > _SHOWN_PATHS else ""
        messages.append(template.format(wheel=wheel, paths=f"{shown}{more}", reason=reason))
    return messages


@dataclass
class _PathProblems:
    """Refused paths, grouped by wheel and reason (one message per group)."""

    outside: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    overwrites: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _judge_paths(
    wheel: str,
    paths: Iterable[Path],
    *,
    directories: Iterable[Path],
    state: PrefixState,
    real_paths: RealPaths,
    replaced: frozenset[str | None],
    claimed: dict[str, str],
    found: _PathProblems,
) -> None:
    """Judge each path a wheel writes where it really lands; record what is refused.

    :param paths: the files and links it writes.
    :param directories: the empty directories its ``conda.json`` makes, judged after
        the files (a path can be both in a hostile wheel).
    """
    prefix = state.prefix
    judged = [(path, False) for path in paths] + [(path, True) for path in directories]
    for path, is_directory in judged:
        relative = relative_to_prefix(prefix, path)
        real = None if relative is None else real_paths.destination(relative)
        if relative is None or real is None:
            reason = "outside the environment" if relative is None else LEADS_OUT
            found.outside.setdefault((wheel, reason), []).append(relative or str(path))
            continue
        shown = relative if real == relative else f"{relative} (that is {real})"
        owner = state.owner(real)
        if owner is not None:
            reason = f"it belongs to the conda package {owner}"
        elif real.split("/", 1)[0] == CONDA_META:
            reason = "conda-meta/ is conda's record of the environment"
        elif is_directory:
            # An empty directory may exist already, or be another wheel's too: it is only
            # made sure of. A file a wheel writes there would make it impossible.
            made = claimed.setdefault(real, wheel + _AS_DIRECTORY)
            if made.endswith(_AS_DIRECTORY):
                continue
            reason = f"conda.json makes it a directory, but {made} writes a file there"
        elif real in real_paths.existing and real not in replaced:
            reason = "it exists already and belongs to no distribution being replaced"
        elif real in claimed:
            reason = f"{claimed[real]} installs it too"
        else:
            claimed[real] = wheel
            continue
        found.overwrites.setdefault((wheel, reason), []).append(shown)


def decide_installation(
    wheels: Sequence[tuple[WheelContents, bool]],
    *,
    state: PrefixState,
    facts: InterpreterFacts,
    real_paths: RealPaths,
    replacements: Mapping[NormalizedName, Removal | InstallError],
    ignore_external: bool = False,
) -> Installation:
    """Decide what installing the wheels does, and refuse what must not happen (pure).

    Every destination is judged where it really is, following the links on disk and those
    being restored (:mod:`condawheel.env.paths`): a file written through a link that leads
    out of the environment is refused, and the owner of the file a link leads to is the
    owner that counts.

    :param wheels: each wheel and whether the user asked for it (``REQUESTED``).
    :param real_paths: where each destination and link target really is, and which
        destinations exist on disk.
    :param replacements: for installed non-conda distributions of the same names, the
        removal of their files (or why it cannot be decided).
    :raises InstallError: for a file conda owns, a file that exists outside any
        distribution being replaced, two wheels writing one file, a file or link that
        leads outside the environment, or a conda-installed distribution the resolve
        wants at another version.
    :raises ExternalDependencyError: for unmet ``Requires-External`` (unless ignored).
    """
    prefix = state.prefix
    problems: list[str] = []
    warnings: list[str] = []
    already: list[AlreadyInstalled] = []
    installs: list[WheelInstall] = []
    claimed: dict[str, str] = {}
    found_problems = _PathProblems()
    for contents, requested in wheels:
        decision = _already_installed(contents, state, problems)
        if isinstance(decision, AlreadyInstalled):
            already.append(decision)
            continue
        replaced_files: frozenset[str | None] = frozenset()
        removal: Removal | None = None
        if decision is not None:
            found = replacements.get(contents.name)
            if not isinstance(found, Removal):
                reason = found.reason if found is not None else "its files are unknown"
                problems.append(
                    f"cannot replace {decision.display_name} {decision.version}: {reason}"
                )
                continue
            removal = found
            replaced_files = frozenset(relative_to_prefix(prefix, path) for path in removal.files)
        scheme = install_scheme(facts, contents.display_name)
        sidecar_problems: list[str] = []
        try:
            destinations = wheel_destinations(
                contents, scheme, windows=facts.is_windows, requested=requested
            )
            relocations, symlinks, directories = _sidecar_actions(
                contents, scheme, prefix, real_paths, sidecar_problems
            )
        except InstallError as error:
            problems.append(str(error))
            continue
        problems.extend(f"{contents.filename}: {problem}" for problem in sidecar_problems)
        new_links = [link.path for link in symlinks if not link.replaces_copy]
        _judge_paths(
            contents.filename,
            (*destinations, *new_links),
            directories=directories,
            state=state,
            real_paths=real_paths,
            replaced=replaced_files,
            claimed=claimed,
            found=found_problems,
        )
        installs.append(
            WheelInstall(
                contents=contents,
                requested=requested,
                scheme=scheme,
                destinations=destinations,
                relocations=relocations,
                symlinks=symlinks,
                directories=directories,
                replaces=decision,
                removal=removal,
                recorded_tags=tags_to_record(contents, facts),
            )
        )
    problems.extend(_summarise(found_problems.outside, "{wheel} would write {paths} {reason}"))
    problems.extend(
        _summarise(found_problems.overwrites, "{wheel} would overwrite {paths}: {reason}")
    )
    providers = _providers(state, (item.contents for item in installs))
    external: list[ExternalProblem] = []
    for item in installs:
        if item.contents.sidecar is None:
            continue  # only converted wheels name conda packages in Requires-External
        requirements = [
            parsed
            for text in item.contents.requires_external
            if (parsed := parse_requires_external(text)) is not None
        ]
        external.extend(check_external(item.label, requirements, providers))
    unmet = [problem for problem in external if problem.kind != "unchecked"]
    if problems:
        reasons = problems + [problem.describe(str(prefix)) for problem in unmet]
        raise InstallError(str(prefix), "; ".join(reasons))
    if unmet and not ignore_external:
        reasons = [problem.describe(str(prefix)) for problem in unmet]
        raise ExternalDependencyError(
            str(prefix), "; ".join(reasons) + " (or pass --ignore-external)"
        )
    warnings.extend(problem.describe(str(prefix)) for problem in external)
    relocation = _relocation_target(facts, prefix)
    return Installation(
        prefix=prefix,
        installs=tuple(installs),
        already=tuple(already),
        external=tuple(external),
        relocation=relocation,
        script_shebang=script_shebang(
            str(facts.python), windows=facts.is_windows, limit=relocation.shebang_limit
        ),
        warnings=tuple(warnings),
    )
