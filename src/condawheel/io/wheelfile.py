"""Open a wheel and read its members; every way the zip can fail becomes one error (I/O).

:mod:`zipfile` lets a damaged or hostile archive fail in many ways besides
:class:`zipfile.BadZipFile`: ``zlib.error`` for a corrupt deflate stream,
``NotImplementedError`` for a compression method it does not know, ``EOFError`` for a cut
stream, ``RuntimeError`` for an encrypted member, ``ValueError`` for offsets that point
before the archive, ``OSError`` from the file itself. Each is turned into
:class:`~condawheel.errors.InvalidWheel` naming the wheel, here and nowhere else. Only
calls into :mod:`zipfile` are guarded, so that a bug in condawheel is never mistaken for a
damaged wheel.
"""

from __future__ import annotations

import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from condawheel.errors import InvalidWheel
from condawheel.io.digests import CHUNK_SIZE

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ZIP_FAILURES", "WheelArchive", "open_wheel", "wheel_damage"]


def _zip_failures() -> tuple[type[Exception], ...]:
    failures: list[type[Exception]] = [
        zipfile.BadZipFile,  # also a CRC-32 mismatch, found when a member is read to its end
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
    ]
    try:
        import lzma  # noqa: PLC0415 - optional: Python may be built without liblzma
    except ImportError:  # then zipfile cannot raise it either
        pass
    else:
        failures.append(lzma.LZMAError)
    return tuple(failures)


ZIP_FAILURES: Final = _zip_failures()
"""What :mod:`zipfile` raises for corrupt or hostile archives (see the module docstring)."""


def _describe(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__  # EOFError often says nothing


class WheelArchive:
    """An open wheel: its member names, and members read with every failure translated."""

    def __init__(self, archive: zipfile.ZipFile, subject: str) -> None:
        self._archive = archive
        self.subject = subject
        """The wheel's name in every error."""
        self.names: tuple[str, ...] = tuple(archive.namelist())
        """Every member name, in archive order (directories included)."""
        self._known = frozenset(self.names)

    @property
    def files(self) -> tuple[str, ...]:
        """Return the names of the file members (no directory entries), in archive order."""
        return tuple(info.filename for info in self._archive.infolist() if not info.is_dir())

    def infos(self) -> tuple[zipfile.ZipInfo, ...]:
        """Return every member's zip entry (name, mode in ``external_attr``), in archive order."""
        return tuple(self._archive.infolist())

    def read_head(self, name: str, size: int) -> bytes:
        """Return the first ``size`` bytes of member ``name`` (fewer if it is shorter).

        :raises InvalidWheel: if the member is missing or fails to decompress.
        """
        if name not in self._known:
            raise InvalidWheel(self.subject, f"has no member {name}")
        try:
            with self._archive.open(name) as member:
                return member.read(size)
        except ZIP_FAILURES as error:
            raise self._damaged(name, error) from None

    def read(self, name: str, *, limit: int | None = None) -> bytes:
        """Return member ``name``, decompressed and checked against its CRC-32.

        :param limit: the largest size accepted; a larger member is refused after reading
            ``limit + 1`` bytes, whatever its header claims.
        :raises InvalidWheel: if the member is missing, larger than ``limit``, or fails.
        """
        if name not in self._known:
            raise InvalidWheel(self.subject, f"has no member {name}")
        try:
            with self._archive.open(name) as member:
                data = member.read() if limit is None else member.read(limit + 1)
        except ZIP_FAILURES as error:
            raise self._damaged(name, error) from None
        if limit is not None and len(data) > limit:
            raise InvalidWheel(self.subject, f"{name} is larger than {limit} bytes")
        return data

    def _damaged(self, name: str, error: Exception) -> InvalidWheel:
        return InvalidWheel(self.subject, f"damaged: member {name}: {_describe(error)}")

    def verify(self) -> None:
        """Decompress every member and check its CRC-32, in chunks (memory stays flat).

        Damage that keeps the archive's directory intact (a flipped byte, a zero-filled
        block, a corrupt deflate stream) shows nowhere else.

        :raises InvalidWheel: naming the first member that fails.
        """
        name = ""
        try:
            for info in self._archive.infolist():
                name = info.filename
                with self._archive.open(info) as member:
                    while member.read(CHUNK_SIZE):
                        pass
        except ZIP_FAILURES as error:
            raise self._damaged(name, error) from None

    def damage(self) -> str | None:
        """Return why this is no intact wheel (no ``*.dist-info/WHEEL``, a member that fails).

        :returns: ``None`` for an intact wheel.
        """
        if not any(name.endswith(".dist-info/WHEEL") for name in self.names):
            return "damaged: it has no *.dist-info/WHEEL"
        try:
            self.verify()
        except InvalidWheel as error:
            return error.reason
        return None


@contextmanager
def open_wheel(source: Path | BinaryIO, *, subject: str | None = None) -> Iterator[WheelArchive]:
    """Open a wheel for reading.

    :param source: the wheel's path, or a binary file open on it (seekable).
    :param subject: the name errors give (default: the path's file name).
    :raises InvalidWheel: if the file cannot be opened or is no zip archive.
    """
    name = subject or (source.name if isinstance(source, Path) else "wheel")
    try:
        archive = zipfile.ZipFile(source)
    except ZIP_FAILURES as error:
        raise InvalidWheel(name, f"not a readable zip archive: {_describe(error)}") from None
    with archive:
        yield WheelArchive(archive, name)


def wheel_damage(path: Path) -> str | None:
    """Return why the file at ``path`` is no intact wheel, or ``None`` if it is one.

    See :meth:`WheelArchive.damage`; a file that is no zip archive says so.
    """
    try:
        with open_wheel(path) as wheel:
            return wheel.damage()
    except InvalidWheel as error:
        return error.reason
