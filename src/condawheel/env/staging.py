"""Stage wheels with pypa/installer, then relocate placeholders and restore links there.

installer writes each wheel into a staging folder inside the prefix (its ``destdir``), with
``bytecode_optimization_levels=()``: installer would compile with the interpreter running
condawheel, not the environment's. Its destination is condawheel's in two ways (see
:class:`StagingDestination`): no file is written through a link out of the staging folder,
and ``#!python`` scripts get the first line decided for the environment.

Then every ``prefix_placeholders`` file of the wheel's ``conda.json`` is relocated
(:mod:`condawheel.env.relocate`), its symbolic links restored (``file`` links replace the
copy the wheel carried, ``directory``/``external`` links are created) and its empty
directories made. Nothing here touches the environment itself: committing does.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from installer import install as installer_install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile
from installer.utils import get_launcher_kind

from condawheel.env.paths import LEADS_OUT, really_inside
from condawheel.env.relocate import RelocationTarget, relocate
from condawheel.errors import InstallError
from condawheel.io.files import temporary_name

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import BinaryIO

    from _typeshed import WriteableBuffer
    from installer.records import RecordEntry
    from installer.utils import Scheme

    from condawheel.env.decisions import RestoredSymlink, WheelInstall
    from condawheel.env.interpreter import InterpreterFacts

__all__ = [
    "INSTALLER_NAME",
    "StagingDestination",
    "relocate_and_restore",
    "stage",
    "staged_path",
]

INSTALLER_NAME: Final = b"condawheel\n"


def staged_path(staging: Path, path: Path) -> Path:
    """Return where installer stages a destination: ``<staging>/<path without its anchor>``."""
    return staging / path.relative_to(path.anchor)


def _inside_staging(staging: Path, path: Path) -> Path:
    """Return the staged path, refusing one whose folder a staged link leads out of staging."""
    staged = staged_path(staging, path)
    if not really_inside(staged.parent, os.path.realpath(staging)):
        raise InstallError(str(path), LEADS_OUT)
    return staged


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


class StagingDestination(SchemeDictionaryDestination):
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
        # abspath, not resolve(): the text is normalised here, links are judged below.
        written = os.path.abspath(Path(self.scheme_dict[scheme]) / path)  # noqa: PTH100
        _inside_staging(Path(str(self.destdir)), Path(written))
        return super().write_to_fs(scheme, path, stream, is_executable)


def stage(item: WheelInstall, facts: InterpreterFacts, staging: Path, shebang: bytes) -> None:
    """Have installer write one wheel into the staging folder.

    :raises InstallError: when installer fails, or a file would leave the staging folder.
    """
    destination = StagingDestination(item.scheme, facts, staging, shebang)
    metadata = {"INSTALLER": INSTALLER_NAME}
    if item.requested:
        metadata["REQUESTED"] = b""
    try:
        with WheelFile.open(item.contents.path) as source:
            installer_install(source, destination, metadata)
    except (InstallerError, OSError, ValueError, KeyError) as error:
        raise InstallError(item.contents.filename, f"installer failed: {error}") from None


def relocate_and_restore(
    item: WheelInstall, staging: Path, target: RelocationTarget, warnings: list[str]
) -> list[Path]:
    """Relocate a staged wheel's placeholders, restore its links and empty directories.

    :param warnings: links that could not be made are added to it.
    :return: the destinations of the files whose bytes changed.
    :raises InstallError: for a binary file the prefix does not fit in, or a path a
        staged link leads out of the staging folder.
    """
    relocated = []
    for relocation in item.relocations:
        staged = _inside_staging(staging, relocation.path)
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
        problem = _restore_link(_inside_staging(staging, link.path), link)
        if problem is not None:
            warnings.append(problem)
    for directory in item.directories:
        _inside_staging(staging, directory).mkdir(parents=True, exist_ok=True)
    return relocated


def _restore_link(staged: Path, link: RestoredSymlink) -> str | None:
    """Create a recorded symlink in the staging tree; return a warning if it cannot be made."""
    staged.parent.mkdir(parents=True, exist_ok=True)
    # A short name of its own: the link's name may already be as long as names can be.
    copy = staged.with_name(temporary_name())
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
