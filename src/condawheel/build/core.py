"""``condawheel build``: build sources in a conda environment and publish conda wheels.

One run opens the environment once, then, for each source in turn: get a wheel (pip builds
an sdist, a source directory or a requirement's sdist; a wheel is taken as it is), read it
(:mod:`condawheel.build.analysis`), decide (:mod:`condawheel.build.decisions`) and write
(:mod:`condawheel.build.writer`). A source that fails is reported and the others go on.
Publishing into a wheelhouse follows ``sync``: the wheelhouse is locked, wheels land by a
link that never replaces another wheel, and the index is brought up to date at the end.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.requirements import InvalidRequirement, Requirement

from condawheel.binaries.providers import load_providers
from condawheel.build.analysis import BuildError, describe_environment, read_built_wheel
from condawheel.build.compiling import PipOptions, download_sdist, pip_wheel
from condawheel.build.decisions import BuildProvenance, SourceKind, decide_build
from condawheel.build.writer import write_build
from condawheel.env.environment import open_environment
from condawheel.env.tagconfig import DEFAULT_SYSTEM_CONFIG
from condawheel.errors import CondawheelError, OutputError
from condawheel.io.digests import hash_file
from condawheel.wheelhouse.index import index_wheelhouse
from condawheel.wheelhouse.lock import WheelhouseLock

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from condawheel.binaries import SonameProviders
    from condawheel.build.analysis import BuildEnvironment
    from condawheel.wheelhouse.index import IndexUpdate

__all__ = [
    "BuildOptions",
    "BuildOutcome",
    "BuildReport",
    "Destination",
    "build_sources",
    "classify_source",
]

_SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")


@dataclass(frozen=True)
class BuildOptions:
    """How sources are built and wheels written."""

    pip: PipOptions = field(default_factory=PipOptions)
    source_date_epoch: int | None = None
    system_config: Path | None = DEFAULT_SYSTEM_CONFIG
    platform_prefix: str = "conda"


@dataclass(frozen=True)
class Destination:
    """Where wheels go: a plain folder (``-o``), or a wheelhouse (locked and indexed)."""

    directory: Path
    wheelhouse: bool


@dataclass(frozen=True)
class BuildOutcome:
    """What became of one source."""

    source: str
    status: Literal["written", "unchanged", "failed"]
    wheel: Path | None = None
    kept_as_built: bool = False
    requires_external: tuple[str, ...] = ()
    error: CondawheelError | None = None

    def to_json(self) -> dict[str, object]:
        """Return the ``--json`` record of this source."""
        return {
            "source": self.source,
            "status": self.status,
            "wheel": None if self.wheel is None else str(self.wheel),
            "kept_as_built": self.kept_as_built,
            "requires_external": list(self.requires_external),
            "error": None if self.error is None else str(self.error),
        }


@dataclass(frozen=True)
class BuildReport:
    """Every source's outcome, and the index update of a wheelhouse."""

    outcomes: tuple[BuildOutcome, ...]
    index: IndexUpdate | None = None

    @property
    def failed(self) -> bool:
        """Whether any source failed."""
        return any(outcome.status == "failed" for outcome in self.outcomes)


def classify_source(text: str, *, is_dir: bool, is_file: bool) -> SourceKind:
    """Tell what a source argument is (pure): a folder, a wheel, an sdist or a requirement.

    :raises BuildError: for a path that names nothing, or text that is neither.
    """
    lowered = text.lower()
    if is_dir:
        return "directory"
    if is_file:
        if lowered.endswith(".whl"):
            return "wheel"
        if lowered.endswith(_SDIST_SUFFIXES):
            return "sdist"
        raise BuildError(text, "not a wheel, an sdist (.tar.gz, .zip) or a source folder")
    if "/" in text or os.sep in text or lowered.endswith((*_SDIST_SUFFIXES, ".whl")):
        raise BuildError(text, "no such file or folder")
    try:
        Requirement(text)
    except InvalidRequirement as error:
        raise BuildError(text, f"neither a path nor a requirement: {error}") from None
    return "requirement"


def _prepare(destination: Destination) -> None:
    try:
        destination.directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            str(destination.directory), f"cannot create the folder: {error.strerror or error}"
        ) from None


@dataclass(frozen=True)
class _Run:
    """What every source of one run is built with."""

    environment: BuildEnvironment
    providers: SonameProviders
    destination: Destination
    options: BuildOptions
    inherited: Mapping[str, str]
    progress: Callable[[str], None]


def _get_wheel(
    source: str, kind: SourceKind, run: _Run, work: Path
) -> tuple[Path, BuildProvenance]:
    path = Path(source)
    if kind == "wheel":
        return path, BuildProvenance(kind, source, path.name, hash_file(path).sha256)
    environment, pip = run.environment, run.options.pip
    if kind == "directory":
        provenance = BuildProvenance(kind, source, None, None)
    else:
        if kind == "requirement":
            path = download_sdist(
                environment.python, environment.prefix, source, work, pip, inherited=run.inherited
            )
        provenance = BuildProvenance(kind, source, path.name, hash_file(path).sha256)
    built = pip_wheel(
        environment.python,
        environment.prefix,
        str(path.absolute()),
        work,
        pip,
        subject=source,
        inherited=run.inherited,
    )
    return built, provenance


def _build_one(source: str, run: _Run) -> BuildOutcome:
    path = Path(source)
    kind = classify_source(source, is_dir=path.is_dir(), is_file=path.is_file())
    directory = run.destination.directory
    with tempfile.TemporaryDirectory(prefix="condawheel-build-") as scratch:
        if kind != "wheel":
            run.progress(f"building {source}")
        built, provenance = _get_wheel(source, kind, run, Path(scratch))
        run.progress(f"analysing {built.name}")
        wheel = read_built_wheel(built)
        plan = decide_build(
            wheel,
            run.environment,
            run.providers,
            provenance,
            source_date_epoch=run.options.source_date_epoch,
        )
        try:
            result = write_build(plan, built, directory)
        except OSError as error:
            raise OutputError(
                str(directory / plan.filename), f"cannot be written: {error.strerror or error}"
            ) from None
    return BuildOutcome(
        source,
        result.status,
        result.path,
        kept_as_built=plan.kept_as_built,
        requires_external=tuple(item.requires_external for item in plan.declarations),
    )


def _outcome(source: str, run: _Run) -> BuildOutcome:
    try:
        return _build_one(source, run)
    except CondawheelError as error:
        return BuildOutcome(source, "failed", error=error)


def build_sources(
    sources: Sequence[str],
    prefix: Path,
    destination: Destination,
    options: BuildOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> BuildReport:
    """Build every source in the conda environment at ``prefix`` and publish the wheels.

    :param sources: requirements, sdists, source folders or wheels, as given.
    :param progress: told, in a few words, what is being done.
    :param environ: the process environment builds inherit (default: this process's).
    :raises CondawheelError: if the environment cannot be opened or the destination
        cannot be created or locked; a failing source is an outcome, not an error.
    """
    options = options or BuildOptions()
    inherited = dict(os.environ if environ is None else environ)
    environment = describe_environment(
        open_environment(
            prefix, system_config=options.system_config, platform_prefix=options.platform_prefix
        )
    )
    if environment.pip is None:
        raise BuildError(
            environment.prefix,
            "has no pip to build with; install it with: conda install --prefix "
            f"{environment.prefix} pip",
        )
    run = _Run(
        environment,
        load_providers([Path(environment.prefix)]),
        destination,
        options,
        inherited,
        progress or (lambda _: None),
    )
    _prepare(destination)
    if not destination.wheelhouse:
        return BuildReport(tuple(_outcome(source, run) for source in sources))
    with WheelhouseLock(destination.directory):
        outcomes = tuple(_outcome(source, run) for source in sources)
        update = index_wheelhouse(destination.directory)
    return BuildReport(outcomes, update)
