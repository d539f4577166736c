"""The wheelhouse lock: one writer at a time, released by the kernel when its holder dies.

``<wheelhouse>/.condawheel.lock`` is locked with ``flock`` (``msvcrt.locking`` on Windows).
The lock belongs to the open file, not to the file name, so the file is never deleted
(deleting it would let two processes lock two different files of the same name), and a
holder killed with SIGKILL releases it at once: there is no stale lock to break. The
holder writes its pid into the file, only so that a waiting process can say whom it
waits for.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import TYPE_CHECKING, Final

from condawheel.errors import WheelhouseError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import TracebackType
    from typing import IO

    from typing_extensions import Self

__all__ = ["LOCK_NAME", "WheelhouseLock"]

LOCK_NAME: Final = ".condawheel.lock"
_POLL_SECONDS: Final = 0.1  # Windows has no blocking lock call that can be interrupted


def _try_lock(handle: IO[bytes]) -> bool:
    """Take the lock without waiting; return whether it was taken."""
    if sys.platform == "win32":  # pragma: no cover - Windows only; CI runs on Linux
        import msvcrt  # noqa: PLC0415 - Windows only

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl  # noqa: PLC0415 - POSIX only

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_lock(handle: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows only; CI runs on Linux
        while not _try_lock(handle):
            time.sleep(_POLL_SECONDS)
        return
    import fcntl  # noqa: PLC0415 - POSIX only

    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _unlock(handle: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows only; CI runs on Linux
        import msvcrt  # noqa: PLC0415 - Windows only

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl  # noqa: PLC0415 - POSIX only

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class WheelhouseLock:
    """An exclusive lock on a wheelhouse, as a context manager.

    :param directory: the wheelhouse; it must exist.
    :param wait: wait for another holder to finish; otherwise fail at once.
    :param on_wait: called once, with the holder's pid if known, before waiting.
    :raises WheelhouseError: on entry, if ``wait`` is false and another process holds the
        lock, or if the lock file cannot be opened.
    """

    def __init__(
        self,
        directory: Path,
        *,
        wait: bool = True,
        on_wait: Callable[[int | None], None] | None = None,
    ) -> None:
        self.path = directory / LOCK_NAME
        self.wait = wait
        self.on_wait = on_wait
        self._handle: IO[bytes] | None = None

    def holder(self) -> int | None:
        """Return the pid the current holder wrote, if it is readable."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def acquire(self) -> None:
        """Take the lock (see the class docstring)."""
        try:
            # "a+b": create if missing, never truncate the holder's pid before we hold it.
            handle = self.path.open("a+b")
        except OSError as error:
            raise WheelhouseError(
                str(self.path), f"cannot open the lock file: {error.strerror or error}"
            ) from None
        try:
            if not _try_lock(handle):
                self._wait_for_holder(handle)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n".encode("ascii"))
            handle.flush()
        except BaseException:
            handle.close()
            raise
        self._handle = handle

    def _wait_for_holder(self, handle: IO[bytes]) -> None:
        holder = self.holder()
        if not self.wait:
            who = f"process {holder}" if holder is not None else "another process"
            raise WheelhouseError(
                str(self.path.parent),
                f"the wheelhouse is locked by {who} (a sync or index run); "
                "not waiting because of --no-wait",
            )
        if self.on_wait is not None:
            self.on_wait(holder)
        _wait_lock(handle)

    def release(self) -> None:
        """Give the lock back (closing the file would, too)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.flush()
        try:
            _unlock(handle)
        finally:
            handle.close()

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
