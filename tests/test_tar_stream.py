"""The tar stream reader: plain ustar headers parsed by condawheel, the rest by tarfile.

Every case compares the members :func:`tar_members` yields with those tarfile itself
reads from the same bytes: the fast path must never change what a package holds.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import TYPE_CHECKING

import pytest
from conda_package_streaming.package_streaming import stream_conda_component
from hypothesis import given
from hypothesis import strategies as st

from builders import ustar_header
from condawheel.conda.sources import _header_checksum, open_package, tar_members
from condawheel.errors import InvalidPackage

if TYPE_CHECKING:
    from pathlib import Path

Listing = list[tuple[str, str, int, int, str | None, str]]


def _listing(data: bytes) -> Listing:
    """What :func:`tar_members` reads from an uncompressed tar, bodies as sha256."""
    found: Listing = []
    for member, body in tar_members("test.tar", io.BytesIO(data)):
        digest = hashlib.sha256(body.read() if body is not None else b"").hexdigest()
        found.append(
            (member.path, member.kind, member.size, member.mode, member.link_target, digest)
        )
    return found


def _tarfile_listing(data: bytes) -> Listing:
    """What tarfile reads from the same bytes, in the same terms."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        return [_entry(tar, info) for info in tar]


def _entry(
    tar: tarfile.TarFile, info: tarfile.TarInfo
) -> tuple[str, str, int, int, str | None, str]:
    name = info.name.removeprefix("./")
    kinds = {tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.DIRTYPE: "directory"}
    kind = "file" if info.isreg() else kinds[info.type]
    body = tar.extractfile(info) if info.isreg() else None
    digest = hashlib.sha256(body.read() if body is not None else b"").hexdigest()
    link = (
        None
        if kind in {"file", "directory"}
        else info.linkname.removeprefix("./" if kind == "hardlink" else "")
    )
    size = info.size if kind == "file" else 0
    return (
        name.rstrip("/") if kind == "directory" else name,
        kind,
        size,
        info.mode & 0o7777,
        link,
        digest,
    )


def _tar(members: list[tuple[str, bytes, bytes]], *, tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    """Build a tar of (name, type, body-or-link) members."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tar_format) as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = 0o755 if name.endswith(".so") else 0o644
            info.mtime = 1_700_000_000
            if kind == tarfile.REGTYPE:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                info.linkname = payload.decode()
                tar.addfile(info)
    return raw.getvalue()


LONG = "lib/python3.12/site-packages/" + "very_long_directory_name/" * 6 + "module.py"
MEMBERS = [
    ("lib", tarfile.DIRTYPE, b""),
    ("lib/libdemo.so", tarfile.REGTYPE, b"\x7fELF" + bytes(3000)),
    ("lib/libdemo.so.1", tarfile.SYMTYPE, b"libdemo.so"),
    ("lib/again.so", tarfile.LNKTYPE, b"lib/libdemo.so"),
    ("share/empty.txt", tarfile.REGTYPE, b""),
    ("share/block.txt", tarfile.REGTYPE, b"x" * 512),
    ("share/été.txt", tarfile.REGTYPE, "ünïcode".encode()),
    (LONG, tarfile.REGTYPE, b"print('long')\n"),
    ("share/after-the-long-name.txt", tarfile.REGTYPE, b"still read\n"),
    ("lib/long-link", tarfile.SYMTYPE, LONG.encode()),
    (LONG.replace("module.py", "directory"), tarfile.DIRTYPE, b""),
    ("share/last.txt", tarfile.REGTYPE, b"the end\n"),
]


@pytest.mark.parametrize(
    "tar_format",
    [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
    ids=["ustar", "gnu", "pax"],
)
def test_formats_read_as_tarfile_reads_them(tar_format: int) -> None:
    # ustar splits the long name into prefix and name (parsed here); GNU and pax write
    # an extension header, from which tarfile reads the rest of the stream.
    # ustar has no room for a link target over 100 bytes
    members = [
        member for member in MEMBERS if tar_format != tarfile.USTAR_FORMAT or len(member[2]) <= 100
    ]
    data = _tar(members, tar_format=tar_format)
    listing = _listing(data)
    assert listing == _tarfile_listing(data)
    assert [entry[0] for entry in listing] == [name for name, _, _ in members]


def _patched(data: bytes, offset: int, field: slice, value: bytes) -> bytes:
    """Rewrite one header field of the header at ``offset`` and fix its checksum."""
    block = bytearray(data[offset : offset + 512])
    block[field] = value.ljust(field.stop - field.start, b"\x00")
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return data[:offset] + bytes(block) + data[offset + 512 :]


def _header_offsets(data: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return [info.offset for info in tar.getmembers()]


PLAIN = [
    ("a.txt", tarfile.REGTYPE, b"first"),
    ("b.txt", tarfile.REGTYPE, b"second" * 100),
    ("c.txt", tarfile.REGTYPE, b"third"),
]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (slice(124, 136), b"\x80" + (600).to_bytes(11, "big")),  # a base-256 size
        (slice(100, 108), b"  644  \x00"),  # a number tarfile reads and the fast path leaves
        (slice(156, 157), b"7"),  # a contiguous file, regular for tarfile
        (slice(0, 100), b"b\xff.txt"),  # a name that is not UTF-8
    ],
    ids=["base-256", "spaces", "contiguous", "not-utf8"],
)
def test_unusual_headers_are_left_to_tarfile(field: slice, value: bytes) -> None:
    data = _tar(PLAIN, tar_format=tarfile.USTAR_FORMAT)
    data = _patched(data, _header_offsets(data)[1], field, value)
    assert _listing(data) == _tarfile_listing(data)


def test_a_signed_checksum_is_left_to_tarfile() -> None:
    # Old writers summed the header as signed bytes; tarfile accepts either sum.
    data = _tar([("é.txt", tarfile.REGTYPE, b"x")], tar_format=tarfile.USTAR_FORMAT)
    block = bytearray(data[:512])
    block[148:156] = b" " * 8
    signed = sum(byte - 256 if byte > 127 else byte for byte in block)
    block[148:156] = b"%06o\x00 " % signed
    data = bytes(block) + data[512:]
    assert _listing(data) == _tarfile_listing(data) != []


def _dense_header(checksum_offset: int) -> bytes:
    """A symlink header whose byte sum is above 65521 (names of two-byte characters).

    The checksum field holds the true sum plus ``checksum_offset``.
    """
    name = ("é" * 50).encode()
    block = bytearray(ustar_header(name, b"2", 0))
    block[157:257] = ("ü" * 50).encode()  # the link target
    block[345:499] = ("ö" * 77).encode()  # the prefix
    block[148:156] = b" " * 8
    assert sum(block) > 65521
    block[148:156] = b"%06o\x00 " % (sum(block) + checksum_offset)
    return bytes(block)


@pytest.mark.parametrize("offset", [0, 1, -1, 65521, -65521, 256, -256])
def test_checksums_of_dense_headers_are_checked_as_tarfile_checks_them(offset: int) -> None:
    # The checksum is summed in C, in pieces below Adler-32's modulus: a sum off by the
    # modulus (or by a byte) must still be refused, where tarfile refuses it.
    data = _tar(PLAIN, tar_format=tarfile.USTAR_FORMAT)
    second = _header_offsets(data)[1]
    data = data[:second] + _dense_header(offset) + data[second:]
    if offset:
        assert _listing(data) == _tarfile_listing(data)
        assert [entry[0] for entry in _listing(data)] == ["a.txt"]
    else:
        assert _listing(data) == _tarfile_listing(data)
        assert _listing(data)[1][0] == "ö" * 77 + "/" + "é" * 50


def test_a_dense_first_header_with_a_checksum_off_by_the_modulus_is_an_error() -> None:
    data = _dense_header(65521) + _tar(PLAIN, tar_format=tarfile.USTAR_FORMAT)
    with pytest.raises(InvalidPackage, match="corrupt archive"):
        _listing(data)


def _unsigned_sum(block: bytes) -> int:
    """tarfile's unsigned header checksum: every byte, the checksum field as 8 spaces."""
    return 256 + sum(block[:148]) + sum(block[156:])


@given(st.binary(min_size=512, max_size=512))
def test_header_checksum_is_tarfile_s_unsigned_sum(block: bytes) -> None:
    assert _header_checksum(block) == _unsigned_sum(block)
    dense = bytes(255 - byte for byte in block[:256]) + b"\xff" * 256
    assert _header_checksum(dense) == _unsigned_sum(dense)


def test_a_bad_header_after_the_first_ends_the_stream_as_in_tarfile() -> None:
    # tarfile stops without an error at an invalid header after the first one.
    data = bytearray(_tar(PLAIN, tar_format=tarfile.USTAR_FORMAT))
    data[_header_offsets(bytes(data))[2] + 148] ^= 1
    assert _listing(bytes(data)) == _tarfile_listing(bytes(data))
    assert [entry[0] for entry in _listing(bytes(data))] == ["a.txt", "b.txt"]


def test_a_bad_first_header_is_an_error() -> None:
    data = bytearray(_tar(PLAIN, tar_format=tarfile.USTAR_FORMAT))
    data[148] ^= 1
    with pytest.raises(InvalidPackage, match="corrupt archive"):
        _listing(bytes(data))


def test_a_body_cut_short_is_named() -> None:
    data = _tar(PLAIN, tar_format=tarfile.USTAR_FORMAT)
    cut = data[: _header_offsets(data)[1] + 512 + 100]
    with pytest.raises(
        InvalidPackage, match=r"^test\.tar: truncated archive while reading 'b\.txt'"
    ):
        _listing(cut)


def test_unread_bodies_are_skipped() -> None:
    data = _tar([*PLAIN, ("big.bin", tarfile.REGTYPE, bytes(range(256)) * 4000)])
    members = [member.path for member, _ in tar_members("test.tar", io.BytesIO(data))]
    assert members == ["a.txt", "b.txt", "c.txt", "big.bin"]


def test_missing_padding_is_truncation() -> None:
    data = _tar(PLAIN, tar_format=tarfile.USTAR_FORMAT)
    cut = data[: _header_offsets(data)[1] + 512 + 601]
    with pytest.raises(InvalidPackage, match=r"truncated archive \(unexpected end of data\)"):
        _listing(cut)


def test_corpus_packages_read_as_tarfile_reads_them(corpus: Path) -> None:
    # Every real package, in both formats: the same members, modes, links and bodies.
    packages = sorted((corpus / "channel").glob("*/*.conda")) + sorted(
        (corpus / "channel").glob("*/*.tar.bz2")
    )
    assert len(packages) > 20
    for package in packages:
        ours: Listing = []
        for member, body in open_package(package).members():
            digest = hashlib.sha256(body.read() if body is not None else b"").hexdigest()
            ours.append(
                (member.path, member.kind, member.size, member.mode, member.link_target, digest)
            )
        components = ("info", "pkg") if package.name.endswith(".conda") else ("pkg",)
        theirs = [
            _entry(tar, info)
            for component in components
            for tar, info in stream_conda_component(str(package), component=component)
        ]
        assert ours == theirs, package.name


def _with_pax(keywords: dict[str, str]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, _, payload in PLAIN:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            if name == "b.txt":
                info.pax_headers = keywords
            tar.addfile(info, io.BytesIO(payload))
    return raw.getvalue()


@pytest.mark.parametrize(
    "keywords",
    [
        {"path": "renamed/b.txt/"},
        {"path": "lib/é.txt", "mtime": "1700000000.5", "uname": "conda"},
        {"comment": "tarfile reads the rest"},
        {"hdrcharset": "BINARY"},
        {"size": "6"},
    ],
    ids=["path", "harmless", "comment", "hdrcharset", "size"],
)
def test_pax_headers_read_as_tarfile_reads_them(keywords: dict[str, str]) -> None:
    data = _with_pax(keywords)
    listing = _listing(data)
    assert listing == _tarfile_listing(data)
    assert listing[1][0] == keywords.get("path", "b.txt").rstrip("/")


def _pax_member(records: bytes, declared: int, body: bytes) -> bytes:
    """A pax header declaring ``declared`` bytes of ``records``, then one member."""
    padded = records + bytes(-len(records) % 512)
    return (
        ustar_header(b"PaxHeader", b"x", declared)
        + padded
        + ustar_header(b"placeholder", b"0", len(body))
        + body
        + bytes(-len(body) % 512)
        + bytes(1024)
    )


def _record(keyword: bytes, value: bytes) -> bytes:
    """One pax record: its length in decimal counts its own digits too."""
    text = b" " + keyword + b"=" + value + b"\n"
    length = len(text) + 1
    while len(str(length)) + len(text) != length:
        length = len(str(length)) + len(text)
    return str(length).encode() + text


@pytest.mark.parametrize(
    "hidden",
    [_record(b"path", b"bin/other"), _record(b"path", b"bin/other") + _record(b"size", b"3")],
    ids=["path", "path-and-size"],
)
def test_records_hidden_in_a_pax_header_s_padding_read_as_tarfile_reads_them(
    hidden: bytes,
) -> None:
    """tarfile reads records up to the padded block's first NUL, past the declared size."""
    visible = _record(b"path", b"site-packages/ok.py")
    data = _pax_member(visible + hidden, len(visible), b"A" * 600)
    theirs = _tarfile_listing(data)
    assert theirs[0][0] == "bin/other"
    assert _listing(data) == theirs


def _tarfile_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        return [info.name for info in tar]


def test_sparse_members_are_refused() -> None:
    """tarfile reads GNU sparse maps without a bound; no conda package holds one."""
    records = b"".join(
        _record(keyword, value)
        for keyword, value in (
            (b"GNU.sparse.major", b"1"),
            (b"GNU.sparse.minor", b"0"),
            (b"GNU.sparse.name", b"lib/sparse.bin"),
            (b"GNU.sparse.realsize", b"1048576"),
        )
    )
    # The map (one piece of 4 bytes at offset 0) starts the member's data, then the piece.
    body = b"1\n0\n4\n".ljust(512, b"\x00") + b"data"
    data = _pax_member(records, len(records), body)
    assert _tarfile_names(data) == ["lib/sparse.bin"]
    with pytest.raises(InvalidPackage, match="a sparse member"):
        _listing(data)
    # The old GNU form: a header of type S, after a plain member.
    old_gnu = _tar(PLAIN[:1])[:1024] + ustar_header(b"lib/sparse.bin", b"S", 0) + bytes(1024)
    assert _tarfile_names(old_gnu) == ["a.txt", "lib/sparse.bin"]
    with pytest.raises(InvalidPackage, match="a sparse member"):
        _listing(old_gnu)


def test_a_body_read_after_the_next_member_came_reads_nothing() -> None:
    data = _tar(PLAIN)
    members = tar_members("test.tar", io.BytesIO(data))
    _, first = next(members)
    assert first is not None
    _, second = next(members)
    assert first.read() == b""
    assert second is not None
    assert second.read() == b"second" * 100


def test_a_bad_header_after_a_pax_header_is_an_error() -> None:
    # tarfile refuses an invalid member header that follows a pax header.
    data = bytearray(_with_pax({"path": "renamed.txt"}))
    offsets = _header_offsets(bytes(data))
    data[offsets[1] + 1024 + 148] ^= 1  # the pax header, its records, then the member's
    with pytest.raises(tarfile.ReadError):
        _tarfile_listing(bytes(data))
    with pytest.raises(InvalidPackage, match="corrupt archive"):
        _listing(bytes(data))


class _Trickle:
    """A stream that returns at most 1,000 bytes a read, as a decompressor may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else 1000)


def test_short_reads_of_the_stream_are_read_again() -> None:
    large = bytes(range(256)) * 2048  # 512 KiB: read past the buffer
    data = _tar([*PLAIN, ("large.bin", tarfile.REGTYPE, large), ("z.txt", tarfile.REGTYPE, b"z")])
    found = {
        member.path: body.read() if body is not None else b""
        for member, body in tar_members("test.tar", _Trickle(data))
    }
    assert found["large.bin"] == large
    assert list(found) == ["a.txt", "b.txt", "c.txt", "large.bin", "z.txt"]
