"""Build small conda packages from a spec (``.conda``, ``.tar.bz2``, directory) for tests."""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import os
import posixpath
import tarfile
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from conda_package_streaming.create import conda_builder

from condawheel.conda.condameta import CondaPackage, parse_package
from condawheel.convert import layout
from condawheel.convert.ingest import Inventory, PayloadFile

if TYPE_CHECKING:
    from pathlib import Path

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"


@dataclass
class FileSpec:
    """One payload entry of a test package."""

    path: str
    data: bytes = b""
    mode: int = 0o644
    symlink: str | None = None  # a symbolic link to this target
    hardlink: str | None = None  # a tar hard link to this member
    placeholder: str | None = None
    file_mode: str | None = None  # "text" | "binary", with placeholder
    listed: bool = True  # appears in paths.json


@dataclass
class CondaSpec:
    """A test package: index.json fields, payload, and any info/ overrides."""

    name: str = "demo"
    version: str = "1.0"
    build: str = "py312_0"
    build_number: int = 0
    subdir: str = "linux-64"
    noarch: str | None = None
    depends: list[str] = field(default_factory=list)
    files: list[FileSpec] = field(default_factory=list)
    link: dict[str, object] | None = None
    about: dict[str, object] | None = None
    index_extra: dict[str, object] = field(default_factory=dict)
    paths_json: dict[str, object] | None = None  # replaces the generated paths.json
    omit_paths_json: bool = False
    info_extra: dict[str, bytes] = field(default_factory=dict)
    timestamp_ms: int = 1700000000000
    license: str | None = "BSD-3-Clause"

    @property
    def stem(self) -> str:
        return f"{self.name}-{self.version}-{self.build}"

    def index_json(self) -> dict[str, object]:
        index: dict[str, object] = {
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "build_number": self.build_number,
            "subdir": self.subdir,
            "depends": self.depends,
            "timestamp": self.timestamp_ms,
        }
        if self.license is not None:
            index["license"] = self.license
        if self.noarch is not None:
            index["noarch"] = self.noarch
        index.update(self.index_extra)
        return index

    def generated_paths_json(self) -> dict[str, object]:
        entries: list[dict[str, object]] = []
        by_path = {item.path: item for item in self.files}
        for item in sorted(self.files, key=lambda f: f.path):
            if not item.listed:
                continue
            content = item.data
            if item.symlink is not None:
                target = by_path.get(
                    posixpath.normpath(posixpath.join(posixpath.dirname(item.path), item.symlink))
                )
                content = target.data if target is not None else b""
            entry: dict[str, object] = {
                "_path": item.path,
                "path_type": "softlink" if item.symlink is not None else "hardlink",
                "sha256": hashlib.sha256(content).hexdigest(),
                "size_in_bytes": len(content),
            }
            if item.placeholder is not None:
                entry["prefix_placeholder"] = item.placeholder
                entry["file_mode"] = item.file_mode or "text"
            entries.append(entry)
        return {"paths_version": 1, "paths": entries}

    def info_files(self) -> dict[str, bytes]:
        info = {"index.json": json.dumps(self.index_json()).encode()}
        if not self.omit_paths_json:
            paths = self.paths_json if self.paths_json is not None else self.generated_paths_json()
            info["paths.json"] = json.dumps(paths).encode()
        if self.link is not None:
            info["link.json"] = json.dumps(self.link).encode()
        if self.about is not None:
            info["about.json"] = json.dumps(self.about).encode()
        info.update(self.info_extra)
        return info


def in_memory(spec: CondaSpec) -> tuple[CondaPackage, Inventory]:
    """Return what reading ``spec`` finds (parsed ``info/``, payload facts), with no archive.

    The facts are those :func:`condawheel.convert.ingest.ingest` gathers (without spooled bodies
    or binary facts), so that analysis and plan tests need not write a package.
    """
    info = spec.info_files()
    payload: list[PayloadFile] = []
    metadata: dict[str, bytes] = {}
    for item in spec.files:
        if item.symlink is not None or item.hardlink is not None:
            kind: Literal["symlink", "hardlink"] = "symlink" if item.symlink else "hardlink"
            mode = 0o777 if item.symlink is not None else item.mode
            payload.append(
                PayloadFile(item.path, kind, 0, mode, link_target=item.symlink or item.hardlink)
            )
            continue
        skip = layout.never_shipped(item.path)
        if skip is not None:
            payload.append(
                PayloadFile(item.path, "file", len(item.data), item.mode, never_shipped=skip)
            )
            continue
        if layout.is_metadata_candidate(item.path):
            metadata[item.path] = item.data
        payload.append(
            PayloadFile(
                item.path,
                "file",
                len(item.data),
                item.mode,
                sha256=hashlib.sha256(item.data).hexdigest(),
                head=item.data[:4096] if layout.wants_head(item.path) else b"",
            )
        )
    return parse_package(spec.stem, info), Inventory(info, tuple(payload), metadata)


def _tarinfo(name: str, size: int = 0, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.mtime = 1700000000
    return info


def _add_members(tar: tarfile.TarFile, spec: CondaSpec, *, info: bool, payload: bool) -> None:
    if info:
        for name, data in sorted(spec.info_files().items()):
            tar.addfile(_tarinfo(f"info/{name}", len(data)), io.BytesIO(data))
    if payload:
        for item in spec.files:
            if item.symlink is not None:
                link = _tarinfo(item.path, mode=0o777)
                link.type = tarfile.SYMTYPE
                link.linkname = item.symlink
                tar.addfile(link)
            elif item.hardlink is not None:
                link = _tarinfo(item.path, mode=item.mode)
                link.type = tarfile.LNKTYPE
                link.linkname = item.hardlink
                tar.addfile(link)
            else:
                tar.addfile(_tarinfo(item.path, len(item.data), item.mode), io.BytesIO(item.data))


def build_conda(spec: CondaSpec, directory: Path) -> Path:
    """Write ``spec`` as a ``.conda`` (CEP 35) into ``directory``."""
    with conda_builder(spec.stem, directory, compression_level=3) as tar:
        _add_members(tar, spec, info=True, payload=True)
    return directory / f"{spec.stem}.conda"


def build_tar_bz2(spec: CondaSpec, directory: Path, *, info_first: bool = True) -> Path:
    """Write ``spec`` as a ``.tar.bz2``; ``info_first=False`` puts ``info/`` last."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if info_first:
            _add_members(tar, spec, info=True, payload=False)
            _add_members(tar, spec, info=False, payload=True)
        else:
            _add_members(tar, spec, info=False, payload=True)
            _add_members(tar, spec, info=True, payload=False)
    path = directory / f"{spec.stem}.tar.bz2"
    path.write_bytes(bz2.compress(raw.getvalue()))
    return path


def build_directory(spec: CondaSpec, directory: Path) -> Path:
    """Write ``spec`` as an extracted package directory (a package-cache folder)."""
    root = directory / spec.stem
    (root / "info").mkdir(parents=True)
    for name, data in spec.info_files().items():
        target = root / "info" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for item in spec.files:
        target = root / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.symlink is not None:
            target.symlink_to(item.symlink)
        elif item.hardlink is not None:
            os.link(root / item.hardlink, target)
        else:
            target.write_bytes(item.data)
            target.chmod(item.mode)
    return root


def build_raw_tar_bz2(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    """Write a ``.tar.bz2`` from raw tar members (for hostile names and types)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(bz2.compress(raw.getvalue()))
    return path


def raw_member(
    name: str, data: bytes = b"", *, kind: bytes = tarfile.REGTYPE, linkname: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    """Return a raw tar member (name unchecked) for :func:`build_raw_tar_bz2`."""
    info = _tarinfo(name, len(data) if kind == tarfile.REGTYPE else 0)
    info.type = kind
    info.linkname = linkname
    return info, data if kind == tarfile.REGTYPE else None


def ustar_header(name: bytes, kind: bytes, size: int) -> bytes:
    """A ustar header block written by hand (fields tarfile cannot be made to write)."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:108] = b"0000644\x00"
    block[108:124] = b"0000000\x00" * 2
    block[124:136] = b"%011o\x00" % size
    block[136:148] = b"%011o\x00" % 1_700_000_000
    block[148:156] = b" " * 8  # the checksum counts its own field as spaces
    block[156:157] = kind
    block[257:265] = b"ustar\x0000"
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def read_wheel(path: Path) -> dict[str, bytes]:
    """Return every member of a wheel by name."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def python_package(
    *,
    name: str = "demo",
    version: str = "1.0",
    python: str = "3.12",
    extension: bool = True,
    extra_files: list[FileSpec] | None = None,
    depends: list[str] | None = None,
) -> CondaSpec:
    """A linux-64 Python package with a dist-info, a module and (optionally) an extension."""
    site = f"lib/python{python}/site-packages"
    abi = python.replace(".", "")
    dist = f"{site}/{name}-{version}.dist-info"
    metadata = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Dist: requests>=2\n"
    ).encode()
    files = [
        FileSpec(f"{site}/{name}/__init__.py", b"VALUE = 42\n"),
        FileSpec(f"{site}/{name}/__pycache__/__init__.cpython-{abi}.pyc", b"\x00junk"),
        FileSpec(f"{dist}/METADATA", metadata),
        FileSpec(f"{dist}/RECORD", b"bogus,,\n"),
        FileSpec(f"{dist}/INSTALLER", b"conda\n"),
        FileSpec(f"{dist}/direct_url.json", b'{"url": "file:///home/builder/src"}'),
        FileSpec(
            f"{dist}/entry_points.txt", f"[console_scripts]\n{name}-cli = {name}:main\n".encode()
        ),
        FileSpec(
            f"bin/{name}-cli",
            (
                f"#!{PLACEHOLDER}/bin/python{python}\n"
                f"import sys\nfrom {name} import main\nsys.exit(main())\n"
            ).encode(),
            mode=0o755,
            placeholder=PLACEHOLDER,
        ),
        FileSpec("lib/libdemo.so.1", b"\x7fELF fake library"),
        FileSpec("lib/libdemo.so", symlink="libdemo.so.1"),
        FileSpec("share/demo/data.txt", b"data\n"),
    ]
    if extension:
        files.append(
            FileSpec(
                f"{site}/{name}/_speedups.cpython-{abi}-x86_64-linux-gnu.so",
                b"\x7fELF fake ext",
                mode=0o755,
            )
        )
    files += extra_files or []
    return CondaSpec(
        name=name,
        version=version,
        build=f"py{abi}h1234567_0",
        depends=depends
        if depends is not None
        else [
            f"python >={python},<{python[:-1]}{int(python[-1]) + 1}.0a0",
            f"python_abi {python}.* *_cp{abi}",
            "libzlib >=1.3,<2.0a0",
            "requests >=2",
        ],
        files=files,
    )


def distribution_files(
    site: str,
    name: str,
    version: str,
    files: dict[str, bytes],
    requires: list[str],
    also: str = "",
) -> list[FileSpec]:
    """A dist-info with its RECORD (PEP 376) and the files it names (``also``: more rows)."""
    directory = f"{site}/{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {requirement}\n" for requirement in requires
    )
    record = "".join(f"{path},,\n" for path in files) + f"{name}-{version}.dist-info/RECORD,,\n"
    record += also
    return [
        *(FileSpec(f"{site}/{path}", data) for path, data in files.items()),
        FileSpec(f"{directory}/METADATA", metadata.encode()),
        FileSpec(f"{directory}/RECORD", record.encode()),
        FileSpec(f"{directory}/INSTALLER", b"conda\n"),
    ]


def two_distributions(*, name: str = "splitdemo", version: str = "2.0") -> CondaSpec:
    """A linux-64 package holding two Python distributions and files no RECORD names.

    ``alpha`` requires ``beta`` and imports it; a library and a program belong to neither,
    so converting it makes three wheels: ``alpha``, ``beta`` and ``conda-pkg-<name>``.
    Its only dependency is Python, so that pip can install its wheels from a wheelhouse.
    """
    site = "lib/python3.12/site-packages"
    return CondaSpec(
        name=name,
        version=version,
        build="py312h0_0",
        depends=["python >=3.12,<3.13.0a0"],
        files=[
            *distribution_files(
                site,
                "alpha",
                version,
                {"alpha/__init__.py": b"from beta import VALUE\n"},
                ["beta>=1"],
            ),
            *distribution_files(
                site, "beta", version, {"beta/__init__.py": b"VALUE = 'beta'\n"}, []
            ),
            FileSpec(f"lib/lib{name}.so.2", b"\x7fELF split library"),
            FileSpec(f"bin/{name}-tool", b"#!/bin/sh\necho tool\n", mode=0o755),
        ],
    )


def noarch_tool(entry_points_txt: bytes | None, link_points: list[str]) -> CondaSpec:
    """A ``noarch: python`` package ``tool`` whose commands link.json and entry_points.txt name."""
    files = [
        FileSpec("site-packages/tool/__init__.py", b"def a(): pass\ndef b(): pass\n"),
        FileSpec("site-packages/tool/cli.py", b"def a(): pass\n"),
        FileSpec(
            "site-packages/tool-1.0.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: tool\nVersion: 1.0\n",
        ),
    ]
    if entry_points_txt is not None:
        files.append(
            FileSpec("site-packages/tool-1.0.dist-info/entry_points.txt", entry_points_txt)
        )
    return CondaSpec(
        name="tool",
        subdir="noarch",
        noarch="python",
        build="pyh0_0",
        depends=["python >=3.9"],
        files=files,
        link={
            "noarch": {"type": "python", "entry_points": link_points},
            "package_metadata_version": 1,
        },
    )


def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    """Write a ZIP with the given members (for malformed ``.conda`` fixtures)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
