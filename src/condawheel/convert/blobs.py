"""Bodies on their way into the spool: the tasks that make them, and the map of them.

:func:`~condawheel.convert.ingest.ingest` hands each batch of bodies to worker threads (or
to helper processes, :mod:`.deflater`) as :class:`Task` objects, grouped per batch
(:class:`Group`), and returns once their facts are in. :class:`Blobs` then holds the
groups whose bodies may still be deflating, by path, for the writer: each is waited for
(or its work taken back) when the writer asks for it. :class:`Blobs` owns the worker
threads and the helper processes, which outlive ``ingest``.
"""

from __future__ import annotations

import subprocess
from collections import deque
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from condawheel.convert.deflater import DeflateHelpers, HelperFailed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from typing_extensions import Self

    from condawheel.convert.ingest import PayloadFile
    from condawheel.convert.spool import Blob, Spool

__all__ = ["Blobs", "Group", "Task"]

_T = TypeVar("_T")
# Helper processes at most, whatever the worker threads: a few deflate small bodies
# faster than one thread reads them.
_MAX_HELPERS = 4


class Group(Protocol):
    """Bodies handed to the workers together: their facts first, then their blobs."""

    @property
    def size(self) -> int:
        """The bytes this holds in memory until its tasks are done."""
        ...

    def paths(self) -> tuple[str, ...]:
        """Return the paths of its bodies."""
        ...

    def tasks(self) -> list[Task[Any]]:
        """Return every task of the group (facts and bodies)."""
        ...

    def fact_tasks(self) -> list[Task[Any]]:
        """Return the tasks whose results the analysis needs."""
        ...

    def complete(self, payload: list[PayloadFile]) -> None:
        """Fill in the payload entries with the facts (waits for the fact tasks)."""
        ...

    def blobs(self, spool: Spool) -> dict[str, Blob]:
        """Return where each body sits in the spool (waits for the body tasks)."""
        ...


class Blobs:
    """The spooled bodies of one package by path; each is waited for when it is asked for.

    :func:`~condawheel.convert.ingest.ingest` returns once every fact the analysis and the
    plan need is gathered, while the last bodies may still be deflating in worker threads
    (or helper processes): the reading thread goes on to analyse and plan with the other
    cores compressing. The writer then asks
    for each body's blob as it copies it; one not done yet is compressed in the
    writer's thread if no worker has started it, or waited for. Only the thread that
    read the package uses this object (the workers never touch it).

    Closing it drops the work not started and waits for the work under way, so that no
    worker writes into the spool after it is closed (close it before the spool).
    """

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._ready: dict[str, Blob] = {}
        self._waiting: dict[str, Group] = {}
        self._groups: deque[Group] = deque()  # what _waiting holds, in archive order
        # Groups whose work may not have started, in archive order (_work_while_waiting).
        self._unclaimed: list[Group] = []
        self._pool: ThreadPoolExecutor | None = None
        self._threads = 0
        self._helpers: DeflateHelpers | None = None
        self._helpers_failed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def workers(self, threads: int) -> ThreadPoolExecutor:
        """Start the worker threads; they live until :meth:`close`, past :func:`ingest`."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="condawheel")
            self._threads = threads
        return self._pool

    def helpers(self) -> DeflateHelpers | None:
        """Start the helper processes (once), or ``None`` where they cannot run.

        One fewer than the worker threads and at least one, at most four: the reading
        thread keeps a core, and a few helpers deflate small bodies faster than one
        thread reads them.
        """
        if self._helpers is None and not self._helpers_failed:
            count = max(1, min(self._threads - 1, _MAX_HELPERS))
            try:
                self._helpers = DeflateHelpers(self.spool.fileno(), self.spool.level, count)
            except (OSError, ValueError, RuntimeError, subprocess.SubprocessError):
                # Not started (no executable, no fork/exec, too many processes...): the
                # worker threads deflate these bodies instead, to the same bytes.
                self._helpers_failed = True
        return self._helpers

    def blob(self, path: str) -> Blob:
        """Return the blob of the body at ``path``, once it is in the spool.

        :raises OSError: (or anything else) if the worker that deflated it failed.
        """
        blob = self._ready.get(path)
        if blob is None:
            group = self._waiting.get(path)
            if group is None:  # a guard: the plan only names spooled bodies
                msg = f"plan names {path!r}, whose body was not kept"
                raise AssertionError(msg)
            self._work_while_waiting(group)
            self._settle(group)
            blob = self._ready[path]
        return blob

    def settle(self) -> None:
        """Wait for every body still under way, raising the first failure of a worker.

        Called before a wheel is published: a body no plan names must not fail unseen.
        """
        while self._groups:
            group = self._groups[0]
            if group.paths()[0] in self._waiting:
                self._settle(group)  # stays queued if it raises
            self._groups.popleft()

    def close(self) -> None:
        """Drop the work not started and wait for the workers (the package is done)."""
        for group in self._waiting.values():
            for task in group.tasks():
                task.cancel()
        self._waiting.clear()
        self._groups.clear()
        self._unclaimed.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._helpers is not None:
            self._helpers.close()
            self._helpers = None

    def add(self, blobs: Mapping[str, Blob]) -> None:
        """Record bodies that are in the spool."""
        self._ready.update(blobs)

    def defer(self, group: Group) -> None:
        """Record bodies whose tasks may still run."""
        for path in group.paths():
            self._waiting[path] = group
        self._groups.append(group)
        self._unclaimed.append(group)

    def _work_while_waiting(self, group: Group) -> None:
        """Take back work not started, newest first, until ``group`` is done.

        The writer asks for bodies in the wheel's order; when the one it needs is still
        being deflated, this thread would idle. It takes the newest work nobody has
        started instead (workers and helper processes take the oldest), so the last
        bodies are shared between them rather than left to one. Each group is looked at
        once: what it leaves has started elsewhere, or it was done here.
        """
        needed = group.tasks()
        while self._unclaimed and not all(task.done() for task in needed):
            newest = self._unclaimed[-1]
            if newest is group:
                return  # _settle takes it back itself if it has not started
            self._unclaimed.pop()
            for task in reversed(newest.tasks()):
                task.steal()

    def _settle(self, group: Group) -> None:
        # The blob of a body not started yet is compressed here (Task.result).
        blobs = group.blobs(self.spool)
        for path in group.paths():
            del self._waiting[path]
        self._ready.update(blobs)


class Task(Generic[_T]):
    """Work handed to the thread pool, which the reading thread may take back.

    When the reading thread needs a result (the archive is read to its end, or too much
    is in flight), waiting idle would waste a core: if no worker has started the task
    yet, the reading thread cancels it and runs it itself. At the end of a package this
    halves the tail of the last large body's blocks.
    """

    def __init__(
        self,
        pool: ThreadPoolExecutor | None,
        function: Callable[..., _T],
        *args: object,
        handed_over: Future[_T] | None = None,
    ) -> None:
        self._function = function
        self._args = args
        self._future: Future[_T] | None = None
        self._value: _T | None = None
        self._ran = False
        self._dropped = False
        # Work already given to a helper process, which ``function(*args)`` repeats: it
        # is taken back as a thread pool's task is, while the future has not started (the
        # batch is not sent yet), and done here if the helper fails (the same bytes; a
        # fault of the spool then shows as it does in a thread).
        self._handed_over = handed_over is not None
        if handed_over is not None:
            self._watch(handed_over)
        elif pool is None:
            self._value, self._ran = function(*args), True
            self._args = ()
        else:
            self._watch(pool.submit(function, *args))

    def _watch(self, future: Future[_T]) -> None:
        self._future = future
        # A finished task lets go of its input (bodies in memory) at once, not when
        # its result is collected: the bodies left to the workers at the end of the
        # read leave memory while the plan is made, not when the writer gets there.
        future.add_done_callback(self._release)

    def _release(self, future: Future[_T]) -> None:
        # Runs when the future finishes or is cancelled; a thread that cancels it to
        # run the work itself took the arguments first. A helper's failure keeps them,
        # to do the work here (result).
        if not self._failed_helper(future):
            self._args = ()

    def _failed_helper(self, future: Future[_T]) -> bool:
        return (
            self._handed_over
            and not future.cancelled()
            and isinstance(future.exception(), HelperFailed)
        )

    def done(self) -> bool:
        """Return whether the result is available without waiting."""
        return self._ran or (self._future is not None and self._future.done())

    def result(self) -> _T:
        """Return the result, running the work here if no worker has started it."""
        if self._dropped:  # a guard: dropped work has no result (its input is gone)
            raise CancelledError
        if not self._ran:
            args = self._args
            future = self._future
            if future is not None and not future.cancel():
                future.exception()  # waits
                if not self._failed_helper(future):
                    return future.result()
            self._value, self._ran = self._function(*args), True
            self._args = ()
        return self._value  # type: ignore[return-value]

    def steal(self) -> None:
        """Run the work in this thread now if no worker has started it yet."""
        if not self._ran and not self._dropped and self._future is not None:
            args = self._args
            if self._future.cancel():
                self._value, self._ran = self._function(*args), True

    def cancel(self) -> None:
        """Drop the work if it has not started (the package failed)."""
        if self._future is not None and self._future.cancel():
            self._dropped = True
