"""Reading the three package forms, and refusing broken or hostile archives."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from builders import (
    CondaSpec,
    FileSpec,
    build_conda,
    build_directory,
    build_raw_tar_bz2,
    build_tar_bz2,
    raw_member,
    zip_with,
)
from condawheel.conda.sources import open_package
from condawheel.errors import InvalidPackage

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SPEC = CondaSpec(
    files=[
        FileSpec("lib/libdemo.so.1", b"\x7fELF", mode=0o755),
        FileSpec("lib/libdemo.so", symlink="libdemo.so.1"),
        FileSpec("share/doc/readme.txt", "héllo wörld".encode()),
    ]
)
BUILDERS: dict[str, Callable[[CondaSpec, Path], Path]] = {
    "conda": build_conda,
    "tar.bz2": build_tar_bz2,
    "directory": build_directory,
}


def _read_all(path: Path) -> dict[str, tuple[str, bytes, str | None, int]]:
    found: dict[str, tuple[str, bytes, str | None, int]] = {}
    for member, body in open_package(path).members():
        if member.kind == "directory":
            continue
        data = body.read() if body is not None else b""
        found[member.path] = (member.kind, data, member.link_target, member.mode & 0o111)
    return found


@pytest.mark.parametrize("form", sorted(BUILDERS))
def test_every_form_yields_the_same_members(form: str, tmp_path: Path) -> None:
    members = _read_all(BUILDERS[form](SPEC, tmp_path))
    assert members["lib/libdemo.so.1"] == ("file", b"\x7fELF", None, 0o111)
    assert members["lib/libdemo.so"][0] == "symlink"
    assert members["lib/libdemo.so"][2] == "libdemo.so.1"
    assert members["share/doc/readme.txt"][1] == "héllo wörld".encode()
    assert members["info/index.json"][0] == "file"


@pytest.mark.parametrize("form", ["conda", "directory"])
def test_info_comes_before_the_payload(form: str, tmp_path: Path) -> None:
    paths = [m.path for m, _ in open_package(BUILDERS[form](SPEC, tmp_path)).members()]
    last_info = max(i for i, p in enumerate(paths) if p.startswith("info"))
    first_payload = min(i for i, p in enumerate(paths) if not p.startswith("info"))
    assert last_info < first_payload


def test_renamed_conda_finds_components_by_prefix(tmp_path: Path) -> None:
    original = build_conda(SPEC, tmp_path)
    renamed = original.rename(tmp_path / "18bad928-demo-1.0-py312_0.conda")
    assert "lib/libdemo.so.1" in _read_all(renamed)


def _error(path: Path) -> str:
    with pytest.raises(InvalidPackage) as caught:
        for _member, body in open_package(path).members():
            if body is not None:
                body.read()
    assert caught.value.subject == str(path)
    assert "\n" not in str(caught.value)
    return caught.value.reason


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.conda", b"", "empty file"),
        ("empty.tar.bz2", b"", "empty file"),
        (
            "gz.tar.bz2",
            b"\x1f\x8b\x08\x00rest",
            "not a bzip2-compressed tar (it is gzip-compressed",
        ),
        ("text.conda", b"hello", "not a .conda (ZIP) archive"),
        ("garbage.tar.bz2", b"BZh9garbage-garbage", "corrupt archive"),
    ],
    ids=["empty-conda", "empty-tar-bz2", "gzip", "not-zip", "bad-bzip2"],
)
def test_broken_archives_are_rejected_with_a_reason(
    name: str, content: bytes, reason: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert _error(path).startswith(reason)


def test_truncated_tar_bz2(tmp_path: Path) -> None:
    good = build_tar_bz2(
        CondaSpec(files=[FileSpec("share/big.bin", bytes(range(256)) * 4000)]), tmp_path
    )
    data = good.read_bytes()
    truncated = tmp_path / "truncated-1.0-0.tar.bz2"
    truncated.write_bytes(data[: len(data) // 2])
    assert "truncated archive" in _error(truncated)


def test_truncated_conda(tmp_path: Path) -> None:
    good = build_conda(
        CondaSpec(files=[FileSpec("share/big.bin", bytes(range(256)) * 4000)]), tmp_path
    )
    data = good.read_bytes()
    truncated = tmp_path / "truncated-1.0-0.conda"
    truncated.write_bytes(data[: len(data) - 200])
    assert _error(truncated).startswith(("corrupt", "truncated"))


def test_conda_without_pkg_component(tmp_path: Path) -> None:
    path = zip_with(
        tmp_path / "x-1-0.conda",
        {"metadata.json": b'{"conda_pkg_format_version": 2}', "info-x-1-0.tar.zst": b""},
    )
    assert _error(path) == "malformed .conda: no pkg-*.tar.zst component"


def test_conda_components_in_a_subdirectory(tmp_path: Path) -> None:
    path = zip_with(
        tmp_path / "x-1-0.conda", {"x/info-x-1-0.tar.zst": b"", "x/pkg-x-1-0.tar.zst": b""}
    )
    assert "sit in a sub-directory" in _error(path)


def test_conda_with_an_unknown_format_version(tmp_path: Path) -> None:
    good = build_conda(SPEC, tmp_path)
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["metadata.json"] = b'{"conda_pkg_format_version": 3}'
    path = zip_with(tmp_path / "v3.conda", members)
    assert _error(path) == "unsupported .conda format: metadata.json says version 3"


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (
            raw_member("../evil.txt", b"x"),
            "unsafe archive member: path '../evil.txt' has an empty, '.' or '..' component",
        ),
        (raw_member("/etc/evil", b"x"), "unsafe archive member: absolute path '/etc/evil'"),
        (
            raw_member("lib/../../evil", b"x"),
            "unsafe archive member: path 'lib/../../evil' has an empty",
        ),
        (
            raw_member("lib/hard", kind=tarfile.LNKTYPE, linkname="/etc/passwd"),
            "hard link 'lib/hard' points outside the package",
        ),
        (raw_member("dev/null", kind=tarfile.CHRTYPE), "archive member 'dev/null' is a device"),
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "hardlink-out", "device"],
)
def test_hostile_members_are_refused(
    member: tuple[tarfile.TarInfo, bytes | None], reason: str, tmp_path: Path
) -> None:
    index = b'{"name": "x", "version": "1", "build": "0", "build_number": 0, "subdir": "noarch"}'
    info = tarfile.TarInfo("info/index.json")
    info.size = len(index)
    path = build_raw_tar_bz2(tmp_path / "x-1-0.tar.bz2", [(info, index), member])
    assert _error(path).startswith(reason)


def test_not_a_package(tmp_path: Path) -> None:
    path = tmp_path / "thing.zip"
    path.write_bytes(b"PK")
    with pytest.raises(
        InvalidPackage, match=r"expected \.conda, \.tar\.bz2 or a package directory"
    ):
        open_package(path)


def test_directory_without_index(tmp_path: Path) -> None:
    with pytest.raises(InvalidPackage, match=r"no info/index\.json"):
        open_package(tmp_path)


def test_directory_refuses_a_fifo(tmp_path: Path) -> None:
    root = build_directory(SPEC, tmp_path)
    import os  # noqa: PLC0415

    os.mkfifo(root / "share" / "pipe")
    assert "special file" in _error(root)


def test_readers_stream_without_reading_everything(tmp_path: Path) -> None:
    # Members are yielded lazily: stopping early must not decompress the rest.
    big = CondaSpec(files=[FileSpec(f"share/f{i}", bytes(1000)) for i in range(200)])
    members = open_package(build_conda(big, tmp_path)).members()
    first = next(members)
    assert first[0].path.startswith("info")
    assert isinstance(members, Generator)
    members.close()


def test_zip_listing_is_not_trusted_for_names(tmp_path: Path) -> None:
    # A .conda whose pkg tar carries a '..' member is refused like a .tar.bz2.
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b"x"
        info = tarfile.TarInfo("../../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(data))
    from backports import zstd  # noqa: PLC0415

    pkg = zstd.compress(raw.getvalue())
    info_raw = io.BytesIO()
    with tarfile.open(fileobj=info_raw, mode="w") as tar:
        index = b'{"name": "x", "version": "1", "build": "0", "subdir": "noarch"}'
        member = tarfile.TarInfo("info/index.json")
        member.size = len(index)
        tar.addfile(member, io.BytesIO(index))
    path = zip_with(
        tmp_path / "x-1-0.conda",
        {
            "metadata.json": b'{"conda_pkg_format_version": 2}',
            "info-x-1-0.tar.zst": zstd.compress(info_raw.getvalue()),
            "pkg-x-1-0.tar.zst": pkg,
        },
    )
    assert "unsafe archive member" in _error(path)
