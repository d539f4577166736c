"""Build real conda environments offline with py-rattler, from a channel folder (tests only).

The recipe of ``../shared/corpus/README.md`` (tested with py-rattler 0.28):

1. index the channel folder in place (``rattler.index.index_fs``): work on a *copy* of
   the corpus channel, never on the shared folder;
2. relax ``libzlib >=1.2.13,<1.3.0a0`` to ``<2.0a0`` in the generated repodata: the
   closure holds libzlib 1.3.1, and conda-forge fixes that pin with a repodata patch that
   a plain index does not apply (without it, every Python environment fails to solve:
   python -> tk -> libzlib);
3. solve against the folder as a ``file://`` channel, with fixed virtual packages;
4. install into the prefix, with a package cache the caller chooses (rattler extracts
   ``file://`` packages straight into it and keeps no archive; it records
   ``extracted_package_dir`` but no ``package_tarball_full_path`` in ``conda-meta``);
5. optionally link a local interpreter of the same minor version into the prefix: the
   corpus's ``python`` package is a stub without an interpreter.

Sharing one ``cache_dir`` between environments makes every install after the first
fast (files are hard-linked from the cache: never modify an environment's files in
place, that would modify the cache and every environment made from it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import rattler
from rattler import BuildString, Channel, GenericVirtualPackage, PackageName, Version
from rattler.index import index_fs

if TYPE_CHECKING:
    from collections.abc import Sequence

ZLIB_PIN: Final = "libzlib >=1.2.13,<1.3.0a0"
RELAXED_ZLIB_PIN: Final = "libzlib >=1.2.13,<2.0a0"
# A linux-64 machine as the solver sees it (glibc 2.36, Linux 6.1).
VIRTUAL_PACKAGES: Final = (
    ("__glibc", "2.36"),
    ("__unix", "0"),
    ("__linux", "6.1"),
    ("__archspec", "1"),
)
PLATFORMS: Final = ("linux-64", "noarch")


@dataclass(frozen=True)
class Environment:
    """A conda environment made by :func:`make_environment`."""

    prefix: Path
    records: tuple[str, ...]
    """``name-version-build`` of every installed package, sorted."""
    python: Path | None
    """The interpreter linked as ``<prefix>/bin/python``, if any."""


def find_python(minor: str = "3.12") -> Path | None:
    """Return a local CPython ``minor`` (``$CONDAWHEEL_PY312``, pyenv, then ``$PATH``)."""
    configured = os.environ.get("CONDAWHEEL_PY" + minor.replace(".", ""))
    if configured:
        return Path(configured)
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = sorted(root.glob(f"versions/{minor}.*/bin/python{minor}"))
    if found:
        return found[-1]
    on_path = shutil.which(f"python{minor}")
    return Path(on_path).resolve() if on_path else None


def relax_zlib_pin(channel_dir: Path) -> int:
    """Apply the libzlib repodata patch to every ``*/repodata.json``; return the count."""
    count = 0
    for repodata in sorted(channel_dir.glob("*/repodata.json")):
        text = repodata.read_text(encoding="utf-8")
        if ZLIB_PIN in text:
            count += text.count(ZLIB_PIN)
            repodata.write_text(text.replace(ZLIB_PIN, RELAXED_ZLIB_PIN), encoding="utf-8")
    return count


def index_channel(
    channel_dir: Path, *, write_zst: bool = False, write_shards: bool = False, relax: bool = True
) -> None:
    """Write ``<subdir>/repodata.json`` for a channel folder (in place), patched for zlib.

    :param write_zst: also write ``repodata.json.zst``. Its content is rattler's, so the
        zlib patch is only in the plain ``repodata.json``.
    :param write_shards: also write CEP 16 shards (``repodata_shards.msgpack.zst`` and
        ``shards/``), rattler's too.
    """
    asyncio.run(index_fs(channel_dir, write_zst=write_zst, write_shards=write_shards, force=True))
    shutil.rmtree(channel_dir / ".tmp", ignore_errors=True)  # index_fs's scratch folder
    if relax:
        relax_zlib_pin(channel_dir)


def _virtual_packages() -> list[GenericVirtualPackage]:
    return [
        GenericVirtualPackage(PackageName(name), Version(version), BuildString("0"))
        for name, version in VIRTUAL_PACKAGES
    ]


def link_python(prefix: Path, python: Path) -> None:
    """Make ``<prefix>/bin/python`` a venv-style link to ``python`` (corpus README).

    ``bin/python3.X`` points at the interpreter and ``pyvenv.cfg`` names its home, so
    ``sys.prefix`` is the conda prefix and the environment's extensions import.
    """
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    minor = ".".join(version.split(".")[:2])
    bindir = prefix / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    target = bindir / f"python{minor}"
    for link, points_to in (
        (target, str(python)),
        (bindir / "python", target.name),
        (bindir / "python3", target.name),
    ):
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(points_to)
    (prefix / "pyvenv.cfg").write_text(
        f"home = {python.parent}\ninclude-system-site-packages = false\nversion = {version}\n",
        encoding="utf-8",
    )


def make_environment(
    channel_dir: Path,
    prefix: Path,
    cache_dir: Path,
    specs: Sequence[str],
    *,
    python: Path | None = None,
) -> Environment:
    """Solve ``specs`` against ``channel_dir`` and install them into ``prefix``, offline.

    :param channel_dir: a writable channel folder; indexed (and zlib-patched) in place
        unless it already has ``repodata.json`` files.
    :param cache_dir: rattler's package cache; share it between environments.
    :param python: an interpreter to link into the environment (see :func:`link_python`).
    """
    if not any(channel_dir.glob("*/repodata.json")):
        index_channel(channel_dir)
    records = asyncio.run(
        rattler.solve(
            sources=[Channel(channel_dir.resolve().as_uri())],
            specs=list(specs),
            platforms=list(PLATFORMS),
            virtual_packages=_virtual_packages(),
        )
    )
    asyncio.run(
        rattler.install(
            records,
            target_prefix=prefix,
            cache_dir=cache_dir,
            show_progress=False,
            execute_link_scripts=False,
        )
    )
    if python is not None:
        link_python(prefix, python)
    names = sorted(f"{r.name.normalized}-{r.version}-{r.build}" for r in records)
    return Environment(prefix, tuple(names), python)
