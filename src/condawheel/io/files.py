"""Write files so that readers see them whole or not at all (I/O).

Every file condawheel writes for others to read (wheels, index pages, activation scripts,
reports) is written to a temporary file in the destination's file system and then moved
into place in one step: :func:`os.replace` where the new file may replace the old one,
a hard link where an existing file must never be replaced (:func:`link_new`). A
temporary file is removed when writing it fails.

Temporary names are short and never contain the destination's name: a wheel name may be
up to 255 bytes long, the longest file name that Linux, macOS and Windows file systems
accept, and a prefix added to it would exceed that limit.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO, Final

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = [
    "NAME_MAX",
    "TEMP_PREFIX",
    "atomic_output",
    "link_new",
    "temporary_name",
    "temporary_path",
    "write_atomically",
]

TEMP_PREFIX: Final = ".condawheel-tmp-"
"""The prefix of condawheel's temporary files; hidden, so that scans of a folder skip them."""
NAME_MAX: Final = 255
"""The longest file name, in bytes, that common file systems accept (POSIX ``NAME_MAX``)."""
_RANDOM_BYTES: Final = 6
# Errors of os.link on file systems (or for files) that cannot hard-link: fall back to a
# rename after an existence check.
_NO_HARD_LINKS: Final = frozenset({errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK})


def temporary_name(prefix: str = TEMP_PREFIX) -> str:
    """Return a new temporary file name: ``prefix`` and 12 random hexadecimal digits.

    48 random bits make a clash between two writers in one folder negligible; ``open(...,
    "x")`` refuses one anyway.
    """
    return f"{prefix}{secrets.token_hex(_RANDOM_BYTES)}"


@contextmanager
def temporary_path(folder: Path, *, prefix: str = TEMP_PREFIX) -> Iterator[Path]:
    """Yield a new path in ``folder`` for a file being written; remove it on exit.

    The caller creates the file (with mode ``"xb"``) and moves it into place before the
    block ends; whatever is still at the path then is a leftover and is removed, whether
    the block succeeded or not.
    """
    path = folder / temporary_name(prefix)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):  # the error that brought us here matters more
            path.unlink(missing_ok=True)


@contextmanager
def atomic_output(
    path: Path, *, prefix: str = TEMP_PREFIX, temp_folder: Path | None = None
) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` atomically when the block succeeds.

    :param temp_folder: where the temporary file is made (default: ``path``'s folder); it
        must be on the same file system as ``path``, so that the rename is atomic.
    :raises OSError: if the temporary file cannot be written or renamed; ``path`` is then
        left as it was and the temporary file is removed.
    """
    with temporary_path(temp_folder or path.parent, prefix=prefix) as temp:
        with temp.open("xb") as handle:
            yield handle
        temp.replace(path)


def write_atomically(
    path: Path, data: bytes, *, prefix: str = TEMP_PREFIX, temp_folder: Path | None = None
) -> None:
    """Replace ``path`` by a file holding ``data``, atomically (see :func:`atomic_output`).

    :raises OSError: if the file cannot be written; ``path`` is then left as it was.
    """
    with atomic_output(path, prefix=prefix, temp_folder=temp_folder) as handle:
        handle.write(data)


def link_new(temp: Path, target: Path) -> bool:
    """Move the complete file ``temp`` to ``target`` unless something is already there.

    A hard link is atomic and fails if the name exists, so two writers racing for one
    name cannot overwrite each other; file systems without hard links fall back to an
    existence check and a rename.

    :returns: ``True`` if ``temp`` is now at ``target`` (and gone from its own name);
        ``False`` if something was at ``target`` already (``temp`` is left as it is).
    :raises OSError: if the file system refuses both the link and the rename.
    """
    try:
        os.link(temp, target)
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        if target.exists() or target.is_symlink():
            return False
        temp.replace(target)
        return True
    temp.unlink()
    return True
