"""Write a :class:`WheelPlan` to disk: deterministic, hashed, atomic, never clobbering.

The writer executes the plan and makes no decisions: entries in the plan's order, bodies
copied compressed from the spool, RECORD (PEP 376 / PEP 427: sha256, urlsafe base64
without padding) computed from what was written and placed last. The wheel is written to a
temporary file in the output directory and linked into place only when complete; an
existing file with the same name is never replaced by different bytes.
"""

from __future__ import annotations

import csv
import errno
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Literal

from condawheel.convert.plan import FromPayload, Generated, RewrittenScript
from condawheel.convert.spool import compress_body
from condawheel.convert.zipwriter import ZipWriter
from condawheel.errors import WheelExistsError
from condawheel.io.collector import cyclic_gc_paused
from condawheel.io.digests import hash_file, record_hash
from condawheel.io.files import link_new, temporary_path

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from condawheel.convert.blobs import Blobs
    from condawheel.convert.plan import WheelEntry, WheelPlan
    from condawheel.convert.spool import Blob, Spool

__all__ = ["WriteResult", "add_bytes", "publish", "record_text", "replace_damaged", "write_wheel"]

_EXECUTABLE = 0o755
_REGULAR = 0o644
_BUFFER = 1 << 20


@dataclass(frozen=True)
class WriteResult:
    """Where the wheel is, and whether this call wrote it or found it already there."""

    path: Path
    status: Literal["written", "unchanged"]
    sha256: str
    size: int


@cyclic_gc_paused()
def write_wheel(
    plan: WheelPlan,
    *,
    blobs: Blobs,
    out_dir: Path,
    level: int = 6,
) -> WriteResult:
    """Write ``plan`` into ``out_dir`` and return where it landed.

    :param blobs: the compressed bodies gathered while reading the package, by path.
    :param level: the zlib level for bodies the plan generated or rewrote.
    :raises WheelExistsError: if a different wheel of the same name is already there.
    """
    # No fsync: the link makes the wheel appear whole or not at all to readers and after
    # a killed process; surviving power loss is the file system's business (as for pip
    # and conda), and an fsync per wheel would cost more than compressing it.
    with temporary_path(out_dir) as temp:
        # A large buffer: most entries are small, written through it (Spool.copy_into).
        with temp.open("xb", buffering=_BUFFER) as out:
            _write_zip(plan, blobs, out, level)
        # Every body of the package, not only this wheel's, is spooled without error
        # before a wheel appears (a worker's failure fails the package).
        blobs.settle()
        return publish(temp, out_dir / plan.filename)


def _write_zip(plan: WheelPlan, blobs: Blobs, out: BinaryIO, level: int) -> None:
    archive = ZipWriter(out)
    records = [_add_entry(archive, entry, plan, blobs, level) for entry in plan.entries]
    add_bytes(
        archive,
        plan.record_path,
        record_text([*records, (plan.record_path, "", "")]).encode("utf-8"),
        date_time=plan.date_time,
        mode=_REGULAR,
        level=level,
    )
    archive.close()


def _add_entry(
    archive: ZipWriter,
    entry: WheelEntry,
    plan: WheelPlan,
    blobs: Blobs,
    level: int,
) -> tuple[str, str, str]:
    mode = _EXECUTABLE if entry.executable else _REGULAR
    source = entry.source
    if isinstance(source, Generated):
        return add_bytes(
            archive, entry.arcname, source.data, date_time=plan.date_time, mode=mode, level=level
        )
    # Waits for the body if a worker is still deflating it (see Blobs).
    blob = blobs.blob(source.path)
    spool = blobs.spool
    if isinstance(source, RewrittenScript):
        body = spool.read(blob)
        rewritten = source.new_first_line + body[source.first_line_length :]
        return add_bytes(
            archive, entry.arcname, rewritten, date_time=plan.date_time, mode=mode, level=level
        )
    assert isinstance(source, FromPayload)  # noqa: S101 - exhaustive over EntrySource
    small = spool.small_body(blob)
    archive.add(
        entry.arcname,
        method=blob.method,
        crc32=blob.crc32,
        size=blob.size,
        compressed_size=blob.compressed_size,
        date_time=plan.date_time,
        mode=mode,
        write_body=None if small is not None else _copier(spool, blob),
        body=small or b"",
    )
    return entry.arcname, record_hash(blob.sha256), str(blob.size)


def _copier(spool: Spool, blob: Blob) -> Callable[[BinaryIO], None]:
    def copy(out: BinaryIO) -> None:
        spool.copy_into(blob, out)

    return copy


def _writer_of(data: bytes) -> Callable[[BinaryIO], None]:
    def write(out: BinaryIO) -> None:
        out.write(data)

    return write


def record_text(rows: list[tuple[str, str, str]]) -> str:
    """Return RECORD's text for ``rows``: what :func:`csv.writer` writes, one line each.

    csv quotes a field that holds a comma, a double quote or a line feed (from Python
    3.13 a carriage return too; 3.10 refuses a NUL), and writes every other character as
    it is: that is each code point tried on Python 3.10 to 3.13. RECORD's paths almost
    never hold one, so the lines are joined as they are, in a third of csv's time for
    31,000 rows; text in which a field added a separator or holds one of those
    characters is written by csv after all, as before.
    """
    text = "".join(f"{name},{digest},{size}\n" for name, digest, size in rows)
    if (
        text.count(",") == 2 * len(rows)
        and text.count("\n") == len(rows)
        and not any(character in text for character in '"\r\x00')
    ):
        return text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def add_bytes(
    archive: ZipWriter,
    name: str,
    data: bytes,
    *,
    date_time: tuple[int, int, int, int, int, int],
    mode: int,
    level: int,
) -> tuple[str, str, str]:
    """Compress and add one whole body; return its RECORD row (name, hash, size)."""
    body = compress_body(data, level)
    archive.add(
        name,
        method=body.method,
        crc32=body.crc32,
        size=body.size,
        compressed_size=len(body.data),
        date_time=date_time,
        mode=mode,
        write_body=_writer_of(body.data),
    )
    return name, record_hash(body.sha256), str(body.size)


def publish(temp: Path, target: Path) -> WriteResult:
    """Move a complete file into place without ever replacing different bytes.

    The move is :func:`condawheel.io.files.link_new`'s: a hard link, which fails if the
    name exists, so two writers racing for one name cannot overwrite each other.

    :raises WheelExistsError: if ``target`` exists with other content; its subject is the
        wheel's file name.
    :raises OSError: if the file system refuses the link or the rename, or
        (:class:`FileExistsError`) something that is not a file is at ``target``.
    """
    digests = hash_file(temp)
    if not link_new(temp, target):
        return publish_existing(target, digests.sha256, digests.size)
    return WriteResult(target, "written", digests.sha256, digests.size)


def publish_existing(target: Path, digest: str, size: int) -> WriteResult:
    """Compare an existing file against new content's digest (see :func:`publish`)."""
    if not target.is_file():
        what = (
            "a broken symbolic link"
            if target.is_symlink() and not target.exists()
            else "a directory"
            if target.is_dir()
            else "something other than a file"
        )
        # Not a wheel conflict but an obstacle: an OSError, as the file system would say.
        reason = f"{what} of this name is in {target.parent}; not overwritten"
        raise FileExistsError(errno.EEXIST, reason, str(target))
    existing = hash_file(target).sha256
    if existing != digest:
        raise WheelExistsError(
            target.name,
            f"a different wheel with this name already exists in {target.parent} "
            f"(sha256 {existing[:12]}..., new {digest[:12]}...); not overwritten",
        )
    return WriteResult(target, "unchanged", digest, size)


def replace_damaged(temp: Path, target: Path) -> WriteResult:
    """Move a complete file into place over a damaged one, atomically.

    The caller has decided that ``target`` is damaged (see
    :mod:`condawheel.wheelhouse.decisions`); a rename over it makes readers see either the
    damaged file or the complete new one.
    """
    digests = hash_file(temp)
    temp.replace(target)
    return WriteResult(target, "written", digests.sha256, digests.size)
