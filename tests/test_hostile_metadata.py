"""Hostile package metadata: members too large to read, JSON nested too deeply to parse.

A package's metadata (``metadata.json`` of a ``.conda``, every ``info/`` file read, in all
three forms) is read with bounded memory and refused beyond the limit, and every JSON
document of it that cannot be parsed is refused in one line naming the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
import zipfile
from typing import TYPE_CHECKING

import pytest

from builders import CondaSpec, FileSpec, build_conda, build_directory, build_tar_bz2
from condawheel.binaries.providers import load_providers, read_package_libraries
from condawheel.conda.sources import (
    MAX_METADATA_BYTES,
    open_package,
    read_metadata,
    read_metadata_file,
)
from condawheel.convert import convert, plan_package
from condawheel.convert.ingest import Limits
from condawheel.convert.names import NameMapping
from condawheel.errors import InvalidPackage

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

MAPPING = NameMapping.from_names({})
SPEC = CondaSpec(files=[FileSpec("share/demo/x.txt", b"x")])
BUILDERS: dict[str, Callable[[CondaSpec, Path], Path]] = {
    "conda": build_conda,
    "tar.bz2": build_tar_bz2,
    "directory": build_directory,
}
MiB = 1 << 20


def _with_metadata_json(package: Path, data: bytes = b"", *, inflating_to: int = 0) -> Path:
    """Rewrite a ``.conda`` with another ``metadata.json``: ``data``, or JSON of a given size.

    :param inflating_to: the size of a JSON object padded with spaces, written in 1 MiB
        pieces: a few hundred KiB of deflate that inflate to any size.
    """
    bomb = package.with_name(f"other-{package.name}")
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            if info.filename != "metadata.json":
                target.writestr(info, source.read(info))
        member = zipfile.ZipInfo("metadata.json", date_time=(2020, 1, 1, 0, 0, 0))
        member.compress_type = zipfile.ZIP_DEFLATED
        with target.open(member, "w", force_zip64=True) as body:
            if not inflating_to:
                body.write(data)
                return bomb
            head, tail = b'{"conda_pkg_format_version": 2, "pad": "', b'"}'
            body.write(head)
            left = inflating_to - len(head) - len(tail)
            while left > 0:
                body.write(b" " * min(left, MiB))
                left -= MiB
            body.write(tail)
    return bomb


def _converted(package: Path, out: Path, limits: Limits | None = None) -> InvalidPackage:
    out.mkdir(exist_ok=True)
    with pytest.raises(InvalidPackage) as caught:
        convert(package, out, mapping=MAPPING, limits=limits)
    assert list(out.iterdir()) == []  # nothing written, not even a temporary file
    assert "\n" not in str(caught.value)
    return caught.value


# ---------------------------------------------------------- finding 3: size limits


def test_a_metadata_json_bomb_is_refused_with_flat_memory(tmp_path: Path) -> None:
    # 256 MiB of JSON that deflates to a few hundred KiB; the limit is 1 MiB here.
    package = _with_metadata_json(build_conda(SPEC, tmp_path), inflating_to=256 * MiB)
    tracemalloc.start()
    try:
        error = _converted(package, tmp_path / "out", Limits(max_metadata_file=MiB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.subject == str(package)
    assert error.reason == (
        "metadata file 'metadata.json' holds more than 1 MiB (1048576 bytes), "
        "the limit for a metadata file"
    )
    assert peak < 16 * MiB  # never more than the limit inflated, nowhere near 256 MiB


def test_a_metadata_json_over_the_default_limit(tmp_path: Path) -> None:
    package = _with_metadata_json(build_conda(SPEC, tmp_path), inflating_to=MAX_METADATA_BYTES + 1)
    error = _converted(package, tmp_path / "out")
    assert error.reason == (
        "metadata file 'metadata.json' holds more than 64 MiB (67108864 bytes), "
        "the limit for a metadata file"
    )
    with pytest.raises(InvalidPackage):  # the source itself refuses it, whoever reads
        list(open_package(package).members())


def test_a_metadata_json_at_the_limit_is_read(tmp_path: Path) -> None:
    package = _with_metadata_json(build_conda(SPEC, tmp_path), inflating_to=4096)
    out = tmp_path / "out"
    out.mkdir()
    result = convert(package, out, mapping=MAPPING, limits=Limits(max_metadata_file=4096))
    assert result.wheel.exists()


@pytest.mark.parametrize("form", sorted(BUILDERS))
def test_an_info_file_over_the_limit_is_refused(form: str, tmp_path: Path) -> None:
    spec = CondaSpec(
        files=SPEC.files, info_extra={"about.json": b'{"summary": "' + b"x" * 5000 + b'"}'}
    )
    package = BUILDERS[form](spec, tmp_path)
    error = _converted(package, tmp_path / "out", Limits(max_metadata_file=4096))
    assert error.reason == (
        "metadata file 'info/about.json' is 5015 bytes, more than 4 KiB (4096 bytes), "
        "the limit for a metadata file"
    )


def test_an_extracted_info_file_over_the_default_limit(tmp_path: Path) -> None:
    package = build_directory(SPEC, tmp_path)
    with (package / "info" / "paths.json").open("r+b") as sparse:
        sparse.truncate(MAX_METADATA_BYTES + 1)  # sparse: no disk space, no time
    error = _converted(package, tmp_path / "out")
    assert error.reason == (
        f"metadata file 'info/paths.json' is {MAX_METADATA_BYTES + 1} bytes, more than 64 MiB "
        "(67108864 bytes), the limit for a metadata file"
    )
    # --libs-from reads the same file with the same limit, and skips the package.
    with pytest.raises(InvalidPackage) as caught:
        read_package_libraries(package)
    assert caught.value.reason.startswith("metadata file 'info/paths.json' is ")
    index = load_providers([package])
    (warning,) = index.warnings
    assert warning.endswith("the limit for a metadata file; skipped")


@pytest.mark.parametrize("form", ["conda", "tar.bz2"])
def test_libs_from_refuses_an_archived_info_file_over_the_limit(form: str, tmp_path: Path) -> None:
    big = b'{"paths_version": 1, "paths": [], "pad": "' + b" " * MAX_METADATA_BYTES + b'"}'
    package = BUILDERS[form](CondaSpec(files=SPEC.files, info_extra={"paths.json": big}), tmp_path)
    with pytest.raises(InvalidPackage) as caught:
        read_package_libraries(package)
    assert caught.value.reason == (
        f"metadata file 'info/paths.json' is {len(big)} bytes, more than 64 MiB "
        "(67108864 bytes), the limit for a metadata file"
    )


class Endless:
    """A member body that never ends (a decompressor fed a bomb), counting what it gives."""

    def __init__(self) -> None:
        self.given = 0

    def read(self, size: int = -1, /) -> bytes:
        assert size >= 0, "an unbounded read"
        self.given += size
        return b" " * size


def test_a_metadata_read_takes_at_most_one_byte_over_the_limit() -> None:
    body = Endless()
    with pytest.raises(InvalidPackage) as caught:
        read_metadata("pkg.conda", "info/index.json", body, limit=3 * MiB + 5)
    assert body.given == 3 * MiB + 6
    assert str(caught.value) == (
        "pkg.conda: metadata file 'info/index.json' holds more than 3145733 bytes, "
        "the limit for a metadata file"
    )


def test_a_metadata_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "index.json"
    os.mkfifo(fifo)
    with pytest.raises(InvalidPackage) as caught:
        read_metadata_file("pkg", fifo, "info/index.json")
    assert caught.value.reason == "metadata file 'info/index.json' is not a regular file"


# ------------------------------------------------------ finding 6: deeply nested JSON

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "name",
    ["index.json", "paths.json", "link.json", "about.json", "run_exports.json",
     "repodata_record.json"],
)  # fmt: skip
@pytest.mark.parametrize("form", sorted(BUILDERS))
def test_deeply_nested_info_json_is_one_line_naming_the_file(
    name: str, form: str, tmp_path: Path
) -> None:
    package = BUILDERS[form](CondaSpec(files=SPEC.files, info_extra={name: DEEP}), tmp_path)
    error = _converted(package, tmp_path / "out")
    assert f"info/{name} is not valid JSON (nested too deeply)" in error.problems
    with pytest.raises(InvalidPackage) as caught:
        plan_package(package, mapping=MAPPING)
    assert f"info/{name} is not valid JSON (nested too deeply)" in caught.value.problems


def test_deeply_nested_metadata_json_is_one_line_naming_the_file(tmp_path: Path) -> None:
    package = _with_metadata_json(build_conda(SPEC, tmp_path), DEEP)
    error = _converted(package, tmp_path / "out")
    assert error.reason == "metadata.json is not valid JSON (nested too deeply)"


@pytest.mark.parametrize(("data", "problem"), [(b"", None), (b"{]", "not valid JSON")])
def test_other_metadata_json(data: bytes, problem: str | None, tmp_path: Path) -> None:
    # Early writers left metadata.json empty: read as {"conda_pkg_format_version": 2}.
    package = _with_metadata_json(build_conda(SPEC, tmp_path), data)
    out = tmp_path / "out"
    if problem is None:
        out.mkdir()
        assert convert(package, out, mapping=MAPPING).wheel.exists()
    else:
        assert _converted(package, out).reason.startswith(f"metadata.json is {problem}")


@pytest.mark.parametrize("name", ["index.json", "paths.json"])
@pytest.mark.parametrize("form", sorted(BUILDERS))
def test_libs_from_skips_deeply_nested_json_naming_the_file(
    name: str, form: str, tmp_path: Path
) -> None:
    package = BUILDERS[form](CondaSpec(files=SPEC.files, info_extra={name: DEEP}), tmp_path)
    with pytest.raises(InvalidPackage) as caught:
        read_package_libraries(package)
    assert caught.value.reason == f"info/{name} is not valid JSON (nested too deeply)"


def test_the_command_line_says_one_line(tmp_path: Path) -> None:
    package = build_conda(CondaSpec(files=SPEC.files, info_extra={"index.json": DEEP}), tmp_path)
    good = build_conda(CondaSpec(name="good", files=SPEC.files), tmp_path)
    out = tmp_path / "out"
    environment = {key: value for key, value in os.environ.items() if key != "CONDAWHEEL_DEBUG"}
    run = subprocess.run(
        [sys.executable, "-m", "condawheel", "convert", str(package), str(good), "-o", str(out)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if str(package) in line]
    assert len(errors) == 1, run.stderr
    assert "info/index.json is not valid JSON (nested too deeply)" in errors[0]
    assert "internal error" not in run.stderr
    assert "Traceback" not in run.stderr
    (wheel,) = out.iterdir()  # the rest of the batch carries on
    assert "good-1.0-" in wheel.name
