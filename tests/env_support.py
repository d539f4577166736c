"""Helpers of the environment-side tests: small wheels, a conda-like prefix, RECORD checks."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.tags import Tag
from packaging.utils import canonicalize_name

from builders import CondaSpec, FileSpec, build_conda
from conda_envs import find_python312, link_python_into
from condawheel.convert import convert
from condawheel.convert.names import default_mapping
from condawheel.env.environment import Environment, open_environment
from condawheel.env.install import apply_installation, decide_for_environment
from condawheel.env.interpreter import InterpreterFacts
from condawheel.env.wheels import read_wheel

if TYPE_CHECKING:
    from collections.abc import Sequence


def memory_facts(
    prefix: str = "/my env",
    *,
    base_prefix: str | None = None,
    paths: dict[str, str] | None = None,
    platforms: tuple[str, ...] = ("linux_x86_64",),
    sys_tags: tuple[Tag, ...] = (
        Tag("cp312", "cp312", "linux_x86_64"),
        Tag("py3", "none", "linux_x86_64"),
        Tag("py3", "none", "any"),
    ),
    pip: str | None = None,
) -> InterpreterFacts:
    """Return the facts of a CPython 3.12 at ``prefix`` that no test runs (for pure code)."""
    if paths is None:
        site = f"{prefix}/lib/python3.12/site-packages"
        paths = {
            "purelib": site,
            "platlib": site,
            "scripts": f"{prefix}/bin",
            "data": prefix,
            "include": f"{prefix}/include/python3.12",
        }
    return InterpreterFacts(
        python=Path(prefix, "bin", "python"),
        executable=f"{prefix}/bin/python",
        version="3.12.1",
        implementation="cpython",
        interpreter="cp312",
        base_platform="linux_x86_64",
        sys_platform="linux",
        os_name="posix",
        prefix=prefix,
        base_prefix=base_prefix or prefix,
        paths=paths,
        platforms=platforms,
        sys_tags=sys_tags,
        pip=pip,
        cache_tag="cpython-312",
    )


# An environment whose path holds a space, for the install decisions.
MEMORY_FACTS = memory_facts("/my env")
PLACEHOLDER = "/home/conda/feedstock_root/build_artifacts/demo_1/_h_env_" + "placehold_" * 18


@dataclass
class WheelSpec:
    """A test wheel: files by archive path (the ``.data`` dir is ``{data}``)."""

    name: str = "demo"
    version: str = "1.0"
    build: str | None = "0_h0"
    tag: str = "py3-none-conda_linux_64"
    files: dict[str, bytes] = field(default_factory=dict)
    executables: set[str] = field(default_factory=set)
    requires_external: list[str] = field(default_factory=list)
    requires_dist: list[str] = field(default_factory=list)
    console_scripts: dict[str, str] = field(default_factory=dict)
    sidecar: dict[str, object] | None = None
    root_is_purelib: bool = True

    @property
    def stem(self) -> str:
        return f"{canonicalize_name(self.name).replace('-', '_')}-{self.version}"

    @property
    def filename(self) -> str:
        build = f"-{self.build}" if self.build else ""
        return f"{self.stem}{build}-{self.tag}.whl"


def sidecar(
    *,
    conda_name: str = "demo",
    conda_version: str = "1.0",
    conda_build: str = "h0_0",
    noarch: str | None = None,
    placeholders: list[dict[str, str]] | None = None,
    symlinks: list[dict[str, str | None]] | None = None,
    directories: list[str] | None = None,
) -> dict[str, object]:
    """Return a conda.json document as condawheel's converter writes it (schema 1)."""
    return {
        "schema_version": 1,
        "source": {
            "filename": f"{conda_name}-{conda_version}-{conda_build}.conda",
            "format": "conda",
        },
        "package": {
            "name": conda_name,
            "version": conda_version,
            "build": conda_build,
            "subdir": "noarch" if noarch else "linux-64",
            "noarch": noarch,
        },
        "prefix_placeholders": placeholders or [],
        "symlinks": symlinks or [],
        "directories": directories or [],
    }


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(directory: Path, spec: WheelSpec) -> Path:
    """Write the wheel into ``directory`` and return its path."""
    data_dir = f"{spec.stem}.data"
    dist_info = f"{spec.stem}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {spec.name}", f"Version: {spec.version}"]
    metadata += [f"Requires-Dist: {item}" for item in spec.requires_dist]
    metadata += [f"Requires-External: {item}" for item in spec.requires_external]
    wheel = [
        "Wheel-Version: 1.0",
        "Generator: tests",
        f"Root-Is-Purelib: {'true' if spec.root_is_purelib else 'false'}",
        f"Tag: {spec.tag}",
    ]
    if spec.build:
        wheel.append(f"Build: {spec.build}")
    members: dict[str, bytes] = {
        name.format(data=data_dir): content for name, content in spec.files.items()
    }
    members[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    members[f"{dist_info}/WHEEL"] = ("\n".join(wheel) + "\n").encode()
    if spec.console_scripts:
        lines = ["[console_scripts]", *(f"{k} = {v}" for k, v in spec.console_scripts.items())]
        members[f"{dist_info}/entry_points.txt"] = ("\n".join(lines) + "\n").encode()
    if spec.sidecar is not None:
        members[f"{dist_info}/conda.json"] = json.dumps(spec.sidecar).encode()
    executables = {name.format(data=data_dir) for name in spec.executables}
    path = directory / spec.filename
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        record = []
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if name in executables else 0o100644) << 16
            archive.writestr(info, content)
            record.append(_record_line(name, content))
        record.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path


SITE = "lib/python3.12/site-packages"
ZSTD = "zstd-1.5.6-ha6fb4c9_0"


def zstd_fork_wheelhouse(tmp_path: Path) -> Path:
    """A folder with one conda wheel that ships ``lib/libzstd.so.1``, which zstd owns."""
    fork = CondaSpec(
        name="zstd-fork",
        version="1.0",
        build="h0_0",
        files=[FileSpec("lib/libzstd.so.1", data=b"\x7fELF not zstd", mode=0o755)],
    )
    forks = tmp_path / "forks"
    forks.mkdir()
    convert(build_conda(fork, tmp_path), forks, mapping=default_mapping())
    return forks


def conda_record(
    prefix: Path, name: str, version: str, build: str, files: dict[str, bytes]
) -> None:
    """Put files in the prefix and a conda-meta record owning them."""
    for relative, data in files.items():
        path = prefix / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    meta = prefix / "conda-meta"
    meta.mkdir(exist_ok=True)
    document = {
        "name": name,
        "version": version,
        "build": build,
        "subdir": "linux-64",
        "files": sorted(files),
    }
    (meta / f"{name}-{version}-{build}.json").write_text(json.dumps(document))


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    root = tmp_path / "env"
    link_python_into(root, find_python312())
    conda_record(root, "zstd", "1.5.6", "ha6fb4c9_0", {"lib/libzstd.so.1": b"\x7fELF zstd"})
    conda_record(root, "libgcc", "14.2.0", "h77fa898_1", {"lib/libgcc_s.so.1": b"\x7fELF gcc"})
    return root


def install(
    prefix: Path, wheels: Sequence[Path], *, ignore_external: bool = False
) -> tuple[Environment, tuple[Path, ...]]:
    environment = open_environment(prefix, system_config=None)
    contents = [(read_wheel(path), True) for path in wheels]
    installation = decide_for_environment(environment, contents, ignore_external=ignore_external)
    relocated, _, _ = apply_installation(installation, environment.facts)
    return environment, relocated


def record_rows(dist_info: Path) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO((dist_info / "RECORD").read_text())) if row]


def assert_record_true(dist_info: Path) -> list[list[str]]:
    """Every RECORD row names something on disk; files match their hash, links have none."""
    rows = record_rows(dist_info)
    for path, digest, size in rows:
        target = Path(os.path.normpath(dist_info.parent / path))
        assert os.path.lexists(target), path
        if target.is_symlink() or path.endswith("/RECORD"):
            assert (digest, size) == ("", ""), path
            continue
        data = target.read_bytes()
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, size) == (f"sha256={expected}", str(len(data))), path
    return rows


def damage_member(
    path: Path, member: str, *, method: int | None = None, first_byte: int | None = None
) -> Path:
    """Damage one member of the zip at ``path`` in place, as a broken or hostile tool would.

    :param method: a compression method to claim in its local and central headers.
    :param first_byte: a byte to write over the first byte of its (compressed) data.
    """
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    local = info.header_offset
    name_length, extra_length = struct.unpack_from("<HH", data, local + 26)
    if first_byte is not None:
        data[local + 30 + name_length + extra_length] = first_byte
    if method is not None:
        struct.pack_into("<H", data, local + 8, method)
        end = data.rindex(b"PK\x05\x06")  # the end of central directory record
        (central,) = struct.unpack_from("<I", data, end + 16)  # where the directory starts
        while True:
            name_length, extra_length, comment_length = struct.unpack_from(
                "<HHH", data, central + 28
            )
            if data[central + 46 : central + 46 + name_length] == member.encode():
                struct.pack_into("<H", data, central + 10, method)
                break
            central += 46 + name_length + extra_length + comment_length
    path.write_bytes(bytes(data))
    return path


def deflated_wheel(directory: Path, spec: WheelSpec) -> Path:
    """Write the wheel like :func:`make_wheel`, but with every member deflated."""
    stored = make_wheel(directory / "stored", spec)
    path = directory / stored.name
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.external_attr = info.external_attr
            target.writestr(copy, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return path
