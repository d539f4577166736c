"""Read a package once: ``info/`` files, payload facts, and compressed bodies in a spool.

Everything the planner needs from the payload is gathered in this single pass (hashes,
sizes, modes, link targets, script heads, binary facts, the embedded dist-info), so that
the archive is decompressed exactly once whatever the package format. The planner then
decides; the writer copies compressed bodies from the spool.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO, Protocol

from condawheel import layout
from condawheel.errors import InvalidPackage
from condawheel.spool import CHUNK, compress_body

if TYPE_CHECKING:
    from collections.abc import Mapping

    from condawheel.binaries import BinaryFacts
    from condawheel.sources import Member, MemberKind, MemberReader, PackageSource
    from condawheel.spool import Blob, CompressedBody, Spool

__all__ = ["BinaryAnalyzer", "Inventory", "Limits", "PayloadFile", "ingest"]

# The info/ files the planner reads; the rest (recipe/, test/, ...) is never decompressed
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


@dataclass(frozen=True)
class Limits:
    """Sizes beyond which a package is refused as absurd (zip bombs, hostile headers)."""

    max_file_size: int = 16 << 30
    max_total_size: int = 64 << 30
    max_members: int = 2_000_000
    max_metadata_file: int = 64 << 20


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
    position: int
    size: int
    future: Future[tuple[CompressedBody | None, str, BinaryFacts | None]]


def _process_body(
    data: bytes, level: int | None, analyzer: BinaryAnalyzer | None
) -> tuple[CompressedBody | None, str, BinaryFacts | None]:
    """Hash, compress and analyse one whole body (runs in a worker thread)."""
    facts = None
    if analyzer is not None and analyzer.wants(data[:64]):
        from io import BytesIO  # noqa: PLC0415 - only binaries need a file object

        facts = analyzer.analyze(BytesIO(data))
    if level is None:
        return None, hashlib.sha256(data).hexdigest(), facts
    body = compress_body(data, level)
    return body, body.sha256, facts


def ingest(
    source: PackageSource,
    *,
    spool: Spool | None,
    threads: int = 1,
    limits: Limits | None = None,
    analyzer: BinaryAnalyzer | None = None,
) -> Inventory:
    """Read every member of ``source`` once.

    :param spool: where compressed bodies go; ``None`` only gathers facts (``inspect``).
    :param threads: worker threads that hash and compress bodies while the archive is
        decompressed in this thread.
    :raises InvalidPackage: on corrupt, truncated, hostile or absurd input.
    """
    reader = _Ingest(source, spool=spool, limits=limits or Limits(), analyzer=analyzer)
    if threads > 1:
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
        self.pending: deque[_Pending] = deque()
        self.in_flight = 0

    def run(self, pool: ThreadPoolExecutor | None) -> Inventory:
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
                pending.future.cancel()
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
        if member.size > self.limits.max_metadata_file:
            raise InvalidPackage(
                self.subject, f"{member.path!r} is {member.size} bytes (absurd for metadata)"
            )
        self.info[name] = self._read_exactly(member, body)

    def _read_exactly(self, member: Member, body: MemberReader) -> bytes:
        data = body.read()
        if len(data) != member.size:
            raise InvalidPackage(
                self.subject,
                f"truncated archive: {member.path!r} holds {len(data)} of {member.size} bytes",
            )
        return data

    def _body(self, member: Member, body: MemberReader, pool: ThreadPoolExecutor | None) -> None:
        position = len(self.payload)
        head_wanted = layout.wants_head(member.path)
        if (
            layout.is_metadata_candidate(member.path)
            and member.size > self.limits.max_metadata_file
        ):
            raise InvalidPackage(
                self.subject, f"{member.path!r} is {member.size} bytes (absurd for metadata)"
            )
        if member.size > _WHOLE_BODY_LIMIT:
            self.payload.append(self._stream_large(member, body, head_wanted=head_wanted))
            return
        data = self._read_exactly(member, body)
        if layout.is_metadata_candidate(member.path):
            self.metadata[member.path] = data
        self.payload.append(
            PayloadFile(
                member.path,
                "file",
                member.size,
                member.mode,
                head=data[:_HEAD_SIZE] if head_wanted else b"",
            )
        )
        level = None if self.spool is None else self.spool.level
        if pool is None:
            self._finish(position, _process_body(data, level, self.analyzer))
            return
        future = pool.submit(_process_body, data, level, self.analyzer)
        self.pending.append(_Pending(position, len(data), future))
        self.in_flight += len(data)
        self._drain(_IN_FLIGHT_BYTES)

    def _drain(self, limit: int = 0, *, all_pending: bool = False) -> None:
        # Results are appended to the spool in submission order, by this thread only.
        while self.pending and (
            all_pending or self.in_flight > limit or self.pending[0].future.done()
        ):
            pending = self.pending.popleft()
            self.in_flight -= pending.size
            self._finish(pending.position, pending.future.result())

    def _finish(
        self,
        position: int,
        result: tuple[CompressedBody | None, str, BinaryFacts | None],
    ) -> None:
        body, digest, facts = result
        blob = None if body is None or self.spool is None else self.spool.append(body)
        self.payload[position] = replace(
            self.payload[position], sha256=digest, blob=blob, binary=facts
        )

    def _stream_large(
        self, member: Member, body: MemberReader, *, head_wanted: bool
    ) -> PayloadFile:
        first = body.read(min(CHUNK, member.size))
        remaining = _Counted(body, member.size - len(first))
        binary = self.analyzer is not None and self.analyzer.wants(first[:64])
        tee = tempfile.TemporaryFile(prefix=".condawheel-binary-") if binary else None  # noqa: SIM115
        source: MemberReader = remaining if tee is None else _Tee(remaining, tee)
        if tee is not None:
            tee.write(first)
        try:
            if self.spool is not None:
                blob, _ = self.spool.append_stream(first, source, member.size)
                digest: str | None = blob.sha256
            else:
                blob, digest = None, _hash_stream(first, source)
            if remaining.left:
                raise InvalidPackage(
                    self.subject,
                    f"truncated archive: {member.path!r} ended {remaining.left} bytes early",
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
            if tee is not None:
                tee.close()
        return PayloadFile(
            member.path,
            "file",
            member.size,
            member.mode,
            sha256=digest,
            head=first[:_HEAD_SIZE] if head_wanted else b"",
            blob=blob,
            binary=facts,
        )


def _hash_stream(first: bytes, rest: MemberReader) -> str:
    digest = hashlib.sha256(first)
    while chunk := rest.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


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


class _Tee:
    """A body reader that also copies what it reads into a file (for binary analysis)."""

    def __init__(self, body: MemberReader, copy: BinaryIO) -> None:
        self.body = body
        self.copy = copy

    def read(self, size: int = -1, /) -> bytes:
        data = self.body.read(size)
        self.copy.write(data)
        return data


def default_threads() -> int:
    """Return how many worker threads compress bodies by default (the usable cores)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
