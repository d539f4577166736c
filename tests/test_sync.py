"""Proof tests for ``condawheel sync``: real channels, HTTP, environments, pip; no mocks."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import resource
import shutil
import sqlite3
import struct
import subprocess
import zipfile
import zlib
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename

from builders import CondaSpec, FileSpec, build_conda, build_tar_bz2, python_package
from condawheel.env.environment import configured_stamp
from condawheel.errors import WheelhouseError
from condawheel.wheelhouse.selection import parse_selection
from condawheel.wheelhouse.state import STATE_NAME
from condawheel.wheelhouse.sync import SyncOptions, sync
from env_support import WheelSpec, make_wheel
from envs import find_python, index_channel, link_python, make_environment
from pages import HOSTILE_TEXTS, PageReader, hostile_wheel, injected
from syncing import (
    CONDA_LINUX_64_PIP,
    SMALL_PACKAGES,
    ChannelServer,
    add_pypi_wheels,
    chosen_files,
    cli_environment,
    condawheel_command,
    copy_channel,
    hidden_leftovers,
    pip_resolve,
    pypi_wheels,
    rebuild,
    run_condawheel,
    serve,
    wheelhouse_digest,
    with_changed_bytes,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path


pytestmark = pytest.mark.corpus

CORPUS_PACKAGES = 85
# Real PyPI wheels (pip, and setuptools before Python 3.12); both are newer conda packages
# in the corpus channel too.
ORDINARY = {path.name for path in pypi_wheels()}
PYPI_PIP = next(name for name in ORDINARY if name.startswith("pip-"))
CFFI = "cffi-1.17.1-0_py312h06ac9bb_0-cp312-cp312-conda_linux_64.whl"


def sync_cli(*args: str) -> tuple[int, dict[str, object], str]:
    """Run ``condawheel sync ... --json``; return the exit code, the report and stderr."""
    result = run_condawheel("sync", "--json", "--jobs", "2", *args)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def artifacts(report: dict[str, object]) -> list[dict[str, object]]:
    items = report["artifacts"]
    assert isinstance(items, list)
    return items


def by_status(report: dict[str, object], status: str) -> list[dict[str, object]]:
    return [item for item in artifacts(report) if item["status"] == status]


def counts(report: dict[str, object]) -> dict[str, int]:
    value = report["counts"]
    assert isinstance(value, dict)
    return {key: count for key, count in value.items() if count}


def wheel_files(directory: Path) -> set[str]:
    return {path.name for path in directory.glob("*.whl")}


def indexed_files(directory: Path) -> set[str]:
    """Every file name the PEP 691 pages list."""
    root = json.loads((directory / "simple" / "index.json").read_text())
    names: set[str] = set()
    for project in root["projects"]:
        page = json.loads((directory / "simple" / project["name"] / "index.json").read_text())
        names.update(item["filename"] for item in page["files"])
    return names


# ------------------------------------------------------------------ a synced folder channel


@pytest.fixture(scope="module")
def channel(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_channel(corpus, tmp_path_factory.mktemp("folder") / "channel")


@pytest.fixture(scope="module")
def synced(
    channel: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, object]]:
    """The corpus channel synced (by the CLI) into a wheelhouse that holds PyPI wheels."""
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    add_pypi_wheels(wheelhouse)
    report_file = wheelhouse.parent / "report.json"
    code, report, stderr = sync_cli(
        str(channel), "-w", str(wheelhouse), "--report", str(report_file)
    )
    assert code == 0, stderr
    assert json.loads(report_file.read_text()) == report
    return wheelhouse, report


@pytest.mark.slow
def test_every_package_of_the_channel_becomes_an_indexed_wheel(
    synced: tuple[Path, dict[str, object]],
) -> None:
    wheelhouse, report = synced

    assert counts(report) == {"converted": CORPUS_PACKAGES}
    made = {item["wheel"] for item in artifacts(report)}
    assert len(made) == CORPUS_PACKAGES
    assert wheel_files(wheelhouse) == made | ORDINARY
    assert indexed_files(wheelhouse) == made | ORDINARY  # ordinary wheels are indexed too
    assert all((wheelhouse / f"{wheel}.metadata").is_file() for wheel in made | ORDINARY)
    assert hidden_leftovers(wheelhouse) == []


# ------------------------------------------------------------------ the front page, in a browser

BROWSER_SIZE = (1280, 1600)


def chromium(url: str, screenshot: Path, profile: Path) -> str:
    """Open ``url`` in headless Chromium (Debian's); return the DOM, write a screenshot.

    Not a skip when it is missing: `.ci/run` installs it, and the page is a promise.
    """
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium not found: `apt-get install chromium` (`.ci/run` does)")
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}",
        f"--window-size={BROWSER_SIZE[0]},{BROWSER_SIZE[1]}",
        f"--screenshot={screenshot}", "--dump-dom", url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def png_size_and_colours(path: Path) -> tuple[tuple[int, int], int]:
    """Return a PNG's width and height, and how many byte values its pixel rows hold."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR comes first
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return (width, height), len(set(zlib.decompress(b"".join(chunks))))


@pytest.mark.slow
def test_the_front_page_lists_the_synced_corpus_in_a_browser(
    synced: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    source, report = synced
    wheelhouse = tmp_path / "W"
    shutil.copytree(source, wheelhouse)  # with its state: the page shows the last sync
    hostile_wheel(wheelhouse)  # a wheel dropped in by someone hostile
    assert run_condawheel("index", str(wheelhouse)).returncode == 0
    projects = sorted(
        {canonicalize_name(parse_wheel_filename(name)[0]) for name in wheel_files(wheelhouse)}
    )
    assert len(projects) > CORPUS_PACKAGES // 2

    serving = serve(wheelhouse)
    server = next(serving)
    try:
        dom = chromium(f"{server.url}/", tmp_path / "page.png", tmp_path / "profile")
    finally:
        next(serving, None)  # the server's shutdown, after its yield

    reader = PageReader(dom)
    # Every project, in order, each wheel with the conda package it came from.
    assert reader.projects() == projects
    for item in artifacts(report):
        name = canonicalize_name(parse_wheel_filename(str(item["wheel"]))[0])
        cells = reader.wheels(name)[str(item["wheel"])]
        assert str(item["filename"]) in cells[2].text
    assert f"{CORPUS_PACKAGES} converted, 0 unchanged" in reader.text
    # Nothing the hostile wheel wrote ran or became markup; all of it reads as text.
    assert reader.elements[0] == ("html", {"lang": "en"})
    assert "<title>Wheelhouse</title>" in dom  # its scripts would have renamed the page
    assert injected(reader) == []
    for text in HOSTILE_TEXTS:
        assert text in reader.text, text
    # A real rendering: the window's size, and not blank (text has many shades).
    size, colours = png_size_and_colours(tmp_path / "page.png")
    assert size == BROWSER_SIZE
    assert colours > 32


FOLDER_INDEXES = ["find-links", "index-url"]


def pip_index(kind: str, wheelhouse: Path) -> list[str]:
    if kind == "find-links":
        return ["--no-index", "--find-links", str(wheelhouse)]
    return ["--index-url", f"{wheelhouse.as_uri()}/simple"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", FOLDER_INDEXES)
def test_plain_pip_never_selects_a_conda_wheel(
    synced: tuple[Path, dict[str, object]], kind: str, tmp_path: Path
) -> None:
    wheelhouse, _ = synced
    index = pip_index(kind, wheelhouse)

    # pip (and setuptools) are here as conda wheels too, newer than the PyPI ones.
    projects = sorted(parse_wheel_filename(name)[0] for name in ORDINARY)
    assert chosen_files(pip_resolve(tmp_path, index, projects)) == sorted(ORDINARY)
    only_conda = pip_resolve(tmp_path, index, ["cffi"])
    assert only_conda.returncode != 0
    assert "No matching distribution found for cffi" in only_conda.stderr

    # The control: the same cp312 wheel tagged manylinux is taken by this pip, so it is
    # the conda platform tag, not the interpreter, that keeps the conda wheel out.
    control = tmp_path / "control"
    control.mkdir()
    manylinux = CFFI.replace("conda_linux_64", "manylinux2014_x86_64")
    shutil.copyfile(wheelhouse / CFFI, control / manylinux)
    control_index = ["--no-index", "--find-links", str(control)]
    assert chosen_files(pip_resolve(tmp_path, control_index, ["cffi", "--no-deps"])) == [manylinux]


@pytest.mark.slow
@pytest.mark.parametrize("kind", FOLDER_INDEXES)
def test_pip_with_the_conda_platforms_selects_the_conda_wheels(
    synced: tuple[Path, dict[str, object]], kind: str, tmp_path: Path
) -> None:
    wheelhouse, _ = synced

    index = pip_index(kind, wheelhouse)

    result = pip_resolve(tmp_path, index, ["tqdm", "cffi", "pip"], *CONDA_LINUX_64_PIP)

    chosen = chosen_files(result)
    assert "tqdm-4.67.1-1_pyhd8ed1ab_1-py3-none-conda.whl" in chosen
    assert CFFI in chosen
    assert "pycparser-2.22-1_pyh29332c3_1-py3-none-conda.whl" in chosen  # cffi's dependency
    assert "pip-24.3.1-2_pyh8b19718_2-py3-none-conda.whl" in chosen
    assert not set(chosen) & ORDINARY
    # PyPI wheels stay installable there, when asked for.
    pinned = f"pip=={parse_wheel_filename(PYPI_PIP)[1]}"
    assert chosen_files(
        pip_resolve(tmp_path, index, [pinned, "--no-deps"], *CONDA_LINUX_64_PIP)
    ) == [PYPI_PIP]


@pytest.mark.slow
def test_a_second_sync_converts_nothing(
    synced: tuple[Path, dict[str, object]], channel: Path
) -> None:
    wheelhouse, _ = synced
    before = wheelhouse_digest(wheelhouse)
    stamps = {path.name: path.stat().st_mtime_ns for path in wheelhouse.glob("*.whl*")}

    code, report, _ = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0
    assert counts(report) == {"unchanged": CORPUS_PACKAGES}
    assert wheelhouse_digest(wheelhouse) == before
    assert {path.name: path.stat().st_mtime_ns for path in wheelhouse.glob("*.whl*")} == stamps


@pytest.mark.slow
def test_resyncs_of_a_changing_channel_redo_only_what_changed(
    channel: Path, tmp_path: Path
) -> None:
    # Its own channel and wheelhouse: a source is known by its path, and this test edits it.
    channel = shutil.copytree(channel, tmp_path / "channel")
    wheelhouse = tmp_path / "wheelhouse"
    assert sync([str(channel)], wheelhouse, SyncOptions(jobs=2)).ok
    old_tqdm = "tqdm-4.67.1-1_pyhd8ed1ab_1-py3-none-conda.whl"

    # 1. Another build replaces one package: only the new build is converted.
    old = channel / "noarch" / "tqdm-4.67.1-pyhd8ed1ab_1.conda"
    rebuild(old, old.parent, build="pyhd8ed1ab_2", build_number=2)
    old.unlink()
    code, report, _ = sync_cli(str(channel), "-w", str(wheelhouse))
    assert code == 0
    assert counts(report) == {"converted": 1, "unchanged": CORPUS_PACKAGES - 1}
    [converted] = by_status(report, "converted")
    assert converted["filename"] == "tqdm-4.67.1-pyhd8ed1ab_2.conda"
    assert converted["wheel"] == "tqdm-4.67.1-2_pyhd8ed1ab_2-py3-none-conda.whl"
    assert (wheelhouse / old_tqdm).is_file()  # without --prune the old build's wheel stays

    # 2. --prune removes the wheel whose source is gone, from the index first.
    code, report, _ = sync_cli(str(channel), "-w", str(wheelhouse), "--prune")
    assert code == 0
    assert counts(report) == {"unchanged": CORPUS_PACKAGES}
    assert [item["wheel"] for item in report["pruned"]] == [old_tqdm]  # type: ignore[attr-defined]
    assert not (wheelhouse / old_tqdm).exists()
    assert not (wheelhouse / f"{old_tqdm}.metadata").exists()
    assert old_tqdm not in indexed_files(wheelhouse)
    assert "tqdm-4.67.1-2_pyhd8ed1ab_2-py3-none-conda.whl" in indexed_files(wheelhouse)

    # 3. Other bytes under the same file name: a conflict, never an overwrite...
    package = channel / "noarch" / "colorama-0.4.6-pyhd8ed1ab_1.conda"
    wheel = wheelhouse / "colorama-0.4.6-1_pyhd8ed1ab_1-py3-none-conda.whl"
    old_bytes = wheel.read_bytes()
    with_changed_bytes(package)
    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))
    assert code == 1
    [conflict] = by_status(report, "conflict")
    assert conflict["location"] == str(package)
    other = conflict["conflict_with"]
    assert isinstance(other, dict)
    assert other["location"] == str(package)  # the state remembers what made the old wheel
    assert other["sha256"] != conflict["sha256"]
    assert "--prune" in str(conflict["reason"])
    assert f"conflict: {package}:" in stderr
    assert wheel.read_bytes() == old_bytes

    # ... until --prune retires the old artifact's wheel and the new one lands, in one run.
    code, report, _ = sync_cli(str(channel), "-w", str(wheelhouse), "--prune")
    assert code == 0
    assert [item["filename"] for item in by_status(report, "converted")] == [package.name]
    assert wheel.read_bytes() != old_bytes

    # 4. The wheels are the truth: without a state file every wheel is adopted, and a
    #    deleted wheel is made again, with the same bytes.
    before = wheelhouse_digest(wheelhouse)
    (wheelhouse / STATE_NAME).unlink()
    gone = wheelhouse / "pluggy-1.5.0-1_pyhd8ed1ab_1-py3-none-conda.whl"
    gone.unlink()
    code, report, _ = sync_cli(str(channel), "-w", str(wheelhouse))
    assert code == 0
    assert counts(report) == {"converted": 1, "unchanged": CORPUS_PACKAGES - 1}
    assert by_status(report, "converted")[0]["wheel"] == gone.name
    assert {item["reason"] for item in by_status(report, "unchanged")} == {
        "adopted the wheel already in the wheelhouse (its conda.json names this artifact)"
    }
    assert wheelhouse_digest(wheelhouse) == before
    assert hidden_leftovers(wheelhouse) == []


def test_a_damaged_wheel_is_repaired_and_a_valid_other_one_never_replaced(
    corpus: Path, tmp_path: Path
) -> None:
    # Wheels are published without fsync: after a power loss one may be empty or cut short
    # under its final name. The state knows what it made, so the next sync repairs it.
    files = [
        "noarch/hpack-4.0.0-pyhd8ed1ab_1.conda",
        "noarch/colorama-0.4.6-pyhd8ed1ab_1.conda",
        "linux-64/frozendict-2.4.6-py312h66e93f0_0.conda",
    ]
    channel = copy_channel(corpus, tmp_path / "channel", files)
    wheelhouse = tmp_path / "wheelhouse"
    code, _, stderr = sync_cli(str(channel), "-w", str(wheelhouse))
    assert code == 0, stderr
    before = wheelhouse_digest(wheelhouse)
    empty = wheelhouse / "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"
    truncated = wheelhouse / "frozendict-2.4.6-0_py312h66e93f0_0-cp312-none-conda_linux_64.whl"
    empty.write_bytes(b"")
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0, stderr
    assert {item["wheel"]: item.get("reason") for item in by_status(report, "converted")} == {
        empty.name: "replaced a damaged wheel (it no longer held what this artifact made)",
        truncated.name: "replaced a damaged wheel (it no longer held what this artifact made)",
    }
    assert wheelhouse_digest(wheelhouse) == before  # the same bytes, and the index again
    assert {empty.name, truncated.name} <= indexed_files(wheelhouse)
    assert hidden_leftovers(wheelhouse) == []
    code, report, _ = sync_cli(str(channel), "-w", str(wheelhouse))
    assert (code, counts(report)) == (0, {"unchanged": 3})

    # A readable wheel of that name that is not what was recorded is someone else's.
    other = wheelhouse / "colorama-0.4.6-1_pyhd8ed1ab_1-py3-none-conda.whl"
    other.unlink()
    spec = WheelSpec(name="colorama", version="0.4.6", build="1_pyhd8ed1ab_1", tag="py3-none-conda")
    assert make_wheel(wheelhouse, spec) == other
    replaced_by_hand = other.read_bytes()

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 1
    [conflict] = by_status(report, "conflict")
    assert conflict["wheel"] == other.name
    assert "not overwritten" in str(conflict["reason"])
    assert other.read_bytes() == replaced_by_hand


def test_damage_that_keeps_the_size_and_a_crash_left_file_are_repaired(
    corpus: Path, tmp_path: Path
) -> None:
    files = [
        "noarch/hpack-4.0.0-pyhd8ed1ab_1.conda",
        "noarch/colorama-0.4.6-pyhd8ed1ab_1.conda",
        "noarch/pluggy-1.5.0-pyhd8ed1ab_1.conda",
    ]
    channel = copy_channel(corpus, tmp_path / "channel", files)
    wheelhouse = tmp_path / "wheelhouse"
    assert sync_cli(str(channel), "-w", str(wheelhouse))[0] == 0
    before = wheelhouse_digest(wheelhouse)
    zeroed = wheelhouse / "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"
    touched = wheelhouse / "colorama-0.4.6-1_pyhd8ed1ab_1-py3-none-conda.whl"
    unrecorded = wheelhouse / "pluggy-1.5.0-1_pyhd8ed1ab_1-py3-none-conda.whl"
    # Zero-filled under its size (as after a power loss); the same bytes, newer mtime; and
    # a cut-short wheel whose record a crash kept from being committed.
    zeroed.write_bytes(bytes(zeroed.stat().st_size))
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    unrecorded.write_bytes(unrecorded.read_bytes()[:100])
    with sqlite3.connect(wheelhouse / STATE_NAME) as db:
        db.execute("DELETE FROM conversions WHERE wheel = ?", (unrecorded.name,))
    db.close()

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))

    assert code == 0, stderr
    reasons = {item["wheel"]: item.get("reason") for item in artifacts(report)}
    assert reasons == {
        zeroed.name: "replaced a damaged wheel (it no longer held what this artifact made)",
        touched.name: None,  # verified by its sha256: unchanged
        unrecorded.name: "replaced an unreadable file at the wheel's name that no record "
        "names (left by a crash?)",
    }
    assert counts(report) == {"converted": 2, "unchanged": 1}
    [replaced] = [item for item in artifacts(report) if item["wheel"] == unrecorded.name]
    assert replaced["warnings"] == [f"{unrecorded.name}: {replaced['reason']}"]
    assert wheelhouse_digest(wheelhouse) == before
    # The touched wheel's new stamp is recorded: the next sync opens nothing.
    with sqlite3.connect(wheelhouse / STATE_NAME) as db:
        [(mtime_ns,)] = db.execute(
            "SELECT wheel_mtime_ns FROM conversions WHERE wheel = ?", (touched.name,)
        ).fetchall()
    db.close()
    assert mtime_ns == touched.stat().st_mtime_ns
    code, report, _ = sync_cli(str(channel), "-w", str(wheelhouse))
    assert (code, counts(report)) == (0, {"unchanged": 3})


def flip_a_byte_inside_a_member(wheel: Path) -> str:
    """Flip one byte in the middle of the largest member's compressed data; keep the stamp.

    Return the member's name. Size and mtime stay, so only a check of the CRCs can tell.
    """
    with zipfile.ZipFile(wheel) as archive:
        member = max(archive.infolist(), key=lambda info: info.compress_size)
    info = wheel.stat()
    data = bytearray(wheel.read_bytes())
    offset = member.header_offset
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_length + extra_length  # the local header's end
    data[start + member.compress_size // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    os.utime(wheel, ns=(info.st_atime_ns, info.st_mtime_ns))
    return member.filename


def test_index_rehash_reports_damage_that_keeps_size_and_mtime(
    corpus: Path, tmp_path: Path
) -> None:
    channel = copy_channel(
        corpus,
        tmp_path / "channel",
        ["noarch/idna-3.10-pyhd8ed1ab_1.conda", "noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"],
    )
    wheelhouse = tmp_path / "wheelhouse"
    assert sync_cli(str(channel), "-w", str(wheelhouse))[0] == 0
    idna = wheelhouse / "idna-3.10-1_pyhd8ed1ab_1-py3-none-conda.whl"
    page = wheelhouse / "simple" / "idna" / "index.html"
    member = flip_a_byte_inside_a_member(idna)

    # Trusted by its stamp: neither sync nor a plain index opens it.
    assert run_condawheel("index", str(wheelhouse)).returncode == 0
    result = run_condawheel("index", "--rehash", str(wheelhouse))

    assert result.returncode == 1, result.stderr
    *errors, summary = result.stderr.splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: not indexed: {idna.name}: damaged: member {member}: ")
    assert summary.startswith("1 wheel indexed, ")
    assert summary.endswith(", 1 wheel not indexed")
    assert not page.exists()  # its only wheel is no longer listed
    assert indexed_files(wheelhouse) == {"hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"}
    # Removed, it is rebuilt by the next sync (see the README).
    idna.unlink()
    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse))
    assert (code, counts(report)) == (0, {"converted": 1, "unchanged": 1}), stderr
    assert run_condawheel("index", "--rehash", str(wheelhouse)).returncode == 0


def test_a_wheel_that_cannot_be_staged_names_the_wheelhouse(corpus: Path, tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes writes past 1 MiB fail with EFBIG, as a full disk fails: the
    # libstdcxx wheel (13 MiB) cannot be staged, hpack's can.
    files = ["linux-64/libstdcxx-14.2.0-hc0a3c3a_1.conda", "noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"]
    channel = copy_channel(corpus, tmp_path / "channel", files)
    wheelhouse = tmp_path / "w"
    limit = 1 << 20

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run(
        condawheel_command("sync", str(channel), "-w", str(wheelhouse), "-j", "1"),
        capture_output=True,
        text=True,
        env=cli_environment(),
        preexec_fn=limited,
        check=False,
        timeout=300,
    )

    assert run.returncode == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {channel / files[0]}: cannot stage the wheel in {wheelhouse}: File too large"
    ]
    assert wheel_files(wheelhouse) == {"hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"}
    assert hidden_leftovers(wheelhouse) == []


def test_two_sources_making_one_wheel_name_conflict(corpus: Path, tmp_path: Path) -> None:
    files = ["noarch/colorama-0.4.6-pyhd8ed1ab_1.conda"]
    first = copy_channel(corpus, tmp_path / "first", files)
    second = copy_channel(corpus, tmp_path / "second", files)
    with_changed_bytes(second / files[0])
    wheelhouse = tmp_path / "wheelhouse"

    report = sync([str(first), str(second)], wheelhouse, SyncOptions(jobs=1))

    assert not report.ok
    [converted] = [o for o in report.outcomes if o.status == "converted"]
    [conflict] = [o for o in report.outcomes if o.status == "conflict"]
    assert converted.location == str(first / files[0])
    assert conflict.location == str(second / files[0])
    assert conflict.conflict_with is not None
    assert conflict.conflict_with.location == str(first / files[0])
    assert conflict.conflict_with.sha256 == converted.sha256
    assert str(first / files[0]) in (conflict.reason or "")
    assert wheel_files(wheelhouse) == {converted.wheel}


def test_a_wheel_name_of_250_characters_is_synced_and_indexed(tmp_path: Path) -> None:
    # Issue 16, finding 11: temporary names carried the wheel's name ("File name too long"),
    # and "<wheel>.metadata" cannot exist beside a name of more than 246 bytes.
    subdir = tmp_path / "channel" / "linux-64"
    subdir.mkdir(parents=True)
    spec = CondaSpec(build="b" * 201, files=[FileSpec("share/demo/data.txt", b"data\n")])
    build_conda(spec, subdir)
    wheelhouse = tmp_path / "wheelhouse"

    first = sync([str(subdir.parent)], wheelhouse, SyncOptions(jobs=1))
    again = sync([str(subdir.parent)], wheelhouse, SyncOptions(jobs=1))

    assert first.ok, first.outcomes
    [outcome] = first.outcomes
    assert outcome.status == "converted"
    assert outcome.wheel is not None
    assert len(outcome.wheel) == 250
    assert [o.status for o in again.outcomes] == ["unchanged"]
    assert wheel_files(wheelhouse) == indexed_files(wheelhouse) == {outcome.wheel}
    assert list(wheelhouse.glob("*.metadata")) == []
    assert hidden_leftovers(wheelhouse) == []


def test_the_same_package_as_conda_and_tar_bz2_is_converted_once(tmp_path: Path) -> None:
    subdir = tmp_path / "channel" / "linux-64"
    subdir.mkdir(parents=True)
    spec = python_package()
    build_conda(spec, subdir)
    build_tar_bz2(spec, subdir)

    report = sync([str(subdir.parent)], tmp_path / "wheelhouse", SyncOptions(jobs=1))

    assert report.ok
    statuses = {o.filename: (o.status, o.reason) for o in report.outcomes}
    assert statuses == {
        f"{spec.stem}.conda": ("converted", None),
        f"{spec.stem}.tar.bz2": (
            "skipped",
            f"same package as {spec.stem}.conda (.conda preferred)",
        ),
    }


def test_a_tar_bz2_stands_in_for_its_failed_conda_twin(corpus: Path, tmp_path: Path) -> None:
    """conda-press's test-deps .conda is malformed; its .tar.bz2 twin converts."""
    edge = corpus / "edge" / "conda-incubator+conda-press"
    channel = tmp_path / "channel"
    (channel / "noarch").mkdir(parents=True)
    conda = channel / "noarch" / "test-deps-0.0.1-py_0.conda"
    tar_bz2 = channel / "noarch" / "test-deps-0.0.1-py_0.tar.bz2"
    for path in (conda, tar_bz2):
        shutil.copyfile(edge / path.name, path)
    wheelhouse, report_file = tmp_path / "wheelhouse", tmp_path / "report.json"
    command = ("sync", str(channel), "-w", str(wheelhouse), "--report", str(report_file))

    # A dry run cannot know that the .conda will fail: the .tar.bz2 stays skipped.
    dry = run_condawheel(*command, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == f"would-convert {conda}\n"
    assert "1 to convert, 0 unchanged, 1 skipped, 0 failed" in dry.stderr

    first = run_condawheel(*command)

    # The run fails (the .conda is bad input), yet the package has its wheel.
    assert first.returncode == 1, first.stderr
    report = {item["filename"]: item for item in artifacts(json.loads(report_file.read_text()))}
    assert report[conda.name]["status"] == "failed"
    assert str(report[conda.name]["reason"]).startswith("not a conda package: no info/index.json")
    stand_in = report[tar_bz2.name]
    assert (stand_in["status"], stand_in["reason"], stand_in["in_place_of"]) == (
        "converted",
        f"in place of the failed {conda.name}",
        str(conda),
    )
    wheel = str(stand_in["wheel"])
    assert wheel_files(wheelhouse) == indexed_files(wheelhouse) == {wheel}
    with zipfile.ZipFile(wheelhouse / wheel) as archive:
        (sidecar,) = (n for n in archive.namelist() if n.endswith(".dist-info/conda.json"))
        assert json.loads(archive.read(sidecar))["source"]["filename"] == tar_bz2.name
    lines = first.stderr.splitlines()
    error = next(n for n, line in enumerate(lines) if line.startswith(f"error: {conda}: "))
    assert lines[error + 1] == f"note: {tar_bz2}: converted in place of the failed {conda.name}"
    assert "1 converted, 0 unchanged, 0 skipped, 1 failed" in first.stderr
    before = wheelhouse_digest(wheelhouse)

    second = run_condawheel(*command)

    # The .conda fails again, so the .tar.bz2 is decided again: its wheel is kept.
    assert second.returncode == 1, second.stderr
    report = {item["filename"]: item for item in artifacts(json.loads(report_file.read_text()))}
    assert report[conda.name]["status"] == "failed"
    assert (report[tar_bz2.name]["status"], report[tar_bz2.name]["reason"]) == (
        "unchanged",
        f"in place of the failed {conda.name}",
    )
    assert report[tar_bz2.name]["wheel"] == wheel
    assert "note:" not in second.stderr
    assert "0 converted, 1 unchanged, 0 skipped, 1 failed" in second.stderr
    assert wheelhouse_digest(wheelhouse) == before


def test_a_conda_that_fails_before_converting_has_its_tar_bz2_synced_even_in_a_dry_run(
    corpus: Path, tmp_path: Path
) -> None:
    edge = corpus / "edge" / "conda-incubator+conda-press"
    noarch = tmp_path / "channel" / "noarch"
    noarch.mkdir(parents=True)
    records: dict[str, dict[str, object]] = {}
    for name in ("test-deps-0.0.1-py_0.conda", "test-deps-0.0.1-py_0.tar.bz2"):
        data = shutil.copyfile(edge / name, noarch / name).read_bytes()
        records[name] = {
            "name": "test-deps",
            "version": "0.0.1",
            "build": "py_0",
            "build_number": 0,
            "depends": [],
            "subdir": "noarch",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    records["test-deps-0.0.1-py_0.conda"]["sha256"] = "0" * 64  # not what the file holds
    repodata = {
        "info": {"subdir": "noarch"},
        "packages": {k: v for k, v in records.items() if k.endswith(".tar.bz2")},
        "packages.conda": {k: v for k, v in records.items() if k.endswith(".conda")},
    }
    (noarch / "repodata.json").write_text(json.dumps(repodata))
    wheelhouse = tmp_path / "wheelhouse"
    # An indexed wheelhouse: a run that plans no conversion may leave its index alone.
    hpack = copy_channel(corpus, tmp_path / "hpack", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    assert sync([str(hpack)], wheelhouse, SyncOptions(jobs=1)).ok
    in_place = "in place of the failed test-deps-0.0.1-py_0.conda"

    for dry_run, status in ((True, "would-convert"), (False, "converted")):
        report = sync([str(noarch.parent)], wheelhouse, SyncOptions(jobs=1, dry_run=dry_run))

        assert not report.ok
        outcomes = {o.filename: o for o in report.outcomes}
        assert outcomes["test-deps-0.0.1-py_0.conda"].status == "failed"
        assert "does not match repodata.json's" in (
            outcomes["test-deps-0.0.1-py_0.conda"].reason or ""
        )
        stand_in = outcomes["test-deps-0.0.1-py_0.tar.bz2"]
        assert stand_in.status == status
        assert (stand_in.reason or "").startswith(in_place)
        assert stand_in.in_place_of == str(noarch / "test-deps-0.0.1-py_0.conda")
    # The plan converted nothing else, yet the index knows the new wheel.
    assert stand_in.wheel is not None
    hpack_wheel = "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"
    assert wheel_files(wheelhouse) == indexed_files(wheelhouse) == {stand_in.wheel, hpack_wheel}


def test_a_corrupt_state_file_is_set_aside_and_rebuilt(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    wheelhouse = tmp_path / "wheelhouse"
    assert sync([str(channel)], wheelhouse, SyncOptions(jobs=1)).ok
    (wheelhouse / STATE_NAME).write_bytes(b"this is not SQLite" * 100)

    report = sync([str(channel)], wheelhouse, SyncOptions(jobs=1))

    assert report.ok
    assert [o.status for o in report.outcomes] == ["unchanged"]
    assert report.state_set_aside is not None
    assert report.state_set_aside.read_bytes().startswith(b"this is not SQLite")
    with sqlite3.connect(wheelhouse / STATE_NAME) as db:
        assert db.execute("SELECT count(*) FROM conversions").fetchone() == (1,)


def test_a_dry_run_changes_nothing(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    wheelhouse = tmp_path / "wheelhouse"

    result = run_condawheel("sync", str(channel), "-w", str(wheelhouse), "--dry-run")

    assert result.returncode == 0, result.stderr
    assert (
        result.stdout == f"would-convert {channel / 'noarch' / 'hpack-4.0.0-pyhd8ed1ab_1.conda'}\n"
    )
    assert "1 to convert" in result.stderr
    assert not wheelhouse.exists()


def test_select_and_newest(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(
        corpus,
        tmp_path / "channel",
        ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda", "noarch/h2-4.1.0-pyhd8ed1ab_1.conda"],
    )
    h2 = channel / "noarch" / "h2-4.1.0-pyhd8ed1ab_1.conda"
    rebuild(h2, h2.parent, build="pyhd8ed1ab_7", build_number=7)
    rebuild(h2, h2.parent, build="pyhd8ed1ab_0", build_number=0, version="4.2.0")

    def statuses(*args: str) -> dict[str, str]:
        result = run_condawheel(
            "sync", str(channel), "-w", str(tmp_path / "w"), "--dry-run", "--json", *args
        )
        assert result.returncode == 0, result.stderr
        items = artifacts(json.loads(result.stdout))
        return {str(item["filename"]): str(item["status"]) for item in items}

    # What --select and --newest leave out is not reported (nor looked at: issue 13).
    assert statuses("--select", "h2", "--newest", "1") == {
        "h2-4.2.0-pyhd8ed1ab_0.conda": "would-convert",
    }
    assert statuses("--select", "h2 4.1.* *_7", "--select", "hp*") == {
        "h2-4.1.0-pyhd8ed1ab_7.conda": "would-convert",
        "hpack-4.0.0-pyhd8ed1ab_1.conda": "would-convert",
    }
    # A term that matches nothing is an error, like a mistyped source; the rest still runs.
    for dry_run in (("--dry-run",), ()):
        result = run_condawheel(
            "sync", str(channel), "-w", str(tmp_path / "w2"), *dry_run,
            "--select", "tqd", "--select", "h2 >=5", "--select", "hpack",
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert errors == [
            f"error: {term}: this --select term matches no package the sources list"
            for term in ("tqd", "h2 >=5")
        ]
    assert wheel_files(tmp_path / "w2") == {"hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"}


def test_records_the_selection_leaves_out_are_never_checked_or_reported(
    corpus: Path, tmp_path: Path
) -> None:
    # Issue 13: a folder channel whose repodata lists thousands of files that are not
    # there (a mirror of the index only). Selecting one name must not report the others.
    channel = copy_channel(corpus, tmp_path / "channel", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    hpack = channel / "noarch" / "hpack-4.0.0-pyhd8ed1ab_1.conda"
    data = hpack.read_bytes()
    listed = {
        f"absent{n}-1.0-h0_0.conda": {
            "name": f"absent{n}", "version": "1.0", "build": "h0_0", "subdir": "noarch",
            "sha256": "00" * 32, "size": 1, "depends": [],
        }
        for n in range(3000)
    }  # fmt: skip
    listed[hpack.name] = {
        "name": "hpack", "version": "4.0.0", "build": "pyhd8ed1ab_1", "subdir": "noarch",
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "depends": [],
    }  # fmt: skip
    repodata = {"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": listed}
    (channel / "noarch" / "repodata.json").write_text(json.dumps(repodata))
    wheelhouse = tmp_path / "wheelhouse"

    code, report, stderr = sync_cli(str(channel), "-w", str(wheelhouse), "--select", "hpack")

    assert code == 0, stderr
    assert [(item["filename"], item["status"]) for item in artifacts(report)] == [
        (hpack.name, "converted")
    ]
    # Selected and missing is still an error, with the others still not reported.
    code, report, _ = sync_cli(
        str(channel), "-w", str(wheelhouse), "--select", "absent7", "--select", "hpack"
    )
    assert code == 1
    assert sorted((item["filename"], item["status"]) for item in artifacts(report)) == [
        ("absent7-1.0-h0_0.conda", "failed"),
        (hpack.name, "unchanged"),
    ]
    # A folder of files without repodata: the files not selected are not even hashed.
    loose = copy_channel(corpus, tmp_path / "loose", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    (loose / "noarch" / "other-1.0-h0_0.conda").write_bytes(b"unreadable")
    (loose / "noarch" / "other-1.0-h0_0.conda").chmod(0)
    result = sync([str(loose)], tmp_path / "w2", SyncOptions(selection=parse_selection(["hpack"])))
    assert [(o.filename, o.status) for o in result.outcomes] == [(hpack.name, "converted")]
    with sqlite3.connect(tmp_path / "w2" / STATE_NAME) as state:
        hashed = [row[0] for row in state.execute("SELECT path FROM file_digests")]
    assert hashed == [str(loose / "noarch" / hpack.name)]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run_condawheel(
        "sync", str(tmp_path), "-w", str(tmp_path / "w"), "--select", "x[md5=1]"
    )

    assert result.returncode == 2
    assert "--select" in result.stderr
    # A report that could not be written is refused before any work, not after it.
    report = tmp_path / "nowhere" / "r.json"
    result = run_condawheel(
        "sync", str(tmp_path), "-w", str(tmp_path / "w"), "--report", str(report)
    )
    assert result.returncode == 2
    assert "--report" in result.stderr
    assert "does not exist" in result.stderr
    assert not (tmp_path / "w").exists()


def test_a_broken_package_fails_alone(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    (channel / "noarch" / "broken-1.0-0.conda").write_bytes(b"PK\x03\x04 truncated")
    wheelhouse = tmp_path / "wheelhouse"

    result = run_condawheel(
        "sync", str(channel), "-w", str(wheelhouse), "--report", str(tmp_path / "r.json")
    )

    assert result.returncode == 1
    assert f"error: {channel / 'noarch' / 'broken-1.0-0.conda'}:" in result.stderr
    assert "1 converted, 0 unchanged, 0 skipped, 1 failed" in result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    failed = by_status(report, "failed")
    assert [item["filename"] for item in failed] == ["broken-1.0-0.conda"]
    assert failed[0]["reason"]
    assert wheel_files(wheelhouse) == {"hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl"}


def test_a_missing_source_fails_and_the_others_sync(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])

    report = sync([str(tmp_path / "nowhere"), str(channel)], tmp_path / "w", SyncOptions(jobs=1))

    assert [(o.status, o.filename) for o in report.outcomes] == [
        ("failed", ""),
        ("converted", "hpack-4.0.0-pyhd8ed1ab_1.conda"),
    ]
    assert report.outcomes[0].reason == "no such file or directory"


def test_a_sync_whose_only_source_fails_creates_no_wheelhouse(tmp_path: Path) -> None:
    # Issue 18: a mistyped source left an empty wheelhouse (folder, state, lock, index).
    wheelhouse = tmp_path / "new" / "wheelhouse"
    nowhere = tmp_path / "nowhere"

    report = sync([str(nowhere)], wheelhouse, SyncOptions(jobs=1))

    assert not report.ok
    assert [(o.source, o.status) for o in report.outcomes] == [(str(nowhere), "failed")]
    assert not (tmp_path / "new").exists()
    result = run_condawheel("sync", str(nowhere), "-w", str(wheelhouse))
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0].startswith(f"error: {nowhere}: ")
    assert "0 converted, 0 unchanged, 0 skipped, 1 failed" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_failing_source_into_an_existing_wheelhouse_changes_nothing_there(
    corpus: Path, tmp_path: Path
) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    wheelhouse = tmp_path / "wheelhouse"
    assert sync([str(channel)], wheelhouse, SyncOptions(jobs=1)).ok
    before = wheelhouse_digest(wheelhouse)

    report = sync([str(tmp_path / "nowhere")], wheelhouse, SyncOptions(jobs=1))

    assert [o.status for o in report.outcomes] == ["failed"]
    assert wheelhouse_digest(wheelhouse) == before
    # Only the front page's last-sync part changed: people see that the last run failed.
    assert (
        "0 converted, 0 unchanged, 0 skipped, 1 failed"
        in PageReader((wheelhouse / "index.html").read_bytes()).text
    )


def test_a_folder_that_offers_nothing_is_an_error_but_an_empty_channel_is_not(
    corpus: Path, tmp_path: Path
) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", ["noarch/hpack-4.0.0-pyhd8ed1ab_1.conda"])
    wheelhouse = tmp_path / "wheelhouse"
    assert run_condawheel("sync", str(channel), "-w", str(wheelhouse)).returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    not_a_channel = "not a channel (no subdir folder holds packages or repodata.json)"

    # A typo'd folder, or the wheelhouse itself: an error for that source, not "0 converted".
    for folder in (empty, wheelhouse):
        result = run_condawheel("sync", str(folder), "-w", str(tmp_path / "other"))
        assert result.returncode == 1, result.stderr
        assert f"error: {folder}: {not_a_channel}" in result.stderr
        assert "0 converted, 0 unchanged, 0 skipped, 1 failed" in result.stderr

    # A real channel whose repodata lists no package offers nothing, and that is fine.
    noarch = empty / "noarch"
    noarch.mkdir()
    repodata = {"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}}
    (noarch / "repodata.json").write_text(json.dumps(repodata))
    result = run_condawheel("sync", str(empty), "-w", str(tmp_path / "other"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("0 converted, 0 unchanged, 0 skipped, 0 failed")


def test_a_url_that_offers_no_repodata_is_an_error_but_an_empty_channel_is_not(
    tmp_path: Path,
) -> None:
    root = tmp_path / "served"
    (root / "noarch").mkdir(parents=True)
    repodata = {"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}}
    (root / "noarch" / "repodata.json").write_text(json.dumps(repodata))
    for server in serve(root):
        wrong = f"{server.url}/nope"
        result = run_condawheel("sync", wrong + "/", "-w", str(tmp_path / "w"))
        assert result.returncode == 1, result.stderr
        assert f"error: {wrong}: not a channel (HTTP 404 for " in result.stderr
        assert "0 converted, 0 unchanged, 0 skipped, 1 failed" in result.stderr
        # The channel itself lists nothing: fine.
        result = run_condawheel("sync", server.url, "-w", str(tmp_path / "w"))
        assert result.returncode == 0, result.stderr
        assert result.stderr.startswith("0 converted, 0 unchanged, 0 skipped, 0 failed")


def test_index_command_indexes_ordinary_wheels(tmp_path: Path) -> None:
    add_pypi_wheels(tmp_path)

    result = run_condawheel("index", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert indexed_files(tmp_path) == ORDINARY
    assert result.stderr.splitlines()[-1].startswith(f"{len(ORDINARY)} wheels indexed, ")
    (tmp_path / "junk-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    result = run_condawheel("index", str(tmp_path), "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["skipped"][0]["filename"] == "junk-1.0-py3-none-any.whl"
    assert document["indexed"] == len(ORDINARY)
    # It fails the run, so it is an error, named; the summary counts both kinds of wheel.
    *errors, summary = result.stderr.splitlines()
    assert errors == [
        (
            "error: not indexed: junk-1.0-py3-none-any.whl: not a readable zip archive: "
            "File is not a zip file"
        )
    ]
    assert (
        summary
        == f"{len(ORDINARY)} wheels indexed, 0 files written, 0 removed, 1 wheel not indexed"
    )


def test_a_wheel_the_index_cannot_list_fails_every_sync(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", SMALL_PACKAGES[-1:])
    wheelhouse = tmp_path / "w"
    wheelhouse.mkdir()
    (wheelhouse / "junk-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    for _ in range(2):  # the second run indexes nothing, and still says so
        result = run_condawheel("sync", str(channel), "-w", str(wheelhouse))
        assert result.returncode == 1
        *errors, summary = result.stderr.splitlines()
        assert [line.split(": ")[:2] for line in errors] == [["error", "not indexed"]], (
            result.stderr
        )
        assert "junk-1.0-py3-none-any.whl" in errors[0]
        assert ", 1 not indexed in " in summary
    (wheelhouse / "junk-1.0-py3-none-any.whl").unlink()
    assert run_condawheel("sync", str(channel), "-w", str(wheelhouse)).returncode == 0


# ------------------------------------------------------------------ over HTTP


@pytest.fixture(scope="module")
def http_channel(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelServer]:
    root = copy_channel(corpus, tmp_path_factory.mktemp("http") / "channel")
    index_channel(root, write_zst=True, relax=False)
    yield from serve(root)


@pytest.fixture(scope="module")
def http_synced(
    http_channel: ChannelServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, dict[str, object], str]:
    """The channel synced over HTTP while the server corrupts requests-2.32.3 on the wire."""
    corrupt = "/noarch/requests-2.32.3-pyhd8ed1ab_1.conda"
    original = (http_channel.root / corrupt.lstrip("/")).read_bytes()
    http_channel.controls.corrupt[corrupt] = original[:-100] + b"\0" * 100  # same size
    wheelhouse = tmp_path_factory.mktemp("http-wheelhouse")
    add_pypi_wheels(wheelhouse)
    cache = wheelhouse.parent / "download-cache"
    code, report, stderr = sync_cli(
        http_channel.url, "-w", str(wheelhouse), "--cache-dir", str(cache)
    )
    assert code == 1, stderr
    return wheelhouse, cache, report, stderr


@pytest.mark.slow
def test_sync_over_http_rejects_the_corrupt_download_and_completes(
    http_channel: ChannelServer, http_synced: tuple[Path, Path, dict[str, object], str]
) -> None:
    wheelhouse, cache, report, stderr = http_synced
    url = f"{http_channel.url}/noarch/requests-2.32.3-pyhd8ed1ab_1.conda"

    assert counts(report) == {"converted": CORPUS_PACKAGES - 1, "failed": 1}
    [failed] = by_status(report, "failed")
    assert failed["location"] == url
    assert "corrupt download" in str(failed["reason"])
    assert "does not match repodata.json's" in str(failed["reason"])
    assert f"error: {url}:" in stderr
    assert not any(name.startswith("requests-") for name in wheel_files(wheelhouse))
    assert indexed_files(wheelhouse) == wheel_files(wheelhouse)
    # The compressed repodata was used, and every download was verified into the cache.
    requests = http_channel.controls.requests
    assert "/noarch/repodata.json.zst" in requests
    assert "/noarch/repodata.json" not in requests
    cached = {path.name for path in (cache / "pkgs").rglob("*.conda")}
    assert "requests-2.32.3-pyhd8ed1ab_1.conda" not in cached
    assert len(cached) + len(list((cache / "pkgs").rglob("*.tar.bz2"))) == CORPUS_PACKAGES - 1


@pytest.mark.slow
def test_a_second_http_sync_downloads_nothing_it_has(
    http_channel: ChannelServer, http_synced: tuple[Path, Path, dict[str, object], str]
) -> None:
    wheelhouse, cache, _, _ = http_synced
    http_channel.controls.corrupt.clear()  # the wire is healthy again
    http_channel.controls.requests.clear()

    code, report, _ = sync_cli(http_channel.url, "-w", str(wheelhouse), "--cache-dir", str(cache))

    assert code == 0
    assert counts(report) == {"converted": 1, "unchanged": CORPUS_PACKAGES - 1}
    downloads = [
        path
        for path in http_channel.controls.requests
        if not path.endswith((".json", ".zst", ".bz2"))
    ]
    assert downloads == ["/noarch/requests-2.32.3-pyhd8ed1ab_1.conda"]


@pytest.fixture
def served_wheelhouse(
    http_synced: tuple[Path, Path, dict[str, object], str],
) -> Iterator[ChannelServer]:
    """The wheelhouse synced over HTTP, served as it is by a plain static file server."""
    yield from serve(http_synced[0])


@pytest.mark.slow
def test_pip_selects_the_http_synced_conda_wheels_only_when_asked(
    served_wheelhouse: ChannelServer, tmp_path: Path
) -> None:
    index = ["--index-url", f"{served_wheelhouse.url}/simple"]
    conda_pip = "pip-24.3.1-2_pyh8b19718_2-py3-none-conda.whl"

    assert chosen_files(pip_resolve(tmp_path, index, ["pip"])) == [PYPI_PIP]
    assert chosen_files(
        pip_resolve(tmp_path, index, ["pip", "cffi", "--no-deps"], *CONDA_LINUX_64_PIP)
    ) == sorted([CFFI, conda_pip])
    # pip read the index pages and the PEP 658 metadata files over HTTP.
    requests = served_wheelhouse.controls.requests
    assert "/simple/pip/" in requests
    assert f"/{conda_pip}.metadata" in requests


# ------------------------------------------------------------------ an environment


@pytest.fixture(scope="module")
def environment(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("environment")
    channel = copy_channel(corpus, base / "channel")
    specs = ["python 3.12.*", "cffi", "zstandard", "brotli-python", "requests", "tqdm", "pip"]
    return make_environment(
        channel, base / "env", base / "pkgs", specs, python=find_python()
    ).prefix


def is_python_package(record: dict[str, object]) -> bool:
    files = record.get("files")
    return record.get("noarch") == "python" or (
        isinstance(files, list) and any("/site-packages/" in str(path) for path in files)
    )


SITE_CONFIG = {"linux_x86_64": {"build": "site_linux_64", "install": ["conda_linux_64", "conda"]}}
STAMPED_PACKAGES = (
    "linux-64/libffi-3.4.2-h7f98852_5.tar.bz2",
    "noarch/hpack-4.0.0-pyhd8ed1ab_1.conda",
)


def small_environment(
    prefix: Path, corpus: Path, files: Sequence[str], *, python: bool = True
) -> Path:
    """A conda prefix holding corpus packages (recorded as conda records a package cache's
    archive), with the machine's Python linked in as its interpreter."""
    if python:
        python312 = find_python("3.12")
        assert python312 is not None
        link_python(prefix, python312)
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    for relative in files:
        archive = corpus / "channel" / relative
        subdir, filename = relative.split("/")
        stem = filename.removesuffix(".conda").removesuffix(".tar.bz2")
        name, version, build = stem.rsplit("-", 2)
        record = {
            "name": name,
            "version": version,
            "build": build,
            "subdir": subdir,
            "fn": filename,
            "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
            "size": archive.stat().st_size,
            "package_tarball_full_path": str(archive),
            "files": [],
        }
        (meta / f"{stem}.json").write_text(json.dumps(record))
    return prefix


def test_an_environment_sync_stamps_the_build_tag_it_configures(
    corpus: Path, tmp_path: Path
) -> None:
    configured = small_environment(tmp_path / "configured", corpus, STAMPED_PACKAGES)
    (configured / "binary-compatibility.cfg").write_text(json.dumps(SITE_CONFIG))
    plain = small_environment(tmp_path / "plain", corpus, STAMPED_PACKAGES)
    no_system = str(tmp_path / "no-system.cfg")

    stamped, report, stderr = sync_cli(
        str(configured), "-w", str(tmp_path / "a"), "--system-config", no_system
    )
    default, _, _ = sync_cli(str(plain), "-w", str(tmp_path / "b"), "--system-config", no_system)

    assert (stamped, default) == (0, 0), stderr
    assert wheel_files(tmp_path / "a") == {
        "conda_pkg_libffi-3.4.2-5_h7f98852_5-py3-none-site_linux_64.whl",
        "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl",  # noarch keeps its tag
    }
    assert wheel_files(tmp_path / "b") == {
        "conda_pkg_libffi-3.4.2-5_h7f98852_5-py3-none-conda_linux_64.whl",
        "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl",
    }
    # `condawheel tags` of that environment accepts what the sync made, first.
    tags = run_condawheel("tags", "--prefix", str(configured), "--system-config", no_system)
    assert tags.stdout.splitlines()[0].endswith("-site_linux_64"), tags.stderr
    # A second sync of the same environment keeps everything (same stamp, same key).
    again, report, _ = sync_cli(
        str(configured), "-w", str(tmp_path / "a"), "--system-config", no_system
    )
    assert (again, counts(report)) == (0, {"unchanged": 2})


def test_a_system_config_stamps_too_and_environments_must_agree(
    corpus: Path, tmp_path: Path
) -> None:
    system = tmp_path / "system.cfg"
    system.write_text(json.dumps(SITE_CONFIG))
    first = small_environment(tmp_path / "first", corpus, STAMPED_PACKAGES[:1])
    second = small_environment(tmp_path / "second", corpus, STAMPED_PACKAGES[1:])
    report = sync([str(first)], tmp_path / "w", SyncOptions(jobs=1, system_config=system))
    assert report.ok
    assert wheel_files(tmp_path / "w") == {
        "conda_pkg_libffi-3.4.2-5_h7f98852_5-py3-none-site_linux_64.whl"
    }
    # The second environment overrides the system entry with the default tags: one run
    # cannot make wheels for both.
    (second / "binary-compatibility.cfg").write_text(
        json.dumps({"linux_x86_64": {"build": "conda_linux_64", "install": ["conda"]}})
    )
    with pytest.raises(WheelhouseError, match=r"different build tags cannot be synced in one run"):
        sync(
            [str(first), str(second)], tmp_path / "both", SyncOptions(jobs=1, system_config=system)
        )
    assert not (tmp_path / "both").exists()
    run = run_condawheel(
        "sync",
        str(first),
        str(second),
        "-w",
        str(tmp_path / "both"),
        "--system-config",
        str(system),
    )
    assert run.returncode == 1
    assert f"{first}: 'site_linux_64' (linux-64)" in run.stderr
    assert f"{second}: the default tags" in run.stderr


def test_an_environment_without_configuration_is_not_probed(corpus: Path, tmp_path: Path) -> None:
    # No interpreter at all: reading the (absent) configuration must be all that happens.
    bare = small_environment(tmp_path / "bare", corpus, STAMPED_PACKAGES, python=False)
    assert configured_stamp(bare, system_config=tmp_path / "none.cfg") is None
    # A configuration that only repeats the conda default does not need the interpreter either.
    (bare / "binary-compatibility.cfg").write_text(
        json.dumps({"linux_x86_64": {"build": "conda_linux_64", "install": ["conda"]}})
    )
    assert configured_stamp(bare, system_config=tmp_path / "none.cfg") is None


def test_an_environment_without_python_gets_its_stamp_from_conda_meta(
    corpus: Path, tmp_path: Path
) -> None:
    # C libraries only: the linux-64 records decide the base platform (linux_x86_64).
    libraries = small_environment(tmp_path / "libs", corpus, STAMPED_PACKAGES, python=False)
    (libraries / "binary-compatibility.cfg").write_text(json.dumps(SITE_CONFIG))
    # Only noarch records and no interpreter: nothing tells which entry applies.
    unknown = small_environment(tmp_path / "unknown", corpus, STAMPED_PACKAGES[1:], python=False)
    (unknown / "binary-compatibility.cfg").write_text(json.dumps(SITE_CONFIG))
    no_system = str(tmp_path / "none.cfg")

    code, report, stderr = sync_cli(
        str(libraries), str(unknown), "-w", str(tmp_path / "w"), "--system-config", no_system
    )

    assert code == 1, stderr
    assert wheel_files(tmp_path / "w") == {
        "conda_pkg_libffi-3.4.2-5_h7f98852_5-py3-none-site_linux_64.whl",
        "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl",
    }
    [failed] = by_status(report, "failed")
    assert failed["source"] == str(unknown)
    assert "takes its interpreter" in str(failed["reason"])
    assert "no Python interpreter" in str(failed["reason"])
    assert "\n" not in str(failed["reason"])


def test_a_configured_environment_and_a_channel_are_not_stamped_together(
    corpus: Path, tmp_path: Path
) -> None:
    configured = small_environment(tmp_path / "env", corpus, STAMPED_PACKAGES)
    (configured / "binary-compatibility.cfg").write_text(json.dumps(SITE_CONFIG))
    channel = copy_channel(corpus, tmp_path / "channel", STAMPED_PACKAGES)
    no_system = str(tmp_path / "none.cfg")

    refused = run_condawheel(
        "sync", str(configured), str(channel), "-w", str(tmp_path / "mixed"),
        "--system-config", no_system,
    )  # fmt: skip

    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert "'site_linux_64' (linux-64)" in line
    assert str(channel) in line
    assert "sync those separately, or pass --for-prefix" in line
    assert not (tmp_path / "mixed").exists()
    # Separately, each gets its own tags; --for-prefix stamps the channel's on purpose.
    assert sync_cli(str(channel), "-w", str(tmp_path / "c"))[0] == 0
    assert "conda_pkg_libffi-3.4.2-5_h7f98852_5-py3-none-conda_linux_64.whl" in wheel_files(
        tmp_path / "c"
    )
    code, _, stderr = sync_cli(
        str(configured), str(channel), "-w", str(tmp_path / "both"),
        "--for-prefix", str(configured), "--system-config", no_system,
    )  # fmt: skip
    assert code == 0, stderr
    assert wheel_files(tmp_path / "both") == {
        "conda_pkg_libffi-3.4.2-5_h7f98852_5-py3-none-site_linux_64.whl",
        "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl",
    }


def test_sync_for_a_prefix_stamps_a_channel_and_refuses_other_subdirs(
    corpus: Path, tmp_path: Path
) -> None:
    configured = small_environment(tmp_path / "env", corpus, ())
    (configured / "binary-compatibility.cfg").write_text(json.dumps(SITE_CONFIG))
    packages = tmp_path / "packages"
    packages.mkdir()
    for relative in STAMPED_PACKAGES:
        shutil.copyfile(corpus / "channel" / relative, packages / relative.split("/")[1])
    windows = corpus / "edge" / "conda+conda" / "zlib-1.2.11-h62dcd97_3.conda"
    shutil.copyfile(windows, packages / windows.name)

    code, report, _ = sync_cli(
        str(packages), "-w", str(tmp_path / "w"), "--for-prefix", str(configured),
        "--system-config", str(tmp_path / "none.cfg"),
    )  # fmt: skip

    assert code == 1
    assert wheel_files(tmp_path / "w") == {
        "conda_pkg_libffi-3.4.2-5_h7f98852_5-py3-none-site_linux_64.whl",
        "hpack-4.0.0-1_pyhd8ed1ab_1-py3-none-conda.whl",
    }
    [failed] = by_status(report, "failed")
    assert "a package for win-32 cannot be made for an environment of linux-64" in str(
        failed["reason"]
    )


@pytest.mark.slow
def test_every_python_package_of_an_environment_becomes_a_wheel(
    environment: Path, tmp_path: Path
) -> None:
    records = [
        json.loads(path.read_text()) for path in sorted((environment / "conda-meta").glob("*.json"))
    ]
    wheelhouse = tmp_path / "wheelhouse"

    code, report, stderr = sync_cli(str(environment), "-w", str(wheelhouse))

    assert code == 0, stderr
    assert counts(report) == {"converted": len(records)}
    made = {item["filename"]: str(item["wheel"]) for item in artifacts(report)}
    python_packages = [record for record in records if is_python_package(record)]
    assert {record["name"] for record in python_packages} == {
        "brotli-python", "certifi", "cffi", "charset-normalizer", "colorama", "h2", "hpack",
        "hyperframe", "idna", "pip", "pycparser", "pysocks", "requests", "setuptools", "tqdm",
        "urllib3", "wheel", "zstandard",
    }  # fmt: skip
    for record in python_packages:
        wheel = made[record["fn"]]
        assert (wheelhouse / wheel).is_file()
        name = parse_wheel_filename(wheel)[0]
        assert not name.startswith("conda-pkg-"), wheel  # a Python distribution, not a library
    assert indexed_files(wheelhouse) == set(made.values())


def test_quiet_off_a_terminal_and_a_progress_bar_on_one(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", SMALL_PACKAGES[:3])
    quiet = run_condawheel("sync", str(channel), "-w", str(tmp_path / "quiet"), "-j", "1")
    assert quiet.returncode == 0, quiet.stderr
    # Not a terminal (cron, CI): no bar, no per-artifact lines; the summary counts warnings.
    assert quiet.stdout == ""
    [summary] = quiet.stderr.splitlines()
    assert summary.startswith(
        "3 converted, 0 unchanged, 0 skipped, 0 failed, 0 conflicts, 1 warning in "
    )
    # --verbose brings every result and warning back.
    verbose = run_condawheel("sync", str(channel), "-w", str(tmp_path / "verbose"), "-j1", "-v")
    assert verbose.returncode == 0, verbose.stderr
    assert sorted(verbose.stdout.splitlines()) == sorted(
        f"converted {tmp_path / 'verbose' / path.name}"
        for path in (tmp_path / "verbose").glob("*.whl")
    )
    *warnings, summary = verbose.stderr.splitlines()
    assert "\x1b" not in verbose.stderr
    assert [line.split(":")[:2] for line in warnings] == [
        ["warning", " jsonpointer-3.0.0-py312h7900ff3_1.conda"]
    ]
    assert summary.endswith("1 warning in " + summary.rsplit(" in ", 1)[1])

    # stderr on a terminal, stdout redirected: a bar and the warnings, no result lines.
    code, text, stdout = run_on_terminal(
        condawheel_command("sync", str(channel), "-w", str(tmp_path / "tty"), "-j", "1"),
        terminal="stderr",
    )
    assert code == 0
    # The bar is drawn as each phase starts: its name, done/count, done/total size.
    total = f"{sum((channel / name).stat().st_size for name in SMALL_PACKAGES[:3]) / 1000:.1f}"
    assert re.search(rf"converting ━+ 0/3 0\.0/{total} kB ", text), text
    assert re.search(rf"indexing ━+ 3/3 {total}/{total} kB ", text), text
    assert "warning: jsonpointer-3.0.0-py312h7900ff3_1.conda: " in text  # someone is watching
    assert "3 converted, 0 unchanged" in text
    assert stdout == ""


def run_on_terminal(command: Sequence[str], *, terminal: str) -> tuple[int, str, str]:
    """Run ``command`` with its ``terminal`` stream ("stdout"/"stderr"/"both") on a pty and
    the other on a pipe; return the exit code, the terminal's text (no escapes), the pipe's."""
    primary, secondary = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    for name in ("stdout", "stderr") if terminal == "both" else (terminal,):
        streams[name] = secondary
    try:
        process = subprocess.Popen(
            command,
            stdout=streams["stdout"],
            stderr=streams["stderr"],
            env=cli_environment(TERM="xterm-256color"),
        )
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            seen += chunk
        stdout, stderr = process.communicate(timeout=120)
    finally:
        os.close(primary)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    piped = stderr if terminal == "stdout" else stdout
    return process.returncode, text, (piped or b"").decode()


def test_results_on_a_terminal_stdout_do_not_depend_on_stderr(corpus: Path, tmp_path: Path) -> None:
    channel = copy_channel(corpus, tmp_path / "channel", SMALL_PACKAGES[:3])
    wheelhouse = tmp_path / "w"
    # `condawheel sync ... 2>err.log` at a terminal: the results, and no warnings in the log.
    code, text, stderr = run_on_terminal(
        condawheel_command("sync", str(channel), "-w", str(wheelhouse), "-j", "1"),
        terminal="stdout",
    )
    assert code == 0, stderr
    assert sorted(text.splitlines()) == sorted(
        f"converted {wheelhouse / path.name}" for path in wheelhouse.glob("*.whl")
    )
    assert len(text.splitlines()) == 3
    [summary] = stderr.splitlines()
    assert summary.startswith("3 converted, 0 unchanged, 0 skipped, 0 failed, 0 conflicts")
