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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, NamedTuple, Protocol

import msgspec

from condawheel.conda.sources import MAX_METADATA_BYTES, metadata_too_large
from condawheel.convert import layout
from condawheel.convert.blobs import Blobs, Group, Task
from condawheel.convert.deflate import (
    BLOCK,
    DEFLATED,
    STORED,
    WINDOW,
    block_bounds,
    crc32,
    deflate_bodies,
    deflate_bound,
    packed_wins,
    worth_deflating,
)
from condawheel.convert.deflater import Placed, placements
from condawheel.convert.spool import Blob, deflate_into, deflate_range_into
from condawheel.errors import InvalidPackage
from condawheel.io.bzip2 import parallel_decoder_available
from condawheel.io.collector import cyclic_gc_paused
from condawheel.io.cpus import usable_cores

if TYPE_CHECKING:
    from collections.abc import Mapping

    from condawheel.binaries import BinaryFacts
    from condawheel.conda.sources import Member, MemberKind, MemberReader, PackageSource
    from condawheel.convert.spool import Spool

__all__ = ["BinaryAnalyzer", "Inventory", "Limits", "PayloadFile", "ingest"]

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
# A package with this many small bodies is a package of many small files: its next
# batches go to helper processes (see .deflater), where deflating a body costs no wait
# for the GIL. Fewer are not worth starting a process (some 20-30 ms of CPU).
_HELPERS_AFTER_BODIES = 1000


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


# A msgspec struct, not a dataclass: one is made per member of a package, and a frozen
# dataclass costs about 1-1.5 us to make where this costs 0.1 (30,000-60,000 members).
class PayloadFile(msgspec.Struct, frozen=True):
    """What the single pass learnt about one payload member."""

    path: str
    kind: MemberKind
    size: int
    mode: int
    sha256: str | None = None
    link_target: str | None = None
    head: bytes = b""
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


_Facts = tuple[str, int, "BinaryFacts | None"]  # sha256, crc32, binary facts
_Placed = Placed  # spool offset, stored length, zip method


@dataclass
class _Pending:
    """A body whose hashing and compression are under way in worker threads."""

    position: int
    path: str
    data: bytes
    facts: Task[_Facts]
    # Each writes one piece of the body into its slot of the spool and returns its size.
    slots: list[int]
    blocks: list[Task[int]]
    deflate: bool

    @property
    def size(self) -> int:
        """The bytes this holds in memory until it is finished."""
        return len(self.data)

    def paths(self) -> tuple[str, ...]:
        """Return the path of the body."""
        return (self.path,)

    def tasks(self) -> list[Task[Any]]:
        """Return the tasks whose results finishing it needs."""
        return [*self.blocks, self.facts]

    def fact_tasks(self) -> list[Task[Any]]:
        """Return the task that hashes and analyses the body."""
        return [self.facts]

    def complete(self, payload: list[PayloadFile]) -> None:
        """Fill in the body's payload entry."""
        digest, _, facts = self.facts.result()
        payload[self.position] = msgspec.structs.replace(
            payload[self.position], sha256=digest, binary=facts
        )

    def blobs(self, spool: Spool) -> dict[str, Blob]:
        """Return the body's blob once its blocks are in the spool."""
        digest, crc, _ = self.facts.result()
        data = self.data
        segments = tuple(zip(self.slots, (b.result() for b in self.blocks), strict=True))
        deflated = self.deflate and packed_wins(sum(n for _, n in segments), len(data))
        if self.deflate and not deflated:
            # Deflate did not pay off after all: store the body (a rare second write).
            slot = spool.reserve(len(data))
            segments = ((slot, spool.write_at(slot, data)),)
        method: Literal[0, 8] = DEFLATED if deflated else STORED
        return {self.path: Blob(segments, len(data), crc, method, digest)}


@dataclass
class _PendingBatch:
    """Small bodies hashed and analysed by one task, and deflated by another.

    Two tasks, so that the facts can be ready (the package read and analysed) while the
    deflate still runs.
    """

    bodies: list[_Small]
    size: int
    facts: Task[list[_Facts]]
    deflate: Task[list[_Placed]] | None  # None without a spool

    def paths(self) -> tuple[str, ...]:
        """Return the paths of the bodies."""
        return tuple(body.path for body in self.bodies)

    def tasks(self) -> list[Task[Any]]:
        """Return the tasks whose results finishing it needs."""
        return [self.facts] if self.deflate is None else [self.deflate, self.facts]

    def fact_tasks(self) -> list[Task[Any]]:
        """Return the task that hashes and analyses the bodies."""
        return [self.facts]

    def complete(self, payload: list[PayloadFile]) -> None:
        """Fill in the bodies' payload entries."""
        for body, (digest, _, facts) in zip(self.bodies, self.facts.result(), strict=True):
            payload[body.position] = PayloadFile(
                body.path, "file", body.size, body.mode, sha256=digest, head=body.head, binary=facts
            )

    def blobs(self, spool: Spool) -> dict[str, Blob]:
        """Return the bodies' blobs once the batch is in the spool."""
        del spool  # the deflate task wrote the batch
        if self.deflate is None:  # a guard: without a spool there are no blobs
            msg = "no spool to hold the bodies"
            raise AssertionError(msg)
        placed = self.deflate.result()
        return {
            body.path: Blob(((offset, length),), body.size, crc, method, digest)
            for body, (digest, crc, _), (offset, length, method) in zip(
                self.bodies, self.facts.result(), placed, strict=True
            )
        }


class _Small(NamedTuple):
    """A small body in a batch: what its payload entry holds besides the facts.

    The entry is made once, when the facts come (a tuple here, not a first entry to
    replace: a package of 30,000 small files made each twice). The body itself is held
    by the batch's tasks only, which let go of it when they are done (see :class:`Task`).
    """

    position: int  # of its placeholder in the payload list
    path: str
    size: int
    mode: int
    head: bytes


# Where a small body's payload entry goes until its batch's facts replace it.
_AWAITING_FACTS = PayloadFile("", "file", 0, 0)


def _batch_facts(bodies: list[bytes], analyzer: BinaryAnalyzer | None) -> list[_Facts]:
    """Hash and analyse a batch of small bodies (runs in a worker thread)."""
    return [_facts(data, analyzer) for data in bodies]


def _batch_deflate(spool: Spool, bodies: list[bytes]) -> list[_Placed]:
    """Deflate a batch of small bodies into the spool, with one write for them all.

    Each body is deflated exactly as a body of its own would be
    (:func:`~condawheel.convert.spool.deflate_bodies`), so batching changes where the
    bytes sit in the spool, never the bytes. Runs in a worker thread.

    :return: each body's spool offset, stored length and zip method.
    """
    joined, placed = deflate_bodies(bodies, spool.level)
    offset = spool.reserve(len(joined))
    spool.write_at(offset, joined)
    return placements(offset, placed)


def _batch_deflate_at(spool: Spool, offset: int, bodies: list[bytes]) -> list[_Placed]:
    """Do here what a helper process was to do: the batch into the room reserved for it."""
    joined, placed = deflate_bodies(bodies, spool.level)
    spool.write_at(offset, joined)
    return placements(offset, placed)


def _facts(data: bytes, analyzer: BinaryAnalyzer | None) -> _Facts:
    """Hash one whole body and analyse it if it is a binary (runs in a worker thread)."""
    facts = None
    if analyzer is not None and analyzer.wants(data[:64]):
        from io import BytesIO  # noqa: PLC0415 - only binaries need a file object

        facts = analyzer.analyze(BytesIO(data))
    return hashlib.sha256(data).hexdigest(), crc32(data), facts


def ingest(
    source: PackageSource,
    *,
    blobs: Blobs | None,
    threads: int = 0,
    limits: Limits | None = None,
    analyzer: BinaryAnalyzer | None = None,
) -> Inventory:
    """Read every member of ``source`` once.

    :param blobs: where compressed bodies are recorded (in its spool); ``None`` only
        gathers facts (``inspect``). Bodies may still be deflating when this returns:
        ``blobs`` waits for each when it is asked for.
    :param threads: worker threads that hash and compress bodies while the archive is
        decompressed in this thread; 0 does everything in this thread.
    :raises InvalidPackage: on corrupt, truncated, hostile or absurd input.
    """
    reader = _Ingest(source, blobs=blobs, limits=limits or Limits(), analyzer=analyzer)
    if threads <= 0:
        return reader.run(None)
    if blobs is not None:
        return reader.run(blobs.workers(threads))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="condawheel") as pool:
        return reader.run(pool)


class _Ingest:
    def __init__(
        self,
        source: PackageSource,
        *,
        blobs: Blobs | None,
        limits: Limits,
        analyzer: BinaryAnalyzer | None,
    ) -> None:
        self.source = source
        self.subject = str(source.location)
        self.blobs = blobs
        self.spool = blobs.spool if blobs is not None else None
        self.limits = limits
        self.analyzer = analyzer
        self.info: dict[str, bytes] = {}
        self.metadata: dict[str, bytes] = {}
        self.payload: list[PayloadFile] = []
        self.seen: set[str] = set()
        self.total = 0
        self.pending: deque[Group] = deque()
        self.in_flight = 0
        self.small: list[_Small] = []
        self.small_data: list[bytes] = []
        self.small_bytes = 0
        self.small_count = 0  # small bodies read so far
        self.pool: ThreadPoolExecutor | None = None

    # Reading a package of 30,000 small files makes several objects per member that
    # live on (payload entries, paths, small bodies waiting for their batch); the
    # collector's passes over them cost more than parsing the headers. Nothing made
    # here is freed only by the collector but a few task/future pairs.
    @cyclic_gc_paused()
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
            self._submit_batch()
            # The facts are all the analysis needs: wait for them (taking over the
            # fact tasks no worker has started) and leave the bodies to the workers.
            self._help(facts_only=True)
            for pending in self.pending:
                pending.complete(self.payload)
            if any(entry is _AWAITING_FACTS for entry in self.payload):  # a guard
                msg = "a small body's payload entry was never completed"
                raise AssertionError(msg)
            if self.blobs is not None:
                for pending in self.pending:
                    self.blobs.defer(pending)
            self.pending.clear()
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
            self._drain(all_pending=True)  # memory: a streamed body has its own bound
            entry, blob = self._stream_large(member, body, pool, head_wanted=head_wanted)
            self.payload.append(entry)
            if self.blobs is not None and blob is not None:
                self.blobs.add({member.path: blob})
            return
        data = self._read_exactly(member, body)
        if metadata:
            self.metadata[member.path] = data
        head = data[:_HEAD_SIZE] if head_wanted else b""
        if len(data) <= _SMALL_BODY:
            self.small.append(
                _Small(len(self.payload), member.path, member.size, member.mode, head)
            )
            self.payload.append(_AWAITING_FACTS)
            self.small_data.append(data)
            self.small_bytes += len(data)
            if self.small_bytes >= _BATCH_BYTES or len(self.small) >= _BATCH_COUNT:
                self._submit_batch()
            return
        self.payload.append(PayloadFile(member.path, "file", member.size, member.mode, head=head))
        self._submit_batch()  # results land in the spool index in archive order
        spool = self.spool
        deflate = spool is not None and worth_deflating(data, whole=True)
        slots: list[int] = []
        blocks: list[Task[int]] = []
        if spool is not None and deflate:
            # Blocks of one body compress in parallel, each written by its worker into
            # a slot reserved for it: a package that is one large library (libstdc++,
            # libcrypto) still uses every core, and this thread writes nothing.
            for start, end in block_bounds(len(data)):
                slots.append(spool.reserve(deflate_bound(end - start)))
                blocks.append(
                    Task(pool, deflate_range_into, spool, slots[-1], data, start, end, spool.level)
                )
        elif spool is not None:
            slots.append(spool.reserve(len(data)))
            blocks.append(Task(pool, spool.write_at, slots[-1], data))
        self.pending.append(
            _Pending(
                len(self.payload) - 1,
                member.path,
                data,
                Task(pool, _facts, data, self.analyzer),
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
        bodies, datas, size = self.small, self.small_data, self.small_bytes
        self.small, self.small_data, self.small_bytes = [], [], 0
        facts = Task(self.pool, _batch_facts, datas, self.analyzer)
        self.small_count += len(datas)
        deflate = self._deflate_batch(datas)
        self.pending.append(_PendingBatch(bodies, size, facts, deflate))
        self.in_flight += size
        self._drain(_IN_FLIGHT_BYTES)

    def _deflate_batch(self, bodies: list[bytes]) -> Task[list[_Placed]] | None:
        spool, blobs = self.spool, self.blobs
        if spool is None or blobs is None:
            return None
        helpers = None
        if self.pool is not None and self.small_count >= _HELPERS_AFTER_BODIES:
            helpers = blobs.helpers()
        if helpers is None or helpers.failed:
            return Task(self.pool, _batch_deflate, spool, bodies)
        offset = spool.reserve(sum(deflate_bound(len(body)) for body in bodies))
        return Task(
            None,
            _batch_deflate_at,
            spool,
            offset,
            bodies,
            handed_over=helpers.submit(offset, bodies),
        )

    def _drain(self, limit: int = 0, *, all_pending: bool = False) -> None:
        # Finished groups leave memory; this thread records their facts and blobs.
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
            pending.complete(self.payload)
            if self.blobs is not None:
                self.blobs.add(pending.blobs(self.blobs.spool))

    def _help(self, *, facts_only: bool = False) -> None:
        """Work instead of waiting: run queued tasks from the back while workers take the front.

        Taking the newest tasks means the reading thread and the workers rarely want the
        same one, so the tail of a package (often one large body's blocks) is split
        between them instead of falling to one worker.

        :param facts_only: take only the tasks the analysis waits for (the end of the
            archive), leaving the deflating to the workers.
        """
        for pending in reversed(self.pending):
            tasks = pending.fact_tasks() if facts_only else pending.tasks()
            for task in reversed(tasks):
                task.steal()

    def _stream_large(
        self,
        member: Member,
        body: MemberReader,
        pool: ThreadPoolExecutor | None,
        *,
        head_wanted: bool,
    ) -> tuple[PayloadFile, Blob | None]:
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
        in_flight: deque[tuple[int, Task[int]]] = deque()
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
                    task = Task(
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
        entry = PayloadFile(
            member.path,
            "file",
            member.size,
            member.mode,
            sha256=digest.hexdigest(),
            head=first[:_HEAD_SIZE] if head_wanted else b"",
            binary=facts,
        )
        return entry, blob


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
