"""Read what an environment holds: conda's ``conda-meta/`` records and installed distributions.

``conda-meta/<name>-<version>-<build>.json`` is the package's (patched) repodata record plus
``files``, the prefix-relative paths conda linked; :mod:`condawheel.io.conda_meta` reads
it for every part of condawheel. Python distributions are found as ``*.dist-info`` /
``*.egg-info`` in site-packages; ``INSTALLER`` says who installed them (``conda`` is
written by conda-build and rattler-build; condawheel writes ``condawheel``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from packaging.utils import NormalizedName, canonicalize_name

from condawheel.errors import CondawheelError, InstallError, InvalidRecord
from condawheel.io.conda_meta import (
    CONDA_META,
    PrefixRecord,
    prefix_record_files,
    read_prefix_record,
)
from condawheel.sidecar import SIDECAR_NAME, Sidecar, load_sidecar

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "CONDA_META",
    "CondaRecord",
    "InstalledDistribution",
    "PrefixState",
    "read_conda_meta",
    "read_distributions",
    "read_prefix",
    "relative_to_prefix",
]

CondaRecord = PrefixRecord
"""One package conda installed (``conda-meta/<dist>.json``); see :mod:`condawheel.io.conda_meta`."""
CONDAWHEEL_INSTALLER: Final = "condawheel"


@dataclass(frozen=True)
class InstalledDistribution:
    """A Python distribution found in site-packages."""

    name: NormalizedName
    display_name: str
    version: str
    metadata_dir: str  # prefix-relative POSIX path of the .dist-info / .egg-info
    installer: str | None
    conda_owner: str | None  # conda dist name owning it, if conda installed it
    sidecar: Sidecar | None = field(default=None, compare=False, repr=False)

    @property
    def installed_by(self) -> str:
        """Return who installed it: ``conda``, ``condawheel``, ``pip``..., or ``unknown``."""
        if self.conda_owner is not None:
            return "conda"
        return self.installer or "unknown"


@dataclass(frozen=True)
class PrefixState:
    """An environment's contents, as far as installing wheels into it is concerned."""

    prefix: Path
    is_conda: bool
    records: tuple[CondaRecord, ...] = ()
    owners: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    distributions: Mapping[NormalizedName, InstalledDistribution] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def record(self, conda_name: str) -> CondaRecord | None:
        """Return the installed conda package of that name, if any."""
        for record in self.records:
            if record.name == conda_name:
                return record
        return None

    def owner(self, relative_path: str) -> str | None:
        """Return the conda package (``name-version-build``) owning a prefix-relative path."""
        return self.owners.get(relative_path)

    def subdir(self) -> str | None:
        """Return the environment's platform subdir, from its non-noarch records."""
        counts: dict[str, int] = {}
        for record in self.records:
            if record.subdir and record.subdir != "noarch":
                counts[record.subdir] = counts.get(record.subdir, 0) + 1
        return max(counts, key=lambda subdir: counts[subdir]) if counts else None


def relative_to_prefix(prefix: Path, path: Path) -> str | None:
    """Return ``path`` relative to ``prefix`` in POSIX form, or ``None`` if it is outside."""
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(prefix))  # noqa: PTH100
    except ValueError:
        return None
    return PurePosixPath(*relative.parts).as_posix()


def read_conda_meta(prefix: Path) -> tuple[CondaRecord, ...]:
    """Read every ``conda-meta/*.json`` record of an environment (none if not a conda env).

    :raises InstallError: for a record that is not a conda prefix record.
    """
    if not (prefix / CONDA_META).is_dir():
        return ()
    try:
        return tuple(read_prefix_record(path) for path in prefix_record_files(prefix))
    except InvalidRecord as error:
        raise InstallError(error.subject, error.reason) from None
    except OSError as error:
        raise InstallError(
            str(prefix / CONDA_META), f"cannot list: {error.strerror or error}"
        ) from None


def _owners(records: Iterable[CondaRecord]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for record in records:
        for path in record.files:
            owners[path] = record.dist_name
    return owners


_HEADERS = HeaderParser()


def _metadata_fields(data: bytes) -> tuple[str, str] | None:
    message = _HEADERS.parsestr(data.decode("utf-8", errors="replace"))
    name, version = message.get("Name"), message.get("Version")
    if not name or not version:
        return None
    return str(name).strip(), str(version).strip()


def _read_distribution(
    prefix: Path, entry: Path, owners: Mapping[str, str]
) -> InstalledDistribution | None:
    if entry.name.endswith(".dist-info"):
        metadata_file = entry / "METADATA"
    elif entry.is_dir():
        metadata_file = entry / "PKG-INFO"
    else:  # a single-file egg-info is the PKG-INFO itself
        metadata_file = entry
    try:
        fields = _metadata_fields(metadata_file.read_bytes())
    except OSError:
        return None
    if fields is None:
        return None
    relative_dir = relative_to_prefix(prefix, entry) or entry.name
    relative_metadata = relative_to_prefix(prefix, metadata_file) or metadata_file.name
    installer = None
    if entry.is_dir():
        try:
            installer = (entry / "INSTALLER").read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError):
            installer = None
    sidecar = None
    sidecar_path = entry / SIDECAR_NAME
    if installer == CONDAWHEEL_INSTALLER and sidecar_path.is_file():
        try:
            sidecar = load_sidecar(str(sidecar_path), sidecar_path.read_bytes())
        except (OSError, CondawheelError):
            sidecar = None
    return InstalledDistribution(
        name=canonicalize_name(fields[0]),
        display_name=fields[0],
        version=fields[1],
        metadata_dir=relative_dir,
        installer=installer,
        conda_owner=owners.get(relative_metadata),
        sidecar=sidecar,
    )


def read_distributions(
    prefix: Path, site_directories: Iterable[Path], owners: Mapping[str, str]
) -> dict[NormalizedName, InstalledDistribution]:
    """Find the Python distributions installed in the given site-packages directories."""
    found: dict[NormalizedName, InstalledDistribution] = {}
    for directory in dict.fromkeys(site_directories):
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = _read_distribution(prefix, entry, owners)
            # A .dist-info wins over a stale .egg-info of the same project (newer record).
            if distribution is not None and (
                distribution.name not in found or entry.name.endswith(".dist-info")
            ):
                found[distribution.name] = distribution
    return found


def read_prefix(prefix: Path, site_directories: Iterable[Path]) -> PrefixState:
    """Read an environment's conda records and installed Python distributions.

    :raises InstallError: for a corrupt ``conda-meta`` record.
    """
    records = read_conda_meta(prefix)
    owners = _owners(records)
    return PrefixState(
        prefix=prefix,
        is_conda=(prefix / CONDA_META).is_dir(),
        records=records,
        owners=MappingProxyType(owners),
        distributions=MappingProxyType(read_distributions(prefix, site_directories, owners)),
    )
