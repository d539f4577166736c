"""Install wheels into an environment: resolve with pip, plan and check, stage, relocate, commit.

pip cannot be taught extra tags and ``pip install --target`` drops ``.data/data/lib``
(formats.md C.3), so condawheel resolves with pip (:mod:`condawheel.env.resolve`) and installs
each chosen wheel with pypa/installer into the environment's own ``sysconfig`` scheme (data
into the prefix, scripts into ``bin/``), then does what installers do not:

1. **Plan and check first** (:func:`plan_install`, pure). Every destination of every wheel
   is computed before anything is written (installer raises ``FileExistsError`` only after
   writing the earlier files). A file a conda package owns (``conda-meta/*.json`` ``files``)
   is never overwritten: the install is refused, naming the owner. A distribution conda
   installed is reported, not reinstalled; so is a ``conda-pkg-*`` wheel whose conda package
   conda installed. Each ``Requires-External`` of a converted wheel is checked against the
   conda packages present (:mod:`condawheel.env.external`).
2. **Stage.** installer writes into a staging directory inside the prefix (its ``destdir``),
   with ``bytecode_optimization_levels=()``: installer would compile with the interpreter
   running condawheel, not the environment's.
3. **Relocate** every ``prefix_placeholders`` file of the wheel's ``conda.json``
   (:mod:`condawheel.env.relocate`), **restore** its symbolic links (``file`` links replace
   the copy the wheel carried, ``directory``/``external`` links are created) and its empty
   directories.
4. **Commit.** Staged files are hard-linked into place (which fails instead of replacing
   an existing file) and the staging directory removed. Nothing is ever written *through*
   an existing file: conda environments hard-link files from the package cache, and writing
   in place (installer's ``overwrite_existing=True``) corrupts the cache and every other
   environment made from it. A distribution being replaced (another version installed by
   condawheel or pip) is moved aside first and put back if the commit fails.
5. **Compile** bytecode with the environment's interpreter, and rewrite ``RECORD`` so that
   it is true to the disk: relocated files rehashed, symbolic links listed with an empty
   hash (the link, not its target, belongs to the distribution), bytecode listed.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import hashlib
import io
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlparse
from urllib.request import url2pathname

from installer import install as installer_install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile
from installer.utils import get_launcher_kind
from packaging.version import InvalidVersion, Version

from condawheel.env.environment import Environment, open_environment
from condawheel.env.external import (
    ExternalProblem,
    ExternalProvider,
    check_external,
    parse_requires_external,
)
from condawheel.env.paths import Landings, is_rooted, lands_inside, survey_landings
from condawheel.env.prefix import (
    CONDA_META,
    InstalledDistribution,
    PrefixState,
    relative_to_prefix,
)
from condawheel.env.relocate import RelocationTarget, relocate
from condawheel.env.resolve import PackageSource, Prefer, Resolution, ResolvedWheel, resolve
from condawheel.env.tagconfig import DEFAULT_SYSTEM_CONFIG
from condawheel.env.uninstall import (
    UninstallPlan,
    plan_for,
    remove_empty_directories,
    remove_paths,
)
from condawheel.env.wheels import (
    WheelContents,
    conda_path_destination,
    member_destination,
    read_wheel,
    script_destinations,
)
from condawheel.env.wheeltags import record_accepted_tags
from condawheel.errors import ExternalDependencyError, InstallError, SourceError
from condawheel.io.http import TransientFailure, read_url
from condawheel.sidecar import SIDECAR_NAME

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from typing import BinaryIO

    from _typeshed import WriteableBuffer
    from installer.records import RecordEntry
    from installer.utils import Scheme
    from packaging.utils import NormalizedName

    from condawheel.env.interpreter import InterpreterFacts
    from condawheel.io.http import HTTPBody
    from condawheel.sidecar import Sidecar

__all__ = [
    "AlreadyInstalled",
    "InstallOptions",
    "InstallPlan",
    "InstallResult",
    "PlannedRelocation",
    "PlannedSymlink",
    "WheelInstall",
    "execute_plan",
    "install_requirements",
    "install_scheme",
    "plan_for_environment",
    "plan_install",
    "script_shebang",
    "sidecar_links",
    "wheel_destinations",
]

INSTALLER_NAME: Final = b"condawheel\n"
# No wheel download may be longer than a conda package's whole content may be.
_MAX_WHEEL_BYTES: Final = 64 << 30
STAGING_PREFIX: Final = ".condawheel-staging-"
_SHOWN_PATHS: Final = 3


@dataclass(frozen=True)
class InstallOptions:
    """The user's choices for ``condawheel install``."""

    prefer: Prefer = "conda"
    ignore_external: bool = False
    dry_run: bool = False
    no_deps: bool = False
    """Install the requirements alone, not their dependencies (pip's ``--no-deps``)."""
    upgrade: bool = False
    """Install newer versions of what is installed (pip's ``--upgrade``)."""


@dataclass(frozen=True)
class PlannedRelocation:
    """A file whose build-prefix placeholder is replaced by the environment's prefix."""

    path: Path
    placeholder: str
    file_mode: Literal["text", "binary"]


@dataclass(frozen=True)
class PlannedSymlink:
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
    relocations: tuple[PlannedRelocation, ...]
    symlinks: tuple[PlannedSymlink, ...]
    directories: tuple[Path, ...]
    replaces: InstalledDistribution | None = None
    removal: UninstallPlan | None = None

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
class InstallPlan:
    """Everything an install will do; executing it makes no decisions."""

    prefix: Path
    installs: tuple[WheelInstall, ...]
    already: tuple[AlreadyInstalled, ...]
    external: tuple[ExternalProblem, ...]  # ignored problems (--ignore-external) and unchecked
    script_shebang: bytes  # the first line(s) of ``#!python`` scripts, see script_shebang()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstallResult:
    """What ``condawheel install`` did (or, with ``dry_run``, would do)."""

    plan: InstallPlan
    resolution: Resolution
    dry_run: bool
    relocated: tuple[Path, ...] = ()
    bytecode: int = 0
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """Return the record ``condawheel install --json`` prints."""
        plan = self.plan
        return {
            "prefix": str(plan.prefix),
            "dry_run": self.dry_run,
            "pip": {
                "origin": self.resolution.pip.origin,
                "version": str(self.resolution.pip.version),
            },
            "installed": [
                {
                    "name": item.contents.name,
                    "version": str(item.contents.version),
                    "wheel": item.contents.filename,
                    "requested": item.requested,
                    "replaces": None if item.replaces is None else item.replaces.version,
                    "relocations": len(item.relocations),
                    "symlinks": len(item.symlinks),
                }
                for item in plan.installs
            ],
            "already_installed": [
                {
                    "name": item.name,
                    "version": item.version,
                    "installed_by": item.installed_by,
                    "owner": item.owner,
                    "reason": item.reason,
                }
                for item in plan.already
            ],
            "relocated": [str(path) for path in self.relocated],
            "bytecode": self.bytecode,
            "warnings": list(plan.warnings),
            "notes": list(self.notes),
        }


def install_scheme(facts: InterpreterFacts, distribution: str) -> dict[str, str]:
    """Return installer's scheme dictionary for a distribution in the environment.

    ``purelib``, ``platlib``, ``scripts`` and ``data`` are the interpreter's own
    ``sysconfig.get_paths()``. ``headers`` is what pip uses: in a venv-style environment
    ``sysconfig``'s ``include`` is the *base* interpreter's, so pip writes
    ``<prefix>/include/site/pythonX.Y/<name>`` (``pip/_internal/locations/_sysconfig.py``).
    """
    paths = facts.paths
    major, minor = facts.version_info
    if facts.is_venv:
        headers = Path(facts.prefix, "include", "site", f"python{major}.{minor}", distribution)
    else:
        headers = Path(paths["include"], distribution)
    return {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "data": paths["data"],
        "headers": str(headers),
    }


def _root(contents: WheelContents, scheme: Mapping[str, str]) -> Path:
    return Path(scheme["purelib" if contents.root_is_purelib else "platlib"])


def wheel_destinations(
    contents: WheelContents, scheme: Mapping[str, str], *, windows: bool, requested: bool
) -> tuple[Path, ...]:
    """Return every file installer writes for a wheel (members, wrappers, metadata).

    :raises InstallError: for a member outside the scheme, or two files on one path.
    """
    found: dict[Path, str] = {}

    def claim(path: Path, what: str) -> None:
        if path in found:
            raise InstallError(
                contents.filename, f"{what} and {found[path]} would both be written to {path}"
            )
        found[path] = what

    for member in contents.members:
        destination = member_destination(contents, member, scheme)
        if destination is not None:
            claim(destination[1], repr(member))
    for path in script_destinations(contents, scheme, windows=windows):
        claim(path, f"the entry point {path.name!r}")
    root = _root(contents, scheme)
    for extra in ("INSTALLER", "REQUESTED") if requested else ("INSTALLER",):
        path = root / contents.dist_info / extra
        if path not in found:  # a wheel must not carry them (PEP 427), but some do
            found[path] = extra
    return tuple(found)


def _relative(prefix: Path, path: Path) -> str:
    return relative_to_prefix(prefix, path) or str(path)


def _link_target_problem(prefix: Path, link: Path, target: str, landings: Landings) -> str | None:
    if not target or is_rooted(target):
        return f"symlink {link.name!r} -> {target!r} is absolute"
    if landings.target(_relative(prefix, link), target) is None:
        return f"symlink {link.name!r} -> {target!r} points outside the environment"
    return None


def _sidecar_actions(
    contents: WheelContents,
    scheme: Mapping[str, str],
    prefix: Path,
    landings: Landings,
    problems: list[str],
) -> tuple[tuple[PlannedRelocation, ...], tuple[PlannedSymlink, ...], tuple[Path, ...]]:
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
        relocations.append(PlannedRelocation(destination[1], record.placeholder, record.file_mode))
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
        problem = _link_target_problem(prefix, path, link.target, landings)
        if problem is not None:
            problems.append(problem)
            continue
        symlinks.append(PlannedSymlink(path, link.target, replaces_copy))
    directories = tuple(
        conda_path_destination(contents, directory, scheme) for directory in sidecar.directories
    )
    return tuple(relocations), tuple(symlinks), directories


def sidecar_links(
    contents: WheelContents, scheme: Mapping[str, str]
) -> tuple[tuple[Path, str], ...]:
    """Return where each symlink of a wheel's ``conda.json`` is restored, with its target.

    Links whose path is refused are left out (deciding reports them).
    """
    sidecar = contents.sidecar
    if sidecar is None:
        return ()
    found = []
    for link in sidecar.symlinks:
        try:
            if link.kind == "file" and link.wheel_path is not None:
                destination = member_destination(contents, link.wheel_path, scheme)
                if destination is None:
                    continue
                path = destination[1]
            else:
                path = conda_path_destination(contents, link.path, scheme)
        except InstallError:
            continue
        found.append((path, link.target))
    return tuple(found)


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
        if distribution.sidecar is not None
    )
    providers.extend(
        _wheel_provider(contents.sidecar, f"from the wheel {contents.filename}, installed now")
        for contents in installs
        if contents.sidecar is not None
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


_LEADS_OUT: Final = "outside the environment: a symbolic link on the way leads out of it"


@dataclass
class _PathProblems:
    """Refused paths, grouped by wheel and reason (one message per group)."""

    outside: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    overwrites: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _judge_paths(
    wheel: str,
    paths: Iterable[Path],
    *,
    directories: frozenset[Path],
    state: PrefixState,
    landings: Landings,
    replaced: frozenset[str | None],
    claimed: dict[str, str],
    found: _PathProblems,
) -> None:
    """Judge each path a wheel writes where it really lands; record what is refused."""
    prefix = state.prefix
    for path in paths:
        relative = relative_to_prefix(prefix, path)
        landing = None if relative is None else landings.destination(relative)
        if relative is None or landing is None:
            reason = "outside the environment" if relative is None else _LEADS_OUT
            found.outside.setdefault((wheel, reason), []).append(relative or str(path))
            continue
        shown = relative if landing == relative else f"{relative} (that is {landing})"
        owner = state.owner(landing)
        if owner is not None:
            reason = f"it belongs to the conda package {owner}"
        elif landing.split("/", 1)[0] == CONDA_META:
            reason = "conda-meta/ is conda's record of the environment"
        elif path in directories:
            continue  # an empty directory may exist already: it is only made sure of
        elif landing in landings.existing and landing not in replaced:
            reason = "it exists already and belongs to no distribution being replaced"
        elif landing in claimed:
            reason = f"{claimed[landing]} installs it too"
        else:
            claimed[landing] = wheel
            continue
        found.overwrites.setdefault((wheel, reason), []).append(shown)


def plan_install(
    wheels: Sequence[tuple[WheelContents, bool]],
    *,
    state: PrefixState,
    facts: InterpreterFacts,
    landings: Landings,
    replacements: Mapping[NormalizedName, UninstallPlan | InstallError],
    ignore_external: bool = False,
) -> InstallPlan:
    """Decide what installing the wheels does, and refuse what must not happen (pure).

    Every destination is judged where it really is, following the links on disk and those
    being restored (:mod:`condawheel.env.paths`): a file written through a link that leads
    out of the environment is refused, and the owner of the file a link leads to is the
    owner that counts.

    :param wheels: each wheel and whether the user asked for it (``REQUESTED``).
    :param landings: where each destination and link target really is, and which
        destinations exist on disk.
    :param replacements: for installed non-conda distributions of the same names, the
        plan removing them (or why it cannot be made).
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
        removal: UninstallPlan | None = None
        if decision is not None:
            found = replacements.get(contents.name)
            if not isinstance(found, UninstallPlan):
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
                contents, scheme, prefix, landings, sidecar_problems
            )
        except InstallError as error:
            problems.append(str(error))
            continue
        problems.extend(f"{contents.filename}: {problem}" for problem in sidecar_problems)
        new_links = [link.path for link in symlinks if not link.replaces_copy]
        _judge_paths(
            contents.filename,
            (*destinations, *new_links, *directories),
            directories=frozenset(directories),
            state=state,
            landings=landings,
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
    shebang = script_shebang(
        str(facts.python),
        windows=facts.is_windows,
        limit=_relocation_target(facts, prefix).shebang_limit,
    )
    return InstallPlan(
        prefix, tuple(installs), tuple(already), tuple(external), shebang, tuple(warnings)
    )


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


def _digest(path: Path) -> tuple[str, str]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    encoded = base64.urlsafe_b64encode(sha.digest()).rstrip(b"=").decode()
    return f"sha256={encoded}", str(size)


def _staged(staging: Path, path: Path) -> Path:
    # installer's destdir rule: <destdir>/<absolute destination without its anchor>.
    return staging / path.relative_to(path.anchor)


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


class _Prefixed(io.RawIOBase):
    """A stream of ``head`` then the rest of ``rest``, read in chunks (memory stays flat)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


class _StagingDestination(SchemeDictionaryDestination):
    """installer's destination into the staging folder, with two rules of condawheel's.

    * It refuses to write through a link out of the staging folder. Staged links are
      restored between wheels, so a later wheel's file could be written through one;
      deciding refuses links that lead out of the environment, and this is the check at
      the moment of writing.
    * A ``#!python`` script gets :attr:`script_shebang`, decided for the environment's
      interpreter, where installer would write the bare path (which does not run from a
      prefix with a space).
    """

    def __init__(
        self, scheme: Mapping[str, str], facts: InterpreterFacts, staging: Path, shebang: bytes
    ) -> None:
        super().__init__(
            scheme_dict=dict(scheme),
            interpreter=str(facts.python),
            script_kind=get_launcher_kind(),
            hash_algorithm="sha256",
            bytecode_optimization_levels=(),
            destdir=str(staging),
        )
        self.script_shebang = shebang

    def write_file(
        self,
        scheme: Scheme,
        path: str | os.PathLike[str],
        stream: BinaryIO,
        is_executable: bool,  # noqa: FBT001 - installer's signature
    ) -> RecordEntry:
        """Write one file; a ``#!python`` script gets the decided first line (PEP 427)."""
        if scheme == "scripts":
            stream.seek(0)
            if stream.read(8) == b"#!python":
                stream.readline()  # the rest of the first line
                rewritten = io.BufferedReader(_Prefixed(self.script_shebang, stream))
                return self.write_to_fs(scheme, os.fspath(path), rewritten, is_executable)
            stream.seek(0)
        return super().write_file(scheme, path, stream, is_executable)

    def write_to_fs(
        self,
        scheme: Scheme,
        path: str,
        stream: BinaryIO,
        is_executable: bool,  # noqa: FBT001 - installer's signature
    ) -> RecordEntry:
        """Write one file after checking where its folder really is."""
        staging = str(self.destdir)
        # abspath, not resolve(): the text is normalised here, links are judged below.
        written = os.path.abspath(Path(self.scheme_dict[scheme]) / path)  # noqa: PTH100
        target = _staged(Path(staging), Path(written))
        if not lands_inside(target.parent, os.path.realpath(staging)):
            raise InstallError(path, _LEADS_OUT)
        return super().write_to_fs(scheme, path, stream, is_executable)


def _stage(item: WheelInstall, facts: InterpreterFacts, staging: Path, shebang: bytes) -> None:
    destination = _StagingDestination(item.scheme, facts, staging, shebang)
    metadata = {"INSTALLER": INSTALLER_NAME}
    if item.requested:
        metadata["REQUESTED"] = b""
    try:
        with WheelFile.open(item.contents.path) as source:
            installer_install(source, destination, metadata)
    except (InstallerError, OSError, ValueError, KeyError) as error:
        raise InstallError(item.contents.filename, f"installer failed: {error}") from None


def _relocation_target(facts: InterpreterFacts, prefix: Path) -> RelocationTarget:
    if facts.is_windows:
        return RelocationTarget(str(prefix), "windows")
    return RelocationTarget(
        str(prefix), "linux" if facts.sys_platform.startswith("linux") else "other"
    )


def _post_stage(
    item: WheelInstall, staging: Path, target: RelocationTarget, warnings: list[str]
) -> list[Path]:
    relocated = []
    for relocation in item.relocations:
        staged = _staged(staging, relocation.path)
        data = staged.read_bytes()
        new = relocate(
            data,
            relocation.placeholder,
            relocation.file_mode,
            target,
            subject=f"{item.contents.filename}: {relocation.path.name}",
        )
        if new != data:
            # A file installer just created in the staging directory: no other link to it.
            staged.write_bytes(new)
            relocated.append(relocation.path)
    for link in item.symlinks:
        problem = _restore_link(_staged(staging, link.path), link)
        if problem is not None:
            warnings.append(problem)
    for directory in item.directories:
        _staged(staging, directory).mkdir(parents=True, exist_ok=True)
    return relocated


def _restore_link(staged: Path, link: PlannedSymlink) -> str | None:
    """Create a recorded symlink in the staging tree; return a warning if it cannot be made."""
    staged.parent.mkdir(parents=True, exist_ok=True)
    copy = staged.with_name(f"{staged.name}.condawheel-copy")
    if link.replaces_copy:
        staged.rename(copy)  # kept until the link exists
    try:
        staged.symlink_to(link.target)
    except OSError as error:  # Windows without the symlink privilege
        if link.replaces_copy:
            copy.rename(staged)
            return f"kept a copy instead of the symlink {link.path}: {error}"
        return f"could not create the symlink {link.path}: {error}"
    if link.replaces_copy:
        copy.unlink()
    return None


@dataclass
class _Commit:
    """Files placed so far, to undo a failed commit.

    ``real_prefix``: the prefix as the system resolves it; nothing is placed in a folder
    that, with every link followed, lies outside it.
    """

    real_prefix: str
    placed: list[Path] = field(default_factory=list)
    checked: set[Path] = field(default_factory=set)
    created: list[Path] = field(default_factory=list)
    trashed: list[tuple[Path, Path]] = field(default_factory=list)

    def undo(self) -> None:
        for path in reversed(self.placed):
            with contextlib.suppress(OSError):
                path.unlink()
        for directory in reversed(self.created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        for original, kept in reversed(self.trashed):
            with contextlib.suppress(OSError):
                original.parent.mkdir(parents=True, exist_ok=True)
                kept.replace(original)


def _make_parents(path: Path, commit: _Commit) -> None:
    if path.parent not in commit.checked:
        if not lands_inside(path.parent, commit.real_prefix):
            raise InstallError(str(path), _LEADS_OUT)
        commit.checked.add(path.parent)
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir()
        commit.created.append(directory)


def _place(staged: Path, destination: Path, commit: _Commit) -> None:
    _make_parents(destination, commit)
    if staged.is_symlink():
        destination.symlink_to(staged.readlink())  # fails if the name is taken
    else:
        try:
            # A hard link refuses to replace an existing name, atomically.
            os.link(staged, destination)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system: check, then move
            if os.path.lexists(destination):
                raise FileExistsError(destination) from None
            shutil.move(staged, destination)
    commit.placed.append(destination)


def _commit(staging: Path, anchor: Path, commit: _Commit) -> None:
    for root, directories, files in os.walk(staging):
        base = Path(root)
        destination_base = anchor / base.relative_to(staging)
        for name in sorted(files):
            _place(base / name, destination_base / name, commit)
        for name in sorted(directories):
            staged = base / name
            destination = destination_base / name
            if staged.is_symlink():
                _place(staged, destination, commit)
            elif not destination.exists():
                _make_parents(destination, commit)
                destination.mkdir()
                commit.created.append(destination)
        directories[:] = [name for name in directories if not (base / name).is_symlink()]


def _compile(facts: InterpreterFacts, sources: Sequence[Path]) -> None:
    if not sources or facts.cache_tag is None:
        return
    # compileall of the environment's interpreter: bytecode for its version, with its magic
    # number (installer would use the interpreter running condawheel). Failures (a module
    # that does not compile on this Python) leave that module without bytecode, as pip does.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [str(facts.python), "-I", "-m", "compileall", "-q", "-i", "-"],
            input="\n".join(str(path) for path in sources),
            capture_output=True,
            text=True,
            check=False,
        )


def _dist_info(item: WheelInstall) -> Path:
    return _root(item.contents, item.scheme) / item.contents.dist_info


def _bytecode(path: Path, cache_tag: str) -> Path:
    return path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc"


def _rewrite_record(item: WheelInstall, facts: InterpreterFacts) -> int:
    root = _root(item.contents, item.scheme)
    record = root / item.contents.dist_info / "RECORD"
    rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
    listed = {Path(os.path.normpath(root / row[0])): row for row in rows if row}
    changed = {relocation.path for relocation in item.relocations}
    changed |= {_dist_info(item) / name for name in ("WHEEL", SIDECAR_NAME)}  # retagged
    for path in changed:
        if path in listed:
            listed[path][1:3] = _digest(path)
    for link in item.symlinks:
        row = listed.get(link.path)
        if row is None:
            row = [Path(os.path.relpath(link.path, root)).as_posix(), "", ""]
            rows.append(row)
            listed[link.path] = row
        if link.path.is_symlink():
            row[1:3] = ["", ""]
    compiled = 0
    if facts.cache_tag is not None:
        for path in list(listed):
            if path.suffix != ".py":
                continue
            cached = _bytecode(path, facts.cache_tag)
            if cached.is_file() and cached not in listed:
                row = [Path(os.path.relpath(cached, root)).as_posix(), *_digest(cached)]
                rows.append(row)
                listed[cached] = row
                compiled += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    temporary = record.with_name(f".RECORD.{secrets.token_hex(4)}")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    temporary.replace(record)  # RECORD is our own new file; replace, never write through
    return compiled


def execute_plan(
    plan: InstallPlan, facts: InterpreterFacts
) -> tuple[tuple[Path, ...], int, tuple[str, ...]]:
    """Install a plan: stage, relocate, restore links, commit, compile, rewrite RECORD.

    :return: the relocated files, the number of bytecode files, and warnings.
    :raises InstallError: if a step fails; the environment is left as it was.
    """
    if not plan.installs:
        return (), 0, ()
    prefix = plan.prefix
    warnings: list[str] = []
    relocated: list[Path] = []
    target = _relocation_target(facts, prefix)
    staging = prefix / f"{STAGING_PREFIX}{secrets.token_hex(6)}"
    commit = _Commit(os.path.realpath(prefix))
    try:
        files = staging / "files"
        for item in plan.installs:
            _stage(item, facts, files, plan.script_shebang)
            relocated += _post_stage(item, files, target, warnings)
            record_accepted_tags(item.contents, _staged(files, _dist_info(item)), facts)
        for item in plan.installs:
            if item.removal is not None:
                commit.trashed += remove_paths(item.removal, trash=staging / "replaced")
        try:
            _commit(files, Path(prefix.anchor), commit)
        except OSError as error:
            commit.undo()
            raise InstallError(str(prefix), f"cannot place the files: {error}") from None
        except InstallError:
            commit.undo()
            raise
        for item in plan.installs:
            if item.removal is not None:
                remove_empty_directories(item.removal)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    sources = [
        path
        for item in plan.installs
        for path in item.destinations
        if path.suffix == ".py"
        and not path.is_symlink()
        and any(path.is_relative_to(item.scheme[key]) for key in ("purelib", "platlib"))
    ]
    _compile(facts, sources)
    bytecode = sum(_rewrite_record(item, facts) for item in plan.installs)
    return tuple(relocated), bytecode, tuple(warnings)


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _local_wheels(wheels: Sequence[ResolvedWheel]) -> Iterator[list[Path]]:
    """Yield a local path for each resolved wheel (downloading ``http(s)`` ones)."""
    with tempfile.TemporaryDirectory(prefix="condawheel-download-") as temporary:
        paths = []
        for wheel in wheels:
            parsed = urlparse(wheel.url)
            if parsed.scheme == "file":
                path = Path(url2pathname(parsed.path))
                if not path.is_file():
                    raise InstallError(wheel.url, "the wheel pip chose is not there")
                paths.append(path)
                continue
            if parsed.scheme not in {"http", "https"}:
                raise InstallError(wheel.url, "wheels are fetched from file:, http: or https:")
            paths.append(_download(wheel, Path(temporary) / wheel.filename))
        yield paths


def _download(wheel: ResolvedWheel, path: Path) -> Path:
    def save(body: HTTPBody) -> Path:
        digest = hashlib.sha256()
        with path.open("wb") as out:
            for chunk in body.chunks():
                out.write(chunk)
                digest.update(chunk)
        if wheel.sha256 is not None and digest.hexdigest() != wheel.sha256:
            # Retried like a broken connection, which it is most of the time.
            raise TransientFailure("the downloaded wheel does not match its sha256")
        return path

    try:
        # The one HTTP client: retries, the per-read timeout and the overall deadline.
        saved = read_url(wheel.url, save, limit=_MAX_WHEEL_BYTES)
    except SourceError as error:
        raise InstallError(wheel.url, f"cannot download the wheel: {error.reason}") from None
    except OSError as error:
        raise InstallError(str(path), f"cannot write the download: {error.strerror}") from None
    if saved is None:
        raise InstallError(wheel.url, "cannot download the wheel: not found (HTTP 404)")
    return saved


def _already_satisfied(environment: Environment, resolution: Resolution) -> list[AlreadyInstalled]:
    """Report requested distributions pip left out because they are installed."""
    resolved = {wheel.name for wheel in resolution.report.wheels}
    found = []
    for name in sorted(resolution.requested - resolved):
        installed = environment.state.distributions.get(name)
        if installed is None:
            continue
        found.append(
            AlreadyInstalled(
                name,
                installed.version,
                installed.installed_by,
                installed.conda_owner,
                # The same words whichever pip decided it (see _already_installed).
                f"already installed (by the conda package {installed.conda_owner})"
                if installed.conda_owner
                else f"already installed (by {installed.installed_by})",
            )
        )
    return found


def _replacements(
    environment: Environment, names: Iterable[NormalizedName]
) -> dict[NormalizedName, UninstallPlan | InstallError]:
    found: dict[NormalizedName, UninstallPlan | InstallError] = {}
    for name in names:
        installed = environment.state.distributions.get(name)
        if installed is None or installed.conda_owner is not None:
            continue
        try:
            found[name] = plan_for(installed, environment.state, environment.facts)
        except InstallError as error:
            found[name] = error
    return found


def plan_for_environment(
    environment: Environment,
    wheels: Sequence[tuple[WheelContents, bool]],
    *,
    ignore_external: bool = False,
) -> InstallPlan:
    """Look at the disk (distributions to replace, links, existing files), then plan.

    :raises InstallError: see :func:`plan_install`.
    :raises ExternalDependencyError: see :func:`plan_install`.
    """
    prefix = environment.state.prefix
    replacements = _replacements(environment, (item.name for item, _ in wheels))
    destinations: set[Path] = set()
    links: list[tuple[Path, str]] = []
    for item, requested in wheels:
        scheme = install_scheme(environment.facts, item.display_name)
        with contextlib.suppress(InstallError):  # plan_install reports it
            destinations.update(
                wheel_destinations(
                    item, scheme, windows=environment.facts.is_windows, requested=requested
                )
            )
        links.extend(sidecar_links(item, scheme))
        for directory in item.sidecar.directories if item.sidecar is not None else ():
            with contextlib.suppress(InstallError):  # plan_install reports it
                destinations.add(conda_path_destination(item, directory, scheme))
    destinations.update(path for path, _ in links)
    inside = {
        path: relative
        for path in (*destinations, *(path for path, _ in links))
        if (relative := relative_to_prefix(prefix, path)) is not None
    }
    gone = frozenset(
        relative
        for removal in replacements.values()
        if isinstance(removal, UninstallPlan)
        for path in removal.files
        if (relative := relative_to_prefix(prefix, path)) is not None
    )
    landings = survey_landings(
        prefix,
        [inside[path] for path in destinations if path in inside],
        [(inside[path], target) for path, target in links if path in inside],
        pending={inside[path]: target for path, target in links if path in inside},
        gone=gone,
    )
    return plan_install(
        wheels,
        state=environment.state,
        facts=environment.facts,
        landings=landings,
        replacements=replacements,
        ignore_external=ignore_external,
    )


def install_requirements(
    requirements: Sequence[str],
    *,
    prefix: Path,
    source: PackageSource,
    options: InstallOptions | None = None,
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG,
    environment: Environment | None = None,
) -> InstallResult:
    """Resolve, check and install requirements into an environment (``condawheel install``).

    :raises InstallError: when resolving, checking or installing fails; nothing is left
        half-installed.
    :raises ExternalDependencyError: for unmet ``Requires-External`` conda packages.
    :raises ConfigError: for a malformed ``binary-compatibility.cfg``.
    """
    options = options or InstallOptions()
    if environment is None:
        environment = open_environment(prefix, system_config=system_config, conda_only=True)
    resolution = resolve(
        requirements,
        facts=environment.facts,
        tags=environment.tags,
        source=source,
        prefer=options.prefer,
        no_deps=options.no_deps,
        upgrade=options.upgrade,
    )
    wheels = resolution.report.wheels
    with _local_wheels(wheels) as paths:
        contents = [
            (read_wheel(path), resolution.is_requested(wheel))
            for wheel, path in zip(wheels, paths, strict=True)
        ]
        plan = plan_for_environment(environment, contents, ignore_external=options.ignore_external)
        plan = dataclasses.replace(
            plan, already=(*plan.already, *_already_satisfied(environment, resolution))
        )
        if options.dry_run:
            return InstallResult(plan, resolution, dry_run=True, notes=resolution.notes)
        relocated, bytecode, warnings = execute_plan(plan, environment.facts)
    return InstallResult(
        plan,
        resolution,
        dry_run=False,
        relocated=relocated,
        bytecode=bytecode,
        notes=(*resolution.notes, *warnings),
    )
