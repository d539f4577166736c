"""Read conda packages as a stream of members: ``.conda``, ``.tar.bz2`` or a directory.

This is the only module that knows about tar, zip and zstd. Archives are streamed with
conda-package-streaming and never extracted to disk; every member path is checked before
anyone sees it, and every library error becomes one :class:`InvalidPackage` naming the
file and the reason.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Literal, NoReturn, Protocol, TypeAlias

import msgspec
from conda_package_streaming import package_streaming

from condawheel.conda.condameta import check_relative_path
from condawheel.errors import InvalidPackage
from condawheel.io.bzip2 import Bzip2Reader
from condawheel.io.cpus import usable_cores
from condawheel.io.jsondata import JSONProblem, parse_json

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Mapping

__all__ = [
    "ARCHIVE_SUFFIXES",
    "MAX_METADATA_BYTES",
    "Member",
    "MemberKind",
    "MemberReader",
    "PackageSource",
    "metadata_too_large",
    "open_package",
    "package_kind",
    "read_metadata",
    "read_metadata_file",
    "tar_members",
]

MemberKind: TypeAlias = Literal["file", "symlink", "hardlink", "directory"]
ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")
# The most one metadata file of a package may hold: metadata.json of a .conda and every
# info/ file that is read. The largest real ones are a few MiB (paths.json of packages
# with tens of thousands of files; 0.6 MiB is the largest in the test corpus), and each
# is read into memory whole to be parsed, so the limit bounds memory per file.
MAX_METADATA_BYTES: Final = 64 << 20
_METADATA_CHUNK = 1 << 20

# What the underlying readers raise on corrupt or truncated input: tarfile, bz2 and zstd
# streams (OSError / EOFError), zipfile, and conda-package-streaming's LookupError /
# ValueError for missing components and unknown extensions.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    LookupError,
    ValueError,
)
try:  # pragma: no cover - which zstd binding exists depends on the Python version
    from compression import zstd as _zstd  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    try:
        from backports import zstd as _zstd  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        _zstd = None
if _zstd is not None:  # pragma: no branch
    _READ_ERRORS = (*_READ_ERRORS, _zstd.ZstdError)


# A msgspec struct, not a dataclass: one is made per member of a package, and a frozen
# dataclass costs about 1-1.5 us to make where this costs 0.1 (30,000-60,000 members).
class Member(msgspec.Struct, frozen=True):
    """One entry of a package, with a checked, ``/``-separated relative path."""

    path: str
    kind: MemberKind
    size: int
    mode: int
    # symlink: the link text as stored; hardlink: the path of the member it repeats.
    link_target: str | None = None


class MemberReader(Protocol):
    """The readable body of a ``file`` member."""

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes (all when negative)."""
        ...


class PackageSource(Protocol):
    """A conda package that can be read member by member, ``info/`` first when possible."""

    @property
    def location(self) -> Path:
        """The file or directory this source reads."""
        ...

    @property
    def format(self) -> Literal["conda", "tar.bz2", "directory"]:
        """Which of the three package forms this is."""
        ...

    def members(self) -> Iterator[tuple[Member, MemberReader | None]]:
        """Yield every member once, with a reader for ``file`` members.

        A reader is valid only until the next member is requested (archives stream).

        :raises InvalidPackage: on corrupt, truncated or hostile input.
        """
        ...


def metadata_too_large(name: str, limit: int, size: int | None = None) -> str:
    """Return the reason a metadata file ``name`` over ``limit`` bytes is refused.

    :param size: its declared size, when known before reading it.
    """
    holds = f"is {size} bytes, more than" if size is not None else "holds more than"
    return f"metadata file {name!r} {holds} {_amount(limit)}, the limit for a metadata file"


def _amount(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit} ({size} bytes)"
    return f"{size} bytes"


def read_metadata(
    subject: str, name: str, body: MemberReader, *, limit: int = MAX_METADATA_BYTES
) -> bytes:
    """Read a metadata member whole, never taking more than ``limit`` + 1 bytes from ``body``.

    A compressed member can inflate to any size whatever its container declares, so the
    bound is kept while reading, not trusted from a header.

    :raises InvalidPackage: naming ``name`` and the limit, if it holds more than ``limit``.
    """
    chunks: list[bytes] = []
    taken = 0
    while taken <= limit:
        chunk = body.read(min(_METADATA_CHUNK, limit + 1 - taken))
        if not chunk:
            break
        chunks.append(chunk)
        taken += len(chunk)
    if taken > limit:
        raise InvalidPackage(subject, metadata_too_large(name, limit))
    return b"".join(chunks)


def read_metadata_file(
    subject: str, path: Path, name: str, *, limit: int = MAX_METADATA_BYTES
) -> bytes:
    """Read a metadata file of an extracted package, bounded like :func:`read_metadata`.

    Only a regular file is opened (a FIFO would block the reader for ever), and one larger
    than ``limit`` is refused by its size before anything is read.

    :raises InvalidPackage: if it is not a regular file, or is over ``limit``.
    :raises OSError: if it cannot be opened or read.
    """
    # O_NONBLOCK: opening a FIFO put in the file's place since it was listed must not hang.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise InvalidPackage(subject, f"metadata file {name!r} is not a regular file")
        if status.st_size > limit:
            raise InvalidPackage(subject, metadata_too_large(name, limit, status.st_size))
        return read_metadata(subject, name, handle, limit=limit)


def package_kind(path: Path) -> Literal["conda", "tar.bz2", "directory"] | None:
    """Return which package form ``path`` is by its name, or ``None`` if it is none."""
    if path.name.endswith(".conda"):
        return "conda"
    if path.name.endswith(".tar.bz2"):
        return "tar.bz2"
    if path.is_dir():
        return "directory"
    return None


def open_package(
    path: Path, *, metadata_limit: int = MAX_METADATA_BYTES, bzip2_threads: int | None = None
) -> PackageSource:
    """Return the source for a ``.conda``, ``.tar.bz2`` or extracted package directory.

    :param bzip2_threads: threads that decode a ``.tar.bz2`` (default: every usable core).
    :param metadata_limit: the most a ``.conda``'s ``metadata.json`` may hold, the one
        metadata file the source reads itself; readers of ``info/`` apply their own.
    :raises InvalidPackage: if ``path`` is none of those or cannot be opened.
    """
    if not os.path.lexists(path):
        raise InvalidPackage(str(path), "no such file or directory")
    kind = package_kind(path)
    if kind == "directory":
        if (path / "info").is_symlink():
            # A payload symlink is recorded, never followed; the metadata must not be read
            # through one either (it could name any folder on the machine).
            raise InvalidPackage(
                str(path), "info/ is a symbolic link; a package's metadata must be inside it"
            )
        if not (path / "info" / "index.json").is_file():
            raise InvalidPackage(str(path), "not an extracted conda package (no info/index.json)")
        return DirectorySource(path)
    if kind is None:
        raise InvalidPackage(
            str(path), "not a conda package: expected .conda, .tar.bz2 or a package directory"
        )
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            magic = handle.read(512)
    except OSError as error:
        raise InvalidPackage(str(path), f"cannot read: {error.strerror or error}") from None
    if size == 0:
        raise InvalidPackage(str(path), "empty file")
    if kind == "conda":
        if not magic.startswith(b"PK"):
            raise InvalidPackage(str(path), f"not a .conda (ZIP) archive{_sniff(magic)}")
        return CondaArchiveSource(path, metadata_limit=metadata_limit)
    if not magic.startswith(b"BZh"):
        raise InvalidPackage(str(path), f"not a bzip2-compressed tar{_sniff(magic)}")
    return TarBz2Source(path, threads=bzip2_threads)


def _sniff(magic: bytes) -> str:
    if magic.startswith(b"\x1f\x8b"):
        return " (it is gzip-compressed: a mislabelled .tar.gz?)"
    if magic[257:262] == b"ustar":
        return " (it is an uncompressed tar)"
    if magic.startswith(b"PK"):
        return " (it is a ZIP archive: a .conda with the wrong extension?)"
    if magic.startswith(b"BZh"):
        return " (it is bzip2-compressed: a .tar.bz2 with the wrong extension?)"
    if magic.startswith(b"(\xb5/\xfd"):
        return " (it is a bare zstd stream)"
    return ""


class _GuardedReader:
    """A member body whose read errors become :class:`InvalidPackage`."""

    def __init__(self, subject: str, path: str, raw: IO[bytes]) -> None:
        self._subject = subject
        self._path = path
        self._raw = raw

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._raw.read(size)
        except _READ_ERRORS as error:
            raise InvalidPackage(self._subject, _describe(error, self._path)) from None


def _describe(error: BaseException, path: str | None = None) -> str:
    where = f" while reading {path!r}" if path else ""
    if isinstance(error, EOFError) or "unexpected end of data" in str(error):
        return f"truncated archive{where} (unexpected end of data)"
    if isinstance(error, zipfile.BadZipFile):
        return f"corrupt ZIP container{where} ({error})"
    text = str(error) or type(error).__name__
    return f"corrupt archive{where} ({text})"


@contextmanager
def _translated_errors(subject: str) -> Iterator[None]:
    try:
        yield
    except InvalidPackage:
        raise
    except _READ_ERRORS as error:
        raise InvalidPackage(subject, _describe(error)) from None


def _tar_member(subject: str, info: tarfile.TarInfo) -> Member:
    if info.isreg():
        kind: MemberKind = "file"
    elif info.issym():
        kind = "symlink"
    elif info.islnk():
        kind = "hardlink"
    elif info.isdir():
        kind = "directory"
    else:
        name = info.name.removeprefix("./")
        unsafe = check_relative_path(name)
        if unsafe is not None:
            raise InvalidPackage(subject, f"unsafe archive member: {unsafe}")
        raise InvalidPackage(
            subject, f"archive member {name!r} is a device, FIFO or other special file"
        )
    return _checked_member(subject, info.name, kind, info.mode, info.size, info.linkname)


def _checked_member(
    subject: str, name: str, kind: MemberKind, mode: int, size: int, link: str
) -> Member:
    """Return the member a tar header describes, once its paths are checked."""
    name = name.removeprefix("./")
    if kind == "directory":
        name = name.rstrip("/")
    unsafe = check_relative_path(name)
    if unsafe is not None:
        raise InvalidPackage(subject, f"unsafe archive member: {unsafe}")
    mode &= 0o7777
    if kind == "file":
        return Member(name, "file", size, mode)
    if kind == "symlink":
        return Member(name, "symlink", 0, mode, link)
    if kind == "hardlink":
        target = link.removeprefix("./")
        unsafe = check_relative_path(target)
        if unsafe is not None:
            raise InvalidPackage(
                subject, f"hard link {name!r} points outside the package: {unsafe}"
            )
        return Member(name, "hardlink", 0, mode, target)
    return Member(name, "directory", 0, mode)


EXTENDED_HEADER_LIMIT: Final = 1 << 20
"""The largest pax or GNU long-name header read: tarfile holds one whole in memory."""


_SPARSE: Final = "a sparse member (a GNU tar extension no conda package holds)"


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile's member headers, refusing an extended header over the limit.

    tarfile reads a pax header (POSIX.1-2001) or a GNU long name or link whole before
    the member it describes; a few compressed bytes can declare gigabytes of one. GNU
    sparse members are refused: tarfile collects their maps (old GNU headers, pax
    format 1.0) block after block without a bound, and conda never writes one.
    """

    def _proc_pax(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        self._check_extended_size()
        return super()._proc_pax(tar)  # type: ignore[misc,no-any-return]

    def _proc_gnulong(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        self._check_extended_size()
        return super()._proc_gnulong(tar)  # type: ignore[misc,no-any-return]

    def _proc_sparse(self, *_: object) -> NoReturn:
        raise tarfile.ReadError(_SPARSE)

    def _proc_gnusparse_10(self, *_: object) -> NoReturn:
        raise tarfile.ReadError(_SPARSE)

    def _check_extended_size(self) -> None:
        if self.size > EXTENDED_HEADER_LIMIT:
            limit = EXTENDED_HEADER_LIMIT >> 20
            reason = f"an extended header of {self.size} bytes, over the {limit} MiB limit"
            raise tarfile.ReadError(reason)


def _open_bounded_tar(*, fileobj: object, mode: str, encoding: str) -> tarfile.TarFile:
    """Open a tar stream as conda-package-streaming does, with :class:`_BoundedTarInfo`."""
    opened: tarfile.TarFile = package_streaming.TarfileNoSameOwner.open(
        fileobj=fileobj, mode=mode, encoding=encoding, tarinfo=_BoundedTarInfo
    )
    return opened


def _stream_tar(
    subject: str, stream: Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]
) -> Iterator[tuple[Member, MemberReader | None]]:
    with _translated_errors(subject):
        for tar, info in stream:
            member = _tar_member(subject, info)
            if member.kind != "file":
                yield member, None
                continue
            body = tar.extractfile(info)
            if body is None:  # a guard: tarfile returns None only for non-files
                raise InvalidPackage(subject, f"cannot read archive member {member.path!r}")
            yield member, _GuardedReader(subject, member.path, body)


# A tar header holds numbers as octal text; the fast path accepts the plain spelling
# tarfile and GNU tar write (spaces, octal digits, spaces, then a NUL and anything), a
# subset of what tarfile's own parser takes, so a header it accepts parses the same.
_PLAIN_NUMBER = re.compile(rb" *[0-7]* *(?:\x00.*)?", re.DOTALL)
# How tarfile and GNU tar write them (zero-padded, NUL-ended; the checksum ends in NUL and
# a space), checked in one match: mode, uid, gid, size, mtime, checksum; devices 0 0.
_USUAL_NUMBERS = re.compile(rb"(?:[0-7]{7}\x00){3}(?:[0-7]{11}\x00){2}[0-7]{6}\x00 ")
_USUAL_DEVICE_NUMBERS = (b"0000000\x000000000\x00", bytes(16))
_NUMBER_FIELDS = (
    (100, 108),
    (108, 116),
    (116, 124),
    (124, 136),
    (136, 148),
    (329, 337),
    (337, 345),
    (148, 156),
)
_PLAIN_TYPES: Final[dict[bytes, MemberKind]] = {
    b"0": "file",
    b"\x00": "file",
    b"5": "directory",
    b"2": "symlink",
    b"1": "hardlink",
}
_PAX_TYPE: Final[dict[bytes, MemberKind]] = {b"x": "file"}
# A pax header of a long name is a few hundred bytes; a larger one goes to tarfile.
_PAX_LIMIT: Final = 64 << 10
_PAX_RECORD = re.compile(rb"([1-9][0-9]{0,5}) ([A-Za-z.]+)=")
# Keywords tarfile applies to the name and link (path, linkpath) or to fields condawheel
# does not read (times, owners); any other (size, hdrcharset, GNU.sparse.*) goes to tarfile.
_PAX_HARMLESS = frozenset(
    {"path", "linkpath", "mtime", "atime", "ctime", "uid", "gid", "uname", "gname"}
)
_BLOCK: Final = tarfile.BLOCKSIZE
_REFILL: Final = 256 << 10
_ZERO_BLOCK: Final = bytes(_BLOCK)


class _Buffered:
    """Reads of any size from a stream that is read in large pieces (tar headers are 512 bytes)."""

    def __init__(self, raw: MemberReader) -> None:
        self._raw = raw
        self._buffer = b""
        self._at = 0

    def read(self, size: int) -> bytes:
        at = self._at
        end = at + size
        if end <= len(self._buffer):
            self._at = end
            return self._buffer[at:end]
        pieces = [self._buffer[at:]]
        wanted = size - len(pieces[0])
        self._buffer, self._at = b"", 0
        while wanted >= _REFILL:
            # A large body goes straight from the stream, not through the buffer (a
            # stream may return less than asked before its end: ask again).
            piece = self._raw.read(wanted)
            if not piece:
                return b"".join(pieces)
            pieces.append(piece)
            wanted -= len(piece)
        while wanted > 0:
            piece = self._raw.read(_REFILL)
            if not piece:
                break
            if len(piece) > wanted:
                self._buffer, self._at = piece, wanted
                piece = piece[:wanted]
            pieces.append(piece)
            wanted -= len(piece)
        return b"".join(pieces)

    def skip(self, size: int) -> bool:
        """Read past ``size`` bytes, a buffer at a time; return whether there were as many."""
        if self._at + size <= len(self._buffer):  # the usual padding: no copy to throw away
            self._at += size
            return True
        while size > 0:
            taken = len(self.read(min(size, _REFILL - 1)))
            if not taken:
                return False
            size -= taken
        return True

    def rest(self) -> bytes:
        """Return what is buffered and not yet read, and forget it."""
        left = self._buffer[self._at :]
        self._buffer, self._at = b"", 0
        return left


class _Prefixed:
    """A stream that first returns ``head``, then continues with ``tail``'s bytes."""

    def __init__(self, head: bytes, tail: MemberReader) -> None:
        self._head = head
        self._tail = tail

    def read(self, size: int = -1, /) -> bytes:
        if not self._head:
            return self._tail.read(size)
        if size < 0:
            head, self._head = self._head, b""
            return head + self._tail.read()
        head, self._head = self._head[:size], self._head[size:]
        return head


class _TarBody:
    """The body of a regular member read straight from the tar stream."""

    def __init__(self, subject: str, path: str, stream: _Buffered, left: int) -> None:
        self._subject = subject
        self._path = path
        self._stream = stream
        self.left = left

    def read(self, size: int = -1, /) -> bytes:
        want = self.left if size < 0 else min(size, self.left)
        if want <= 0:
            return b""
        try:
            data = self._stream.read(want)
        except _READ_ERRORS as error:
            raise InvalidPackage(self._subject, _describe(error, self._path)) from None
        if len(data) < want:
            # tarfile's words for a body cut short, so both paths report it alike
            raise InvalidPackage(
                self._subject, _describe(tarfile.ReadError("unexpected end of data"), self._path)
            )
        self.left -= len(data)
        return data


def _header_checksum(block: bytes) -> int:
    """Return the unsigned sum of a 512-byte header's bytes, its checksum field as 8 spaces.

    What tarfile computes with a sum in Python, in C: an Adler-32's low half is one plus
    the sum of the bytes modulo 65521, and the sum of 256 bytes (at most 65280) stays
    below the modulus, so each half of the block gives its exact sum.
    """
    return (
        (zlib.adler32(block[:256]) & 0xFFFF)
        + (zlib.adler32(block[256:]) & 0xFFFF)
        - (zlib.adler32(block[148:156]) & 0xFFFF)
        + 255  # 8 spaces (256) less the three halves' ones (+1 +1 -1)
    )


def _plain_header(
    block: bytes, types: Mapping[bytes, MemberKind] = _PLAIN_TYPES
) -> tuple[str, MemberKind, int, int, str] | None:
    """Parse a plain ustar header: (name, kind, mode, size, link name), or ``None``.

    ``None`` for anything else (pax and GNU extension headers, other member types,
    base-256 numbers, names that are not UTF-8, a checksum tarfile would read another
    way): tarfile reads those.
    """
    kind = types.get(block[156:157])
    if kind is None:
        return None
    usual = _USUAL_NUMBERS.match(block, 100) is not None
    if not usual or block[329:345] not in _USUAL_DEVICE_NUMBERS:
        usual = False
        match = _PLAIN_NUMBER.fullmatch
        if not all(match(block, start, end) for start, end in _NUMBER_FIELDS):
            return None
    try:
        if usual:  # the digits' places are known: no NUL to look for
            checksum = int(block[148:154], 8)
            mode = int(block[100:107], 8)
            size = int(block[124:135], 8)
        else:
            checksum = int(block[148:156].split(b"\x00", 1)[0] or b"0", 8)
            mode = int(block[100:108].split(b"\x00", 1)[0] or b"0", 8)
            size = int(block[124:136].split(b"\x00", 1)[0] or b"0", 8)
        if checksum != _header_checksum(block):
            return None
        name = block[:100].split(b"\x00", 1)[0].decode()
        link = block[157:257].split(b"\x00", 1)[0].decode()
        prefix = block[345:500].split(b"\x00", 1)[0].decode()
    except ValueError:  # UnicodeDecodeError, or an empty-looking number tarfile may read
        return None
    if kind == "file" and block[156:157] == b"\x00" and name.endswith("/"):
        kind = "directory"  # tarfile: the old V7 way of writing a directory
    if kind == "directory":
        name = name.rstrip("/")
    if prefix:
        name = f"{prefix}/{name}"
    return name, kind, mode, size, link


def tar_members(
    subject: str, raw: MemberReader
) -> Generator[tuple[Member, MemberReader | None], None, None]:
    """Yield the members of the uncompressed tar stream ``raw``.

    Plain ustar headers (regular files, directories, symbolic and hard links, the
    members conda-package-handling writes for all but long names) are parsed here:
    tarfile's stream reader spends most of a package of many small files in Python per
    header and per body read. At the first header that is anything else (a pax or GNU
    extension, another member type, an unusual number), tarfile reads the rest of the
    stream from that header on, so every member it reads is read as before. See
    docs/architecture.md, "Reading tar streams".
    """
    stream = _Buffered(raw)
    first = True
    with _translated_errors(subject):
        while True:
            block = stream.read(_BLOCK)
            header = _plain_header(block) if len(block) == _BLOCK else None
            if header is None and block[156:157] == b"x" and len(block) == _BLOCK:
                header, read = _with_pax_header(block, stream)
                if header is None:
                    block += read  # tarfile reads the pax header and its member again
            if header is None:
                if not first and _ends_archive(block[:_BLOCK]):
                    return
                rest = _Prefixed(block + stream.rest(), raw)
                yield from _stream_tar(
                    subject,
                    package_streaming.tar_generator(
                        rest, tarfile_open=_open_bounded_tar, closefd=False
                    ),
                )
                return
            first = False
            member = _checked_member(subject, *header)
            if member.kind != "file":
                yield member, None
                continue
            body = _TarBody(subject, member.path, stream, member.size)
            yield member, body
            # What the reader left of the body, then the padding to the next header.
            left, body.left = body.left, 0  # a body read after this would be the next's
            if not stream.skip(left + (-member.size % _BLOCK)):
                raise tarfile.ReadError("unexpected end of data")


def _with_pax_header(
    block: bytes, stream: _Buffered
) -> tuple[tuple[str, MemberKind, int, int, str] | None, bytes]:
    """Read a pax extended header that only names its member, and the member's header.

    conda-package-handling writes one before each member whose name or link target is
    longer than 100 bytes. Return the member's header with the pax path and link path
    applied as tarfile applies them, and the bytes read after ``block``; ``None`` as the
    header for anything else (other keywords, an unusual record), which tarfile reads.
    """
    pax = _plain_header(block, _PAX_TYPE)
    if pax is None or pax[3] > _PAX_LIMIT:
        return None, b""
    size = pax[3]
    padded = size + (-size % _BLOCK)
    read = stream.read(padded + _BLOCK)
    if len(read) != padded + _BLOCK:
        return None, read
    # tarfile parses records up to the first NUL of the whole padded block, not up to
    # the declared size: records hidden in the padding would change what it reads.
    records = _pax_records(read[:size]) if not any(read[size:padded]) else None
    header = _plain_header(read[padded:]) if records is not None else None
    if records is None or header is None:
        return None, read
    name, kind, mode, member_size, link = header
    if "path" in records:
        name = records["path"].rstrip("/")
    return (name, kind, mode, member_size, records.get("linkpath", link)), read


def _pax_records(data: bytes) -> dict[str, str] | None:
    """Parse the records of a pax header ("LENGTH KEYWORD=VALUE" and a newline each).

    ``None`` if a keyword is not one of those that change nothing condawheel reads but
    a name, or if anything is unusual.
    """
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        record = _PAX_RECORD.match(data, position)
        if record is None:
            return None
        end = position + int(record[1])
        if end > len(data) or end <= record.end() or data[end - 1] != 0x0A:  # noqa: PLR2004
            return None
        keyword = record[2].decode()
        if keyword not in _PAX_HARMLESS:
            return None
        try:
            records[keyword] = data[record.end() : end - 1].decode()
        except UnicodeDecodeError:
            return None
        position = end
    return records


def _ends_archive(block: bytes) -> bool:
    """Return whether tarfile ends a stream at ``block`` (a header after the first).

    tarfile stops reading, without an error, at a header after the first that is
    missing, cut short, all zeros (the end-of-archive marker) or invalid.
    """
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return True
    return False


class TarBz2Source:
    """A v1 ``.tar.bz2`` package: one bzip2 tarball, ``info/`` interleaved with the payload.

    :param threads: bzip2 decoding threads (see :class:`condawheel.io.bzip2.Bzip2Reader`);
        the default is every usable core. The decompressed bytes do not depend on it.
    """

    format: Literal["tar.bz2"] = "tar.bz2"

    def __init__(self, location: Path, *, threads: int | None = None) -> None:
        self.location = location
        self.threads = usable_cores() if threads is None else threads

    def members(self) -> Iterator[tuple[Member, MemberReader | None]]:
        subject = str(self.location)
        with _translated_errors(subject):
            reader = Bzip2Reader(self.location, threads=self.threads)
            stream = tar_members(subject, reader)
            try:
                yield from stream
                # The tar ends before the bzip2 stream does: read the rest, so that the
                # last blocks' CRCs and the stream's CRC are checked too.
                reader.drain()
            finally:
                stream.close()
                reader.close()


class CondaArchiveSource:
    """A v2 ``.conda`` package: a ZIP holding ``info-*.tar.zst`` and ``pkg-*.tar.zst``."""

    format: Literal["conda"] = "conda"

    def __init__(self, location: Path, *, metadata_limit: int = MAX_METADATA_BYTES) -> None:
        self.location = location
        self.metadata_limit = metadata_limit

    def members(self) -> Iterator[tuple[Member, MemberReader | None]]:
        subject = str(self.location)
        if _zstd is None:  # pragma: no cover - conda-package-handling requires a binding
            raise InvalidPackage(subject, "cannot read .conda: no zstd module is installed")
        with _translated_errors(subject), zipfile.ZipFile(self.location) as archive:
            components = _conda_components(subject, archive, self.metadata_limit)
            for component in ("info", "pkg"):
                # Components are found by their "info-"/"pkg-" prefix, not by the file name:
                # renamed copies (hash-prefixed downloads) keep the original stem inside.
                with (
                    archive.open(f"{component}-{components[component]}.tar.zst") as raw,
                    _zstd.open(raw) as decompressed,
                ):
                    stream = tar_members(subject, decompressed)
                    try:
                        yield from stream
                    finally:
                        stream.close()


def _conda_components(
    subject: str, archive: zipfile.ZipFile, metadata_limit: int
) -> dict[str, str]:
    """Find the ``info``/``pkg`` component stems of a ``.conda`` (CEP 35), by prefix."""
    names = archive.namelist()
    found: dict[str, list[str]] = {"info": [], "pkg": []}
    nested: list[str] = []
    for name in names:
        base = name.rsplit("/", 1)[-1]
        for component, bucket in found.items():
            if base.startswith(f"{component}-") and base.endswith(".tar.zst"):
                if "/" in name:
                    nested.append(name)
                else:
                    bucket.append(base.removeprefix(f"{component}-").removesuffix(".tar.zst"))
    if nested and not (found["info"] and found["pkg"]):
        raise InvalidPackage(
            subject,
            f"malformed .conda: its components sit in a sub-directory ({nested[0]!r}), "
            "not at the top of the ZIP",
        )
    problems = []
    for component, stems in found.items():
        if not stems:
            problems.append(f"malformed .conda: no {component}-*.tar.zst component")
        elif len(stems) > 1:
            problems.append(f"malformed .conda: several {component} components {sorted(stems)}")
    if problems:
        raise InvalidPackage(subject, problems)
    if "metadata.json" in names:
        _check_format_version(subject, archive, metadata_limit)
    return {component: stems[0] for component, stems in found.items()}


def _check_format_version(subject: str, archive: zipfile.ZipFile, limit: int) -> None:
    """Refuse a ``.conda`` whose ``metadata.json`` declares another format, or is unusable.

    CEP 35: ``{"conda_pkg_format_version": 2}``. Early writers left the file empty, which
    reads as version 2. Its declared size is checked first (zipfile never inflates past
    it), and the read is bounded all the same.
    """
    declared_size = archive.getinfo("metadata.json").file_size
    if declared_size > limit:
        raise InvalidPackage(subject, metadata_too_large("metadata.json", limit))
    with archive.open("metadata.json") as body:
        data = read_metadata(subject, "metadata.json", body, limit=limit)
    try:
        declared = parse_json(data) if data.strip() else {}
    except JSONProblem as problem:
        raise InvalidPackage(subject, f"metadata.json is {problem}") from None
    version = declared.get("conda_pkg_format_version", 2) if isinstance(declared, dict) else 2
    if version != 2:  # noqa: PLR2004
        raise InvalidPackage(
            subject, f"unsupported .conda format: metadata.json says version {version!r}"
        )


class DirectorySource:
    """An extracted package (a package-cache folder): ``info/`` plus the payload on disk."""

    format: Literal["directory"] = "directory"

    def __init__(self, location: Path) -> None:
        self.location = location

    def members(self) -> Iterator[tuple[Member, MemberReader | None]]:
        subject = str(self.location)
        # info/ first, like a .conda, so that its metadata is known before the payload.
        info = sorted(self._walk("info"), key=lambda pair: pair[0])
        payload = sorted(
            (
                pair
                for pair in self._walk("")
                if not pair[0].startswith("info/") and pair[0] != "info"
            ),
            key=lambda pair: pair[0],
        )
        for relative, entry in (*info, *payload):
            member = self._member(subject, relative, entry)
            if member.kind != "file":
                yield member, None
                continue
            try:
                handle = Path(entry).open("rb")  # noqa: SIM115 - closed right after use
            except OSError as error:
                raise InvalidPackage(
                    subject, f"cannot read {relative!r}: {error.strerror}"
                ) from None
            with handle:
                yield member, _GuardedReader(subject, relative, handle)

    def _walk(self, start: str) -> Iterator[tuple[str, str]]:
        root = self.location / start if start else self.location
        pending = [(start, str(root))]
        while pending:
            relative_dir, directory = pending.pop()
            try:
                with os.scandir(directory) as entries:
                    found = [
                        (entry.name, entry.path, entry.is_dir(follow_symlinks=False))
                        for entry in entries
                    ]
            except OSError as error:
                raise InvalidPackage(
                    str(self.location),
                    f"cannot list {relative_dir or '.'!r}: {error.strerror or error}",
                ) from None
            for name, entry_path, is_directory in found:
                relative = f"{relative_dir}/{name}" if relative_dir else name
                yield relative, entry_path
                if is_directory:
                    pending.append((relative, entry_path))

    @staticmethod
    def _member(subject: str, relative: str, path: str) -> Member:
        unsafe = check_relative_path(relative)
        if unsafe is not None:  # a guard: scandir names never contain '/'
            raise InvalidPackage(subject, unsafe)
        try:
            info = os.lstat(path)
        except OSError as error:
            raise InvalidPackage(subject, f"cannot stat {relative!r}: {error.strerror}") from None
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            return Member(relative, "symlink", 0, mode, str(Path(path).readlink()))
        if stat.S_ISDIR(info.st_mode):
            return Member(relative, "directory", 0, mode)
        if stat.S_ISREG(info.st_mode):
            return Member(relative, "file", info.st_size, mode)
        raise InvalidPackage(subject, f"{relative!r} is a device, FIFO or other special file")
