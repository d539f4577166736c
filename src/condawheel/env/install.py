"""Install wheels into an environment: resolve with pip, decide, stage, commit, record.

pip cannot be taught extra tags and ``pip install --target`` drops ``.data/data/lib``
(docs/reference.md, 3.2), so condawheel resolves with pip (:mod:`condawheel.env.resolve`)
and installs each chosen wheel with pypa/installer into the environment's own ``sysconfig``
scheme (data into the prefix, scripts into ``bin/``), then does what installers do not.
This module is the glue; each step is its own module:

1. **Survey and decide** (:func:`decide_for_environment`): read what the disk holds (the
   distributions being replaced, the links on the way, the files that exist), then decide
   purely (:mod:`condawheel.env.decisions`).
2. **Stage** with installer, relocate and restore links (:mod:`condawheel.env.staging`).
3. **Commit** into the prefix, moving a replaced distribution aside first and putting it
   back if the commit fails (:mod:`condawheel.env.commit`).
4. **Compile** bytecode and rewrite ``RECORD`` (:mod:`condawheel.env.records`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlparse
from urllib.request import url2pathname

from condawheel.env.commit import Commit, commit_staged
from condawheel.env.decisions import (
    AlreadyInstalled,
    Installation,
    WheelInstall,
    decide_installation,
)
from condawheel.env.destinations import (
    install_scheme,
    scheme_root,
    sidecar_links,
    wheel_destinations,
)
from condawheel.env.environment import Environment, open_environment
from condawheel.env.paths import survey_real_paths
from condawheel.env.prefix import relative_to_prefix
from condawheel.env.records import compile_bytecode, rewrite_record
from condawheel.env.resolve import PackageSource, Prefer, Resolution, ResolvedWheel, resolve
from condawheel.env.staging import relocate_and_restore, stage, staged_path
from condawheel.env.tagconfig import DEFAULT_SYSTEM_CONFIG
from condawheel.env.uninstall import (
    Removal,
    removal_for,
    remove_empty_directories,
    remove_paths,
)
from condawheel.env.wheels import WheelContents, conda_path_destination, read_wheel
from condawheel.env.wheeltags import record_tags
from condawheel.errors import InstallError, SourceError
from condawheel.io.digests import hash_file
from condawheel.io.files import temporary_name
from condawheel.io.http import TransientFailure, read_url

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from packaging.utils import NormalizedName

    from condawheel.env.interpreter import InterpreterFacts
    from condawheel.io.http import HTTPBody

__all__ = [
    "InstallOptions",
    "InstallResult",
    "apply_installation",
    "decide_for_environment",
    "install_requirements",
]

# No wheel download may be longer than a conda package's whole content may be.
_MAX_WHEEL_BYTES: Final = 64 << 30
STAGING_PREFIX: Final = ".condawheel-staging-"


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
class InstallResult:
    """What ``condawheel install`` did (or, with ``dry_run``, would do)."""

    installation: Installation
    resolution: Resolution
    dry_run: bool
    relocated: tuple[Path, ...] = ()
    bytecode: int = 0
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """Return the record ``condawheel install --json`` prints."""
        installation = self.installation
        return {
            "prefix": str(installation.prefix),
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
                for item in installation.installs
            ],
            "already_installed": [
                {
                    "name": item.name,
                    "version": item.version,
                    "installed_by": item.installed_by,
                    "owner": item.owner,
                    "reason": item.reason,
                }
                for item in installation.already
            ],
            "relocated": [str(path) for path in self.relocated],
            "bytecode": self.bytecode,
            "warnings": list(installation.warnings),
            "notes": list(self.notes),
        }


def apply_installation(
    installation: Installation, facts: InterpreterFacts
) -> tuple[tuple[Path, ...], int, tuple[str, ...]]:
    """Apply what was decided: stage, relocate, restore links, commit, compile, RECORD.

    :return: the relocated files, the number of bytecode files, and warnings.
    :raises InstallError: if a step fails; the environment is left as it was.
    """
    if not installation.installs:
        return (), 0, ()
    prefix = installation.prefix
    warnings: list[str] = []
    relocated: list[Path] = []
    staging = prefix / temporary_name(STAGING_PREFIX)
    commit = Commit(os.path.realpath(prefix))
    try:
        files = staging / "files"
        for item in installation.installs:
            relocated += _stage_one(item, installation, facts, files, warnings)
        try:
            # Each replaced distribution is moved aside into its own folder; what was moved
            # is recorded as it goes, so that a failure half-way puts it all back.
            for number, item in enumerate(installation.installs):
                if item.removal is not None:
                    trash = staging / "replaced" / str(number)
                    remove_paths(item.removal, trash=trash, moved=commit.trashed)
            commit_staged(files, Path(prefix.anchor), commit)
        except OSError as error:
            commit.undo()
            raise InstallError(str(prefix), f"cannot place the files: {error}") from None
        except InstallError:
            commit.undo()
            raise
        for item in installation.installs:
            if item.removal is not None:
                remove_empty_directories(item.removal)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    sources = [
        path
        for item in installation.installs
        for path in item.destinations
        if path.suffix == ".py"
        and not path.is_symlink()
        and any(path.is_relative_to(item.scheme[key]) for key in ("purelib", "platlib"))
    ]
    compile_bytecode(facts, sources)
    bytecode = sum(rewrite_record(item, facts) for item in installation.installs)
    return tuple(relocated), bytecode, tuple(warnings)


def _stage_one(
    item: WheelInstall,
    installation: Installation,
    facts: InterpreterFacts,
    files: Path,
    warnings: list[str],
) -> list[Path]:
    """Stage one wheel: install it into ``files``, relocate, restore links, record tags.

    :return: the relocated files.
    :raises InstallError: for any failure, an unexpected one of the file system too
        (only the staging folder was touched: the environment is as it was).
    """
    try:
        stage(item, facts, files, installation.script_shebang)
        relocated = relocate_and_restore(item, files, installation.relocation, warnings)
        if item.recorded_tags is not None:
            dist_info = scheme_root(item.contents, item.scheme) / item.contents.dist_info
            record_tags(item.contents, staged_path(files, dist_info), item.recorded_tags)
    except OSError as error:
        raise InstallError(item.contents.filename, f"cannot stage it: {error}") from None
    return relocated


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
        with path.open("wb") as out:
            for chunk in body.chunks():
                out.write(chunk)
        if wheel.sha256 is not None and hash_file(path).sha256 != wheel.sha256:
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
) -> dict[NormalizedName, Removal | InstallError]:
    found: dict[NormalizedName, Removal | InstallError] = {}
    for name in names:
        installed = environment.state.distributions.get(name)
        if installed is None or installed.conda_owner is not None:
            continue
        try:
            found[name] = removal_for(installed, environment.state, environment.facts)
        except InstallError as error:
            found[name] = error
    return found


def decide_for_environment(
    environment: Environment,
    wheels: Sequence[tuple[WheelContents, bool]],
    *,
    ignore_external: bool = False,
) -> Installation:
    """Look at the disk (distributions to replace, links, existing files), then decide.

    :raises InstallError: see :func:`decide_installation`.
    :raises ExternalDependencyError: see :func:`decide_installation`.
    """
    prefix = environment.state.prefix
    replacements = _replacements(environment, (item.name for item, _ in wheels))
    destinations: set[Path] = set()
    links: list[tuple[Path, str]] = []
    for item, requested in wheels:
        scheme = install_scheme(environment.facts, item.display_name)
        with contextlib.suppress(InstallError):  # decide_installation reports it
            destinations.update(
                wheel_destinations(
                    item, scheme, windows=environment.facts.is_windows, requested=requested
                )
            )
        links.extend(sidecar_links(item, scheme))
        for directory in item.sidecar.directories if item.sidecar is not None else ():
            with contextlib.suppress(InstallError):  # decide_installation reports it
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
        if isinstance(removal, Removal)
        for path in removal.files
        if (relative := relative_to_prefix(prefix, path)) is not None
    )
    real_paths = survey_real_paths(
        prefix,
        [inside[path] for path in destinations if path in inside],
        [(inside[path], target) for path, target in links if path in inside],
        pending={inside[path]: target for path, target in links if path in inside},
        gone=gone,
    )
    return decide_installation(
        wheels,
        state=environment.state,
        facts=environment.facts,
        real_paths=real_paths,
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
        installation = decide_for_environment(
            environment, contents, ignore_external=options.ignore_external
        )
        installation = dataclasses.replace(
            installation,
            already=(*installation.already, *_already_satisfied(environment, resolution)),
        )
        if options.dry_run:
            return InstallResult(installation, resolution, dry_run=True, notes=resolution.notes)
        relocated, bytecode, warnings = apply_installation(installation, environment.facts)
    return InstallResult(
        installation,
        resolution,
        dry_run=False,
        relocated=relocated,
        bytecode=bytecode,
        notes=(*resolution.notes, *warnings),
    )
