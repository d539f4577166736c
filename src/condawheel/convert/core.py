"""Convert one conda package: read it once, analyse, plan, write (the stages in order)."""

from __future__ import annotations

import dataclasses
import threading
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from condawheel.binaries import LinkageAnalyzer
from condawheel.conda.condameta import parse_package
from condawheel.conda.sources import open_package
from condawheel.convert.analysis import analyze_package
from condawheel.convert.blobs import Blobs
from condawheel.convert.ingest import Inventory, Limits, default_workers, ingest
from condawheel.convert.splitting import plan_wheels
from condawheel.convert.spool import Spool
from condawheel.convert.writer import write_wheel
from condawheel.errors import (
    CondawheelError,
    InvalidPackage,
    OutputError,
    UnsupportedPackage,
    WheelExistsError,
)
from condawheel.io.digests import hash_file
from condawheel.sidecar import SIDECAR_NAME, Sidecar, SourceArtifact, load_sidecar

if TYPE_CHECKING:
    from pathlib import Path

    from condawheel.binaries import SonameProviders
    from condawheel.conda.condameta import CondaPackage, RecordDependencies
    from condawheel.conda.sources import PackageSource
    from condawheel.convert.names import NameMapping
    from condawheel.convert.plan import WheelPlan
    from condawheel.options import PlanOptions

__all__ = ["ArtifactHints", "ConversionResult", "convert", "plan_package", "plan_packages"]

_SIDECAR_LIMIT = 64 << 20  # a conda.json is a few KB; a larger one is not read


@dataclass(frozen=True)
class ArtifactHints:
    """What a caller already knows about an artifact (a channel's repodata record)."""

    channel: str | None = None
    subdir: str | None = None
    url: str | None = None
    sha256: str | None = None
    md5: str | None = None
    # For an extracted directory: the archive it came from (a folder has no file name).
    filename: str | None = None
    size: int | None = None
    # The record conda installs it by (repodata, conda-meta): its depends and constrains
    # are the wheel's, not index.json's. None: index.json's (a file converted on its own).
    dependencies: RecordDependencies | None = None
    # The record's CEP 45 flags (kept in the sidecar) and package URLs (a pkg:pypi/ one
    # names the wheel's project before the mapping table does).
    flags: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConversionResult:
    """One converted package.

    ``duplicate``: the same artifact (by sha256) under another file name already made
    ``wheel``, which stands (only its sidecar's record of the file name would differ);
    ``note`` says which.
    """

    source: Path
    wheel: Path
    status: Literal["written", "unchanged", "duplicate"]
    sha256: str
    size: int
    plan: WheelPlan = field(repr=False)
    note: str | None = None
    others: tuple[ConversionResult, ...] = ()
    """The further wheels of a package split by its Python distributions."""

    @property
    def wheels(self) -> tuple[ConversionResult, ...]:
        """Every wheel the package made: this one and the ``others``."""
        return (self, *self.others)

    def to_json(self) -> dict[str, object]:
        """Return the record ``convert --json`` prints for this input."""
        return {
            "input": str(self.source),
            "status": self.status,
            "wheel": str(self.wheel),
            "sha256": self.sha256,
            "size": self.size,
            "name": self.plan.display_name,
            "version": str(self.plan.version),
            "tags": str(self.plan.tags),
            "warnings": list(self.plan.warnings),
        }


class _Digests(threading.Thread):
    """Hash the artifact file (sha256, md5) while the archive is being decompressed."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="condawheel-digest", daemon=True)
        self.path = path
        self.sha256: str | None = None
        self.md5: str | None = None
        self.size: int | None = None

    def run(self) -> None:
        try:
            digests = hash_file(self.path, md5=True)
        except OSError:
            return
        self.sha256, self.md5, self.size = digests.sha256, digests.md5, digests.size


def _artifact(
    source: PackageSource, package: CondaPackage, digests: _Digests | None, hints: ArtifactHints
) -> SourceArtifact:
    if digests is not None:
        digests.join()
        return SourceArtifact(
            filename=hints.filename or source.location.name,
            format=source.format,
            sha256=digests.sha256,
            md5=digests.md5,
            size=digests.size,
            channel=hints.channel,
            subdir=hints.subdir,
            url=hints.url,
            flags=hints.flags,
            purls=hints.purls,
        )
    # An extracted package-cache folder: conda left the artifact's record behind (parsed
    # with the rest of info/, which refuses a record that is no JSON object).
    record = package.repodata_record or {}

    def text(key: str) -> str | None:
        value = record.get(key)
        return value if isinstance(value, str) and value else None

    size = hints.size if hints.size is not None else record.get("size")
    return SourceArtifact(
        filename=hints.filename or text("fn") or source.location.name,
        format=source.format,
        sha256=hints.sha256 or text("sha256"),
        md5=hints.md5 or text("md5"),
        size=size if isinstance(size, int) else None,
        channel=hints.channel or text("channel"),
        subdir=hints.subdir or text("subdir"),
        url=hints.url or text("url"),
        flags=hints.flags,
        purls=hints.purls,
    )


def _read(
    path: Path,
    *,
    blobs: Blobs | None,
    threads: int | None,
    limits: Limits | None,
    hints: ArtifactHints,
    bzip2_threads: int | None = None,
) -> tuple[CondaPackage, Inventory, SourceArtifact]:
    source = open_package(
        path,
        metadata_limit=(limits or Limits()).max_metadata_file,
        bzip2_threads=bzip2_threads,
    )
    digests = None if source.format == "directory" else _Digests(path)
    if digests is not None:
        digests.start()
    try:
        inventory = ingest(
            source,
            blobs=blobs,
            threads=default_workers(source.format) if threads is None else threads,
            limits=limits,
            analyzer=LinkageAnalyzer(),
        )
    finally:
        if digests is not None:
            digests.join()
    if "index.json" not in inventory.info_files:
        raise InvalidPackage(str(path), _not_a_package(inventory))
    package = parse_package(str(path), inventory.info_files)
    return package, inventory, _artifact(source, package, digests, hints)


def _not_a_package(inventory: Inventory) -> str:
    """Say why an archive without ``info/index.json`` is not a conda package."""
    files = [item for item in inventory.payload if item.kind != "directory"]
    tops = {item.path.split("/", 1)[0] for item in files}
    if not files:
        return "not a conda package: no info/index.json (the archive holds no files)"
    if len(tops) == 1 and all("/" in item.path for item in files):
        return (
            "not a conda package: no info/index.json "
            f"(every member sits under {next(iter(tops)) + '/'!r}; a package starts at its root)"
        )
    if any(item.path.endswith(".dist-info/WHEEL") for item in inventory.payload):
        return "not a conda package: no info/index.json (it looks like an unpacked wheel)"
    return "not a conda package: no info/index.json"


def plan_package(
    path: Path,
    *,
    mapping: NameMapping,
    options: PlanOptions | None = None,
    hints: ArtifactHints | None = None,
    limits: Limits | None = None,
    providers: SonameProviders | None = None,
) -> WheelPlan:
    """Read a package and return its plan without writing anything (``inspect``).

    :raises CondawheelError: for unreadable or unconvertible packages, and for a package
        that makes several wheels (see :func:`plan_packages`).
    """
    plans = plan_packages(
        path, mapping=mapping, options=options, hints=hints, limits=limits, providers=providers
    )
    if len(plans) != 1:
        names = ", ".join(plan.filename for plan in plans)
        raise UnsupportedPackage(str(path), f"makes {len(plans)} wheels ({names}), not one")
    return plans[0]


def plan_packages(
    path: Path,
    *,
    mapping: NameMapping,
    options: PlanOptions | None = None,
    hints: ArtifactHints | None = None,
    limits: Limits | None = None,
    providers: SonameProviders | None = None,
) -> tuple[WheelPlan, ...]:
    """Read a package and return the plan of each wheel it makes, writing nothing.

    One plan, or one per Python distribution of a package that holds several
    (:mod:`condawheel.convert.splitting`).

    :raises CondawheelError: for unreadable or unconvertible packages.
    """
    hints = hints or ArtifactHints()
    package, inventory, artifact = _read(path, blobs=None, threads=0, limits=limits, hints=hints)
    analysis = analyze_package(
        package, inventory, source=artifact, subject=str(path), record=hints.dependencies
    )
    return plan_wheels(
        analysis, mapping=mapping, options=options, providers=providers, limits=limits
    )


def convert(
    path: Path,
    out_dir: Path,
    *,
    mapping: NameMapping,
    options: PlanOptions | None = None,
    hints: ArtifactHints | None = None,
    threads: int | None = None,
    level: int = 6,
    limits: Limits | None = None,
    providers: SonameProviders | None = None,
) -> ConversionResult:
    """Convert the conda package at ``path`` into a wheel in ``out_dir``.

    A package that holds several Python distributions makes one wheel per distribution
    (and one for the files none of them lists): the result is the first, its
    :attr:`~ConversionResult.others` the rest.

    :param threads: worker threads that hash and compress while the package is read; 0
        does everything in the reading thread, a ``.tar.bz2``'s decompression included
        (default: :func:`default_workers`, and bzip2 blocks decoded on every core).
    :raises CondawheelError: for unreadable or unconvertible packages, when a different
        wheel of the same name already exists (:class:`WheelExistsError`), or when
        ``out_dir`` cannot take the wheel (:class:`OutputError`: full, read-only...).
        Every error names ``path``; nothing is left behind on failure.
    """
    subject = str(path)
    hints = hints or ArtifactHints()
    plan: WheelPlan | None = None
    results: list[ConversionResult] = []
    try:
        # Blobs closes first: no worker still writes into the spool when it goes.
        with Spool(out_dir, level=level) as spool, Blobs(spool) as blobs:
            # Bodies may still be deflating when this returns (Blobs waits for each
            # when the writer needs it): the analysis and plan run meanwhile.
            package, inventory, artifact = _read(
                path,
                blobs=blobs,
                threads=threads,
                limits=limits,
                hints=hints,
                # A caller that keeps the work in one thread (sync's workers, one core
                # each) gets the one-thread bzip2 decoder too.
                bzip2_threads=1 if threads == 0 else None,
            )
            analysis = analyze_package(
                package, inventory, source=artifact, subject=subject, record=hints.dependencies
            )
            plans = plan_wheels(
                analysis, mapping=mapping, options=options, providers=providers, limits=limits
            )
            for plan in plans:
                results.append(_write(path, plan, blobs, out_dir, level))
    except FileExistsError as error:
        if plan is None:
            raise OutputError(subject, f"cannot write into {out_dir}: {error}") from error
        # publish found a directory or a broken link where the wheel goes
        raise OutputError(subject, f"makes {plan.filename}, but {error.strerror}") from error
    except OSError as error:
        # sources.py turns every failure to read the input into InvalidPackage, so an
        # OSError here comes from the output side: the spool or the wheel in out_dir.
        what = f"cannot write {plan.filename}" if plan is not None else "cannot write"
        reason = error.strerror or str(error) or type(error).__name__
        raise OutputError(subject, f"{what} into {out_dir}: {reason}") from error
    first, *others = results
    return dataclasses.replace(first, others=tuple(others))


def _write(
    path: Path, plan: WheelPlan, blobs: Blobs, out_dir: Path, level: int
) -> ConversionResult:
    """Write one planned wheel; a renamed copy of the artifact that made it is a duplicate."""
    try:
        written = write_wheel(plan, blobs=blobs, out_dir=out_dir, level=level)
    except WheelExistsError as error:
        existing = out_dir / plan.filename
        other = _made_from(existing)
        ours = _source_sha256(plan)
        if other is not None and ours is not None and other.source.sha256 == ours:
            note = (
                f"the same artifact as {other.source.filename} (sha256 "
                f"{(other.source.sha256 or '')[:12]}...), which made {plan.filename}: a duplicate"
            )
            return ConversionResult(
                path,
                existing,
                "duplicate",
                hash_file(existing).sha256,
                existing.stat().st_size,
                plan,
                note,
            )
        raise WheelExistsError(
            str(path), f"makes {error.subject}, but {error.reason}{_why_same_name(plan, other)}"
        ) from None
    return ConversionResult(path, written.path, written.status, written.sha256, written.size, plan)


def _made_from(wheel: Path) -> Sidecar | None:
    """Return the sidecar of a wheel already in the output folder, if it has a readable one."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [
                name
                for name in archive.namelist()
                if name.count("/") == 1 and name.endswith(f".dist-info/{SIDECAR_NAME}")
            ]
            if len(names) != 1 or archive.getinfo(names[0]).file_size > _SIDECAR_LIMIT:
                return None
            return load_sidecar(wheel.name, archive.read(names[0]))
    except (OSError, zipfile.BadZipFile, CondawheelError, ValueError, KeyError):
        return None


def _source_sha256(plan: WheelPlan) -> str | None:
    source = plan.sidecar.get("source")
    value = source.get("sha256") if isinstance(source, dict) else None
    return value if isinstance(value, str) else None


def _why_same_name(plan: WheelPlan, other: Sidecar | None) -> str:
    """Explain a wheel-name collision between two conda packages: their distribution."""
    package = plan.sidecar.get("package")
    conda_name = package.get("name") if isinstance(package, dict) else None
    if other is None or conda_name is None or other.conda_name == conda_name:
        return ""
    return (
        f"; it was made from the conda package {other.conda_name!r} "
        f"({other.source.filename}), and {conda_name!r} carries the same Python "
        f"distribution {plan.display_name!r}: a wheel is named after its distribution, "
        "not its conda package. Convert the two into separate folders (-o), or leave one out"
    )
