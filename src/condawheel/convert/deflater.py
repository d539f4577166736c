"""Helper processes that deflate batches of small bodies straight into the spool.

Worker threads deflate large bodies well: one call of zlib-ng compresses a megabyte
without the GIL. A package of many small files is another matter. Each body is a call
of its own (a few microseconds of work), after which the worker must take the GIL back
from the reading thread, which runs Python without pause and lets go of it only when
the interpreter makes it (every 5 ms): measured on 31,400 files of 3 KB, the workers got
0.96 s of CPU in 3.2 s, and the reading thread ended up deflating what they could not.
A helper process has an interpreter of its own. It is handed a batch of bodies through
a pipe, deflates them with the same function (:func:`~.spool.deflate_bodies`, the same
zlib-ng, so the same bytes) and writes them into the spool through a descriptor it
inherited, at an offset reserved for the batch; only the placements come back.

The helpers are started (``sys.executable``, isolated mode, with this process's module
search path, in a session of their own) when a package has shown many small bodies
(:mod:`.ingest` decides), one fewer than the worker threads and at least one. They end
when the package's :class:`~.blobs.Blobs` closes: their input is closed, or they are
killed if work they were given is no longer wanted. A batch not yet sent can still be
taken back and done in the thread that needs it, and a batch whose helper failed is
done there too (:class:`~.blobs.Task`). Where no helper can be started (no
``sys.executable``, a frozen application, a system that is not POSIX) the worker threads
do the work, as before.

The protocol, all integers little-endian: a request is ``offset:u64 level:i32
count:u32``, ``count`` sizes (``u32``) and the bodies joined. The reply is
``error_length:u32``, then either ``count`` pairs ``stored_length:u32 method:u32`` or
an error message of that length (UTF-8), after which the helper exits.
"""

from __future__ import annotations

import contextlib
import os
import queue
import struct
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import IO, Literal, cast

from condawheel.convert.deflate import DEFLATED, REQUEST, STORED, U32

__all__ = ["DeflateHelpers", "HelperFailed", "Placed", "placements"]

# Where one body of a batch lies in the spool: offset, stored length and zip method.
Placed = tuple[int, int, Literal[0, 8]]

_MAX_BODY = (1 << 32) - 1  # a size field is a u32; small bodies are far below it
# Linux lets a pipe hold more than its default 64 KiB (fcntl F_SETPIPE_SZ): a batch or
# two queued in the pipe keep a helper busy while the sending thread waits for the GIL.
# An unprivileged process may ask for up to /proc/sys/fs/pipe-max-size (1 MiB unless
# raised), so 1 MiB; elsewhere, or if refused, the default stays (slower, not wrong).
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, which typeshed knows on Linux only
_PIPE_SIZE = 1 << 20
# The helper's program: isolated mode (no current directory, no PYTHON* variables, no
# user site) and then this process's module search path (marshalled: a built-in module,
# and the same interpreter reads it), so that the helper imports the very condawheel and
# zlib-ng this process runs, and no more than condawheel.convert.deflate.
_PROGRAM = (
    "import sys, marshal; sys.path[:] = marshal.loads(bytes.fromhex(sys.argv[2])); "
    "from condawheel.convert.deflate import run_helper; "
    "raise SystemExit(run_helper(int(sys.argv[1])))"
)


def placements(offset: int, placed: list[tuple[int, Literal[0, 8]]]) -> list[Placed]:
    """Return where each body of a batch written at ``offset`` lies (see :data:`Placed`)."""
    result: list[Placed] = []
    for length, method in placed:
        result.append((offset, length, method))
        offset += length
    return result


class HelperFailed(OSError):
    """A helper process could not deflate a batch (it failed or it ended)."""


class _Helper:
    """One helper process, with a thread that sends it batches and one that reads replies."""

    def __init__(self, spool_fd: int) -> None:
        executable = sys.executable
        if not executable or getattr(sys, "frozen", False):
            msg = "no Python executable to run a helper with"
            raise OSError(msg)
        import marshal  # noqa: PLC0415 - only a package of many small files starts helpers

        # Only text entries: the import system skips any other kind too.
        search_path = [entry for entry in cast("list[object]", sys.path) if isinstance(entry, str)]
        self.process = subprocess.Popen(
            [executable, "-I", "-c", _PROGRAM, str(spool_fd), marshal.dumps(search_path).hex()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(spool_fd,),
            bufsize=0,
            # A session of its own: Ctrl-C at a terminal interrupts the converting
            # process, which ends its helpers; a helper prints no traceback of its own.
            start_new_session=True,
        )
        try:
            self._start()
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """End a helper that could not be set up (our own child, by its handle)."""
        to_send = getattr(self, "_to_send", None)
        if to_send is not None:  # a sending thread may have started: let it end
            to_send.put(None)
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()

    def _start(self) -> None:
        self.outstanding = 0  # bytes sent or queued and not answered yet
        self._lock = threading.Lock()
        self._failure: HelperFailed | None = None
        # future, offset, level, bodies, their size in bytes
        self._to_send: queue.SimpleQueue[
            tuple[Future[list[Placed]], int, int, list[bytes], int] | None
        ]
        self._to_send = queue.SimpleQueue()
        self._sent: queue.SimpleQueue[tuple[Future[list[Placed]], int, int, int] | None]
        self._sent = queue.SimpleQueue()
        stdin = self.process.stdin
        if stdin is not None:  # always: a pipe was asked for
            try:
                import fcntl  # noqa: PLC0415 - POSIX only

                fcntl.fcntl(stdin.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)
            except (ImportError, OSError):
                pass  # the default pipe size
        self._sender = threading.Thread(
            target=self._send, name="condawheel-deflate-send", daemon=True
        )
        self._receiver = threading.Thread(
            target=self._receive, name="condawheel-deflate-receive", daemon=True
        )
        self._sender.start()
        self._receiver.start()

    def submit(
        self, offset: int, level: int, bodies: list[bytes], size: int
    ) -> Future[list[Placed]]:
        future: Future[list[Placed]] = Future()
        with self._lock:
            self.outstanding += size
        self._to_send.put((future, offset, level, bodies, size))
        return future

    @property
    def failed(self) -> bool:
        """Whether the helper failed (it takes no more batches)."""
        return self._failure is not None

    def close(self, *, kill: bool) -> None:
        """End the helper: at once (``kill``), or once the batches it has are done."""
        try:
            if kill:
                self.process.kill()  # our own child, by its handle
            self._to_send.put(None)
            self._sender.join()
            self._receiver.join()
        finally:
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()

    def _send(self) -> None:
        stdin = self.process.stdin
        if stdin is None:  # a guard: Popen made a pipe
            return
        try:
            while (item := self._to_send.get()) is not None:
                future, offset, level, bodies, size = item
                # A batch taken back by the thread that needed it is not sent.
                if not future.set_running_or_notify_cancel():
                    self._done(size)
                    continue
                if self._failure is not None:
                    self._done(size)
                    future.set_exception(self._failure)
                    continue
                try:
                    request = b"".join(
                        [
                            REQUEST.pack(offset, level, len(bodies)),
                            struct.pack(f"<{len(bodies)}I", *map(len, bodies)),
                            *bodies,
                        ]
                    )
                except Exception as error:  # noqa: BLE001 - the batch is done elsewhere
                    self._done(size)
                    future.set_exception(HelperFailed(f"cannot send a batch: {error}"))
                    continue
                count = len(bodies)
                del bodies, item
                self._sent.put((future, offset, count, size))
                # A helper that ended is reported by the receiver, for this batch.
                with contextlib.suppress(OSError):
                    _write_all(stdin, request)
                del request
        finally:
            with contextlib.suppress(OSError):
                stdin.close()
            self._sent.put(None)

    def _receive(self) -> None:
        stdout = self.process.stdout
        if stdout is None:  # a guard: Popen made a pipe
            return
        while (item := self._sent.get()) is not None:
            future, offset, count, size = item
            try:
                placed = self._reply(stdout, count) if self._failure is None else None
            except HelperFailed as error:
                self._failure = error
                placed = None
            self._done(size)
            if placed is None:
                future.set_exception(self._failure or HelperFailed("deflate helper failed"))
            else:
                future.set_result(placements(offset, placed))

    def _reply(self, stdout: IO[bytes], count: int) -> list[tuple[int, Literal[0, 8]]]:
        (error_length,) = U32.unpack(self._read(stdout, U32.size))
        if error_length:
            reason = self._read(stdout, error_length).decode("utf-8", "replace")
            raise HelperFailed(reason)
        values = struct.unpack(f"<{2 * count}I", self._read(stdout, 8 * count))
        placed: list[tuple[int, Literal[0, 8]]] = []
        for length, method in zip(values[::2], values[1::2], strict=True):
            if method not in (STORED, DEFLATED):  # a guard: the helper runs our own code
                msg = f"the deflate helper answered zip method {method}"
                raise HelperFailed(msg)
            placed.append((length, DEFLATED if method == DEFLATED else STORED))
        return placed

    def _read(self, stdout: IO[bytes], size: int) -> bytes:
        data = stdout.read(size)
        while 0 < len(data) < size:
            more = stdout.read(size - len(data))
            if not more:
                break
            data += more
        if len(data) != size:
            code = self.process.wait()
            msg = f"the deflate helper process ended (exit status {code})"
            raise HelperFailed(msg)
        return data

    def _done(self, size: int) -> None:
        with self._lock:
            self.outstanding -= size


class DeflateHelpers:
    """Helper processes that deflate batches of small bodies into one spool.

    :param spool_fd: the spool's descriptor, which each helper inherits and writes into.
    :param level: the deflate level, part of the output.
    :raises OSError: if a helper cannot be started (the caller keeps to its threads).
    """

    def __init__(self, spool_fd: int, level: int, count: int) -> None:
        self.level = level
        self._helpers: list[_Helper] = []
        if os.name != "posix":  # descriptor passing (and the spool's pwrite) is POSIX's
            msg = "helper processes need a POSIX system"
            raise OSError(msg)
        try:
            for _ in range(count):
                self._helpers.append(_Helper(spool_fd))
        except BaseException:
            self.close(kill=True)
            raise

    def submit(self, offset: int, bodies: list[bytes]) -> Future[list[Placed]]:
        """Deflate ``bodies`` (:func:`~.spool.deflate_bodies`) into the spool at ``offset``.

        The room from ``offset`` must hold the bodies deflated or stored, whichever each
        is: :func:`~.spool.deflate_bound` of each body's size. The future is cancelled
        successfully as long as the batch has not been sent.
        """
        size = sum(map(len, bodies))
        if any(len(body) > _MAX_BODY for body in bodies):  # a guard: only small bodies
            msg = "a body too large for a helper's batch"
            raise ValueError(msg)
        helper = min(self._helpers, key=lambda h: (h.failed, h.outstanding))
        return helper.submit(offset, self.level, bodies, size)

    @property
    def failed(self) -> bool:
        """Whether every helper failed: batches are better deflated in threads from now."""
        return all(helper.failed for helper in self._helpers)

    def close(self, *, kill: bool = False) -> None:
        """End every helper; one with batches still under way is killed.

        A package whose bodies were all written asks nothing more of its helpers: they
        get the end of their input and exit. One that failed may leave batches behind,
        wanted no more; killing the helper is quicker than deflating them.
        """
        helpers, self._helpers = self._helpers, []
        try:
            for helper in helpers:
                helper.close(kill=kill or helper.outstanding > 0)
        finally:
            for helper in helpers:  # a helper left by an interruption above is killed
                if helper.process.returncode is None:
                    helper.close(kill=True)


def _write_all(stream: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = stream.write(view)
        if not written:  # a guard: blocking pipes write something or raise
            raise BrokenPipeError
        view = view[written:]
