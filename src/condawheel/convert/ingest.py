"""Read a package once: ``info/`` files, payload facts, and compressed bodies in a spool.

Everything the analysis and the plan need from the payload is gathered in this single pass
(hashes, sizes, modes, link targets, script heads, binary facts, the embedded dist-info),
so that the archive is decompressed exactly once whatever the package format. The plan
then decides; the writer copies compressed bodies from the spool.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Literal, Protocol, TypeVar

from condawheel.conda.sources import MAX_METADATA_BYTES, metadata_too_large
from condawheel.convert import layout
from condawheel.convert.spool import (
    BLOCK,
    DEFLATED,
    STORED,
    WINDOW,
    Blob,
    block_bounds,
    crc32,
    deflate_bound,
    deflate_into,
    deflate_range,
    deflate_range_into,
    packed_wins,
    worth_deflating,
)
from condawheel.errors import InvalidPackage
from condawheel.io.bzip2 import parallel_decoder_available
from condawheel.io.cpus import usable_cores

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from condawheel.binaries import BinaryFacts
    from condawheel.conda.sources import Member, MemberKind, MemberReader, PackageSource
    from condawheel.convert.spool import Spool

__all__ = ["BinaryAnalyzer", "Inventory", "Limits", "PayloadFile", "ingest"]

_T = TypeVar("_T")

# The info/ files the analysis reads; the rest (recipe/, test/, ...) is never decompressed
# into memory.
_WANTED_INFO = frozenset(
    {
        "index.json",
        "paths.json",
        "files",
        "has_prefix",
        "no_link",
        "link.json",
        "about.json",
        "run_exports.json",
        "repodata_record.json",
    }
)
_HEAD_SIZE = 4096
_IN_FLIGHT_BYTES = 64 << 20
_WHOLE_BODY_LIMIT = 8 << 20  # larger bodies stream chunk by chunk in the reading thread
# Bodies up to this size are hashed, analysed and deflated in batches: one worker task
# and one spool write per batch of about _BATCH_BYTES (or _BATCH_COUNT bodies). Handing
# each small body to the pool on its own cost more than compressing it (a package of
# 30,000 small files spent longer on futures and their locks than on deflate).
_SMALL_BODY = 256 << 10
_BATCH_BYTES = 1 << 20
_BATCH_COUNT = 256


@dataclass(frozen=True)
class Limits:
    """Sizes beyond which a package is refused as absurd (zip bombs, hostile headers)."""

    max_file_size: int = 16 << 30
    max_total_size: int = 64 << 30
    max_members: int = 2_000_000
    max_metadata_file: int = MAX_METADATA_BYTES


class BinaryAnalyzer(Protocol):
    """Extracts linkage facts from binaries (ELF, Mach-O, PE) while they stream past."""

    def wants(self, head: bytes) -> bool:
        """Return whether a body starting with ``head`` is a binary worth analysing."""
        ...

    def analyze(self, data: BinaryIO) -> BinaryFacts | None:
        """Return the facts of one binary, or ``None`` if it is not one after all."""
        ...


@dataclass(frozen=True)
class PayloadFile:
    """What the single pass learnt about one payload member."""

    path: str
    kind: MemberKind
    size: int
    mode: int
    sha256: str | None = None
    link_target: str | None = None
    head: bytes = b""
    blob: Blob | None = None
    binary: BinaryFacts | None = None
    never_shipped: str | None = None


@dataclass(frozen=True)
class Inventory:
    """The outcome of reading one package: its ``info/`` files and its payload facts."""

    info_files: Mapping[str, bytes]
    payload: tuple[PayloadFile, ...]
    metadata_files: Mapping[str, bytes] = field(default_factory=dict)

    def by_path(self) -> dict[str, PayloadFile]:
        """Index the payload by path."""
        return {item.path: item for item in self.payload}


@dataclass
class _Pending:
    """A body whose hashing and compression are under way in worker threads."""

    position: int
    data: bytes
    facts: _Task[tuple[str, int, BinaryFacts | None]]
    # Each writes one piece of the body into its slot of the spool and returns its size.
    slots: list[int]
    blocks: list[_Task[int]]
    deflate: bool

    @property
    def size(self) -> int:
        """The bytes this holds in memory until it is finished."""
        return len(self.data)

    def tasks(self) -> list[_Task[Any]]:
        """Return the tasks whose results finishing it needs."""
        return [*self.blocks, self.facts]


@dataclass
class _PendingBatch:
    """Small bodies hashed, analysed and compressed together by one task."""

    bodies: list[_Small]
    size: int
    task: _Task[list[tuple[_SmallDone, int]]]

    def tasks(self) -> list[_Task[Any]]:
        """Return the tasks whose results finishing it needs."""
        return [self.task]


@dataclass(frozen=True)
class _Small:
    """A small body waiting in a batch, and the payload entry it will complete."""

    position: int
    entry: PayloadFile
    data: bytes


@dataclass(frozen=True)
class _SmallDone:
    """A batched body once hashed, analysed and (maybe) deflated."""

    sha256: str
    crc32: int
    facts: BinaryFacts | None
    stored: bytes  # what the spool holds: the deflated body or the body itself
    method: Literal[0, 8]


def _batch(
    spool: Spool | None, bodies: list[_Small], analyzer: BinaryAnalyzer | None
) -> list[tuple[_SmallDone, int]]:
    """Hash, analyse and deflate a batch of small bodies; one spool write for them all.

    Each body is deflated exactly as a body of its own would be (one block, no
    dictionary, :func:`~condawheel.convert.spool.deflate_range`), so batching changes where the
    bytes sit in the spool, never the bytes. Runs in a worker thread.

    :return: each body's result and the spool offset of its stored bytes (-1 without a
        spool).
    """
    done = []
    for body in bodies:
        data = body.data
        digest, crc, facts = _facts(data, analyzer)
        stored: bytes = data
        method: Literal[0, 8] = STORED
        if spool is not None and worth_deflating(data, whole=True):
            packed = deflate_range(data, 0, len(data), spool.level)
            if packed_wins(len(packed), len(data)):
                stored, method = packed, DEFLATED
        done.append(_SmallDone(digest, crc, facts, stored, method))
    if spool is None:
        return [(result, -1) for result in done]
    joined = b"".join(result.stored for result in done)
    offset = spool.reserve(len(joined))
    spool.write_at(offset, joined)
    placed = []
    for result in done:
        placed.append((result, offset))
        offset += len(result.stored)
    return placed


def _facts(data: bytes, analyzer: BinaryAnalyzer | None) -> tuple[str, int, BinaryFacts | None]:
    """Hash one whole body and analyse it if it is a binary (runs in a worker thread)."""
    facts = None
    if analyzer is not None and analyzer.wants(data[:64]):
        from io import BytesIO  # noqa: PLC0415 - only binaries need a file object

        facts = analyzer.analyze(BytesIO(data))
    return hashlib.sha256(data).hexdigest(), crc32(data), facts


class _Task(Generic[_T]):
    """Work handed to the thread pool, which the reading thread may take back.

    When the reading thread needs a result (the archive is read to its end, or too much
    is in flight), waiting idle would waste a core: if no worker has started the task
    yet, the reading thread cancels it and runs it itself. At the end of a package this
    halves the tail of the last large body's blocks.
    """

    def __init__(
        self, pool: ThreadPoolExecutor | None, function: Callable[..., _T], *args: object
    ) -> None:
        self._function = function
        self._args = args
        self._future: Future[_T] | None = None
        self._value: _T | None = None
        self._ran = False
        if pool is None:
            self._value, self._ran = function(*args), True
        else:
            self._future = pool.submit(function, *args)

    def done(self) -> bool:
        """Return whether the result is available without waiting."""
        return self._ran or (self._future is not None and self._future.done())

    def result(self) -> _T:
        """Return the result, running the work here if no worker has started it."""
        if not self._ran:
            if self._future is not None and not self._future.cancel():
                return self._future.result()
            self._value, self._ran = self._function(*self._args), True
        return self._value  # type: ignore[return-value]

    def steal(self) -> None:
        """Run the work in this thread now if no worker has started it yet."""
        if not self._ran and self._future is not None and self._future.cancel():
            self._value, self._ran = self._function(*self._args), True

    def cancel(self) -> None:
        """Drop the work if it has not started (the package failed)."""
        if self._future is not None:
            self._future.cancel()


def ingest(
    source: PackageSource,
    *,
    spool: Spool | None,
    threads: int = 0,
    limits: Limits | None = None,
    analyzer: BinaryAnalyzer | None = None,
) -> Inventory:
    """Read every member of ``source`` once.

    :param spool: where compressed bodies go; ``None`` only gathers facts (``inspect``).
    :param threads: worker threads that hash and compress bodies while the archive is
        decompressed in this thread; 0 does everything in this thread.
    :raises InvalidPackage: on corrupt, truncated, hostile or absurd input.
    """
    reader = _Ingest(source, spool=spool, limits=limits or Limits(), analyzer=analyzer)
    if threads > 0:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="condawheel") as pool:
            return reader.run(pool)
    return reader.run(None)


class _Ingest:
    def __init__(
        self,
        source: PackageSource,
        *,
        spool: Spool | None,
        limits: Limits,
        analyzer: BinaryAnalyzer | None,
    ) -> None:
        self.source = source
        self.subject = str(source.location)
        self.spool = spool
        self.limits = limits
        self.analyzer = analyzer
        self.info: dict[str, bytes] = {}
        self.metadata: dict[str, bytes] = {}
        self.payload: list[PayloadFile] = []
        self.seen: set[str] = set()
        self.total = 0
        self.pending: deque[_Pending | _PendingBatch] = deque()
        self.in_flight = 0
        self.small: list[_Small] = []
        self.small_bytes = 0
        self.pool: ThreadPoolExecutor | None = None

    def run(self, pool: ThreadPoolExecutor | None) -> Inventory:
        self.pool = pool
        members = self.source.members()
        try:
            for count, (member, body) in enumerate(members, start=1):
                if count > self.limits.max_members:
                    raise InvalidPackage(
                        self.subject, f"more than {self.limits.max_members} members (absurd)"
                    )
                self._member(member, body, pool)
            self._drain(all_pending=True)
        finally:
            close = getattr(members, "close", None)
            if close is not None:
                close()
            for pending in self.pending:
                for task in pending.tasks():
                    task.cancel()
        return Inventory(
            info_files=dict(self.info),
            payload=tuple(self.payload),
            metadata_files=dict(self.metadata),
        )

    def _member(
        self, member: Member, body: MemberReader | None, pool: ThreadPoolExecutor | None
    ) -> None:
        if member.path in self.seen and member.kind != "directory":
            raise InvalidPackage(self.subject, f"archive member {member.path!r} appears twice")
        self.seen.add(member.path)
        if member.path == "info" or member.path.startswith("info/"):
            self._info(member, body)
            return
        if member.kind != "file" or body is None:
            self.payload.append(
                PayloadFile(
                    member.path, member.kind, 0, member.mode, link_target=member.link_target
                )
            )
            return
        if member.size > self.limits.max_file_size:
            raise InvalidPackage(
                self.subject,
                f"member {member.path!r} claims {member.size} bytes, above the "
                f"{self.limits.max_file_size}-byte limit",
            )
        self.total += member.size
        if self.total > self.limits.max_total_size:
            raise InvalidPackage(
                self.subject,
                f"payload exceeds {self.limits.max_total_size} bytes (absurd size)",
            )
        skip = layout.never_shipped(member.path)
        if skip is not None:
            self.payload.append(
                PayloadFile(member.path, "file", member.size, member.mode, never_shipped=skip)
            )
            return
        self._body(member, body, pool)

    def _info(self, member: Member, body: MemberReader | None) -> None:
        name = member.path.removeprefix("info/")
        wanted = name in _WANTED_INFO or name.startswith("licenses/")
        if member.kind != "file" or body is None or not wanted:
            return
        limit = self.limits.max_metadata_file
        if member.size > limit:
            raise InvalidPackage(self.subject, metadata_too_large(member.path, limit, member.size))
        self.info[name] = self._read_exactly(member, body)

    def _read_exactly(self, member: Member, body: MemberReader) -> bytes:
        # One byte more than the member claims, never everything: a file of an extracted
        # package may have grown since it was listed.
        data = body.read(member.size + 1)
        if len(data) != member.size:
            raise InvalidPackage(
                self.subject,
                f"truncated archive: {member.path!r} holds {len(data)} of {member.size} bytes",
            )
        return data

    def _body(self, member: Member, body: MemberReader, pool: ThreadPoolExecutor | None) -> None:
        head_wanted = layout.wants_head(member.path)
        metadata = layout.is_metadata_candidate(member.path)
        if metadata and member.size > self.limits.max_metadata_file:
            raise InvalidPackage(
                self.subject,
                metadata_too_large(member.path, self.limits.max_metadata_file, member.size),
            )
        if member.size > _WHOLE_BODY_LIMIT:
            self._drain(all_pending=True)  # a streamed body is written contiguously
            self.payload.append(self._stream_large(member, body, pool, head_wanted=head_wanted))
            return
        data = self._read_exactly(member, body)
        if metadata:
            self.metadata[member.path] = data
        entry = PayloadFile(
            member.path,
            "file",
            member.size,
            member.mode,
            head=data[:_HEAD_SIZE] if head_wanted else b"",
        )
        self.payload.append(entry)
        if len(data) <= _SMALL_BODY:
            self.small.append(_Small(len(self.payload) - 1, entry, data))
            self.small_bytes += len(data)
            if self.small_bytes >= _BATCH_BYTES or len(self.small) >= _BATCH_COUNT:
                self._submit_batch()
            return
        self._submit_batch()  # results land in the spool index in archive order
        spool = self.spool
        deflate = spool is not None and worth_deflating(data, whole=True)
        slots: list[int] = []
        blocks: list[_Task[int]] = []
        if spool is not None and deflate:
            # Blocks of one body compress in parallel, each written by its worker into
            # a slot reserved for it: a package that is one large library (libstdc++,
            # libcrypto) still uses every core, and this thread writes nothing.
            for start, end in block_bounds(len(data)):
                slots.append(spool.reserve(deflate_bound(end - start)))
                blocks.append(
                    _Task(pool, deflate_range_into, spool, slots[-1], data, start, end, spool.level)
                )
        elif spool is not None:
            slots.append(spool.reserve(len(data)))
            blocks.append(_Task(pool, spool.write_at, slots[-1], data))
        self.pending.append(
            _Pending(
                len(self.payload) - 1,
                data,
                _Task(pool, _facts, data, self.analyzer),
                slots,
                blocks,
                deflate,
            )
        )
        self.in_flight += len(data)
        self._drain(_IN_FLIGHT_BYTES)

    def _submit_batch(self) -> None:
        """Hand the small bodies gathered so far to a worker, as one task."""
        if not self.small:
            return
        bodies, size = self.small, self.small_bytes
        self.small, self.small_bytes = [], 0
        task = _Task(self.pool, _batch, self.spool, bodies, self.analyzer)
        self.pending.append(_PendingBatch(bodies, size, task))
        self.in_flight += size
        self._drain(_IN_FLIGHT_BYTES)

    def _drain(self, limit: int = 0, *, all_pending: bool = False) -> None:
        # Results are appended to the spool in submission order, by this thread only.
        if all_pending:
            self._submit_batch()
        if all_pending or self.in_flight > limit:
            self._help()
        while self.pending and (
            all_pending
            or self.in_flight > limit
            or all(task.done() for task in self.pending[0].tasks())
        ):
            pending = self.pending.popleft()
            self.in_flight -= pending.size
            if isinstance(pending, _PendingBatch):
                self._finish_batch(pending)
            else:
                self._finish(pending)

    def _help(self) -> None:
        """Work instead of waiting: run queued tasks from the back while workers take the front.

        Taking the newest tasks means the reading thread and the workers rarely want the
        same one, so the tail of a package (often one large body's blocks) is split
        between them instead of falling to one worker.
        """
        for pending in reversed(self.pending):
            for task in reversed(pending.tasks()):
                task.steal()

    def _finish_batch(self, pending: _PendingBatch) -> None:
        spool = self.spool
        for body, (done, offset) in zip(pending.bodies, pending.task.result(), strict=True):
            blob = None
            if spool is not None:
                segments = ((offset, len(done.stored)),)
                blob = Blob(segments, len(body.data), done.crc32, done.method, done.sha256)
            entry = body.entry
            self.payload[body.position] = PayloadFile(
                entry.path,
                entry.kind,
                entry.size,
                entry.mode,
                sha256=done.sha256,
                head=entry.head,
                blob=blob,
                binary=done.facts,
            )

    def _finish(self, pending: _Pending) -> None:
        digest, crc, facts = pending.facts.result()
        blob = None
        spool = self.spool
        if spool is not None:
            data = pending.data
            segments = tuple(zip(pending.slots, (b.result() for b in pending.blocks), strict=True))
            deflated = pending.deflate and packed_wins(sum(n for _, n in segments), len(data))
            if pending.deflate and not deflated:
                # Deflate did not pay off after all: store the body (a rare second write).
                slot = spool.reserve(len(data))
                segments = ((slot, spool.write_at(slot, data)),)
            method: Literal[0, 8] = DEFLATED if deflated else STORED
            blob = Blob(segments, len(data), crc, method, digest)
        self.payload[pending.position] = replace(
            self.payload[pending.position], sha256=digest, blob=blob, binary=facts
        )

    def _stream_large(
        self,
        member: Member,
        body: MemberReader,
        pool: ThreadPoolExecutor | None,
        *,
        head_wanted: bool,
    ) -> PayloadFile:
        """Hash and deflate a body too large for memory, block by block, in parallel."""
        reader = _Counted(body, member.size)
        first = reader.read(BLOCK)
        binary = self.analyzer is not None and self.analyzer.wants(first[:64])
        tee = tempfile.TemporaryFile(prefix=".condawheel-binary-") if binary else None  # noqa: SIM115
        digest = hashlib.sha256()
        crc = 0
        spool = self.spool
        deflate = spool is not None and worth_deflating(first, whole=False)
        # Stored bodies go into one slot; deflated ones into one slot per block.
        stored_at = spool.reserve(member.size) if spool is not None and not deflate else None
        segments: list[tuple[int, int]] = []
        in_flight: deque[tuple[int, _Task[int]]] = deque()
        try:
            chunk, window, position = first, b"", 0
            while chunk:
                digest.update(chunk)
                crc = crc32(chunk, crc)
                if tee is not None:
                    tee.write(chunk)
                following = reader.read(BLOCK) if reader.left else b""
                if spool is not None and deflate:
                    slot = spool.reserve(deflate_bound(len(chunk)))
                    task = _Task(
                        pool, _deflate_into, spool, slot, chunk, window, spool.level, not following
                    )
                    in_flight.append((slot, task))
                    window = chunk[-WINDOW:]
                    while len(in_flight) * BLOCK > _IN_FLIGHT_BYTES:
                        slot, task = in_flight.popleft()
                        segments.append((slot, task.result()))
                elif spool is not None and stored_at is not None:
                    spool.write_at(stored_at + position, chunk)
                position += len(chunk)
                chunk = following
            while in_flight:
                slot, task = in_flight.popleft()
                segments.append((slot, task.result()))
            if reader.left:
                raise InvalidPackage(
                    self.subject,
                    f"truncated archive: {member.path!r} ended {reader.left} bytes early",
                )
            facts = None
            if tee is not None and self.analyzer is not None:
                tee.seek(0)
                facts = self.analyzer.analyze(tee)
        except EOFError:
            raise InvalidPackage(
                self.subject, f"truncated archive: {member.path!r} ended early"
            ) from None
        finally:
            for _, task in in_flight:
                task.cancel()
            if tee is not None:
                tee.close()
        blob = None
        if spool is not None:
            if stored_at is not None:
                segments = [(stored_at, member.size)]
            blob = Blob(
                tuple(segments),
                member.size,
                crc,
                DEFLATED if deflate else STORED,
                digest.hexdigest(),
            )
        return PayloadFile(
            member.path,
            "file",
            member.size,
            member.mode,
            sha256=digest.hexdigest(),
            head=first[:_HEAD_SIZE] if head_wanted else b"",
            blob=blob,
            binary=facts,
        )


def _deflate_into(
    spool: Spool,
    slot: int,
    block: bytes,
    window: bytes,
    level: int,
    final: bool,  # noqa: FBT001
) -> int:
    return deflate_into(spool, slot, block, window, level, final=final)


class _Counted:
    """Reads at most ``left`` more bytes from a body, and remembers how many are missing."""

    def __init__(self, body: MemberReader, left: int) -> None:
        self.body = body
        self.left = left

    def read(self, size: int = -1, /) -> bytes:
        if self.left <= 0:
            return b""
        want = self.left if size < 0 else min(size, self.left)
        data = self.body.read(want)
        self.left -= len(data)
        return data


def default_threads() -> int:
    """Return the number of usable cores (the default for worker threads and processes)."""
    return usable_cores()


def default_workers(package_format: str) -> int:
    """Return how many threads should hash and compress bodies for a package format.

    A ``.tar.bz2`` is decoded by indexed_bzip2's threads on every core, so its blocks no
    longer keep one core to themselves; where that decoder is missing, the reading
    thread decompresses the one stream at a full core's pace and one core is left to it.
    ``.conda`` (zstd) and directories are cheap to read: every core compresses.
    """
    cores = default_threads()
    if package_format == "tar.bz2" and not parallel_decoder_available():
        return max(1, cores - 1)  # pragma: no cover - indexed_bzip2 is a dependency
    return cores
